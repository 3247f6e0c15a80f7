/*
 * cases_jina: what makes a server a Jina Executor from the outside
 * (health-conformance --profile jina), J01-J06 with the J-* clauses of
 * docs/jina.md, clauses J-* of docs/protocol.md: Jina's GRPCServer marks
 * its service_names SERVING after server.start(), serves reflection
 * v1alpha listing exactly them, and on shutdown grpcio-health-checking's
 * enter_graceful_shutdown() turns every service NOT_SERVING.
 *
 * The plain mock fails J01, J03 and J06; tests/integration/test_jina_conformance.py
 * proves it, and the knobs that fail J02, J04 and J05 on the jina mock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cases_reflection_internal.h"
#include "jina.h"
#include "wire.h"

#define GRPC PROTOCOL_GRPC
#define SHUT (NEED_CONTROL | NEED_SHUTDOWN | NEED_ALONE | NEED_LAST)
#define HEALTH_SERVICE "grpc.health.v1.Health"

/* The first of jina_services whose Check is not OK+`want`: 0 when none,
 * else 1 with `seen` naming it and what came. */
static int first_not(gclient *gc, const case_ctx *ctx, int want, char *seen, size_t size) {
  char got[CASE_TEXT_MAX];

  for (size_t i = 0; jina_services[i]; i++) {
    gclient_reply r;
    int status = -1, ok;

    gclient_check(gc, jina_services[i], ctx->timeout_ms, &r);
    ok = cases_reply_healthy(&r, &status) && status == want;
    gclient_reply_describe(&r, got, sizeof(got));
    gclient_reply_free(&r);
    if (!ok) {
      snprintf(seen, size, "%s: %.300s", jina_services[i], got);
      return 1;
    }
  }
  return 0;
}

/* J01 */
void case_jina_services_serving(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX];
  gclient *gc = NULL;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  if (first_not(gc, ctx, WIRE_SERVING, seen, sizeof(seen)))
    case_fail(res, "OK with status SERVING for each of the Executor's services", seen,
              "a Jina service is not SERVING");
  else
    case_pass(res, "the %zu Executor services answer SERVING", jina_service_count());
  gclient_close(gc);
}

/* J02: "" SERVING on Check and in Watch's first message (grpcio's
 * servicer starts with it, before Jina sets anything). */
void case_jina_overall_serving(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX];
  gclient_stream *s = NULL;
  gclient *gc = NULL;
  gclient_reply r;
  int status = -1;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_check(gc, "", ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  if (!cases_reply_healthy(&r, &status) || status != WIRE_SERVING)
    case_fail(res, "OK with status SERVING", seen, "Check '' is not SERVING");
  else if (cases_watch_first(ctx, res, gc, "", ctx->timeout_ms, &s, &status) == 0) {
    if (status == WIRE_SERVING)
      case_pass(res, "'' is SERVING on Check and in Watch's first message");
    else
      case_fail(res, "a first Watch message SERVING", wire_status_name(status),
                "Watch '' did not start with SERVING");
  }
  gclient_reply_free(&r);
  gclient_stream_close(s);
  gclient_close(gc);
}

/* What the list holds against jina_services: 0 equal in order, 1 the same
 * names in another order, -1 different (seen says which name). */
static int compare_list(const refl_response *r, char *seen, size_t size) {
  const Grpc__Reflection__V1__ListServiceResponse *l = r->list_services_response;
  size_t n = jina_service_count(), in_order = 1;

  if (r->message_response_case !=
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE) {
    cases_refl_describe(r, seen, size);
    return -1;
  }
  for (size_t i = 0; i < l->n_service; i++) {
    const char *name = l->service[i]->name ? l->service[i]->name : "";
    if (!jina_is_service(name)) {
      snprintf(seen, size, "%zu services, among them %.200s", l->n_service, name);
      return -1;
    }
    in_order &= i < n && strcmp(name, jina_services[i]) == 0;
  }
  if (l->n_service != n) {
    snprintf(seen, size, "%zu services, not the %zu of an Executor", l->n_service, n);
    return -1;
  }
  snprintf(seen, size, "the %zu services, in another order", n);
  return in_order ? 0 : 1;
}

