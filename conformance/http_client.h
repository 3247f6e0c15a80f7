/*
 * http_client: plain HTTP/1.1 requests over libcurl for the HTTP health
 * cases, `probe` and `wait` (`--protocol http`). It reports what the
 * cases judge: the status code, the Content-Type, the body (bounded), the
 * time taken and whether the connection was reused (keep-alive).
 *
 * An hclient owns one CURL easy handle, so consecutive requests on it
 * reuse the connection when the server keeps it open. Every request is
 * bounded by a connect timeout and a total timeout; nothing here can hang.
 * Never goes through a proxy: the target is asked directly.
 *
 * Thread safety: an hclient belongs to one thread at a time; distinct
 * hclients may be used at once. curl_global_init runs once through
 * pthread_once in hclient_new.
 */
#ifndef HC_HTTP_CLIENT_H
#define HC_HTTP_CLIENT_H

#include <stddef.h>

#define HCLIENT_TEXT_MAX 256
#define HCLIENT_BODY_MAX 1024
/* A body past this many bytes is not read on (a health answer is small;
 * an endless one must not hold the run): the transfer fails at once. */
#define HCLIENT_READ_MAX (64 * 1024)

typedef struct hclient hclient;

typedef struct hclient_result {
  long http_status;                    /* 0 when no response came */
  char content_type[HCLIENT_TEXT_MAX]; /* "" when absent */
  char body[HCLIENT_BODY_MAX];         /* NUL-terminated, truncated */
  size_t body_len;                     /* bytes received; may exceed what body kept */
  long new_connections;                /* connections this request opened (0: reused) */
  int elapsed_ms;                      /* from start to the end of the transfer */
  int curl_code;                       /* CURLcode of the transfer */
  int timed_out;                       /* 1 when a timeout ended it */
  int too_large;                       /* 1 when the body passed HCLIENT_READ_MAX */
  char error[HCLIENT_TEXT_MAX];        /* curl's error text, "" on success */
} hclient_result;

int hclient_new(hclient **out); /* 0 (out of memory aborts, docs/oom.md) */
void hclient_free(hclient *h);  /* safe with NULL */

/* `method` ("GET", "HEAD") on http://target{path}; target is "host:port"
 * or "[v6]:port", path begins with '/'. Returns 0 when a response came
 * (any status), or a negative errno (-ETIMEDOUT, -ECONNREFUSED, -EIO)
 * with out->error set when none did. */
int hclient_request(hclient *h, const char *target, const char *method, const char *path,
                    int connect_timeout_ms, int timeout_ms, hclient_result *out);

/* 1 if the Content-Type names JSON: application/json or a +json type,
 * parameters allowed, case-insensitive. */
int hclient_is_json_type(const char *content_type);

/* One line: "HTTP 200, application/json, 2-byte body {}". */
void hclient_describe(const hclient_result *r, char *buf, size_t size);

#endif
