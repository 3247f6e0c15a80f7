/* health_server: Health + reflection on the gRPC C core. See health_server.h;
 * what is answered is health_logic's, the call machinery core_call's (the
 * threading rule and the lock order are written at the top of core_call.h).
 * This file handles each method over the core; core_server.c starts and
 * stops. */
#define _GNU_SOURCE
#include "health_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "core_call.h"
#include "health_logic.h"
#include "wire.h"

static const uint8_t *req_bytes(const hs_call *c) {
  return c->req_present ? GRPC_SLICE_START_PTR(c->req) : NULL;
}

static size_t req_len(const hs_call *c) { return c->req_present ? GRPC_SLICE_LENGTH(c->req) : 0; }

/* Journals the answer (unless it says not to) and sends it. */
static void answer(hs_call *c, hlogic_answer *a, int with_close) {
  if (!a->unjournaled)
    call_journal(c, a->code, a->status);
  call_finish(c, a, with_close);
  hlogic_answer_free(a);
}

/* An answer decided earlier (c->held), journaled then, sent now. */
static void answer_held(hs_call *c) { call_finish(c, &c->held, 1); }

/* ---- fault injection (inject.h) --------------------------------------- */

/* Applies an injected fault to a Check, Watch or List call before its
 * normal answer, `go_on`, which a delay runs later on the pending list
 * (never in a sleep: the CQ threads stay free). Returns 1 when the fault
 * took the call, 0 when the normal answer is due now. */
static int apply_fault(hs_call *c, void (*go_on)(hs_call *)) {
  inject_hit hit;
  hlogic_answer a;

  if (!hlogic_fault(&c->hs->logic, c->method, c->service, c->service_rc, &hit))
    return 0;
  switch (hit.action) {
  case INJECT_DELAY:
  case INJECT_RANDOM_DELAY:
    call_defer(c, call_after_ms(gpr_now(GPR_CLOCK_MONOTONIC), hit.delay_ms), WAIT_UNTIL, go_on);
    break;
  case INJECT_HANG: /* the client is gone when it comes: it only ends the call here */
    hlogic_fault_answer(&hit, &c->held);
    call_journal(c, c->held.code, -1);
    call_defer(c, call_after_ms(c->deadline, HLOGIC_PAST_DEADLINE_MS), WAIT_UNTIL, answer_held);
    break;
  case INJECT_CODE:
    hlogic_fault_answer(&hit, &a);
    answer(c, &a, 1);
    break;
  default: /* a wire engine action (--engine core was chosen): not playable here */
    return 0;
  }
  return 1;
}

/* Decodes the request's service once, for the fault rules and the answer. */
static void read_service(hs_call *c) {
  call_read_request(c);
  c->service_rc = hlogic_request_service(req_bytes(c), req_len(c), c->req_present, &c->service);
}

/* ---- Check (H-CHECK-*) ------------------------------------------------ */

static void on_first_of_two_sent(void *arg, int ok) {
  hs_call *c = arg;

  call_sent(c);
  if (ok) {
    c->held.messages = 1;
    call_finish(c, &c->held, 1);
  }
  call_unref(c);
}

static void answer_check(hs_call *c) {
  hlogic_answer a;

  hlogic_check(&c->hs->logic, req_bytes(c), req_len(c), c->req_present, c->service, c->service_rc,
               &a);
  if (a.messages < 2) {
    answer(c, &a, 1);
    return;
  }
  /* check-two-messages: a second message on a unary call (H-CHECK-7); the
   * core does not stop a server from sending it. */
  call_journal(c, a.code, a.status);
  c->held = a;
  c->send_tag = (tag){on_first_of_two_sent, c};
  call_send(c, call_response(c->hs, a.status), &c->send_tag);
}

static size_t watches_open(health_server *hs) {
  size_t n;

  pthread_mutex_lock(&hs->mu);
  n = hs->n_watches;
  pthread_mutex_unlock(&hs->mu);
  return n;
}

