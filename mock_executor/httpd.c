/* httpd: libmicrohttpd listener shared by admin and http_health. See httpd.h. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "httpd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "errbuf.h"
#include "netaddr.h"
#include "lazylib.h"
#include "xalloc.h"

#define HTTPD_IDLE_TIMEOUT_S 60 /* closes keep-alive connections left idle */

struct httpd {
  struct MHD_Daemon *daemon;
  const httpd_route *routes;
  size_t nroutes;
  size_t max_body;
  void *ctx;
  char *token; /* NULL: no authentication */
  size_t token_len;
  httpd_observe_fn observe;
  httpd_fallback_fn fallback;
  int verify_client; /* TLS with a CA: every handshake requires a certificate */
  char name[32];
  atomic_int started;    /* after start, libmicrohttpd's messages go to stderr */
  char start_error[256]; /* before: the first one is kept for err */
};

/* What httpd keeps per connection (MHD's socket context), for listeners
 * that observe their requests: the peer, formatted once, not per request. */
typedef struct conn_info {
  char peer[64];
} conn_info;

/* The body of a request being received; lives in MHD's per-request slot. */
typedef struct upload {
  char *body;
  size_t len;
  int too_large;
} upload;

static void on_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_log(void *cls, const char *fmt, va_list ap) {
  httpd *h = cls;

  if (atomic_load(&h->started)) {
    fprintf(stderr, "%s: ", h->name);
    vfprintf(stderr, fmt, ap);
    return;
  }
  if (!h->start_error[0])
    vsnprintf(h->start_error, sizeof(h->start_error), fmt, ap);
}

struct MHD_Response *httpd_static(const char *body, const char *content_type) {
  struct MHD_Response *r;

  r = MHD_create_response_from_buffer(body ? strlen(body) : 0, (void *)body,
                                      MHD_RESPMEM_PERSISTENT);
  if (r && body &&
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) {
    MHD_destroy_response(r);
    return NULL;
  }
  return r;
}

struct MHD_Response *httpd_static_json(const char *body) {
  return httpd_static(body, "application/json");
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned code, struct MHD_Response *r) {
  enum MHD_Result rv;

  if (!r)
    return MHD_NO;
  rv = MHD_queue_response(conn, code, r);
  MHD_destroy_response(r); /* MHD keeps its own reference until sent */
  return rv;
}

enum MHD_Result httpd_respond_static(struct MHD_Connection *conn, unsigned code, const char *body) {
  return queue(conn, code, httpd_static_json(body));
}

/* The serialisation of `body` (reference stolen) as a JSON response. */
static struct MHD_Response *json_response(json_t *body) {
  struct MHD_Response *r;
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

  json_decref(body);
  if (!text)
    return NULL;
  r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(text);
    return NULL;
  }
  if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
    MHD_destroy_response(r);
    return NULL;
  }
  return r;
}

enum MHD_Result httpd_respond_json(struct MHD_Connection *conn, unsigned code, json_t *body) {
  struct MHD_Response *r = json_response(body);

  if (!r)
    return httpd_respond_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "{\"error\":\"cannot build the response\"}");
  return queue(conn, code, r);
}

