/* matrix: NDJSON reports merged into one table. See matrix.h. */
#define _GNU_SOURCE /* strdup, getline */
#include "matrix.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "cli.h"
#include "errbuf.h"
#include "htmlpage.h"
#include "xalloc.h"

#define PROG "health-conformance matrix"

enum { RES_PASS = 0, RES_FAIL, RES_WARN, RES_SKIP, RES_NOT_RUN, NRES };
static const char *const res_names[NRES] = {"pass", "fail", "warn", "skip", "not-run"};
static const char *const res_labels[NRES] = {"PASS", "FAIL", "WARN", "SKIP", "NOT RUN"};

/* One case of one report, as its NDJSON record said. */
typedef struct cell {
  char *id, *test, *level, *clauses, *message, *expected, *seen;
  int result;
} cell;

typedef struct column {
  char *name, *target, *note;
  int exit_code; /* -1: the report has no summary line (the run did not end) */
  cell *cells;
  size_t ncells;
} column;

/* One per case ID, pointing at the first report's record of it. */
typedef struct row {
  const cell *c;
  size_t rank; /* row_rank: the sort key */
} matrix_row;

struct matrix {
  column *cols;
  size_t ncols;
  matrix_row *rows;
  size_t nrows;
};

/* ---- reading ------------------------------------------------------------ */

static void cell_free(cell *c) {
  free(c->id);
  free(c->test);
  free(c->level);
  free(c->clauses);
  free(c->message);
  free(c->expected);
  free(c->seen);
}

static void column_free(column *c) {
  for (size_t i = 0; i < c->ncells; i++)
    cell_free(&c->cells[i]);
  free(c->cells);
  free(c->name);
  free(c->target);
  free(c->note);
}

static const cell *column_find(const column *c, const char *id) {
  for (size_t i = 0; i < c->ncells; i++)
    if (strcmp(c->cells[i].id, id) == 0)
      return &c->cells[i];
  return NULL;
}

/* A string member, or "" when absent; NULL when present but not a string. */
static const char *member(json_t *doc, const char *key) {
  json_t *v = json_object_get(doc, key);
  return !v ? "" : json_is_string(v) ? json_string_value(v) : NULL;
}

static int result_parse(const char *name) {
  for (int i = 0; i < RES_NOT_RUN; i++)
    if (name && strcmp(name, res_names[i]) == 0)
      return i;
  return -1;
}

/* A case record into a new cell of c. 0, or -EINVAL with why. */
static int add_case(column *c, json_t *doc, const char **why) {
  static const char *const keys[] = {"id",      "test",     "level", "clauses",
                                     "message", "expected", "seen"};
  const char *v[7];

  for (size_t k = 0; k < 7; k++)
    if (!(v[k] = member(doc, keys[k]))) {
      *why = "a field that should be a string is not";
      return -EINVAL;
    }
  if (!v[0][0] || result_parse(member(doc, "result")) < 0) {
    *why = "a case record needs an \"id\" and a \"result\" of pass, fail, warn or skip";
    return -EINVAL;
  }
  if (column_find(c, v[0])) {
    *why = "the same case ID twice";
    return -EINVAL;
  }
  c->cells = xrealloc(c->cells, (c->ncells + 1) * sizeof(*c->cells));
  c->cells[c->ncells++] = (cell){.id = xstrdup(v[0]),
                                 .test = xstrdup(v[1]),
                                 .level = xstrdup(v[2]),
                                 .clauses = xstrdup(v[3]),
                                 .message = xstrdup(v[4]),
                                 .expected = xstrdup(v[5]),
                                 .seen = xstrdup(v[6]),
                                 .result = result_parse(member(doc, "result"))};
  return 0;
}

/* The summary line: the run's target and exit code. */
static int add_summary(column *c, json_t *doc, const char **why) {
  json_t *run = json_object_get(doc, "run");
  const char *target = run ? member(run, "target") : NULL;
  json_t *code = run ? json_object_get(run, "exit_code") : NULL;

  if (!target || !json_is_integer(code)) {
    *why = "a summary line needs \"run\" with \"target\" and \"exit_code\"";
    return -EINVAL;
  }
  free(c->target);
  c->target = xstrdup(target);
  c->exit_code = (int)json_integer_value(code);
  return 0;
}

