/* cmocka tests for conformance/command.c: placeholder quoting, output
 * lines, exit statuses, and that ending a command ends its whole process
 * group (a child left behind by an exited shell, a command that ignores
 * SIGTERM). */
#define _POSIX_C_SOURCE 200809L /* kill */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "monotime.h"

#define BOUND_MS 10000 /* any wait here; the commands take milliseconds */

static command *start(const char *line) {
  char err[256] = "";
  command *c = NULL;

  assert_int_equal(command_start(line, &c, err, sizeof(err)), 0);
  assert_non_null(c);
  return c;
}

static void test_expand_quotes_values(void **state) {
  const command_var vars[] = {{"service", "it's; rm -rf /"}, {"addr", "127.0.0.1:5"}};
  char out[256];

  (void)state;
  assert_int_equal(command_expand("probe {addr} {service} {other}", vars, 2, out, sizeof(out)), 0);
  assert_string_equal(out, "probe '127.0.0.1:5' 'it'\\''s; rm -rf /' {other}");
  assert_int_equal(command_expand("{addr}{addr}", vars, 2, out, 10), -ENAMETOOLONG);
}

static void test_expanded_value_is_one_word(void **state) {
  const command_var vars[] = {{"service", "a b'c"}};
  char line[256], got[256];
  command *c;
  int st;

  (void)state;
  assert_int_equal(command_expand("printf '%s|' {service}; echo", vars, 1, line, sizeof(line)), 0);
  c = start(line);
  assert_int_equal(command_wait(c, monotime_ms() + BOUND_MS, &st), 0);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  command_last_line(c, got, sizeof(got));
  assert_string_equal(got, "a b'c|");
  command_free(c);
}

static void test_lines_and_exit_status(void **state) {
  char line[64], what[64];
  command *c = start("echo HEALTHY; echo 'log line' >&2; printf 'UNHEALTHY\\r\\nlast'; exit 3");
  int st;

  (void)state;
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  assert_string_equal(line, "HEALTHY");
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  assert_string_equal(line, "log line");
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  assert_string_equal(line, "UNHEALTHY");
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  assert_string_equal(line, "last"); /* the unterminated tail, once the output ended */
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), -EPIPE);
  assert_int_equal(command_wait(c, monotime_ms() + BOUND_MS, &st), 0);
  command_describe_status(st, what, sizeof(what));
  assert_string_equal(what, "exited 3");
  command_free(c);
}

static void test_read_line_times_out(void **state) {
  char line[64];
  command *c = start("sleep 60");
  long long t0 = monotime_ms();

  (void)state;
  assert_int_equal(command_read_line(c, line, sizeof(line), t0 + 100), -ETIMEDOUT);
  assert_true(monotime_ms() - t0 < BOUND_MS);
  assert_int_equal(command_wait(c, monotime_ms() + 50, NULL), -ETIMEDOUT);
  assert_int_equal(command_stop(c, 2000), SIGTERM); /* the shell's wait status: killed */
  command_free(c);
}

/* The leader exits at once; the child it left in its group is killed. */
static void test_exit_kills_the_group(void **state) {
  char line[64];
  command *c = start("sleep 60 & echo $!; exit 0");
  long pid;
  int st;

  (void)state;
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  pid = strtol(line, NULL, 10);
  assert_true(pid > 0);
  assert_int_equal(command_wait(c, monotime_ms() + BOUND_MS, &st), 0);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* SIGKILL was sent; the orphan is reaped by init, so wait for it to go. */
  long long deadline = monotime_ms() + BOUND_MS;
  while (kill((pid_t)pid, 0) == 0 && monotime_ms() < deadline) {
    char state_path[64], buf[256] = "";
    FILE *f;
    snprintf(state_path, sizeof(state_path), "/proc/%ld/stat", pid);
    f = fopen(state_path, "r");
    if (f) {
      size_t n = fread(buf, 1, sizeof(buf) - 1, f);
      buf[n] = '\0';
      fclose(f);
    }
    if (strstr(buf, ") Z "))
      break; /* a zombie waiting for init: it is dead */
    monotime_sleep_ms(10);
  }
  assert_true(monotime_ms() < deadline);
  command_free(c);
}

static void test_stop_kills_what_ignores_sigterm(void **state) {
  char line[64];
  command *c = start("trap '' TERM; echo ready; while :; do sleep 1; done");
  long long t0;
  int st;

  (void)state;
  assert_int_equal(command_read_line(c, line, sizeof(line), monotime_ms() + BOUND_MS), 0);
  t0 = monotime_ms();
  assert_int_equal(command_stop(c, 100), -1);
  assert_true(monotime_ms() - t0 < BOUND_MS);
  st = command_stop(c, 100); /* twice is fine: the status of the first */
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  command_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expand_quotes_values),
      cmocka_unit_test(test_expanded_value_is_one_word),
      cmocka_unit_test(test_lines_and_exit_status),
      cmocka_unit_test(test_read_line_times_out),
      cmocka_unit_test(test_exit_kills_the_group),
      cmocka_unit_test(test_stop_kills_what_ignores_sigterm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
