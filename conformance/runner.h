/*
 * runner: runs a table of cases against a target and derives the exit code.
 *
 * Exit codes (RUNNER_EXIT_*): 0 no MUST failed; 1 a MUST failed (with
 * --strict also a SHOULD/MAY failure or any WARN); 2 usage error (main);
 * 3 target unreachable, or it does not speak the protocol (the gate):
 * every case not run is reported as skipped with the reason, and the run
 * never passes.
 *
 * Bounded time (issue 13): a gate, when given, is asked before the first
 * case; if it fails, no case runs. After a case FAILs having waited its
 * whole timeout, the gate is asked again: a target that stopped answering
 * ends the run there (the rest SKIP with the reason) instead of making
 * every later case wait its timeout too. max_time_ms bounds the whole run:
 * once spent, the cases running FAIL as cut short (their threads are left
 * running, summary.cut_short says so: the caller must end the process
 * without library cleanup, and what the options point to must live until
 * then; the options themselves are copied) and the cases not yet started FAIL as not run,
 * with the reason. Its default scales with the case timeout: a target
 * that answers every call just inside --timeout would otherwise keep a
 * default run going for minutes (issue 13).
 *
 * Thread safety: runner_run drives the report from the calling thread.
 * With parallel > 1 it runs cases on up to that many threads at once;
 * a case with NEED_ALONE or NEED_SHUTDOWN runs only when no other case is
 * running. Results are reported in catalogue order (a case that finishes
 * early waits for those before it), so output order does not depend on
 * timing. The other functions are pure or only touch their arguments.
 */
#ifndef HC_RUNNER_H
#define HC_RUNNER_H

#include <stddef.h>

#include "catalogue.h"
#include "control.h"
#include "report.h"
#include "selection.h"

enum {
  RUNNER_EXIT_OK = 0,
  RUNNER_EXIT_FAILED = 1,
  RUNNER_EXIT_USAGE = 2,
  RUNNER_EXIT_UNREACHABLE = 3
};

#define RUNNER_ERR_MAX 256
#define RUNNER_MAX_PARALLEL 64 /* --parallel is capped here */
/* --max-time default: RUNNER_MAX_TIME_FACTOR x --timeout (18 s for the
 * default 2 s, so that a default run ends within issue 13's 20 s, process
 * start and report included); a full default run against the mock takes
 * 2.3-3.1 s on a loaded 2-core machine. With a control hook (--control,
 * --control-cmd, --spawn) RUNNER_MAX_TIME_HOOK_FACTOR x (120 s): every
 * status change waits on the hook, and a full run whose hook runs curl
 * took 45 s there. */
#define RUNNER_MAX_TIME_FACTOR 9
#define RUNNER_MAX_TIME_HOOK_FACTOR 60

/* Does the target still answer at all? 0; > 0 for an answer that is not
 * sound (enough to run the cases, not to go on after a case that waited
 * out its timeout); < 0 for none. Else than 0, one line saying what it did
 * in reason. Called from the reporting thread only. */
typedef int (*runner_gate_fn)(void *arg, char *reason, size_t reasonlen);

/* Borrowed strings and control; they must outlive runner_run. */
typedef struct runner_options {
  const char *target;            /* "host:port" */
  int timeout_ms;                /* --timeout */
  int latency_budget_ms;         /* --latency-budget */
  int strict;                    /* --strict */
  control *control;              /* NULL without a control hook */
  const char *control_desc;      /* for the header: "none", "url http://..", "cmd .." */
  const char *unreachable;       /* non-NULL: the reason the target could not be
                                    reached; every case is skipped, exit 3 */
  int parallel;                  /* --parallel: cases at once; 0 or 1 = one by one */
  const baseline *known_failing; /* --known-failing, or NULL (selection.h) */
  const void *suite;             /* handed to every case as case_ctx.suite */
  runner_gate_fn gate;           /* NULL: no gate */
  void *gate_arg;
  int max_time_ms;      /* --max-time: the whole run's budget; 0 = none */
  long long started_ms; /* monotime_ms() the budget counts from (before the
                           reachability probe); 0 = runner_run's start */
} runner_options;

/* Splits "host:port" or "[v6]:port". 0, or -EINVAL with a reason in err. */
int runner_split_target(const char *target, char *host, size_t hostlen, char *port, size_t portlen,
                        char *err, size_t errlen);

/* A bounded TCP connect (getaddrinfo + non-blocking connect) to target.
 * 0 if it connected; otherwise negative with the reason in err. */
int runner_probe(const char *target, int timeout_ms, char *err, size_t errlen);

/* 1 if this result makes the run fail (exit 1): a MUST failure; with
 * strict also any other failure and any WARN. */
int runner_counts_as_failure(const hc_case *c, const case_result *res, int strict);

/* Runs cases[0..count), reporting each in order (a case whose needs are
 * unmet is skipped with the reason); known_failing rewrites verdicts as
 * baseline_verdict says. Fills *summary when non-NULL
 * and returns the exit code (out of memory aborts, docs/oom.md).
 * report_end is left to the caller. */
int runner_run(const hc_case *cases, size_t count, const runner_options *opts, report *rep,
               report_summary *summary);

#endif
