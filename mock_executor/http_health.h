/*
 * http_health: the plain-HTTP health endpoint some servers offer beside
 * gRPC (Jina's executors answer `GET /` this way), over libmicrohttpd,
 * bound to 127.0.0.1 by default.
 *
 *   GET|HEAD /               service "" SERVING -> codes[SERVING] (200) {}
 *                            other status       -> codes[status] (503)
 *                                                  {"status": "NOT_SERVING"}
 *                            "" unknown         -> as SERVICE_UNKNOWN
 *   GET|HEAD /health/{name}  the same for {name} (percent-decoded);
 *                            404 {"error": "unknown service"} when unknown
 *
 * Other paths 404, other methods 405 (Allow: GET, HEAD); every body is
 * JSON (Content-Type application/json). HTTP/1.1 keep-alive works.
 *
 * Journal: every request (404, 405 and 413 included) is recorded once
 * answered: protocol "http", method "GET /health/x" (the decoded path),
 * service (the name asked for; "" for / and for paths no route takes),
 * deadline_ms -1, the User-Agent header, peer "ipv4:127.0.0.1:5000" or
 * "ipv6:[::1]:5000" (as gRPC names peers), result the HTTP code ("503").
 *
 * Violation knobs (faults.h), read per request, change the status answers
 * of / and /health/{name} (the 404 of an unknown name stays as it is):
 *   http-ok-when-unhealthy   every status answered as SERVING (200 {})
 *   http-not-json            the body is not JSON ("OK", "NOT_SERVING"),
 *                            Content-Type still application/json
 *   http-wrong-content-type  Content-Type text/html
 *   http-root-not-200        SERVING answered 204 No Content (no body)
 *   http-no-keep-alive       Connection: close, and the connection closes
 *   http-slow                answered 600 ms late, holding libmicrohttpd's
 *                            one thread meanwhile (http_health.c says why)
 *   http-head-broken         HEAD answered 500
 *   http-unknown-path-ok     GET and HEAD of a path no route knows are
 *                            answered as / (other methods there still 404)
 * They combine.
 *
 * Fault injection rules (inject.h, faults_inject) with path= are consulted
 * first on / and /health/{name}: http-status, close, reset, delay and
 * slow-body (delays hold libmicrohttpd's one thread, as http-slow does).
 *
 * Statuses are read per request with registry_get (a read lock), and the
 * status responses (every knob's form too) are built once at start, so a
 * request allocates nothing beyond libmicrohttpd's own per-connection state.
 *
 * Thread safety: http_health_start/http_health_stop from one thread;
 * requests are served on libmicrohttpd's thread and only read the registry
 * and faults and append to the journal (all thread-safe).
 */
#ifndef HC_HTTP_HEALTH_H
#define HC_HTTP_HEALTH_H

#include <stddef.h>

#include "faults.h"
#include "journal.h"
#include "registry.h"
#include "tls.h"
#include "wire.h"

typedef struct http_health http_health;

typedef struct http_health_options {
  const char *host;     /* address to bind, e.g. "127.0.0.1"; NULL = 127.0.0.1 (copied) */
  int port;             /* 0 = a free port */
  registry *reg;        /* borrowed; must outlive the listener */
  journal *journal;     /* borrowed, must outlive the listener; NULL = no recording */
  const faults *faults; /* borrowed, must outlive the listener; NULL = no knobs */
  /* HTTP code per ServingStatus (index WIRE_UNKNOWN..WIRE_SERVICE_UNKNOWN),
   * 100-599; 0 = the default: 200 for SERVING, 503 for the others. */
  int codes[WIRE_STATUS_MAX + 1];
  const tls_pem *tls; /* borrowed, must outlive the listener; NULL = plain HTTP (httpd.h) */
  int jina;           /* --profile jina: Jina's FastAPI app instead of the routes above
                       * (jina_http.h); the violation knobs and fault rules do not apply */
} http_health_options;

/* Starts serving. On success *bound_port is the port bound. On failure
 * returns a negative errno and writes a one-line reason into err (-EINVAL
 * for a code outside 100-599). */
int http_health_start(const http_health_options *opts, http_health **out, int *bound_port,
                      char *err, size_t errlen);

/* Stops serving and frees. Safe with NULL. */
void http_health_stop(http_health *h);

#endif
