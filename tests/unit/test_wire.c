/* cmocka tests for proto/wire.c: names, prefix, messages, descriptors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "wire.h"

static void status_parse__names_any_case_and_digits(void **state) {
  int s = -1;
  (void)state;
  assert_int_equal(wire_status_parse("serving", &s), 0);
  assert_int_equal(s, WIRE_SERVING);
  assert_int_equal(wire_status_parse("Not_Serving", &s), 0);
  assert_int_equal(s, WIRE_NOT_SERVING);
  assert_int_equal(wire_status_parse("SERVICE_UNKNOWN", &s), 0);
  assert_int_equal(s, WIRE_SERVICE_UNKNOWN);
  assert_int_equal(wire_status_parse("0", &s), 0);
  assert_int_equal(s, WIRE_UNKNOWN);
  assert_int_equal(wire_status_parse("3", &s), 0);
  assert_int_equal(s, 3);
}

static void status_parse__bad_input_rejected_untouched(void **state) {
  const char *bad[] = {"", "4", "-1", "1x", " SERVING", "SERVINGX", "99999999999", "+1"};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int s = 42;
    assert_int_equal(wire_status_parse(bad[i], &s), -EINVAL);
    assert_int_equal(s, 42);
  }
  assert_int_equal(wire_status_parse(NULL, &(int){0}), -EINVAL);
}

static void status_name__round_trip_and_invalid(void **state) {
  (void)state;
  for (int i = 0; i <= WIRE_STATUS_MAX; i++) {
    int back;
    assert_int_equal(wire_status_parse(wire_status_name(i), &back), 0);
    assert_int_equal(back, i);
  }
  assert_string_equal(wire_status_name(4), "INVALID");
  assert_string_equal(wire_status_name(-1), "INVALID");
}

static void code_names__parse_and_name(void **state) {
  int c;
  (void)state;
  assert_string_equal(wire_code_name(WIRE_CODE_NOT_FOUND), "NOT_FOUND");
  assert_string_equal(wire_code_name(WIRE_CODE_UNIMPLEMENTED), "UNIMPLEMENTED");
  assert_null(wire_code_name(17));
  assert_int_equal(wire_code_parse("resource_exhausted", &c), 0);
  assert_int_equal(c, WIRE_CODE_RESOURCE_EXHAUSTED);
  assert_int_equal(wire_code_parse("16", &c), 0);
  assert_int_equal(c, 16);
  assert_int_equal(wire_code_parse("17", &c), -EINVAL);
}

static void prefix__write_read(void **state) {
  uint8_t b[WIRE_PREFIX_LEN];
  int comp;
  uint32_t len;
  (void)state;
  wire_prefix_write(b, 0, 0x01020304u);
  assert_memory_equal(b, "\x00\x01\x02\x03\x04", 5);
  assert_int_equal(wire_prefix_read(b, 5, &comp, &len), 0);
  assert_int_equal(comp, 0);
  assert_int_equal(len, 0x01020304u);
  assert_int_equal(wire_prefix_read(b, 4, &comp, &len), -EAGAIN);
  wire_prefix_write(b, 1, 0xffffffffu); /* a 4 GiB claim must parse, not wrap */
  assert_int_equal(wire_prefix_read(b, 5, &comp, &len), 0);
  assert_int_equal(comp, 1);
  assert_int_equal(len, 0xffffffffu);
}

static void check_request__zero_bytes_is_empty_name(void **state) {
  char *svc = NULL;
  (void)state;
  /* H-CHECK-8: every standard probe sends a 0-byte request. */
  assert_int_equal(wire_check_request_decode((const uint8_t *)"", 0, &svc), 0);
  assert_string_equal(svc, "");
  free(svc);
  /* H-CHECK-8: explicit empty field 0a 00. */
  assert_int_equal(wire_check_request_decode((const uint8_t *)"\x0a\x00", 2, &svc), 0);
  assert_string_equal(svc, "");
  free(svc);
}

static void check_request__unknown_field_ignored(void **state) {
  char *svc = NULL;
  (void)state;
  /* H-CHECK-9 (T09): 0a 01 78 then unknown field 2 varint 1. */
  assert_int_equal(wire_check_request_decode((const uint8_t *)"\x0a\x01x\x10\x01", 5, &svc), 0);
  assert_string_equal(svc, "x");
  free(svc);
}

static void check_request__garbage_rejected(void **state) {
  char *svc = NULL;
  (void)state;
  /* Length 5 with 1 byte behind it. */
  assert_int_equal(wire_check_request_decode((const uint8_t *)"\x0a\x05x", 3, &svc), -EBADMSG);
  assert_null(svc);
}

static void check_request__encode_round_trip(void **state) {
  uint8_t *buf;
  size_t len;
  char *svc;
  (void)state;
  assert_int_equal(wire_check_request_encode("foo", &buf, &len), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf,
                      "\x0a\x03"
                      "foo",
                      5);
  assert_int_equal(wire_check_request_decode(buf, len, &svc), 0);
  assert_string_equal(svc, "foo");
  free(svc);
  free(buf);
  assert_int_equal(wire_check_request_encode("", &buf, &len), 0);
  assert_int_equal(len, 0);
  free(buf);
}