static int add_line(column *c, const char *line, const char **why) {
  json_error_t jerr;
  json_t *doc = json_loads(line, 0, &jerr);
  int rc;

  if (!json_is_object(doc)) {
    *why = doc ? "not a JSON object" : "not JSON";
    json_decref(doc);
    return -EINVAL;
  }
  rc = json_object_get(doc, "summary") ? add_summary(c, doc, why) : add_case(c, doc, why);
  json_decref(doc);
  return rc;
}

static int read_report(column *c, const char *path, char *err, size_t errlen) {
  FILE *in = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  const char *why = ""; /* add_line sets it with each error */
  int rc = 0;

  if (!in)
    return errbuf_fail(err, errlen, -errno, "cannot read %s: %s", path, strerror(errno));
  while (rc == 0 && getline(&line, &cap, in) >= 0) {
    lineno++;
    if (line[strspn(line, " \t\r\n")] == '\0')
      continue;
    rc = add_line(c, line, &why);
  }
  if (rc < 0)
    errbuf_fail(err, errlen, 0, "%s:%zu: %s", path, lineno, why);
  else if (ferror(in))
    rc = errbuf_fail(err, errlen, -EIO, "reading %s failed", path);
  else if (c->ncells == 0)
    rc = errbuf_fail(err, errlen, -EINVAL, "%s: no case records (is it --format json?)", path);
  free(line);
  fclose(in);
  return rc;
}

/* Catalogue order; IDs it does not know after, in the order first seen. */
static size_t row_rank(const char *id, size_t seen) {
  size_t count;
  const hc_case *cases = catalogue_cases(&count);
  const hc_case *k = catalogue_find(id);

  return k ? (size_t)(k - cases) : count + seen;
}

static void add_rows(matrix *m, const column *c) {
  m->rows = xrealloc(m->rows, (m->nrows + c->ncells + 1) * sizeof(*m->rows));
  for (size_t i = 0; i < c->ncells; i++) {
    size_t at, rank = row_rank(c->cells[i].id, m->nrows);
    int known = 0;
    for (size_t r = 0; r < m->nrows && !known; r++)
      known = strcmp(m->rows[r].c->id, c->cells[i].id) == 0;
    if (known)
      continue;
    for (at = m->nrows; at > 0 && m->rows[at - 1].rank > rank; at--)
      m->rows[at] = m->rows[at - 1];
    m->rows[at] = (matrix_row){.c = &c->cells[i], .rank = rank};
    m->nrows++;
  }
}

/* Takes c's contents on success (c is then cleared); -EEXIST leaves both
 * as they were. */
static int add_column(matrix *m, column *c) {
  for (size_t i = 0; i < m->ncols; i++)
    if (strcmp(m->cols[i].name, c->name) == 0)
      return -EEXIST;
  m->cols = xrealloc(m->cols, (m->ncols + 1) * sizeof(*m->cols));
  add_rows(m, c); /* rows point at the cells, which do not move */
  m->cols[m->ncols++] = *c;
  *c = (column){0};
  return 0;
}

int matrix_new(matrix **out) {
  *out = xcalloc(1, sizeof(**out));
  return 0;
}

void matrix_free(matrix *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->ncols; i++)
    column_free(&m->cols[i]);
  free(m->cols);
  free(m->rows);
  free(m);
}

int matrix_add_file(matrix *m, const char *name, const char *path, char *err, size_t errlen) {
  column c = {.name = xstrdup(name), .exit_code = -1};
  int rc = read_report(&c, path, err, errlen);

  if (rc == 0) {
    rc = add_column(m, &c);
    if (rc == -EEXIST)
      errbuf_fail(err, errlen, 0, "two reports named '%s' (NAME=REPORT names one)", name);
  }
  column_free(&c);
  return rc;
}

