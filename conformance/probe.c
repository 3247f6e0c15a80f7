/*
 * probe: see probe.h.
 */
#include "probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "grpc_client.h"
#include "http_client.h"
#include "runner.h"
#include "wire.h"

int probe_grpc_exit(int code, int status) {
  if (code == WIRE_CODE_UNAVAILABLE)
    return PROBE_EXIT_CONNECT;
  if (code != WIRE_CODE_OK || status < 0)
    return PROBE_EXIT_RPC; /* any RPC error, NOT_FOUND and timeouts included */
  return status == WIRE_SERVING ? PROBE_EXIT_SERVING : PROBE_EXIT_UNHEALTHY;
}

int probe_grpc_reply_exit(const gclient_reply *r, int *status) {
  if (gclient_reply_single_status(r, status) < 0)
    *status = -1;
  return probe_grpc_exit(r->code, *status);
}

int probe_http_success(long http_status) { return http_status >= 200 && http_status < 400; }

int probe_http_exit(int answered, long http_status) {
  if (!answered)
    return PROBE_EXIT_CONNECT;
  return probe_http_success(http_status) ? PROBE_EXIT_SERVING : PROBE_EXIT_UNHEALTHY;
}

static void probe_grpc(const probe_options *o, probe_result *r) {
  char err[RUNNER_ERR_MAX], seen[GCLIENT_DETAILS_MAX + 64];
  gclient *gc = NULL;
  gclient_reply reply;

  if (runner_probe(o->target, o->connect_timeout_ms, err, sizeof(err)) < 0) {
    r->exit_code = PROBE_EXIT_CONNECT;
    snprintf(r->detail, sizeof(r->detail), "error: %.240s", err);
    return;
  }
  if (gclient_open(o->target, &gc) < 0) {
    r->exit_code = PROBE_EXIT_CONNECT;
    snprintf(r->detail, sizeof(r->detail), "error: cannot create a channel to %s", o->target);
    return;
  }
  gclient_check(gc, o->service, o->rpc_timeout_ms, &reply);
  r->exit_code = probe_grpc_reply_exit(&reply, &r->status);
  gclient_reply_describe(&reply, seen, sizeof(seen));
  if (r->exit_code == PROBE_EXIT_SERVING || r->exit_code == PROBE_EXIT_UNHEALTHY)
    snprintf(r->detail, sizeof(r->detail), "status: %s", wire_status_name(r->status));
  else if (reply.code == WIRE_CODE_DEADLINE_EXCEEDED)
    snprintf(r->detail, sizeof(r->detail), "timeout: health rpc did not complete within %d ms",
             o->rpc_timeout_ms);
  else
    snprintf(r->detail, sizeof(r->detail), "error: health rpc failed: %.200s", seen);
  gclient_reply_free(&reply);
  gclient_close(gc);
}

static void probe_http(const probe_options *o, probe_result *r) {
  char path[512] = "/", seen[HCLIENT_TEXT_MAX + 128];
  hclient *h = NULL;
  hclient_result res;
  int rc;

  if (o->service[0]) {
    char *esc = curl_easy_escape(NULL, o->service, 0);
    snprintf(path, sizeof(path), "/health/%s", esc ? esc : "");
    curl_free(esc);
  }
  if (hclient_new(&h) < 0) {
    r->exit_code = PROBE_EXIT_CONNECT;
    snprintf(r->detail, sizeof(r->detail), "error: out of memory");
    return;
  }
  rc = hclient_request(h, o->target, "GET", path, o->connect_timeout_ms,
                       o->connect_timeout_ms + o->rpc_timeout_ms, &res);
  hclient_free(h);
  r->http_status = res.http_status;
  r->exit_code = probe_http_exit(rc == 0 && res.http_status > 0, res.http_status);
  hclient_describe(&res, seen, sizeof(seen));
  snprintf(r->detail, sizeof(r->detail), "%s%.230s",
           rc == 0 ? "GET: " : "error: ", rc == 0 ? seen : res.error);
}

void probe_once(const probe_options *o, probe_result *r) {
  memset(r, 0, sizeof(*r));
  r->status = -1;
  if (o->protocol == PROTOCOL_HTTP)
    probe_http(o, r);
  else
    probe_grpc(o, r);
}
