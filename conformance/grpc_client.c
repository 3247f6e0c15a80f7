/*
 * grpc_client: see grpc_client.h. One completion queue per call; each
 * batch's tag is a bit of `pending`, so a stream knows at any time which
 * of its operations are still in flight and can always drain them.
 */
#include "grpc_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "client_tls.h"
#include "watchdog.h"
#include "wire.h"
#include "xalloc.h"

struct gclient {
  grpc_channel *channel;
  grpc_resource_quota *quota;
};

enum {
  TAG_START = 1 << 0,  /* initial metadata (+ first message, half-close) */
  TAG_SEND = 1 << 1,   /* a later message */
  TAG_CLOSE = 1 << 2,  /* a later half-close */
  TAG_RECV = 1 << 3,   /* one RECV_MESSAGE */
  TAG_STATUS = 1 << 4, /* RECV_STATUS_ON_CLIENT */
};

/* Bound on draining a cancelled call: the core completes every op at
 * once after grpc_call_cancel, so this is only a guard against a bug. */
#define DRAIN_MS 10000
#define PUMP_SLICE_MS 250
/* How long past its deadline a unary call may take to end by itself. */
#define CALL_MARGIN_MS 250

struct gclient_stream {
  grpc_call *call;
  grpc_completion_queue *cq;
  unsigned pending;
  int recv_done; /* a RECV_MESSAGE completed and recv_bb is not consumed */
  int eof;       /* RECV_MESSAGE returned NULL: no more messages */
  int ended;     /* status received */
  grpc_byte_buffer *recv_bb;
  grpc_byte_buffer *send_bb;
  grpc_metadata_array initial_md;
  grpc_metadata_array trailing_md;
  grpc_status_code code;
  grpc_slice details;
  char details_text[GCLIENT_DETAILS_MAX];
  gpr_timespec started;
  int elapsed_ms;
};

static gpr_timespec after_ms(int ms) {
  if (ms < 0)
    ms = 0;
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static int ms_since(gpr_timespec t) {
  gpr_timespec d = gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t);
  return (int)(d.tv_sec * 1000 + d.tv_nsec / 1000000);
}

/* What one channel may take in from the target (issue 13, bounded
 * memory): health messages are a few bytes and reflection's descriptors a
 * few KiB, so a larger message is refused (RESOURCE_EXHAUSTED) instead of
 * buffered; header blocks past GCLIENT_MAX_HEADER_BYTES end the call; the
 * flow-control window stays at its 64 KiB start (no BDP growth), so a
 * stream read slowly or not at all buffers no more than that. */
static const grpc_channel_args *channel_args(grpc_resource_quota *quota, grpc_arg *args, size_t cap,
                                             grpc_channel_args *out) {
  const grpc_channel_args *tls = ctls_channel_args(); /* --tls-server-name */
  size_t n = 0;

  args[n++] = (grpc_arg){.type = GRPC_ARG_POINTER,
                         .key = (char *)GRPC_ARG_RESOURCE_QUOTA,
                         .value.pointer = {quota, grpc_resource_quota_arg_vtable()}};

  args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                         .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                         .value.integer = GCLIENT_MAX_MESSAGE_BYTES};
  args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                         .key = (char *)GRPC_ARG_MAX_METADATA_SIZE,
                         .value.integer = GCLIENT_MAX_HEADER_BYTES};
  args[n++] = (grpc_arg){
      .type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_HTTP2_BDP_PROBE, .value.integer = 0};
  for (size_t i = 0; tls && i < tls->num_args && n < cap; i++)
    args[n++] = tls->args[i];
  *out = (grpc_channel_args){.num_args = n, .args = args};
  return out;
}

