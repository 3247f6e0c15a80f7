/*
 * core_call: the call machinery of health_server (the gRPC C core
 * transport): one hs_call per accepted call, its explicit state, its
 * batches, the pending list (answers held back without a sleep) and the
 * per-queue wake-up list. Internal to health_server.c and core_call.c.
 *
 * THREADING RULE. Each completion queue ("shard") is drained by one thread.
 * A call's tags come back on its shard's thread, and every batch on a call
 * is started by the one thread that drives the call at that moment:
 *   - its shard's thread, from a tag handler or a queued wake-up;
 *   - or the thread that took the call off the pending list (under hs->mu,
 *     which hands the call over; any shard thread sweeps).
 * Nobody else starts a batch on a call. A thread that wants something
 * done on a call (a registry writer announcing a status, main ending the
 * Watches at shutdown) queues it on the call's shard (shard_post) and
 * posts an empty batch, which touches no call state (grpc.h: an empty
 * batch is thread-compatible); the shard's thread then does it.
 *
 * LOCK ORDER (a thread holding one may take those after it, never before):
 *   c->mu  ->  registry (its own mutex)  ->  hs->mu  ->  shard wake_mu
 * c->mu guards the call's registry watch; registry_watch_sent and
 * registry_watch_start run under it and call watch_notify with the
 * registry locked, which takes hs->mu and wake_mu. call_advance takes no
 * lock (an atomic), so it may run under any of them.
 */
#ifndef HC_CORE_CALL_H
#define HC_CORE_CALL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <grpc/grpc.h>

#include "faults.h"
#include "health_logic.h"
#include "registry.h"
#include "wire.h"

#define MAX_CQ_THREADS 8

/* What goes through the completion queue. */
typedef struct tag {
  void (*fn)(void *arg, int ok);
  void *arg;
} tag;

typedef struct hs_call hs_call;
typedef struct health_server health_server;

/* One completion queue and the thread that drains it (health_server.c
 * says which calls go where). */
typedef struct hs_shard {
  health_server *hs;
  grpc_completion_queue *cq;
  pthread_t thread;
  int started;
  pthread_mutex_t wake_mu;        /* guards the list below */
  hs_call *wake_head, *wake_tail; /* calls owed work on this thread, in order */
} hs_shard;

struct health_server {
  grpc_server *server;
  hs_shard shards[MAX_CQ_THREADS];
  int n_shards;
  long busy_poll_us;            /* --busy-poll-us */
  atomic_uint next_watch_shard; /* round robin of armed Watch requests */
  void *methods[HLOGIC_UNKNOWN];
  hlogic logic;
  grpc_slice responses[WIRE_STATUS_MAX + 1]; /* pre-encoded HealthCheckResponses */
  tag shutdown_tag;

  pthread_mutex_t mu; /* guards the fields below */
  pthread_cond_t drained;
  size_t watch_sends;  /* Watch messages in flight or owed */
  hs_call *pending;    /* calls waiting for their answer time */
  hs_call *watches;    /* open Watch calls, for health_server_end_watches */
  size_t n_watches;    /* ... and how many */
  size_t active_calls; /* accepted calls not yet freed */
  size_t accepted;     /* calls accepted so far */
  hlogic_answer end;   /* what health_server_end_watches ends them with */
  int shutting_down;   /* grpc_server_shutdown_and_notify was called */
  int shut_down;       /* ... and the server reported it (on_shutdown) */
  int queues_closed;   /* grpc_completion_queue_shutdown was called */
};

/* A call's one state (issue 14.3). It only moves forward, by call_advance:
 *   ARMED -> ACCEPTED -> OPEN -> FINISHED
 *   ARMED ------------------------------> (freed: the server shut down)
 *   ACCEPTED ---------------> FINISHED    (an answer with no message first)
 * OPEN: initial metadata went out (a Watch or reflection stream, or the
 * first of check-two-messages); FINISHED: SEND_STATUS started, so no
 * other send may start. Tags may still be out in FINISHED; the call is
 * freed when the last reference goes. */
typedef enum hs_call_state {
  CALL_ARMED,    /* requested from the core; nothing arrived yet */
  CALL_ACCEPTED, /* arrived and counted in hs->active_calls */
  CALL_OPEN,     /* initial metadata sent */
  CALL_FINISHED, /* the status is on its way */
} hs_call_state;

/* Why a pending call waits (hlogic_hold). */
typedef enum hs_wait {
  WAIT_UNTIL,   /* answer_by */
  WAIT_STARVED, /* answer_by, or sooner once few enough Watches are open */
} hs_wait;

struct hs_call {
  health_server *hs;
  hs_shard *shard; /* the queue its tags come back on */
  hlogic_method method;
  grpc_call *call;
  _Atomic hs_call_state state; /* only through call_advance */
  atomic_int refs;             /* one per batch in flight, list, handler */
  int cancelled;               /* RECV_CLOSE_ON_SERVER's out-parameter */
  gpr_timespec deadline;
  long deadline_ms;          /* for the journal: time left when it arrived, -1 none */
  grpc_metadata_array md;    /* the request metadata; emptied by call_arrived */
  char *user_agent;          /* ... its user-agent, kept for the journal (NULL: none) */
  grpc_call_details details; /* HLOGIC_UNKNOWN only */
  grpc_byte_buffer *payload; /* the request message, for payload methods */
  grpc_slice req;            /* ... read once (req_present) */
  int req_present;
  char *service;             /* Check, Watch: the service it names, decoded once */
  int service_rc;            /* ... 0, or why it could not be */
  grpc_byte_buffer *recv_bb; /* RECV_MESSAGE target */
  grpc_byte_buffer *send_bb; /* the one SEND_MESSAGE in flight */

