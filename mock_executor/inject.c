/* inject: fault injection rules; see inject.h.
 *
 * THREADS: any thread. in->mu guards the rules and the PRNG; it is a leaf
 * (nothing else is locked under it, no callback runs under it). The rule
 * count is also kept in an atomic so that inject_match() takes no lock
 * when there are no rules (the hot path of every call). */
#include "inject.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "errbuf.h"
#include "number.h"
#include "wire.h"

struct inject {
  pthread_mutex_t mu; /* guards everything below */
  uint64_t prng;
  inject_rule rules[INJECT_MAX_RULES];
  /* Written under mu; inject_match reads it first without, so that every
   * Check, Watch and GET / of a mock with no rules skips the lock. */
  atomic_size_t n;
};

/* Every error found here is a bad value: -EINVAL. */
#define fail(err, errlen, ...) errbuf_fail(err, errlen, -EINVAL, __VA_ARGS__)

/* ---- parsing ---------------------------------------------------------- */

static const char *const grpc_methods[] = {"Check", "Watch", "List", "*"};

static int copy_text(const char *key, const char *v, char *out, char *err, size_t errlen) {
  size_t len = strlen(v);

  if (len >= INJECT_TEXT_MAX)
    return fail(err, errlen, "%s: longer than %d bytes", key, INJECT_TEXT_MAX - 1);
  memcpy(out, v, len);
  out[len] = '\0';
  return 0;
}

static int parse_method(inject_rule *r, const char *v, char *err, size_t errlen) {
  for (size_t i = 0; i < sizeof(grpc_methods) / sizeof(grpc_methods[0]); i++) {
    if (strcmp(v, grpc_methods[i]) == 0) {
      r->protocol = INJECT_GRPC;
      return copy_text("method", v, r->target, err, errlen);
    }
  }
  return fail(err, errlen, "method: '%s' is not one of Check, Watch, List, *", v);
}

static int parse_path(inject_rule *r, const char *v, char *err, size_t errlen) {
  if (v[0] != '/' && strcmp(v, "*") != 0)
    return fail(err, errlen, "path: '%s' does not start with '/' (or is '*')", v);
  r->protocol = INJECT_HTTP;
  return copy_text("path", v, r->target, err, errlen);
}

/* RFC 9113 §7 error codes, by name (index = code). */
static const char *const h2_codes[] = {"NO_ERROR",
                                       "PROTOCOL_ERROR",
                                       "INTERNAL_ERROR",
                                       "FLOW_CONTROL_ERROR",
                                       "SETTINGS_TIMEOUT",
                                       "STREAM_CLOSED",
                                       "FRAME_SIZE_ERROR",
                                       "REFUSED_STREAM",
                                       "CANCEL",
                                       "COMPRESSION_ERROR",
                                       "CONNECT_ERROR",
                                       "ENHANCE_YOUR_CALM",
                                       "INADEQUATE_SECURITY",
                                       "HTTP_1_1_REQUIRED"};
static const char *const whens[] = {"before", "after-headers", "after-message"};

static int parse_h2_code(const char *v, size_t len, int *code) {
  char num[16];
  long n;

  for (size_t i = 0; i < sizeof(h2_codes) / sizeof(h2_codes[0]); i++) {
    if (strlen(h2_codes[i]) == len && strncmp(v, h2_codes[i], len) == 0) {
      *code = (int)i;
      return 0;
    }
  }
  if (len == 0 || len >= sizeof(num))
    return -EINVAL;
  memcpy(num, v, len);
  num[len] = '\0';
  if (number_parse(num, 0, 0xffffffffL, &n) < 0)
    return -EINVAL;
  *code = (int)n;
  return 0;
}

