/*
 * cases_check: the unary Check family (T01-T05, T07-T13, T35).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "wire.h"
#include "xalloc.h"

#define CONCURRENT_CHECKS 50 /* T12 */
#define REPEATED_CHECKS 20   /* T11 */
#define LONG_NAME_LEN 4096   /* T35 */

static void fail_unhealthy(case_result *res, const gclient_reply *r, const char *what) {
  char seen[CASE_TEXT_MAX];
  gclient_reply_describe(r, seen, sizeof(seen));
  case_fail(res, "OK with status SERVING or NOT_SERVING", seen, "%s", what);
}

/* T01 */
void case_check_overall_health(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply r;
  int status = 0;
  gclient_check(gc, "", ctx->timeout_ms, &r);
  if (cases_reply_healthy(&r, &status))
    case_pass(res, "overall health '' is %s", wire_status_name(status));
  else
    fail_unhealthy(res, &r, "Check '' (overall health) must answer OK with SERVING or NOT_SERVING");
  gclient_reply_free(&r);
  gclient_close(gc);
}

/* Calls Check with exactly these request bytes. */
static void check_raw(gclient *gc, const case_ctx *ctx, const uint8_t *req, size_t len,
                      gclient_reply *r) {
  gclient_call(gc, HEALTH_CHECK, req, len, ctx->timeout_ms, r);
}

/* 1 if both replies carry the same code and the same status. */
static int replies_match(const gclient_reply *a, const gclient_reply *b) {
  int sa = -1, sb = -1;
  if (a->code != b->code || a->msg_count != b->msg_count)
    return 0;
  int ra = gclient_reply_status(a, &sa);
  int rb = gclient_reply_status(b, &sb);
  return ra == rb && sa == sb;
}

/* T02: the 0-byte request every probe sends (H-CHECK-8). */
void case_check_empty_request(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply r;
  int status = 0;
  check_raw(gc, ctx, (const uint8_t *)"", 0, &r);
  if (cases_reply_healthy(&r, &status))
    case_pass(res, "a 0-byte request reads as service '' (%s)", wire_status_name(status));
  else
    fail_unhealthy(res, &r, "a 0-byte HealthCheckRequest must read as service ''");
  gclient_reply_free(&r);
  gclient_close(gc);
}

/* T03: `0a 00`, the field present but empty, reads as the 0-byte request. */
void case_check_explicit_empty_field(const case_ctx *ctx, case_result *res) {
  static const uint8_t explicit_empty[] = {0x0a, 0x00};
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply zero, expl;
  check_raw(gc, ctx, (const uint8_t *)"", 0, &zero);
  check_raw(gc, ctx, explicit_empty, sizeof(explicit_empty), &expl);
  char a[CASE_TEXT_MAX / 2], b[CASE_TEXT_MAX / 2];
  gclient_reply_describe(&zero, a, sizeof(a));
  gclient_reply_describe(&expl, b, sizeof(b));
  if (!cases_reply_healthy(&expl, NULL))
    case_fail(res, "OK with status SERVING or NOT_SERVING", b,
              "request '0a 00' (service '') must give the overall health");
  else if (replies_match(&zero, &expl))
    case_pass(res, "'0a 00' and the 0-byte request both give %s", b);
  else
    case_fail(res, a, b, "request '0a 00' must be answered like the 0-byte request");
  gclient_reply_free(&zero);
  gclient_reply_free(&expl);
  gclient_close(gc);
}

/* T04 (Ctl): a registered NOT_SERVING name is OK + NOT_SERVING, not an error. */
void case_check_registered_not_serving(const case_ctx *ctx, case_result *res) {
  char name[CASES_NAME_MAX];
  cases_name(ctx, "t04", name, sizeof(name));
  if (cases_set(ctx, res, name, WIRE_NOT_SERVING) < 0)
    return;
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) == 0) {
    gclient_reply r;
    int status = -1;
    char seen[CASE_TEXT_MAX];
    gclient_check(gc, name, ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    if (cases_reply_healthy(&r, &status) && status == WIRE_NOT_SERVING)
      case_pass(res, "'%s' set NOT_SERVING answers OK with NOT_SERVING", name);
    else
      case_fail(res, "OK with status NOT_SERVING", seen,
                "Check of a registered NOT_SERVING name must succeed with NOT_SERVING");
    gclient_reply_free(&r);
    gclient_close(gc);
  }
  cases_remove(ctx, name);
}

