/*
 * wire_engine: grpc.health.v1.Health (Check, Watch, List), server reflection
 * (v1, v1alpha) and UNIMPLEMENTED for every other path (H-WIRE-4), served
 * over HTTP/2 by libnghttp2 instead of the gRPC C core. What is answered is
 * health_logic's, exactly as on the core (health_server.h); this engine
 * owns the framing, so it can also break it on purpose (the wire-level
 * violation knobs and fault actions of faults.h and inject.h).
 *
 * Without a knob it is a faithful gRPC server: HTTP 200 and
 * application/grpc, length-prefixed messages, grpc-status and grpc-message
 * in trailers (trailers-only for an immediate error, H-WIRE-3), 415 for a
 * request that is not gRPC (H-WIRE-2), grpc-timeout honoured (H-WIRE-5).
 * SETTINGS, PING, flow control and HPACK are nghttp2's; on shutdown every
 * connection gets GOAWAY(NO_ERROR) with its last stream id and the calls in
 * flight finish. Plaintext only (opts.tls must be NULL).
 *
 * Threads: one I/O thread owns every socket, nghttp2 session and stream.
 * Other threads never touch them: a registry writer's Watch notification
 * and main's commands (end_watches, begin_shutdown, stop) are queued under
 * wengine->mu and the I/O thread is woken through an eventfd.
 * Thread safety: start, drain, end_watches, begin_shutdown, wait_idle and
 * stop from one thread (main); wengine_activity from any.
 * Memory: the options are borrowed; the registry, journal and faults must
 * outlive the engine.
 */
#ifndef HC_WIRE_ENGINE_H
#define HC_WIRE_ENGINE_H

#include <stddef.h>

#include "health_server.h"

typedef struct wengine wengine;

/* Binds every port and starts serving (health_server_options; tls must be
 * NULL, cq_threads is unused). As health_server_start: bound_ports gets
 * the ports bound; a negative errno (-EINVAL, -EADDRINUSE, -ENOTSUP for TLS) and a
 * one-line reason in err, with nothing left running. */
int wengine_start(const health_server_options *opts, wengine **out, int *bound_ports, char *err,
                  size_t errlen);

/* Calls accepted plus calls ended so far (any method), as
 * health_server_activity. Thread-safe. */
size_t wengine_activity(wengine *we);

/* Waits up to timeout_ms until no Watch message is owed or unsent.
 * 0, or -ETIMEDOUT. */
int wengine_drain(wengine *we, int timeout_ms);

/* Ends every open Watch with `code` and `details` (after any message
 * queued before). */
void wengine_end_watches(wengine *we, int code, const char *details);

/* Stops accepting connections and sends every connection GOAWAY(NO_ERROR)
 * with its last stream id; calls in flight go on. */
void wengine_begin_shutdown(wengine *we);

/* After begin_shutdown: waits up to timeout_ms for every call to end.
 * 0, or -ETIMEDOUT. */
int wengine_wait_idle(wengine *we, int timeout_ms);

/* Closes every connection, stops the I/O thread and frees. Safe with NULL. */
void wengine_stop(wengine *we);

#endif
