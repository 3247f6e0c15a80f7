/* runner: needs, timing, verdicts, the reachability probe. See runner.h.
 *
 * THREADS: runner_run's thread, plus up to --parallel workers for a batch
 * of independent cases. run_state.lock guards next/done (which case runs,
 * which finished); each worker writes only its own case's result and
 * duration, which the main thread reads after seeing done[i] under the
 * lock. The lock is a leaf: case functions run without it. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "monotime.h"
#include "number.h"

int runner_split_target(const char *target, char *host, size_t hostlen, char *port, size_t portlen,
                        char *err, size_t errlen) {
  const char *colon, *h = target;
  size_t hlen;
  long p;

  if (!target || !*target)
    return errbuf_fail(err, errlen, -EINVAL, "empty target; expected HOST:PORT");
  if (target[0] == '[') { /* [v6]:port */
    const char *close = strchr(target, ']');
    if (!close || close[1] != ':')
      return errbuf_fail(err, errlen, -EINVAL, "target '%s': expected [IPV6]:PORT", target);
    h = target + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(target, ':');
    if (!colon || strchr(target, ':') != colon)
      return errbuf_fail(err, errlen, -EINVAL, "target '%s': expected HOST:PORT", target);
    hlen = (size_t)(colon - target);
  }
  if (hlen == 0 || number_parse(colon + 1, 1, 65535, &p) < 0)
    return errbuf_fail(err, errlen, -EINVAL,
                       "target '%s': expected HOST:PORT with a port in 1-65535", target);
  if (hlen >= hostlen || strlen(colon + 1) >= portlen)
    return errbuf_fail(err, errlen, -ENAMETOOLONG, "target '%s' is too long", target);
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
      long long left = deadline - monotime_ms();
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

int runner_probe(const char *target, int timeout_ms, char *err, size_t errlen) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char host[256], port[16];
  long long deadline = monotime_ms() + timeout_ms;
  int ret, gai;

  ret = runner_split_target(target, host, sizeof(host), port, sizeof(port), err, errlen);
  if (ret < 0)
    return ret;
  gai = getaddrinfo(host, port, &hints, &res);
  if (gai != 0)
    return errbuf_fail(err, errlen, -EHOSTUNREACH, "cannot resolve %.200s: %s", host,
                       gai_strerror(gai));
  ret = -EHOSTUNREACH;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    ret = connect_one(ai, deadline);
    if (ret == 0 || ret == -ETIMEDOUT)
      break;
  }
  freeaddrinfo(res);
  if (ret == -ETIMEDOUT)
    return errbuf_fail(err, errlen, ret, "connect to %s timed out after %d ms", target, timeout_ms);
  if (ret < 0)
    return errbuf_fail(err, errlen, ret, "connect to %s: %s", target, strerror(-ret));
  return 0;
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
  return catalogue_unmet_need(c, opts->control);
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

/* One run: what the threads share. Results are written by workers and
 * read by the reporting thread under `lock`. */
typedef struct run_state {
  const hc_case *cases;
  const case_ctx *ctx;
  const runner_options *opts;
  case_result *results;
  long *durations;
  unsigned char *done;
  size_t next, end;              /* the batch being run: [next, end) still to start */
  long long deadline;            /* monotime_ms() when --max-time runs out; 0: never */
  int out_of_time;               /* a case was not run because the budget ran out */
  int halted;                    /* the gate failed: no further case starts */
  char halt[2 * RUNNER_ERR_MAX]; /* why, for every case not run */
  pthread_mutex_t lock;
  pthread_cond_t cond;
} run_state;

/* 1 if case i must not start: the gate ended the run (SKIP), or the
 * budget is spent (FAIL); its result says why. Workers call it, so the
 * flags are read and set under the lock. */
static int run_halted(run_state *st, size_t i) {
  case_result *res = &st->results[i];
  int halted;

  pthread_mutex_lock(&st->lock);
  halted = st->halted;
  if (!halted && st->deadline && monotime_ms() >= st->deadline)
    st->out_of_time = halted = 2;
  pthread_mutex_unlock(&st->lock);
  if (!halted)
    return 0;
  memset(res, 0, sizeof(*res));
  if (halted == 2)
    case_fail(res, "the case runs within --max-time", "the run's time spent",
              "not run: the run's --max-time of %d ms ran out", st->opts->max_time_ms);
  else
    case_skip(res, "not run: %s", st->halt);
  return 1;
}

static void run_timed(run_state *st, size_t i) {
  long long t0 = monotime_ms();
  if (!run_halted(st, i))
    run_one(&st->cases[i], st->ctx, st->opts, &st->results[i]);
  st->durations[i] = (long)(monotime_ms() - t0);
}

/* Ends the run: no further case starts; each says `why`. */
static void run_halt(run_state *st, const char *what, const char *reason) {
  pthread_mutex_lock(&st->lock);
  snprintf(st->halt, sizeof(st->halt), "%s: %s", what, reason);
  st->halted = 1;
  pthread_mutex_unlock(&st->lock);
}

/* Asks the gate; halts the run with `what` and the gate's reason when it
 * says no answer, or (`strict`) no sound one. */
static void run_gate(run_state *st, const char *what, int strict) {
  char reason[RUNNER_ERR_MAX];
  int rc;

  if (!st->opts->gate || st->halted)
    return;
  rc = st->opts->gate(st->opts->gate_arg, reason, sizeof(reason));
  if (rc < 0 || (strict && rc > 0))
    run_halt(st, what, reason);
}

/* A case that failed after waiting its whole timeout may have met a target
 * that stopped answering: ask the gate again before the next case waits
 * too (issue 13: later cases fail fast). */
