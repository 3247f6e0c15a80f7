/*
 * xalloc: allocation that cannot fail, for the modules that do not return
 * -ENOMEM (docs/oom.md): the transports, the control API, the runner's
 * clients and cases. On failure it prints what could not be allocated and
 * aborts, as redis's zmalloc and gRPC's gpr_malloc do: a health server
 * that cannot allocate cannot answer truthfully, and a branch no test
 * reaches is a guess. The pure modules (registry, timeline, inject,
 * journal, selection, report, config, this wire library) keep their
 * -ENOMEM returns, proven by the failmalloc unit tests, and do not use it.
 *
 * Thread-safe. Memory is plain malloc memory: free() it.
 */
#ifndef HC_XALLOC_H
#define HC_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
/* asprintf that cannot fail: the formatted text, malloc'd. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
