/* cmocka tests for mock_executor/health_logic.c: decisions as data. Given a
 * request's bytes, the registry and the knobs, the answer (code, status,
 * messages) and what the journal records; no transport at all. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"
#include "health_logic.h"
#include "inject.h"
#include "journal.h"
#include "registry.h"
#include "wire.h"

typedef struct fixture {
  registry *reg;
  faults *f;
  journal *j;
  hlogic hl;
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof(*fx));

  assert_non_null(fx);
  assert_int_equal(registry_new(&fx->reg), 0);
  assert_int_equal(faults_new(&fx->f), 0);
  assert_int_equal(journal_new(16, &fx->j), 0);
  assert_int_equal(registry_set(fx->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(fx->reg, "svc", WIRE_NOT_SERVING), 0);
  hlogic_init(&fx->hl, fx->reg, fx->f, fx->j, 3);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;

  registry_free(fx->reg);
  faults_free(fx->f);
  journal_free(fx->j);
  free(fx);
  return 0;
}

/* A Check for `name` (NULL: a 0-byte request; "=": the field present and
 * empty, which an encoder leaves out) through the logic. */
static void check(fixture *fx, const char *name, hlogic_answer *a) {
  uint8_t *req = NULL;
  size_t len = 0;
  char *service = NULL;
  int rc;

  if (name && strcmp(name, "=") == 0) {
    req = malloc(2);
    assert_non_null(req);
    memcpy(req, "\x0a\x00", 2);
    len = 2;
  } else if (name) {
    assert_int_equal(wire_check_request_encode(name, &req, &len), 0);
  }
  rc = hlogic_request_service(req, len, 1, &service);
  hlogic_check(&fx->hl, req, len, 1, service, rc, a);
  free(service);
  free(req);
}

/* Each row: knob (or -1), service asked, expected code, status, messages. */
static void check__decisions(void **state) {
  static const struct {
    int knob;
    const char *name;
    int code, status, messages;
  } rows[] = {
      {-1, NULL, WIRE_CODE_OK, WIRE_SERVING, 1}, /* H-CHECK-8: 0 bytes is "" */
      {-1, "", WIRE_CODE_OK, WIRE_SERVING, 1},
      {-1, "svc", WIRE_CODE_OK, WIRE_NOT_SERVING, 1}, /* H-CHECK-1 */
      {-1, "nope", WIRE_CODE_NOT_FOUND, -1, 0},       /* H-CHECK-2 */
      {VIOLATE_CHECK_ANSWERS_UNKNOWN, "", WIRE_CODE_OK, WIRE_UNKNOWN, 1},
      {VIOLATE_CHECK_EMPTY_REQUEST_INVALID, NULL, WIRE_CODE_INVALID_ARGUMENT, -1, 0},
      {VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND, "=", WIRE_CODE_NOT_FOUND, -1, 0},
      {VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND, NULL, WIRE_CODE_OK, WIRE_SERVING, 1},
      {-1, "=", WIRE_CODE_OK, WIRE_SERVING, 1},
      {VIOLATE_CHECK_NOT_SERVING_UNAVAILABLE, "svc", WIRE_CODE_UNAVAILABLE, -1, 0},
      {VIOLATE_CHECK_UNKNOWN_SERVICE_UNKNOWN, "nope", WIRE_CODE_OK, WIRE_SERVICE_UNKNOWN, 1},
      {VIOLATE_CHECK_TWO_MESSAGES, "", WIRE_CODE_OK, WIRE_SERVING, 2},
      {VIOLATE_CHECK_NO_MESSAGE, "", WIRE_CODE_OK, WIRE_SERVING, 0},
      {VIOLATE_CHECK_SERVICE_UNKNOWN_KNOWN, "svc", WIRE_CODE_OK, WIRE_SERVICE_UNKNOWN, 1},
      {VIOLATE_CHECK_CASE_INSENSITIVE, "SV", WIRE_CODE_OK, WIRE_NOT_SERVING, 1},
  };
  fixture *fx = *state;

  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    hlogic_answer a;

    if (rows[i].knob >= 0)
      faults_set(fx->f, (fault_knob)rows[i].knob, 1);
    check(fx, rows[i].name, &a);
    if (rows[i].knob >= 0)
      faults_set(fx->f, (fault_knob)rows[i].knob, 0);
    assert_int_equal(a.code, rows[i].code);
    assert_int_equal(a.status, rows[i].status);
    assert_int_equal(a.messages, rows[i].messages);
    assert_null(a.msg); /* a HealthCheckResponse of a.status */
  }
}

static void check__unreadable_request_is_invalid_argument(void **state) {
  fixture *fx = *state;
  static const uint8_t junk[] = {0x0a, 0x05, 'a'}; /* a string cut short */
  hlogic_answer a;
  char *service = NULL;
  int rc = hlogic_request_service(junk, sizeof(junk), 1, &service);

  assert_int_equal(rc, -EBADMSG);
  hlogic_check(&fx->hl, junk, sizeof(junk), 1, service, rc, &a);
  assert_int_equal(a.code, WIRE_CODE_INVALID_ARGUMENT);
  assert_int_equal(hlogic_request_service(NULL, 0, 0, &service), -EBADMSG); /* no message */
}

