/*
 * grpc_client: the runner's gRPC C core client. One channel per gclient;
 * every call gets its own completion queue, so calls never wait on each
 * other and a case can hold many streams at once (T12, T22, T36).
 *
 * Every call carries a deadline (H-CHECK-6): the core sends it as
 * grpc-timeout and ends the call by it, so nothing here can hang.
 *
 * Messages are raw bytes: callers encode with proto/wire.h or protobuf-c,
 * or hand exact request bytes (T02, T03, T09). A 0-byte message is a
 * non-NULL pointer with length 0; a NULL message means "send none".
 *
 * Thread safety: a gclient may be shared by threads (the channel is
 * thread-safe); a gclient_stream belongs to one thread at a time.
 * Returns: 0 or a negative errno-style value unless stated otherwise.
 */
#ifndef HC_GRPC_CLIENT_H
#define HC_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gclient gclient;
typedef struct gclient_stream gclient_stream;

#define GCLIENT_DETAILS_MAX 256
#define GCLIENT_MAX_TRAILERS 16
#define GCLIENT_MAX_MESSAGES 8                 /* a unary reply keeps at most this many */
#define GCLIENT_MAX_MESSAGE_BYTES (256 * 1024) /* a larger message fails the call */
#define GCLIENT_MAX_HEADER_BYTES (16 * 1024)   /* per header block */
#define GCLIENT_MEMORY_QUOTA (1024 * 1024)     /* what one channel may buffer */

/* Connects lazily to "host:port" (insecure). Calls grpc_init. */
int gclient_open(const char *target, gclient **out);
/* Destroys the channel; every stream must be closed first. Safe with NULL. */
void gclient_close(gclient *gc);

typedef struct gclient_md {
  char *key;
  char *value;
} gclient_md;

/* The outcome of a call. Owned by the caller: gclient_reply_free. */
typedef struct gclient_reply {
  int code;                          /* gRPC status code */
  char details[GCLIENT_DETAILS_MAX]; /* grpc-message, may be "" */
  int msg_count;                     /* messages received */
  int overflow;                      /* more than GCLIENT_MAX_MESSAGES came: the
                                        call was cancelled at the first one past */
  uint8_t *msgs[GCLIENT_MAX_MESSAGES];
  size_t lens[GCLIENT_MAX_MESSAGES];
  gclient_md trailers[GCLIENT_MAX_TRAILERS];
  size_t ntrailers;
  int elapsed_ms; /* from start to status */
} gclient_reply;

void gclient_reply_free(gclient_reply *r);

/* Unary (or any server-streaming) call: sends `msg`, half-closes, reads
 * every message until the status (or cancels at the first message past
 * GCLIENT_MAX_MESSAGES, setting overflow). Always fills *r (code DEADLINE_EXCEEDED
 * when the deadline fired). Returns -EIO only when the call could not be
 * made at all (out of memory aborts, docs/oom.md). */
int gclient_call(gclient *gc, const char *method, const uint8_t *msg, size_t len, int deadline_ms,
                 gclient_reply *r);

/* Check `service` via the standard encoding. */
int gclient_check(gclient *gc, const char *service, int deadline_ms, gclient_reply *r);

/* The ServingStatus of r's first message: 0 and *status, -ENOMSG when no
 * message came, -EBADMSG when it does not decode. */
int gclient_reply_status(const gclient_reply *r, int *status);

/* The ServingStatus of a well-formed Check reply: OK with exactly one
 * message that decodes (H-CHECK-1, H-CHECK-7). 0 and *status; -EPROTO for
 * another code or message count; else as gclient_reply_status. */
int gclient_reply_single_status(const gclient_reply *r, int *status);

/* One line for a FAIL/WARN "seen" field: "OK with status SERVING",
 * "NOT_FOUND (unknown service)", "OK with 2 messages", ... */
void gclient_reply_describe(const gclient_reply *r, char *buf, size_t size);

/* Streams. `deadline_ms` bounds the whole call. With `half_close` the
 * request side ends after `msg` (server streaming, Watch). */
int gclient_stream_open(gclient *gc, const char *method, const uint8_t *msg, size_t len,
                        int half_close, int deadline_ms, gclient_stream **out);

/* Opens Watch on `service`. */
int gclient_watch(gclient *gc, const char *service, int deadline_ms, gclient_stream **out);

/* Sends one more message (bidi), waiting at most timeout_ms for it to go. */
int gclient_stream_send(gclient_stream *s, const uint8_t *msg, size_t len, int timeout_ms);
/* Ends the request side. */
int gclient_stream_half_close(gclient_stream *s, int timeout_ms);

/* Waits at most timeout_ms for the next message.
 *   0          a message: *buf (malloc'd, caller frees) and *len
 *   1          the stream ended; see gclient_stream_status
 *   -ETIMEDOUT nothing in time; the read stays armed and the stream open
 * Not calling this for a while is how a case reads slowly (T20). */
int gclient_stream_next(gclient_stream *s, int timeout_ms, uint8_t **buf, size_t *len);

/* Like gclient_stream_next, decoding a HealthCheckResponse into *status.
 * -EBADMSG on an undecodable message. */
int gclient_stream_next_status(gclient_stream *s, int timeout_ms, int *status);

/* Reads every remaining message and the status into *r (as
 * gclient_call does), each wait bounded by timeout_ms. For many unary
 * calls in flight at once (T12): open them all, then finish each. */
int gclient_stream_finish(gclient_stream *s, int timeout_ms, gclient_reply *r);

/* After gclient_stream_next returned 1: the status code and details. */
int gclient_stream_code(const gclient_stream *s, const char **details);

/* Cancels the call if it is still open (RST_STREAM CANCEL), drains its
 * queue and frees everything. Safe with NULL. */
void gclient_stream_close(gclient_stream *s);

#endif
