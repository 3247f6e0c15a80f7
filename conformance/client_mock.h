/*
 * client_mock: the mock-executor a client scenario plays on, one per
 * scenario (a fresh journal, no state left by the one before), started on
 * 127.0.0.1 with its control API, and ended by its process group.
 *
 * The listening ports are read from the mock's own "LISTENING <kind>
 * <host>:<port>" lines (it binds port 0 itself), so no free-port race.
 *
 * Memory: a client_mock owns its process and control hook.
 * Thread safety: one thread drives a client_mock.
 */
#ifndef HC_CLIENT_MOCK_H
#define HC_CLIENT_MOCK_H

#include <jansson.h>
#include <stddef.h>

#include "catalogue.h"
#include "client_suite.h"
#include "control.h"

typedef struct client_mock client_mock;

/* Starts `MOCK --host 127.0.0.1 --port PORT --protocol P --admin-port 0 ...
 * ARGS` (port 0: the mock picks one; args: shell words, already quoted) and
 * waits up to timeout_ms for its listener and control API. 0 and *out, or
 * a negative errno with err (naming the mock's last output line). */
int client_mock_start(const char *mock_path, case_protocol protocol, int port, const char *args,
                      int timeout_ms, client_mock **out, char *err, size_t errlen);

int client_mock_port(const client_mock *m);

/* The control API (control.h), owned by the mock. */
control *client_mock_control(client_mock *m);

/* The journal's records, oldest first: a new reference to a JSON array of
 * {"method", "service", "deadline_ms", "user_agent", "result", ...}. */
int client_mock_journal(client_mock *m, json_t **records, char *err, size_t errlen);

/* The records whose method is `method` ("/grpc.health.v1.Health/Check",
 * or "GET" for any HTTP GET), counted; *first gets the first (borrowed
 * from records) or NULL. */
size_t client_mock_count(json_t *records, const char *method, json_t **first);

/* The mock's flags for a scenario: tmpl with {service} filled in (quoted),
 * after --ssl-certfile/--ssl-keyfile when o has TLS and tls is 1. 0, or
 * -ENAMETOOLONG. */
int client_mock_args(const client_opts *o, const char *tmpl, int tls, char *out, size_t size);

/* A client command template with {addr}, {host}, {port}, {url} (GET / or
 * /health/SERVICE; https:// with tls) and {service} filled in for the mock
 * on `port`, each a quoted word. 0, or -ENAMETOOLONG. */
int client_mock_expand(const char *tmpl, int port, const char *service, int tls, char *out,
                       size_t size);

/* SIGTERM (the mock's GOAWAY and drain), up to grace_ms, then SIGKILL to
 * its group; frees. Safe with NULL. */
void client_mock_stop(client_mock *m, int grace_ms);

#endif