static void check__toggles_every_other(void **state) {
  fixture *fx = *state;
  hlogic_answer a, b;

  faults_set(fx->f, VIOLATE_CHECK_TOGGLES, 1);
  check(fx, "", &a);
  check(fx, "", &b);
  assert_int_equal(a.status, WIRE_SERVING);
  assert_int_equal(b.status, WIRE_NOT_SERVING);
}

static void check__holds(void **state) {
  fixture *fx = *state;
  hlogic_hold h = hlogic_check_hold(&fx->hl, 0, 100);

  assert_int_equal(h.kind, HLOGIC_NOW);
  faults_set(fx->f, VIOLATE_CHECK_SLOW, 1);
  h = hlogic_check_hold(&fx->hl, 0, 0);
  assert_int_equal(h.kind, HLOGIC_AFTER);
  assert_int_equal(h.ms, HLOGIC_SLOW_CHECK_MS);
  faults_set(fx->f, VIOLATE_CHECK_SLOW, 0);
  faults_set(fx->f, VIOLATE_LONG_NAME_HANG, 1);
  assert_int_equal(hlogic_check_hold(&fx->hl, HLOGIC_LONG_NAME_MAX, 0).kind, HLOGIC_NOW);
  assert_int_equal(hlogic_check_hold(&fx->hl, HLOGIC_LONG_NAME_MAX + 1, 0).kind,
                   HLOGIC_PAST_DEADLINE);
  faults_set(fx->f, VIOLATE_LONG_NAME_HANG, 0);
  faults_set(fx->f, VIOLATE_WATCH_STARVES_CHECK, 1);
  assert_int_equal(hlogic_check_hold(&fx->hl, 0, HLOGIC_STARVING_WATCHES).kind, HLOGIC_NOW);
  assert_int_equal(hlogic_check_hold(&fx->hl, 0, HLOGIC_STARVING_WATCHES + 1).kind, HLOGIC_STARVED);
}

static void watch__refusals(void **state) {
  fixture *fx = *state;
  hlogic_answer a;

  assert_int_equal(hlogic_watch_refusal(&fx->hl, "nope", 0, &a), 0); /* H-WATCH-3 */
  assert_int_equal(hlogic_watch_refusal(&fx->hl, NULL, -EBADMSG, &a), 1);
  assert_int_equal(a.code, WIRE_CODE_INVALID_ARGUMENT);
  assert_true(a.unjournaled);
  faults_set(fx->f, VIOLATE_WATCH_UNKNOWN_NOT_FOUND, 1);
  assert_int_equal(hlogic_watch_refusal(&fx->hl, "nope", 0, &a), 1);
  assert_int_equal(a.code, WIRE_CODE_NOT_FOUND);
  assert_int_equal(hlogic_watch_refusal(&fx->hl, "svc", 0, &a), 0);
  faults_set(fx->f, VIOLATE_WATCH_UNKNOWN_NOT_FOUND, 0);
  faults_set(fx->f, VIOLATE_WATCH_LEAK_SLOTS, 1);
  for (int i = 0; i < HLOGIC_LEAKY_SLOTS; i++)
    assert_int_equal(hlogic_watch_refusal(&fx->hl, "", 0, &a), 0);
  assert_int_equal(hlogic_watch_refusal(&fx->hl, "", 0, &a), 1);
  assert_int_equal(a.code, WIRE_CODE_RESOURCE_EXHAUSTED);
  assert_true(hlogic_watch_sends_initial(&fx->hl));
  faults_set(fx->f, VIOLATE_WATCH_NO_INITIAL, 1);
  assert_false(hlogic_watch_sends_initial(&fx->hl));
}

static void list__limit_and_encoding(void **state) {
  fixture *fx = *state;
  hlogic_answer a;

  hlogic_list(&fx->hl, NULL, 0, 1, &a); /* 2 services, limit 3 */
  assert_int_equal(a.code, WIRE_CODE_OK);
  assert_int_equal(a.messages, 1);
  assert_non_null(a.msg);
  hlogic_answer_free(&a);
  assert_int_equal(registry_set(fx->reg, "c", WIRE_SERVING), 0);
  faults_set(fx->f, VIOLATE_LIST_LIMIT_OFF_BY_ONE, 1);
  hlogic_list(&fx->hl, NULL, 0, 1, &a); /* 3 at limit 3: H-LIST-3 broken */
  assert_int_equal(a.code, WIRE_CODE_RESOURCE_EXHAUSTED);
  faults_set(fx->f, VIOLATE_LIST_LIMIT_OFF_BY_ONE, 0);
  hlogic_list(&fx->hl, NULL, 0, 1, &a);
  assert_int_equal(a.code, WIRE_CODE_OK);
  hlogic_answer_free(&a);
  assert_int_equal(registry_set(fx->reg, "d", WIRE_SERVING), 0);
  hlogic_list(&fx->hl, NULL, 0, 1, &a);
  assert_int_equal(a.code, WIRE_CODE_RESOURCE_EXHAUSTED);
  assert_null(a.msg);
  hlogic_list(&fx->hl, NULL, 0, 0, &a);
  assert_int_equal(a.code, WIRE_CODE_INVALID_ARGUMENT);
}

