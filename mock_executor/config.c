/* config: the flag table, parsing and --help. See config.h; --print-config
 * is config_print.c. */
#define _GNU_SOURCE /* strndup */
#include "config.h"
#include "config_names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "errbuf.h"
#include "jina.h"
#include "number.h"
#include "timeline.h"

#define DEFAULT_HOST "0.0.0.0"
#define DEFAULT_ADMIN_HOST "127.0.0.1"
#define DEFAULT_LIST_LIMIT 100 /* A90, grpc-go, grpc-node (H-LIST-3) */
#define DEFAULT_CQ_THREADS 4   /* 1 polling + 3 for Watch streams (health_server.c) */
#define DEFAULT_GRACE_MS 1000  /* Jina: server.stop(1.0) */
#define DEFAULT_JOURNAL 1000
#define DEFAULT_TIMEOUT_READY_MS 600000 /* jina/parsers/orchestrate/pod.py */

const char *const config_protocol_names[] = {"grpc", "http"};
const char *const config_engine_names[] = {"core", "wire"};
const char *const config_drain_names[] = {"end", "keep"};
const char *const config_profile_names[] = {"none", "jina"};

typedef enum flag_arg { ARG_NONE, ARG_ONE, ARG_MANY } flag_arg;

/* Applies one value (NULL for ARG_NONE). Returns 0, a CONFIG_* code > 0,
 * or a negative error with err filled. */
typedef int (*apply_fn)(config *cfg, const char *value, int from_file, char *err, size_t errlen);

typedef struct flag_def {
  const char *name; /* long name without "--" */
  char short_name;  /* 'h', 'V' or 0 */
  flag_arg arg;
  int yaml; /* a config_kind, or -1 when the flag is not a config key */
  apply_fn apply;
  const char *metavar;
  const char *help;
} flag_def;

/* Every error found here is a bad value: -EINVAL. */
#define fail(err, errlen, ...) errbuf_fail(err, errlen, -EINVAL, __VA_ARGS__)

static int parse_port(const char *flag, const char *text, int *port, char *err, size_t errlen) {
  long v;

  if (number_parse(text, 0, 65535, &v) < 0)
    return fail(err, errlen, "%s: '%s' is not a port (0-65535)", flag, text);
  *port = (int)v;
  return 0;
}

static int parse_enum(const char *flag, const char *text, const char *const *names, size_t n,
                      int *out, char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(text, names[i]) == 0) { /* jina writes GRPC, HTTP */
      *out = (int)i;
      return 0;
    }
  }
  return fail(err, errlen, "%s: '%s' is not one of %s%s%s", flag, text, names[0], n > 1 ? ", " : "",
              n > 1 ? names[1] : "");
}

static int parse_duration(const char *flag, const char *text, long *ms, char *err, size_t errlen) {
  if (duration_parse(text, ms) < 0)
    return fail(err, errlen, "%s: '%s' is not a duration (e.g. 500ms, 2s)", flag, text);
  return 0;
}

/* Splits NAME=VALUE at the last '=' (a name may hold '='); no '=' means
 * the name "". *name is malloc'd. */
static int split_named(const char *text, char **name, const char **value) {
  const char *eq = strrchr(text, '=');

  *value = eq ? eq + 1 : text;
  *name = eq ? strndup(text, (size_t)(eq - text)) : strdup("");
  return *name ? 0 : -ENOMEM;
}

/* A text value that may not be empty; `what` names it in the error. */
static int set_text(const char *flag, const char *what, const char **field, const char *v,
                    char *err, size_t errlen) {
  if (!*v)
    return fail(err, errlen, "%s: empty %s", flag, what);
  *field = v;
  return 0;
}

/* A whole number in [0, 1000000]. */
static int set_count(const char *flag, size_t *field, const char *v, char *err, size_t errlen) {
  long n;

  if (number_parse(v, 0, 1000000, &n) < 0)
    return fail(err, errlen, "%s: '%s' is not a number (0-1000000)", flag, v);
  *field = (size_t)n;
  return 0;
}

