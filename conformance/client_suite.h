/*
 * client_suite: `health-conformance client`, the conformance suite for a
 * health *client* (a probe, a readiness script, a load balancer's checker,
 * a client with client-side health checking): scenarios a mock-executor
 * plays, judged from the client's verdicts and from what it sent (the
 * mock's journal).
 *
 *   client_main.c       flags, the run (selection, reports, exit codes
 *                       through runner_run, as the server suite)
 *   client_scenarios.c  --probe-cmd: the probe scenarios (their tables)
 *   client_probe.c      one probe scenario played and judged
 *   client_watch.c      --watch-cmd: the long-lived client scenarios
 *   client_mock.c       one mock-executor per scenario, its journal
 *
 * Every scenario is an hc_case (catalogue.h) whose function reads the
 * client_opts through case_ctx.suite. Scenarios run one at a time, each
 * bounded in time; every process a scenario starts (the mock, the client
 * command) is ended by its process group before the scenario returns.
 */
#ifndef HC_CLIENT_SUITE_H
#define HC_CLIENT_SUITE_H

#include <regex.h>
#include <stddef.h>

#include "catalogue.h"

#define CLIENT_MAX_EXITS 16

typedef struct client_opts {
  const char *probe_cmd; /* --probe-cmd, or NULL */
  const char *watch_cmd; /* --watch-cmd, or NULL */
  case_protocol protocol;
  const char *service;                 /* --service: {service}, and what the mock serves */
  const char *mock_path;               /* the mock-executor binary */
  const char *tls_cert;                /* --tls-cert: the mock serves TLS with it, or NULL */
  const char *tls_key;                 /* --tls-key: its key */
  int healthy_exits[CLIENT_MAX_EXITS]; /* --healthy-exit (default 0) */
  size_t nhealthy;
  int unhealthy_exits[CLIENT_MAX_EXITS]; /* --unhealthy-exit (default: any other) */
  size_t nunhealthy;
  int probe_timeout_ms; /* --probe-timeout: the longest the probe may take by its settings */
  int slack_ms;         /* --slack: process start and exit, on top of it */
  int attempts;         /* --attempts: calls one probe run may make */
  int budget_ms;        /* --timeout: how long a watch client has to follow a change */
  regex_t healthy_re, unhealthy_re; /* --healthy-regex, --unhealthy-regex (extended) */
} client_opts;

/* `health-conformance client ...`: argv[0] is "client". Returns the exit code. */
int client_main(int argc, char **argv);

/* The scenarios, static storage; *count receives the length: the probe
 * scenarios of a protocol, and the watch scenarios (gRPC). */
const hc_case *client_probe_scenarios(case_protocol protocol, size_t *count);
const hc_case *client_watch_scenarios(size_t *count);

#endif
