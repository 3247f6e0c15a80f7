/* timeline: parse schedules and run them on one scheduler thread.
 *
 * THREADS: timelines_* may be called from any thread; one scheduler
 * thread applies the steps. t->lock guards the list of running timelines
 * and is what the scheduler waits on (t->cond, CLOCK_MONOTONIC).
 * LOCK ORDER: t->lock -> the registry's lock (a step's registry_set runs
 * under t->lock) -> what the registry's notify callbacks take. So nothing
 * may call timelines_* while holding the registry's lock. */
#define _GNU_SOURCE /* strdup, strtok_r */
#include "timeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "errbuf.h"
#include "monocond.h"
#include "wire.h"

int timeline_parse(const char *text, int repeat, timeline_spec *out, char *err, size_t errlen) {
  char *copy = NULL, *save = NULL, *tok;
  timeline_spec spec = {0};
  size_t cap = 0;
  int rv = -EINVAL;

  memset(out, 0, sizeof(*out));
  if (!text || !*text)
    return errbuf_fail(err, errlen, -EINVAL, "empty timeline");
  copy = strdup(text);
  if (!copy)
    return -ENOMEM;
  for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *colon = strchr(tok, ':');
    timeline_step step = {.duration_ms = -1};

    if (colon)
      *colon = '\0';
    if (wire_status_parse(tok, &step.status) < 0) {
      errbuf_fail(err, errlen, -EINVAL, "step %zu: unknown status '%s'", spec.count + 1, tok);
      goto fail;
    }
    if (colon && (duration_parse(colon + 1, &step.duration_ms) < 0 || step.duration_ms == 0)) {
      errbuf_fail(err, errlen, -EINVAL, "step %zu: bad duration '%s' (e.g. 500ms, 2s)",
                  spec.count + 1, colon + 1);
      goto fail;
    }
    if (spec.count == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      timeline_step *grown = realloc(spec.steps, ncap * sizeof(*grown));
      if (!grown) {
        rv = -ENOMEM;
        goto fail;
      }
      spec.steps = grown;
      cap = ncap;
    }
    spec.steps[spec.count++] = step;
  }
  if (spec.count == 0) {
    errbuf_fail(err, errlen, -EINVAL, "empty timeline");
    goto fail;
  }
  /* Only the last step may hold forever, and only without repeat. */
  for (size_t i = 0; i < spec.count; i++) {
    int last = i + 1 == spec.count;
    if (spec.steps[i].duration_ms < 0 && (!last || repeat)) {
      errbuf_fail(err, errlen, -EINVAL, "step %zu: needs a duration (STATUS:DURATION)%s", i + 1,
                  repeat ? " when repeating" : "");
      goto fail;
    }
  }
  spec.repeat = repeat;
  *out = spec;
  free(copy);
  return 0;
fail:
  free(spec.steps);
  free(copy);
  return rv;
}

void timeline_spec_free(timeline_spec *spec) {
  if (!spec)
    return;
  free(spec->steps);
  memset(spec, 0, sizeof(*spec));
}

typedef struct running {
  char *service;
  timeline_spec spec;
  size_t step;
  struct timespec next_at; /* CLOCK_MONOTONIC; tv_sec < 0: never */
  struct running *next;
} running;

struct timelines {
  registry *reg;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  running *list;
  int stopping;
};

static int ts_before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A deep copy of `from` into *to; -ENOMEM leaves to->steps NULL. */
static int spec_copy(const timeline_spec *from, timeline_spec *to) {
  to->steps = malloc(from->count * sizeof(*from->steps));
  if (!to->steps)
    return -ENOMEM;
  memcpy(to->steps, from->steps, from->count * sizeof(*from->steps));
  to->count = from->count;
  to->repeat = from->repeat;
  return 0;
}

static void running_free(running *r) {
  free(r->service);
  timeline_spec_free(&r->spec);
  free(r);
}

/* Applies the current step; returns 0 while the timeline goes on, 1 when
 * it is over (held forever, or refused by a shut-down registry). */
static int apply_step(timelines *t, running *r) {
  const timeline_step *s = &r->spec.steps[r->step];

  if (registry_set(t->reg, r->service, s->status) < 0)
    return 1;
  if (s->duration_ms < 0)
    return 1;
  r->next_at = monocond_after(s->duration_ms);
  return 0;
}

/* Moves past the step whose time is up; 1 when the timeline ends. */
static int advance(timelines *t, running *r) {
  r->step++;
  if (r->step == r->spec.count) {
    if (!r->spec.repeat)
      return 1; /* the last status stays */
    r->step = 0;
  }
  return apply_step(t, r);
}

