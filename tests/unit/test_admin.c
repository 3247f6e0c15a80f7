/* cmocka tests for mock_executor/admin.c: every route and error path of the
 * control API, over real HTTP (libcurl) to 127.0.0.1 on a free port, with a
 * real registry. */
#define _DEFAULT_SOURCE /* usleep */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin.h"
#include "faults.h"
#include "http_client.h"
#include "journal.h"
#include "registry.h"
#include "timeline.h"
#include "wire.h"

typedef struct fixture {
  registry *reg;
  journal *jrn;
  timelines *tls;
  faults *flt;
  admin *adm;
  int port;
  CURL *curl;
} fixture;

#define TOKEN "s3cret-token"

/* features: also the journal, timelines and faults; token: NULL or one. */
static fixture *fixture_new(int features, const char *token) {
  fixture *f = calloc(1, sizeof(*f));
  admin_options opts = {.host = "127.0.0.1", .port = 0, .token = token};
  char err[256];

  assert_non_null(f);
  assert_int_equal(registry_new(&f->reg), 0);
  if (features) {
    assert_int_equal(journal_new(8, &f->jrn), 0);
    assert_int_equal(timelines_new(f->reg, &f->tls), 0);
    assert_int_equal(faults_new(&f->flt), 0);
  }
  opts.reg = f->reg;
  opts.journal = f->jrn;
  opts.timelines = f->tls;
  opts.faults = f->flt;
  assert_int_equal(admin_start(&opts, &f->adm, &f->port, err, sizeof(err)), 0);
  assert_true(f->port > 0);
  f->curl = curl_easy_init();
  assert_non_null(f->curl);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "svc", WIRE_NOT_SERVING), 0);
  return f;
}

static int setup(void **state) {
  *state = fixture_new(1, NULL);
  return 0;
}

static int setup_bare(void **state) {
  *state = fixture_new(0, NULL);
  return 0;
}

static int setup_token(void **state) {
  *state = fixture_new(1, TOKEN);
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;

  curl_easy_cleanup(f->curl);
  admin_stop(f->adm);
  timelines_free(f->tls);
  journal_free(f->jrn);
  faults_free(f->flt);
  registry_free(f->reg);
  free(f);
  return 0;
}

static void request(fixture *f, const char *method, const char *path, const char *body,
                    http_reply *r) {
  assert_int_equal(http_do(f->curl, f->port, method, path, body, r), CURLE_OK);
}

static int status_of(fixture *f, const char *name) {
  int st = -1;

  if (registry_get(f->reg, name, &st) < 0)
    return -1;
  return st;
}

/* The registry as setup() left it: "" SERVING, "svc" NOT_SERVING. */
static void assert_unchanged(fixture *f) {
  assert_int_equal(registry_count(f->reg), 2);
  assert_int_equal(status_of(f, ""), WIRE_SERVING);
  assert_int_equal(status_of(f, "svc"), WIRE_NOT_SERVING);
  assert_false(registry_is_shut_down(f->reg));
}

static void assert_error(const http_reply *r, long code, const char *needle) {
  json_t *root;
  const char *msg;

  assert_int_equal(r->code, code);
  assert_string_equal(r->content_type, "application/json");
  root = json_loads(r->body, 0, NULL);
  assert_non_null(root);
  msg = json_string_value(json_object_get(root, "error"));
  assert_non_null(msg);
  if (!strstr(msg, needle))
    fail_msg("error \"%s\" does not mention \"%s\"", msg, needle);
  json_decref(root);
}

static void health__answers_ok(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "GET", "/v1/health", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "application/json");
  assert_string_equal(r.body, "{\"ok\":true}");
}

static void get_statuses__lists_every_service(void **state) {
  fixture *f = *state;
  http_reply r;
  json_t *root, *statuses;

  request(f, "GET", "/v1/statuses", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "application/json");
  root = json_loads(r.body, 0, NULL);
  assert_non_null(root);
  statuses = json_object_get(root, "statuses");
  assert_int_equal(json_object_size(statuses), 2);
  assert_string_equal(json_string_value(json_object_get(statuses, "")), "SERVING");
  assert_string_equal(json_string_value(json_object_get(statuses, "svc")), "NOT_SERVING");
  json_decref(root);
}

