/* cmocka tests for conformance/matrix.c: NDJSON reports with different case
 * sets merged; a case missing from a report is NOT RUN, never a pass; bad
 * reports are refused naming the file and line, the matrix unchanged. The
 * HTML page is rendered in Chromium by tests/integration/test_matrix.py. */
#define _GNU_SOURCE /* mkdtemp, open_memstream */
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

#include "matrix.h"

typedef struct fixture {
  char dir[64];
  char paths[4][128];
} fixture;

static const char report_a[] =
    "{\"id\":\"check/overall-health\",\"test\":\"T01\",\"clauses\":\"H-CHECK-1\",\"level\":"
    "\"MUST\",\"result\":\"pass\",\"message\":\"ok\",\"duration_ms\":1}\n"
    "{\"id\":\"check/unknown-service-not-found\",\"test\":\"T05\",\"clauses\":\"H-CHECK-2\","
    "\"level\":\"MUST\",\"result\":\"fail\",\"message\":\"answered OK | <b>\",\"duration_ms\":2,"
    "\"expected\":\"NOT_FOUND\",\"seen\":\"OK + SERVICE_UNKNOWN\"}\n"
    "{\"id\":\"x/not-in-catalogue\",\"test\":\"T99\",\"clauses\":\"H-X\",\"level\":\"MAY\","
    "\"result\":\"skip\",\"message\":\"why not\",\"duration_ms\":0}\n"
    "{\"summary\":{\"passed\":1,\"failed\":1,\"warned\":0,\"skipped\":1},\"run\":{\"version\":"
    "\"0\",\"target\":\"127.0.0.2:5\",\"options\":\"\",\"started\":\"\",\"exit_code\":1}}\n";

/* Another case set: T05 missing, list/limit only here; no summary line. */
static const char report_b[] =
    "{\"id\":\"list/limit\",\"test\":\"T27\",\"clauses\":\"H-LIST-2\",\"level\":\"MUST\","
    "\"result\":\"pass\",\"message\":\"\",\"duration_ms\":1}\n"
    "\n"
    "{\"id\":\"check/overall-health\",\"test\":\"T01\",\"clauses\":\"H-CHECK-1\",\"level\":"
    "\"MUST\",\"result\":\"warn\",\"message\":\"slow\",\"duration_ms\":1,\"expected\":\"fast\","
    "\"seen\":\"slow\"}\n";

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_matrix.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  for (int i = 0; i < 4; i++)
    snprintf(f->paths[i], sizeof(f->paths[i]), "%s/r%d.ndjson", f->dir, i);
  put(f->paths[0], report_a);
  put(f->paths[1], report_b);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 4; i++)
    unlink(f->paths[i]);
  rmdir(f->dir);
  free(f);
  return 0;
}

static char *render(const matrix *m, matrix_format fmt) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);

  assert_non_null(out);
  assert_int_equal(matrix_write(m, fmt, out), 0);
  fclose(out);
  return buf;
}

static matrix *two(fixture *f) {
  matrix *m;
  char err[256];

  assert_int_equal(matrix_new(&m), 0);
  assert_int_equal(matrix_add_file(m, "impl-a", f->paths[0], err, sizeof(err)), 0);
  assert_int_equal(matrix_add_file(m, "impl-b", f->paths[1], err, sizeof(err)), 0);
  return m;
}

/* The row's line in the text table, e.g. "list/limit ... NOT RUN PASS". */
static void assert_row(const char *text, const char *id, const char *a, const char *b) {
  char want[256];
  const char *line = strstr(text, id);

  assert_non_null(line);
  snprintf(want, sizeof(want), "%s", line);
  *strchrnul(want, '\n') = '\0';
  assert_non_null(strstr(want, a));
  assert_non_null(strstr(want + strlen(want) - strlen(b), b));
}

static void text__missing_case_is_not_run(void **state) {
  matrix *m = two(*state);
  char *text = render(m, MATRIX_TEXT);

  assert_non_null(strstr(text, "2 reports, 4 cases"));
  /* Catalogue order, the unknown ID last. */
  assert_true(strstr(text, "check/overall-health") < strstr(text, "check/unknown-service"));
  assert_true(strstr(text, "check/unknown-service") < strstr(text, "list/limit"));
  assert_true(strstr(text, "list/limit") < strstr(text, "x/not-in-catalogue"));
  assert_row(text, "check/overall-health  ", "PASS", "WARN");
  assert_row(text, "check/unknown-service-not-found ", "FAIL", "NOT RUN");
  assert_row(text, "list/limit ", "NOT RUN", "PASS");
  assert_row(text, "x/not-in-catalogue ", "SKIP", "NOT RUN");
  assert_non_null(strstr(text,
                         "impl-a: target 127.0.0.2:5, exit code 1: 1 pass, 1 fail, 0 warn, "
                         "1 skip, 1 not run"));
  assert_non_null(strstr(text, "impl-b: target unknown, no summary line"));
  assert_non_null(strstr(text,
                         "  FAIL    check/unknown-service-not-found: answered OK | <b>\n"
                         "          expected: NOT_FOUND\n"
                         "          seen:     OK + SERVICE_UNKNOWN\n"));
  assert_non_null(strstr(text, "  NOT RUN check/unknown-service-not-found\n"));
  free(text);
  matrix_free(m);
}

