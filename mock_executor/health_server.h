/*
 * health_server: grpc.health.v1.Health (Check, Watch, List) and server
 * reflection (v1, v1alpha) on the gRPC C core, backed by a registry.
 * Every other path gets UNIMPLEMENTED (H-WIRE-4). What is answered is
 * health_logic's (shared with the wire engine); this is how the C core
 * carries it: health_server.c (the methods), core_server.c (start, stop),
 * core_call.c (the call machinery, its threading rule and lock order).
 *
 * Threads: `cq_threads` completion queues, each drained by its own thread:
 * the first polls the sockets and answers every call but Watch, the others
 * hold the Watch streams, spread evenly. Every call is a small state
 * machine driven by its tags, so an open Watch costs memory, not a thread.
 * Status changes reach Watch calls through the registry's notify callback,
 * which queues them on their queue's thread, where the sends start.
 *
 * Thread safety: start, drain and stop from one thread (main).
 * Memory: the options are copied or borrowed; the registry must outlive the
 * server.
 */
#ifndef HC_HEALTH_SERVER_H
#define HC_HEALTH_SERVER_H

#include <stddef.h>

#include "faults.h"
#include "journal.h"
#include "registry.h"
#include "tls.h"

typedef struct health_server health_server;

typedef struct health_server_options {
  const char *host; /* bind address, e.g. "0.0.0.0" or "::" */
  const int *ports; /* n_ports ports, 0 = a free port */
  size_t n_ports;
  registry *reg;     /* borrowed */
  journal *journal;  /* borrowed; NULL: calls are not recorded */
  size_t list_limit; /* List fails RESOURCE_EXHAUSTED above it (H-LIST-3) */
  int cq_threads;    /* >= 1 */
  int busy_poll_us;  /* poll this long before sleeping (0: never) */
  /* Borrowed, NULL-terminated. NULL: reflection v1 and v1alpha list our
   * services. Set (--profile jina): v1alpha only, listing these names
   * (v1 answers UNIMPLEMENTED, as on a Jina Executor). */
  const char *const *reflection_list;
  const tls_pem *tls; /* borrowed; NULL: plaintext. With tls->ca, client
                       * certificates are required and verified */
  /* Borrowed; NULL: no violation. Knobs are read on every call, so they
   * may be flipped at run time; only max-streams-one is read once, at
   * start (HTTP/2 SETTINGS are fixed when the server is created). */
  /* Its fault injection rules (faults_inject) with method= are consulted
   * before every Check, Watch and List answer. */
  const faults *faults;
} health_server_options;

/* Binds every port and starts serving. bound_ports (n_ports entries)
 * receives the ports bound. On failure returns a negative errno (-EINVAL
 * when the host does not resolve, -EADDRINUSE when a port cannot be bound),
 * writes a one-line reason into err and leaves nothing running. */
int health_server_start(const health_server_options *opts, health_server **out, int *bound_ports,
                        char *err, size_t errlen);

/* Calls accepted plus calls ended so far (any method): it moves whenever a
 * call starts or ends, which is what main's idle heap trim waits on.
 * Thread-safe. */
size_t health_server_activity(health_server *hs);

/* Waits up to timeout_ms until no Watch message is in flight, e.g. after
 * registry_shutdown() so watchers get NOT_SERVING before the end (H-WATCH-9).
 * Returns 0 when drained, -ETIMEDOUT otherwise. */
int health_server_drain(health_server *hs, int timeout_ms);

/* Ends every open Watch with `code` and `details` (e.g. UNAVAILABLE
 * "server shutting down" after they were told NOT_SERVING). The status is
 * queued on each call's own thread, after any send queued before it; it
 * goes out shortly after this returns. */
void health_server_end_watches(health_server *hs, int code, const char *details);

/* Stops accepting calls (the ports close); calls in flight go on. */
void health_server_begin_shutdown(health_server *hs);

/* After begin_shutdown: waits up to timeout_ms for every call in flight
 * to end (idle client connections do not count). 0 when none is left,
 * -ETIMEDOUT otherwise. */
int health_server_wait_idle(health_server *hs, int timeout_ms);

/* Cancels every call, stops the server and frees it. Safe with NULL. */
void health_server_stop(health_server *hs);

#endif