int gclient_open(const char *target, gclient **out) {
  grpc_arg args[9];
  grpc_channel_args chargs;
  gclient *gc = xcalloc(1, sizeof(*gc));
  grpc_init();
  gc->quota = grpc_resource_quota_create("health-conformance");
  grpc_resource_quota_resize(gc->quota, GCLIENT_MEMORY_QUOTA);
  grpc_channel_credentials *cr = ctls_channel_credentials(); /* --tls* */
  gc->channel = grpc_channel_create(
      target, cr, channel_args(gc->quota, args, sizeof(args) / sizeof(args[0]), &chargs));
  grpc_channel_credentials_release(cr);
  if (!gc->channel) {
    grpc_resource_quota_unref(gc->quota);
    grpc_shutdown();
    free(gc);
    return -EINVAL;
  }
  *out = gc;
  return 0;
}

void gclient_close(gclient *gc) {
  if (!gc)
    return;
  grpc_channel_destroy(gc->channel);
  grpc_resource_quota_unref(gc->quota);
  grpc_shutdown();
  free(gc);
}

/* Takes one event off the stream's queue. -ETIMEDOUT when none came. */
/* One wait on the queue, in slices of at most PUMP_SLICE_MS: the core may
 * never come back from a flood, and the watchdog (watchdog.h) sees that
 * a slice past its end, however far the deadline is. */
static grpc_event pump_next(gclient_stream *s, gpr_timespec deadline) {
  for (;;) {
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec slice = gpr_time_add(now, gpr_time_from_millis(PUMP_SLICE_MS, GPR_TIMESPAN));
    int last = gpr_time_cmp(deadline, slice) <= 0;
    int token = watchdog_enter(PUMP_SLICE_MS);
    grpc_event ev = grpc_completion_queue_next(s->cq, last ? deadline : slice, NULL);
    watchdog_leave(token);
    if (ev.type != GRPC_QUEUE_TIMEOUT || last)
      return ev;
  }
}

static int stream_pump(gclient_stream *s, gpr_timespec deadline) {
  grpc_event ev = pump_next(s, deadline);
  if (ev.type != GRPC_OP_COMPLETE)
    return -ETIMEDOUT;
  unsigned tag = (unsigned)(uintptr_t)ev.tag;
  s->pending &= ~tag;
  if (tag == TAG_SEND && s->send_bb) {
    grpc_byte_buffer_destroy(s->send_bb);
    s->send_bb = NULL;
  } else if (tag == TAG_RECV) {
    s->recv_done = 1;
    if (!s->recv_bb)
      s->eof = 1; /* end of stream, cancel or deadline: success=1, NULL buffer */
  } else if (tag == TAG_STATUS) {
    s->ended = 1;
    s->elapsed_ms = ms_since(s->started);
    size_t n = GRPC_SLICE_LENGTH(s->details);
    if (n >= sizeof(s->details_text))
      n = sizeof(s->details_text) - 1;
    memcpy(s->details_text, GRPC_SLICE_START_PTR(s->details), n);
    s->details_text[n] = '\0';
  }
  return 0;
}

static int stream_wait(gclient_stream *s, unsigned bits, int timeout_ms) {
  gpr_timespec deadline = after_ms(timeout_ms);
  while (s->pending & bits) {
    int rc = stream_pump(s, deadline);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static grpc_byte_buffer *bytes_to_buffer(const uint8_t *msg, size_t len) {
  grpc_slice slice = grpc_slice_from_copied_buffer((const char *)msg, len);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

static int buffer_to_bytes(grpc_byte_buffer *bb, uint8_t **buf, size_t *len) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb))
    return -EBADMSG; /* a compressed message the core cannot inflate */
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  size_t n = GRPC_SLICE_LENGTH(all);
  uint8_t *copy = xmalloc(n);
  memcpy(copy, GRPC_SLICE_START_PTR(all), n);
  grpc_slice_unref(all);
  *buf = copy;
  *len = n;
  return 0;
}

