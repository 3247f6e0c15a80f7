/*
 * failmalloc: out-of-memory tests for the modules that return -ENOMEM
 * (docs/oom.md), as nghttp2's TEST_FAILMALLOC_RUN and curl's `runtests -t`
 * do it: run an operation once counting its allocations (N), then N more
 * times, failing allocation 1, 2, ... N in turn. Each run must end with the
 * error returned and the state unchanged, or (when the failed allocation
 * was optional) with success; never a crash, and no leak under ASan
 * (make test-asan runs these tests under LeakSanitizer).
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * strdup, strndup and asprintf (tests/CMakeLists.txt, failmalloc_tests), so every
 * allocation our code makes goes through here; jansson's are routed here
 * too (json_set_alloc_funcs). Allocations inside other shared libraries
 * (protobuf-c, libyaml, libxml2) are not counted.
 *
 * Not thread-safe: one step at a time (counters are atomic, so a module's
 * own threads may allocate meanwhile).
 */
#ifndef HC_TEST_FAILMALLOC_H
#define HC_TEST_FAILMALLOC_H

/* One run of the operation under test. It sets up what it needs, calls
 * failmalloc_begin() right before the operation and failmalloc_end() right
 * after it (only allocations in between count), then checks the outcome:
 * when failmalloc_end() returned 1, the error path; else the success path.
 * It undoes its setup before returning. A step may have several
 * begin/end windows (an encode, then a decode): allocations count across
 * them, and a step returns once one of them failed. */
typedef void (*failmalloc_step)(void *arg);

/* Runs `step` with nothing failing, then once per allocation it made,
 * failing that one. Returns the number of allocations N (the test fails if
 * N is 0: the operation allocates nothing and the test proves nothing). */
long failmalloc_run(failmalloc_step step, void *arg);

void failmalloc_begin(void);
/* 1 when the allocation chosen for this run failed between begin and end. */
int failmalloc_end(void);

#endif
