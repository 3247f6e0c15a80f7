/*
 * cases_reflection: the optional reflection profile (T29-T32). grpcurl
 * tries v1 and falls back to v1alpha on UNIMPLEMENTED (H-REFL-2); both
 * versions share field numbers, so the v1 protobuf-c types encode and
 * decode both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cases_reflection_internal.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "wire.h"
#include "xalloc.h"

static const char *const refl_paths[] = {
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};
static const char *const refl_names[] = {"v1", "v1alpha"};

/* One request on an open stream, one response back. 0 and *out; 1 when
 * the stream ended instead; -ETIMEDOUT; -EBADMSG. */
static int refl_ask(const case_ctx *ctx, gclient_stream *s, const refl_request *req,
                    refl_response **out) {
  *out = NULL;
  size_t len = grpc__reflection__v1__server_reflection_request__get_packed_size(req);
  uint8_t *buf = xmalloc(len);
  grpc__reflection__v1__server_reflection_request__pack(req, buf);
  int rc = gclient_stream_send(s, buf, len, ctx->timeout_ms);
  free(buf);
  buf = NULL;
  /* A send the server refused shows up as the end of the stream below. */
  (void)rc;
  rc = gclient_stream_next(s, ctx->timeout_ms, &buf, &len);
  if (rc != 0)
    return rc;
  *out = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, buf);
  free(buf);
  return *out ? 0 : -EBADMSG;
}

