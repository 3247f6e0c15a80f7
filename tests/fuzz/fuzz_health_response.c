/* HealthCheckResponse decode (wire_check_response_decode): what the runner
 * reads from the server under test. Invariant: a status 0-3 re-encodes and
 * decodes to itself (H-SVC-2); any other value is returned as sent. */
#include <errno.h>

#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t out[WIRE_RESPONSE_MAX];
  int status, again, n;

  if (wire_check_response_decode(data, size, &status) < 0)
    return 0;
  if (status < 0 || status > WIRE_STATUS_MAX) {
    FUZZ_CHECK(wire_check_response_encode(status, out) == -EINVAL);
    return 0;
  }
  n = wire_check_response_encode(status, out);
  FUZZ_CHECK(n >= 0 && n <= WIRE_RESPONSE_MAX);
  FUZZ_CHECK(wire_check_response_decode(out, (size_t)n, &again) == 0);
  FUZZ_CHECK(again == status);
  return 0;
}
