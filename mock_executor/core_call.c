/* core_call: the C core call machinery of health_server. See core_call.h
 * for the threading rule and the lock order.
 *
 * Every accepted call is an hs_call whose tags point back at it. A call
 * holds one reference per batch in flight (plus one while a handler runs,
 * one on the pending list, one in a wake list); the grpc_call is released
 * when the last reference goes (docs/protocol.md, C core notes: ownership). */
#define _GNU_SOURCE
#include "core_call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "xalloc.h"

/* The wake-up is back on the shard's thread, which runs the queue after
 * every event anyway. */
static void on_wake(void *arg, int ok) {
  (void)ok; /* an empty batch always completes */
  call_unref(arg);
}

hs_call *call_new(hs_shard *sh, hlogic_method method, void (*on_request)(void *, int)) {
  hs_call *c = xcalloc(1, sizeof(*c));

  c->hs = sh->hs;
  c->shard = sh;
  c->method = method;
  atomic_init(&c->state, CALL_ARMED);
  grpc_metadata_array_init(&c->md);
  grpc_call_details_init(&c->details);
  pthread_mutex_init(&c->mu, NULL);
  c->request_tag = (tag){on_request, c};
  c->wake_tag = (tag){on_wake, c};
  return c;
}

void call_free(hs_call *c) {
  health_server *hs = c->hs;

  if (atomic_load(&c->state) != CALL_ARMED) {
    int last;

    pthread_mutex_lock(&hs->mu);
    last = --hs->active_calls == 0;
    if (last)
      pthread_cond_broadcast(&hs->drained);
    pthread_mutex_unlock(&hs->mu);
    if (last)
      core_close_queues_if_done(hs);
  }
  if (c->call)
    grpc_call_unref(c->call);
  grpc_metadata_array_destroy(&c->md);
  free(c->user_agent);
  grpc_call_details_destroy(&c->details);
  if (c->payload)
    grpc_byte_buffer_destroy(c->payload);
  if (c->req_present)
    grpc_slice_unref(c->req);
  free(c->service);
  if (c->recv_bb)
    grpc_byte_buffer_destroy(c->recv_bb);
  if (c->send_bb)
    grpc_byte_buffer_destroy(c->send_bb);
  hlogic_answer_free(&c->held);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

void call_ref(hs_call *c) { atomic_fetch_add(&c->refs, 1); }

void call_unref(hs_call *c) {
  if (atomic_fetch_sub(&c->refs, 1) == 1)
    call_free(c);
}

int call_advance(hs_call *c, hs_call_state to, hs_call_state *from) {
  hs_call_state cur = atomic_load(&c->state);

  do {
    if (cur >= to)
      return -EALREADY;
    /* The moves the state diagram allows: one step, or an answer that
     * finishes an accepted call with no message first. */
    if (!(to == cur + 1 || (cur == CALL_ACCEPTED && to == CALL_FINISHED))) {
      fprintf(stderr, "mock-executor: illegal call state move %d -> %d\n", (int)cur, (int)to);
      abort();
    }
  } while (!atomic_compare_exchange_weak(&c->state, &cur, to));
  if (from)
    *from = cur;
  return 0;
}

int call_start_batch(hs_call *c, const grpc_op *ops, size_t n, tag *t) {
  grpc_call_error e;

  call_ref(c);
  e = grpc_call_start_batch(c->call, ops, n, t, NULL);
  if (e != GRPC_CALL_OK) {
    fprintf(stderr, "mock-executor: grpc_call_start_batch: error %d\n", (int)e);
    call_unref(c);
    return -EIO;
  }
  return 0;
}

static void on_finished(void *arg, int ok) {
  hs_call *c = arg;

  (void)ok;
  if (c->send_bb) {
    grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
  }
  call_unref(c);
}

grpc_byte_buffer *call_response(health_server *hs, int status) {
  return grpc_raw_byte_buffer_create(&hs->responses[status], 1);
}

grpc_byte_buffer *call_message(uint8_t **msg, size_t len) {
  grpc_slice s = grpc_slice_new(*msg, len, free);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

  grpc_slice_unref(s);
  *msg = NULL;
  return bb;
}

void call_finish(hs_call *c, hlogic_answer *a, int with_close) {
  grpc_op ops[4];
  grpc_slice status_details = grpc_slice_from_copied_string(a->details);
  grpc_byte_buffer *msg = NULL;
  hs_call_state from;
  size_t n = 0;

  if (call_advance(c, CALL_FINISHED, &from) < 0) { /* answered already */
    grpc_slice_unref(status_details);
    return;
  }
  memset(ops, 0, sizeof(ops));
  if (from == CALL_ACCEPTED)
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (a->messages > 0)
    msg = a->msg ? call_message(&a->msg, a->msg_len) : call_response(c->hs, a->status);
  if (msg) {
    c->send_bb = msg;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = msg;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)a->code;
  ops[n++].data.send_status_from_server.status_details = a->details[0] ? &status_details : NULL;
  if (with_close) {
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
  }
  c->finish_tag = (tag){on_finished, c};
  if (call_start_batch(c, ops, n, &c->finish_tag) < 0 && msg) {
    grpc_byte_buffer_destroy(msg);
    c->send_bb = NULL;
  }
  grpc_slice_unref(status_details);
}

int call_send(hs_call *c, grpc_byte_buffer *bb, tag *t) {
  grpc_op ops[2];
  size_t n = 0;

  memset(ops, 0, sizeof(ops));
  if (atomic_load(&c->state) == CALL_FINISHED) {
    grpc_byte_buffer_destroy(bb);
    return -EALREADY;
  }
  if (call_advance(c, CALL_OPEN, NULL) == 0)
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  c->send_bb = bb;
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = bb;
  if (call_start_batch(c, ops, n, t) < 0) {
    call_sent(c);
    return -EIO;
  }
  return 0;
}

void call_sent(hs_call *c) {
  if (c->send_bb) {
    grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
  }
}

void call_read_request(hs_call *c) {
  grpc_byte_buffer_reader r;

  /* No message (the client half-closed without one), or one that cannot
   * be read (e.g. bad compression): not present, INVALID_ARGUMENT. */
  if (!c->payload || !grpc_byte_buffer_reader_init(&r, c->payload))
    return;
  c->req = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  c->req_present = 1;
  /* c->req is a copy: a Watch need not hold the core's buffer too. */
  grpc_byte_buffer_destroy(c->payload);
  c->payload = NULL;
}

/* ---- journal ----------------------------------------------------------- */

static const char *metadata_value(const grpc_metadata_array *md, const char *key, char *buf,
                                  size_t size) {
  for (size_t i = 0; i < md->count; i++) {
    if (grpc_slice_str_cmp(md->metadata[i].key, key) == 0) {
      size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
      if (n >= size)
        n = size - 1;
      memcpy(buf, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
      buf[n] = '\0';
      return buf;
    }
  }
  return NULL;
}

void call_arrived(hs_call *c) {
  gpr_timespec d, now = gpr_now(GPR_CLOCK_MONOTONIC);
  struct timespec dl, at = {.tv_sec = (time_t)now.tv_sec, .tv_nsec = now.tv_nsec};
  char ua[128];

  if (metadata_value(&c->md, "user-agent", ua, sizeof(ua)))
    c->user_agent = xstrdup(ua);
  /* The slices stay the call's; only the array goes (init: call_free
   * destroys it again). */
  grpc_metadata_array_destroy(&c->md);
  grpc_metadata_array_init(&c->md);

  if (c->method == HLOGIC_UNKNOWN)
    c->deadline = c->details.deadline;
  d = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
  dl = (struct timespec){.tv_sec = (time_t)d.tv_sec, .tv_nsec = d.tv_nsec};
  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
    c->deadline_ms = journal_deadline_ms(NULL, &at);
  else
    c->deadline_ms = journal_deadline_ms(&dl, &at);
}

void call_journal(hs_call *c, int code, int status) {
  char *peer, *path = NULL;
  hlogic_call_info info = {.path = hlogic_method_path(c->method), .service = c->service};

  if (!journal_on(c->hs->logic.journal))
    return;
  if (c->method == HLOGIC_UNKNOWN)
    info.path = path = grpc_slice_to_c_string(c->details.method);
  peer = grpc_call_get_peer(c->call);
  info.deadline_ms = c->deadline_ms;
  info.user_agent = c->user_agent;
  info.peer = peer;
  hlogic_journal(&c->hs->logic, &info, code, status);
  gpr_free(peer);
  gpr_free(path);
}

/* ---- the pending list -------------------------------------------------- */

gpr_timespec call_after_ms(gpr_timespec from, long ms) {
  return gpr_time_add(gpr_convert_clock_type(from, GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Waiting on the list, not in a sleep, keeps the CQ threads free. */
void call_defer(hs_call *c, gpr_timespec answer_by, hs_wait wait, void (*on_due)(hs_call *)) {
  health_server *hs = c->hs;

  c->answer_by = answer_by;
  c->wait = wait;
  c->on_due = on_due;
  call_ref(c); /* held by the pending list */
  pthread_mutex_lock(&hs->mu);
  c->pending_next = hs->pending;
  hs->pending = c;
  pthread_mutex_unlock(&hs->mu);
}

/* A pending call is due when its time has come, when the server shuts
 * down, or (a starved Check) when few enough Watches are left open. Runs
 * with hs->mu held; every Watch close is a CQ event, so a starved Check
 * is looked at again after each. */
static int pending_due(const health_server *hs, const hs_call *c, gpr_timespec now) {
  return gpr_time_cmp(c->answer_by, now) <= 0 || hs->shutting_down ||
         (c->wait == WAIT_STARVED && !hlogic_starved(hs->n_watches));
}

/* Answers the pending calls whose wait is over, on this thread (taking a
 * call off the list under hs->mu hands it over); returns when the next one
 * is due (infinite when none is pending). */
static gpr_timespec sweep_pending(health_server *hs) {
  gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
  gpr_timespec next = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  hs_call *due = NULL, **link, *c;

  pthread_mutex_lock(&hs->mu);
  link = &hs->pending;
  while ((c = *link)) {
    if (pending_due(hs, c, now)) {
      *link = c->pending_next;
      c->pending_next = due;
      due = c;
    } else {
      next = gpr_time_min(next, c->answer_by);
      link = &c->pending_next;
    }
  }
  pthread_mutex_unlock(&hs->mu);
  while ((c = due)) {
    due = c->pending_next;
    c->on_due(c);
    call_unref(c);
  }
  return next;
}

/* ---- the wake list and the loop ---------------------------------------- */

/* One completion per shard for a burst of work instead of one per call:
 * each completion costs a scan of the queue's outstanding tags in Debian's
 * libgrpc (docs/performance.md). */
void shard_post(hs_call *c, unsigned work, int status) {
  hs_shard *sh = c->shard;
  int first = 0;

  pthread_mutex_lock(&sh->wake_mu);
  if (!c->wake_work) {
    call_ref(c); /* held by the queue */
    c->wake_next = NULL;
    first = sh->wake_head == NULL;
    if (first)
      sh->wake_head = c;
    else
      sh->wake_tail->wake_next = c;
    sh->wake_tail = c;
  }
  c->wake_work |= work;
  if (work & WAKE_SEND)
    c->wake_status = status;
  if (first)
    call_ref(c); /* the queue may run and drop its reference at once */
  pthread_mutex_unlock(&sh->wake_mu);
  if (!first)
    return;
  /* An empty batch touches no call state: any thread may start it. If it
   * fails, the queue runs after the shard's next event. */
  call_start_batch(c, NULL, 0, &c->wake_tag);
  call_unref(c);
}

static void run_queued(hs_shard *sh, void (*run_work)(hs_call *, unsigned, int)) {
  hs_call *c, *next;

  pthread_mutex_lock(&sh->wake_mu);
  c = sh->wake_head;
  sh->wake_head = sh->wake_tail = NULL;
  pthread_mutex_unlock(&sh->wake_mu);
  for (; c; c = next) {
    unsigned work;
    int status;

    pthread_mutex_lock(&sh->wake_mu);
    next = c->wake_next; /* before a new post may link it again */
    work = c->wake_work;
    status = c->wake_status;
    c->wake_work = 0;
    pthread_mutex_unlock(&sh->wake_mu);
    run_work(c, work, status);
    call_unref(c);
  }
}

/* grpc_completion_queue_next, after polling for up to --busy-poll-us with
 * a deadline already past (one non-blocking poll each): see wire_engine.c's
 * wait_events. */
static grpc_event next_event(hs_shard *sh, gpr_timespec deadline) {
  gpr_timespec until;
  grpc_event ev;

  if (sh->hs->busy_poll_us == 0)
    return grpc_completion_queue_next(sh->cq, deadline, NULL);
  until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                       gpr_time_from_micros(sh->hs->busy_poll_us, GPR_TIMESPAN));
  if (gpr_time_cmp(deadline, until) < 0)
    until = deadline; /* never past the next answer time */
  do {
    ev = grpc_completion_queue_next(sh->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type != GRPC_QUEUE_TIMEOUT)
      return ev;
  } while (gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), until) < 0);
  return grpc_completion_queue_next(sh->cq, deadline, NULL);
}

void shard_loop(hs_shard *sh, void (*run_work)(hs_call *, unsigned, int)) {
  for (;;) {
    gpr_timespec deadline = sweep_pending(sh->hs);
    grpc_event ev = next_event(sh, deadline);
    tag *t;

    if (ev.type == GRPC_QUEUE_SHUTDOWN)
      break;
    if (ev.type == GRPC_OP_COMPLETE) {
      t = ev.tag;
      t->fn(t->arg, ev.success);
    }
    run_queued(sh, run_work);
  }
}
