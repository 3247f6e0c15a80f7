/* duration: human durations to milliseconds. See duration.h. */
#include "duration.h"

#include <errno.h>
#include <string.h>

/* Reads the run of at most `max` ASCII digits at *p into *value and
 * advances *p; returns how many digits there were (0: none, or too many). */
static int read_digits(const char **p, int max, long long *value, long long *pow10) {
  int n = 0;

  *value = 0;
  *pow10 = 1;
  while ((*p)[n] >= '0' && (*p)[n] <= '9') {
    if (++n > max)
      return 0;
    *value = *value * 10 + ((*p)[n - 1] - '0');
    *pow10 *= 10;
  }
  *p += n;
  return n;
}

int duration_parse_range(const char *text, long min_ms, long max_ms, long *ms) {
  static const struct {
    const char *unit;
    long long scale;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}};
  long long whole, frac = 0, frac_pow = 1, pow10, total;
  const char *p = text;

  /* 12 whole digits and 9 decimals: far above any cap, and every product
   * below stays exact in a long long. */
  if (!p || read_digits(&p, 12, &whole, &pow10) == 0)
    return -EINVAL;
  if (*p == '.') {
    p++;
    if (read_digits(&p, 9, &frac, &frac_pow) == 0)
      return -EINVAL;
  }
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(p, units[i].unit) != 0)
      continue;
    if (frac * units[i].scale % frac_pow != 0)
      return -EINVAL; /* a fraction of a millisecond */
    total = whole * units[i].scale + frac * units[i].scale / frac_pow;
    if (total < min_ms || total > max_ms)
      return -EINVAL;
    *ms = (long)total;
    return 0;
  }
  return -EINVAL;
}

int duration_parse(const char *text, long *ms) {
  return duration_parse_range(text, 0, DURATION_MAX_MS, ms);
}
