/* cmocka tests for mock_executor/reflection.c: one request in, one
 * response out, original_request echoed, lookups failing in-stream. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "jina.h"
#include "reflection.h"
#include "wire.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

/* Packs `req`, answers it listing `services` (NULL: ours) and unpacks the
 * answer (caller frees). */
static response *ask_listing(request *req, const char *const *services) {
  size_t len = grpc__reflection__v1__server_reflection_request__get_packed_size(req);
  uint8_t *buf = malloc(len ? len : 1);
  uint8_t *out;
  size_t out_len;
  response *res;

  grpc__reflection__v1__server_reflection_request__pack(req, buf);
  assert_int_equal(reflection_answer_faults(NULL, services, buf, len, &out, &out_len), 0);
  free(buf);
  res = grpc__reflection__v1__server_reflection_response__unpack(NULL, out_len, out);
  free(out);
  assert_non_null(res);
  assert_non_null(res->original_request); /* set in every response */
  assert_int_equal(res->original_request->message_request_case, req->message_request_case);
  return res;
}

static response *ask(request *req) { return ask_listing(req, NULL); }

/* list_services answered with `services` listed (NULL: ours) names
 * exactly want[0..n), in order. */
static void expect_list(const char *const *services, const char *const *want, size_t n) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  response *res;

  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
  req.list_services = "*";
  res = ask_listing(&req, services);
  assert_int_equal(
      res->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
  assert_int_equal(res->list_services_response->n_service, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(res->list_services_response->service[i]->name, want[i]);
  grpc__reflection__v1__server_reflection_response__free_unpacked(res, NULL);
}

static void list_services__names_health_and_both_reflections(void **state) {
  static const char *const ours[] = {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                                     "grpc.reflection.v1alpha.ServerReflection"};

  (void)state;
  expect_list(NULL, ours, 3);
}

/* --profile jina: the Executor's names, in order, and the Health symbol
 * still resolves though it is not listed (J-REFL-1, J-REFL-2). */
static void list_services__jina_list_and_health_still_resolves(void **state) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  response *res;

  (void)state;
  expect_list(jina_services, jina_services, jina_service_count());
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = "grpc.health.v1.Health";
  res = ask_listing(&req, jina_services);
  assert_int_equal(
      res->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
  grpc__reflection__v1__server_reflection_response__free_unpacked(res, NULL);
}

static void symbol__health_gives_the_health_file(void **state) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  const wire_file *f = wire_file_by_name("grpc/health/v1/health.proto");
  response *res;

  (void)state;
  assert_non_null(f);
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = "grpc.health.v1.Health";
  res = ask(&req);
  assert_int_equal(
      res->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
  assert_int_equal(res->file_descriptor_response->n_file_descriptor_proto, 1);
  assert_int_equal(res->file_descriptor_response->file_descriptor_proto[0].len, f->len);
  assert_memory_equal(res->file_descriptor_response->file_descriptor_proto[0].data, f->data,
                      f->len);
  grpc__reflection__v1__server_reflection_response__free_unpacked(res, NULL);
}

static void unknown_symbol_and_file__error_response_not_found(void **state) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  response *res;

  (void)state;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = "no.such.Thing";
  res = ask(&req);
  assert_int_equal(
      res->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
  assert_int_equal(res->error_response->error_code, WIRE_CODE_NOT_FOUND);
  assert_non_null(strstr(res->error_response->error_message, "no.such.Thing"));
  grpc__reflection__v1__server_reflection_response__free_unpacked(res, NULL);

  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
  req.file_by_filename = "nope.proto";
  res = ask(&req);
  assert_int_equal(res->error_response->error_code, WIRE_CODE_NOT_FOUND);
  grpc__reflection__v1__server_reflection_response__free_unpacked(res, NULL);
}

static void undecodable_request__ebadmsg(void **state) {
  const uint8_t junk[] = {0xff, 0xff, 0xff};
  uint8_t *out = NULL;
  size_t len;

  (void)state;
  assert_int_equal(reflection_answer(junk, sizeof(junk), &out, &len), -EBADMSG);
  assert_null(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(list_services__names_health_and_both_reflections),
      cmocka_unit_test(list_services__jina_list_and_health_still_resolves),
      cmocka_unit_test(symbol__health_gives_the_health_file),
      cmocka_unit_test(unknown_symbol_and_file__error_response_not_found),
      cmocka_unit_test(undecodable_request__ebadmsg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
