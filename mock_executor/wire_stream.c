/* wire_stream: the gRPC calls of the wire engine: what each request is
 * answered (health_logic's decisions), framed as gRPC on nghttp2, or broken
 * on purpose (wire-* knobs, fault actions). wire_request.c is the request
 * side. See wire_stream.h for the threading rule, the lock order and the
 * state diagram. */
#define _GNU_SOURCE
#include "wire_stream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wire.h"
#include "xalloc.h"

long long wstream_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wstream_advance(wstream *st, wstream_state to) {
  if (st->state >= to)
    return -EALREADY;
  st->state = to; /* every move is forward; CLOSED may come from any state */
  return 0;
}

static void stream_free(wstream *st) {
  free(st->in);
  free(st->req);
  free(st->service);
  free(st->out);
  hlogic_answer_free(&st->end);
  free(st);
}

void wstream_unref(wstream *st) {
  if (atomic_fetch_sub(&st->refs, 1) == 1)
    stream_free(st);
}

static hlogic *logic(wstream *st) { return wengine_logic(st->conn->we); }

/* A wire-* violation knob (faults.h), read on every reply. */
static int knob(wstream *st, fault_knob k) { return faults_on(logic(st)->faults, k); }

/* grpc-status goes in trailers: not with no-trailers or status-in-headers,
 * nor (a reply with a message ends without grpc-status at all, T06) with
 * wire-no-grpc-status. Trailers-only replies keep theirs: the gRPC C core
 * 1.51 client aborts on a trailers-only reply without one (an assertion in
 * libgrpc), which would take the runner down, not fail a case. */
static int sends_trailers(wstream *st) {
  return !(st->shape & (WSHAPE_NO_TRAILERS | WSHAPE_STATUS_IN_HEADERS)) &&
         !knob(st, VIOLATE_WIRE_NO_GRPC_STATUS);
}

/* ---- output ------------------------------------------------------------ */

static void out_reserve(wstream *st, size_t more) {
  size_t need = st->out_len + more;

  if (need <= st->out_cap)
    return;
  st->out = xrealloc(st->out, need * 2);
  st->out_cap = need * 2;
}

/* Appends one length-prefixed message (flag 0: uncompressed, H-WIRE-6). */
static void out_message(wstream *st, const uint8_t *msg, size_t len) {
  out_reserve(st, WIRE_PREFIX_LEN + len);
  /* H-WIRE-6, broken by wire-compressed-flag and compressed-flag (T33) */
  wire_prefix_write(st->out + st->out_len,
                    (st->shape & WSHAPE_COMPRESSED) || knob(st, VIOLATE_WIRE_COMPRESSED_FLAG),
                    (uint32_t)len);
  memcpy(st->out + st->out_len + WIRE_PREFIX_LEN, msg, len);
  st->out_len += WIRE_PREFIX_LEN + len;
}

static int out_status(wstream *st, int status) {
  uint8_t buf[WIRE_RESPONSE_MAX];
  int len = wire_check_response_encode(status, buf);

  if (len < 0)
    return len;
  out_message(st, buf, (size_t)len);
  return 0;
}

/* grpc-message is percent-encoded (PROTOCOL-HTTP2: Status-Message). */
static void percent_encode(const char *in, char *out, size_t size) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;

  for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < size; p++) {
    if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
      out[n++] = (char)*p;
    } else {
      out[n++] = '%';
      out[n++] = hex[*p >> 4];
      out[n++] = hex[*p & 15];
    }
  }
  out[n] = '\0';
}

#define NV(n, v) \
  { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

/* grpc-status and grpc-message of `a` into nva (2 entries at most). */
static size_t status_nv(const hlogic_answer *a, nghttp2_nv *nva, char *code, char *msg,
                        size_t msg_size) {
  size_t n = 0;

  snprintf(code, 12, "%d", a->code);
  nva[n++] = (nghttp2_nv)NV("grpc-status", code);
  if (a->details[0]) {
    percent_encode(a->details, msg, msg_size);
    nva[n++] = (nghttp2_nv)NV("grpc-message", msg);
  }
  return n;
}

static ssize_t read_out(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *source, void *user_data);

/* The response headers, once: with a data provider for messages and
 * trailers, or (trailers-only, H-WIRE-3) carrying the status itself. */
static void submit_headers(wstream *st, const hlogic_answer *trailers_only) {
  char http[12] = "", code[12], msg[3 * sizeof(st->end.details)];
  nghttp2_nv nva[4] = {NV(":status", http), NV("content-type", "application/grpc")};
  nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_out};
  size_t n = 2;

  /* T06 broken by wire-http-404 and http-status:N */
  snprintf(http, sizeof(http), "%d",
           st->http_status                   ? st->http_status
           : knob(st, VIOLATE_WIRE_HTTP_404) ? 404
                                             : 200);
  nva[0].valuelen = strlen(http);
  if (!trailers_only && (st->shape & WSHAPE_STATUS_IN_HEADERS))
    n += status_nv(&st->end, nva + n, code, msg, sizeof(msg));
  if (trailers_only) {
    n += status_nv(trailers_only, nva + n, code, msg, sizeof(msg));
    nghttp2_submit_response(st->conn->session, st->id, nva, n, NULL);
  } else {
    nghttp2_submit_response(st->conn->session, st->id, nva, n, &prd);
  }
}

