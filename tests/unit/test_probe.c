/*
 * test_probe: grpc_health_probe's exit codes for each gRPC outcome and
 * HTTP status, the JSON content-type check, and --spawn's placeholders.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../conformance/http_client.h" /* tests/unit has its own http_client.h */
#include "probe.h"
#include "spawner.h"
#include "wire.h"

static void test_grpc_exit_codes(void **state) {
  (void)state;
  assert_int_equal(probe_grpc_exit(WIRE_CODE_OK, WIRE_SERVING), PROBE_EXIT_SERVING);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_OK, WIRE_NOT_SERVING), PROBE_EXIT_UNHEALTHY);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_OK, WIRE_UNKNOWN), PROBE_EXIT_UNHEALTHY);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_OK, WIRE_SERVICE_UNKNOWN), PROBE_EXIT_UNHEALTHY);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_OK, -1), PROBE_EXIT_RPC); /* no or bad message */
  assert_int_equal(probe_grpc_exit(WIRE_CODE_NOT_FOUND, -1), PROBE_EXIT_RPC);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_UNIMPLEMENTED, -1), PROBE_EXIT_RPC);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_DEADLINE_EXCEEDED, -1), PROBE_EXIT_RPC);
  assert_int_equal(probe_grpc_exit(WIRE_CODE_UNAVAILABLE, -1), PROBE_EXIT_CONNECT);
}

static void test_http_exit_codes(void **state) {
  (void)state;
  assert_int_equal(probe_http_exit(0, 0), PROBE_EXIT_CONNECT);
  assert_int_equal(probe_http_exit(1, 200), PROBE_EXIT_SERVING);
  assert_int_equal(probe_http_exit(1, 204), PROBE_EXIT_SERVING);
  assert_int_equal(probe_http_exit(1, 399), PROBE_EXIT_SERVING); /* kubelet: < 400 */
  assert_int_equal(probe_http_exit(1, 400), PROBE_EXIT_UNHEALTHY);
  assert_int_equal(probe_http_exit(1, 503), PROBE_EXIT_UNHEALTHY);
  assert_int_equal(probe_http_exit(1, 199), PROBE_EXIT_UNHEALTHY);
}

static void test_json_content_type(void **state) {
  (void)state;
  assert_true(hclient_is_json_type("application/json"));
  assert_true(hclient_is_json_type("Application/JSON; charset=utf-8"));
  assert_true(hclient_is_json_type("application/problem+json"));
  assert_false(hclient_is_json_type("text/html"));
  assert_false(hclient_is_json_type("application/jsonx"));
  assert_false(hclient_is_json_type(""));
}

static void test_spawn_expand(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(spawner_expand("mock --port {port} --admin-port {control_port}", 5000, 5001, out,
                                  sizeof(out)),
                   0);
  assert_string_equal(out, "mock --port 5000 --admin-port 5001");
  assert_int_equal(spawner_expand("mock --port 1", 5000, 0, out, sizeof(out)), -EINVAL);
  assert_int_equal(spawner_expand("{port}{port}{port}{port}{port}{port}{port}{port}{port}{port}"
                                  "{port}{port}{port}",
                                  50000, 0, out, sizeof(out)),
                   -ENAMETOOLONG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grpc_exit_codes),
      cmocka_unit_test(test_http_exit_codes),
      cmocka_unit_test(test_json_content_type),
      cmocka_unit_test(test_spawn_expand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
