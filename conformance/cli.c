/* cli: health-conformance's command line for run, list, probe and wait
 * (cli.h). One option table for the four; which flag belongs to which
 * subcommand is checked once every flag is in (check_command_flags). */
#define _GNU_SOURCE /* strdup */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "duration.h"
#include "fleet.h"
#include "number.h"
#include "probe.h"
#include "runner.h"
#include "wire.h"

#define MAX_DURATION_MS (3600 * 1000)
#define MAX_ATTEMPTS 1000

/* Usage errors exit 2, except under `probe`, which keeps grpc_health_probe's 1. */
static int usage_exit = RUNNER_EXIT_USAGE;
/* The subcommand with flags of its own whose usage errors these are (NULL:
 * the runner's), for the "Try '... --help'" hint. */
static const char *usage_sub;

void cli_usage(FILE *f) {
  fprintf(f,
          "Usage: " CLI_PROG
          " [run] (--target TARGET | --spawn CMD) [options]\n"
          "       " CLI_PROG
          " probe --target TARGET [probe options]\n"
          "       " CLI_PROG
          " wait --target TARGET [--timeout DUR] [--status STATUS]\n"
          "       " CLI_PROG
          " list [--protocol P] [--run PAT] [--skip PAT] | --help | --version\n"
          "       " CLI_PROG
          " matrix [--format F] [--output FILE] [NAME=]REPORT.ndjson...\n"
          "       " CLI_PROG
          " client --probe-cmd CMD [client options]\n"
          "       " CLI_PROG
          " ping executor|gateway|flow HOST:PORT [--timeout MS] [--attempts N]\n"
          "                           [--min-successful-attempts M]   (jina ping; ping --help)\n"
          "\n"
          "Checks a grpc.health.v1.Health server, or a plain-HTTP health endpoint such as\n"
          "a Jina Executor's, against the health protocol.\n"
          "\n"
          "TARGET is HOST:PORT, [IPV6]:PORT or http://HOST:PORT (which means --protocol http;\n"
          "https://HOST:PORT also means --tls).\n"
          "\n"
          "TLS (run, probe and wait; grpc_health_probe's flags; the --control URL is apart):\n"
          "  --tls                  connect with TLS (gRPC over TLS, https:// for HTTP)\n"
          "  --tls-ca-cert FILE     trust the CA certificates in this PEM file (default:\n"
          "                         the system's roots)\n"
          "  --tls-no-verify        accept any server certificate (not with --tls-ca-cert)\n"
          "  --tls-server-name NAME the name the certificate must carry, sent as SNI\n"
          "                         (default: the target's host)\n"
          "  --tls-client-cert FILE, --tls-client-key FILE\n"
          "                         a client certificate and its key, given together\n"
          "  A TLS failure (untrusted, expired, wrong name, plaintext peer) is a\n"
          "  connection failure: probe exits 2, wait keeps trying until --timeout, and\n"
          "  run's cases fail with UNAVAILABLE and the TLS error.\n"
          "\n"
          "run (the default):\n"
          "  --target TARGET        server under test\n"
          "  --protocol P           grpc (default) or http: which cases run\n"
          "  --control URL          the mock's control API (http://HOST:PORT)\n"
          "  --control-cmd CMD      a command changing statuses; {service} and {status}\n"
          "                         are replaced by shell-quoted words. status is SERVING,\n"
          "                         NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, REMOVE, SHUTDOWN\n"
          "                         or RESUME; exit 0 on success, 64 if not supported\n"
          "  --timeout DUR          bound on every wait of a case (default 2s); a target\n"
          "                         that gives no health answer within it ends the run\n"
          "                         with exit 3, every case not run\n"
          "  --max-time DUR         bound on the whole run (default 9 x --timeout: 18s;\n"
          "                         with --control, --control-cmd or --spawn 60 x: 120s);\n"
          "                         then the case running fails as cut short and the\n"
          "                         cases not started fail as not run, with the reason\n"
          "  --latency-budget DUR   latency budget for T10, T36 and H05 (default 500ms)\n"
          "  --strict               SHOULD failures and warnings fail the run\n"
          "  --profile jina         add the Jina Executor cases J01-J06 (run and list;\n"
          "                         docs/jina.md); T29 then skips, superseded by J03\n"
          "  --run PATTERN          run only cases whose ID matches the glob; repeatable;\n"
          "                         @FILE reads patterns from FILE, one per line\n"
          "  --skip PATTERN         do not run matching cases; repeatable; @FILE too\n"
          "  --known-failing FILE   cases expected to fail: lines 'ID-or-glob  reason'\n"
          "                         (the reason is required). A listed failure does not\n"
          "                         fail the run; a listed case that passes does (stale)\n"
          "  --parallel N           run up to N independent cases at once (default 1);\n"
          "                         cases that change '' or measure time run alone, and\n"
          "                         results are reported in catalogue order\n"
          "  --spawn CMD            start the target with /bin/sh: {port} becomes a free\n"
          "                         port, {control_port} a second one (then --control\n"
          "                         defaults to http://127.0.0.1:{control_port}); it is\n"
          "                         stopped after the run, its output shown on failure\n"
          "  --spawn-timeout DUR    how long the spawned target may take to listen (10s)\n"
          "  --format FMT           text, tap, junit, json (NDJSON) or html (one page);\n"
          "                         repeatable\n"
          "  --output FILE          where the preceding --format goes (default stdout)\n"
          "  --target is repeatable: several targets run at once (one report each, a\n"
          "  merged matrix, the worst exit code; see Many targets below)\n"
          "  --list                 print the catalogue and exit, without connecting\n"
          "  --help, --version\n"
          "\n"
          "client: certifies a health client instead of a server: scenarios a mock plays,\n"
          "judged from the client's verdicts and what it sent (" CLI_PROG
          " client --help,\n"
          "docs/client-conformance.md).\n"
          "\n"
          "Many targets (run):\n"
          "  --target T ...         repeated: every one is a target\n"
          "  --targets FILE         targets one per line ('#' comments, blank lines)\n"
          "  --all-addresses        every address a target's name resolves to is a\n"
          "                         target (a Kubernetes headless Service: every pod)\n"
          "  --jobs N               targets run at once (default %d, at most %d)\n"
          "  --report-dir DIR       required: DIR/<target>.txt, .ndjson and one file per\n"
          "                         --format for each target; DIR/matrix.txt, .md\n"
          "                         and .html; the matrix is printed. --control may\n"
          "                         say {host}: each target's own host. Exit: the\n"
          "                         worst of the targets' codes.\n"
          "\n"
          "probe: one check, exit codes as grpc_health_probe: 0 SERVING (HTTP: 200-399),\n"
          "1 usage error, 2 connection failed or timed out, 3 RPC failed, 4 answered but\n"
          "not SERVING (HTTP: another status).\n"
          "  --service NAME         gRPC service (default ''); HTTP: GET /health/NAME\n"
          "  --connect-timeout DUR  (default 1s)    --rpc-timeout DUR  (default 1s)\n"
          "  --attempts N           checks to make, like jina ping (default 1)\n"
          "  --min-successful M     successes needed (default 1); stops once reached\n"
          "  --interval DUR         pause between attempts (default 1s)\n"
          "\n"
          "wait: polls (gRPC: Watches) until --status (default SERVING) is seen, printing\n"
          "each change; exit 0 when reached, 1 on timeout (--timeout, default 30s),\n"
          "2 usage error. Also --service, --interval (default 200ms), --rpc-timeout.\n"
          "\n"
          "DUR is a number with a unit: 250ms, 2s, 1.5s.\n"
          "The text report goes to stdout unless another format does.\n"
          "\n"
          "Exit (run): 0 no MUST failed; 1 a MUST failed (with --strict: any failure or\n"
          "warning), a known-failing entry is stale, or a report could not be written;\n"
          "2 usage error; 3 target unreachable, no health answer within --timeout, or it\n"
          "stopped answering (or the spawned target did not start).\n",
          FLEET_DEFAULT_JOBS, FLEET_MAX_JOBS);
}

