/* cmocka tests for mock_executor/config.c: defaults, every flag, and each
 * bad flag rejected with a message naming it. */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "failmalloc.h"
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
  assert_int_equal(cfg.cq_threads, 4);
  assert_int_equal(cfg.busy_poll_us, 50);
  assert_int_equal(cfg.n_statuses, 0);
  config_free(&cfg);
}

static void flags__every_value_is_stored(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(
      PARSE(&cfg, err, "--port", "12346", "--host", "127.0.0.1", "--admin-port=0", "--admin-host",
            "::1", "--list-limit", "7", "--cq-threads", "2", "--busy-poll-us", "0"),
      CONFIG_RUN);
  assert_int_equal(cfg.listeners[0].port, 12346);
  assert_string_equal(cfg.host, "127.0.0.1");
  assert_int_equal(cfg.admin_port, 0);
  assert_string_equal(cfg.admin_host, "::1");
  assert_int_equal(cfg.list_limit, 7);
  assert_int_equal(cfg.cq_threads, 2);
  assert_int_equal(cfg.busy_poll_us, 0);
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
  assert_int_equal(PARSE(&cfg, err, "--protocol", "grpc", "grpc", "--port", "1", "2"), CONFIG_RUN);
  assert_int_equal(cfg.n_listeners, 2);
  assert_int_equal(cfg.listeners[1].engine, CONFIG_ENGINE_CORE);
  assert_false(cfg.engine_given);
  config_free(&cfg);
  /* --engine pairs with the ports as --protocol does. */
  assert_int_equal(PARSE(&cfg, err, "--port", "1", "2", "--engine", "core", "wire"), CONFIG_RUN);
  assert_int_equal(cfg.listeners[0].engine, CONFIG_ENGINE_CORE);
  assert_int_equal(cfg.listeners[1].engine, CONFIG_ENGINE_WIRE);
  assert_true(cfg.engine_given);
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
  EXPECT_ERROR("--busy-poll-us", "--busy-poll-us", "1001");
  EXPECT_ERROR("--busy-poll-us", "--busy-poll-us", "-1");
  EXPECT_ERROR("--protocol", "--protocol", "smtp");
  EXPECT_ERROR("--protocol", "--port", "1", "2", "3", "--protocol", "grpc", "grpc");
  EXPECT_ERROR("--protocol", "--protocol");
  EXPECT_ERROR("--engine", "--engine", "h3");
  EXPECT_ERROR("--engine", "--port", "1", "2", "3", "--engine", "wire", "core");
  EXPECT_ERROR("--bogus", "--bogus");
  EXPECT_ERROR("--bogus", "--bogus=1");
  EXPECT_ERROR("-x", "-x");
  EXPECT_ERROR("stray", "stray");
  EXPECT_ERROR("--help", "--help=yes");
  EXPECT_ERROR("--timeline", "--timeline", "BOGUS:1s");
  EXPECT_ERROR("--timeline", "--timeline", "foo=SERVING:1s,NOT_SERVING", "--repeat");
  EXPECT_ERROR("--load-time", "--load-time", "soon");
  EXPECT_ERROR("--ready-delay", "--ready-delay", "-1s");
  EXPECT_ERROR("--grace", "--grace", "1h");
  EXPECT_ERROR("--drain-watch", "--drain-watch", "maybe");
  EXPECT_ERROR("--http-code", "--http-code", "NOT_SERVING");
  EXPECT_ERROR("--http-code", "--http-code", "NOT_SERVING=99");
  EXPECT_ERROR("--http-code", "--http-code", "SLEEPY=500");
  EXPECT_ERROR("--journal-size", "--journal-size", "lots");
  EXPECT_ERROR("--admin-token", "--admin-token", "");
  EXPECT_ERROR("--violate", "--violate", "no-such-knob");
  EXPECT_ERROR("--repeat", "--repeat=1");
  EXPECT_ERROR("--config", "--config", "/nonexistent/mock.yaml");
}

