/* client_mock: see client_mock.h. */
#define _GNU_SOURCE /* strndup */
#include "client_mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "errbuf.h"
#include "monotime.h"
#include "number.h"
#include "xalloc.h"

#define CONTROL_TIMEOUT_MS 5000 /* one control API call */
#define LINE_MAX_LEN 512

struct client_mock {
  command *cmd;
  control *ctl;
  int port;
};

/* "LISTENING grpc 127.0.0.1:4242" -> kind "grpc", port 4242; -EINVAL if the
 * line is something else. */
static int parse_listening(const char *line, char *kind, size_t kindlen, int *port) {
  const char *sp, *colon;
  long p;

  if (strncmp(line, "LISTENING ", 10) != 0)
    return -EINVAL;
  line += 10;
  sp = strchr(line, ' ');
  colon = strrchr(line, ':');
  if (!sp || !colon || colon < sp || (size_t)(sp - line) >= kindlen)
    return -EINVAL;
  if (number_parse(colon + 1, 1, 65535, &p) < 0)
    return -EINVAL;
  snprintf(kind, kindlen, "%.*s", (int)(sp - line), line);
  *port = (int)p;
  return 0;
}

/* Reads the mock's output until its health listener and control API said
 * they listen. */
static int await_listening(client_mock *m, const char *proto, int *admin_port, int timeout_ms,
                           char *err, size_t errlen) {
  long long deadline = monotime_ms() + timeout_ms;
  char line[LINE_MAX_LEN], kind[16], last[200];
  int port;

  *admin_port = 0;
  while (m->port == 0 || *admin_port == 0) {
    int rc = command_read_line(m->cmd, line, sizeof(line), deadline);
    if (rc < 0) {
      command_last_line(m->cmd, last, sizeof(last));
      return errbuf_fail(err, errlen, rc, "mock-executor %s (%s)",
                         rc == -ETIMEDOUT ? "did not listen in time" : "exited before listening",
                         last[0] ? last : "no output");
    }
    if (parse_listening(line, kind, sizeof(kind), &port) < 0)
      continue;
    if (strcmp(kind, "admin") == 0)
      *admin_port = port;
    else if (strcmp(kind, proto) == 0)
      m->port = port;
  }
  return 0;
}

int client_mock_start(const char *mock_path, case_protocol protocol, int port, const char *args,
                      int timeout_ms, client_mock **out, char *err, size_t errlen) {
  const char *proto = protocol == PROTOCOL_HTTP ? "http" : "grpc";
  char portbuf[16], line[COMMAND_LINE_MAX], url[64], cerr[CONTROL_ERR_MAX];
  const command_var vars[] = {{"mock", mock_path}};
  client_mock *m = xcalloc(1, sizeof(*m));
  int admin_port, rc;

  snprintf(portbuf, sizeof(portbuf), "%d", port);
  /* {mock} is expanded before the scenario's words are added, which are
   * quoted already. --grace 200ms: a stopped mock drains briefly. */
  rc = command_expand(
      "exec {mock} --host 127.0.0.1 --admin-port 0 --admin-host 127.0.0.1 "
      "--grace 200ms --port ",
      vars, 1, line, sizeof(line));
  if (rc == 0 && strlen(line) + strlen(portbuf) + strlen(proto) + strlen(args ? args : "") + 16 >=
                     sizeof(line))
    rc = -ENAMETOOLONG;
  if (rc < 0) {
    free(m);
    return errbuf_fail(err, errlen, rc, "the mock's command line is too long");
  }
  strcat(line, portbuf);
  strcat(line, " --protocol ");
  strcat(line, proto);
  strcat(line, " ");
  strcat(line, args ? args : "");
  rc = command_start(line, &m->cmd, err, errlen);
  if (rc < 0) {
    free(m);
    return rc;
  }
  rc = await_listening(m, proto, &admin_port, timeout_ms, err, errlen);
  if (rc < 0)
    goto fail;
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", admin_port);
  rc = control_new(url, NULL, CONTROL_TIMEOUT_MS, &m->ctl, cerr, sizeof(cerr));
  if (rc < 0) {
    errbuf_fail(err, errlen, rc, "%s", cerr);
    goto fail;
  }
  *out = m;
  return 0;
fail:
  client_mock_stop(m, 0);
  return rc;
}

int client_mock_port(const client_mock *m) { return m->port; }

control *client_mock_control(client_mock *m) { return m->ctl; }

int client_mock_journal(client_mock *m, json_t **records, char *err, size_t errlen) {
  char cerr[CONTROL_ERR_MAX];
  json_t *root = NULL;
  int rc = control_get_json(m->ctl, "/v1/journal", &root, cerr, sizeof(cerr));

  command_pump(m->cmd);
  if (rc < 0)
    return errbuf_fail(err, errlen, rc, "%s", cerr);
  *records = json_incref(json_object_get(root, "records"));
  json_decref(root);
  if (!json_is_array(*records)) {
    json_decref(*records);
    return errbuf_fail(err, errlen, -EBADMSG, "GET /v1/journal: no \"records\" array");
  }
  return 0;
}

size_t client_mock_count(json_t *records, const char *method, json_t **first) {
  size_t i, n = 0, len = strlen(method);
  json_t *rec;

  if (first)
    *first = NULL;
  json_array_foreach(records, i, rec) {
    const char *m = json_string_value(json_object_get(rec, "method"));
    if (!m || strncmp(m, method, len) != 0)
      continue;
    if (first && !*first)
      *first = rec;
    n++;
  }
  return n;
}

int client_mock_args(const client_opts *o, const char *tmpl, int tls, char *out, size_t size) {
  const command_var vars[] = {{"service", o->service}, {"cert", o->tls_cert}, {"key", o->tls_key}};
  char full[COMMAND_LINE_MAX];

  if (snprintf(full, sizeof(full), "%s%s",
               tls && o->tls_cert ? "--ssl-certfile {cert} --ssl-keyfile {key} " : "",
               tmpl) >= (int)sizeof(full))
    return -ENAMETOOLONG;
  return command_expand(full, vars, tls && o->tls_cert ? 3 : 1, out, size);
}

int client_mock_expand(const char *tmpl, int port, const char *service, int tls, char *out,
                       size_t size) {
  const char *scheme = tls ? "https" : "http";
  char addr[32], portbuf[16], url[600];

  snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
  snprintf(portbuf, sizeof(portbuf), "%d", port);
  if (service[0])
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d/health/%s", scheme, port, service);
  else
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d/", scheme, port);
  const command_var vars[] = {
      {"addr", addr}, {"host", "127.0.0.1"}, {"port", portbuf}, {"url", url}, {"service", service}};
  return command_expand(tmpl, vars, sizeof(vars) / sizeof(vars[0]), out, size);
}

void client_mock_stop(client_mock *m, int grace_ms) {
  if (!m)
    return;
  if (m->cmd)
    command_stop(m->cmd, grace_ms);
  command_free(m->cmd);
  control_free(m->ctl);
  free(m);
}
