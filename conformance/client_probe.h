/* client_probe: one --probe-cmd scenario played and judged, apart from
 * the table of scenarios (client_scenarios.c) that describes each one.
 * Internal to the two; client_suite.h is the suite's contract. */
#ifndef HC_CLIENT_PROBE_H
#define HC_CLIENT_PROBE_H

#include "catalogue.h"

typedef enum expect { EXPECT_HEALTHY, EXPECT_UNHEALTHY } expect;

/* What a scenario judges besides the verdict, from the journal. */
typedef enum wire_check {
  WIRE_NONE = 0,
  WIRE_DEADLINE,   /* H-CHECK-6: every call carried a deadline within --probe-timeout */
  WIRE_SERVICE,    /* every call asked for --service */
  WIRE_CALLS,      /* 1 to --attempts calls per run */
  WIRE_USER_AGENT, /* the client names itself */
} wire_check;

typedef enum target_kind {
  TARGET_MOCK = 0, /* a mock-executor started with `args` */
  TARGET_REFUSED,  /* a port nothing listens on */
  TARGET_SILENT,   /* a socket that accepts (the kernel's backlog) and never answers */
} target_kind;

typedef struct probe_scenario {
  target_kind target;
  const char *args; /* the mock's extra flags; {service} is the service, quoted */
  int unregistered; /* the service is unknown to the mock (Check: NOT_FOUND) */
  int check_only;   /* what the mock plays breaks Check alone: skipped for a probe that Watches */
  int plaintext;    /* with --tls-cert, the mock still serves plaintext */
  int framing;      /* played by the mock's wire engine, which serves plaintext only */
  const char *variant; /* a wrong verdict real libraries give: WARN saying so, not FAIL */
  expect expect;
  wire_check wire;
} probe_scenario;

/* Plays s: starts its target, runs the probe once, and fills res from
 * the probe's verdict and, for s->wire, the mock's journal. Everything it
 * started is stopped before it returns. */
void client_probe_play(const case_ctx *ctx, const probe_scenario *s, case_result *res);

#endif
