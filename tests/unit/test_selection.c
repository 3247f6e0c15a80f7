/*
 * test_selection: --run/--skip globs and @file, the known-failing baseline
 * (parsing, reasons required, verdicts: tolerated failure, stale entry,
 * skips untouched), and the runner applying it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "selection.h"

static void noop(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  (void)res;
}

static const hc_case table[] = {
    {.id = "check/overall-health",
     .test = "T01",
     .clauses = "H-CHECK-1",
     .level = LEVEL_MUST,
     .protocol = PROTOCOL_GRPC,
     .summary = "s",
     .clause_text = "c",
     .run = noop},
    {.id = "check/idempotent",
     .test = "T11",
     .clauses = "H-CHECK-5",
     .level = LEVEL_SHOULD,
     .protocol = PROTOCOL_GRPC,
     .summary = "s",
     .clause_text = "c",
     .run = noop},
    {.id = "http/root-ok",
     .test = "H01",
     .clauses = "H-HTTP-1",
     .level = LEVEL_MUST,
     .protocol = PROTOCOL_HTTP,
     .summary = "s",
     .clause_text = "c",
     .run = noop},
};
#define NCASES (sizeof(table) / sizeof(table[0]))

/* Writes text into a fresh temporary file; the caller unlinks path. */
static void temp_file(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/hc-test-selection-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void test_no_pattern_selects_all(void **state) {
  (void)state;
  selection *s = NULL;
  assert_int_equal(selection_new(&s), 0);
  for (size_t i = 0; i < NCASES; i++)
    assert_true(selection_match(s, table[i].id));
  selection_free(s);
}

static void test_run_and_skip_globs(void **state) {
  (void)state;
  selection *s = NULL;
  char err[256];
  assert_int_equal(selection_new(&s), 0);
  assert_int_equal(selection_add(s, 0, "check/*", err, sizeof(err)), 0);
  assert_int_equal(selection_add(s, 0, "http/root-?k", err, sizeof(err)), 0);
  assert_int_equal(selection_add(s, 1, "*idem*", err, sizeof(err)), 0);
  assert_true(selection_match(s, "check/overall-health"));
  assert_false(selection_match(s, "check/idempotent")); /* --skip wins */
  assert_true(selection_match(s, "http/root-ok"));
  assert_false(selection_match(s, "watch/stays-open"));
  assert_int_equal(selection_check(s, table, NCASES, err, sizeof(err)), 0);
  assert_int_equal(selection_add(s, 0, "chek/*", err, sizeof(err)), 0);
  assert_int_equal(selection_check(s, table, NCASES, err, sizeof(err)), -ENOENT);
  assert_non_null(strstr(err, "--run 'chek/*' matches no case"));
  assert_int_equal(selection_add(s, 1, "", err, sizeof(err)), -EINVAL);
  selection_free(s);
}

static void test_pattern_file(void **state) {
  (void)state;
  selection *s = NULL;
  char path[64], arg[80], err[256];
  temp_file(path, "# skipped on CI\n\n  http/*   # no HTTP here\ncheck/idempotent\n");
  snprintf(arg, sizeof(arg), "@%s", path);
  assert_int_equal(selection_new(&s), 0);
  assert_int_equal(selection_add(s, 1, arg, err, sizeof(err)), 0);
  assert_true(selection_match(s, "check/overall-health"));
  assert_false(selection_match(s, "check/idempotent"));
  assert_false(selection_match(s, "http/root-ok"));
  selection_free(s);
  unlink(path);

  temp_file(path, "check/a check/b\n");
  snprintf(arg, sizeof(arg), "@%s", path);
  assert_int_equal(selection_new(&s), 0);
  assert_int_equal(selection_add(s, 0, arg, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, ":1: one pattern per line"));
  unlink(path);
  /* A refused file adds none of its lines, not even those before the bad one. */
  temp_file(path, "check/idempotent\nhttp/root-ok  why\n");
  snprintf(arg, sizeof(arg), "@%s", path);
  assert_int_equal(selection_add(s, 0, arg, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, ":2: one pattern per line"));
  assert_true(selection_match(s, "check/overall-health"));
  assert_true(selection_add(s, 0, "@/nonexistent/hc-patterns", err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "/nonexistent/hc-patterns"));
  selection_free(s);
  unlink(path);
}

static void test_baseline_needs_reasons(void **state) {
  (void)state;
  baseline *b = NULL;
  char err[256];
  assert_int_equal(baseline_parse("# c\n\ncheck/idempotent   flaky\ncheck/overall-health\n", "kf",
                                  &b, err, sizeof(err)),
                   -EINVAL);
  assert_null(b);
  assert_non_null(strstr(err, "kf:4"));
  assert_non_null(strstr(err, "no reason"));
  /* "# why" after the ID is a reason; an empty "#" is not */
  assert_int_equal(baseline_parse("check/idempotent  #\n", "kf", &b, err, sizeof(err)), -EINVAL);
  assert_int_equal(baseline_parse("check/idempotent  # flaky on CI\n", "kf", &b, err, sizeof(err)),
                   0);
  assert_int_equal(baseline_check(b, table, NCASES, err, sizeof(err)), 0);
  baseline_free(b);
  assert_int_equal(baseline_parse("check/typo  reason\n", "kf", &b, err, sizeof(err)), 0);
  assert_int_equal(baseline_check(b, table, NCASES, err, sizeof(err)), -ENOENT);
  assert_non_null(strstr(err, "kf:1"));
  baseline_free(b);
  /* A long ID is quoted short, so what is wrong survives a 256-byte err
   * (fuzz_baseline: regress/baseline/long_id_without_reason). */
  char line[400];
  memset(line, 'a', 300);
  strcpy(line + 300, "\n");
  assert_int_equal(baseline_parse(line, "kf", &b, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "has no reason"));
  strcpy(line + 300, "  reason\n");
  assert_int_equal(baseline_parse(line, "kf", &b, err, sizeof(err)), 0);
  assert_int_equal(baseline_check(b, table, NCASES, err, sizeof(err)), -ENOENT);
  assert_non_null(strstr(err, "matches no case"));
  baseline_free(b);
}

static void test_baseline_verdicts(void **state) {
  (void)state;
  baseline *b = NULL;
  char err[256];
  case_result res;
  assert_int_equal(baseline_parse("check/*   server bug #12\n", "kf", &b, err, sizeof(err)), 0);

  /* a listed MUST failure: reported as a failure, does not fail the run */
  case_fail(&res, "e", "s", "broken");
  assert_int_equal(baseline_verdict(b, &table[0], &res, 1), 0);
  assert_int_equal(res.outcome, OUTCOME_FAIL);
  assert_non_null(strstr(res.message, "known failing (kf:1: server bug #12): broken"));

  /* a listed WARN is tolerated too */
  case_warn(&res, "e", "s", "meh");
  assert_int_equal(baseline_verdict(b, &table[1], &res, 1), 0);

  /* a listed case that passes: stale, fails the run */
  case_pass(&res, "fine");
  assert_int_equal(baseline_verdict(b, &table[0], &res, 0), 1);
  assert_int_equal(res.outcome, OUTCOME_FAIL);
  assert_non_null(strstr(res.message, "stale known-failing entry"));
  assert_non_null(strstr(res.expected, "kf:1"));

  /* a listed skip stays a skip */
  case_skip(&res, "no hook");
  assert_int_equal(baseline_verdict(b, &table[0], &res, 0), 0);
  assert_int_equal(res.outcome, OUTCOME_SKIP);

  /* unlisted: unchanged */
  case_fail(&res, "e", "s", "broken");
  assert_int_equal(baseline_verdict(b, &table[2], &res, 1), 1);
  assert_string_equal(res.message, "broken");
  assert_int_equal(baseline_verdict(NULL, &table[2], &res, 1), 1);
  baseline_free(b);
}

static void test_baseline_file(void **state) {
  (void)state;
  baseline *b = NULL;
  char path[64], err[256];
  temp_file(path, "http/root-ok\tJina answers 204\n");
  assert_int_equal(baseline_load(path, &b, err, sizeof(err)), 0);
  case_result res;
  case_fail(&res, "e", "s", "x");
  assert_int_equal(baseline_verdict(b, &table[2], &res, 1), 0);
  baseline_free(b);
  unlink(path);
  assert_true(baseline_load("/nonexistent/kf", &b, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "/nonexistent/kf"));
}

/* Up to 1 MiB is read whole (the entry sits after 1 MiB of comments),
 * one byte more is refused. */
static void test_baseline_file_size(void **state) {
  (void)state;
  const char entry[] = "http/root-ok  r\n";
  size_t size = 1024 * 1024, pad = size - (sizeof(entry) - 1);
  char *text = malloc(size + 2), path[64], err[256];
  baseline *b = NULL;
  case_result res;
  assert_non_null(text);
  memset(text, '#', pad - 1);
  text[pad - 1] = '\n';
  strcpy(text + pad, entry);
  temp_file(path, text);
  assert_int_equal(baseline_load(path, &b, err, sizeof(err)), 0);
  case_fail(&res, "e", "s", "x");
  assert_int_equal(baseline_verdict(b, &table[2], &res, 1), 0);
  baseline_free(b);
  unlink(path);
  strcat(text, "\n");
  temp_file(path, text);
  assert_int_equal(baseline_load(path, &b, err, sizeof(err)), -EFBIG);
  assert_non_null(strstr(err, "larger than"));
  unlink(path);
  free(text);
}

/* ---- out of memory (failmalloc.h): the error returned, nothing changed ---- */

/* selection_add: a failed allocation leaves the selection as it was. */
static void oom_selection_step(void *arg) {
  selection *s = NULL;
  char err[256] = "";
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = selection_new(&s);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(s);
    return;
  }
  assert_int_equal(selection_add(s, 1, "*idem*", err, sizeof(err)), 0);
  failmalloc_begin();
  rc = selection_add(s, 0, "check/*", err, sizeof(err));
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_true(selection_match(s, "wire/x")); /* still no --run pattern */
  } else {
    assert_int_equal(rc, 0);
    assert_false(selection_match(s, "wire/x"));
  }
  assert_false(selection_match(s, "check/idempotent"));
  selection_free(s);
}

static void oom_baseline_step(void *arg) {
  baseline *b = NULL;
  char err[256] = "";
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = baseline_parse("check/idempotent  flaky\nwire/*  not ours\n", "kf", &b, err, sizeof(err));
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(b);
    return;
  }
  assert_int_equal(rc, 0);
  baseline_free(b);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_true(failmalloc_run(oom_selection_step, NULL) >= 2);
  assert_true(failmalloc_run(oom_baseline_step, NULL) >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(test_no_pattern_selects_all),
      cmocka_unit_test(test_run_and_skip_globs),
      cmocka_unit_test(test_pattern_file),
      cmocka_unit_test(test_baseline_needs_reasons),
      cmocka_unit_test(test_baseline_verdicts),
      cmocka_unit_test(test_baseline_file),
      cmocka_unit_test(test_baseline_file_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
