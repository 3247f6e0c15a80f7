/* cmocka tests for mock_executor/timeline.c: the spec parser (each error
 * path) and the scheduler, observed through a registry watch. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "monocond.h"
#include "registry.h"
#include "timeline.h"
#include "wire.h"

static void parse__steps_and_held_last(void **state) {
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  (void)state;
  assert_int_equal(timeline_parse("NOT_SERVING:2s,serving:10s,2:1s", 0, &s, err, sizeof(err)), 0);
  assert_int_equal(s.count, 3);
  assert_int_equal(s.steps[0].status, WIRE_NOT_SERVING);
  assert_int_equal(s.steps[0].duration_ms, 2000);
  assert_int_equal(s.steps[1].status, WIRE_SERVING);
  assert_int_equal(s.steps[2].duration_ms, 1000);
  timeline_spec_free(&s);
  assert_int_equal(timeline_parse("NOT_SERVING:3s,SERVING", 0, &s, err, sizeof(err)), 0);
  assert_int_equal(s.steps[1].duration_ms, -1);
  timeline_spec_free(&s);
}

static void parse__errors_name_the_step(void **state) {
  static const struct {
    const char *spec;
    int repeat;
    const char *needle;
  } cases[] = {
      {"", 0, "empty"},
      {",", 0, "empty"},
      {"BOGUS:1s", 0, "step 1: unknown status 'BOGUS'"},
      {"SERVING:1s,NOT_SERVING:xs", 0, "step 2: bad duration 'xs'"},
      {"SERVING:0s", 0, "step 1: bad duration"},
      {"SERVING:-1s", 0, "step 1: bad duration"},
      {"SERVING,NOT_SERVING:1s", 0, "step 1: needs a duration"},
      {"SERVING:1s,NOT_SERVING", 1, "step 2: needs a duration (STATUS:DURATION) when repeating"},
      {"4:1s", 0, "step 1: unknown status '4'"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    timeline_spec s;
    char err[TIMELINE_ERR_MAX] = "";
    assert_int_equal(timeline_parse(cases[i].spec, cases[i].repeat, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, cases[i].needle));
    assert_null(s.steps);
  }
}

/* Records the statuses a watch is handed; the test thread waits on it. */
typedef struct observed {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int seen[64];
  int n;
} observed;

static void observe(void *ctx, int status) {
  observed *o = ctx;
  pthread_mutex_lock(&o->lock);
  if (o->n < 64)
    o->seen[o->n++] = status;
  pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->lock);
}

/* Waits (bounded by 5 s) until `count` statuses were handed out, acking
 * each so the watch stays live. Returns how many arrived. */
