/* client_watch: the --watch-cmd scenarios (client_suite.h). Each one starts
 * a mock-executor and the long-lived client, plays changes over time
 * (statuses through the control API, a Watch that ends, a server that
 * restarts) and judges the client's printed view (one line per change:
 * HEALTHY / UNHEALTHY, or --healthy-regex / --unhealthy-regex) and the
 * Watch calls in the mock's journal. Both are ended by their process group
 * before the scenario returns; a fresh client per scenario keeps one
 * failure from spilling into the next. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "client_mock.h"
#include "client_suite.h"
#include "command.h"
#include "monotime.h"
#include "wire.h"

#define MOCK_START_MS 10000
#define MOCK_STOP_MS 1000
#define CLIENT_STOP_MS 1000
#define WATCH_METHOD "/grpc.health.v1.Health/Watch"
#define QUIET_MS 2000       /* H-CLIENT-4: no second Watch this long after UNIMPLEMENTED */
#define POLL_MS 100         /* between journal reads while waiting for calls */
#define MAX_WATCHES_PER_S 3 /* H-CLIENT-5: more is a retry loop without backoff */

typedef enum view { VIEW_NONE = 0, VIEW_HEALTHY, VIEW_UNHEALTHY } view;

/* One scenario's mock and client. */
typedef struct watch_run {
  const client_opts *o;
  client_mock *mock;
  command *client;
  int port;
  view current;
  int lines; /* views printed so far */
  char last_line[200];
} watch_run;

static const char *view_name(view v) {
  return v == VIEW_HEALTHY ? "HEALTHY" : v == VIEW_UNHEALTHY ? "UNHEALTHY" : "nothing yet";
}

static view classify(const client_opts *o, const char *line) {
  if (regexec(&o->healthy_re, line, 0, NULL, 0) == 0)
    return VIEW_HEALTHY;
  if (regexec(&o->unhealthy_re, line, 0, NULL, 0) == 0)
    return VIEW_UNHEALTHY;
  return VIEW_NONE;
}

/* Reads the client's views until `want` is its current one, or deadline.
 * 0, or -ETIMEDOUT (-EPIPE: the client exited) with res failed. */
static int await_view(watch_run *w, view want, long long deadline, const char *step,
                      case_result *res) {
  char line[512], seen[CASE_TEXT_MAX];
  int rc = 0;

  while (w->current != want) {
    rc = command_read_line(w->client, line, sizeof(line), deadline);
    if (rc < 0)
      break;
    view v = classify(w->o, line);
    if (v != VIEW_NONE) {
      w->current = v;
      w->lines++;
    }
    snprintf(w->last_line, sizeof(w->last_line), "%.*s", (int)sizeof(w->last_line) - 1, line);
  }
  if (w->current == want)
    return 0;
  snprintf(seen, sizeof(seen), "%s after %d view line%s%s%s%s", view_name(w->current), w->lines,
           w->lines == 1 ? "" : "s", rc == -EPIPE ? "; the client exited" : "",
           w->last_line[0] ? "; last line: " : "", w->last_line);
  case_fail(res, view_name(want), seen, "%s: the client's view did not become %s in time", step,
            view_name(want));
  return rc;
}

/* The Watch calls the journal holds now, or -1 with res failed. */
static long watch_calls(watch_run *w, case_result *res) {
  char err[CASE_TEXT_MAX];
  json_t *records = NULL;
  long n;

  if (client_mock_journal(w->mock, &records, err, sizeof(err)) < 0) {
    case_fail(res, "the mock's journal", err, "cannot read what the client sent");
    return -1;
  }
  n = (long)client_mock_count(records, WATCH_METHOD, NULL);
  json_decref(records);
  return n;
}

static int start_mock(watch_run *w, const char *args, case_result *res) {
  char line[COMMAND_LINE_MAX], err[CASE_TEXT_MAX];

  if (client_mock_args(w->o, args, 1, line, sizeof(line)) < 0 ||
      client_mock_start(w->o->mock_path, PROTOCOL_GRPC, w->port, line, MOCK_START_MS, &w->mock, err,
                        sizeof(err)) < 0) {
    case_fail(res, "a mock-executor to play the scenario", err, "cannot start the mock");
    return -1;
  }
  w->port = client_mock_port(w->mock);
  return 0;
}

