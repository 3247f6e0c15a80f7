/* HealthListResponse decode: what the runner reads from List (H-LIST-*)
 * of a server under test. A map entry is a nested message, so a hostile
 * server can send an entry without a value (value NULL in protobuf-c) or
 * without a key (""), and the same key twice; the walk below reads each
 * entry the way a careful reader must. */
#include "fuzz_proto.h"
#include "wire.h"

#include "grpc/health/v1/health.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Grpc__Health__V1__HealthListResponse *r;
  size_t unset = 0, out_of_range = 0;

  r = (Grpc__Health__V1__HealthListResponse *)fuzz_proto_roundtrip(
      &grpc__health__v1__health_list_response__descriptor, data, size);
  if (!r)
    return 0;
  for (size_t i = 0; i < r->n_statuses; i++) {
    const Grpc__Health__V1__HealthListResponse__StatusesEntry *e = r->statuses[i];
    FUZZ_CHECK(e && e->key); /* proto3 string: "" when absent, never NULL */
    if (!e->value)           /* absent value: the default message, status UNKNOWN */
      unset++;
    else if ((int)e->value->status < 0 || (int)e->value->status > WIRE_STATUS_MAX)
      out_of_range++; /* an open enum: any int32 arrives as sent */
  }
  FUZZ_CHECK(unset + out_of_range <= r->n_statuses);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  return 0;
}