/* goaway[:E] and rst[:E[/W]] */
static int parse_h2_action(inject_rule *r, int goaway, const char *arg, const char *v, char *err,
                           size_t errlen) {
  const char *slash = arg ? strchr(arg, '/') : NULL;
  size_t len = arg ? (slash ? (size_t)(slash - arg) : strlen(arg)) : 0;

  r->action = goaway ? INJECT_GOAWAY : INJECT_RST;
  r->code = goaway ? 0 : 8; /* NO_ERROR, CANCEL */
  if (arg && parse_h2_code(arg, len, &r->code) < 0)
    return fail(err, errlen,
                "action: '%s': '%.*s' is not an HTTP/2 error code (a name such as "
                "ENHANCE_YOUR_CALM, or a number)",
                v, (int)len, arg);
  if (slash && goaway)
    return fail(err, errlen, "action: '%s': goaway takes a code only", v);
  if (slash) {
    for (size_t i = 0; i < sizeof(whens) / sizeof(whens[0]); i++) {
      if (strcmp(slash + 1, whens[i]) == 0) {
        r->when = (inject_when)i;
        return 0;
      }
    }
    return fail(err, errlen, "action: '%s': '%s' is not before, after-headers or after-message", v,
                slash + 1);
  }
  return 0;
}

int inject_action_is_wire(const inject_rule *rule) {
  if (rule->protocol != INJECT_GRPC)
    return 0;
  return rule->action >= INJECT_GOAWAY || rule->action == INJECT_CLOSE ||
         rule->action == INJECT_RESET || rule->action == INJECT_HTTP_STATUS ||
         rule->action == INJECT_SLOW_BODY;
}

/* action=NAME[:ARG] */
static int parse_action(inject_rule *r, const char *v, char *err, size_t errlen) {
  const char *colon = strchr(v, ':');
  const char *arg = colon ? colon + 1 : NULL;
  size_t len = colon ? (size_t)(colon - v) : strlen(v);
  long n;

#define IS(name) (len == strlen(name) && strncmp(v, name, len) == 0)
  if (IS("delay") || IS("random-delay") || IS("slow-body")) {
    r->action = IS("delay")          ? INJECT_DELAY
                : IS("random-delay") ? INJECT_RANDOM_DELAY
                                     : INJECT_SLOW_BODY;
    if (!arg || duration_parse(arg, &r->delay_ms) < 0)
      return fail(err, errlen, "action: '%s' needs a duration (e.g. %.*s:200ms)", v, (int)len, v);
    return 0;
  }
  if (IS("code")) {
    r->action = INJECT_CODE;
    if (!arg || wire_code_parse(arg, &r->code) < 0 || r->code == WIRE_CODE_OK)
      return fail(err, errlen,
                  "action: '%s' needs a gRPC error code (e.g. code:UNAVAILABLE or code:14)", v);
    return 0;
  }
  if (IS("http-status")) {
    r->action = INJECT_HTTP_STATUS;
    if (!arg || number_parse(arg, 100, 599, &n) < 0)
      return fail(err, errlen, "action: '%s' needs an HTTP code 100-599 (e.g. http-status:500)", v);
    r->code = (int)n;
    return 0;
  }
  if (IS("goaway") || IS("rst"))
    return parse_h2_action(r, IS("goaway"), arg, v, err, errlen);
  if (IS("no-trailers") || IS("status-in-headers") || IS("compressed-flag")) {
    r->action = IS("no-trailers")         ? INJECT_NO_TRAILERS
                : IS("status-in-headers") ? INJECT_STATUS_IN_HEADERS
                                          : INJECT_COMPRESSED_FLAG;
    if (arg)
      return fail(err, errlen, "action: '%.*s' takes no argument", (int)len, v);
    return 0;
  }
  if (IS("slow")) {
    r->action = INJECT_SLOW;
    if (!arg || duration_parse(arg, &r->delay_ms) < 0 || r->delay_ms <= 0)
      return fail(err, errlen, "action: '%s' needs a duration (e.g. slow:2s)", v);
    return 0;
  }
  if (IS("hang") || IS("reset") || IS("close")) {
    r->action = IS("hang") ? INJECT_HANG : IS("reset") ? INJECT_RESET : INJECT_CLOSE;
    if (arg)
      return fail(err, errlen, "action: '%.*s' takes no argument", (int)len, v);
    return 0;
  }
#undef IS
  return fail(err, errlen,
              "action: '%s' is not one of delay:D, random-delay:D, hang, code:C, "
              "http-status:N, close, reset, slow-body:D, goaway[:E], rst[:E[/W]], "
              "no-trailers, status-in-headers, compressed-flag, slow:D",
              v);
}

