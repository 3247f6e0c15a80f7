/* client_probe: plays one --probe-cmd scenario (client_probe.h). It
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
#include "client_probe.h"
#include "client_suite.h"
#include "command.h"
#include "errbuf.h"
#include "monotime.h"
#include "spawner.h"

#define MOCK_START_MS 10000                      /* a mock-executor listening */
#define MOCK_STOP_MS 1000                        /* its drain after SIGTERM (--grace 200ms) */
#define HEALTH_METHODS "/grpc.health.v1.Health/" /* Check, or Watch for a watching probe */

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

void client_probe_play(const case_ctx *ctx, const probe_scenario *s, case_result *res) {
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