static void markdown__table_and_escapes(void **state) {
  matrix *m = two(*state);
  char *md = render(m, MATRIX_MARKDOWN);

  assert_non_null(
      strstr(md, "| Case | Test | Level | impl-a | impl-b |\n| --- | --- | --- | --- | --- |\n"));
  assert_non_null(
      strstr(md, "| `check/unknown-service-not-found` | T05 | MUST | **FAIL** | NOT RUN |"));
  assert_non_null(strstr(md, "| `list/limit` | T27 | MUST | NOT RUN | PASS |"));
  /* A '|' or '<' in a message must not end the cell or open a tag. */
  assert_non_null(strstr(md, "answered OK \\| \\<b\\>"));
  assert_non_null(strstr(md, "### impl-b\n"));
  free(md);
  matrix_free(m);
}

static void html__escaped_and_marked(void **state) {
  matrix *m = two(*state);
  char *html = render(m, MATRIX_HTML);

  assert_non_null(strstr(html, "<!DOCTYPE html>"));
  assert_non_null(strstr(html, "answered OK | &lt;b&gt;"));
  assert_null(strstr(html, "<b>"));
  assert_non_null(strstr(html, "data-result=\"fail not-run\""));
  assert_non_null(strstr(html, "<td class=\"not-run\">NOT RUN</td>"));
  free(html);
  matrix_free(m);
}

static void add_file__bad_reports_named_and_refused(void **state) {
  fixture *f = *state;
  static const struct {
    const char *text, *why;
  } bad[] = {
      {"{\"id\":\"a\",\"result\":\"pass\"}\nnot json\n", ":2: not JSON"},
      {"[1]\n", ":1: not a JSON object"},
      {"{\"id\":\"a\",\"result\":\"passed\"}\n", ":1: a case record needs"},
      {"{\"id\":\"a\",\"result\":\"pass\",\"message\":3}\n", ":1: a field that should be"},
      {"{\"id\":\"a\",\"result\":\"pass\"}\n{\"id\":\"a\",\"result\":\"fail\"}\n",
       ":2: the same case ID twice"},
      {"{\"summary\":{}}\n", ":1: a summary line needs"},
      {"\n", ": no case records"},
  };
  matrix *m = two(f);
  char err[256], *before = render(m, MATRIX_TEXT), *after;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    put(f->paths[2], bad[i].text);
    assert_true(matrix_add_file(m, "bad", f->paths[2], err, sizeof(err)) < 0);
    assert_non_null(strstr(err, f->paths[2]));
    assert_non_null(strstr(err, bad[i].why));
  }
  assert_int_equal(matrix_add_file(m, "x", f->paths[3], err, sizeof(err)), -ENOENT);
  assert_non_null(strstr(err, "cannot read"));
  assert_int_equal(matrix_add_file(m, "impl-a", f->paths[1], err, sizeof(err)), -EEXIST);
  after = render(m, MATRIX_TEXT);
  assert_string_equal(before, after);
  free(before);
  free(after);
  matrix_free(m);
}

static void add_empty__every_case_not_run(void **state) {
  matrix *m = two(*state);
  char *text;

  assert_int_equal(matrix_add_empty(m, "pod-3", "the run left no report"), 0);
  text = render(m, MATRIX_TEXT);
  assert_non_null(strstr(text,
                         "pod-3: target unknown, no summary line (the run did not finish): "
                         "0 pass, 0 fail, 0 warn, 0 skip, 4 not run; the run left no report"));
  free(text);
  matrix_free(m);
}

static void format_parse__names(void **state) {
  matrix_format fmt;

  (void)state;
  assert_int_equal(matrix_format_parse("md", &fmt), 0);
  assert_int_equal(fmt, MATRIX_MARKDOWN);
  assert_int_equal(matrix_format_parse("html", &fmt), 0);
  assert_int_equal(fmt, MATRIX_HTML);
  assert_int_equal(matrix_format_parse("text", &fmt), 0);
  assert_int_equal(fmt, MATRIX_TEXT);
  assert_true(matrix_format_parse("json", &fmt) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(text__missing_case_is_not_run, setup, teardown),
      cmocka_unit_test_setup_teardown(markdown__table_and_escapes, setup, teardown),
      cmocka_unit_test_setup_teardown(html__escaped_and_marked, setup, teardown),
      cmocka_unit_test_setup_teardown(add_file__bad_reports_named_and_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(add_empty__every_case_not_run, setup, teardown),
      cmocka_unit_test(format_parse__names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
