/* core_server: starting and stopping health_server on the gRPC C core
 * (health_server.h's lifecycle calls): the server, its completion queues
 * and their threads, the armed requests. See core_call.h for the threading
 * rule and the lock order; health_server.c handles each method. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "core_call.h"
#include "errbuf.h"
#include "health_server.h"
#include "monocond.h"
#include "netaddr.h"
#include "wire.h"
#include "xalloc.h"

/* Requests kept armed per method: the core never rejects a call nobody
 * asked for, it queues it until the client's deadline (C core notes §2.2). */
#define ARMED_PER_METHOD 16

/* How the core hands each registered method's request over. */
static const grpc_server_register_method_payload_handling payloads[HLOGIC_UNKNOWN] = {
    [HLOGIC_CHECK] = GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
    [HLOGIC_WATCH] = GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
    [HLOGIC_LIST] = GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
    [HLOGIC_REFLECTION_V1] = GRPC_SRM_PAYLOAD_NONE,
    [HLOGIC_REFLECTION_V1ALPHA] = GRPC_SRM_PAYLOAD_NONE,
};

/* Where the next request for `method` is armed. Shard 0 polls: its thread
 * does all the socket I/O and answers every call but Watch, as a second
 * polling thread would only hand the poller role back and forth. The
 * others are non-polling queues that hold the Watch streams, spread evenly:
 * Debian's libgrpc is built without NDEBUG and scans a queue's outstanding
 * tags on every completion (one RECV_CLOSE per open Watch), so 10,000
 * streams on one queue make each completion slow (docs/performance.md).
 * The core hands a new call to the first queue, from the connection's,
 * that has one armed; as every connection is on shard 0, arming Watches
 * round robin is what spreads them. */
static hs_shard *arm_shard(health_server *hs, hlogic_method method) {
  unsigned next;

  if (method != HLOGIC_WATCH || hs->n_shards == 1)
    return &hs->shards[0];
  next = atomic_fetch_add(&hs->next_watch_shard, 1);
  return &hs->shards[1 + next % (unsigned)(hs->n_shards - 1)];
}

static void on_request(void *arg, int ok);

static int arm(health_server *hs, hlogic_method method) {
  hs_shard *sh = arm_shard(hs, method);
  hs_call *c = call_new(sh, method, on_request);
  grpc_call_error e;

  if (method == HLOGIC_UNKNOWN)
    e = grpc_server_request_call(hs->server, &c->call, &c->details, &c->md, sh->cq, sh->cq,
                                 &c->request_tag);
  else
    e = grpc_server_request_registered_call(
        hs->server, hs->methods[method], &c->call, &c->deadline, &c->md,
        payloads[method] == GRPC_SRM_PAYLOAD_NONE ? NULL : &c->payload, sh->cq, sh->cq,
        &c->request_tag);
  if (e != GRPC_CALL_OK) {
    call_free(c);
    return -EIO;
  }
  return 0;
}

static void on_request(void *arg, int ok) {
  hs_call *c = arg;
  health_server *hs = c->hs;

  if (!ok) { /* the server is shutting down */
    call_free(c);
    return;
  }
  if (arm(hs, c->method) < 0)
    fprintf(stderr, "mock-executor: could not re-arm a request\n");
  pthread_mutex_lock(&hs->mu);
  call_advance(c, CALL_ACCEPTED, NULL);
  hs->active_calls++;
  hs->accepted++;
  pthread_mutex_unlock(&hs->mu);
  atomic_store(&c->refs, 1); /* the handler's own, dropped below */
  call_arrived(c);
  health_server_handle(c);
  call_unref(c);
}

static void shutdown_queues(health_server *hs) {
  for (int i = 0; i < hs->n_shards; i++)
    grpc_completion_queue_shutdown(hs->shards[i].cq);
}

void core_close_queues_if_done(health_server *hs) {
  int now;

  pthread_mutex_lock(&hs->mu);
  now = hs->shut_down && hs->active_calls == 0 && !hs->queues_closed;
  if (now)
    hs->queues_closed = 1;
  pthread_mutex_unlock(&hs->mu);
  if (now)
    shutdown_queues(hs);
}

static void on_shutdown(void *arg, int ok) {
  health_server *hs = arg;

  (void)ok;
  pthread_mutex_lock(&hs->mu);
  hs->shut_down = 1;
  pthread_cond_broadcast(&hs->drained);
  pthread_mutex_unlock(&hs->mu);
  /* No new call arrives from here on; the queues go once the calls that
   * are still finishing are freed. */
  core_close_queues_if_done(hs);
}

static void *cq_loop(void *arg) {
  shard_loop(arg, health_server_run_work);
  return NULL;
}

/* ---- start / stop ----------------------------------------------------- */