/* Check answers at once unless a violation holds it back. */
static void check_held(hs_call *c) {
  hlogic_hold h = hlogic_check_hold(&c->hs->logic, req_len(c), watches_open(c->hs));
  gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
  gpr_timespec past_deadline = call_after_ms(c->deadline, HLOGIC_PAST_DEADLINE_MS);

  switch (h.kind) {
  case HLOGIC_AFTER:
    call_defer(c, call_after_ms(now, h.ms), WAIT_UNTIL, answer_check);
    break;
  case HLOGIC_PAST_DEADLINE:
    call_defer(c, past_deadline, WAIT_UNTIL, answer_check);
    break;
  case HLOGIC_STARVED:
    call_defer(c, past_deadline, WAIT_STARVED, answer_check);
    break;
  default:
    answer_check(c);
    break;
  }
}

static void handle_check(hs_call *c) {
  read_service(c);
  if (!apply_fault(c, check_held))
    check_held(c);
}

/* ---- List (H-LIST-*) -------------------------------------------------- */

static void answer_list(hs_call *c) {
  hlogic_answer a;

  hlogic_list(&c->hs->logic, req_bytes(c), req_len(c), c->req_present, &a);
  answer(c, &a, 1);
}

static void handle_list(hs_call *c) {
  call_read_request(c);
  if (!apply_fault(c, answer_list))
    answer_list(c);
}

/* ---- Watch (H-WATCH-*) ------------------------------------------------ */

static void watch_send_done(health_server *hs) {
  pthread_mutex_lock(&hs->mu);
  if (--hs->watch_sends == 0)
    pthread_cond_broadcast(&hs->drained);
  pthread_mutex_unlock(&hs->mu);
}

/* Sends one status. The registry hands out one status at a time and the
 * next only after registry_watch_sent(), so exactly one SEND_MESSAGE is in
 * flight per call (C core notes §2.5, batch slots). On the call's thread. */
static void watch_send(hs_call *c, int status) {
  health_server *hs = c->hs;

  pthread_mutex_lock(&hs->mu);
  hs->watch_sends++;
  pthread_mutex_unlock(&hs->mu);
  if (call_send(c, call_response(hs, status), &c->send_tag) < 0)
    watch_send_done(hs);
}

/* registry_notify_fn: H-WATCH-2/4, deduplicated and coalesced by the
 * registry (H-WATCH-5/6). It runs on the writer's thread (the control API,
 * a timeline) with the registry locked, once per watcher. Rather than
 * start 10,000 sends there, each its own socket write, it queues the call
 * on its shard, whose thread then starts every queued send in one go,
 * where the transport batches the writes of a connection, and the writer
 * returns at once. */
static void watch_notify(void *ctx, int status) {
  hs_call *c = ctx;

  pthread_mutex_lock(&c->hs->mu);
  c->hs->watch_sends++; /* owed: health_server_drain waits for it */
  pthread_mutex_unlock(&c->hs->mu);
  shard_post(c, WAKE_SEND, status);
}

/* Work queued for a call, on its shard's thread: a Watch update, then the
 * end of the stream (health_server_end_watches). */
void health_server_run_work(hs_call *c, unsigned work, int status) {
  hlogic_answer end = c->hs->end;

  if (work & WAKE_SEND) {
    watch_send(c, status);
    watch_send_done(c->hs);
  }
  if (work & WAKE_END)
    call_finish(c, &end, 0); /* SEND_STATUS has its own batch slot */
}

/* Violation watch-close-after-first (T15): a unary-like Watch. The
 * registry watch goes first, so that no send can start beside the status. */
static void close_after_first(hs_call *c) {
  hlogic_answer ok = {.code = WIRE_CODE_OK, .status = -1};

  pthread_mutex_lock(&c->mu);
  registry_watch_stop(c->watch);
  c->watch = NULL;
  pthread_mutex_unlock(&c->mu);
  call_finish(c, &ok, 0);
}

