/* report: text, TAP 13, JUnit XML and NDJSON writers behind one interface
 * (HTML is in report_html.c). See report.h for the formats. */
#define _GNU_SOURCE /* strdup */
#include "report.h"
#include "report_writer.h"

#include <errno.h>
#include <jansson.h>
#include <libxml/encoding.h>
#include <libxml/xmlstring.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

struct report {
  writer *writers;
  size_t count;
  report_run_info info; /* its strings point into the copies below */
  char version[64], target[512], options[1400], started[40];
  size_t index;
};

/* ---- shared helpers ---------------------------------------------------- */

/* Control characters become spaces; a string that is not valid UTF-8 has
 * its non-ASCII bytes replaced by '?'. XML and JSON both need this. */
static void clean_text(char *s) {
  int utf8_ok = xmlCheckUTF8((const xmlChar *)s);

  for (unsigned char *p = (unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f)
      *p = ' ';
    else if (*p >= 0x80 && !utf8_ok)
      *p = '?';
  }
}

static const char *family(const char *id, char *buf, size_t len) {
  const char *slash = strchr(id, '/');
  size_t n = slash ? (size_t)(slash - id) : strlen(id);

  snprintf(buf, len, "%.*s", (int)n, id);
  return buf;
}

/* ---- text -------------------------------------------------------------- */

#define ANSI_RESET "\033[0m"

static const char *text_colour(const entry *e) {
  switch (e->res.outcome) {
  case OUTCOME_PASS:
    return "\033[32m";
  case OUTCOME_FAIL:
    return "\033[1;31m";
  case OUTCOME_WARN:
    return "\033[33m";
  case OUTCOME_SKIP:
    return "\033[36m";
  }
  return "";
}

static void text_begin(writer *w, const report_run_info *info) {
  fprintf(w->f, "health-conformance %s\n", info->version);
  fprintf(w->f, "target:  %s\n", info->target);
  fprintf(w->f, "options: %s\n", info->options);
  fprintf(w->f, "started: %s\n\n", info->started);
  fflush(w->f);
}

static void text_add(writer *w, const entry *e, size_t index) {
  const case_result *r = &e->res;
  char label[8];

  snprintf(label, sizeof(label), "%s", catalogue_outcome_name(r->outcome));
  for (char *p = label; *p; p++)
    *p = (char)(*p - 'a' + 'A');
  fprintf(w->f, "%4zu  %s%-4s%s  %-44s %-4s %-6s %5ld ms", index, w->colour ? text_colour(e) : "",
          label, w->colour ? ANSI_RESET : "", e->c->id, e->c->test,
          catalogue_level_name(e->c->level), e->duration_ms);
  if (r->outcome == OUTCOME_SKIP || (r->outcome == OUTCOME_PASS && r->message[0]))
    fprintf(w->f, "  %s", r->message);
  fputc('\n', w->f);
  if (r->outcome == OUTCOME_FAIL || r->outcome == OUTCOME_WARN) {
    fprintf(w->f, "      %s%s\n", r->message,
            e->counts ? "" : "  (does not fail the run; --strict makes it)");
    fprintf(w->f, "      clauses:  %s\n", e->c->clauses);
    if (e->c->clause_text && e->c->clause_text[0])
      fprintf(w->f, "      clause:   %s\n", e->c->clause_text);
    fprintf(w->f, "      expected: %s\n", r->expected);
    fprintf(w->f, "      seen:     %s\n", r->seen);
  }
  fflush(w->f);
}

static void text_end(writer *w, const report_run_info *info, const report_summary *s) {
  (void)info;
  fprintf(w->f, "\n%zu cases: %zu passed, %zu failed, %zu warned, %zu skipped; exit code %d\n",
          s->passed + s->failed + s->warned + s->skipped, s->passed, s->failed, s->warned,
          s->skipped, s->exit_code);
}

/* ---- TAP 13 ------------------------------------------------------------ */

/* One YAML value: a JSON string is a valid YAML double-quoted scalar.
 * Out of memory, the field is left out and report_end fails (-EIO). */