static void check_response__encodings_from_reference(void **state) {
  uint8_t out[WIRE_RESPONSE_MAX];
  int st;
  (void)state;
  assert_int_equal(wire_check_response_encode(WIRE_SERVING, out), 2);
  assert_memory_equal(out, "\x08\x01", 2);
  assert_int_equal(wire_check_response_encode(WIRE_SERVICE_UNKNOWN, out), 2);
  assert_memory_equal(out, "\x08\x03", 2);
  assert_int_equal(wire_check_response_encode(WIRE_UNKNOWN, out), 0);
  assert_int_equal(wire_check_response_encode(4, out), -EINVAL);
  assert_int_equal(wire_check_response_decode((const uint8_t *)"\x08\x02", 2, &st), 0);
  assert_int_equal(st, WIRE_NOT_SERVING);
  assert_int_equal(wire_check_response_decode((const uint8_t *)"", 0, &st), 0);
  assert_int_equal(st, WIRE_UNKNOWN);
  assert_int_equal(wire_check_response_decode((const uint8_t *)"\x08", 1, &st), -EBADMSG);
}

static void descriptors__health_file_decodes_with_streaming_watch(void **state) {
  const wire_file *f = wire_file_by_name("grpc/health/v1/health.proto");
  Google__Protobuf__FileDescriptorProto *fd;
  int saw_watch = 0;
  (void)state;
  assert_non_null(f);
  fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->len, f->data);
  assert_non_null(fd);
  assert_string_equal(fd->name, "grpc/health/v1/health.proto");
  assert_string_equal(fd->package, "grpc.health.v1");
  assert_int_equal(fd->n_dependency, 0);
  assert_int_equal(fd->n_service, 1);
  assert_string_equal(fd->service[0]->name, "Health");
  assert_int_equal(fd->service[0]->n_method, 3);
  for (size_t i = 0; i < fd->service[0]->n_method; i++) {
    const Google__Protobuf__MethodDescriptorProto *m = fd->service[0]->method[i];
    if (strcmp(m->name, "Watch") == 0) {
      saw_watch = 1;
      assert_true(m->has_server_streaming && m->server_streaming);
    }
  }
  assert_true(saw_watch);
  google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
}

static void descriptors__symbols_resolve_to_their_file(void **state) {
  const wire_file *health = wire_file_by_name("grpc/health/v1/health.proto");
  const wire_file *refl = wire_file_by_name("grpc/reflection/v1alpha/reflection.proto");
  const char *in_health[] = {"grpc.health.v1.Health",
                             ".grpc.health.v1.Health",
                             "grpc.health.v1.Health.Watch",
                             "grpc.health.v1.HealthCheckRequest",
                             "grpc.health.v1.HealthCheckResponse.ServingStatus",
                             "grpc.health.v1.HealthListResponse.StatusesEntry"};
  size_t n;
  (void)state;
  assert_non_null(refl);
  for (size_t i = 0; i < sizeof(in_health) / sizeof(in_health[0]); i++)
    assert_ptr_equal(wire_file_containing_symbol(in_health[i]), health);
  assert_ptr_equal(wire_file_containing_symbol("grpc.reflection.v1alpha.ServerReflection"), refl);
  assert_null(wire_file_containing_symbol("grpc.health.v1"));
  assert_null(wire_file_containing_symbol("grpc.health.v1.Bogus"));
  assert_null(wire_file_containing_symbol(""));
  assert_null(wire_file_by_name("health.proto"));
  assert_non_null(wire_files(&n));
  assert_int_equal(n, 3);
}

/* ---- out of memory (failmalloc.h): the error returned, nothing changed ---- */

static void oom_request_step(void *arg) {
  uint8_t *buf = NULL;
  size_t len = 99;
  char *service = NULL;
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = wire_check_request_encode("svc", &buf, &len);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(buf);
    assert_int_equal(len, 99);
    return;
  }
  assert_int_equal(rc, 0);
  failmalloc_begin();
  rc = wire_check_request_decode(buf, len, &service);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(service);
  } else {
    assert_int_equal(rc, 0);
    assert_string_equal(service, "svc");
    free(service);
  }
  free(buf);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_int_equal(failmalloc_run(oom_request_step, NULL), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(status_parse__names_any_case_and_digits),
      cmocka_unit_test(status_parse__bad_input_rejected_untouched),
      cmocka_unit_test(status_name__round_trip_and_invalid),
      cmocka_unit_test(code_names__parse_and_name),
      cmocka_unit_test(prefix__write_read),
      cmocka_unit_test(check_request__zero_bytes_is_empty_name),
      cmocka_unit_test(check_request__unknown_field_ignored),
      cmocka_unit_test(check_request__garbage_rejected),
      cmocka_unit_test(check_request__encode_round_trip),
      cmocka_unit_test(check_response__encodings_from_reference),
      cmocka_unit_test(descriptors__health_file_decodes_with_streaming_watch),
      cmocka_unit_test(descriptors__symbols_resolve_to_their_file),
  };
  return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