void cases_refl_free(refl_response *r) {
  if (r)
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

typedef struct refl_session {
  gclient *gc;
  gclient_stream *s;
  int first;   /* the first version asked: 0 (v1), or 1 for v1alpha alone */
  int version; /* index into refl_paths */
  int unimplemented[2];
} refl_session;

/* Opens reflection and asks `req`, v1 first, v1alpha on UNIMPLEMENTED.
 * 0 with *out; otherwise res is filled (SKIP when neither is served). */
static int refl_start(const case_ctx *ctx, case_result *res, refl_session *rs,
                      const refl_request *req, refl_response **out) {
  char seen[CASE_TEXT_MAX];
  for (int v = rs->first; v < 2; v++) {
    rs->version = v;
    int rc = gclient_stream_open(rs->gc, refl_paths[v], NULL, 0, 0, ctx->timeout_ms, &rs->s);
    if (rc < 0) {
      case_fail(res, "a reflection call", strerror(-rc), "could not start reflection");
      return rc;
    }
    rc = refl_ask(ctx, rs->s, req, out);
    if (rc == 0)
      return 0;
    if (rc == 1 && gclient_stream_code(rs->s, NULL) == WIRE_CODE_UNIMPLEMENTED) {
      rs->unimplemented[v] = 1;
      gclient_stream_close(rs->s);
      rs->s = NULL;
      continue;
    }
    if (rc == 1)
      cases_stream_end(rs->s, seen, sizeof(seen));
    else
      snprintf(seen, sizeof(seen), "%s",
               rc == -ETIMEDOUT ? "no response in time" : "an undecodable response");
    case_fail(res, "a response, or UNIMPLEMENTED to let clients fall back", seen,
              "reflection %s is broken", refl_names[v]);
    return -EPROTO;
  }
  case_skip(res, "no reflection: v1 and v1alpha both answer UNIMPLEMENTED");
  return -ENOTSUP;
}

/* Half-closes and expects the stream to end with OK (H-REFL-8 c). */
static void refl_finish(const case_ctx *ctx, case_result *res, refl_session *rs) {
  if (rs->s && res->outcome == OUTCOME_PASS) {
    uint8_t *buf = NULL;
    size_t len = 0;
    char seen[CASE_TEXT_MAX];
    gclient_stream_half_close(rs->s, ctx->timeout_ms);
    int rc;
    while ((rc = gclient_stream_next(rs->s, ctx->timeout_ms, &buf, &len)) == 0)
      free(buf);
    if (rc != 1 || gclient_stream_code(rs->s, NULL) != WIRE_CODE_OK) {
      if (rc == 1)
        cases_stream_end(rs->s, seen, sizeof(seen));
      else
        snprintf(seen, sizeof(seen), "no status within %d ms", ctx->timeout_ms);
      case_fail(res, "the stream ends with OK after the client half-closes", seen,
                "reflection %s did not end cleanly", refl_names[rs->version]);
    }
  }
  gclient_stream_close(rs->s);
  rs->s = NULL;
}

void cases_refl_describe(const refl_response *r, char *buf, size_t size) {
  switch (r->message_response_case) {
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE:
    snprintf(buf, size, "error_response code %d (%s)", r->error_response->error_code,
             r->error_response->error_message);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE:
    snprintf(buf, size, "list_services_response with %zu services",
             r->list_services_response->n_service);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE:
    snprintf(buf, size, "file_descriptor_response with %zu files",
             r->file_descriptor_response->n_file_descriptor_proto);
    break;
  default:
    snprintf(buf, size, "a response of kind %d", (int)r->message_response_case);
  }
}

void cases_refl_list_request(refl_request *req) {
  grpc__reflection__v1__server_reflection_request__init(req);
  req->message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
  req->list_services = "*";
}

void cases_refl_symbol_request(refl_request *req, const char *symbol) {
  grpc__reflection__v1__server_reflection_request__init(req);
  req->message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req->file_containing_symbol = (char *)symbol;
}

static int lists_health(const refl_response *r) {
  if (r->message_response_case !=
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE)
    return 0;
  for (size_t i = 0; i < r->list_services_response->n_service; i++)
    if (strcmp(r->list_services_response->service[i]->name, "grpc.health.v1.Health") == 0)
      return 1;
  return 0;
}

/* T29 */
void case_reflection_lists_health(const case_ctx *ctx, case_result *res) {
  refl_session rs = {0};
  refl_request req;
  refl_response *r = NULL;
  char seen[CASE_TEXT_MAX];
  if (cases_connect(ctx, res, &rs.gc) < 0)
    return;
  cases_refl_list_request(&req);
  if (refl_start(ctx, res, &rs, &req, &r) == 0) {
    cases_refl_describe(r, seen, sizeof(seen));
    if (lists_health(r))
      case_pass(res, "reflection %s lists grpc.health.v1.Health", refl_names[rs.version]);
    else
      case_fail(res, "list_services_response naming grpc.health.v1.Health", seen,
                "reflection %s does not list the Health service", refl_names[rs.version]);
    refl_finish(ctx, res, &rs);
  }
  cases_refl_free(r);
  gclient_stream_close(rs.s);
  gclient_close(rs.gc);
}

static const Google__Protobuf__MethodDescriptorProto *find_method(
    const Google__Protobuf__ServiceDescriptorProto *svc, const char *name) {
  for (size_t i = 0; i < svc->n_method; i++)
    if (svc->method[i]->name && strcmp(svc->method[i]->name, name) == 0)
      return svc->method[i];
  return NULL;
}

/* Checks the Health service in a decoded file; "" when right, else what
 * is wrong (static text). */
static const char *judge_health_file(const Google__Protobuf__FileDescriptorProto *fd,
                                     int list_served) {
  const Google__Protobuf__ServiceDescriptorProto *svc = NULL;
  for (size_t i = 0; i < fd->n_service; i++)
    if (fd->service[i]->name && strcmp(fd->service[i]->name, "Health") == 0)
      svc = fd->service[i];
  if (!svc)
    return "no service Health in the file";
  const Google__Protobuf__MethodDescriptorProto *check = find_method(svc, "Check");
  const Google__Protobuf__MethodDescriptorProto *watch = find_method(svc, "Watch");
  if (!check || !watch)
    return "Check or Watch missing";
  if (check->client_streaming || check->server_streaming)
    return "Check is not unary";
  if (!watch->server_streaming || watch->client_streaming)
    return "Watch is not marked server_streaming";
  if (list_served && !find_method(svc, "List"))
    return "List is served but missing from the descriptor";
  const char *types[] = {check->input_type, check->output_type, watch->input_type,
                         watch->output_type};
  const char *want[] = {".grpc.health.v1.HealthCheckRequest", ".grpc.health.v1.HealthCheckResponse",
                        ".grpc.health.v1.HealthCheckRequest",
                        ".grpc.health.v1.HealthCheckResponse"};
  for (size_t i = 0; i < 4; i++)
    if (!types[i] || strcmp(types[i], want[i]) != 0)
      return "method types are not .grpc.health.v1.*";
  return "";
}

static int list_is_served(const case_ctx *ctx, gclient *gc) {
  gclient_reply r;
  gclient_call(gc, HEALTH_LIST, (const uint8_t *)"", 0, ctx->timeout_ms, &r);
  int served = r.code != WIRE_CODE_UNIMPLEMENTED;
  gclient_reply_free(&r);
  return served;
}

const char *cases_refl_health_problem(const case_ctx *ctx, gclient *gc, const refl_response *r) {
  const Grpc__Reflection__V1__FileDescriptorResponse *f = r->file_descriptor_response;
  Google__Protobuf__FileDescriptorProto *fd;
  const char *why;

  if (r->message_response_case !=
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE)
    return "no file_descriptor_response";
  /* H-REFL-4: the first file declares the symbol. */
  if (f->n_file_descriptor_proto == 0)
    return "no file in package grpc.health.v1";
  fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->file_descriptor_proto[0].len,
                                                       f->file_descriptor_proto[0].data);
  if (!fd)
    return "the first FileDescriptorProto does not decode";
  if (!fd->package || strcmp(fd->package, "grpc.health.v1") != 0)
    why = "the first file's package is not grpc.health.v1";
  else
    why = judge_health_file(fd, list_is_served(ctx, gc));
  google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
  return why;
}

