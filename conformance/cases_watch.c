/*
 * cases_watch: the Watch family (T14-T23, T36) and the shutdown cases
 * (T24, T25), which run last and resume the target afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "control.h"
#include "monotime.h"
#include "wire.h"

#define FIRST_MESSAGE_MS 1000 /* T14 budget */
#define STAYS_OPEN_MS 3000    /* T15 default window */
#define FLIPS 100             /* T20 */
#define WATCHERS 5            /* T21 */
#define CANCELLED_WATCHES 200 /* T22 */
#define WATCH_BATCH 50        /* T22: opened at once, then cancelled */
#define OPEN_WATCHES 64       /* T36 */

/* What every Watch case shares: a client, at most one stream, and a
 * name of its own. watch_case() fills it, runs the case's body, then
 * closes `s` and the client and, when asked, removes the name. */
typedef struct {
  gclient *gc;
  gclient_stream *s;         /* the body's stream; closed after it */
  char name[CASES_NAME_MAX]; /* "<service>-<suffix>", or "" */
} watch_run;

typedef void watch_body(const case_ctx *ctx, case_result *res, watch_run *w);

enum { KEEP_NAME, REMOVE_NAME };

/* suffix NULL: the case watches "" and creates no name. */
static void watch_case(const case_ctx *ctx, case_result *res, const char *suffix, int remove,
                       watch_body *body) {
  watch_run w = {0};
  if (suffix)
    cases_name(ctx, suffix, w.name, sizeof(w.name));
  if (cases_connect(ctx, res, &w.gc) < 0)
    return;
  body(ctx, res, &w);
  gclient_stream_close(w.s);
  gclient_close(w.gc);
  if (suffix && remove == REMOVE_NAME)
    cases_remove(ctx, w.name);
}

/* T23: a server without Watch says UNIMPLEMENTED (clients then assume
 * healthy, H-WATCH-8); any other failure blocks client-side checking. */
static void implemented(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  int status = 0;
  int rc = gclient_watch(w->gc, "", ctx->timeout_ms, &w->s);
  if (rc == 0)
    rc = gclient_stream_next_status(w->s, ctx->timeout_ms, &status);
  if (rc == 0) {
    case_pass(res, "Watch is served (first message %s)", wire_status_name(status));
  } else if (rc == 1 && gclient_stream_code(w->s, NULL) == WIRE_CODE_UNIMPLEMENTED) {
    case_warn(res, "Watch served", "UNIMPLEMENTED",
              "Watch is not implemented: clients will assume the server healthy");
  } else if (rc == 1) {
    cases_stream_end(w->s, seen, sizeof(seen));
    case_fail(res, "a first message, or UNIMPLEMENTED", seen,
              "Watch failed with a code clients retry forever");
  } else {
    snprintf(seen, sizeof(seen), "%s",
             rc == -ETIMEDOUT ? "nothing before the timeout" : "an undecodable message");
    case_fail(res, "a first message, or UNIMPLEMENTED", seen, "Watch neither served nor refused");
  }
}

void case_watch_implemented(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, implemented);
}

/* T14 */
static void first_message(const case_ctx *ctx, case_result *res, watch_run *w) {
  int status = 0;
  int wait = cases_wait_ms(ctx, FIRST_MESSAGE_MS);
  if (cases_watch_first(ctx, res, w->gc, "", wait, &w->s, &status) != 0)
    return;
  if (status == WIRE_SERVING || status == WIRE_NOT_SERVING)
    case_pass(res, "first message %s within %d ms", wire_status_name(status), wait);
  else
    case_fail(res, "SERVING or NOT_SERVING", wire_status_name(status),
              "the first Watch message for '' must carry the current status");
}

void case_watch_first_message(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, first_message);
}

/* Watches for `window` ms after the first message; passes if no status
 * ends the stream (messages are fine: statuses may change). */
static void expect_open(const case_ctx *ctx, case_result *res, gclient_stream *s, int window,
                        const char *what) {
  char seen[CASE_TEXT_MAX], exp[64];
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc;
  snprintf(exp, sizeof(exp), "the stream open for %d ms", window);
  (void)ctx;
  while ((rc = gclient_stream_next(s, window, &buf, &len)) == 0) {
    free(buf);
    buf = NULL;
  }
  if (rc == -ETIMEDOUT) {
    case_pass(res, "%s stayed open for %d ms", what, window);
    return;
  }
  cases_stream_end(s, seen, sizeof(seen));
  case_fail(res, exp, seen, "%s must stay open; an ended Watch makes clients retry", what);
}

