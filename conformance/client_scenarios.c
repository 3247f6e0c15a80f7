/* client_scenarios: the --probe-cmd scenarios (client_suite.h). Each one
 * starts a mock-executor set up for it (or a closed port, or a socket that
 * accepts and never answers), runs the probe once with its placeholders
 * filled in, and judges the probe's verdict (its exit code) and, for the
 * wire scenarios, what the mock's journal says it sent. */
#define _GNU_SOURCE /* SOCK_CLOEXEC */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_mock.h"
#include "client_suite.h"
#include "command.h"
#include "errbuf.h"
#include "monotime.h"
#include "spawner.h"

#define MOCK_START_MS 10000                      /* a mock-executor listening */
#define MOCK_STOP_MS 1000                        /* its drain after SIGTERM (--grace 200ms) */
#define HEALTH_METHODS "/grpc.health.v1.Health/" /* Check, or Watch for a watching probe */

typedef enum expect { EXPECT_HEALTHY, EXPECT_UNHEALTHY } expect;

/* What a scenario judges besides the verdict, from the journal. */
typedef enum wire_check {
  WIRE_NONE = 0,
  WIRE_DEADLINE,   /* H-CHECK-6: every call carried a deadline within --probe-timeout */
  WIRE_SERVICE,    /* every call asked for --service */
  WIRE_CALLS,      /* 1 to --attempts calls per run */
  WIRE_USER_AGENT, /* the client names itself */
} wire_check;

typedef enum target_kind {
  TARGET_MOCK = 0, /* a mock-executor started with `args` */
  TARGET_REFUSED,  /* a port nothing listens on */
  TARGET_SILENT,   /* a socket that accepts (the kernel's backlog) and never answers */
} target_kind;

typedef struct probe_scenario {
  target_kind target;
  const char *args; /* the mock's extra flags; {service} is the service, quoted */
  int unregistered; /* the service is unknown to the mock (Check: NOT_FOUND) */
  int check_only;   /* what the mock plays breaks Check alone: skipped for a probe that Watches */
  int plaintext;    /* with --tls-cert, the mock still serves plaintext */
  int framing;      /* played by the mock's wire engine, which serves plaintext only */
  const char *variant; /* a wrong verdict real libraries give: WARN saying so, not FAIL */
  expect expect;
  wire_check wire;
} probe_scenario;

/* One run of the probe command. */
typedef struct probe_run {
  int finished; /* 0: still running at the bound, killed */
  int wstatus;
  long elapsed_ms;
  char output[200]; /* the last line it printed */
} probe_run;

/* ---- targets ----------------------------------------------------------- */

/* A listening socket on 127.0.0.1 that nobody accepts on: connects succeed
 * (the backlog) and then nothing is ever answered. */
static int silent_listener(int *port, char *err, size_t errlen) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -errno;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    int rc = -errno;
    snprintf(err, errlen, "a silent listener on 127.0.0.1: %s", strerror(errno));
    close(fd);
    return rc;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* The mock's flags for scenario s: TLS, the service's registration, its own. */
static int mock_args(const client_opts *o, const probe_scenario *s, char *out, size_t size) {
  char tmpl[COMMAND_LINE_MAX];

  /* "" unknown: the mock's knob that leaves the overall health out. */
  snprintf(tmpl, sizeof(tmpl), "%s%s",
           s->unregistered && !o->service[0] ? "--violate no-overall-health " : "",
           s->args ? s->args : "");
  return client_mock_args(o, tmpl, !s->plaintext, out, size);
}

/* ---- the probe ----------------------------------------------------------- */

/* Runs the probe command against port once, bounded by --probe-timeout
 * plus --slack; whatever is left of its process group is killed. */
