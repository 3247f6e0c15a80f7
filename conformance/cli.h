/* cli: the command line of health-conformance's run, list, probe and wait
 * subcommands (help text, option table, parsers, usage errors).
 *
 * Subcommands with a command line of their own (ping, client, matrix) do not
 * come through here: main.c hands them argv before cli_parse sees it.
 *
 * Not thread-safe: called from main before any case starts a thread. The
 * strings in a cli point into argv (or into the cli itself); cli_free
 * releases what cli_parse allocated. */
#ifndef HC_CLI_H
#define HC_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "catalogue.h"
#include "client_tls.h"
#include "report.h"
#include "selection.h"

#define CLI_PROG "health-conformance"
#define CLI_MAX_OUTPUTS 8

typedef enum cli_command { CMD_RUN = 0, CMD_LIST, CMD_PROBE, CMD_WAIT } cli_command;

typedef struct cli_output {
  report_format fmt;
  const char *path; /* NULL: stdout */
} cli_output;

#define CLI_MAX_TARGETS 64

/* Several targets at once (fleet.c): every --target as given, --targets,
 * --all-addresses, --jobs, --report-dir. */
typedef struct cli_fleet {
  const char *targets[CLI_MAX_TARGETS];
  size_t ntargets;
  const char *targets_file;
  int all_addresses;
  int jobs; /* 0: not given */
  const char *report_dir;
  int on; /* set by cli_parse: fleet_main runs this command line */
} cli_fleet;

typedef struct cli {
  cli_command cmd;
  const char *target; /* "host:port" after cli_parse (the scheme removed) */
  char target_buf[300];
  int protocol; /* case_protocol, -1 until known */
  const char *service;
  int attempts, min_successful, interval_ms;
  int connect_timeout_ms, rpc_timeout_ms;
  int want_status;
  int timeout_given, interval_given;
  selection *sel;
  const char *known_failing;
  const char *spawn;
  int spawn_timeout_ms;
  int parallel;
  const char *control_url;
  const char *control_cmd;
  int timeout_ms;
  int max_time_ms; /* --max-time: the run's budget (default: runner.h RUNNER_MAX_TIME_*) */
  int latency_budget_ms;
  int strict;
  catalogue_profile profile; /* --profile: which cases run and --list shows */
  int list, help, version;
  cli_output outputs[CLI_MAX_OUTPUTS];
  size_t noutputs;
  int last_has_output;
  ctls_options tls; /* --tls* (client_tls.h) */
  cli_fleet fleet;
} cli;

/* Parses argv into *o. Returns 0, or the exit code of a usage error
 * (2, or 1 under probe as grpc_health_probe), the message printed. Call
 * cli_free afterwards in both cases. */
int cli_parse(int argc, char **argv, cli *o);

/* Makes target the one --target (the checks cli_parse applies to one
 * --target: scheme, HOST:PORT); fleet.c calls it in each target's run.
 * 0 or the usage exit code, the message printed. */
int cli_set_target(cli *o, const char *target);

/* Releases what cli_parse allocated and the TLS settings cli_apply_tls made. */
void cli_free(cli *o);

/* The --help text. */
void cli_usage(FILE *f);

/* Prints "health-conformance: <what>" and the --help hint on stderr;
 * returns the usage exit code of the subcommand being parsed. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Names the subcommand (e.g. "client") whose usage errors cli_usage_error
 * prints from here on, so its hint points at that subcommand's --help.
 * Called once, from the main thread, before parsing. */
void cli_usage_subcommand(const char *sub);

/* The same message for a subcommand with flags of its own (sub: "matrix",
 * NULL for none): "health-conformance matrix: <what>" and its --help hint. */
void cli_vusage_message(const char *sub, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* --format (is_output 0) or --output (1) of a command line with reports:
 * adds to or completes outs[0..*n). 0, or the usage exit code. */
int cli_output_option(cli_output *outs, size_t *n, int *last_has_output, int is_output,
                      const char *arg);

/* A usage error (its exit code) when more than one format writes to stdout. */
int cli_outputs_check(const cli_output *outs, size_t n);

/* Attaches a writer per output to rep; the text report takes stdout unless
 * a format does. 0, or the usage exit code (a file that cannot be created). */
int cli_setup_reports(const cli_output *outs, size_t n, report *rep);

/* Applies --tls* to every connection to the target, reading the PEM files
 * (a missing one is a usage error, as in grpc_health_probe): 0 or the
 * usage exit code. */
int cli_apply_tls(const cli *o);

#endif
