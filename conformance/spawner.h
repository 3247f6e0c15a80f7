/*
 * spawner: `--spawn 'CMD ... {port}'` starts the server under test for one
 * run: on a free loopback port, waited for until it accepts connections,
 * stopped afterwards, its output kept for the failure report.
 *
 * Free ports: bind 127.0.0.1:0, read the port, close. Another process may
 * take the port between the close and the target's bind (a race this
 * cannot close without the target printing its port); the target then
 * fails to start and its stderr says why.
 *
 * The command runs as `/bin/sh -c 'exec CMD'` through posix_spawn (never a
 * fork after grpc_init), in its own process group, stdin from /dev/null,
 * stdout and stderr into a temporary file. Stopping sends SIGTERM to that
 * group (the spawned pid's group, nothing else), waits a bounded time,
 * then SIGKILL.
 *
 * Placeholders: {port} (required) and {control_port} (a second free port,
 * for the mock's --admin-port).
 * Thread safety: none; one thread drives a spawned target.
 */
#ifndef HC_SPAWNER_H
#define HC_SPAWNER_H

#include <stddef.h>
#include <stdio.h>

typedef struct spawned spawned;

/* A free TCP port on 127.0.0.1 (see the race above). */
int spawner_free_port(int *port, char *err, size_t errlen);

/* Replaces {port} and {control_port} in tmpl into out. -EINVAL when {port}
 * is missing, -ENAMETOOLONG when out is too small. */
int spawner_expand(const char *tmpl, int port, int control_port, char *out, size_t size);

/* Starts the expanded command. 0 and *out, or negative with err. */
int spawner_start(const char *command, spawned **out, char *err, size_t errlen);

/* Waits until every port in ports[0..n) on 127.0.0.1 accepts a TCP
 * connection, at most timeout_ms. -ECHILD if the target exited first,
 * -ETIMEDOUT; err says which. */
int spawner_wait_ready(spawned *s, const int *ports, size_t n, int timeout_ms, char *err,
                       size_t errlen);

/* SIGTERM, up to grace_ms for an exit, then SIGKILL. Returns the wait
 * status, or -1 if it had to be killed. Safe to call twice. */
int spawner_stop(spawned *s, int grace_ms);

/* Writes the last `max` bytes of the target's output to f. */
void spawner_print_tail(const spawned *s, FILE *f, size_t max);

/* Stops (if needed, with a 5 s grace), removes the output file, frees. */
void spawner_free(spawned *s);

#endif