static int run_probe(const client_opts *o, int port, probe_run *r, char *err, size_t errlen) {
  char line[COMMAND_LINE_MAX];
  command *cmd = NULL;
  long long t0;
  int rc;

  if (client_mock_expand(o->probe_cmd, port, o->service, o->tls_cert != NULL, line, sizeof(line)) <
      0) {
    return errbuf_fail(err, errlen, -ENAMETOOLONG,
                       "--probe-cmd is too long once its placeholders are filled in");
  }
  memset(r, 0, sizeof(*r));
  t0 = monotime_ms();
  rc = command_start(line, &cmd, err, errlen);
  if (rc < 0)
    return rc;
  rc = command_wait(cmd, t0 + o->probe_timeout_ms + o->slack_ms, &r->wstatus);
  r->finished = rc == 0;
  r->elapsed_ms = (long)(monotime_ms() - t0);
  command_last_line(cmd, r->output, sizeof(r->output));
  command_free(cmd); /* a probe still running: its group is killed */
  return 0;
}

static int in_set(const int *set, size_t n, int code) {
  for (size_t i = 0; i < n; i++)
    if (set[i] == code)
      return 1;
  return 0;
}

/* The signal that ended the probe: its own death, or a shell's report of
 * its command's (exit 128+N) unless that code was declared a verdict; 0. */
static int crash_signal(const client_opts *o, int wstatus) {
  int code;

  if (WIFSIGNALED(wstatus))
    return WTERMSIG(wstatus);
  code = WEXITSTATUS(wstatus);
  if (code > 128 && code < 128 + NSIG && !in_set(o->healthy_exits, o->nhealthy, code) &&
      !in_set(o->unhealthy_exits, o->nunhealthy, code))
    return code - 128;
  return 0;
}

/* The verdict the run gave: EXPECT_HEALTHY, EXPECT_UNHEALTHY, or -1 for
 * none (killed at the bound, crashed, an exit code in neither set), with
 * one line describing it. */
static int verdict_of(const client_opts *o, const probe_run *r, char *what, size_t size) {
  char how[96];
  int code, sig;

  if (!r->finished) {
    snprintf(what, size,
             "no verdict: still running after %ld ms (--probe-timeout %d ms + "
             "--slack %d ms), killed",
             r->elapsed_ms, o->probe_timeout_ms, o->slack_ms);
    return -1;
  }
  command_describe_status(r->wstatus, how, sizeof(how));
  sig = crash_signal(o, r->wstatus);
  if (sig) {
    snprintf(what, size, "crashed: %s%s after %ld ms%s%s", how,
             WIFSIGNALED(r->wstatus) ? "" : " (the shell's report of a signal)", r->elapsed_ms,
             r->output[0] ? ", last output: " : "", r->output);
    return -1;
  }
  code = WEXITSTATUS(r->wstatus);
  if (in_set(o->healthy_exits, o->nhealthy, code)) {
    snprintf(what, size, "healthy (%s after %ld ms)", how, r->elapsed_ms);
    return EXPECT_HEALTHY;
  }
  if (o->nunhealthy == 0 || in_set(o->unhealthy_exits, o->nunhealthy, code)) {
    snprintf(what, size, "unhealthy (%s after %ld ms)", how, r->elapsed_ms);
    return EXPECT_UNHEALTHY;
  }
  snprintf(what, size, "no verdict: %s, neither a --healthy-exit nor an --unhealthy-exit%s%s", how,
           r->output[0] ? "; last output: " : "", r->output);
  return -1;
}

/* ---- the journal ----------------------------------------------------------- */

