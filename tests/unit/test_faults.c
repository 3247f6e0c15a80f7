/* cmocka tests for mock_executor/faults.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"

static void catalogue__complete_unique_named(void **state) {
  size_t n;
  const fault_info *k = faults_catalogue(&n);
  (void)state;
  assert_int_equal(n, VIOLATE_COUNT);
  for (size_t i = 0; i < n; i++) {
    fault_knob back;
    assert_non_null(k[i].name);
    assert_non_null(k[i].breaks);
    assert_non_null(k[i].description);
    assert_int_equal(faults_parse(k[i].name, &back), 0);
    assert_int_equal(back, (fault_knob)i); /* names are unique */
  }
  assert_int_equal(faults_parse("no-such-knob", &(fault_knob){0}), -EINVAL);
  assert_int_equal(faults_parse(NULL, &(fault_knob){0}), -EINVAL);
}

/* Each knob names the one case it must make fail: T01-T37 or H01-H08. */
static void catalogue__breaks_names_one_case(void **state) {
  static const struct {
    fault_knob knob;
    const char *breaks;
  } http[] = {
      {VIOLATE_HTTP_ROOT_NOT_200, "H01"},
      {VIOLATE_HTTP_NOT_JSON, "H02"},
      {VIOLATE_HTTP_WRONG_CONTENT_TYPE, "H03"},
      {VIOLATE_HTTP_NO_KEEP_ALIVE, "H04"},
      {VIOLATE_HTTP_SLOW, "H05"},
      {VIOLATE_HTTP_OK_WHEN_UNHEALTHY, "H06"},
      {VIOLATE_HTTP_UNKNOWN_PATH_OK, "H07"},
      {VIOLATE_HTTP_HEAD_BROKEN, "H08"},
  };
  size_t n;
  const fault_info *k = faults_catalogue(&n);
  (void)state;
  for (size_t i = 0; i < n; i++) {
    const char *b = k[i].breaks;
    if (strlen(b) != 3 || (b[0] != 'T' && b[0] != 'H') || b[1] < '0' || b[1] > '9' || b[2] < '0' ||
        b[2] > '9')
      fail_msg("%s breaks \"%s\", not one case like T19 or H04", k[i].name, b);
  }
  for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++)
    assert_string_equal(k[http[i].knob].breaks, http[i].breaks);
}

static void set__on_off_describe(void **state) {
  faults *f;
  char buf[256];
  (void)state;
  assert_int_equal(faults_new(&f), 0);
  assert_false(faults_on(f, VIOLATE_WATCH_DUPLICATES));
  faults_set(f, VIOLATE_WATCH_DUPLICATES, 1);
  faults_set(f, VIOLATE_HTTP_NOT_JSON, 1);
  assert_true(faults_on(f, VIOLATE_WATCH_DUPLICATES));
  assert_false(faults_on(f, VIOLATE_WATCH_DROP_LAST));
  faults_describe(f, buf, sizeof(buf));
  assert_string_equal(buf, "watch-duplicates,http-not-json");
  faults_set(f, VIOLATE_WATCH_DUPLICATES, 0);
  assert_false(faults_on(f, VIOLATE_WATCH_DUPLICATES));
  assert_false(faults_on(NULL, VIOLATE_WATCH_DUPLICATES));
  faults_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(catalogue__complete_unique_named),
      cmocka_unit_test(catalogue__breaks_names_one_case),
      cmocka_unit_test(set__on_off_describe),
  };
  return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
