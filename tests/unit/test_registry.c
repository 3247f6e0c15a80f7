/* cmocka tests for mock_executor/registry.c: statuses, watches (dedup,
 * coalescing, removal), shutdown/resume. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "faults.h"
#include "registry.h"
#include "wire.h"

/* A fake transport: records what the registry asks it to send. */
typedef struct fake_watcher {
  int sent[256];
  int nsent;
} fake_watcher;

static void record(void *ctx, int status) {
  fake_watcher *f = ctx;
  f->sent[f->nsent++] = status;
}

static int setup(void **state) {
  registry *r;
  assert_int_equal(registry_new(&r), 0);
  *state = r;
  return 0;
}

static int teardown(void **state) {
  registry_free(*state);
  return 0;
}

static void set_get__stores_every_status(void **state) {
  registry *r = *state;
  int st;
  for (int s = 0; s <= WIRE_STATUS_MAX; s++) {
    assert_int_equal(registry_set(r, "svc", s), 0);
    assert_int_equal(registry_get(r, "svc", &st), 0);
    assert_int_equal(st, s);
  }
  assert_int_equal(registry_count(r), 1);
}

static void set__invalid_status_leaves_state(void **state) {
  registry *r = *state;
  int st;
  assert_int_equal(registry_set(r, "svc", WIRE_SERVING), 0);
  assert_int_equal(registry_set(r, "svc", 4), -EINVAL);
  assert_int_equal(registry_set(r, "svc", -1), -EINVAL);
  assert_int_equal(registry_set(r, NULL, 1), -EINVAL);
  assert_int_equal(registry_get(r, "svc", &st), 0);
  assert_int_equal(st, WIRE_SERVING);
}

static void get__unknown_is_enoent(void **state) {
  int st = 7;
  /* H-CHECK-2: the transport answers NOT_FOUND from this. */
  assert_int_equal(registry_get(*state, "nope", &st), -ENOENT);
  assert_int_equal(st, 7);
}

