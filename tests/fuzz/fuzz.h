/*
 * fuzz: what the libFuzzer targets under tests/fuzz share. Each target is
 * built twice: against libFuzzer under clang (HC_FUZZ=ON, scripts/fuzz),
 * and against replay.c in the normal build, where ctest replays its corpus
 * and regression inputs (tests/fuzz/corpus/<target>, regress/<target>).
 */
#ifndef HC_FUZZ_H
#define HC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a malloc'd NUL-terminated string (cut at its first NUL, as
 * a C caller would see it); aborts when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);

  if (!s)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* An invariant the code under test broke: abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond))         \
      abort();           \
  } while (0)

#endif
