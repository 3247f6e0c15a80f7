/* health_logic: what the gRPC side answers. See health_logic.h. */
#define _GNU_SOURCE
#include "health_logic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grpc/health/v1/health.pb-c.h"
#include "reflection.h"
#include "wire.h"
#include "xalloc.h"

static const char *const method_paths[HLOGIC_METHOD_COUNT] = {
    [HLOGIC_CHECK] = "/grpc.health.v1.Health/Check",
    [HLOGIC_WATCH] = "/grpc.health.v1.Health/Watch",
    [HLOGIC_LIST] = "/grpc.health.v1.Health/List",
    [HLOGIC_REFLECTION_V1] = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    [HLOGIC_REFLECTION_V1ALPHA] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

const char *hlogic_method_path(hlogic_method m) {
  return m < HLOGIC_METHOD_COUNT ? method_paths[m] : NULL;
}

hlogic_method hlogic_method_of(const char *path) {
  for (int m = 0; m < HLOGIC_UNKNOWN; m++) {
    if (strcmp(path, method_paths[m]) == 0)
      return (hlogic_method)m;
  }
  return HLOGIC_UNKNOWN;
}

void hlogic_init(hlogic *hl, registry *reg, const faults *f, journal *j, size_t list_limit) {
  hl->reg = reg;
  hl->faults = f;
  hl->journal = j;
  hl->list_limit = list_limit;
  hl->reflection_list = NULL;
  atomic_init(&hl->checks, 0);
  atomic_init(&hl->leaked_slots, 0);
}

static void answer(hlogic_answer *out, int code, const char *details) {
  memset(out, 0, sizeof(*out));
  out->code = code;
  out->status = -1;
  if (details)
    snprintf(out->details, sizeof(out->details), "%s", details);
}

/* OK with `messages` HealthCheckResponses of `status`. */
static void answer_status(hlogic_answer *out, int status, int messages) {
  answer(out, WIRE_CODE_OK, NULL);
  out->status = status;
  out->messages = messages;
}

void hlogic_answer_free(hlogic_answer *a) {
  free(a->msg);
  a->msg = NULL;
  a->msg_len = 0;
}

/* A request that could not be read or decoded. */
void hlogic_bad_request(int rc, hlogic_answer *out) {
  if (rc == -EBADMSG)
    answer(out, WIRE_CODE_INVALID_ARGUMENT, "could not parse request");
  else
    answer(out, WIRE_CODE_INTERNAL, "out of memory");
}

int hlogic_request_service(const uint8_t *req, size_t len, int present, char **name) {
  if (!present)
    return -EBADMSG;
  return wire_check_request_decode(req, len, name);
}

/* ---- fault injection --------------------------------------------------- */

static const char *const fault_targets[] = {
    [HLOGIC_CHECK] = "Check", [HLOGIC_WATCH] = "Watch", [HLOGIC_LIST] = "List"};

int hlogic_fault(hlogic *hl, hlogic_method m, const char *service, int service_rc,
                 inject_hit *hit) {
  if (m > HLOGIC_LIST || (m != HLOGIC_LIST && service_rc < 0))
    return 0;
  return inject_match(faults_inject(hl->faults), INJECT_GRPC, fault_targets[m],
                      service ? service : "", hit);
}

void hlogic_fault_answer(const inject_hit *hit, hlogic_answer *out) {
  if (hit->action == INJECT_HANG)
    answer(out, WIRE_CODE_DEADLINE_EXCEEDED, "injected hang");
  else /* code:C, no message: trailers-only */
    answer(out, hit->code, hit->message[0] ? hit->message : NULL);
}

/* ---- Check ------------------------------------------------------------- */

hlogic_hold hlogic_check_hold(hlogic *hl, size_t len, size_t watches_open) {
  const faults *f = hl->faults;

  if (faults_on(f, VIOLATE_CHECK_SLOW))
    return (hlogic_hold){HLOGIC_AFTER, HLOGIC_SLOW_CHECK_MS};
  if (faults_on(f, VIOLATE_MAX_STREAMS_ONE)) /* a handler that takes time */
    return (hlogic_hold){HLOGIC_AFTER, HLOGIC_SERIAL_CHECK_MS};
  if (faults_on(f, VIOLATE_LONG_NAME_HANG) && len > HLOGIC_LONG_NAME_MAX)
    return (hlogic_hold){HLOGIC_PAST_DEADLINE, 0};
  if (faults_on(f, VIOLATE_WATCH_STARVES_CHECK) && hlogic_starved(watches_open))
    return (hlogic_hold){HLOGIC_STARVED, 0};
  return (hlogic_hold){HLOGIC_NOW, 0};
}

int hlogic_starved(size_t watches_open) { return watches_open > HLOGIC_STARVING_WATCHES; }

/* check-reject-unknown-fields: 1 when the request carries fields
 * HealthCheckRequest does not define. */
static int has_unknown_fields(const uint8_t *req, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *r =
      grpc__health__v1__health_check_request__unpack(NULL, len, req);
  int unknown = 0;

  if (r) {
    unknown = r->base.n_unknown_fields > 0;
    grpc__health__v1__health_check_request__free_unpacked(r, NULL);
  }
  return unknown;
}

/* The code a broken server refuses this request with, or -1 (violations
 * check-empty-request-invalid, check-reject-unknown-fields,
 * check-explicit-empty-not-found). */
static int check_refusal(hlogic *hl, const uint8_t *req, size_t len, const char *name) {
  const faults *f = hl->faults;

  if (faults_on(f, VIOLATE_CHECK_EMPTY_REQUEST_INVALID) && len == 0)
    return WIRE_CODE_INVALID_ARGUMENT;
  if (faults_on(f, VIOLATE_CHECK_REJECT_UNKNOWN_FIELDS) && has_unknown_fields(req, len))
    return WIRE_CODE_INVALID_ARGUMENT;
  if (faults_on(f, VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND) && len > 0 && !name[0])
    return WIRE_CODE_NOT_FOUND;
  return -1;
}

/* check-case-insensitive: "SVC", "svc " or a prefix of "svc" find "svc". */
static int loose_match(const char *asked, const char *known) {
  size_t n = strlen(asked);

  while (n > 0 && asked[n - 1] == ' ')
    n--;
  if (n == 0)
    return 0;
  return strncasecmp(asked, known, n) == 0;
}

static int check_lookup(hlogic *hl, const char *name, int *status) {
  registry_entry *entries;
  size_t n;
  int rc = registry_get(hl->reg, name, status);

  if (rc == 0 || !faults_on(hl->faults, VIOLATE_CHECK_CASE_INSENSITIVE))
    return rc;
  if (registry_snapshot(hl->reg, &entries, &n) < 0)
    return rc;
  for (size_t i = 0; i < n && rc < 0; i++) {
    if (loose_match(name, entries[i].name)) {
      *status = entries[i].status;
      rc = 0;
    }
  }
  registry_snapshot_free(entries, n);
  return rc;
}

/* The status a broken server reports instead of the registered one. */
static int reported_status(hlogic *hl, int status) {
  const faults *f = hl->faults;

  if (faults_on(f, VIOLATE_CHECK_ANSWERS_UNKNOWN))
    return WIRE_UNKNOWN;
  if (faults_on(f, VIOLATE_CHECK_SERVICE_UNKNOWN_KNOWN))
    return WIRE_SERVICE_UNKNOWN;
  if (faults_on(f, VIOLATE_CHECK_TOGGLES) && atomic_fetch_add(&hl->checks, 1) % 2 == 1)
    return status == WIRE_SERVING ? WIRE_NOT_SERVING : WIRE_SERVING;
  return status;
}

/* H-CHECK-1: OK and the status, unless a violation answers otherwise. */
static void reply_status(hlogic *hl, int status, hlogic_answer *out) {
  const faults *f = hl->faults;

  if (faults_on(f, VIOLATE_CHECK_NOT_SERVING_UNAVAILABLE) && status == WIRE_NOT_SERVING)
    answer(out, WIRE_CODE_UNAVAILABLE, "service not serving");
  else if (faults_on(f, VIOLATE_CHECK_NO_MESSAGE))
    answer_status(out, status, 0);
  else if (faults_on(f, VIOLATE_CHECK_TWO_MESSAGES))
    answer_status(out, status, 2); /* H-CHECK-7 broken */
  else
    answer_status(out, status, 1);
}

void hlogic_check(hlogic *hl, const uint8_t *req, size_t len, int present, const char *service,
                  int service_rc, hlogic_answer *out) {
  int status, code;

  (void)present;
  if (service_rc < 0)
    hlogic_bad_request(service_rc, out);
  else if ((code = check_refusal(hl, req, len, service)) >= 0)
    answer(out, code, code == WIRE_CODE_NOT_FOUND ? "unknown service" : "could not parse request");
  else if (check_lookup(hl, service, &status) == 0)
    reply_status(hl, reported_status(hl, status), out);
  else if (faults_on(hl->faults, VIOLATE_CHECK_UNKNOWN_SERVICE_UNKNOWN))
    reply_status(hl, WIRE_SERVICE_UNKNOWN, out);
  else
    answer(out, WIRE_CODE_NOT_FOUND, "unknown service"); /* H-CHECK-2 */
}

/* ---- Watch ------------------------------------------------------------- */

/* watch-leak-slots: slots are taken and never given back, cancelled or not. */
static int take_leaky_slot(hlogic *hl) {
  size_t n = atomic_load(&hl->leaked_slots);

  do {
    if (n >= HLOGIC_LEAKY_SLOTS)
      return -ENOSPC;
  } while (!atomic_compare_exchange_weak(&hl->leaked_slots, &n, n + 1));
  return 0;
}

int hlogic_watch_refusal(hlogic *hl, const char *service, int service_rc, hlogic_answer *out) {
  int status;

  if (service_rc < 0) {
    hlogic_bad_request(service_rc, out);
    out->unjournaled = 1;
  } else if (faults_on(hl->faults, VIOLATE_WATCH_INTERNAL)) {
    answer(out, WIRE_CODE_INTERNAL, "watch failed");
  } else if (faults_on(hl->faults, VIOLATE_WATCH_UNKNOWN_NOT_FOUND) &&
             registry_get(hl->reg, service, &status) < 0) {
    answer(out, WIRE_CODE_NOT_FOUND, "unknown service");
  } else if (faults_on(hl->faults, VIOLATE_WATCH_LEAK_SLOTS) && take_leaky_slot(hl) < 0) {
    answer(out, WIRE_CODE_RESOURCE_EXHAUSTED, "watch failed");
  } else {
    return 0;
  }
  return 1;
}

int hlogic_watch_sends_initial(hlogic *hl) {
  return !faults_on(hl->faults, VIOLATE_WATCH_NO_INITIAL);
}

int hlogic_watch_ends_after_first(hlogic *hl) {
  return faults_on(hl->faults, VIOLATE_WATCH_CLOSE_AFTER_FIRST);
}

/* ---- List -------------------------------------------------------------- */

static void encode_list(const registry_entry *entries, size_t n, uint8_t **out, size_t *len) {
  Grpc__Health__V1__HealthListResponse res = GRPC__HEALTH__V1__HEALTH_LIST_RESPONSE__INIT;
  Grpc__Health__V1__HealthListResponse__StatusesEntry *items = xcalloc(n, sizeof(*items));
  Grpc__Health__V1__HealthListResponse__StatusesEntry **ptrs = xcalloc(n, sizeof(*ptrs));
  Grpc__Health__V1__HealthCheckResponse *values = xcalloc(n, sizeof(*values));

  for (size_t i = 0; i < n; i++) {
    grpc__health__v1__health_list_response__statuses_entry__init(&items[i]);
    grpc__health__v1__health_check_response__init(&values[i]);
    values[i].status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)entries[i].status;
    items[i].key = entries[i].name;
    items[i].value = &values[i];
    ptrs[i] = &items[i];
  }
  res.n_statuses = n;
  res.statuses = ptrs;
  *len = grpc__health__v1__health_list_response__get_packed_size(&res);
  *out = xmalloc(*len);
  grpc__health__v1__health_list_response__pack(&res, *out);
  free(items);
  free(ptrs);
  free(values);
}

