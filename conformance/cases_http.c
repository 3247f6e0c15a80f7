/*
 * cases_http: the plain-HTTP health endpoint (`--protocol http`), as a Jina
 * Executor's FastAPI app serves it and as kubelet's httpGet probe and
 * `jina ping` read it (docs/protocol.md, H-HTTP-1 to H-HTTP-7). H01-H08.
 *
 * The target is "host:port"; every request goes to http://target/...
 * with ctx->timeout_ms as both connect and total bound.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cases.h"
#include "cases_http_internal.h"
#include "control.h"
#include "http_client.h"
#include "probe.h"
#include "wire.h"

#define KEEPALIVE_REQUESTS 3

/* One request on its own connection; on no answer res is filled (FAIL). */
static int request(const case_ctx *ctx, case_result *res, hclient *h, const char *method,
                   const char *path, hclient_result *r) {
  int rc = hclient_request(h, ctx->target, method, path, ctx->timeout_ms, ctx->timeout_ms, r);
  if (rc < 0) {
    char what[64];
    snprintf(what, sizeof(what), "an HTTP answer to %s %s", method, path);
    case_fail(res, what, r->error, "%s %s got no answer", method, path);
  }
  return rc;
}

/* A fresh client into *h; on failure res says why. */
static int new_client(case_result *res, hclient **h) {
  int rc = hclient_new(h);
  if (rc < 0)
    case_fail(res, "an HTTP client", strerror(-rc), "cannot create an HTTP client");
  return rc;
}

/* GET / on a fresh client; 0 with *r, or res filled. */
static int get_root(const case_ctx *ctx, case_result *res, hclient_result *r) {
  hclient *h = NULL;
  int rc = new_client(res, &h);
  if (rc < 0)
    return rc;
  rc = request(ctx, res, h, "GET", "/", r);
  hclient_free(h);
  return rc;
}

void cases_http_judge_status(const case_ctx *ctx, const hclient_result *r, case_result *res) {
  char seen[CASE_TEXT_MAX];
  hclient_describe(r, seen, sizeof(seen));
  if (r->http_status == 200)
    case_pass(res, "GET / answers 200");
  else if (probe_http_success(r->http_status))
    cases_should(ctx, res, "HTTP 200", seen,
                 "GET / answers %ld: kubelet counts it healthy, `jina ping` needs exactly 200",
                 r->http_status);
  else
    case_fail(res, "HTTP 200 while the target is healthy", seen,
              "GET / must answer 200 while healthy (is the target healthy?)");
}

/* H01 */
void case_http_root_ok(const case_ctx *ctx, case_result *res) {
  hclient_result r;
  if (get_root(ctx, res, &r) == 0)
    cases_http_judge_status(ctx, &r, res);
}

/* `{}` is what a Jina Executor sends. */
void cases_http_judge_body(const case_ctx *ctx, const hclient_result *r, case_result *res) {
  char seen[CASE_TEXT_MAX];
  json_error_t jerr;
  hclient_describe(r, seen, sizeof(seen));
  if (!probe_http_success(r->http_status)) {
    case_fail(res, "HTTP 2xx with a JSON body", seen, "GET / is not a success; no body to judge");
    return;
  }
  if (r->curl_code != 0) { /* a body cut short or never ending is no JSON body */
    case_fail(res, "a whole JSON body ({} for a Jina Executor)", seen,
              "the body of GET / did not arrive whole: %s", r->error);
    return;
  }
  if (r->body_len >= HCLIENT_BODY_MAX) {
    cases_should(ctx, res, "a small JSON body such as {}", seen,
                 "the health body is %zu bytes; a probe body should be small", r->body_len);
    return;
  }
  json_t *doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr);
  if (!doc) {
    char why[CASE_TEXT_MAX];
    snprintf(why, sizeof(why), "%.200s: %.200s", seen, jerr.text);
    case_fail(res, "a JSON body ({} for a Jina Executor)", why, "the body of GET / is not JSON");
    return;
  }
  if (json_is_object(doc) && json_object_size(doc) == 0)
    case_pass(res, "GET / answers the JSON body {}");
  else
    cases_should(ctx, res, "{} (Jina's JinaHealthModel)", seen,
                 "the body is valid JSON but not {}, which Jina-style clients expect");
  json_decref(doc);
}

/* H02: the body is JSON. */
void case_http_root_json_body(const case_ctx *ctx, case_result *res) {
  hclient_result r;
  if (get_root(ctx, res, &r) == 0)
    cases_http_judge_body(ctx, &r, res);
}

void cases_http_judge_type(const case_ctx *ctx, const hclient_result *r, case_result *res) {
  char seen[CASE_TEXT_MAX];
  hclient_describe(r, seen, sizeof(seen));
  if (hclient_is_json_type(r->content_type))
    case_pass(res, "Content-Type is %s", r->content_type);
  else
    cases_should(ctx, res, "Content-Type: application/json", seen,
                 "the health answer is not labelled as JSON");
}

/* H03 */
void case_http_root_content_type(const case_ctx *ctx, case_result *res) {
  hclient_result r;
  if (get_root(ctx, res, &r) == 0)
    cases_http_judge_type(ctx, &r, res);
}

/* H04: several GETs on one client reuse one connection. */
void case_http_keep_alive(const case_ctx *ctx, case_result *res) {
  hclient *h = NULL;
  hclient_result r;
  long opened = 0;
  if (new_client(res, &h) < 0)
    return;
  for (int i = 0; i < KEEPALIVE_REQUESTS; i++) {
    if (request(ctx, res, h, "GET", "/", &r) < 0)
      goto out;
    opened += r.new_connections;
  }
  if (opened == 1) {
    case_pass(res, "%d GETs on one connection", KEEPALIVE_REQUESTS);
  } else {
    char seen[64];
    snprintf(seen, sizeof(seen), "%ld connections for %d GETs", opened, KEEPALIVE_REQUESTS);
    cases_should(ctx, res, "one connection (HTTP/1.1 persistent by default)", seen,
                 "the server closes the connection after each answer");
  }
out:
  hclient_free(h);
}

