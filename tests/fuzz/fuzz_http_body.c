/* What H01-H03 decide about the answer to GET / (cases_http_internal.h),
 * as hclient_request would hand it over: byte 0 holds flags (bit 0
 * --strict, bit 1 the transfer broke after the headers, bit 2 the server
 * sent more than the body kept), bytes 1-2 the status (100-599), then the
 * Content-Type up to the first '\n' and the rest is the body.
 * Invariants: every verdict is PASS, WARN or FAIL with a message, and
 * FAIL/WARN say what was expected and seen; --strict never warns; H02
 * passes only on a whole, small body that jansson reads as {}, and always
 * on exactly "{}" from a 200; H03 passes exactly on a JSON type; judging
 * the same answer twice gives the same verdict. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <string.h>

#include <jansson.h>

#include "cases_http_internal.h"
#include "fuzz.h"

#define CURLE_PARTIAL_FILE 18 /* what curl reports for a body cut short */

typedef void (*judge_fn)(const case_ctx *ctx, const hclient_result *r, case_result *res);

static int terminated(const char *s) { return memchr(s, '\0', CASE_TEXT_MAX) != NULL; }

/* Judges r once more and checks the verdict's shape; returns the outcome. */
static case_outcome judge(judge_fn fn, const case_ctx *ctx, const hclient_result *r) {
  case_result res, again;

  memset(&res, 'x', sizeof(res));
  fn(ctx, r, &res);
  FUZZ_CHECK(terminated(res.message) && terminated(res.expected) && terminated(res.seen));
  FUZZ_CHECK(res.message[0]);
  switch (res.outcome) {
  case OUTCOME_PASS:
    break;
  case OUTCOME_WARN:
    FUZZ_CHECK(!ctx->strict);
    /* fall through */
  case OUTCOME_FAIL:
    FUZZ_CHECK(res.expected[0] && res.seen[0]);
    break;
  default:
    FUZZ_CHECK(0);
  }
  memset(&again, 0, sizeof(again));
  fn(ctx, r, &again);
  FUZZ_CHECK(again.outcome == res.outcome && strcmp(again.message, res.message) == 0 &&
             strcmp(again.seen, res.seen) == 0);
  return res.outcome;
}

/* 1 if the kept body is a JSON {} by jansson's own reading. */
static int empty_object(const hclient_result *r) {
  json_t *doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
  int yes = doc && json_is_object(doc) && json_object_size(doc) == 0;

  json_decref(doc);
  return yes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hclient_result r; /* 1.6 KB: hclient_request's caller keeps it on its stack too */
  case_ctx ctx = {.target = "127.0.0.1:1", .timeout_ms = 1000, .latency_budget_ms = 500};
  const uint8_t *body, *nl;
  size_t type_len, body_len, kept;
  int broke, more;

  if (size < 3)
    return 0;
  memset(&r, 0, sizeof(r));
  ctx.strict = data[0] & 1;
  broke = (data[0] >> 1) & 1;
  more = (data[0] >> 2) & 1;
  r.http_status = 100 + (data[1] | data[2] << 8) % 500;
  data += 3;
  size -= 3;
  /* curl hands over a header value: no '\n', cut at a NUL, bounded. */
  nl = memchr(data, '\n', size);
  type_len = nl ? (size_t)(nl - data) : size;
  body = nl ? nl + 1 : data + size;
  body_len = size - (size_t)(body - data);
  type_len =
      strnlen((const char *)data, type_len < HCLIENT_TEXT_MAX ? type_len : HCLIENT_TEXT_MAX - 1);
  memcpy(r.content_type, data, type_len);
  /* As http_client.c's on_body: the first HCLIENT_BODY_MAX - 1 bytes kept
   * (NULs and all), body_len counts every byte that came. */
  kept = body_len < HCLIENT_BODY_MAX - 1 ? body_len : HCLIENT_BODY_MAX - 1;
  memcpy(r.body, body, kept);
  r.body_len = body_len + (more ? HCLIENT_BODY_MAX : 0);
  r.curl_code = broke ? CURLE_PARTIAL_FILE : 0;
  if (broke)
    strcpy(r.error, "transfer closed with outstanding read data remaining");
  r.elapsed_ms = 1;
  r.new_connections = 1;

  case_outcome status = judge(cases_http_judge_status, &ctx, &r);
  FUZZ_CHECK((status == OUTCOME_PASS) == (r.http_status == 200));
  FUZZ_CHECK(status != OUTCOME_FAIL || ctx.strict || r.http_status < 200 || r.http_status >= 400);

  case_outcome verdict = judge(cases_http_judge_body, &ctx, &r);
  if (verdict == OUTCOME_PASS)
    FUZZ_CHECK(!broke && r.body_len < HCLIENT_BODY_MAX && r.http_status < 400 && empty_object(&r));
  if (r.http_status == 200 && !broke && !more && body_len == 2 && memcmp(body, "{}", 2) == 0)
    FUZZ_CHECK(verdict == OUTCOME_PASS);
  if (r.http_status >= 400 || broke)
    FUZZ_CHECK(verdict == OUTCOME_FAIL);

  case_outcome type = judge(cases_http_judge_type, &ctx, &r);
  FUZZ_CHECK((type == OUTCOME_PASS) == (hclient_is_json_type(r.content_type) == 1));
  return 0;
}
