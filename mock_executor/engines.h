/*
 * engines: the gRPC listeners of the mock, each served by the C core
 * (health_server.h) or the wire engine (wire_engine.h), driven as one by
 * main. Both share the registry, journal, faults and control API, so a
 * status change reaches Watch streams on either engine the same way.
 *
 * Thread safety: every call from one thread (main) but engines_activity (any).
 * Memory: as health_server_start (the options are borrowed).
 */
#ifndef HC_ENGINES_H
#define HC_ENGINES_H

#include <stddef.h>

#include "health_server.h"

typedef struct engines engines;

/* Starts opts->n_ports listeners; wire[i] non-zero puts port i on the wire
 * engine. bound_ports receives each port bound, in the order given. A
 * negative errno and a one-line reason in err, nothing left running. */
int engines_start(const health_server_options *opts, const int *wire, engines **out,
                  int *bound_ports, char *err, size_t errlen);
/* Calls started plus calls ended on both engines (health_server_activity). */
size_t engines_activity(engines *e);
/* health_server_drain, end_watches, begin_shutdown, wait_idle and stop on
 * both engines (wait_idle and drain: within timeout_ms in all). */
int engines_drain(engines *e, int timeout_ms);
void engines_end_watches(engines *e, int code, const char *details);
void engines_begin_shutdown(engines *e);
int engines_wait_idle(engines *e, int timeout_ms);
void engines_stop(engines *e); /* safe with NULL */

#endif