int cases_refl_v1alpha(const case_ctx *ctx, case_result *res, gclient *gc, const refl_request *req,
                       refl_response **out) {
  refl_session rs = {.gc = gc, .first = 1};
  int rc = refl_start(ctx, res, &rs, req, out);

  if (rc == -ENOTSUP) /* refl_start's SKIP: here v1alpha is required */
    case_fail(res, "reflection v1alpha served", "UNIMPLEMENTED",
              "reflection v1alpha is not served");
  if (rc == 0) {
    case_pass(res, "answered");
    refl_finish(ctx, res, &rs);
    if (res->outcome != OUTCOME_PASS) {
      cases_refl_free(*out);
      *out = NULL;
      rc = -EPROTO;
    }
  }
  gclient_stream_close(rs.s);
  return rc;
}

/* T30 */
void case_reflection_describes_health(const case_ctx *ctx, case_result *res) {
  refl_session rs = {0};
  refl_request req;
  refl_response *r = NULL;
  char seen[CASE_TEXT_MAX];
  if (cases_connect(ctx, res, &rs.gc) < 0)
    return;
  cases_refl_symbol_request(&req, "grpc.health.v1.Health");
  if (refl_start(ctx, res, &rs, &req, &r) == 0) {
    cases_refl_describe(r, seen, sizeof(seen));
    const char *why = cases_refl_health_problem(ctx, rs.gc, r);
    if (!why[0]) {
      case_pass(res, "reflection %s describes Health (Check unary, Watch server-streaming)",
                refl_names[rs.version]);
      refl_finish(ctx, res, &rs);
    } else {
      char detail[CASE_TEXT_MAX];
      snprintf(detail, sizeof(detail), "%.300s: %s", seen, why);
      case_fail(res, "the FileDescriptorProto of grpc/health/v1/health.proto", detail,
                "file_containing_symbol grpc.health.v1.Health (grpcurl needs it)");
    }
  }
  cases_refl_free(r);
  gclient_stream_close(rs.s);
  gclient_close(rs.gc);
}

/* T31: v1 served, or v1 UNIMPLEMENTED and v1alpha served. */
void case_reflection_version_fallback(const case_ctx *ctx, case_result *res) {
  refl_session rs = {0};
  refl_request req;
  refl_response *r = NULL;
  if (cases_connect(ctx, res, &rs.gc) < 0)
    return;
  cases_refl_list_request(&req);
  if (refl_start(ctx, res, &rs, &req, &r) == 0) {
    if (rs.version == 0)
      case_pass(res, "reflection v1 is served");
    else
      case_pass(res, "v1 answers UNIMPLEMENTED and v1alpha is served (grpcurl falls back)");
    refl_finish(ctx, res, &rs);
  }
  cases_refl_free(r);
  gclient_stream_close(rs.s);
  gclient_close(rs.gc);
}

/* T32: an unknown symbol gets an in-stream error_response NOT_FOUND and
 * the stream stays usable (H-REFL-5). */
void case_reflection_unknown_symbol(const case_ctx *ctx, case_result *res) {
  refl_session rs = {0};
  refl_request req;
  refl_response *r = NULL, *next = NULL;
  char symbol[CASES_NAME_MAX], seen[CASE_TEXT_MAX];
  if (cases_connect(ctx, res, &rs.gc) < 0)
    return;
  snprintf(symbol, sizeof(symbol), "hc.conformance.NoSuch%d", (int)strlen(ctx->target));
  cases_refl_symbol_request(&req, symbol);
  if (refl_start(ctx, res, &rs, &req, &r) == 0) {
    cases_refl_describe(r, seen, sizeof(seen));
    if (r->message_response_case !=
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE ||
        r->error_response->error_code != WIRE_CODE_NOT_FOUND) {
      case_fail(res, "error_response code 5 (NOT_FOUND)", seen, "unknown symbol %s", symbol);
    } else {
      cases_refl_list_request(&req);
      int rc = refl_ask(ctx, rs.s, &req, &next);
      if (rc == 0 &&
          next->message_response_case ==
              GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE) {
        case_pass(res, "error_response NOT_FOUND in-stream, and the stream stayed usable");
        refl_finish(ctx, res, &rs);
      } else {
        if (rc == 1)
          cases_stream_end(rs.s, seen, sizeof(seen));
        else if (rc == 0)
          cases_refl_describe(next, seen, sizeof(seen));
        else
          snprintf(seen, sizeof(seen), "no usable response");
        case_fail(res, "a list_services_response on the same stream", seen,
                  "the stream was not usable after an error_response");
      }
    }
  }
  cases_refl_free(r);
  cases_refl_free(next);
  gclient_stream_close(rs.s);
  gclient_close(rs.gc);
}
