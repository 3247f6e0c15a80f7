/* ping: a drop-in for `jina ping`. See ping.h. */
#include "ping.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grpc_client.h"
#include "http_client.h"
#include "jina.h"
#include "jina/status.pb-c.h"
#include "monotime.h"
#include "number.h"
#include "wire.h"

#define PROG "health-conformance ping"
#define DEFAULT_TIMEOUT_MS 3000
#define FOREVER_MS (24L * 3600 * 1000) /* --timeout -1 */
#define PAUSE_MS 1000                  /* jina/checker.py: time.sleep(1) */
#define DRY_RUN "/jina.JinaGatewayDryRunRPC/dry_run"
#define DETAIL_MAX 320

typedef enum ping_target { TARGET_EXECUTOR, TARGET_GATEWAY, TARGET_FLOW } ping_target;
typedef enum ping_scheme { SCHEME_GRPC, SCHEME_HTTP, SCHEME_WEBSOCKET } ping_scheme;

static const char *const target_names[] = {"executor", "gateway", "flow"};

typedef struct ping_options {
  ping_target target;
  ping_scheme scheme;
  const char *address; /* HOST:PORT, the scheme cut off */
  int timeout_ms;
  long attempts, min_successful;
  int help;
} ping_options;

static void usage(FILE *out) {
  fputs("Usage: " PROG
        " executor|gateway|flow HOST:PORT [--timeout MS] [--attempts N]\n"
        "                               [--min-successful-attempts M]\n"
        "A drop-in for `jina ping`: exit 0 when at least M of N readiness checks\n"
        "succeeded, 1 otherwise (2: usage error).\n\n"
        "  executor HOST:PORT      gRPC Check of '' must answer SERVING (one retry on\n"
        "                          UNAVAILABLE)\n"
        "  gateway [SCHEME://]HOST:PORT   grpc:// (default) as executor; http:// or\n"
        "                          websocket:// GET / must answer 200\n"
        "  flow [SCHEME://]HOST:PORT      the Gateway's dry run (Jina-specific):\n"
        "                          jina.JinaGatewayDryRunRPC/dry_run, or GET /dry_run\n"
        "  --timeout MS            each check's limit (default 3000; -1: none)\n"
        "  --attempts N            checks to make, 1 s apart (default 1)\n"
        "  --min-successful-attempts M   successes needed (default 1)\n"
        "Unknown flags are ignored with a warning, as jina does.\n",
        out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, PROG ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '" PROG " --help'.\n");
  return -EINVAL;
}

/* jina's parse_host_scheme: grpc:// (or none), http://, websocket:// or ws://. */
static int split_scheme(const char *host, ping_options *o) {
  static const struct {
    const char *prefix;
    ping_scheme scheme;
  } schemes[] = {{"grpc://", SCHEME_GRPC},
                 {"http://", SCHEME_HTTP},
                 {"websocket://", SCHEME_WEBSOCKET},
                 {"ws://", SCHEME_WEBSOCKET}};
  const char *sep = strstr(host, "://");

  o->scheme = SCHEME_GRPC;
  o->address = host;
  if (!sep)
    return 0;
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t len = strlen(schemes[i].prefix);
    if (strncmp(host, schemes[i].prefix, len) == 0) {
      o->scheme = schemes[i].scheme;
      o->address = host + len;
      return 0;
    }
  }
  return usage_error("'%s': the scheme is not one of grpc://, http://, websocket://, ws://", host);
}

