/*
 * cases_http_internal: what H01-H03 decide about the answer to GET /,
 * apart from the request, so the fuzz target tests/fuzz/fuzz_http_body.c
 * reaches the body and Content-Type judging without a socket. Not part of
 * the catalogue contract; only cases_http.c and the tests use it.
 *
 * Each function fills res from r alone (a SHOULD broken is a WARN, or a
 * FAIL with ctx->strict; ctx is read for nothing else). r is what
 * hclient_request gave back (0: an answer came). Thread-safe (no state).
 */
#ifndef HC_CASES_HTTP_INTERNAL_H
#define HC_CASES_HTTP_INTERNAL_H

#include "catalogue.h"
#include "http_client.h"

/* H01 (H-HTTP-1): 200 passes; another 200-399 is a SHOULD; the rest fails. */
void cases_http_judge_status(const case_ctx *ctx, const hclient_result *r, case_result *res);

/* H02 (H-HTTP-1): a whole, small JSON body; {} passes, other JSON is a
 * SHOULD, anything else (or no success) fails. */
void cases_http_judge_body(const case_ctx *ctx, const hclient_result *r, case_result *res);

/* H03 (H-HTTP-3): a JSON Content-Type (hclient_is_json_type) passes;
 * anything else is a SHOULD. */
void cases_http_judge_type(const case_ctx *ctx, const hclient_result *r, case_result *res);

#endif