static int parse_probability(inject_rule *r, const char *v, char *err, size_t errlen) {
  char *end;
  double p;

  errno = 0;
  p = strtod(v, &end);
  if (!*v || *end || errno || !(p > 0.0 && p <= 1.0))
    return fail(err, errlen, "probability: '%s' is not a number in (0, 1]", v);
  r->probability = p;
  return 0;
}

static int parse_count(inject_rule *r, const char *v, char *err, size_t errlen) {
  if (number_parse(v, 1, 1000000000L, &r->count) < 0)
    return fail(err, errlen, "count: '%s' is not a whole number of calls (1 or more)", v);
  return 0;
}

static const char *const action_names[] = {[INJECT_DELAY] = "delay",
                                           [INJECT_RANDOM_DELAY] = "random-delay",
                                           [INJECT_HANG] = "hang",
                                           [INJECT_CODE] = "code",
                                           [INJECT_RESET] = "reset",
                                           [INJECT_HTTP_STATUS] = "http-status",
                                           [INJECT_CLOSE] = "close",
                                           [INJECT_SLOW_BODY] = "slow-body",
                                           [INJECT_GOAWAY] = "goaway",
                                           [INJECT_RST] = "rst",
                                           [INJECT_NO_TRAILERS] = "no-trailers",
                                           [INJECT_STATUS_IN_HEADERS] = "status-in-headers",
                                           [INJECT_COMPRESSED_FLAG] = "compressed-flag",
                                           [INJECT_SLOW] = "slow"};

/* Checks the parts together: one target, an action that fits it. */
static int check_rule(const inject_rule *r, int has_target, int has_action, int has_message,
                      char *err, size_t errlen) {
  int grpc_only;

  if (!has_target)
    return fail(err, errlen, "missing method= (gRPC) or path= (HTTP)");
  if (!has_action)
    return fail(err, errlen, "missing action=");
  grpc_only = r->action == INJECT_HANG || r->action == INJECT_CODE || r->action >= INJECT_GOAWAY;
  if (r->protocol == INJECT_HTTP && grpc_only)
    return fail(err, errlen,
                "action: '%s' is for gRPC rules (method=), not path=", action_names[r->action]);
  if (has_message && r->action != INJECT_CODE)
    return fail(err, errlen, "message: only an action=code:C rule takes one");
  return 0;
}

int inject_parse(const char *text, inject_rule *out, char *err, size_t errlen) {
  inject_rule r;
  int has_target = 0, has_action = 0, has_message = 0, rc = 0;
  const char *p = text;
  char part[INJECT_TEXT_MAX + 32];

  memset(&r, 0, sizeof(r));
  r.any_service = 1;
  r.probability = 1.0;
  r.count = -1;
  if (!text || !*text)
    return fail(err, errlen, "empty rule (e.g. method=Check,action=code:UNAVAILABLE,count=3)");
  if (strlen(text) >= sizeof(r.text))
    return fail(err, errlen, "rule longer than %zu bytes", sizeof(r.text) - 1);
  snprintf(r.text, sizeof(r.text), "%s", text);
  while (rc == 0 && *p) {
    const char *comma = strncmp(p, "message=", 8) == 0 ? NULL : strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char *eq, *v;

    if (len >= sizeof(part))
      return fail(err, errlen, "part '%.40s...' is too long", p);
    memcpy(part, p, len);
    part[len] = '\0';
    p = comma ? comma + 1 : p + len;
    eq = strchr(part, '=');
    if (!eq)
      return fail(err, errlen, "part '%s' is not KEY=VALUE", part);
    *eq = '\0';
    v = eq + 1;
    if ((strcmp(part, "method") == 0 || strcmp(part, "path") == 0) && has_target)
      return fail(err, errlen, "%s: a rule takes one method= or path=", part);
    if (strcmp(part, "method") == 0) {
      rc = parse_method(&r, v, err, errlen);
      has_target = 1;
    } else if (strcmp(part, "path") == 0) {
      rc = parse_path(&r, v, err, errlen);
      has_target = 1;
    } else if (strcmp(part, "service") == 0) {
      r.any_service = 0;
      rc = copy_text("service", v, r.service, err, errlen);
    } else if (strcmp(part, "action") == 0) {
      rc = parse_action(&r, v, err, errlen);
      has_action = 1;
    } else if (strcmp(part, "probability") == 0) {
      rc = parse_probability(&r, v, err, errlen);
    } else if (strcmp(part, "count") == 0) {
      rc = parse_count(&r, v, err, errlen);
    } else if (strcmp(part, "message") == 0) {
      rc = copy_text("message", v, r.message, err, errlen);
      has_message = 1;
    } else {
      return fail(err, errlen,
                  "unknown key '%s' (method, path, service, action, probability, count, "
                  "message)",
                  part);
    }
  }
  if (rc == 0)
    rc = check_rule(&r, has_target, has_action, has_message, err, errlen);
  if (rc == 0)
    *out = r;
  return rc;
}