/* One flag with its value (inline after '=' or the next argument). */
static int parse_flag(int argc, char **argv, int *i, ping_options *o) {
  static const char *const names[] = {"--timeout", "--attempts", "--min-successful-attempts"};
  const char *arg = argv[*i], *value = NULL;
  size_t k, len;
  long v;

  for (k = 0; k < 3; k++) {
    len = strlen(names[k]);
    if (strncmp(arg, names[k], len) == 0 && (arg[len] == '\0' || arg[len] == '='))
      break;
  }
  if (k == 3) { /* parse_known_args: warned about, ignored */
    fprintf(stderr, PROG ": ignored unknown argument '%s'\n", arg);
    return 0;
  }
  if (arg[len] == '=')
    value = arg + len + 1;
  else if (*i + 1 < argc)
    value = argv[++*i];
  else
    return usage_error("%s needs a value", names[k]);
  if (k == 0) {
    if (jina_ms_parse(value, FOREVER_MS, &v) < 0)
      return usage_error("--timeout: '%s' is not a number of milliseconds (-1: no limit)", value);
    o->timeout_ms = v < 0 ? (int)FOREVER_MS : (int)v;
  } else if (number_parse(value, k == 1 ? 1 : 0, 1000000, &v) < 0) {
    return usage_error(k == 1 ? "--attempts: '%s' is not a number from 1"
                              : "--min-successful-attempts: '%s' is not a number from 0",
                       value);
  } else {
    *(k == 1 ? &o->attempts : &o->min_successful) = v;
  }
  return 0;
}

static int parse_target(const char *text, ping_options *o) {
  for (size_t t = 0; t < 3; t++) {
    if (strcmp(text, target_names[t]) == 0) {
      o->target = (ping_target)t;
      return 0;
    }
  }
  return usage_error("'%s' is not a target: executor, gateway or flow", text);
}

static int parse(int argc, char **argv, ping_options *o) {
  const char *positional[2] = {NULL, NULL};
  int n = 0, rc;

  *o = (ping_options){.timeout_ms = DEFAULT_TIMEOUT_MS, .attempts = 1, .min_successful = 1};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      o->help = 1;
      return 0;
    }
    /* "--timeout 9000" as one argument (jina's k8s template) is not the
     * flag for argparse either: ignored with the unknown ones. */
    if (argv[i][0] == '-' && argv[i][1] && !strchr(argv[i], ' ')) {
      rc = parse_flag(argc, argv, &i, o);
      if (rc < 0)
        return rc;
    } else if (n < 2) {
      positional[n++] = argv[i];
    } else {
      fprintf(stderr, PROG ": ignored unknown argument '%s'\n", argv[i]);
    }
  }
  if (n < 2)
    return usage_error("%s", n == 0 ? "give the target (executor, gateway or flow) and HOST:PORT"
                                    : "give HOST:PORT after the target");
  rc = parse_target(positional[0], o);
  if (rc == 0)
    rc = split_scheme(positional[1], o);
  if (rc == 0 && !o->address[0])
    rc = usage_error("'%s': no HOST:PORT", positional[1]);
  return rc;
}

/* Jina's send_health_check_sync: Check(""), once more only after
 * UNAVAILABLE; GRPCServer.is_ready: ready iff SERVING, any error not. */
static int grpc_ready(const ping_options *o, gclient *gc, char *detail, size_t size) {
  char seen[GCLIENT_DETAILS_MAX + 64];
  gclient_reply r;
  int status = -1, ready;

  for (int i = 0;; i++) {
    gclient_check(gc, "", o->timeout_ms, &r);
    if (r.code != WIRE_CODE_UNAVAILABLE || i == 1)
      break;
    gclient_reply_free(&r);
  }
  ready = gclient_reply_single_status(&r, &status) == 0 && status == WIRE_SERVING;
  gclient_reply_describe(&r, seen, sizeof(seen));
  snprintf(detail, size, "Check '': %.200s", seen);
  gclient_reply_free(&r);
  return ready;
}