/* Judges the wire check of s on the calls of one run. */
static void judge_wire(const client_opts *o, wire_check w, json_t *records, case_result *res) {
  const char *method = o->protocol == PROTOCOL_HTTP ? "" : HEALTH_METHODS;
  json_t *first, *rec;
  size_t n = client_mock_count(records, method, &first), i;
  char seen[CASE_TEXT_MAX];

  if (n == 0) {
    case_fail(res, "the probe calls the server", "no call in the mock's journal",
              "the probe made no %s",
              o->protocol == PROTOCOL_HTTP ? "HTTP request" : "health call");
    return;
  }
  switch (w) {
  case WIRE_DEADLINE:
    json_array_foreach(records, i, rec) {
      json_t *d = json_object_get(rec, "deadline_ms");
      const char *m = json_string_value(json_object_get(rec, "method"));
      if (!m || strncmp(m, method, strlen(method)) != 0)
        continue;
      if (!json_is_integer(d)) {
        case_fail(res, "grpc-timeout on every call", "a call without a deadline",
                  "the probe sent no deadline (no grpc-timeout): against a server that "
                  "never answers it waits forever");
        return;
      }
      if (json_integer_value(d) > o->probe_timeout_ms) {
        snprintf(seen, sizeof(seen), "grpc-timeout of %lld ms", (long long)json_integer_value(d));
        case_fail(res, "a deadline within --probe-timeout", seen,
                  "the probe's deadline is longer than its timeout (%d ms)", o->probe_timeout_ms);
        return;
      }
    }
    case_pass(res, "deadline %lld ms",
              (long long)json_integer_value(json_object_get(first, "deadline_ms")));
    return;
  case WIRE_SERVICE:
    json_array_foreach(records, i, rec) {
      const char *m = json_string_value(json_object_get(rec, "method"));
      const char *svc = json_string_value(json_object_get(rec, "service"));
      if (!m || strncmp(m, method, strlen(method)) != 0)
        continue;
      if (!svc || strcmp(svc, o->service) != 0) {
        snprintf(seen, sizeof(seen), "service '%s'", svc ? svc : "(none)");
        case_fail(res, "the service given in {service}", seen,
                  "the probe asked for another service than '%s'", o->service);
        return;
      }
    }
    case_pass(res, "asked for '%s'", o->service);
    return;
  case WIRE_CALLS:
    if (n > (size_t)o->attempts) {
      snprintf(seen, sizeof(seen), "%zu calls", n);
      case_fail(res, "at most --attempts calls per run", seen,
                "one probe run made %zu calls (--attempts %d)", n, o->attempts);
      return;
    }
    case_pass(res, "%zu call%s", n, n == 1 ? "" : "s");
    return;
  case WIRE_USER_AGENT: {
    const char *ua = json_string_value(json_object_get(first, "user_agent"));
    if (!ua || !*ua) {
      case_fail(res, "a user-agent", "none", "the probe sends no user-agent");
      return;
    }
    case_pass(res, "user-agent: %s", ua);
    return;
  }
  case WIRE_NONE:
    break;
  }
}

/* 1 when the journal shows no Check (a probe that Watches): res is then a
 * SKIP, or a FAIL when the journal cannot be read. */
static int probe_made_no_check(client_mock *mock, case_result *res) {
  char err[CASE_TEXT_MAX];
  json_t *records = NULL;
  size_t n;

  if (client_mock_journal(mock, &records, err, sizeof(err)) < 0) {
    case_fail(res, "the mock's journal", err, "cannot read what the probe sent");
    return 1;
  }
  n = client_mock_count(records, HEALTH_METHODS "Check", NULL);
  json_decref(records);
  if (n > 0)
    return 0;
  case_skip(res, "the probe made no Check (it Watches): this scenario breaks Check alone");
  return 1;
}

/* ---- one scenario ---------------------------------------------------------- */

