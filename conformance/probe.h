/*
 * probe: one health check with grpc_health_probe's exit codes, for the
 * `probe` subcommand (and `wait`, which repeats it).
 *
 *   0 SERVING (HTTP: a status in 200-399, as kubelet counts it)
 *   1 usage error (main)
 *   2 the connection failed or timed out (no HTTP answer at all)
 *   3 the RPC failed: any gRPC error after connecting, including NOT_FOUND
 *     and an RPC timeout (grpc_health_probe: "timeout: health rpc did not
 *     complete within 1s")
 *   4 answered, but not SERVING (HTTP: any other status)
 *
 * gRPC: a TCP connect bounded by connect_timeout_ms stands for the probe's
 * blocking dial (-connect-timeout), then Check with a deadline of
 * rpc_timeout_ms (-rpc-timeout) on a fresh channel. UNAVAILABLE after the
 * TCP connect means the HTTP/2 connection failed: 2, like the probe's dial.
 * HTTP: GET / (or /health/NAME for a service, the mock's route) with
 * connect_timeout_ms to connect and connect + rpc timeout in total.
 *
 * Thread safety: probe_once may run on several threads; gRPC needs
 * grpc_init first (main does it).
 */
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include "catalogue.h"
#include "grpc_client.h"

enum {
  PROBE_EXIT_SERVING = 0,
  PROBE_EXIT_USAGE = 1,
  PROBE_EXIT_CONNECT = 2,
  PROBE_EXIT_RPC = 3,
  PROBE_EXIT_UNHEALTHY = 4
};

#define PROBE_TEXT_MAX 256

typedef struct probe_options {
  case_protocol protocol;
  const char *target;     /* "host:port" */
  const char *service;    /* "" = overall health */
  int connect_timeout_ms; /* --connect-timeout, default 1000 */
  int rpc_timeout_ms;     /* --rpc-timeout, default 1000 */
} probe_options;

typedef struct probe_result {
  int exit_code;               /* PROBE_EXIT_* */
  int status;                  /* gRPC ServingStatus, or -1 */
  long http_status;            /* HTTP status, or 0 */
  char detail[PROBE_TEXT_MAX]; /* one line: "status: SERVING", "HTTP 503", the error */
} probe_result;

/* The exit code for a gRPC Check that ended with `code`; `status` is the
 * decoded ServingStatus of its single message, or -1 when there was none. */
int probe_grpc_exit(int code, int status);

/* The exit code for a Check reply, as grpc_health_probe gives it: a reply
 * with no message or two is an RPC error (H-CHECK-7). *status receives the
 * ServingStatus answered, or -1. Used by `probe` and by case T37. */
int probe_grpc_reply_exit(const gclient_reply *r, int *status);

/* kubelet's httpGet rule, which `probe` and the HTTP cases share:
 * 200 <= code < 400 is success (k8s pkg/probe/http/http.go, DoHTTPProbe). */
int probe_http_success(long http_status);

/* The exit code for an HTTP check: `answered` 0 when no response came. */
int probe_http_exit(int answered, long http_status);

/* One check. Always fills *r. */
void probe_once(const probe_options *o, probe_result *r);

#endif