int gclient_stream_open(gclient *gc, const char *method, const uint8_t *msg, size_t len,
                        int half_close, int deadline_ms, gclient_stream **out) {
  gclient_stream *s = xcalloc(1, sizeof(*s));
  s->cq = grpc_completion_queue_create_for_next(NULL);
  grpc_metadata_array_init(&s->initial_md);
  grpc_metadata_array_init(&s->trailing_md);
  s->details = grpc_empty_slice();
  s->started = gpr_now(GPR_CLOCK_MONOTONIC);
  /* H-CHECK-6: every call carries a deadline, sent as grpc-timeout. */
  grpc_slice path = grpc_slice_from_copied_string(method);
  s->call = grpc_channel_create_call(gc->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, path, NULL,
                                     after_ms(deadline_ms), NULL);
  grpc_slice_unref(path);
  if (!s->call) {
    gclient_stream_close(s);
    return -EIO;
  }

  grpc_op ops[4];
  memset(ops, 0, sizeof(ops));
  size_t n = 0;
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (msg) {
    s->send_bb = bytes_to_buffer(msg, len);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = s->send_bb;
  }
  if (half_close)
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  if (grpc_call_start_batch(s->call, ops, n, (void *)(uintptr_t)TAG_START, NULL) != GRPC_CALL_OK) {
    gclient_stream_close(s);
    return -EIO;
  }
  s->pending |= TAG_START;

  grpc_op st;
  memset(&st, 0, sizeof(st));
  st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  st.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  st.data.recv_status_on_client.status = &s->code;
  st.data.recv_status_on_client.status_details = &s->details;
  if (grpc_call_start_batch(s->call, &st, 1, (void *)(uintptr_t)TAG_STATUS, NULL) != GRPC_CALL_OK) {
    gclient_stream_close(s);
    return -EIO;
  }
  s->pending |= TAG_STATUS;
  *out = s;
  return 0;
}

int gclient_watch(gclient *gc, const char *service, int deadline_ms, gclient_stream **out) {
  uint8_t *req = NULL;
  size_t len = 0;
  int rc = wire_check_request_encode(service, &req, &len);
  if (rc < 0)
    return rc;
  rc = gclient_stream_open(gc, "/grpc.health.v1.Health/Watch", req ? req : (const uint8_t *)"", len,
                           1, deadline_ms, out);
  free(req);
  return rc;
}

int gclient_stream_send(gclient_stream *s, const uint8_t *msg, size_t len, int timeout_ms) {
  if (s->pending & TAG_SEND)
    return -EBUSY;
  s->send_bb = bytes_to_buffer(msg, len);
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = s->send_bb;
  if (grpc_call_start_batch(s->call, &op, 1, (void *)(uintptr_t)TAG_SEND, NULL) != GRPC_CALL_OK) {
    grpc_byte_buffer_destroy(s->send_bb);
    s->send_bb = NULL;
    return -EIO;
  }
  s->pending |= TAG_SEND;
  return stream_wait(s, TAG_SEND, timeout_ms);
}

int gclient_stream_half_close(gclient_stream *s, int timeout_ms) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  if (grpc_call_start_batch(s->call, &op, 1, (void *)(uintptr_t)TAG_CLOSE, NULL) != GRPC_CALL_OK)
    return -EIO;
  s->pending |= TAG_CLOSE;
  return stream_wait(s, TAG_CLOSE, timeout_ms);
}

static int stream_arm_recv(gclient_stream *s) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &s->recv_bb;
  s->recv_bb = NULL;
  s->recv_done = 0;
  if (grpc_call_start_batch(s->call, &op, 1, (void *)(uintptr_t)TAG_RECV, NULL) != GRPC_CALL_OK)
    return -EIO;
  s->pending |= TAG_RECV;
  return 0;
}

