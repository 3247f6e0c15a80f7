/* admin: the control API over HTTP/JSON. See admin.h for the contract. */
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "wire.h"

#define PUT_SHAPE "{\"service\": \"name\", \"status\": \"SERVING\"}"
#define STATUS_NAMES "SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN (any case) or 0-3"

struct admin {
  httpd *h;
  registry *reg;
};

/* For the runner: the control hook is up. */
static enum MHD_Result get_health(void *ctx, struct MHD_Connection *conn,
                                  const httpd_request *rq) {
  (void)ctx;
  (void)rq;
  return httpd_respond_static(conn, MHD_HTTP_OK, "{\"ok\":true}");
}

static enum MHD_Result get_statuses(void *ctx, struct MHD_Connection *conn,
                                    const httpd_request *rq) {
  admin *a = ctx;
  registry_entry *entries;
  size_t n;
  json_t *statuses;

  (void)rq;
  if (registry_snapshot(a->reg, &entries, &n) < 0)
    return httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  statuses = json_object();
  for (size_t i = 0; statuses && i < n; i++)
    json_object_set_new(statuses, entries[i].name,
                        json_string(wire_status_name(entries[i].status)));
  registry_snapshot_free(entries, n);
  return httpd_respond_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "statuses", statuses));
}

/* The string value of root[key]; NULL after queueing a 400 into *rv when
 * it is missing or not a string. */
static const char *string_field(struct MHD_Connection *conn, json_t *root, const char *key,
                                enum MHD_Result *rv) {
  json_t *v = json_object_get(root, key);

  if (!v) {
    *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "missing field \"%s\" in " PUT_SHAPE,
                              key);
    return NULL;
  }
  if (!json_is_string(v)) {
    *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "field \"%s\" must be a string", key);
    return NULL;
  }
  return json_string_value(v);
}

/* Reads a PUT body. On bad input queues a 400 naming what is wrong into
 * *rv and returns -EINVAL; the registry is not touched. */
static int read_put(struct MHD_Connection *conn, json_t *root, const char **service,
                    int *status, enum MHD_Result *rv) {
  const char *key, *text;
  json_t *v;

  if (!json_is_object(root)) {
    *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "body must be a JSON object " PUT_SHAPE);
    return -EINVAL;
  }
  json_object_foreach(root, key, v) {
    if (strcmp(key, "service") != 0 && strcmp(key, "status") != 0) {
      *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                                "unknown field \"%s\": expected " PUT_SHAPE, key);
      return -EINVAL;
    }
  }
  *service = string_field(conn, root, "service", rv);
  if (!*service)
    return -EINVAL;
  text = string_field(conn, root, "status", rv);
  if (!text)
    return -EINVAL;
  if (wire_status_parse(text, status) < 0) {
    *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                              "unknown status \"%s\": use " STATUS_NAMES, text);
    return -EINVAL;
  }
  return 0;
}

static enum MHD_Result refuse_shut_down(struct MHD_Connection *conn) {
  /* H-WATCH-9: after Shutdown() statuses stay NOT_SERVING until Resume(). */
  return httpd_respond_error(conn, MHD_HTTP_CONFLICT,
                             "the server is shut down: POST /v1/resume first");
}

static enum MHD_Result put_status(void *ctx, struct MHD_Connection *conn,
                                  const httpd_request *rq) {
  admin *a = ctx;
  json_error_t jerr;
  json_t *root;
  const char *service;
  int status, rc;
  enum MHD_Result rv;

  if (!rq->body)
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "missing body: expected " PUT_SHAPE);
  root = json_loadb(rq->body, rq->body_len, 0, &jerr);
  if (!root)
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad JSON at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
  if (read_put(conn, root, &service, &status, &rv) < 0)
    goto out;
  rc = registry_set(a->reg, service, status); /* wakes the watchers itself */
  if (rc == REGISTRY_ESHUTDOWN)
    rv = refuse_shut_down(conn);
  else if (rc < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  else
    rv = httpd_respond_json(conn, MHD_HTTP_OK,
                            json_pack("{s:s,s:s}", "service", service, "status",
                                      wire_status_name(status)));
out:
  json_decref(root);
  return rv;
}

static enum MHD_Result delete_status(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;
  int rc;

  if (!rq->rest[0])
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                               "empty service name: \"\" is the server's overall health and "
                               "cannot be removed");
  rc = registry_remove(a->reg, rq->rest);
  if (rc == REGISTRY_ENOENT)
    return httpd_respond_error(conn, MHD_HTTP_NOT_FOUND, "unknown service \"%s\"", rq->rest);
  if (rc == REGISTRY_ESHUTDOWN)
    return refuse_shut_down(conn);
  if (rc < 0)
    return httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot remove: %d", rc);
  return httpd_respond_static(conn, MHD_HTTP_NO_CONTENT, NULL);
}

static enum MHD_Result post_shutdown(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;

  (void)rq;
  registry_shutdown(a->reg);
  return httpd_respond_static(conn, MHD_HTTP_OK, "{\"shut_down\":true}");
}

static enum MHD_Result post_resume(void *ctx, struct MHD_Connection *conn,
                                   const httpd_request *rq) {
  admin *a = ctx;

  (void)rq;
  registry_resume(a->reg);
  return httpd_respond_static(conn, MHD_HTTP_OK, "{\"shut_down\":false}");
}

static const httpd_route routes[] = {
    {"GET", "/v1/statuses", 0, get_statuses},
    {"PUT", "/v1/statuses", 0, put_status},
    {"DELETE", "/v1/statuses/", 1, delete_status},
    {"POST", "/v1/shutdown", 0, post_shutdown},
    {"POST", "/v1/resume", 0, post_resume},
    {"GET", "/v1/health", 0, get_health},
};

int admin_start(const admin_options *opts, admin **out, int *bound_port, char *err,
                size_t errlen) {
  httpd_options ho = {.name = "admin",
                      .host = opts->host,
                      .port = opts->port,
                      .routes = routes,
                      .nroutes = sizeof(routes) / sizeof(routes[0])};
  admin *a;
  int rv;

  if (!opts->reg) {
    snprintf(err, errlen, "admin: no registry");
    return -EINVAL;
  }
  a = calloc(1, sizeof(*a));
  if (!a) {
    snprintf(err, errlen, "admin: out of memory");
    return -ENOMEM;
  }
  a->reg = opts->reg;
  ho.ctx = a;
  rv = httpd_start(&ho, &a->h, bound_port, err, errlen);
  if (rv < 0) {
    free(a);
    return rv;
  }
  *out = a;
  return 0;
}

void admin_stop(admin *a) {
  if (!a)
    return;
  httpd_stop(a->h);
  free(a);
}
