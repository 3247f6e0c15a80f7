/*
 * health_logic: WHAT the gRPC side of the mock answers, with no transport.
 *
 * Given a request's bytes, the registry and the violation knobs, each call
 * here returns a decision as data (an hlogic_answer, an hlogic_hold, an
 * inject_hit): the gRPC code and message, the ServingStatus sent, how many
 * messages carry it, and what the journal records. The transports
 * (health_server.c on the gRPC C core; the wire engine) only carry it: how
 * metadata, messages and trailers reach the socket is theirs.
 *
 * Watch's latest-wins and dedup (H-WATCH-5/6) are the registry's: it hands
 * a watcher one status at a time (registry_watch_start, registry_watch_sent);
 * here are only the knobs that change what a Watch is answered.
 *
 * Thread safety: every function may be called from any thread at once; the
 * only shared state (the check-toggles and watch-leak-slots counters) is
 * atomic. Memory: an hlogic borrows its registry and faults, which must
 * outlive it; an answer owns its message (hlogic_answer_free).
 */
#ifndef HC_HEALTH_LOGIC_H
#define HC_HEALTH_LOGIC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "inject.h"
#include "journal.h"
#include "registry.h"

/* Holds a violation puts on a Check (faults.h). */
#define HLOGIC_SLOW_CHECK_MS 600    /* check-slow: beyond the 500 ms budget of T10 */
#define HLOGIC_SERIAL_CHECK_MS 20   /* max-streams-one: 50 serialized Checks take 1 s (T12) */
#define HLOGIC_LONG_NAME_MAX 1024   /* long-name-hang: longer requests never get an answer */
#define HLOGIC_STARVING_WATCHES 32  /* watch-starves-check: Check waits while more are open */
#define HLOGIC_LEAKY_SLOTS 64       /* watch-leak-slots: Watches served before RESOURCE_EXHAUSTED */
#define HLOGIC_PAST_DEADLINE_MS 100 /* a withheld answer goes out this long after the deadline */
/* How long an unknown method may take to deliver its request before it is
 * answered UNIMPLEMENTED anyway (a bidi client may send nothing). */
#define HLOGIC_UNIMPLEMENTED_WAIT_MS 100

typedef enum hlogic_method {
  HLOGIC_CHECK,
  HLOGIC_WATCH,
  HLOGIC_LIST,
  HLOGIC_REFLECTION_V1,
  HLOGIC_REFLECTION_V1ALPHA,
  HLOGIC_UNKNOWN, /* any other path: UNIMPLEMENTED (H-WIRE-4) */
  HLOGIC_METHOD_COUNT
} hlogic_method;

/* "/grpc.health.v1.Health/Check"...; NULL for HLOGIC_UNKNOWN. */
const char *hlogic_method_path(hlogic_method m);
/* The method a :path names (HLOGIC_UNKNOWN for any other). */
hlogic_method hlogic_method_of(const char *path);

typedef struct hlogic {
  registry *reg;        /* borrowed */
  const faults *faults; /* borrowed; NULL: no violation, no fault rule */
  journal *journal;     /* borrowed; NULL: calls are not recorded */
  size_t list_limit;    /* List fails RESOURCE_EXHAUSTED above it (H-LIST-3) */
  /* Borrowed, NULL-terminated; NULL: reflection v1 and v1alpha list our
   * services. Set (--profile jina): v1alpha only, listing these names. */
  const char *const *reflection_list;
  atomic_uint checks;         /* check-toggles: Checks answered so far */
  atomic_size_t leaked_slots; /* watch-leak-slots: Watches ever served while it was on */
} hlogic;

void hlogic_init(hlogic *hl, registry *reg, const faults *f, journal *j, size_t list_limit);

/* An answer: `messages` copies of the message, then the status. */
typedef struct hlogic_answer {
  int code;                      /* gRPC status code (WIRE_CODE_OK...) */
  char details[INJECT_TEXT_MAX]; /* grpc-message; "" none */
  int status;                    /* the ServingStatus answered, or -1: journal and message */
  int messages;                  /* 0, 1 or 2 (check-two-messages, H-CHECK-7 broken) */
  uint8_t *msg;                  /* List, reflection: the message (malloc'd); NULL: a
                                  * HealthCheckResponse of `status` (pre-encodable) */
  size_t msg_len;
  int unjournaled; /* 1: the journal does not record it (a bad Watch request) */
} hlogic_answer;

void hlogic_answer_free(hlogic_answer *a);
/* A request that could not be read (-EBADMSG: INVALID_ARGUMENT) or whose
 * decoding ran out of memory (INTERNAL). */
void hlogic_bad_request(int rc, hlogic_answer *out);