/* {"error": message}; NULL if out of memory. */
static json_t *error_vjson(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static json_t *error_vjson(const char *fmt, va_list ap) {
  json_t *msg = json_vsprintf(fmt, ap);

  if (!msg) /* a name in it is not UTF-8 */
    msg = json_string("(the message names text that is not UTF-8)");
  return json_pack("{s:o}", "error", msg);
}

static json_t *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_json(const char *fmt, ...) {
  va_list ap;
  json_t *body;

  va_start(ap, fmt);
  body = error_vjson(fmt, ap);
  va_end(ap);
  return body;
}

enum MHD_Result httpd_respond_error(struct MHD_Connection *conn, unsigned code, const char *fmt,
                                    ...) {
  va_list ap;
  json_t *body;

  va_start(ap, fmt);
  body = error_vjson(fmt, ap);
  va_end(ap);
  return httpd_respond_json(conn, code, body);
}

static int route_matches(const httpd_route *rt, const char *path) {
  if (rt->prefix)
    return strncmp(path, rt->path, strlen(rt->path)) == 0;
  return strcmp(path, rt->path) == 0;
}

/* Queues `body` (reference stolen) with one extra header. */
static enum MHD_Result queue_with_header(struct MHD_Connection *conn, unsigned code, json_t *body,
                                         const char *header, const char *value) {
  struct MHD_Response *r = json_response(body);

  if (!r)
    return MHD_NO;
  if (MHD_add_response_header(r, header, value) != MHD_YES) {
    MHD_destroy_response(r);
    return MHD_NO;
  }
  return queue(conn, code, r);
}

/* 405: the Allow header lists every method the path takes. */
static enum MHD_Result not_allowed(httpd *h, struct MHD_Connection *conn, const httpd_request *rq) {
  char allow[128] = "";

  for (size_t i = 0; i < h->nroutes; i++) {
    if (!route_matches(&h->routes[i], rq->path))
      continue;
    if (allow[0])
      strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
    strncat(allow, h->routes[i].method, sizeof(allow) - strlen(allow) - 1);
  }
  return queue_with_header(
      conn, MHD_HTTP_METHOD_NOT_ALLOWED,
      error_json("method %s not allowed on %s; allowed: %s", rq->method, rq->path, allow),
      MHD_HTTP_HEADER_ALLOW, allow);
}

/* Whether `given` equals the token. The time taken depends on the
 * lengths only, never on where the first difference is, so the token
 * cannot be guessed byte by byte from response times. */
static int token_matches(const httpd *h, const char *given) {
  size_t len = strlen(given);
  unsigned diff = len != h->token_len;

  for (size_t i = 0; i < h->token_len; i++)
    diff |= (unsigned char)h->token[i] ^ (unsigned char)(i < len ? given[i] : 0);
  return diff == 0;
}

/* 0 when the request carries the bearer token (or none is needed);
 * otherwise queues a 401 into *rv and returns -EACCES. */
static int authenticate(httpd *h, struct MHD_Connection *conn, enum MHD_Result *rv) {
  static const char scheme[] = "Bearer ";
  const char *auth;

  if (!h->token)
    return 0;
  auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (auth && strncasecmp(auth, scheme, sizeof(scheme) - 1) == 0) {
    const char *given = auth + sizeof(scheme) - 1;
    while (*given == ' ')
      given++;
    if (token_matches(h, given))
      return 0;
  }
  /* RFC 6750 section 3: name the scheme the client must use. */
  *rv = queue_with_header(conn, MHD_HTTP_UNAUTHORIZED,
                          error_json(auth ? "wrong credentials: send Authorization: Bearer "
                                            "<the --admin-token>"
                                          : "no credentials: send Authorization: Bearer "
                                            "<the --admin-token>"),
                          MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  return -EACCES;
}

static enum MHD_Result dispatch(httpd *h, struct MHD_Connection *conn, httpd_request *rq) {
  int path_known = 0;
  enum MHD_Result rv;

  if (authenticate(h, conn, &rv) < 0)
    return rv;

  for (size_t i = 0; i < h->nroutes; i++) {
    const httpd_route *rt = &h->routes[i];
    if (!route_matches(rt, rq->path))
      continue;
    path_known = 1;
    if (strcmp(rt->method, rq->method) != 0)
      continue;
    rq->rest = rt->prefix ? rq->path + strlen(rt->path) : "";
    return rt->fn(h->ctx, conn, rq);
  }
  if (path_known)
    return not_allowed(h, conn, rq);
  if (h->fallback && h->fallback(h->ctx, conn, rq, &rv))
    return rv;
  return httpd_respond_error(conn, MHD_HTTP_NOT_FOUND, "no such path: %s", rq->path);
}

static enum MHD_Result too_large(httpd *h, struct MHD_Connection *conn) {
  return httpd_respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %zu bytes",
                             h->max_body);
}

/* The Content-Length the request declares; 0 without one (chunked bodies
 * show their length only as they arrive). MHD has validated the value. */
static unsigned long long declared_length(struct MHD_Connection *conn) {
  const char *len =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

  return len ? strtoull(len, NULL, 10) : 0;
}

static void upload_append(httpd *h, upload *up, const char *data, size_t size) {
  if (up->too_large)
    return; /* read and drop the rest: MHD can answer only a whole request */
  if (size > h->max_body - up->len) { /* over the cap: 413 */
    up->too_large = 1;
    free(up->body);
    up->body = NULL;
    return;
  }
  up->body = xrealloc(up->body, up->len + size + 1);
  memcpy(up->body + up->len, data, size);
  up->len += size;
  up->body[up->len] = '\0';
}

/* Tells the observer what `rv` (the result of queueing) answered. */
static enum MHD_Result observed(httpd *h, struct MHD_Connection *conn, const httpd_request *rq,
                                enum MHD_Result rv) {
  const union MHD_ConnectionInfo *info, *ctx;
  httpd_request seen = *rq;

  if (!h->observe)
    return rv;
  info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
  if (!info) /* nothing was queued (out of memory), the connection closes */
    return rv;
  ctx = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  seen.peer = ctx && ctx->socket_context ? ((conn_info *)ctx->socket_context)->peer : "";
  h->observe(h->ctx, conn, &seen, info->http_status);
  return rv;
}

/* Marks a request whose headers were seen and that has no body (yet):
 * bodyless requests, the common case, need no per-request allocation. */
static char headers_seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  httpd *h = cls;
  httpd_request rq = {.method = method, .path = url};
  upload *up;

  (void)version;
  if (!*con_cls) {                           /* first call: headers only */
    if (declared_length(conn) > h->max_body) /* before reading a byte of it */
      return observed(h, conn, &rq, too_large(h, conn));
    /* Answer from the next call: a reply queued now, before MHD has seen
     * the end of the request, makes it close the connection (no keep-alive). */
    *con_cls = &headers_seen;
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (*con_cls == &headers_seen) {
      up = xcalloc(1, sizeof(*up));
      *con_cls = up;
    }
    upload_append(h, *con_cls, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (*con_cls != &headers_seen) {
    up = *con_cls;
    if (up->too_large)
      return observed(h, conn, &rq, too_large(h, conn));
    rq.body = up->body;
    rq.body_len = up->len;
  }
  return observed(h, conn, &rq, dispatch(h, conn, &rq));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  upload *up = *con_cls;

  (void)cls;
  (void)conn;
  (void)toe;
  if (up && *con_cls != &headers_seen) {
    free(up->body);
    free(up);
  }
  *con_cls = NULL;
}

/* The client's address as gRPC names peers (netaddr_peer_name); "" when
 * unknown. */
static void format_peer(struct MHD_Connection *conn, char *out, size_t outlen) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

  if (!info || !info->client_addr || netaddr_peer_name(info->client_addr, out, outlen) < 0)
    out[0] = '\0';
}

/* A connection opens or closes. Observed listeners get the peer formatted
 * once here (a keep-alive client sends thousands of requests on one). With
 * --ssl-ca: libmicrohttpd only *requests* a client certificate and leaves
 * it unchecked, so every TLS session is told, before its handshake, to
 * require one and verify it against the trust list: a client without a
 * good certificate fails the handshake, as on the gRPC listeners. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  httpd *h = cls;
  const union MHD_ConnectionInfo *ci;
  conn_info *c;

  if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    free(*socket_context);
    *socket_context = NULL;
    return;
  }
  if (h->observe) {
    c = xmalloc(sizeof(*c));
    format_peer(conn, c->peer, sizeof(c->peer));
    *socket_context = c;
  }
  ci = h->verify_client ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION) : NULL;
  if (ci && ci->tls_session) {
    gnutls_certificate_server_set_request(ci->tls_session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(ci->tls_session, NULL, 0);
  }
}

/* The TLS options of MHD_OPTION_ARRAY; none for plain HTTP. */
static void tls_options(const tls_pem *tls, struct MHD_OptionItem *o, unsigned *flags) {
  size_t n = 0;

  if (tls) {
    *flags |= MHD_USE_TLS;
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert};
    if (tls->ca)
      o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, tls->ca};
  }
  o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