/* The mock set up with args, then the client started against it. */
static int begin(watch_run *w, const case_ctx *ctx, const char *args, case_result *res) {
  char line[COMMAND_LINE_MAX], err[CASE_TEXT_MAX];

  memset(w, 0, sizeof(*w));
  w->o = ctx->suite;
  if (start_mock(w, args, res) < 0)
    return -1;
  if (client_mock_expand(w->o->watch_cmd, w->port, w->o->service, w->o->tls_cert != NULL, line,
                         sizeof(line)) < 0) {
    case_fail(res, "the client command", "too long", "--watch-cmd is too long once filled in");
    return -1;
  }
  if (command_start(line, &w->client, err, sizeof(err)) < 0) {
    case_fail(res, "the client command runs", err, "cannot run --watch-cmd");
    return -1;
  }
  return 0;
}

static void end(watch_run *w) {
  if (w->client)
    command_stop(w->client, CLIENT_STOP_MS);
  command_free(w->client);
  client_mock_stop(w->mock, MOCK_STOP_MS);
}

/* The first view: the client starts, connects and Watches (its start is
 * allowed --slack on top of the budget). */
static long long first_deadline(const watch_run *w) {
  return monotime_ms() + w->o->budget_ms + w->o->slack_ms;
}

static int set_status(watch_run *w, int status, case_result *res) {
  char err[CONTROL_ERR_MAX];

  if (control_set(client_mock_control(w->mock), w->o->service, status, err, sizeof(err)) < 0) {
    case_fail(res, "the mock takes the change", err, "cannot set %s", wire_status_name(status));
    return -1;
  }
  return 0;
}

/* ---- the scenarios ----------------------------------------------------------- */

static void sc_initial(const case_ctx *ctx, case_result *res) {
  watch_run w;

  if (begin(&w, ctx, "--status {service}=SERVING", res) == 0 &&
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "start", res) == 0)
    case_pass(res, "HEALTHY after %d view line%s", w.lines, w.lines == 1 ? "" : "s");
  end(&w);
}

static void sc_flips(const case_ctx *ctx, case_result *res) {
  watch_run w;

  if (begin(&w, ctx, "--status {service}=SERVING", res) < 0 ||
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "start", res) < 0)
    goto out;
  for (int i = 0; i < 2; i++) {
    long long t0 = monotime_ms();
    if (set_status(&w, WIRE_NOT_SERVING, res) < 0 ||
        await_view(&w, VIEW_UNHEALTHY, t0 + w.o->budget_ms, "NOT_SERVING", res) < 0 ||
        set_status(&w, WIRE_SERVING, res) < 0 ||
        await_view(&w, VIEW_HEALTHY, monotime_ms() + w.o->budget_ms, "SERVING again", res) < 0)
      goto out;
  }
  case_pass(res, "two flips followed, each within %d ms", w.o->budget_ms);
out:
  end(&w);
}

static void sc_unknown_then_serving(const case_ctx *ctx, case_result *res) {
  watch_run w;

  if (begin(&w, ctx, "--status {service}=SERVICE_UNKNOWN", res) < 0 ||
      await_view(&w, VIEW_UNHEALTHY, first_deadline(&w), "SERVICE_UNKNOWN", res) < 0 ||
      set_status(&w, WIRE_SERVING, res) < 0 ||
      await_view(&w, VIEW_HEALTHY, monotime_ms() + w.o->budget_ms, "then SERVING", res) < 0)
    goto out;
  case_pass(res, "UNHEALTHY on SERVICE_UNKNOWN, HEALTHY once SERVING");
out:
  end(&w);
}

static void sc_unimplemented(const case_ctx *ctx, case_result *res) {
  watch_run w;
  long n;

  if (begin(&w, ctx,
            "--status {service}=NOT_SERVING --fault 'method=Watch,action=code:UNIMPLEMENTED'",
            res) < 0 ||
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "UNIMPLEMENTED Watch", res) < 0)
    goto out;
  monotime_sleep_ms(QUIET_MS); /* the window in which a second Watch must not come */
  n = watch_calls(&w, res);
  if (n < 0)
    goto out;
  if (n != 1) {
    char seen[64];
    snprintf(seen, sizeof(seen), "%ld Watch calls", n);
    case_fail(res, "one Watch call, then none", seen,
              "the client retried a Watch the server does not implement");
    goto out;
  }
  case_pass(res, "HEALTHY (the status is NOT_SERVING), one Watch call in %d ms", QUIET_MS);