static void put__sets_and_echoes_canonical_name(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"serving\"}", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "application/json");
  assert_string_equal(r.body, "{\"service\":\"svc\",\"status\":\"SERVING\"}");
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);

  request(f, "PUT", "/v1/statuses", "{\"service\": \"new\", \"status\": \"3\"}", &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(status_of(f, "new"), WIRE_SERVICE_UNKNOWN);
}

static void put__bad_bodies_are_refused_unchanged(void **state) {
  static const struct {
    const char *body; /* NULL: no body at all */
    const char *needle;
  } cases[] = {
      {NULL, "missing body"},
      {"{\"service\": \"svc\",", "bad JSON"},
      {"[\"svc\", \"SERVING\"]", "must be a JSON object"},
      {"{\"status\": \"SERVING\"}", "missing field \"service\""},
      {"{\"service\": \"svc\"}", "missing field \"status\""},
      {"{\"service\": 7, \"status\": \"SERVING\"}", "\"service\" must be a string"},
      {"{\"service\": \"svc\", \"status\": 1}", "\"status\" must be a string"},
      {"{\"service\": \"svc\", \"status\": null}", "\"status\" must be a string"},
      {"{\"service\": \"svc\", \"status\": \"HEALTHY\"}", "unknown status \"HEALTHY\""},
      {"{\"service\": \"svc\", \"status\": \"4\"}", "unknown status \"4\""},
      {"{\"service\": \"svc\", \"status\": \"SERVING\", \"ttl\": 3}", "unknown field \"ttl\""},
  };
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, "PUT", "/v1/statuses", cases[i].body, &r);
    assert_error(&r, 400, cases[i].needle);
    assert_unchanged(f);
  }
}

static void put__body_over_the_cap_is_413(void **state) {
  fixture *f = *state;
  size_t big = 64 * 1024 + 1;
  char *body = malloc(big + 1);
  http_reply r;

  assert_non_null(body);
  /* Valid JSON padded with spaces, so only its size is wrong. */
  memset(body, ' ', big);
  memcpy(body, "{\"service\":\"svc\",\"status\":\"SERVING\"}", 36);
  body[big] = '\0';
  request(f, "PUT", "/v1/statuses", body, &r);
  assert_error(&r, 413, "larger than 65536 bytes");
  assert_unchanged(f);

  body[big - 1] = '\0'; /* exactly at the cap: accepted */
  request(f, "PUT", "/v1/statuses", body, &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);
  free(body);
}

/* A chunked body has no Content-Length: the cap is applied as it arrives. */
static size_t read_spaces(char *buf, size_t size, size_t n, void *ud) {
  size_t *left = ud;
  size_t len = size * n < *left ? size * n : *left;

  memset(buf, ' ', len);
  *left -= len;
  return len;
}

static void put__chunked_body_over_the_cap_is_413(void **state) {
  fixture *f = *state;
  size_t left = 100 * 1024;
  struct curl_slist *hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
  http_reply r;

  http_prepare(f->curl, f->port, "PUT", "/v1/statuses", &r);
  curl_easy_setopt(f->curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(f->curl, CURLOPT_READFUNCTION, read_spaces);
  curl_easy_setopt(f->curl, CURLOPT_READDATA, &left);
  curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, hdrs);
  assert_int_equal(http_perform(f->curl, &r), CURLE_OK);
  curl_slist_free_all(hdrs);
  assert_error(&r, 413, "larger than");
  assert_unchanged(f);
}

static void delete__removes_percent_decoded_name(void **state) {
  fixture *f = *state;
  http_reply r;

  assert_int_equal(registry_set(f->reg, "a b/c", WIRE_SERVING), 0);
  request(f, "DELETE", "/v1/statuses/a%20b%2Fc", NULL, &r);
  assert_int_equal(r.code, 204);
  assert_int_equal(r.len, 0);
  assert_int_equal(status_of(f, "a b/c"), -1);

  request(f, "DELETE", "/v1/statuses/svc", NULL, &r);
  assert_int_equal(r.code, 204);
  assert_int_equal(status_of(f, "svc"), -1);
  assert_int_equal(registry_count(f->reg), 1);
}

static void delete__empty_name_is_400(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "DELETE", "/v1/statuses/", NULL, &r);
  assert_error(&r, 400, "empty service name");
  assert_unchanged(f);
}

static void delete__unknown_name_is_404(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "DELETE", "/v1/statuses/nope", NULL, &r);
  assert_error(&r, 404, "unknown service \"nope\"");
  assert_unchanged(f);
}

