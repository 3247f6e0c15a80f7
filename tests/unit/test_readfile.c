/* cmocka tests for proto/readfile.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "readfile.h"

/* A pipe holding `n` bytes of 'x', its write end closed. */
static int pipe_of(size_t n) {
  int p[2];
  char chunk[512];
  assert_int_equal(pipe(p), 0);
  memset(chunk, 'x', sizeof(chunk));
  while (n > 0) {
    size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
    assert_int_equal(write(p[1], chunk, k), (ssize_t)k);
    n -= k;
  }
  close(p[1]);
  return p[0];
}

static void read__exactly_max(void **state) {
  char *text = NULL;
  size_t len = 0;
  int fd = pipe_of(5000);
  (void)state;
  assert_int_equal(readfile_fd(fd, 5000, &text, &len), 0);
  assert_int_equal(len, 5000);
  assert_int_equal(strlen(text), 5000);
  free(text);
  close(fd);
}

static void read__empty(void **state) {
  char *text = NULL;
  int fd = pipe_of(0);
  (void)state;
  assert_int_equal(readfile_fd(fd, 10, &text, NULL), 0);
  assert_string_equal(text, "");
  free(text);
  close(fd);
}

static void read__one_past_max_is_efbig(void **state) {
  char *text = NULL;
  int fd = pipe_of(5001);
  (void)state;
  assert_int_equal(readfile_fd(fd, 5000, &text, NULL), -EFBIG);
  assert_null(text);
  close(fd);
}

static void read__bad_fd(void **state) {
  char *text = NULL;
  (void)state;
  assert_int_equal(readfile_fd(-1, 10, &text, NULL), -EBADF);
  assert_null(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(read__exactly_max),
      cmocka_unit_test(read__empty),
      cmocka_unit_test(read__one_past_max_is_efbig),
      cmocka_unit_test(read__bad_fd),
  };
  return cmocka_run_group_tests_name("readfile", tests, NULL, NULL);
}