void cli_vusage_message(const char *sub, const char *fmt, va_list ap) {
  const char *sep = sub ? " " : "";

  sub = sub ? sub : "";
  fprintf(stderr, CLI_PROG "%s%s: ", sep, sub);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '" CLI_PROG "%s%s --help'.\n", sep, sub);
}

/* Prints "health-conformance: <what>" naming the flag, returns exit 2. */
int cli_usage_error(const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  cli_vusage_message(usage_sub, fmt, ap);
  va_end(ap);
  return usage_exit;
}

void cli_usage_subcommand(const char *sub) { usage_sub = sub; }

/* A whole number in [lo, hi] (number.h); -EINVAL otherwise. */
static int parse_int(const char *text, int lo, int hi, int *out) {
  long v;

  if (number_parse(text, lo, hi, &v) < 0)
    return -EINVAL;
  *out = (int)v;
  return 0;
}

enum {
  OPT_TARGET = 256,
  OPT_TARGETS,
  OPT_ALL_ADDRESSES,
  OPT_JOBS,
  OPT_REPORT_DIR,
  OPT_CONTROL,
  OPT_CONTROL_CMD,
  OPT_TIMEOUT,
  OPT_BUDGET,
  OPT_STRICT,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_LIST,
  OPT_HELP,
  OPT_VERSION,
  OPT_PROTOCOL,
  OPT_SERVICE,
  OPT_ATTEMPTS,
  OPT_MIN_SUCCESSFUL,
  OPT_INTERVAL,
  OPT_CONNECT_TIMEOUT,
  OPT_RPC_TIMEOUT,
  OPT_STATUS,
  OPT_RUN,
  OPT_SKIP,
  OPT_KNOWN_FAILING,
  OPT_SPAWN,
  OPT_SPAWN_TIMEOUT,
  OPT_PARALLEL,
  OPT_PROFILE,
  OPT_TLS,
  OPT_TLS_CA_CERT,
  OPT_TLS_NO_VERIFY,
  OPT_TLS_SERVER_NAME,
  OPT_TLS_CLIENT_CERT,
  OPT_TLS_CLIENT_KEY,
  OPT_MAX_TIME
};

