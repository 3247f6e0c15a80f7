/* http_health: GET / and GET /health/{name} over HTTP. See http_health.h. */
#define _POSIX_C_SOURCE 200809L
#include "http_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "errbuf.h"
#include "httpd.h"
#include "jina_http.h"
#include "xalloc.h"

#define NSTATUS (WIRE_STATUS_MAX + 1)
#define SLOW_MS 600 /* http-slow: over the runner's default 500 ms budget (H05) */
/* libmicrohttpd zeroes a connection's pool before each keep-alive request:
 * its 32 KiB default was 8.6 % of the CPU of a GET / (perf). 16 KiB takes
 * a request head as large as uvicorn's (h11: 16 KiB), which serves Jina's
 * HTTP health; a larger one gets 431. docs/performance.md, round 4. */
#define HTTP_HEALTH_CONN_MEMORY ((size_t)16 * 1024)

/* A status answer comes in eight forms: the right one, and the ones the
 * HTTP violation knobs ask for (body not JSON, Content-Type text/html,
 * Connection: close), alone or combined. */
enum { BODY_JSON, BODY_NOT_JSON, NBODY };
enum { TYPE_JSON, TYPE_HTML, NTYPE };
enum { CONN_KEEP, CONN_CLOSE, NCONN };

struct http_health {
  httpd *h;
  registry *reg;
  journal *journal;
  const faults *faults;
  unsigned codes[NSTATUS];
  /* Built once, queued by every request (MHD counts the references). */
  struct MHD_Response *by_status[NBODY][NTYPE][NCONN][NSTATUS];
  struct MHD_Response *unknown;
  struct MHD_Response *head_error; /* http-head-broken */
  struct MHD_Response *injected;   /* --fault action=http-status:N */
  jina_http *jina;                 /* --profile jina: every request goes to it */
};

static const char *const status_bodies[NBODY][NSTATUS] = {
    [BODY_JSON] =
        {
            [WIRE_UNKNOWN] = "{\"status\":\"UNKNOWN\"}",
            [WIRE_SERVING] = "{}",
            [WIRE_NOT_SERVING] = "{\"status\":\"NOT_SERVING\"}",
            [WIRE_SERVICE_UNKNOWN] = "{\"status\":\"SERVICE_UNKNOWN\"}",
        },
    [BODY_NOT_JSON] =
        {
            [WIRE_UNKNOWN] = "UNKNOWN",
            [WIRE_SERVING] = "OK",
            [WIRE_NOT_SERVING] = "NOT_SERVING",
            [WIRE_SERVICE_UNKNOWN] = "SERVICE_UNKNOWN",
        },
};

static const char *const content_types[NTYPE] = {
    [TYPE_JSON] = "application/json",
    [TYPE_HTML] = "text/html",
};

/* http-slow. This holds libmicrohttpd's one event thread (httpd.h), so
 * other HTTP connections of this listener wait too; the admin API and gRPC
 * have their own threads. Not blocking would take MHD_suspend_connection:
 * MHD_ALLOW_SUSPEND_RESUME on the shared listener, a timer thread, routes
 * called again on resume and every connection resumed before stop. For a
 * knob whose one job is to make a single latency case (H05) fail, against
 * a runner that sends one request at a time (--parallel 1), blocking is the
 * honest simple way: every other HTTP case waits well within its timeout. */
static void slow_down(long ms) {
  struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

  while (nanosleep(&left, &left) < 0 && errno == EINTR)
    ;
}

/* reset: SO_LINGER 0 makes the close that MHD_NO asks for send a TCP RST. */
static enum MHD_Result reset_connection(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};

  if (ci)
    setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  return MHD_NO;
}

/* slow-body: the body handed out a byte at a time, a pause before each. */
typedef struct slow_body {
  const char *text; /* static storage */
  size_t len;
  long pause_ms;
} slow_body;

