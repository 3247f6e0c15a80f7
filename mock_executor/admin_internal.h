/*
 * admin_internal: the control API's request parsing, apart from
 * libmicrohttpd, so the fuzz targets (tests/fuzz) reach it without a
 * socket. Not part of the admin.h contract; only admin.c and the tests use it.
 * Thread-safe (no state).
 */
#ifndef HC_ADMIN_INTERNAL_H
#define HC_ADMIN_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

/* The size of the err buffers below in this tree: room for every message
 * with the names it quotes (a field name, a status); a quoted name longer
 * than that is cut (errbuf.h). */
#define ADMIN_ERR_MAX 1024

/* Parses the body of PUT /v1/statuses (body NULL: the request had none).
 * On success returns 0, *root holds the document (the caller json_decref's
 * it), *service points into it and *status is 0-3. On bad input returns
 * -EINVAL with a message naming what is wrong in err (errlen bytes; the
 * answer is 400) and *root NULL. Out of memory aborts (docs/oom.md). */
int admin_parse_put(const char *body, size_t len, json_t **root, const char **service, int *status,
                    char *err, size_t errlen);

/* The {name} of DELETE /v1/statuses/{name}: 0 when it may be removed,
 * -EINVAL with the message in err (400) otherwise. */
int admin_check_delete(const char *name, char *err, size_t errlen);

#endif
