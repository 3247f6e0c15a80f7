/*
 * watch-fanout: opens N Watch streams (service "") on one server over C
 * channels, waits until each has its first answer (SERVING), then flips the
 * server to NOT_SERVING and times, per watcher, the moment its NOT_SERVING
 * message is dequeued, counted from just before the flip request is sent.
 *
 *   watch-fanout --target H:P --watchers N [--channels C]
 *                (--control URL | --control-fifo DIR) [--timeout-ms T] [--no-wait]
 *
 * --control URL: the mock's control API, PUT URL/v1/statuses.
 * --control-fifo DIR: cpp-health-host's FIFOs (DIR/in, DIR/out).
 * Unless --no-wait, it prints "OPEN ..." once every stream is open and waits
 * for a line on stdin before the flip, so a driver can sample the server's
 * RSS with all streams open. Output, one line each:
 *   OPEN watchers=N channels=C open_ms=X
 *   FLIP request_ms=X
 *   NOTIFIED n=K/N p50_ms=X p99_ms=X max_ms=X
 * Exit 0 when every watcher saw NOT_SERVING within the timeout, 1 otherwise,
 * 2 on usage errors.
 *
 * Each connection has its own completion queue drained by its own thread,
 * so the latencies include this client's own dequeue cost (on the same
 * machine as the server).
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

enum { TAG_OPEN = 0, TAG_MSG = 1, TAG_STATUS = 2, TAG_KINDS = 4 };

typedef struct shard shard;

typedef struct watcher {
  shard *sh;
  grpc_call *call;
  grpc_metadata_array initial_md;
  grpc_metadata_array trailing_md;
  grpc_byte_buffer *msg;
  grpc_status_code code;
  grpc_slice details;
  int pending;  /* tags not yet dequeued */
  int opened;   /* saw its first message */
  int notified; /* saw NOT_SERVING */
  double at_ms; /* when NOT_SERVING was dequeued, from the flip */
} watcher;

typedef struct fanout_options {
  const char *target;
  const char *control_url;
  const char *control_fifo;
  int watchers;
  int channels;
  int timeout_ms;
  int wait_stdin;
} fanout_options;

typedef struct fanout fanout;

/* One connection, its completion queue and the thread draining it. Debian's
 * libgrpc is built without NDEBUG, so every completion scans the queue's
 * list of outstanding tags (completion_queue.cc cq_check_tag): one queue for
 * 10,000 streams would make this client quadratic. Counters are touched by
 * the shard's thread only. */
struct shard {
  fanout *f;
  grpc_channel *chan;
  grpc_completion_queue *cq;
  pthread_t thread;
  int threaded; /* thread was started */
  int n;        /* watchers on this shard */
  int opened;
  int notified;
  int pending; /* tags not yet dequeued */
  int phase;   /* 0: wait for `opened`, 1: for `notified` */
  int rv;
};

struct fanout {
  fanout_options opt;
  shard *shards;
  watcher *w;
  grpc_byte_buffer *request;
  struct timespec flip_at;
};

static double ms_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void *tag_of(watcher *w, int kind) { return (void *)((uintptr_t)w | (uintptr_t)kind); }

static watcher *tag_watcher(void *tag, int *kind) {
  *kind = (int)((uintptr_t)tag & (TAG_KINDS - 1));
  return (watcher *)((uintptr_t)tag & ~(uintptr_t)(TAG_KINDS - 1));
}

static int usage(const char *why) {
  fprintf(stderr,
          "watch-fanout: %s\n"
          "usage: watch-fanout --target H:P --watchers N [--channels C]\n"
          "       (--control URL | --control-fifo DIR) [--timeout-ms T] [--no-wait]\n",
          why);
  return 2;
}

static int parse_int(const char *s, int min, int *out) {
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end || v < min || v > 10000000)
    return -EINVAL;
  *out = (int)v;
  return 0;
}