static void wrong_method__is_405_with_allow(void **state) {
  static const struct {
    const char *method, *path, *allow;
  } cases[] = {
      {"DELETE", "/v1/statuses", "GET, PUT"},
      {"POST", "/v1/statuses", "GET, PUT"},
      {"GET", "/v1/statuses/svc", "DELETE"},
      {"PUT", "/v1/statuses/svc", "DELETE"},
      {"GET", "/v1/shutdown", "POST"},
      {"GET", "/v1/resume", "POST"},
      {"POST", "/v1/health", "GET"},
      {"POST", "/v1/journal", "GET, DELETE"},
      {"PUT", "/v1/journal", "GET, DELETE"},
      {"POST", "/v1/timelines", "GET, PUT"},
      {"DELETE", "/v1/timelines", "GET, PUT"},
      {"GET", "/v1/timelines/svc", "DELETE"},
      {"DELETE", "/v1/violations", "GET, PUT"},
      {"POST", "/v1/violations", "GET, PUT"},
  };
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, cases[i].method, cases[i].path, NULL, &r);
    assert_error(&r, 405, cases[i].method);
    assert_string_equal(r.allow, cases[i].allow);
    assert_unchanged(f);
  }
}

static void unknown_path__is_404(void **state) {
  static const char *const paths[] = {"/",
                                      "/v1",
                                      "/v1/status",
                                      "/v1/shutdown/",
                                      "/v2/statuses",
                                      "/v1/journal/",
                                      "/v1/violations/x"};
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    request(f, "GET", paths[i], NULL, &r);
    assert_error(&r, 404, paths[i]);
  }
  request(f, "POST", "/nope", "{}", &r);
  assert_error(&r, 404, "/nope");
  assert_unchanged(f);
}

static void shutdown__refuses_changes_until_resume(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "POST", "/v1/shutdown", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "{\"shut_down\":true}");
  assert_true(registry_is_shut_down(f->reg));
  assert_int_equal(status_of(f, ""), WIRE_NOT_SERVING); /* H-WATCH-9 */
  assert_int_equal(status_of(f, "svc"), WIRE_NOT_SERVING);

  request(f, "PUT", "/v1/statuses", "{\"service\": \"\", \"status\": \"SERVING\"}", &r);
  assert_error(&r, 409, "shut down");
  assert_int_equal(status_of(f, ""), WIRE_NOT_SERVING);
  request(f, "DELETE", "/v1/statuses/svc", NULL, &r);
  assert_error(&r, 409, "shut down");
  assert_int_equal(status_of(f, "svc"), WIRE_NOT_SERVING);

  request(f, "POST", "/v1/resume", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "{\"shut_down\":false}");
  assert_false(registry_is_shut_down(f->reg));
  assert_int_equal(status_of(f, ""), WIRE_SERVING);
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);

  request(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"NOT_SERVING\"}", &r);
  assert_int_equal(r.code, 200);
  assert_unchanged(f);
}

/* PUT /v1/timelines follows PUT /v1/statuses after a shutdown: refused
 * (409, nothing runs), unless shutdown-accepts-sets lets sets through. */
static void shutdown__timelines_follow_the_status_rule(void **state) {
  fixture *f = *state;
  const char *tl = "{\"service\": \"svc\", \"timeline\": \"SERVING:60m,NOT_SERVING\"}";
  http_reply r;

  registry_set_faults(f->reg, f->flt);
  request(f, "POST", "/v1/shutdown", NULL, &r);
  assert_int_equal(r.code, 200);
  request(f, "PUT", "/v1/timelines", tl, &r);
  assert_error(&r, 409, "shut down");
  assert_int_equal(timelines_count(f->tls), 0);
  assert_int_equal(status_of(f, "svc"), WIRE_NOT_SERVING);

  faults_set(f->flt, VIOLATE_SHUTDOWN_ACCEPTS_SETS, 1);
  request(f, "PUT", "/v1/statuses", "{\"service\": \"\", \"status\": \"SERVING\"}", &r);
  assert_int_equal(r.code, 200);
  request(f, "PUT", "/v1/timelines", tl, &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(timelines_count(f->tls), 1);
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);
  request(f, "DELETE", "/v1/timelines/svc", NULL, &r);
  assert_int_equal(r.code, 204);
}