static void yaml_field(writer *w, const char *key, const char *value) {
  json_t *str = json_string(value);
  char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;

  if (text)
    fprintf(w->f, "  %s: %s\n", key, text);
  else
    w->oom = 1;
  free(text);
  json_decref(str);
}

/* '#' starts a TAP directive; keep it out of descriptions and reasons. */
static void tap_safe(char *s) {
  for (; *s; s++)
    if (*s == '#')
      *s = ' ';
}

static void tap_begin(writer *w, const report_run_info *info) {
  fprintf(w->f, "TAP version 13\n");
  fprintf(w->f, "# health-conformance %s target %s started %s\n", info->version, info->target,
          info->started);
  fprintf(w->f, "# options: %s\n", info->options);
  fprintf(w->f, "1..%zu\n", info->total);
  fflush(w->f);
}

static void tap_add(writer *w, const entry *e, size_t index) {
  const case_result *r = &e->res;
  char desc[256], reason[CASE_TEXT_MAX];
  int bad = r->outcome == OUTCOME_FAIL || (r->outcome == OUTCOME_WARN && e->counts);

  snprintf(desc, sizeof(desc), "%s (%s %s %s)", e->c->id, e->c->test,
           catalogue_level_name(e->c->level), e->c->clauses);
  tap_safe(desc);
  snprintf(reason, sizeof(reason), "%s", r->message);
  tap_safe(reason);
  fprintf(w->f, "%s %zu - %s", bad ? "not ok" : "ok", index, desc);
  if (r->outcome == OUTCOME_SKIP)
    fprintf(w->f, " # SKIP %s", reason);
  else if (bad && !e->counts)
    fprintf(w->f, " # TODO %s failure does not fail the run without --strict",
            catalogue_level_name(e->c->level));
  fputc('\n', w->f);
  if (r->outcome == OUTCOME_FAIL || r->outcome == OUTCOME_WARN) {
    fprintf(w->f, "  ---\n");
    yaml_field(w, "severity", catalogue_outcome_name(r->outcome));
    yaml_field(w, "message", r->message);
    yaml_field(w, "clauses", e->c->clauses);
    yaml_field(w, "clause", e->c->clause_text ? e->c->clause_text : "");
    yaml_field(w, "expected", r->expected);
    yaml_field(w, "seen", r->seen);
    fprintf(w->f, "  duration_ms: %ld\n  ...\n", e->duration_ms);
  }
  fflush(w->f);
}

static void tap_end(writer *w, const report_run_info *info, const report_summary *s) {
  (void)info;
  fprintf(w->f, "# %zu passed, %zu failed, %zu warned, %zu skipped; exit code %d\n", s->passed,
          s->failed, s->warned, s->skipped, s->exit_code);
}

/* ---- JUnit XML --------------------------------------------------------- */

void report_keep(writer *w, const entry *e, size_t index) {
  (void)index;
  if (w->nkept == w->capkept) {
    size_t cap = w->capkept ? w->capkept * 2 : 64;
    entry *grown = realloc(w->kept, cap * sizeof(*grown));
    if (!grown) {
      w->oom = 1;
      return;
    }
    w->kept = grown;
    w->capkept = cap;
  }
  w->kept[w->nkept++] = *e;
}

int report_is_failure(const entry *e) {
  return e->res.outcome == OUTCOME_FAIL || (e->res.outcome == OUTCOME_WARN && e->counts);
}

static void junit_counts(const writer *w, size_t *failures, size_t *skipped, double *seconds) {
  *failures = *skipped = 0;
  *seconds = 0;
  for (size_t i = 0; i < w->nkept; i++) {
    *failures += (size_t)report_is_failure(&w->kept[i]);
    *skipped += (size_t)(w->kept[i].res.outcome == OUTCOME_SKIP);
    *seconds += (double)w->kept[i].duration_ms / 1000.0;
  }
}

