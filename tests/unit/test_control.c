/* cmocka tests for conformance/control.c: the command hook (substitution,
 * quoting, exit codes, timeout kill) and the URL hook against a small
 * libmicrohttpd server standing in for the mock's control API. */
#define _GNU_SOURCE /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

/* ---- command hook ------------------------------------------------------ */

typedef struct tmp {
  char dir[64];
  char out[128];
} tmp;

static int tmp_setup(void **state) {
  tmp *t = calloc(1, sizeof(*t));
  snprintf(t->dir, sizeof(t->dir), "/tmp/test_control.XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->out, sizeof(t->out), "%s/out", t->dir);
  *state = t;
  return 0;
}

static int tmp_teardown(void **state) {
  tmp *t = *state;
  unlink(t->out);
  rmdir(t->dir);
  free(t);
  return 0;
}

static char *slurp(const char *path) {
  FILE *in = fopen(path, "r");
  char *buf = calloc(1, 4096);
  assert_non_null(in);
  assert_true(fread(buf, 1, 4095, in) < 4095);
  fclose(in);
  return buf;
}

static control *cmd_control(const char *tmpl, int timeout_ms) {
  control *c;
  char err[CONTROL_ERR_MAX];
  assert_int_equal(control_new(NULL, tmpl, timeout_ms, &c, err, sizeof(err)), 0);
  return c;
}

/* Each argument on its own line, so that word splitting shows. */
static control *recorder(const tmp *t) {
  char tmpl[256];
  snprintf(tmpl, sizeof(tmpl), "printf '[%%s]\\n' {service} {status} >> %s", t->out);
  return cmd_control(tmpl, 5000);
}

static void cmd__hostile_name_is_one_word(void **state) {
  tmp *t = *state;
  control *c = recorder(t);
  char err[CONTROL_ERR_MAX], *got;
  const char *name = "it's a $(touch x) `y` \"z\" ; * {status}";

  assert_int_equal(control_set(c, name, 1, err, sizeof(err)), 0);
  got = slurp(t->out);
  assert_string_equal(got, "[it's a $(touch x) `y` \"z\" ; * {status}]\n[SERVING]\n");
  free(got);
  control_free(c);
}

static void cmd__status_words(void **state) {
  tmp *t = *state;
  control *c = recorder(t);
  char err[CONTROL_ERR_MAX], *got;

  for (int s = 0; s <= 3; s++)
    assert_int_equal(control_set(c, "svc", s, err, sizeof(err)), 0);
  assert_int_equal(control_remove(c, "svc", err, sizeof(err)), 0);
  assert_int_equal(control_shutdown(c, err, sizeof(err)), 0);
  assert_int_equal(control_resume(c, err, sizeof(err)), 0);
  got = slurp(t->out);
  assert_string_equal(got,
                      "[svc]\n[UNKNOWN]\n[svc]\n[SERVING]\n[svc]\n[NOT_SERVING]\n"
                      "[svc]\n[SERVICE_UNKNOWN]\n[svc]\n[REMOVE]\n"
                      "[]\n[SHUTDOWN]\n[]\n[RESUME]\n");
  free(got);
  assert_int_equal(control_set(c, "svc", 4, err, sizeof(err)), -EINVAL);
  assert_true(control_can_shutdown(c));
  control_free(c);
}

static void cmd__failure_reports_exit_and_output(void **state) {
  control *c = cmd_control("echo 'no such service' >&2; exit 3", 5000);
  char err[CONTROL_ERR_MAX];

  (void)state;
  assert_int_equal(control_set(c, "svc", 1, err, sizeof(err)), -EIO);
  assert_non_null(strstr(err, "exited 3"));
  assert_non_null(strstr(err, "no such service"));
  control_free(c);
}

static void cmd__exit_64_is_unsupported(void **state) {
  control *c = cmd_control("[ {status} = REMOVE ] && exit 64; exit 0", 5000);
  char err[CONTROL_ERR_MAX];

  (void)state;
  assert_int_equal(control_set(c, "svc", 2, err, sizeof(err)), 0);
  assert_int_equal(control_remove(c, "svc", err, sizeof(err)), -ENOTSUP);
  control_free(c);
}

/* A shutdown whose RESUME the hook cannot do stays known (T25 then starts
 * from it); a resume that works, or a shutdown that failed, leaves none. */
static void cmd__shut_down_until_resumed(void **state) {
  control *c = cmd_control("[ {status} = RESUME ] && exit 64; exit 0", 5000);
  control *ok = cmd_control("exit 0", 5000);
  control *broken = cmd_control("exit 1", 5000);
  char err[CONTROL_ERR_MAX];

  (void)state;
  assert_false(control_is_shut_down(NULL));
  assert_false(control_is_shut_down(c));
  assert_int_equal(control_shutdown(c, err, sizeof(err)), 0);
  assert_int_equal(control_resume(c, err, sizeof(err)), -ENOTSUP);
  assert_true(control_is_shut_down(c));
  assert_int_equal(control_shutdown(ok, err, sizeof(err)), 0);
  assert_true(control_is_shut_down(ok));
  assert_int_equal(control_resume(ok, err, sizeof(err)), 0);
  assert_false(control_is_shut_down(ok));
  assert_int_equal(control_shutdown(broken, err, sizeof(err)), -EIO);
  assert_false(control_is_shut_down(broken));
  control_free(c);
  control_free(ok);
  control_free(broken);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 if pid exits within 2 s (SIGKILL is delivered asynchronously): a
 * pidfd becomes readable when the process exits, child or not. */
static int process_exits(pid_t pid) {
  struct pollfd p = {.events = POLLIN};
  int n;

  p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (p.fd < 0)
    return errno == ESRCH; /* already gone */
  n = poll(&p, 1, 2000);
  close(p.fd);
  return n == 1;
}

/* The deadline kills the whole process group, grandchildren included. */
static void cmd__timeout_kills_group(void **state) {
  tmp *t = *state;
  char tmpl[256], err[CONTROL_ERR_MAX], *got;
  control *c;
  long long t0;
  pid_t grandchild;

  snprintf(tmpl, sizeof(tmpl), "sleep 30 & echo $! > %s; wait", t->out);
  c = cmd_control(tmpl, 300);
  t0 = now_ms();
  assert_int_equal(control_set(c, "svc", 1, err, sizeof(err)), -ETIMEDOUT);
  assert_true(now_ms() - t0 < 3000);
  assert_non_null(strstr(err, "timed out"));
  got = slurp(t->out);
  grandchild = (pid_t)atoi(got);
  free(got);
  assert_true(grandchild > 0);
  assert_true(process_exits(grandchild));
  control_free(c);
}

static void new__rejects_bad_arguments(void **state) {
  control *c = NULL;
  char err[CONTROL_ERR_MAX];

  (void)state;
  assert_int_equal(control_new(NULL, NULL, 100, &c, err, sizeof(err)), -EINVAL);
  assert_int_equal(control_new("http://x", "cmd", 100, &c, err, sizeof(err)), -EINVAL);
  assert_int_equal(control_new("ftp://x", NULL, 100, &c, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "ftp://x"));
  assert_int_equal(control_new(NULL, "", 100, &c, err, sizeof(err)), -EINVAL);
  assert_int_equal(control_new(NULL, "true", 0, &c, err, sizeof(err)), -EINVAL);
  assert_null(c);
  control_free(NULL);
}

/* ---- URL hook ---------------------------------------------------------- */

typedef struct fake_api {
  struct MHD_Daemon *d;
  int port;
  pthread_mutex_t lock;
  char method[16];
  char url[256];
  char body[512];
  size_t body_len;
  unsigned reply_code;
  const char *reply_body;
} fake_api;

typedef struct upload {
  char buf[512];
  size_t len;
} upload;

/* Keeps the raw (still percent-encoded) path: what the client sent. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s) {
  (void)cls;
  (void)conn;
  return strlen(s);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls) {
  fake_api *api = cls;
  upload *up = *con_cls;
  struct MHD_Response *resp;
  enum MHD_Result ret;

  (void)version;
  if (!up) {
    *con_cls = calloc(1, sizeof(upload));
    return *con_cls ? MHD_YES : MHD_NO;
  }
  if (*data_size) {
    size_t take =
        *data_size < sizeof(up->buf) - 1 - up->len ? *data_size : sizeof(up->buf) - 1 - up->len;
    memcpy(up->buf + up->len, data, take);
    up->len += take;
    *data_size = 0;
    return MHD_YES;
  }
  pthread_mutex_lock(&api->lock);
  snprintf(api->method, sizeof(api->method), "%s", method);
  snprintf(api->url, sizeof(api->url), "%s", url);
  memcpy(api->body, up->buf, up->len + 1);
  api->body_len = up->len;
  pthread_mutex_unlock(&api->lock);
  resp = MHD_create_response_from_buffer(strlen(api->reply_body), (void *)api->reply_body,
                                         MHD_RESPMEM_PERSISTENT);
  ret = MHD_queue_response(conn, api->reply_code, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

static int api_setup(void **state) {
  fake_api *api = calloc(1, sizeof(*api));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  const union MHD_DaemonInfo *info;

  pthread_mutex_init(&api->lock, NULL);
  api->reply_code = 200;
  api->reply_body = "{}";
  api->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, api,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
  assert_non_null(api->d);
  info = MHD_get_daemon_info(api->d, MHD_DAEMON_INFO_BIND_PORT);
  assert_non_null(info);
  api->port = info->port;
  *state = api;
  return 0;
}

static int api_teardown(void **state) {
  fake_api *api = *state;
  if (api->d)
    MHD_stop_daemon(api->d);
  pthread_mutex_destroy(&api->lock);
  free(api);
  return 0;
}

static control *url_control(const fake_api *api, const char *suffix) {
  control *c;
  char url[64], err[CONTROL_ERR_MAX];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", api->port, suffix);
  assert_int_equal(control_new(url, NULL, 2000, &c, err, sizeof(err)), 0);
  return c;
}

static void url__set_puts_json(void **state) {
  fake_api *api = *state;
  control *c = url_control(api, "/"); /* a trailing slash is dropped */
  char err[CONTROL_ERR_MAX];
  json_t *doc;

  assert_int_equal(control_set(c, "a \"b\"", 2, err, sizeof(err)), 0);
  assert_string_equal(api->method, "PUT");
  assert_string_equal(api->url, "/v1/statuses");
  doc = json_loads(api->body, 0, NULL);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "service")), "a \"b\"");
  assert_string_equal(json_string_value(json_object_get(doc, "status")), "NOT_SERVING");
  json_decref(doc);
  control_free(c);
}