/* The service a HealthCheckRequest names: 0 bytes is "" (H-CHECK-8),
 * unknown fields are skipped (H-CHECK-9). present 0: no message came
 * (-EBADMSG). *name is malloc'd. -EBADMSG, -ENOMEM. */
int hlogic_request_service(const uint8_t *req, size_t len, int present, char **name);

/* ---- fault injection (inject.h) ---- */

/* Looks for an injected fault hitting a Check, Watch or List call for
 * `service` (List: NULL); a request that could not be read (service_rc < 0)
 * is never hit, so that it gets its normal INVALID_ARGUMENT. 1 and *hit
 * when one applies, else 0. */
int hlogic_fault(hlogic *hl, hlogic_method m, const char *service, int service_rc, inject_hit *hit);
/* The answer of a fault that ends the call: code:C (trailers-only,
 * message from the rule) or hang (DEADLINE_EXCEEDED once the client's
 * deadline passed, the status reaching nobody). */
void hlogic_fault_answer(const inject_hit *hit, hlogic_answer *out);

/* ---- Check (H-CHECK-*) ---- */

typedef enum hlogic_hold_kind {
  HLOGIC_NOW,           /* answer at once */
  HLOGIC_AFTER,         /* answer `ms` from now */
  HLOGIC_PAST_DEADLINE, /* answer HLOGIC_PAST_DEADLINE_MS after the client's deadline */
  HLOGIC_STARVED,       /* ... or as soon as hlogic_starved() says no more */
} hlogic_hold_kind;

typedef struct hlogic_hold {
  hlogic_hold_kind kind;
  long ms;
} hlogic_hold;

/* Whether a violation holds the Check back: check-slow, max-streams-one,
 * long-name-hang (len: the request's size), watch-starves-check
 * (watches_open: the Watch streams open now, on this transport). */
hlogic_hold hlogic_check_hold(hlogic *hl, size_t len, size_t watches_open);
/* A starved Check stays starved while more than this many Watches are open. */
int hlogic_starved(size_t watches_open);

/* The answer to a Check whose request is `req` (present 0: none came) and
 * names `service` (service_rc from hlogic_request_service). */
void hlogic_check(hlogic *hl, const uint8_t *req, size_t len, int present, const char *service,
                  int service_rc, hlogic_answer *out);

/* ---- Watch (H-WATCH-*) ---- */

/* 0 when the Watch stream opens (journal OK, then registry_watch_start);
 * 1 when it is answered at once with *out: a request that cannot be read,
 * or a violation (watch-internal, watch-unknown-not-found, watch-leak-slots). */
int hlogic_watch_refusal(hlogic *hl, const char *service, int service_rc, hlogic_answer *out);
/* H-WATCH-1: the first status goes out at once (0 with watch-no-initial). */
int hlogic_watch_sends_initial(hlogic *hl);
/* watch-close-after-first: the stream ends OK after its first message. */
int hlogic_watch_ends_after_first(hlogic *hl);

/* ---- List (H-LIST-*) ---- */

void hlogic_list(hlogic *hl, const uint8_t *req, size_t len, int present, hlogic_answer *out);

/* ---- reflection (H-REFL-*) and unknown methods (H-WIRE-4) ---- */

/* 1 and *out when the stream of method m is refused at once
 * (reflection-v1-internal; v1 under --profile jina, J-REFL-1), else 0. */
int hlogic_reflection_refusal(hlogic *hl, hlogic_method m, hlogic_answer *out);
/* One request of a reflection stream: 0 with out->msg the reply (messages
 * 1; the stream goes on), or 1 when the stream ends with *out (a request
 * that cannot be read; reflection-abort). */
int hlogic_reflection(hlogic *hl, const uint8_t *req, size_t len, hlogic_answer *out);

/* The answer to an unknown method `path`: UNIMPLEMENTED (H-WIRE-4), or
 * INTERNAL with unknown-method-internal. */
void hlogic_unknown_method(hlogic *hl, const char *path, hlogic_answer *out);

/* ---- journal ---- */

/* What a transport knows of the call; strings may be NULL. */
typedef struct hlogic_call_info {
  const char *path;    /* the method's path */
  const char *service; /* as decoded, NULL when none */
  long deadline_ms;    /* left when it arrived; -1 none */
  const char *user_agent;
  const char *peer;
} hlogic_call_info;

/* Records the call with `code` and `status` (< 0: no health status) in
 * the journal: "OK SERVING", "NOT_FOUND". Journal first, answer after: a
 * client that reads the journal after its answer must find the call. */
void hlogic_journal(hlogic *hl, const hlogic_call_info *info, int code, int status);

#endif
