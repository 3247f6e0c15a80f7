/*
 * wire_client: see wire_client.h.
 *
 * curl 7.88 hands HTTP/2 trailers to the header callback after the body,
 * with origin CURLH_HEADER and no blank line after them (not with
 * CURLH_TRAILER, as its documentation suggests). So a header line that comes after the
 * blank line ending the first block is a trailer.
 */
#define _GNU_SOURCE /* memmem */
#include "wire_client.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client_tls.h"
#include "number.h"
#include "sockwatch.h"
#include "wire.h"
#include "xalloc.h"

typedef struct exchange {
  wclient_result *res;
  int headers_done; /* the blank line after the first block was seen */
  uint8_t pending[WIRE_PREFIX_LEN];
  size_t pending_len; /* prefix bytes gathered so far */
  uint32_t remaining; /* message bytes still to skip */
  int in_message;
  int received;  /* anything at all came back */
  int too_large; /* the body passed WCLIENT_READ_MAX */
} exchange;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void copy_trimmed(char *dst, size_t size, const char *src, size_t len) {
  while (len && isspace((unsigned char)*src)) {
    src++;
    len--;
  }
  while (len && isspace((unsigned char)src[len - 1]))
    len--;
  if (len >= size)
    len = size - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata) {
  exchange *ex = userdata;
  wclient_result *r = ex->res;
  size_t len = size * nitems;
  ex->received = 1;
  if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
    ex->headers_done = 1;
    return len;
  }
  if (len > 5 && strncmp(line, "HTTP/", 5) == 0)
    return len; /* the status line; CURLINFO_RESPONSE_CODE has the code */
  const char *colon = memchr(line, ':', len);
  if (!colon)
    return len;
  size_t klen = (size_t)(colon - line);
  const char *val = colon + 1;
  size_t vlen = len - klen - 1;
  char value[WCLIENT_TEXT_MAX];
  copy_trimmed(value, sizeof(value), val, vlen);
  if (klen == 12 && strncasecmp(line, "content-type", klen) == 0 && !ex->headers_done) {
    snprintf(r->content_type, sizeof(r->content_type), "%s", value);
  } else if (klen == 11 && strncasecmp(line, "grpc-status", klen) == 0) {
    /* A value that is no status code at all (atoi read "OK" as 0) is not
     * success: gRPC clients take it as UNKNOWN. */
    long n;
    int code = number_parse(value, 0, INT_MAX, &n) == 0 ? (int)n : WIRE_CODE_UNKNOWN;
    if (ex->headers_done)
      r->status_in_trailers = code;
    else
      r->status_in_headers = code;
  } else if (klen == 12 && strncasecmp(line, "grpc-message", klen) == 0) {
    snprintf(r->grpc_message, sizeof(r->grpc_message), "%s", value);
  }
  return len;
}

/* Frames may split across callbacks: gather each 5-byte prefix, then skip
 * the message while keeping its first bytes. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  exchange *ex = userdata;
  wclient_result *r = ex->res;
  const uint8_t *p = (const uint8_t *)data;
  size_t len = size * nmemb;
  ex->received = 1;
  if (r->body_bytes + len > WCLIENT_READ_MAX) {
    ex->too_large = 1;
    return 0; /* CURLE_WRITE_ERROR: stop reading */
  }
  r->body_bytes += len;
  while (len > 0) {
    if (!ex->in_message) {
      size_t take = WIRE_PREFIX_LEN - ex->pending_len;
      if (take > len)
        take = len;
      memcpy(ex->pending + ex->pending_len, p, take);
      ex->pending_len += take;
      p += take;
      len -= take;
      int compressed = 0;
      uint32_t mlen = 0;
      if (wire_prefix_read(ex->pending, ex->pending_len, &compressed, &mlen) < 0)
        continue;
      ex->pending_len = 0;
      if (compressed)
        r->compressed++;
      if (r->messages == 0)
        r->first_len = mlen;
      ex->remaining = mlen;
      ex->in_message = 1;
    }
    size_t take = ex->remaining < len ? ex->remaining : len;
    if (r->messages == 0) {
      size_t at = r->first_len - ex->remaining;
      for (size_t i = 0; i < take && at + i < sizeof(r->first); i++)
        r->first[at + i] = p[i];
    }
    ex->remaining -= (uint32_t)take;
    p += take;
    len -= take;
    if (ex->remaining == 0) {
      ex->in_message = 0;
      r->messages++;
    }
  }
  return size * nmemb;
}

/* curl tells of a GOAWAY only in its verbose text ("received GOAWAY",
 * spelled "recveived" in 7.88): counted, for the gate. */
