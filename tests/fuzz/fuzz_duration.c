/* duration_parse: durations from flags, the YAML config and timeline
 * specs. Invariant: a success is 0 to 24 h, and a failure leaves *ms alone. */
#include "duration.h"
#include "fuzz.h"

#define DAY_MS (24L * 3600 * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size);
  long ms = -42;

  if (duration_parse(text, &ms) == 0)
    FUZZ_CHECK(ms >= 0 && ms <= DAY_MS);
  else
    FUZZ_CHECK(ms == -42);
  free(text);
  return 0;
}
