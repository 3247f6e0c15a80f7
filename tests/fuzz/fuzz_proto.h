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

/* Whether m or a message inside it kept an unknown field numbered 0.
 * Finding (protobuf-c 1.4.1, see docs/fuzzing.md): the spec makes field
 * number 0 invalid, and protobuf-c refuses it in a one-byte tag (00) but
 * keeps it as an unknown field when the tag is an overlong varint (80 00);
 * packed again it becomes 00 and the bytes no longer unpack. Not our code,
 * and nothing here re-packs a peer's message, so such inputs are exempt
 * from the round-trip check (tests/fuzz/regress/list_response/). */
static inline int fuzz_has_field0(const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;

  for (size_t i = 0; i < m->n_unknown_fields; i++)
    if (m->unknown_fields[i].tag == 0)
      return 1;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)m;

    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
      for (size_t j = 0; j < n; j++)
        if (fuzz_has_field0(items[j]))
          return 1;
    } else {
      const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
      /* A oneof member's slot is shared: only the set case holds a message. */
      if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
          *(const uint32_t *)(base + f->quantifier_offset) != f->id)
        continue;
      if (sub && fuzz_has_field0(sub))
        return 1;
    }
  }
  return 0;
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
  if (fuzz_has_field0(m))
    return m;
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