/* ---- apply functions, one per flag ----------------------------------- */

static int apply_host(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--host", "address", &cfg->host, v, err, errlen);
}

static int apply_admin_host(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--admin-host", "address", &cfg->admin_host, v, err, errlen);
}

/* A list flag given on the command line replaces the file's list. */
static void take_over_list(int *from_file_flag, size_t *count, int from_file) {
  if (*from_file_flag && !from_file) {
    *count = 0;
    *from_file_flag = 0;
  }
}

static int apply_port(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  int port = 0, rc;

  /* The file's protocols and engines were paired with the file's ports:
   * they all go. */
  if (cfg->ports_from_file && !from_file) {
    take_over_list(&cfg->protocols.from_file, &cfg->protocols.n, from_file);
    take_over_list(&cfg->engines.from_file, &cfg->engines.n, from_file);
  }
  take_over_list(&cfg->ports_from_file, &cfg->n_listeners, from_file);
  if (from_file)
    cfg->ports_from_file = 1;
  rc = parse_port("--port", v, &port, err, errlen);
  if (rc < 0)
    return rc;
  if (cfg->n_listeners == CONFIG_MAX_LISTENERS)
    return fail(err, errlen, "--port: more than %d ports", CONFIG_MAX_LISTENERS);
  for (size_t j = 0; j < cfg->n_listeners; j++) {
    if (port != 0 && cfg->listeners[j].port == port)
      return fail(err, errlen, "--port: %d given twice", port);
  }
  cfg->listeners[cfg->n_listeners++].port = port;
  return 0;
}

/* One value of a per-port flag, checked against its names. */
static int apply_per_port(const char *flag, const char *const *names, config_per_port *list,
                          const char *v, int from_file, char *err, size_t errlen) {
  int p;

  take_over_list(&list->from_file, &list->n, from_file);
  if (from_file)
    list->from_file = 1;
  if (parse_enum(flag, v, names, 2, &p, err, errlen) < 0)
    return -EINVAL;
  if (list->n == CONFIG_MAX_LISTENERS)
    return fail(err, errlen, "%s: more than %d values", flag, CONFIG_MAX_LISTENERS);
  list->values[list->n++] = v;
  return 0;
}

static int apply_protocol(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  return apply_per_port("--protocol", config_protocol_names, &cfg->protocols, v, from_file, err,
                        errlen);
}

static int apply_engine(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  cfg->engine_given = 1;
  return apply_per_port("--engine", config_engine_names, &cfg->engines, v, from_file, err, errlen);
}

static int apply_status(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  config_status *grown;
  const char *status_text;
  char *name;
  int status;

  (void)from_file;
  if (split_named(v, &name, &status_text) < 0)
    return -ENOMEM;
  if (wire_status_parse(status_text, &status) < 0) {
    free(name);
    return fail(err, errlen,
                "--status: '%s' is not a status (SERVING, NOT_SERVING, UNKNOWN, "
                "SERVICE_UNKNOWN or 0-3)",
                status_text);
  }
  grown = realloc(cfg->statuses, (cfg->n_statuses + 1) * sizeof(*grown));
  if (!grown) {
    free(name);
    return -ENOMEM;
  }
  cfg->statuses = grown;
  cfg->statuses[cfg->n_statuses++] = (config_status){name, status};
  return 0;
}

static int apply_timeline(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  char terr[TIMELINE_ERR_MAX];
  config_timeline *grown;
  timeline_spec spec;
  const char *text;
  char *name;
  int rc;

  (void)from_file;
  if (split_named(v, &name, &text) < 0)
    return -ENOMEM;
  /* Syntax now; --repeat's demands are checked once every flag is in.
   * -ENOMEM writes no reason: it is not a syntax error. */
  rc = timeline_parse(text, 0, &spec, terr, sizeof(terr));
  if (rc < 0) {
    free(name);
    return rc == -ENOMEM ? rc : fail(err, errlen, "--timeline: '%s': %s", text, terr);
  }
  timeline_spec_free(&spec);
  grown = realloc(cfg->timelines, (cfg->n_timelines + 1) * sizeof(*grown));
  if (!grown) {
    free(name);
    return -ENOMEM;
  }
  cfg->timelines = grown;
  cfg->timelines[cfg->n_timelines++] = (config_timeline){name, text};
  return 0;
}

