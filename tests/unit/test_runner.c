/* cmocka tests for conformance/runner.c: verdicts and exit codes, needs,
 * the unreachable path, target parsing and the TCP probe. Cases are local
 * tables, independent of the real catalogue. */
#define _GNU_SOURCE /* sem_clockwait */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "control.h"
#include "monocond.h"
#include "monotime.h"
#include "report.h"
#include "runner.h"

/* Atomic: a case cut short by --max-time still counts on its own thread
 * after runner_run returned. */
static _Atomic int calls;

static void do_pass(const case_ctx *ctx, case_result *res) {
  calls++;
  case_pass(res, "fine on %s", ctx->target);
}
static void do_fail(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  calls++;
  case_fail(res, "NOT_FOUND", "OK", "wrong answer");
}
static void do_warn(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  calls++;
  case_warn(res, "one message", "two", "duplicate");
}
static void do_nothing(const case_ctx *ctx, case_result *res) {
  (void)ctx;
  (void)res;
  calls++;
}
static void do_check_ctx(const case_ctx *ctx, case_result *res) {
  calls++;
  if (ctx->timeout_ms == 1234 && ctx->latency_budget_ms == 77 && ctx->strict == 1 && ctx->control &&
      strncmp(ctx->service, "hc-conformance-", 15) == 0)
    case_pass(res, "context as given");
  else
    case_fail(res, "the runner's options", "something else", "bad context");
}

#define CASE(id, level, needs, fn) \
  { id, "T00", "H-TEST-1", level, PROTOCOL_GRPC, needs, "summary", "clause text", fn }

static const hc_case must_pass = CASE("a/must-pass", LEVEL_MUST, 0, do_pass);
static const hc_case must_fail = CASE("a/must-fail", LEVEL_MUST, 0, do_fail);
static const hc_case should_fail = CASE("a/should-fail", LEVEL_SHOULD, 0, do_fail);
static const hc_case may_fail = CASE("a/may-fail", LEVEL_MAY, 0, do_fail);
static const hc_case should_warn = CASE("a/should-warn", LEVEL_SHOULD, 0, do_warn);
static const hc_case needs_ctl = CASE("a/needs-control", LEVEL_MUST, NEED_CONTROL, do_fail);
static const hc_case needs_shut = CASE("a/needs-shutdown", LEVEL_MUST, NEED_SHUTDOWN, do_fail);
static const hc_case silent = CASE("a/silent", LEVEL_MUST, 0, do_nothing);

/* Runs the cases with a JSON report into a temp file; returns the code. */
static int run(const hc_case *const *list, size_t n, runner_options *opts, report_summary *sum) {
  hc_case table[16];
  report *rep;
  FILE *out = tmpfile();
  char err[128];
  int code;

  assert_true(n <= 16);
  assert_non_null(out);
  for (size_t i = 0; i < n; i++)
    table[i] = *list[i];
  if (!opts->target)
    opts->target = "127.0.0.1:1";
  assert_int_equal(report_new(&rep), 0);
  assert_int_equal(report_add_stream(rep, REPORT_JSON, out, 0), 0);
  calls = 0;
  code = runner_run(table, n, opts, rep, sum);
  assert_int_equal(report_end(rep, sum, err, sizeof(err)), 0);
  report_free(rep);
  fclose(out);
  return code;
}

static void all_pass__exit_0(void **state) {
  const hc_case *list[] = {&must_pass, &must_pass};
  runner_options o = {.timeout_ms = 100};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 2, &o, &s), RUNNER_EXIT_OK);
  assert_int_equal(s.passed, 2);
  assert_int_equal(calls, 2);
}

static void must_fail__exit_1(void **state) {
  const hc_case *list[] = {&must_pass, &must_fail, &should_warn};
  runner_options o = {.timeout_ms = 100};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 3, &o, &s), RUNNER_EXIT_FAILED);
  assert_int_equal(s.passed, 1);
  assert_int_equal(s.failed, 1);
  assert_int_equal(s.warned, 1);
  assert_int_equal(s.exit_code, RUNNER_EXIT_FAILED);
}