/* Client.is_flow_ready over gRPC: dry_run(Empty) answered with code SUCCESS. */
static int grpc_dry_run(const ping_options *o, gclient *gc, char *detail, size_t size) {
  char seen[GCLIENT_DETAILS_MAX + 64];
  Jina__StatusProto *sp = NULL;
  gclient_reply r;
  int ready = 0;

  gclient_call(gc, DRY_RUN, (const uint8_t *)"", 0, o->timeout_ms, &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  if (r.code == WIRE_CODE_UNIMPLEMENTED)
    snprintf(detail, size,
             "the target does not serve " DRY_RUN
             " (UNIMPLEMENTED): the dry run is "
             "Jina-specific, served by a Flow's Gateway; check an Executor with `ping executor`");
  else if (r.code != WIRE_CODE_OK || r.msg_count != 1)
    snprintf(detail, size, "dry_run: %.200s", seen);
  else if (!(sp = jina__status_proto__unpack(NULL, r.lens[0], r.msgs[0])))
    snprintf(detail, size, "dry_run: the reply is not a jina.StatusProto");
  else if (!(ready = sp->code == JINA__STATUS_PROTO__STATUS_CODE__SUCCESS))
    snprintf(detail, size, "dry_run: code %d: %.200s", sp->code,
             sp->description ? sp->description : "");
  if (sp)
    jina__status_proto__free_unpacked(sp, NULL);
  gclient_reply_free(&r);
  return ready;
}

/* The Gateway's "code" of GET /dry_run: 0 (SUCCESS) or "SUCCESS". */
static int dry_run_body_ok(const char *body) {
  json_t *doc = json_loads(body, 0, NULL), *code = json_object_get(doc, "code");
  int ok = (json_is_integer(code) && json_integer_value(code) == 0) ||
           (json_is_string(code) && strcmp(json_string_value(code), "SUCCESS") == 0);

  json_decref(doc);
  return ok;
}

/* GatewayRuntime.is_ready over HTTP: GET / answered exactly 200;
 * is_flow_ready: GET /dry_run answered 200 with code SUCCESS. */
static int http_ready(const ping_options *o, const char *path, char *detail, size_t size) {
  char seen[HCLIENT_TEXT_MAX + 128];
  hclient_result res;
  hclient *h = NULL;
  int rc, ready;

  if (hclient_new(&h) < 0) {
    snprintf(detail, size, "out of memory");
    return 0;
  }
  rc = hclient_request(h, o->address, "GET", path, o->timeout_ms, o->timeout_ms, &res);
  hclient_free(h);
  if (rc < 0) {
    snprintf(detail, size, "GET %s: %s", path, res.error);
    return 0;
  }
  ready = res.http_status == 200 && (o->target != TARGET_FLOW || dry_run_body_ok(res.body));
  hclient_describe(&res, seen, sizeof(seen));
  snprintf(detail, size, "GET %s: %.200s", path, seen);
  return ready;
}

static int attempt(const ping_options *o, char *detail, size_t size) {
  gclient *gc = NULL;
  int ready;

  if (o->target != TARGET_EXECUTOR && o->scheme != SCHEME_GRPC) {
    if (o->target == TARGET_FLOW && o->scheme == SCHEME_WEBSOCKET) {
      snprintf(detail, size, "the websocket dry run is not supported here; use http://");
      return 0;
    }
    return http_ready(o, o->target == TARGET_FLOW ? "/dry_run" : "/", detail, size);
  }
  if (gclient_open(o->address, &gc) < 0) {
    snprintf(detail, size, "cannot create a channel to %s", o->address);
    return 0;
  }
  ready = o->target == TARGET_FLOW ? grpc_dry_run(o, gc, detail, size)
                                   : grpc_ready(o, gc, detail, size);
  gclient_close(gc);
  return ready;
}

int ping_main(int argc, char **argv) {
  char detail[DETAIL_MAX];
  ping_options o;
  long ok = 0;

  if (parse(argc, argv, &o) < 0)
    return 2;
  if (o.help) {
    usage(stdout);
    return 0;
  }
  for (long j = 0; j < o.attempts; j++) {
    if (j > 0)
      monotime_sleep_ms(PAUSE_MS);
    if (attempt(&o, detail, sizeof(detail)))
      ok++;
    else
      fprintf(stderr, PROG ": %s %s not responding, attempt (%ld/%ld): %s\n",
              target_names[o.target], o.address, j + 1, o.attempts, detail);
  }
  if (ok >= o.min_successful) {
    printf("readiness check succeeded %ld times!!!\n", ok);
    return 0;
  }
  fprintf(stderr, PROG ": readiness check failed %ld times!!!\n", o.attempts - ok);
  return 1;
}
