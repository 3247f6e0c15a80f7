/*
 * fuzz_proto: the invariant the protobuf-c targets share. A message that
 * unpacks packs to bytes that unpack again, and packing is then stable:
 * pack(unpack(pack(m))) == pack(m). A hostile peer's bytes must never
 * crash the decoder or hand the caller a message it cannot re-encode.
 */
#ifndef HC_FUZZ_PROTO_H
#define HC_FUZZ_PROTO_H

#include <protobuf-c/protobuf-c.h>

#include "fuzz.h"

/* pack(m) into a malloc'd buffer of *len bytes; aborts when out of memory. */
static inline uint8_t *fuzz_pack(const ProtobufCMessage *m, size_t *len) {
  uint8_t *buf;

  *len = protobuf_c_message_get_packed_size(m);
  buf = malloc(*len ? *len : 1);
  if (!buf)
    abort();
  FUZZ_CHECK(protobuf_c_message_pack(m, buf) == *len);
  return buf;
}

/* Unpacks data as `desc`; NULL when the bytes are not such a message.
 * Otherwise checks the round trip and returns the message (the caller
 * frees it with protobuf_c_message_free_unpacked). */
static inline ProtobufCMessage *fuzz_proto_roundtrip(const ProtobufCMessageDescriptor *desc,
                                                     const uint8_t *data, size_t size) {
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, size, data), *again;
  uint8_t *once, *twice;
  size_t n1, n2;

  if (!m)
    return NULL;
  FUZZ_CHECK(protobuf_c_message_check(m));
  once = fuzz_pack(m, &n1);
  again = protobuf_c_message_unpack(desc, NULL, n1, once);
  FUZZ_CHECK(again != NULL);
  twice = fuzz_pack(again, &n2);
  FUZZ_CHECK(n1 == n2 && memcmp(once, twice, n1) == 0);
  protobuf_c_message_free_unpacked(again, NULL);
  free(twice);
  free(once);
  return m;
}

#endif
