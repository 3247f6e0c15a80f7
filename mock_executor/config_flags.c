/* config_flags: the flag table, one apply function per flag, the YAML keys
 * and --help drawn from it. See config_flags.h; parsing is config.c. */
#define _GNU_SOURCE /* strndup */
#include "config_flags.h"
#include "config_names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "jina.h"
#include "number.h"
#include "timeline.h"

const char *const config_protocol_names[] = {"grpc", "http"};
const char *const config_engine_names[] = {"core", "wire"};
const char *const config_drain_names[] = {"end", "keep"};
const char *const config_profile_names[] = {"none", "jina"};

static int parse_port(const char *flag, const char *text, int *port, char *err, size_t errlen) {
  long v;

  if (number_parse(text, 0, 65535, &v) < 0)
    return fail(err, errlen, "%s: '%s' is not a port (0-65535)", flag, text);
  *port = (int)v;
  return 0;
}

int config_parse_enum(const char *flag, const char *text, const char *const *names, size_t n,
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
  if (config_parse_enum(flag, v, names, 2, &p, err, errlen) < 0)
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
  int p = CONFIG_PROFILE_NONE; /* set on success; gcc no longer sees that */

  (void)from_file;
  if (config_parse_enum("--profile", v, config_profile_names, 2, &p, err, errlen) < 0)
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

static int apply_busy_poll_us(config *cfg, const char *v, int from_file, char *err, size_t errlen) {
  long n;

  (void)from_file;
  if (number_parse(v, 0, CONFIG_MAX_BUSY_POLL_US, &n) < 0)
    return fail(err, errlen, "--busy-poll-us: '%s' is not a number of microseconds (0-%d)", v,
                CONFIG_MAX_BUSY_POLL_US);
  cfg->busy_poll_us = (int)n;
  return 0;
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
  if (config_parse_enum("--drain-watch", v, config_drain_names, 2, &mode, err, errlen) < 0)
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
const flag_def config_flags[] = {
    {"host", 0, ARG_ONE, CONFIG_SCALAR, apply_host, "ADDR",
     "bind address of the health listeners: a name or an IPv4 or IPv6 address (::1 or [::1]) "
     "(default " DEFAULT_HOST ")"},
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
    {"busy-poll-us", 0, ARG_ONE, CONFIG_SCALAR, apply_busy_poll_us, "N",
     "each serving thread polls N microseconds after its last event before it sleeps: a client "
     "with one call at a time finds it awake, for up to N us of CPU per burst (default 50, "
     "0-1000)"},
    {"config", 0, ARG_ONE, -1, apply_config, "FILE",
     "read settings from a YAML file (keys: the long flags, '-' as '_'); flags override it"},
    {"print-config", 0, ARG_NONE, -1, apply_print_config, NULL,
     "print the effective config as YAML and exit"},
    {"list-violations", 0, ARG_NONE, -1, apply_list_violations, NULL,
     "list the --violate knobs and exit"},
    {"help", 'h', ARG_NONE, -1, apply_help, NULL, "print this help and exit"},
    {"version", 'V', ARG_NONE, -1, apply_version, NULL, "print the version and exit"},
};
#define NFLAGS (sizeof(config_flags) / sizeof(config_flags[0]))
const size_t config_nflags = NFLAGS;

const config_key *config_yaml_keys(size_t *count) {
  static config_key keys[NFLAGS];
  static size_t n;

  if (!n) {
    for (size_t i = 0; i < NFLAGS; i++) {
      if (config_flags[i].yaml >= 0)
        keys[n++] = (config_key){config_flags[i].name, (config_kind)config_flags[i].yaml};
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
    const flag_def *f = &config_flags[i];

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
