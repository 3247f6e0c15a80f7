/*
 * report: one interface, five writers. The runner calls report_begin once,
 * report_case as each case ends, report_end once; every writer attached
 * with report_add receives each call.
 *
 *   REPORT_TEXT   human text: a header, one line per case as it finishes
 *                 (colour only when the stream is a TTY), on FAIL/WARN the
 *                 clause text, expected and seen (h2spec style), a summary.
 *   REPORT_TAP    TAP version 13. A failure that does not fail the run (a
 *                 SHOULD without --strict) is `not ok ... # TODO`, so that
 *                 prove's verdict matches the exit code.
 *   REPORT_JUNIT  Ant/Jenkins JUnit XML (libxml2 xmlTextWriter), written at
 *                 report_end because testsuite counts come first.
 *   REPORT_JSON   NDJSON (jansson): one record per case, flushed as it ends,
 *                 {"id","test","clauses","level","result","message",
 *                 "duration_ms"} (+ "expected","seen" on fail/warn), then
 *                 {"summary":{"passed","failed","warned","skipped"},"run":{..}}.
 *   REPORT_HTML   one self-contained page (report_html.c): the summary, every
 *                 case with its clause text, expected, seen and duration,
 *                 and filters by result; written at report_end.
 *
 * Memory: the report borrows the hc_case pointers given to report_case
 * (the table outlives the report) and copies results. Streams passed to
 * report_add are borrowed; files opened by path are closed by report_end.
 * Thread safety: none; one thread drives a report.
 */
#ifndef HC_REPORT_H
#define HC_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "catalogue.h"

typedef enum report_format {
  REPORT_TEXT = 0,
  REPORT_TAP,
  REPORT_JUNIT,
  REPORT_JSON,
  REPORT_HTML
} report_format;

typedef struct report report;

/* What the header records. report_begin copies the strings. */
typedef struct report_run_info {
  const char *version; /* HC_VERSION */
  const char *target;
  const char *options; /* one line, e.g. "timeout=2000ms strict=no control=url" */
  const char *started; /* UTC, ISO 8601 ("2025-01-31T12:00:00Z") */
  size_t total;        /* number of cases that will be reported */
  int strict;          /* --strict: WARN and SHOULD failures fail the run */
} report_run_info;

typedef struct report_summary {
  size_t passed, failed, warned, skipped;
  int exit_code;
  int cut_short; /* runner: --max-time cut a case short; its thread was left running */
} report_summary;

/* "text", "tap", "junit", "json" (also "ndjson"), "html" -> *fmt; -EINVAL otherwise. */
int report_format_parse(const char *name, report_format *fmt);
const char *report_format_name(report_format fmt);

int report_new(report **out);
void report_free(report *r); /* closes what report_end did not; safe with NULL */

/* Attaches a writer on a borrowed stream; colour is used by REPORT_TEXT only. */
int report_add_stream(report *r, report_format fmt, FILE *stream, int colour);

/* Attaches a writer on a file it creates ("-" means stdout). On failure
 * returns a negative errno and writes a one-line reason into err. */
int report_add_path(report *r, report_format fmt, const char *path, char *err, size_t errlen);

void report_begin(report *r, const report_run_info *info);

/* `counts` says whether this result fails the run (runner_counts_as_failure). */
void report_case(report *r, const hc_case *c, const case_result *res, long duration_ms, int counts);

/* Writes summaries, flushes and closes the files it opened. Returns 0, or
 * -EIO if a write failed (err names the file). */
int report_end(report *r, const report_summary *s, char *err, size_t errlen);

#endif
