/* cmocka tests for mock_executor/http_health.c: GET/HEAD / and
 * /health/{name}, per-status codes, 404/405, keep-alive, over real HTTP
 * (libcurl) to 127.0.0.1 on a free port, with a real registry. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <jansson.h>

#include "faults.h"
#include "http_client.h"
#include "http_health.h"
#include "journal.h"
#include "registry.h"
#include "wire.h"

typedef struct fixture {
  registry *reg;
  journal *jrn;
  faults *flt;
  http_health *hh;
  int port;
  CURL *curl;
} fixture;

static fixture *fixture_new(const int *codes) {
  fixture *f = calloc(1, sizeof(*f));
  http_health_options opts = {.host = "127.0.0.1", .port = 0};
  char err[256];

  assert_non_null(f);
  assert_int_equal(registry_new(&f->reg), 0);
  assert_int_equal(journal_new(16, &f->jrn), 0);
  assert_int_equal(faults_new(&f->flt), 0);
  opts.reg = f->reg;
  opts.journal = f->jrn;
  opts.faults = f->flt;
  if (codes)
    memcpy(opts.codes, codes, sizeof(opts.codes));
  assert_int_equal(http_health_start(&opts, &f->hh, &f->port, err, sizeof(err)), 0);
  assert_true(f->port > 0);
  f->curl = curl_easy_init();
  assert_non_null(f->curl);
  return f;
}

static int setup(void **state) {
  *state = fixture_new(NULL);
  return 0;
}

/* Every status on its own code, none the default. */
static const int custom_codes[WIRE_STATUS_MAX + 1] = {[WIRE_UNKNOWN] = 500,
                                                      [WIRE_SERVING] = 202,
                                                      [WIRE_NOT_SERVING] = 429,
                                                      [WIRE_SERVICE_UNKNOWN] = 410};

static int setup_custom(void **state) {
  *state = fixture_new(custom_codes);
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;

  curl_easy_cleanup(f->curl);
  http_health_stop(f->hh);
  journal_free(f->jrn);
  faults_free(f->flt);
  registry_free(f->reg);
  free(f);
  return 0;
}

static void request(fixture *f, const char *method, const char *path, http_reply *r) {
  assert_int_equal(http_do(f->curl, f->port, method, path, NULL, r), CURLE_OK);
  assert_string_equal(r->content_type, "application/json");
}

/* One request; checks its code and, when body is not NULL, its body. */
static void expect(fixture *f, const char *method, const char *path, long code, const char *body) {
  http_reply r;

  request(f, method, path, &r);
  assert_int_equal(r.code, code);
  if (body)
    assert_string_equal(r.body, body);
}

static void root__serving_is_200_empty_object(void **state) {
  fixture *f = *state;

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  expect(f, "GET", "/", 200, "{}");
}

static void root__other_statuses_are_503_naming_it(void **state) {
  static const struct {
    int status;
    const char *body;
  } cases[] = {
      {WIRE_NOT_SERVING, "{\"status\":\"NOT_SERVING\"}"},
      {WIRE_UNKNOWN, "{\"status\":\"UNKNOWN\"}"},
      {WIRE_SERVICE_UNKNOWN, "{\"status\":\"SERVICE_UNKNOWN\"}"},
  };
  fixture *f = *state;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(registry_set(f->reg, "", cases[i].status), 0);
    expect(f, "GET", "/", 503, cases[i].body);
  }
}

static void root__unset_overall_health_is_503(void **state) {
  fixture *f = *state;

  expect(f, "GET", "/", 503, "{\"status\":\"SERVICE_UNKNOWN\"}");
}

static void root__follows_changes(void **state) {
  fixture *f = *state;

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  expect(f, "GET", "/", 200, NULL);
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  expect(f, "GET", "/", 503, NULL);
  registry_shutdown(f->reg);
  registry_resume(f->reg);
  expect(f, "GET", "/", 200, NULL);
}

static void head__same_code_no_body(void **state) {
  fixture *f = *state;

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "down", WIRE_NOT_SERVING), 0);
  expect(f, "HEAD", "/", 200, "");
  expect(f, "HEAD", "/health/down", 503, "");
  expect(f, "HEAD", "/health/nope", 404, "");
}

static void named__reports_the_percent_decoded_service(void **state) {
  fixture *f = *state;

  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "grpc.health.v1.Health", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "a b/c", WIRE_NOT_SERVING), 0);
  expect(f, "GET", "/health/grpc.health.v1.Health", 200, "{}");
  expect(f, "GET", "/health/a%20b%2Fc", 503, "{\"status\":\"NOT_SERVING\"}");
}

