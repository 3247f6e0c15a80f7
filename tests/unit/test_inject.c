/* cmocka tests for mock_executor/inject.c: the rule parser, and count and
 * probability accounting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "config.h"
#include "inject.h"
#include "wire.h"

static void parse__full_grpc_rule(void **state) {
  inject_rule r;
  char err[INJECT_ERR_MAX];
  (void)state;
  assert_int_equal(inject_parse("method=Check,service=,action=code:UNAVAILABLE,count=3,"
                                "probability=0.25,message=busy, come back",
                                &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.protocol, INJECT_GRPC);
  assert_string_equal(r.target, "Check");
  assert_int_equal(r.any_service, 0);
  assert_string_equal(r.service, "");
  assert_int_equal(r.action, INJECT_CODE);
  assert_int_equal(r.code, WIRE_CODE_UNAVAILABLE);
  assert_int_equal(r.count, 3);
  assert_true(r.probability == 0.25);
  assert_string_equal(r.message, "busy, come back"); /* message takes the rest */
}

static void parse__defaults_and_http(void **state) {
  inject_rule r;
  char err[INJECT_ERR_MAX];
  (void)state;
  assert_int_equal(inject_parse("path=/,action=http-status:500", &r, err, sizeof(err)), 0);
  assert_int_equal(r.protocol, INJECT_HTTP);
  assert_int_equal(r.any_service, 1);
  assert_int_equal(r.count, -1);
  assert_true(r.probability == 1.0);
  assert_int_equal(r.code, 500);
  assert_int_equal(inject_parse("action=random-delay:2s,method=*", &r, err, sizeof(err)), 0);
  assert_int_equal(r.action, INJECT_RANDOM_DELAY);
  assert_int_equal(r.delay_ms, 2000);
  assert_int_equal(inject_parse("path=/health/x,action=reset", &r, err, sizeof(err)), 0);
  assert_int_equal(r.action, INJECT_RESET);
  assert_int_equal(inject_parse("method=Watch,action=code:14", &r, err, sizeof(err)), 0);
  assert_int_equal(r.code, WIRE_CODE_UNAVAILABLE);
  assert_false(inject_action_is_wire(&r));
}

/* The gRPC actions the wire engine plays, with their HTTP/2 codes. */
static void parse__wire_actions(void **state) {
  static const struct {
    const char *rule;
    inject_action action;
    int code;
    inject_when when;
  } rows[] = {
      {"method=Check,action=goaway", INJECT_GOAWAY, 0, INJECT_BEFORE_HEADERS},
      {"method=Check,action=goaway:ENHANCE_YOUR_CALM", INJECT_GOAWAY, 11, INJECT_BEFORE_HEADERS},
      {"method=Check,action=rst", INJECT_RST, 8, INJECT_BEFORE_HEADERS},
      {"method=Check,action=rst:2/after-message", INJECT_RST, 2, INJECT_AFTER_MESSAGE},
      {"method=Watch,action=rst:REFUSED_STREAM/after-headers", INJECT_RST, 7, INJECT_AFTER_HEADERS},
      {"method=Check,action=close", INJECT_CLOSE, 0, INJECT_BEFORE_HEADERS},
      {"method=Check,action=http-status:404", INJECT_HTTP_STATUS, 404, INJECT_BEFORE_HEADERS},
      {"method=Check,action=no-trailers", INJECT_NO_TRAILERS, 0, INJECT_BEFORE_HEADERS},
      {"method=Check,action=status-in-headers", INJECT_STATUS_IN_HEADERS, 0, INJECT_BEFORE_HEADERS},
      {"method=Check,action=compressed-flag", INJECT_COMPRESSED_FLAG, 0, INJECT_BEFORE_HEADERS},
      {"method=Check,action=slow:1s", INJECT_SLOW, 0, INJECT_BEFORE_HEADERS},
  };
  inject_rule r;
  char err[INJECT_ERR_MAX];

  (void)state;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    assert_int_equal(inject_parse(rows[i].rule, &r, err, sizeof(err)), 0);
    assert_int_equal(r.action, rows[i].action);
    assert_int_equal(r.code, rows[i].code);
    assert_int_equal(r.when, rows[i].when);
    assert_true(inject_action_is_wire(&r));
  }
  assert_int_equal(inject_parse("path=/,action=close", &r, err, sizeof(err)), 0);
  assert_false(inject_action_is_wire(&r)); /* HTTP: the HTTP listener plays it */
}

