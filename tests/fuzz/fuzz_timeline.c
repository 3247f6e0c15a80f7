/* timeline_parse: a --timeline spec. The first byte chooses repeat.
 * Invariants: a parsed spec has steps with statuses 0-3 and durations
 * > 0, only its last step may hold forever and only without repeat; an
 * error leaves the spec zeroed and a NUL-terminated reason. */
#include <string.h>

#include "fuzz.h"
#include "timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  timeline_spec spec;
  char err[TIMELINE_ERR_MAX];
  char *text;
  int repeat;

  if (size < 1)
    return 0;
  repeat = data[0] & 1;
  text = fuzz_cstr(data + 1, size - 1);
  memset(err, 'x', sizeof(err));
  if (timeline_parse(text, repeat, &spec, err, sizeof(err)) == 0) {
    FUZZ_CHECK(spec.count > 0 && spec.steps && spec.repeat == repeat);
    for (size_t i = 0; i < spec.count; i++) {
      FUZZ_CHECK(spec.steps[i].status >= 0 && spec.steps[i].status <= 3);
      if (spec.steps[i].duration_ms < 0)
        FUZZ_CHECK(spec.steps[i].duration_ms == -1 && i + 1 == spec.count && !repeat);
      else
        FUZZ_CHECK(spec.steps[i].duration_ms > 0);
    }
    timeline_spec_free(&spec);
  } else {
    FUZZ_CHECK(spec.count == 0 && spec.steps == NULL);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
  }
  free(text);
  return 0;
}
