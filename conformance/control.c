/* control: the hook that changes statuses on the server under test. See
 * control.h for the contract.
 *
 * URL hook: the mock's control API (mock_executor/admin.h), one libcurl easy
 * handle per call so that several threads may call at once.
 * Command hook: `/bin/sh -c` on the template with {service} and {status}
 * replaced by shell-quoted words, spawned in its own process group so that a
 * timeout kills the whole pipeline. A command that exits with 64
 * (EX_USAGE) says "this hook cannot do that status" and maps to -ENOTSUP. */
#define _GNU_SOURCE /* pipe2, strdup */
#include "control.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "command.h"
#include "errbuf.h"
#include "monotime.h"
#include "wire.h"
#include "xalloc.h"

#define CONTROL_EX_UNSUPPORTED 64 /* sysexits.h EX_USAGE */
#define OUTPUT_MAX 1024           /* error details kept for messages */
#define REPLY_MAX (4 << 20)       /* a reply body read as JSON (the journal) */

struct control {
  char *url; /* without a trailing '/' */
  char *cmd;
  int timeout_ms;
  atomic_int shut_down; /* a shutdown succeeded and no resume since */
};

int control_new(const char *url, const char *cmd, int timeout_ms, control **out, char *err,
                size_t errlen) {
  control *c;

  if (!url == !cmd)
    return errbuf_fail(err, errlen, -EINVAL,
                       "exactly one of a control URL or a control command is needed");
  if (timeout_ms <= 0)
    return errbuf_fail(err, errlen, -EINVAL, "control timeout must be positive");
  if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return errbuf_fail(err, errlen, -EINVAL, "control URL '%s' must start with http:// or https://",
                       url);
  if (cmd && !*cmd)
    return errbuf_fail(err, errlen, -EINVAL, "control command is empty");
  c = xcalloc(1, sizeof(*c));
  c->timeout_ms = timeout_ms;
  if (url) {
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
      n--;
    c->url = xasprintf("%.*s", (int)n, url);
    /* Refcounted and thread-safe since curl 7.84; paired in control_free. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      free(c->url);
      free(c);
      return errbuf_fail(err, errlen, -EIO, "libcurl initialisation failed");
    }
  } else {
    c->cmd = xstrdup(cmd);
  }
  *out = c;
  return 0;
}

void control_free(control *c) {
  if (!c)
    return;
  if (c->url)
    curl_global_cleanup();
  free(c->url);
  free(c->cmd);
  free(c);
}

int control_can_shutdown(const control *c) { return c != NULL; }

int control_is_shut_down(const control *c) { return c && atomic_load(&c->shut_down); }

/* ---- URL hook ---------------------------------------------------------- */

typedef struct body {
  char *buf; /* NUL-terminated; NULL until something came */
  size_t len;
  int truncated; /* more than REPLY_MAX came */
} body;

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata) {
  body *b = userdata;
  size_t n = size * nmemb, take = n;

  if (b->len + take > REPLY_MAX) {
    take = REPLY_MAX - b->len;
    b->truncated = 1;
  }
  b->buf = xrealloc(b->buf, b->len + take + 1);
  memcpy(b->buf + b->len, data, take);
  b->len += take;
  b->buf[b->len] = '\0';
  return n;
}

/* The "error" field of a JSON error reply (admin.h), else the raw body. */
static void describe_reply(const body *b, char *out, size_t outlen) {
  json_t *root = b->buf ? json_loads(b->buf, 0, NULL) : NULL;
  const char *msg = json_string_value(json_object_get(root, "error"));

  snprintf(out, outlen, "%s", msg ? msg : b->buf ? b->buf : "");
  json_decref(root);
}

/* One HTTP request; 0 on a 2xx reply. With `reply`, the reply's body is
 * parsed into it as JSON (a new reference). */
static int http_call(const control *c, const char *method, const char *path, const char *json,
                     json_t **reply_json, char *err, size_t errlen) {
  CURL *h = xnonnull(curl_easy_init(), "a curl handle"); /* NULL: libcurl out of memory */
  struct curl_slist *headers = NULL;
  char url[2048], detail[OUTPUT_MAX], curl_err[CURL_ERROR_SIZE] = "";
  body reply = {.buf = NULL};
  long code = 0;
  CURLcode rc;
  int ret = 0;

  snprintf(url, sizeof(url), "%s%s", c->url, path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads; SIGPIPE is ignored by main */
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (json) {
    headers =
        xnonnull(curl_slist_append(NULL, "Content-Type: application/json"), "a curl header list");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
  } else if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  }
  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    ret = errbuf_fail(err, errlen, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "%s %s: %s",
                      method, url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    goto out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code > 299) {
    describe_reply(&reply, detail, sizeof(detail));
    ret = errbuf_fail(err, errlen, code == 404 ? -ENOENT : -EIO, "%s %s: HTTP %ld%s%s", method, url,
                      code, detail[0] ? ": " : "", detail);
  } else if (reply_json) {
    json_error_t jerr;
    *reply_json = reply.buf && !reply.truncated ? json_loads(reply.buf, 0, &jerr) : NULL;
    if (!*reply_json)
      ret = errbuf_fail(err, errlen, -EBADMSG, "%s %s: the reply is not JSON%s", method, url,
                        reply.truncated ? " of at most 4 MiB" : "");
  }
out:
  free(reply.buf);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return ret;
}

static int url_set(const control *c, const char *service, int status, char *err, size_t errlen) {
  json_t *doc = json_pack("{s:s, s:s}", "service", service, "status", wire_status_name(status));
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  int ret;

  if (!text) {
    json_decref(doc);
    return errbuf_fail(err, errlen, -ENOMEM, "cannot encode the status change as JSON");
  }
  ret = http_call(c, "PUT", "/v1/statuses", text, NULL, err, errlen);
  free(text);
  json_decref(doc);
  return ret;
}

static int url_remove(const control *c, const char *service, char *err, size_t errlen) {
  char *escaped = xnonnull(curl_easy_escape(NULL, service, 0), "an escaped service name");
  char path[1024];
  int ret;

  if ((size_t)snprintf(path, sizeof(path), "/v1/statuses/%s", escaped) >= sizeof(path)) {
    ret = errbuf_fail(err, errlen, -ENAMETOOLONG, "service name too long for the control URL");
  } else {
    ret = http_call(c, "DELETE", path, NULL, NULL, err, errlen);
  }
  curl_free(escaped);
  return ret;
}

/* ---- command hook ------------------------------------------------------ */

static int cmd_run(const control *c, const char *service, const char *status, char *err,
                   size_t errlen) {
  const command_var vars[] = {{"service", service}, {"status", status}};
  char line[COMMAND_LINE_MAX], tail[200], why[CONTROL_ERR_MAX];
  command *cmd = NULL;
  int wstatus = 0, ret;

  if (command_expand(c->cmd, vars, 2, line, sizeof(line)) < 0)
    return errbuf_fail(err, errlen, -ENAMETOOLONG, "control command too long after substitution");
  ret = command_start(line, &cmd, why, sizeof(why));
  if (ret < 0)
    return errbuf_fail(err, errlen, ret, "%s", why);
  ret = command_wait(cmd, monotime_ms() + c->timeout_ms, &wstatus);
  if (ret == -ETIMEDOUT)
    command_stop(cmd, 0); /* the group: sh and whatever it started */
  command_last_line(cmd, tail, sizeof(tail));
  command_free(cmd);
  if (ret == -ETIMEDOUT)
    return errbuf_fail(err, errlen, ret, "control command (%s %s) timed out after %d ms, killed",
                       status, service, c->timeout_ms);
  if (WIFSIGNALED(wstatus))
    return errbuf_fail(err, errlen, -EIO, "control command (%s %s) killed by signal %d", status,
                       service, WTERMSIG(wstatus));
  if (WEXITSTATUS(wstatus) == 0)
    return 0;
  return errbuf_fail(err, errlen, WEXITSTATUS(wstatus) == CONTROL_EX_UNSUPPORTED ? -ENOTSUP : -EIO,
                     "control command (%s %s) exited %d%s%s", status, service, WEXITSTATUS(wstatus),
                     tail[0] ? ": " : "", tail);
}

/* ---- the contract ------------------------------------------------------ */

int control_set(control *c, const char *service, int status, char *err, size_t errlen) {
  if (!c || !service || status < 0 || status > WIRE_STATUS_MAX)
    return errbuf_fail(err, errlen, -EINVAL, "control_set: bad arguments (status %d)", status);
  if (c->url)
    return url_set(c, service, status, err, errlen);
  return cmd_run(c, service, wire_status_name(status), err, errlen);
}

int control_remove(control *c, const char *service, char *err, size_t errlen) {
  if (!c || !service)
    return errbuf_fail(err, errlen, -EINVAL, "control_remove: bad arguments");
  if (c->url)
    return url_remove(c, service, err, errlen);
  return cmd_run(c, service, "REMOVE", err, errlen);
}

int control_shutdown(control *c, char *err, size_t errlen) {
  int rc;

  if (!c)
    return errbuf_fail(err, errlen, -EINVAL, "control_shutdown: no control hook");
  rc = c->url ? http_call(c, "POST", "/v1/shutdown", NULL, NULL, err, errlen)
              : cmd_run(c, "", "SHUTDOWN", err, errlen);
  if (rc == 0)
    atomic_store(&c->shut_down, 1);
  return rc;
}

int control_resume(control *c, char *err, size_t errlen) {
  int rc;

  if (!c)
    return errbuf_fail(err, errlen, -EINVAL, "control_resume: no control hook");
  rc = c->url ? http_call(c, "POST", "/v1/resume", NULL, NULL, err, errlen)
              : cmd_run(c, "", "RESUME", err, errlen);
  if (rc == 0)
    atomic_store(&c->shut_down, 0);
  return rc;
}

int control_get_json(control *c, const char *path, json_t **out, char *err, size_t errlen) {
  if (!c || !path || !out)
    return errbuf_fail(err, errlen, -EINVAL, "control_get_json: bad arguments");
  *out = NULL;
  if (!c->url)
    return errbuf_fail(err, errlen, -ENOTSUP, "a control command cannot read %s", path);
  return http_call(c, "GET", path, NULL, out, err, errlen);
}
