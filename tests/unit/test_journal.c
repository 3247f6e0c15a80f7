/* cmocka tests for mock_executor/journal.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "failmalloc.h"
#include "journal.h"

static void add(journal *j, const char *service, long deadline) {
  journal_record r = {.protocol = "grpc",
                      .method = "/grpc.health.v1.Health/Check",
                      .service = service,
                      .deadline_ms = deadline,
                      .user_agent = "grpc_health_probe",
                      .peer = "ipv4:127.0.0.1:5555",
                      .result = "OK SERVING"};
  journal_add(j, &r);
}

static void records__in_order_with_fields(void **state) {
  journal *j;
  json_t *root, *recs, *first;
  (void)state;
  assert_int_equal(journal_new(8, &j), 0);
  add(j, "", 1000);
  add(j, "foo", -1);
  root = journal_to_json(j);
  assert_non_null(root);
  recs = json_object_get(root, "records");
  assert_int_equal(json_array_size(recs), 2);
  first = json_array_get(recs, 0);
  assert_string_equal(json_string_value(json_object_get(first, "service")), "");
  assert_int_equal(json_integer_value(json_object_get(first, "deadline_ms")), 1000);
  assert_string_equal(json_string_value(json_object_get(first, "user_agent")), "grpc_health_probe");
  assert_string_equal(json_string_value(json_object_get(first, "result")), "OK SERVING");
  assert_non_null(strchr(json_string_value(json_object_get(first, "time")), 'Z'));
  assert_true(json_is_null(json_object_get(json_array_get(recs, 1), "deadline_ms")));
  json_decref(root);
  journal_free(j);
}

static void ring__drops_oldest_and_counts(void **state) {
  journal *j;
  json_t *root, *recs;
  char name[16];
  (void)state;
  assert_int_equal(journal_new(3, &j), 0);
  for (int i = 0; i < 5; i++) {
    snprintf(name, sizeof(name), "s%d", i);
    add(j, name, -1);
  }
  root = journal_to_json(j);
  recs = json_object_get(root, "records");
  assert_int_equal(json_array_size(recs), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "service")), "s2");
  assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 2), "service")), "s4");
  assert_int_equal(json_integer_value(json_object_get(root, "dropped")), 2);
  json_decref(root);
  journal_clear(j);
  root = journal_to_json(j);
  assert_int_equal(json_array_size(json_object_get(root, "records")), 0);
  assert_int_equal(json_integer_value(json_object_get(root, "dropped")), 0);
  json_decref(root);
  journal_free(j);
}

static void long_strings__truncated_not_overflowing(void **state) {
  journal *j;
  json_t *root;
  char big[1000];
  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(journal_new(1, &j), 0);
  assert_true(journal_on(j));
  add(j, big, -1);
  root = journal_to_json(j);
  assert_int_equal(strlen(json_string_value(json_object_get(
                       json_array_get(json_object_get(root, "records"), 0), "service"))),
                   127);
  json_decref(root);
  journal_free(j);
}

static void capacity_zero__records_nothing(void **state) {
  journal *j;
  json_t *root;
  (void)state;
  assert_int_equal(journal_new(0, &j), 0);
  /* What lets the transports skip gathering a record (the peer string). */
  assert_false(journal_on(j));
  assert_false(journal_on(NULL));
  add(j, "x", -1);
  root = journal_to_json(j);
  assert_int_equal(json_array_size(json_object_get(root, "records")), 0);
  json_decref(root);
  journal_free(j);
}

/* deadline_ms is what the client asked for, never more (issue 13): the
 * time from arrival to deadline rounded down; a deadline already past is
 * 0; none is -1. */
static void deadline_ms__rounded_down_never_more_than_asked(void **state) {
  struct timespec at = {.tv_sec = 1000, .tv_nsec = 999999999};
  struct timespec dl;
  (void)state;
  assert_int_equal(journal_deadline_ms(NULL, &at), -1);
  dl = (struct timespec){.tv_sec = 1004, .tv_nsec = 999999999}; /* exactly 4 s */
  assert_int_equal(journal_deadline_ms(&dl, &at), 4000);
  dl = (struct timespec){.tv_sec = 1004, .tv_nsec = 999999998}; /* 1 ns short of 4 s */
  assert_int_equal(journal_deadline_ms(&dl, &at), 3999);
  dl = (struct timespec){.tv_sec = 1005, .tv_nsec = 999998}; /* 4 s + 0.999 ms */
  assert_int_equal(journal_deadline_ms(&dl, &at), 4000);
  dl = (struct timespec){.tv_sec = 1001, .tv_nsec = 0}; /* 1 ns */
  assert_int_equal(journal_deadline_ms(&dl, &at), 0);
  dl = at; /* due on arrival */
  assert_int_equal(journal_deadline_ms(&dl, &at), 0);
  dl = (struct timespec){.tv_sec = 999, .tv_nsec = 0}; /* already past */
  assert_int_equal(journal_deadline_ms(&dl, &at), 0);
  dl = (struct timespec){.tv_sec = (time_t)1 << 62, .tv_nsec = 0}; /* far future: no overflow */
  assert_true(journal_deadline_ms(&dl, &at) > 1000L * 1000 * 1000);
}

/* journal_join: "A B", or "A" alone; truncated like snprintf, never past
 * size, always terminated. */
static void join__words_truncated_like_snprintf(void **state) {
  char out[8];
  (void)state;

  journal_join(out, sizeof(out), "GET", "/x");
  assert_string_equal(out, "GET /x");
  journal_join(out, sizeof(out), "OK", NULL);
  assert_string_equal(out, "OK");
  journal_join(out, sizeof(out), "GET", "/health/svc");
  assert_string_equal(out, "GET /he"); /* what snprintf("%s %s") keeps */
  journal_join(out, sizeof(out), "UNIMPLEMENTED", "x");
  assert_string_equal(out, "UNIMPLE");
  journal_join(out, 4, "abc", "d"); /* no room for the space */
  assert_string_equal(out, "abc");
  journal_join(out, 1, "abc", "d");
  assert_string_equal(out, "");
}

/* ---- out of memory (failmalloc.h): the error returned, nothing changed ---- */

static void oom_new_step(void *arg) {
  journal *j = NULL;
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = journal_new(4, &j);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(j);
    return;
  }
  assert_int_equal(rc, 0);
  journal_free(j);
}

/* journal_to_json: NULL on any failed allocation, the records kept. */
static void oom_to_json_step(void *arg) {
  journal *j;
  json_t *root;
  int failed;
  (void)arg;
  assert_int_equal(journal_new(4, &j), 0);
  add(j, "a", 10);
  add(j, "b", -1);
  failmalloc_begin();
  root = journal_to_json(j);
  failed = failmalloc_end();
  if (failed)
    assert_null(root);
  else
    assert_non_null(root);
  json_decref(root);
  root = journal_to_json(j);
  assert_int_equal(json_array_size(json_object_get(root, "records")), 2);
  json_decref(root);
  journal_free(j);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_true(failmalloc_run(oom_new_step, NULL) >= 1);
  assert_true(failmalloc_run(oom_to_json_step, NULL) >= 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(records__in_order_with_fields),
      cmocka_unit_test(deadline_ms__rounded_down_never_more_than_asked),
      cmocka_unit_test(ring__drops_oldest_and_counts),
      cmocka_unit_test(long_strings__truncated_not_overflowing),
      cmocka_unit_test(capacity_zero__records_nothing),
      cmocka_unit_test(join__words_truncated_like_snprintf),
  };
  return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
