/*
 * selection: which cases run (--run / --skip) and which are expected to
 * fail (--known-failing), as pure data so that both are unit-testable.
 *
 * Patterns are fnmatch(3) globs on case IDs without FNM_PATHNAME, so a
 * star also matches the slash: "http/" + "*" selects every HTTP case. An argument "@FILE" stands
 * for the patterns in FILE, one per line ('#' comment lines and blank lines allowed, a trailing "#
 * comment" too).
 *
 * Known-failing file (as in connectrpc conformance): one case ID or glob
 * per line, then whitespace and a reason, which is mandatory; a reason
 * may be written "# why". '#' comment lines and blank lines are allowed.
 * A listed case that fails (or warns) is reported as it is and does not
 * fail the run; a listed case that passes fails the run (a stale
 * baseline); a skipped one stays a skip.
 *
 * Errors return a negative errno and write one line naming FILE:LINE or
 * the pattern into err. Memory: the objects own copies of everything.
 * Thread safety: immutable after loading; lookups may run on any thread.
 */
#ifndef HC_SELECTION_H
#define HC_SELECTION_H

#include <stddef.h>

#include "catalogue.h"

typedef struct selection selection;

int selection_new(selection **out); /* -ENOMEM */
void selection_free(selection *s);  /* safe with NULL */

/* Adds a --run (skip = 0) or --skip (skip = 1) pattern, or every pattern
 * of "@FILE". -EINVAL for an empty pattern or a bad line, -errno when
 * FILE cannot be read. */
int selection_add(selection *s, int skip, const char *arg, char *err, size_t errlen);

/* 1 if `id` runs: it matches some --run pattern (or none was given) and
 * no --skip pattern. */
int selection_match(const selection *s, const char *id);

/* -ENOENT if a pattern matches none of cases[0..n) (a typo would
 * otherwise select nothing silently). */
int selection_check(const selection *s, const hc_case *cases, size_t n, char *err, size_t errlen);

typedef struct baseline baseline;

/* Parses a known-failing list; `name` is used in messages ("FILE:LINE").
 * -EINVAL when a line has no reason. */
int baseline_parse(const char *text, const char *name, baseline **out, char *err, size_t errlen);
/* Reads and parses FILE. */
int baseline_load(const char *path, baseline **out, char *err, size_t errlen);
void baseline_free(baseline *b); /* safe with NULL */

/* -ENOENT if an entry matches none of cases[0..n). */
int baseline_check(const baseline *b, const hc_case *cases, size_t n, char *err, size_t errlen);

/* Applies the baseline to one result. `counts` is what the result would
 * do to the run (runner_counts_as_failure); returns what it does now.
 *   listed, FAIL or WARN: message gains "known failing (FILE:LINE: reason)", returns 0;
 *   listed, PASS:         res becomes a FAIL "stale known-failing entry", returns 1;
 *   listed, SKIP, or not listed: unchanged, returns counts.
 * A NULL baseline changes nothing. */
int baseline_verdict(const baseline *b, const hc_case *c, case_result *res, int counts);

#endif
