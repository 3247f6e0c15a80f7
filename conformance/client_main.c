/* client_main: `health-conformance client`, its flags and its run
 * (client_suite.h). Reports, selection, baselines and exit codes are the
 * server suite's (cli.h, cmd.h, runner.h). */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client_suite.h"
#include "cmd.h"
#include "duration.h"
#include "number.h"
#include "report.h"
#include "runner.h"
#include "xalloc.h"

#define MAX_DURATION_MS (3600L * 1000)
#define MAX_ATTEMPTS 1000

typedef struct client_cli {
  client_opts o;
  selection *sel;
  const char *known_failing;
  int strict, list, help;
  const char *healthy_re, *unhealthy_re; /* the patterns, compiled into o */
  int regex_ready;                       /* o's regex_t need regfree */
  int protocol_given;
  cli_output outputs[CLI_MAX_OUTPUTS];
  size_t noutputs;
  int last_has_output;
  char mock_buf[PATH_MAX];
} client_cli;

static void client_usage(FILE *f) {
  fprintf(f, "Usage: " CLI_PROG
             " client --probe-cmd CMD [options]\n"
             "       " CLI_PROG
             " client --watch-cmd CMD [options]\n"
             "\n"
             "Certifies a health client (a probe, a readiness script, a load balancer's\n"
             "checker) against scenarios a mock-executor plays: each scenario starts a mock\n"
             "set up for it, runs the client, and judges its verdict and what it sent (the\n"
             "mock's journal). docs/client-conformance.md lists the scenarios.\n"
             "\n"
             "  --probe-cmd CMD        a probe run once per scenario through /bin/sh; {addr}\n"
             "                         (127.0.0.1:PORT), {host}, {port}, {url} (http://HOST:PORT/\n"
             "                         or .../health/SERVICE) and {service} are replaced by\n"
             "                         shell-quoted words. Exit 0 means healthy, any other\n"
             "                         exit unhealthy, a signal a crash\n"
             "  --protocol P           grpc (default) or http: which scenarios run\n"
             "  --service NAME         the service the probe is told to check (default '')\n"
             "  --healthy-exit N[,N..] exit codes meaning healthy (default 0); repeatable\n"
             "  --unhealthy-exit N[,N..] exit codes meaning unhealthy (default: any other);\n"
             "                         another code is no verdict, and fails\n"
             "  --probe-timeout DUR    the longest the probe may take by its own settings\n"
             "                         (default 2s: grpc_health_probe's 1s dial + 1s RPC)\n"
             "  --slack DUR            on top of it, for starting and ending (default 2s); a\n"
             "                         probe still running then is killed (its process group)\n"
             "  --attempts N           calls one probe run may make (default 1)\n"
             "\n"
             "  --watch-cmd CMD        a long-lived client (same placeholders), started once per\n"
             "                         scenario, that prints a line per change of its view:\n"
             "                         HEALTHY or UNHEALTHY; other lines are ignored. gRPC only\n"
             "  --healthy-regex RE, --unhealthy-regex RE\n"
             "                         what a healthy / unhealthy line matches (POSIX extended;\n"
             "                         default ^HEALTHY$ and ^UNHEALTHY$)\n"
             "  --timeout DUR          how long the client has to follow a change (default 5s;\n"
             "                         its first view may take --slack longer)\n"
             "  --tls-cert FILE, --tls-key FILE\n"
             "                         the mock serves TLS with this PEM certificate and key\n"
             "                         ({url} is https://); the probe must trust it (its CA in\n"
             "                         the command) and fail against a plaintext server\n"
             "  --mock PATH            the mock-executor binary (default: the one installed or\n"
             "                         built beside this program, else mock-executor on PATH)\n"
             "  --run PATTERN, --skip PATTERN, --known-failing FILE, --strict,\n"
             "  --format FMT, --output FILE, --list, --help   as for a run\n"
             "\n"
             "Exit: 0 no MUST failed; 1 a MUST failed (--strict: any failure); 2 usage error.\n");
}

enum {
  OPT_PROBE_CMD = 256,
  OPT_WATCH_CMD,
  OPT_HEALTHY_RE,
  OPT_UNHEALTHY_RE,
  OPT_TIMEOUT,
  OPT_PROTOCOL,
  OPT_SERVICE,
  OPT_HEALTHY_EXIT,
  OPT_UNHEALTHY_EXIT,
  OPT_PROBE_TIMEOUT,
  OPT_SLACK,
  OPT_ATTEMPTS,
  OPT_MOCK,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_RUN,
  OPT_SKIP,
  OPT_KNOWN_FAILING,
  OPT_STRICT,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_LIST,
  OPT_HELP,
};

