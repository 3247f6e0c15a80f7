/* faults: the violation knobs and the set of those switched on. */
#include "faults.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const fault_info knobs[VIOLATE_COUNT] = {
    [VIOLATE_NO_OVERALL_HEALTH] = {"no-overall-health", "T01",
                                   "the overall service \"\" is not registered"},
    [VIOLATE_CHECK_ANSWERS_UNKNOWN] = {"check-answers-unknown", "T01",
                                       "Check answers OK with status UNKNOWN (a 0-byte body)"},
    [VIOLATE_CHECK_EMPTY_REQUEST_INVALID] = {"check-empty-request-invalid", "T02",
                                             "a 0-byte Check request gets INVALID_ARGUMENT"},
    [VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND] = {"check-explicit-empty-not-found", "T03",
                                                "a request with an explicit empty name gets "
                                                "NOT_FOUND"},
    [VIOLATE_CHECK_NOT_SERVING_UNAVAILABLE] = {"check-not-serving-unavailable", "T04",
                                               "a NOT_SERVING service fails Check with "
                                               "UNAVAILABLE instead of OK+NOT_SERVING"},
    [VIOLATE_CHECK_UNKNOWN_SERVICE_UNKNOWN] = {"check-unknown-service-unknown", "T05",
                                               "Check of an unknown name answers OK with "
                                               "SERVICE_UNKNOWN instead of NOT_FOUND"},
    [VIOLATE_CHECK_TWO_MESSAGES] = {"check-two-messages", "T06",
                                    "Check sends two response messages"},
    [VIOLATE_CHECK_NO_MESSAGE] = {"check-no-message", "T06",
                                  "Check ends OK without a response message"},
    [VIOLATE_CHECK_SERVICE_UNKNOWN_KNOWN] = {"check-service-unknown-known", "T07",
                                             "Check of a registered name answers "
                                             "SERVICE_UNKNOWN"},
    [VIOLATE_CHECK_CASE_INSENSITIVE] = {"check-case-insensitive", "T08",
                                        "names match ignoring case and trailing space, or "
                                        "by prefix"},
    [VIOLATE_CHECK_REJECT_UNKNOWN_FIELDS] = {"check-reject-unknown-fields", "T09",
                                             "requests with unknown fields get "
                                             "INVALID_ARGUMENT"},
    [VIOLATE_CHECK_SLOW] = {"check-slow", "T10",
                            "every Check answers 600 ms late (the default budget is 500 ms)"},
    [VIOLATE_CHECK_TOGGLES] = {"check-toggles", "T11",
                               "each Check flips the status it reports (a side effect)"},
    [VIOLATE_MAX_STREAMS_ONE] = {"max-streams-one", "T12",
                                 "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS is 1 (set at start; "
                                 "flipping it later has no effect) and each Check takes "
                                 "20 ms"},
    [VIOLATE_UNKNOWN_METHOD_INTERNAL] = {"unknown-method-internal", "T13",
                                         "unknown methods fail with INTERNAL, not "
                                         "UNIMPLEMENTED"},
    [VIOLATE_WATCH_NO_INITIAL] = {"watch-no-initial", "T14",
                                  "Watch holds its first message until the status changes"},
    [VIOLATE_WATCH_CLOSE_AFTER_FIRST] = {"watch-close-after-first", "T15",
                                         "Watch ends with OK after the first message"},
    [VIOLATE_WATCH_UNKNOWN_NOT_FOUND] = {"watch-unknown-not-found", "T16",
                                         "Watch of an unknown name fails with NOT_FOUND"},
    [VIOLATE_WATCH_NO_UPDATES] = {"watch-no-updates", "T17",
                                  "Watch sends the initial message and never an update"},
    [VIOLATE_WATCH_NO_LATE_KNOWN] = {"watch-no-late-known", "T18",
                                     "a name unknown when its Watch began is never sent"},
    [VIOLATE_WATCH_DUPLICATES] = {"watch-duplicates", "T19",
                                  "every set is sent to watchers, equal to the last or not"},
    [VIOLATE_WATCH_DROP_LAST] = {"watch-drop-last", "T20",
                                 "in a burst of changes (< 250 ms apart) each is sent only when "
                                 "the next one comes, so the final update is lost"},
    [VIOLATE_WATCH_NOTIFY_ONE] = {"watch-notify-one", "T21",
                                  "only the newest watcher of a name is told of changes"},
    [VIOLATE_WATCH_LEAK_SLOTS] = {"watch-leak-slots", "T22",
                                  "a cancelled Watch keeps its slot; after 64, Watch fails "
                                  "RESOURCE_EXHAUSTED"},
    [VIOLATE_WATCH_INTERNAL] = {"watch-internal", "T23", "Watch fails at once with INTERNAL"},
    [VIOLATE_SHUTDOWN_KEEPS_SERVING] = {"shutdown-keeps-serving", "T24",
                                        "shutdown leaves every status as it was"},
    [VIOLATE_SHUTDOWN_ACCEPTS_SETS] = {"shutdown-accepts-sets", "T25",
                                       "sets after shutdown are applied"},
    [VIOLATE_LIST_NO_OVERALL] = {"list-no-overall", "T26", "List leaves out \"\""},
    [VIOLATE_LIST_LIMIT_OFF_BY_ONE] = {"list-limit-off-by-one", "T27",
                                       "List fails RESOURCE_EXHAUSTED at exactly the limit"},
    [VIOLATE_LIST_BAD_ENCODING] = {"list-bad-encoding", "T28",
                                   "List map entries carry a wrong wire type"},
    [VIOLATE_REFLECTION_NO_HEALTH] = {"reflection-no-health", "T29",
                                      "reflection list_services leaves out "
                                      "grpc.health.v1.Health"},
    [VIOLATE_REFLECTION_NOT_FOUND] = {"reflection-not-found", "T30",
                                      "file_containing_symbol grpc.health.v1.Health answers "
                                      "NOT_FOUND (as the C++ default service)"},
    [VIOLATE_REFLECTION_V1_INTERNAL] = {"reflection-v1-internal", "T31",
                                        "reflection v1 fails INTERNAL, blocking the v1alpha "
                                        "fallback"},
    [VIOLATE_REFLECTION_ABORT] = {"reflection-abort", "T32",
                                  "an unknown symbol aborts the reflection stream"},
    [VIOLATE_LONG_NAME_HANG] = {"long-name-hang", "T35",
                                "Check of a name over 1 KiB never answers"},
    [VIOLATE_WATCH_STARVES_CHECK] = {"watch-starves-check", "T36",
                                     "with more than 32 Watches open, Check waits until some close "
                                     "(or the deadline)"},
    [VIOLATE_WIRE_NO_GRPC_STATUS] = {"wire-no-grpc-status", "T06",
                                     "(wire engine) replies end without grpc-status, in "
                                     "trailers or headers"},
    [VIOLATE_WIRE_HTTP_404] = {"wire-http-404", "T06",
                               "(wire engine) gRPC replies carry HTTP status 404"},
    [VIOLATE_WIRE_TRAILERS_ONLY_OK] = {"wire-trailers-only-ok", "T06",
                                       "(wire engine) Check answers OK trailers-only, without "
                                       "its message"},
    [VIOLATE_WIRE_COMPRESSED_FLAG] = {"wire-compressed-flag", "T33",
                                      "(wire engine) every message carries compressed flag 1 "
                                      "though nothing is compressed"},
    [VIOLATE_WIRE_CONTENT_TYPE_SERVED] = {"wire-content-type-served", "T34",
                                          "(wire engine) a text/plain POST is served as gRPC "
                                          "with HTTP 200, as the gRPC C core does"},
    [VIOLATE_HTTP_OK_WHEN_UNHEALTHY] = {"http-ok-when-unhealthy", "H06",
                                        "GET / answers 200 while \"\" is not SERVING"},
    [VIOLATE_HTTP_NOT_JSON] = {"http-not-json", "H02", "GET / answers a body that is not JSON"},
    [VIOLATE_HTTP_WRONG_CONTENT_TYPE] = {"http-wrong-content-type", "H03",
                                         "GET / answers Content-Type text/html"},
    [VIOLATE_HTTP_ROOT_NOT_200] = {"http-root-not-200", "H01",
                                   "GET / answers 204 No Content (no body) while SERVING"},
    [VIOLATE_HTTP_NO_KEEP_ALIVE] = {"http-no-keep-alive", "H04",
                                    "every health answer carries Connection: close"},
    [VIOLATE_HTTP_SLOW] = {"http-slow", "H05",
                           "GET / answers 600 ms late (the default budget is 500 ms), holding "
                           "the HTTP listener's one thread"},
    [VIOLATE_HTTP_UNKNOWN_PATH_OK] = {"http-unknown-path-ok", "H07",
                                      "GET or HEAD of any unknown path answers like GET / "
                                      "(200 {} while SERVING)"},
    [VIOLATE_HTTP_HEAD_BROKEN] = {"http-head-broken", "H08", "HEAD / answers 500"},
};