/* ---- the set ---------------------------------------------------------- */

int inject_new(uint64_t seed, inject **out) {
  inject *in = calloc(1, sizeof(*in));

  if (!in)
    return -ENOMEM;
  pthread_mutex_init(&in->mu, NULL);
  in->prng = seed;
  *out = in;
  return 0;
}

void inject_free(inject *in) {
  if (!in)
    return;
  pthread_mutex_destroy(&in->mu);
  free(in);
}

void inject_seed(inject *in, uint64_t seed) {
  pthread_mutex_lock(&in->mu);
  in->prng = seed;
  pthread_mutex_unlock(&in->mu);
}

int inject_add(inject *in, const inject_rule *rule) {
  int rc = 0;

  pthread_mutex_lock(&in->mu);
  if (in->n == INJECT_MAX_RULES)
    rc = -ENOSPC;
  else
    in->rules[in->n++] = *rule;
  pthread_mutex_unlock(&in->mu);
  return rc;
}

void inject_clear(inject *in) {
  pthread_mutex_lock(&in->mu);
  in->n = 0;
  pthread_mutex_unlock(&in->mu);
}

/* splitmix64: tiny, and the same sequence for the same seed everywhere. */
static uint64_t next_random(inject *in) {
  uint64_t z = (in->prng += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double next_unit(inject *in) {
  return (double)(next_random(in) >> 11) / (double)(1ULL << 53);
}

static int rule_matches(const inject_rule *r, inject_protocol protocol, const char *target,
                        const char *service) {
  if (r->protocol != protocol || r->count == 0)
    return 0;
  if (strcmp(r->target, "*") != 0 && strcmp(r->target, target) != 0)
    return 0;
  return r->any_service || strcmp(r->service, service ? service : "") == 0;
}

int inject_match(inject *in, inject_protocol protocol, const char *target, const char *service,
                 inject_hit *hit) {
  int found = 0;

  if (!in || atomic_load_explicit(&in->n, memory_order_relaxed) == 0)
    return 0;
  pthread_mutex_lock(&in->mu);
  for (size_t i = 0; i < in->n && !found; i++) {
    inject_rule *r = &in->rules[i];

    if (!rule_matches(r, protocol, target, service))
      continue;
    /* A roll only for a real chance, so probability-1 rules leave the
     * sequence of draws alone. */
    if (r->probability < 1.0 && next_unit(in) >= r->probability)
      continue;
    found = 1;
    if (r->count > 0)
      r->count--;
    r->hits++;
    hit->action = r->action;
    hit->code = r->code;
    hit->delay_ms = r->delay_ms;
    hit->when = r->when;
    if (r->action == INJECT_RANDOM_DELAY)
      hit->delay_ms = (long)(next_unit(in) * (double)(r->delay_ms + 1));
    memcpy(hit->message, r->message, sizeof(hit->message));
  }
  pthread_mutex_unlock(&in->mu);
  return found;
}

int inject_snapshot(inject *in, inject_rule **out, size_t *n) {
  int rc = 0;

  pthread_mutex_lock(&in->mu);
  *n = in->n;
  *out = malloc((in->n ? in->n : 1) * sizeof(**out));
  if (*out)
    memcpy(*out, in->rules, in->n * sizeof(**out));
  else
    rc = -ENOMEM;
  pthread_mutex_unlock(&in->mu);
  return rc;
}
