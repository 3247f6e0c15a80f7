/* cmocka tests for proto/number.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "number.h"

static void parse__in_range(void **state) {
  long v;
  (void)state;
  assert_int_equal(number_parse("0", 0, 10, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(number_parse("65535", 0, 65535, &v), 0);
  assert_int_equal(v, 65535);
}

static void parse__bad_input_untouched(void **state) {
  const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "11", "99999999999999999999"};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    long v = 7;
    assert_int_equal(number_parse(bad[i], 0, 10, &v), -EINVAL);
    assert_int_equal(v, 7);
  }
  assert_int_equal(number_parse("5", 6, 10, &(long){0}), -EINVAL);
  assert_int_equal(number_parse(NULL, 0, 10, &(long){0}), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse__in_range),
      cmocka_unit_test(parse__bad_input_untouched),
  };
  return cmocka_run_group_tests_name("number", tests, NULL, NULL);
}
