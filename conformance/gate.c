/*
 * gate: see gate.h.
 */
#include "gate.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>

#include "cases.h"
#include "errbuf.h"
#include "http_client.h"
#include "wire_client.h"

static int gate_grpc(const gate_target *g, char *reason, size_t reasonlen) {
  char seen[2 * WCLIENT_TEXT_MAX + 128];
  wclient_result r;
  int rc;

  /* H-CHECK-1: Check with an empty request asks for the overall health. */
  rc = wclient_post(g->target, HEALTH_CHECK, "application/grpc", (const uint8_t *)"", 0, 1,
                    g->timeout_ms, &r);
  if (rc == 0 && (r.status_in_headers >= 0 || r.status_in_trailers >= 0))
    return 0;
  /* Whole messages without a status: an answer the cases judge (T06), but
   * not a sound one (GATE_DEGRADED). */
  wclient_describe(&r, seen, sizeof(seen));
  if (rc == 0 && r.messages > 0 && r.goaways > 0) /* the status lost in a GOAWAY flood */
    return errbuf_fail(reason, reasonlen, -EPROTO,
                       "HTTP/2, but no grpc-status after %d GOAWAY frames: %.160s", r.goaways,
                       seen);
  if (rc == 0 && r.messages > 0)
    return errbuf_fail(reason, reasonlen, GATE_DEGRADED, "HTTP/2, but no grpc-status: %.200s",
                       seen);
  if (rc < 0) {
    if (r.curl_code != CURLE_OPERATION_TIMEDOUT)
      return errbuf_fail(reason, reasonlen, -EPROTO, "no HTTP/2 answer to a gRPC Check (%.180s)",
                         r.error);
    return errbuf_fail(reason, reasonlen, -ETIMEDOUT,
                       "connected, but no gRPC answer within %d ms (%.160s)", g->timeout_ms,
                       r.error);
  }
  return errbuf_fail(reason, reasonlen,
                     r.curl_code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EPROTO,
                     "HTTP/2, but no gRPC answer%s: %.180s",
                     r.curl_code == CURLE_OPERATION_TIMEDOUT ? " in time" : "", seen);
}

static int gate_http(const gate_target *g, char *reason, size_t reasonlen) {
  hclient *h = NULL;
  hclient_result r;
  int rc;

  rc = hclient_new(&h);
  if (rc < 0)
    return errbuf_fail(reason, reasonlen, rc, "out of memory");
  rc = hclient_request(h, g->target, "GET", "/", g->timeout_ms, g->timeout_ms, &r);
  hclient_free(h);
  if (rc == 0 && r.http_status > 0)
    return 0;
  if (!r.timed_out)
    return errbuf_fail(reason, reasonlen, -EPROTO, "no HTTP answer to GET / (%.180s)", r.error);
  return errbuf_fail(reason, reasonlen, -ETIMEDOUT,
                     "connected, but no HTTP answer to GET / within %d ms (%.160s)", g->timeout_ms,
                     r.error);
}

int gate_check(const gate_target *g, char *reason, size_t reasonlen) {
  int rc = -EPROTO;
  /* A quick refusal is asked twice (a server restarting, a connection
   * closed under us); a timeout is not: it would double the wait. */
  for (int attempt = 0; attempt < 2 && rc == -EPROTO; attempt++)
    rc = g->protocol == PROTOCOL_HTTP ? gate_http(g, reason, reasonlen)
                                      : gate_grpc(g, reason, reasonlen);
  return rc;
}
