/*
 * selection: --run / --skip patterns and the known-failing baseline. See
 * selection.h.
 */
#define _GNU_SOURCE /* strndup */
#include "selection.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "readfile.h"

#define FILE_MAX (1024 * 1024) /* a pattern file is small; this bounds a mistake */
/* Messages quote at most this much of a pattern, so that what is wrong with
 * it survives in a RUNNER_ERR_MAX buffer (fuzz_baseline: a 3000-byte ID
 * without a reason lost "has no reason"). */
#define QUOTE_MAX 60
#define QUOTE_LEN(len) ((int)((len) < QUOTE_MAX ? (len) : QUOTE_MAX))

/* A growable list of owned strings. */
typedef struct strlist {
  char **v;
  size_t n, cap;
} strlist;

static int strlist_push(strlist *l, const char *s, size_t len) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    char **v = realloc(l->v, cap * sizeof(*v));
    if (!v)
      return -ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n] = strndup(s, len);
  if (!l->v[l->n])
    return -ENOMEM;
  l->n++;
  return 0;
}

/* Drops the entries from index n on: undoes the pushes of a failed call. */
static void strlist_truncate(strlist *l, size_t n) {
  while (l->n > n)
    free(l->v[--l->n]);
}

static void strlist_clear(strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  *l = (strlist){0};
}

/* Reads a whole (small) file into a NUL-terminated buffer the caller frees,
 * up to FILE_MAX: a pipe (--known-failing <(...)) works too. */
static int read_file(const char *path, char **out, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc;

  if (fd < 0)
    return errbuf_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
  rc = readfile_fd(fd, FILE_MAX, out, NULL);
  close(fd);
  if (rc == -ENOMEM)
    return errbuf_fail(err, errlen, rc, "out of memory");
  if (rc == -EFBIG)
    return errbuf_fail(err, errlen, rc, "%s: larger than %d bytes", path, FILE_MAX);
  if (rc < 0)
    return errbuf_fail(err, errlen, -EIO, "%s: read error", path);
  return 0;
}

/* One line split into its first word and the trimmed rest. */
typedef struct line_parts {
  const char *word, *rest;
  size_t wlen, rlen;
} line_parts;

static void split_line(const char *line, size_t len, line_parts *p) {
  const char *end = line + len;
  while (line < end && isspace((unsigned char)*line))
    line++;
  p->word = line;
  while (line < end && !isspace((unsigned char)*line))
    line++;
  p->wlen = (size_t)(line - p->word);
  while (line < end && isspace((unsigned char)*line))
    line++;
  while (end > line && isspace((unsigned char)end[-1]))
    end--;
  p->rest = line;
  p->rlen = (size_t)(end - line);
}

/* Calls fn for each line that is not blank or a '#' comment. */
typedef int (*line_fn)(void *ud, const line_parts *p, const char *name, int lineno, char *err,
                       size_t errlen);

static int each_line(const char *text, const char *name, line_fn fn, void *ud, char *err,
                     size_t errlen) {
  int lineno = 0;
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    line_parts p;
    lineno++;
    split_line(line, len, &p);
    if (p.wlen && p.word[0] != '#') {
      int rc = fn(ud, &p, name, lineno, err, errlen);
      if (rc < 0)
        return rc;
    }
    line = nl ? nl + 1 : line + len;
  }
  return 0;
}

struct selection {
  strlist run, skip;
};

int selection_new(selection **out) {
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : -ENOMEM;
}

void selection_free(selection *s) {
  if (!s)
    return;
  strlist_clear(&s->run);
  strlist_clear(&s->skip);
  free(s);
}

static int add_pattern_line(void *ud, const line_parts *p, const char *name, int lineno, char *err,
                            size_t errlen) {
  if (p->rlen && p->rest[0] != '#')
    return errbuf_fail(err, errlen, -EINVAL, "%s:%d: one pattern per line ('%.*s' follows it)",
                       name, lineno, QUOTE_LEN(p->rlen), p->rest);
  return strlist_push(ud, p->word, p->wlen) < 0 ? errbuf_fail(err, errlen, -ENOMEM, "out of memory")
                                                : 0;
}

int selection_add(selection *s, int skip, const char *arg, char *err, size_t errlen) {
  strlist *l = skip ? &s->skip : &s->run;
  size_t before = l->n;
  char *text = NULL;
  int rc;

  if (arg[0] != '@') {
    if (!arg[0])
      return errbuf_fail(err, errlen, -EINVAL, "empty pattern");
    return strlist_push(l, arg, strlen(arg)) < 0
               ? errbuf_fail(err, errlen, -ENOMEM, "out of memory")
               : 0;
  }
  rc = read_file(arg + 1, &text, err, errlen);
  if (rc < 0)
    return rc;
  rc = each_line(text, arg + 1, add_pattern_line, l, err, errlen);
  free(text);
  if (rc < 0) /* a bad line refuses the whole file, not the lines after it only */
    strlist_truncate(l, before);
  return rc;
}