int matrix_add_empty(matrix *m, const char *name, const char *note) {
  column c = {.name = xstrdup(name), .note = xstrdup(note), .exit_code = -1};
  int rc = add_column(m, &c);

  column_free(&c);
  return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* The cell of case `id` in c, or NULL (NOT RUN). */
static int result_of(const column *c, const char *id, const cell **out) {
  *out = column_find(c, id);
  return *out ? (*out)->result : RES_NOT_RUN;
}

/* "target T, exit code N: 3 pass, 1 fail, 0 warn, 2 skip, 1 not run". */
static void column_line(const matrix *m, const column *c, char *buf, size_t len) {
  size_t counts[NRES] = {0};
  const cell *x;
  char code[64];

  for (size_t r = 0; r < m->nrows; r++)
    counts[result_of(c, m->rows[r].c->id, &x)]++;
  if (c->exit_code >= 0)
    snprintf(code, sizeof(code), "exit code %d", c->exit_code);
  else
    snprintf(code, sizeof(code), "no summary line (the run did not finish)");
  snprintf(buf, len, "target %s, %s: %zu pass, %zu fail, %zu warn, %zu skip, %zu not run%s%s",
           c->target ? c->target : "unknown", code, counts[RES_PASS], counts[RES_FAIL],
           counts[RES_WARN], counts[RES_SKIP], counts[RES_NOT_RUN], c->note ? "; " : "",
           c->note ? c->note : "");
}

static int col_width(const column *c) {
  int n = (int)strlen(c->name);
  return n > 7 ? n : 7; /* "NOT RUN" */
}

static int write_text(const matrix *m, FILE *f) {
  int wid = 4;
  char line[1200];

  for (size_t r = 0; r < m->nrows; r++)
    if ((int)strlen(m->rows[r].c->id) > wid)
      wid = (int)strlen(m->rows[r].c->id);
  fprintf(f, "health-conformance matrix: %zu reports, %zu cases (NOT RUN: not in that report)\n\n",
          m->ncols, m->nrows);
  fprintf(f, "%-*s %-4s %-6s", wid, "CASE", "TEST", "LEVEL");
  for (size_t k = 0; k < m->ncols; k++)
    fprintf(f, " %-*s", k + 1 < m->ncols ? col_width(&m->cols[k]) : 0, m->cols[k].name);
  fputc('\n', f);
  for (size_t r = 0; r < m->nrows; r++) {
    const cell *row = m->rows[r].c, *x;
    fprintf(f, "%-*s %-4s %-6s", wid, row->id, row->test, row->level);
    for (size_t k = 0; k < m->ncols; k++)
      fprintf(f, " %-*s", k + 1 < m->ncols ? col_width(&m->cols[k]) : 0,
              res_labels[result_of(&m->cols[k], row->id, &x)]);
    fputc('\n', f);
  }
  for (size_t k = 0; k < m->ncols; k++) {
    column_line(m, &m->cols[k], line, sizeof(line));
    fprintf(f, "\n%s: %s\n", m->cols[k].name, line);
    for (size_t r = 0; r < m->nrows; r++) {
      const cell *x;
      int res = result_of(&m->cols[k], m->rows[r].c->id, &x);
      if (res == RES_PASS)
        continue;
      fprintf(f, "  %-7s %s%s%s\n", res_labels[res], m->rows[r].c->id, x ? ": " : "",
              x ? x->message : "");
      if (x && x->expected[0])
        fprintf(f, "          expected: %s\n          seen:     %s\n", x->expected, x->seen);
    }
  }
  return 0;
}

/* Markdown: characters that would start markup or end a table cell get a
 * backslash (CommonMark's backslash escapes). */
static void md(FILE *f, const char *s) {
  for (; *s; s++) {
    if (strchr("\\`*_[]<>|#!", *s))
      fputc('\\', f);
    fputc(*s, f);
  }
}

static int write_markdown(const matrix *m, FILE *f) {
  char line[1200];

  fprintf(f, "| Case | Test | Level |");
  for (size_t k = 0; k < m->ncols; k++) {
    fputc(' ', f);
    md(f, m->cols[k].name);
    fprintf(f, " |");
  }
  fprintf(f, "\n| --- | --- | --- |");
  for (size_t k = 0; k < m->ncols; k++)
    fprintf(f, " --- |");
  fputc('\n', f);
  for (size_t r = 0; r < m->nrows; r++) {
    const cell *row = m->rows[r].c, *x;
    fprintf(f, "| `%s` | %s | %s |", row->id, row->test, row->level);
    for (size_t k = 0; k < m->ncols; k++) {
      int res = result_of(&m->cols[k], row->id, &x);
      fprintf(f, res == RES_FAIL ? " **%s** |" : " %s |", res_labels[res]);
    }
    fputc('\n', f);
  }
  fprintf(f, "\nNOT RUN: the case is not in that report (never counted as a pass).\n");
  for (size_t k = 0; k < m->ncols; k++) {
    fprintf(f, "\n### ");
    md(f, m->cols[k].name);
    column_line(m, &m->cols[k], line, sizeof(line));
    fprintf(f, "\n\n");
    md(f, line);
    fprintf(f, "\n\n");
    for (size_t r = 0; r < m->nrows; r++) {
      const cell *x;
      int res = result_of(&m->cols[k], m->rows[r].c->id, &x);
      if (res == RES_PASS)
        continue;
      fprintf(f, "- %s `%s`", res_labels[res], m->rows[r].c->id);
      if (x) {
        fprintf(f, " (%s): ", x->clauses);
        md(f, x->message);
      }
      if (x && x->expected[0]) {
        fprintf(f, ". Expected: ");
        md(f, x->expected);
        fprintf(f, "; seen: ");
        md(f, x->seen);
      }
      fputc('\n', f);
    }
  }
  return 0;
}

/* The table; each row's data-result names every result in it, so that
 * the filters show a row when any of its cells has a ticked result. */
static void html_table(htmlpage *p, const matrix *m) {
  xmlNodePtr table = htmlpage_el(p, p->body, "table", NULL);
  xmlNodePtr head = htmlpage_el(p, table, "tr", NULL);
  size_t counts[NRES] = {0};

  htmlpage_attr(p, table, "id", "matrix");
  htmlpage_el(p, head, "th", "case");
  htmlpage_el(p, head, "th", "test");
  htmlpage_el(p, head, "th", "level");
  for (size_t k = 0; k < m->ncols; k++)
    htmlpage_el(p, head, "th", m->cols[k].name);
  for (size_t r = 0; r < m->nrows; r++) {
    const cell *row = m->rows[r].c, *x;
    xmlNodePtr tr = htmlpage_el(p, table, "tr", NULL), td;
    char results[64] = "";
    int present[NRES] = {0};
    htmlpage_attr(p, tr, "data-id", row->id);
    htmlpage_el(p, tr, "td", row->id);
    htmlpage_el(p, tr, "td", row->test);
    htmlpage_el(p, tr, "td", row->level);
    for (size_t k = 0; k < m->ncols; k++) {
      int res = result_of(&m->cols[k], row->id, &x);
      td = htmlpage_el(p, tr, "td", res_labels[res]);
      htmlpage_attr(p, td, "class", res_names[res]);
      if (x && x->message[0])
        htmlpage_attr(p, td, "title", x->message);
      counts[res]++;
      present[res] = 1;
    }
    for (int i = 0; i < NRES; i++)
      if (present[i])
        snprintf(results + strlen(results), sizeof(results) - strlen(results), "%s%s",
                 results[0] ? " " : "", res_names[i]);
    htmlpage_attr(p, tr, "data-result", results);
  }
  htmlpage_filters(p, p->body, res_names, counts, NRES);
  xmlAddPrevSibling(table, p->body->last); /* the filters above the table */
}

/* One section per report: its line and every non-pass cell. */
static void html_column(htmlpage *p, const matrix *m, const column *c) {
  xmlNodePtr sec = htmlpage_el(p, p->body, "section", NULL), ul;
  char line[1200];

  htmlpage_attr(p, sec, "data-report", c->name);
  htmlpage_el(p, sec, "h2", c->name);
  column_line(m, c, line, sizeof(line));
  htmlpage_el(p, sec, "p", line);
  ul = htmlpage_el(p, sec, "ul", NULL);
  for (size_t r = 0; r < m->nrows; r++) {
    const cell *x;
    int res = result_of(c, m->rows[r].c->id, &x);
    xmlNodePtr li, dl;
    if (res == RES_PASS)
      continue;
    li = htmlpage_el(p, ul, "li", NULL);
    htmlpage_attr(p, li, "class", res_names[res]);
    htmlpage_attr(p, li, "data-id", m->rows[r].c->id);
    htmlpage_el(p, li, "strong", res_labels[res]);
    htmlpage_elf(p, li, "code", " %s", m->rows[r].c->id);
    if (!x)
      continue;
    dl = htmlpage_el(p, li, "dl", NULL);
    htmlpage_def(p, dl, "message", x->message);
    htmlpage_def(p, dl, "clauses", x->clauses);
    if (x->expected[0]) {
      htmlpage_def(p, dl, "expected", x->expected);
      htmlpage_def(p, dl, "seen", x->seen);
    }
  }
}

static int write_html(const matrix *m, FILE *f) {
  htmlpage p;
  int rc = htmlpage_init(&p, "health-conformance matrix");

  if (rc < 0)
    return rc;
  htmlpage_elf(&p, p.body, "p",
               "%zu reports, %zu cases. NOT RUN: the case is not in that "
               "report (never counted as a pass).",
               m->ncols, m->nrows);
  html_table(&p, m);
  for (size_t k = 0; k < m->ncols; k++)
    html_column(&p, m, &m->cols[k]);
  rc = htmlpage_write(&p, f);
  htmlpage_free(&p);
  return rc;
}

int matrix_format_parse(const char *name, matrix_format *fmt) {
  if (strcmp(name, "text") == 0)
    *fmt = MATRIX_TEXT;
  else if (strcmp(name, "markdown") == 0 || strcmp(name, "md") == 0)
    *fmt = MATRIX_MARKDOWN;
  else if (strcmp(name, "html") == 0)
    *fmt = MATRIX_HTML;
  else
    return -EINVAL;
  return 0;
}

int matrix_write(const matrix *m, matrix_format fmt, FILE *f) {
  int rc = fmt == MATRIX_HTML       ? write_html(m, f)
           : fmt == MATRIX_MARKDOWN ? write_markdown(m, f)
                                    : write_text(m, f);
  if (rc == 0 && (fflush(f) != 0 || ferror(f)))
    rc = -EIO;
  return rc;
}

/* ---- the subcommand ----------------------------------------------------- */

static void matrix_usage(FILE *f) {
  fprintf(f, "Usage: " PROG
             " [--format F] [--output FILE] [NAME=]REPORT.ndjson...\n"
             "\n"
             "Merges NDJSON reports (health-conformance --format json), one per\n"
             "implementation, build or target, into one case x report table. A case\n"
             "missing from a report is NOT RUN there, never a pass; every non-pass cell\n"
             "is listed under its report with the message, expected and seen.\n"
             "\n"
             "  --format F     text (default), markdown (md) or html (one self-contained page)\n"
             "  --output FILE  where to write it (default stdout)\n"
             "  NAME=REPORT    names the column (default: the file name without .ndjson)\n"
             "\n"
             "Exit: 0 written; 1 the output could not be written; 2 usage error or a\n"
             "report that cannot be read (the message names the file and line).\n");
}

static int matrix_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int matrix_usage_error(const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  cli_vusage_message("matrix", fmt, ap);
  va_end(ap);
  return 2;
}

/* "NAME=PATH" names the column; otherwise the file name without its
 * .ndjson / .json extension. */
static void column_name(const char *arg, char *name, size_t len, const char **path) {
  const char *eq = strchr(arg, '='), *base, *dot;

  if (eq && eq != arg && !memchr(arg, '/', (size_t)(eq - arg))) {
    snprintf(name, len, "%.*s", (int)(eq - arg), arg);
    *path = eq + 1;
    return;
  }
  *path = arg;
  base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
  dot = strrchr(base, '.');
  if (dot && dot != base && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".json") == 0))
    snprintf(name, len, "%.*s", (int)(dot - base), base);
  else
    snprintf(name, len, "%s", base);
}

