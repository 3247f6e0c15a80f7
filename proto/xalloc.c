/* xalloc: see xalloc.h. */
#define _GNU_SOURCE /* strdup, vasprintf */
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *p, size_t size) {
  if (!p && size) {
    fprintf(stderr, "out of memory (%zu bytes); aborting (docs/oom.md)\n", size);
    abort();
  }
  return p;
}

void xalloc_die(const char *what) {
  fprintf(stderr, "out of memory (%s); aborting (docs/oom.md)\n", what);
  abort();
}

void *xnonnull(void *p, const char *what) {
  if (!p)
    xalloc_die(what);
  return p;
}

/* A 0-byte request gets a 1-byte block, so NULL always means failure. */
void *xmalloc(size_t size) { return checked(malloc(size ? size : 1), size ? size : 1); }

void *xcalloc(size_t n, size_t size) {
  return checked(calloc(n ? n : 1, size ? size : 1), (n ? n : 1) * (size ? size : 1));
}

void *xrealloc(void *p, size_t size) {
  return checked(realloc(p, size ? size : 1), size ? size : 1);
}

char *xstrdup(const char *s) { return checked(strdup(s), strlen(s) + 1); }

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *text;
  int n;

  va_start(ap, fmt);
  n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0) {
    fprintf(stderr, "out of memory (formatting '%s'); aborting (docs/oom.md)\n", fmt);
    abort();
  }
  return text;
}
