/* admin: the control API over HTTP/JSON. See admin.h for the contract. */
#include "admin.h"
#include "admin_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "httpd.h"
#include "wire.h"
#include "xalloc.h"

#define STATUS_SHAPE "{\"service\": \"name\", \"status\": \"SERVING\"}"
#define TIMELINE_SHAPE \
  "{\"service\": \"name\", \"timeline\": \"NOT_SERVING:1s,SERVING\", \"repeat\": false}"
#define VIOLATION_SHAPE "{\"violation\": \"watch-duplicates\", \"enabled\": true}"
#define FAULT_SHAPE "{\"rule\": \"method=Check,action=hang,count=3\"}"
#define STATUS_NAMES "SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN (any case) or 0-3"

struct admin {
  httpd *h;
  registry *reg;
  journal *journal; /* each NULL when the feature is off */
  timelines *timelines;
  faults *faults;
};

/* For the runner: the control hook is up. */
static enum MHD_Result get_health(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  (void)ctx;
  (void)rq;
  return httpd_respond_static(conn, MHD_HTTP_OK, "{\"ok\":true}");
}

/* The answer of a route whose feature this server runs without. */
static enum MHD_Result feature_off(struct MHD_Connection *conn, const char *what) {
  return httpd_respond_error(conn, MHD_HTTP_NOT_FOUND, "%s: not enabled on this server", what);
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

/* What a PUT body must look like: an object with exactly these fields. */
typedef struct body_field {
  const char *key;
  int is_bool; /* else a string */
  int optional;
} body_field;

typedef struct body_shape {
  const char *example; /* quoted in every error */
  const body_field *fields;
  size_t n;
} body_shape;

static const body_field status_fields[] = {{"service", 0, 0}, {"status", 0, 0}};
static const body_field timeline_fields[] = {
    {"service", 0, 0}, {"timeline", 0, 0}, {"repeat", 1, 1}};
static const body_field violation_fields[] = {{"violation", 0, 0}, {"enabled", 1, 0}};
static const body_shape status_shape = {STATUS_SHAPE, status_fields, 2};
static const body_shape timeline_shape = {TIMELINE_SHAPE, timeline_fields, 3};
static const body_shape violation_shape = {VIOLATION_SHAPE, violation_fields, 2};
static const body_field fault_fields[] = {{"rule", 0, 0}};
static const body_shape fault_shape = {FAULT_SHAPE, fault_fields, 1};

static int shape_has(const body_shape *shape, const char *key) {
  for (size_t i = 0; i < shape->n; i++)
    if (strcmp(shape->fields[i].key, key) == 0)
      return 1;
  return 0;
}

/* Checks an object's fields against the shape. */
static int check_fields(json_t *root, const body_shape *shape, char *err, size_t errlen) {
  const char *key;
  json_t *v;

  json_object_foreach(root, key, v) {
    if (!shape_has(shape, key))
      return errbuf_fail(err, errlen, -EINVAL, "unknown field \"%s\": expected %s", key,
                         shape->example);
  }
  for (size_t i = 0; i < shape->n; i++) {
    const body_field *fd = &shape->fields[i];
    v = json_object_get(root, fd->key);
    if (!v && fd->optional)
      continue;
    if (!v)
      return errbuf_fail(err, errlen, -EINVAL, "missing field \"%s\" in %s", fd->key,
                         shape->example);
    if (fd->is_bool ? !json_is_boolean(v) : !json_is_string(v))
      return errbuf_fail(err, errlen, -EINVAL, "field \"%s\" must be %s", fd->key,
                         fd->is_bool ? "true or false" : "a string");
  }
  return 0;
}

/* Parses a PUT body (NULL: none) as an object of `shape`: 0 and a new
 * reference in *root, or -EINVAL with the message in err (400). */
static int parse_body(const char *body, size_t len, const body_shape *shape, json_t **root,
                      char *err, size_t errlen) {
  json_error_t jerr;
  json_t *doc;
  int rv;

  *root = NULL;
  if (!body)
    return errbuf_fail(err, errlen, -EINVAL, "missing body: expected %s", shape->example);
  doc = json_loadb(body, len, 0, &jerr);
  if (!doc)
    return errbuf_fail(err, errlen, -EINVAL, "bad JSON at line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
  if (!json_is_object(doc))
    rv = errbuf_fail(err, errlen, -EINVAL, "body must be a JSON object %s", shape->example);
  else
    rv = check_fields(doc, shape, err, errlen);
  if (rv < 0) {
    json_decref(doc);
    return rv;
  }
  *root = doc;
  return 0;
}

int admin_parse_put(const char *body, size_t len, json_t **root, const char **service, int *status,
                    char *err, size_t errlen) {
  const char *text;
  int rv = parse_body(body, len, &status_shape, root, err, errlen);

  if (rv < 0)
    return rv;
  text = json_string_value(json_object_get(*root, "status"));
  if (wire_status_parse(text, status) < 0) {
    rv = errbuf_fail(err, errlen, -EINVAL, "unknown status \"%s\": use " STATUS_NAMES, text);
    json_decref(*root); /* after the message: text points into it */
    *root = NULL;
    return rv;
  }
  *service = json_string_value(json_object_get(*root, "service"));
  return 0;
}

int admin_check_delete(const char *name, char *err, size_t errlen) {
  if (!name[0])
    return errbuf_fail(err, errlen, -EINVAL,
                       "empty service name: \"\" is the server's overall health and cannot be "
                       "removed");
  return 0;
}

/* The request's body as a JSON object of `shape` (a new reference), or
 * NULL after queueing the 400 naming what is wrong into *rv. */
static json_t *read_body(struct MHD_Connection *conn, const httpd_request *rq,
                         const body_shape *shape, enum MHD_Result *rv) {
  json_t *root;
  char err[ADMIN_ERR_MAX];

  if (parse_body(rq->body, rq->body_len, shape, &root, err, sizeof(err)) < 0) {
    *rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "%s", err);
    return NULL;
  }
  return root;
}

static const char *string_of(json_t *root, const char *key) {
  return json_string_value(json_object_get(root, key));
}

static enum MHD_Result refuse_shut_down(struct MHD_Connection *conn) {
  /* H-WATCH-9: after Shutdown() statuses stay NOT_SERVING until Resume(). */
  return httpd_respond_error(conn, MHD_HTTP_CONFLICT,
                             "the server is shut down: POST /v1/resume first");
}

static enum MHD_Result put_status(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  admin *a = ctx;
  json_t *root;
  const char *service = NULL;
  char err[ADMIN_ERR_MAX];
  int status = 0, rc;
  enum MHD_Result rv;

  if (admin_parse_put(rq->body, rq->body_len, &root, &service, &status, err, sizeof(err)) < 0)
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "%s", err);
  rc = registry_set(a->reg, service, status); /* wakes the watchers itself */
  if (rc == -ESHUTDOWN)
    rv = refuse_shut_down(conn);
  else if (rc < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  else
    rv = httpd_respond_json(
        conn, MHD_HTTP_OK,
        json_pack("{s:s,s:s}", "service", service, "status", wire_status_name(status)));
  json_decref(root);
  return rv;
}

static enum MHD_Result delete_status(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;
  char err[ADMIN_ERR_MAX];
  int rc;

  if (admin_check_delete(rq->rest, err, sizeof(err)) < 0)
    return httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "%s", err);
  rc = registry_remove(a->reg, rq->rest);
  if (rc == -ENOENT)
    return httpd_respond_error(conn, MHD_HTTP_NOT_FOUND, "unknown service \"%s\"", rq->rest);
  if (rc == -ESHUTDOWN)
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

static enum MHD_Result get_journal(void *ctx, struct MHD_Connection *conn,
                                   const httpd_request *rq) {
  admin *a = ctx;

  (void)rq;
  if (!a->journal)
    return feature_off(conn, "the journal");
  return httpd_respond_json(conn, MHD_HTTP_OK, journal_to_json(a->journal));
}

static enum MHD_Result delete_journal(void *ctx, struct MHD_Connection *conn,
                                      const httpd_request *rq) {
  admin *a = ctx;

  (void)rq;
  if (!a->journal)
    return feature_off(conn, "the journal");
  journal_clear(a->journal);
  return httpd_respond_static(conn, MHD_HTTP_NO_CONTENT, NULL);
}

/* {"steps": [{"status": "NOT_SERVING", "duration_ms": 1000}, ...],
 *  "repeat": false, "step": 0, "next_in_ms": 734}; NULL if out of memory. */
static json_t *timeline_json(const timeline_info *info) {
  json_t *steps = json_array();

  for (size_t i = 0; steps && i < info->spec.count; i++) {
    const timeline_step *st = &info->spec.steps[i];
    json_array_append_new(
        steps, json_pack("{s:s,s:o}", "status", wire_status_name(st->status), "duration_ms",
                         st->duration_ms < 0 ? json_null() : json_integer(st->duration_ms)));
  }
  return json_pack("{s:o,s:b,s:I,s:I}", "steps", steps, "repeat", info->spec.repeat, "step",
                   (json_int_t)info->step, "next_in_ms", (json_int_t)info->next_in_ms);
}

static enum MHD_Result get_timelines(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;
  timeline_info *infos;
  size_t n;
  json_t *all;

  (void)rq;
  if (!a->timelines)
    return feature_off(conn, "timelines");
  if (timelines_snapshot(a->timelines, &infos, &n) < 0)
    return httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  all = json_object();
  for (size_t i = 0; all && i < n; i++)
    json_object_set_new(all, infos[i].service, timeline_json(&infos[i]));
  timelines_snapshot_free(infos, n);
  return httpd_respond_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "timelines", all));
}

