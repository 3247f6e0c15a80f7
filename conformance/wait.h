/*
 * wait: blocks until the target reports a status, within a bound, printing
 * progress (the CI gate before integration tests).
 *
 * gRPC: opens Watch on the service and reads until the wanted status
 * arrives. When Watch is not possible (no server yet, UNIMPLEMENTED, the
 * stream ended) it falls back to one Check, then retries after
 * `interval_ms` on a fresh channel (a fresh channel skips the C core's
 * reconnect backoff). NOT_FOUND from Check reads as SERVICE_UNKNOWN.
 * HTTP: GET / (or /health/NAME) every interval_ms; 200-399 is SERVING, any
 * other status NOT_SERVING (the only two statuses HTTP can express).
 *
 * Progress goes to `progress`, one line per change of what is seen:
 *   "wait: 127.0.0.1:5000 NOT_SERVING after 0.2s"
 * Thread safety: one wait per thread; gRPC needs grpc_init first.
 */
#ifndef HC_WAIT_H
#define HC_WAIT_H

#include <stdio.h>

#include "catalogue.h"

enum { WAIT_REACHED = 0, WAIT_TIMEOUT = 1 };

typedef struct wait_options {
  case_protocol protocol;
  const char *target;  /* "host:port" */
  const char *service; /* "" = overall health */
  int want;            /* WIRE_SERVING ... (wire.h) */
  int timeout_ms;      /* the whole wait */
  int interval_ms;     /* between polls */
  int rpc_timeout_ms;  /* bound on one Check or GET */
  FILE *progress;      /* borrowed; NULL = silent */
} wait_options;

/* WAIT_REACHED when the status was seen within timeout_ms, else WAIT_TIMEOUT. */
int wait_run(const wait_options *o);

#endif