static void named__unknown_is_404(void **state) {
  fixture *f = *state;

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  expect(f, "GET", "/health/nope", 404, "{\"error\":\"unknown service\"}");
}

static void other_paths__are_404(void **state) {
  static const char *const paths[] = {"/health", "/healthz", "/v1/statuses", "//"};
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    request(f, "GET", paths[i], &r);
    assert_int_equal(r.code, 404);
    assert_non_null(strstr(r.body, "\"error\""));
  }
}

static void other_methods__are_405_with_allow(void **state) {
  static const struct {
    const char *method, *path;
  } cases[] = {{"POST", "/"}, {"PUT", "/"}, {"DELETE", "/health/x"}, {"OPTIONS", "/"}};
  fixture *f = *state;
  http_reply r;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    request(f, cases[i].method, cases[i].path, &r);
    assert_int_equal(r.code, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_non_null(strstr(r.body, cases[i].method));
  }
}

static void keep_alive__reuses_the_connection(void **state) {
  fixture *f = *state;
  http_reply r;

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  request(f, "GET", "/", &r);
  assert_int_equal(r.num_connects, 1);
  request(f, "GET", "/", &r);
  assert_int_equal(r.code, 200);
  assert_int_equal(r.num_connects, 0);
  request(f, "HEAD", "/", &r);
  assert_int_equal(r.num_connects, 0);
  /* Error answers keep the connection too. */
  request(f, "GET", "/health/nope", &r);
  request(f, "GET", "/", &r);
  assert_int_equal(r.num_connects, 0);
}

static void codes__are_configurable_per_status(void **state) {
  fixture *f = *state;
  http_reply r;

  for (int s = 0; s <= WIRE_STATUS_MAX; s++) {
    assert_int_equal(registry_set(f->reg, "svc", s), 0);
    request(f, "GET", "/health/svc", &r);
    assert_int_equal(r.code, custom_codes[s]);
  }
  request(f, "GET", "/", &r); /* "" unset: reported as SERVICE_UNKNOWN */
  assert_int_equal(r.code, custom_codes[WIRE_SERVICE_UNKNOWN]);
  request(f, "GET", "/health/nope", &r); /* unknown name stays 404 */
  assert_int_equal(r.code, 404);
}

static void start__refuses_a_bad_code(void **state) {
  fixture *f = *state;
  http_health_options opts = {.host = "127.0.0.1", .reg = f->reg};
  http_health *hh = NULL;
  char err[256] = "";
  int port = 0;

  opts.codes[WIRE_NOT_SERVING] = 42;
  assert_int_equal(http_health_start(&opts, &hh, &port, err, sizeof(err)), -EINVAL);
  assert_null(hh);
  assert_non_null(strstr(err, "42"));
  assert_non_null(strstr(err, "NOT_SERVING"));
}

static void start__port_in_use_is_a_clear_error(void **state) {
  fixture *f = *state;
  http_health_options opts = {.host = "127.0.0.1", .port = f->port, .reg = f->reg};
  http_health *hh = NULL;
  char err[256] = "";
  int port = 0;

  assert_true(http_health_start(&opts, &hh, &port, err, sizeof(err)) < 0);
  assert_null(hh);
  if (!strstr(err, "in use"))
    fail_msg("unclear error: %s", err);
}

/* --- journal ------------------------------------------------------------ */

/* The journal's records (a new reference); asserts it is well formed. */
static json_t *journal_records(fixture *f) {
  json_t *root = journal_to_json(f->jrn);
  json_t *records;

  assert_non_null(root);
  records = json_incref(json_object_get(root, "records"));
  json_decref(root);
  assert_true(json_is_array(records));
  return records;
}

static const char *field(json_t *rec, const char *key) {
  const char *v = json_string_value(json_object_get(rec, key));

  assert_non_null(v);
  return v;
}

