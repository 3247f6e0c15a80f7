/* readfile: see readfile.h. */
#include "readfile.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define FIRST_CAP 4096

int readfile_fd(int fd, size_t max, char **out, size_t *len) {
  char *buf = NULL;
  size_t got = 0, cap = 0;
  int rc = 0;

  for (;;) {
    if (got == cap) {
      /* Room for one byte past max: that it arrives is what says "too big". */
      size_t want = cap ? cap * 2 : FIRST_CAP;
      if (want > max + 1)
        want = max + 1;
      if (want == cap) {
        rc = -EFBIG;
        goto fail;
      }
      char *grown = realloc(buf, want + 1);
      if (!grown) {
        rc = -ENOMEM;
        goto fail;
      }
      buf = grown;
      cap = want;
    }
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      goto fail;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  *out = buf;
  if (len)
    *len = got;
  return 0;
fail:
  free(buf);
  return rc;
}
