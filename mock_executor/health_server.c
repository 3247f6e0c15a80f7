/* health_server: Health + reflection on the gRPC C core. See health_server.h.
 *
 * Every accepted call is an hs_call whose tags point back at it. A call
 * holds one reference per batch in flight (plus one while a handler runs);
 * the grpc_call is released when the last tag is back (api notes §2.4). */
#define _GNU_SOURCE
#include "health_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "journal.h"
#include "reflection.h"
#include "wire.h"

/* Requests kept armed per method: the core never rejects a call nobody
 * asked for, it queues it until the client's deadline (§2.2). */
#define ARMED_PER_METHOD 16
/* How long an unknown method may take to deliver its request before we
 * answer UNIMPLEMENTED anyway (a bidi client may send nothing). */
#define UNIMPLEMENTED_WAIT_MS 100
#define MAX_CQ_THREADS 8

/* Violation knobs (faults.h). */
#define SLOW_CHECK_MS 600    /* check-slow: beyond the 500 ms budget of T10 */
#define SERIAL_CHECK_MS 20   /* max-streams-one: 50 serialized Checks take 1 s (T12) */
#define LONG_NAME_MAX 1024   /* long-name-hang: longer requests never get an answer */
#define STARVING_WATCHES 32  /* watch-starves-check: Check waits while more are open */
#define LEAKY_SLOTS 64       /* watch-leak-slots: Watches served before RESOURCE_EXHAUSTED */
#define PAST_DEADLINE_MS 100 /* a withheld answer goes out this long after the deadline */

enum method {
  M_CHECK,
  M_WATCH,
  M_LIST,
  M_REFLECTION_V1,
  M_REFLECTION_V1ALPHA,
  M_REGISTERED, /* the methods above are registered with the core */
  M_GENERIC = M_REGISTERED,
  M_COUNT
};

static const struct method_def {
  const char *path;
  grpc_server_register_method_payload_handling payload;
} method_defs[M_REGISTERED] = {
    [M_CHECK] = {"/grpc.health.v1.Health/Check", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_WATCH] = {"/grpc.health.v1.Health/Watch", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_LIST] = {"/grpc.health.v1.Health/List", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_REFLECTION_V1] = {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                         GRPC_SRM_PAYLOAD_NONE},
    [M_REFLECTION_V1ALPHA] = {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                              GRPC_SRM_PAYLOAD_NONE},
};

/* What goes through the completion queue. */
typedef struct tag {
  void (*fn)(void *arg, int ok);
  void *arg;
} tag;

typedef struct hs_call hs_call;

/* One completion queue and the thread that drains it. Shard 0 polls: its
 * thread does all the socket I/O and answers every call but Watch, as a
 * second polling thread would only hand the poller role back and forth
 * (twice the CPU per Check). The others are non-polling queues that hold
 * the Watch streams, spread evenly: Debian's libgrpc is built without
 * NDEBUG and scans a queue's outstanding tags on every completion (one
 * RECV_CLOSE per open Watch), so 10,000 streams on one queue make each
 * completion slow (docs/performance.md). */
typedef struct hs_shard {
  health_server *hs;
  grpc_completion_queue *cq;
  pthread_t thread;
  int started;
  pthread_mutex_t wake_mu; /* guards the list below */
  hs_call *wake_head, *wake_tail; /* Watch calls owed a send, in order */
} hs_shard;

struct health_server {
  grpc_server *server;
  hs_shard shards[MAX_CQ_THREADS];
  int n_shards;
  atomic_uint next_watch_shard; /* round robin of armed Watch requests */
  void *methods[M_REGISTERED];
  registry *reg;
  journal *journal; /* NULL: no journal */
  const faults *faults; /* NULL: no violation */
  size_t list_limit;
  const char *const *reflection_list; /* NULL: ours, v1 and v1alpha */
  atomic_uint checks; /* check-toggles: Checks answered so far */
  grpc_slice responses[WIRE_STATUS_MAX + 1]; /* pre-encoded HealthCheckResponses */
  tag shutdown_tag;

  pthread_mutex_t mu; /* guards the fields below */
  pthread_cond_t drained;
  size_t watch_sends; /* Watch messages in flight */
  hs_call *pending;   /* UNIMPLEMENTED calls waiting for their request */
  hs_call *watches;   /* open Watch calls, for health_server_end_watches */
  size_t n_watches;   /* ... and how many */
  size_t leaked_slots; /* watch-leak-slots: Watches ever served while it was on */
  size_t active_calls; /* accepted calls not yet freed */
  size_t accepted;     /* calls accepted so far */
  int shutting_down;  /* grpc_server_shutdown_and_notify was called */
  int shut_down;      /* ... and every call is gone */
};

struct hs_call {
  health_server *hs;
  hs_shard *shard; /* the queue its tags come back on */
  int method;
  grpc_call *call;
  gpr_timespec deadline;
  long deadline_ms; /* for the journal: time left when it arrived, -1 none */
  grpc_metadata_array md;
  grpc_call_details details; /* M_GENERIC only */
  grpc_byte_buffer *payload; /* the request message, for payload methods */
  char *service;   /* Check, Watch: the service it names, decoded once (read_service) */
  int service_rc;  /* ... 0, or why it could not be (request_service) */
  grpc_byte_buffer *recv_bb; /* RECV_MESSAGE target */
  grpc_byte_buffer *send_bb; /* the one SEND_MESSAGE in flight */
  atomic_int refs;
  int cancelled;
  int accepted; /* counted in hs->active_calls */
  int md_sent; /* initial metadata went out */

  pthread_mutex_t mu; /* Watch: `watch`; UNIMPLEMENTED: `answered` */
  registry_watch *watch;
  int answered;
  gpr_timespec answer_by;
  void (*on_due)(hs_call *c); /* what answers a pending call */
  int starved;                /* watch-starves-check: due once Watches close */
  int reply_status;           /* check-two-messages: the status sent twice */
  int linked;                 /* in hs->watches */
  hs_call *pending_next;
  hs_call *watch_prev, *watch_next; /* in hs->watches, under hs->mu */

