/* The run and list subcommands (cmd.h): the selected cases, the baseline,
 * a spawned target, the reports, the reachability check, then the runner. */
#include "cmd.h"

#include <curl/curl.h>
#include <errno.h>
#include <grpc/grpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "contain.h"
#include "control.h"
#include "gate.h"
#include "monotime.h"
#include "runner.h"
#include "spawner.h"
#include "watchdog.h"
#include "xalloc.h"

#define SPAWN_GRACE_MS 5000   /* SIGTERM -> exit, before SIGKILL */
#define SPAWN_TAIL_BYTES 4096 /* of the target's output, on failure */

/* 1 if case c is in this run: its protocol (when one was named, >= 0) and
 * the --run / --skip selection. */
static int selected(const selection *sel, int protocol, const hc_case *c) {
  if (protocol >= 0 && (int)c->protocol != protocol)
    return 0;
  return selection_match(sel, c->id);
}

void cmd_list_table(const hc_case *cases, size_t count, const selection *sel, int protocol) {
  int wid = 2, wclauses = 7;

  for (size_t i = 0; i < count; i++) {
    int n = (int)strlen(cases[i].id), m = (int)strlen(cases[i].clauses);
    wid = n > wid ? n : wid;
    wclauses = m > wclauses ? m : wclauses;
  }
  printf("%-*s %-4s %-6s %-*s %s\n", wid, "ID", "TEST", "LEVEL", wclauses, "CLAUSES", "SUMMARY");
  for (size_t i = 0; i < count; i++)
    if (selected(sel, protocol, &cases[i]))
      printf("%-*s %-4s %-6s %-*s %s%s\n", wid, cases[i].id, cases[i].test,
             catalogue_level_name(cases[i].level), wclauses, cases[i].clauses, cases[i].summary,
             cases[i].needs & (NEED_CONTROL | NEED_SHUTDOWN) ? " [control]" : "");
}

int cmd_list_selected(const hc_case *cases, size_t count, const selection *sel, int protocol) {
  hc_case *chosen = NULL;
  size_t n;
  int code = cmd_select_cases(cases, count, sel, protocol, &chosen, &n);

  if (code)
    return code;
  free(chosen);
  cmd_list_table(cases, count, sel, protocol);
  return 0;
}

int cmd_list(const cli *o) {
  size_t count;
  const hc_case *cases = catalogue_profile_cases(o->profile, &count);

  return cmd_list_selected(cases, count, o->sel, o->protocol);
}