static void resume(wstream *st) {
  if (st->deferred) {
    st->deferred = 0;
    nghttp2_session_resume_data(st->conn->session, st->id);
  }
}

/* Makes the messages in `out` go: the headers first if they did not. */
static void flush_out(wstream *st) {
  if (wstream_advance(st, WSTREAM_OPEN) == 0)
    submit_headers(st, NULL);
  else
    resume(st);
}

/* Ends the call with the answer: its messages, then the status in the
 * trailers (or trailers-only when there is nothing before it). The first
 * answer wins. */
static void finish(wstream *st, hlogic_answer *a) {
  int had_headers = st->state == WSTREAM_OPEN;
  int ok = 0;

  if (st->state >= WSTREAM_FINISHED)
    return;
  /* wire-trailers-only-ok (T06): an OK Check answered trailers-only */
  if (st->method == HLOGIC_CHECK && a->code == WIRE_CODE_OK &&
      knob(st, VIOLATE_WIRE_TRAILERS_ONLY_OK))
    a->messages = 0;
  for (int i = 0; i < a->messages && ok == 0; i++) {
    if (a->msg)
      out_message(st, a->msg, a->msg_len);
    else
      ok = out_status(st, a->status); /* -EINVAL: a status outside 0-3 */
  }
  hlogic_answer_free(a);
  st->end = *a;
  if (ok < 0)
    hlogic_bad_request(ok, &st->end);
  wstream_advance(st, WSTREAM_FINISHED);
  if (!had_headers && st->out_len == 0)
    submit_headers(st, &st->end);
  else if (!had_headers)
    submit_headers(st, NULL);
  else
    resume(st);
}

static void record(wstream *st, int code, int status) {
  hlogic_call_info info = {.path = st->path,
                           .service = st->service,
                           .deadline_ms = st->deadline_ms,
                           .user_agent = st->user_agent[0] ? st->user_agent : NULL,
                           .peer = st->conn->peer};

  hlogic_journal(logic(st), &info, code, status);
}

void wstream_answer(wstream *st, hlogic_answer *a) {
  if (!a->unjournaled)
    record(st, a->code, a->status);
  finish(st, a);
}

/* ---- Watch ------------------------------------------------------------- */

static void watch_message(wstream *st, int status) {
  if (st->state >= WSTREAM_FINISHED || out_status(st, status) < 0)
    return;
  st->watch_buffered = 1;
  wengine_watch_owed(st->conn->we, 1);
  flush_out(st);
}

/* The buffered Watch message was taken by nghttp2: the next status, if one
 * changed meanwhile (H-WATCH-5/6: latest wins, the registry coalesces). */
static void watch_sent(wstream *st) {
  hlogic_answer ok = {.code = WIRE_CODE_OK, .status = -1};
  int next;

  st->watch_buffered = 0;
  wengine_watch_owed(st->conn->we, -1);
  if (!st->watch)
    return;
  if (hlogic_watch_ends_after_first(logic(st))) { /* watch-close-after-first (T15) */
    registry_watch_stop(st->watch);
    st->watch = NULL;
    finish(st, &ok);
  } else if (registry_watch_sent(st->watch, &next)) {
    watch_message(st, next);
  }
}

/* slow:D: 0 when the next byte may go, -1 when it is not due yet (the
 * engine's timer resumes the stream then). */
static int trickle(wstream *st) {
  long long now = wstream_now_ms();

  if (!st->trickle_step) {
    st->trickle_step = st->slow_ms / (long)(st->out_len - st->out_off);
    st->trickle_due = now;
  }
  if (now < st->trickle_due) {
    wengine_timer_add(st->conn->we, st);
    return -1;
  }
  st->trickle_due = now + (st->trickle_step > 0 ? st->trickle_step : 1);
  return 0;
}