/* Replaces the service's timeline. A bad spec changes nothing: it is
 * parsed in full before the running one is touched. */
static enum MHD_Result put_timeline(void *ctx, struct MHD_Connection *conn,
                                    const httpd_request *rq) {
  admin *a = ctx;
  timeline_spec spec;
  char why[TIMELINE_ERR_MAX];
  const char *service, *text;
  int repeat, rc;
  json_t *root;
  enum MHD_Result rv = MHD_NO; /* set by read_body on failure */

  if (!a->timelines)
    return feature_off(conn, "timelines");
  root = read_body(conn, rq, &timeline_shape, &rv);
  if (!root)
    return rv;
  service = string_of(root, "service");
  text = string_of(root, "timeline");
  repeat = json_is_true(json_object_get(root, "repeat"));
  rc = timeline_parse(text, repeat, &spec, why, sizeof(why));
  if (rc == -EINVAL) {
    rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad timeline \"%s\": %s", text, why);
    goto out;
  }
  if (rc < 0) {
    rv = httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    goto out;
  }
  if (registry_refuses_changes(a->reg)) /* the timeline would stop at its first set */
    rv = refuse_shut_down(conn);
  else if (timelines_set(a->timelines, service, &spec) < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  else
    rv = httpd_respond_json(
        conn, MHD_HTTP_OK,
        json_pack("{s:s,s:s,s:b}", "service", service, "timeline", text, "repeat", repeat));
  timeline_spec_free(&spec);
out:
  json_decref(root);
  return rv;
}

