/*
 * cases_list: the optional List profile (T26-T28). A server built before
 * the 2025 proto answers UNIMPLEMENTED (H-LIST-1): every case then skips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "grpc/health/v1/health.pb-c.h"
#include "wire.h"

#define LIST_LIMIT 100 /* A90; Go and Node fail at 101 */

typedef Grpc__Health__V1__HealthListResponse list_reply;

/* Calls List. 0 and *out (free with list_free) when it answered OK with
 * one decodable message. Otherwise res is filled (SKIP on UNIMPLEMENTED
 * and RESOURCE_EXHAUSTED, FAIL else), *code gets the code, and it returns
 * < 0. RESOURCE_EXHAUSTED is allowed (H-LIST-3): a server with over 100
 * services (say, the 101 names of an earlier run's T27 that a hook like
 * grpc-node's could not remove) leaves nothing to inspect. Within a run
 * T27 comes after the other List cases (NEED_LAST). */
static int list_call(const case_ctx *ctx, case_result *res, gclient *gc, list_reply **out,
                     int *code) {
  gclient_reply r;
  char seen[CASE_TEXT_MAX];
  *out = NULL;
  gclient_call(gc, HEALTH_LIST, (const uint8_t *)"", 0, ctx->timeout_ms, &r);
  *code = r.code;
  gclient_reply_describe(&r, seen, sizeof(seen));
  if (r.code == WIRE_CODE_OK && r.msg_count == 1 && r.msgs[0])
    *out = grpc__health__v1__health_list_response__unpack(NULL, r.lens[0], r.msgs[0]);
  int rc = *out ? 0 : -EBADMSG;
  if (r.code == WIRE_CODE_UNIMPLEMENTED)
    case_skip(res, "List is not served (UNIMPLEMENTED): optional, H-LIST-1");
  else if (r.code == WIRE_CODE_RESOURCE_EXHAUSTED)
    case_skip(res,
              "List answered RESOURCE_EXHAUSTED (too many services, allowed by H-LIST-3): "
              "nothing to inspect");
  else if (r.code != WIRE_CODE_OK || r.msg_count != 1)
    case_fail(res, "OK with one HealthListResponse", seen, "List failed");
  else if (!*out)
    case_fail(res, "a decodable HealthListResponse",
              "bytes protobuf-c rejects (wrong tag or wire type?)", "List reply is malformed");
  gclient_reply_free(&r);
  return rc;
}

static void list_free(list_reply *l) {
  if (l)
    grpc__health__v1__health_list_response__free_unpacked(l, NULL);
}

/* The entry's status, -1 when the name is absent. A missing value is the
 * default message, status UNKNOWN (proto3). */
static int list_status(const list_reply *l, const char *name) {
  for (size_t i = 0; i < l->n_statuses; i++)
    if (l->statuses[i] && strcmp(l->statuses[i]->key, name) == 0)
      return l->statuses[i]->value ? (int)l->statuses[i]->value->status : WIRE_UNKNOWN;
  return -1;
}

static void expect_entry(case_result *res, const list_reply *l, const char *name, int want) {
  int got = list_status(l, name);
  if (got == want)
    return;
  char exp[CASE_TEXT_MAX], seen[CASE_TEXT_MAX];
  snprintf(exp, sizeof(exp), "'%.200s': %s", name, wire_status_name(want));
  if (got < 0)
    snprintf(seen, sizeof(seen), "'%.200s' missing", name);
  else
    snprintf(seen, sizeof(seen), "'%.200s': %s", name, wire_status_name(got));
  case_fail(res, exp, seen, "List must hold every service with its status (H-LIST-2)");
}

/* T26: List holds '' (when Check '' works) and a name set through the
 * hook, with the statuses Check gives; SERVICE_UNKNOWN never appears. */
void case_list_includes_names(const case_ctx *ctx, case_result *res) {
  char name[CASES_NAME_MAX];
  cases_name(ctx, "t26", name, sizeof(name));
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  int created = 0;
  case_result scratch;
  if (ctx->control && cases_set(ctx, &scratch, name, WIRE_NOT_SERVING) == 0)
    created = 1;
  gclient_reply r;
  int overall = -1;
  gclient_check(gc, "", ctx->timeout_ms, &r);
  if (!cases_reply_healthy(&r, &overall))
    overall = -1;
  gclient_reply_free(&r);
  list_reply *l = NULL;
  int code = 0;
  if (list_call(ctx, res, gc, &l, &code) == 0) {
    case_pass(res, "List holds %zu entries%s%s", l->n_statuses, overall >= 0 ? ", '' included" : "",
              created ? ", the created name included" : "");
    for (size_t i = 0; i < l->n_statuses; i++) {
      const Grpc__Health__V1__HealthListResponse__StatusesEntry *e = l->statuses[i];
      if (e && e->value && (int)e->value->status == WIRE_SERVICE_UNKNOWN) {
        char seen[CASE_TEXT_MAX];
        snprintf(seen, sizeof(seen), "'%.200s': SERVICE_UNKNOWN", e->key);
        case_fail(res, "registered services only", seen,
                  "List must not report SERVICE_UNKNOWN entries");
      }
    }
    if (res->outcome == OUTCOME_PASS && overall >= 0)
      expect_entry(res, l, "", overall);
    if (res->outcome == OUTCOME_PASS && created)
      expect_entry(res, l, name, WIRE_NOT_SERVING);
  }
  list_free(l);
  if (created)
    cases_remove(ctx, name);
  gclient_close(gc);
}