static void journal__records_every_request(void **state) {
  static const char *const ua[] = {"User-Agent: probe/1.0", NULL};
  static const struct {
    const char *method, *path, *logged, *service, *result;
  } cases[] = {
      {"GET", "/", "GET /", "", "200"},
      {"HEAD", "/", "HEAD /", "", "200"},
      {"GET", "/health/down", "GET /health/down", "down", "503"},
      {"GET", "/health/a%20b", "GET /health/a b", "a b", "404"},
      {"GET", "/nope", "GET /nope", "", "404"},
      {"POST", "/", "POST /", "", "405"},
  };
  fixture *f = *state;
  json_t *records;
  http_reply r;
  size_t n = sizeof(cases) / sizeof(cases[0]);

  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "down", WIRE_NOT_SERVING), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(http_do_with(f->curl, f->port, cases[i].method, cases[i].path, NULL, ua, &r),
                     CURLE_OK);
  records = journal_records(f);
  assert_int_equal(json_array_size(records), n);
  for (size_t i = 0; i < n; i++) {
    json_t *rec = json_array_get(records, i);
    assert_string_equal(field(rec, "protocol"), "http");
    assert_string_equal(field(rec, "method"), cases[i].logged);
    assert_string_equal(field(rec, "service"), cases[i].service);
    assert_true(json_is_null(json_object_get(rec, "deadline_ms")));
    assert_string_equal(field(rec, "user_agent"), "probe/1.0");
    if (strncmp(field(rec, "peer"), "ipv4:127.0.0.1:", 15) != 0)
      fail_msg("peer %s", field(rec, "peer"));
    assert_string_equal(field(rec, "result"), cases[i].result);
  }
  json_decref(records);
}

static void journal__no_user_agent_is_empty(void **state) {
  fixture *f = *state;
  json_t *records;
  http_reply r;

  request(f, "GET", "/", &r); /* libcurl sends no User-Agent unless told */
  records = journal_records(f);
  assert_int_equal(json_array_size(records), 1);
  assert_string_equal(field(json_array_get(records, 0), "user_agent"), "");
  assert_string_equal(field(json_array_get(records, 0), "result"), "503");
  json_decref(records);
}

static void journal__none_is_fine(void **state) {
  fixture *f = *state;
  http_health_options opts = {.host = "127.0.0.1", .reg = f->reg};
  http_health *plain = NULL;
  char err[256];
  int port = 0;
  http_reply r;

  assert_int_equal(http_health_start(&opts, &plain, &port, err, sizeof(err)), 0);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(http_do(f->curl, port, "GET", "/", NULL, &r), CURLE_OK);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "{}");
  http_health_stop(plain);
}

/* --- violation knobs ------------------------------------------------------ */

/* One request without the Content-Type check of request(). */
static void request_any(fixture *f, const char *path, http_reply *r) {
  assert_int_equal(http_do(f->curl, f->port, "GET", path, NULL, r), CURLE_OK);
}

static void faults__ok_when_unhealthy(void **state) {
  fixture *f = *state;

  faults_set(f->flt, VIOLATE_HTTP_OK_WHEN_UNHEALTHY, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "svc", WIRE_UNKNOWN), 0);
  expect(f, "GET", "/", 200, "{}");
  expect(f, "GET", "/health/svc", 200, "{}");
  expect(f, "GET", "/health/nope", 404, NULL); /* unknown names stay 404 */
  registry_remove(f->reg, "");
  expect(f, "GET", "/", 200, "{}");
  faults_set(f->flt, VIOLATE_HTTP_OK_WHEN_UNHEALTHY, 0);
  expect(f, "GET", "/", 503, "{\"status\":\"SERVICE_UNKNOWN\"}");
}

static void faults__not_json(void **state) {
  fixture *f = *state;
  json_error_t jerr;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_NOT_JSON, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  request(f, "GET", "/", &r); /* Content-Type still application/json */
  assert_int_equal(r.code, 503);
  assert_null(json_loads(r.body, 0, &jerr));
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  request(f, "GET", "/", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.body, "OK");
  faults_set(f->flt, VIOLATE_HTTP_NOT_JSON, 0);
  expect(f, "GET", "/", 200, "{}");
}

static void faults__wrong_content_type(void **state) {
  fixture *f = *state;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_WRONG_CONTENT_TYPE, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  request_any(f, "/", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "text/html");
  assert_string_equal(r.body, "{}");
  faults_set(f->flt, VIOLATE_HTTP_WRONG_CONTENT_TYPE, 0);
  expect(f, "GET", "/", 200, "{}");
}

static void faults__combine(void **state) {
  fixture *f = *state;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_OK_WHEN_UNHEALTHY, 1);
  faults_set(f->flt, VIOLATE_HTTP_NOT_JSON, 1);
  faults_set(f->flt, VIOLATE_HTTP_WRONG_CONTENT_TYPE, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  request_any(f, "/", &r);
  assert_int_equal(r.code, 200);
  assert_string_equal(r.content_type, "text/html");
  assert_string_equal(r.body, "OK");
}

static void faults__root_not_200(void **state) {
  fixture *f = *state;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_ROOT_NOT_200, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  request_any(f, "/", &r);
  assert_int_equal(r.code, 204);
  assert_int_equal(r.len, 0); /* a 204 carries no body */
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  expect(f, "GET", "/", 503, "{\"status\":\"NOT_SERVING\"}"); /* only SERVING moves */
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  faults_set(f->flt, VIOLATE_HTTP_ROOT_NOT_200, 0);
  expect(f, "GET", "/", 200, "{}");
}