static const struct option long_options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"targets", required_argument, NULL, OPT_TARGETS},
    {"all-addresses", no_argument, NULL, OPT_ALL_ADDRESSES},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"control-cmd", required_argument, NULL, OPT_CONTROL_CMD},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-time", required_argument, NULL, OPT_MAX_TIME},
    {"latency-budget", required_argument, NULL, OPT_BUDGET},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"attempts", required_argument, NULL, OPT_ATTEMPTS},
    {"min-successful", required_argument, NULL, OPT_MIN_SUCCESSFUL},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"rpc-timeout", required_argument, NULL, OPT_RPC_TIMEOUT},
    {"status", required_argument, NULL, OPT_STATUS},
    {"run", required_argument, NULL, OPT_RUN},
    {"skip", required_argument, NULL, OPT_SKIP},
    {"known-failing", required_argument, NULL, OPT_KNOWN_FAILING},
    {"spawn", required_argument, NULL, OPT_SPAWN},
    {"spawn-timeout", required_argument, NULL, OPT_SPAWN_TIMEOUT},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-ca-cert", required_argument, NULL, OPT_TLS_CA_CERT},
    {"tls-no-verify", no_argument, NULL, OPT_TLS_NO_VERIFY},
    {"tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME},
    {"tls-client-cert", required_argument, NULL, OPT_TLS_CLIENT_CERT},
    {"tls-client-key", required_argument, NULL, OPT_TLS_CLIENT_KEY},
    {NULL, 0, NULL, 0},
};

