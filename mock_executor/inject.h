/*
 * inject: fault injection rules for testing clients (retry, backoff,
 * deadlines): "the next 3 Checks hang, then answer". A rule is one line:
 *
 *   method=Check,service=,action=code:UNAVAILABLE,count=3
 *   path=/,action=http-status:500,probability=0.5
 *   method=Check,action=delay:200ms,message=...
 *
 * comma-separated KEY=VALUE parts, in any order:
 *   method=Check|Watch|List|*   a gRPC rule (Health's methods)
 *   path=/|/health/NAME|*       an HTTP rule (the decoded path)
 *   service=NAME                only calls for NAME ("service=" is "");
 *                               absent: any service
 *   action=...                  what to do (required):
 *     delay:D          answer D late (e.g. 200ms), then normally
 *     random-delay:D   answer 0..D late (seeded), then normally
 *     hang             gRPC: never answer (the client's deadline ends it)
 *     code:C           gRPC: fail with status C (UNAVAILABLE or 14),
 *                      trailers-only (no message)
 *     http-status:N    HTTP: answer N (100-599) {"error":"injected fault"}
 *     close            HTTP: close the connection without an answer;
 *                      gRPC: the response headers, then the TCP connection
 *                      closes (mid-call)
 *     reset            HTTP: close it with a TCP RST (SO_LINGER 0); gRPC:
 *                      the same, once the response headers are out
 *     slow-body:D      HTTP: the headers at once, the body a byte at a
 *                      time spread over D; gRPC: as slow:D
 *   gRPC actions that break the framing, played by the wire engine
 *   (mock-executor picks it for them, wire_engine.h):
 *     goaway[:E]       GOAWAY on the call's connection: NO_ERROR (default)
 *                      is graceful, last-stream-id this call, which is then
 *                      answered; an error code E (name or number, e.g.
 *                      ENHANCE_YOUR_CALM or 11) ends the connection, the
 *                      call unanswered, last-stream-id the call before
 *     rst[:E[/W]]      RST_STREAM with HTTP/2 error code E (default CANCEL),
 *                      W: before (default) the headers, after-headers, or
 *                      after-message
 *     http-status:N    the reply is HTTP status N, headers only
 *     no-trailers      the message, then the stream ends without trailers
 *     status-in-headers grpc-status 0 in the response headers, then the
 *                      message, no trailers
 *     compressed-flag  the message carries compressed flag 1, uncompressed
 *     slow:D           the reply's message bytes trickled over D
 *   probability=P               0 < P <= 1 (default 1): the chance a
 *                               matching call is hit, drawn from a PRNG
 *                               seeded by --fault-seed
 *   count=N                     hit the next N matching calls, then the
 *                               rule is spent (default: no limit)
 *   message=TEXT                the status message of code:C; must come
 *                               last, takes the rest of the line (commas too)
 *
 * Exactly one of method= and path=. Rules are tried in the order they were
 * added; the first that matches, is not spent and wins its roll applies.
 *
 * Thread safety: inject_* calls on one set may come from any thread (a
 * mutex); inject_parse has no state.
 */
#ifndef HC_INJECT_H
#define HC_INJECT_H

#include <stddef.h>
#include <stdint.h>

#define INJECT_TEXT_MAX 256 /* method, path, service and message limits */
#define INJECT_MAX_RULES 64
#define INJECT_ERR_MAX 256

typedef enum inject_protocol { INJECT_GRPC = 0, INJECT_HTTP } inject_protocol;

typedef enum inject_action {
  INJECT_DELAY = 0,
  INJECT_RANDOM_DELAY,
  INJECT_HANG,
  INJECT_CODE,
  INJECT_RESET,
  INJECT_HTTP_STATUS,
  INJECT_CLOSE,
  INJECT_SLOW_BODY,
  INJECT_GOAWAY,            /* gRPC, wire engine: code = HTTP/2 error code */
  INJECT_RST,               /* gRPC, wire engine: code, when */
  INJECT_NO_TRAILERS,       /* gRPC, wire engine */
  INJECT_STATUS_IN_HEADERS, /* gRPC, wire engine */
  INJECT_COMPRESSED_FLAG,   /* gRPC, wire engine */
  INJECT_SLOW               /* gRPC, wire engine: delay_ms */
} inject_action;

/* When an rst comes. */
typedef enum inject_when {
  INJECT_BEFORE_HEADERS = 0,
  INJECT_AFTER_HEADERS,
  INJECT_AFTER_MESSAGE
} inject_when;

typedef struct inject_rule {
  inject_protocol protocol;
  char target[INJECT_TEXT_MAX]; /* the method ("Check") or path ("/"); "*": any */
  int any_service;              /* no service= part */
  char service[INJECT_TEXT_MAX];
  inject_action action;
  long delay_ms;                  /* DELAY, RANDOM_DELAY (the upper bound), SLOW_BODY */
  int code;                       /* CODE: gRPC code; HTTP_STATUS: HTTP code;
                                   * GOAWAY, RST: HTTP/2 error code */
  inject_when when;               /* RST */
  char message[INJECT_TEXT_MAX];  /* CODE: the status message ("" none) */
  double probability;             /* (0, 1] */
  long count;                     /* hits left; -1: no limit */
  long hits;                      /* times applied so far */
  char text[2 * INJECT_TEXT_MAX]; /* the rule as given */
} inject_rule;

/* Parses one rule. On error returns -EINVAL and a message naming the bad
 * part ("action: 'code:NOPE' ...") in err (INJECT_ERR_MAX bytes). */
int inject_parse(const char *text, inject_rule *out, char *err, size_t errlen);

typedef struct inject inject;

/* A set of rules with its PRNG seeded by `seed` (the same seed, calls and
 * rules give the same decisions). */
int inject_new(uint64_t seed, inject **out);
void inject_free(inject *in);
/* Restarts the PRNG from `seed` (--fault-seed, before serving). */
void inject_seed(inject *in, uint64_t seed);

/* Appends a copy of the rule. -ENOSPC past INJECT_MAX_RULES. */
int inject_add(inject *in, const inject_rule *rule);
/* Drops every rule (the PRNG goes on). */
void inject_clear(inject *in);

/* What a call must suffer. */
typedef struct inject_hit {
  inject_action action;
  long delay_ms; /* DELAY and RANDOM_DELAY: this call's delay, drawn; SLOW_BODY */
  int code;
  inject_when when;
  char message[INJECT_TEXT_MAX];
} inject_hit;

/* The rule is a gRPC rule only the wire engine can play (GOAWAY,
 * RST_STREAM, close, http-status, no-trailers, status-in-headers,
 * compressed-flag, slow). */
int inject_action_is_wire(const inject_rule *rule);

/* Looks for a rule hitting this call (target: "Check" or the HTTP path;
 * service: the name asked for). Returns 1 and fills *hit, counting the
 * hit, or 0 when the call goes on normally. NULL `in`: 0. */
int inject_match(inject *in, inject_protocol protocol, const char *target, const char *service,
                 inject_hit *hit);

/* A copy of the rules (with counts left and hits) into *out (malloc'd, the
 * caller frees) and their number into *n. -ENOMEM. */
int inject_snapshot(inject *in, inject_rule **out, size_t *n);

#endif