static void recheck_after(run_state *st, size_t i) {
  char what[RUNNER_ERR_MAX - 16];

  if (st->results[i].outcome != OUTCOME_FAIL || st->durations[i] < st->opts->timeout_ms)
    return;
  snprintf(what, sizeof(what), "the target stopped answering after %s", st->cases[i].id);
  run_gate(st, what, 1);
}

static void *worker(void *arg) {
  run_state *st = arg;
  pthread_mutex_lock(&st->lock);
  while (st->next < st->end) {
    size_t i = st->next++;
    pthread_mutex_unlock(&st->lock);
    run_timed(st, i);
    pthread_mutex_lock(&st->lock);
    st->done[i] = 1;
    pthread_cond_broadcast(&st->cond);
  }
  pthread_mutex_unlock(&st->lock);
  return NULL;
}

static int runs_alone(const hc_case *c) { return (c->needs & (NEED_ALONE | NEED_SHUTDOWN)) != 0; }

/* Starts up to `parallel` workers on [from, to); 0 threads started means
 * the caller runs the batch itself. Returns how many started. */
static size_t start_batch(run_state *st, size_t from, size_t to, int parallel, pthread_t *threads) {
  size_t want = to - from, started = 0;
  if (parallel < 2 || want < 2)
    return 0;
  if (want > (size_t)parallel)
    want = (size_t)parallel;
  st->next = from;
  st->end = to;
  while (started < want && pthread_create(&threads[started], NULL, worker, st) == 0)
    started++;
  return started;
}

/* Counts, applies the baseline and reports result i. */
static int finish(run_state *st, size_t i, report *rep, report_summary *s) {
  const hc_case *c = &st->cases[i];
  case_result *res = &st->results[i];
  int counts = runner_counts_as_failure(c, res, st->opts->strict);
  counts = baseline_verdict(st->opts->known_failing, c, res, counts);
  switch (res->outcome) {
  case OUTCOME_PASS:
    s->passed++;
    break;
  case OUTCOME_FAIL:
    s->failed++;
    break;
  case OUTCOME_WARN:
    s->warned++;
    break;
  case OUTCOME_SKIP:
    s->skipped++;
    break;
  }
  report_case(rep, c, res, st->durations[i], counts);
  return counts;
}

/* Runs [from, to), none of them alone-only, and reports them in order. */
static int run_batch(run_state *st, size_t from, size_t to, report *rep, report_summary *s) {
  pthread_t threads[RUNNER_MAX_PARALLEL];
  int parallel =
      st->opts->parallel > RUNNER_MAX_PARALLEL ? RUNNER_MAX_PARALLEL : st->opts->parallel;
  size_t nthreads = start_batch(st, from, to, parallel, threads);
  int failed = 0;

  for (size_t i = from; i < to; i++) {
    if (nthreads == 0) {
      run_timed(st, i);
    } else {
      pthread_mutex_lock(&st->lock);
      while (!st->done[i])
        pthread_cond_wait(&st->cond, &st->lock);
      pthread_mutex_unlock(&st->lock);
    }
    failed |= finish(st, i, rep, s);
    recheck_after(st, i);
  }
  for (size_t k = 0; k < nthreads; k++)
    pthread_join(threads[k], NULL);
  return failed;
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
                  .service = service,
                  .suite = opts->suite};
  report_run_info info = {.version = HC_VERSION,
                          .target = opts->target,
                          .options = options,
                          .started = started,
                          .total = count,
                          .strict = opts->strict};
  run_state st = {.cases = cases, .ctx = &ctx, .opts = opts};

  st.results = calloc(count ? count : 1, sizeof(*st.results));
  st.durations = calloc(count ? count : 1, sizeof(*st.durations));
  st.done = calloc(count ? count : 1, 1);
  if (!st.results || !st.durations || !st.done) {
    free(st.results);
    free(st.durations);
    free(st.done);
    return -ENOMEM;
  }
  pthread_mutex_init(&st.lock, NULL);
  pthread_cond_init(&st.cond, NULL);
  snprintf(service, sizeof(service), "hc-conformance-%ld", (long)getpid());
  snprintf(options, sizeof(options),
           "timeout=%dms max-time=%dms latency-budget=%dms strict=%s parallel=%d control=%s",
           opts->timeout_ms, opts->max_time_ms, opts->latency_budget_ms,
           opts->strict ? "yes" : "no", opts->parallel > 1 ? opts->parallel : 1,
           opts->control_desc ? opts->control_desc : (opts->control ? "yes" : "none"));
  gmtime_r(&t, &tm);
  strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
  report_begin(rep, &info);
  if (opts->max_time_ms > 0)
    st.deadline = monotime_ms() + opts->max_time_ms;
  if (!opts->unreachable)
    run_gate(&st, "the target does not answer", 0);

  /* Batches of cases that may share the target, split by cases that must
   * run alone; each batch ends before the next case starts. */
  for (size_t i = 0; i < count;) {
    size_t j = i;
    if (runs_alone(&cases[i]))
      j = i + 1;
    else
      while (j < count && !runs_alone(&cases[j]))
        j++;
    failed |= run_batch(&st, i, j, rep, &s);
    i = j;
  }
  if (opts->unreachable || (st.halted && !failed))
    s.exit_code = RUNNER_EXIT_UNREACHABLE;
  else
    s.exit_code = failed || st.out_of_time ? RUNNER_EXIT_FAILED : RUNNER_EXIT_OK;
  if (summary)
    *summary = s;
  pthread_cond_destroy(&st.cond);
  pthread_mutex_destroy(&st.lock);
  free(st.results);
  free(st.durations);
  free(st.done);
  return s.exit_code;
}
