/* HealthCheckRequest decode (wire_check_request_decode): the bytes every
 * Check/Watch/List caller sends the mock. Invariant: what decodes
 * re-encodes and decodes to the same service (H-CHECK-8, H-CHECK-9). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *service = NULL, *again = NULL;
  uint8_t *buf = NULL;
  size_t len;

  if (wire_check_request_decode(data, size, &service) < 0)
    return 0;
  FUZZ_CHECK(wire_check_request_encode(service, &buf, &len) == 0);
  FUZZ_CHECK(wire_check_request_decode(buf, len, &again) == 0);
  FUZZ_CHECK(strcmp(service, again) == 0);
  free(again);
  free(buf);
  free(service);
  return 0;
}