/* Unlike DELETE /v1/statuses/, the empty name is fine here: stopping the
 * timeline of "" leaves "" at its current status. */
static enum MHD_Result delete_timeline(void *ctx, struct MHD_Connection *conn,
                                       const httpd_request *rq) {
  admin *a = ctx;

  if (!a->timelines)
    return feature_off(conn, "timelines");
  if (timelines_stop(a->timelines, rq->rest) == -ENOENT)
    return httpd_respond_error(conn, MHD_HTTP_NOT_FOUND, "no timeline running for \"%s\"",
                               rq->rest);
  return httpd_respond_static(conn, MHD_HTTP_NO_CONTENT, NULL);
}

static enum MHD_Result get_violations(void *ctx, struct MHD_Connection *conn,
                                      const httpd_request *rq) {
  admin *a = ctx;
  const fault_info *knobs;
  size_t n;
  json_t *available, *enabled;

  (void)rq;
  if (!a->faults)
    return feature_off(conn, "violations");
  knobs = faults_catalogue(&n);
  available = json_array();
  enabled = json_array();
  for (size_t i = 0; available && enabled && i < n; i++) {
    json_array_append_new(
        available, json_pack("{s:s,s:s,s:s}", "name", knobs[i].name, "breaks", knobs[i].breaks,
                             "description", knobs[i].description));
    if (faults_on(a->faults, (fault_knob)i))
      json_array_append_new(enabled, json_string(knobs[i].name));
  }
  return httpd_respond_json(conn, MHD_HTTP_OK,
                            json_pack("{s:o,s:o}", "available", available, "enabled", enabled));
}

static enum MHD_Result put_violation(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;
  fault_knob knob;
  const char *name;
  int on;
  json_t *root;
  enum MHD_Result rv = MHD_NO; /* set by read_body on failure */

  if (!a->faults)
    return feature_off(conn, "violations");
  root = read_body(conn, rq, &violation_shape, &rv);
  if (!root)
    return rv;
  name = string_of(root, "violation");
  on = json_is_true(json_object_get(root, "enabled"));
  if (faults_parse(name, &knob) < 0) {
    rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                             "unknown violation \"%s\": GET /v1/violations lists them", name);
  } else {
    faults_set(a->faults, knob, on);
    rv = httpd_respond_json(conn, MHD_HTTP_OK,
                            json_pack("{s:s,s:b}", "violation", name, "enabled", on));
  }
  json_decref(root);
  return rv;
}