static ssize_t slow_body_read(void *cls, uint64_t pos, char *buf, size_t max) {
  slow_body *sb = cls;

  if (pos >= sb->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  (void)max; /* >= 1 */
  slow_down(sb->pause_ms);
  buf[0] = sb->text[pos];
  return 1;
}

/* Queues `text` as a body spread over total_ms. This blocks the listener's
 * one thread, as http-slow does (see slow_down). */
static enum MHD_Result queue_slow(struct MHD_Connection *conn, unsigned code, const char *text,
                                  const char *content_type, long total_ms) {
  slow_body *sb = xmalloc(sizeof(*sb));
  struct MHD_Response *r;
  enum MHD_Result rv;

  sb->text = text;
  sb->len = strlen(text);
  sb->pause_ms = sb->len ? total_ms / (long)sb->len : 0;
  r = MHD_create_response_from_callback(sb->len, 1, slow_body_read, sb, free);
  if (!r) {
    free(sb);
    return MHD_NO;
  }
  rv = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES
           ? MHD_queue_response(conn, code, r)
           : MHD_NO;
  MHD_destroy_response(r); /* the queue holds its own reference */
  return rv;
}

/* Applies an injected fault (inject.h) before the normal answer. Returns
 * 1 with *rv set when the fault answered; a delay blocks this listener's
 * one thread, as http-slow does (see slow_down), then returns 0;
 * slow-body returns 0 with *slow_ms set for report() to use. */
static int inject_fault(http_health *hh, struct MHD_Connection *conn, const httpd_request *rq,
                        const char *name, enum MHD_Result *rv, long *slow_ms) {
  inject_hit hit;

  if (!inject_match(faults_inject(hh->faults), INJECT_HTTP, rq->path, name, &hit))
    return 0;
  switch (hit.action) {
  case INJECT_HTTP_STATUS:
    *rv = MHD_queue_response(conn, (unsigned)hit.code, hh->injected);
    return 1;
  case INJECT_CLOSE:
    *rv = MHD_NO; /* libmicrohttpd closes the connection, nothing answered */
    return 1;
  case INJECT_RESET:
    *rv = reset_connection(conn);
    return 1;
  case INJECT_SLOW_BODY:
    *slow_ms = hit.delay_ms;
    return 0;
  default: /* DELAY, RANDOM_DELAY: inject_parse keeps hang and code off HTTP */
    slow_down(hit.delay_ms);
    return 0;
  }
}

static enum MHD_Result report(http_health *hh, struct MHD_Connection *conn, const httpd_request *rq,
                              const char *name, int named) {
  int status, body, type, conn_mode;
  enum MHD_Result rv;
  unsigned code;
  long slow_ms = -1;

  if (inject_fault(hh, conn, rq, name, &rv, &slow_ms))
    return rv;

  if (faults_on(hh->faults, VIOLATE_HTTP_HEAD_BROKEN) && strcmp(rq->method, "HEAD") == 0)
    return MHD_queue_response(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, hh->head_error);
  if (registry_get(hh->reg, name, &status) < 0) {
    if (named)
      return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, hh->unknown);
    status = WIRE_SERVICE_UNKNOWN; /* no overall health set: not healthy */
  }
  if (faults_on(hh->faults, VIOLATE_HTTP_OK_WHEN_UNHEALTHY))
    status = WIRE_SERVING;
  if (faults_on(hh->faults, VIOLATE_HTTP_SLOW))
    slow_down(SLOW_MS);
  body = faults_on(hh->faults, VIOLATE_HTTP_NOT_JSON) ? BODY_NOT_JSON : BODY_JSON;
  type = faults_on(hh->faults, VIOLATE_HTTP_WRONG_CONTENT_TYPE) ? TYPE_HTML : TYPE_JSON;
  conn_mode = faults_on(hh->faults, VIOLATE_HTTP_NO_KEEP_ALIVE) ? CONN_CLOSE : CONN_KEEP;
  code = hh->codes[status];
  /* libmicrohttpd sends no body with a 204, whatever the response holds. */
  if (status == WIRE_SERVING && faults_on(hh->faults, VIOLATE_HTTP_ROOT_NOT_200))
    code = MHD_HTTP_NO_CONTENT;
  if (slow_ms >= 0 && code != MHD_HTTP_NO_CONTENT && strcmp(rq->method, "HEAD") != 0)
    return queue_slow(conn, code, status_bodies[body][status], content_types[type], slow_ms);
  return MHD_queue_response(conn, code, hh->by_status[body][type][conn_mode][status]);
}

static enum MHD_Result get_root(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  return report(ctx, conn, rq, "", 0);
}

static enum MHD_Result get_named(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  return report(ctx, conn, rq, rq->rest, 1);
}

/* With --profile jina there are no routes: every request is answered here
 * as Jina's FastAPI app answers it. Otherwise http-unknown-path-ok: GET or
 * HEAD of a path no route knows is answered as / is, so a mistyped probe
 * path would pass (H07); without it httpd's 404. */
static int unknown_path(void *ctx, struct MHD_Connection *conn, const httpd_request *rq,
                        enum MHD_Result *rv) {
  http_health *hh = ctx;
  int status;

  if (hh->jina) {
    if (registry_get(hh->reg, "", &status) < 0)
      status = -1;
    *rv = jina_http_answer(hh->jina, conn, rq, status);
    return 1;
  }
  if (!faults_on(hh->faults, VIOLATE_HTTP_UNKNOWN_PATH_OK))
    return 0;
  if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
    return 0;
  *rv = report(hh, conn, rq, "", 0);
  return 1;
}

/* HEAD is routed like GET; libmicrohttpd leaves the body out. */
static const httpd_route routes[] = {
    {"GET", "/", 0, get_root},
    {"HEAD", "/", 0, get_root},
    {"GET", "/health/", 1, get_named},
    {"HEAD", "/health/", 1, get_named},
};

/* The three digits of an HTTP code (libmicrohttpd queues 100-999 only),
 * without an snprintf per request. */
