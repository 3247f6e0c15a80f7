/*
 * wire_stream: the gRPC calls of the wire engine, one per HTTP/2 stream:
 * nghttp2's session callbacks, the request's headers and messages, the
 * answers of health_logic framed as gRPC (or broken on purpose). Internal
 * to wire_engine.c and wire_stream.c.
 *
 * THREADING RULE. Everything here runs on the engine's I/O thread, which
 * owns every connection, nghttp2 session and stream; nghttp2 sessions are
 * not thread-safe and are never touched elsewhere. The one entry from
 * other threads is wstream_notify (the registry's Watch callback, on a
 * writer's thread with the registry locked): it queues the status on
 * we->notes under we->mu and wakes the I/O thread (eventfd).
 *
 * LOCK ORDER: registry -> we->mu. The I/O thread calls the registry
 * (registry_watch_start/_sent/_stop) holding no lock of the engine.
 *
 * A stream's memory: referenced by its connection's list (from the first
 * HEADERS to on_stream_close or the connection's end) and by each queued
 * note; freed when the last reference goes (refs is atomic because notes
 * are queued from writers' threads).
 */
#ifndef HC_WIRE_STREAM_H
#define HC_WIRE_STREAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "health_logic.h"
#include "inject.h"
#include "registry.h"

#define WENGINE_MAX_PORTS 16
/* Largest request message taken (the core's default receive limit). */
#define WSTREAM_MAX_REQUEST (4 * 1024 * 1024)

typedef struct wengine wengine;
typedef struct wconn wconn;
typedef struct wstream wstream;

/* A queued Watch status (from a registry writer's thread). */
typedef struct wnote {
  wstream *st; /* holds a reference */
  int status;
  struct wnote *next;
} wnote;

/* Shapes of a reply an injected fault (inject.h) gives it. */
#define WSHAPE_NO_TRAILERS 1u        /* END_STREAM on the last DATA */
#define WSHAPE_STATUS_IN_HEADERS 2u  /* grpc-status in the response headers */
#define WSHAPE_COMPRESSED 4u         /* compressed flag 1 */
#define WSHAPE_RST_AFTER_HEADERS 8u  /* RST_STREAM once the headers went */
#define WSHAPE_RST_AFTER_MESSAGE 16u /* RST_STREAM once the message went */

struct wconn {
  wengine *we;
  int fd;
  nghttp2_session *session;
  char peer[64]; /* "ipv4:127.0.0.1:5555", as the core writes it */
  uint8_t *out;  /* bytes nghttp2 produced, not yet written */
  size_t out_len, out_off;
  int epoll_out;         /* EPOLLOUT is armed */
  int goaway;            /* GOAWAY submitted */
  int dead;              /* to be closed once this round of events is done */
  int32_t goaway_after;  /* goaway (NO_ERROR): GOAWAY once this stream closed */
  int close_after_flush; /* close (1), reset (2, a TCP RST): the connection goes
                          * once what is queued is out */
  wstream *streams;      /* open streams */
  wconn *prev, *next;
};

/* A stream's one state; only forward, through wstream_advance:
 *   HEADERS -> DISPATCHED -> OPEN -> FINISHED -> CLOSED
 *   (any) ------------------------------------> CLOSED  (reset, connection gone)
 * HEADERS: request headers in, no answer decided. DISPATCHED: handed to
 * the logic (maybe held on the timer list). OPEN: response headers
 * submitted. FINISHED: the status is decided (trailers follow the data).
 * CLOSED: nghttp2 closed it; the stream waits for its last reference. */
typedef enum wstream_state {
  WSTREAM_HEADERS,
  WSTREAM_DISPATCHED,
  WSTREAM_OPEN,
  WSTREAM_FINISHED,
  WSTREAM_CLOSED,
} wstream_state;