static ssize_t read_out(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *source, void *user_data) {
  wstream *st = source->ptr;
  size_t n = st->out_len - st->out_off;
  nghttp2_nv nva[2];
  char code[12], msg[3 * sizeof(st->end.details)];

  (void)user_data;
  if (n > length)
    n = length;
  if (n > 0 && st->slow_ms && trickle(st) < 0) {
    st->deferred = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (n > 0 && st->slow_ms)
    n = 1;
  if (n > 0) /* out may still be NULL */
    memcpy(buf, st->out + st->out_off, n);
  st->out_off += n;
  if (st->out_off == st->out_len) {
    st->out_off = st->out_len = 0;
    if (st->watch_buffered)
      watch_sent(st);
  }
  if (st->out_len == 0 && st->state == WSTREAM_FINISHED &&
      !(st->shape & WSHAPE_RST_AFTER_MESSAGE)) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (sends_trailers(st)) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer(session, id, nva, status_nv(&st->end, nva, code, msg, sizeof(msg)));
    }
    return (ssize_t)n;
  }
  if (n == 0) {
    st->deferred = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  return (ssize_t)n;
}

void wstream_notify(void *ctx, int status) {
  wstream *st = ctx;
  wnote *n = xmalloc(sizeof(*n));

  atomic_fetch_add(&st->refs, 1);
  *n = (wnote){.st = st, .status = status};
  wengine_queue_note(st->conn->we, n);
}

void wstream_note(wstream *st, int status) {
  if (st->state < WSTREAM_CLOSED && st->watch)
    watch_message(st, status);
}

void wstream_end_watch(wstream *st) {
  hlogic_answer end = *wengine_end(st->conn->we);

  if (st->method == HLOGIC_WATCH && st->watch && st->state < WSTREAM_FINISHED)
    finish(st, &end);
}

static void watch_start(wstream *st) {
  hlogic *hl = logic(st);
  hlogic_answer a;
  int first, next, rc;

  if (hlogic_watch_refusal(hl, st->service, st->service_rc, &a)) {
    wstream_answer(st, &a);
    return;
  }
  record(st, WIRE_CODE_OK, -1);
  rc = registry_watch_start(hl->reg, st->service, wstream_notify, st, &st->watch, &first);
  if (rc < 0) {
    hlogic_bad_request(rc, &a); /* the registry's -ENOMEM */
    finish(st, &a);
    return;
  }
  wengine_watches_delta(st->conn->we, 1);
  if (hlogic_watch_sends_initial(hl))
    watch_message(st, first); /* H-WATCH-1, H-WATCH-3: kept open even if unknown */
  else if (registry_watch_sent(st->watch, &next))
    watch_message(st, next); /* watch-no-initial: the first is dropped */
}

/* ---- Check, List, faults ------------------------------------------------ */

static void hold(wstream *st, long long due, void (*on_due)(wstream *), int starved) {
  st->due = due;
  st->on_due = on_due;
  st->starved = starved;
  wengine_timer_add(st->conn->we, st);
}

/* When a withheld answer goes out: never without a deadline (until the
 * server shuts down). */
static long long past_deadline(const wstream *st) {
  return st->deadline ? st->deadline + HLOGIC_PAST_DEADLINE_MS : LLONG_MAX;
}

static void answer_check(wstream *st) {
  hlogic_answer a;

  hlogic_check(logic(st), st->req, st->req_len, st->req_present, st->service, st->service_rc, &a);
  wstream_answer(st, &a);
}

static void check_held(wstream *st) {
  hlogic_hold h = hlogic_check_hold(logic(st), st->req_len, wengine_watches_open(st->conn->we));

  if (h.kind == HLOGIC_AFTER)
    hold(st, wstream_now_ms() + h.ms, answer_check, 0);
  else if (h.kind == HLOGIC_PAST_DEADLINE || h.kind == HLOGIC_STARVED)
    hold(st, past_deadline(st), answer_check, h.kind == HLOGIC_STARVED);
  else
    answer_check(st);
}

static void answer_list(wstream *st) {
  hlogic_answer a;

  hlogic_list(logic(st), st->req, st->req_len, st->req_present, &a);
  wstream_answer(st, &a);
}

static void answer_held(wstream *st) { finish(st, &st->end); }

/* The actions that break the framing (inject.h). 1 when the call is taken
 * (no answer from the logic), 0 when the answer goes on, reshaped. */