static void snapshot__sorted_copy_of_known(void **state) {
  registry *r = *state;
  registry_entry *e;
  size_t n;
  fake_watcher f = {0};
  registry_watch *w;
  int first;

  registry_set(r, "b", WIRE_NOT_SERVING);
  registry_set(r, "", WIRE_SERVING);
  registry_set(r, "a", WIRE_UNKNOWN);
  /* A watched unknown name is not a service (H-LIST-2). */
  assert_int_equal(registry_watch_start(r, "ghost", record, &f, &w, &first), 0);
  assert_int_equal(registry_snapshot(r, &e, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(e[0].name, "");
  assert_string_equal(e[1].name, "a");
  assert_int_equal(e[1].status, WIRE_UNKNOWN);
  assert_string_equal(e[2].name, "b");
  assert_int_equal(e[2].status, WIRE_NOT_SERVING);
  registry_snapshot_free(e, n);
  registry_watch_stop(w);
}

static void watch__first_is_current_then_changes_only(void **state) {
  registry *r = *state;
  fake_watcher f = {0};
  registry_watch *w;
  int first, next;

  registry_set(r, "svc", WIRE_SERVING);
  assert_int_equal(registry_watch_start(r, "svc", record, &f, &w, &first), 0);
  assert_int_equal(first, WIRE_SERVING); /* H-WATCH-1 */
  assert_int_equal(registry_watch_sent(w, &next), 0);
  /* H-WATCH-5: setting the same status sends nothing. */
  registry_set(r, "svc", WIRE_SERVING);
  assert_int_equal(f.nsent, 0);
  /* H-WATCH-2: a change is handed out at once when idle. */
  registry_set(r, "svc", WIRE_NOT_SERVING);
  assert_int_equal(f.nsent, 1);
  assert_int_equal(f.sent[0], WIRE_NOT_SERVING);
  assert_int_equal(registry_watch_sent(w, &next), 0);
  registry_watch_stop(w);
}

static void watch__slow_reader_gets_latest_not_stale(void **state) {
  registry *r = *state;
  fake_watcher f = {0};
  registry_watch *w;
  int first, next = -1;

  registry_set(r, "svc", WIRE_SERVING);
  registry_watch_start(r, "svc", record, &f, &w, &first);
  /* The first send is still in flight: 100 flips coalesce (H-WATCH-6). */
  for (int i = 0; i < 100; i++)
    registry_set(r, "svc", i % 2 ? WIRE_SERVING : WIRE_NOT_SERVING);
  registry_set(r, "svc", WIRE_NOT_SERVING);
  assert_int_equal(f.nsent, 0);
  assert_int_equal(registry_watch_sent(w, &next), 1);
  assert_int_equal(next, WIRE_NOT_SERVING); /* the latest, never a stale one */
  assert_int_equal(registry_watch_sent(w, &next), 0);
  registry_watch_stop(w);
}

static void watch__flip_and_back_while_busy_sends_nothing_extra(void **state) {
  registry *r = *state;
  fake_watcher f = {0};
  registry_watch *w;
  int first, next;

  registry_set(r, "svc", WIRE_SERVING);
  registry_watch_start(r, "svc", record, &f, &w, &first);
  registry_set(r, "svc", WIRE_NOT_SERVING);
  registry_set(r, "svc", WIRE_SERVING);
  /* Back where the in-flight send left it: no duplicate SERVING (H-WATCH-5). */
  assert_int_equal(registry_watch_sent(w, &next), 0);
  assert_int_equal(f.nsent, 0);
  registry_watch_stop(w);
}

static void watch__unknown_then_known_then_removed(void **state) {
  registry *r = *state;
  fake_watcher f = {0};
  registry_watch *w;
  int first, next;

  assert_int_equal(registry_watch_start(r, "late", record, &f, &w, &first), 0);
  assert_int_equal(first, WIRE_SERVICE_UNKNOWN); /* H-WATCH-3 */
  assert_int_equal(registry_watch_sent(w, &next), 0);
  registry_set(r, "late", WIRE_SERVING); /* H-WATCH-4 */
  assert_int_equal(f.nsent, 1);
  assert_int_equal(f.sent[0], WIRE_SERVING);
  registry_watch_sent(w, &next);
  assert_int_equal(registry_remove(r, "late"), 0);
  assert_int_equal(f.nsent, 2);
  assert_int_equal(f.sent[1], WIRE_SERVICE_UNKNOWN);
  assert_int_equal(registry_get(r, "late", &first), -ENOENT);
  assert_int_equal(registry_remove(r, "late"), -ENOENT);
  registry_watch_sent(w, &next);
  registry_watch_stop(w);
  assert_int_equal(registry_watch_count(r), 0);
}

static void watch__every_watcher_notified(void **state) {
  registry *r = *state;
  fake_watcher f[5];
  memset(f, 0, sizeof(f));
  registry_watch *w[5];
  int first, next;

  registry_set(r, "svc", WIRE_SERVING);
  for (int i = 0; i < 5; i++) {
    registry_watch_start(r, "svc", record, &f[i], &w[i], &first);
    registry_watch_sent(w[i], &next);
  }
  assert_int_equal(registry_watch_count(r), 5);
  registry_set(r, "svc", WIRE_NOT_SERVING); /* T21 */
  for (int i = 0; i < 5; i++) {
    assert_int_equal(f[i].nsent, 1);
    assert_int_equal(f[i].sent[0], WIRE_NOT_SERVING);
    registry_watch_stop(w[i]);
  }
  assert_int_equal(registry_watch_count(r), 0);
}

static void watch__stopped_watcher_never_notified(void **state) {
  registry *r = *state;
  fake_watcher a = {0}, b = {0};
  registry_watch *wa, *wb;
  int first, next;

  registry_set(r, "svc", WIRE_SERVING);
  registry_watch_start(r, "svc", record, &a, &wa, &first);
  registry_watch_start(r, "svc", record, &b, &wb, &first);
  registry_watch_sent(wa, &next);
  registry_watch_sent(wb, &next);
  registry_watch_stop(wa);
  registry_set(r, "svc", WIRE_NOT_SERVING);
  assert_int_equal(a.nsent, 0);
  assert_int_equal(b.nsent, 1);
  registry_watch_stop(wb);
}

static void shutdown__all_not_serving_sets_refused_until_resume(void **state) {
  registry *r = *state;
  fake_watcher f = {0};
  registry_watch *w;
  int first, next, st;

  registry_set(r, "", WIRE_SERVING);
  registry_set(r, "svc", WIRE_SERVING);
  registry_watch_start(r, "", record, &f, &w, &first);
  registry_watch_sent(w, &next);
  registry_shutdown(r);
  assert_true(registry_is_shut_down(r));
  assert_int_equal(f.nsent, 1); /* H-WATCH-9: watchers told */
  assert_int_equal(f.sent[0], WIRE_NOT_SERVING);
  registry_get(r, "svc", &st);
  assert_int_equal(st, WIRE_NOT_SERVING);
  /* T25: later sets are refused and change nothing. */
  assert_int_equal(registry_set(r, "svc", WIRE_SERVING), -ESHUTDOWN);
  assert_int_equal(registry_remove(r, "svc"), -ESHUTDOWN);
  registry_get(r, "svc", &st);
  assert_int_equal(st, WIRE_NOT_SERVING);
  registry_watch_sent(w, &next);
  registry_resume(r);
  assert_false(registry_is_shut_down(r));
  registry_get(r, "svc", &st);
  assert_int_equal(st, WIRE_SERVING);
  assert_int_equal(f.nsent, 2);
  assert_int_equal(registry_set(r, "svc", WIRE_NOT_SERVING), 0);
  registry_watch_sent(w, &next);
  registry_watch_stop(w);
}

static void many_names__lookup_stays_correct(void **state) {
  registry *r = *state;
  char name[32];
  int st;
  for (int i = 999; i >= 0; i--) {
    snprintf(name, sizeof(name), "svc-%04d", i);
    assert_int_equal(registry_set(r, name, i % 4), 0);
  }
  assert_int_equal(registry_count(r), 1000);
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof(name), "svc-%04d", i);
    assert_int_equal(registry_get(r, name, &st), 0);
    assert_int_equal(st, i % 4);
  }
}

