/* lazylib: libmicrohttpd and GnuTLS opened on first use, not at exec.
 *
 * Why: the two and GnuTLS's eight libraries cost ~2.5 ms of a ~5 ms
 * start (4.2M of the 5.3M user-space instructions of `--version`: the
 * loader's symbol lookups and GnuTLS's constructor), before the gRPC
 * port can open (issue 19: start to SERVING <= grpc-go). A gRPC-only
 * mock never loads them. lazylib.c defines the MHD_* and gnutls_*
 * functions the mock calls, under their own names, as thin calls through
 * pointers taken from dlopen; the call sites stay as they were.
 */
#ifndef HC_LAZYLIB_H
#define HC_LAZYLIB_H

#include <stddef.h>

#define LAZYLIB_ERR_MAX 512

/* Opens both libraries once (thread-safe); 0, or -ENOENT with the
 * loader's reason in err. Call before the first MHD_* or gnutls_* call. */
int lazylib_load(char *err, size_t errlen);

/* gnutls_free is a variable in GnuTLS, not a function: what it points to. */
void lazylib_gnutls_free(void *p);

#endif