static int apply_http_code(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  const char *eq = strchr(v, '=');
  char status_text[32];
  int status;
  long code;

  (void)from_file;
  if (!eq || (size_t)(eq - v) >= sizeof(status_text))
    return fail(err, errlen, "--http-code: '%s' is not STATUS=CODE (e.g. NOT_SERVING=500)", v);
  memcpy(status_text, v, (size_t)(eq - v));
  status_text[eq - v] = '\0';
  if (wire_status_parse(status_text, &status) < 0)
    return fail(err, errlen, "--http-code: '%s' is not a status", status_text);
  if (number_parse(eq + 1, 100, 599, &code) < 0)
    return fail(err, errlen, "--http-code: '%s' is not an HTTP code (100-599)", eq + 1);
  cfg->http_codes[status] = (int)code;
  return 0;
}

static int apply_violate(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  fault_knob knob;

  (void)from_file;
  if (faults_parse(v, &knob) < 0)
    return fail(err, errlen, "--violate: unknown violation '%s' (see --list-violations)", v);
  cfg->violate[knob] = 1;
  return 0;
}

static int apply_fault(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  char ierr[INJECT_ERR_MAX];
  inject_rule rule;
  const char **grown;

  (void)from_file;
  if (inject_parse(v, &rule, ierr, sizeof(ierr)) < 0)
    return fail(err, errlen, "--fault: '%s': %s", v, ierr);
  if (cfg->n_fault_rules == INJECT_MAX_RULES)
    return fail(err, errlen, "--fault: more than %d rules", INJECT_MAX_RULES);
  grown = realloc(cfg->fault_rules, (cfg->n_fault_rules + 1) * sizeof(*grown));
  if (!grown)
    return -ENOMEM;
  cfg->fault_rules = grown;
  cfg->fault_rules[cfg->n_fault_rules++] = v;
  return 0;
}

static int apply_fault_seed(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  char *end;

  (void)from_file;
  errno = 0;
  if (!(v[0] >= '0' && v[0] <= '9') || (cfg->fault_seed = strtoull(v, &end, 10), errno || *end))
    return fail(err, errlen, "--fault-seed: '%s' is not a whole number", v);
  return 0;
}

static int apply_profile(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  int p;

  (void)from_file;
  if (parse_enum("--profile", v, config_profile_names, 2, &p, err, errlen) < 0)
    return -EINVAL;
  cfg->profile = (config_profile)p;
  return 0;
}

static int apply_admin_port(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return parse_port("--admin-port", v, &cfg->admin_port, err, errlen);
}

static int apply_admin_token(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--admin-token", "token", &cfg->admin_token, v, err, errlen);
}

static int apply_ssl_certfile(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--ssl-certfile", "file name", &cfg->ssl_certfile, v, err, errlen);
}

static int apply_ssl_keyfile(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--ssl-keyfile", "file name", &cfg->ssl_keyfile, v, err, errlen);
}

static int apply_ssl_ca(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_text("--ssl-ca", "file name", &cfg->ssl_ca, v, err, errlen);
}

static int apply_list_limit(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_count("--list-limit", &cfg->list_limit, v, err, errlen);
}

static int apply_journal_size(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return set_count("--journal-size", &cfg->journal_size, v, err, errlen);
}

static int apply_cq_threads(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  long n;

  (void)from_file;
  if (number_parse(v, 1, CONFIG_MAX_CQ_THREADS, &n) < 0)
    return fail(err, errlen, "--cq-threads: '%s' is not a number (1-%d)", v, CONFIG_MAX_CQ_THREADS);
  cfg->cq_threads = (int)n;
  return 0;
}

static int apply_load_time(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return parse_duration("--load-time", v, &cfg->load_time_ms, err, errlen);
}

