/* journal: fixed-slot ring of requests seen.
 *
 * THREADS: any thread. j->lock guards the ring and the counters; it is a
 * leaf (nothing else is locked under it): journal_add holds it to copy a
 * record in, journal_to_json while it builds the JSON (jansson's
 * allocations, no I/O). */
#define _POSIX_C_SOURCE 200809L
#include "journal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
  struct timespec when;
  long deadline_ms;
  char protocol[8];
  char method[128];
  char service[128];
  char user_agent[128];
  char peer[64];
  char result[64];
} slot;

struct journal {
  pthread_mutex_t lock;
  slot *slots;
  size_t capacity;
  size_t next;    /* index the next record goes to */
  size_t count;   /* records held, <= capacity */
  size_t dropped; /* records overwritten since the last clear */
};

long journal_deadline_ms(const struct timespec *deadline, const struct timespec *arrived) {
  const long long max_sec = LLONG_MAX / 1000000000LL - 1; /* keeps ns below from overflowing */
  long long sec, ns, ms;

  if (!deadline)
    return -1;
  sec = (long long)deadline->tv_sec - (long long)arrived->tv_sec;
  if (sec > max_sec)
    sec = max_sec;
  ns = sec * 1000000000LL + (deadline->tv_nsec - arrived->tv_nsec);
  if (ns <= 0)
    return 0;
  ms = ns / 1000000; /* rounded down: never more than the client asked for */
  return ms > LONG_MAX ? LONG_MAX : (long)ms;
}

int journal_new(size_t capacity, journal **out) {
  journal *j = calloc(1, sizeof(*j));

  if (!j)
    return -ENOMEM;
  if (capacity) {
    j->slots = calloc(capacity, sizeof(*j->slots));
    if (!j->slots) {
      free(j);
      return -ENOMEM;
    }
  }
  j->capacity = capacity;
  pthread_mutex_init(&j->lock, NULL);
  *out = j;
  return 0;
}

void journal_free(journal *j) {
  if (!j)
    return;
  pthread_mutex_destroy(&j->lock);
  free(j->slots);
  free(j);
}

int journal_on(const journal *j) { return j && j->capacity; }

/* As snprintf(dst, size, "%s", src) (truncated, always terminated), without
 * the printf machinery: six of these run per call on the hot path. Returns
 * the bytes copied. */
static size_t copy_field(char *dst, size_t size, const char *src) {
  size_t n = src ? strnlen(src, size - 1) : 0;

  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
  return n;
}

void journal_join(char *out, size_t size, const char *a, const char *b) {
  size_t n = copy_field(out, size, a);

  if (b && n + 1 < size) {
    out[n++] = ' ';
    copy_field(out + n, size - n, b);
  }
}

void journal_add(journal *j, const journal_record *rec) {
  slot *s;

  if (!journal_on(j))
    return;
  pthread_mutex_lock(&j->lock);
  s = &j->slots[j->next];
  clock_gettime(CLOCK_REALTIME, &s->when);
  s->deadline_ms = rec->deadline_ms;
  copy_field(s->protocol, sizeof(s->protocol), rec->protocol);
  copy_field(s->method, sizeof(s->method), rec->method);
  copy_field(s->service, sizeof(s->service), rec->service);
  copy_field(s->user_agent, sizeof(s->user_agent), rec->user_agent);
  copy_field(s->peer, sizeof(s->peer), rec->peer);
  copy_field(s->result, sizeof(s->result), rec->result);
  j->next = (j->next + 1) % j->capacity;
  if (j->count < j->capacity)
    j->count++;
  else
    j->dropped++;
  pthread_mutex_unlock(&j->lock);
}

void journal_clear(journal *j) {
  pthread_mutex_lock(&j->lock);
  j->next = 0;
  j->count = 0;
  j->dropped = 0;
  pthread_mutex_unlock(&j->lock);
}

/* RFC 3339 UTC with milliseconds. */
static void format_time(const struct timespec *ts, char out[32]) {
  struct tm tm;

  gmtime_r(&ts->tv_sec, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + 19, 32 - 19, ".%03dZ", (int)(ts->tv_nsec / 1000000));
}

static json_t *slot_to_json(const slot *s) {
  char when[32];

  format_time(&s->when, when);
  return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "time", when, "protocol",
                   s->protocol, "method", s->method, "service", s->service, "deadline_ms",
                   s->deadline_ms < 0 ? json_null() : json_integer(s->deadline_ms), "user_agent",
                   s->user_agent, "peer", s->peer, "result", s->result);
}

json_t *journal_to_json(journal *j) {
  json_t *records = json_array(), *root = NULL;

  if (!records)
    return NULL;
  pthread_mutex_lock(&j->lock);
  for (size_t i = 0; i < j->count; i++) {
    size_t idx = (j->next + j->capacity - j->count + i) % j->capacity;
    if (json_array_append_new(records, slot_to_json(&j->slots[idx])) < 0)
      goto out;
  }
  root = json_pack("{s:I, s:I, s:O}", "capacity", (json_int_t)j->capacity, "dropped",
                   (json_int_t)j->dropped, "records", records);
out:
  pthread_mutex_unlock(&j->lock);
  json_decref(records);
  return root;
}