/* A duration flag: "--flag: 'x' is not a duration ..." on error. */
static int take_duration(const char *flag, const char *arg, int *ms) {
  long v;

  if (duration_parse_range(arg, 1, MAX_DURATION_MS, &v) < 0)
    return cli_usage_error("%s: '%s' is not a duration from 1ms to 3600s (e.g. 2s)", flag, arg);
  *ms = (int)v;
  return 0;
}

static int parse_protocol(const char *flag, const char *arg, int *protocol) {
  if (strcmp(arg, "grpc") == 0)
    *protocol = PROTOCOL_GRPC;
  else if (strcmp(arg, "http") == 0)
    *protocol = PROTOCOL_HTTP;
  else
    return cli_usage_error("%s: unknown protocol '%s' (grpc, http)", flag, arg);
  return 0;
}

/* --tls*: the combination is checked once every flag is in (cli_parse). */
static int parse_tls_option(cli *o, int opt, const char *arg) {
  switch (opt) {
  case OPT_TLS:
    o->tls.enabled = 1;
    return 0;
  case OPT_TLS_CA_CERT:
    o->tls.ca_file = arg;
    return 0;
  case OPT_TLS_NO_VERIFY:
    o->tls.no_verify = 1;
    return 0;
  case OPT_TLS_SERVER_NAME:
    o->tls.server_name = arg;
    return 0;
  case OPT_TLS_CLIENT_CERT:
    o->tls.cert_file = arg;
    return 0;
  case OPT_TLS_CLIENT_KEY:
    o->tls.key_file = arg;
    return 0;
  default: /* getopt_long has named the bad flag */
    fprintf(stderr, "Try '" CLI_PROG " --help'.\n");
    return usage_exit;
  }
}

/* Flags of the probe and wait subcommands. */
static int parse_check_option(cli *o, int opt, const char *arg) {
  switch (opt) {
  case OPT_SERVICE:
    o->service = arg;
    return 0;
  case OPT_ATTEMPTS:
    if (parse_int(arg, 1, MAX_ATTEMPTS, &o->attempts) < 0)
      return cli_usage_error("--attempts: '%s' is not a number from 1 to %d", arg, MAX_ATTEMPTS);
    return 0;
  case OPT_MIN_SUCCESSFUL:
    if (parse_int(arg, 1, MAX_ATTEMPTS, &o->min_successful) < 0)
      return cli_usage_error("--min-successful: '%s' is not a number from 1 to %d", arg,
                             MAX_ATTEMPTS);
    return 0;
  case OPT_INTERVAL:
    o->interval_given = 1;
    return take_duration("--interval", arg, &o->interval_ms);
  case OPT_CONNECT_TIMEOUT:
    return take_duration("--connect-timeout", arg, &o->connect_timeout_ms);
  case OPT_RPC_TIMEOUT:
    return take_duration("--rpc-timeout", arg, &o->rpc_timeout_ms);
  case OPT_STATUS:
    if (wire_status_parse(arg, &o->want_status) < 0)
      return cli_usage_error(
          "--status: '%s' is not SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN", arg);
    return 0;
  default:
    return parse_tls_option(o, opt, arg);
  }
}