/* Jina's --timeout-ready: whole milliseconds, -1 for no limit. */
static int apply_timeout_ready(config *cfg, const char *v, int from_file, char *err,
                               size_t errlen) {
  (void)from_file;
  if (jina_ms_parse(v, 86400000, &cfg->timeout_ready_ms) < 0)
    return fail(err, errlen, "--timeout-ready: '%s' is not a number of milliseconds (-1: no limit)",
                v);
  return 0;
}

static int apply_ready_delay(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return parse_duration("--ready-delay", v, &cfg->ready_delay_ms, err, errlen);
}

static int apply_grace(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)from_file;
  return parse_duration("--grace", v, &cfg->grace_ms, err, errlen);
}

static int apply_drain_watch(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  int mode = CONFIG_DRAIN_END;

  (void)from_file;
  if (parse_enum("--drain-watch", v, config_drain_names, 2, &mode, err, errlen) < 0)
    return -EINVAL;
  cfg->drain_watch = (config_drain_watch)mode;
  return 0;
}

static int apply_repeat(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)v, (void)from_file, (void)err, (void)errlen;
  cfg->repeat = 1;
  return 0;
}

static int apply_admin_insecure(config *cfg, const char *v, int from_file, char *err,
                                size_t errlen) {
  (void)v, (void)from_file, (void)err, (void)errlen;
  cfg->admin_insecure = 1;
  return 0;
}

static int apply_print_config(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)v, (void)from_file, (void)err, (void)errlen;
  cfg->print_config = 1;
  return 0;
}

static int apply_config(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)cfg, (void)v, (void)from_file, (void)err, (void)errlen;
  return 0; /* loaded before every other flag (config_parse) */
}

static int apply_help(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)cfg, (void)v, (void)from_file, (void)err, (void)errlen;
  return CONFIG_HELP;
}

static int apply_version(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  (void)cfg, (void)v, (void)from_file, (void)err, (void)errlen;
  return CONFIG_VERSION;
}

static int apply_list_violations(config *cfg, const char *v, int from_file, char *err,
                                 size_t errlen) {
  (void)cfg, (void)v, (void)from_file, (void)err, (void)errlen;
  return CONFIG_LIST_VIOLATIONS;
}

