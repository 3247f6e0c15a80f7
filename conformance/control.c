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
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errbuf.h"
#include "monotime.h"
#include "wire.h"

extern char **environ;

#define CONTROL_EX_UNSUPPORTED 64 /* sysexits.h EX_USAGE */
#define OUTPUT_MAX 1024           /* command output kept for error messages */

struct control {
  char *url; /* without a trailing '/' */
  char *cmd;
  int timeout_ms;
};

int control_new(const char *url, const char *cmd, int timeout_ms, control **out,
                char err[CONTROL_ERR_MAX]) {
  control *c;

  if (!url == !cmd)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL,
                       "exactly one of a control URL or a control command is needed");
  if (timeout_ms <= 0)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control timeout must be positive");
  if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL,
                       "control URL '%s' must start with http:// or https://", url);
  if (cmd && !*cmd)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control command is empty");
  c = calloc(1, sizeof(*c));
  if (!c)
    goto nomem;
  c->timeout_ms = timeout_ms;
  if (url) {
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
      n--;
    c->url = strndup(url, n);
    if (!c->url)
      goto nomem;
    /* Refcounted and thread-safe since curl 7.84; paired in control_free. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      free(c->url);
      free(c);
      return errbuf_fail(err, CONTROL_ERR_MAX, -EIO, "libcurl initialisation failed");
    }
  } else {
    c->cmd = strdup(cmd);
    if (!c->cmd)
      goto nomem;
  }
  *out = c;
  return 0;

nomem:
  if (c)
    free(c->url);
  free(c);
  return errbuf_fail(err, CONTROL_ERR_MAX, -ENOMEM, "out of memory");
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

/* ---- URL hook ---------------------------------------------------------- */

typedef struct body {
  char buf[OUTPUT_MAX];
  size_t len;
} body;

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata) {
  body *b = userdata;
  size_t n = size * nmemb;
  size_t room = sizeof(b->buf) - 1 - b->len;
  size_t take = n < room ? n : room;

  memcpy(b->buf + b->len, data, take);
  b->len += take;
  b->buf[b->len] = '\0';
  return n;
}

/* The "error" field of a JSON error reply (admin.h), else the raw body. */
static void describe_reply(const body *b, char *out, size_t outlen) {
  json_t *root = json_loads(b->buf, 0, NULL);
  const char *msg = json_string_value(json_object_get(root, "error"));

  snprintf(out, outlen, "%s", msg ? msg : b->buf);
  json_decref(root);
}

/* One HTTP request; 0 on a 2xx reply. */
static int http_call(const control *c, const char *method, const char *path, const char *json,
                     char err[CONTROL_ERR_MAX]) {
  CURL *h = curl_easy_init();
  struct curl_slist *headers = NULL;
  char url[2048], detail[OUTPUT_MAX], curl_err[CURL_ERROR_SIZE] = "";
  body reply = {.len = 0};
  long code = 0;
  CURLcode rc;
  int ret = 0;

  if (!h)
    return errbuf_fail(err, CONTROL_ERR_MAX, -ENOMEM, "libcurl handle allocation failed");
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
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!headers) {
      ret = errbuf_fail(err, CONTROL_ERR_MAX, -ENOMEM, "out of memory");
      goto out;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
  } else if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  }
  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    ret = errbuf_fail(err, CONTROL_ERR_MAX, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
                      "%s %s: %s", method, url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    goto out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code > 299) {
    describe_reply(&reply, detail, sizeof(detail));
    ret = errbuf_fail(err, CONTROL_ERR_MAX, code == 404 ? -ENOENT : -EIO, "%s %s: HTTP %ld%s%s",
                      method, url, code, detail[0] ? ": " : "", detail);
  }
out:
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return ret;
}

static int url_set(const control *c, const char *service, int status, char err[CONTROL_ERR_MAX]) {
  json_t *doc = json_pack("{s:s, s:s}", "service", service, "status", wire_status_name(status));
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  int ret;

  if (!text) {
    json_decref(doc);
    return errbuf_fail(err, CONTROL_ERR_MAX, -ENOMEM, "cannot encode the status change as JSON");
  }
  ret = http_call(c, "PUT", "/v1/statuses", text, err);
  free(text);
  json_decref(doc);
  return ret;
}