static int on_debug(CURL *h, curl_infotype type, char *text, size_t len, void *userdata) {
  exchange *ex = userdata;
  (void)h;
  if (type == CURLINFO_TEXT && memmem(text, len, "GOAWAY", 6))
    ex->res->goaways++;
  return 0;
}

static int post_once(const char *url, const char *content_type, const uint8_t *data, size_t len,
                     int timeout_ms, wclient_result *out, int *received) {
  memset(out, 0, sizeof(*out));
  out->status_in_headers = -1;
  out->status_in_trailers = -1;
  exchange ex = {.res = out};
  sockwatch watch;
  int late;
  CURL *h = xnonnull(curl_easy_init(), "a curl handle"); /* NULL: libcurl out of memory */
  char ctype[WCLIENT_TEXT_MAX + 16];
  char tmo[64];
  snprintf(ctype, sizeof(ctype), "content-type: %s", content_type);
  /* H-CHECK-6: a deadline on every call; the server may end it, too. */
  snprintf(tmo, sizeof(tmo), "grpc-timeout: %dm", timeout_ms);
  struct curl_slist *hdrs = NULL;
  const char *lines[] = {ctype, "te: trailers", tmo, "Accept:", "Expect:"};
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
    hdrs = xnonnull(curl_slist_append(hdrs, lines[i]), "a curl header list");
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  /* h2c by prior knowledge; over TLS (https://) curl offers h2 by ALPN */
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  ctls_curl_setup(h);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)data);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &ex);
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  /* curl's timeout lags under a flood of frames no callback sees: the
   * watch ends the transfer at the deadline whatever curl is doing. */
  sockwatch_start(&watch, timeout_ms);
  sockwatch_curl(&watch, h);
  CURLcode cc = curl_easy_perform(h);
  late = sockwatch_stop(&watch);
  if (late && cc != CURLE_OK) {
    cc = CURLE_OPERATION_TIMEDOUT;
    snprintf(errbuf, sizeof(errbuf), "no end within %d ms", timeout_ms);
  }
  out->curl_code = (int)cc;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->http_status);
  out->leftover = ex.in_message ? ex.remaining : ex.pending_len;
  if (ex.too_large)
    snprintf(out->error, sizeof(out->error), "stopped reading: the body is over %d bytes",
             WCLIENT_READ_MAX);
  else if (cc != CURLE_OK)
    snprintf(out->error, sizeof(out->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
  *received = ex.received;
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  sockwatch_free(&watch);
  return 0;
}

int wclient_post(const char *target, const char *path, const char *content_type,
                 const uint8_t *body, size_t len, int framed, int timeout_ms, wclient_result *out) {
  pthread_once(&curl_once, curl_init_once);
  char url[1024];
  if (ctls_url(target, path, url, sizeof(url)) < 0) { /* https:// with --tls */
    memset(out, 0, sizeof(*out));
    snprintf(out->error, sizeof(out->error), "URL too long");
    return -ENAMETOOLONG;
  }
  size_t total = framed ? len + WIRE_PREFIX_LEN : len;
  uint8_t *data = xmalloc(total);
  if (framed) {
    wire_prefix_write(data, 0, (uint32_t)len);
    if (len)
      memcpy(data + WIRE_PREFIX_LEN, body, len);
  } else if (len) {
    memcpy(data, body, len);
  }
  int received = 0;
  int rc = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    rc = post_once(url, content_type, data, total, timeout_ms, out, &received);
    /* curl 7.88 fails an early reply with 92 and delivers nothing; retry once. */
    if (rc < 0 || out->curl_code != CURLE_HTTP2_STREAM || received)
      break;
  }
  free(data);
  if (rc < 0)
    return rc;
  if (out->http_status == 0)
    return -EIO; /* no response at all; out->error says why */
  return 0;
}

void wclient_describe(const wclient_result *r, char *buf, size_t size) {
  char where[64];
  if (r->status_in_trailers >= 0)
    snprintf(where, sizeof(where), "grpc-status %d in trailers", r->status_in_trailers);
  else if (r->status_in_headers >= 0)
    snprintf(where, sizeof(where), "grpc-status %d in headers (Trailers-Only)",
             r->status_in_headers);
  else
    snprintf(where, sizeof(where), "no grpc-status");
  snprintf(buf, size, "HTTP %ld, content-type '%s', %d message%s%s, %s%s%s", r->http_status,
           r->content_type, r->messages, r->messages == 1 ? "" : "s",
           r->compressed ? " (compressed flag set)" : "", where, r->error[0] ? ", curl: " : "",
           r->error);
}
