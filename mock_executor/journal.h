/*
 * journal: a bounded ring of the requests the mock saw (every gRPC call and
 * HTTP request), so users can assert what their client sent: deadline,
 * service name, user-agent (issue 3). GET /v1/journal returns it.
 *
 * Recording copies into fixed-size slots (long strings are truncated), so
 * the hot path allocates nothing. Thread safety: every call may come from
 * any thread (one mutex).
 */
#ifndef HC_JOURNAL_H
#define HC_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

typedef struct journal journal;

/* What a transport reports about one request. Strings may be NULL; they
 * are copied (truncated to the slot sizes below). */
typedef struct journal_record {
  const char *protocol; /* "grpc" or "http" */
  const char *method;   /* gRPC path, or "GET /health/x" */
  const char *service;  /* health service name asked for, if any */
  long deadline_ms;     /* time left when it arrived; -1: no deadline */
  const char *user_agent;
  const char *peer;
  const char *result; /* "OK SERVING", "NOT_FOUND", "200", ... */
} journal_record;

/* The deadline_ms of a request that arrived at `arrived` with `deadline`
 * (both CLOCK_MONOTONIC): whole milliseconds between them, rounded down,
 * so never more than the client asked for; 0 when the deadline had
 * already passed; -1 when `deadline` is NULL (none was sent). Pure. */
long journal_deadline_ms(const struct timespec *deadline, const struct timespec *arrived);

/* capacity: records kept (oldest dropped first); 0 disables recording. */
int journal_new(size_t capacity, journal **out);
void journal_free(journal *j);

/* Nonzero when `j` keeps records (capacity > 0). NULL-safe. Transports
 * check it before gathering a record's fields (the peer string, the
 * user-agent, the result text), so --journal-size 0 costs a Check
 * nothing. */
int journal_on(const journal *j);

/* "A B" (or "A" when b is NULL) into out (size > 0 bytes), truncated like
 * snprintf: a record's method or result text. A "%s %s" snprintf was half
 * the journal's cost per Check (about 850 of 1,700 instructions,
 * callgrind). Pure. */
void journal_join(char *out, size_t size, const char *a, const char *b);

/* Records `rec` with the current wall-clock time. */
void journal_add(journal *j, const journal_record *rec);

/* Drops every record. */
void journal_clear(journal *j);

/* {"capacity": N, "dropped": D, "records": [{"time": "...Z", "protocol",
 * "method", "service", "deadline_ms" (null when none), "user_agent",
 * "peer", "result"}, ...]} oldest first. New reference, caller decrefs;
 * NULL on allocation failure. */
json_t *journal_to_json(journal *j);

#endif
