/* health-conformance: checks a grpc.health.v1 server (or its plain-HTTP
 * health endpoint) against the protocol (docs/protocol.md).
 *   run:   flags -> selection -> spawn -> reports -> reachability -> cases
 *   probe: one check with grpc_health_probe's exit codes (probe.h)
 *   wait:  until a status is reached, or a timeout (wait.h)
 * Subcommands with a command line of their own take argv whole (below);
 * the others share cli.c's. */
#include <curl/curl.h>
#include <grpc/grpc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client_suite.h"
#include "cmd.h"
#include "fleet.h"
#include "ping.h"
#include "matrix.h"

/* A subcommand that parses its own flags: argv[0] is its name. */
typedef struct own_command {
  const char *name;
  int (*main)(int argc, char **argv);
} own_command;

static const own_command own_commands[] = {
    {"ping", ping_main},
    {"matrix", matrix_main},
    {"client", client_main},
    {NULL, NULL},
};

static int shared_cli_main(int argc, char **argv) {
  cli o;
  int rc = cli_parse(argc, argv, &o);

  if (rc)
    goto out;
  if (o.help)
    cli_usage(stdout);
  else if (o.version)
    printf(CLI_PROG " %s (gRPC core %s, libcurl %s)\n", HC_VERSION, grpc_version_string(),
           curl_version_info(CURLVERSION_NOW)->version);
  else if (o.cmd == CMD_LIST)
    rc = cmd_list(&o);
  else if (o.cmd == CMD_PROBE)
    rc = cmd_probe(&o);
  else if (o.cmd == CMD_WAIT)
    rc = cmd_wait(&o);
  else if (o.fleet.on)
    rc = fleet_main(&o);
  else
    rc = cmd_run(&o);
out:
  cli_free(&o);
  return rc;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN); /* peers and pipes closing under us are reported, not fatal */
  for (const own_command *c = own_commands; argc > 1 && c->name; c++)
    if (strcmp(argv[1], c->name) == 0)
      return c->main(argc - 1, argv + 1);
  return shared_cli_main(argc, argv);
}
