/* cmocka tests for proto/duration.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "duration.h"

static void parse__units(void **state) {
  long ms;
  (void)state;
  assert_int_equal(duration_parse("250ms", &ms), 0);
  assert_int_equal(ms, 250);
  assert_int_equal(duration_parse("2s", &ms), 0);
  assert_int_equal(ms, 2000);
  assert_int_equal(duration_parse("1.5s", &ms), 0);
  assert_int_equal(ms, 1500);
  assert_int_equal(duration_parse("3m", &ms), 0);
  assert_int_equal(ms, 180000);
  assert_int_equal(duration_parse("0ms", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(duration_parse("0.25s", &ms), 0);
  assert_int_equal(ms, 250);
  assert_int_equal(duration_parse("2.0ms", &ms), 0);
  assert_int_equal(ms, 2);
  assert_int_equal(duration_parse("1440m", &ms), 0);
  assert_int_equal(ms, DURATION_MAX_MS);
}

static void parse__bad_input_untouched(void **state) {
  /* One grammar for both programs (issue 13): a unit is required, no
   * sign, no exponent, no hex, no spaces, no fraction of a millisecond. */
  const char *bad[] = {"",
                       "s",
                       "-1s",
                       "+1s",
                       "2x",
                       "2 s",
                       "1.5",
                       "1.5ms",
                       "25h",
                       "2sec",
                       "90000000s",
                       " 2s",
                       "2s ",
                       "nan",
                       "inf",
                       "40",
                       "0",
                       "1e3ms",
                       "0x10ms",
                       ".5s",
                       "1.s",
                       "1..5s",
                       "1.0005s",
                       "1441m",
                       "9999999999999ms",
                       "1.0000000001s",
                       "2S",
                       "2MS"};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    long ms = 7;
    assert_int_equal(duration_parse(bad[i], &ms), -EINVAL);
    assert_int_equal(ms, 7);
  }
  assert_int_equal(duration_parse(NULL, &(long){0}), -EINVAL);
}

/* Each flag has its own bounds; the grammar is the same. */
static void parse_range__bounds_per_flag(void **state) {
  long ms = 7;
  (void)state;
  assert_int_equal(duration_parse_range("1ms", 1, 3600000, &ms), 0);
  assert_int_equal(ms, 1);
  assert_int_equal(duration_parse_range("3600s", 1, 3600000, &ms), 0);
  assert_int_equal(ms, 3600000);
  ms = 7;
  assert_int_equal(duration_parse_range("0ms", 1, 3600000, &ms), -EINVAL);
  assert_int_equal(duration_parse_range("3601s", 1, 3600000, &ms), -EINVAL);
  assert_int_equal(duration_parse_range("61m", 1, 3600000, &ms), -EINVAL);
  assert_int_equal(ms, 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse__units),
      cmocka_unit_test(parse__bad_input_untouched),
      cmocka_unit_test(parse_range__bounds_per_flag),
  };
  return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
