/* config: command-line parsing for mock-executor. See config.h. */
#define _GNU_SOURCE /* strndup */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define DEFAULT_HOST "0.0.0.0"
#define DEFAULT_ADMIN_HOST "127.0.0.1"
#define DEFAULT_LIST_LIMIT 100 /* A90, grpc-go, grpc-node (H-LIST-3) */
#define DEFAULT_CQ_THREADS 1   /* a second thread only adds contention on 2 cores */

void config_usage(FILE *out) {
  fputs("Usage: mock-executor [OPTIONS]\n"
        "A configurable grpc.health.v1 server (Check, Watch, List, reflection).\n"
        "\n"
        "  --host ADDR            gRPC bind address (default " DEFAULT_HOST ")\n"
        "  --port N [N...]        gRPC port(s); 0 picks a free port (default 0)\n"
        "  --protocol P [P...]    protocol per port, or one for all (only: grpc)\n"
        "  --status [NAME=]STATUS set service NAME (default \"\", the overall\n"
        "                         health) to SERVING, NOT_SERVING, UNKNOWN,\n"
        "                         SERVICE_UNKNOWN or 0-3; repeatable.\n"
        "                         \"\" starts SERVING unless set here.\n"
        "  --list-limit N         List fails RESOURCE_EXHAUSTED above N services\n"
        "                         (default 100)\n"
        "  --admin-port N         serve the control API on N (0: a free port);\n"
        "                         off unless given\n"
        "  --admin-host ADDR      control API bind address (default " DEFAULT_ADMIN_HOST ")\n"
        "  --cq-threads N         completion-queue threads (default 1)\n"
        "  -h, --help             print this help\n"
        "  -V, --version          print the version\n"
        "\n"
        "Each listener prints `LISTENING <protocol> <host>:<port>` on stdout once it\n"
        "accepts connections. SIGTERM/SIGINT: every service NOT_SERVING, watchers\n"
        "notified, then exit 0.\n",
        out);
}

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* A whole decimal integer in [min, max]. */
static int parse_int(const char *text, long min, long max, long *out) {
  char *end;
  long v;

  if (!(text[0] >= '0' && text[0] <= '9'))
    return -EINVAL;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno || *end || v < min || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

static int parse_port(const char *flag, const char *text, int *port, char *err,
                      size_t errlen) {
  long v;

  if (parse_int(text, 0, 65535, &v) < 0)
    return fail(err, errlen, "%s: '%s' is not a port (0-65535)", flag, text);
  *port = (int)v;
  return 0;
}

/* --status [NAME=]STATUS. The status is after the last '=', so a name may
 * itself contain '='. */
static int add_status(config *cfg, const char *text, char *err, size_t errlen) {
  const char *eq = strrchr(text, '=');
  const char *status_text = eq ? eq + 1 : text;
  config_status *grown;
  char *name;
  int status;

  if (wire_status_parse(status_text, &status) < 0)
    return fail(err, errlen,
                "--status: '%s' is not a status (SERVING, NOT_SERVING, UNKNOWN, "
                "SERVICE_UNKNOWN or 0-3)",
                status_text);
  name = eq ? strndup(text, (size_t)(eq - text)) : strdup("");
  if (!name)
    return -ENOMEM;
  grown = realloc(cfg->statuses, (cfg->n_statuses + 1) * sizeof(*grown));
  if (!grown) {
    free(name);
    return -ENOMEM;
  }
  cfg->statuses = grown;
  cfg->statuses[cfg->n_statuses].name = name;
  cfg->statuses[cfg->n_statuses].status = status;
  cfg->n_statuses++;
  return 0;
}

/* Collects the values of a multi-value flag: the inline `--flag=v` value,
 * or every following argument up to the next one that starts with '-'. */
static int take_values(const char *flag, const char *inline_value, int argc, char **argv,
                       int *i, const char **values, size_t max, size_t *n, char *err,
                       size_t errlen) {
  *n = 0;
  if (inline_value) {
    values[(*n)++] = inline_value;
    return 0;
  }
  while (*i + 1 < argc && argv[*i + 1][0] != '-') {
    if (*n == max)
      return fail(err, errlen, "%s: more than %zu values", flag, max);
    values[(*n)++] = argv[++*i];
  }
  if (*n == 0)
    return fail(err, errlen, "%s needs a value", flag);
  return 0;
}

static int set_ports(config *cfg, const char **values, size_t n, char *err, size_t errlen) {
  for (size_t k = 0; k < n; k++) {
    int rc = parse_port("--port", values[k], &cfg->listeners[k].port, err, errlen);
    if (rc < 0)
      return rc;
    for (size_t j = 0; j < k; j++) {
      if (cfg->listeners[k].port != 0 && cfg->listeners[j].port == cfg->listeners[k].port)
        return fail(err, errlen, "--port: %d given twice", cfg->listeners[k].port);
    }
  }
  cfg->n_listeners = n;
  return 0;
}

static int parse_protocol(const char *text, config_protocol *out, char *err, size_t errlen) {
  if (strcmp(text, "grpc") == 0) {
    *out = CONFIG_PROTOCOL_GRPC;
    return 0;
  }
  return fail(err, errlen, "--protocol: '%s' is not supported (supported: grpc)", text);
}

/* Pairs --protocol values with the ports: one protocol applies to every
 * port, otherwise there must be one per port. */
static int set_protocols(config *cfg, const char **values, size_t n, char *err,
                         size_t errlen) {
  config_protocol p;
  int rc;

  if (n == 0)
    return 0;
  if (n != 1 && n != cfg->n_listeners)
    return fail(err, errlen, "--protocol: %zu values for %zu ports (give one, or one per port)",
                n, cfg->n_listeners);
  for (size_t k = 0; k < cfg->n_listeners; k++) {
    rc = parse_protocol(values[n == 1 ? 0 : k], &p, err, errlen);
    if (rc < 0)
      return rc;
    cfg->listeners[k].protocol = p;
  }
  return 0;
}

static void set_defaults(config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->host = DEFAULT_HOST;
  cfg->admin_host = DEFAULT_ADMIN_HOST;
  cfg->admin_port = -1;
  cfg->list_limit = DEFAULT_LIST_LIMIT;
  cfg->cq_threads = DEFAULT_CQ_THREADS;
  cfg->n_listeners = 1; /* port 0, grpc */
}

/* The value of a single-value flag: inline (`--flag=v`) or the next
 * argument. */
static const char *next_value(const char *inline_value, int argc, char **argv, int *i) {
  if (inline_value)
    return inline_value;
  if (*i + 1 < argc)
    return argv[++*i];
  return NULL;
}

static int parse_one(config *cfg, int argc, char **argv, int *i, const char **protocols,
                     size_t *n_protocols, char *err, size_t errlen) {
  const char *arg = argv[*i];
  const char *ports[CONFIG_MAX_LISTENERS];
  const char *eq = strchr(arg, '=');
  char flag[64];
  const char *inline_value = NULL;
  size_t flag_len;
  const char *v;
  size_t n;
  long num;
  int rc;

  if (strcmp(arg, "-h") == 0)
    return CONFIG_HELP;
  if (strcmp(arg, "-V") == 0)
    return CONFIG_VERSION;
  if (arg[0] != '-')
    return fail(err, errlen, "unexpected argument '%s'", arg);
  flag_len = eq ? (size_t)(eq - arg) : strlen(arg);
  if (strncmp(arg, "--", 2) != 0 || flag_len >= sizeof(flag))
    return fail(err, errlen, "unknown option '%s'", arg);
  memcpy(flag, arg, flag_len);
  flag[flag_len] = '\0';
  if (eq)
    inline_value = eq + 1;

  if (strcmp(flag, "--help") == 0 || strcmp(flag, "--version") == 0) {
    if (inline_value)
      return fail(err, errlen, "%s takes no value", flag);
    return strcmp(flag, "--help") == 0 ? CONFIG_HELP : CONFIG_VERSION;
  }
  if (strcmp(flag, "--port") == 0) {
    rc = take_values(flag, inline_value, argc, argv, i, ports, CONFIG_MAX_LISTENERS, &n, err,
                     errlen);
    return rc < 0 ? rc : set_ports(cfg, ports, n, err, errlen);
  }
  if (strcmp(flag, "--protocol") == 0)
    return take_values(flag, inline_value, argc, argv, i, protocols, CONFIG_MAX_LISTENERS,
                       n_protocols, err, errlen);

  /* Single-value flags from here on. */
  if (strcmp(flag, "--host") && strcmp(flag, "--admin-host") && strcmp(flag, "--admin-port") &&
      strcmp(flag, "--status") && strcmp(flag, "--list-limit") && strcmp(flag, "--cq-threads"))
    return fail(err, errlen, "unknown option '%s'", flag);
  v = next_value(inline_value, argc, argv, i);
  if (!v)
    return fail(err, errlen, "%s needs a value", flag);
  if (strcmp(flag, "--host") == 0 || strcmp(flag, "--admin-host") == 0) {
    if (!*v)
      return fail(err, errlen, "%s: empty address", flag);
    if (strcmp(flag, "--host") == 0)
      cfg->host = v;
    else
      cfg->admin_host = v;
    return 0;
  }
  if (strcmp(flag, "--admin-port") == 0)
    return parse_port(flag, v, &cfg->admin_port, err, errlen);
  if (strcmp(flag, "--status") == 0)
    return add_status(cfg, v, err, errlen);
  if (strcmp(flag, "--list-limit") == 0) {
    if (parse_int(v, 0, 1000000, &num) < 0)
      return fail(err, errlen, "--list-limit: '%s' is not a number (0-1000000)", v);
    cfg->list_limit = (size_t)num;
    return 0;
  }
  if (parse_int(v, 1, CONFIG_MAX_CQ_THREADS, &num) < 0)
    return fail(err, errlen, "--cq-threads: '%s' is not a number (1-%d)", v,
                CONFIG_MAX_CQ_THREADS);
  cfg->cq_threads = (int)num;
  return 0;
}

int config_parse(int argc, char **argv, config *cfg, char *err, size_t errlen) {
  const char *protocols[CONFIG_MAX_LISTENERS];
  size_t n_protocols = 0;
  int rc = CONFIG_RUN;

  set_defaults(cfg);
  err[0] = '\0';
  for (int i = 1; i < argc; i++) {
    rc = parse_one(cfg, argc, argv, &i, protocols, &n_protocols, err, errlen);
    if (rc != CONFIG_RUN)
      goto out;
  }
  rc = set_protocols(cfg, protocols, n_protocols, err, errlen);
out:
  if (rc < 0) {
    if (rc == -ENOMEM)
      snprintf(err, errlen, "out of memory");
    config_free(cfg);
  }
  return rc;
}

void config_free(config *cfg) {
  for (size_t i = 0; i < cfg->n_statuses; i++)
    free(cfg->statuses[i].name);
  free(cfg->statuses);
  cfg->statuses = NULL;
  cfg->n_statuses = 0;
}
