/* cmocka tests for mock_executor/config.c: defaults, every flag, and each
 * bad flag rejected with a message naming it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "wire.h"

#define ARGV(...) ((char *[]){"mock-executor", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"mock-executor", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...) \
  config_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cfg), (err), sizeof(err))

static void defaults__grpc_on_a_free_port_no_admin(void **state) {
  char *argv[] = {"mock-executor", NULL};
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(config_parse(1, argv, &cfg, err, sizeof(err)), CONFIG_RUN);
  assert_string_equal(cfg.host, "0.0.0.0");
  assert_int_equal(cfg.n_listeners, 1);
  assert_int_equal(cfg.listeners[0].port, 0);
  assert_int_equal(cfg.listeners[0].protocol, CONFIG_PROTOCOL_GRPC);
  assert_int_equal(cfg.admin_port, -1);
  assert_string_equal(cfg.admin_host, "127.0.0.1");
  assert_int_equal(cfg.list_limit, 100);
  assert_int_equal(cfg.cq_threads, 1);
  assert_int_equal(cfg.n_statuses, 0);
  config_free(&cfg);
}

static void flags__every_value_is_stored(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--port", "12346", "--host", "127.0.0.1", "--admin-port=0",
                         "--admin-host", "::1", "--list-limit", "7", "--cq-threads", "2"),
                   CONFIG_RUN);
  assert_int_equal(cfg.listeners[0].port, 12346);
  assert_string_equal(cfg.host, "127.0.0.1");
  assert_int_equal(cfg.admin_port, 0);
  assert_string_equal(cfg.admin_host, "::1");
  assert_int_equal(cfg.list_limit, 7);
  assert_int_equal(cfg.cq_threads, 2);
  config_free(&cfg);
}

static void status__plain_sets_empty_name_named_sets_name(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--status", "not_serving", "--status", "foo=SERVING",
                         "--status=a=b=3", "--status", "=0"),
                   CONFIG_RUN);
  assert_int_equal(cfg.n_statuses, 4);
  assert_string_equal(cfg.statuses[0].name, "");
  assert_int_equal(cfg.statuses[0].status, WIRE_NOT_SERVING);
  assert_string_equal(cfg.statuses[1].name, "foo");
  assert_int_equal(cfg.statuses[1].status, WIRE_SERVING);
  assert_string_equal(cfg.statuses[2].name, "a=b"); /* split at the last '=' */
  assert_int_equal(cfg.statuses[2].status, WIRE_SERVICE_UNKNOWN);
  assert_string_equal(cfg.statuses[3].name, "");
  assert_int_equal(cfg.statuses[3].status, WIRE_UNKNOWN);
  config_free(&cfg);
}

static void port__several_values_make_several_listeners(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--port", "1", "2", "0", "--protocol", "grpc"), CONFIG_RUN);
  assert_int_equal(cfg.n_listeners, 3);
  assert_int_equal(cfg.listeners[1].port, 2);
  assert_int_equal(cfg.listeners[2].protocol, CONFIG_PROTOCOL_GRPC);
  config_free(&cfg);
  assert_int_equal(PARSE(&cfg, err, "--protocol", "grpc", "grpc", "--port", "1", "2"),
                   CONFIG_RUN);
  assert_int_equal(cfg.n_listeners, 2);
  config_free(&cfg);
}

static void help_and_version(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--help"), CONFIG_HELP);
  assert_int_equal(PARSE(&cfg, err, "-h"), CONFIG_HELP);
  assert_int_equal(PARSE(&cfg, err, "--port", "1", "--version"), CONFIG_VERSION);
  assert_int_equal(PARSE(&cfg, err, "-V"), CONFIG_VERSION);
  config_free(&cfg);
}

/* Each bad command line fails with -EINVAL and a message containing `names`. */
static void expect_error(int argc, char **argv, const char *names) {
  char err[200];
  config cfg;

  assert_int_equal(config_parse(argc, argv, &cfg, err, sizeof(err)), -EINVAL);
  if (!strstr(err, names))
    fail_msg("error '%s' does not name '%s'", err, names);
  assert_null(cfg.statuses); /* nothing left to free */
}
#define EXPECT_ERROR(names, ...) expect_error(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), names)

static void bad_flags__each_is_named(void **state) {
  (void)state;
  EXPECT_ERROR("--port", "--port", "abc");
  EXPECT_ERROR("--port", "--port", "65536");
  EXPECT_ERROR("--port", "--port", "-1");
  EXPECT_ERROR("--port", "--port");
  EXPECT_ERROR("--port", "--port", "5", "5");
  EXPECT_ERROR("--port", "--port=");
  EXPECT_ERROR("--admin-port", "--admin-port", "x1");
  EXPECT_ERROR("--admin-port", "--admin-port");
  EXPECT_ERROR("--host", "--host");
  EXPECT_ERROR("--host", "--host", "");
  EXPECT_ERROR("--admin-host", "--admin-host=");
  EXPECT_ERROR("--status", "--status", "SLEEPY");
  EXPECT_ERROR("--status", "--status", "foo=4");
  EXPECT_ERROR("--status", "--status", "foo=");
  EXPECT_ERROR("--status", "--status");
  EXPECT_ERROR("--list-limit", "--list-limit", "many");
  EXPECT_ERROR("--list-limit", "--list-limit", "-5");
  EXPECT_ERROR("--cq-threads", "--cq-threads", "0");
  EXPECT_ERROR("--cq-threads", "--cq-threads", "99");
  EXPECT_ERROR("--protocol", "--protocol", "http");
  EXPECT_ERROR("--protocol", "--port", "1", "2", "3", "--protocol", "grpc", "grpc");
  EXPECT_ERROR("--protocol", "--protocol");
  EXPECT_ERROR("--bogus", "--bogus");
  EXPECT_ERROR("--bogus", "--bogus=1");
  EXPECT_ERROR("-x", "-x");
  EXPECT_ERROR("stray", "stray");
  EXPECT_ERROR("--help", "--help=yes");
}

static void bad_flag__after_a_status_frees_it(void **state) {
  (void)state;
  EXPECT_ERROR("--port", "--status", "foo=SERVING", "--port", "x");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults__grpc_on_a_free_port_no_admin),
      cmocka_unit_test(flags__every_value_is_stored),
      cmocka_unit_test(status__plain_sets_empty_name_named_sets_name),
      cmocka_unit_test(port__several_values_make_several_listeners),
      cmocka_unit_test(help_and_version),
      cmocka_unit_test(bad_flags__each_is_named),
      cmocka_unit_test(bad_flag__after_a_status_frees_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
