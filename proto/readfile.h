/*
 * readfile: reading a whole small file (pattern lists, baselines, PEM
 * files), shared by both programs.
 */
#ifndef HC_READFILE_H
#define HC_READFILE_H

#include <stddef.h>

/* Reads fd to its end into a malloc'd NUL-terminated buffer that *out
 * receives and the caller frees; *len (when not NULL) gets the byte count.
 * The buffer grows with what arrives, so a pipe, which has no size to ask
 * for, works too. Returns 0, -EFBIG when more than `max` bytes arrive,
 * -ENOMEM, or the -errno of a failed read(2); on failure *out is untouched.
 * The caller opens and closes fd, so it words its own messages for each
 * step. Thread-safe. */
int readfile_fd(int fd, size_t max, char **out, size_t *len);

#endif