/* ---- violation knobs (faults.h): off by default, on through the setter */

/* A registry with one knob on; the faults object lives as long as the test. */
typedef struct knob_fixture {
  registry *r;
  faults *f;
} knob_fixture;

static int setup_knobs(void **state) {
  knob_fixture *k = calloc(1, sizeof(*k));
  assert_non_null(k);
  assert_int_equal(registry_new(&k->r), 0);
  assert_int_equal(faults_new(&k->f), 0);
  registry_set_faults(k->r, k->f);
  *state = k;
  return 0;
}

static int teardown_knobs(void **state) {
  knob_fixture *k = *state;
  registry_free(k->r);
  faults_free(k->f);
  free(k);
  return 0;
}

/* Opens a watch on "svc" (set SERVING) and completes its first send. */
static registry_watch *idle_watch(registry *r, fake_watcher *f) {
  registry_watch *w;
  int first, next;
  registry_set(r, "svc", WIRE_SERVING);
  assert_int_equal(registry_watch_start(r, "svc", record, f, &w, &first), 0);
  assert_int_equal(registry_watch_sent(w, &next), 0);
  return w;
}

static void knob__duplicates_sends_equal_sets_even_while_busy(void **state) {
  knob_fixture *k = *state;
  fake_watcher f = {0};
  int next = -1;
  registry_watch *w;

  faults_set(k->f, VIOLATE_WATCH_DUPLICATES, 1);
  w = idle_watch(k->r, &f);
  registry_set(k->r, "svc", WIRE_SERVING); /* idle: sent at once */
  assert_int_equal(f.nsent, 1);
  assert_int_equal(f.sent[0], WIRE_SERVING);
  registry_set(k->r, "svc", WIRE_SERVING); /* busy: still goes out after */
  assert_int_equal(registry_watch_sent(w, &next), 1);
  assert_int_equal(next, WIRE_SERVING);
  assert_int_equal(registry_watch_sent(w, &next), 0);
  faults_set(k->f, VIOLATE_WATCH_DUPLICATES, 0); /* read at run time */
  registry_set(k->r, "svc", WIRE_SERVING);
  assert_int_equal(f.nsent, 1);
  registry_watch_stop(w);
}