/* T05: an unknown name fails with NOT_FOUND, never OK with some status. */
void case_check_unknown_not_found(const case_ctx *ctx, case_result *res) {
  char name[CASES_NAME_MAX];
  cases_name(ctx, "t05-never-registered", name, sizeof(name));
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply r;
  char seen[CASE_TEXT_MAX];
  gclient_check(gc, name, ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  if (r.code == WIRE_CODE_NOT_FOUND)
    case_pass(res, "unknown '%s' gives NOT_FOUND", name);
  else
    case_fail(res, "NOT_FOUND", seen, "Check of an unregistered name must fail with NOT_FOUND");
  gclient_reply_free(&r);
  gclient_close(gc);
}

/* T07: Check never answers SERVICE_UNKNOWN (FAIL) and should not answer
 * UNKNOWN (WARN) for a registered name. */
static int judge_registered(const case_ctx *ctx, case_result *res, gclient *gc, const char *name) {
  gclient_reply r;
  int status = -1;
  char seen[CASE_TEXT_MAX];
  gclient_check(gc, name, ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  int code = r.code;
  int decoded = code == WIRE_CODE_OK && gclient_reply_status(&r, &status) == 0;
  gclient_reply_free(&r);
  if (code == WIRE_CODE_NOT_FOUND)
    return 0; /* not registered */
  if (!decoded) {
    case_fail(res, "OK with status SERVING or NOT_SERVING, or NOT_FOUND", seen,
              "Check of '%s' gave no usable answer", name);
    return -1;
  }
  if (status == WIRE_SERVICE_UNKNOWN) {
    case_fail(res, "SERVING or NOT_SERVING", seen,
              "Check of registered '%s' answered SERVICE_UNKNOWN, which is for Watch only", name);
    return -1;
  }
  if (status != WIRE_SERVING && status != WIRE_NOT_SERVING) {
    cases_should(ctx, res, "SERVING or NOT_SERVING", seen,
                 "Check of registered '%s' answered a status probes treat as unhealthy", name);
    return -1;
  }
  return 1;
}

void case_check_no_service_unknown(const case_ctx *ctx, case_result *res) {
  char name[CASES_NAME_MAX];
  cases_name(ctx, "t07", name, sizeof(name));
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  int checked = 0;
  int rc = judge_registered(ctx, res, gc, "");
  checked += rc > 0;
  if (rc >= 0 && ctx->control) {
    case_result scratch;
    if (cases_set(ctx, &scratch, name, WIRE_SERVING) == 0) {
      rc = judge_registered(ctx, res, gc, name);
      checked += rc > 0;
      cases_remove(ctx, name);
    }
  }
  if (rc >= 0 && checked > 0)
    case_pass(res, "%d registered name(s) answered SERVING or NOT_SERVING", checked);
  else if (rc >= 0)
    case_skip(res, "no registered name to check ('' is not registered; no control hook)");
  gclient_close(gc);
}

/* T08 (Ctl): names match exactly; "SVC", "svc " and a prefix are other,
 * unregistered names and so NOT_FOUND (H-SVC-5, H-CHECK-2). */
void case_check_exact_match(const case_ctx *ctx, case_result *res) {
  char name[CASES_NAME_MAX];
  cases_name(ctx, "t08", name, sizeof(name));
  if (cases_set(ctx, res, name, WIRE_SERVING) < 0)
    return;
  char upper[CASES_NAME_MAX], spaced[CASES_NAME_MAX + 1], prefix[CASES_NAME_MAX];
  size_t n = strlen(name);
  for (size_t i = 0; i <= n; i++)
    upper[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 'a' + 'A' : name[i]);
  snprintf(spaced, sizeof(spaced), "%s ", name);
  snprintf(prefix, sizeof(prefix), "%.*s", (int)(n - 1), name);
  const char *variants[] = {upper, spaced, prefix};
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) == 0) {
    case_pass(res, "'%s' matched exactly: case, trailing space and prefix give NOT_FOUND", name);
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
      gclient_reply r;
      char seen[CASE_TEXT_MAX];
      gclient_check(gc, variants[i], ctx->timeout_ms, &r);
      gclient_reply_describe(&r, seen, sizeof(seen));
      int code = r.code;
      gclient_reply_free(&r);
      if (code != WIRE_CODE_NOT_FOUND) {
        case_fail(res, "NOT_FOUND", seen, "'%s' is not registered (only '%s' is)", variants[i],
                  name);
        break;
      }
    }
    gclient_close(gc);
  }
  cases_remove(ctx, name);
}

/* T09: unknown request fields are skipped (H-CHECK-9): `10 01` added to
 * a request changes nothing. */
