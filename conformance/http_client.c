/*
 * http_client: see http_client.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "http_client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client_tls.h"
#include "xalloc.h"

struct hclient {
  CURL *easy;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int hclient_new(hclient **out) {
  hclient *h;

  pthread_once(&curl_once, curl_init_once);
  h = xcalloc(1, sizeof(*h));
  /* NULL only when libcurl cannot allocate the handle */
  h->easy = xnonnull(curl_easy_init(), "a curl handle");
  *out = h;
  return 0;
}

void hclient_free(hclient *h) {
  if (!h)
    return;
  curl_easy_cleanup(h->easy);
  free(h);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
  hclient_result *r = userdata;
  size_t len = size * n;
  size_t kept = r->body_len < HCLIENT_BODY_MAX - 1 ? r->body_len : HCLIENT_BODY_MAX - 1;
  size_t take = len < HCLIENT_BODY_MAX - 1 - kept ? len : HCLIENT_BODY_MAX - 1 - kept;

  if (r->body_len + len > HCLIENT_READ_MAX) {
    r->too_large = 1;
    return 0; /* CURLE_WRITE_ERROR: stop reading */
  }
  memcpy(r->body + kept, data, take);
  r->body[kept + take] = '\0';
  r->body_len += len;
  return len;
}

static int map_error(CURLcode rc) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return -ETIMEDOUT;
  case CURLE_COULDNT_CONNECT:
    return -ECONNREFUSED;
  case CURLE_COULDNT_RESOLVE_HOST:
    return -EHOSTUNREACH;
  default:
    return -EIO;
  }
}

int hclient_request(hclient *h, const char *target, const char *method, const char *path,
                    int connect_timeout_ms, int timeout_ms, hclient_result *out) {
  char url[1024], errbuf[CURL_ERROR_SIZE] = "";
  const char *ct = NULL;
  double total = 0;
  CURL *e = h->easy;
  CURLcode rc;

  memset(out, 0, sizeof(*out));
  if (ctls_url(target, path, url, sizeof(url)) < 0) { /* https:// with --tls */
    snprintf(out->error, sizeof(out->error), "URL too long");
    return -EIO;
  }
  curl_easy_reset(e); /* keeps the connection cache: keep-alive survives */
  curl_easy_setopt(e, CURLOPT_URL, url);
  ctls_curl_setup(e);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never a proxy: traffic stays with the target */
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "health-conformance");
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  rc = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &total);
  out->elapsed_ms = (int)(total * 1000);
  out->curl_code = (int)rc;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->http_status);
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &out->new_connections);
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
    snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL); /* errbuf leaves scope */
  if (rc == CURLE_OK)
    return 0;
  out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  if (out->too_large)
    snprintf(out->error, sizeof(out->error), "stopped reading: the body is over %d bytes",
             HCLIENT_READ_MAX);
  else
    snprintf(out->error, sizeof(out->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (out->http_status == 0)
    return map_error(rc);
  return 0; /* an answer came, then the transfer broke: the cases judge what came */
}

int hclient_is_json_type(const char *content_type) {
  size_t n = strcspn(content_type, ";");
  while (n && isspace((unsigned char)content_type[n - 1]))
    n--;
  if (n == 16 && strncasecmp(content_type, "application/json", 16) == 0)
    return 1;
  return n > 5 && strncasecmp(content_type, "application/", 12) == 0 &&
         strncasecmp(content_type + n - 5, "+json", 5) == 0;
}

void hclient_describe(const hclient_result *r, char *buf, size_t size) {
  char body[80];
  size_t n = 0;

  if (r->http_status == 0) {
    snprintf(buf, size, "no response (%s)", r->error[0] ? r->error : "nothing received");
    return;
  }
  /* The body quoted on one line, control bytes as '.', cut at 60. */
  for (const char *p = r->body; *p && n < 60; p++)
    body[n++] = isprint((unsigned char)*p) ? *p : '.';
  body[n] = '\0';
  snprintf(buf, size, "HTTP %ld, %s, %zu-byte body%s%s%s", r->http_status,
           r->content_type[0] ? r->content_type : "no content-type", r->body_len, n ? " '" : "",
           body, n ? (r->body_len > n ? "...'" : "'") : "");
}
