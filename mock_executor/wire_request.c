/* wire_request: the request side of the wire engine's streams: nghttp2's
 * session callbacks (headers, DATA, frames sent, stream close), message
 * reassembly and grpc-timeout. What each request is answered is
 * wire_stream.c's. See wire_stream.h for the threading rule. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_stream.h"
#include "xalloc.h"

/* Takes every whole message out of st->in. A compressed flag without
 * grpc-encoding breaks H-WIRE-6: INTERNAL, as the core answers. */
static void take_messages(wstream *st) {
  size_t off = 0;
  int compressed;
  uint32_t len;
  hlogic_answer a = {.status = -1};

  while (st->state < WSTREAM_FINISHED &&
         wire_prefix_read(st->in + off, st->in_len - off, &compressed, &len) == 0 &&
         st->in_len - off >= WIRE_PREFIX_LEN + (size_t)len) {
    if (compressed) {
      a.code = st->encoded ? WIRE_CODE_UNIMPLEMENTED : WIRE_CODE_INTERNAL;
      snprintf(a.details, sizeof(a.details), "%s",
               st->encoded ? "compressed messages are not supported"
                           : "compressed message without grpc-encoding");
      wstream_answer(st, &a);
      break;
    }
    wstream_on_message(st, st->in + off + WIRE_PREFIX_LEN, len);
    off += WIRE_PREFIX_LEN + len;
  }
  memmove(st->in, st->in + off, st->in_len - off);
  st->in_len -= off;
}

/* H-WIRE-5: "100m", "1S"... up to 8 digits and a unit. -1 when malformed. */
static long long parse_timeout_ms(const char *v) {
  static const struct {
    char unit;
    double ms;
  } units[] = {{'H', 3600e3}, {'M', 60e3}, {'S', 1e3}, {'m', 1}, {'u', 1e-3}, {'n', 1e-6}};
  size_t n = strlen(v);
  char *end;
  long long digits;

  if (n < 2 || n > 9)
    return -1;
  digits = strtoll(v, &end, 10);
  if (end != v + n - 1 || digits < 0)
    return -1;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (units[i].unit == v[n - 1])
      return (long long)((double)digits * units[i].ms);
  }
  return -1;
}

static void set_header(wstream *st, const char *name, const char *value, size_t len) {
  long long ms;

  if (strcmp(name, ":path") == 0)
    snprintf(st->path, sizeof(st->path), "%.*s", (int)len, value);
  else if (strcmp(name, ":method") == 0)
    st->not_post = strcmp(value, "POST") != 0;
  else if (strcmp(name, "content-type") == 0)
    snprintf(st->content_type, sizeof(st->content_type), "%.*s", (int)len, value);
  else if (strcmp(name, "user-agent") == 0)
    snprintf(st->user_agent, sizeof(st->user_agent), "%.*s", (int)len, value);
  else if (strcmp(name, "grpc-encoding") == 0)
    st->encoded = strcmp(value, "identity") != 0;
  else if (strcmp(name, "grpc-timeout") == 0 && (ms = parse_timeout_ms(value)) >= 0) {
    st->deadline_ms = (long)ms;
    st->deadline = wstream_now_ms() + ms;
  }
}

/* ---- nghttp2 callbacks (user_data: the wconn) ---------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud) {
  wconn *conn = ud;
  wstream *st;

  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  st = xcalloc(1, sizeof(*st));
  atomic_init(&st->refs, 1); /* the connection's list */
  st->conn = conn;
  st->id = frame->hd.stream_id;
  st->deadline_ms = -1;
  st->next = conn->streams;
  if (conn->streams)
    conn->streams->prev = st;
  conn->streams = st;
  wengine_count_call(conn->we, 1);
  return nghttp2_session_set_stream_user_data(session, st->id, st);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud) {
  wstream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

  (void)namelen, (void)flags, (void)ud;
  if (st && frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    set_header(st, (const char *)name, (const char *)value, valuelen); /* NUL-terminated */
  return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud) {
  wstream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

  (void)ud;
  if (!st)
    return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    wstream_headers_done(st);
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && st->state < WSTREAM_FINISHED)
    wstream_request_end(st);
  return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud) {
  wstream *st = nghttp2_session_get_stream_user_data(session, id);
  hlogic_answer a = {.code = WIRE_CODE_RESOURCE_EXHAUSTED, .status = -1};

  (void)flags, (void)ud;
  if (!st || st->state >= WSTREAM_FINISHED)
    return 0;
  if (st->in_len + len > WSTREAM_MAX_REQUEST + WIRE_PREFIX_LEN) {
    snprintf(a.details, sizeof(a.details), "request larger than %d bytes", WSTREAM_MAX_REQUEST);
    wstream_answer(st, &a);
    return 0;
  }
  st->in = xrealloc(st->in, st->in_len + len);
  memcpy(st->in + st->in_len, data, len);
  st->in_len += len;
  take_messages(st);
  return 0;
}

/* RST_STREAM once the headers or the message went (rst:E/after-...). */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud) {
  wstream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

  (void)ud;
  if (st && (((st->shape & WSHAPE_RST_AFTER_HEADERS) && frame->hd.type == NGHTTP2_HEADERS) ||
             ((st->shape & WSHAPE_RST_AFTER_MESSAGE) && frame->hd.type == NGHTTP2_DATA &&
              st->out_len == 0))) {
    st->shape &= ~(WSHAPE_RST_AFTER_HEADERS | WSHAPE_RST_AFTER_MESSAGE);
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, st->id, (uint32_t)st->rst_code);
  }
  return 0;
}

void wstream_drop(wstream *st) {
  wconn *conn = st->conn;

  wstream_advance(st, WSTREAM_CLOSED);
  if (st->watch) {
    registry_watch_stop(st->watch); /* no notify runs after this */
    st->watch = NULL;
    wengine_watches_delta(conn->we, -1);
  }
  if (st->watch_buffered) {
    st->watch_buffered = 0;
    wengine_watch_owed(conn->we, -1);
  }
  if (st->prev)
    st->prev->next = st->next;
  else
    conn->streams = st->next;
  if (st->next)
    st->next->prev = st->prev;
  wengine_count_call(conn->we, -1);
  wstream_unref(st);
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ud) {
  wstream *st = nghttp2_session_get_stream_user_data(session, id);

  (void)code;
  if (((wconn *)ud)->goaway_after == id) /* goaway: this call was the last */
    nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, NULL, 0);
  if (st) {
    nghttp2_session_set_stream_user_data(session, id, NULL);
    wstream_drop(st);
  }
  return 0;
}

int wstream_callbacks(nghttp2_session_callbacks **out) {
  nghttp2_session_callbacks *cbs;

  if (nghttp2_session_callbacks_new(&cbs) != 0) /* NGHTTP2_ERR_NOMEM, its only failure */
    xalloc_die("nghttp2 callbacks");
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  *out = cbs;
  return 0;
}
