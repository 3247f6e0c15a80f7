/*
 * watchdog: see watchdog.h. Each wait holds one slot: the monotime_ms()
 * it should be back by, 0 when free.
 */
#include "watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "monotime.h"

#define SLOTS 256 /* waits at once: --parallel 64 threads, a few calls each */

static _Atomic long long slots[SLOTS];
static atomic_int armed;
static int exit_code;
static const char *what;

static void *monitor(void *arg) {
  (void)arg;
  for (;;) {
    long long now = monotime_ms();
    for (int i = 0; i < SLOTS; i++) {
      long long until = atomic_load(&slots[i]);
      if (until && now > until + WATCHDOG_GRACE_MS) {
        fprintf(stderr, "health-conformance: %s\n", what);
        _exit(exit_code);
      }
    }
    monotime_sleep_ms(WATCHDOG_TICK_MS);
  }
  return NULL;
}

int watchdog_arm(int code, const char *text) {
  pthread_t t;
  int rc;

  exit_code = code;
  what = text;
  rc = pthread_create(&t, NULL, monitor, NULL);
  if (rc != 0)
    return -rc;
  pthread_detach(t);
  atomic_store(&armed, 1);
  return 0;
}

int watchdog_enter(long long ms) {
  long long until = monotime_ms() + (ms > 0 ? ms : 0);

  if (!atomic_load(&armed))
    return -1;
  for (int i = 0; i < SLOTS; i++) {
    long long free_slot = 0;
    if (atomic_compare_exchange_strong(&slots[i], &free_slot, until))
      return i;
  }
  return -1; /* every slot taken: this wait goes unwatched */
}

void watchdog_leave(int token) {
  if (token >= 0)
    atomic_store(&slots[token], 0);
}
