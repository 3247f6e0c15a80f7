/*
 * faults: the deliberately broken behaviours ("violations") the mock can
 * switch on, so that every conformance case can be shown to fail against a
 * matching broken server (the kill matrix), and clients can be tested
 * against real-world bugs. Each knob is named after what it breaks and
 * lists the case it must make fail: the T-number of a gRPC case or the
 * H-number of an HTTP case (health-conformance --list).
 *
 * Transports ask faults_on() on their hot paths: one relaxed atomic load,
 * no lock, so knobs may be flipped at run time. Thread safety: every call
 * may come from any thread.
 *
 * The wire-* knobs break the HTTP/2 framing itself (T06 without
 * grpc-status or with HTTP 404, T33, T34), which the gRPC C core cannot be
 * made to do: they act on listeners served by the wire engine
 * (wire_engine.h), which mock-executor picks when one is on at start
 * (faults_need_wire).
 */
#ifndef HC_FAULTS_H
#define HC_FAULTS_H

#include <stddef.h>

#include "inject.h"

typedef enum fault_knob {
  VIOLATE_NO_OVERALL_HEALTH,              /* T01: "" is not registered */
  VIOLATE_CHECK_ANSWERS_UNKNOWN,          /* T01: Check answers OK + UNKNOWN (0-byte body) */
  VIOLATE_CHECK_EMPTY_REQUEST_INVALID,    /* T02: a 0-byte request gets INVALID_ARGUMENT */
  VIOLATE_CHECK_EXPLICIT_EMPTY_NOT_FOUND, /* T03: field present but empty -> NOT_FOUND */
  VIOLATE_CHECK_NOT_SERVING_UNAVAILABLE,  /* T04: NOT_SERVING answered as UNAVAILABLE */
  VIOLATE_CHECK_UNKNOWN_SERVICE_UNKNOWN,  /* T05: unknown name -> OK + SERVICE_UNKNOWN */
  VIOLATE_CHECK_TWO_MESSAGES,             /* T06: two messages on a unary call */
  VIOLATE_CHECK_NO_MESSAGE,               /* T06: OK with no message */
  VIOLATE_CHECK_SERVICE_UNKNOWN_KNOWN,    /* T07: registered names answer SERVICE_UNKNOWN */
  VIOLATE_CHECK_CASE_INSENSITIVE, /* T08: names matched ignoring case and spaces, or by prefix */
  VIOLATE_CHECK_REJECT_UNKNOWN_FIELDS, /* T09: unknown request fields -> INVALID_ARGUMENT */
  VIOLATE_CHECK_SLOW,                  /* T10: every Check answers 600 ms late */
  VIOLATE_CHECK_TOGGLES,               /* T11: each Check flips the answer (side effect) */
  VIOLATE_MAX_STREAMS_ONE,             /* T12: SETTINGS_MAX_CONCURRENT_STREAMS = 1, read at
                                        * start only; and each Check takes 20 ms */
  VIOLATE_UNKNOWN_METHOD_INTERNAL,     /* T13: unknown methods get INTERNAL */
  VIOLATE_WATCH_NO_INITIAL,            /* T14: Watch holds its first message until a change */
  VIOLATE_WATCH_CLOSE_AFTER_FIRST,     /* T15: Watch ends with OK after the first message */
  VIOLATE_WATCH_UNKNOWN_NOT_FOUND,     /* T16: Watch of an unknown name fails NOT_FOUND */
  VIOLATE_WATCH_NO_UPDATES,            /* T17: Watch sends only the initial message */
  VIOLATE_WATCH_NO_LATE_KNOWN,         /* T18: names unknown at Watch start are never sent */
  VIOLATE_WATCH_DUPLICATES,            /* T19: every set is sent, equal or not */
  VIOLATE_WATCH_DROP_LAST,             /* T20: the last update of a burst is never sent */
  VIOLATE_WATCH_NOTIFY_ONE,            /* T21: only the newest watcher of a name is told */
  VIOLATE_WATCH_LEAK_SLOTS,            /* T22: cancelled Watches keep a slot; 64 slots */
  VIOLATE_WATCH_INTERNAL,              /* T23: Watch answers INTERNAL */
  VIOLATE_SHUTDOWN_KEEPS_SERVING,      /* T24: shutdown leaves statuses SERVING */
  VIOLATE_SHUTDOWN_ACCEPTS_SETS,       /* T25: sets after shutdown are applied */
  VIOLATE_LIST_NO_OVERALL,             /* T26: List leaves out "" */
  VIOLATE_LIST_LIMIT_OFF_BY_ONE,       /* T27: RESOURCE_EXHAUSTED at exactly the limit */
  VIOLATE_LIST_BAD_ENCODING,           /* T28: map entries written with a wrong wire type */
  VIOLATE_REFLECTION_NO_HEALTH,        /* T29: list_services leaves out Health */
  VIOLATE_REFLECTION_NOT_FOUND,        /* T30: Health's symbol answers error_response NOT_FOUND */
  VIOLATE_REFLECTION_V1_INTERNAL,      /* T31: reflection v1 answers INTERNAL */
  VIOLATE_REFLECTION_ABORT,            /* T32: an unknown symbol aborts the stream */
  VIOLATE_LONG_NAME_HANG,              /* T35: names over 1 KiB never get an answer */
  VIOLATE_WATCH_STARVES_CHECK,         /* T36: Check waits while > 32 Watches are open */
  VIOLATE_WIRE_NO_GRPC_STATUS,         /* T06: replies end without grpc-status (wire engine) */
  VIOLATE_WIRE_HTTP_404,               /* T06: replies carry HTTP status 404 (wire engine) */
  VIOLATE_WIRE_TRAILERS_ONLY_OK,       /* T06: Check OK trailers-only, no message (wire engine) */
  VIOLATE_WIRE_COMPRESSED_FLAG,     /* T33: compressed flag 1, nothing compressed (wire engine) */
  VIOLATE_WIRE_CONTENT_TYPE_SERVED, /* T34: text/plain served as gRPC, HTTP 200 (wire engine) */
  VIOLATE_HTTP_OK_WHEN_UNHEALTHY,   /* H06: GET / answers 200 while NOT_SERVING */
  VIOLATE_HTTP_NOT_JSON,            /* H02: GET / answers a non-JSON body */
  VIOLATE_HTTP_WRONG_CONTENT_TYPE,  /* H03: GET / answers text/html */
  VIOLATE_HTTP_ROOT_NOT_200,        /* H01: GET / answers 204 while SERVING */
  VIOLATE_HTTP_NO_KEEP_ALIVE,       /* H04: every answer says Connection: close */
  VIOLATE_HTTP_SLOW,                /* H05: GET / answers 600 ms late */
  VIOLATE_HTTP_UNKNOWN_PATH_OK,     /* H07: any unknown path answers like GET / */
  VIOLATE_HTTP_HEAD_BROKEN,         /* H08: HEAD / answers 500 */
  VIOLATE_COUNT
} fault_knob;

