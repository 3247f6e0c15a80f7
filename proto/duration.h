/*
 * duration: the one duration grammar of both programs' flags, the mock's
 * YAML config and its timeline steps (issue 13):
 *
 *   DIGITS [ "." DIGITS ] UNIT      UNIT: "ms", "s" or "m"
 *
 * "250ms", "2s", "1.5s", "3m". A unit is required (a bare "5" could be 5 ms
 * or 5 s); no sign, no exponent, no spaces, no fraction of a millisecond.
 * Each flag has its own bounds (duration_parse_range).
 * Thread-safe (no state).
 */
#ifndef HC_DURATION_H
#define HC_DURATION_H

#define DURATION_MAX_MS (24L * 3600 * 1000) /* the grammar's own cap: 24 h */

/* Parses `text` into *ms within [min_ms, max_ms]. -EINVAL (and *ms
 * untouched) for anything else: empty, a sign, trailing garbage, no or an
 * unknown unit, a fraction of a millisecond, or outside the bounds. */
int duration_parse_range(const char *text, long min_ms, long max_ms, long *ms);

/* duration_parse_range(text, 0, DURATION_MAX_MS, ms). */
int duration_parse(const char *text, long *ms);

#endif
