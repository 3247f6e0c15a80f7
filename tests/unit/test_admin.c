/* cmocka tests for mock_executor/admin.c: the statuses routes, methods,
 * paths, shutdown, start-up and the bearer token of the control API, over
 * real HTTP (libcurl) to 127.0.0.1 on a free port, with a real registry.
 * The journal, timelines and violations routes: test_admin_features.c. */
#include <errno.h>
#include <unistd.h>

#include "admin_fixture.h"

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
