/*
 * wait: see wait.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "wait.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "grpc_client.h"
#include "monotime.h"
#include "probe.h"
#include "wire.h"

#define SEEN_MAX 160

typedef struct waiter {
  const wait_options *o;
  long long t0;        /* monotime_ms() */
  char last[SEEN_MAX]; /* what was printed last, to print only changes */
} waiter;

static int elapsed_ms(const waiter *w) { return (int)(monotime_ms() - w->t0); }

static int left_ms(const waiter *w) {
  int left = w->o->timeout_ms - elapsed_ms(w);
  return left > 0 ? left : 0;
}

static void seen(waiter *w, const char *what) {
  if (strcmp(w->last, what) == 0)
    return;
  snprintf(w->last, sizeof(w->last), "%s", what);
  if (w->o->progress) {
    fprintf(w->o->progress, "wait: %s %s after %.1fs\n", w->o->target, what,
            elapsed_ms(w) / 1000.0);
    fflush(w->o->progress);
  }
}

static void pause_ms(const waiter *w) {
  int ms = w->o->interval_ms < left_ms(w) ? w->o->interval_ms : left_ms(w);
  monotime_sleep_ms(ms);
}

static int min_ms(int a, int b) { return a < b ? a : b; }

/* Reads Watch until `want`; 1 when it came, 0 when the stream could not
 * be used (it then printed what it saw), -ETIMEDOUT when time ran out. */
static int watch_until(waiter *w, gclient *gc) {
  gclient_stream *s = NULL;
  int status, rc;

  if (gclient_watch(gc, w->o->service, left_ms(w) + 1, &s) < 0)
    return 0;
  while ((rc = gclient_stream_next_status(s, left_ms(w) + 1, &status)) == 0) {
    seen(w, wire_status_name(status));
    if (status == w->o->want) {
      gclient_stream_close(s);
      return 1;
    }
  }
  gclient_stream_close(s);
  return rc == -ETIMEDOUT || left_ms(w) == 0 ? -ETIMEDOUT : 0;
}

/* One Check; 1 when it gave `want`. */
static int check_once(waiter *w, gclient *gc) {
  gclient_reply r;
  char what[SEEN_MAX];
  int status = -1;

  gclient_check(gc, w->o->service, min_ms(w->o->rpc_timeout_ms, left_ms(w) + 1), &r);
  if (gclient_reply_single_status(&r, &status) == 0)
    snprintf(what, sizeof(what), "%s", wire_status_name(status));
  else if (r.code == WIRE_CODE_NOT_FOUND)
    snprintf(what, sizeof(what), "%s", wire_status_name(status = WIRE_SERVICE_UNKNOWN));
  else
    snprintf(what, sizeof(what), "not answering (%s%s%.100s)",
             wire_code_name(r.code) ? wire_code_name(r.code) : "invalid code",
             r.details[0] ? ": " : "", r.details);
  gclient_reply_free(&r);
  seen(w, what);
  return status == w->o->want;
}

static int wait_grpc(waiter *w) {
  while (left_ms(w) > 0) {
    gclient *gc = NULL;
    int rc = 0;
    if (gclient_open(w->o->target, &gc) == 0) {
      rc = watch_until(w, gc);
      if (rc == 0)
        rc = check_once(w, gc);
      gclient_close(gc);
    }
    if (rc == 1)
      return WAIT_REACHED;
    if (rc == -ETIMEDOUT)
      break;
    pause_ms(w);
  }
  return WAIT_TIMEOUT;
}

static int wait_http(waiter *w) {
  probe_options po = {.protocol = PROTOCOL_HTTP, .target = w->o->target, .service = w->o->service};
  probe_result r;
  char what[SEEN_MAX];

  while (left_ms(w) > 0) {
    po.connect_timeout_ms = min_ms(w->o->rpc_timeout_ms, left_ms(w) + 1);
    po.rpc_timeout_ms = po.connect_timeout_ms;
    probe_once(&po, &r);
    int status = r.exit_code == PROBE_EXIT_SERVING     ? WIRE_SERVING
                 : r.exit_code == PROBE_EXIT_UNHEALTHY ? WIRE_NOT_SERVING
                                                       : -1;
    if (status >= 0)
      snprintf(what, sizeof(what), "%s (HTTP %ld)", wire_status_name(status), r.http_status);
    else
      snprintf(what, sizeof(what), "not answering (%.120s)", r.detail);
    seen(w, what);
    if (status == w->o->want)
      return WAIT_REACHED;
    pause_ms(w);
  }
  return WAIT_TIMEOUT;
}

int wait_run(const wait_options *o) {
  waiter w = {.o = o};
  int rc;

  w.t0 = monotime_ms();
  rc = o->protocol == PROTOCOL_HTTP ? wait_http(&w) : wait_grpc(&w);
  if (o->progress) {
    if (rc == WAIT_REACHED)
      fprintf(o->progress, "wait: %s reached %s after %.1fs\n", o->target,
              wire_status_name(o->want), elapsed_ms(&w) / 1000.0);
    else
      fprintf(o->progress, "wait: %s did not reach %s within %.1fs (last: %s)\n", o->target,
              wire_status_name(o->want), o->timeout_ms / 1000.0, w.last[0] ? w.last : "nothing");
  }
  return rc;
}