typedef struct notified {
  int statuses[8];
  int count;
} notified;

static void on_notify(void *ctx, int status) {
  notified *n = ctx;

  if (n->count < 8)
    n->statuses[n->count++] = status;
}

static void put__notifies_watchers(void **state) {
  fixture *f = *state;
  notified n = {{0}, 0};
  registry_watch *w;
  http_reply r;
  int first, next;

  assert_int_equal(registry_watch_start(f->reg, "svc", on_notify, &n, &w, &first), 0);
  assert_int_equal(first, WIRE_NOT_SERVING);
  assert_int_equal(registry_watch_sent(w, &next), 0); /* first send done: idle */

  /* registry_set runs the notify before admin queues its reply. */
  request(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"SERVING\"}", &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(n.count, 1);
  assert_int_equal(n.statuses[0], WIRE_SERVING);
  registry_watch_stop(w);
}

static void keep_alive__reuses_the_connection(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "GET", "/v1/health", NULL, &r);
  request(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"2\"}", &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(r.num_connects, 0);
}

static void start__port_in_use_is_a_clear_error(void **state) {
  fixture *f = *state;
  admin_options opts = {.host = "127.0.0.1", .port = f->port, .reg = f->reg};
  admin *second = NULL;
  char err[256] = "";
  int port = 0;

  assert_true(admin_start(&opts, &second, &port, err, sizeof(err)) < 0);
  assert_null(second);
  if (!strstr(err, "in use"))
    fail_msg("unclear error: %s", err);
}

static void start__bad_host_is_a_clear_error(void **state) {
  fixture *f = *state;
  admin_options opts = {.host = "not an address", .port = 0, .reg = f->reg};
  admin *second = NULL;
  char err[256] = "";
  int port = 0;

  assert_true(admin_start(&opts, &second, &port, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "not an address"));
}

static void start__ipv6_loopback(void **state) {
  fixture *f = *state;
  admin_options opts = {.host = "::1", .port = 0, .reg = f->reg};
  admin *v6 = NULL;
  char err[256] = "", url[64];
  int port = 0;
  long code = 0;

  if (admin_start(&opts, &v6, &port, err, sizeof(err)) < 0)
    skip(); /* no IPv6 on this host */
  snprintf(url, sizeof(url), "http://[::1]:%d/v1/health", port);
  curl_easy_reset(f->curl);
  curl_easy_setopt(f->curl, CURLOPT_URL, url);
  curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(f->curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(f->curl, CURLOPT_NOBODY, 1L);
  assert_int_equal(curl_easy_perform(f->curl), CURLE_OK);
  curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
  assert_int_equal(code, 405); /* /v1/health takes GET only */
  admin_stop(v6);
}

/* --- journal ------------------------------------------------------------ */

static void journal__get_lists_records_delete_clears(void **state) {
  fixture *f = *state;
  journal_record rec = {.protocol = "grpc",
                        .method = "/grpc.health.v1.Health/Check",
                        .service = "svc",
                        .deadline_ms = 950,
                        .user_agent = "probe/1",
                        .peer = "ipv4:127.0.0.1:5000",
                        .result = "OK NOT_SERVING"};
  json_t *root, *records, *r0;
  http_reply r;

  journal_add(f->jrn, &rec);
  request(f, "GET", "/v1/journal", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "application/json");
  root = json_loads(r.body, 0, NULL);
  assert_non_null(root);
  assert_int_equal(json_integer_value(json_object_get(root, "capacity")), 8);
  records = json_object_get(root, "records");
  assert_int_equal(json_array_size(records), 1);
  r0 = json_array_get(records, 0);
  assert_string_equal(json_string_value(json_object_get(r0, "method")),
                      "/grpc.health.v1.Health/Check");
  assert_int_equal(json_integer_value(json_object_get(r0, "deadline_ms")), 950);
  assert_string_equal(json_string_value(json_object_get(r0, "user_agent")), "probe/1");
  json_decref(root);

  request(f, "DELETE", "/v1/journal", NULL, &r);
  assert_int_equal(r.code, 204);
  assert_int_equal(r.len, 0);
  request(f, "GET", "/v1/journal", NULL, &r);
  assert_int_equal(r.code, 200);
  root = json_loads(r.body, 0, NULL);
  assert_int_equal(json_array_size(json_object_get(root, "records")), 0);
  json_decref(root);
  assert_unchanged(f);
}

/* --- timelines ---------------------------------------------------------- */

/* Waits (bounded) until `name` has `status`; 0 when it did. */
static int wait_status(fixture *f, const char *name, int status, int max_ms) {
  for (int waited = 0; waited <= max_ms; waited += 10) {
    if (status_of(f, name) == status)
      return 0;
    usleep(10 * 1000);
  }
  return -ETIMEDOUT;
}

static void timelines__put_applies_and_runs(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "PUT", "/v1/timelines",
          "{\"service\": \"svc\", \"timeline\": \"serving:100ms,NOT_SERVING\"}", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body,
                      "{\"service\":\"svc\",\"timeline\":\"serving:100ms,NOT_SERVING\","
                      "\"repeat\":false}");
  /* The first step is applied before the reply. */
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);
  assert_int_equal(wait_status(f, "svc", WIRE_NOT_SERVING, 3000), 0);
  /* Held last step: the timeline is over. */
  request(f, "DELETE", "/v1/timelines/svc", NULL, &r);
  assert_error(&r, 404, "no timeline running for \"svc\"");
}