struct wstream {
  wconn *conn;
  int32_t id;
  atomic_int refs;
  wstream_state state;
  hlogic_method method;
  char path[256];
  char user_agent[128];
  char content_type[64];
  int not_post;       /* :method is not POST */
  int encoded;        /* grpc-encoding names a compression */
  long long deadline; /* monotonic ms; 0 none (H-WIRE-5) */
  long deadline_ms;   /* left at arrival, for the journal; -1 none */
  int end_stream;     /* the request is complete */

  uint8_t *in; /* request bytes not yet taken as messages */
  size_t in_len;
  uint8_t *req; /* the first request message (Check, Watch, List) */
  size_t req_len;
  int req_present;
  char *service;
  int service_rc;

  uint8_t *out; /* framed messages not yet read by nghttp2 */
  size_t out_len, out_off, out_cap;
  int watch_buffered;    /* a Watch message is in `out` (counted in we->watch_owed) */
  hlogic_answer end;     /* FINISHED: the status in the trailers */
  int deferred;          /* the data provider said DEFERRED */
  int http_status;       /* of the reply; 0: 200 */
  unsigned shape;        /* WSHAPE_*: how an injected fault breaks the framing */
  int rst_code;          /* WSHAPE_RST_AFTER_*: the RST_STREAM error code */
  long slow_ms;          /* slow:D: the message bytes trickled over this long */
  long long trickle_due; /* ... the next byte's time (monotonic ms) */
  long trickle_step;     /* ... ms between bytes */

  registry_watch *watch; /* Watch streams; I/O thread only */
  long long due;         /* timer list: monotonic ms, 0 none */
  void (*on_due)(wstream *st);
  int starved;  /* watch-starves-check: due sooner once Watches close */
  int in_timer; /* on the engine's timer list (which holds a reference) */
  wstream *timer_next;
  wstream *prev, *next; /* in conn->streams */
};

/* wire_request.c */
/* The callbacks of every server session. */
int wstream_callbacks(nghttp2_session_callbacks **out);
/* Ends a stream the connection's end took away (no callback came). */
void wstream_drop(wstream *st);

/* wire_stream.c */
/* The request headers are in (refuse what is not gRPC, start the deadline
 * and the methods that start at once); one whole request message; the
 * request's end. */
void wstream_headers_done(wstream *st);
void wstream_on_message(wstream *st, const uint8_t *msg, size_t len);
void wstream_request_end(wstream *st);
/* Journals the answer (unless it says not to) and sends it. */
void wstream_answer(wstream *st, hlogic_answer *a);
/* Moves a stream forward (aborts on a move backwards); 0, or -EALREADY
 * when it is there or beyond already. */
int wstream_advance(wstream *st, wstream_state to);
void wstream_unref(wstream *st);
/* The registry's Watch callback (any thread; see the threading rule). */
void wstream_notify(void *ctx, int status);
/* A queued Watch status, on the I/O thread. */
void wstream_note(wstream *st, int status);
/* Ends an open Watch with the engine's end answer. */
void wstream_end_watch(wstream *st);
/* Runs the stream's timers that are due (now: monotonic ms; a hold is
 * due at once when shutting down, a starved Check once few enough Watches
 * are open). Returns the next time it is due, LLONG_MAX for never, 0 when
 * it has no timer left (off the list). */
long long wstream_tick(wstream *st, long long now, int shutting_down, size_t watches_open);
/* The same next time, without running anything. */
long long wstream_next_due(const wstream *st);
long long wstream_now_ms(void);

/* wire_engine.c, for wire_stream.c */
hlogic *wengine_logic(wengine *we);
void wengine_timer_add(wengine *we, wstream *st);
void wengine_count_call(wengine *we, int delta); /* active calls */
void wengine_watch_owed(wengine *we, int delta); /* Watch messages owed */
size_t wengine_watches_open(wengine *we);
void wengine_watches_delta(wengine *we, int delta);
void wengine_queue_note(wengine *we, wnote *n);
const hlogic_answer *wengine_end(wengine *we);

#endif