/* The one table: parsing, --help, YAML keys, --print-config. */
static const flag_def flags[] = {
    {"host", 0, ARG_ONE, CONFIG_SCALAR, apply_host, "ADDR",
     "bind address of the health listeners (default " DEFAULT_HOST ")"},
    {"port", 0, ARG_MANY, CONFIG_LIST, apply_port, "N [N...]",
     "listener port(s), 0 picks a free port (default 0); repeatable"},
    {"port-expose", 0, ARG_MANY, -1, apply_port, "N [N...]", "jina executor's alias of --port"},
    {"port-in", 0, ARG_MANY, -1, apply_port, "N [N...]", "jina executor's alias of --port"},
    {"ports", 0, ARG_MANY, -1, apply_port, "N [N...]", "jina executor's alias of --port"},
    {"protocols", 0, ARG_MANY, -1, apply_protocol, "P [P...]",
     "jina executor's alias of --protocol"},
    {"protocol", 0, ARG_MANY, CONFIG_LIST, apply_protocol, "P [P...]",
     "grpc or http: one per port, or one for all (default grpc)"},
    {"engine", 0, ARG_MANY, CONFIG_LIST, apply_engine, "E [E...]",
     "gRPC over the C core (core) or libnghttp2 (wire, which can break the framing on "
     "purpose): one per port, or one for all (default core; wire when a knob or fault needs it)"},
    {"status", 0, ARG_ONE, CONFIG_MAP, apply_status, "[NAME=]STATUS",
     "set service NAME (default \"\", the overall health) to SERVING, NOT_SERVING, UNKNOWN, "
     "SERVICE_UNKNOWN or 0-3; repeatable. \"\" starts SERVING unless set here"},
    {"timeline", 0, ARG_ONE, CONFIG_MAP, apply_timeline, "[NAME=]SPEC",
     "schedule statuses, e.g. 'NOT_SERVING:2s,SERVING:10s,NOT_SERVING:1s'; repeatable"},
    {"repeat", 0, ARG_NONE, CONFIG_BOOL, apply_repeat, NULL, "timelines start over at the end"},
    {"load-time", 0, ARG_ONE, CONFIG_SCALAR, apply_load_time, "DURATION",
     "keep every port closed this long at start (an Executor loading)"},
    {"timeout-ready", 0, ARG_ONE, CONFIG_SCALAR, apply_timeout_ready, "MS",
     "jina's limit on loading: a --load-time longer than this fails the start (exit 1, Jina's "
     "message); default 600000, -1 no limit"},
    {"ready-delay", 0, ARG_ONE, CONFIG_SCALAR, apply_ready_delay, "DURATION",
     "ports open but every service NOT_SERVING this long at start"},
    {"grace", 0, ARG_ONE, CONFIG_SCALAR, apply_grace, "DURATION",
     "on SIGTERM, the longest wait for calls in flight (default 1s)"},
    {"drain-watch", 0, ARG_ONE, CONFIG_SCALAR, apply_drain_watch, "end|keep",
     "on SIGTERM, end Watch streams once told NOT_SERVING, or keep them open until the "
     "grace ends as grpc-go does (default end)"},
    {"list-limit", 0, ARG_ONE, CONFIG_SCALAR, apply_list_limit, "N",
     "List fails RESOURCE_EXHAUSTED above N services (default 100)"},
    {"http-code", 0, ARG_ONE, CONFIG_MAP, apply_http_code, "STATUS=CODE",
     "HTTP code answered for STATUS (default 200 for SERVING, 503 otherwise); repeatable"},
    {"profile", 0, ARG_ONE, CONFIG_SCALAR, apply_profile, "NAME",
     "jina: look like a Jina Executor (its services SERVING, reflection v1alpha listing "
     "them, FastAPI-shaped HTTP, Jina's flags); none (default): a generic health server"},
    {"journal-size", 0, ARG_ONE, CONFIG_SCALAR, apply_journal_size, "N",
     "requests kept in the journal (default 1000; 0 turns it off)"},
    {"ssl-certfile", 0, ARG_ONE, CONFIG_SCALAR, apply_ssl_certfile, "FILE",
     "serve TLS on every health listener (gRPC and HTTP) with this PEM certificate "
     "chain; needs --ssl-keyfile. The control API stays plain HTTP"},
    {"ssl-keyfile", 0, ARG_ONE, CONFIG_SCALAR, apply_ssl_keyfile, "FILE",
     "the PEM private key of --ssl-certfile (unencrypted); needs --ssl-certfile"},
    {"ssl-ca", 0, ARG_ONE, CONFIG_SCALAR, apply_ssl_ca, "FILE",
     "require client certificates signed by a CA in this PEM file (mutual TLS)"},
    {"admin-port", 0, ARG_ONE, CONFIG_SCALAR, apply_admin_port, "N",
     "serve the control API on N (0: a free port); off unless given"},
    {"admin-host", 0, ARG_ONE, CONFIG_SCALAR, apply_admin_host, "ADDR",
     "control API bind address (default " DEFAULT_ADMIN_HOST ")"},
    {"admin-token", 0, ARG_ONE, CONFIG_SCALAR, apply_admin_token, "TOKEN",
     "require 'Authorization: Bearer TOKEN' on the control API"},
    {"admin-insecure", 0, ARG_NONE, CONFIG_BOOL, apply_admin_insecure, NULL,
     "allow a control API on a non-loopback address without a token"},
    {"violate", 0, ARG_ONE, CONFIG_LIST, apply_violate, "KNOB",
     "switch on a deliberately broken behaviour; repeatable (see --list-violations)"},
    {"fault", 0, ARG_ONE, CONFIG_LIST, apply_fault, "RULE",
     "inject a fault for testing clients, e.g. 'method=Check,action=code:UNAVAILABLE,count=3'; "
     "repeatable (docs/faults.md)"},
    {"fault-seed", 0, ARG_ONE, CONFIG_SCALAR, apply_fault_seed, "N",
     "seed of the --fault probability and random-delay draws (default 0)"},
    {"cq-threads", 0, ARG_ONE, CONFIG_SCALAR, apply_cq_threads, "N",
     "gRPC completion queues, a thread each: one polls and answers unary calls, the others hold "
     "Watch streams (default 4)"},
    {"config", 0, ARG_ONE, -1, apply_config, "FILE",
     "read settings from a YAML file (keys: the long flags, '-' as '_'); flags override it"},
    {"print-config", 0, ARG_NONE, -1, apply_print_config, NULL,
     "print the effective config as YAML and exit"},
    {"list-violations", 0, ARG_NONE, -1, apply_list_violations, NULL,
     "list the --violate knobs and exit"},
    {"help", 'h', ARG_NONE, -1, apply_help, NULL, "print this help and exit"},
    {"version", 'V', ARG_NONE, -1, apply_version, NULL, "print the version and exit"},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

const config_key *config_yaml_keys(size_t *count) {
  static config_key keys[NFLAGS];
  static size_t n;

  if (!n) {
    for (size_t i = 0; i < NFLAGS; i++) {
      if (flags[i].yaml >= 0)
        keys[n++] = (config_key){flags[i].name, (config_kind)flags[i].yaml};
    }
  }
  *count = n;
  return keys;
}

void config_usage(FILE *out) {
  fputs(
      "Usage: mock-executor [OPTIONS]\n"
      "A configurable grpc.health.v1 server (Check, Watch, List, reflection) and\n"
      "Jina-style HTTP health endpoint, with a control API, timelines and faults.\n\n",
      out);
  for (size_t i = 0; i < NFLAGS; i++) {
    char lhs[64];
    const flag_def *f = &flags[i];

    snprintf(lhs, sizeof(lhs), "%s%c%s--%s%s%s", f->short_name ? "-" : "",
             f->short_name ? f->short_name : ' ', f->short_name ? ", " : "  ", f->name,
             f->metavar ? " " : "", f->metavar ? f->metavar : "");
    fprintf(out, "  %-28s %s\n", f->short_name ? lhs : lhs + 1, f->help);
  }
  fputs(
      "\nEach listener prints `LISTENING <protocol> <host>:<port>` on stdout once it\n"
      "accepts connections (protocol grpc, http or admin). SIGTERM/SIGINT: every\n"
      "service NOT_SERVING, watchers notified, calls drained within --grace, exit 0;\n"
      "a second signal exits at once.\n"
      "With --ssl-certfile/--ssl-keyfile every gRPC and HTTP health listener serves\n"
      "TLS only (no plaintext beside it); the control API (--admin-port) stays plain\n"
      "HTTP, meant for loopback (use --admin-token elsewhere).\n",
      out);
}

/* ---- parsing ---------------------------------------------------------- */

static const flag_def *find_flag(const char *arg, const char **inline_value, char *err,
                                 size_t errlen) {
  const char *eq;
  size_t len;

  *inline_value = NULL;
  if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
    for (size_t i = 0; i < NFLAGS; i++) {
      if (flags[i].short_name == arg[1])
        return &flags[i];
    }
  }
  if (strncmp(arg, "--", 2) != 0) {
    if (arg[0] == '-')
      fail(err, errlen, "unknown option '%s'", arg);
    else
      fail(err, errlen, "unexpected argument '%s'", arg);
    return NULL;
  }
  eq = strchr(arg, '=');
  len = eq ? (size_t)(eq - arg) - 2 : strlen(arg) - 2;
  for (size_t i = 0; i < NFLAGS; i++) {
    if (strlen(flags[i].name) == len && strncmp(arg + 2, flags[i].name, len) == 0) {
      if (eq)
        *inline_value = eq + 1;
      return &flags[i];
    }
  }
  fail(err, errlen, "unknown option '%.*s'", (int)(len + 2), arg);
  return NULL;
}