/* Flags of a run: selection, baseline, spawn, parallel. */
static int parse_run_option(cli *o, int opt, const char *arg) {
  char err[RUNNER_ERR_MAX];

  switch (opt) {
  case OPT_RUN:
  case OPT_SKIP:
    if (selection_add(o->sel, opt == OPT_SKIP, arg, err, sizeof(err)) < 0)
      return cli_usage_error("%s: %s", opt == OPT_SKIP ? "--skip" : "--run", err);
    return 0;
  case OPT_KNOWN_FAILING:
    o->known_failing = arg;
    return 0;
  case OPT_SPAWN:
    o->spawn = arg;
    return 0;
  case OPT_SPAWN_TIMEOUT:
    return take_duration("--spawn-timeout", arg, &o->spawn_timeout_ms);
  case OPT_PARALLEL:
    if (parse_int(arg, 1, RUNNER_MAX_PARALLEL, &o->parallel) < 0)
      return cli_usage_error("--parallel: '%s' is not a number from 1 to %d", arg,
                             RUNNER_MAX_PARALLEL);
    return 0;
  case OPT_PROFILE:
    if (strcmp(arg, "jina") != 0 && strcmp(arg, "none") != 0)
      return cli_usage_error("--profile: '%s' is not one of none, jina", arg);
    o->profile = strcmp(arg, "jina") == 0 ? CATALOGUE_JINA : CATALOGUE_PLAIN;
    return 0;
  default:
    return parse_check_option(o, opt, arg);
  }
}

static int parse_option(cli *o, int opt, const char *arg) {
  switch (opt) {
  case OPT_TARGET:
    if (o->fleet.ntargets == CLI_MAX_TARGETS)
      return cli_usage_error("--target: at most %d (--targets FILE takes more)", CLI_MAX_TARGETS);
    o->target = o->fleet.targets[o->fleet.ntargets++] = arg;
    return 0;
  case OPT_TARGETS:
    o->fleet.targets_file = arg;
    return 0;
  case OPT_ALL_ADDRESSES:
    o->fleet.all_addresses = 1;
    return 0;
  case OPT_JOBS:
    if (parse_int(arg, 1, FLEET_MAX_JOBS, &o->fleet.jobs) < 0)
      return cli_usage_error("--jobs: '%s' is not a number from 1 to %d", arg, FLEET_MAX_JOBS);
    return 0;
  case OPT_REPORT_DIR:
    o->fleet.report_dir = arg;
    return 0;
  case OPT_PROTOCOL:
    return parse_protocol("--protocol", arg, &o->protocol);
  case OPT_CONTROL:
    o->control_url = arg;
    return 0;
  case OPT_CONTROL_CMD:
    o->control_cmd = arg;
    return 0;
  case OPT_TIMEOUT:
    o->timeout_given = 1;
    return take_duration("--timeout", arg, &o->timeout_ms);
  case OPT_MAX_TIME:
    return take_duration("--max-time", arg, &o->max_time_ms);
  case OPT_BUDGET:
    return take_duration("--latency-budget", arg, &o->latency_budget_ms);
  case OPT_STRICT:
    o->strict = 1;
    return 0;
  case OPT_FORMAT:
  case OPT_OUTPUT:
    return cli_output_option(o->outputs, &o->noutputs, &o->last_has_output, opt == OPT_OUTPUT, arg);
  case OPT_LIST:
    o->list = 1;
    return 0;
  case OPT_HELP:
    o->help = 1;
    return 0;
  case OPT_VERSION:
    o->version = 1;
    return 0;
  default:
    return parse_run_option(o, opt, arg);
  }
}

static int command_parse(const char *word, cli_command *cmd) {
  static const char *const names[] = {"run", "list", "probe", "wait"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(word, names[i]) == 0) {
      *cmd = (cli_command)i;
      return 0;
    }
  return -EINVAL;
}

/* "http://HOST:PORT[/]" -> HOST:PORT and protocol http ("https://" also
 * turns --tls on); "HOST:PORT" as is. */