static void on_watch_sent(void *arg, int ok) {
  hs_call *c = arg;
  int next;

  call_sent(c);
  if (ok && hlogic_watch_ends_after_first(&c->hs->logic)) {
    close_after_first(c);
  } else if (ok) {
    pthread_mutex_lock(&c->mu);
    if (c->watch && registry_watch_sent(c->watch, &next))
      watch_send(c, next); /* what changed while this one was in flight */
    pthread_mutex_unlock(&c->mu);
  }
  watch_send_done(c->hs);
  call_unref(c);
}

static void watch_link(hs_call *c) {
  health_server *hs = c->hs;

  pthread_mutex_lock(&hs->mu);
  c->watch_next = hs->watches;
  if (hs->watches)
    hs->watches->watch_prev = c;
  hs->watches = c;
  hs->n_watches++;
  pthread_mutex_unlock(&hs->mu);
}

static void watch_unlink(hs_call *c) {
  health_server *hs = c->hs;

  pthread_mutex_lock(&hs->mu);
  if (c->watch_prev || hs->watches == c) { /* linked */
    if (c->watch_prev)
      c->watch_prev->watch_next = c->watch_next;
    else
      hs->watches = c->watch_next;
    if (c->watch_next)
      c->watch_next->watch_prev = c->watch_prev;
    c->watch_prev = c->watch_next = NULL;
    hs->n_watches--;
  }
  pthread_mutex_unlock(&hs->mu);
}

/* The client went away (cancel, deadline, disconnect) or the server is
 * shutting down: stop watching. */
static void on_watch_closed(void *arg, int ok) {
  hs_call *c = arg;

  (void)ok;
  watch_unlink(c);
  pthread_mutex_lock(&c->mu);
  registry_watch_stop(c->watch);
  c->watch = NULL;
  pthread_mutex_unlock(&c->mu);
  call_unref(c);
}

static void watch_start(hs_call *c) {
  hlogic *hl = &c->hs->logic;
  hlogic_answer a;
  grpc_op op;
  int first, next, rc;

  if (hlogic_watch_refusal(hl, c->service, c->service_rc, &a)) {
    answer(c, &a, 1);
    return;
  }
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->cancelled;
  c->close_tag = (tag){on_watch_closed, c};
  c->send_tag = (tag){on_watch_sent, c};
  if (call_start_batch(c, &op, 1, &c->close_tag) < 0)
    return;
  call_journal(c, WIRE_CODE_OK, -1);
  watch_link(c); /* before the first send: the close tag unlinks it */
  pthread_mutex_lock(&c->mu);
  rc = registry_watch_start(hl->reg, c->service, watch_notify, c, &c->watch, &first);
  if (rc == 0 && hlogic_watch_sends_initial(hl))
    watch_send(c, first); /* H-WATCH-1, H-WATCH-3: kept open even if unknown */
  else if (rc == 0 && registry_watch_sent(c->watch, &next))
    watch_send(c, next); /* watch-no-initial: the first is dropped, changes go out */
  pthread_mutex_unlock(&c->mu);
  if (rc < 0) {
    hlogic_bad_request(rc, &a); /* the registry's -ENOMEM */
    call_finish(c, &a, 0);
  }
}

static void handle_watch(hs_call *c) {
  read_service(c);
  if (!apply_fault(c, watch_start))
    watch_start(c);
}

/* ---- Reflection (H-REFL-*) -------------------------------------------- */

static void reflection_recv(hs_call *c);

static void on_reflection_sent(void *arg, int ok) {
  hs_call *c = arg;

  call_sent(c);
  if (ok)
    reflection_recv(c); /* one response per request, in order */
  call_unref(c);
}