/* Attributes shared by <testsuites> and <testsuite>. */
static int junit_totals(xmlTextWriterPtr x, const writer *w) {
  size_t failures, skipped;
  double seconds;
  int rc = 0;

  junit_counts(w, &failures, &skipped, &seconds);
  rc |= xmlTextWriterWriteFormatAttribute(x, BAD_CAST "tests", "%zu", w->nkept) < 0;
  rc |= xmlTextWriterWriteFormatAttribute(x, BAD_CAST "failures", "%zu", failures) < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "errors", BAD_CAST "0") < 0;
  rc |= xmlTextWriterWriteFormatAttribute(x, BAD_CAST "skipped", "%zu", skipped) < 0;
  rc |= xmlTextWriterWriteFormatAttribute(x, BAD_CAST "time", "%.3f", seconds) < 0;
  return rc ? -EIO : 0;
}

static int junit_property(xmlTextWriterPtr x, const char *name, const char *value) {
  int rc = 0;
  rc |= xmlTextWriterStartElement(x, BAD_CAST "property") < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST name) < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "value", BAD_CAST value) < 0;
  rc |= xmlTextWriterEndElement(x) < 0;
  return rc ? -EIO : 0;
}

static int junit_testcase(xmlTextWriterPtr x, const entry *e) {
  const case_result *r = &e->res;
  char fam[64], classname[96];
  int rc = 0;

  snprintf(classname, sizeof(classname), "health-conformance.%s",
           family(e->c->id, fam, sizeof(fam)));
  rc |= xmlTextWriterStartElement(x, BAD_CAST "testcase") < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST e->c->id) < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "classname", BAD_CAST classname) < 0;
  rc |= xmlTextWriterWriteFormatAttribute(x, BAD_CAST "time", "%.3f",
                                          (double)e->duration_ms / 1000.0) < 0;
  if (report_is_failure(e)) {
    rc |= xmlTextWriterStartElement(x, BAD_CAST "failure") < 0;
    rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "message", BAD_CAST r->message) < 0;
    rc |=
        xmlTextWriterWriteAttribute(
            x, BAD_CAST "type",
            BAD_CAST(r->outcome == OUTCOME_WARN ? "WARN" : catalogue_level_name(e->c->level))) < 0;
    rc |= xmlTextWriterWriteFormatString(x, "clauses: %s\nclause: %s\nexpected: %s\nseen: %s\n",
                                         e->c->clauses, e->c->clause_text ? e->c->clause_text : "",
                                         r->expected, r->seen) < 0;
    rc |= xmlTextWriterEndElement(x) < 0;
  } else if (r->outcome == OUTCOME_SKIP) {
    rc |= xmlTextWriterStartElement(x, BAD_CAST "skipped") < 0;
    rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "message", BAD_CAST r->message) < 0;
    rc |= xmlTextWriterEndElement(x) < 0;
  }
  rc |= xmlTextWriterStartElement(x, BAD_CAST "system-out") < 0;
  rc |= xmlTextWriterWriteFormatString(x, "%s %s %s %s: %s", catalogue_outcome_name(r->outcome),
                                       e->c->test, catalogue_level_name(e->c->level), e->c->clauses,
                                       r->message) < 0;
  if (r->outcome == OUTCOME_WARN && !e->counts)
    rc |= xmlTextWriterWriteFormatString(x, " (expected: %s; seen: %s)", r->expected, r->seen) < 0;
  rc |= xmlTextWriterEndElement(x) < 0;
  rc |= xmlTextWriterEndElement(x) < 0;
  return rc ? -EIO : 0;
}

