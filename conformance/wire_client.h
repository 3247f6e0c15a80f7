/*
 * wire_client: one gRPC request over libcurl HTTP/2 with prior knowledge,
 * to see what the C core client hides: the HTTP status, the content-type,
 * each message's compressed flag, and whether grpc-status came in the
 * first header block (Trailers-Only, H-WIRE-3) or in trailers after the
 * body (H-CHECK-7). Used by T06, T33 and T34.
 *
 * Every request is bounded by timeout_ms (connect and total) and carries
 * grpc-timeout (H-CHECK-6). No grpc-accept-encoding is sent (T33).
 * Thread safety: calls are independent; curl_global_init must have run
 * (wclient_post does it once through pthread_once).
 */
#ifndef HC_WIRE_CLIENT_H
#define HC_WIRE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define WCLIENT_TEXT_MAX 256
/* A reply body past this many bytes is not read on (a health reply is a
 * few bytes; an endless one must not hold the case): the transfer fails. */
#define WCLIENT_READ_MAX (64 * 1024)

typedef struct wclient_result {
  long http_status;                    /* 0 when no response came */
  char content_type[WCLIENT_TEXT_MAX]; /* "" when absent */
  int status_in_headers;               /* grpc-status in the first block, or -1 */
  int status_in_trailers;              /* grpc-status after the body, or -1 */
  char grpc_message[WCLIENT_TEXT_MAX];
  int messages;                 /* complete gRPC frames in the body */
  int compressed;               /* frames whose flag byte is not 0 */
  size_t body_bytes;            /* read; past WCLIENT_READ_MAX reading stops */
  size_t leftover;              /* bytes of an unfinished frame at the end */
  uint8_t first[16];            /* first message's bytes (up to 16) */
  size_t first_len;             /* its full length */
  int goaways;                  /* GOAWAY frames curl reported */
  int curl_code;                /* CURLcode of the transfer */
  char error[WCLIENT_TEXT_MAX]; /* curl's error text, "" on success */
} wclient_result;

/* POSTs `body` as is (`framed` = 0) or as one gRPC message (`framed` = 1:
 * the 5-byte prefix is added) to http://target/path with the given
 * content-type. Retries once on CURLE_HTTP2_STREAM when nothing was
 * received (curl 7.88 may drop a reply that arrives before the upload ends).
 * Returns 0 when the exchange happened (even with an HTTP error), or a
 * negative errno with out->error set when no response came. */
int wclient_post(const char *target, const char *path, const char *content_type,
                 const uint8_t *body, size_t len, int framed, int timeout_ms, wclient_result *out);

/* One line: "HTTP 200, application/grpc, 1 message, grpc-status 0 in trailers". */
void wclient_describe(const wclient_result *r, char *buf, size_t size);

#endif