/* ---- fault injection rules (inject.h) -------------------------------- */

static const char *const inject_protocols[] = {"grpc", "http"};

static json_t *rule_json(const inject_rule *r) {
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:f,s:I}", "rule", r->text, "protocol", inject_protocols[r->protocol],
                "target", r->target, "probability", r->probability, "hits", (json_int_t)r->hits);

  if (!o)
    return NULL;
  json_object_set_new(o, "service", r->any_service ? json_null() : json_string(r->service));
  json_object_set_new(o, "remaining", r->count < 0 ? json_null() : json_integer(r->count));
  return o;
}

static enum MHD_Result get_faults(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  admin *a = ctx;
  inject_rule *rules;
  json_t *list;
  size_t n;

  (void)rq;
  if (!a->faults)
    return feature_off(conn, "faults");
  if (inject_snapshot(faults_inject(a->faults), &rules, &n) < 0)
    return httpd_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  list = json_array();
  for (size_t i = 0; list && i < n; i++)
    json_array_append_new(list, rule_json(&rules[i]));
  free(rules);
  return httpd_respond_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "faults", list));
}

static enum MHD_Result post_fault(void *ctx, struct MHD_Connection *conn, const httpd_request *rq) {
  admin *a = ctx;
  char err[INJECT_ERR_MAX];
  inject_rule rule;
  json_t *root;
  enum MHD_Result rv = MHD_NO; /* set by read_body on failure */

  if (!a->faults)
    return feature_off(conn, "faults");
  root = read_body(conn, rq, &fault_shape, &rv);
  if (!root)
    return rv;
  if (inject_parse(string_of(root, "rule"), &rule, err, sizeof(err)) < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_BAD_REQUEST, "rule: %s", err);
  else if (inject_add(faults_inject(a->faults), &rule) < 0)
    rv = httpd_respond_error(conn, MHD_HTTP_CONFLICT, "already %d rules: DELETE /v1/faults first",
                             INJECT_MAX_RULES);
  else
    rv = httpd_respond_json(conn, MHD_HTTP_CREATED, rule_json(&rule));
  json_decref(root);
  return rv;
}

static enum MHD_Result delete_faults(void *ctx, struct MHD_Connection *conn,
                                     const httpd_request *rq) {
  admin *a = ctx;

  (void)rq;
  if (!a->faults)
    return feature_off(conn, "faults");
  inject_clear(faults_inject(a->faults));
  return httpd_respond_static(conn, MHD_HTTP_NO_CONTENT, NULL);
}

static const httpd_route routes[] = {
    {"GET", "/v1/statuses", 0, get_statuses},
    {"PUT", "/v1/statuses", 0, put_status},
    {"DELETE", "/v1/statuses/", 1, delete_status},
    {"POST", "/v1/shutdown", 0, post_shutdown},
    {"POST", "/v1/resume", 0, post_resume},
    {"GET", "/v1/health", 0, get_health},
    {"GET", "/v1/journal", 0, get_journal},
    {"DELETE", "/v1/journal", 0, delete_journal},
    {"GET", "/v1/timelines", 0, get_timelines},
    {"PUT", "/v1/timelines", 0, put_timeline},
    {"DELETE", "/v1/timelines/", 1, delete_timeline},
    {"GET", "/v1/violations", 0, get_violations},
    {"PUT", "/v1/violations", 0, put_violation},
    {"GET", "/v1/faults", 0, get_faults},
    {"POST", "/v1/faults", 0, post_fault},
    {"DELETE", "/v1/faults", 0, delete_faults},
};

int admin_start(const admin_options *opts, admin **out, int *bound_port, char *err, size_t errlen) {
  httpd_options ho = {.name = "admin",
                      .host = opts->host,
                      .port = opts->port,
                      .routes = routes,
                      .nroutes = sizeof(routes) / sizeof(routes[0]),
                      .bearer_token = opts->token};
  admin *a;
  int rv;

  if (!opts->reg)
    return errbuf_fail(err, errlen, -EINVAL, "admin: no registry");
  if (opts->token && !opts->token[0])
    return errbuf_fail(err, errlen, -EINVAL,
                       "admin: empty token (leave it unset for no authentication)");
  a = xcalloc(1, sizeof(*a));
  a->reg = opts->reg;
  a->journal = opts->journal;
  a->timelines = opts->timelines;
  a->faults = opts->faults;
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
