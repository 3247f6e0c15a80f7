/* cmocka tests for mock_executor/admin.c: the journal, timelines and
 * violations routes of the control API and their 404 when a feature is off,
 * over real HTTP (libcurl) to 127.0.0.1 on a free port (admin_fixture.h). */
#define _DEFAULT_SOURCE /* usleep */
#include <errno.h>
#include <unistd.h>

#include "admin_fixture.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
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
  };
  int failed;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  failed = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return failed;
}