static int url_remove(const control *c, const char *service, char err[CONTROL_ERR_MAX]) {
  char *escaped = curl_easy_escape(NULL, service, 0);
  char path[1024];
  int ret;

  if (!escaped)
    return errbuf_fail(err, CONTROL_ERR_MAX, -ENOMEM, "out of memory");
  if ((size_t)snprintf(path, sizeof(path), "/v1/statuses/%s", escaped) >= sizeof(path)) {
    ret = errbuf_fail(err, CONTROL_ERR_MAX, -ENAMETOOLONG,
                      "service name too long for the control URL");
  } else {
    ret = http_call(c, "DELETE", path, NULL, err);
  }
  curl_free(escaped);
  return ret;
}

/* ---- command hook ------------------------------------------------------ */

/* Appends `word` to out in single quotes ('it'\''s'); 0 or -ENAMETOOLONG. */
static int append_quoted(char *out, size_t cap, size_t *len, const char *word) {
  size_t n = *len;

#define PUT(ch)                                                                                    \
  do {                                                                                             \
    if (n + 1 >= cap)                                                                              \
      return -ENAMETOOLONG;                                                                        \
    out[n++] = (ch);                                                                               \
  } while (0)
  PUT('\'');
  for (const char *p = word; *p; p++) {
    if (*p == '\'') {
      PUT('\'');
      PUT('\\');
      PUT('\'');
    }
    PUT(*p);
  }
  PUT('\'');
#undef PUT
  out[n] = '\0';
  *len = n;
  return 0;
}

/* The template with {service} and {status} replaced by quoted words. */
static int format_command(const char *tmpl, const char *service, const char *status, char *out,
                          size_t cap) {
  size_t len = 0;

  if (cap == 0)
    return -ENAMETOOLONG;
  out[0] = '\0';
  for (const char *p = tmpl; *p;) {
    if (strncmp(p, "{service}", 9) == 0) {
      if (append_quoted(out, cap, &len, service) < 0)
        return -ENAMETOOLONG;
      p += 9;
    } else if (strncmp(p, "{status}", 8) == 0) {
      if (append_quoted(out, cap, &len, status) < 0)
        return -ENAMETOOLONG;
      p += 8;
    } else {
      if (len + 1 >= cap)
        return -ENAMETOOLONG;
      out[len++] = *p++;
      out[len] = '\0';
    }
  }
  return 0;
}

/* The last non-empty line of the command's output, for error messages. */
static void last_line(char *buf, size_t len, char *out, size_t outlen) {
  char *end = buf + len, *start;

  while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
    end--;
  *end = '\0';
  start = strrchr(buf, '\n');
  snprintf(out, outlen, "%s", start ? start + 1 : buf);
}

/* Spawns `sh -c line` in a new process group with stdout+stderr on a pipe.
 * Returns the pid, or a negative errno. */
static pid_t spawn_shell(const char *line, int *out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char *argv[] = {"sh", "-c", (char *)line, NULL};
  int fds[2];
  pid_t pid;
  int rc;

  /* CLOEXEC: concurrent spawns from other threads must not inherit it. */
  if (pipe2(fds, O_CLOEXEC) < 0)
    return -errno;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  {
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all); /* SIGPIPE back to default */
    posix_spawnattr_setsigmask(&attr, &none);
  }
  rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return -rc;
  }
  *out_fd = fds[0];
  return pid;
}

/* Reads what is already in the pipe, without blocking: a grandchild may
 * still hold its write end after the shell exits. */
static void drain(int fd, char *out, size_t cap, size_t *len) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char chunk[256];
  ssize_t got;

  while (poll(&p, 1, 0) > 0 && (got = read(fd, chunk, sizeof(chunk))) > 0) {
    size_t take = (size_t)got < cap - 1 - *len ? (size_t)got : cap - 1 - *len;
    memcpy(out + *len, chunk, take);
    *len += take;
    out[*len] = '\0';
  }
}

/* Waits for pid until deadline while collecting its output; kills the
 * process group at the deadline. Returns 0 with *wstatus, or -ETIMEDOUT. */