/* T15: the window is 3 s by default, shortened to a quarter of the case
 * timeout so the suite stays fast; a unary-like Watch ends at once. */
static void stays_open(const case_ctx *ctx, case_result *res, watch_run *w) {
  int status = 0;
  int window = ctx->timeout_ms / 4 < STAYS_OPEN_MS ? ctx->timeout_ms / 4 : STAYS_OPEN_MS;
  if (window < cases_quiet_ms(ctx))
    window = cases_quiet_ms(ctx);
  if (cases_watch_first(ctx, res, w->gc, "", ctx->timeout_ms, &w->s, &status) == 0)
    expect_open(ctx, res, w->s, window, "Watch ''");
}

void case_watch_stays_open(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, stays_open);
}

/* T16: an unknown name gets SERVICE_UNKNOWN and the call stays open. */
static void unknown_stays_open(const case_ctx *ctx, case_result *res, watch_run *w) {
  int status = 0;
  if (cases_watch_first(ctx, res, w->gc, w->name, ctx->timeout_ms, &w->s, &status) == 0) {
    if (status != WIRE_SERVICE_UNKNOWN)
      case_fail(res, "SERVICE_UNKNOWN", wire_status_name(status),
                "Watch of an unknown name must first send SERVICE_UNKNOWN");
    else
      expect_open(ctx, res, w->s, cases_wait_ms(ctx, 1000), "Watch of an unknown name");
  } else if (res->outcome == OUTCOME_FAIL && strstr(res->seen, "NOT_FOUND")) {
    snprintf(res->expected, sizeof(res->expected), "SERVICE_UNKNOWN and the stream kept open");
  }
}

/* The name was never registered: nothing to remove. */
void case_watch_unknown_stays_open(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t16-never-registered", KEEP_NAME, unknown_stays_open);
}

/* Opens Watch (with deadline_ms) on w->name set to `initial` through the
 * hook; the first message must be `initial`. 0 and w->s on success, res
 * filled otherwise. */
static int watch_controlled(const case_ctx *ctx, case_result *res, watch_run *w, int initial,
                            int deadline_ms) {
  int status = 0;
  if (cases_set(ctx, res, w->name, initial) < 0)
    return -1;
  if (cases_watch_open(res, w->gc, w->name, deadline_ms, ctx->timeout_ms, &w->s, &status) < 0)
    return -1;
  if (status != initial) {
    case_fail(res, wire_status_name(initial), wire_status_name(status),
              "the first Watch message must carry the current status");
    gclient_stream_close(w->s);
    w->s = NULL;
    return -1;
  }
  return 0;
}

/* T17 (Ctl) */
static void pushes_changes(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  int others = 0;
  if (watch_controlled(ctx, res, w, WIRE_SERVING, ctx->timeout_ms) != 0 ||
      cases_set(ctx, res, w->name, WIRE_NOT_SERVING) != 0)
    return;
  if (cases_watch_until(w->s, WIRE_NOT_SERVING, ctx->timeout_ms, &others, seen, sizeof(seen)) == 0)
    case_pass(res, "the change to NOT_SERVING was pushed");
  else
    case_fail(res, "a NOT_SERVING message", seen, "Watch did not push the status change");
}

void case_watch_pushes_changes(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t17", REMOVE_NAME, pushes_changes);
}

/* T18 (Ctl): the name is removed first, so the Watch begins on an
 * unknown name. */
static void unknown_then_registered(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  int status = 0, others = 0;
  cases_remove(ctx, w->name);
  if (cases_watch_first(ctx, res, w->gc, w->name, ctx->timeout_ms, &w->s, &status) != 0 ||
      cases_set(ctx, res, w->name, WIRE_SERVING) != 0)
    return;
  if (cases_watch_until(w->s, WIRE_SERVING, ctx->timeout_ms, &others, seen, sizeof(seen)) == 0)
    case_pass(res, "the name's registration (SERVING) reached a watcher that began on %s",
              wire_status_name(status));
  else
    case_fail(res, "a SERVING message", seen,
              "a name unknown when the Watch began was registered; its watcher heard nothing");
}

void case_watch_unknown_then_registered(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t18", REMOVE_NAME, unknown_then_registered);
}

/* T19 (Ctl): set SERVING twice, then NOT_SERVING: the next message must
 * be NOT_SERVING; a SERVING before it is a duplicate. */