static int wire_fault(wstream *st, const inject_hit *hit) {
  nghttp2_session *s = st->conn->session;
  char http[12] = "";
  nghttp2_nv nva[] = {NV(":status", http), NV("content-type", "application/grpc")};

  switch (hit->action) {
  case INJECT_GOAWAY:
    if (hit->code == NGHTTP2_NO_ERROR) { /* graceful: this call is answered, then GOAWAY */
      st->conn->goaway_after = st->id;
      return 0;
    }
    record(st, WIRE_CODE_UNAVAILABLE, -1);
    wstream_advance(st, WSTREAM_FINISHED);
    nghttp2_session_terminate_session2(s, st->id > 2 ? st->id - 2 : 0, (uint32_t)hit->code);
    return 1;
  case INJECT_RST:
    st->rst_code = hit->code;
    if (hit->when == INJECT_AFTER_MESSAGE) {
      st->shape |= WSHAPE_RST_AFTER_MESSAGE;
      return 0;
    }
    record(st, WIRE_CODE_UNAVAILABLE, -1);
    if (hit->when == INJECT_AFTER_HEADERS) {
      st->shape |= WSHAPE_RST_AFTER_HEADERS;
      flush_out(st); /* the headers; the data provider holds back */
    } else {
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, (uint32_t)hit->code);
    }
    wstream_advance(st, WSTREAM_FINISHED);
    return 1;
  case INJECT_CLOSE: /* the headers, then the TCP connection goes */
  case INJECT_RESET: /* ... with a TCP RST */
    record(st, WIRE_CODE_UNAVAILABLE, -1);
    flush_out(st);
    st->conn->close_after_flush = hit->action == INJECT_RESET ? 2 : 1;
    return 1;
  case INJECT_HTTP_STATUS:
    record(st, WIRE_CODE_UNAVAILABLE, -1);
    snprintf(http, sizeof(http), "%d", hit->code);
    nva[0].valuelen = strlen(http);
    wstream_advance(st, WSTREAM_FINISHED);
    nghttp2_submit_response(s, st->id, nva, 2, NULL);
    return 1;
  case INJECT_NO_TRAILERS:
    st->shape |= WSHAPE_NO_TRAILERS;
    return 0;
  case INJECT_STATUS_IN_HEADERS:
    st->shape |= WSHAPE_STATUS_IN_HEADERS;
    return 0;
  case INJECT_COMPRESSED_FLAG:
    st->shape |= WSHAPE_COMPRESSED;
    return 0;
  case INJECT_SLOW:
  case INJECT_SLOW_BODY:
    st->slow_ms = hit->delay_ms;
    return 0;
  default: /* the HTTP-only actions never match a gRPC call (inject_parse) */
    return 0;
  }
}

/* As health_server.c's apply_fault: 1 when an injected fault took the call. */
static int apply_fault(wstream *st, void (*go_on)(wstream *)) {
  inject_hit hit;
  hlogic_answer a;

  if (!hlogic_fault(logic(st), st->method, st->service, st->service_rc, &hit))
    return 0;
  switch (hit.action) {
  case INJECT_DELAY:
  case INJECT_RANDOM_DELAY:
    hold(st, wstream_now_ms() + hit.delay_ms, go_on, 0);
    break;
  case INJECT_HANG:
    hlogic_fault_answer(&hit, &a);
    record(st, a.code, -1);
    st->end = a; /* sent when due (never without a deadline) */
    hold(st, past_deadline(st), answer_held, 0);
    break;
  case INJECT_CODE:
    hlogic_fault_answer(&hit, &a);
    wstream_answer(st, &a);
    break;
  default:
    return wire_fault(st, &hit);
  }
  return 1;
}

/* ---- unknown methods and reflection ------------------------------------ */

static void answer_unknown(wstream *st) {
  hlogic_answer a;

  if (st->state >= WSTREAM_FINISHED)
    return;
  hlogic_unknown_method(logic(st), st->path, &a);
  wstream_answer(st, &a);
}

static void reflection_message(wstream *st, const uint8_t *msg, size_t len) {
  hlogic_answer a;

  if (st->state >= WSTREAM_FINISHED)
    return;
  if (hlogic_reflection(logic(st), msg, len, &a)) {
    finish(st, &a);
    return;
  }
  out_message(st, a.msg, a.msg_len);
  flush_out(st);
  hlogic_answer_free(&a);
}

/* ---- the request -------------------------------------------------------- */

/* Check, Watch, List: the first message (or the end of a request with none)
 * is the request (wire_request.c hands them over). */
