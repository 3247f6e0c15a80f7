/*
 * monocond: condition variables whose timed waits run on CLOCK_MONOTONIC,
 * immune to wall-clock steps (the engines' drain and idle waits, the
 * timeline scheduler, the runner's socket watch).
 * Thread-safe (no state).
 */
#ifndef HC_MONOCOND_H
#define HC_MONOCOND_H

#include <pthread.h>
#include <time.h>

/* pthread_cond_init with CLOCK_MONOTONIC. */
void monocond_init(pthread_cond_t *cond);
/* The absolute CLOCK_MONOTONIC time `ms` from now, for pthread_cond_timedwait
 * on a monocond. */
struct timespec monocond_after(long ms);

#endif