int cli_set_target(cli *o, const char *target) {
  char err[RUNNER_ERR_MAX], host[256], port[16];
  const char *t = o->target = target;
  size_t skip = strncmp(t, "http://", 7) == 0 ? 7 : strncmp(t, "https://", 8) == 0 ? 8 : 0;

  if (skip) {
    size_t len = strlen(t + skip);
    if (o->protocol == PROTOCOL_GRPC)
      return cli_usage_error("--target '%s' is an HTTP URL but --protocol is grpc", t);
    o->protocol = PROTOCOL_HTTP;
    if (skip == 8)
      o->tls.enabled = 1;
    if (len && t[skip + len - 1] == '/')
      len--;
    if (memchr(t + skip, '/', len))
      return cli_usage_error("--target '%s': a path is not supported (GET / is checked)", t);
    if (len >= sizeof(o->target_buf))
      return cli_usage_error("--target '%s' is too long", t);
    memcpy(o->target_buf, t + skip, len);
    o->target_buf[len] = '\0';
    o->target = o->target_buf;
  } else if (strstr(t, "://")) {
    return cli_usage_error(
        "--target '%s': the only schemes are http:// and https:// (gRPC is "
        "HOST:PORT)",
        t);
  }
  if (runner_split_target(o->target, host, sizeof(host), port, sizeof(port), err, sizeof(err)) < 0)
    return cli_usage_error("--target: %s", err);
  if (o->protocol < 0)
    o->protocol = PROTOCOL_GRPC;
  return 0;
}

/* Which flags belong to which subcommand is checked after parsing. */
static int check_command_flags(const cli *o) {
  if (o->cmd != CMD_PROBE && o->cmd != CMD_WAIT &&
      (o->service || o->attempts || o->min_successful || o->interval_given ||
       o->connect_timeout_ms || o->rpc_timeout_ms || o->want_status >= 0))
    return cli_usage_error(
        "--service, --attempts, --min-successful, --interval, --connect-timeout, "
        "--rpc-timeout and --status belong to probe and wait");
  if (o->cmd == CMD_WAIT && (o->attempts || o->min_successful || o->connect_timeout_ms))
    return cli_usage_error("--attempts, --min-successful and --connect-timeout belong to probe");
  if (o->cmd == CMD_PROBE && o->want_status >= 0)
    return cli_usage_error("--status belongs to wait");
  if ((o->cmd == CMD_PROBE || o->cmd == CMD_WAIT) &&
      (o->spawn || o->known_failing || o->parallel || o->control_url || o->control_cmd ||
       o->profile))
    return cli_usage_error(
        "--spawn, --known-failing, --parallel, --control and --profile belong "
        "to run");
  if (o->cmd == CMD_PROBE && o->min_successful > (o->attempts ? o->attempts : 1))
    return cli_usage_error("--min-successful %d is more than --attempts %d", o->min_successful,
                           o->attempts ? o->attempts : 1);
  return 0;
}

