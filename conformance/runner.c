/* runner: needs, timing, verdicts, the reachability probe. See runner.h.
 *
 * THREADS: runner_run's thread, plus up to --parallel workers for a batch
 * of independent cases (with --max-time, every case runs on a worker).
 * run_state.lock guards next/done/started and the published results (which
 * case runs, which finished); a worker runs its case into a result of its
 * own and publishes it under the lock, unless --max-time cut the case short
 * (done[i] == 2), which the main thread decides under the lock. The lock
 * is a leaf: case functions run without it. */
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
#include "monocond.h"
#include "monotime.h"
#include "number.h"
#include "xalloc.h"

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
 * read by the reporting thread under `lock`. On the heap, counted: when
 * --max-time cuts a case short its thread still runs (inside the gRPC
 * core, say) and writes here when it ends, after runner_run returned; the
 * last of the threads to let go frees it. */
typedef struct run_state {
  const hc_case *cases;
  case_ctx ctx;
  char service[64];
  runner_options opts; /* a copy: a cut case's thread reads it after runner_run returned */
  case_result *results;
  long *durations;
  long long *started;  /* monotime_ms() when case i started; 0: not yet */
  unsigned char *done; /* 1: result i is final; 2: cut short, the thread's result dropped */
  size_t next, end;    /* the batch being run: [next, end) still to start */
  long long deadline;  /* monotime_ms() when --max-time runs out; 0: never */
  int out_of_time;     /* a case was not run because the budget ran out */
  int cut;             /* a case was cut short: its thread was left running */
  int halted;          /* the gate failed: no further case starts */
  int refs;            /* runner_run and each worker still running */
  char halt[2 * RUNNER_ERR_MAX]; /* why, for every case not run */
  pthread_mutex_t lock;
  pthread_cond_t cond; /* monocond: done[] changed */
} run_state;

static void budget_spent(const run_state *st, case_result *res) {
  memset(res, 0, sizeof(*res));
  case_fail(res, "the case runs within --max-time", "the run's time spent",
            "not run: the run's --max-time of %d ms ran out", st->opts.max_time_ms);
}

/* Nonzero if a case must not start: 1 the gate ended the run (SKIP), 2
 * the budget is spent (FAIL). Under the lock: workers read and set the
 * flags. */
static int halted_locked(run_state *st) {
  if (st->halted)
    return 1;
  if (st->deadline && monotime_ms() >= st->deadline)
    return st->out_of_time = 2;
  return 0;
}

/* Runs case i into a result of its own, then publishes it unless the
 * reporting thread cut the case short meanwhile (done[i] == 2). A case is
 * marked started in the same hold of the lock that found the run not
 * halted: one the budget stops before it starts is reported not run, never
 * cut short while it ran. */
static void run_timed(run_state *st, size_t i) {
  case_result res;
  long long t0 = monotime_ms();
  int halted;

  pthread_mutex_lock(&st->lock);
  halted = halted_locked(st);
  if (!halted)
    st->started[i] = t0;
  pthread_mutex_unlock(&st->lock);
  memset(&res, 0, sizeof(res));
  if (halted == 2)
    budget_spent(st, &res);
  else if (halted)
    case_skip(&res, "not run: %s", st->halt);
  else
    run_one(&st->cases[i], &st->ctx, &st->opts, &res);
  pthread_mutex_lock(&st->lock);
  if (!st->done[i]) {
    st->results[i] = res;
    st->durations[i] = (long)(monotime_ms() - t0);
    st->done[i] = 1;
  }
  pthread_cond_broadcast(&st->cond);
  pthread_mutex_unlock(&st->lock);
}

/* The budget ran out while case i of [i, to) was not done: the cases
 * running FAIL as cut short, the others as not run, and none starts any
 * more (issue 13: --max-time bounds the whole run, not only the starts;
 * a case of many calls just inside --timeout would otherwise outlive it
 * by minutes). Under the lock. */