/* A value given to a switch (--flag=VALUE, even empty) is refused, naming
 * the switch, not dropped; a short switch has no =VALUE form. */
static void switches__a_value_is_refused(void **state) {
  (void)state;
  EXPECT_ERROR("--repeat takes no value", "--repeat=1");
  EXPECT_ERROR("--repeat takes no value", "--timeline", "SERVING:1s", "--repeat=");
  EXPECT_ERROR("--admin-insecure takes no value", "--admin-insecure=yes");
  EXPECT_ERROR("--print-config takes no value", "--print-config=x");
  EXPECT_ERROR("--list-violations takes no value", "--list-violations=x");
  EXPECT_ERROR("--help takes no value", "--help=x");
  EXPECT_ERROR("--version takes no value", "--version=x");
  EXPECT_ERROR("unknown option '-h=x'", "-h=x");
  EXPECT_ERROR("unknown option '-Vx'", "-Vx");
}

static void issue3_flags__stored(void **state) {
  char err[200];
  config cfg;

  (void)state;
  assert_int_equal(
      PARSE(&cfg, err, "--port", "1", "--port", "2", "--protocol", "http", "grpc", "--timeline",
            "NOT_SERVING:1s,SERVING", "--timeline=x=SERVING:2s", "--load-time", "3s",
            "--ready-delay", "250ms", "--grace", "2s", "--drain-watch", "keep", "--http-code",
            "NOT_SERVING=500", "--journal-size", "5", "--admin-token", "t", "--admin-insecure",
            "--violate", "watch-duplicates"),
      CONFIG_RUN);
  assert_int_equal(cfg.n_listeners, 2);
  assert_int_equal(cfg.listeners[0].protocol, CONFIG_PROTOCOL_HTTP);
  assert_int_equal(cfg.listeners[1].port, 2);
  assert_int_equal(cfg.listeners[1].protocol, CONFIG_PROTOCOL_GRPC);
  assert_int_equal(cfg.n_timelines, 2);
  assert_string_equal(cfg.timelines[0].name, "");
  assert_string_equal(cfg.timelines[1].name, "x");
  assert_string_equal(cfg.timelines[1].spec, "SERVING:2s");
  assert_int_equal(cfg.load_time_ms, 3000);
  assert_int_equal(cfg.ready_delay_ms, 250);
  assert_int_equal(cfg.grace_ms, 2000);
  assert_int_equal(cfg.drain_watch, CONFIG_DRAIN_KEEP);
  assert_int_equal(cfg.http_codes[WIRE_NOT_SERVING], 500);
  assert_int_equal(cfg.journal_size, 5);
  assert_string_equal(cfg.admin_token, "t");
  assert_true(cfg.admin_insecure);
  assert_true(cfg.violate[VIOLATE_WATCH_DUPLICATES]);
  config_free(&cfg);
  assert_int_equal(PARSE(&cfg, err, "--list-violations"), CONFIG_LIST_VIOLATIONS);
}

static void bad_flag__after_a_status_frees_it(void **state) {
  (void)state;
  EXPECT_ERROR("--port", "--status", "foo=SERVING", "--port", "x");
}

