/* cmocka tests for conformance/report.c: each writer fed fixed results,
 * checked by the tool that consumes it (xmllint against a JUnit schema,
 * prove for TAP, jansson for NDJSON). */
#define _GNU_SOURCE /* mkdtemp */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "catalogue.h"
#include "failmalloc.h"
#include "report.h"

static void noop(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  (void)res;
}

static const hc_case cases[] = {
    {.id = "check/a-pass",
     .test = "T01",
     .clauses = "H-CHECK-1",
     .level = LEVEL_MUST,
     .protocol = PROTOCOL_GRPC,
     .summary = "passes",
     .clause_text = "A MUST.",
     .run = noop},
    {.id = "check/b-fail",
     .test = "T05",
     .clauses = "H-CHECK-2,H-CHECK-4",
     .level = LEVEL_MUST,
     .protocol = PROTOCOL_GRPC,
     .summary = "fails",
     .clause_text = "Unknown names MUST get NOT_FOUND.",
     .run = noop},
    {.id = "watch/c-warn",
     .test = "T19",
     .clauses = "H-WATCH-5",
     .level = LEVEL_SHOULD,
     .protocol = PROTOCOL_GRPC,
     .needs = NEED_CONTROL,
     .summary = "warns",
     .clause_text = "Only changes SHOULD be sent.",
     .run = noop},
    {.id = "watch/d-skip",
     .test = "T17",
     .clauses = "H-WATCH-2",
     .level = LEVEL_MUST,
     .protocol = PROTOCOL_GRPC,
     .needs = NEED_CONTROL,
     .summary = "skips",
     .clause_text = "Updates MUST be pushed.",
     .run = noop},
    {.id = "list/e-should-fail",
     .test = "T26",
     .clauses = "H-LIST-1",
     .level = LEVEL_SHOULD,
     .protocol = PROTOCOL_GRPC,
     .summary = "fails softly",
     .clause_text = "List SHOULD include \"\".",
     .run = noop},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

typedef struct fixture {
  char dir[64];
  char path[128];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_report.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/report", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  unlink(f->path);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Runs argv (no shell) and returns its exit status, -1 if it did not exit. */
static int run_tool(char *const argv[]) {
  pid_t pid = fork();
  int st;

  assert_true(pid >= 0);
  if (pid == 0) {
    /* Keep the test output readable; the status is what is checked. */
    if (!freopen("/dev/null", "w", stdout))
      _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
  FILE *in = fopen(path, "r");
  char *buf;
  long n;

  assert_non_null(in);
  fseek(in, 0, SEEK_END);
  n = ftell(in);
  rewind(in);
  buf = calloc(1, (size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, in), (size_t)n);
  fclose(in);
  return buf;
}

/* Feeds the five cases (pass, MUST fail, warn, skip, SHOULD fail) to one
 * writer. `nasty` puts XML/JSON/TAP specials, control bytes and invalid
 * UTF-8 into the texts. `strict` sets which results count. */
static void write_report(const char *path, report_format fmt, int nasty, int strict) {
  report *r;
  char err[256];
  report_run_info info = {.version = "9.9.9",
                          .target = "127.0.0.1:5",
                          .options = "timeout=2000ms strict=no control=none",
                          .started = "2025-01-31T12:00:00Z",
                          .total = NCASES,
                          .strict = strict};
  report_summary sum = {.passed = 1, .failed = 2, .warned = 1, .skipped = 1, .exit_code = 1};
  case_result res[NCASES];

  case_pass(&res[0], "ok");
  if (nasty)
    case_fail(&res[1], "<NOT_FOUND> & \"x\"", "bad\x01\xff\xfe bytes # not a directive",
              "message with ]]> and \n newline \x02 and # hash and \xc3\xa9");
  else
    case_fail(&res[1], "NOT_FOUND", "OK + SERVICE_UNKNOWN", "unknown name answered OK");
  case_warn(&res[2], "one message", "two messages", "duplicate sent");
  case_skip(&res[3], "needs a control hook (--control or --control-cmd)");
  case_fail(&res[4], "\"\" listed", "no \"\"", "List left out \"\"");

  assert_int_equal(report_new(&r), 0);
  assert_int_equal(report_add_path(r, fmt, path, err, sizeof(err)), 0);
  report_begin(r, &info);
  for (size_t i = 0; i < NCASES; i++) {
    int counts = res[i].outcome == OUTCOME_FAIL   ? (cases[i].level == LEVEL_MUST || strict)
                 : res[i].outcome == OUTCOME_WARN ? strict
                                                  : 0;
    report_case(r, &cases[i], &res[i], (long)(i * 7), counts);
  }
  assert_int_equal(report_end(r, &sum, err, sizeof(err)), 0);
  report_free(r);
}

static void junit_validates(const char *path) {
  char schema[512];
  char *argv[] = {"xmllint", "--noout", "--schema", schema, (char *)path, NULL};

  snprintf(schema, sizeof(schema), "%s/tests/data/junit.xsd", HC_SOURCE_DIR);
  assert_int_equal(run_tool(argv), 0);
}

static void junit__valid_against_schema(void **state) {
  fixture *f = *state;
  char *xml;

  write_report(f->path, REPORT_JUNIT, 0, 0);
  junit_validates(f->path);
  xml = slurp(f->path);
  /* Both MUST and SHOULD failures are <failure>; the warn is not. */
  assert_non_null(strstr(xml, "tests=\"5\" failures=\"2\" errors=\"0\" skipped=\"1\""));
  assert_non_null(strstr(xml, "<failure message=\"unknown name answered OK\" type=\"MUST\">"));
  assert_non_null(strstr(xml, "type=\"SHOULD\""));
  assert_non_null(strstr(xml, "expected: NOT_FOUND"));
  assert_non_null(strstr(xml, "<skipped message=\"needs a control hook"));
  assert_non_null(strstr(xml, "classname=\"health-conformance.watch\""));
  assert_non_null(strstr(xml, "timestamp=\"2025-01-31T12:00:00\""));
  assert_non_null(strstr(xml, "name=\"target\" value=\"127.0.0.1:5\""));
  free(xml);
}

static void junit__strict_warn_is_failure(void **state) {
  fixture *f = *state;
  char *xml;

  write_report(f->path, REPORT_JUNIT, 0, 1);
  junit_validates(f->path);
  xml = slurp(f->path);
  assert_non_null(strstr(xml, "failures=\"3\""));
  assert_non_null(strstr(xml, "type=\"WARN\""));
  free(xml);
}

static void junit__survives_hostile_text(void **state) {
  fixture *f = *state;

  write_report(f->path, REPORT_JUNIT, 1, 0);
  junit_validates(f->path);
}

static int prove(const char *path) {
  char *argv[] = {"prove", "-e", "cat", (char *)path, NULL};
  return run_tool(argv);
}

static void tap__prove_fails_on_must_failure(void **state) {
  fixture *f = *state;
  char *tap;

  write_report(f->path, REPORT_TAP, 1, 0);
  assert_int_not_equal(prove(f->path), 0);
  tap = slurp(f->path);
  assert_true(strncmp(tap, "TAP version 13\n", 15) == 0);
  assert_non_null(strstr(tap, "\n1..5\n"));
  assert_non_null(strstr(tap, "\nnot ok 2 - check/b-fail"));
  assert_non_null(strstr(tap, "\nok 4 - watch/d-skip (T17 MUST H-WATCH-2) # SKIP needs"));
  /* The SHOULD failure does not fail the run without --strict. */
  assert_non_null(strstr(tap, "\nnot ok 5 - list/e-should-fail (T26 SHOULD H-LIST-1) # TODO"));
  assert_non_null(strstr(tap, "  ---\n  severity: \"fail\"\n"));
  free(tap);
}

/* Without the MUST failure, prove's verdict is the exit code's: 0. */
static void tap__prove_passes_without_counting_failures(void **state) {
  fixture *f = *state;
  report *r;
  char err[256];
  report_run_info info = {
      .version = "1", .target = "t:1", .options = "o", .started = "s", .total = 3};
  report_summary sum = {0};
  case_result warn, skip, soft;

  case_warn(&warn, "one", "two", "dup # hash");
  case_skip(&skip, "no hook");
  case_fail(&soft, "a", "b", "soft");
  assert_int_equal(report_new(&r), 0);
  assert_int_equal(report_add_path(r, REPORT_TAP, f->path, err, sizeof(err)), 0);
  report_begin(r, &info);
  report_case(r, &cases[2], &warn, 1, 0);
  report_case(r, &cases[3], &skip, 1, 0);
  report_case(r, &cases[4], &soft, 1, 0);
  assert_int_equal(report_end(r, &sum, err, sizeof(err)), 0);
  report_free(r);
  assert_int_equal(prove(f->path), 0);
}

static void json__every_line_parses_with_fields(void **state) {
  fixture *f = *state;
  char *text, *line, *save = NULL;
  size_t lines = 0;
  static const char *const fields[] = {"id",     "clauses", "level",
                                       "result", "message", "duration_ms"};

  write_report(f->path, REPORT_JSON, 1, 0);
  text = slurp(f->path);
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_error_t jerr;
    json_t *doc = json_loads(line, 0, &jerr);
    assert_non_null(doc);
    if (lines < NCASES) {
      for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
        assert_non_null(json_object_get(doc, fields[k]));
      assert_string_equal(json_string_value(json_object_get(doc, "id")), cases[lines].id);
      assert_int_equal(json_integer_value(json_object_get(doc, "duration_ms")), lines * 7);
    } else {
      json_t *s = json_object_get(doc, "summary");
      assert_non_null(s);
      assert_int_equal(json_integer_value(json_object_get(s, "passed")), 1);
      assert_int_equal(json_integer_value(json_object_get(s, "failed")), 2);
      assert_int_equal(json_integer_value(json_object_get(s, "warned")), 1);
      assert_int_equal(json_integer_value(json_object_get(s, "skipped")), 1);
    }
    if (lines == 1) {
      assert_string_equal(json_string_value(json_object_get(doc, "result")), "fail");
      assert_string_equal(json_string_value(json_object_get(doc, "level")), "MUST");
      assert_non_null(json_object_get(doc, "expected"));
      assert_non_null(json_object_get(doc, "seen"));
    }
    json_decref(doc);
    lines++;
  }
  assert_int_equal(lines, NCASES + 1);
  free(text);
}

static void text__failure_details_and_no_colour_in_files(void **state) {
  fixture *f = *state;
  char *text;

  write_report(f->path, REPORT_TEXT, 0, 0);
  text = slurp(f->path);
  assert_non_null(strstr(text, "health-conformance 9.9.9\n"));
  assert_non_null(strstr(text, "target:  127.0.0.1:5\n"));
  assert_non_null(strstr(text, "started: 2025-01-31T12:00:00Z\n"));
  assert_non_null(strstr(text, "clause:   Unknown names MUST get NOT_FOUND.\n"));
  assert_non_null(strstr(text, "expected: NOT_FOUND\n"));
  assert_non_null(strstr(text, "seen:     OK + SERVICE_UNKNOWN\n"));
  assert_non_null(strstr(text, "SKIP"));
  assert_non_null(strstr(text, "5 cases: 1 passed, 2 failed, 1 warned, 1 skipped; exit code 1"));
  assert_null(strchr(text, '\033'));
  free(text);
}

static void text__colour_when_asked(void **state) {
  fixture *f = *state;
  FILE *out = fopen(f->path, "w");
  report *r;
  char err[64], *text;
  report_run_info info = {
      .version = "1", .target = "t:1", .options = "o", .started = "s", .total = 1};
  report_summary sum = {.passed = 1};
  case_result res;

  assert_non_null(out);
  case_pass(&res, "fine");
  assert_int_equal(report_new(&r), 0);
  assert_int_equal(report_add_stream(r, REPORT_TEXT, out, 1), 0);
  report_begin(r, &info);
  report_case(r, &cases[0], &res, 3, 0);
  assert_int_equal(report_end(r, &sum, err, sizeof(err)), 0);
  report_free(r);
  fclose(out);
  text = slurp(f->path);
  assert_non_null(strstr(text, "\033[32mPASS\033[0m"));
  free(text);
}

static void add_path__unwritable_names_the_file(void **state) {
  report *r;
  char err[256] = "";

  (void)state;
  assert_int_equal(report_new(&r), 0);
  assert_true(report_add_path(r, REPORT_JSON, "/nonexistent-dir/r.ndjson", err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "/nonexistent-dir/r.ndjson"));
  report_free(r);
}

/* The page parses as HTML, carries every case with its details, escapes
 * what the cases wrote (libxml2 does it) and loads nothing from outside.
 * tests/integration/test_html_report.py checks it rendered in Chromium. */
static void html__every_case_escaped_self_contained(void **state) {
  fixture *f = *state;
  char *argv[] = {"xmllint", "--html", "--noout", f->path, NULL};
  char *html;

  write_report(f->path, REPORT_HTML, 1, 0);
  assert_int_equal(run_tool(argv), 0);
  html = slurp(f->path);
  assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
  for (size_t i = 0; i < NCASES; i++) {
    char want[128];
    snprintf(want, sizeof(want), "data-id=\"%s\"", cases[i].id);
    assert_non_null(strstr(html, want));
  }
  assert_non_null(strstr(html, "<tr data-result=\"fail\" data-id=\"check/b-fail\">"));
  assert_non_null(strstr(html, "&lt;NOT_FOUND&gt; &amp; \"x\""));
  assert_null(strstr(html, "<NOT_FOUND>"));
  assert_non_null(strstr(html, "Unknown names MUST get NOT_FOUND."));
  assert_non_null(strstr(html, "<td id=\"count-fail\" class=\"fail\">2</td>"));
  assert_non_null(strstr(html, "FAILED (exit code 1)"));
  assert_non_null(strstr(html, "does not fail the run"));
  assert_null(strstr(html, " src="));
  assert_null(strstr(html, " href="));
  free(html);
}

static void format_parse__names(void **state) {
  report_format fmt;

  (void)state;
  assert_int_equal(report_format_parse("junit", &fmt), 0);
  assert_int_equal(fmt, REPORT_JUNIT);
  assert_int_equal(report_format_parse("ndjson", &fmt), 0);
  assert_int_equal(fmt, REPORT_JSON);
  assert_int_equal(report_format_parse("tap", &fmt), 0);
  assert_int_equal(fmt, REPORT_TAP);
  assert_int_equal(report_format_parse("text", &fmt), 0);
  assert_int_equal(fmt, REPORT_TEXT);
  assert_int_equal(report_format_parse("html", &fmt), 0);
  assert_int_equal(fmt, REPORT_HTML);
  assert_true(report_format_parse("xml", &fmt) < 0);
  assert_string_equal(report_format_name(REPORT_JSON), "json");
}

/* ---- out of memory (failmalloc.h) ---- */

typedef struct oom_arg {
  report_format fmt;
  char *want; /* the report when nothing fails */
} oom_arg;

/* The whole life of a report with one writer on a memory stream: report_new
 * and report_add_stream return -ENOMEM leaving nothing behind; a failure
 * while writing is -EIO from report_end naming the writer, never a report
 * silently short of a field. */
static void oom_report_step(void *arg) {
  oom_arg *a = arg;
  report_run_info info = {.version = "9.9.9",
                          .target = "127.0.0.1:5",
                          .options = "timeout=2000ms strict=no control=none",
                          .started = "2025-01-31T12:00:00Z",
                          .total = NCASES};
  report_summary sum = {.passed = 1, .failed = 2, .warned = 1, .skipped = 1, .exit_code = 1};
  case_result res[NCASES];
  char err[256] = "", *text = NULL;
  size_t len = 0;
  report *r = NULL;
  FILE *f = open_memstream(&text, &len);
  int rc, failed;

  assert_non_null(f);
  case_pass(&res[0], "ok");
  case_fail(&res[1], "NOT_FOUND", "OK + SERVICE_UNKNOWN", "unknown name answered OK");
  case_warn(&res[2], "one message", "two messages", "duplicate sent");
  case_skip(&res[3], "needs a control hook");
  case_fail(&res[4], "\"\" listed", "no \"\"", "List left out \"\"");
  failmalloc_begin();
  rc = report_new(&r);
  if (rc == 0) {
    rc = report_add_stream(r, a->fmt, f, 0);
    if (rc < 0)
      report_free(r);
  }
  if (rc == 0) {
    report_begin(r, &info);
    for (size_t i = 0; i < NCASES; i++)
      report_case(r, &cases[i], &res[i], (long)(i * 7), res[i].outcome == OUTCOME_FAIL);
    rc = report_end(r, &sum, err, sizeof(err));
    report_free(r);
  }
  failed = failmalloc_end();
  fclose(f);
  if (!a->want) { /* the first run, nothing failed: the reference */
    assert_int_equal(rc, 0);
    a->want = text;
    return;
  }
  if (failed && rc == -ENOMEM) {
    free(text);
    return;
  }
  if (failed && rc == -EIO) {
    assert_non_null(strstr(err, report_format_name(a->fmt)));
    free(text);
    return;
  }
  if (rc != 0 || strcmp(text, a->want) != 0)
    fail_msg("%s report: rc %d (%s) and %s output after a failed allocation",
             report_format_name(a->fmt), rc, err, strcmp(text, a->want) ? "different" : "the same");
  free(text);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  for (report_format fmt = REPORT_TEXT; fmt <= REPORT_HTML; fmt++) {
    oom_arg a = {.fmt = fmt, .want = NULL};
    /* libxml2 sets itself up on first use, which allocates once: before
     * counting, so that every run allocates alike. */
    oom_report_step(&a);
    free(a.want);
    a.want = NULL;
    assert_true(failmalloc_run(oom_report_step, &a) >= 2);
    free(a.want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test_setup_teardown(junit__valid_against_schema, setup, teardown),
      cmocka_unit_test_setup_teardown(junit__strict_warn_is_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(junit__survives_hostile_text, setup, teardown),
      cmocka_unit_test_setup_teardown(tap__prove_fails_on_must_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(tap__prove_passes_without_counting_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(json__every_line_parses_with_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(text__failure_details_and_no_colour_in_files, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(text__colour_when_asked, setup, teardown),
      cmocka_unit_test(add_path__unwritable_names_the_file),
      cmocka_unit_test_setup_teardown(html__every_case_escaped_self_contained, setup, teardown),
      cmocka_unit_test(format_parse__names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