struct faults {
  _Atomic uint64_t on;
  inject *rules;
};

_Static_assert(VIOLATE_COUNT <= 64, "knobs must fit the bit mask");

const fault_info *faults_catalogue(size_t *count) {
  *count = VIOLATE_COUNT;
  return knobs;
}

int faults_parse(const char *name, fault_knob *out) {
  for (int i = 0; i < VIOLATE_COUNT; i++) {
    if (name && strcmp(name, knobs[i].name) == 0) {
      *out = (fault_knob)i;
      return 0;
    }
  }
  return -EINVAL;
}

int faults_new(faults **out) {
  faults *f = xcalloc(1, sizeof(*f));
  int rc = inject_new(0, &f->rules); /* a pure module: its -ENOMEM is returned */

  if (rc < 0) {
    free(f);
    return rc;
  }
  atomic_init(&f->on, 0);
  *out = f;
  return 0;
}

void faults_free(faults *f) {
  if (f)
    inject_free(f->rules);
  free(f);
}

inject *faults_inject(const faults *f) { return f ? f->rules : NULL; }

void faults_set(faults *f, fault_knob knob, int on) {
  uint64_t bit = (uint64_t)1 << knob;

  if (on)
    atomic_fetch_or(&f->on, bit);
  else
    atomic_fetch_and(&f->on, ~bit);
}

