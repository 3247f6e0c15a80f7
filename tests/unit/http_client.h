/* A small libcurl client for the unit tests of the HTTP listeners
 * (admin_fixture.h, test_http_health.c). Talks to 127.0.0.1 only. Reuse one
 * CURL handle across calls to keep its connection alive. */
#ifndef HC_TEST_HTTP_CLIENT_H
#define HC_TEST_HTTP_CLIENT_H

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

typedef struct http_reply {
  long code;
  char body[16384]; /* NUL-terminated, truncated */
  size_t len;       /* bytes received (may exceed what body kept) */
  char content_type[64];
  char allow[64];
  char www_authenticate[64];
  long num_connects; /* new connections this transfer opened */
} http_reply;

static inline size_t http_on_body(char *data, size_t size, size_t n, void *ud) {
  http_reply *r = ud;
  size_t len = size * n;
  size_t kept = r->len < sizeof(r->body) - 1 ? r->len : sizeof(r->body) - 1;
  size_t take = len < sizeof(r->body) - 1 - kept ? len : sizeof(r->body) - 1 - kept;

  memcpy(r->body + kept, data, take);
  r->body[kept + take] = '\0';
  r->len += len;
  return len;
}

/* Resets h (keeping its connections) and aims it at method path. */
static inline void http_prepare(CURL *h, int port, const char *method, const char *path,
                                http_reply *r) {
  char url[512];

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

static inline void http_copy_header(CURL *h, const char *name, char *out, size_t outlen) {
  struct curl_header *hh;

  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) == CURLHE_OK)
    snprintf(out, outlen, "%s", hh->value);
}

/* Runs the transfer and fills r; returns the CURLcode. */
static inline CURLcode http_perform(CURL *h, http_reply *r) {
  CURLcode rc = curl_easy_perform(h);

  if (rc != CURLE_OK)
    return rc;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->num_connects);
  http_copy_header(h, "Content-Type", r->content_type, sizeof(r->content_type));
  http_copy_header(h, "Allow", r->allow, sizeof(r->allow));
  http_copy_header(h, "WWW-Authenticate", r->www_authenticate, sizeof(r->www_authenticate));
  return rc;
}

/* One request with extra headers (e.g. "User-Agent: x"; NULL = none);
 * body (NUL-terminated) is sent when not NULL. */
static inline CURLcode http_do_with(CURL *h, int port, const char *method, const char *path,
                                    const char *body, const char *const *headers, http_reply *r) {
  struct curl_slist *hdrs = NULL;
  CURLcode rc;

  http_prepare(h, port, method, path, r);
  for (size_t i = 0; headers && headers[i]; i++)
    hdrs = curl_slist_append(hdrs, headers[i]);
  if (body) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  rc = http_perform(h, r);
  curl_slist_free_all(hdrs);
  return rc;
}

/* One request; body (NUL-terminated) is sent when not NULL. */
static inline CURLcode http_do(CURL *h, int port, const char *method, const char *path,
                               const char *body, http_reply *r) {
  return http_do_with(h, port, method, path, body, NULL, r);
}

#endif
