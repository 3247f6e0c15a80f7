/*
 * watchdog: the last bound on time, for what no timeout can reach. The
 * gRPC C core parses what the target sends on the thread that waits in
 * grpc_completion_queue_next, so a target that floods frames the core
 * never tires of (endless CONTINUATION frames: tests/hostile continuation-
 * flood) keeps that thread inside the call past every deadline while the
 * core's memory grows (issue 13). Nothing can get the thread back; the
 * watchdog ends the process instead, saying why.
 *
 * A thread about to wait in the core calls watchdog_enter with the time it
 * should be back by, and watchdog_leave when it is. A monitor thread checks
 * the waits every WATCHDOG_TICK_MS; one still running WATCHDOG_GRACE_MS
 * past its time makes it print `what` on stderr and _exit(exit_code)
 * (reports unflushed: the run cannot end any other way).
 *
 * Thread safety: watchdog_arm once, from main, before any thread waits;
 * watchdog_enter/leave from any thread. Without watchdog_arm they do
 * nothing (unit tests).
 */
#ifndef HC_WATCHDOG_H
#define HC_WATCHDOG_H

#define WATCHDOG_GRACE_MS 1000
#define WATCHDOG_TICK_MS 100

/* Starts the monitor. 0, or a negative errno (then there is no watchdog).
 * `what` must outlive the process (a literal). */
int watchdog_arm(int exit_code, const char *what);

/* This thread waits until `ms` from now. Returns a token for
 * watchdog_leave (-1 when nothing is watched). */
int watchdog_enter(long long ms);
void watchdog_leave(int token);

#endif