typedef struct fault_info {
  const char *name;        /* "watch-duplicates" */
  const char *breaks;      /* "T19", "H04" */
  const char *description; /* one line */
} fault_info;

/* The knob table, indexed by fault_knob. Static storage. */
const fault_info *faults_catalogue(size_t *count);

/* Looks a knob up by name; -EINVAL if there is none. */
int faults_parse(const char *name, fault_knob *out);

typedef struct faults faults;

int faults_new(faults **out);
void faults_free(faults *f);

void faults_set(faults *f, fault_knob knob, int on);
int faults_on(const faults *f, fault_knob knob);
/* The fault injection rules (inject.h), owned by the set; NULL f: NULL.
 * Not const: matching a rule counts it down (inject.h locks). */
inject *faults_inject(const faults *f);
/* 1 when a knob that is on, or a fault rule, needs the wire engine (wire-*
 * knobs; the gRPC actions goaway, rst, close, http-status, no-trailers,
 * status-in-headers, compressed-flag, slow), with its name in why. */
int faults_need_wire(const faults *f, char *why, size_t size);
/* The knob acts only on the wire engine. */
int faults_knob_is_wire(fault_knob knob);
/* Names of the knobs that are on, comma-separated, into buf. */
void faults_describe(const faults *f, char *buf, size_t size);

#endif