static int wait_for(observed *o, registry_watch *w, int count) {
  struct timespec deadline = monocond_after(5000);
  int next, acked = 0;

  pthread_mutex_lock(&o->lock);
  while (o->n < count) {
    while (acked < o->n) {
      acked++;
      pthread_mutex_unlock(&o->lock);
      if (registry_watch_sent(w, &next))
        observe(o, next);
      pthread_mutex_lock(&o->lock);
    }
    if (o->n >= count)
      break;
    if (pthread_cond_timedwait(&o->cond, &o->lock, &deadline) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&o->lock);
  return o->n;
}

static void scheduler__watch_sees_every_step_then_last_holds(void **state) {
  registry *r;
  timelines *t;
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  observed o = {.lock = PTHREAD_MUTEX_INITIALIZER};
  monocond_init(&o.cond);
  registry_watch *w;
  int first, st;
  (void)state;

  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(timelines_new(r, &t), 0);
  assert_int_equal(registry_watch_start(r, "svc", observe, &o, &w, &first), 0);
  assert_int_equal(first, WIRE_SERVICE_UNKNOWN);
  assert_int_equal(timeline_parse("NOT_SERVING:30ms,SERVING:30ms,NOT_SERVING:30ms,SERVING", 0, &s,
                                  err, sizeof(err)),
                   0);
  assert_int_equal(timelines_set(t, "svc", &s), 0);
  /* The first step applies before timelines_set returns. */
  assert_int_equal(registry_get(r, "svc", &st), 0);
  assert_int_equal(st, WIRE_NOT_SERVING);
  o.seen[o.n++] = first; /* the first send, handed out by watch_start */
  assert_int_equal(wait_for(&o, w, 5), 5);
  assert_int_equal(o.seen[1], WIRE_NOT_SERVING);
  assert_int_equal(o.seen[2], WIRE_SERVING);
  assert_int_equal(o.seen[3], WIRE_NOT_SERVING);
  assert_int_equal(o.seen[4], WIRE_SERVING);
  /* Held forever: the timeline is over. */
  assert_int_equal(timelines_stop(t, "svc"), -ENOENT);
  timeline_spec_free(&s);
  registry_watch_stop(w);
  timelines_free(t);
  registry_free(r);
}

static void scheduler__repeat_then_stop_and_shutdown_ends_it(void **state) {
  registry *r;
  timelines *t;
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  observed o = {.lock = PTHREAD_MUTEX_INITIALIZER};
  monocond_init(&o.cond);
  registry_watch *w;
  int first;
  (void)state;

  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(timelines_new(r, &t), 0);
  assert_int_equal(timeline_parse("SERVING:10ms,NOT_SERVING:10ms", 1, &s, err, sizeof(err)), 0);
  assert_int_equal(timelines_set(t, "", &s), 0);
  assert_int_equal(registry_watch_start(r, "", observe, &o, &w, &first), 0);
  o.seen[o.n++] = first;
  /* Repeating: at least 6 flips arrive. */
  assert_true(wait_for(&o, w, 6) >= 6);
  assert_int_equal(timelines_count(t), 1);
  assert_int_equal(timelines_stop(t, ""), 0);
  assert_int_equal(timelines_count(t), 0);
  /* A new timeline, then shutdown: the next step is refused and it ends. */
  assert_int_equal(timelines_set(t, "", &s), 0);
  registry_shutdown(r);
  for (int i = 0; i < 500 && timelines_count(t); i++)
    nanosleep(&(struct timespec){0, 2000000}, NULL); /* bounded poll: 1 s */
  assert_int_equal(timelines_count(t), 0);
  timeline_spec_free(&s);
  registry_watch_stop(w);
  timelines_free(t);
  registry_free(r);
}

static void snapshot__copies_running_ones(void **state) {
  registry *r;
  timelines *t;
  timeline_spec a, b;
  timeline_info *infos;
  size_t n;
  char err[TIMELINE_ERR_MAX];
  (void)state;

  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(timelines_new(r, &t), 0);
  assert_int_equal(timelines_snapshot(t, &infos, &n), 0);
  assert_null(infos);
  assert_int_equal(n, 0);
  assert_int_equal(timeline_parse("NOT_SERVING:60s,SERVING", 0, &a, err, sizeof(err)), 0);
  assert_int_equal(timeline_parse("SERVING:60s,UNKNOWN:2s", 1, &b, err, sizeof(err)), 0);
  assert_int_equal(timelines_set(t, "a", &a), 0);
  assert_int_equal(timelines_set(t, "", &b), 0);
  timeline_spec_free(&a);
  assert_int_equal(timeline_parse("SERVING", 0, &a, err, sizeof(err)), 0);
  assert_int_equal(timelines_set(t, "held", &a), 0); /* one held step: over at once */

  assert_int_equal(timelines_snapshot(t, &infos, &n), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    const timeline_info *in = &infos[i];
    assert_int_equal(in->step, 0);
    assert_true(in->next_in_ms > 50 * 1000 && in->next_in_ms <= 60 * 1000);
    assert_int_equal(in->spec.count, 2);
    if (strcmp(in->service, "a") == 0) {
      assert_int_equal(in->spec.repeat, 0);
      assert_int_equal(in->spec.steps[1].duration_ms, -1);
    } else {
      assert_string_equal(in->service, "");
      assert_int_equal(in->spec.repeat, 1);
      assert_int_equal(in->spec.steps[1].status, WIRE_UNKNOWN);
    }
  }
  timelines_snapshot_free(infos, n);
  timelines_snapshot_free(NULL, 0);
  timeline_spec_free(&a);
  timeline_spec_free(&b);
  timelines_free(t);
  registry_free(r);
}

static void stop_all__leaves_statuses_and_takes_new_ones(void **state) {
  registry *r;
  timelines *t;
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  int st;
  (void)state;

  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(timelines_new(r, &t), 0);
  assert_int_equal(timeline_parse("NOT_SERVING:60s,SERVING:60s", 1, &s, err, sizeof(err)), 0);
  assert_int_equal(timelines_set(t, "a", &s), 0);
  assert_int_equal(timelines_set(t, "b", &s), 0);
  timelines_stop_all(t);
  assert_int_equal(timelines_count(t), 0);
  assert_int_equal(registry_get(r, "a", &st), 0);
  assert_int_equal(st, WIRE_NOT_SERVING);
  timelines_stop_all(t); /* none left: fine */
  assert_int_equal(timelines_set(t, "a", &s), 0);
  assert_int_equal(timelines_count(t), 1);
  timeline_spec_free(&s);
  timelines_free(t);
  registry_free(r);
}

/* ---- out of memory (failmalloc.h): the error returned, nothing changed ---- */

static void oom_parse_step(void *arg) {
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = timeline_parse("NOT_SERVING:2s,SERVING:10s,2:1s", 0, &s, err, sizeof(err));
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(s.steps);
    assert_int_equal(s.count, 0);
    return;
  }
  assert_int_equal(rc, 0);
  timeline_spec_free(&s);
}

/* timelines_set: the registry and the running timelines stay as they were. */
static void oom_set_step(void *arg) {
  registry *r;
  timelines *t;
  timeline_spec s;
  char err[TIMELINE_ERR_MAX];
  int rc, failed, st;
  (void)arg;
  assert_int_equal(registry_new(&r), 0);
  assert_int_equal(registry_set(r, "svc", WIRE_SERVING), 0);
  assert_int_equal(timelines_new(r, &t), 0);
  assert_int_equal(timeline_parse("NOT_SERVING:10s,SERVING", 0, &s, err, sizeof(err)), 0);
  failmalloc_begin();
  rc = timelines_set(t, "svc", &s);
  failed = failmalloc_end();
  assert_int_equal(registry_get(r, "svc", &st), 0);
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(timelines_count(t), 0);
    assert_int_equal(st, WIRE_SERVING);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(timelines_count(t), 1);
    assert_int_equal(st, WIRE_NOT_SERVING);
  }
  timeline_spec_free(&s);
  timelines_free(t);
  registry_free(r);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_true(failmalloc_run(oom_parse_step, NULL) >= 1);
  assert_true(failmalloc_run(oom_set_step, NULL) >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(parse__steps_and_held_last),
      cmocka_unit_test(parse__errors_name_the_step),
      cmocka_unit_test(scheduler__watch_sees_every_step_then_last_holds),
      cmocka_unit_test(scheduler__repeat_then_stop_and_shutdown_ends_it),
      cmocka_unit_test(snapshot__copies_running_ones),
      cmocka_unit_test(stop_all__leaves_statuses_and_takes_new_ones),
  };
  return cmocka_run_group_tests_name("timeline", tests, NULL, NULL);
}
