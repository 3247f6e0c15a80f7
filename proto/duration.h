/*
 * duration: "250ms", "2s", "1.5s", "3m", or a bare integer of milliseconds,
 * as both programs' flags and the YAML config accept them.
 * Thread-safe (no state).
 */
#ifndef HC_DURATION_H
#define HC_DURATION_H

/* Parses `text` into *ms. -EINVAL (and *ms untouched) for anything else:
 * empty, negative, trailing garbage, an unknown unit, or over 24 h. */
int duration_parse(const char *text, long *ms);

#endif
