/*
 * admin: the control API over HTTP/JSON (libmicrohttpd + jansson), bound to
 * 127.0.0.1 by default.
 *
 *   GET    /v1/statuses          -> 200 {"statuses": {"": "SERVING", ...}}
 *   PUT    /v1/statuses          {"service": "foo", "status": "NOT_SERVING"}
 *                                 -> 200 {"service":..,"status":..}; wakes watchers
 *   DELETE /v1/statuses/{name}   -> 204; 404 if unknown. The empty name
 *                                 (DELETE /v1/statuses/) is refused with 400:
 *                                 `""` is the server's overall health.
 *   POST   /v1/shutdown          -> 200; every service NOT_SERVING, later sets
 *                                 refused with 409 until
 *   POST   /v1/resume            -> 200 (grpc-go Shutdown/Resume semantics)
 *
 * Bad JSON, a missing field, an unknown status: 400 {"error": "..."} naming
 * what is wrong, state unchanged. Unknown path 404, wrong method 405.
 *
 * Thread safety: admin_start/admin_stop from one thread; requests are served
 * on libmicrohttpd's own threads and only touch the registry (thread-safe).
 */
#ifndef HC_ADMIN_H
#define HC_ADMIN_H

#include <stddef.h>

#include "registry.h"

typedef struct admin admin;

typedef struct admin_options {
  const char *host; /* address to bind, e.g. "127.0.0.1" (copied) */
  int port;         /* 0 = a free port */
  registry *reg;    /* borrowed; must outlive the admin */
} admin_options;

/* Starts serving. On success *bound_port is the port bound. On failure
 * returns a negative errno and writes a one-line reason into err. */
int admin_start(const admin_options *opts, admin **out, int *bound_port, char *err,
                size_t errlen);

/* Stops serving and frees. Safe with NULL. */
void admin_stop(admin *a);

#endif