void case_check_unknown_field_ignored(const case_ctx *ctx, case_result *res) {
  static const uint8_t bare[] = {0x0a, 0x01, 'x'};
  static const uint8_t extra[] = {0x0a, 0x01, 'x', 0x10, 0x01};
  static const uint8_t only_extra[] = {0x10, 0x01};
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  struct {
    const uint8_t *plain, *with;
    size_t plain_len, with_len;
    const char *label;
  } pairs[] = {
      {bare, extra, sizeof(bare), sizeof(extra), "'0a 01 78 10 01' vs '0a 01 78'"},
      {(const uint8_t *)"", only_extra, 0, sizeof(only_extra), "'10 01' vs the 0-byte request"},
  };
  case_pass(res, "requests with an unknown field 2 are answered as without it");
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    gclient_reply a, b;
    check_raw(gc, ctx, pairs[i].plain, pairs[i].plain_len, &a);
    check_raw(gc, ctx, pairs[i].with, pairs[i].with_len, &b);
    char exp[CASE_TEXT_MAX / 2], seen[CASE_TEXT_MAX / 2];
    gclient_reply_describe(&a, exp, sizeof(exp));
    gclient_reply_describe(&b, seen, sizeof(seen));
    int same = replies_match(&a, &b);
    int baseline = a.code == WIRE_CODE_OK || a.code == WIRE_CODE_NOT_FOUND;
    gclient_reply_free(&a);
    gclient_reply_free(&b);
    if (!baseline) {
      case_fail(res, "OK or NOT_FOUND for the plain request", exp,
                "no usable answer to compare with (%s)", pairs[i].label);
      break;
    }
    if (!same) {
      cases_should(ctx, res, exp, seen, "unknown field changed the answer: %s", pairs[i].label);
      break;
    }
  }
  gclient_close(gc);
}

/* T10: with grpc-timeout 1S, Check answers within the latency budget. The
 * first call pays for the connection; the worst of the next three counts. */
void case_check_latency_budget(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply r;
  int deadline = 1000; /* grpc-timeout: 1S (H-WIRE-5) */
  gclient_check(gc, "", deadline, &r);
  gclient_reply_free(&r);
  int worst = 0, code = WIRE_CODE_OK;
  char answer[CASE_TEXT_MAX] = "";
  for (int i = 0; i < 3 && (code == WIRE_CODE_OK || code == WIRE_CODE_NOT_FOUND); i++) {
    gclient_check(gc, "", deadline, &r);
    if (r.elapsed_ms > worst)
      worst = r.elapsed_ms;
    code = r.code;
    gclient_reply_describe(&r, answer, sizeof(answer));
    gclient_reply_free(&r);
  }
  int budget = ctx->latency_budget_ms > 0 ? ctx->latency_budget_ms : 500;
  char exp[64], seen[64];
  snprintf(exp, sizeof(exp), "a reply within %d ms", budget);
  if (code == WIRE_CODE_DEADLINE_EXCEEDED)
    snprintf(seen, sizeof(seen), "no reply within the 1 s deadline");
  else
    snprintf(seen, sizeof(seen), "a reply after %d ms", worst);
  if (code != WIRE_CODE_OK && code != WIRE_CODE_NOT_FOUND && code != WIRE_CODE_DEADLINE_EXCEEDED)
    case_fail(res, exp, answer, "Check '' gave no answer to time");
  else if (code != WIRE_CODE_DEADLINE_EXCEEDED && worst < budget)
    case_pass(res, "Check answered in %d ms at worst (budget %d ms)", worst, budget);
  else
    case_fail(res, exp, seen, "Check is too slow for probes (1 s default timeouts)");
  gclient_close(gc);
}