static int write_output(const matrix *m, matrix_format fmt, const char *path) {
  FILE *f = path ? fopen(path, "w") : stdout;
  int rc;

  if (!f) {
    fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  rc = matrix_write(m, fmt, f);
  if (path && fclose(f) != 0)
    rc = -EIO;
  if (rc < 0)
    fprintf(stderr, PROG ": writing %s failed: %s\n", path ? path : "stdout", strerror(-rc));
  return rc < 0 ? 1 : 0;
}

int matrix_main(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  matrix_format fmt = MATRIX_TEXT;
  const char *output = NULL;
  matrix *m = NULL;
  char err[512], name[128];
  int opt, rc = 0;

  optind = 1;
  while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (opt == 'h') {
      matrix_usage(stdout);
      return 0;
    }
    if (opt == 'f' && matrix_format_parse(optarg, &fmt) < 0)
      return matrix_usage_error("--format: unknown format '%s' (text, markdown, html)", optarg);
    if (opt == 'o')
      output = optarg;
    if (opt == '?')
      return matrix_usage_error("a bad option (named above)");
  }
  if (optind >= argc)
    return matrix_usage_error("no report given (REPORT.ndjson from --format json)");
  if (matrix_new(&m) < 0)
    return matrix_usage_error("out of memory");
  for (int i = optind; i < argc && rc == 0; i++) {
    const char *path;
    column_name(argv[i], name, sizeof(name), &path);
    if (matrix_add_file(m, name, path, err, sizeof(err)) < 0)
      rc = matrix_usage_error("%s", err);
  }
  if (rc == 0)
    rc = write_output(m, fmt, output);
  matrix_free(m);
  return rc;
}