static void destroy(health_server *hs) {
  if (hs->server) {
    health_server_begin_shutdown(hs);
    grpc_server_cancel_all_calls(hs->server); /* else open Watches block shutdown */
  } else {
    shutdown_queues(hs);
  }
  for (int i = 0; i < hs->n_shards; i++) {
    if (hs->shards[i].started)
      pthread_join(hs->shards[i].thread, NULL);
    else
      cq_loop(&hs->shards[i]); /* never started: drain here */
  }
  if (hs->server)
    grpc_server_destroy(hs->server);
  for (int i = 0; i < hs->n_shards; i++) {
    grpc_completion_queue_destroy(hs->shards[i].cq);
    pthread_mutex_destroy(&hs->shards[i].wake_mu);
  }
  for (int s = 0; s <= WIRE_STATUS_MAX; s++)
    grpc_slice_unref(hs->responses[s]);
  pthread_cond_destroy(&hs->drained);
  pthread_mutex_destroy(&hs->mu);
  free(hs);
  grpc_shutdown();
}

static void preencode_responses(health_server *hs) {
  uint8_t buf[WIRE_RESPONSE_MAX];

  for (int s = 0; s <= WIRE_STATUS_MAX; s++) {
    int len = wire_check_response_encode(s, buf);
    hs->responses[s] = grpc_slice_from_copied_buffer((const char *)buf, (size_t)len);
  }
}

static grpc_server *create_server(const faults *f) {
  grpc_arg args[] = {
      /* Two mocks on one port must fail, not silently share it. */
      {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
      /* A quiet Watch must survive client keepalive pings (§7). */
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
       .value.integer = 1000},
      {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_HTTP2_MAX_PING_STRIKES, .value.integer = 0},
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
       .value.integer = 1},
      /* Violation max-streams-one (T12), last and only when on: read once,
       * as SETTINGS are fixed when the server is created. Without it the
       * core sends no MAX_CONCURRENT_STREAMS at all (unlimited). */
      {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONCURRENT_STREAMS, .value.integer = 1},
  };
  size_t n = sizeof(args) / sizeof(args[0]);
  grpc_channel_args ca = {faults_on(f, VIOLATE_MAX_STREAMS_ONE) ? n : n - 1, args};

  return grpc_server_create(&ca, NULL);
}

static void format_address(char *out, size_t len, const char *host, int port) {
  if (strchr(host, ':') && host[0] != '[')
    snprintf(out, len, "[%s]:%d", host, port);
  else
    snprintf(out, len, "%s:%d", host, port);
}

/* Plaintext, or TLS from the --ssl-* files; with a CA the handshake
 * fails unless the client presents a certificate it signed. */
static grpc_server_credentials *server_credentials(const tls_pem *tls) {
  grpc_ssl_pem_key_cert_pair pair;

  if (!tls)
    return grpc_insecure_server_credentials_create();
  pair = (grpc_ssl_pem_key_cert_pair){.private_key = tls->key, .cert_chain = tls->cert};
  return grpc_ssl_server_credentials_create_ex(
      tls->ca, &pair, 1,
      tls->ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
      NULL);
}

static int bind_ports(health_server *hs, const health_server_options *opts, int *bound, char *err,
                      size_t errlen) {
  grpc_server_credentials *cr;
  struct sockaddr_storage ss;
  socklen_t len;
  char addr[300];
  /* The core resolves the host itself and, when it cannot, logs its own
   * error and fails the bind like a port in use: resolved here first, a
   * name that does not resolve is named as such, as on every listener. */
  int rc = netaddr_resolve("grpc", opts->host, 0, &ss, &len, err, errlen);

  if (rc < 0)
    return rc;
  cr = server_credentials(opts->tls);
  for (size_t i = 0; i < opts->n_ports; i++) {
    format_address(addr, sizeof(addr), opts->host, opts->ports[i]);
    bound[i] = grpc_server_add_http2_port(hs->server, addr, cr);
    if (bound[i] == 0) {
      snprintf(err, errlen, "cannot listen on %s (address in use or not local)", addr);
      rc = -EADDRINUSE;
      break;
    }
  }
  grpc_server_credentials_release(cr);
  return rc;
}

static int register_methods(health_server *hs, char *err, size_t errlen) {
  for (int m = 0; m < HLOGIC_UNKNOWN; m++) {
    const char *path = hlogic_method_path((hlogic_method)m);

    hs->methods[m] = grpc_server_register_method(hs->server, path, NULL, payloads[m], 0);
    if (!hs->methods[m])
      return errbuf_fail(err, errlen, -EINVAL, "cannot register %s", path);
  }
  return 0;
}

static void create_queues(health_server *hs, int n) {
  grpc_completion_queue_attributes watch_attr = {GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT,
                                                 GRPC_CQ_NON_POLLING, NULL};
  const grpc_completion_queue_factory *f = grpc_completion_queue_factory_lookup(&watch_attr);

  for (int i = 0; i < n && i < MAX_CQ_THREADS; i++) {
    grpc_completion_queue *cq = i == 0 ? grpc_completion_queue_create_for_next(NULL)
                                       : grpc_completion_queue_create(f, &watch_attr, NULL);

    hs->shards[i] = (hs_shard){.hs = hs, .cq = cq};
    pthread_mutex_init(&hs->shards[i].wake_mu, NULL);
    grpc_server_register_completion_queue(hs->server, hs->shards[i].cq, NULL);
    hs->n_shards++;
  }
}