int faults_on(const faults *f, fault_knob knob) {
  if (!f)
    return 0;
  return (atomic_load_explicit(&((faults *)f)->on, memory_order_relaxed) >> knob) & 1;
}

int faults_knob_is_wire(fault_knob knob) {
  return knob >= VIOLATE_WIRE_NO_GRPC_STATUS && knob <= VIOLATE_WIRE_CONTENT_TYPE_SERVED;
}

int faults_need_wire(const faults *f, char *why, size_t size) {
  inject_rule *rules;
  size_t n;
  int need = 0;

  for (int i = 0; i < VIOLATE_COUNT && !need; i++) {
    if (faults_knob_is_wire((fault_knob)i) && faults_on(f, (fault_knob)i)) {
      snprintf(why, size, "--violate %s", knobs[i].name);
      need = 1;
    }
  }
  if (need || inject_snapshot(f->rules, &rules, &n) < 0)
    return need;
  for (size_t i = 0; i < n && !need; i++) {
    if (inject_action_is_wire(&rules[i])) {
      snprintf(why, size, "--fault '%s'", rules[i].text);
      need = 1;
    }
  }
  free(rules);
  return need;
}

void faults_describe(const faults *f, char *buf, size_t size) {
  size_t used = 0;

  if (size)
    buf[0] = '\0';
  for (int i = 0; i < VIOLATE_COUNT && used < size; i++) {
    int n;
    if (!faults_on(f, (fault_knob)i))
      continue;
    n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", knobs[i].name);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}
