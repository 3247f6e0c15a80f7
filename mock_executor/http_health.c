/* http_health: GET / and GET /health/{name} over HTTP. See http_health.h. */
#include "http_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "httpd.h"

#define NSTATUS (WIRE_STATUS_MAX + 1)

struct http_health {
  httpd *h;
  registry *reg;
  unsigned codes[NSTATUS];
  /* Built once, queued by every request (MHD counts the references). */
  struct MHD_Response *by_status[NSTATUS];
  struct MHD_Response *unknown;
};

static const char *const status_bodies[NSTATUS] = {
    [WIRE_UNKNOWN] = "{\"status\":\"UNKNOWN\"}",
    [WIRE_SERVING] = "{}",
    [WIRE_NOT_SERVING] = "{\"status\":\"NOT_SERVING\"}",
    [WIRE_SERVICE_UNKNOWN] = "{\"status\":\"SERVICE_UNKNOWN\"}",
};

static enum MHD_Result report(http_health *hh, struct MHD_Connection *conn, const char *name,
                              int named) {
  int status;

  if (registry_get(hh->reg, name, &status) < 0) {
    if (named)
      return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, hh->unknown);
    status = WIRE_SERVICE_UNKNOWN; /* no overall health set: not healthy */
  }
  return MHD_queue_response(conn, hh->codes[status], hh->by_status[status]);
}

static enum MHD_Result get_root(void *ctx, struct MHD_Connection *conn,
                                const httpd_request *rq) {
  (void)rq;
  return report(ctx, conn, "", 0);
}

static enum MHD_Result get_named(void *ctx, struct MHD_Connection *conn,
                                 const httpd_request *rq) {
  return report(ctx, conn, rq->rest, 1);
}

/* HEAD is routed like GET; libmicrohttpd leaves the body out. */
static const httpd_route routes[] = {
    {"GET", "/", 0, get_root},
    {"HEAD", "/", 0, get_root},
    {"GET", "/health/", 1, get_named},
    {"HEAD", "/health/", 1, get_named},
};

static void free_responses(http_health *hh) {
  for (int s = 0; s < NSTATUS; s++)
    if (hh->by_status[s])
      MHD_destroy_response(hh->by_status[s]);
  if (hh->unknown)
    MHD_destroy_response(hh->unknown);
}

static int build_responses(http_health *hh) {
  for (int s = 0; s < NSTATUS; s++) {
    hh->by_status[s] = httpd_static_json(status_bodies[s]);
    if (!hh->by_status[s])
      return -ENOMEM;
  }
  hh->unknown = httpd_static_json("{\"error\":\"unknown service\"}");
  return hh->unknown ? 0 : -ENOMEM;
}

/* codes[] with the defaults filled in; -EINVAL for a code outside 100-599. */
static int set_codes(http_health *hh, const int *codes, char *err, size_t errlen) {
  for (int s = 0; s < NSTATUS; s++) {
    int code = codes[s] ? codes[s] : s == WIRE_SERVING ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    if (code < 100 || code > 599) {
      snprintf(err, errlen, "http_health: HTTP code %d for %s outside 100-599", code,
               wire_status_name(s));
      return -EINVAL;
    }
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
                      .nroutes = sizeof(routes) / sizeof(routes[0])};
  http_health *hh;
  int rv;

  if (!opts->reg) {
    snprintf(err, errlen, "http_health: no registry");
    return -EINVAL;
  }
  hh = calloc(1, sizeof(*hh));
  if (!hh) {
    snprintf(err, errlen, "http_health: out of memory");
    return -ENOMEM;
  }
  hh->reg = opts->reg;
  ho.ctx = hh;
  rv = set_codes(hh, opts->codes, err, errlen);
  if (rv < 0)
    goto fail;
  rv = build_responses(hh);
  if (rv < 0) {
    snprintf(err, errlen, "http_health: out of memory");
    goto fail;
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
