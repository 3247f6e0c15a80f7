/*
 * catalogue: the table of conformance cases. Every case is data (a stable
 * readable ID, a T-number (H-number for HTTP cases), the clause IDs it
 * rests on, a level, what it needs) plus one function. `--list`, the
 * reports, the exit code and the kill matrix all read this one table.
 *
 * Cases know nothing of report formats: a case fills a case_result and
 * returns; the runner times it, reports it and derives the exit code.
 *
 * Thread safety: the table is immutable. A case function may run on any
 * thread and must only touch its own case_ctx and case_result.
 */
#ifndef HC_CATALOGUE_H
#define HC_CATALOGUE_H

#include <stddef.h>

typedef enum case_level { LEVEL_MUST = 0, LEVEL_SHOULD, LEVEL_MAY } case_level;

typedef enum case_outcome {
  OUTCOME_PASS = 0,
  OUTCOME_FAIL,
  OUTCOME_WARN, /* a SHOULD broken, or a known-variant behaviour */
  OUTCOME_SKIP  /* not applicable or not checkable here; message says why */
} case_outcome;

/* What a case needs; a case whose needs are not met is skipped with a
 * message naming the missing piece. */
enum {
  NEED_CONTROL = 1 << 0,  /* a control hook to change statuses (Ctl) */
  NEED_SHUTDOWN = 1 << 1, /* a control hook that can start a shutdown */
  NEED_ALONE = 1 << 2,    /* runs with no other case at once (--parallel): it
                             changes what others read (the status of '') or
                             measures time */
  NEED_LAST = 1 << 3,     /* what it changes may stay: a hook that cannot
                             REMOVE (101 names) or RESUME (shut down). It
                             runs alone, after every case without it (the
                             table's order, cases_table.c) */
};

typedef enum case_protocol { PROTOCOL_GRPC = 0, PROTOCOL_HTTP } case_protocol;

struct control;

/* Everything a case may use. Owned by the runner; read-only for cases. */
typedef struct case_ctx {
  const char *target;      /* "host:port" */
  int timeout_ms;          /* per-case bound on every wait (--timeout) */
  int latency_budget_ms;   /* T10 budget, default 500 */
  struct control *control; /* NULL without --control / --control-cmd */
  int strict;              /* --strict: SHOULD failures fail */
  const char *service;     /* a name the case may create via control ("hc-conformance-<pid>") */
  const void *suite;       /* a suite's own settings (the client suite's client_opts), or NULL */
} case_ctx;

#define CASE_TEXT_MAX 512

/* Filled by a case. On FAIL/WARN, `expected` and `seen` say what the
 * clause required and what arrived (h2spec style); `message` is one line. */
typedef struct case_result {
  case_outcome outcome;
  char message[CASE_TEXT_MAX];
  char expected[CASE_TEXT_MAX];
  char seen[CASE_TEXT_MAX];
} case_result;

typedef void (*case_fn)(const case_ctx *ctx, case_result *res);

typedef struct hc_case {
  const char *id;      /* stable, e.g. "watch/unknown-service-stays-open" */
  const char *test;    /* "T16" */
  const char *clauses; /* "H-WATCH-3" or "H-WATCH-3,H-WATCH-7" */
  case_level level;
  case_protocol protocol;
  unsigned needs;          /* NEED_* */
  const char *summary;     /* one line for --list */
  const char *clause_text; /* the clause quoted, printed on failure */
  case_fn run;
} hc_case;

/* The table, in run order; *count receives its length. */
const hc_case *catalogue_cases(size_t *count);

/* What a run adds to the catalogue: nothing, or (--profile jina) the
 * Jina Executor cases J01-J06 (J-* clauses, cases_jina.c). */
typedef enum catalogue_profile { CATALOGUE_PLAIN = 0, CATALOGUE_JINA } catalogue_profile;

/* The cases of a run with `profile`, in run order; *count receives its
 * length. CATALOGUE_PLAIN: catalogue_cases. CATALOGUE_JINA: the catalogue
 * with J01-J05 before the shutdown cases and J06 after them, and T29
 * (reflection/lists-health) skipping as superseded by J03 (a Jina Executor
 * does not list the health service). Built once; thread-safe. */
const hc_case *catalogue_profile_cases(catalogue_profile profile, size_t *count);

/* The J-* cases alone, in run order. */
const hc_case *catalogue_jina_cases(size_t *count);

/* Why case c cannot run with this control hook (NULL: it can), from its
 * NEED_* flags: the one place that decides it. The runner skips the case
 * with this reason before it starts; cases do not check again. */
const char *catalogue_unmet_need(const hc_case *c, const struct control *ctl);

/* The case with this exact ID, or NULL. */
const hc_case *catalogue_find(const char *id);

const char *catalogue_level_name(case_level level);       /* "MUST" ... */
const char *catalogue_outcome_name(case_outcome outcome); /* "pass" ... */

/* Fill helpers for cases: printf-style, truncating safely. */
void case_pass(case_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void case_skip(case_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void case_warn(case_result *res, const char *expected, const char *seen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void case_fail(case_result *res, const char *expected, const char *seen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