static void timelines__get_shows_running_ones(void **state) {
  fixture *f = *state;
  json_t *root, *tl, *steps;
  http_reply r;

  request(f, "GET", "/v1/timelines", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "{\"timelines\":{}}");

  request(f, "PUT", "/v1/timelines",
          "{\"service\": \"\", \"timeline\": \"NOT_SERVING:60m,SERVING:2s\", \"repeat\": true}",
          &r);
  assert_int_equal(r.code, 200);
  request(f, "GET", "/v1/timelines", NULL, &r);
  assert_int_equal(r.code, 200);
  root = json_loads(r.body, 0, NULL);
  assert_non_null(root);
  tl = json_object_get(json_object_get(root, "timelines"), "");
  assert_non_null(tl);
  assert_true(json_is_true(json_object_get(tl, "repeat")));
  assert_int_equal(json_integer_value(json_object_get(tl, "step")), 0);
  assert_true(json_integer_value(json_object_get(tl, "next_in_ms")) > 3500 * 1000);
  steps = json_object_get(tl, "steps");
  assert_int_equal(json_array_size(steps), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "status")),
                      "NOT_SERVING");
  assert_int_equal(json_integer_value(json_object_get(json_array_get(steps, 1), "duration_ms")),
                   2000);
  json_decref(root);

  request(f, "PUT", "/v1/timelines", "{\"service\": \"x\", \"timeline\": \"UNKNOWN:60m,SERVING\"}",
          &r);
  request(f, "GET", "/v1/timelines", NULL, &r);
  root = json_loads(r.body, 0, NULL);
  tl = json_object_get(json_object_get(root, "timelines"), "x");
  assert_true(json_is_null(
      json_object_get(json_array_get(json_object_get(tl, "steps"), 1), "duration_ms")));
  json_decref(root);
}

static void timelines__put_replaces(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "PUT", "/v1/timelines", "{\"service\": \"svc\", \"timeline\": \"SERVING:60m,2\"}", &r);
  assert_int_equal(r.code, 200);
  request(f, "PUT", "/v1/timelines", "{\"service\": \"svc\", \"timeline\": \"UNKNOWN:60m,2\"}", &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(timelines_count(f->tls), 1);
  assert_int_equal(status_of(f, "svc"), WIRE_UNKNOWN);
}

/* "" is allowed here, unlike DELETE /v1/statuses/: it stops the "" timeline
 * and leaves "" where it is. */
static void timelines__delete_stops_even_the_empty_name(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "PUT", "/v1/timelines", "{\"service\": \"\", \"timeline\": \"UNKNOWN:60m,SERVING\"}",
          &r);
  assert_int_equal(r.code, 200);
  request(f, "DELETE", "/v1/timelines/", NULL, &r);
  assert_int_equal(r.code, 204);
  assert_int_equal(r.len, 0);
  assert_int_equal(timelines_count(f->tls), 0);
  assert_int_equal(status_of(f, ""), WIRE_UNKNOWN);
  request(f, "DELETE", "/v1/timelines/", NULL, &r);
  assert_error(&r, 404, "no timeline running for \"\"");
  request(f, "DELETE", "/v1/timelines/nope", NULL, &r);
  assert_error(&r, 404, "\"nope\"");
}