/* --profile jina: like jina's parse_known_args, an unknown --flag on the
 * command line and the values after it are set aside (main warns), not
 * refused. */
static void ignore_unknown(config *cfg, int argc, char **argv, int *i) {
  for (;;) {
    if (cfg->n_ignored < CONFIG_MAX_IGNORED)
      cfg->ignored[cfg->n_ignored] = argv[*i];
    cfg->n_ignored++;
    if (*i + 1 >= argc || argv[*i + 1][0] == '-')
      return;
    ++*i;
  }
}

/* Parses one flag at argv[*i] and its values, advancing *i. */
static int parse_one(config *cfg, int argc, char **argv, int *i, int from_file, char *err,
                     size_t errlen) {
  const char *inline_value;
  const flag_def *f = find_flag(argv[*i], &inline_value, err, errlen);
  int rc, n = 0;

  if (!f && cfg->profile == CONFIG_PROFILE_JINA && !from_file) {
    ignore_unknown(cfg, argc, argv, i);
    return 0;
  }
  if (!f)
    return -EINVAL;
  if (f->arg == ARG_NONE) {
    if (inline_value)
      return fail(err, errlen, "--%s takes no value", f->name);
    return f->apply(cfg, NULL, from_file, err, errlen);
  }
  if (inline_value)
    return f->apply(cfg, inline_value, from_file, err, errlen);
  /* ARG_MANY takes every following argument up to the next option. */
  while (*i + 1 < argc && (n == 0 || (f->arg == ARG_MANY && argv[*i + 1][0] != '-'))) {
    rc = f->apply(cfg, argv[++*i], from_file, err, errlen);
    if (rc != 0)
      return rc;
    n++;
  }
  if (n == 0)
    return fail(err, errlen, "--%s needs a value", f->name);
  return 0;
}