static void url__remove_percent_encodes(void **state) {
  fake_api *api = *state;
  control *c = url_control(api, "");
  char err[CONTROL_ERR_MAX];

  assert_int_equal(control_remove(c, "a b/c?d", err, sizeof(err)), 0);
  assert_string_equal(api->method, "DELETE");
  assert_string_equal(api->url, "/v1/statuses/a%20b%2Fc%3Fd");
  control_free(c);
}

static void url__shutdown_resume_post(void **state) {
  fake_api *api = *state;
  control *c = url_control(api, "");
  char err[CONTROL_ERR_MAX];

  assert_int_equal(control_shutdown(c, err, sizeof(err)), 0);
  assert_string_equal(api->method, "POST");
  assert_string_equal(api->url, "/v1/shutdown");
  assert_int_equal(control_resume(c, err, sizeof(err)), 0);
  assert_string_equal(api->url, "/v1/resume");
  control_free(c);
}

static void url__error_reply_names_reason(void **state) {
  fake_api *api = *state;
  control *c = url_control(api, "");
  char err[CONTROL_ERR_MAX];

  api->reply_code = 400;
  api->reply_body = "{\"error\": \"unknown status 'X'\"}";
  assert_int_equal(control_set(c, "svc", 1, err, sizeof(err)), -EIO);
  assert_non_null(strstr(err, "HTTP 400"));
  assert_non_null(strstr(err, "unknown status 'X'"));
  api->reply_code = 404;
  api->reply_body = "";
  assert_int_equal(control_remove(c, "gone", err, sizeof(err)), -ENOENT);
  control_free(c);
}