static void play(const case_ctx *ctx, const probe_scenario *s, case_result *res) {
  const client_opts *o = ctx->suite;
  char err[CASE_TEXT_MAX], args[COMMAND_LINE_MAX], what[CASE_TEXT_MAX];
  const char *expect_text = s->expect == EXPECT_HEALTHY ? "healthy" : "unhealthy";
  client_mock *mock = NULL;
  json_t *records = NULL;
  probe_run run;
  int port = 0, fd = -1, verdict;

  if (s->plaintext && !o->tls_cert) {
    case_skip(res, "needs a probe that uses TLS (--tls-cert and --tls-key)");
    return;
  }
  if (s->framing && o->tls_cert) {
    case_skip(res, "the mock's wire engine, which breaks the framing, serves plaintext only");
    return;
  }
  if (s->target == TARGET_MOCK) {
    if (mock_args(o, s, args, sizeof(args)) < 0 ||
        client_mock_start(o->mock_path, o->protocol, 0, args, MOCK_START_MS, &mock, err,
                          sizeof(err)) < 0) {
      case_fail(res, "a mock-executor to play the scenario", err, "cannot start the mock");
      return;
    }
    port = client_mock_port(mock);
  } else if (s->target == TARGET_SILENT) {
    fd = silent_listener(&port, err, sizeof(err));
  } else if (spawner_free_port(&port, err, sizeof(err)) < 0) {
    fd = -1;
    port = 0;
  }
  if (port == 0) {
    case_fail(res, "a port to play the scenario on", err, "cannot set the scenario up");
    goto out;
  }
  if (run_probe(o, port, &run, err, sizeof(err)) < 0) {
    case_fail(res, "the probe command runs", err, "cannot run --probe-cmd");
    goto out;
  }
  if (s->check_only && probe_made_no_check(mock, res))
    goto out;
  verdict = verdict_of(o, &run, what, sizeof(what));
  if (s->variant && verdict >= 0 && verdict != (int)s->expect) {
    case_warn(res, expect_text, what, "%s", s->variant);
    goto out;
  }
  if (verdict != (int)s->expect) {
    case_fail(res, expect_text, what, "the probe's verdict is wrong%s%s",
              run.output[0] ? "; last output: " : "", run.output);
    goto out;
  }
  if (s->wire == WIRE_NONE) {
    case_pass(res, "%s", what);
    goto out;
  }
  if (client_mock_journal(mock, &records, err, sizeof(err)) < 0) {
    case_fail(res, "the mock's journal", err, "cannot read what the probe sent");
    goto out;
  }
  judge_wire(o, s->wire, records, res);
out:
  json_decref(records);
  client_mock_stop(mock, MOCK_STOP_MS);
  if (fd >= 0)
    close(fd);
}

/* ---- the scenarios ----------------------------------------------------------- */