static void *scheduler(void *arg) {
  timelines *t = arg;

  pthread_mutex_lock(&t->lock);
  while (!t->stopping) {
    struct timespec now, earliest = {0};
    int have = 0;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (running **pp = &t->list; *pp;) {
      running *r = *pp;
      if (!ts_before(&now, &r->next_at) && advance(t, r)) {
        *pp = r->next;
        running_free(r);
        continue;
      }
      if (!have || ts_before(&r->next_at, &earliest))
        earliest = r->next_at;
      have = 1;
      pp = &r->next;
    }
    if (have)
      pthread_cond_timedwait(&t->cond, &t->lock, &earliest);
    else
      pthread_cond_wait(&t->cond, &t->lock);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

int timelines_new(registry *reg, timelines **out) {
  timelines *t = calloc(1, sizeof(*t));

  if (!t)
    return -ENOMEM;
  t->reg = reg;
  pthread_mutex_init(&t->lock, NULL);
  monocond_init(&t->cond);
  if (pthread_create(&t->thread, NULL, scheduler, t) != 0) {
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    return -EAGAIN;
  }
  *out = t;
  return 0;
}

void timelines_free(timelines *t) {
  if (!t)
    return;
  pthread_mutex_lock(&t->lock);
  t->stopping = 1;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->thread, NULL);
  timelines_stop_all(t);
  pthread_cond_destroy(&t->cond);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

/* Unlinks and frees the timeline of `service`; 0, or -ENOENT. Locked. */
static int remove_locked(timelines *t, const char *service) {
  for (running **pp = &t->list; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->service, service) == 0) {
      running *r = *pp;
      *pp = r->next;
      running_free(r);
      return 0;
    }
  }
  return -ENOENT;
}

int timelines_set(timelines *t, const char *service, const timeline_spec *spec) {
  running *r;

  if (!service || !spec || spec->count == 0)
    return -EINVAL;
  r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->service = strdup(service);
  if (!r->service || spec_copy(spec, &r->spec) < 0) {
    running_free(r);
    return -ENOMEM;
  }

  pthread_mutex_lock(&t->lock);
  remove_locked(t, service);
  if (apply_step(t, r)) {
    running_free(r); /* a single held step: applied, nothing to schedule */
  } else {
    r->next = t->list;
    t->list = r;
    pthread_cond_signal(&t->cond);
  }
  pthread_mutex_unlock(&t->lock);
  return 0;
}

int timelines_stop(timelines *t, const char *service) {
  int rv;

  pthread_mutex_lock(&t->lock);
  rv = remove_locked(t, service);
  pthread_mutex_unlock(&t->lock);
  return rv;
}

void timelines_stop_all(timelines *t) {
  pthread_mutex_lock(&t->lock);
  while (t->list) {
    running *r = t->list;
    t->list = r->next;
    running_free(r);
  }
  pthread_mutex_unlock(&t->lock);
}

size_t timelines_count(timelines *t) {
  size_t n = 0;

  pthread_mutex_lock(&t->lock);
  for (running *r = t->list; r; r = r->next)
    n++;
  pthread_mutex_unlock(&t->lock);
  return n;
}

/* Milliseconds from now until `at` (CLOCK_MONOTONIC), 0 if past. */
static long ms_until(const struct timespec *at) {
  struct timespec now;
  long ms;

  clock_gettime(CLOCK_MONOTONIC, &now);
  ms = (long)(at->tv_sec - now.tv_sec) * 1000 + (at->tv_nsec - now.tv_nsec) / 1000000L;
  return ms > 0 ? ms : 0;
}

/* Copies r into *info; -ENOMEM leaves nothing to free. */
static int info_copy(const running *r, timeline_info *info) {
  info->service = strdup(r->service);
  if (!info->service || spec_copy(&r->spec, &info->spec) < 0) {
    free(info->service);
    return -ENOMEM;
  }
  info->step = r->step;
  info->next_in_ms = ms_until(&r->next_at);
  return 0;
}

int timelines_snapshot(timelines *t, timeline_info **out, size_t *n) {
  timeline_info *infos = NULL;
  size_t count = 0, done = 0;
  int rv = 0;

  *out = NULL;
  *n = 0;
  pthread_mutex_lock(&t->lock);
  for (running *r = t->list; r; r = r->next)
    count++;
  if (count)
    infos = calloc(count, sizeof(*infos));
  if (count && !infos)
    rv = -ENOMEM;
  for (running *r = t->list; r && rv == 0; r = r->next) {
    rv = info_copy(r, &infos[done]);
    if (rv == 0)
      done++;
  }
  pthread_mutex_unlock(&t->lock);
  if (rv < 0) {
    timelines_snapshot_free(infos, done);
    return rv;
  }
  *out = infos;
  *n = count;
  return 0;
}

void timelines_snapshot_free(timeline_info *infos, size_t n) {
  for (size_t i = 0; infos && i < n; i++) {
    free(infos[i].service);
    timeline_spec_free(&infos[i].spec);
  }
  free(infos);
}
