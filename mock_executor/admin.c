/* admin: the control API over HTTP/JSON. See admin.h for the contract. */
#include "admin.h"
#include "admin_internal.h"

#include <errno.h>
#include <stdarg.h>
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

/* A malloc'd printf-formatted message; NULL if out of memory. */
static char *message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *message(const char *fmt, ...) {
  va_list ap;
  char *text;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  text = malloc((size_t)n + 1);
  if (!text)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(text, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return text;
}

/* -EINVAL with *error set, or -ENOMEM when the message cannot be built. */
#define REFUSE(error, ...) ((*(error) = message(__VA_ARGS__)) ? -EINVAL : -ENOMEM)

/* The string value of root[key] into *value; -EINVAL (400) when it is
 * missing or not a string. */
static int string_field(json_t *root, const char *key, const char **value, char **error) {
  json_t *v = json_object_get(root, key);

  if (!v)
    return REFUSE(error, "missing field \"%s\" in " PUT_SHAPE, key);
  if (!json_is_string(v))
    return REFUSE(error, "field \"%s\" must be a string", key);
  *value = json_string_value(v);
  return 0;
}

/* Reads a parsed PUT body; the registry is not touched. */
static int read_put(json_t *root, const char **service, int *status, char **error) {
  const char *key, *text;
  json_t *v;
  int rv;

  if (!json_is_object(root))
    return REFUSE(error, "body must be a JSON object " PUT_SHAPE);
  json_object_foreach(root, key, v) {
    if (strcmp(key, "service") != 0 && strcmp(key, "status") != 0)
      return REFUSE(error, "unknown field \"%s\": expected " PUT_SHAPE, key);
  }
  rv = string_field(root, "service", service, error);
  if (rv < 0)
    return rv;
  rv = string_field(root, "status", &text, error);
  if (rv < 0)
    return rv;
  if (wire_status_parse(text, status) < 0)
    return REFUSE(error, "unknown status \"%s\": use " STATUS_NAMES, text);
  return 0;
}

int admin_parse_put(const char *body, size_t len, json_t **root, const char **service,
                    int *status, char **error) {
  json_error_t jerr;
  json_t *doc;
  int rv;

  *root = NULL;
  *error = NULL;
  if (!body)
    return REFUSE(error, "missing body: expected " PUT_SHAPE);
  doc = json_loadb(body, len, 0, &jerr);
  if (!doc)
    return REFUSE(error, "bad JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
  rv = read_put(doc, service, status, error);
  if (rv < 0) {
    json_decref(doc);
    return rv;
  }
  *root = doc;
  return 0;
}

int admin_check_delete(const char *name, const char **error) {
  if (!name[0]) {
    *error = "empty service name: \"\" is the server's overall health and cannot be removed";
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
  json_t *root;
  const char *service;
  char *error;
  int status, rc;
  enum MHD_Result rv;

  rc = admin_parse_put(rq->body, rq->body_len, &root, &service, &status, &error);
  if (rc == -EINVAL) {
    rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "%s", error);
    free(error);
    return rv;
  }
  if (rc < 0)
    return httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  rc = registry_set(a->reg, service, status); /* wakes the watchers itself */
  if (rc == REGISTRY_ESHUTDOWN)
    rv = refuse_shut_down(conn);
  else if (rc < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  else
    rv = httpd_respond_json(conn, MHD_HTTP_OK,
                            json_pack("{s:s,s:s}", "service", service, "status",
                                      wire_status_name(status)));
  json_decref(root);
  return rv;
}

static enum MHD_Result delete_status(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;
  const char *error;
  int rc;

  if (admin_check_delete(rq->rest, &error) < 0)
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "%s", error);
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
