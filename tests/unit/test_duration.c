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
  assert_int_equal(duration_parse("40", &ms), 0);
  assert_int_equal(ms, 40);
  assert_int_equal(duration_parse("0", &ms), 0);
  assert_int_equal(ms, 0);
}

static void parse__bad_input_untouched(void **state) {
  const char *bad[] = {"", "s", "-1s", "2x", "2 s", "1.5", "1.5ms", "25h", "2sec", "90000000s",
                       " 2s", "nan", "inf"};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    long ms = 7;
    assert_int_equal(duration_parse(bad[i], &ms), -EINVAL);
    assert_int_equal(ms, 7);
  }
  assert_int_equal(duration_parse(NULL, &(long){0}), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse__units),
      cmocka_unit_test(parse__bad_input_untouched),
  };
  return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