static void no_duplicates(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  int others = 0;
  if (watch_controlled(ctx, res, w, WIRE_SERVING, ctx->timeout_ms) != 0 ||
      cases_set(ctx, res, w->name, WIRE_SERVING) != 0 ||
      cases_set(ctx, res, w->name, WIRE_SERVING) != 0 ||
      cases_set(ctx, res, w->name, WIRE_NOT_SERVING) != 0)
    return;
  int rc = cases_watch_until(w->s, WIRE_NOT_SERVING, ctx->timeout_ms, &others, seen, sizeof(seen));
  if (rc != 0)
    case_skip(res, "no change was pushed (%s); reported by watch/pushes-changes", seen);
  else if (others > 0)
    cases_should(ctx, res, "no message for an unchanged status", "duplicate SERVING message(s)",
                 "%d duplicate message(s) before the change (C++/Node/Python-sync do this)",
                 others);
  else
    case_pass(res, "setting the same status twice sent nothing");
}

void case_watch_no_duplicates(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t19", REMOVE_NAME, no_duplicates);
}

/* T20 (Ctl): a reader that stops reading while the status flips 100
 * times must, once it reads again, end on the last status (H-WATCH-6). */
static void slow_reader(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  /* The stream outlives FLIPS hook calls, each bounded by the timeout: a
   * command hook takes tens of ms a call, more than one timeout in all. */
  int deadline = ctx->timeout_ms * (FLIPS + 2);
  if (watch_controlled(ctx, res, w, WIRE_SERVING, deadline) != 0)
    return;
  for (int i = 0; i < FLIPS; i++) /* odd flips NOT_SERVING, so the last (99) is */
    if (cases_set(ctx, res, w->name, i % 2 ? WIRE_NOT_SERVING : WIRE_SERVING) < 0)
      return;
  int count = 0, last = -1, status = 0, rc;
  while ((rc = gclient_stream_next_status(w->s, cases_quiet_ms(ctx), &status)) == 0 &&
         count < 10 * FLIPS) {
    last = status;
    count++;
  }
  if (last == WIRE_NOT_SERVING) {
    case_pass(res, "%d message(s) after %d flips, the last NOT_SERVING", count, FLIPS);
    return;
  }
  if (rc == 1)
    cases_stream_end(w->s, seen, sizeof(seen));
  else
    snprintf(seen, sizeof(seen), "%d message(s), the last %s", count,
             last < 0 ? "none" : wire_status_name(last));
  case_fail(res, "the last message NOT_SERVING", seen,
            "the final status was lost for a slow reader");
}

void case_watch_slow_reader(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t20", REMOVE_NAME, slow_reader);
}

/* T21 (Ctl): the watchers are the body's own; w->s stays unused. */
static void all_watchers(const case_ctx *ctx, case_result *res, watch_run *w) {
  char seen[CASE_TEXT_MAX];
  gclient_stream *s[WATCHERS] = {0};
  int opened = 0, status = 0;
  if (cases_set(ctx, res, w->name, WIRE_SERVING) == 0) {
    for (; opened < WATCHERS; opened++)
      if (cases_watch_first(ctx, res, w->gc, w->name, ctx->timeout_ms, &s[opened], &status) < 0)
        break;
  }
  if (opened == WATCHERS && cases_set(ctx, res, w->name, WIRE_NOT_SERVING) == 0) {
    case_pass(res, "all %d watchers got the change", WATCHERS);
    for (int i = 0; i < WATCHERS; i++) {
      int others = 0;
      if (cases_watch_until(s[i], WIRE_NOT_SERVING, ctx->timeout_ms, &others, seen, sizeof(seen)) !=
          0) {
        char exp[64];
        snprintf(exp, sizeof(exp), "NOT_SERVING on all %d watchers", WATCHERS);
        case_fail(res, exp, seen, "watcher #%d (of %d, oldest first) missed the change", i + 1,
                  WATCHERS);
        break;
      }
    }
  }
  for (int i = 0; i < WATCHERS; i++)
    gclient_stream_close(s[i]);
}

void case_watch_all_watchers(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, "t21", REMOVE_NAME, all_watchers);
}

/* T22: 200 Watches opened and cancelled (RST_STREAM CANCEL) leave no
 * leaked slot: Watch and Check still work afterwards. */