static int parse_args(int argc, char **argv, fanout_options *o) {
  *o = (fanout_options){.watchers = 10000, .channels = 10, .timeout_ms = 30000, .wait_stdin = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-wait") == 0) {
      o->wait_stdin = 0;
      continue;
    }
    if (!v)
      return usage("an option is missing its value");
    i++;
    if (strcmp(a, "--target") == 0)
      o->target = v;
    else if (strcmp(a, "--control") == 0)
      o->control_url = v;
    else if (strcmp(a, "--control-fifo") == 0)
      o->control_fifo = v;
    else if (strcmp(a, "--watchers") == 0) {
      if (parse_int(v, 1, &o->watchers) < 0)
        return usage("--watchers needs a number >= 1");
    } else if (strcmp(a, "--channels") == 0) {
      if (parse_int(v, 1, &o->channels) < 0)
        return usage("--channels needs a number >= 1");
    } else if (strcmp(a, "--timeout-ms") == 0) {
      if (parse_int(v, 1, &o->timeout_ms) < 0)
        return usage("--timeout-ms needs a number >= 1");
    } else {
      return usage("unknown option");
    }
  }
  if (!o->target)
    return usage("--target is required");
  if (!o->control_url == !o->control_fifo)
    return usage("give exactly one of --control and --control-fifo");
  if (o->channels > o->watchers)
    o->channels = o->watchers;
  return 0;
}

/* Each shard's channel gets its own subchannel pool, hence its own
 * connection. */
static int fanout_shards(fanout *f) {
  grpc_arg arg = {
      .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1};
  grpc_channel_args args = {.num_args = 1, .args = &arg};
  grpc_channel_credentials *cr = grpc_insecure_credentials_create();

  f->shards = calloc((size_t)f->opt.channels, sizeof(*f->shards));
  if (!f->shards) {
    grpc_channel_credentials_release(cr);
    return -ENOMEM;
  }
  for (int i = 0; i < f->opt.channels; i++) {
    f->shards[i].f = f;
    f->shards[i].chan = grpc_channel_create(f->opt.target, cr, &args);
    f->shards[i].cq = grpc_completion_queue_create_for_next(NULL);
  }
  grpc_channel_credentials_release(cr);
  return 0;
}

static int watcher_start(fanout *f, watcher *w, shard *sh, gpr_timespec deadline) {
  grpc_op ops[4] = {0}, st = {0}, rm = {0};

  w->sh = sh;
  w->call = grpc_channel_create_call(sh->chan, NULL, GRPC_PROPAGATE_DEFAULTS, sh->cq,
                                     grpc_slice_from_static_string("/grpc.health.v1.Health/Watch"),
                                     NULL, deadline, NULL);
  grpc_metadata_array_init(&w->initial_md);
  grpc_metadata_array_init(&w->trailing_md);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = f->request;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &w->initial_md;
  st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  st.data.recv_status_on_client.trailing_metadata = &w->trailing_md;
  st.data.recv_status_on_client.status = &w->code;
  st.data.recv_status_on_client.status_details = &w->details;
  rm.op = GRPC_OP_RECV_MESSAGE;
  rm.data.recv_message.recv_message = &w->msg;
  if (grpc_call_start_batch(w->call, ops, 4, tag_of(w, TAG_OPEN), NULL) != GRPC_CALL_OK ||
      grpc_call_start_batch(w->call, &st, 1, tag_of(w, TAG_STATUS), NULL) != GRPC_CALL_OK ||
      grpc_call_start_batch(w->call, &rm, 1, tag_of(w, TAG_MSG), NULL) != GRPC_CALL_OK)
    return -EIO;
  w->pending = 3;
  sh->pending += 3;
  sh->n++;
  return 0;
}

static int message_status(grpc_byte_buffer *bb, int *status) {
  grpc_byte_buffer_reader r;
  grpc_slice s;
  int rv;

  if (!grpc_byte_buffer_reader_init(&r, bb))
    return -EBADMSG;
  s = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  rv = wire_check_response_decode(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), status);
  grpc_slice_unref(s);
  return rv;
}

/* A message arrived: count the first one, time the NOT_SERVING one, re-arm
 * until then (a server may repeat SERVING). */
