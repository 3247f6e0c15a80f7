/* cmocka tests for mock_executor/config_yaml.c: every error path names the
 * file, the line and the key; good files become the matching flags. */
#define _GNU_SOURCE
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

#include "config_yaml.h"
#include "failmalloc.h"

static const config_key keys[] = {
    {"host", CONFIG_SCALAR}, {"list-limit", CONFIG_SCALAR}, {"port", CONFIG_LIST},
    {"status", CONFIG_MAP},  {"repeat", CONFIG_BOOL},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Writes `text` to a fresh temp file; returns its malloc'd path. */
static char *write_temp(const char *text) {
  char *path = strdup("/tmp/hc-config-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void load_ok(const char *text, config_args *args) {
  char err[CONFIG_ERR_MAX] = "";
  char *path = write_temp(text);
  int rv = config_yaml_load(path, keys, NKEYS, args, err, sizeof(err));
  if (rv != 0)
    fail_msg("unexpected error: %s", err);
  unlink(path);
  free(path);
}

/* Loads `text`, expects -EINVAL and an error containing "FILE:LINE: " and
 * `needle`. */
static void load_bad(const char *text, int line, const char *needle) {
  char err[CONFIG_ERR_MAX] = "", where[300];
  char *path = write_temp(text);
  config_args args;
  assert_int_equal(config_yaml_load(path, keys, NKEYS, &args, err, sizeof(err)), -EINVAL);
  snprintf(where, sizeof(where), "%s:%d: ", path, line);
  if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, needle))
    fail_msg("error '%s' lacks '%s' or '%s'", err, where, needle);
  assert_int_equal(args.argc, 0);
  unlink(path);
  free(path);
}

static void good__every_kind_becomes_flags_with_origins(void **state) {
  config_args a;
  (void)state;
  load_ok(
      "host: 0.0.0.0\n"
      "port: [12345, 12346]\n"
      "status:\n"
      "  \"\": NOT_SERVING\n"
      "  foo: SERVING\n"
      "repeat: true\n"
      "list_limit: 7\n",
      &a);
  const char *want[] = {
      "--host",      "0.0.0.0",  "--port",      "12345",    "--port",       "12346", "--status",
      "NOT_SERVING", "--status", "foo=SERVING", "--repeat", "--list-limit", "7"};
  assert_int_equal(a.argc, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < a.argc; i++)
    assert_string_equal(a.argv[i], want[i]);
  assert_non_null(strstr(a.origin[0], ":1: host"));
  assert_non_null(strstr(a.origin[9], ":5: status"));
  assert_non_null(strstr(a.origin[12], ":7: list_limit"));
  config_args_free(&a);
}

static void good__false_bool_and_scalar_list_and_empty_file(void **state) {
  config_args a;
  (void)state;
  load_ok("repeat: false\nport: 1\n", &a);
  assert_int_equal(a.argc, 2);
  assert_string_equal(a.argv[0], "--port");
  assert_string_equal(a.argv[1], "1");
  config_args_free(&a);
  load_ok("", &a);
  assert_int_equal(a.argc, 0);
  config_args_free(&a);
}

static void bad__each_error_names_file_line_key(void **state) {
  (void)state;
  load_bad("host: x\nbogus: 1\n", 2, "unknown key 'bogus'");
  load_bad("list_limits: 1\n", 1, "unknown key 'list_limits'");
  load_bad("host: [a, b]\n", 1, "host: expected a single value");
  load_bad("status: SERVING\n", 1, "status: expected a mapping");
  load_bad("repeat: yes\n", 1, "repeat: expected true or false, got 'yes'");
  load_bad("port: {a: 1}\n", 1, "port: expected a value or a list");
  load_bad("port:\n  - [1]\n", 2, "port: list items must be plain values");
  load_bad("status:\n  foo: [1]\n", 2, "status: names and values must be plain values");
  load_bad("- a\n- b\n", 1, "the top level must be a mapping");
  load_bad("host: x\n  bad: indent\n", 2, "");
  load_bad("a: [unclosed\n", 2, "");
}

static void bad__missing_file(void **state) {
  config_args a;
  char err[CONFIG_ERR_MAX];
  (void)state;
  assert_int_equal(config_yaml_load("/nonexistent/hc.yaml", keys, NKEYS, &a, err, sizeof(err)),
                   -ENOENT);
  assert_non_null(strstr(err, "/nonexistent/hc.yaml: cannot open"));
}

/* ---- out of memory (failmalloc.h): -ENOMEM, *out left empty ---- */

/* Every kind of key (scalar, list, map with a named and a bare entry,
 * bool): each failed allocation returns -ENOMEM with a message and
 * nothing in *out. */
static void oom_load_step(void *arg) {
  char err[CONFIG_ERR_MAX] = "";
  config_args args;
  int rv, failed;

  failmalloc_begin();
  rv = config_yaml_load(arg, keys, NKEYS, &args, err, sizeof(err));
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rv, -ENOMEM);
    assert_non_null(strstr(err, "out of memory"));
    assert_int_equal(args.argc, 0);
    assert_null(args.argv);
    assert_null(args.origin);
    return;
  }
  assert_int_equal(rv, 0);
  assert_int_equal(args.argc, 11);
  assert_string_equal(args.argv[10], "svc=NOT_SERVING");
  config_args_free(&args);
}

static void oom__every_allocation_failed_once(void **state) {
  char *path = write_temp(
      "host: 127.0.0.1\nport: [1, 2]\nrepeat: true\n"
      "status: {\"\": SERVING, svc: NOT_SERVING}\n");
  (void)state;
  assert_true(failmalloc_run(oom_load_step, path) >= 12);
  unlink(path);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(good__every_kind_becomes_flags_with_origins),
      cmocka_unit_test(good__false_bool_and_scalar_list_and_empty_file),
      cmocka_unit_test(bad__each_error_names_file_line_key),
      cmocka_unit_test(bad__missing_file),
  };
  return cmocka_run_group_tests_name("config_yaml", tests, NULL, NULL);
}