static void should_fail__exit_0_or_1_with_strict(void **state) {
  const hc_case *list[] = {&must_pass, &should_fail, &may_fail};
  runner_options o = {.timeout_ms = 100};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 3, &o, &s), RUNNER_EXIT_OK);
  assert_int_equal(s.failed, 2);
  o.strict = 1;
  assert_int_equal(run(list, 3, &o, &s), RUNNER_EXIT_FAILED);
}

static void warn__exit_0_or_1_with_strict(void **state) {
  const hc_case *list[] = {&should_warn};
  runner_options o = {.timeout_ms = 100};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 1, &o, &s), RUNNER_EXIT_OK);
  assert_int_equal(s.warned, 1);
  o.strict = 1;
  assert_int_equal(run(list, 1, &o, &s), RUNNER_EXIT_FAILED);
}

static void unmet_needs__skipped_not_run(void **state) {
  const hc_case *list[] = {&needs_ctl, &needs_shut};
  runner_options o = {.timeout_ms = 100, .strict = 1};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 2, &o, &s), RUNNER_EXIT_OK);
  assert_int_equal(s.skipped, 2);
  assert_int_equal(calls, 0);
}

static void met_needs__run_with_context(void **state) {
  const hc_case checker = CASE("a/ctx", LEVEL_MUST, NEED_CONTROL | NEED_SHUTDOWN, do_check_ctx);
  const hc_case *list[] = {&checker};
  runner_options o = {.timeout_ms = 1234, .latency_budget_ms = 77, .strict = 1};
  report_summary s;
  control *ctl;
  char err[CONTROL_ERR_MAX];
  (void)state;
  assert_int_equal(control_new(NULL, "true {service} {status}", 1000, &ctl, err, sizeof(err)), 0);
  o.control = ctl;
  assert_int_equal(run(list, 1, &o, &s), RUNNER_EXIT_OK);
  assert_int_equal(s.passed, 1);
  assert_int_equal(calls, 1);
  control_free(ctl);
}

/* A case that fills nothing must not pass silently. */
static void silent_case__fails(void **state) {
  const hc_case *list[] = {&silent};
  runner_options o = {.timeout_ms = 100};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 1, &o, &s), RUNNER_EXIT_FAILED);
  assert_int_equal(s.failed, 1);
}

static void unreachable__every_case_skipped_exit_3(void **state) {
  const hc_case *list[] = {&must_pass, &must_fail, &needs_ctl};
  runner_options o = {.timeout_ms = 100, .unreachable = "connection refused"};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 3, &o, &s), RUNNER_EXIT_UNREACHABLE);
  assert_int_equal(s.skipped, 3);
  assert_int_equal(s.passed + s.failed + s.warned, 0);
  assert_int_equal(calls, 0);
}

/* A gate that answers `ok_calls` times, then fails. */
typedef struct fake_gate {
  int ok_calls;
  int calls;
} fake_gate;

static int gate_fake(void *arg, char *reason, size_t reasonlen) {
  fake_gate *g = arg;
  if (g->calls++ < g->ok_calls)
    return 0;
  snprintf(reason, reasonlen, "connected, but no gRPC answer within 2000 ms");
  return -ETIMEDOUT;
}

static void do_slow_pass(const case_ctx *ctx, case_result *res) {
  calls++;
  monotime_sleep_ms(5);
  case_pass(res, "fine on %s", ctx->target);
}

static void gate_fails__nothing_runs_exit_3(void **state) {
  const hc_case *list[] = {&must_pass, &must_fail, &needs_ctl};
  fake_gate g = {.ok_calls = 0};
  runner_options o = {.timeout_ms = 100, .gate = gate_fake, .gate_arg = &g};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 3, &o, &s), RUNNER_EXIT_UNREACHABLE);
  assert_int_equal(s.skipped, 3);
  assert_int_equal(calls, 0);
  assert_int_equal(g.calls, 1);
}

/* A failure that used its whole timeout (0 here: any failure) asks the
 * gate again; a target that stopped answering ends the run there. */