static void cancel_no_leak(const case_ctx *ctx, case_result *res, watch_run *w) {
  gclient_stream *batch[WATCH_BATCH] = {0};
  int done = 0, status = 0, failed = 0;
  while (done < CANCELLED_WATCHES && !failed) {
    int n = 0;
    for (; n < WATCH_BATCH && !failed; n++)
      failed = cases_watch_first(ctx, res, w->gc, "", ctx->timeout_ms, &batch[n], &status) < 0;
    for (int i = 0; i < n; i++) {
      gclient_stream_close(batch[i]);
      batch[i] = NULL;
    }
    done += n - failed;
  }
  if (failed) {
    if (res->outcome == OUTCOME_FAIL)
      snprintf(res->message, sizeof(res->message),
               "Watch #%d failed after %d were opened and cancelled", done + 1, done);
    return;
  }
  gclient_reply r;
  char seen[CASE_TEXT_MAX];
  if (cases_watch_first(ctx, res, w->gc, "", ctx->timeout_ms, &w->s, &status) == 0) {
    gclient_check(w->gc, "", ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    if (cases_reply_healthy(&r, NULL))
      case_pass(res, "after %d cancelled Watches, Watch and Check still work", done);
    else
      case_fail(res, "OK with status SERVING or NOT_SERVING", seen,
                "Check failed after %d cancelled Watches", done);
    gclient_reply_free(&r);
  } else if (res->outcome == OUTCOME_FAIL) {
    snprintf(res->message, sizeof(res->message), "a new Watch failed after %d cancelled ones",
             done);
  }
}

void case_watch_cancel_no_leak(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, cancel_no_leak);
}

/* T36 helpers. The first Watch opens alone (a server without Watch SKIPs
 * here, once, H-WATCH-8); the other 63 start together and are judged
 * against one window, so the case takes at most three timeouts. Each
 * call's deadline outlives the case: a Watch that ended on its deadline
 * would give its stream back, and a server allowing one stream at a time
 * (max-streams-one) would then pass by opening them one after another. */
#define WATCH_CALL_MS(ctx) (3 * (ctx)->timeout_ms + 1000)

static int open_rest(const case_ctx *ctx, case_result *res, gclient *gc, gclient_stream **s) {
  for (int i = 1; i < OPEN_WATCHES; i++) {
    int rc = gclient_watch(gc, "", WATCH_CALL_MS(ctx), &s[i]);
    if (rc < 0) {
      case_fail(res, "a Watch call", strerror(-rc), "could not start Watch #%d", i + 1);
      return -1;
    }
  }
  return 0;
}

/* How many of Watches #2..#64 sent their first message within the window,
 * in any order; *first_bad is the first that did not (-1 if all did) and
 * *rc what the wait for it gave. */
static int first_messages(const case_ctx *ctx, gclient_stream **s, int *first_bad, int *rc) {
  long long end = monotime_ms() + ctx->timeout_ms;
  int status = 0, n = 0;
  *first_bad = -1;
  for (int i = 1; i < OPEN_WATCHES; i++) {
    long long left = end - monotime_ms();
    int got = gclient_stream_next_status(s[i], left > 0 ? (int)left : 0, &status);
    if (got == 0) {
      n++;
    } else if (*first_bad < 0) {
      *first_bad = i;
      *rc = got;
    }
  }
  return n;
}

/* H-WATCH-10, H-CHECK-6: with 64 Watches open on the connection, Check
 * still answers within the latency budget. */
static void check_beside(const case_ctx *ctx, case_result *res, gclient *gc) {
  gclient_reply r;
  char seen[CASE_TEXT_MAX], exp[64];
  int budget = ctx->latency_budget_ms > 0 ? ctx->latency_budget_ms : 500;
  gclient_check(gc, "", ctx->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  snprintf(exp, sizeof(exp), "a healthy reply within %d ms", budget);
  if (!cases_reply_healthy(&r, NULL))
    case_fail(res, exp, seen, "Check failed with %d Watches open", OPEN_WATCHES);
  else if (r.elapsed_ms >= budget)
    case_fail(res, exp, "a reply later than that", "Check took %d ms with %d Watches open",
              r.elapsed_ms, OPEN_WATCHES);
  else
    case_pass(res, "Check took %d ms with %d Watches open", r.elapsed_ms, OPEN_WATCHES);
  gclient_reply_free(&r);
}

/* The rest of the Watches did not all open: which one, and what it did. */
static void fail_opening(const case_ctx *ctx, case_result *res, gclient_stream **s, int bad, int rc,
                         int opened) {
  char seen[CASE_TEXT_MAX], exp[64], why[CASE_TEXT_MAX / 2] = "nothing in time";
  if (rc == 1)
    cases_stream_end(s[bad], why, sizeof(why));
  else if (rc != -ETIMEDOUT)
    snprintf(why, sizeof(why), "an undecodable message");
  snprintf(exp, sizeof(exp), "%d more first messages within %d ms", OPEN_WATCHES - 1,
           ctx->timeout_ms);
  snprintf(seen, sizeof(seen), "%d; Watch #%d: %s", opened, bad + 1, why);
  case_fail(res, exp, seen, "only %d of %d Watches opened at once sent a first message", opened,
            OPEN_WATCHES - 1);
}

/* T36. The Watches are the body's own; w->s stays unused. */
static void check_not_starved(const case_ctx *ctx, case_result *res, watch_run *w) {
  gclient_stream *s[OPEN_WATCHES] = {0};
  int status = 0, rc = 0, bad, opened;
  if (cases_watch_open(res, w->gc, "", WATCH_CALL_MS(ctx), ctx->timeout_ms, &s[0], &status) != 0)
    return;
  if (open_rest(ctx, res, w->gc, s) == 0) {
    opened = first_messages(ctx, s, &bad, &rc);
    if (opened == OPEN_WATCHES - 1)
      check_beside(ctx, res, w->gc);
    else
      fail_opening(ctx, res, s, bad, rc, opened);
  }
  for (int i = 0; i < OPEN_WATCHES; i++)
    gclient_stream_close(s[i]);
}

void case_watch_check_not_starved(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, check_not_starved);
}