int gclient_stream_next(gclient_stream *s, int timeout_ms, uint8_t **buf, size_t *len) {
  gpr_timespec deadline = after_ms(timeout_ms);
  if (!s->eof && !(s->pending & TAG_RECV) && !s->recv_done) {
    int rc = stream_arm_recv(s);
    if (rc < 0)
      return rc;
  }
  while (!s->recv_done && !s->eof) {
    int rc = stream_pump(s, deadline);
    if (rc < 0)
      return rc;
  }
  if (s->eof) {
    /* The status follows the end of the messages at once. */
    if (!s->ended && stream_wait(s, TAG_STATUS, timeout_ms) < 0) {
      grpc_call_cancel(s->call, NULL);
      stream_wait(s, TAG_STATUS, DRAIN_MS);
    }
    return 1;
  }
  grpc_byte_buffer *bb = s->recv_bb;
  s->recv_bb = NULL;
  s->recv_done = 0;
  int rc = buffer_to_bytes(bb, buf, len);
  grpc_byte_buffer_destroy(bb);
  return rc;
}

int gclient_stream_next_status(gclient_stream *s, int timeout_ms, int *status) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = gclient_stream_next(s, timeout_ms, &buf, &len);
  if (rc != 0)
    return rc;
  rc = wire_check_response_decode(buf, len, status);
  free(buf);
  return rc;
}

int gclient_stream_code(const gclient_stream *s, const char **details) {
  if (details)
    *details = s->details_text;
  return s->ended ? (int)s->code : -1;
}

void gclient_stream_close(gclient_stream *s) {
  if (!s)
    return;
  if (s->call) {
    if (s->pending) {
      grpc_call_cancel(s->call, NULL);
      stream_wait(s, ~0u, DRAIN_MS);
    }
    if (s->pending) {
      /* Never seen; leaking beats freeing memory the core still writes. */
      fprintf(stderr, "grpc_client: call did not drain after cancel\n");
      return;
    }
    grpc_call_unref(s->call);
  }
  if (s->recv_bb)
    grpc_byte_buffer_destroy(s->recv_bb);
  if (s->send_bb)
    grpc_byte_buffer_destroy(s->send_bb);
  grpc_completion_queue_shutdown(s->cq);
  while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
         GRPC_QUEUE_SHUTDOWN)
    ;
  grpc_completion_queue_destroy(s->cq);
  grpc_metadata_array_destroy(&s->initial_md);
  grpc_metadata_array_destroy(&s->trailing_md);
  grpc_slice_unref(s->details);
  free(s);
}

static char *slice_dup(grpc_slice s) {
  size_t n = GRPC_SLICE_LENGTH(s);
  char *out = xmalloc(n + 1);
  memcpy(out, GRPC_SLICE_START_PTR(s), n);
  out[n] = '\0';
  return out;
}

/* Copies the trailers out before the call (which owns their slices) goes. */
static void reply_take_trailers(gclient_reply *r, const gclient_stream *s) {
  for (size_t i = 0; i < s->trailing_md.count && r->ntrailers < GCLIENT_MAX_TRAILERS; i++) {
    gclient_md *md = &r->trailers[r->ntrailers];
    md->key = slice_dup(s->trailing_md.metadata[i].key);
    md->value = slice_dup(s->trailing_md.metadata[i].value);
    r->ntrailers++;
  }
}

int gclient_stream_finish(gclient_stream *s, int timeout_ms, gclient_reply *r) {
  int late = 0; /* nothing came within timeout_ms: cancelled here */
  memset(r, 0, sizeof(*r));
  for (;;) {
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = gclient_stream_next(s, timeout_ms, &buf, &n);
    if (rc == 1)
      break;
    /* Bounded memory (issue 13): the first message past what a reply
     * keeps ends the reading; the reply is already wrong. */
    if ((rc == 0 || rc == -EBADMSG) && r->msg_count >= GCLIENT_MAX_MESSAGES) {
      r->msg_count++;
      r->overflow = 1;
    }
    if ((rc < 0 && rc != -EBADMSG) || r->overflow) {
      late = rc == -ETIMEDOUT;
      free(buf);
      grpc_call_cancel(s->call, NULL);
      stream_wait(s, ~0u, DRAIN_MS);
      break;
    }
    if (rc == -EBADMSG) { /* counted, not kept: gclient_reply_status says so */
      r->msg_count++;
      continue;
    }
    r->msgs[r->msg_count] = buf;
    r->lens[r->msg_count] = n;
    r->msg_count++;
  }
  r->code = s->ended && !late ? (int)s->code : WIRE_CODE_DEADLINE_EXCEEDED;
  snprintf(r->details, sizeof(r->details), "%s",
           late ? "no status within the deadline: cancelled" : s->details_text);
  r->elapsed_ms = s->ended ? s->elapsed_ms : ms_since(s->started);
  reply_take_trailers(r, s);
  return 0;
}

