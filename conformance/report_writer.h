/*
 * report_writer: what report.c shares with the writers kept in their own
 * files (report_html.c). Private to the report module; callers use report.h.
 *
 * Memory: an entry borrows its hc_case (the table outlives the report) and
 * holds a copy of the result. A writer's `kept` array is owned by it and
 * freed by report.c. Thread safety: none, as report.h.
 */
#ifndef HC_REPORT_WRITER_H
#define HC_REPORT_WRITER_H

#include <stdio.h>

#include "report.h"

/* A finished case as the writers see it: the text already made safe for
 * every format (no control characters, valid UTF-8). */
typedef struct entry {
  const hc_case *c;
  case_result res;
  long duration_ms;
  int counts;
} entry;

typedef struct writer writer;

typedef struct writer_ops {
  void (*begin)(writer *w, const report_run_info *info);
  void (*add)(writer *w, const entry *e, size_t index);
  void (*end)(writer *w, const report_run_info *info, const report_summary *s);
} writer_ops;

struct writer {
  const writer_ops *ops;
  report_format fmt;
  FILE *f;
  int owned; /* f was opened by report_add_path */
  char *path;
  int colour;
  entry *kept; /* JUnit, HTML: all entries, written at the end */
  size_t nkept, capkept;
  int oom; /* a write or an allocation failed: report_end says so */
};

/* An `add` for writers that write everything at `end`: keeps a copy. */
void report_keep(writer *w, const entry *e, size_t index);

/* 1 if this entry makes the run fail: a FAIL or WARN that counts. */
int report_is_failure(const entry *e);

/* REPORT_HTML (report_html.c). */
extern const writer_ops report_html_ops;

#endif