static const struct option client_options[] = {
    {"probe-cmd", required_argument, NULL, OPT_PROBE_CMD},
    {"watch-cmd", required_argument, NULL, OPT_WATCH_CMD},
    {"healthy-regex", required_argument, NULL, OPT_HEALTHY_RE},
    {"unhealthy-regex", required_argument, NULL, OPT_UNHEALTHY_RE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"healthy-exit", required_argument, NULL, OPT_HEALTHY_EXIT},
    {"unhealthy-exit", required_argument, NULL, OPT_UNHEALTHY_EXIT},
    {"probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT},
    {"slack", required_argument, NULL, OPT_SLACK},
    {"attempts", required_argument, NULL, OPT_ATTEMPTS},
    {"mock", required_argument, NULL, OPT_MOCK},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"run", required_argument, NULL, OPT_RUN},
    {"skip", required_argument, NULL, OPT_SKIP},
    {"known-failing", required_argument, NULL, OPT_KNOWN_FAILING},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int take_duration(const char *flag, const char *arg, int *ms) {
  long v;

  if (duration_parse(arg, &v) < 0 || v < 1 || v > MAX_DURATION_MS)
    return cli_usage_error("%s: '%s' is not a duration from 1ms to 3600s (e.g. 2s)", flag, arg);
  *ms = (int)v;
  return 0;
}

/* "0" or "3,4" appended to set[0..*n). */
static int take_exits(const char *flag, const char *arg, int *set, size_t *n) {
  char buf[256], *save = NULL;

  if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
    return cli_usage_error("%s: '%s' is too long", flag, arg);
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long v;
    if (number_parse(tok, 0, 255, &v) < 0)
      return cli_usage_error("%s: '%s' is not an exit code from 0 to 255", flag, tok);
    if (*n == CLIENT_MAX_EXITS)
      return cli_usage_error("%s: at most %d exit codes", flag, CLIENT_MAX_EXITS);
    set[(*n)++] = (int)v;
  }
  if (*n == 0)
    return cli_usage_error("%s: no exit code in '%s'", flag, arg);
  return 0;
}

static int parse_option(client_cli *c, int opt, const char *arg) {
  char err[RUNNER_ERR_MAX];
  long v;

  switch (opt) {
  case OPT_PROBE_CMD:
    c->o.probe_cmd = arg;
    return 0;
  case OPT_WATCH_CMD:
    c->o.watch_cmd = arg;
    return 0;
  case OPT_HEALTHY_RE:
    c->healthy_re = arg;
    return 0;
  case OPT_UNHEALTHY_RE:
    c->unhealthy_re = arg;
    return 0;
  case OPT_TIMEOUT:
    return take_duration("--timeout", arg, &c->o.budget_ms);
  case OPT_PROTOCOL:
    c->protocol_given = 1;
    if (strcmp(arg, "grpc") != 0 && strcmp(arg, "http") != 0)
      return cli_usage_error("--protocol: unknown protocol '%s' (grpc, http)", arg);
    c->o.protocol = strcmp(arg, "http") == 0 ? PROTOCOL_HTTP : PROTOCOL_GRPC;
    return 0;
  case OPT_SERVICE:
    c->o.service = arg;
    return 0;
  case OPT_HEALTHY_EXIT:
    return take_exits("--healthy-exit", arg, c->o.healthy_exits, &c->o.nhealthy);
  case OPT_UNHEALTHY_EXIT:
    return take_exits("--unhealthy-exit", arg, c->o.unhealthy_exits, &c->o.nunhealthy);
  case OPT_PROBE_TIMEOUT:
    return take_duration("--probe-timeout", arg, &c->o.probe_timeout_ms);
  case OPT_SLACK:
    return take_duration("--slack", arg, &c->o.slack_ms);
  case OPT_ATTEMPTS:
    if (number_parse(arg, 1, MAX_ATTEMPTS, &v) < 0)
      return cli_usage_error("--attempts: '%s' is not a number from 1 to %d", arg, MAX_ATTEMPTS);
    c->o.attempts = (int)v;
    return 0;
  case OPT_MOCK:
    c->o.mock_path = arg;
    return 0;
  case OPT_TLS_CERT:
    c->o.tls_cert = arg;
    return 0;
  case OPT_TLS_KEY:
    c->o.tls_key = arg;
    return 0;
  case OPT_RUN:
  case OPT_SKIP:
    if (selection_add(c->sel, opt == OPT_SKIP, arg, err, sizeof(err)) < 0)
      return cli_usage_error("%s: %s", opt == OPT_SKIP ? "--skip" : "--run", err);
    return 0;
  case OPT_KNOWN_FAILING:
    c->known_failing = arg;
    return 0;
  case OPT_STRICT:
    c->strict = 1;
    return 0;
  case OPT_FORMAT:
  case OPT_OUTPUT:
    return cli_output_option(c->outputs, &c->noutputs, &c->last_has_output, opt == OPT_OUTPUT, arg);
  case OPT_LIST:
    c->list = 1;
    return 0;
  case OPT_HELP:
    c->help = 1;
    return 0;
  default: /* getopt_long has named the bad flag */
    fprintf(stderr, "Try '" CLI_PROG " client --help'.\n");
    return RUNNER_EXIT_USAGE;
  }
}