/* A running timeline on "svc" (NOT_SERVING for 60 minutes, so the registry
 * stays as setup() left it) and the check that it is still the same. */
static void start_svc_timeline(fixture *f) {
  http_reply r;

  request(f, "PUT", "/v1/timelines",
          "{\"service\": \"svc\", \"timeline\": \"NOT_SERVING:60m,SERVING\"}", &r);
  assert_int_equal(r.code, 200);
}

static void assert_svc_timeline_unchanged(fixture *f) {
  timeline_info *infos;
  size_t n;

  assert_int_equal(timelines_snapshot(f->tls, &infos, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(infos[0].service, "svc");
  assert_int_equal(infos[0].spec.count, 2);
  assert_int_equal(infos[0].spec.steps[0].duration_ms, 3600 * 1000);
  assert_int_equal(infos[0].spec.repeat, 0);
  timelines_snapshot_free(infos, n);
  assert_unchanged(f);
}

static void timelines__bad_bodies_are_refused_unchanged(void **state) {
  static const struct {
    const char *body;
    const char *needle;
  } cases[] = {
      {NULL, "missing body"},
      {"{\"service\": \"svc\"", "bad JSON"},
      {"[\"svc\"]", "must be a JSON object"},
      {"{\"timeline\": \"SERVING\"}", "missing field \"service\""},
      {"{\"service\": \"svc\"}", "missing field \"timeline\""},
      {"{\"service\": 1, \"timeline\": \"SERVING\"}", "\"service\" must be a string"},
      {"{\"service\": \"svc\", \"timeline\": [\"SERVING\"]}", "\"timeline\" must be a string"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING\", \"repeat\": \"yes\"}",
       "\"repeat\" must be true or false"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING\", \"loop\": true}",
       "unknown field \"loop\""},
      {"{\"service\": \"svc\", \"timeline\": \"\"}", "empty timeline"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING:1s,HEALTHY:1s\"}",
       "step 2: unknown status 'HEALTHY'"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING:1s,NOT_SERVING:soon\"}",
       "step 2: bad duration 'soon'"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING,NOT_SERVING:1s\"}",
       "step 1: needs a duration"},
      {"{\"service\": \"svc\", \"timeline\": \"SERVING:1s,NOT_SERVING\", \"repeat\": true}",
       "step 2: needs a duration (STATUS:DURATION) when repeating"},
  };
  fixture *f = *state;
  http_reply r;

  start_svc_timeline(f);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, "PUT", "/v1/timelines", cases[i].body, &r);
    assert_error(&r, 400, cases[i].needle);
    assert_svc_timeline_unchanged(f);
  }
}

static void timelines__put_after_shutdown_is_409(void **state) {
  fixture *f = *state;
  http_reply r;

  registry_shutdown(f->reg);
  request(f, "PUT", "/v1/timelines", "{\"service\": \"\", \"timeline\": \"SERVING:1s,SERVING\"}",
          &r);
  assert_error(&r, 409, "shut down");
  assert_int_equal(timelines_count(f->tls), 0);
  assert_int_equal(status_of(f, ""), WIRE_NOT_SERVING);
}

/* --- violations --------------------------------------------------------- */

static void violations__get_lists_catalogue_and_enabled(void **state) {
  fixture *f = *state;
  const fault_info *knobs;
  size_t n;
  json_t *root, *available, *enabled, *first;
  http_reply r;

  knobs = faults_catalogue(&n);
  faults_set(f->flt, VIOLATE_WATCH_DUPLICATES, 1);
  request(f, "GET", "/v1/violations", NULL, &r);
  assert_int_equal(r.code, 200);
  assert_true(r.len < sizeof(r.body)); /* not truncated */
  root = json_loads(r.body, 0, NULL);
  assert_non_null(root);
  available = json_object_get(root, "available");
  assert_int_equal(json_array_size(available), n);
  first = json_array_get(available, 0);
  assert_string_equal(json_string_value(json_object_get(first, "name")), knobs[0].name);
  assert_string_equal(json_string_value(json_object_get(first, "breaks")), knobs[0].breaks);
  assert_string_equal(json_string_value(json_object_get(first, "description")),
                      knobs[0].description);
  enabled = json_object_get(root, "enabled");
  assert_int_equal(json_array_size(enabled), 1);
  assert_string_equal(json_string_value(json_array_get(enabled, 0)), "watch-duplicates");
  json_decref(root);
}

