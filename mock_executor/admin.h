/*
 * admin: the control API over HTTP/JSON (libmicrohttpd + jansson), bound to
 * 127.0.0.1 by default.
 *
 *   GET    /v1/health            -> 200 {"ok": true} (the control hook is up)
 *   GET    /v1/statuses          -> 200 {"statuses": {"": "SERVING", ...}}
 *   PUT    /v1/statuses          {"service": "foo", "status": "NOT_SERVING"}
 *                                 -> 200 {"service":..,"status":..}; wakes watchers
 *   DELETE /v1/statuses/{name}   -> 204; 404 if unknown. The empty name
 *                                 (DELETE /v1/statuses/) is refused with 400:
 *                                 `""` is the server's overall health.
 *   POST   /v1/shutdown          -> 200; every service NOT_SERVING, later sets
 *                                 (and timeline PUTs) refused with 409 until
 *   POST   /v1/resume            -> 200 (grpc-go Shutdown/Resume semantics)
 *
 *   GET    /v1/journal           -> 200 journal_to_json() (journal.h)
 *   DELETE /v1/journal           -> 204; drops every record
 *
 *   GET    /v1/timelines         -> 200 {"timelines": {"": {"steps": [{"status":
 *                                 "NOT_SERVING", "duration_ms": 1000}, {"status":
 *                                 "SERVING", "duration_ms": null}], "repeat": false,
 *                                 "step": 0, "next_in_ms": 734}}}; running ones
 *                                 only (one that reached its held last step is over)
 *   PUT    /v1/timelines         {"service": "", "timeline": "NOT_SERVING:1s,SERVING",
 *                                 "repeat": false} ("repeat" optional, default false)
 *                                 -> 200 {"service","timeline","repeat"}; replaces the
 *                                 service's timeline, first step applied at once.
 *                                 A bad spec: 400 naming the step, nothing changed.
 *   DELETE /v1/timelines/{name}  -> 204, the status stays where it is; 404 when
 *                                 none runs. The empty name is allowed here
 *                                 (DELETE /v1/timelines/ stops the "" timeline).
 *                                 PUT /v1/statuses does not stop a timeline: its
 *                                 next step overrides the set.
 *
 *   GET    /v1/faults            -> 200 {"faults": [{"rule": "method=Check,action=hang,
 *                                 count=3", "protocol": "grpc", "target": "Check",
 *                                 "service": null, "probability": 1.0, "remaining": 2,
 *                                 "hits": 1}, ...]} (remaining null: no count)
 *   POST   /v1/faults            {"rule": "method=Check,action=hang,count=3"} -> 201
 *                                 the rule as GET shows it; 400 naming the bad part
 *                                 (inject.h has the syntax); 409 past 64 rules
 *   DELETE /v1/faults            -> 204; drops every rule
 *
 *   GET    /v1/violations        -> 200 {"available": [{"name", "breaks",
 *                                 "description"}, ...], "enabled": ["name", ...]}
 *   PUT    /v1/violations        {"violation": "watch-duplicates", "enabled": true}
 *                                 -> 200 {"violation","enabled"}; 400 naming an
 *                                 unknown knob. Transports read knobs per request.
 *
 * A feature the server runs without (NULL in admin_options) answers 404
 * {"error": "...: not enabled on this server"} on its routes.
 *
 * Bad JSON, a missing, unknown or mistyped field, an unknown status: 400
 * {"error": "..."} naming what is wrong, state unchanged. Unknown path 404,
 * wrong method 405 (Allow lists the methods the path takes).
 *
 * With a token, every request (whatever its path) must carry
 * `Authorization: Bearer <token>`, compared in constant time; otherwise
 * 401 {"error": ...} with `WWW-Authenticate: Bearer`, before any other
 * check. The caller decides whether an address may be bound without one.
 *
 * Thread safety: admin_start/admin_stop from one thread; requests are served
 * on libmicrohttpd's own thread and only touch the registry, journal,
 * timelines and faults (all thread-safe).
 */
#ifndef HC_ADMIN_H
#define HC_ADMIN_H

#include <stddef.h>

#include "faults.h"
#include "journal.h"
#include "registry.h"
#include "timeline.h"

typedef struct admin admin;

typedef struct admin_options {
  const char *host; /* address to bind, e.g. "127.0.0.1" (copied) */
  int port;         /* 0 = a free port */
  registry *reg;    /* borrowed; must outlive the admin */
  /* Borrowed, must outlive the admin; NULL = that feature's routes 404. */
  journal *journal;
  timelines *timelines;
  faults *faults;
  const char *token; /* bearer token (copied); NULL = no authentication; "" refused */
} admin_options;

/* Starts serving. On success *bound_port is the port bound. On failure
 * returns a negative errno and writes a one-line reason into err. */
int admin_start(const admin_options *opts, admin **out, int *bound_port, char *err, size_t errlen);

/* Stops serving and frees. Safe with NULL. */
void admin_stop(admin *a);

#endif