static int start_serving(health_server *hs, char *err, size_t errlen) {
  grpc_server_start(hs->server);
  for (int m = 0; m < HLOGIC_METHOD_COUNT; m++) {
    int shards = m == HLOGIC_WATCH && hs->n_shards > 1 ? hs->n_shards - 1 : 1;

    for (int i = 0; i < ARMED_PER_METHOD * shards; i++) {
      if (arm(hs, (hlogic_method)m) < 0)
        return errbuf_fail(err, errlen, -EIO, "cannot request calls");
    }
  }
  for (int s = 0; s < hs->n_shards; s++) {
    if (pthread_create(&hs->shards[s].thread, NULL, cq_loop, &hs->shards[s]) != 0)
      return errbuf_fail(err, errlen, -EAGAIN, "cannot start a completion-queue thread");
    hs->shards[s].started = 1;
  }
  return 0;
}

int health_server_start(const health_server_options *opts, health_server **out, int *bound_ports,
                        char *err, size_t errlen) {
  health_server *hs = xcalloc(1, sizeof(*hs));
  int rc;

  grpc_init();
  hlogic_init(&hs->logic, opts->reg, opts->faults, opts->journal, opts->list_limit);
  hs->logic.reflection_list = opts->reflection_list;
  hs->busy_poll_us = opts->busy_poll_us;
  hs->shutdown_tag = (tag){on_shutdown, hs};
  pthread_mutex_init(&hs->mu, NULL);
  monocond_init(&hs->drained);
  preencode_responses(hs);
  hs->server = create_server(opts->faults);
  create_queues(hs, opts->cq_threads);
  rc = register_methods(hs, err, errlen);
  if (rc == 0)
    rc = bind_ports(hs, opts, bound_ports, err, errlen);
  if (rc == 0)
    rc = start_serving(hs, err, errlen);
  if (rc < 0) {
    destroy(hs);
    return rc;
  }
  *out = hs;
  return 0;
}

/* The race this avoids: a SEND_STATUS started here on main while the
 * call's thread starts a SEND_MESSAGE (grpc.h forbids concurrent batches on
 * one call). The end is queued on the call's own thread instead, through
 * the wake-up that Watch sends use; there it follows any send queued
 * before it. */
void health_server_end_watches(health_server *hs, int code, const char *details) {
  pthread_mutex_lock(&hs->mu);
  hs->end = (hlogic_answer){.code = code, .status = -1};
  snprintf(hs->end.details, sizeof(hs->end.details), "%s", details ? details : "");
  for (hs_call *c = hs->watches; c; c = c->watch_next)
    shard_post(c, WAKE_END, 0); /* linked: alive while hs->mu is held */
  pthread_mutex_unlock(&hs->mu);
}

void health_server_begin_shutdown(health_server *hs) {
  pthread_mutex_lock(&hs->mu);
  if (hs->shutting_down || !hs->server) {
    pthread_mutex_unlock(&hs->mu);
    return;
  }
  hs->shutting_down = 1;
  pthread_mutex_unlock(&hs->mu);
  grpc_server_shutdown_and_notify(hs->server, hs->shards[0].cq, &hs->shutdown_tag);
}

int health_server_wait_idle(health_server *hs, int timeout_ms) {
  struct timespec until = monocond_after(timeout_ms);
  int rc = 0;

  /* Idle client connections may outlive the shutdown; calls decide. */
  pthread_mutex_lock(&hs->mu);
  while (!hs->shut_down && hs->active_calls > 0 && rc == 0)
    rc = pthread_cond_timedwait(&hs->drained, &hs->mu, &until);
  rc = hs->shut_down || hs->active_calls == 0 ? 0 : -ETIMEDOUT;
  pthread_mutex_unlock(&hs->mu);
  return rc;
}

size_t health_server_activity(health_server *hs) {
  size_t n;

  pthread_mutex_lock(&hs->mu);
  n = 2 * hs->accepted - hs->active_calls; /* starts + ends */
  pthread_mutex_unlock(&hs->mu);
  return n;
}

int health_server_drain(health_server *hs, int timeout_ms) {
  struct timespec until = monocond_after(timeout_ms);
  int rc = 0;

  pthread_mutex_lock(&hs->mu);
  while (hs->watch_sends > 0 && rc == 0)
    rc = pthread_cond_timedwait(&hs->drained, &hs->mu, &until);
  rc = hs->watch_sends > 0 ? -ETIMEDOUT : 0;
  pthread_mutex_unlock(&hs->mu);
  return rc;
}

void health_server_stop(health_server *hs) {
  if (hs)
    destroy(hs);
}