static void knob__drop_last_loses_the_end_of_a_burst(void **state) {
  knob_fixture *k = *state;
  fake_watcher f = {0};
  int next;
  registry_watch *w;

  faults_set(k->f, VIOLATE_WATCH_DROP_LAST, 1);
  w = idle_watch(k->r, &f);
  /* The first change goes out; the rest of the burst lags one behind. */
  for (int i = 1; i <= 5; i++) {
    registry_set(k->r, "svc", i % 2 ? WIRE_NOT_SERVING : WIRE_SERVING);
    while (registry_watch_sent(w, &next))
      f.sent[f.nsent++] = next;
  }
  assert_true(f.nsent >= 2);
  assert_int_equal(f.sent[0], WIRE_NOT_SERVING);
  assert_int_equal(f.sent[f.nsent - 1], WIRE_SERVING); /* never the final NOT_SERVING */
  registry_watch_stop(w);
}

static void knob__notify_one_tells_only_the_newest(void **state) {
  knob_fixture *k = *state;
  fake_watcher old = {0}, young = {0};
  registry_watch *a, *b;

  faults_set(k->f, VIOLATE_WATCH_NOTIFY_ONE, 1);
  a = idle_watch(k->r, &old);
  b = idle_watch(k->r, &young);
  registry_set(k->r, "svc", WIRE_NOT_SERVING);
  assert_int_equal(old.nsent, 0);
  assert_int_equal(young.nsent, 1);
  registry_watch_stop(a);
  registry_watch_stop(b);
}

static void knob__no_updates_and_no_late_known(void **state) {
  knob_fixture *k = *state;
  fake_watcher f = {0}, late = {0};
  registry_watch *w, *u;
  int first, next;

  faults_set(k->f, VIOLATE_WATCH_NO_UPDATES, 1);
  w = idle_watch(k->r, &f);
  registry_set(k->r, "svc", WIRE_NOT_SERVING);
  assert_int_equal(f.nsent, 0);
  faults_set(k->f, VIOLATE_WATCH_NO_UPDATES, 0);
  faults_set(k->f, VIOLATE_WATCH_NO_LATE_KNOWN, 1);
  registry_set(k->r, "svc", WIRE_NOT_SERVING); /* known at start: still told */
  assert_int_equal(f.nsent, 1);
  assert_int_equal(registry_watch_start(k->r, "later", record, &late, &u, &first), 0);
  assert_int_equal(first, WIRE_SERVICE_UNKNOWN);
  assert_int_equal(registry_watch_sent(u, &next), 0);
  registry_set(k->r, "later", WIRE_SERVING); /* unknown at start: never told */
  assert_int_equal(late.nsent, 0);
  registry_watch_stop(w);
  registry_watch_stop(u);
}

static void knob__shutdown_keeps_serving_and_accepts_sets(void **state) {
  knob_fixture *k = *state;
  int st;

  registry_set(k->r, "svc", WIRE_SERVING);
  faults_set(k->f, VIOLATE_SHUTDOWN_KEEPS_SERVING, 1);
  registry_shutdown(k->r);
  assert_true(registry_is_shut_down(k->r));
  assert_int_equal(registry_get(k->r, "svc", &st), 0);
  assert_int_equal(st, WIRE_SERVING);
  assert_int_equal(registry_set(k->r, "svc", WIRE_NOT_SERVING), -ESHUTDOWN);
  faults_set(k->f, VIOLATE_SHUTDOWN_ACCEPTS_SETS, 1);
  assert_int_equal(registry_set(k->r, "svc", WIRE_NOT_SERVING), 0);
  assert_int_equal(registry_get(k->r, "svc", &st), 0);
  assert_int_equal(st, WIRE_NOT_SERVING);
}

/* ---- out of memory (failmalloc.h): -ENOMEM and nothing changed ---------- */

static void oom_new_step(void *arg) {
  registry *r = NULL;
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = registry_new(&r);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(r);
    return;
  }
  assert_int_equal(rc, 0);
  registry_free(r);
}