int gclient_call(gclient *gc, const char *method, const uint8_t *msg, size_t len, int deadline_ms,
                 gclient_reply *r) {
  memset(r, 0, sizeof(*r));
  gclient_stream *s = NULL;
  int rc = gclient_stream_open(gc, method, msg, len, 1, deadline_ms, &s);
  if (rc < 0)
    return rc;
  /* The call's deadline ends it; the margin covers the core's timer
   * firing late. Past it the call is cancelled here, as DEADLINE_EXCEEDED
   * (a target stuck in a header block keeps the core from ending it). */
  gclient_stream_finish(s, deadline_ms + CALL_MARGIN_MS, r);
  gclient_stream_close(s);
  return 0;
}

int gclient_check(gclient *gc, const char *service, int deadline_ms, gclient_reply *r) {
  uint8_t *req = NULL;
  size_t len = 0;
  int rc = wire_check_request_encode(service, &req, &len);
  if (rc < 0)
    return rc;
  rc = gclient_call(gc, "/grpc.health.v1.Health/Check", req ? req : (const uint8_t *)"", len,
                    deadline_ms, r);
  free(req);
  return rc;
}

void gclient_reply_free(gclient_reply *r) {
  if (!r)
    return;
  for (int i = 0; i < r->msg_count && i < GCLIENT_MAX_MESSAGES; i++)
    free(r->msgs[i]);
  for (size_t i = 0; i < r->ntrailers; i++) {
    free(r->trailers[i].key);
    free(r->trailers[i].value);
  }
  memset(r, 0, sizeof(*r));
}

int gclient_reply_status(const gclient_reply *r, int *status) {
  if (r->msg_count < 1)
    return -ENOMSG;
  if (!r->msgs[0] && r->lens[0] == 0)
    return -EBADMSG; /* counted but not readable (could not inflate) */
  return wire_check_response_decode(r->msgs[0], r->lens[0], status);
}

int gclient_reply_single_status(const gclient_reply *r, int *status) {
  if (r->code != WIRE_CODE_OK || r->msg_count != 1)
    return -EPROTO;
  return gclient_reply_status(r, status);
}

void gclient_reply_describe(const gclient_reply *r, char *buf, size_t size) {
  const char *name = wire_code_name(r->code);
  char code[32];
  if (!name) {
    snprintf(code, sizeof(code), "code %d", r->code);
    name = code;
  }
  if (r->code != WIRE_CODE_OK && !r->overflow) {
    if (r->details[0])
      snprintf(buf, size, "%s (%s)", name, r->details);
    else
      snprintf(buf, size, "%s", name);
    return;
  }
  int status = 0;
  int rc = gclient_reply_status(r, &status);
  if (r->overflow)
    snprintf(buf, size, "more than %d messages (reading stopped)", GCLIENT_MAX_MESSAGES);
  else if (r->msg_count > 1)
    snprintf(buf, size, "OK with %d messages", r->msg_count);
  else if (rc == -ENOMSG)
    snprintf(buf, size, "OK with no message");
  else if (rc < 0)
    snprintf(buf, size, "OK with an undecodable message (%zu bytes)", r->lens[0]);
  else if (status > WIRE_STATUS_MAX)
    snprintf(buf, size, "OK with status %d (not a ServingStatus)", status);
  else
    snprintf(buf, size, "OK with status %s", wire_status_name(status));
}