static void on_message(watcher *w) {
  shard *sh = w->sh;
  grpc_op rm = {0};
  int status = -1;

  if (!w->msg)
    return; /* end of stream: the status tag tells why */
  if (message_status(w->msg, &status) < 0)
    status = -1;
  grpc_byte_buffer_destroy(w->msg);
  w->msg = NULL;
  if (!w->opened) {
    w->opened = 1;
    sh->opened++;
  } else if (status == 2 /* NOT_SERVING */ && sh->phase == 1) {
    w->at_ms = ms_since(&sh->f->flip_at);
    w->notified = 1;
    sh->notified++;
    return;
  }
  rm.op = GRPC_OP_RECV_MESSAGE;
  rm.data.recv_message.recv_message = &w->msg;
  if (grpc_call_start_batch(w->call, &rm, 1, tag_of(w, TAG_MSG), NULL) == GRPC_CALL_OK) {
    w->pending++;
    sh->pending++;
  }
}

/* Drives the shard's queue until every watcher on it is open (phase 0) or
 * notified (phase 1), or the timeout. Runs on the shard's thread. */
static void *shard_poll(void *arg) {
  shard *sh = arg;
  const int *counter = sh->phase ? &sh->notified : &sh->opened;
  gpr_timespec end = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                  gpr_time_from_millis(sh->f->opt.timeout_ms, GPR_TIMESPAN));

  sh->rv = 0;
  while (*counter < sh->n && sh->pending > 0) {
    grpc_event ev = grpc_completion_queue_next(sh->cq, end, NULL);
    int kind;
    watcher *w;

    if (ev.type != GRPC_OP_COMPLETE) {
      sh->rv = -ETIMEDOUT;
      return NULL;
    }
    w = tag_watcher(ev.tag, &kind);
    w->pending--;
    sh->pending--;
    if (kind == TAG_MSG)
      on_message(w);
    else if (kind == TAG_STATUS && !w->notified)
      fprintf(stderr, "watch-fanout: a Watch ended with status %d before NOT_SERVING\n",
              (int)w->code);
  }
  if (*counter < sh->n)
    sh->rv = -EIO;
  return NULL;
}

/* Runs every shard's poll on its own thread; 0 when all reached the goal. */
static int fanout_poll(fanout *f, int phase) {
  int rv = 0;

  for (int i = 0; i < f->opt.channels; i++) {
    shard *sh = &f->shards[i];
    sh->phase = phase;
    sh->threaded = pthread_create(&sh->thread, NULL, shard_poll, sh) == 0;
    if (!sh->threaded)
      shard_poll(sh); /* out of threads: poll it here */
  }
  for (int i = 0; i < f->opt.channels; i++) {
    shard *sh = &f->shards[i];
    if (sh->threaded)
      pthread_join(sh->thread, NULL);
    if (sh->rv < 0)
      rv = sh->rv;
  }
  return rv;
}

static int fanout_count(const fanout *f, int phase) {
  int n = 0;

  for (int i = 0; i < f->opt.channels; i++)
    n += phase ? f->shards[i].notified : f->shards[i].opened;
  return n;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx) {
  (void)p;
  (void)ctx;
  return size * n;
}

static int flip_http(const char *url) {
  char full[512];
  long code = 0;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  CURLcode rc;

  snprintf(full, sizeof(full), "%s/v1/statuses", url);
  curl_easy_setopt(c, CURLOPT_URL, full);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"service\":\"\",\"status\":\"NOT_SERVING\"}");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK || code != 200) {
    fprintf(stderr, "\nwatch-fanout: PUT %s failed: %s, HTTP %ld\n", full, curl_easy_strerror(rc),
            code);
    return -EIO;
  }
  return 0;
}

/* cpp-health-host's control: one line to DIR/in, one answer from DIR/out. */
static int flip_fifo(const char *dir) {
  char path[512], answer[64] = {0};
  const char line[] = "NOT_SERVING \n";
  int fd, rv = -EIO;

  snprintf(path, sizeof(path), "%s/in", dir);
  fd = open(path, O_WRONLY);
  if (fd < 0 || write(fd, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1))
    goto out;
  close(fd);
  snprintf(path, sizeof(path), "%s/out", dir);
  fd = open(path, O_RDONLY);
  if (fd >= 0 && read(fd, answer, sizeof(answer) - 1) > 0 && strncmp(answer, "ok", 2) == 0)
    rv = 0;
out:
  if (fd >= 0)
    close(fd);
  if (rv < 0)
    fprintf(stderr, "watch-fanout: control FIFO in %s failed\n", dir);
  return rv;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const fanout *f) {
  double *v = malloc(sizeof(double) * (size_t)f->opt.watchers);
  int n = 0;

  if (!v)
    return;
  for (int i = 0; i < f->opt.watchers; i++)
    if (f->w[i].notified)
      v[n++] = f->w[i].at_ms;
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  if (n)
    printf("NOTIFIED n=%d/%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", n, f->opt.watchers,
           v[(n - 1) / 2], v[(size_t)((n - 1) * 0.99)], v[n - 1]);
  else
    printf("NOTIFIED n=0/%d\n", f->opt.watchers);
  free(v);
}

