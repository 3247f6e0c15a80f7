/*
 * timeline: scheduled status changes per service, fed into the registry
 * through registry_set() like any other writer, so Watch streams see every
 * step (issue 3: slow start, flapping, drain).
 *
 * Spec syntax: comma-separated STATUS:DURATION steps, e.g.
 *   "NOT_SERVING:2s,SERVING:10s,NOT_SERVING:1s"
 * Each step holds its status for its duration. Without repeat the last
 * status stays once the timeline ends (the last duration may then be
 * left out: "NOT_SERVING:3s,SERVING"); with repeat it starts over and
 * every step needs a duration > 0.
 *
 * One scheduler thread serves every timeline. Thread safety: all
 * timelines_* calls may come from any thread. A timeline stops by itself
 * when the registry refuses a set (shut down, H-WATCH-9).
 */
#ifndef HC_TIMELINE_H
#define HC_TIMELINE_H

#include <stddef.h>

#include "registry.h"

typedef struct timeline_step {
  int status;       /* 0-3 */
  long duration_ms; /* -1: hold forever (last step without repeat) */
} timeline_step;

typedef struct timeline_spec {
  timeline_step *steps; /* owned; free with timeline_spec_free */
  size_t count;
  int repeat;
} timeline_spec;

#define TIMELINE_ERR_MAX 160

/* Parses `text`; on error returns -EINVAL and writes a reason naming the
 * bad step into err (errlen bytes; TIMELINE_ERR_MAX is enough), leaving
 * *out zeroed; -ENOMEM. */
int timeline_parse(const char *text, int repeat, timeline_spec *out, char *err, size_t errlen);
void timeline_spec_free(timeline_spec *spec);

typedef struct timelines timelines;

/* Starts the scheduler over `reg` (borrowed; must outlive it). */
int timelines_new(registry *reg, timelines **out);
/* Stops the scheduler thread and frees every timeline. Safe with NULL. */
void timelines_free(timelines *t);

/* Runs `spec` (copied) for `service` from now, replacing any timeline it
 * had; the first step is applied before this returns. */
int timelines_set(timelines *t, const char *service, const timeline_spec *spec);

/* Stops the timeline of `service`, leaving its current status. -ENOENT if
 * it had none. */
int timelines_stop(timelines *t, const char *service);

/* Stops every timeline, leaving each status where it is; the scheduler
 * keeps running and takes new timelines. For a drain: the timelines object
 * stays valid for the control API (admin.h) that borrows it. */
void timelines_stop_all(timelines *t);

/* Number of running timelines. */
size_t timelines_count(timelines *t);

/* One running timeline as timelines_snapshot() saw it. A timeline that
 * reached its held last step is over and no longer listed. */
typedef struct timeline_info {
  char *service;      /* owned */
  timeline_spec spec; /* owned copy */
  size_t step;        /* index of the step in force */
  long next_in_ms;    /* until the next step, >= 0 */
} timeline_info;

/* Copies every running timeline into a new array (*out, *n; NULL and 0 when
 * none run), in no particular order. -ENOMEM leaves *out NULL. */
int timelines_snapshot(timelines *t, timeline_info **out, size_t *n);
void timelines_snapshot_free(timeline_info *infos, size_t n);

#endif
