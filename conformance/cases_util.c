/*
 * cases_util: helpers the case families share; see cases.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "control.h"
#include "monotime.h"
#include "wire.h"

/* The quiet window: long enough for a loopback server to have sent what
 * it was going to send, short enough to keep the suite fast. */
#define QUIET_MS 300

int cases_connect(const case_ctx *ctx, case_result *res, gclient **gc) {
  int rc = gclient_open(ctx->target, gc);
  if (rc < 0)
    case_fail(res, "a gRPC channel to the target", ctx->target, "cannot create a channel: %s",
              strerror(-rc));
  return rc;
}

void cases_name(const case_ctx *ctx, const char *suffix, char *buf, size_t size) {
  snprintf(buf, size, "%s-%s", ctx->service ? ctx->service : "hc-conformance", suffix);
}

int cases_set(const case_ctx *ctx, case_result *res, const char *service, int status) {
  char err[CONTROL_ERR_MAX] = "";
  int rc = control_set(ctx->control, service, status, err, sizeof(err));
  if (rc < 0)
    case_skip(res, "control hook could not set '%s' to %s: %s", service, wire_status_name(status),
              err);
  return rc;
}

int cases_remove(const case_ctx *ctx, const char *service) {
  char err[CONTROL_ERR_MAX];
  return ctx->control ? control_remove(ctx->control, service, err, sizeof(err)) : -ENOTSUP;
}

void cases_note(case_result *res, const char *fmt, ...) {
  size_t used = strnlen(res->message, sizeof(res->message));
  va_list ap;
  if (used + 2 >= sizeof(res->message))
    return;
  if (used) {
    memcpy(res->message + used, "; ", 3);
    used += 2;
  }
  va_start(ap, fmt);
  vsnprintf(res->message + used, sizeof(res->message) - used, fmt, ap);
  va_end(ap);
}

void cases_should(const case_ctx *ctx, case_result *res, const char *expected, const char *seen,
                  const char *fmt, ...) {
  char msg[CASE_TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (ctx->strict)
    case_fail(res, expected, seen, "%s", msg);
  else
    case_warn(res, expected, seen, "%s", msg);
}

int cases_wait_ms(const case_ctx *ctx, int cap) {
  int t = ctx->timeout_ms < cap ? ctx->timeout_ms : cap;
  return t > 0 ? t : 1;
}

int cases_quiet_ms(const case_ctx *ctx) { return cases_wait_ms(ctx, QUIET_MS); }

int cases_reply_healthy(const gclient_reply *r, int *status) {
  int st = -1;
  if (gclient_reply_single_status(r, &st) < 0)
    return 0;
  if (status)
    *status = st;
  return st == WIRE_SERVING || st == WIRE_NOT_SERVING;
}

void cases_stream_end(const gclient_stream *s, char *buf, size_t size) {
  const char *details = "";
  int code = gclient_stream_code(s, &details);
  const char *name = code >= 0 ? wire_code_name(code) : NULL;
  if (code < 0)
    snprintf(buf, size, "the stream ended without a status");
  else if (details[0])
    snprintf(buf, size, "the stream ended with %s (%s)", name ? name : "an invalid code", details);
  else
    snprintf(buf, size, "the stream ended with %s", name ? name : "an invalid code");
}

int cases_watch_first(const case_ctx *ctx, case_result *res, gclient *gc, const char *service,
                      int wait_ms, gclient_stream **s, int *status) {
  return cases_watch_open(res, gc, service, ctx->timeout_ms, wait_ms, s, status);
}

int cases_watch_open(case_result *res, gclient *gc, const char *service, int deadline_ms,
                     int wait_ms, gclient_stream **s, int *status) {
  char seen[CASE_TEXT_MAX];
  *s = NULL;
  int rc = gclient_watch(gc, service, deadline_ms, s);
  if (rc < 0) {
    case_fail(res, "a Watch call", strerror(-rc), "could not start Watch");
    return rc;
  }
  rc = gclient_stream_next_status(*s, wait_ms, status);
  if (rc == 0)
    return 0;
  if (rc == 1 && gclient_stream_code(*s, NULL) == WIRE_CODE_UNIMPLEMENTED) {
    case_skip(res, "Watch answers UNIMPLEMENTED (reported by watch/implemented)");
  } else if (rc == 1) {
    cases_stream_end(*s, seen, sizeof(seen));
    case_fail(res, "a first message", seen, "Watch '%s' ended before its first message", service);
  } else if (rc == -ETIMEDOUT) {
    snprintf(seen, sizeof(seen), "nothing within %d ms", wait_ms);
    case_fail(res, "a first message at once (H-WATCH-1)", seen, "Watch '%s' sent no first message",
              service);
  } else {
    case_fail(res, "a HealthCheckResponse", "an undecodable message",
              "Watch '%s' sent a message that does not decode", service);
  }
  gclient_stream_close(*s);
  *s = NULL;
  return rc < 0 ? rc : -EPIPE;
}

int cases_watch_until(gclient_stream *s, int want, int wait_ms, int *others, char *seen,
                      size_t size) {
  long long t0 = monotime_ms();
  *others = 0;
  int last = -1;
  for (;;) {
    int spent = (int)(monotime_ms() - t0);
    int status = 0;
    int rc = gclient_stream_next_status(s, wait_ms > spent ? wait_ms - spent : 1, &status);
    if (rc == 0 && status == want)
      return 0;
    if (rc == 0) {
      (*others)++;
      last = status;
      continue;
    }
    if (rc == 1)
      cases_stream_end(s, seen, size);
    else if (rc == -ETIMEDOUT && last >= 0)
      snprintf(seen, size, "%d other message(s), the last %s, then nothing within %d ms", *others,
               wire_status_name(last), wait_ms);
    else if (rc == -ETIMEDOUT)
      snprintf(seen, size, "no message within %d ms", wait_ms);
    else
      snprintf(seen, size, "an undecodable message");
    return rc;
  }
}

void cases_resume(const case_ctx *ctx, case_result *res) {
  char err[CONTROL_ERR_MAX] = "";

  if (ctx->control && control_resume(ctx->control, err, sizeof(err)) < 0)
    cases_note(res, "the target stays shut down (resume: %s): restart it before another run", err);
}

int cases_start_shutdown(const case_ctx *ctx, case_result *res) {
  char err[CONTROL_ERR_MAX] = "";
  int rc = control_shutdown(ctx->control, err, sizeof(err));
  if (rc < 0)
    case_skip(res, "control hook could not start a shutdown: %s", err);
  return rc;
}
