/*
 * cases_reflection_internal: what cases_reflection.c (T29-T32) shares with
 * the Jina cases (cases_jina.c, J-REFL-*): requests, one exchange over
 * reflection v1alpha alone, and the judging of the Health descriptor. Not
 * part of the catalogue contract. Thread-safe (no state); a gclient may be
 * shared, as grpc_client.h says.
 */
#ifndef HC_CASES_REFLECTION_INTERNAL_H
#define HC_CASES_REFLECTION_INTERNAL_H

#include <stddef.h>

#include "catalogue.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc_client.h"

/* v1 and v1alpha share field numbers: the v1 types encode both. */
typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;

/* list_services "*"; file_containing_symbol `symbol` (borrowed). */
void cases_refl_list_request(refl_request *req);
void cases_refl_symbol_request(refl_request *req, const char *symbol);

/* Asks `req` on a v1alpha stream (v1 not tried, as a Jina Executor serves
 * v1alpha only), then half-closes and expects OK. 0 with *out (free it
 * with cases_refl_free) and res PASS; otherwise res is FAIL (v1alpha
 * UNIMPLEMENTED included) and *out NULL. */
int cases_refl_v1alpha(const case_ctx *ctx, case_result *res, gclient *gc, const refl_request *req,
                       refl_response **out);

/* "" when r is the file_descriptor_response of grpc/health/v1/health.proto
 * (H-REFL-4: the first file; Check unary, Watch server-streaming, List
 * there if served), else what is wrong (static text). */
const char *cases_refl_health_problem(const case_ctx *ctx, gclient *gc, const refl_response *r);

/* One line: "list_services_response with 7 services", ... */
void cases_refl_describe(const refl_response *r, char *buf, size_t size);

void cases_refl_free(refl_response *r); /* safe with NULL */

#endif
