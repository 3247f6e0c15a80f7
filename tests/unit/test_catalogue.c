/*
 * test_catalogue: the case table is well formed (IDs, T-numbers, clauses,
 * needs, order), and every case behaves against a dead target: it returns
 * within its bound, never passes, and a Ctl case without a hook skips
 * before touching anything.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "catalogue.h"

/* Nothing listens on port 1: connections are refused at once. */
#define DEAD_TARGET "127.0.0.1:1"
#define DEAD_TIMEOUT_MS 300

static int is_kebab_id(const char *id) {
  const char *slash = strchr(id, '/');
  if (!slash || slash == id || strchr(slash + 1, '/'))
    return 0;
  for (const char *p = id; *p; p++) {
    if (p == slash)
      continue;
    int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
    if (!ok)
      return 0;
    /* no leading, trailing or doubled dash in either part */
    if (*p == '-' && (p[1] == '-' || p[1] == '\0' || p[1] == '/' || p == id || p[-1] == '/'))
      return 0;
  }
  return slash[1] != '\0';
}

/* "H-WATCH-3" or "H-WATCH-3,H-LIST-5"; the J cases' "J-SVC-1" with 'J'. */
static int is_clause_list_of(const char *s, char family) {
  if (!s || !*s)
    return 0;
  while (*s) {
    if (s[0] != family || s[1] != '-')
      return 0;
    s += 2;
    const char *start = s;
    while (*s >= 'A' && *s <= 'Z')
      s++;
    if (s == start || *s != '-')
      return 0;
    s++;
    start = s;
    while (*s >= '0' && *s <= '9')
      s++;
    if (s == start)
      return 0;
    if (*s == ',')
      s++;
    else if (*s)
      return 0;
  }
  return 1;
}

static int is_clause_list(const char *s) { return is_clause_list_of(s, 'H'); }

static void test_kebab_and_clause_checkers(void **state) {
  (void)state;
  assert_true(is_kebab_id("watch/unknown-service-stays-open"));
  assert_false(is_kebab_id("Watch/x"));
  assert_false(is_kebab_id("watch/"));
  assert_false(is_kebab_id("watch/a--b"));
  assert_false(is_kebab_id("watch-x"));
  assert_true(is_clause_list("H-WATCH-3,H-LIST-5"));
  assert_false(is_clause_list("H-WATCH"));
  assert_false(is_clause_list("T15"));
  assert_false(is_clause_list(""));
  assert_true(is_clause_list_of("J-SVC-1", 'J'));
  assert_false(is_clause_list("J-SVC-1"));
}

static void test_ids_unique_and_well_formed(void **state) {
  (void)state;
  size_t n = 0;
  const hc_case *c = catalogue_cases(&n);
  assert_true(n > 0);
  for (size_t i = 0; i < n; i++) {
    if (!is_kebab_id(c[i].id))
      fail_msg("bad id '%s'", c[i].id);
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(c[i].id, c[j].id) == 0)
        fail_msg("duplicate id '%s'", c[i].id);
    if (!is_clause_list(c[i].clauses))
      fail_msg("%s: bad clauses '%s'", c[i].id, c[i].clauses);
    assert_non_null(c[i].run);
    assert_true(c[i].summary && strlen(c[i].summary) > 10);
    assert_true(c[i].clause_text && strlen(c[i].clause_text) > 10);
    assert_true(c[i].level == LEVEL_MUST || c[i].level == LEVEL_SHOULD || c[i].level == LEVEL_MAY);
    assert_true(c[i].protocol == PROTOCOL_GRPC || c[i].protocol == PROTOCOL_HTTP);
  }
}

/* Every T01-T37 (the catalogue's gRPC cases) applies to a gRPC server; each
 * is there exactly once. HTTP cases are numbered H01, H02, ... in order. */
static void test_every_t_number_once(void **state) {
  (void)state;
  size_t n = 0;
  const hc_case *c = catalogue_cases(&n);
  int seen[38] = {0}, next_http = 1;
  for (size_t i = 0; i < n; i++) {
    int t = 0;
    char tail = 0;
    if (c[i].protocol == PROTOCOL_HTTP) {
      if (sscanf(c[i].test, "H%2d%c", &t, &tail) != 1 || strlen(c[i].test) != 3 ||
          t != next_http++ || strncmp(c[i].id, "http/", 5) != 0)
        fail_msg("%s: bad HTTP test number '%s'", c[i].id, c[i].test);
      continue;
    }
    if (sscanf(c[i].test, "T%2d%c", &t, &tail) != 1 || strlen(c[i].test) != 3 || t < 1 || t > 37)
      fail_msg("%s: bad test number '%s'", c[i].id, c[i].test);
    seen[t]++;
  }
  for (int t = 1; t <= 37; t++)
    if (seen[t] != 1)
      fail_msg("T%02d present %d times", t, seen[t]);
}

/* The J cases (--profile jina): J01, J02, ... in order, J- clauses, IDs
 * apart from the catalogue's; the profile's table is both, T29 superseded. */