static void junit_end(writer *w, const report_run_info *info, const report_summary *s) {
  xmlOutputBufferPtr buf = xmlOutputBufferCreateFile(w->f, NULL);
  xmlTextWriterPtr x = buf ? xmlNewTextWriter(buf) : NULL;
  char stamp[32];
  int rc = 0;

  (void)s;
  if (!x) {
    if (buf)
      xmlOutputBufferClose(buf);
    w->oom = 1;
    return;
  }
  /* The Ant schema's timestamp has no zone designator; ours is UTC. */
  snprintf(stamp, sizeof(stamp), "%.19s", info->started);
  xmlTextWriterSetIndent(x, 1);
  rc |= xmlTextWriterStartDocument(x, NULL, "UTF-8", NULL) < 0;
  rc |= xmlTextWriterStartElement(x, BAD_CAST "testsuites") < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST "health-conformance") < 0;
  rc |= junit_totals(x, w) < 0;
  rc |= xmlTextWriterStartElement(x, BAD_CAST "testsuite") < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST "health-conformance") < 0;
  rc |= junit_totals(x, w) < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "timestamp", BAD_CAST stamp) < 0;
  rc |= xmlTextWriterWriteAttribute(x, BAD_CAST "hostname", BAD_CAST info->target) < 0;
  rc |= xmlTextWriterStartElement(x, BAD_CAST "properties") < 0;
  rc |= junit_property(x, "version", info->version) < 0;
  rc |= junit_property(x, "target", info->target) < 0;
  rc |= junit_property(x, "options", info->options) < 0;
  rc |= junit_property(x, "started", info->started) < 0;
  rc |= xmlTextWriterEndElement(x) < 0;
  for (size_t i = 0; i < w->nkept; i++)
    rc |= junit_testcase(x, &w->kept[i]) < 0;
  rc |= xmlTextWriterEndDocument(x) < 0; /* closes every open element */
  xmlFreeTextWriter(x);                  /* flushes and frees buf, not w->f */
  if (rc)
    w->oom = 1;
}

/* ---- NDJSON ------------------------------------------------------------ */

static void json_line(writer *w, json_t *doc) {
  if (!doc || json_dumpf(doc, w->f, JSON_COMPACT) < 0)
    w->oom = 1;
  fputc('\n', w->f);
  fflush(w->f);
  json_decref(doc);
}

static void json_add(writer *w, const entry *e, size_t index) {
  json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", e->c->id, "test", e->c->test,
                          "clauses", e->c->clauses, "level", catalogue_level_name(e->c->level),
                          "result", catalogue_outcome_name(e->res.outcome), "message",
                          e->res.message, "duration_ms", (json_int_t)e->duration_ms);

  (void)index;
  if (doc && (e->res.outcome == OUTCOME_FAIL || e->res.outcome == OUTCOME_WARN) &&
      (json_object_set_new(doc, "expected", json_string(e->res.expected)) < 0 ||
       json_object_set_new(doc, "seen", json_string(e->res.seen)) < 0))
    w->oom = 1; /* a record short of a field: report_end fails (-EIO) */
  json_line(w, doc);
}

static void json_end(writer *w, const report_run_info *info, const report_summary *s) {
  json_line(w, json_pack("{s:{s:I, s:I, s:I, s:I}, s:{s:s, s:s, s:s, s:s, s:i}}", "summary",
                         "passed", (json_int_t)s->passed, "failed", (json_int_t)s->failed, "warned",
                         (json_int_t)s->warned, "skipped", (json_int_t)s->skipped, "run", "version",
                         info->version, "target", info->target, "options", info->options, "started",
                         info->started, "exit_code", s->exit_code));
}

/* ---- the interface ----------------------------------------------------- */

static const writer_ops text_ops = {text_begin, text_add, text_end};
static const writer_ops tap_ops = {tap_begin, tap_add, tap_end};
static const writer_ops junit_ops = {NULL, report_keep, junit_end};
static const writer_ops json_ops = {NULL, json_add, json_end};

static const writer_ops *const ops_by_format[] = {
    [REPORT_TEXT] = &text_ops, [REPORT_TAP] = &tap_ops,          [REPORT_JUNIT] = &junit_ops,
    [REPORT_JSON] = &json_ops, [REPORT_HTML] = &report_html_ops,
};

static const char *const format_names[] = {"text", "tap", "junit", "json", "html"};

int report_format_parse(const char *name, report_format *fmt) {
  for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
    if (strcmp(name, format_names[i]) == 0) {
      *fmt = (report_format)i;
      return 0;
    }
  }
  if (strcmp(name, "ndjson") == 0) {
    *fmt = REPORT_JSON;
    return 0;
  }
  return -EINVAL;
}

const char *report_format_name(report_format fmt) {
  return (unsigned)fmt < sizeof(format_names) / sizeof(format_names[0]) ? format_names[fmt]
                                                                        : "invalid";
}