/* Writes `text` to a temp file; returns its malloc'd path. */
static char *temp_yaml(const char *text) {
  char *path = strdup("/tmp/hc-mock-config-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void config_file__loaded_then_flags_override(void **state) {
  char err[300];
  config cfg;
  char *path = temp_yaml(
      "port: [5, 6]\nprotocol: [http, grpc]\nstatus: {\"\": NOT_SERVING}\n"
      "list_limit: 7\nrepeat: true\ntimeline: {\"\": \"SERVING:1s,NOT_SERVING:1s\"}\n");
  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--config", path), CONFIG_RUN);
  assert_int_equal(cfg.n_listeners, 2);
  assert_int_equal(cfg.listeners[0].protocol, CONFIG_PROTOCOL_HTTP);
  assert_int_equal(cfg.list_limit, 7);
  assert_true(cfg.repeat);
  assert_int_equal(cfg.statuses[0].status, WIRE_NOT_SERVING);
  config_free(&cfg);
  /* Flags win; a command-line --port replaces the file's ports and their protocols. */
  assert_int_equal(PARSE(&cfg, err, "--list-limit", "9", "--config", path, "--port", "8"),
                   CONFIG_RUN);
  assert_int_equal(cfg.list_limit, 9);
  assert_int_equal(cfg.n_listeners, 1);
  assert_int_equal(cfg.listeners[0].port, 8);
  assert_int_equal(cfg.listeners[0].protocol, CONFIG_PROTOCOL_GRPC);
  config_free(&cfg);
  unlink(path);
  free(path);
}

static void config_file__bad_value_names_file_line_key(void **state) {
  char err[300], want[300];
  config cfg;
  char *path = temp_yaml("host: 127.0.0.1\nlist_limit: lots\n");
  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--config", path), -EINVAL);
  snprintf(want, sizeof(want), "%s:2: list_limit: --list-limit: 'lots'", path);
  if (!strstr(err, want))
    fail_msg("'%s' lacks '%s'", err, want);
  unlink(path);
  free(path);
  path = temp_yaml("help: true\n");
  assert_int_equal(PARSE(&cfg, err, "--config", path), -EINVAL);
  assert_non_null(strstr(err, "unknown key 'help'"));
  unlink(path);
  free(path);
}

static void print_config__round_trips(void **state) {
  char err[300], *first = NULL, *second = NULL, *path;
  size_t n1 = 0, n2 = 0;
  config cfg;
  FILE *f;
  (void)state;
  assert_int_equal(PARSE(&cfg, err, "--port", "1", "2", "--protocol", "http", "grpc", "--status",
                         "foo=NOT_SERVING", "--status", "foo=SERVING", "--timeline",
                         "NOT_SERVING:1s,SERVING", "--http-code", "NOT_SERVING=500", "--violate",
                         "watch-duplicates", "--admin-port", "0", "--grace", "1.5s"),
                   CONFIG_RUN);
  f = open_memstream(&first, &n1);
  assert_int_equal(config_print(&cfg, f), 0);
  fclose(f);
  config_free(&cfg);
  path = temp_yaml(first);
  assert_int_equal(PARSE(&cfg, err, "--config", path), CONFIG_RUN);
  f = open_memstream(&second, &n2);
  assert_int_equal(config_print(&cfg, f), 0);
  fclose(f);
  config_free(&cfg);
  assert_string_equal(first, second);
  assert_non_null(strstr(first, "foo: SERVING"));
  assert_null(strstr(first, "foo: NOT_SERVING"));
  unlink(path);
  free(path);
  free(first);
  free(second);
}

static void ssl_flags__stored_printed_and_read_back(void **state) {
  char err[300], *text = NULL, *path;
  size_t n = 0;
  config cfg;
  FILE *f;

  (void)state;
  assert_int_equal(
      PARSE(&cfg, err, "--ssl-certfile", "c.pem", "--ssl-keyfile=k.pem", "--ssl-ca", "ca.pem"),
      CONFIG_RUN);
  assert_string_equal(cfg.ssl_certfile, "c.pem");
  assert_string_equal(cfg.ssl_keyfile, "k.pem");
  assert_string_equal(cfg.ssl_ca, "ca.pem");
  f = open_memstream(&text, &n);
  assert_int_equal(config_print(&cfg, f), 0);
  fclose(f);
  config_free(&cfg);
  assert_non_null(strstr(text, "ssl_certfile: c.pem"));
  assert_non_null(strstr(text, "ssl_ca: ca.pem"));
  path = temp_yaml(text); /* the YAML keys follow the table */
  assert_int_equal(PARSE(&cfg, err, "--config", path), CONFIG_RUN);
  assert_string_equal(cfg.ssl_keyfile, "k.pem");
  config_free(&cfg);
  unlink(path);
  free(path);
  free(text);
  assert_int_equal(PARSE(&cfg, err, "--port", "1"), CONFIG_RUN);
  assert_null(cfg.ssl_certfile); /* plaintext by default */
  assert_null(cfg.ssl_ca);
  config_free(&cfg);
}

static void ssl_flags__both_or_neither(void **state) {
  (void)state;
  /* Jina: one of the two alone is an error naming both */
  EXPECT_ERROR("--ssl-certfile and --ssl-keyfile", "--ssl-certfile", "c.pem");
  EXPECT_ERROR("--ssl-certfile and --ssl-keyfile", "--ssl-keyfile", "k.pem");
  EXPECT_ERROR("--ssl-certfile and --ssl-keyfile", "--ssl-keyfile", "k.pem", "--ssl-ca", "ca");
  EXPECT_ERROR("--ssl-ca needs", "--ssl-ca", "ca.pem");
  EXPECT_ERROR("--ssl-certfile", "--ssl-certfile", "", "--ssl-keyfile", "k.pem");
  EXPECT_ERROR("--ssl-ca", "--ssl-ca");
}

/* ---- out of memory (failmalloc.h): -ENOMEM, nothing left to free ---- */

/* Every allocating flag, from the command line and from a config file:
 * each failed allocation makes config_parse return -ENOMEM and "out of
 * memory", with the struct left with nothing to free (config.h). */
static void oom_parse_step(void *arg) {
  const char *path = arg;
  char err[300] = "";
  config cfg;
  int rc, failed;

  failmalloc_begin();
  rc = PARSE(&cfg, err, "--config", (char *)path, "--status", "foo=NOT_SERVING", "--timeline",
             "bar=NOT_SERVING:1s,SERVING", "--fault", "method=Check,action=code:UNAVAILABLE");
  failed = failmalloc_end();
  if (failed) {
    if (rc != -ENOMEM)
      fail_msg("a failed allocation returned %d (%s), not -ENOMEM", rc, err);
    assert_string_equal(err, "out of memory");
    assert_null(cfg.statuses);
    assert_null(cfg.timelines);
    assert_null(cfg.fault_rules);
    assert_null(cfg.file_args.argv);
    assert_int_equal(cfg.n_statuses + cfg.n_timelines + cfg.n_fault_rules + cfg.file_args.argc, 0);
    return;
  }
  assert_int_equal(rc, CONFIG_RUN);
  assert_int_equal(cfg.n_statuses, 3);
  assert_string_equal(cfg.statuses[2].name, "foo");
  assert_int_equal(cfg.n_timelines, 2);
  assert_string_equal(cfg.timelines[1].name, "bar");
  assert_int_equal(cfg.n_fault_rules, 2);
  assert_int_equal(cfg.list_limit, 7);
  config_free(&cfg);
}

static void oom__every_allocation_failed_once(void **state) {
  char *path = temp_yaml(
      "port: [5, 6]\nstatus: {\"\": NOT_SERVING, svc: SERVING}\n"
      "list_limit: 7\ntimeline: {\"\": \"SERVING:1s,NOT_SERVING:1s\"}\n"
      "fault: [\"method=Watch,action=hang\"]\n");
  (void)state;
  assert_true(failmalloc_run(oom_parse_step, path) >= 10);
  unlink(path);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(defaults__grpc_on_a_free_port_no_admin),
      cmocka_unit_test(flags__every_value_is_stored),
      cmocka_unit_test(status__plain_sets_empty_name_named_sets_name),
      cmocka_unit_test(port__several_values_make_several_listeners),
      cmocka_unit_test(help_and_version),
      cmocka_unit_test(bad_flags__each_is_named),
      cmocka_unit_test(switches__a_value_is_refused),
      cmocka_unit_test(bad_flag__after_a_status_frees_it),
      cmocka_unit_test(issue3_flags__stored),
      cmocka_unit_test(config_file__loaded_then_flags_override),
      cmocka_unit_test(config_file__bad_value_names_file_line_key),
      cmocka_unit_test(print_config__round_trips),
      cmocka_unit_test(ssl_flags__stored_printed_and_read_back),
      cmocka_unit_test(ssl_flags__both_or_neither),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
