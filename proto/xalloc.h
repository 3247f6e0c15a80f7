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
/* An allocation made inside a library that cannot fail: p, or when it is
 * NULL (the library could not allocate) the same abort, naming `what`. For
 * objects whose only failure is out of memory (a libmicrohttpd response
 * built at start, a jansson value of a constant format). */
void *xnonnull(void *p, const char *what);
/* The abort itself, for a library that says out of memory with an error
 * code (a failed MHD_add_response_header, GNUTLS_E_MEMORY_ERROR). */
_Noreturn void xalloc_die(const char *what);
/* asprintf that cannot fail: the formatted text, malloc'd. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
