/* The run and list subcommands (cmd.h): the selected cases, the baseline,
 * a spawned target, the reports, the reachability check, then the runner. */
#include "cmd.h"

#include <curl/curl.h>
#include <errno.h>
#include <grpc/grpc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "control.h"
#include "runner.h"
#include "spawner.h"

#define SPAWN_GRACE_MS 5000   /* SIGTERM -> exit, before SIGKILL */
#define SPAWN_TAIL_BYTES 4096 /* of the target's output, on failure */

/* 1 if case c is in this run: its protocol (when one was named) and the
 * --run / --skip selection. */
static int selected(const cli *o, const hc_case *c) {
  if (o->protocol >= 0 && (int)c->protocol != o->protocol)
    return 0;
  return selection_match(o->sel, c->id);
}

/* --list: one row per case, columns as wide as their longest entry. */
void cmd_list(const cli *o) {
  size_t count;
  const hc_case *cases = catalogue_cases(&count);
  int wid = 2, wclauses = 7;

  for (size_t i = 0; i < count; i++) {
    int n = (int)strlen(cases[i].id), m = (int)strlen(cases[i].clauses);
    wid = n > wid ? n : wid;
    wclauses = m > wclauses ? m : wclauses;
  }
  printf("%-*s %-4s %-6s %-*s %s\n", wid, "ID", "TEST", "LEVEL", wclauses, "CLAUSES", "SUMMARY");
  for (size_t i = 0; i < count; i++)
    if (selected(o, &cases[i]))
      printf("%-*s %-4s %-6s %-*s %s%s\n", wid, cases[i].id, cases[i].test,
             catalogue_level_name(cases[i].level), wclauses, cases[i].clauses, cases[i].summary,
             cases[i].needs & (NEED_CONTROL | NEED_SHUTDOWN) ? " [control]" : "");
}

/* Attaches every writer; the text report takes stdout unless a format does. */
static int setup_reports(const cli *o, report *rep) {
  char err[RUNNER_ERR_MAX];
  int stdout_taken = 0;
  int colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

  for (size_t i = 0; i < o->noutputs; i++) {
    const cli_output *out = &o->outputs[i];
    int rc;
    if (out->path) {
      rc = report_add_path(rep, out->fmt, out->path, err, sizeof(err));
      if (rc < 0)
        return cli_usage_error("--output: %s", err);
    } else {
      rc = report_add_stream(rep, out->fmt, stdout, colour);
      stdout_taken = 1;
      if (rc < 0)
        return cli_usage_error("out of memory");
    }
  }
  if (!stdout_taken && report_add_stream(rep, REPORT_TEXT, stdout, colour) < 0)
    return cli_usage_error("out of memory");
  return 0;
}

/* The cases of this run, copied out of the table (the copies outlive the
 * report). Checks every pattern against the whole catalogue first. */
static int select_cases(const cli *o, hc_case **out, size_t *n) {
  char err[RUNNER_ERR_MAX];
  size_t count, k = 0;
  const hc_case *cases = catalogue_cases(&count);
  hc_case *sel;

  if (selection_check(o->sel, cases, count, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  sel = calloc(count, sizeof(*sel));
  if (!sel)
    return cli_usage_error("out of memory");
  for (size_t i = 0; i < count; i++)
    if (selected(o, &cases[i]))
      sel[k++] = cases[i];
  if (k == 0) {
    free(sel);
    return cli_usage_error("--run/--skip select no %s case (see --list)",
                       o->protocol == PROTOCOL_HTTP ? "http" : "grpc");
  }
  *out = sel;
  *n = k;
  return 0;
}

static int load_baseline(const cli *o, baseline **out) {
  char err[RUNNER_ERR_MAX];
  size_t count;
  const hc_case *cases = catalogue_cases(&count);

  *out = NULL;
  if (!o->known_failing)
    return 0;
  if (baseline_load(o->known_failing, out, err, sizeof(err)) < 0)
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

int cmd_run(cli *o) {
  char err[RUNNER_ERR_MAX], cerr[CONTROL_ERR_MAX], desc[1100], reason[RUNNER_ERR_MAX];
  char control_url[64];
  control *ctl = NULL;
  report *rep = NULL;
  report_summary sum;
  hc_case *cases = NULL;
  baseline *known = NULL;
  spawned *sp = NULL;
  size_t count = 0;
  runner_options ro = {0};
  int code;

  code = select_cases(o, &cases, &count);
  if (code)
    return code;
  code = load_baseline(o, &known);
  if (code)
    goto out;
  if (o->spawn) {
    code = start_target(o, &sp, control_url, sizeof(control_url));
    if (code)
      goto out;
  }
  code = cli_apply_tls(o);
  if (code)
    goto out;
  ro = (runner_options){.target = o->target,
                        .timeout_ms = o->timeout_ms,
                        .latency_budget_ms = o->latency_budget_ms,
                        .strict = o->strict,
                        .control_desc = "none",
                        .parallel = o->parallel,
                        .known_failing = known};
  if (o->control_url || o->control_cmd) {
    if (control_new(o->control_url, o->control_cmd, o->timeout_ms, &ctl, cerr) < 0) {
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
  code = setup_reports(o, rep);
  if (code)
    goto out;
  /* Exit 3 quickly, with every case reported, when there is no server. */
  if (runner_probe(o->target, o->timeout_ms, reason) < 0) {
    fprintf(stderr, CLI_PROG ": target unreachable: %s\n", reason);
    ro.unreachable = reason;
  }
  /* Cases use the C core and libcurl from several threads: both are
   * initialised here, once, before any case starts a thread. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  code = runner_run(cases, count, &ro, rep, &sum);
  grpc_shutdown();
  curl_global_cleanup();
  if (code < 0) {
    fprintf(stderr, CLI_PROG ": out of memory\n");
    code = RUNNER_EXIT_FAILED;
    goto out;
  }
  if (report_end(rep, &sum, err, sizeof(err)) < 0) {
    fprintf(stderr, CLI_PROG ": %s\n", err);
    if (code == RUNNER_EXIT_OK)
      code = RUNNER_EXIT_FAILED;
  }
out:
  stop_target(sp, code);
  report_free(rep);
  control_free(ctl);
  baseline_free(known);
  free(cases);
  return code;
}
