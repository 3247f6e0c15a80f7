/*
 * httpd: what the mock's two HTTP listeners (admin, http_health) share on
 * top of libmicrohttpd: binding to a host and port, reading the request
 * body up to a cap, routing by method and path, and JSON responses.
 *
 * A listener hands httpd_start() a table of routes. Each request is routed
 * once it is complete: a path no route knows gets 404 (unless the optional
 * fallback answers it), a known path with a method no route takes gets 405
 * with an Allow header listing the methods that path takes, a body over the
 * cap gets 413. With a bearer token set, a request that does not carry it
 * gets 401 before any of that. Paths are percent-decoded by libmicrohttpd
 * before routing. A route's function must queue exactly
 * one response, normally through the httpd_respond_* calls.
 *
 * Threading: libmicrohttpd's internal polling thread (epoll on Linux) runs
 * every route; routes must not block (the mock's http-slow knob does, on
 * purpose: see http_health.c). One event thread serves any number
 * of keep-alive connections, where thread-per-connection would hold a
 * thread per idle client (benchmark peers keep many open); the routes
 * only take the registry's short locks, so more threads would gain nothing.
 *
 * httpd_start/httpd_stop from one thread. The respond calls are for use
 * inside a route.
 */
#ifndef HC_HTTPD_H
#define HC_HTTPD_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "tls.h"

typedef struct httpd httpd;

/* One complete request, valid during the route call. */
typedef struct httpd_request {
  const char *method;
  const char *path; /* percent-decoded */
  const char *rest; /* for a prefix route: the path after the prefix */
  const char *body; /* NUL-terminated; NULL when the request had none */
  size_t body_len;
  /* For observe only (NULL in routes): the client as gRPC names peers,
   * "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000" ("" when unknown),
   * formatted once per connection. */
  const char *peer;
} httpd_request;

/* Returns what the queue call returned (MHD_NO closes the connection). */
typedef enum MHD_Result (*httpd_route_fn)(void *ctx, struct MHD_Connection *conn,
                                          const httpd_request *rq);

/* Told of every request once it is answered, by a route or by httpd itself
 * (401, 404, 405, 413), with the HTTP code queued. Runs on the event
 * thread; must not block. rq->body may be NULL here even when one was sent
 * (a 413 before it was read). */
typedef void (*httpd_observe_fn)(void *ctx, struct MHD_Connection *conn, const httpd_request *rq,
                                 unsigned code);

/* Offered each request whose path no route knows, before httpd answers it
 * 404: returns 1 having queued exactly one response (what the queue call
 * returned in *rv), or 0 to leave the 404 to httpd. rq->rest is NULL. Runs
 * on the event thread; must not block. */
typedef int (*httpd_fallback_fn)(void *ctx, struct MHD_Connection *conn, const httpd_request *rq,
                                 enum MHD_Result *rv);

typedef struct httpd_route {
  const char *method; /* "GET", ... */
  const char *path;   /* exact path, or the prefix when prefix is set */
  int prefix;         /* match every path that starts with `path` */
  httpd_route_fn fn;
} httpd_route;

#define HTTPD_MAX_BODY_DEFAULT (64 * 1024)
/* libmicrohttpd's own default: its per-connection pool holds the request
 * line and headers (a request whose head does not fit gets 431) and the
 * response head. */
#define HTTPD_CONN_MEMORY_DEFAULT ((size_t)32 * 1024)

typedef struct httpd_options {
  const char *name; /* for messages, e.g. "admin" (copied, truncated to 31) */
  const char *host; /* IPv4/IPv6 address or host name; NULL = 127.0.0.1 */
  int port;         /* 0 = a free port */
  size_t max_body;  /* 0 = HTTPD_MAX_BODY_DEFAULT */
  /* Bytes of the per-connection pool; 0 = HTTPD_CONN_MEMORY_DEFAULT.
   * libmicrohttpd zeroes the whole pool before each request of a
   * keep-alive connection, so its size is a cost per request. */
  size_t conn_memory;
  const httpd_route *routes; /* borrowed; must outlive the httpd. First match wins */
  size_t nroutes;
  void *ctx; /* passed to every route and to observe */
  /* When set, a request without "Authorization: Bearer <token>" (compared
   * in constant time) is answered 401 with WWW-Authenticate: Bearer before
   * routing, whatever its path. Copied. NULL = no authentication. */
  const char *bearer_token;
  httpd_observe_fn observe;   /* NULL = none */
  httpd_fallback_fn fallback; /* NULL = every unknown path gets 404 */
  /* TLS only (HTTPS), from these PEM texts; with tls->ca the handshake
   * fails unless the client presents a certificate that CA signed.
   * Borrowed: must outlive the httpd. NULL = plain HTTP. */
  const tls_pem *tls;
} httpd_options;

/* Starts serving. On success *bound_port is the port bound. On failure
 * returns a negative errno and writes a one-line reason into err, e.g.
 * "admin: cannot listen on 127.0.0.1:8080: ... Address already in use". */
int httpd_start(const httpd_options *opts, httpd **out, int *bound_port, char *err, size_t errlen);

/* Stops serving (waits for running routes) and frees. Safe with NULL. */
void httpd_stop(httpd *h);

/* A response over a static text (never copied or freed) with that
 * Content-Type, or with no body and no Content-Type when body is NULL.
 * NULL if out of memory. For responses built once and queued many times;
 * the caller destroys it. */
struct MHD_Response *httpd_static(const char *body, const char *content_type);

/* httpd_static(body, "application/json"), as the calls below use it. */
struct MHD_Response *httpd_static_json(const char *body);

/* Queues a static JSON text (or no body when NULL) with `code`. */
enum MHD_Result httpd_respond_static(struct MHD_Connection *conn, unsigned code, const char *body);

/* Queues the serialisation of `body` with `code`. Steals the reference
 * (NULL is allowed and answered 500, so a failed json_pack needs no check). */
enum MHD_Result httpd_respond_json(struct MHD_Connection *conn, unsigned code, json_t *body);

/* Queues {"error": "<formatted message>"} with `code`. */
enum MHD_Result httpd_respond_error(struct MHD_Connection *conn, unsigned code, const char *fmt,
                                    ...) __attribute__((format(printf, 3, 4)));

#endif