static void reflection_reply(hs_call *c, grpc_byte_buffer *request) {
  grpc_byte_buffer_reader r;
  hlogic_answer a;
  grpc_slice req;

  if (!grpc_byte_buffer_reader_init(&r, request)) {
    hlogic_bad_request(-EBADMSG, &a);
    call_finish(c, &a, 0);
    return;
  }
  req = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  if (hlogic_reflection(&c->hs->logic, GRPC_SLICE_START_PTR(req), GRPC_SLICE_LENGTH(req), &a))
    call_finish(c, &a, 0);
  else
    call_send(c, call_message(&a.msg, a.msg_len), &c->send_tag);
  grpc_slice_unref(req);
}

static void on_reflection_recv(void *arg, int ok) {
  hs_call *c = arg;
  grpc_byte_buffer *request = c->recv_bb;
  hlogic_answer done = {.code = WIRE_CODE_OK, .status = -1};

  c->recv_bb = NULL;
  if (ok && request)
    reflection_reply(c, request);
  else if (ok)
    call_finish(c, &done, 0); /* the client half-closed */
  if (request)
    grpc_byte_buffer_destroy(request);
  call_unref(c);
}

static void reflection_recv(hs_call *c) {
  grpc_op op;

  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->recv_bb;
  c->recv_tag = (tag){on_reflection_recv, c};
  call_start_batch(c, &op, 1, &c->recv_tag);
}

static void on_released(void *arg, int ok) {
  (void)ok;
  call_unref(arg);
}

static void handle_reflection(hs_call *c) {
  hlogic_answer a;
  grpc_op op;

  if (hlogic_reflection_refusal(&c->hs->logic, c->method, &a)) {
    call_finish(c, &a, 1);
    return;
  }
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->cancelled;
  c->close_tag = (tag){on_released, c};
  c->send_tag = (tag){on_reflection_sent, c};
  if (call_start_batch(c, &op, 1, &c->close_tag) == 0)
    reflection_recv(c);
}

/* ---- Unknown methods (H-WIRE-4) --------------------------------------- */

/* Due from the request's arrival (shard 0) or the pending sweep (any
 * shard): c->mu makes the first one answer, and journal, alone. */
static void answer_unimplemented(hs_call *c) {
  hlogic_answer a;
  char *method;

  pthread_mutex_lock(&c->mu);
  if (atomic_load(&c->state) != CALL_FINISHED) {
    method = grpc_slice_to_c_string(c->details.method);
    hlogic_unknown_method(&c->hs->logic, method, &a);
    gpr_free(method);
    answer(c, &a, 1);
  }
  pthread_mutex_unlock(&c->mu);
}

static void on_unimplemented_recv(void *arg, int ok) {
  hs_call *c = arg;

  if (c->recv_bb) {
    grpc_byte_buffer_destroy(c->recv_bb);
    c->recv_bb = NULL;
  }
  if (ok)
    answer_unimplemented(c);
  call_unref(c);
}

/* Reads the request before answering: a reply sent before the request's
 * END_STREAM is followed by RST_STREAM, which curl 7.88 reports as error
 * 92. The wait is bounded by the pending sweep. */
static void handle_unimplemented(hs_call *c) {
  grpc_op op;

  call_defer(c, call_after_ms(gpr_now(GPR_CLOCK_MONOTONIC), HLOGIC_UNIMPLEMENTED_WAIT_MS),
             WAIT_UNTIL, answer_unimplemented);
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->recv_bb;
  c->recv_tag = (tag){on_unimplemented_recv, c};
  call_start_batch(c, &op, 1, &c->recv_tag);
}

/* ---- requests --------------------------------------------------------- */

static void (*const handlers[HLOGIC_METHOD_COUNT])(hs_call *) = {
    [HLOGIC_CHECK] = handle_check,
    [HLOGIC_WATCH] = handle_watch,
    [HLOGIC_LIST] = handle_list,
    [HLOGIC_REFLECTION_V1] = handle_reflection,
    [HLOGIC_REFLECTION_V1ALPHA] = handle_reflection,
    [HLOGIC_UNKNOWN] = handle_unimplemented,
};

void health_server_handle(hs_call *c) { handlers[c->method](c); }