/* Cancels every call and drains their tags, then frees everything. */
static void fanout_close(fanout *f) {
  for (int i = 0; f->w && i < f->opt.watchers; i++)
    if (f->w[i].call)
      grpc_call_cancel(f->w[i].call, NULL);
  for (int i = 0; f->shards && i < f->opt.channels; i++) {
    shard *sh = &f->shards[i];
    while (sh->pending > 0) {
      grpc_event ev = grpc_completion_queue_next(
          sh->cq,
          gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(5, GPR_TIMESPAN)), NULL);
      int kind;
      watcher *w;

      if (ev.type != GRPC_OP_COMPLETE)
        break;
      w = tag_watcher(ev.tag, &kind);
      sh->pending--;
      if (kind == TAG_MSG && w->msg) {
        grpc_byte_buffer_destroy(w->msg);
        w->msg = NULL;
      }
    }
  }
  for (int i = 0; f->w && i < f->opt.watchers; i++) {
    watcher *w = &f->w[i];
    if (!w->call)
      continue;
    grpc_call_unref(w->call);
    grpc_metadata_array_destroy(&w->initial_md);
    grpc_metadata_array_destroy(&w->trailing_md);
    grpc_slice_unref(w->details);
  }
  for (int i = 0; f->shards && i < f->opt.channels; i++) {
    shard *sh = &f->shards[i];
    grpc_completion_queue_shutdown(sh->cq);
    while (grpc_completion_queue_next(sh->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
      ;
    grpc_completion_queue_destroy(sh->cq);
    grpc_channel_destroy(sh->chan);
  }
  free(f->shards);
  free(f->w);
  if (f->request)
    grpc_byte_buffer_destroy(f->request);
}

static int fanout_run(fanout *f) {
  struct timespec t0;
  gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_millis(3 * f->opt.timeout_ms, GPR_TIMESPAN));
  grpc_slice empty = grpc_empty_slice();
  char line[16];
  int rv;

  f->request = grpc_raw_byte_buffer_create(&empty, 1); /* service "" (H-CHECK-8) */
  f->w = calloc((size_t)f->opt.watchers, sizeof(*f->w));
  if (!f->w)
    return -ENOMEM;
  rv = fanout_shards(f);
  if (rv < 0)
    return rv;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < f->opt.watchers; i++) {
    rv = watcher_start(f, &f->w[i], &f->shards[i % f->opt.channels], deadline);
    if (rv < 0)
      return rv;
  }
  rv = fanout_poll(f, 0);
  if (rv < 0) {
    fprintf(stderr, "watch-fanout: only %d/%d streams answered\n", fanout_count(f, 0),
            f->opt.watchers);
    return rv;
  }
  printf("OPEN watchers=%d channels=%d open_ms=%.1f\n", f->opt.watchers, f->opt.channels,
         ms_since(&t0));
  fflush(stdout);
  if (f->opt.wait_stdin && !fgets(line, sizeof(line), stdin))
    return -EPIPE;
  clock_gettime(CLOCK_MONOTONIC, &f->flip_at);
  rv = f->opt.control_url ? flip_http(f->opt.control_url) : flip_fifo(f->opt.control_fifo);
  if (rv < 0)
    return rv;
  printf("FLIP request_ms=%.3f\n", ms_since(&f->flip_at));
  rv = fanout_poll(f, 1);
  report(f);
  return rv;
}

int main(int argc, char **argv) {
  fanout f = {0};
  int rv;

  signal(SIGPIPE, SIG_IGN);
  rv = parse_args(argc, argv, &f.opt);
  if (rv)
    return rv;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  rv = fanout_run(&f);
  fanout_close(&f);
  grpc_shutdown();
  curl_global_cleanup();
  return rv < 0 ? 1 : 0;
}