static void dispatch_unary(wstream *st) {
  if (wstream_advance(st, WSTREAM_DISPATCHED) < 0)
    return;
  if (st->method != HLOGIC_LIST)
    st->service_rc = hlogic_request_service(st->req, st->req_len, st->req_present, &st->service);
  if (st->method == HLOGIC_CHECK && !apply_fault(st, check_held))
    check_held(st);
  else if (st->method == HLOGIC_WATCH && !apply_fault(st, watch_start))
    watch_start(st);
  else if (st->method == HLOGIC_LIST && !apply_fault(st, answer_list))
    answer_list(st);
}

void wstream_on_message(wstream *st, const uint8_t *msg, size_t len) {
  if (st->method == HLOGIC_REFLECTION_V1 || st->method == HLOGIC_REFLECTION_V1ALPHA) {
    reflection_message(st, msg, len);
  } else if (st->method <= HLOGIC_LIST && !st->req_present) {
    st->req = xmalloc(len);
    memcpy(st->req, msg, len);
    st->req_len = len;
    st->req_present = 1;
    dispatch_unary(st);
  }
}

void wstream_request_end(wstream *st) {
  hlogic_answer done = {.code = WIRE_CODE_OK, .status = -1};

  st->end_stream = 1;
  if (st->method <= HLOGIC_LIST)
    dispatch_unary(st); /* no message came: INVALID_ARGUMENT */
  else if (st->method == HLOGIC_UNKNOWN)
    answer_unknown(st);
  else if (st->state == WSTREAM_DISPATCHED || st->state == WSTREAM_OPEN)
    finish(st, &done); /* reflection: the client half-closed */
}

/* The request headers are in: refuse what is not gRPC (H-WIRE-2: 415),
 * start the deadline, and the methods that start at once. */
void wstream_headers_done(wstream *st) {
  nghttp2_nv nva[] = {NV(":status", "415"), NV("content-type", "text/plain")};
  hlogic_answer a;

  st->method = hlogic_method_of(st->path);
  /* H-WIRE-2; wire-content-type-served (T34) serves it as the core does */
  if (st->not_post || (strncmp(st->content_type, "application/grpc", 16) != 0 &&
                       !knob(st, VIOLATE_WIRE_CONTENT_TYPE_SERVED))) {
    wstream_advance(st, WSTREAM_FINISHED);
    nghttp2_submit_response(st->conn->session, st->id, nva, 2, NULL);
    return;
  }
  if (st->deadline)
    wengine_timer_add(st->conn->we, st);
  if (st->method == HLOGIC_REFLECTION_V1 || st->method == HLOGIC_REFLECTION_V1ALPHA) {
    wstream_advance(st, WSTREAM_DISPATCHED);
    if (hlogic_reflection_refusal(logic(st), st->method, &a))
      finish(st, &a);
  } else if (st->method == HLOGIC_UNKNOWN) {
    /* Answered at the request's end, or after this wait at most. */
    wstream_advance(st, WSTREAM_DISPATCHED);
    hold(st, wstream_now_ms() + HLOGIC_UNIMPLEMENTED_WAIT_MS, answer_unknown, 0);
  }
}

long long wstream_tick(wstream *st, long long now, int shutting_down, size_t watches_open) {
  hlogic_answer late = {.code = WIRE_CODE_DEADLINE_EXCEEDED, .status = -1};
  void (*fn)(wstream *);

  if (st->state == WSTREAM_CLOSED)
    return 0;
  if (st->deadline && st->state < WSTREAM_FINISHED && now >= st->deadline) {
    st->due = 0; /* H-WIRE-5: the client gave up; the core answers so too */
    snprintf(late.details, sizeof(late.details), "Deadline Exceeded");
    finish(st, &late);
  }
  if (st->due &&
      (now >= st->due || shutting_down || (st->starved && !hlogic_starved(watches_open)))) {
    fn = st->on_due;
    st->due = 0;
    fn(st);
  }
  if (st->trickle_due && st->deferred && now >= st->trickle_due)
    resume(st); /* slow:D: the next byte */
  return wstream_next_due(st);
}

long long wstream_next_due(const wstream *st) {
  long long next = 0;

  if (st->state == WSTREAM_CLOSED)
    return 0;
  if (st->due)
    next = st->due;
  if (st->deadline && st->state < WSTREAM_FINISHED && (!next || st->deadline < next))
    next = st->deadline;
  if (st->trickle_due && st->out_off < st->out_len && (!next || st->trickle_due < next))
    next = st->trickle_due;
  return next;
}