/* T11: repeated Checks with no change give the same answer. */
void case_check_idempotent(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply first, r;
  gclient_check(gc, "", ctx->timeout_ms, &first);
  char exp[CASE_TEXT_MAX / 2], seen[CASE_TEXT_MAX / 2];
  gclient_reply_describe(&first, exp, sizeof(exp));
  case_pass(res, "%d Checks of '' all gave %s", REPEATED_CHECKS, exp);
  if (!cases_reply_healthy(&first, NULL))
    case_fail(res, "OK with status SERVING or NOT_SERVING", exp, "Check '' failed");
  for (int i = 1; i < REPEATED_CHECKS && res->outcome == OUTCOME_PASS; i++) {
    gclient_check(gc, "", ctx->timeout_ms, &r);
    int same = replies_match(&first, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    gclient_reply_free(&r);
    if (!same) {
      cases_should(ctx, res, exp, seen, "Check #%d differed with no change (side effect?)", i + 1);
      break;
    }
  }
  gclient_reply_free(&first);
  gclient_close(gc);
}

/* T12: 50 Checks in flight at once on one channel all succeed. */
void case_check_concurrent(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply warm;
  gclient_check(gc, "", ctx->timeout_ms, &warm); /* connect first: one connection for all */
  gclient_reply_free(&warm);
  gclient_stream *calls[CONCURRENT_CHECKS] = {0};
  int opened = 0, good = 0, worst = 0;
  char seen[CASE_TEXT_MAX] = "";
  for (; opened < CONCURRENT_CHECKS; opened++)
    if (gclient_stream_open(gc, HEALTH_CHECK, (const uint8_t *)"", 0, 1, ctx->timeout_ms,
                            &calls[opened]) < 0)
      break;
  for (int i = 0; i < opened; i++) {
    gclient_reply r;
    gclient_stream_finish(calls[i], ctx->timeout_ms + 1000, &r);
    if (cases_reply_healthy(&r, NULL))
      good++;
    else if (!seen[0])
      gclient_reply_describe(&r, seen, sizeof(seen));
    if (r.elapsed_ms > worst)
      worst = r.elapsed_ms;
    gclient_reply_free(&r);
    gclient_stream_close(calls[i]);
  }
  int budget = ctx->latency_budget_ms > 0 ? ctx->latency_budget_ms : 500;
  char exp[64], count[CASE_TEXT_MAX];
  snprintf(exp, sizeof(exp), "%d successful Checks", CONCURRENT_CHECKS);
  snprintf(count, sizeof(count), "%d of %d succeeded; first failure: %.400s", good,
           CONCURRENT_CHECKS, seen);
  if (good < CONCURRENT_CHECKS)
    case_fail(res, exp, count, "concurrent Checks on one connection failed");
  else if (worst >= budget)
    cases_should(ctx, res, "all within the latency budget", "the slowest took longer",
                 "%d concurrent Checks took up to %d ms: streams serialized "
                 "(MAX_CONCURRENT_STREAMS 1?)",
                 CONCURRENT_CHECKS, worst);
  else
    case_pass(res, "%d concurrent Checks succeeded, slowest %d ms", CONCURRENT_CHECKS, worst);
  gclient_close(gc);
}

/* T13: unknown methods and services get UNIMPLEMENTED, not OK, INTERNAL or a hang. */
void case_check_unknown_method(const case_ctx *ctx, case_result *res) {
  static const char *paths[] = {"/grpc.health.v1.Health/Bogus", "/no.Such/Svc"};
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  case_pass(res, "unknown method and unknown service both give UNIMPLEMENTED");
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    gclient_reply r;
    char seen[CASE_TEXT_MAX];
    gclient_call(gc, paths[i], (const uint8_t *)"", 0, ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    int code = r.code;
    gclient_reply_free(&r);
    if (code != WIRE_CODE_UNIMPLEMENTED) {
      case_fail(res, "UNIMPLEMENTED", seen, "%s must be answered UNIMPLEMENTED", paths[i]);
      break;
    }
  }
  gclient_close(gc);
}

/* T35: a 4 KiB name gets NOT_FOUND or INVALID_ARGUMENT and the server lives on. */
void case_check_long_name(const case_ctx *ctx, case_result *res) {
  char *name = xmalloc(LONG_NAME_LEN + 1);
  int prefix = snprintf(name, LONG_NAME_LEN + 1, "%s-t35-", ctx->service ? ctx->service : "hc");
  memset(name + prefix, 'x', (size_t)(LONG_NAME_LEN - prefix));
  name[LONG_NAME_LEN] = '\0';
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0) {
    free(name);
    return;
  }
  gclient_reply r;
  char seen[CASE_TEXT_MAX];
  gclient_check(gc, name, ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  int code = r.code;
  gclient_reply_free(&r);
  if (code != WIRE_CODE_NOT_FOUND && code != WIRE_CODE_INVALID_ARGUMENT) {
    case_fail(res, "NOT_FOUND or INVALID_ARGUMENT", seen, "Check of a %d-byte name", LONG_NAME_LEN);
  } else {
    gclient_check(gc, "", ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    int alive = r.code != WIRE_CODE_UNAVAILABLE && r.code != WIRE_CODE_DEADLINE_EXCEEDED;
    gclient_reply_free(&r);
    if (alive)
      case_pass(res, "a %d-byte name gave %s; the server still answers", LONG_NAME_LEN,
                wire_code_name(code));
    else
      case_fail(res, "the server still answers Check ''", seen,
                "the server stopped answering after a %d-byte name", LONG_NAME_LEN);
  }
  gclient_close(gc);
  free(name);
}
