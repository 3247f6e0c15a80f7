/*
 * cases_wire: what only raw HTTP/2 shows (T06, T33, T34), through libcurl.
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "wire.h"
#include "wire_client.h"

/* Check '' with the 0-byte request probes send. 0, or res filled (FAIL). */
static int post_check(const case_ctx *ctx, case_result *res, const char *content_type,
                      wclient_result *w) {
  int rc = wclient_post(ctx->target, HEALTH_CHECK, content_type, (const uint8_t *)"", 0, 1,
                        ctx->timeout_ms, w);
  if (rc < 0)
    case_fail(res, "an HTTP/2 response", w->error, "no response to a raw HTTP/2 Check");
  return rc;
}

/* T06: HTTP 200, a gRPC content-type, exactly one message, then trailers
 * carrying grpc-status 0 (H-CHECK-7, H-WIRE-3). */
void case_wire_unary_framing(const case_ctx *ctx, case_result *res) {
  wclient_result w;
  char seen[CASE_TEXT_MAX];
  if (post_check(ctx, res, "application/grpc", &w) < 0)
    return;
  wclient_describe(&w, seen, sizeof(seen));
  const char *why = NULL;
  if (w.http_status != 200)
    why = "the HTTP status must be 200";
  else if (strncmp(w.content_type, "application/grpc", 16) != 0)
    why = "the content-type must begin with application/grpc";
  else if (w.messages != 1)
    why = "a unary reply has exactly one message";
  else if (w.leftover)
    why = "the body ends inside a message";
  else if (w.status_in_trailers < 0)
    why = w.status_in_headers >= 0 ? "a reply with a message must carry grpc-status in trailers"
                                   : "grpc-status is missing";
  else if (w.status_in_trailers != 0)
    why = "Check '' must end with grpc-status 0";
  if (why)
    case_fail(res, "HTTP 200, application/grpc, 1 message, grpc-status 0 in trailers", seen, "%s",
              why);
  else
    case_pass(res, "%s", seen);
}

/* T33: with no grpc-accept-encoding sent, no reply is compressed (H-WIRE-6). */
void case_wire_uncompressed(const case_ctx *ctx, case_result *res) {
  wclient_result w;
  char seen[CASE_TEXT_MAX];
  if (post_check(ctx, res, "application/grpc", &w) < 0)
    return;
  wclient_describe(&w, seen, sizeof(seen));
  if (w.messages == 0)
    case_skip(res, "no message to inspect (%s)", seen);
  else if (w.compressed)
    case_fail(res, "compressed flag 0 on every message", seen,
              "a message was flagged compressed though the request allowed no encoding");
  else
    case_pass(res, "%d message(s), compressed flag 0", w.messages);
}

/* T34: a non-gRPC content-type SHOULD get HTTP 415 (H-WIRE-2). The gRPC
 * C core itself serves it normally, hence SHOULD. */
void case_wire_content_type_415(const case_ctx *ctx, case_result *res) {
  wclient_result w;
  char seen[CASE_TEXT_MAX];
  if (post_check(ctx, res, "text/plain", &w) < 0)
    return;
  wclient_describe(&w, seen, sizeof(seen));
  if (w.http_status == 415)
    case_pass(res, "content-type text/plain gets HTTP 415");
  else if (w.http_status != 200)
    cases_should(ctx, res, "HTTP 415", seen,
                 "a non-gRPC content-type was refused, but not with 415");
  else
    cases_should(ctx, res, "HTTP 415", seen, "a text/plain request was served as gRPC");
}