static void cut_short(run_state *st, size_t i, size_t to) {
  long long now = monotime_ms();

  for (size_t k = i; k < to; k++) {
    case_result *res = &st->results[k];
    if (st->done[k])
      continue;
    if (st->started[k]) {
      memset(res, 0, sizeof(*res));
      case_fail(res, "the case ends within --max-time", "cut short",
                "cut short: the run's --max-time of %d ms ran out while it ran",
                st->opts.max_time_ms);
      st->durations[k] = (long)(now - st->started[k]);
      st->cut = 1;
    } else {
      budget_spent(st, res);
    }
    st->done[k] = 2;
  }
  st->next = st->end;
  st->out_of_time = 1;
}

/* Waits for case i, a worker's, until the budget runs out. */
static void wait_done(run_state *st, size_t i, size_t to) {
  pthread_mutex_lock(&st->lock);
  while (!st->done[i]) {
    if (!st->deadline) {
      pthread_cond_wait(&st->cond, &st->lock);
      continue;
    }
    long long left = st->deadline - monotime_ms();
    struct timespec until = monocond_after(left > 0 ? (long)left : 0);
    if (left <= 0 || (pthread_cond_timedwait(&st->cond, &st->lock, &until) == ETIMEDOUT &&
                      !st->done[i] && monotime_ms() >= st->deadline))
      cut_short(st, i, to);
  }
  pthread_mutex_unlock(&st->lock);
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

  if (!st->opts.gate || st->halted)
    return;
  rc = st->opts.gate(st->opts.gate_arg, reason, sizeof(reason));
  if (rc < 0 || (strict && rc > 0))
    run_halt(st, what, reason);
}

/* A case that failed after waiting its whole timeout may have met a target
 * that stopped answering: ask the gate again before the next case waits
 * too (issue 13: later cases fail fast). Not when the budget would run out
 * before the gate's own timeout: the budget ends the run anyway. */
static void recheck_after(run_state *st, size_t i) {
  char what[RUNNER_ERR_MAX - 16];

  if (st->results[i].outcome != OUTCOME_FAIL || st->durations[i] < st->opts.timeout_ms)
    return;
  if (st->deadline && st->deadline - monotime_ms() <= st->opts.timeout_ms)
    return;
  snprintf(what, sizeof(what), "the target stopped answering after %s", st->cases[i].id);
  run_gate(st, what, 1);
}

static void run_state_free(run_state *st) {
  pthread_cond_destroy(&st->cond);
  pthread_mutex_destroy(&st->lock);
  free(st->results);
  free(st->durations);
  free(st->started);
  free(st->done);
  free(st);
}

/* Lets go of st; the last one frees it. */
static void run_state_release(run_state *st) {
  int last;

  pthread_mutex_lock(&st->lock);
  last = --st->refs == 0;
  pthread_mutex_unlock(&st->lock);
  if (last)
    run_state_free(st);
}

static void *worker(void *arg) {
  run_state *st = arg;
  pthread_mutex_lock(&st->lock);
  while (st->next < st->end) {
    size_t i = st->next++;
    pthread_mutex_unlock(&st->lock);
    run_timed(st, i);
    pthread_mutex_lock(&st->lock);
  }
  pthread_mutex_unlock(&st->lock);
  run_state_release(st);
  return NULL;
}

static int runs_alone(const hc_case *c) { return (c->needs & (NEED_ALONE | NEED_SHUTDOWN)) != 0; }

/* Starts up to `parallel` workers on [from, to); 0 threads started means
 * the caller runs the batch itself. With a budget every case runs on a
 * worker, so that the reporting thread can stop waiting for it when the
 * budget runs out. Returns how many started. */
static size_t start_batch(run_state *st, size_t from, size_t to, int parallel, pthread_t *threads) {
  size_t want = to - from, started = 0;
  if (st->cut || (!st->deadline && (parallel < 2 || want < 2)))
    return 0;
  if (parallel < 1)
    parallel = 1;
  if (want > (size_t)parallel)
    want = (size_t)parallel;
  st->next = from;
  st->end = to;
  pthread_mutex_lock(&st->lock);
  st->refs += (int)want; /* before any worker can let go */
  pthread_mutex_unlock(&st->lock);
  while (started < want && pthread_create(&threads[started], NULL, worker, st) == 0)
    started++;
  pthread_mutex_lock(&st->lock);
  st->refs -= (int)(want - started);
  pthread_mutex_unlock(&st->lock);
  return started;
}