#define SCENARIO(fn, ...)                               \
  static const probe_scenario fn##_def = {__VA_ARGS__}; \
  static void fn(const case_ctx *ctx, case_result *res) { play(ctx, &fn##_def, res); }

SCENARIO(sc_serving, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY)
SCENARIO(sc_not_serving, .args = "--status {service}=NOT_SERVING", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_unknown, .args = "--status {service}=UNKNOWN", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_not_found, .unregistered = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_service_unknown, .args = "--status {service}=SERVICE_UNKNOWN",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_unimplemented,
         .args = "--status {service}=SERVING --fault 'method=*,action=code:UNIMPLEMENTED'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_rpc_error,
         .args =
             "--status {service}=SERVING "
             "--fault 'method=*,action=code:RESOURCE_EXHAUSTED,message=load shed'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_slow, .args = "--status {service}=SERVING --fault 'method=*,action=hang'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_refused, .target = TARGET_REFUSED, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_silent, .target = TARGET_SILENT, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_two_messages, .args = "--status {service}=SERVING --violate check-two-messages",
         .expect = EXPECT_UNHEALTHY, .check_only = 1)
SCENARIO(sc_no_message, .args = "--status {service}=SERVING --violate check-no-message",
         .expect = EXPECT_UNHEALTHY, .check_only = 1)
/* The wire engine's faults (docs/faults.md): the framing itself broken. */
SCENARIO(sc_no_trailers, .args = "--status {service}=SERVING --fault 'method=*,action=no-trailers'",
         .framing = 1, .expect = EXPECT_UNHEALTHY, .check_only = 1)
SCENARIO(sc_grpc_503,
         .args = "--status {service}=SERVING --fault 'method=*,action=http-status:503'",
         .framing = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_compressed,
         .args = "--status {service}=SERVING --fault 'method=*,action=compressed-flag'",
         .framing = 1, .expect = EXPECT_UNHEALTHY,
         .variant =
             "the probe read a message flagged compressed with no grpc-encoding (the gRPC "
             "C core and grpcio do; grpc-go and Envoy refuse it)")
SCENARIO(sc_rst, .args = "--status {service}=SERVING --fault 'method=*,action=rst'", .framing = 1,
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_goaway_error,
         .args = "--status {service}=SERVING --fault 'method=*,action=goaway:ENHANCE_YOUR_CALM'",
         .framing = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_goaway_graceful, .args = "--status {service}=SERVING --fault 'method=*,action=goaway'",
         .framing = 1, .expect = EXPECT_HEALTHY)
SCENARIO(sc_plaintext_peer, .args = "--status {service}=SERVING", .plaintext = 1,
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_deadline, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_DEADLINE)
SCENARIO(sc_service_asked, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_SERVICE)
SCENARIO(sc_calls, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_CALLS)
SCENARIO(sc_user_agent, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_USER_AGENT)
SCENARIO(sc_http_503, .args = "--status {service}=NOT_SERVING", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_http_500, .args = "--status {service}=SERVING --fault 'path=*,action=http-status:500'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_http_404, .args = "--status {service}=SERVING --fault 'path=*,action=http-status:404'",
         .expect = EXPECT_UNHEALTHY)
/* The delay outlasts the bound of a run (the mock is stopped with it). */
SCENARIO(sc_http_slow, .args = "--status {service}=SERVING --fault 'path=*,action=delay:3600s'",
         .expect = EXPECT_UNHEALTHY)

#define GRPC PROTOCOL_GRPC
#define HTTP PROTOCOL_HTTP

static const hc_case grpc_scenarios[] = {
    {.id = "probe/serving",
     .test = "C01",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers SERVING -> healthy",
     .clause_text =
         "A healthy reply moves the subchannel to READY. Only SERVING counts as healthy.",
     .run = sc_serving},
    {.id = "probe/not-serving",
     .test = "C02",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers NOT_SERVING -> unhealthy",
     .clause_text =
         "Only SERVING counts as healthy (grpc_health_probe exits 4, kubelet fails the probe).",
     .run = sc_not_serving},
    {.id = "probe/unknown-status",
     .test = "C03",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers UNKNOWN (a 0-byte reply) -> unhealthy",
     .clause_text =
         "Only SERVING counts as healthy; UNKNOWN is the default value of an empty reply.",
     .run = sc_unknown},
    {.id = "probe/not-found",
     .test = "C04",
     .clauses = "H-CHECK-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the service is unknown (Check fails NOT_FOUND) -> unhealthy",
     .clause_text =
         "If the requested service is unknown, the call will fail with status NOT_FOUND.",
     .run = sc_not_found},
    {.id = "probe/service-unknown",
     .test = "C05",
     .clauses = "H-CHECK-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "the server answers SERVICE_UNKNOWN (from Check: a broken server) -> unhealthy, no crash",
     .clause_text =
         "SERVICE_UNKNOWN is for Watch; Envoy crashed when Check returned it (envoy#10825).",
     .run = sc_service_unknown},
    {.id = "probe/no-health-service",
     .test = "C06",
     .clauses = "H-CHECK-11",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "no Health service (UNIMPLEMENTED) -> unhealthy",
     .clause_text =
         "The client should be able to handle the case where server does not have the Health "
         "service.",
     .run = sc_unimplemented},
    {.id = "probe/rpc-error",
     .test = "C07",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the call fails RESOURCE_EXHAUSTED (a load shedder) -> unhealthy",
     .clause_text =
         "Anything but a SERVING reply is unhealthy; any RPC error exits 3 in grpc_health_probe.",
     .run = sc_rpc_error},
    {.id = "probe/slow-server",
     .test = "C08",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server never answers -> unhealthy within the probe's own timeout",
     .clause_text =
         "Clients should set a deadline when calling Check, and can declare the server unhealthy "
         "if they do not receive a timely response.",
     .run = sc_slow},
    {.id = "probe/connection-refused",
     .test = "C09",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "nothing listens on the port -> unhealthy",
     .clause_text = "A failed dial is a failed probe (grpc_health_probe exits 2).",
     .run = sc_refused},
    {.id = "probe/silent-server",
     .test = "C10",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the port accepts the connection and never answers -> unhealthy within the timeout",
     .clause_text = "kubelet: one timeoutSeconds covers both dial and Check; grpc_health_probe: "
                    "-connect-timeout then -rpc-timeout.",
     .run = sc_silent},
    {.id = "probe/second-message",
     .test = "C15",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check answers SERVING twice on the unary call -> unhealthy",
     .clause_text =
         "A unary reply has exactly one message (\"Response cardinality violation\"); Envoy: "
         "\"unexpected streaming\".",
     .run = sc_two_messages},
    {.id = "probe/no-message",
     .test = "C16",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check ends OK with no message -> unhealthy",
     .clause_text =
         "A unary reply has exactly one message; Envoy fails a check with no message at all.",
     .run = sc_no_message},
    {.id = "probe/tls-plaintext-server",
     .test = "C17",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "with --tls-cert: a SERVING server that speaks plaintext -> unhealthy",
     .clause_text =
         "grpc_health_probe -tls: a TLS failure (here a plaintext peer) is a connection failure, "
         "exit 2; a probe must not fall back to plaintext.",
     .run = sc_plaintext_peer},
    {.id = "probe/no-grpc-status",
     .test = "C30",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the reply's message comes, then the stream ends without trailers -> unhealthy",
     .clause_text =
         "Status must be sent in Trailers even if the status code is OK. Envoy: \"gRPC protocol "
         "violation: unexpected stream end\".",
     .run = sc_no_trailers},
    {.id = "probe/grpc-http-503",
     .test = "C31",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the gRPC call gets HTTP status 503, headers only -> unhealthy",
     .clause_text =
         "Envoy fails a check on an HTTP status other than 200; gRPC maps it to UNAVAILABLE.",
     .run = sc_grpc_503},
    {.id = "probe/compressed-flag",
     .test = "C32",
     .clauses = "H-CHECK-7",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "SERVING with the compressed flag set, nothing compressed -> unhealthy",
     .clause_text =
         "A frame with a non-zero flag byte is \"invalid grpc.health.v1 RPC payload\" (Envoy); "
         "a reply that cannot be read is not a healthy one.",
     .run = sc_compressed},
    {.id = "probe/rst-stream",
     .test = "C33",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server resets the stream (RST_STREAM CANCEL) -> unhealthy",
     .clause_text =
         "No reply is no healthy reply: a reset call is an RPC failure (grpc_health_probe exit 3).",
     .run = sc_rst},
    {.id = "probe/goaway-error",
     .test = "C34",
     .clauses = "H-CLIENT-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "GOAWAY ENHANCE_YOUR_CALM, the call unanswered -> unhealthy",
     .clause_text = "Envoy: any GOAWAY other than NO_ERROR fails the check.",
     .run = sc_goaway_error},
    {.id = "probe/goaway-graceful",
     .test = "C35",
     .clauses = "H-CLIENT-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "GOAWAY NO_ERROR, then the call answered SERVING -> healthy (the answer stands)",
     .clause_text = "Envoy: GOAWAY with NO_ERROR lets the in-flight check finish.",
     .run = sc_goaway_graceful},
    {.id = "probe/deadline-sent",
     .test = "C11",
     .clauses = "H-CHECK-6",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "every call carries a deadline (grpc-timeout) within --probe-timeout",
     .clause_text = "Clients should set a deadline when calling Check.",
     .run = sc_deadline},
    {.id = "probe/service-asked",
     .test = "C12",
     .clauses = "H-SVC-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "every call asks for the service given as {service}",
     .clause_text = "Service names are matched exactly: the probe asks for the name it was given "
                    "(grpc_health_probe -service, kubelet grpc.service).",
     .run = sc_service_asked},
    {.id = "probe/one-call",
     .test = "C13",
     .clauses = "H-CHECK-6",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "one probe run makes one call (at most --attempts)",
     .clause_text = "grpc_health_probe and kubelet make one unary Check per run, with no retries.",
     .run = sc_calls},
    {.id = "probe/user-agent",
     .test = "C14",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MAY,
     .protocol = GRPC,
     .summary = "the probe names itself in user-agent (reported)",
     .clause_text = "grpc_health_probe sends -user-agent (default grpc_health_probe), kubelet "
                    "kube-probe/<version>, Envoy Envoy/HC.",
     .run = sc_user_agent},
};

static const hc_case http_scenarios[] = {
    {.id = "probe/http-ok",
     .test = "C20",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 200 {} -> healthy",
     .clause_text = "kubelet DoHTTPProbe: 200 <= code < 400 is success.",
     .run = sc_serving},
    {.id = "probe/http-503",
     .test = "C21",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 503 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_503},
    {.id = "probe/http-500",
     .test = "C22",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 500 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_500},
    {.id = "probe/http-404",
     .test = "C23",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 404 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_404},
    {.id = "probe/http-slow",
     .test = "C24",
     .clauses = "H-HTTP-5",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET never answers in time -> unhealthy within the probe's own timeout",
     .clause_text =
         "kubelet probes with timeoutSeconds (default 1 s) and counts a late answer as a failure.",
     .run = sc_http_slow},
    {.id = "probe/http-connection-refused",
     .test = "C25",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "nothing listens on the port -> unhealthy",
     .clause_text = "No answer at all is a failed probe.",
     .run = sc_refused},
    {.id = "probe/http-tls-plaintext-server",
     .test = "C29",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "with --tls-cert: a server answering 200 in plaintext HTTP -> unhealthy",
     .clause_text =
         "An https:// probe that falls back to plaintext HTTP checks a server it cannot trust.",
     .run = sc_plaintext_peer},
    {.id = "probe/http-path-asked",
     .test = "C26",
     .clauses = "H-HTTP-6",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "the request asks for {url}'s path (GET / or /health/{service})",
     .clause_text =
         "The health endpoint is GET / (an Executor has no other route); the mock serves a named "
         "service on /health/NAME.",
     .run = sc_service_asked},
    {.id = "probe/http-one-request",
     .test = "C27",
     .clauses = "H-HTTP-5",
     .level = LEVEL_SHOULD,
     .protocol = HTTP,
     .summary = "one probe run makes one request (at most --attempts)",
     .clause_text = "kubelet makes one GET per period.",
     .run = sc_calls},
    {.id = "probe/http-user-agent",
     .test = "C28",
     .clauses = "H-HTTP-5",
     .level = LEVEL_MAY,
     .protocol = HTTP,
     .summary = "the probe names itself in user-agent (reported)",
     .clause_text = "kubelet sends kube-probe/<version>.",
     .run = sc_user_agent},
};

const hc_case *client_probe_scenarios(case_protocol protocol, size_t *count) {
  if (protocol == PROTOCOL_HTTP) {
    *count = sizeof(http_scenarios) / sizeof(http_scenarios[0]);
    return http_scenarios;
  }
  *count = sizeof(grpc_scenarios) / sizeof(grpc_scenarios[0]);
  return grpc_scenarios;
}
