/* duration: human durations to milliseconds. */
#include "duration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX_MS (24L * 3600 * 1000)

int duration_parse(const char *text, long *ms) {
  static const struct {
    const char *unit;
    double scale;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"", 1}};
  char *end;
  double v;

  if (!text || text[0] < '0' || text[0] > '9')
    return -EINVAL;
  errno = 0;
  v = strtod(text, &end);
  if (errno || end == text)
    return -EINVAL;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(end, units[i].unit) == 0) {
      double total = v * units[i].scale;
      if (total > DURATION_MAX_MS || (units[i].scale == 1 && total != (long)total))
        return -EINVAL;
      *ms = (long)(total + 0.5);
      return 0;
    }
  }
  return -EINVAL;
}
