/* number: whole decimal numbers in a range. */
#include "number.h"

#include <errno.h>
#include <stdlib.h>

int number_parse(const char *text, long min, long max, long *out) {
  char *end;
  long v;

  /* strtol would also take leading space and a sign: refuse them. */
  if (!text || text[0] < '0' || text[0] > '9')
    return -EINVAL;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno || *end || v < min || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}
