/* contain: runs a piece of the runner in a child process, so that the
 * gRPC C core aborting on what a target sent still ends in a verdict.
 *
 * Debian's gRPC core (1.51, absl assertions on) aborts the process on some
 * replies a broken target can send: a trailers-only answer without
 * grpc-status (H-WIRE-3; tests/hostile trailers-only-no-status) trips an
 * absl::optional assertion in the client. Nothing in the API can refuse
 * that reply first, so what talks to the target runs in a child.
 *
 * Call from the main thread before any thread is started (fork keeps only
 * the calling thread): the child starts its own (watchdog, cases). */
#ifndef HC_CONTAIN_H
#define HC_CONTAIN_H

/* Flushes stdio, runs fn(arg) in a child killed with its parent, and
 * returns what fn returned (the child's exit code, 0-255). A child ended
 * by a signal makes it print "health-conformance: <what>: the gRPC library
 * aborted on what the target sent (<signal>)" and return crash_code. With
 * no child to be had (fork failed), fn runs here. */
int contain_call(int (*fn)(void *arg), void *arg, int crash_code, const char *what);

#endif