static void faults__no_keep_alive(void **state) {
  fixture *f = *state;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_NO_KEEP_ALIVE, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  for (int i = 0; i < 3; i++) {
    request(f, "GET", "/", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "{}");
    assert_int_equal(r.num_connects, 1); /* the last one was closed */
  }
  faults_set(f->flt, VIOLATE_HTTP_NO_KEEP_ALIVE, 0);
  request(f, "GET", "/", &r); /* opens one more, which then stays */
  request(f, "GET", "/", &r);
  assert_int_equal(r.num_connects, 0);
}

static long elapsed_ms(const struct timespec *since) {
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void faults__slow(void **state) {
  fixture *f = *state;
  struct timespec start;

  faults_set(f->flt, VIOLATE_HTTP_SLOW, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  clock_gettime(CLOCK_MONOTONIC, &start);
  expect(f, "GET", "/", 200, "{}");
  assert_true(elapsed_ms(&start) >= 600);
  faults_set(f->flt, VIOLATE_HTTP_SLOW, 0);
  expect(f, "GET", "/", 200, "{}"); /* no upper bound on time: sanitizer builds are slow */
}

static void faults__unknown_path_ok(void **state) {
  fixture *f = *state;
  http_reply r;

  faults_set(f->flt, VIOLATE_HTTP_UNKNOWN_PATH_OK, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  expect(f, "GET", "/no-such-path", 200, "{}");
  expect(f, "GET", "/health", 200, "{}");
  expect(f, "HEAD", "/x/y", 200, "");
  expect(f, "GET", "/health/nope", 404, NULL); /* unknown names stay 404 */
  request(f, "POST", "/no-such-path", &r);     /* other methods too */
  assert_int_equal(r.code, 404);
  assert_int_equal(registry_set(f->reg, "", WIRE_NOT_SERVING), 0);
  expect(f, "GET", "/no-such-path", 503, "{\"status\":\"NOT_SERVING\"}"); /* as / */
  faults_set(f->flt, VIOLATE_HTTP_UNKNOWN_PATH_OK, 0);
  request(f, "GET", "/no-such-path", &r);
  assert_int_equal(r.code, 404);
  assert_non_null(strstr(r.body, "no such path"));
}

static void faults__head_broken(void **state) {
  fixture *f = *state;

  faults_set(f->flt, VIOLATE_HTTP_HEAD_BROKEN, 1);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "svc", WIRE_SERVING), 0);
  expect(f, "HEAD", "/", 500, "");
  expect(f, "HEAD", "/health/svc", 500, "");
  expect(f, "GET", "/", 200, "{}"); /* GET is untouched */
  faults_set(f->flt, VIOLATE_HTTP_HEAD_BROKEN, 0);
  expect(f, "HEAD", "/", 200, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(root__serving_is_200_empty_object, setup, teardown),
      cmocka_unit_test_setup_teardown(root__other_statuses_are_503_naming_it, setup, teardown),
      cmocka_unit_test_setup_teardown(root__unset_overall_health_is_503, setup, teardown),
      cmocka_unit_test_setup_teardown(root__follows_changes, setup, teardown),
      cmocka_unit_test_setup_teardown(head__same_code_no_body, setup, teardown),
      cmocka_unit_test_setup_teardown(named__reports_the_percent_decoded_service, setup, teardown),
      cmocka_unit_test_setup_teardown(named__unknown_is_404, setup, teardown),
      cmocka_unit_test_setup_teardown(other_paths__are_404, setup, teardown),
      cmocka_unit_test_setup_teardown(other_methods__are_405_with_allow, setup, teardown),
      cmocka_unit_test_setup_teardown(keep_alive__reuses_the_connection, setup, teardown),
      cmocka_unit_test_setup_teardown(codes__are_configurable_per_status, setup_custom, teardown),
      cmocka_unit_test_setup_teardown(start__refuses_a_bad_code, setup, teardown),
      cmocka_unit_test_setup_teardown(start__port_in_use_is_a_clear_error, setup, teardown),
      cmocka_unit_test_setup_teardown(journal__records_every_request, setup, teardown),
      cmocka_unit_test_setup_teardown(journal__no_user_agent_is_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(journal__none_is_fine, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__ok_when_unhealthy, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__not_json, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__wrong_content_type, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__combine, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__root_not_200, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__no_keep_alive, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__slow, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__unknown_path_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__head_broken, setup, teardown),
  };
  int failed;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  failed = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return failed;
}