static void test_jina_cases(void **state) {
  (void)state;
  size_t nj = 0, n = 0, np = 0;
  const hc_case *j = catalogue_jina_cases(&nj);
  const hc_case *c = catalogue_cases(&n);
  const hc_case *p = catalogue_profile_cases(CATALOGUE_JINA, &np);
  char want[24];

  assert_true(nj >= 6);
  assert_int_equal(np, n + nj);
  for (size_t i = 0; i < nj; i++) {
    snprintf(want, sizeof(want), "J%02zu", i + 1);
    assert_string_equal(j[i].test, want);
    if (!is_kebab_id(j[i].id) || !is_clause_list_of(j[i].clauses, 'J'))
      fail_msg("%s: bad id or clauses '%s'", j[i].id, j[i].clauses);
    if (catalogue_find(j[i].id))
      fail_msg("%s is also in the catalogue", j[i].id);
    assert_true(j[i].summary && strlen(j[i].summary) > 10);
    assert_true(j[i].clause_text && strlen(j[i].clause_text) > 10);
  }
  for (size_t i = 0; i < np; i++)
    if (strcmp(p[i].id, "reflection/lists-health") == 0)
      assert_ptr_not_equal(p[i].run, catalogue_find(p[i].id)->run);
  assert_ptr_equal(catalogue_profile_cases(CATALOGUE_PLAIN, &np), c);
}

/* Shutdown cases need control and run last. A case whose changes may stay
 * (NEED_LAST: a hook that cannot REMOVE or RESUME) runs alone, and after
 * every case of its protocol without it, so that no case reads what it
 * left and a verdict does not depend on what ran before (issue 13); with
 * the J cases too. */
static void test_needs_and_order(void **state) {
  (void)state;
  for (int profile = CATALOGUE_PLAIN; profile <= CATALOGUE_JINA; profile++) {
    size_t n = 0;
    const hc_case *c = catalogue_profile_cases((catalogue_profile)profile, &n);
    int in_shutdown = 0, in_last[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
      unsigned needs = c[i].needs;
      assert_int_equal(needs & ~(unsigned)(NEED_CONTROL | NEED_SHUTDOWN | NEED_ALONE | NEED_LAST),
                       0);
      if (needs & NEED_LAST)
        assert_true(needs & NEED_ALONE);
      if (needs & NEED_LAST)
        in_last[c[i].protocol] = 1;
      else if (in_last[c[i].protocol])
        fail_msg("%s runs after a case that may leave changes behind", c[i].id);
      if (needs & NEED_SHUTDOWN) {
        assert_true(needs & NEED_CONTROL);
        assert_true(needs & NEED_LAST);
        assert_int_equal(strncmp(c[i].id, "shutdown/", 9), 0);
        in_shutdown = 1;
      } else if (in_shutdown) {
        fail_msg("%s runs after a shutdown case", c[i].id);
      }
    }
    assert_true(in_shutdown);
    assert_true(in_last[PROTOCOL_GRPC]);
  }
}

static long ms_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Against a dead target with no hook: Ctl cases are not run, and
 * catalogue_unmet_need (the one place that decides it) names the hook;
 * other cases fail (or skip for another reason) and none passes; each is
 * bounded. */
static void test_cases_against_dead_target(void **state) {
  (void)state;
  size_t n = 0;
  const hc_case *c = catalogue_profile_cases(CATALOGUE_JINA, &n); /* every case, J too */
  case_ctx ctx = {.target = DEAD_TARGET,
                  .timeout_ms = DEAD_TIMEOUT_MS,
                  .latency_budget_ms = 500,
                  .control = NULL,
                  .strict = 0,
                  .service = "hc-conformance-unit"};
  for (size_t i = 0; i < n; i++) {
    case_result res;
    const char *why = catalogue_unmet_need(&c[i], NULL);
    if (c[i].needs & NEED_CONTROL) {
      if (!why || !strstr(why, "control hook"))
        fail_msg("%s needs control but runs without: %s", c[i].id, why ? why : "(null)");
      continue;
    }
    if (why)
      fail_msg("%s needs nothing but is refused: %s", c[i].id, why);
    memset(&res, 0, sizeof(res));
    res.outcome = OUTCOME_PASS;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c[i].run(&ctx, &res);
    long took = ms_since(&t0);
    if (took > 10 * DEAD_TIMEOUT_MS + 2000)
      fail_msg("%s took %ld ms against a dead target", c[i].id, took);
    if (res.outcome == OUTCOME_PASS || strstr(res.message, "control hook"))
      fail_msg("%s against a dead target gave %s: %s", c[i].id, catalogue_outcome_name(res.outcome),
               res.message);
    if (res.outcome == OUTCOME_FAIL && (!res.expected[0] || !res.seen[0]))
      fail_msg("%s failed without expected/seen", c[i].id);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kebab_and_clause_checkers),
      cmocka_unit_test(test_ids_unique_and_well_formed),
      cmocka_unit_test(test_every_t_number_once),
      cmocka_unit_test(test_needs_and_order),
      cmocka_unit_test(test_jina_cases),
      cmocka_unit_test(test_cases_against_dead_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