/* Ends a shutdown case. A hook that cannot resume (the C++ health
 * service has no way back from Shutdown()) leaves the target shut down for
 * every later run, whose Watch cases would then fail for our doing: the
 * case's message says so, so that nobody blames the server. */
/* T24 (Ctl: shutdown): watchers hear NOT_SERVING before anything ends,
 * and Check says NOT_SERVING while draining (H-WATCH-9). */
static void watchers_not_serving(const case_ctx *ctx, case_result *res, watch_run *w) {
  int status = 0, others = 0;
  char seen[CASE_TEXT_MAX];
  if (cases_watch_first(ctx, res, w->gc, "", ctx->timeout_ms, &w->s, &status) != 0 ||
      cases_start_shutdown(ctx, res) != 0)
    return;
  if (status != WIRE_NOT_SERVING && cases_watch_until(w->s, WIRE_NOT_SERVING, ctx->timeout_ms,
                                                      &others, seen, sizeof(seen)) != 0) {
    cases_should(ctx, res, "NOT_SERVING pushed before the stream ends", seen,
                 "watchers were not told of the shutdown");
  } else {
    gclient_reply r;
    int st = -1;
    gclient_check(w->gc, "", ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    if (cases_reply_healthy(&r, &st) && st == WIRE_NOT_SERVING)
      case_pass(res, "the watcher got NOT_SERVING and Check says NOT_SERVING while draining");
    else
      cases_should(ctx, res, "OK with status NOT_SERVING", seen,
                   "Check during shutdown must say NOT_SERVING");
    gclient_reply_free(&r);
  }
  cases_resume(ctx, res);
}

void case_shutdown_watchers_not_serving(const case_ctx *ctx, case_result *res) {
  watch_case(ctx, res, NULL, KEEP_NAME, watchers_not_serving);
}

/* T25 (Ctl: shutdown): a set after shutdown does not bring '' back to
 * SERVING (Go, Java, Python, C++ semantics). WARN only, even --strict.
 * It sets '', which is always registered, so that it needs no name of its
 * own registered beforehand: it runs the same on a target an earlier case
 * left shut down (a hook that cannot RESUME), and gives the verdict it
 * gives alone. */
void case_shutdown_sets_ignored(const case_ctx *ctx, case_result *res) {
  char seen[CASE_TEXT_MAX], err[CONTROL_ERR_MAX];
  int left = control_is_shut_down(ctx->control);
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  if (left || cases_start_shutdown(ctx, res) == 0) {
    int refused = control_set(ctx->control, "", WIRE_SERVING, err, sizeof(err)) < 0;
    gclient_reply r;
    int st = -1;
    gclient_check(gc, "", ctx->timeout_ms, &r);
    gclient_reply_describe(&r, seen, sizeof(seen));
    if (cases_reply_healthy(&r, &st) && st == WIRE_NOT_SERVING)
      case_pass(res, "after shutdown%s, setting '' SERVING %s; Check '' stays NOT_SERVING",
                left ? " (an earlier case's: the hook could not resume)" : "",
                refused ? "was refused" : "was accepted but ignored");
    else if (st == WIRE_SERVING)
      case_warn(res, "OK with status NOT_SERVING", seen,
                "a set after shutdown took effect (grpc-go, Java, Python and C++ ignore it)");
    else
      case_warn(res, "OK with status NOT_SERVING", seen,
                "after shutdown and a set, Check '' does not say NOT_SERVING");
    gclient_reply_free(&r);
    cases_resume(ctx, res);
  }
  gclient_close(gc);
}
