/* runner: needs, timing, verdicts, the reachability probe. See runner.h. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int runner_split_target(const char *target, char *host, size_t hostlen, char *port, size_t portlen,
                        char err[RUNNER_ERR_MAX]) {
  const char *colon, *h = target;
  size_t hlen;
  char *end;
  long p;

  if (!target || !*target) {
    snprintf(err, RUNNER_ERR_MAX, "empty target; expected HOST:PORT");
    return -EINVAL;
  }
  if (target[0] == '[') { /* [v6]:port */
    const char *close = strchr(target, ']');
    if (!close || close[1] != ':') {
      snprintf(err, RUNNER_ERR_MAX, "target '%s': expected [IPV6]:PORT", target);
      return -EINVAL;
    }
    h = target + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(target, ':');
    if (!colon || strchr(target, ':') != colon) {
      snprintf(err, RUNNER_ERR_MAX, "target '%s': expected HOST:PORT", target);
      return -EINVAL;
    }
    hlen = (size_t)(colon - target);
  }
  errno = 0;
  p = strtol(colon + 1, &end, 10);
  if (hlen == 0 || colon[1] == '\0' || *end || errno || p < 1 || p > 65535) {
    snprintf(err, RUNNER_ERR_MAX, "target '%s': expected HOST:PORT with a port in 1-65535", target);
    return -EINVAL;
  }
  if (hlen >= hostlen || strlen(colon + 1) >= portlen) {
    snprintf(err, RUNNER_ERR_MAX, "target '%s' is too long", target);
    return -ENAMETOOLONG;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  snprintf(port, portlen, "%s", colon + 1);
  return 0;
}

/* One non-blocking connect bounded by deadline. 0 or a negative errno. */
static int connect_one(const struct addrinfo *ai, long long deadline) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  int ret = 0, soerr = 0;
  socklen_t len = sizeof(soerr);

  if (fd < 0)
    return -errno;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    if (errno != EINPROGRESS) {
      ret = -errno;
      goto out;
    }
    for (;;) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      long long left = deadline - now_ms();
      int n;
      if (left <= 0) {
        ret = -ETIMEDOUT;
        goto out;
      }
      n = poll(&p, 1, (int)left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        ret = -errno;
        goto out;
      }
      if (n > 0)
        break;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
      ret = -errno;
    else if (soerr)
      ret = -soerr;
  }
out:
  close(fd);
  return ret;
}

int runner_probe(const char *target, int timeout_ms, char err[RUNNER_ERR_MAX]) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char host[256], port[16];
  long long deadline = now_ms() + timeout_ms;
  int ret, gai;

  ret = runner_split_target(target, host, sizeof(host), port, sizeof(port), err);
  if (ret < 0)
    return ret;
  gai = getaddrinfo(host, port, &hints, &res);
  if (gai != 0) {
    snprintf(err, RUNNER_ERR_MAX, "cannot resolve %.200s: %s", host, gai_strerror(gai));
    return -EHOSTUNREACH;
  }
  ret = -EHOSTUNREACH;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    ret = connect_one(ai, deadline);
    if (ret == 0 || ret == -ETIMEDOUT)
      break;
  }
  freeaddrinfo(res);
  if (ret == -ETIMEDOUT)
    snprintf(err, RUNNER_ERR_MAX, "connect to %s timed out after %d ms", target, timeout_ms);
  else if (ret < 0)
    snprintf(err, RUNNER_ERR_MAX, "connect to %s: %s", target, strerror(-ret));
  return ret;
}

int runner_counts_as_failure(const hc_case *c, const case_result *res, int strict) {
  if (res->outcome == OUTCOME_FAIL)
    return c->level == LEVEL_MUST || strict;
  if (res->outcome == OUTCOME_WARN)
    return strict;
  return 0;
}

/* The reason a case cannot run here, or NULL. */
static const char *unmet_need(const hc_case *c, const runner_options *opts) {
  if (opts->unreachable)
    return "target unreachable";
  if ((c->needs & NEED_CONTROL) && !opts->control)
    return "needs a control hook (--control or --control-cmd)";
  if ((c->needs & NEED_SHUTDOWN) && !control_can_shutdown(opts->control))
    return "needs a control hook that can shut the target down (--control or --control-cmd)";
  return NULL;
}

static void run_one(const hc_case *c, const case_ctx *ctx, const runner_options *opts,
                    case_result *res) {
  const char *why = unmet_need(c, opts);

  memset(res, 0, sizeof(*res));
  if (why) {
    if (opts->unreachable)
      case_skip(res, "%s: %s", why, opts->unreachable);
    else
      case_skip(res, "%s", why);
    return;
  }
  /* A case that returns without filling its result must not pass. */
  case_fail(res, "the case reports an outcome", "no outcome", "case %s set no result", c->id);
  c->run(ctx, res);
}

int runner_run(const hc_case *cases, size_t count, const runner_options *opts, report *rep,
               report_summary *summary) {
  report_summary s = {0};
  char service[64], options[512], started[32];
  time_t t = time(NULL);
  struct tm tm;
  int failed = 0;
  case_ctx ctx = {.target = opts->target,
                  .timeout_ms = opts->timeout_ms,
                  .latency_budget_ms = opts->latency_budget_ms,
                  .control = opts->control,
                  .strict = opts->strict,
                  .service = service};
  report_run_info info = {.version = HC_VERSION,
                          .target = opts->target,
                          .options = options,
                          .started = started,
                          .total = count,
                          .strict = opts->strict};

  snprintf(service, sizeof(service), "hc-conformance-%ld", (long)getpid());
  snprintf(options, sizeof(options), "timeout=%dms latency-budget=%dms strict=%s control=%s",
           opts->timeout_ms, opts->latency_budget_ms, opts->strict ? "yes" : "no",
           opts->control_desc ? opts->control_desc : (opts->control ? "yes" : "none"));
  gmtime_r(&t, &tm);
  strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
  report_begin(rep, &info);

  for (size_t i = 0; i < count; i++) {
    case_result res;
    long long t0 = now_ms();
    int counts;

    run_one(&cases[i], &ctx, opts, &res);
    counts = runner_counts_as_failure(&cases[i], &res, opts->strict);
    failed |= counts;
    switch (res.outcome) {
    case OUTCOME_PASS:
      s.passed++;
      break;
    case OUTCOME_FAIL:
      s.failed++;
      break;
    case OUTCOME_WARN:
      s.warned++;
      break;
    case OUTCOME_SKIP:
      s.skipped++;
      break;
    }
    report_case(rep, &cases[i], &res, (long)(now_ms() - t0), counts);
  }
  if (opts->unreachable)
    s.exit_code = RUNNER_EXIT_UNREACHABLE;
  else
    s.exit_code = failed ? RUNNER_EXIT_FAILED : RUNNER_EXIT_OK;
  if (summary)
    *summary = s;
  return s.exit_code;
}
