/*
 * number: whole decimal numbers from flags, config and request bodies, the
 * one parser both programs use. Thread-safe (no state).
 */
#ifndef HC_NUMBER_H
#define HC_NUMBER_H

/* Parses `text`, digits only (no sign, no space, no trailing text), into
 * *out when it lies in [min, max]. -EINVAL (and *out untouched) otherwise. */
int number_parse(const char *text, long min, long max, long *out);

#endif