out:
  end(&w);
}

/* Polls the journal until at least `want` Watch calls came or deadline. */
static long await_watches(watch_run *w, long want, long long deadline, case_result *res) {
  long n;

  for (;;) {
    n = watch_calls(w, res);
    if (n < 0 || n >= want || monotime_ms() >= deadline)
      return n;
    monotime_sleep_ms(POLL_MS); /* the journal has no change notification */
  }
}

static void sc_reopen(const case_ctx *ctx, case_result *res) {
  watch_run w;
  long n;

  if (begin(&w, ctx, "--status {service}=SERVING --violate watch-close-after-first", res) < 0 ||
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "start", res) < 0)
    goto out;
  n = await_watches(&w, 2, monotime_ms() + w.o->budget_ms, res);
  if (n < 0)
    goto out;
  if (n < 2) {
    case_fail(res, "a second Watch after the server ended the first with OK", "one Watch call",
              "the client did not re-open its Watch within %d ms", w.o->budget_ms);
    goto out;
  }
  case_pass(res, "re-opened: %ld Watch calls", n);
out:
  end(&w);
}

static void sc_backoff(const case_ctx *ctx, case_result *res) {
  watch_run w;
  long long t0;
  long n, most;

  if (begin(&w, ctx, "--status {service}=SERVING --fault 'method=Watch,action=code:UNAVAILABLE'",
            res) < 0)
    goto out;
  n = await_watches(&w, 1, monotime_ms() + w.o->budget_ms + w.o->slack_ms, res);
  if (n < 0)
    goto out;
  if (n == 0) {
    case_fail(res, "a Watch call", "none", "the client never opened a Watch");
    goto out;
  }
  t0 = monotime_ms(); /* the first call came: count over one budget from here */
  monotime_sleep_ms(w.o->budget_ms);
  n = watch_calls(&w, res);
  if (n < 0)
    goto out;
  most = 1 + (long)MAX_WATCHES_PER_S * (w.o->budget_ms + 999) / 1000;
  if (n < 2 || n > most) {
    char seen[96];
    snprintf(seen, sizeof(seen), "%ld Watch calls in %lld ms", n, monotime_ms() - t0);
    case_fail(res, n < 2 ? "a retry of the failed Watch" : "retries with backoff", seen,
              n < 2 ? "the client never retried its Watch"
                    : "the client retries its Watch in a tight loop (at most %ld expected)",
              most);
    goto out;
  }
  case_pass(res, "%ld Watch calls in %d ms", n, w.o->budget_ms);
out:
  end(&w);
}

static void sc_restart(const case_ctx *ctx, case_result *res) {
  watch_run w;
  long long t0;

  if (begin(&w, ctx, "--status {service}=SERVING", res) < 0 ||
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "start", res) < 0)
    goto out;
  /* SIGTERM: the mock tells watchers NOT_SERVING, sends GOAWAY and exits;
   * it comes back on the same port, NOT_SERVING, then turns SERVING. Only
   * a client that reconnected and Watches again can see that last step. */
  client_mock_stop(w.mock, MOCK_STOP_MS);
  w.mock = NULL;
  if (start_mock(&w, "--status {service}=NOT_SERVING", res) < 0)
    goto out;
  t0 = monotime_ms();
  if (await_view(&w, VIEW_UNHEALTHY, t0 + w.o->budget_ms, "the server restarted NOT_SERVING", res) <
          0 ||
      set_status(&w, WIRE_SERVING, res) < 0 ||
      await_view(&w, VIEW_HEALTHY, monotime_ms() + w.o->budget_ms, "then SERVING", res) < 0)
    goto out;
  case_pass(res, "followed the restarted server");
out:
  end(&w);
}

/* The first Watch is broken on the wire (args: a count=1 fault rule): the
 * client must connect again, Watch again and show HEALTHY. */
static void recover(const case_ctx *ctx, case_result *res, const char *args) {
  const client_opts *o = ctx->suite;
  watch_run w;
  long n;

  if (o->tls_cert) {
    case_skip(res, "the mock's wire engine, which breaks the connection, serves plaintext only");
    return;
  }
  if (begin(&w, ctx, args, res) < 0 ||
      await_view(&w, VIEW_HEALTHY, first_deadline(&w), "after the break", res) < 0)
    goto out;
  n = watch_calls(&w, res);
  if (n < 0)
    goto out;
  if (n < 2) {
    case_fail(res, "a second Watch", "one Watch call",
              "HEALTHY without watching again: the broken Watch was not replaced");
    goto out;
  }
  case_pass(res, "HEALTHY again, %ld Watch calls", n);
out:
  end(&w);
}