/* Counts, applies the baseline and reports result i. */
static int finish(run_state *st, size_t i, report *rep, report_summary *s) {
  const hc_case *c = &st->cases[i];
  case_result *res = &st->results[i];
  int counts = runner_counts_as_failure(c, res, st->opts.strict);
  counts = baseline_verdict(st->opts.known_failing, c, res, counts);
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
  int parallel = st->opts.parallel > RUNNER_MAX_PARALLEL ? RUNNER_MAX_PARALLEL : st->opts.parallel;
  size_t nthreads = start_batch(st, from, to, parallel, threads);
  int failed = 0;

  for (size_t i = from; i < to; i++) {
    if (nthreads == 0)
      run_timed(st, i);
    else
      wait_done(st, i, to);
    failed |= finish(st, i, rep, s);
    recheck_after(st, i);
  }
  for (size_t k = 0; k < nthreads; k++) {
    if (st->cut) /* a worker may never come back: nothing waits for it */
      pthread_detach(threads[k]);
    else
      pthread_join(threads[k], NULL);
  }
  return failed;
}

int runner_run(const hc_case *cases, size_t count, const runner_options *opts, report *rep,
               report_summary *summary) {
  report_summary s = {0};
  char options[512], started[32];
  time_t t = time(NULL);
  struct tm tm;
  int failed = 0, out_of_time;
  size_t n = count ? count : 1;
  report_run_info info = {.version = HC_VERSION,
                          .target = opts->target,
                          .options = options,
                          .started = started,
                          .total = count,
                          .strict = opts->strict};
  run_state *st = xcalloc(1, sizeof(*st));

  st->results = xcalloc(n, sizeof(*st->results));
  st->durations = xcalloc(n, sizeof(*st->durations));
  st->started = xcalloc(n, sizeof(*st->started));
  st->done = xcalloc(n, 1);
  pthread_mutex_init(&st->lock, NULL);
  monocond_init(&st->cond);
  st->cases = cases;
  st->opts = *opts;
  st->refs = 1;
  st->ctx = (case_ctx){.target = opts->target,
                       .timeout_ms = opts->timeout_ms,
                       .latency_budget_ms = opts->latency_budget_ms,
                       .control = opts->control,
                       .strict = opts->strict,
                       .service = st->service,
                       .suite = opts->suite};
  snprintf(st->service, sizeof(st->service), "hc-conformance-%ld", (long)getpid());
  snprintf(options, sizeof(options),
           "timeout=%dms max-time=%dms latency-budget=%dms strict=%s parallel=%d control=%s",
           opts->timeout_ms, opts->max_time_ms, opts->latency_budget_ms,
           opts->strict ? "yes" : "no", opts->parallel > 1 ? opts->parallel : 1,
           opts->control_desc ? opts->control_desc : (opts->control ? "yes" : "none"));
  gmtime_r(&t, &tm);
  strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
  report_begin(rep, &info);
  if (opts->max_time_ms > 0)
    st->deadline = (opts->started_ms ? opts->started_ms : monotime_ms()) + opts->max_time_ms;
  if (!opts->unreachable)
    run_gate(st, "the target does not answer", 0);

  /* Batches of cases that may share the target, split by cases that must
   * run alone; each batch ends before the next case starts. */
  for (size_t i = 0; i < count;) {
    size_t j = i;
    if (runs_alone(&cases[i]))
      j = i + 1;
    else
      while (j < count && !runs_alone(&cases[j]))
        j++;
    failed |= run_batch(st, i, j, rep, &s);
    i = j;
  }
  pthread_mutex_lock(&st->lock); /* a worker cut short may still set out_of_time */
  out_of_time = st->out_of_time;
  pthread_mutex_unlock(&st->lock);
  if (opts->unreachable || (st->halted && !failed))
    s.exit_code = RUNNER_EXIT_UNREACHABLE;
  else
    s.exit_code = failed || out_of_time ? RUNNER_EXIT_FAILED : RUNNER_EXIT_OK;
  s.cut_short = st->cut;
  if (summary)
    *summary = s;
  run_state_release(st);
  return s.exit_code;
}