int cli_parse(int argc, char **argv, cli *o) {
  char err[RUNNER_ERR_MAX];
  int opt, rc;

  *o = (cli){.timeout_ms = 2000,
             .latency_budget_ms = 500,
             .protocol = -1,
             .want_status = -1,
             .spawn_timeout_ms = 10000};
  /* The subcommand decides the usage exit code, so it is read first. */
  if (argc > 1 && command_parse(argv[1], &o->cmd) == 0 && o->cmd == CMD_PROBE)
    usage_exit = PROBE_EXIT_USAGE;
  if (selection_new(&o->sel) < 0)
    return cli_usage_error("out of memory");
  while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    rc = parse_option(o, opt, optarg);
    if (rc)
      return rc;
  }
  for (int i = optind; i < argc; i++) {
    cli_command cmd;
    if (i == optind && command_parse(argv[i], &cmd) == 0) {
      o->cmd = cmd;
      continue;
    }
    return cli_usage_error("unexpected argument '%s' (subcommands: run, probe, wait, list)",
                           argv[i]);
  }
  /* Scaled, so that a default run ends within 20 s against any target,
   * and a run given a longer --timeout (valgrind) gets a longer budget.
   * A control hook is waited on at every status change (T20 and T27 make
   * about 100 each: 45 s in all for a hook that runs curl). */
  if (!o->max_time_ms)
    o->max_time_ms = (o->control_url || o->control_cmd || o->spawn ? RUNNER_MAX_TIME_HOOK_FACTOR
                                                                   : RUNNER_MAX_TIME_FACTOR) *
                     o->timeout_ms;
  if (o->cmd == CMD_PROBE)
    usage_exit = PROBE_EXIT_USAGE;
  if (o->list)
    o->cmd = CMD_LIST;
  if (o->help || o->version)
    return 0;
  rc = check_command_flags(o);
  if (rc)
    return rc;
  if (o->cmd == CMD_LIST)
    return 0;
  o->fleet.on = o->fleet.ntargets > 1 || o->fleet.targets_file || o->fleet.all_addresses ||
                o->fleet.report_dir || o->fleet.jobs;
  if (o->fleet.on)
    return fleet_check(o); /* each target is checked as the one of its run */
  if (o->spawn && o->target)
    return cli_usage_error("--spawn and --target exclude each other (the spawned target is used)");
  if (!o->target && !o->spawn)
    return cli_usage_error(o->cmd == CMD_RUN ? "--target HOST:PORT (or --spawn CMD) is required"
                                             : "--target HOST:PORT is required");
  if (o->target) {
    rc = cli_set_target(o, o->target);
    if (rc)
      return rc;
  }
  if (o->protocol < 0) /* --spawn: no target to say http:// */
    o->protocol = PROTOCOL_GRPC;
  if (ctls_check(&o->tls, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  if (o->control_url && o->control_cmd)
    return cli_usage_error("--control and --control-cmd exclude each other");
  return cli_outputs_check(o->outputs, o->noutputs);
}

int cli_output_option(cli_output *outs, size_t *n, int *last_has_output, int is_output,
                      const char *arg) {
  report_format fmt;

  if (!is_output) {
    if (report_format_parse(arg, &fmt) < 0)
      return cli_usage_error("--format: unknown format '%s' (text, tap, junit, json, html)", arg);
    if (*n == CLI_MAX_OUTPUTS)
      return cli_usage_error("--format: at most %d formats", CLI_MAX_OUTPUTS);
    outs[(*n)++] = (cli_output){.fmt = fmt, .path = NULL};
    *last_has_output = 0;
    return 0;
  }
  if (*n == 0)
    return cli_usage_error("--output '%s' must follow a --format", arg);
  if (*last_has_output)
    return cli_usage_error("--output '%s': --format %s already has an --output", arg,
                           report_format_name(outs[*n - 1].fmt));
  outs[*n - 1].path = strcmp(arg, "-") == 0 ? NULL : arg;
  *last_has_output = 1;
  return 0;
}

int cli_outputs_check(const cli_output *outs, size_t n) {
  size_t on_stdout = 0;

  for (size_t i = 0; i < n; i++)
    on_stdout += outs[i].path == NULL;
  if (on_stdout > 1)
    return cli_usage_error("several --format write to stdout; give all but one an --output");
  return 0;
}

int cli_setup_reports(const cli_output *outs, size_t n, report *rep) {
  char err[RUNNER_ERR_MAX];
  int stdout_taken = 0;
  int colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

  for (size_t i = 0; i < n; i++) {
    int rc;
    if (outs[i].path) {
      rc = report_add_path(rep, outs[i].fmt, outs[i].path, err, sizeof(err));
      if (rc < 0)
        return cli_usage_error("--output: %s", err);
    } else {
      rc = report_add_stream(rep, outs[i].fmt, stdout, colour);
      stdout_taken = 1;
      if (rc < 0)
        return cli_usage_error("out of memory");
    }
  }
  if (!stdout_taken && report_add_stream(rep, REPORT_TEXT, stdout, colour) < 0)
    return cli_usage_error("out of memory");
  return 0;
}

int cli_apply_tls(const cli *o) {
  char err[RUNNER_ERR_MAX];

  if (ctls_set(&o->tls, o->target, err, sizeof(err)) < 0)
    return cli_usage_error("%s", err);
  return 0;
}

void cli_free(cli *o) {
  ctls_clear();
  selection_free(o->sel);
  o->sel = NULL;
}