/* J03 */
void case_jina_reflection_lists_services(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX];
  refl_response *r = NULL;
  gclient *gc = NULL;
  refl_request req;
  int cmp;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  cases_refl_list_request(&req);
  if (cases_refl_v1alpha(ctx, res, gc, &req, &r) == 0) {
    cmp = compare_list(r, seen, sizeof(seen));
    if (cmp < 0)
      case_fail(res, "list_services_response naming exactly the Executor's services", seen,
                "reflection v1alpha does not list what an Executor lists (grpc.health.v1.Health "
                "is not among them)");
    else if (cmp > 0)
      cases_should(ctx, res, "the names sorted, as grpcio-reflection sorts them", seen,
                   "reflection v1alpha lists the Executor's services unsorted");
    else
      case_pass(res, "reflection v1alpha lists exactly the %zu Executor services, sorted",
                jina_service_count());
  }
  cases_refl_free(r);
  gclient_close(gc);
}

/* J04: grpcurl's `grpc.health.v1.Health/Check` resolves the symbol over
 * v1alpha, though Health is not listed. */
void case_jina_reflection_health_symbol(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX], detail[CASE_TEXT_MAX];
  refl_response *r = NULL;
  gclient *gc = NULL;
  refl_request req;
  const char *why;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  cases_refl_symbol_request(&req, HEALTH_SERVICE);
  if (cases_refl_v1alpha(ctx, res, gc, &req, &r) == 0) {
    why = cases_refl_health_problem(ctx, gc, r);
    cases_refl_describe(r, seen, sizeof(seen));
    snprintf(detail, sizeof(detail), "%.300s: %s", seen, why);
    if (why[0])
      case_fail(res, "the FileDescriptorProto of grpc/health/v1/health.proto", detail,
                "file_containing_symbol " HEALTH_SERVICE " over v1alpha (grpcurl needs it)");
    else
      case_pass(res, "v1alpha resolves " HEALTH_SERVICE " though it does not list it");
  }
  cases_refl_free(r);
  gclient_close(gc);
}

/* J05: the health service is not in Jina's status map. */
void case_jina_health_name_not_found(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX];
  gclient *gc = NULL;
  gclient_reply r;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_check(gc, HEALTH_SERVICE, ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  if (r.code == WIRE_CODE_NOT_FOUND)
    case_pass(res, "Check of " HEALTH_SERVICE " fails with NOT_FOUND");
  else
    cases_should(ctx, res, "NOT_FOUND", seen,
                 "Check of " HEALTH_SERVICE " answered: Jina never sets that name");
  gclient_reply_free(&r);
  gclient_close(gc);
}

/* J06 (Ctl: shutdown): every service, "" included, NOT_SERVING, and a
 * watcher of one of them told so. */
void case_jina_shutdown_every_service(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX];
  gclient_stream *s = NULL;
  gclient *gc = NULL;
  int status = -1, others = 0;
  gclient_reply r;

  if (cases_connect(ctx, res, &gc) < 0)
    return;
  if (cases_watch_first(ctx, res, gc, "jina.JinaRPC", ctx->timeout_ms, &s, &status) != 0 ||
      cases_start_shutdown(ctx, res) != 0)
    goto out;
  if (status != WIRE_NOT_SERVING &&
      cases_watch_until(s, WIRE_NOT_SERVING, ctx->timeout_ms, &others, seen, sizeof(seen)) != 0) {
    case_fail(res, "NOT_SERVING pushed to the watcher of jina.JinaRPC", seen,
              "the watcher was not told of the shutdown");
  } else if (first_not(gc, ctx, WIRE_NOT_SERVING, seen, sizeof(seen))) {
    case_fail(res, "OK with status NOT_SERVING for each of the Executor's services", seen,
              "a service is not NOT_SERVING during the shutdown");
  } else {
    gclient_check(gc, "", ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    if (cases_reply_healthy(&r, &status) && status == WIRE_NOT_SERVING)
      case_pass(res, "on shutdown every service and '' read NOT_SERVING, the watcher told");
    else
      case_fail(res, "OK with status NOT_SERVING", seen, "'' is not NOT_SERVING on shutdown");
    gclient_reply_free(&r);
  }
  cases_resume(ctx, res);
out:
  gclient_stream_close(s);
  gclient_close(gc);
}