static int wait_bounded(pid_t pid, int fd, long long deadline, char *out, size_t cap, size_t *len,
                        int *wstatus) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int pipe_open = 1, ret = -ETIMEDOUT;

  for (;;) {
    struct pollfd p[2];
    int n = 0, left = (int)(deadline - monotime_ms());
    pid_t w;

    w = waitpid(pid, wstatus, WNOHANG);
    if (w == pid) {
      ret = 0;
      break;
    }
    if (left <= 0)
      break;
    if (pipe_open)
      p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (pidfd >= 0)
      p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
    /* Without a pidfd (old kernel) and with the pipe closed, re-check the
     * child every 10 ms until the deadline. */
    if (poll(p, (nfds_t)n, n == 0 || pidfd < 0 ? (left < 10 ? left : 10) : left) < 0 &&
        errno != EINTR)
      break;
    if (pipe_open && (p[0].revents & (POLLIN | POLLHUP))) {
      size_t before = *len;
      drain(fd, out, cap, len);
      /* POLLHUP with nothing read: every writer is gone. */
      if (*len == before && !(p[0].revents & POLLIN))
        pipe_open = 0;
    }
  }
  if (ret == 0)
    drain(fd, out, cap, len);
  if (ret < 0) {
    kill(-pid, SIGKILL); /* the group we created: sh and whatever it started */
    waitpid(pid, wstatus, 0);
  }
  if (pidfd >= 0)
    close(pidfd);
  return ret;
}

static int cmd_run(const control *c, const char *service, const char *status,
                   char err[CONTROL_ERR_MAX]) {
  char line[8192], output[OUTPUT_MAX] = "", tail[200];
  size_t outlen = 0;
  int fd = -1, wstatus = 0, ret;
  long long deadline = monotime_ms() + c->timeout_ms;
  pid_t pid;

  if (format_command(c->cmd, service, status, line, sizeof(line)) < 0)
    return errbuf_fail(err, CONTROL_ERR_MAX, -ENAMETOOLONG,
                       "control command too long after substitution");
  pid = spawn_shell(line, &fd);
  if (pid < 0)
    return errbuf_fail(err, CONTROL_ERR_MAX, (int)pid, "cannot run /bin/sh: %s",
                       strerror((int)-pid));
  ret = wait_bounded(pid, fd, deadline, output, sizeof(output), &outlen, &wstatus);
  close(fd);
  last_line(output, outlen, tail, sizeof(tail));
  if (ret == -ETIMEDOUT)
    return errbuf_fail(err, CONTROL_ERR_MAX, ret,
                       "control command (%s %s) timed out after %d ms, killed", status, service,
                       c->timeout_ms);
  if (WIFSIGNALED(wstatus))
    return errbuf_fail(err, CONTROL_ERR_MAX, -EIO, "control command (%s %s) killed by signal %d",
                       status, service, WTERMSIG(wstatus));
  if (WEXITSTATUS(wstatus) == 0)
    return 0;
  return errbuf_fail(err, CONTROL_ERR_MAX,
                     WEXITSTATUS(wstatus) == CONTROL_EX_UNSUPPORTED ? -ENOTSUP : -EIO,
                     "control command (%s %s) exited %d%s%s", status, service, WEXITSTATUS(wstatus),
                     tail[0] ? ": " : "", tail);
}

/* ---- the contract ------------------------------------------------------ */

int control_set(control *c, const char *service, int status, char err[CONTROL_ERR_MAX]) {
  if (!c || !service || status < 0 || status > WIRE_STATUS_MAX)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control_set: bad arguments (status %d)",
                       status);
  if (c->url)
    return url_set(c, service, status, err);
  return cmd_run(c, service, wire_status_name(status), err);
}

int control_remove(control *c, const char *service, char err[CONTROL_ERR_MAX]) {
  if (!c || !service)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control_remove: bad arguments");
  if (c->url)
    return url_remove(c, service, err);
  return cmd_run(c, service, "REMOVE", err);
}

int control_shutdown(control *c, char err[CONTROL_ERR_MAX]) {
  if (!c)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control_shutdown: no control hook");
  if (c->url)
    return http_call(c, "POST", "/v1/shutdown", NULL, err);
  return cmd_run(c, "", "SHUTDOWN", err);
}

int control_resume(control *c, char err[CONTROL_ERR_MAX]) {
  if (!c)
    return errbuf_fail(err, CONTROL_ERR_MAX, -EINVAL, "control_resume: no control hook");
  if (c->url)
    return http_call(c, "POST", "/v1/resume", NULL, err);
  return cmd_run(c, "", "RESUME", err);
}