static void gate_fails_after_a_timeout__rest_not_run(void **state) {
  const hc_case *list[] = {&must_pass, &must_fail, &must_pass, &must_fail};
  fake_gate g = {.ok_calls = 1};
  runner_options o = {.timeout_ms = 0, .gate = gate_fake, .gate_arg = &g};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 4, &o, &s), RUNNER_EXIT_FAILED);
  assert_int_equal(s.passed, 1);
  assert_int_equal(s.failed, 1);
  assert_int_equal(s.skipped, 2);
  assert_int_equal(calls, 2);
  assert_int_equal(g.calls, 2);
}

/* A failure quicker than the timeout is the case's own: no second ask. */
static void quick_failure__gate_not_asked_again(void **state) {
  const hc_case *list[] = {&must_fail, &must_pass};
  fake_gate g = {.ok_calls = 1};
  runner_options o = {.timeout_ms = 60000, .gate = gate_fake, .gate_arg = &g};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 2, &o, &s), RUNNER_EXIT_FAILED);
  assert_int_equal(s.passed, 1);
  assert_int_equal(g.calls, 1);
}

/* A case that runs until the test lets it go (bounded), then says so. */
static sem_t let_go, gone;

static void do_block(const case_ctx *ctx, case_result *res) {
  struct timespec until = monocond_after(30000);
  (void)ctx;
  calls++;
  if (sem_clockwait(&let_go, CLOCK_MONOTONIC, &until) == 0)
    case_pass(res, "let go");
  else
    case_fail(res, "let go", "never", "the test did not let the case go");
  sem_post(&gone);
}

/* --max-time bounds the whole run, not only the starts (issue 13): the
 * case running when it runs out FAILs as cut short (its thread left
 * running), the cases not started FAIL as not run, whatever their level,
 * and the run cannot pass. */
static void max_time_spent__running_cut_rest_fail_exit_1(void **state) {
  const hc_case block = CASE("a/block", LEVEL_SHOULD, 0, do_block);
  const hc_case *list[] = {&must_pass, &block, &must_pass, &should_warn};
  runner_options o = {.timeout_ms = 100, .max_time_ms = 200};
  report_summary s;
  struct timespec until;
  long long t0 = monotime_ms();
  (void)state;
  assert_int_equal(sem_init(&let_go, 0, 0), 0);
  assert_int_equal(sem_init(&gone, 0, 0), 0);
  assert_int_equal(run(list, 4, &o, &s), RUNNER_EXIT_FAILED);
  assert_true(monotime_ms() - t0 < 20000); /* not the case's 30 s */
  assert_int_equal(s.passed, 1);
  assert_int_equal(s.failed, 3);
  assert_int_equal(s.cut_short, 1);
  /* The case's thread outlives the run; let it go and see it end. */
  assert_int_equal(sem_post(&let_go), 0);
  until = monocond_after(30000);
  assert_int_equal(sem_clockwait(&gone, CLOCK_MONOTONIC, &until), 0);
  assert_int_equal(calls, 2);
}

/* The budget counts from started_ms (the probe before the run): spent
 * before the first case, nothing runs. */
static void max_time_spent_before__nothing_runs(void **state) {
  const hc_case *list[] = {&must_pass, &should_warn};
  runner_options o = {.timeout_ms = 100, .max_time_ms = 1000, .started_ms = monotime_ms() - 60000};
  report_summary s;
  (void)state;
  assert_int_equal(run(list, 2, &o, &s), RUNNER_EXIT_FAILED);
  assert_int_equal(s.failed, 2);
  assert_int_equal(s.cut_short, 0);
  assert_int_equal(calls, 0);
}

/* A budget not spent changes nothing (the cases run on a worker). */
static void max_time_left__as_without(void **state) {
  const hc_case slow = CASE("a/slow", LEVEL_MUST, 0, do_slow_pass);
  const hc_case *list[] = {&must_pass, &slow, &needs_shut, &should_warn};
  runner_options with = {.timeout_ms = 100, .max_time_ms = 60000}, without = {.timeout_ms = 100};
  report_summary a, b;
  (void)state;
  assert_int_equal(run(list, 4, &with, &a), RUNNER_EXIT_OK);
  assert_int_equal(run(list, 4, &without, &b), RUNNER_EXIT_OK);
  assert_memory_equal(&a, &b, sizeof(a));
  assert_int_equal(a.passed * 100 + a.warned * 10 + a.skipped, 211);
}