int httpd_start(const httpd_options *opts, httpd **out, int *bound_port, char *err, size_t errlen) {
  struct MHD_OptionItem tls_opts[4];
  const char *host = opts->host ? opts->host : "127.0.0.1";
  struct sockaddr_storage addr;
  socklen_t addr_len;
  const union MHD_DaemonInfo *info;
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  httpd *h;
  int rv;

  if (opts->port < 0 || opts->port > 65535)
    return errbuf_fail(err, errlen, -EINVAL, "%s: port %d out of range 0-65535", opts->name,
                       opts->port);
  rv = netaddr_resolve(opts->name, host, opts->port, &addr, &addr_len, err, errlen);
  if (rv == 0)
    rv = lazylib_load(err, errlen); /* the first HTTP listener loads libmicrohttpd */
  if (rv < 0)
    return rv;
  h = xcalloc(1, sizeof(*h));
  snprintf(h->name, sizeof(h->name), "%s", opts->name);
  h->routes = opts->routes;
  h->nroutes = opts->nroutes;
  h->max_body = opts->max_body ? opts->max_body : HTTPD_MAX_BODY_DEFAULT;
  h->ctx = opts->ctx;
  h->observe = opts->observe;
  h->fallback = opts->fallback;
  h->verify_client = opts->tls && opts->tls->ca;
  if (opts->bearer_token) {
    h->token = xstrdup(opts->bearer_token);
    h->token_len = strlen(h->token);
  }
  if (addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  tls_options(opts->tls, tls_opts, &flags);
  errno = 0;
  h->daemon = MHD_start_daemon(
      flags, (uint16_t)opts->port, NULL, NULL, on_request, h, /* port: for messages */
      MHD_OPTION_EXTERNAL_LOGGER, on_log, h, /* first, or MHD logs before it is set */
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)HTTPD_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      opts->conn_memory ? opts->conn_memory : HTTPD_CONN_MEMORY_DEFAULT, MHD_OPTION_ARRAY, tls_opts,
      MHD_OPTION_END);
  if (!h->daemon) {
    rv = errno ? -errno : -EIO;
    h->start_error[strcspn(h->start_error, "\n")] = '\0';
    snprintf(err, errlen, "%s: cannot listen on %s:%d: %s", opts->name, host, opts->port,
             h->start_error[0] ? h->start_error : strerror(-rv));
    free(h->token);
    free(h);
    return rv;
  }
  atomic_store(&h->started, 1);
  info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *bound_port = info ? info->port : opts->port;
  *out = h;
  return 0;
}

void httpd_stop(httpd *h) {
  if (!h)
    return;
  MHD_stop_daemon(h->daemon);
  free(h->token);
  free(h);
}