/* Parses args[0..argc); on an error in an argument that came from the
 * config file, prefixes the message with its FILE:LINE: key. */
static int parse_args(config *cfg, int argc, char **args, char **origins, char *err,
                      size_t errlen) {
  for (int i = 0; i < argc; i++) {
    int start = i;
    int rc = parse_one(cfg, argc, args, &i, origins != NULL, err, errlen);

    if (rc < 0 && rc != -ENOMEM && origins) {
      char msg[256];
      snprintf(msg, sizeof(msg), "%s", err);
      snprintf(err, errlen, "%s: %s", origins[i < argc ? i : start], msg);
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Pairs a per-port flag's values with the ports: one applies to every
 * port, else one each. values[k] receives each port's index in names. */
static int pair_per_port(const config *cfg, const char *flag, const char *const *names,
                         const config_per_port *list, int *values, char *err, size_t errlen) {
  size_t n = list->n;

  if (n == 0)
    return 0;
  if (n != 1 && n != cfg->n_listeners)
    return fail(err, errlen, "%s: %zu values for %zu ports (give one, or one per port)", flag, n,
                cfg->n_listeners);
  for (size_t k = 0; k < cfg->n_listeners; k++) /* validated when the flag was parsed */
    parse_enum(flag, list->values[n == 1 ? 0 : k], names, 2, &values[k], err, errlen);
  return 0;
}

static int pair_listeners(config *cfg, char *err, size_t errlen) {
  int protocols[CONFIG_MAX_LISTENERS] = {0}, engines[CONFIG_MAX_LISTENERS] = {0};

  if (pair_per_port(cfg, "--protocol", config_protocol_names, &cfg->protocols, protocols, err,
                    errlen) < 0 ||
      pair_per_port(cfg, "--engine", config_engine_names, &cfg->engines, engines, err, errlen) < 0)
    return -EINVAL;
  for (size_t k = 0; k < cfg->n_listeners; k++) {
    cfg->listeners[k].protocol = (config_protocol)protocols[k];
    cfg->listeners[k].engine = (config_engine)engines[k];
  }
  return 0;
}

/* Checks what only the whole command line can tell. */
static int check_whole(config *cfg, char *err, size_t errlen) {
  char terr[TIMELINE_ERR_MAX];
  timeline_spec spec;
  int rc;

  if (cfg->n_listeners == 0)
    cfg->n_listeners = 1; /* port 0 */
  /* Jina: "you can't pass a ssl_keyfile without a ssl_certfile and vice versa" */
  if (!cfg->ssl_certfile != !cfg->ssl_keyfile)
    return fail(err, errlen, "--ssl-certfile and --ssl-keyfile go together: give both or neither");
  if (cfg->ssl_ca && !cfg->ssl_certfile)
    return fail(err, errlen, "--ssl-ca needs --ssl-certfile and --ssl-keyfile");
  for (size_t i = 0; i < cfg->n_timelines; i++) {
    rc = timeline_parse(cfg->timelines[i].spec, cfg->repeat, &spec, terr, sizeof(terr));
    if (rc == -ENOMEM)
      return rc;
    if (rc < 0)
      return fail(err, errlen, "--timeline: '%s': %s", cfg->timelines[i].spec, terr);
    timeline_spec_free(&spec);
  }
  return pair_listeners(cfg, err, errlen);
}

static void set_defaults(config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->host = DEFAULT_HOST;
  cfg->admin_host = DEFAULT_ADMIN_HOST;
  cfg->admin_port = -1;
  cfg->list_limit = DEFAULT_LIST_LIMIT;
  cfg->cq_threads = DEFAULT_CQ_THREADS;
  cfg->grace_ms = DEFAULT_GRACE_MS;
  cfg->journal_size = DEFAULT_JOURNAL;
  cfg->timeout_ready_ms = DEFAULT_TIMEOUT_READY_MS;
}

/* The value of the last `flag` ("--config") on the command line, given as
 * "--config V" or "--config=V", or NULL: what must be known before the
 * other flags are parsed. */
static const char *last_value(int argc, char **argv, const char *flag) {
  size_t len = strlen(flag);
  const char *value = NULL;

  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], flag, len) == 0 && argv[i][len] == '=')
      value = argv[i] + len + 1;
    else if (strcmp(argv[i], flag) == 0 && i + 1 < argc)
      value = argv[++i];
  }
  return value;
}

