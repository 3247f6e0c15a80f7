/*
 * errbuf: the one way both programs fill a caller's error buffer and
 * return an error code from the same line. Thread-safe (no state).
 */
#ifndef HC_ERRBUF_H
#define HC_ERRBUF_H

#include <stddef.h>

/* Formats the message into err (errlen bytes, truncated, always
 * terminated when errlen > 0) and returns ret. */
int errbuf_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