int cmd_select_cases(const hc_case *cases, size_t count, const selection *sel, int protocol,
                     hc_case **out, size_t *n) {
  char err[RUNNER_ERR_MAX];
  size_t k = 0;
  hc_case *copy;

  if (selection_check(sel, cases, count, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  copy = xcalloc(count, sizeof(*copy));
  for (size_t i = 0; i < count; i++)
    if (selected(sel, protocol, &cases[i]))
      copy[k++] = cases[i];
  if (k == 0) {
    free(copy);
    return cli_usage_error("--run/--skip select no %scase (see --list)",
                           protocol == PROTOCOL_HTTP   ? "http "
                           : protocol == PROTOCOL_GRPC ? "grpc "
                                                       : "");
  }
  *out = copy;
  *n = k;
  return 0;
}

int cmd_load_baseline(const char *path, const hc_case *cases, size_t count, baseline **out) {
  char err[RUNNER_ERR_MAX];

  *out = NULL;
  if (!path)
    return 0;
  if (baseline_load(path, out, err, sizeof(err)) < 0)
    return cli_usage_error("--known-failing: %s", err);
  if (baseline_check(*out, cases, count, err, sizeof(err)) < 0) {
    baseline_free(*out);
    *out = NULL;
    return cli_usage_error("--known-failing: %s", err);
  }
  return 0;
}

/* --spawn: a free port (and a control port when asked for), the command
 * started and listening. On failure prints why and the target's output,
 * and returns exit 3 (or 2 for a bad template). */
static int start_target(cli *o, spawned **sp, char *control_url, size_t urlsize) {
  char cmd[4096], err[RUNNER_ERR_MAX];
  int ports[2] = {0, 0};
  size_t nports = strstr(o->spawn, "{control_port}") ? 2 : 1;
  int rc;

  for (size_t i = 0; i < nports; i++)
    if (spawner_free_port(&ports[i], err, sizeof(err)) < 0) {
      fprintf(stderr, CLI_PROG ": --spawn: %s\n", err);
      return RUNNER_EXIT_UNREACHABLE;
    }
  rc = spawner_expand(o->spawn, ports[0], ports[1], cmd, sizeof(cmd));
  if (rc == -EINVAL)
    return cli_usage_error("--spawn '%s' has no {port} to put the port in", o->spawn);
  if (rc < 0)
    return cli_usage_error("--spawn: the command is longer than %zu bytes", sizeof(cmd) - 1);
  snprintf(o->target_buf, sizeof(o->target_buf), "127.0.0.1:%d", ports[0]);
  o->target = o->target_buf;
  if (nports == 2 && !o->control_url && !o->control_cmd) {
    snprintf(control_url, urlsize, "http://127.0.0.1:%d", ports[1]);
    o->control_url = control_url;
  }
  if (spawner_start(cmd, sp, err, sizeof(err)) < 0) {
    fprintf(stderr, CLI_PROG ": --spawn: %s\n", err);
    return RUNNER_EXIT_UNREACHABLE;
  }
  if (spawner_wait_ready(*sp, ports, nports, o->spawn_timeout_ms, err, sizeof(err)) < 0) {
    fprintf(stderr, CLI_PROG ": --spawn '%s': %s\n", cmd, err); /* stop_target shows its output */
    return RUNNER_EXIT_UNREACHABLE;
  }
  return 0;
}

/* Stops the spawned target; on a failed run shows the tail of its output. */
static void stop_target(spawned *sp, int code) {
  if (!sp)
    return;
  int st = spawner_stop(sp, SPAWN_GRACE_MS);
  if (code != RUNNER_EXIT_OK) {
    fprintf(stderr, "--- spawned target output (tail) ---\n");
    spawner_print_tail(sp, stderr, SPAWN_TAIL_BYTES);
  }
  if (st < 0)
    fprintf(stderr, CLI_PROG ": the spawned target ignored SIGTERM for %d ms and was killed\n",
            SPAWN_GRACE_MS);
  spawner_free(sp);
}

/* The gate (gate.h) for the runner, saying on stderr why it failed. */
static int gate_and_say(void *arg, char *reason, size_t reasonlen) {
  int rc = gate_check(arg, reason, reasonlen);
  if (rc < 0)
    fprintf(stderr, CLI_PROG ": the target does not answer: %s\n", reason);
  else if (rc > 0)
    fprintf(stderr, CLI_PROG ": the target answers unsoundly: %s\n", reason);
  return rc;
}

int cmd_run_cases(const hc_case *cases, size_t count, const runner_options *ro, report *rep,
                  int *cut_short) {
  char err[RUNNER_ERR_MAX];
  report_summary sum = {0};
  int code = runner_run(cases, count, ro, rep, &sum);

  if (cut_short)
    *cut_short = sum.cut_short;
  if (report_end(rep, &sum, err, sizeof(err)) < 0) {
    fprintf(stderr, CLI_PROG ": %s\n", err);
    if (code == RUNNER_EXIT_OK)
      code = RUNNER_EXIT_FAILED;
  }
  return code;
}

/* What talks to the target, in contain_call's child. */
typedef struct run_job {
  const hc_case *cases;
  size_t count;
  const runner_options *ro;
  report *rep;
  pid_t runner_pid; /* the process that stops a spawned target */
  int cut_short;    /* out: set when a cut run returned to runner_pid */
} run_job;

static int run_job_here(void *arg) {
  run_job *job = arg;
  int code, cut_short = 0;

  watchdog_arm(RUNNER_EXIT_FAILED,
               "the target kept the gRPC client busy past a call's deadline "
               "(a frame flood?): the run stops here, its report unfinished");
  /* Cases use the C core and libcurl from several threads: both are
   * initialised here, once, before any case starts a thread. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  code = cmd_run_cases(job->cases, job->count, job->ro, job->rep, &cut_short);
  if (cut_short) {
    /* --max-time cut a case short and its thread may still be inside the
     * gRPC core or libcurl: no cleanup may wait for it. The report is
     * written (report_end); end the process here. When contain_call could
     * not fork, this is the runner itself: cmd_run stops a spawned target
     * first, then ends it. */
    fflush(NULL);
    if (getpid() != job->runner_pid)
      _exit(code);
    job->cut_short = 1;
    return code;
  }
  grpc_shutdown();
  curl_global_cleanup();
  return code;
}

int cmd_run(cli *o) {
  char cerr[CONTROL_ERR_MAX], desc[1100], reason[RUNNER_ERR_MAX];
  char control_url[64];
  control *ctl = NULL;
  report *rep = NULL;
  const hc_case *all;
  hc_case *cases = NULL;
  baseline *known = NULL;
  spawned *sp = NULL;
  size_t count = 0, total;
  long long started;
  runner_options ro = {0};
  gate_target gate = {0};
  run_job job = {0};
  int code;

  all = catalogue_profile_cases(o->profile, &total);
  code = cmd_select_cases(all, total, o->sel, o->protocol, &cases, &count);
  if (code)
    return code;
  code = cmd_load_baseline(o->known_failing, all, total, &known);
  if (code)
    goto out;
  if (o->spawn) {
    code = start_target(o, &sp, control_url, sizeof(control_url));
    if (code)
      goto out;
  }
  /* The budget counts from here (the probe and the gate included), not
   * from the spawned target's start-up (--spawn-timeout bounds that). */
  started = monotime_ms();
  code = cli_apply_tls(o);
  if (code)
    goto out;
  ro = (runner_options){.target = o->target,
                        .timeout_ms = o->timeout_ms,
                        .latency_budget_ms = o->latency_budget_ms,
                        .strict = o->strict,
                        .control_desc = "none",
                        .parallel = o->parallel,
                        .known_failing = known,
                        .gate = gate_and_say,
                        .gate_arg = &gate,
                        .max_time_ms = o->max_time_ms,
                        .started_ms = started};
  gate = (gate_target){
      .protocol = (case_protocol)o->protocol, .target = o->target, .timeout_ms = o->timeout_ms};
  if (o->control_url || o->control_cmd) {
    if (control_new(o->control_url, o->control_cmd, o->timeout_ms, &ctl, cerr, sizeof(cerr)) < 0) {
      code = cli_usage_error("%s: %s", o->control_url ? "--control" : "--control-cmd", cerr);
      goto out;
    }
    snprintf(desc, sizeof(desc), "%s %s", o->control_url ? "url" : "cmd",
             o->control_url ? o->control_url : o->control_cmd);
    ro.control = ctl;
    ro.control_desc = desc;
  }
  if (report_new(&rep) < 0) {
    fprintf(stderr, CLI_PROG ": out of memory\n");
    code = RUNNER_EXIT_FAILED;
    goto out;
  }
  code = cli_setup_reports(o->outputs, o->noutputs, rep);
  if (code)
    goto out;
  /* Exit 3 quickly, with every case reported, when there is no server. */
  if (runner_probe(o->target, o->timeout_ms, reason, sizeof(reason)) < 0) {
    fprintf(stderr, CLI_PROG ": target unreachable: %s\n", reason);
    ro.unreachable = reason;
  }
  /* A reply that aborts the gRPC core fails the run, its report unfinished
   * (contain.h); the spawned target is still stopped here. */
  job = (run_job){cases, count, &ro, rep, getpid(), 0};
  code = contain_call(run_job_here, &job, RUNNER_EXIT_FAILED,
                      "the run stops here, its report unfinished");
out:
  stop_target(sp, code);
  if (job.cut_short) { /* a cut case's thread may still be in the core (run_job_here) */
    fflush(NULL);
    _exit(code);
  }
  report_free(rep);
  control_free(ctl);
  baseline_free(known);
  free(cases);
  return code;
}
