/*
 * monotime: the runner's one clock for deadlines and elapsed times, and
 * its one pause. Thread-safe (no state).
 */
#ifndef HC_MONOTIME_H
#define HC_MONOTIME_H

/* CLOCK_MONOTONIC in milliseconds: only differences mean anything. */
long long monotime_ms(void);

/* Sleeps ms milliseconds (none when ms <= 0), resuming after a signal. */
void monotime_sleep_ms(int ms);

#endif