static int check_list_request(const uint8_t *req, size_t len, int present) {
  Grpc__Health__V1__HealthListRequest *r;

  if (!present)
    return -EBADMSG;
  r = grpc__health__v1__health_list_request__unpack(NULL, len, req);
  if (!r)
    return -EBADMSG;
  grpc__health__v1__health_list_request__free_unpacked(r, NULL);
  return 0;
}

static size_t put_varint(uint8_t *out, size_t v) {
  size_t n = 0;

  do {
    out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return n;
}

/* Violation list-bad-encoding (T28): each map entry's value (field 2, a
 * HealthCheckResponse) is written as a varint, wire type 0, instead of a
 * length-delimited message. Deliberately broken output, so these bytes
 * are written by hand: protobuf-c cannot be made to produce them. */
static void encode_bad_list(const registry_entry *entries, size_t n, uint8_t **out, size_t *len) {
  size_t size = 0, used = 0;
  uint8_t *buf;

  for (size_t i = 0; i < n; i++)
    size += 2 * 10 + strlen(entries[i].name) + 4;
  buf = xmalloc(size);
  for (size_t i = 0; i < n; i++) {
    size_t klen = strlen(entries[i].name);
    uint8_t key_len[10];
    size_t kl = put_varint(key_len, klen);
    buf[used++] = 0x0a; /* statuses, length-delimited */
    used += put_varint(buf + used, 1 + kl + klen + 2);
    buf[used++] = 0x0a; /* key */
    memcpy(buf + used, key_len, kl);
    used += kl;
    memcpy(buf + used, entries[i].name, klen);
    used += klen;
    buf[used++] = 0x10; /* value: field 2 as a varint, the wrong wire type */
    buf[used++] = (uint8_t)entries[i].status;
  }
  *out = buf;
  *len = used;
}

void hlogic_list(hlogic *hl, const uint8_t *req, size_t len, int present, hlogic_answer *out) {
  void (*encode)(const registry_entry *, size_t, uint8_t **, size_t *) =
      faults_on(hl->faults, VIOLATE_LIST_BAD_ENCODING) ? encode_bad_list : encode_list;
  registry_entry *entries;
  char msg[96];
  size_t n, skip;
  int rc = check_list_request(req, len, present);

  if (rc < 0) {
    hlogic_bad_request(rc, out);
    return;
  }
  if (registry_snapshot(hl->reg, &entries, &n) < 0) {
    answer(out, WIRE_CODE_INTERNAL, "out of memory");
    return;
  }
  /* Sorted by name: "" comes first. */
  skip = faults_on(hl->faults, VIOLATE_LIST_NO_OVERALL) && n > 0 && !entries[0].name[0];
  /* H-LIST-3: limit N passes, N+1 fails (grpc-go) */
  if (n > hl->list_limit ||
      (faults_on(hl->faults, VIOLATE_LIST_LIMIT_OFF_BY_ONE) && n >= hl->list_limit)) {
    snprintf(msg, sizeof(msg), "server health list exceeds maximum capacity: %zu", hl->list_limit);
    answer(out, WIRE_CODE_RESOURCE_EXHAUSTED, msg);
  } else {
    answer(out, WIRE_CODE_OK, NULL); /* H-LIST-2 */
    encode(entries + skip, n - skip, &out->msg, &out->msg_len);
    out->messages = 1;
  }
  registry_snapshot_free(entries, n);
}

/* ---- reflection and unknown methods ------------------------------------ */

int hlogic_reflection_refusal(hlogic *hl, hlogic_method m, hlogic_answer *out) {
  if (m == HLOGIC_REFLECTION_V1 && faults_on(hl->faults, VIOLATE_REFLECTION_V1_INTERNAL)) {
    answer(out, WIRE_CODE_INTERNAL, "reflection failed"); /* blocks the v1alpha fallback */
    return 1;
  }
  /* J-REFL-1: a Jina Executor registers v1alpha only (docs/protocol.md). */
  if (m == HLOGIC_REFLECTION_V1 && hl->reflection_list) {
    answer(out, WIRE_CODE_UNIMPLEMENTED,
           "unknown method /grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    return 1;
  }
  return 0;
}

int hlogic_reflection(hlogic *hl, const uint8_t *req, size_t len, hlogic_answer *out) {
  int rc;

  answer(out, WIRE_CODE_OK, NULL);
  rc =
      reflection_answer_faults(hl->faults, hl->reflection_list, req, len, &out->msg, &out->msg_len);
  if (rc == -ENOENT) { /* reflection-abort: a failed lookup ends the stream */
    answer(out, WIRE_CODE_NOT_FOUND, "symbol not found");
    return 1;
  }
  if (rc < 0) {
    hlogic_bad_request(rc, out);
    return 1;
  }
  out->messages = 1;
  return 0;
}

void hlogic_unknown_method(hlogic *hl, const char *path, hlogic_answer *out) {
  char msg[160];

  snprintf(msg, sizeof(msg), "unknown method %s", path);
  answer(out,
         faults_on(hl->faults, VIOLATE_UNKNOWN_METHOD_INTERNAL) ? WIRE_CODE_INTERNAL
                                                                : WIRE_CODE_UNIMPLEMENTED,
         msg);
}

/* ---- journal ----------------------------------------------------------- */

void hlogic_journal(hlogic *hl, const hlogic_call_info *info, int code, int status) {
  char result[64];
  const char *code_name = wire_code_name(code);
  journal_record rec = {.protocol = "grpc",
                        .method = info->path,
                        .service = info->service,
                        .deadline_ms = info->deadline_ms,
                        .user_agent = info->user_agent,
                        .peer = info->peer,
                        .result = result};

  if (!journal_on(hl->journal))
    return;
  journal_join(result, sizeof(result), code_name ? code_name : "?",
               status >= 0 ? wire_status_name(status) : NULL);
  journal_add(hl->journal, &rec);
}