int config_parse(int argc, char **argv, config *cfg, char *err, size_t errlen) {
  size_t nkeys;
  const config_key *keys = config_yaml_keys(&nkeys);
  const char *profile;
  char yerr[CONFIG_ERR_MAX];
  int rc;

  set_defaults(cfg);
  err[0] = '\0';
  cfg->config_file = last_value(argc, argv, "--config");
  if (cfg->config_file) {
    rc = config_yaml_load(cfg->config_file, keys, nkeys, &cfg->file_args, yerr, sizeof(yerr));
    if (rc < 0) {
      snprintf(err, errlen, "--config: %s", yerr);
      if (rc != -ENOMEM) /* -ENOENT, -EACCES: a bad flag value all the same */
        rc = -EINVAL;
      goto out;
    }
    rc = parse_args(cfg, (int)cfg->file_args.argc, cfg->file_args.argv, cfg->file_args.origin, err,
                    errlen);
    if (rc > 0)
      rc = fail(err, errlen, "--config: %s may not be set in a config file", "that flag");
    if (rc != 0)
      goto out;
  }
  /* Unknown flags before --profile jina are set aside too (checked again
   * when --profile is parsed). */
  profile = last_value(argc, argv, "--profile");
  if (profile && strcasecmp(profile, "jina") == 0)
    cfg->profile = CONFIG_PROFILE_JINA;
  rc = parse_args(cfg, argc - 1, argv + 1, NULL, err, errlen);
  if (rc == 0)
    rc = check_whole(cfg, err, errlen);
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
  for (size_t i = 0; i < cfg->n_timelines; i++)
    free(cfg->timelines[i].name);
  free(cfg->timelines);
  cfg->timelines = NULL;
  cfg->n_timelines = 0;
  free(cfg->fault_rules);
  cfg->fault_rules = NULL;
  cfg->n_fault_rules = 0;
  config_args_free(&cfg->file_args);
}