/* The mock-executor beside this program: the build tree's
 * ../mock_executor/mock-executor, an install's sibling, else PATH's. */
static void default_mock(client_cli *c) {
  char self[PATH_MAX], *dir;
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  static const char *const beside[] = {"/../mock_executor/mock-executor", "/mock-executor"};

  c->o.mock_path = "mock-executor";
  if (n <= 0)
    return;
  self[n] = '\0';
  dir = dirname(self);
  for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
    snprintf(c->mock_buf, sizeof(c->mock_buf), "%s%s", dir, beside[i]);
    if (access(c->mock_buf, X_OK) == 0) {
      c->o.mock_path = c->mock_buf;
      return;
    }
  }
}

/* --healthy-regex / --unhealthy-regex, compiled into c->o. */
static int compile_views(client_cli *c) {
  char why[128];
  int rc;

  rc = regcomp(&c->o.healthy_re, c->healthy_re ? c->healthy_re : "^HEALTHY$",
               REG_EXTENDED | REG_NOSUB);
  if (rc) {
    regerror(rc, &c->o.healthy_re, why, sizeof(why));
    return cli_usage_error("--healthy-regex '%s': %s", c->healthy_re, why);
  }
  rc = regcomp(&c->o.unhealthy_re, c->unhealthy_re ? c->unhealthy_re : "^UNHEALTHY$",
               REG_EXTENDED | REG_NOSUB);
  if (rc) {
    regerror(rc, &c->o.unhealthy_re, why, sizeof(why));
    regfree(&c->o.healthy_re);
    return cli_usage_error("--unhealthy-regex '%s': %s", c->unhealthy_re, why);
  }
  c->regex_ready = 1;
  return 0;
}

static int parse_cli(int argc, char **argv, client_cli *c) {
  int opt, rc;

  c->o = (client_opts){.protocol = PROTOCOL_GRPC,
                       .service = "",
                       .probe_timeout_ms = 2000,
                       .slack_ms = 2000,
                       .attempts = 1,
                       .budget_ms = 5000};
  if (selection_new(&c->sel) < 0)
    return cli_usage_error("out of memory");
  optind = 0; /* GNU getopt: start afresh on this argv */
  while ((opt = getopt_long(argc, argv, "", client_options, NULL)) != -1) {
    rc = parse_option(c, opt, optarg);
    if (rc)
      return rc;
  }
  if (optind < argc)
    return cli_usage_error("client: unexpected argument '%s'", argv[optind]);
  if (c->help || c->list)
    return 0;
  if (!c->o.probe_cmd == !c->o.watch_cmd)
    return cli_usage_error("client: one of --probe-cmd CMD or --watch-cmd CMD is required");
  if (c->o.probe_cmd ? !*c->o.probe_cmd : !*c->o.watch_cmd)
    return cli_usage_error("client: %s is empty", c->o.probe_cmd ? "--probe-cmd" : "--watch-cmd");
  if (c->o.watch_cmd && c->o.protocol == PROTOCOL_HTTP)
    return cli_usage_error("client: --watch-cmd is for gRPC clients (Watch)");
  rc = compile_views(c);
  if (rc)
    return rc;
  if (c->o.nhealthy == 0)
    c->o.healthy_exits[c->o.nhealthy++] = 0;
  for (size_t i = 0; i < c->o.nunhealthy; i++)
    for (size_t k = 0; k < c->o.nhealthy; k++)
      if (c->o.unhealthy_exits[i] == c->o.healthy_exits[k])
        return cli_usage_error("client: exit %d is both healthy and unhealthy",
                               c->o.unhealthy_exits[i]);
  if (!c->o.tls_cert != !c->o.tls_key)
    return cli_usage_error("client: --tls-cert and --tls-key come together");
  if (c->o.tls_cert && (access(c->o.tls_cert, R_OK) != 0 || access(c->o.tls_key, R_OK) != 0))
    return cli_usage_error("client: cannot read --tls-cert '%s' or --tls-key '%s': %s",
                           c->o.tls_cert, c->o.tls_key, strerror(errno));
  if (c->o.mock_path && access(c->o.mock_path, X_OK) != 0)
    return cli_usage_error("--mock: '%s' is not an executable file: %s", c->o.mock_path,
                           strerror(errno));
  if (!c->o.mock_path)
    default_mock(c);
  return cli_outputs_check(c->outputs, c->noutputs);
}