static void violations__put_switches_a_knob(void **state) {
  fixture *f = *state;
  http_reply r;

  request(f, "PUT", "/v1/violations", "{\"violation\": \"http-not-json\", \"enabled\": true}", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "{\"violation\":\"http-not-json\",\"enabled\":true}");
  assert_true(faults_on(f->flt, VIOLATE_HTTP_NOT_JSON));
  request(f, "PUT", "/v1/violations", "{\"enabled\": false, \"violation\": \"http-not-json\"}", &r);
  assert_int_equal(r.code, 200);
  assert_false(faults_on(f->flt, VIOLATE_HTTP_NOT_JSON));
}

static void violations__bad_bodies_are_refused_unchanged(void **state) {
  static const struct {
    const char *body;
    const char *needle;
  } cases[] = {
      {NULL, "missing body"},
      {"{", "bad JSON"},
      {"[]", "must be a JSON object"},
      {"{\"enabled\": true}", "missing field \"violation\""},
      {"{\"violation\": \"watch-duplicates\"}", "missing field \"enabled\""},
      {"{\"violation\": \"watch-duplicates\", \"enabled\": 1}",
       "\"enabled\" must be true or false"},
      {"{\"violation\": \"watch-duplicates\", \"enabled\": \"true\"}",
       "\"enabled\" must be true or false"},
      {"{\"violation\": true, \"enabled\": true}", "\"violation\" must be a string"},
      {"{\"violation\": \"watch-duplicates\", \"enabled\": true, \"x\": 1}", "unknown field \"x\""},
      {"{\"violation\": \"no-such-knob\", \"enabled\": true}",
       "unknown violation \"no-such-knob\""},
      {"{\"violation\": \"WATCH-DUPLICATES\", \"enabled\": true}",
       "unknown violation \"WATCH-DUPLICATES\""},
  };
  fixture *f = *state;
  char on[256];
  http_reply r;

  faults_set(f->flt, VIOLATE_CHECK_SLOW, 1);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, "PUT", "/v1/violations", cases[i].body, &r);
    assert_error(&r, 400, cases[i].needle);
    faults_describe(f->flt, on, sizeof(on));
    assert_string_equal(on, "check-slow");
  }
}

/* --- features off ------------------------------------------------------- */

static void features_off__answer_404(void **state) {
  static const struct {
    const char *method, *path, *body, *needle;
  } cases[] = {
      {"GET", "/v1/journal", NULL, "the journal"},
      {"DELETE", "/v1/journal", NULL, "the journal"},
      {"GET", "/v1/timelines", NULL, "timelines"},
      {"PUT", "/v1/timelines", "{\"service\": \"\", \"timeline\": \"SERVING\"}", "timelines"},
      {"DELETE", "/v1/timelines/x", NULL, "timelines"},
      {"GET", "/v1/violations", NULL, "violations"},
      {"PUT", "/v1/violations", "{\"violation\": \"check-slow\", \"enabled\": true}", "violations"},
  };
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, cases[i].method, cases[i].path, cases[i].body, &r);
    assert_error(&r, 404, cases[i].needle);
    assert_error(&r, 404, "not enabled");
  }
  assert_unchanged(f);
}

/* --- bearer token ------------------------------------------------------- */

static void request_auth(fixture *f, const char *method, const char *path, const char *body,
                         const char *auth, http_reply *r) {
  const char *headers[] = {auth, NULL};

  assert_int_equal(http_do_with(f->curl, f->port, method, path, body, headers, r), CURLE_OK);
}

static void token__refused_without_or_with_a_wrong_one(void **state) {
  static const char *const bad[] = {
      NULL, /* no Authorization header */
      "Authorization: Bearer wrong",
      "Authorization: Bearer s3cret-toke",   /* a prefix */
      "Authorization: Bearer s3cret-token2", /* longer */
      "Authorization: Bearer ",
      "Authorization: Basic czNjcmV0LXRva2Vu",
      "Authorization: s3cret-token",
  };
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    request_auth(f, "GET", "/v1/statuses", NULL, bad[i], &r);
    assert_error(&r, 401, bad[i] ? "wrong credentials" : "no credentials");
    assert_string_equal(r.www_authenticate, "Bearer");
    /* Before routing: unknown paths and wrong methods are 401 too. */
    request_auth(f, "GET", "/nope", NULL, bad[i], &r);
    assert_int_equal(r.code, 401);
    request_auth(f, "PATCH", "/v1/statuses", NULL, bad[i], &r);
    assert_int_equal(r.code, 401);
    request_auth(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"SERVING\"}",
                 bad[i], &r);
    assert_int_equal(r.code, 401);
    request_auth(f, "POST", "/v1/shutdown", NULL, bad[i], &r);
    assert_int_equal(r.code, 401);
    assert_unchanged(f);
  }
}

