/*
 * errbuf: the one way both programs fill a caller's error buffer and
 * return an error code from the same line. Thread-safe (no state).
 *
 * The convention: a function that fails with a message takes the pair
 * (char *err, size_t errlen) last (reason/reasonlen where the message is
 * not an error, as the runner's gate), writes one line into it with
 * errbuf_fail and returns the negative errno on the same line. Its caller
 * owns the buffer, a local array passed with sizeof; the module's
 * <MODULE>_ERR_MAX says what size its callers use. No array parameters
 * (char err[N]) and no malloc'd messages (char **error).
 */
#ifndef HC_ERRBUF_H
#define HC_ERRBUF_H

#include <stddef.h>

/* Formats the message into err (errlen bytes, truncated, always
 * terminated when errlen > 0) and returns ret. */
int errbuf_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