  pthread_mutex_t mu; /* Watch: guards `watch` (lock order above) */
  registry_watch *watch;

  /* On the pending list (under hs->mu). */
  gpr_timespec answer_by;
  hs_wait wait;
  void (*on_due)(hs_call *c); /* what answers it */
  hs_call *pending_next;
  hs_call *watch_prev, *watch_next; /* in hs->watches, under hs->mu */
  hlogic_answer held;               /* an answer decided now, sent when due */

  /* Work queued for the shard's thread (under its wake_mu). */
  unsigned wake_work; /* WAKE_* bits */
  int wake_status;    /* WAKE_SEND: the status to send */
  hs_call *wake_next;
  tag request_tag, close_tag, send_tag, recv_tag, finish_tag, wake_tag;
};

#define WAKE_SEND 1u /* send wake_status (a Watch update) */
#define WAKE_END 2u  /* end the call with hs->end (health_server_end_watches) */

/* Never NULL: out of memory aborts (xalloc, docs/oom.md). */
hs_call *call_new(hs_shard *sh, hlogic_method method, void (*on_request)(void *, int));
void call_free(hs_call *c);
void call_ref(hs_call *c);
void call_unref(hs_call *c);
/* Moves the call to `to`. 0, with *from (may be NULL) the state it left;
 * -EALREADY when it is already there or beyond (e.g. a second answer, which
 * the caller drops). A move backwards is a bug: it aborts. */
int call_advance(hs_call *c, hs_call_state to, hs_call_state *from);

/* Starts a batch that holds a reference until its tag is back. -EIO. */
int call_start_batch(hs_call *c, const grpc_op *ops, size_t n, tag *t);
/* Ends the call with the answer (its message, if any, goes before the
 * status; a non-OK status with no message goes out trailers-only; the
 * call takes a->msg). The
 * first answer wins: later ones are dropped. with_close also asks for
 * RECV_CLOSE_ON_SERVER, for calls that did not start one. */
void call_finish(hs_call *c, hlogic_answer *a, int with_close);
/* Starts SEND_MESSAGE of bb (owned by the call from here) with the initial
 * metadata if it did not go out yet; t's handler must call call_sent. -EIO,
 * -EALREADY when the call is FINISHED (bb is then destroyed). */
int call_send(hs_call *c, grpc_byte_buffer *bb, tag *t);
/* In a send tag's handler: the message is gone. */
void call_sent(hs_call *c);

/* The request message's bytes (read once from c->payload). */
void call_read_request(hs_call *c);
/* A HealthCheckResponse of `status` from the pre-encoded ones. */
grpc_byte_buffer *call_response(health_server *hs, int status);
/* A byte buffer of a malloc'd message (taken: NULL after). */
grpc_byte_buffer *call_message(uint8_t **msg, size_t len);

/* As the call arrives: its deadline (an unknown method's from its
 * details) and the time left then, for the journal (journal_deadline_ms);
 * keeps the user-agent and frees the metadata array, which a Watch would
 * otherwise hold for its whole life (about 0.6 KiB, docs/performance.md
 * "Watch memory"). */
void call_arrived(hs_call *c);
/* Records the call in the journal with `code` and `status` (< 0: none). */
void call_journal(hs_call *c, int code, int status);

gpr_timespec call_after_ms(gpr_timespec from, long ms);
/* Puts the call on the pending list: a CQ loop hands it to on_due once
 * answer_by has passed (sooner when the server shuts down, or a starved
 * Check once few enough Watches are open). */
void call_defer(hs_call *c, gpr_timespec answer_by, hs_wait wait, void (*on_due)(hs_call *));

/* Queues `work` (WAKE_*) for the call's shard thread and wakes it. Any
 * thread, with something holding the call alive (the registry lock of
 * its watch, hs->mu while it is in hs->watches). A call is queued once at
 * most; work bits accumulate; `status` is WAKE_SEND's. */
void shard_post(hs_call *c, unsigned work, int status);
/* Drains the shard's completion queue until it shuts down: tags, pending
 * calls due, and queued work (run_work for each queued call). */
void shard_loop(hs_shard *sh, void (*run_work)(hs_call *c, unsigned work, int status));

/* core_server.c: shuts the completion queues down once the server has
 * reported its shutdown AND the last accepted call is freed, whichever
 * comes last: the core reports shutdown while calls may still complete
 * their batches, and their handlers may start more (a status after a
 * cancel, a wake-up), which abort the process on a shut-down queue
 * (call.cc: GPR_ASSERT(grpc_cq_begin_op)). Any thread; takes hs->mu. */
void core_close_queues_if_done(health_server *hs);

/* health_server.c: runs the handler of c's method (the call is ACCEPTED,
 * the caller holds a reference), and the work queued for c. */
void health_server_handle(hs_call *c);
void health_server_run_work(hs_call *c, unsigned work, int status);

#endif