int report_new(report **out) {
  report *r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  *out = r;
  return 0;
}

static void writer_close(writer *w) {
  if (w->owned && w->f)
    fclose(w->f);
  w->f = NULL;
  w->owned = 0;
  free(w->kept);
  w->kept = NULL;
  free(w->path);
  w->path = NULL;
}

void report_free(report *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->count; i++)
    writer_close(&r->writers[i]);
  free(r->writers);
  free(r);
}

static int add_writer(report *r, report_format fmt, FILE *f, int owned, const char *path,
                      int colour) {
  writer *grown;
  char *copy = strdup(path);

  if ((unsigned)fmt >= sizeof(ops_by_format) / sizeof(ops_by_format[0]) || !copy) {
    free(copy);
    return copy ? -EINVAL : -ENOMEM;
  }
  grown = realloc(r->writers, (r->count + 1) * sizeof(*grown));
  if (!grown) {
    free(copy);
    return -ENOMEM;
  }
  r->writers = grown;
  r->writers[r->count++] = (writer){.ops = ops_by_format[fmt],
                                    .fmt = fmt,
                                    .f = f,
                                    .owned = owned,
                                    .path = copy,
                                    .colour = colour && fmt == REPORT_TEXT};
  return 0;
}

int report_add_stream(report *r, report_format fmt, FILE *stream, int colour) {
  return add_writer(r, fmt, stream, 0, "(stream)", colour);
}

int report_add_path(report *r, report_format fmt, const char *path, char *err, size_t errlen) {
  FILE *f;
  int rc;

  if (strcmp(path, "-") == 0)
    return add_writer(r, fmt, stdout, 0, "stdout", 0);
  f = fopen(path, "w");
  if (!f) {
    rc = -errno;
    return errbuf_fail(err, errlen, rc, "cannot write %s: %s", path, strerror(errno));
  }
  rc = add_writer(r, fmt, f, 1, path, 0);
  if (rc < 0) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
  }
  return rc;
}

void report_begin(report *r, const report_run_info *info) {
  snprintf(r->version, sizeof(r->version), "%s", info->version);
  snprintf(r->target, sizeof(r->target), "%s", info->target);
  snprintf(r->options, sizeof(r->options), "%s", info->options);
  snprintf(r->started, sizeof(r->started), "%s", info->started);
  r->info = *info;
  r->info.version = r->version;
  r->info.target = r->target;
  r->info.options = r->options;
  r->info.started = r->started;
  info = &r->info;
  r->index = 0;
  for (size_t i = 0; i < r->count; i++)
    if (r->writers[i].ops->begin)
      r->writers[i].ops->begin(&r->writers[i], info);
}

void report_case(report *r, const hc_case *c, const case_result *res, long duration_ms,
                 int counts) {
  entry e = {.c = c, .res = *res, .duration_ms = duration_ms, .counts = counts};

  /* A case may put any bytes in its texts; no format survives them raw. */
  e.res.message[CASE_TEXT_MAX - 1] = e.res.expected[CASE_TEXT_MAX - 1] =
      e.res.seen[CASE_TEXT_MAX - 1] = '\0';
  clean_text(e.res.message);
  clean_text(e.res.expected);
  clean_text(e.res.seen);
  r->index++;
  for (size_t i = 0; i < r->count; i++)
    r->writers[i].ops->add(&r->writers[i], &e, r->index);
}

int report_end(report *r, const report_summary *s, char *err, size_t errlen) {
  int ret = 0;

  for (size_t i = 0; i < r->count; i++) {
    writer *w = &r->writers[i];
    w->ops->end(w, &r->info, s);
    if (fflush(w->f) != 0 || ferror(w->f) || w->oom) {
      if (ret == 0)
        snprintf(err, errlen, "writing the %s report to %s failed", report_format_name(w->fmt),
                 w->path);
      ret = -EIO;
    }
    if (w->owned && fclose(w->f) != 0 && ret == 0) {
      snprintf(err, errlen, "closing %s failed", w->path);
      ret = -EIO;
    }
    w->f = NULL;
    w->owned = 0;
  }
  return ret;
}
