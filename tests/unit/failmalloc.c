/* failmalloc: see failmalloc.h. */
#define _GNU_SOURCE /* strndup, vasprintf */
#include "failmalloc.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int __wrap___asprintf_chk(char **out, int flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static atomic_int active;   /* between begin and end */
static atomic_long counted; /* allocations in this run of the step */
static atomic_long target;  /* the one to fail, 1-based; 0 none */
static atomic_int failed;   /* the target was reached since begin */
static atomic_int hit;      /* the target was reached in this run */

static int fail_now(void) {
  long n;

  if (!atomic_load(&active))
    return 0;
  n = atomic_fetch_add(&counted, 1) + 1;
  if (n != atomic_load(&target))
    return 0;
  atomic_store(&failed, 1);
  atomic_store(&hit, 1);
  return 1;
}

void *__wrap_malloc(size_t size) { return fail_now() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
/* A failed realloc leaves the block as it was, as the real one does. */
void *__wrap_realloc(void *p, size_t size) { return fail_now() ? NULL : __real_realloc(p, size); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fail_now() ? NULL : __real_strndup(s, n); }

/* asprintf allocates inside libc, where --wrap does not reach: it counts
 * as one allocation here (config_yaml's flags and origins). Optimised with
 * _FORTIFY_SOURCE, the call our code makes is __asprintf_chk instead (its
 * flag only asks for checks). */
#if defined(__USE_FORTIFY_LEVEL) && __USE_FORTIFY_LEVEL > 0
int __wrap___asprintf_chk(char **out, int flag, const char *fmt, ...) {
  (void)flag;
#else
int __wrap_asprintf(char **out, const char *fmt, ...) {
#endif
  va_list ap;
  int n = -1;

  va_start(ap, fmt);
  if (!fail_now())
    n = vasprintf(out, fmt, ap);
  va_end(ap);
  return n;
}

void failmalloc_begin(void) {
  atomic_store(&failed, 0);
  atomic_store(&active, 1);
}

int failmalloc_end(void) {
  atomic_store(&active, 0);
  return atomic_load(&failed);
}

long failmalloc_run(failmalloc_step step, void *arg) {
  long n;

  /* jansson's own allocations count too (reports, the journal, configs). */
  json_set_alloc_funcs(__wrap_malloc, free);
  atomic_store(&target, 0);
  atomic_store(&counted, 0);
  step(arg);
  n = atomic_load(&counted);
  if (n == 0)
    fail_msg("failmalloc: the step allocated nothing between begin and end");
  for (long k = 1; k <= n; k++) {
    atomic_store(&target, k);
    atomic_store(&counted, 0);
    atomic_store(&hit, 0);
    step(arg);
    if (!atomic_load(&hit))
      fail_msg(
          "failmalloc: run %ld of %ld never reached its allocation (the step is not "
          "deterministic)",
          k, n);
  }
  atomic_store(&target, 0);
  return n;
}