/* Every error names the part that is wrong. */
static void parse__errors_name_the_part(void **state) {
  static const struct {
    const char *rule, *named;
  } bad[] = {
      {"", "empty"},
      {"method=Chek,action=hang", "method: 'Chek'"},
      {"path=health,action=reset", "path: 'health'"},
      {"method=Check,path=/,action=hang", "path: a rule takes one"},
      {"method=Check,action=explode", "action: 'explode'"},
      {"method=Check,action=delay", "action: 'delay'"},
      {"method=Check,action=delay:soon", "action: 'delay:soon'"},
      {"method=Check,action=code:NOPE", "action: 'code:NOPE'"},
      {"method=Check,action=code:OK", "action: 'code:OK'"},
      {"path=/,action=http-status:600", "action: 'http-status:600'"},
      {"method=Check,action=hang:5s", "action: 'hang' takes no argument"},
      {"method=Check,action=hang,count=0", "count: '0'"},
      {"method=Check,action=hang,count=-1", "count: '-1'"},
      {"method=Check,action=hang,probability=0", "probability: '0'"},
      {"method=Check,action=hang,probability=1.5", "probability: '1.5'"},
      {"method=Check,action=hang,probability=x", "probability: 'x'"},
      {"method=Check,action=hang,colour=red", "unknown key 'colour'"},
      {"method=Check,action=hang,oops", "part 'oops'"},
      {"method=Check", "missing action="},
      {"action=hang", "missing method="},
      {"path=/,action=hang", "action: 'hang' is for gRPC"},
      {"path=/,action=code:INTERNAL", "action: 'code' is for gRPC"},
      {"path=/,action=goaway", "action: 'goaway' is for gRPC"},
      {"method=Check,action=goaway:NOPE", "'NOPE' is not an HTTP/2 error code"},
      {"method=Check,action=goaway:0/after-headers", "goaway takes a code only"},
      {"method=Check,action=rst:CANCEL/later", "'later' is not before"},
      {"method=Check,action=slow", "action: 'slow' needs a duration"},
      {"method=Check,action=no-trailers:1", "'no-trailers' takes no argument"},
      {"path=/,action=slow-body", "action: 'slow-body'"},
      {"method=Check,action=hang,message=x", "message: only"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    inject_rule r;
    char err[INJECT_ERR_MAX] = "";
    assert_int_equal(inject_parse(bad[i].rule, &r, err, sizeof(err)), -EINVAL);
    if (!strstr(err, bad[i].named))
      fail_msg("rule '%s': error '%s' does not name '%s'", bad[i].rule, err, bad[i].named);
  }
}

static inject *set_of(uint64_t seed, const char *rule) {
  inject *in;
  inject_rule r;
  char err[INJECT_ERR_MAX];

  assert_int_equal(inject_new(seed, &in), 0);
  if (rule) {
    assert_int_equal(inject_parse(rule, &r, err, sizeof(err)), 0);
    assert_int_equal(inject_add(in, &r), 0);
  }
  return in;
}

static void match__count_spends_the_rule(void **state) {
  inject *in = set_of(0, "method=Check,action=code:UNAVAILABLE,count=3");
  inject_rule *snap;
  inject_hit hit;
  size_t n;
  (void)state;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(inject_match(in, INJECT_GRPC, "Check", "", &hit), 1);
    assert_int_equal(hit.action, INJECT_CODE);
    assert_int_equal(hit.code, WIRE_CODE_UNAVAILABLE);
  }
  assert_int_equal(inject_match(in, INJECT_GRPC, "Check", "", &hit), 0);
  assert_int_equal(inject_snapshot(in, &snap, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(snap[0].count, 0);
  assert_int_equal(snap[0].hits, 3);
  free(snap);
  inject_free(in);
}

static void match__target_service_protocol(void **state) {
  inject *in = set_of(0, "method=Watch,service=a,action=hang");
  inject_hit hit;
  (void)state;
  assert_int_equal(inject_match(in, INJECT_GRPC, "Check", "a", &hit), 0);
  assert_int_equal(inject_match(in, INJECT_GRPC, "Watch", "b", &hit), 0);
  assert_int_equal(inject_match(in, INJECT_HTTP, "Watch", "a", &hit), 0);
  assert_int_equal(inject_match(in, INJECT_GRPC, "Watch", "a", &hit), 1);
  assert_int_equal(hit.action, INJECT_HANG);
  inject_clear(in);
  assert_int_equal(inject_match(in, INJECT_GRPC, "Watch", "a", &hit), 0);
  assert_int_equal(inject_match(NULL, INJECT_GRPC, "Watch", "a", &hit), 0);
  inject_free(in);
}

/* Rules are tried in order; a spent one lets the next apply. */
static void match__first_live_rule_wins(void **state) {
  inject *in = set_of(0, "method=*,action=code:INTERNAL,count=1");
  inject_rule r;
  inject_hit hit;
  char err[INJECT_ERR_MAX];
  (void)state;
  assert_int_equal(inject_parse("method=Check,action=delay:5ms", &r, err, sizeof(err)), 0);
  assert_int_equal(inject_add(in, &r), 0);
  assert_int_equal(inject_match(in, INJECT_GRPC, "Check", "", &hit), 1);
  assert_int_equal(hit.action, INJECT_CODE);
  assert_int_equal(inject_match(in, INJECT_GRPC, "Check", "", &hit), 1);
  assert_int_equal(hit.action, INJECT_DELAY);
  assert_int_equal(hit.delay_ms, 5);
  inject_free(in);
}

static unsigned long long hits_pattern(uint64_t seed, const char *rule) {
  inject *in = set_of(seed, rule);
  unsigned long long bits = 0;
  inject_hit hit;

  for (int i = 0; i < 64; i++)
    bits = (bits << 1) | (unsigned)inject_match(in, INJECT_GRPC, "Check", "", &hit);
  inject_free(in);
  return bits;
}

/* The same seed gives the same decisions; another seed others. */
static void match__probability_is_seeded(void **state) {
  const char *rule = "method=Check,action=code:UNAVAILABLE,probability=0.5";
  unsigned long long a = hits_pattern(42, rule);
  int ones = __builtin_popcountll(a);
  (void)state;
  assert_true(a == hits_pattern(42, rule));
  assert_true(a != hits_pattern(43, rule));
  assert_in_range(ones, 16, 48); /* about half of 64 */
}

/* count counts hits, not matches: probability 0.5 and count 2 still hits
 * exactly twice. */
static void match__count_with_probability(void **state) {
  unsigned long long bits =
      hits_pattern(7, "method=Check,action=code:UNAVAILABLE,probability=0.5,count=2");
  (void)state;
  assert_int_equal(__builtin_popcountll(bits), 2);
}

static void match__random_delay_bounded_and_seeded(void **state) {
  inject *a = set_of(5, "method=Check,action=random-delay:100ms");
  inject *b = set_of(5, "method=Check,action=random-delay:100ms");
  inject_hit ha, hb;
  int differ = 0;
  long first = -1;
  (void)state;
  for (int i = 0; i < 50; i++) {
    assert_int_equal(inject_match(a, INJECT_GRPC, "Check", "", &ha), 1);
    assert_int_equal(inject_match(b, INJECT_GRPC, "Check", "", &hb), 1);
    assert_int_equal(ha.delay_ms, hb.delay_ms);
    assert_in_range(ha.delay_ms, 0, 100);
    if (first < 0)
      first = ha.delay_ms;
    differ |= ha.delay_ms != first;
  }
  assert_true(differ);
  inject_free(a);
  inject_free(b);
}

static void add__full_set_refused(void **state) {
  inject *in = set_of(0, NULL);
  inject_rule r;
  char err[INJECT_ERR_MAX];
  (void)state;
  assert_int_equal(inject_parse("method=Check,action=hang", &r, err, sizeof(err)), 0);
  for (int i = 0; i < INJECT_MAX_RULES; i++)
    assert_int_equal(inject_add(in, &r), 0);
  assert_int_equal(inject_add(in, &r), -ENOSPC);
  inject_free(in);
}

/* --fault on the command line: checked while parsing (main exits 2),
 * the message naming the flag and the bad part. */
static void config__fault_flag(void **state) {
  char *good[] = {"mock-executor",
                  "--fault",
                  "method=Check,action=hang,count=3",
                  "--fault=path=/,action=close",
                  "--fault-seed",
                  "99",
                  NULL};
  char *bad[] = {"mock-executor", "--fault", "method=Check,action=code:NOPE", NULL};
  char *bad_seed[] = {"mock-executor", "--fault-seed", "-1", NULL};
  char err[CONFIG_ERR_MAX];
  config cfg;
  (void)state;
  assert_int_equal(config_parse(6, good, &cfg, err, sizeof(err)), CONFIG_RUN);
  assert_int_equal(cfg.n_fault_rules, 2);
  assert_string_equal(cfg.fault_rules[1], "path=/,action=close");
  assert_true(cfg.fault_seed == 99);
  config_free(&cfg);
  assert_int_equal(config_parse(3, bad, &cfg, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "--fault: 'method=Check,action=code:NOPE': action: 'code:NOPE'"));
  assert_int_equal(config_parse(3, bad_seed, &cfg, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "--fault-seed: '-1'"));
}

/* ---- out of memory (failmalloc.h): the error returned, nothing changed ---- */

static void oom_inject_step(void *arg) {
  inject *in = NULL;
  inject_rule rule, *rules = NULL;
  size_t n = 99;
  char err[INJECT_ERR_MAX];
  int rc, failed;
  (void)arg;
  failmalloc_begin();
  rc = inject_new(1, &in);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(in);
    return;
  }
  assert_int_equal(inject_parse("method=Check,action=code:UNAVAILABLE", &rule, err, sizeof(err)),
                   0);
  failmalloc_begin();
  rc = inject_add(in, &rule);
  if (rc == 0)
    rc = inject_snapshot(in, &rules, &n);
  failed = failmalloc_end();
  if (failed) {
    assert_int_equal(rc, -ENOMEM);
    assert_null(rules);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(n, 1);
    free(rules);
  }
  inject_free(in);
}

static void oom__every_allocation_failed_once(void **state) {
  (void)state;
  assert_true(failmalloc_run(oom_inject_step, NULL) >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom__every_allocation_failed_once),
      cmocka_unit_test(parse__full_grpc_rule),
      cmocka_unit_test(parse__defaults_and_http),
      cmocka_unit_test(parse__wire_actions),
      cmocka_unit_test(parse__errors_name_the_part),
      cmocka_unit_test(match__count_spends_the_rule),
      cmocka_unit_test(match__target_service_protocol),
      cmocka_unit_test(match__first_live_rule_wins),
      cmocka_unit_test(match__probability_is_seeded),
      cmocka_unit_test(match__count_with_probability),
      cmocka_unit_test(match__random_delay_bounded_and_seeded),
      cmocka_unit_test(add__full_set_refused),
      cmocka_unit_test(config__fault_flag),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