  int wake_status;    /* Watch: the status its queued send sends */
  hs_call *wake_next; /* in its shard's wake list */
  tag request_tag, close_tag, send_tag, recv_tag, finish_tag, wake_tag;
};

/* ---- calls ----------------------------------------------------------- */

static void on_request(void *arg, int ok);

static hs_call *call_new(hs_shard *sh, int method) {
  hs_call *c = calloc(1, sizeof(*c));

  if (!c)
    return NULL;
  c->hs = sh->hs;
  c->shard = sh;
  c->method = method;
  grpc_metadata_array_init(&c->md);
  grpc_call_details_init(&c->details);
  pthread_mutex_init(&c->mu, NULL);
  c->request_tag = (tag){on_request, c};
  return c;
}

static void call_free(hs_call *c) {
  health_server *hs = c->hs;

  if (c->accepted) {
    pthread_mutex_lock(&hs->mu);
    if (--hs->active_calls == 0)
      pthread_cond_broadcast(&hs->drained);
    pthread_mutex_unlock(&hs->mu);
  }
  if (c->call)
    grpc_call_unref(c->call);
  grpc_metadata_array_destroy(&c->md);
  grpc_call_details_destroy(&c->details);
  if (c->payload)
    grpc_byte_buffer_destroy(c->payload);
  free(c->service);
  if (c->recv_bb)
    grpc_byte_buffer_destroy(c->recv_bb);
  if (c->send_bb)
    grpc_byte_buffer_destroy(c->send_bb);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static void call_ref(hs_call *c) {
  atomic_fetch_add(&c->refs, 1);
}

static void call_unref(hs_call *c) {
  if (atomic_fetch_sub(&c->refs, 1) == 1)
    call_free(c);
}

/* Starts a batch that holds a reference until its tag is back. */
static int start_batch(hs_call *c, const grpc_op *ops, size_t n, tag *t) {
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

static void on_released(void *arg, int ok) {
  (void)ok;
  call_unref(arg);
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

/* Ends the call with `code` (and `msg`, owned by the call from here, if
 * not NULL). with_close also asks for RECV_CLOSE_ON_SERVER, for calls that
 * did not start one. A non-OK status with no message goes out
 * trailers-only (§2.3). */
static void finish(hs_call *c, int code, const char *details, grpc_byte_buffer *msg,
                   int with_close) {
  grpc_op ops[4];
  grpc_slice status_details = grpc_slice_from_copied_string(details ? details : "");
  size_t n = 0;

  memset(ops, 0, sizeof(ops));
  if (!c->md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = 1;
  }
  if (msg) {
    c->send_bb = msg;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = msg;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)code;
  ops[n++].data.send_status_from_server.status_details = details ? &status_details : NULL;
  if (with_close) {
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
  }
  c->finish_tag = (tag){on_finished, c};
  if (start_batch(c, ops, n, &c->finish_tag) < 0 && msg) {
    grpc_byte_buffer_destroy(msg);
    c->send_bb = NULL;
  }
  grpc_slice_unref(status_details);
}

/* The whole message in one slice the caller unrefs. -EBADMSG for no
 * message (the client half-closed without one) or one that cannot be read
 * (e.g. bad compression). */
static int read_message(grpc_byte_buffer *bb, grpc_slice *out) {
  grpc_byte_buffer_reader r;

  if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
    return -EBADMSG;
  *out = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  return 0;
}

/* Answers a request that could not be read or decoded. */
static void finish_bad_request(hs_call *c, int rc, int with_close) {
  if (rc == -EBADMSG)
    finish(c, WIRE_INVALID_ARGUMENT, "could not parse request", NULL, with_close);
  else
    finish(c, WIRE_INTERNAL, "out of memory", NULL, with_close);
}

static grpc_byte_buffer *buffer_from_slice(grpc_slice s) {
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

  grpc_slice_unref(s);
  return bb;
}

static grpc_byte_buffer *response_buffer(health_server *hs, int status) {
  return grpc_raw_byte_buffer_create(&hs->responses[status], 1);
}

static gpr_timespec after_ms(gpr_timespec from, long ms) {
  return gpr_time_add(gpr_convert_clock_type(from, GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Puts the call on the pending list: the CQ loop hands it to on_due once
 * answer_by has passed (sooner for a starved Check whose Watches closed,
 * or when the server shuts down). Waiting there, not in a sleep, keeps
 * the CQ threads free. */
static void defer(hs_call *c, gpr_timespec answer_by, void (*on_due)(hs_call *)) {
  health_server *hs = c->hs;

  c->answer_by = answer_by;
  c->on_due = on_due;
  call_ref(c); /* held by the pending list */
  pthread_mutex_lock(&hs->mu);
  c->pending_next = hs->pending;
  hs->pending = c;
  pthread_mutex_unlock(&hs->mu);
}

/* ---- journal ---------------------------------------------------------- */

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

/* Milliseconds left before the client's deadline as the call arrives
 * (journal_deadline_ms: rounded down); -1 for none. */
static long deadline_left_ms(gpr_timespec deadline) {
  gpr_timespec d = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
  gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
  struct timespec dl = {.tv_sec = (time_t)d.tv_sec, .tv_nsec = d.tv_nsec};
  struct timespec at = {.tv_sec = (time_t)now.tv_sec, .tv_nsec = now.tv_nsec};

  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
    return journal_deadline_ms(NULL, &at);
  return journal_deadline_ms(&dl, &at);
}

/* Records the call in the journal (issue 3): what the client sent and
 * what it got. `status` < 0 when no health status was answered. */
static void journal_call(hs_call *c, const char *method, const char *service, int code,
                         int status) {
  char ua[128], result[64];
  char *peer;
  const char *code_name = wire_code_name(code);
  journal_record rec = {.protocol = "grpc", .method = method, .service = service};

  if (!c->hs->journal)
    return;
  if (status >= 0)
    snprintf(result, sizeof(result), "%s %s", code_name, wire_status_name(status));
  else
    snprintf(result, sizeof(result), "%s", code_name ? code_name : "?");
  peer = grpc_call_get_peer(c->call);
  rec.deadline_ms = c->deadline_ms;
  rec.user_agent = metadata_value(&c->md, "user-agent", ua, sizeof(ua));
  rec.peer = peer;
  rec.result = result;
  journal_add(c->hs->journal, &rec);
  gpr_free(peer);
}

/* ---- Check (H-CHECK-*) ------------------------------------------------ */

/* The service named by a HealthCheckRequest payload: 0 bytes is ""
 * (H-CHECK-8), unknown fields are skipped (H-CHECK-9). */
static int request_service(grpc_byte_buffer *payload, char **name) {
  grpc_slice s;
  int rc = read_message(payload, &s);

  if (rc < 0)
    return rc;
  rc = wire_check_request_decode(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), name);
  grpc_slice_unref(s);
  return rc;
}

/* check-reject-unknown-fields: 1 when the request carries fields
 * HealthCheckRequest does not define. */
static int has_unknown_fields(grpc_byte_buffer *payload) {
  Grpc__Health__V1__HealthCheckRequest *req;
  grpc_slice s;
  int unknown = 0;

  if (read_message(payload, &s) < 0)
    return 0;
  req = grpc__health__v1__health_check_request__unpack(NULL, GRPC_SLICE_LENGTH(s),
                                                       GRPC_SLICE_START_PTR(s));
  if (req) {
    unknown = req->base.n_unknown_fields > 0;
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
  }
  grpc_slice_unref(s);
  return unknown;
}

/* The code a broken server refuses this request with, or -1 (violations
 * check-empty-request-invalid, check-reject-unknown-fields,
 * check-explicit-empty-not-found). */
static int check_refusal(const hs_call *c, const char *name) {
  const faults *f = c->hs->faults;
  size_t len = grpc_byte_buffer_length(c->payload);

  if (faults_on(f, VIOLATE_CHECK_EMPTY_REQUEST_INVALID) && len == 0)
    return WIRE_INVALID_ARGUMENT;
  if (faults_on(f, VIOLATE_CHECK_REJECT_UNKNOWN_FIELDS) && has_unknown_fields(c->payload))
    return WIRE_INVALID_ARGUMENT;
  if (faults_on(f, VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND) && len > 0 && !name[0])
    return WIRE_NOT_FOUND;
  return -1;
}

/* check-case-insensitive: "SVC", "svc " or a prefix of "svc" find "svc". */
static int loose_match(const char *asked, const char *known) {
  size_t n = strlen(asked);

  while (n > 0 && asked[n - 1] == ' ')
    n--;
  if (n == 0)
    return 0;
  return strncasecmp(asked, known, n) == 0;
}

static int check_lookup(health_server *hs, const char *name, int *status) {
  registry_entry *entries;
  size_t n;
  int rc = registry_get(hs->reg, name, status);

  if (rc == 0 || !faults_on(hs->faults, VIOLATE_CHECK_CASE_INSENSITIVE))
    return rc;
  if (registry_snapshot(hs->reg, &entries, &n) < 0)
    return rc;
  for (size_t i = 0; i < n && rc < 0; i++) {
    if (loose_match(name, entries[i].name)) {
      *status = entries[i].status;
      rc = 0;
    }
  }
  registry_snapshot_free(entries, n);
  return rc;
}

/* The status a broken server reports instead of the registered one. */
static int reported_status(health_server *hs, int status) {
  const faults *f = hs->faults;

  if (faults_on(f, VIOLATE_CHECK_ANSWERS_UNKNOWN))
    return WIRE_UNKNOWN;
  if (faults_on(f, VIOLATE_CHECK_SERVICE_UNKNOWN_KNOWN))
    return WIRE_SERVICE_UNKNOWN;
  if (faults_on(f, VIOLATE_CHECK_TOGGLES) && atomic_fetch_add(&hs->checks, 1) % 2 == 1)
    return status == WIRE_SERVING ? WIRE_NOT_SERVING : WIRE_SERVING;
  return status;
}

static void on_first_of_two_sent(void *arg, int ok) {
  hs_call *c = arg;

  grpc_byte_buffer_destroy(c->send_bb);
  c->send_bb = NULL;
  if (ok)
    finish(c, WIRE_OK, NULL, response_buffer(c->hs, c->reply_status), 1);
  call_unref(c);
}

/* check-two-messages: a second message on a unary call (H-CHECK-7). The
 * core does not stop a server from sending it. */
static void send_twice(hs_call *c, int status) {
  grpc_op ops[2];

  memset(ops, 0, sizeof(ops));
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  c->md_sent = 1;
  c->reply_status = status;
  c->send_bb = response_buffer(c->hs, status);
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = c->send_bb;
  c->send_tag = (tag){on_first_of_two_sent, c};
  if (start_batch(c, ops, 2, &c->send_tag) < 0) {
    grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
  }
}

/* H-CHECK-1: OK and the status, unless a violation answers otherwise. */
static void reply_status(hs_call *c, const char *name, int status) {
  const faults *f = c->hs->faults;

  if (faults_on(f, VIOLATE_CHECK_NOT_SERVING_UNAVAILABLE) && status == WIRE_NOT_SERVING) {
    journal_call(c, method_defs[M_CHECK].path, name, WIRE_UNAVAILABLE, -1);
    finish(c, WIRE_UNAVAILABLE, "service not serving", NULL, 1);
    return;
  }
  journal_call(c, method_defs[M_CHECK].path, name, WIRE_OK, status);
  if (faults_on(f, VIOLATE_CHECK_NO_MESSAGE))
    finish(c, WIRE_OK, NULL, NULL, 1);
  else if (faults_on(f, VIOLATE_CHECK_TWO_MESSAGES))
    send_twice(c, status);
  else
    finish(c, WIRE_OK, NULL, response_buffer(c->hs, status), 1);
}

static void answer_check(hs_call *c) {
  const char *name = c->service;
  int status, code;
  int rc = c->service_rc;

  /* Journal first: a client that reads the journal after its answer
   * must find the call there. */
  if (rc < 0) {
    journal_call(c, method_defs[M_CHECK].path, NULL, rc == -EBADMSG ? WIRE_INVALID_ARGUMENT
                                                                     : WIRE_INTERNAL, -1);
    finish_bad_request(c, rc, 1);
  } else if ((code = check_refusal(c, name)) >= 0) {
    journal_call(c, method_defs[M_CHECK].path, name, code, -1);
    finish(c, code, code == WIRE_NOT_FOUND ? "unknown service" : "could not parse request",
           NULL, 1);
  } else if (check_lookup(c->hs, name, &status) == 0) {
    reply_status(c, name, reported_status(c->hs, status));
  } else if (faults_on(c->hs->faults, VIOLATE_CHECK_UNKNOWN_SERVICE_UNKNOWN)) {
    reply_status(c, name, WIRE_SERVICE_UNKNOWN);
  } else {
    journal_call(c, method_defs[M_CHECK].path, name, WIRE_NOT_FOUND, -1);
    finish(c, WIRE_NOT_FOUND, "unknown service", NULL, 1); /* H-CHECK-2 */
  }
}

static size_t watches_open(health_server *hs) {
  size_t n;

  pthread_mutex_lock(&hs->mu);
  n = hs->n_watches;
  pthread_mutex_unlock(&hs->mu);
  return n;
}

/* Check answers at once unless a violation holds it back: check-slow,
 * max-streams-one, long-name-hang (until the client gave up), watch-starves-check (until
 * the Watches close or the client gave up). */
static void check_held(hs_call *c) {
  const faults *f = c->hs->faults;
  gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);

  if (faults_on(f, VIOLATE_CHECK_SLOW)) {
    defer(c, after_ms(now, SLOW_CHECK_MS), answer_check);
  } else if (faults_on(f, VIOLATE_MAX_STREAMS_ONE)) {
    defer(c, after_ms(now, SERIAL_CHECK_MS), answer_check); /* a handler that takes time */
  } else if (faults_on(f, VIOLATE_LONG_NAME_HANG) && c->payload &&
             grpc_byte_buffer_length(c->payload) > LONG_NAME_MAX) {
    defer(c, after_ms(c->deadline, PAST_DEADLINE_MS), answer_check);
  } else if (faults_on(f, VIOLATE_WATCH_STARVES_CHECK) &&
             watches_open(c->hs) > STARVING_WATCHES) {
    c->starved = 1;
    defer(c, after_ms(c->deadline, PAST_DEADLINE_MS), answer_check);
  } else {
    answer_check(c);
  }
}

/* ---- List (H-LIST-*) -------------------------------------------------- */

static int encode_list(const registry_entry *entries, size_t n, grpc_byte_buffer **out) {
  Grpc__Health__V1__HealthListResponse res = GRPC__HEALTH__V1__HEALTH_LIST_RESPONSE__INIT;
  Grpc__Health__V1__HealthListResponse__StatusesEntry *items = calloc(n ? n : 1, sizeof(*items));
  Grpc__Health__V1__HealthListResponse__StatusesEntry **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
  Grpc__Health__V1__HealthCheckResponse *values = calloc(n ? n : 1, sizeof(*values));
  grpc_slice s;
  int rc = -ENOMEM;

  if (!items || !ptrs || !values)
    goto out;
  for (size_t i = 0; i < n; i++) {
    grpc__health__v1__health_list_response__statuses_entry__init(&items[i]);
    grpc__health__v1__health_check_response__init(&values[i]);
    values[i].status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)entries[i].status;
    items[i].key = entries[i].name;
    items[i].value = &values[i];
    ptrs[i] = &items[i];
  }
  res.n_statuses = n;
  res.statuses = ptrs;
  s = grpc_slice_malloc(grpc__health__v1__health_list_response__get_packed_size(&res));
  grpc__health__v1__health_list_response__pack(&res, GRPC_SLICE_START_PTR(s));
  *out = buffer_from_slice(s);
  rc = 0;
out:
  free(items);
  free(ptrs);
  free(values);
  return rc;
}

static int check_list_request(grpc_byte_buffer *payload) {
  Grpc__Health__V1__HealthListRequest *req;
  grpc_slice s;
  int rc = read_message(payload, &s);

  if (rc < 0)
    return rc;
  req = grpc__health__v1__health_list_request__unpack(NULL, GRPC_SLICE_LENGTH(s),
                                                       GRPC_SLICE_START_PTR(s));
  grpc_slice_unref(s);
  if (!req)
    return -EBADMSG;
  grpc__health__v1__health_list_request__free_unpacked(req, NULL);
  return 0;
}

static size_t put_varint(uint8_t *out, size_t v) {
  size_t n = 0;

  do {
    out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return n;
}

/* Violation list-bad-encoding (T28): each map entry's value (field 2, a
 * HealthCheckResponse) is written as a varint, wire type 0, instead of a
 * length-delimited message. Deliberately broken output, so these bytes
 * are written by hand: protobuf-c cannot be made to produce them. */
static int encode_bad_list(const registry_entry *entries, size_t n, grpc_byte_buffer **out) {
  size_t size = 0, used = 0;
  uint8_t *buf;
  grpc_slice s;

  for (size_t i = 0; i < n; i++)
    size += 2 * 10 + strlen(entries[i].name) + 4;
  s = grpc_slice_malloc(size ? size : 1);
  buf = GRPC_SLICE_START_PTR(s);
  for (size_t i = 0; i < n; i++) {
    size_t klen = strlen(entries[i].name);
    uint8_t key_len[10];
    size_t kl = put_varint(key_len, klen);
    buf[used++] = 0x0a; /* statuses, length-delimited */
    used += put_varint(buf + used, 1 + kl + klen + 2);
    buf[used++] = 0x0a; /* key */
    memcpy(buf + used, key_len, kl);
    used += kl;
    memcpy(buf + used, entries[i].name, klen);
    used += klen;
    buf[used++] = 0x10; /* value: field 2 as a varint, the wrong wire type */
    buf[used++] = (uint8_t)entries[i].status;
  }
  *out = buffer_from_slice(grpc_slice_sub(s, 0, used));
  grpc_slice_unref(s);
  return 0;
}

static void list_answer(hs_call *c) {
  const char *path = method_defs[M_LIST].path;
  health_server *hs = c->hs;
  registry_entry *entries;
  grpc_byte_buffer *bb;
  int (*encode)(const registry_entry *, size_t, grpc_byte_buffer **) =
      faults_on(hs->faults, VIOLATE_LIST_BAD_ENCODING) ? encode_bad_list : encode_list;
  char msg[96];
  size_t n, skip;
  int rc = check_list_request(c->payload);

  if (rc < 0) {
    journal_call(c, path, NULL, WIRE_INVALID_ARGUMENT, -1);
    finish_bad_request(c, rc, 1);
    return;
  }
  if (registry_snapshot(hs->reg, &entries, &n) < 0) {
    journal_call(c, path, NULL, WIRE_INTERNAL, -1);
    finish(c, WIRE_INTERNAL, "out of memory", NULL, 1);
    return;
  }
  /* Sorted by name: "" comes first. */
  skip = faults_on(hs->faults, VIOLATE_LIST_NO_OVERALL) && n > 0 && !entries[0].name[0];
  /* H-LIST-3: limit N passes, N+1 fails (grpc-go) */
  if (n > hs->list_limit ||
      (faults_on(hs->faults, VIOLATE_LIST_LIMIT_OFF_BY_ONE) && n >= hs->list_limit)) {
    snprintf(msg, sizeof(msg), "server health list exceeds maximum capacity: %zu",
             hs->list_limit);
    journal_call(c, path, NULL, WIRE_RESOURCE_EXHAUSTED, -1);
    finish(c, WIRE_RESOURCE_EXHAUSTED, msg, NULL, 1);
  } else if (encode(entries + skip, n - skip, &bb) < 0) {
    journal_call(c, path, NULL, WIRE_INTERNAL, -1);
    finish(c, WIRE_INTERNAL, "out of memory", NULL, 1);
  } else {
    journal_call(c, path, NULL, WIRE_OK, -1);
    finish(c, WIRE_OK, NULL, bb, 1); /* H-LIST-2 */
  }
  registry_snapshot_free(entries, n);
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
 * flight per call (§2.5 batch slots). Runs on a CQ thread, or on a
 * registry writer's thread with the registry locked. */
static void watch_send(hs_call *c, int status) {
  health_server *hs = c->hs;
  grpc_op ops[2];
  size_t n = 0;

  memset(ops, 0, sizeof(ops));
  if (!c->md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = 1;
  }
  c->send_bb = response_buffer(hs, status);
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = c->send_bb;
  pthread_mutex_lock(&hs->mu);
  hs->watch_sends++;
  pthread_mutex_unlock(&hs->mu);
  if (start_batch(c, ops, n, &c->send_tag) < 0) {
    grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
    watch_send_done(hs);
  }
}

/* Starts the sends queued on the shard; each queued call holds a
 * reference and one count of hs->watch_sends. */
static void shard_send_queued(hs_shard *sh) {
  hs_call *c, *next;

  pthread_mutex_lock(&sh->wake_mu);
  c = sh->wake_head;
  sh->wake_head = sh->wake_tail = NULL;
  pthread_mutex_unlock(&sh->wake_mu);
  for (; c; c = next) {
    next = c->wake_next;
    watch_send(c, c->wake_status);
    watch_send_done(c->hs);
    call_unref(c);
  }
}

/* The shard's wake-up is back on its CQ thread. */
static void on_watch_wake(void *arg, int ok) {
  hs_call *c = arg;

  (void)ok; /* an empty batch always completes */
  shard_send_queued(c->shard);
  call_unref(c);
}

/* registry_notify_fn: H-WATCH-2/4, deduplicated and coalesced by the
 * registry (H-WATCH-5/6). It runs on the writer's thread (the control API,
 * a timeline) with the registry locked, once per watcher. Rather than
 * start 10,000 sends there, each its own socket write, it queues the call
 * on its shard and, for the first in an empty queue, posts an empty batch
 * that completes at once on the shard's CQ (api notes §2.5 option 2): the
 * CQ thread then starts every queued send in one go, where the transport
 * batches the writes of a connection, and the writer returns at once. One
 * completion per shard instead of one per watcher: each completion costs a
 * scan of the queue's outstanding tags in Debian's libgrpc. The registry
 * hands out one status at a time, so a call is queued once at most. */
static void watch_notify(void *ctx, int status) {
  hs_call *c = ctx;
  hs_shard *sh = c->shard;
  int first;

  c->wake_status = status;
  c->wake_next = NULL;
  call_ref(c); /* held by the queue */
  pthread_mutex_lock(&c->hs->mu);
  c->hs->watch_sends++; /* owed: health_server_drain waits for it */
  pthread_mutex_unlock(&c->hs->mu);
  pthread_mutex_lock(&sh->wake_mu);
  first = sh->wake_head == NULL;
  if (first)
    sh->wake_head = c;
  else
    sh->wake_tail->wake_next = c;
  sh->wake_tail = c;
  pthread_mutex_unlock(&sh->wake_mu);
  if (first && start_batch(c, NULL, 0, &c->wake_tag) < 0)
    shard_send_queued(sh);
}

/* Violation watch-close-after-first (T15): a unary-like Watch. The
 * registry watch goes first, so that no send can start beside the status. */
static void close_after_first(hs_call *c) {
  health_server *hs = c->hs;

  pthread_mutex_lock(&c->mu);
  registry_watch_stop(c->watch);
  c->watch = NULL;
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_lock(&hs->mu);
  if (!c->answered) {
    c->answered = 1;
    finish(c, WIRE_OK, NULL, NULL, 0);
  }
  pthread_mutex_unlock(&hs->mu);
}

static void on_watch_sent(void *arg, int ok) {
  hs_call *c = arg;
  int next;

  grpc_byte_buffer_destroy(c->send_bb);
  c->send_bb = NULL;
  if (ok && faults_on(c->hs->faults, VIOLATE_WATCH_CLOSE_AFTER_FIRST)) {
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
  c->linked = 1;
  hs->n_watches++;
  pthread_mutex_unlock(&hs->mu);
}

static void watch_unlink(hs_call *c) {
  health_server *hs = c->hs;

  pthread_mutex_lock(&hs->mu);
  if (c->watch_prev)
    c->watch_prev->watch_next = c->watch_next;
  else if (hs->watches == c)
    hs->watches = c->watch_next;
  if (c->watch_next)
    c->watch_next->watch_prev = c->watch_prev;
  c->watch_prev = c->watch_next = NULL;
  if (c->linked)
    hs->n_watches--;
  c->linked = 0;
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

/* The code a broken server fails this Watch with at once, or -1
 * (violations watch-internal, watch-unknown-not-found, watch-leak-slots). */
static int watch_refusal(hs_call *c, const char *name) {
  health_server *hs = c->hs;
  int status, code = -1;

  if (faults_on(hs->faults, VIOLATE_WATCH_INTERNAL))
    return WIRE_INTERNAL;
  if (faults_on(hs->faults, VIOLATE_WATCH_UNKNOWN_NOT_FOUND) &&
      registry_get(hs->reg, name, &status) < 0)
    return WIRE_NOT_FOUND;
  if (faults_on(hs->faults, VIOLATE_WATCH_LEAK_SLOTS)) {
    /* Slots are taken and never given back, cancelled or not. */
    pthread_mutex_lock(&hs->mu);
    if (hs->leaked_slots >= LEAKY_SLOTS)
      code = WIRE_RESOURCE_EXHAUSTED;
    else
      hs->leaked_slots++;
    pthread_mutex_unlock(&hs->mu);
  }
  return code;
}

static void watch_start(hs_call *c) {
  grpc_op op;
  const char *name = c->service;
  int first, next, code;
  int rc = c->service_rc;

  if (rc < 0) {
    finish_bad_request(c, rc, 1);
    return;
  }
  code = watch_refusal(c, name);
  if (code >= 0) {
    finish(c, code, code == WIRE_NOT_FOUND ? "unknown service" : "watch failed", NULL, 1);
    journal_call(c, method_defs[M_WATCH].path, name, code, -1);
    return;
  }
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->cancelled;
  c->close_tag = (tag){on_watch_closed, c};
  c->send_tag = (tag){on_watch_sent, c};
  c->wake_tag = (tag){on_watch_wake, c};
  if (start_batch(c, &op, 1, &c->close_tag) < 0)
    return;
  journal_call(c, method_defs[M_WATCH].path, name, WIRE_OK, -1);
  watch_link(c); /* before the first send: the close tag unlinks it */
  pthread_mutex_lock(&c->mu);
  rc = registry_watch_start(c->hs->reg, name, watch_notify, c, &c->watch, &first);
  if (rc == 0 && !faults_on(c->hs->faults, VIOLATE_WATCH_NO_INITIAL))
    watch_send(c, first); /* H-WATCH-1, H-WATCH-3: kept open even if unknown */
  else if (rc == 0 && registry_watch_sent(c->watch, &next))
    watch_send(c, next); /* watch-no-initial: the first is dropped, changes go out */
  pthread_mutex_unlock(&c->mu);
  if (rc < 0)
    finish(c, WIRE_INTERNAL, "out of memory", NULL, 0);
}

/* ---- Reflection (H-REFL-*) -------------------------------------------- */

static void reflection_recv(hs_call *c);

static void on_reflection_sent(void *arg, int ok) {
  hs_call *c = arg;

  grpc_byte_buffer_destroy(c->send_bb);
  c->send_bb = NULL;
  if (ok)
    reflection_recv(c); /* one response per request, in order */
  call_unref(c);
}

static void reflection_reply(hs_call *c, grpc_byte_buffer *request) {
  grpc_op ops[2];
  grpc_slice req;
  uint8_t *out;
  size_t len, n = 0;
  int rc = read_message(request, &req);

  if (rc == 0) {
    rc = reflection_answer_faults(c->hs->faults, c->hs->reflection_list,
                                  GRPC_SLICE_START_PTR(req), GRPC_SLICE_LENGTH(req), &out, &len);
    grpc_slice_unref(req);
  }
  if (rc == -ENOENT) { /* reflection-abort: a failed lookup ends the stream */
    finish(c, WIRE_NOT_FOUND, "symbol not found", NULL, 0);
    return;
  }
  if (rc < 0) {
    finish_bad_request(c, rc, 0);
    return;
  }
  memset(ops, 0, sizeof(ops));
  if (!c->md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = 1;
  }
  c->send_bb = buffer_from_slice(grpc_slice_new(out, len, free));
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = c->send_bb;
  c->send_tag = (tag){on_reflection_sent, c};
  if (start_batch(c, ops, n, &c->send_tag) < 0) {
    grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
  }
}

static void on_reflection_recv(void *arg, int ok) {
  hs_call *c = arg;
  grpc_byte_buffer *request = c->recv_bb;

  c->recv_bb = NULL;
  if (ok && request)
    reflection_reply(c, request);
  else if (ok)
    finish(c, WIRE_OK, NULL, NULL, 0); /* the client half-closed */
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
  start_batch(c, &op, 1, &c->recv_tag);
}

static void handle_reflection(hs_call *c) {
  grpc_op op;

  if (c->method == M_REFLECTION_V1 && faults_on(c->hs->faults, VIOLATE_REFLECTION_V1_INTERNAL)) {
    finish(c, WIRE_INTERNAL, "reflection failed", NULL, 1); /* blocks the v1alpha fallback */
    return;
  }
  /* J-REFL-1: a Jina Executor registers v1alpha only (jina-executor.md §1.4). */
  if (c->method == M_REFLECTION_V1 && c->hs->reflection_list) {
    finish(c, WIRE_UNIMPLEMENTED,
           "unknown method /grpc.reflection.v1.ServerReflection/ServerReflectionInfo", NULL, 1);
    return;
  }

  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->cancelled;
  c->close_tag = (tag){on_released, c};
  if (start_batch(c, &op, 1, &c->close_tag) == 0)
    reflection_recv(c);
}

/* ---- Unknown methods (H-WIRE-4) --------------------------------------- */

static void answer_unimplemented(hs_call *c) {
  char msg[160];
  char *method;
  int answered, code;

  pthread_mutex_lock(&c->mu);
  answered = c->answered;
  c->answered = 1;
  pthread_mutex_unlock(&c->mu);
  if (answered)
    return;
  code = faults_on(c->hs->faults, VIOLATE_UNKNOWN_METHOD_INTERNAL) ? WIRE_INTERNAL
                                                                   : WIRE_UNIMPLEMENTED;
  method = grpc_slice_to_c_string(c->details.method);
  snprintf(msg, sizeof(msg), "unknown method %s", method);
  journal_call(c, method, NULL, code, -1);
  gpr_free(method);
  finish(c, code, msg, NULL, 1);
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
 * 92 (§5). The wait is bounded by the sweep in the CQ loop. */
static void handle_unimplemented(hs_call *c) {
  grpc_op op;

  defer(c, after_ms(gpr_now(GPR_CLOCK_MONOTONIC), UNIMPLEMENTED_WAIT_MS), answer_unimplemented);
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->recv_bb;
  c->recv_tag = (tag){on_unimplemented_recv, c};
  start_batch(c, &op, 1, &c->recv_tag);
}

/* A pending call is due when its time has come, when the server shuts
 * down, or (a starved Check) when few enough Watches are left open. Runs
 * with hs->mu held; every Watch close is a CQ event, so a starved Check
 * is looked at again after each. */
static int pending_due(const health_server *hs, const hs_call *c, gpr_timespec now) {
  return gpr_time_cmp(c->answer_by, now) <= 0 || hs->shutting_down ||
         (c->starved && hs->n_watches <= STARVING_WATCHES);
}

/* Answers the pending calls whose wait is over; returns when the next one
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

/* ---- fault injection (inject.h) --------------------------------------- */

/* A hung call comes due once the client's deadline has passed: the
 * client is gone, so this status reaches nobody; it only ends the call
 * here. */
static void answer_hung(hs_call *c) {
  finish(c, WIRE_DEADLINE_EXCEEDED, "injected hang", NULL, 1);
}

/* Applies an injected fault to a Check, Watch or List call before its
 * normal answer, `go_on`, which a delay runs later on the pending list
 * (never in a sleep: the CQ threads stay free). Returns 1 when the fault
 * took the call, 0 when the normal answer is due now. */
static int inject_fault(hs_call *c, const char *method, void (*go_on)(hs_call *)) {
  const char *path = method_defs[c->method].path;
  inject_hit hit;
  const char *name = c->service;

  /* List has no service; a request that cannot be read gets its normal
   * INVALID_ARGUMENT from go_on. */
  if (c->method != M_LIST && c->service_rc < 0)
    return 0;
  if (!inject_match(faults_inject(c->hs->faults), INJECT_GRPC, method, name ? name : "", &hit))
    return 0;
  switch (hit.action) {
  case INJECT_DELAY:
  case INJECT_RANDOM_DELAY:
    defer(c, after_ms(gpr_now(GPR_CLOCK_MONOTONIC), hit.delay_ms), go_on);
    break;
  case INJECT_HANG:
    journal_call(c, path, name, WIRE_DEADLINE_EXCEEDED, -1);
    defer(c, after_ms(c->deadline, PAST_DEADLINE_MS), answer_hung);
    break;
  default: /* INJECT_CODE: inject_parse keeps the HTTP actions off gRPC.
            * No message: trailers-only (§2.3). */
    journal_call(c, path, name, hit.code, -1);
    finish(c, hit.code, hit.message[0] ? hit.message : NULL, NULL, 1);
    break;
  }
  return 1;
}

/* Decodes the request's service once, for the fault rules and the answer. */
static void read_service(hs_call *c) {
  c->service_rc = request_service(c->payload, &c->service);
}

static void handle_check(hs_call *c) {
  read_service(c);
  if (!inject_fault(c, "Check", check_held))
    check_held(c);
}

static void handle_watch(hs_call *c) {
  read_service(c);
  if (!inject_fault(c, "Watch", watch_start))
    watch_start(c);
}

static void handle_list(hs_call *c) {
  if (!inject_fault(c, "List", list_answer))
    list_answer(c);
}

/* ---- requests and the CQ loop ----------------------------------------- */

static void (*const handlers[M_COUNT])(hs_call *) = {
    [M_CHECK] = handle_check,
    [M_WATCH] = handle_watch,
    [M_LIST] = handle_list,
    [M_REFLECTION_V1] = handle_reflection,
    [M_REFLECTION_V1ALPHA] = handle_reflection,
    [M_GENERIC] = handle_unimplemented,
};

/* Where the next request for `method` is armed. The core hands a new call
 * to the first queue, from the connection's, that has one armed; as every
 * connection is on shard 0, arming Watches round robin is what spreads
 * them evenly over the Watch shards. */
static hs_shard *arm_shard(health_server *hs, int method) {
  unsigned next;

  if (method != M_WATCH || hs->n_shards == 1)
    return &hs->shards[0];
  next = atomic_fetch_add(&hs->next_watch_shard, 1);
  return &hs->shards[1 + next % (unsigned)(hs->n_shards - 1)];
}

static int arm(health_server *hs, int method) {
  hs_shard *sh = arm_shard(hs, method);
  hs_call *c = call_new(sh, method);
  grpc_call_error e;

  if (!c)
    return -ENOMEM;
  if (method == M_GENERIC)
    e = grpc_server_request_call(hs->server, &c->call, &c->details, &c->md, sh->cq, sh->cq,
                                 &c->request_tag);
  else
    e = grpc_server_request_registered_call(
        hs->server, hs->methods[method], &c->call, &c->deadline, &c->md,
        method_defs[method].payload == GRPC_SRM_PAYLOAD_NONE ? NULL : &c->payload, sh->cq,
        sh->cq, &c->request_tag);
  if (e != GRPC_CALL_OK) {
    call_free(c);
    return -EIO;
  }
  return 0;
}

static void on_request(void *arg, int ok) {
  hs_call *c = arg;

  if (!ok) { /* the server is shutting down */
    call_free(c);
    return;
  }
  if (arm(c->hs, c->method) < 0)
    fprintf(stderr, "mock-executor: could not re-arm a request\n");
  pthread_mutex_lock(&c->hs->mu);
  c->accepted = 1;
  c->hs->active_calls++;
  c->hs->accepted++;
  pthread_mutex_unlock(&c->hs->mu);
  atomic_store(&c->refs, 1); /* the handler's own, dropped below */
  if (c->method == M_GENERIC)
    c->deadline = c->details.deadline;
  c->deadline_ms = deadline_left_ms(c->deadline);
  handlers[c->method](c);
  call_unref(c);
}

static void shutdown_queues(health_server *hs) {
  for (int i = 0; i < hs->n_shards; i++)
    grpc_completion_queue_shutdown(hs->shards[i].cq);
}

static void on_shutdown(void *arg, int ok) {
  health_server *hs = arg;

  (void)ok;
  pthread_mutex_lock(&hs->mu);
  hs->shut_down = 1;
  pthread_cond_broadcast(&hs->drained);
  pthread_mutex_unlock(&hs->mu);
  /* Every call is gone once the server reports shutdown (§2.7). */
  shutdown_queues(hs);
}

static void *cq_loop(void *arg) {
  hs_shard *sh = arg;

  for (;;) {
    gpr_timespec deadline = sweep_pending(sh->hs);
    grpc_event ev = grpc_completion_queue_next(sh->cq, deadline, NULL);
    tag *t;

    if (ev.type == GRPC_QUEUE_SHUTDOWN)
      break;
    if (ev.type != GRPC_OP_COMPLETE)
      continue;
    t = ev.tag;
    t->fn(t->arg, ev.success);
  }
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

static int bind_ports(health_server *hs, const health_server_options *opts, int *bound,
                      char *err, size_t errlen) {
  grpc_server_credentials *cr = server_credentials(opts->tls);
  char addr[300];
  int rc = 0;

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
  for (int m = 0; m < M_REGISTERED; m++) {
    hs->methods[m] = grpc_server_register_method(hs->server, method_defs[m].path, NULL,
                                                 method_defs[m].payload, 0);
    if (!hs->methods[m]) {
      snprintf(err, errlen, "cannot register %s", method_defs[m].path);
      return -EINVAL;
    }
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
  for (int m = 0; m < M_COUNT; m++) {
    int shards = m == M_WATCH && hs->n_shards > 1 ? hs->n_shards - 1 : 1;

    for (int i = 0; i < ARMED_PER_METHOD * shards; i++) {
      if (arm(hs, m) < 0) {
        snprintf(err, errlen, "cannot request calls");
        return -EIO;
      }
    }
  }
  for (int s = 0; s < hs->n_shards; s++) {
    if (pthread_create(&hs->shards[s].thread, NULL, cq_loop, &hs->shards[s]) != 0) {
      snprintf(err, errlen, "cannot start a completion-queue thread");
      return -EAGAIN;
    }
    hs->shards[s].started = 1;
  }
  return 0;
}

int health_server_start(const health_server_options *opts, health_server **out,
                        int *bound_ports, char *err, size_t errlen) {
  health_server *hs = calloc(1, sizeof(*hs));
  int rc;

  if (!hs) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  grpc_init();
  hs->reg = opts->reg;
  hs->journal = opts->journal;
  hs->faults = opts->faults;
  hs->list_limit = opts->list_limit;
  hs->reflection_list = opts->reflection_list;
  hs->shutdown_tag = (tag){on_shutdown, hs};
  pthread_mutex_init(&hs->mu, NULL);
  pthread_cond_init(&hs->drained, NULL);
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

/* Deadline `ms` from now on CLOCK_REALTIME, for pthread_cond_timedwait. */
static struct timespec realtime_after(int ms) {
  struct timespec until;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  return until;
}

void health_server_end_watches(health_server *hs, int code, const char *details) {
  pthread_mutex_lock(&hs->mu);
  for (hs_call *c = hs->watches; c; c = c->watch_next) {
    /* SEND_STATUS has its own batch slot, so it may start beside a
     * message send (§2.5); the close tag then unlinks the call. */
    if (!c->answered) {
      c->answered = 1;
      finish(c, code, details, NULL, 0);
    }
  }
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
  struct timespec until = realtime_after(timeout_ms);
  int rc = 0;

  /* Idle client connections may outlive the shutdown; calls decide. */
  pthread_mutex_lock(&hs->mu);
  while (!hs->shut_down && hs->active_calls > 0 && rc == 0)
    rc = pthread_cond_timedwait(&hs->drained, &hs->mu, &until);
  rc = hs->shut_down || hs->active_calls == 0 ? 0 : -ETIMEDOUT;
  pthread_mutex_unlock(&hs->mu);
  return rc;
}

size_t health_server_calls(health_server *hs) {
  size_t n;

  pthread_mutex_lock(&hs->mu);
  n = hs->accepted;
  pthread_mutex_unlock(&hs->mu);
  return n;
}

int health_server_drain(health_server *hs, int timeout_ms) {
  struct timespec until = realtime_after(timeout_ms);
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