static int any_match(const strlist *l, const char *id) {
  for (size_t i = 0; i < l->n; i++)
    if (fnmatch(l->v[i], id, 0) == 0)
      return 1;
  return 0;
}

int selection_match(const selection *s, const char *id) {
  if (!s)
    return 1;
  if (s->run.n && !any_match(&s->run, id))
    return 0;
  return !any_match(&s->skip, id);
}

/* The first pattern of l matching none of the cases, or NULL. */
static const char *unmatched(const strlist *l, const hc_case *cases, size_t n) {
  for (size_t i = 0; i < l->n; i++) {
    size_t k = 0;
    while (k < n && fnmatch(l->v[i], cases[k].id, 0) != 0)
      k++;
    if (k == n)
      return l->v[i];
  }
  return NULL;
}

int selection_check(const selection *s, const hc_case *cases, size_t n, char *err, size_t errlen) {
  const char *p = unmatched(&s->run, cases, n);
  if (p)
    return errbuf_fail(err, errlen, -ENOENT, "--run '%.*s' matches no case (see --list)",
                       QUOTE_LEN(strlen(p)), p);
  p = unmatched(&s->skip, cases, n);
  if (p)
    return errbuf_fail(err, errlen, -ENOENT, "--skip '%.*s' matches no case (see --list)",
                       QUOTE_LEN(strlen(p)), p);
  return 0;
}

struct baseline {
  strlist patterns, reasons, wheres; /* parallel: glob, reason, "FILE:LINE" */
};

static int add_entry_line(void *ud, const line_parts *p, const char *name, int lineno, char *err,
                          size_t errlen) {
  baseline *b = ud;
  const char *reason = p->rest;
  size_t rlen = p->rlen;
  char where[300];

  if (rlen && reason[0] == '#') { /* "ID  # why" */
    reason++;
    rlen--;
    while (rlen && isspace((unsigned char)*reason)) {
      reason++;
      rlen--;
    }
  }
  if (!rlen)
    return errbuf_fail(err, errlen, -EINVAL, "%s:%d: '%.*s' has no reason (write: ID  reason)",
                       name, lineno, QUOTE_LEN(p->wlen), p->word);
  snprintf(where, sizeof(where), "%s:%d", name, lineno);
  if (strlist_push(&b->patterns, p->word, p->wlen) < 0 ||
      strlist_push(&b->reasons, reason, rlen) < 0 ||
      strlist_push(&b->wheres, where, strlen(where)) < 0)
    return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
  return 0;
}

int baseline_parse(const char *text, const char *name, baseline **out, char *err, size_t errlen) {
  baseline *b = calloc(1, sizeof(*b));
  int rc;

  if (!b)
    return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
  rc = each_line(text, name, add_entry_line, b, err, errlen);
  if (rc < 0) {
    baseline_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

int baseline_load(const char *path, baseline **out, char *err, size_t errlen) {
  char *text = NULL;
  int rc = read_file(path, &text, err, errlen);
  if (rc < 0)
    return rc;
  rc = baseline_parse(text, path, out, err, errlen);
  free(text);
  return rc;
}

void baseline_free(baseline *b) {
  if (!b)
    return;
  strlist_clear(&b->patterns);
  strlist_clear(&b->reasons);
  strlist_clear(&b->wheres);
  free(b);
}

int baseline_check(const baseline *b, const hc_case *cases, size_t n, char *err, size_t errlen) {
  for (size_t i = 0; i < b->patterns.n; i++) {
    size_t k = 0;
    while (k < n && fnmatch(b->patterns.v[i], cases[k].id, 0) != 0)
      k++;
    if (k == n)
      return errbuf_fail(err, errlen, -ENOENT, "%s: '%.*s' matches no case (see --list)",
                         b->wheres.v[i], QUOTE_LEN(strlen(b->patterns.v[i])), b->patterns.v[i]);
  }
  return 0;
}

int baseline_verdict(const baseline *b, const hc_case *c, case_result *res, int counts) {
  char msg[CASE_TEXT_MAX], expected[CASE_TEXT_MAX];
  size_t i = 0;

  if (!b)
    return counts;
  while (i < b->patterns.n && fnmatch(b->patterns.v[i], c->id, 0) != 0)
    i++;
  if (i == b->patterns.n || res->outcome == OUTCOME_SKIP)
    return counts;
  if (res->outcome == OUTCOME_FAIL || res->outcome == OUTCOME_WARN) {
    snprintf(msg, sizeof(msg), "known failing (%.120s: %.120s): %.250s", b->wheres.v[i],
             b->reasons.v[i], res->message);
    memcpy(res->message, msg, sizeof(msg));
    return 0;
  }
  snprintf(expected, sizeof(expected), "a failure, as %.150s lists (%.200s)", b->wheres.v[i],
           b->reasons.v[i]);
  snprintf(msg, sizeof(msg), "passed: %.400s", res->message);
  case_fail(res, expected, msg,
            "stale known-failing entry: %.150s now passes; remove it from %.150s", c->id,
            b->wheres.v[i]);
  return 1;
}