static void code_text(char out[4], unsigned code) {
  code = code > 999 ? 999 : code;
  out[0] = (char)('0' + code / 100);
  out[1] = (char)('0' + code / 10 % 10);
  out[2] = (char)('0' + code % 10);
  out[3] = '\0';
}

/* Every request, answered by a route or not (404, 405, 413), goes into
 * the journal; observed only when the journal keeps records (its capacity
 * is fixed at start), so --journal-size 0 costs GET / nothing. */
static void record(void *ctx, struct MHD_Connection *conn, const httpd_request *rq, unsigned code) {
  http_health *hh = ctx;
  char method[160], result[4];
  journal_record rec = {.protocol = "http", .deadline_ms = -1};

  journal_join(method, sizeof(method), rq->method, rq->path);
  code_text(result, code);
  rec.method = method;
  rec.service = rq->rest; /* NULL ("") when no route took the path */
  rec.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
  rec.peer = rq->peer;
  rec.result = result;
  journal_add(hh->journal, &rec);
}

static void free_responses(http_health *hh) {
  for (int b = 0; b < NBODY; b++)
    for (int t = 0; t < NTYPE; t++)
      for (int c = 0; c < NCONN; c++)
        for (int s = 0; s < NSTATUS; s++)
          if (hh->by_status[b][t][c][s])
            MHD_destroy_response(hh->by_status[b][t][c][s]);
  if (hh->unknown)
    MHD_destroy_response(hh->unknown);
  if (hh->head_error)
    MHD_destroy_response(hh->head_error);
  if (hh->injected)
    MHD_destroy_response(hh->injected);
  jina_http_free(hh->jina);
}

/* One status answer; with CONN_CLOSE it says Connection: close, which
 * libmicrohttpd obeys by closing after it (http-no-keep-alive, H04). Its
 * body and headers are constant, so libmicrohttpd fails only out of
 * memory: abort (xalloc, docs/oom.md). */
static struct MHD_Response *status_response(int body, int type, int conn_mode, int status) {
  struct MHD_Response *r = xnonnull(httpd_static(status_bodies[body][status], content_types[type]),
                                    "an HTTP health response");

  if (conn_mode == CONN_CLOSE &&
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
    xalloc_die("an HTTP health response header");
  return r;
}

static struct MHD_Response *error_response(const char *body) {
  return xnonnull(httpd_static_json(body), "an HTTP health response");
}

static void build_responses(http_health *hh) {
  for (int b = 0; b < NBODY; b++)
    for (int t = 0; t < NTYPE; t++)
      for (int c = 0; c < NCONN; c++)
        for (int s = 0; s < NSTATUS; s++)
          hh->by_status[b][t][c][s] = status_response(b, t, c, s);
  hh->unknown = error_response("{\"error\":\"unknown service\"}");
  hh->head_error = error_response("{\"error\":\"internal error\"}");
  hh->injected = error_response("{\"error\":\"injected fault\"}");
}

/* codes[] with the defaults filled in; -EINVAL for a code outside 100-599. */
static int set_codes(http_health *hh, const int *codes, char *err, size_t errlen) {
  for (int s = 0; s < NSTATUS; s++) {
    int code = codes[s] ? codes[s] : s == WIRE_SERVING ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    if (code < 100 || code > 599)
      return errbuf_fail(err, errlen, -EINVAL, "http_health: HTTP code %d for %s outside 100-599",
                         code, wire_status_name(s));
    hh->codes[s] = (unsigned)code;
  }
  return 0;
}

int http_health_start(const http_health_options *opts, http_health **out, int *bound_port,
                      char *err, size_t errlen) {
  httpd_options ho = {.name = "http_health",
                      .host = opts->host,
                      .port = opts->port,
                      .routes = routes,
                      .nroutes = sizeof(routes) / sizeof(routes[0]),
                      .observe = journal_on(opts->journal) ? record : NULL,
                      .fallback = unknown_path,
                      .tls = opts->tls,
                      .conn_memory = HTTP_HEALTH_CONN_MEMORY};
  http_health *hh;
  int rv;

  if (!opts->reg)
    return errbuf_fail(err, errlen, -EINVAL, "http_health: no registry");
  hh = xcalloc(1, sizeof(*hh));
  hh->reg = opts->reg;
  hh->journal = opts->journal;
  hh->faults = opts->faults;
  ho.ctx = hh;
  rv = set_codes(hh, opts->codes, err, errlen);
  if (rv < 0)
    goto fail;
  build_responses(hh);
  if (opts->jina) {
    hh->jina = jina_http_new(hh->codes);
    ho.nroutes = 0;
  }
  rv = httpd_start(&ho, &hh->h, bound_port, err, errlen);
  if (rv < 0)
    goto fail;
  *out = hh;
  return 0;
fail:
  free_responses(hh);
  free(hh);
  return rv;
}

void http_health_stop(http_health *hh) {
  if (!hh)
    return;
  httpd_stop(hh->h); /* no request holds a response after this */
  free_responses(hh);
  free(hh);
}