static void url__unreachable_fails_fast(void **state) {
  fake_api *api = *state;
  control *c;
  char url[64], err[CONTROL_ERR_MAX];
  int port = api->port;

  MHD_stop_daemon(api->d); /* nothing listens on the port any more */
  api->d = NULL;
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
  assert_int_equal(control_new(url, NULL, 2000, &c, err, sizeof(err)), 0);
  assert_true(control_set(c, "svc", 1, err, sizeof(err)) < 0);
  assert_non_null(strstr(err, "PUT"));
  control_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(cmd__hostile_name_is_one_word, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(cmd__status_words, tmp_setup, tmp_teardown),
      cmocka_unit_test(cmd__failure_reports_exit_and_output),
      cmocka_unit_test(cmd__exit_64_is_unsupported),
      cmocka_unit_test(cmd__shut_down_until_resumed),
      cmocka_unit_test_setup_teardown(cmd__timeout_kills_group, tmp_setup, tmp_teardown),
      cmocka_unit_test(new__rejects_bad_arguments),
      cmocka_unit_test_setup_teardown(url__set_puts_json, api_setup, api_teardown),
      cmocka_unit_test_setup_teardown(url__remove_percent_encodes, api_setup, api_teardown),
      cmocka_unit_test_setup_teardown(url__shutdown_resume_post, api_setup, api_teardown),
      cmocka_unit_test_setup_teardown(url__error_reply_names_reason, api_setup, api_teardown),
      cmocka_unit_test_setup_teardown(url__unreachable_fails_fast, api_setup, api_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
