/* report_html: the HTML writer behind report.h. One self-contained page
 * (htmlpage.h) written at report_end, since the summary comes first: the
 * run's header and verdict, the counts, the filters by result, and one row
 * per case with its clause text, expected, seen and duration. */
#include <stdio.h>

#include "htmlpage.h"
#include "report_writer.h"

static const char *const result_names[] = {"pass", "fail", "warn", "skip"};
#define NRESULTS (sizeof(result_names) / sizeof(result_names[0]))

static void html_header(htmlpage *p, const report_run_info *info, const report_summary *s) {
  xmlNodePtr verdict = htmlpage_elf(p, p->body, "p", "%s (exit code %d)",
                                    s->exit_code == 0 ? "PASSED" : "FAILED", s->exit_code);
  xmlNodePtr dl = htmlpage_el(p, p->body, "dl", NULL);

  htmlpage_attr(p, verdict, "id", "verdict");
  htmlpage_attr(p, verdict, "class", s->exit_code == 0 ? "verdict pass" : "verdict fail");
  htmlpage_attr(p, dl, "class", "meta");
  htmlpage_def(p, dl, "version", info->version);
  htmlpage_def(p, dl, "target", info->target);
  htmlpage_def(p, dl, "options", info->options);
  htmlpage_def(p, dl, "started", info->started);
}

/* The counts table; each cell's id is count-<result> (count-total). */
static void html_summary(htmlpage *p, const report_summary *s) {
  const size_t counts[NRESULTS] = {s->passed, s->failed, s->warned, s->skipped};
  xmlNodePtr table = htmlpage_el(p, p->body, "table", NULL);
  xmlNodePtr head = htmlpage_el(p, table, "tr", NULL), row = htmlpage_el(p, table, "tr", NULL);
  xmlNodePtr td;
  char id[32];

  htmlpage_attr(p, table, "id", "summary");
  htmlpage_el(p, head, "th", "cases");
  td = htmlpage_elf(p, row, "td", "%zu", s->passed + s->failed + s->warned + s->skipped);
  htmlpage_attr(p, td, "id", "count-total");
  for (size_t i = 0; i < NRESULTS; i++) {
    htmlpage_el(p, head, "th", result_names[i]);
    td = htmlpage_elf(p, row, "td", "%zu", counts[i]);
    snprintf(id, sizeof(id), "count-%s", result_names[i]);
    htmlpage_attr(p, td, "id", id);
    if (counts[i])
      htmlpage_attr(p, td, "class", result_names[i]);
  }
}

/* The details cell: open on a failure or warning. */
static void html_details(htmlpage *p, xmlNodePtr td, const entry *e) {
  const case_result *r = &e->res;
  int bad = r->outcome == OUTCOME_FAIL || r->outcome == OUTCOME_WARN;
  xmlNodePtr det = htmlpage_el(p, td, "details", NULL), dl;
  char clause[1024];

  if (bad)
    htmlpage_attr(p, det, "open", "open");
  htmlpage_el(p, det, "summary", r->message[0] ? r->message : "passed");
  dl = htmlpage_el(p, det, "dl", NULL);
  snprintf(clause, sizeof(clause), "%s: %s", e->c->clauses,
           e->c->clause_text ? e->c->clause_text : "");
  htmlpage_def(p, dl, "clause", clause);
  htmlpage_def(p, dl, "expected", r->expected);
  htmlpage_def(p, dl, "seen", r->seen);
  if (bad && !e->counts)
    htmlpage_def(p, dl, "verdict", "does not fail the run (--strict makes it)");
}

static void html_case(htmlpage *p, xmlNodePtr table, const entry *e, size_t index) {
  const char *result = catalogue_outcome_name(e->res.outcome);
  xmlNodePtr tr = htmlpage_el(p, table, "tr", NULL), td;
  char label[8];

  snprintf(label, sizeof(label), "%s", result);
  for (char *c = label; *c; c++)
    *c = (char)(*c - 'a' + 'A');
  htmlpage_attr(p, tr, "data-result", result);
  htmlpage_attr(p, tr, "data-id", e->c->id);
  htmlpage_elf(p, tr, "td", "%zu", index);
  td = htmlpage_el(p, tr, "td", label);
  htmlpage_attr(p, td, "class", result);
  htmlpage_el(p, tr, "td", e->c->id);
  htmlpage_el(p, tr, "td", e->c->test);
  htmlpage_el(p, tr, "td", catalogue_level_name(e->c->level));
  htmlpage_elf(p, tr, "td", "%ld ms", e->duration_ms);
  html_details(p, htmlpage_el(p, tr, "td", NULL), e);
}

static void html_cases(htmlpage *p, const writer *w, const report_summary *s) {
  static const char *const heads[] = {
      "#", "result", "case", "test", "level", "duration", "message, clause, expected, seen"};
  const size_t counts[NRESULTS] = {s->passed, s->failed, s->warned, s->skipped};
  xmlNodePtr table, head;

  htmlpage_filters(p, p->body, result_names, counts, NRESULTS);
  table = htmlpage_el(p, p->body, "table", NULL);
  htmlpage_attr(p, table, "id", "cases");
  head = htmlpage_el(p, table, "tr", NULL);
  for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
    htmlpage_el(p, head, "th", heads[i]);
  for (size_t i = 0; i < w->nkept; i++)
    html_case(p, table, &w->kept[i], i + 1);
}

static void html_end(writer *w, const report_run_info *info, const report_summary *s) {
  htmlpage p;
  char title[600];

  snprintf(title, sizeof(title), "health-conformance report: %s", info->target);
  if (htmlpage_init(&p, title) < 0) {
    w->oom = 1;
    return;
  }
  html_header(&p, info, s);
  html_summary(&p, s);
  html_cases(&p, w, s);
  if (htmlpage_write(&p, w->f) < 0)
    w->oom = 1;
  htmlpage_free(&p);
}

const writer_ops report_html_ops = {NULL, report_keep, html_end};
