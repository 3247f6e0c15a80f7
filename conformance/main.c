/* health-conformance: checks a grpc.health.v1 server against the protocol
 * (health-protocol.md §6). Flags -> reports -> reachability probe -> run. */
#define _GNU_SOURCE /* strdup */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grpc/grpc.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "control.h"
#include "report.h"
#include "runner.h"

#define PROG "health-conformance"
#define MAX_OUTPUTS 8
#define MAX_DURATION_MS (3600 * 1000)

typedef struct output {
  report_format fmt;
  const char *path; /* NULL: stdout */
} output;

typedef struct cli {
  const char *target;
  const char *control_url;
  const char *control_cmd;
  int timeout_ms;
  int latency_budget_ms;
  int strict;
  int list, help, version;
  output outputs[MAX_OUTPUTS];
  size_t noutputs;
  int last_has_output;
} cli;

static void usage(FILE *f) {
  fprintf(f, "Usage: " PROG " [run] --target HOST:PORT [options]\n"
             "       " PROG " --list | --help | --version\n"
             "\n"
             "Checks a grpc.health.v1.Health server against the health protocol.\n"
             "\n"
             "  --target HOST:PORT     server under test (also [IPV6]:PORT)\n"
             "  --control URL          the mock's control API (http://HOST:PORT)\n"
             "  --control-cmd CMD      a command changing statuses; {service} and {status}\n"
             "                         are replaced by shell-quoted words. status is SERVING,\n"
             "                         NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, REMOVE, SHUTDOWN\n"
             "                         or RESUME; exit 0 on success, 64 if not supported\n"
             "  --timeout DUR          bound on every wait of a case (default 2s)\n"
             "  --latency-budget DUR   Check latency budget for T10 (default 500ms)\n"
             "  --strict               SHOULD failures and warnings fail the run\n"
             "  --format FMT           text, tap, junit or json (NDJSON); repeatable\n"
             "  --output FILE          where the preceding --format goes (default stdout)\n"
             "  --list                 print the catalogue and exit, without connecting\n"
             "  --help, --version\n"
             "\n"
             "DUR is a number with a unit: 250ms, 2s, 1.5s.\n"
             "The text report goes to stdout unless another format does.\n"
             "\n"
             "Exit: 0 no MUST failed; 1 a MUST failed (with --strict: any failure or\n"
             "warning), or a report could not be written; 2 usage error; 3 target\n"
             "unreachable.\n");
}

/* Prints "health-conformance: <what>" naming the flag, returns exit 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, PROG ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '" PROG " --help'.\n");
  return RUNNER_EXIT_USAGE;
}

/* "250ms", "2s", "1.5s" -> milliseconds; -EINVAL otherwise. */
static int parse_duration(const char *text, int *ms) {
  char *end;
  double v;

  errno = 0;
  v = strtod(text, &end);
  if (end == text || errno || !isfinite(v) || v <= 0)
    return -EINVAL;
  if (strcmp(end, "ms") == 0)
    ;
  else if (strcmp(end, "s") == 0)
    v *= 1000;
  else
    return -EINVAL;
  if (v < 1 || v > MAX_DURATION_MS)
    return -EINVAL;
  *ms = (int)v;
  return 0;
}

enum {
  OPT_TARGET = 256,
  OPT_CONTROL,
  OPT_CONTROL_CMD,
  OPT_TIMEOUT,
  OPT_BUDGET,
  OPT_STRICT,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_LIST,
  OPT_HELP,
  OPT_VERSION
};

static const struct option long_options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"control-cmd", required_argument, NULL, OPT_CONTROL_CMD},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"latency-budget", required_argument, NULL, OPT_BUDGET},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_option(cli *o, int opt, const char *arg) {
  report_format fmt;

  switch (opt) {
  case OPT_TARGET:
    o->target = arg;
    return 0;
  case OPT_CONTROL:
    o->control_url = arg;
    return 0;
  case OPT_CONTROL_CMD:
    o->control_cmd = arg;
    return 0;
  case OPT_TIMEOUT:
    if (parse_duration(arg, &o->timeout_ms) < 0)
      return usage_error("--timeout: '%s' is not a duration from 1ms to 3600s (e.g. 2s)", arg);
    return 0;
  case OPT_BUDGET:
    if (parse_duration(arg, &o->latency_budget_ms) < 0)
      return usage_error("--latency-budget: '%s' is not a duration from 1ms to 3600s (e.g. 500ms)",
                         arg);
    return 0;
  case OPT_STRICT:
    o->strict = 1;
    return 0;
  case OPT_FORMAT:
    if (report_format_parse(arg, &fmt) < 0)
      return usage_error("--format: unknown format '%s' (text, tap, junit, json)", arg);
    if (o->noutputs == MAX_OUTPUTS)
      return usage_error("--format: at most %d formats", MAX_OUTPUTS);
    o->outputs[o->noutputs++] = (output){.fmt = fmt, .path = NULL};
    o->last_has_output = 0;
    return 0;
  case OPT_OUTPUT:
    if (o->noutputs == 0)
      return usage_error("--output '%s' must follow a --format", arg);
    if (o->last_has_output)
      return usage_error("--output '%s': --format %s already has an --output", arg,
                         report_format_name(o->outputs[o->noutputs - 1].fmt));
    o->outputs[o->noutputs - 1].path = strcmp(arg, "-") == 0 ? NULL : arg;
    o->last_has_output = 1;
    return 0;
  case OPT_LIST:
    o->list = 1;
    return 0;
  case OPT_HELP:
    o->help = 1;
    return 0;
  case OPT_VERSION:
    o->version = 1;
    return 0;
  default: /* getopt_long has named the bad flag */
    fprintf(stderr, "Try '" PROG " --help'.\n");
    return RUNNER_EXIT_USAGE;
  }
}