static void sc_goaway(const case_ctx *ctx, case_result *res) {
  recover(ctx, res,
          "--status {service}=SERVING "
          "--fault 'method=Watch,action=goaway:ENHANCE_YOUR_CALM,count=1'");
}

static void sc_dropped(const case_ctx *ctx, case_result *res) {
  recover(ctx, res, "--status {service}=SERVING --fault 'method=Watch,action=close,count=1'");
}

#define GRPC PROTOCOL_GRPC

static const hc_case watch_scenarios[] = {
    {.id = "watch/initial-healthy",
     .test = "W01",
     .clauses = "H-CLIENT-2,H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server is SERVING -> the client's first view is HEALTHY",
     .clause_text =
         "The client starts Watch when the subchannel connects; a healthy reply moves it to READY.",
     .run = sc_initial},
    {.id = "watch/flips-followed",
     .test = "W02",
     .clauses = "H-CLIENT-3,H-WATCH-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "NOT_SERVING and back, twice -> UNHEALTHY and HEALTHY, each within the budget",
     .clause_text =
         "A healthy reply moves the subchannel to READY; anything else to TRANSIENT_FAILURE.",
     .run = sc_flips},
    {.id = "watch/service-unknown-then-serving",
     .test = "W03",
     .clauses = "H-WATCH-3,H-WATCH-4,H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Watch says SERVICE_UNKNOWN, then SERVING -> UNHEALTHY, then HEALTHY",
     .clause_text =
         "If at some future point, the serving status of the service becomes known, the server "
         "will send a new message with the service's serving status.",
     .run = sc_unknown_then_serving},
    {.id = "watch/unimplemented-healthy",
     .test = "W04",
     .clauses = "H-CLIENT-4,H-WATCH-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Watch answers UNIMPLEMENTED -> HEALTHY, and no second Watch",
     .clause_text =
         "it will not retry the health-checking call, but it will treat the channel as healthy "
         "(connectivity state READY).",
     .run = sc_unimplemented},
    {.id = "watch/reopen-after-end",
     .test = "W05",
     .clauses = "H-WATCH-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server ends Watch with OK after its message -> the client opens another",
     .clause_text =
         "If the call terminates with any other status (including OK), clients should retry the "
         "call with appropriate exponential backoff.",
     .run = sc_reopen},
    {.id = "watch/retry-backoff",
     .test = "W06",
     .clauses = "H-CLIENT-5",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary =
         "Watch fails UNAVAILABLE every time -> retried, with backoff (at most 3 calls a second)",
     .clause_text =
         "Any other ending goes to TRANSIENT_FAILURE and is retried with backoff (grpc-go: 1 s "
         "base, x1.6).",
     .run = sc_backoff},
    {.id = "watch/server-restart-recovered",
     .test = "W07",
     .clauses = "H-CLIENT-6,H-CLIENT-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server goes away (GOAWAY) and comes back -> the client Watches it again",
     .clause_text =
         "When the backend sends a GOAWAY, the client will cancel the Watch() call; the subchannel "
         "reconnects and health checking starts again.",
     .run = sc_restart},
    {.id = "watch/goaway-recovered",
     .test = "W08",
     .clauses = "H-CLIENT-6,H-CLIENT-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "the first Watch's connection gets GOAWAY ENHANCE_YOUR_CALM -> reconnected, HEALTHY",
     .clause_text =
         "When the backend sends a GOAWAY, the client will cancel the Watch() call; any other "
         "ending is retried with backoff.",
     .run = sc_goaway},
    {.id = "watch/dropped-connection-recovered",
     .test = "W09",
     .clauses = "H-CLIENT-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the first Watch's TCP connection closes mid-call -> reconnected, HEALTHY",
     .clause_text = "Any other ending goes to TRANSIENT_FAILURE and is retried with backoff.",
     .run = sc_dropped},
};

const hc_case *client_watch_scenarios(size_t *count) {
  *count = sizeof(watch_scenarios) / sizeof(watch_scenarios[0]);
  return watch_scenarios;
}