static void unknown_and_reflection(void **state) {
  fixture *fx = *state;
  hlogic_answer a;

  assert_int_equal(hlogic_method_of("/grpc.health.v1.Health/Watch"), HLOGIC_WATCH);
  assert_int_equal(hlogic_method_of("/x.Y/Z"), HLOGIC_UNKNOWN);
  hlogic_unknown_method(&fx->hl, "/x.Y/Z", &a);
  assert_int_equal(a.code, WIRE_CODE_UNIMPLEMENTED); /* H-WIRE-4 */
  assert_string_equal(a.details, "unknown method /x.Y/Z");
  faults_set(fx->f, VIOLATE_UNKNOWN_METHOD_INTERNAL, 1);
  hlogic_unknown_method(&fx->hl, "/x.Y/Z", &a);
  assert_int_equal(a.code, WIRE_CODE_INTERNAL);
  assert_int_equal(hlogic_reflection_refusal(&fx->hl, HLOGIC_REFLECTION_V1, &a), 0);
  faults_set(fx->f, VIOLATE_REFLECTION_V1_INTERNAL, 1);
  assert_int_equal(hlogic_reflection_refusal(&fx->hl, HLOGIC_REFLECTION_V1, &a), 1);
  assert_int_equal(hlogic_reflection_refusal(&fx->hl, HLOGIC_REFLECTION_V1ALPHA, &a), 0);
  assert_int_equal(hlogic_reflection(&fx->hl, (const uint8_t *)"\xff", 1, &a), 1);
  assert_int_equal(a.code, WIRE_CODE_INVALID_ARGUMENT);
}

static void faults__rules_decide(void **state) {
  fixture *fx = *state;
  inject_rule rule;
  inject_hit hit;
  hlogic_answer a;
  char err[INJECT_ERR_MAX];

  assert_int_equal(hlogic_fault(&fx->hl, HLOGIC_CHECK, "", 0, &hit), 0);
  assert_int_equal(inject_parse("method=Check,action=code:UNAVAILABLE,count=1,message=x y", &rule,
                                err, sizeof(err)),
                   0);
  assert_int_equal(inject_add(faults_inject(fx->f), &rule), 0);
  assert_int_equal(hlogic_fault(&fx->hl, HLOGIC_CHECK, NULL, -EBADMSG, &hit), 0);
  assert_int_equal(hlogic_fault(&fx->hl, HLOGIC_WATCH, "", 0, &hit), 0);
  assert_int_equal(hlogic_fault(&fx->hl, HLOGIC_CHECK, "", 0, &hit), 1);
  hlogic_fault_answer(&hit, &a);
  assert_int_equal(a.code, WIRE_CODE_UNAVAILABLE);
  assert_string_equal(a.details, "x y");
  assert_int_equal(a.messages, 0);                                       /* trailers-only */
  assert_int_equal(hlogic_fault(&fx->hl, HLOGIC_CHECK, "", 0, &hit), 0); /* spent */
}

static void journal__records_code_and_status(void **state) {
  fixture *fx = *state;
  hlogic_call_info info = {.path = "/grpc.health.v1.Health/Check",
                           .service = "svc",
                           .deadline_ms = -1,
                           .user_agent = "ua",
                           .peer = "ipv4:1.2.3.4:5"};
  json_t *root, *rec;

  hlogic_journal(&fx->hl, &info, WIRE_CODE_OK, WIRE_NOT_SERVING);
  hlogic_journal(&fx->hl, &info, WIRE_CODE_NOT_FOUND, -1);
  root = journal_to_json(fx->j);
  rec = json_array_get(json_object_get(root, "records"), 0);
  assert_string_equal(json_string_value(json_object_get(rec, "result")), "OK NOT_SERVING");
  assert_string_equal(json_string_value(json_object_get(rec, "service")), "svc");
  rec = json_array_get(json_object_get(root, "records"), 1);
  assert_string_equal(json_string_value(json_object_get(rec, "result")), "NOT_FOUND");
  json_decref(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(check__decisions, setup, teardown),
      cmocka_unit_test_setup_teardown(check__unreadable_request_is_invalid_argument, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(check__toggles_every_other, setup, teardown),
      cmocka_unit_test_setup_teardown(check__holds, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(list__limit_and_encoding, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_and_reflection, setup, teardown),
      cmocka_unit_test_setup_teardown(faults__rules_decide, setup, teardown),
      cmocka_unit_test_setup_teardown(journal__records_code_and_status, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
