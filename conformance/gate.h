/*
 * gate: the first question a run asks (issue 13): does the target speak
 * the protocol at all? One health request bounded by timeout_ms: gRPC
 * Check("") over HTTP/2 (wire_client, so the reason can say what came
 * back: nothing, not HTTP/2, HTTP/2 without a grpc-status), or HTTP GET /.
 * Any gRPC status passes, NOT_FOUND and UNIMPLEMENTED included, and so
 * does any HTTP status: the cases judge the answer, the gate only that
 * there is one.
 *
 * Thread safety: as wire_client and http_client (independent calls).
 */
#ifndef HC_GATE_H
#define HC_GATE_H

#include "catalogue.h"
#include "runner.h"

typedef struct gate_target {
  case_protocol protocol;
  const char *target; /* "host:port" */
  int timeout_ms;
} gate_target;

#define GATE_DEGRADED 1

/* 0 when the target answered; GATE_DEGRADED when it answered with whole
 * gRPC messages but no grpc-status (reason says so); -ETIMEDOUT or -EPROTO
 * with one line in reason ("connected, but no gRPC answer within 2000 ms:
 * ..."). */
int gate_check(const gate_target *g, char *reason, size_t reasonlen);

#endif
