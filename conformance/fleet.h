/*
 * fleet: one command line, many targets (issue 16.4). --target repeated,
 * --targets FILE (one per line) and --all-addresses (every address a name
 * resolves to, e.g. every pod behind a Kubernetes headless Service) make
 * the list; up to --jobs targets run at once, each in a child process that
 * runs the single-target run (cmd_run) with its own reports in
 * --report-dir; then the reports are merged into the matrix (matrix.h).
 * The exit code is the worst (highest) of the targets' codes.
 *
 * Why processes: a run sets process-wide state (TLS settings, the C core
 * and libcurl initialised once); a child per target keeps runs apart, and
 * a run that crashes costs only its own target.
 *
 * Memory: a fleet_list owns its targets; fleet_list_free releases them.
 * Thread safety: none; fleet_main forks, so it runs before any thread.
 */
#ifndef HC_FLEET_H
#define HC_FLEET_H

#include <stddef.h>

#include "cli.h"

struct addrinfo; /* <netdb.h> */

#define FLEET_DEFAULT_JOBS 4
#define FLEET_MAX_JOBS 64
#define FLEET_MAX_TARGETS 1024

typedef struct fleet_target {
  char target[320]; /* as the run takes it: [scheme://]HOST:PORT */
  char name[256];   /* the host as given (a DNS name): TLS name, {host} */
  char host[256];   /* the host connected to (an address after fan-out) */
} fleet_target;

typedef struct fleet_list {
  fleet_target *v;
  size_t n, cap;
} fleet_list;

void fleet_list_free(fleet_list *l);

/* Adds target ([scheme://]HOST:PORT) to l as given. 0, -EINVAL (a bad
 * target, -EEXIST a duplicate, -E2BIG too many; err says which). */
int fleet_add(fleet_list *l, const char *target, char *err, size_t errlen);

/* --all-addresses: adds one target per distinct address in `answer` (the
 * resolver's answer for target's host, in its order), each with target's
 * scheme and port and the name as given. Pure: tests inject the answer. */
int fleet_add_answer(fleet_list *l, const char *target, const struct addrinfo *answer, char *err,
                     size_t errlen);

/* The checks of cli_parse for a fleet command line: 0 or exit 2. */
int fleet_check(cli *o);

/* Runs every target; returns the worst exit code (2 for a usage error). */
int fleet_main(cli *o);

#endif