/* H05 */
void case_http_latency_budget(const case_ctx *ctx, case_result *res) {
  hclient_result r;
  char seen[CASE_TEXT_MAX], expected[64];
  if (get_root(ctx, res, &r) < 0)
    return;
  snprintf(expected, sizeof(expected), "an answer within %d ms", ctx->latency_budget_ms);
  snprintf(seen, sizeof(seen), "HTTP %ld after %d ms", r.http_status, r.elapsed_ms);
  if (r.curl_code != 0) /* headers in time are not an answer when the body never ends */
    case_fail(res, expected, seen, "GET / did not complete: %s", r.error);
  else if (r.elapsed_ms <= ctx->latency_budget_ms)
    case_pass(res, "GET / answered in %d ms (budget %d ms)", r.elapsed_ms, ctx->latency_budget_ms);
  else
    case_fail(res, expected, seen, "GET / is slower than the latency budget");
}

/* Repeats GET / until `want_ok` (200-399 or not) holds or the bound passes:
 * a hook may take effect a moment after it returns. 0 when it held. */
static int get_until(const case_ctx *ctx, case_result *res, int want_ok, hclient_result *r) {
  hclient *h = NULL;
  int spent = 0, rc = new_client(res, &h);
  if (rc < 0)
    return rc;
  for (;;) {
    rc = request(ctx, res, h, "GET", "/", r);
    if (rc < 0)
      break;
    spent += r->elapsed_ms + 1;
    if (probe_http_success(r->http_status) == want_ok || spent >= ctx->timeout_ms) {
      rc = probe_http_success(r->http_status) == want_ok ? 0 : -ETIMEDOUT;
      break;
    }
  }
  hclient_free(h);
  return rc;
}

/* Best effort: leaves '' SERVING, as a healthy target was found. */
static void restore_serving(const case_ctx *ctx) {
  char err[CONTROL_ERR_MAX];
  (void)control_set(ctx->control, "", WIRE_SERVING, err, sizeof(err));
}

/* H06 (Ctl): '' NOT_SERVING turns GET / into a failure for kubelet, and
 * SERVING turns it back. Runs alone: it changes the overall status. */
void case_http_unhealthy_not_success(const case_ctx *ctx, case_result *res) {
  hclient_result r;
  char seen[CASE_TEXT_MAX];
  if (cases_set(ctx, res, "", WIRE_NOT_SERVING) < 0)
    return;
  int rc = get_until(ctx, res, 0, &r);
  if (rc < 0) {
    if (rc == -ETIMEDOUT) {
      hclient_describe(&r, seen, sizeof(seen));
      case_fail(res, "a status outside 200-399 (kubelet: 200 <= code < 400 is success)", seen,
                "GET / still answers success with '' set NOT_SERVING");
    }
    restore_serving(ctx);
    return;
  }
  if (cases_set(ctx, res, "", WIRE_SERVING) < 0)
    return;
  long unhealthy = r.http_status;
  rc = get_until(ctx, res, 1, &r);
  if (rc == -ETIMEDOUT) {
    hclient_describe(&r, seen, sizeof(seen));
    case_fail(res, "HTTP 200 again after SERVING", seen,
              "GET / did not recover when '' went back to SERVING");
  } else if (rc == 0) {
    case_pass(res, "NOT_SERVING gives HTTP %ld, SERVING gives HTTP %ld again", unhealthy,
              r.http_status);
  }
}

/* H07: a path that is not the health endpoint does not pass for it. */
void case_http_unknown_path(const case_ctx *ctx, case_result *res) {
  hclient_result root, r;
  char path[CASES_NAME_MAX + 2], seen[CASE_TEXT_MAX];
  hclient *h = NULL;
  if (get_root(ctx, res, &root) < 0)
    return;
  if (new_client(res, &h) < 0)
    return;
  path[0] = '/';
  cases_name(ctx, "no-such-path", path + 1, sizeof(path) - 1);
  if (request(ctx, res, h, "GET", path, &r) == 0) {
    hclient_describe(&r, seen, sizeof(seen));
    if (r.http_status == 200 && r.body_len == root.body_len && strcmp(r.body, root.body) == 0)
      cases_should(ctx, res, "HTTP 404 (FastAPI's answer to an unknown path)", seen,
                   "an unknown path answers like the health endpoint, so a mistyped probe path "
                   "would pass");
    else
      case_pass(res, "GET %s answers %ld", path, r.http_status);
  }
  hclient_free(h);
}

/* H08: HEAD is at most a MAY: Jina's FastAPI app answers it 405. */
void case_http_head(const case_ctx *ctx, case_result *res) {
  hclient *h = NULL;
  hclient_result r;
  char seen[CASE_TEXT_MAX];
  if (new_client(res, &h) < 0)
    return;
  if (request(ctx, res, h, "HEAD", "/", &r) == 0) {
    hclient_describe(&r, seen, sizeof(seen));
    if (probe_http_success(r.http_status) && r.body_len == 0)
      case_pass(res, "HEAD / answers %ld without a body", r.http_status);
    else if (r.http_status == 405)
      case_pass(res, "HEAD / answers 405, as Jina's FastAPI app does; probes use GET");
    else
      cases_should(ctx, res, "HEAD / like GET without a body, or 405", seen,
                   "HEAD / answers neither like GET nor 405");
  }
  hclient_free(h);
}