static int parse_cli(int argc, char **argv, cli *o) {
  char err[RUNNER_ERR_MAX], host[256], port[16];
  size_t on_stdout = 0;
  int opt, rc;

  *o = (cli){.timeout_ms = 2000, .latency_budget_ms = 500};
  while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    rc = parse_option(o, opt, optarg);
    if (rc)
      return rc;
  }
  for (int i = optind; i < argc; i++) {
    if (i == optind && strcmp(argv[i], "run") == 0)
      continue;
    if (i == optind && strcmp(argv[i], "list") == 0) {
      o->list = 1;
      continue;
    }
    return usage_error("unexpected argument '%s' (subcommands: run, list)", argv[i]);
  }
  if (o->help || o->version || o->list)
    return 0;
  if (!o->target)
    return usage_error("--target HOST:PORT is required");
  if (runner_split_target(o->target, host, sizeof(host), port, sizeof(port), err) < 0)
    return usage_error("--target: %s", err);
  if (o->control_url && o->control_cmd)
    return usage_error("--control and --control-cmd exclude each other");
  for (size_t i = 0; i < o->noutputs; i++)
    on_stdout += o->outputs[i].path == NULL;
  if (on_stdout > 1)
    return usage_error("several --format write to stdout; give all but one an --output");
  return 0;
}

/* --list: one row per case, columns as wide as their longest entry. */
static void list_cases(void) {
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
    const output *out = &o->outputs[i];
    int rc;
    if (out->path) {
      rc = report_add_path(rep, out->fmt, out->path, err, sizeof(err));
      if (rc < 0)
        return usage_error("--output: %s", err);
    } else {
      rc = report_add_stream(rep, out->fmt, stdout, colour);
      stdout_taken = 1;
      if (rc < 0)
        return usage_error("out of memory");
    }
  }
  if (!stdout_taken && report_add_stream(rep, REPORT_TEXT, stdout, colour) < 0)
    return usage_error("out of memory");
  return 0;
}

static int run(const cli *o) {
  char err[RUNNER_ERR_MAX], cerr[CONTROL_ERR_MAX], desc[1100], reason[RUNNER_ERR_MAX];
  control *ctl = NULL;
  report *rep = NULL;
  report_summary sum;
  size_t count;
  const hc_case *cases = catalogue_cases(&count);
  runner_options ro = {.target = o->target,
                       .timeout_ms = o->timeout_ms,
                       .latency_budget_ms = o->latency_budget_ms,
                       .strict = o->strict,
                       .control_desc = "none"};
  int code;

  if (o->control_url || o->control_cmd) {
    if (control_new(o->control_url, o->control_cmd, o->timeout_ms, &ctl, cerr) < 0)
      return usage_error("%s: %s", o->control_url ? "--control" : "--control-cmd", cerr);
    snprintf(desc, sizeof(desc), "%s %s", o->control_url ? "url" : "cmd",
             o->control_url ? o->control_url : o->control_cmd);
    ro.control = ctl;
    ro.control_desc = desc;
  }
  if (report_new(&rep) < 0) {
    control_free(ctl);
    fprintf(stderr, PROG ": out of memory\n");
    return RUNNER_EXIT_FAILED;
  }
  code = setup_reports(o, rep);
  if (code)
    goto out;
  /* Exit 3 quickly, with every case reported, when there is no server. */
  if (runner_probe(o->target, o->timeout_ms, reason) < 0) {
    fprintf(stderr, PROG ": target unreachable: %s\n", reason);
    ro.unreachable = reason;
  }
  /* Cases use the C core and libcurl from several threads: both are
   * initialised here, once, before any case starts a thread. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  code = runner_run(cases, count, &ro, rep, &sum);
  grpc_shutdown();
  curl_global_cleanup();
  if (report_end(rep, &sum, err, sizeof(err)) < 0) {
    fprintf(stderr, PROG ": %s\n", err);
    if (code == RUNNER_EXIT_OK)
      code = RUNNER_EXIT_FAILED;
  }
out:
  report_free(rep);
  control_free(ctl);
  return code;
}

int main(int argc, char **argv) {
  cli o;
  int rc;

  signal(SIGPIPE, SIG_IGN); /* peers and pipes closing under us are reported, not fatal */
  rc = parse_cli(argc, argv, &o);
  if (rc)
    return rc;
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (o.version) {
    printf(PROG " %s (gRPC core %s, libcurl %s)\n", HC_VERSION, grpc_version_string(),
           curl_version_info(CURLVERSION_NOW)->version);
    return 0;
  }
  if (o.list) {
    list_cases();
    return 0;
  }
  return run(&o);
}