/* Three names known; a fourth, sorted between them, needs a new entry,
 * its name and a bigger array: any of those failing leaves the three. */
static void oom_set_step(void *arg) {
  static const char *const names[] = {"a", "c", "e", "g", "i"};
  registry *r;
  int rc, failed, st;
  (void)arg;
  assert_int_equal(registry_new(&r), 0);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    assert_int_equal(registry_set(r, names[i], WIRE_SERVING), 0);
  failmalloc_begin();
  rc = registry_set(r, "d", WIRE_NOT_SERVING);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(registry_get(r, "d", &st), -ENOENT);
    assert_int_equal(registry_count(r), 5);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(registry_get(r, "d", &st), 0);
    assert_int_equal(st, WIRE_NOT_SERVING);
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    assert_int_equal(registry_get(r, names[i], &st), 0);
    assert_int_equal(st, WIRE_SERVING);
  }
  registry_free(r);
}

static void oom_snapshot_step(void *arg) {
  registry *r;
  registry_entry *entries = NULL;
  size_t count = 99;
  int rc, failed;
  (void)arg;
  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(registry_set(r, "a", WIRE_SERVING), 0);
  assert_int_equal(registry_set(r, "b", WIRE_NOT_SERVING), 0);
  failmalloc_begin();
  rc = registry_snapshot(r, &entries, &count);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(entries);
    assert_int_equal(count, 99);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(count, 2);
    registry_snapshot_free(entries, count);
  }
  registry_free(r);
}

/* A watch on an unknown name also creates the name's entry. */
static void oom_watch_start_step(void *arg) {
  fake_watcher f = {0};
  registry *r;
  registry_watch *w = NULL;
  int rc, failed, first = -1;
  (void)arg;
  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(registry_set(r, "known", WIRE_SERVING), 0);
  failmalloc_begin();
  rc = registry_watch_start(r, "unknown", record, &f, &w, &first);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(w);
    assert_int_equal(first, -1);
    assert_int_equal(registry_watch_count(r), 0);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(first, WIRE_SERVICE_UNKNOWN);
    registry_watch_stop(w);
  }
  assert_int_equal(registry_count(r), 1);
  assert_int_equal(f.nsent, 0);
  registry_free(r);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_true(failmalloc_run(oom_new_step, NULL) >= 1);
  assert_true(failmalloc_run(oom_set_step, NULL) >= 2);
  assert_true(failmalloc_run(oom_snapshot_step, NULL) >= 3);
  assert_true(failmalloc_run(oom_watch_start_step, NULL) >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(set_get__stores_every_status, setup, teardown),
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test_setup_teardown(set__invalid_status_leaves_state, setup, teardown),
      cmocka_unit_test_setup_teardown(get__unknown_is_enoent, setup, teardown),
      cmocka_unit_test_setup_teardown(snapshot__sorted_copy_of_known, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__first_is_current_then_changes_only, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__slow_reader_gets_latest_not_stale, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__flip_and_back_while_busy_sends_nothing_extra, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(watch__unknown_then_known_then_removed, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__every_watcher_notified, setup, teardown),
      cmocka_unit_test_setup_teardown(watch__stopped_watcher_never_notified, setup, teardown),
      cmocka_unit_test_setup_teardown(shutdown__all_not_serving_sets_refused_until_resume, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(many_names__lookup_stays_correct, setup, teardown),
      cmocka_unit_test_setup_teardown(knob__duplicates_sends_equal_sets_even_while_busy,
                                      setup_knobs, teardown_knobs),
      cmocka_unit_test_setup_teardown(knob__drop_last_loses_the_end_of_a_burst, setup_knobs,
                                      teardown_knobs),
      cmocka_unit_test_setup_teardown(knob__notify_one_tells_only_the_newest, setup_knobs,
                                      teardown_knobs),
      cmocka_unit_test_setup_teardown(knob__no_updates_and_no_late_known, setup_knobs,
                                      teardown_knobs),
      cmocka_unit_test_setup_teardown(knob__shutdown_keeps_serving_and_accepts_sets, setup_knobs,
                                      teardown_knobs),
  };
  return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