/* T29 under the profile. */
static void case_superseded_by_j03(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  case_skip(res,
            "--profile jina: a Jina Executor does not list grpc.health.v1.Health; "
            "jina/reflection-lists-services (J03) checks its list instead");
}

static const hc_case jina_cases[] = {
    {.id = "jina/services-serving",
     .test = "J01",
     .clauses = "J-SVC-1",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "Check of each Executor service (jina.JinaRPC, ..., the reflection service) is SERVING",
     .clause_text =
         "Jina's GRPCServer: \"# Mark all services as healthy.\" await self.server.start(); for "
         "service in service_names: await self.health_servicer.set(service, SERVING).",
     .run = case_jina_services_serving},
    {.id = "jina/overall-serving",
     .test = "J02",
     .clauses = "J-SVC-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "'' is SERVING on Check and in Watch's first message, from the first answer",
     .clause_text =
         "grpcio-health-checking: self._server_status = {\"\": SERVING}; Jina never sets ''.",
     .run = case_jina_overall_serving},
    {.id = "jina/reflection-lists-services",
     .test = "J03",
     .clauses = "J-REFL-1",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "reflection v1alpha lists exactly the Executor's services, sorted, and not the health one",
     .clause_text =
         "reflection.enable_server_reflection(service_names, server): self._service_names = "
         "tuple(sorted(service_names)) (grpc_reflection/v1alpha/_base.py).",
     .run = case_jina_reflection_lists_services},
    {.id = "jina/reflection-health-symbol",
     .test = "J04",
     .clauses = "J-REFL-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "reflection v1alpha resolves grpc.health.v1.Health (grpcurl's Check needs no -proto)",
     .clause_text =
         "Python reflection answers file_containing_symbol from the default descriptor pool: "
         "descriptor = self._pool.FindFileContainingSymbol(...).",
     .run = case_jina_reflection_health_symbol},
    {.id = "jina/health-name-not-found",
     .test = "J05",
     .clauses = "J-SVC-3",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "Check of grpc.health.v1.Health fails with NOT_FOUND (not in Jina's service_names)",
     .clause_text =
         "_async.py Check: if status is None: await context.abort(grpc.StatusCode.NOT_FOUND).",
     .run = case_jina_health_name_not_found},
    {.id = "shutdown/jina-every-service",
     .test = "J06",
     .clauses = "J-SHUT-1",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = SHUT,
     .summary = "on shutdown every Executor service and '' read NOT_SERVING, and watchers are told",
     .clause_text =
         "await self.health_servicer.enter_graceful_shutdown(): \"Permanently sets the status of "
         "all services to NOT_SERVING.\"",
     .run = case_jina_shutdown_every_service},
};
#define N_JINA (sizeof(jina_cases) / sizeof(jina_cases[0]))

const hc_case *catalogue_jina_cases(size_t *count) {
  *count = N_JINA;
  return jina_cases;
}

/* Room for the catalogue and the J cases; test_catalogue checks it. */
#define COMBINED_MAX 96
static hc_case combined[COMBINED_MAX];
static size_t n_combined;

/* The catalogue with the J cases; the cases that may leave changes
 * behind (NEED_LAST: list/limit, the shutdown cases) of both last. */
static void build_combined(void) {
  size_t n, k = 0;
  const hc_case *cases = catalogue_cases(&n);

  if (n + N_JINA > COMBINED_MAX) { /* a programming error: the table grew */
    fprintf(stderr, "cases_jina: %zu cases, room for %d\n", n + N_JINA, COMBINED_MAX);
    abort();
  }
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++)
      if (!(cases[i].needs & NEED_LAST) == !pass)
        combined[k++] = cases[i];
    for (size_t i = 0; i < N_JINA; i++)
      if (!(jina_cases[i].needs & NEED_LAST) == !pass)
        combined[k++] = jina_cases[i];
  }
  for (size_t i = 0; i < k; i++)
    if (strcmp(combined[i].id, "reflection/lists-health") == 0)
      combined[i].run = case_superseded_by_j03;
  n_combined = k;
}

const hc_case *catalogue_profile_cases(catalogue_profile profile, size_t *count) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  if (profile != CATALOGUE_JINA)
    return catalogue_cases(count);
  pthread_once(&once, build_combined);
  *count = n_combined;
  return combined;
}