static void counts_as_failure__table(void **state) {
  case_result r;
  (void)state;
  case_fail(&r, "", "", "x");
  assert_true(runner_counts_as_failure(&must_fail, &r, 0));
  assert_false(runner_counts_as_failure(&should_fail, &r, 0));
  assert_true(runner_counts_as_failure(&should_fail, &r, 1));
  assert_false(runner_counts_as_failure(&may_fail, &r, 0));
  case_warn(&r, "", "", "x");
  assert_false(runner_counts_as_failure(&must_pass, &r, 0));
  assert_true(runner_counts_as_failure(&must_pass, &r, 1));
  case_skip(&r, "x");
  assert_false(runner_counts_as_failure(&must_pass, &r, 1));
  case_pass(&r, "x");
  assert_false(runner_counts_as_failure(&must_pass, &r, 1));
}

static void split_target__forms(void **state) {
  char host[64], port[8], err[RUNNER_ERR_MAX];
  (void)state;
  assert_int_equal(runner_split_target("127.0.0.1:50051", host, sizeof(host), port, sizeof(port),
                                       err, sizeof(err)),
                   0);
  assert_string_equal(host, "127.0.0.1");
  assert_string_equal(port, "50051");
  assert_int_equal(
      runner_split_target("[::1]:8080", host, sizeof(host), port, sizeof(port), err, sizeof(err)),
      0);
  assert_string_equal(host, "::1");
  assert_string_equal(port, "8080");
  assert_int_equal(
      runner_split_target("localhost:1", host, sizeof(host), port, sizeof(port), err, sizeof(err)),
      0);
  static const char *const bad[] = {"",        "host",       "host:",    ":80",
                                    "host:0",  "host:65536", "host:80x", "::1:80",
                                    "[::1]80", "[::1]",      "host:+80", "host: 80"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_true(
        runner_split_target(bad[i], host, sizeof(host), port, sizeof(port), err, sizeof(err)) < 0);
}

/* A loopback listener; *port receives its port. */
static int listener(int *port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(fd, 4), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void probe__listening_and_closed_port(void **state) {
  char target[32], err[RUNNER_ERR_MAX];
  int port, fd = listener(&port);
  (void)state;
  snprintf(target, sizeof(target), "127.0.0.1:%d", port);
  assert_int_equal(runner_probe(target, 1000, err, sizeof(err)), 0);
  close(fd); /* now nothing listens there: refused at once */
  assert_int_equal(runner_probe(target, 1000, err, sizeof(err)), -ECONNREFUSED);
  assert_non_null(strstr(err, target));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(all_pass__exit_0),
      cmocka_unit_test(must_fail__exit_1),
      cmocka_unit_test(should_fail__exit_0_or_1_with_strict),
      cmocka_unit_test(warn__exit_0_or_1_with_strict),
      cmocka_unit_test(unmet_needs__skipped_not_run),
      cmocka_unit_test(met_needs__run_with_context),
      cmocka_unit_test(silent_case__fails),
      cmocka_unit_test(unreachable__every_case_skipped_exit_3),
      cmocka_unit_test(gate_fails__nothing_runs_exit_3),
      cmocka_unit_test(gate_fails_after_a_timeout__rest_not_run),
      cmocka_unit_test(quick_failure__gate_not_asked_again),
      cmocka_unit_test(max_time_spent__running_cut_rest_fail_exit_1),
      cmocka_unit_test(max_time_spent_before__nothing_runs),
      cmocka_unit_test(max_time_left__as_without),
      cmocka_unit_test(counts_as_failure__table),
      cmocka_unit_test(split_target__forms),
      cmocka_unit_test(probe__listening_and_closed_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