static void token__accepted(void **state) {
  fixture *f = *state;
  http_reply r;

  request_auth(f, "GET", "/v1/statuses", NULL, "Authorization: Bearer " TOKEN, &r);
  assert_int_equal(r.code, 200);
  /* The scheme is case-insensitive (RFC 7235 section 2.1). */
  request_auth(f, "PUT", "/v1/statuses", "{\"service\": \"svc\", \"status\": \"SERVING\"}",
               "Authorization: bearer " TOKEN, &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(status_of(f, "svc"), WIRE_SERVING);
  request_auth(f, "GET", "/nope", NULL, "Authorization: Bearer " TOKEN, &r);
  assert_int_equal(r.code, 404);
}

static void token__empty_is_refused_at_start(void **state) {
  fixture *f = *state;
  admin_options opts = {.host = "127.0.0.1", .reg = f->reg, .token = ""};
  admin *second = NULL;
  char err[256] = "";
  int port = 0;

  assert_int_equal(admin_start(&opts, &second, &port, err, sizeof(err)), -EINVAL);
  assert_null(second);
  assert_non_null(strstr(err, "empty token"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(health__answers_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(get_statuses__lists_every_service, setup, teardown),
      cmocka_unit_test_setup_teardown(put__sets_and_echoes_canonical_name, setup, teardown),
      cmocka_unit_test_setup_teardown(put__bad_bodies_are_refused_unchanged, setup, teardown),
      cmocka_unit_test_setup_teardown(put__body_over_the_cap_is_413, setup, teardown),
      cmocka_unit_test_setup_teardown(put__chunked_body_over_the_cap_is_413, setup, teardown),
      cmocka_unit_test_setup_teardown(delete__removes_percent_decoded_name, setup, teardown),
      cmocka_unit_test_setup_teardown(delete__empty_name_is_400, setup, teardown),
      cmocka_unit_test_setup_teardown(delete__unknown_name_is_404, setup, teardown),
      cmocka_unit_test_setup_teardown(wrong_method__is_405_with_allow, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_path__is_404, setup, teardown),
      cmocka_unit_test_setup_teardown(shutdown__refuses_changes_until_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(shutdown__timelines_follow_the_status_rule, setup, teardown),
      cmocka_unit_test_setup_teardown(put__notifies_watchers, setup, teardown),
      cmocka_unit_test_setup_teardown(keep_alive__reuses_the_connection, setup, teardown),
      cmocka_unit_test_setup_teardown(start__port_in_use_is_a_clear_error, setup, teardown),
      cmocka_unit_test_setup_teardown(start__bad_host_is_a_clear_error, setup, teardown),
      cmocka_unit_test_setup_teardown(start__ipv6_loopback, setup, teardown),
      cmocka_unit_test_setup_teardown(journal__get_lists_records_delete_clears, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__put_applies_and_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__get_shows_running_ones, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__put_replaces, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__delete_stops_even_the_empty_name, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__bad_bodies_are_refused_unchanged, setup, teardown),
      cmocka_unit_test_setup_teardown(timelines__put_after_shutdown_is_409, setup, teardown),
      cmocka_unit_test_setup_teardown(violations__get_lists_catalogue_and_enabled, setup, teardown),
      cmocka_unit_test_setup_teardown(violations__put_switches_a_knob, setup, teardown),
      cmocka_unit_test_setup_teardown(violations__bad_bodies_are_refused_unchanged, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(features_off__answer_404, setup_bare, teardown),
      cmocka_unit_test_setup_teardown(token__refused_without_or_with_a_wrong_one, setup_token,
                                      teardown),
      cmocka_unit_test_setup_teardown(token__accepted, setup_token, teardown),
      cmocka_unit_test_setup_teardown(token__empty_is_refused_at_start, setup, teardown),
  };
  int failed;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  failed = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return failed;
}