/* Runs the selected scenarios through the runner; returns the exit code. */
static int client_run(client_cli *c, const hc_case *table, size_t total) {
  char target[1100];
  hc_case *cases = NULL;
  baseline *known = NULL;
  report *rep = NULL;
  size_t count = 0;
  int code;

  code = cmd_select_cases(table, total, c->sel, -1, &cases, &count);
  if (code)
    return code;
  code = cmd_load_baseline(c->known_failing, table, total, &known);
  if (code)
    goto out;
  if (report_new(&rep) < 0) {
    fprintf(stderr, CLI_PROG ": out of memory\n");
    code = RUNNER_EXIT_FAILED;
    goto out;
  }
  code = cli_setup_reports(c->outputs, c->noutputs, rep);
  if (code)
    goto out;
  snprintf(target, sizeof(target), "%s %s", c->o.probe_cmd ? "probe-cmd" : "watch-cmd",
           c->o.probe_cmd ? c->o.probe_cmd : c->o.watch_cmd);
  runner_options ro = {
      .target = target,
      .timeout_ms = c->o.probe_cmd ? c->o.probe_timeout_ms + c->o.slack_ms : c->o.budget_ms,
      .strict = c->strict,
      .control_desc = "a mock-executor per scenario",
      .known_failing = known,
      .suite = &c->o};
  code = cmd_run_cases(cases, count, &ro, rep, NULL); /* no max_time_ms: no cut */
out:
  report_free(rep);
  baseline_free(known);
  free(cases);
  return code;
}

/* --list alone: the gRPC and HTTP probe scenarios, then the watch ones. A
 * pattern must match a scenario of some table (checked over all three at
 * once, as cmd_list_selected checks one). */
static int list_all(const client_cli *c) {
  const hc_case *tables[3];
  size_t counts[3], total = 0, n;
  hc_case *all, *chosen = NULL;
  int code;

  tables[0] = client_probe_scenarios(PROTOCOL_GRPC, &counts[0]);
  tables[1] = client_probe_scenarios(PROTOCOL_HTTP, &counts[1]);
  tables[2] = client_watch_scenarios(&counts[2]);
  all = xcalloc(counts[0] + counts[1] + counts[2], sizeof(*all));
  for (size_t i = 0; i < 3; total += counts[i++])
    memcpy(all + total, tables[i], counts[i] * sizeof(*all));
  code = cmd_select_cases(all, total, c->sel, -1, &chosen, &n);
  free(all);
  free(chosen);
  if (code)
    return code;
  for (size_t i = 0; i < 3; i++) {
    if (i)
      printf("\n");
    cmd_list_table(tables[i], counts[i], c->sel, -1);
  }
  return 0;
}

int client_main(int argc, char **argv) {
  client_cli c = {0};
  const hc_case *table;
  size_t total;
  int rc;

  cli_usage_subcommand("client"); /* errors from shared code name `client --help` too */
  rc = parse_cli(argc, argv, &c);
  if (rc)
    goto out;
  if (c.o.watch_cmd)
    table = client_watch_scenarios(&total);
  else
    table = client_probe_scenarios(c.o.protocol, &total);
  if (c.help) {
    client_usage(stdout);
  } else if (c.list && !c.o.probe_cmd && !c.o.watch_cmd && !c.protocol_given) {
    rc = list_all(&c); /* nothing says which: every table */
  } else if (c.list) {
    rc = cmd_list_selected(table, total, c.sel, -1);
  } else {
    rc = client_run(&c, table, total);
  }
out:
  if (c.regex_ready) {
    regfree(&c.o.healthy_re);
    regfree(&c.o.unhealthy_re);
  }
  selection_free(c.sel);
  return rc;
}