/* T27 (Ctl): 100 services list fine; at 101, OK or RESOURCE_EXHAUSTED. */
void case_list_limit(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  list_reply *l = NULL;
  int code = 0, created = 0;
  char name[CASES_NAME_MAX], seen[CASE_TEXT_MAX];
  if (list_call(ctx, res, gc, &l, &code) < 0)
    goto done;
  int existing = (int)l->n_statuses;
  list_free(l);
  l = NULL;
  if (existing > LIST_LIMIT) {
    case_skip(res, "the target already has %d services (more than %d)", existing, LIST_LIMIT);
    goto done;
  }
  for (; created < LIST_LIMIT - existing; created++) {
    snprintf(seen, sizeof(seen), "t27-%03d", created);
    cases_name(ctx, seen, name, sizeof(name));
    if (cases_set(ctx, res, name, WIRE_SERVING) < 0)
      goto done;
  }
  if (list_call(ctx, res, gc, &l, &code) < 0) {
    if (code == WIRE_CODE_RESOURCE_EXHAUSTED)
      case_fail(res, "OK at 100 services", "RESOURCE_EXHAUSTED",
                "RESOURCE_EXHAUSTED at exactly %d services (off by one)", LIST_LIMIT);
    goto done;
  }
  list_free(l);
  l = NULL;
  snprintf(seen, sizeof(seen), "t27-%03d", created);
  cases_name(ctx, seen, name, sizeof(name));
  if (cases_set(ctx, res, name, WIRE_SERVING) < 0)
    goto done;
  created++;
  case_result over;
  memset(&over, 0, sizeof(over));
  if (list_call(ctx, &over, gc, &l, &code) == 0)
    case_pass(res, "List answered OK at %d and at %d services", LIST_LIMIT, LIST_LIMIT + 1);
  else if (code == WIRE_CODE_RESOURCE_EXHAUSTED)
    case_pass(res, "List answered OK at %d and RESOURCE_EXHAUSTED at %d", LIST_LIMIT,
              LIST_LIMIT + 1);
  else
    case_fail(res, "OK or RESOURCE_EXHAUSTED", over.seen[0] ? over.seen : over.message,
              "List above %d services must answer OK or RESOURCE_EXHAUSTED (H-LIST-3)", LIST_LIMIT);
done:
  list_free(l);
  int stay = 0;
  for (int i = 0; i < created; i++) {
    snprintf(seen, sizeof(seen), "t27-%03d", i);
    cases_name(ctx, seen, name, sizeof(name));
    stay += cases_remove(ctx, name) < 0;
  }
  /* Leftovers read as what they are: ours, not the target's (issue 13). */
  if (stay)
    cases_note(res,
               "%d names it created stay on the target (the hook cannot remove them): "
               "restart it before another run",
               stay);
  gclient_close(gc);
}

/* Unknown fields at any level mean a wrong tag or wire type somewhere. */
static int has_unknown(const ProtobufCMessage *m) { return m && m->n_unknown_fields > 0; }

/* T28: the List reply decodes strictly with protobuf-c, which accepts
 * map entries with and without the explicit empty key; no field lands
 * in the unknown set (wrong tag), no value is outside the enum. */
void case_list_map_encoding(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  list_reply *l = NULL;
  int code = 0;
  if (list_call(ctx, res, gc, &l, &code) == 0) {
    case_pass(res, "all %zu List entries decode cleanly", l->n_statuses);
    if (has_unknown(&l->base))
      case_fail(res, "only field 1 (statuses)", "unknown top-level fields",
                "HealthListResponse carries fields with a wrong tag");
    for (size_t i = 0; i < l->n_statuses && res->outcome == OUTCOME_PASS; i++) {
      const Grpc__Health__V1__HealthListResponse__StatusesEntry *e = l->statuses[i];
      char seen[CASE_TEXT_MAX];
      snprintf(seen, sizeof(seen), "entry #%zu '%.200s'", i, e->key);
      if (has_unknown(&e->base) || (e->value && has_unknown(&e->value->base)))
        case_fail(res, "map entries with key = 1, value = 2", seen,
                  "a map entry carries fields with a wrong tag");
      else if (e->value && (int)e->value->status > WIRE_STATUS_MAX)
        case_fail(res, "a ServingStatus 0-3", seen, "a map entry's status is out of range");
    }
  }
  list_free(l);
  gclient_close(gc);
}
