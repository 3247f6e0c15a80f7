/* client_scenarios: the --probe-cmd scenarios (client_suite.h), each a
 * probe_scenario that client_probe.c plays and judges, and the hc_case
 * tables of each protocol that name them. */
#include "client_probe.h"
#include "client_suite.h"

/* ---- the scenarios ----------------------------------------------------------- */

#define SCENARIO(fn, ...)                               \
  static const probe_scenario fn##_def = {__VA_ARGS__}; \
  static void fn(const case_ctx *ctx, case_result *res) { client_probe_play(ctx, &fn##_def, res); }

SCENARIO(sc_serving, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY)
SCENARIO(sc_not_serving, .args = "--status {service}=NOT_SERVING", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_unknown, .args = "--status {service}=UNKNOWN", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_not_found, .unregistered = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_service_unknown, .args = "--status {service}=SERVICE_UNKNOWN",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_unimplemented,
         .args = "--status {service}=SERVING --fault 'method=*,action=code:UNIMPLEMENTED'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_rpc_error,
         .args =
             "--status {service}=SERVING "
             "--fault 'method=*,action=code:RESOURCE_EXHAUSTED,message=load shed'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_slow, .args = "--status {service}=SERVING --fault 'method=*,action=hang'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_refused, .target = TARGET_REFUSED, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_silent, .target = TARGET_SILENT, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_two_messages, .args = "--status {service}=SERVING --violate check-two-messages",
         .expect = EXPECT_UNHEALTHY, .check_only = 1)
SCENARIO(sc_no_message, .args = "--status {service}=SERVING --violate check-no-message",
         .expect = EXPECT_UNHEALTHY, .check_only = 1)
/* The wire engine's faults (docs/faults.md): the framing itself broken. */
SCENARIO(sc_no_trailers, .args = "--status {service}=SERVING --fault 'method=*,action=no-trailers'",
         .framing = 1, .expect = EXPECT_UNHEALTHY, .check_only = 1)
SCENARIO(sc_grpc_503,
         .args = "--status {service}=SERVING --fault 'method=*,action=http-status:503'",
         .framing = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_compressed,
         .args = "--status {service}=SERVING --fault 'method=*,action=compressed-flag'",
         .framing = 1, .expect = EXPECT_UNHEALTHY,
         .variant =
             "the probe read a message flagged compressed with no grpc-encoding (the gRPC "
             "C core and grpcio do; grpc-go and Envoy refuse it)")
SCENARIO(sc_rst, .args = "--status {service}=SERVING --fault 'method=*,action=rst'", .framing = 1,
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_goaway_error,
         .args = "--status {service}=SERVING --fault 'method=*,action=goaway:ENHANCE_YOUR_CALM'",
         .framing = 1, .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_goaway_graceful, .args = "--status {service}=SERVING --fault 'method=*,action=goaway'",
         .framing = 1, .expect = EXPECT_HEALTHY)
SCENARIO(sc_plaintext_peer, .args = "--status {service}=SERVING", .plaintext = 1,
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_deadline, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_DEADLINE)
SCENARIO(sc_service_asked, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_SERVICE)
SCENARIO(sc_calls, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_CALLS)
SCENARIO(sc_user_agent, .args = "--status {service}=SERVING", .expect = EXPECT_HEALTHY,
         .wire = WIRE_USER_AGENT)
SCENARIO(sc_http_503, .args = "--status {service}=NOT_SERVING", .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_http_500, .args = "--status {service}=SERVING --fault 'path=*,action=http-status:500'",
         .expect = EXPECT_UNHEALTHY)
SCENARIO(sc_http_404, .args = "--status {service}=SERVING --fault 'path=*,action=http-status:404'",
         .expect = EXPECT_UNHEALTHY)
/* The delay outlasts the bound of a run (the mock is stopped with it). */
SCENARIO(sc_http_slow, .args = "--status {service}=SERVING --fault 'path=*,action=delay:3600s'",
         .expect = EXPECT_UNHEALTHY)

#define GRPC PROTOCOL_GRPC
#define HTTP PROTOCOL_HTTP

static const hc_case grpc_scenarios[] = {
    {.id = "probe/serving",
     .test = "C01",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers SERVING -> healthy",
     .clause_text =
         "A healthy reply moves the subchannel to READY. Only SERVING counts as healthy.",
     .run = sc_serving},
    {.id = "probe/not-serving",
     .test = "C02",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers NOT_SERVING -> unhealthy",
     .clause_text =
         "Only SERVING counts as healthy (grpc_health_probe exits 4, kubelet fails the probe).",
     .run = sc_not_serving},
    {.id = "probe/unknown-status",
     .test = "C03",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server answers UNKNOWN (a 0-byte reply) -> unhealthy",
     .clause_text =
         "Only SERVING counts as healthy; UNKNOWN is the default value of an empty reply.",
     .run = sc_unknown},
    {.id = "probe/not-found",
     .test = "C04",
     .clauses = "H-CHECK-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the service is unknown (Check fails NOT_FOUND) -> unhealthy",
     .clause_text =
         "If the requested service is unknown, the call will fail with status NOT_FOUND.",
     .run = sc_not_found},
    {.id = "probe/service-unknown",
     .test = "C05",
     .clauses = "H-CHECK-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "the server answers SERVICE_UNKNOWN (from Check: a broken server) -> unhealthy, no crash",
     .clause_text =
         "SERVICE_UNKNOWN is for Watch; Envoy crashed when Check returned it (envoy#10825).",
     .run = sc_service_unknown},
    {.id = "probe/no-health-service",
     .test = "C06",
     .clauses = "H-CHECK-11",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "no Health service (UNIMPLEMENTED) -> unhealthy",
     .clause_text =
         "The client should be able to handle the case where server does not have the Health "
         "service.",
     .run = sc_unimplemented},
    {.id = "probe/rpc-error",
     .test = "C07",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the call fails RESOURCE_EXHAUSTED (a load shedder) -> unhealthy",
     .clause_text =
         "Anything but a SERVING reply is unhealthy; any RPC error exits 3 in grpc_health_probe.",
     .run = sc_rpc_error},
    {.id = "probe/slow-server",
     .test = "C08",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server never answers -> unhealthy within the probe's own timeout",
     .clause_text =
         "Clients should set a deadline when calling Check, and can declare the server unhealthy "
         "if they do not receive a timely response.",
     .run = sc_slow},
    {.id = "probe/connection-refused",
     .test = "C09",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "nothing listens on the port -> unhealthy",
     .clause_text = "A failed dial is a failed probe (grpc_health_probe exits 2).",
     .run = sc_refused},
    {.id = "probe/silent-server",
     .test = "C10",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the port accepts the connection and never answers -> unhealthy within the timeout",
     .clause_text = "kubelet: one timeoutSeconds covers both dial and Check; grpc_health_probe: "
                    "-connect-timeout then -rpc-timeout.",
     .run = sc_silent},
    {.id = "probe/second-message",
     .test = "C15",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check answers SERVING twice on the unary call -> unhealthy",
     .clause_text =
         "A unary reply has exactly one message (\"Response cardinality violation\"); Envoy: "
         "\"unexpected streaming\".",
     .run = sc_two_messages},
    {.id = "probe/no-message",
     .test = "C16",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check ends OK with no message -> unhealthy",
     .clause_text =
         "A unary reply has exactly one message; Envoy fails a check with no message at all.",
     .run = sc_no_message},
    {.id = "probe/tls-plaintext-server",
     .test = "C17",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "with --tls-cert: a SERVING server that speaks plaintext -> unhealthy",
     .clause_text =
         "grpc_health_probe -tls: a TLS failure (here a plaintext peer) is a connection failure, "
         "exit 2; a probe must not fall back to plaintext.",
     .run = sc_plaintext_peer},
    {.id = "probe/no-grpc-status",
     .test = "C30",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the reply's message comes, then the stream ends without trailers -> unhealthy",
     .clause_text =
         "Status must be sent in Trailers even if the status code is OK. Envoy: \"gRPC protocol "
         "violation: unexpected stream end\".",
     .run = sc_no_trailers},
    {.id = "probe/grpc-http-503",
     .test = "C31",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the gRPC call gets HTTP status 503, headers only -> unhealthy",
     .clause_text =
         "Envoy fails a check on an HTTP status other than 200; gRPC maps it to UNAVAILABLE.",
     .run = sc_grpc_503},
    {.id = "probe/compressed-flag",
     .test = "C32",
     .clauses = "H-CHECK-7",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "SERVING with the compressed flag set, nothing compressed -> unhealthy",
     .clause_text =
         "A frame with a non-zero flag byte is \"invalid grpc.health.v1 RPC payload\" (Envoy); "
         "a reply that cannot be read is not a healthy one.",
     .run = sc_compressed},
    {.id = "probe/rst-stream",
     .test = "C33",
     .clauses = "H-CHECK-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "the server resets the stream (RST_STREAM CANCEL) -> unhealthy",
     .clause_text =
         "No reply is no healthy reply: a reset call is an RPC failure (grpc_health_probe exit 3).",
     .run = sc_rst},
    {.id = "probe/goaway-error",
     .test = "C34",
     .clauses = "H-CLIENT-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "GOAWAY ENHANCE_YOUR_CALM, the call unanswered -> unhealthy",
     .clause_text = "Envoy: any GOAWAY other than NO_ERROR fails the check.",
     .run = sc_goaway_error},
    {.id = "probe/goaway-graceful",
     .test = "C35",
     .clauses = "H-CLIENT-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "GOAWAY NO_ERROR, then the call answered SERVING -> healthy (the answer stands)",
     .clause_text = "Envoy: GOAWAY with NO_ERROR lets the in-flight check finish.",
     .run = sc_goaway_graceful},
    {.id = "probe/deadline-sent",
     .test = "C11",
     .clauses = "H-CHECK-6",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "every call carries a deadline (grpc-timeout) within --probe-timeout",
     .clause_text = "Clients should set a deadline when calling Check.",
     .run = sc_deadline},
    {.id = "probe/service-asked",
     .test = "C12",
     .clauses = "H-SVC-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "every call asks for the service given as {service}",
     .clause_text = "Service names are matched exactly: the probe asks for the name it was given "
                    "(grpc_health_probe -service, kubelet grpc.service).",
     .run = sc_service_asked},
    {.id = "probe/one-call",
     .test = "C13",
     .clauses = "H-CHECK-6",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "one probe run makes one call (at most --attempts)",
     .clause_text = "grpc_health_probe and kubelet make one unary Check per run, with no retries.",
     .run = sc_calls},
    {.id = "probe/user-agent",
     .test = "C14",
     .clauses = "H-CHECK-6",
     .level = LEVEL_MAY,
     .protocol = GRPC,
     .summary = "the probe names itself in user-agent (reported)",
     .clause_text = "grpc_health_probe sends -user-agent (default grpc_health_probe), kubelet "
                    "kube-probe/<version>, Envoy Envoy/HC.",
     .run = sc_user_agent},
};

static const hc_case http_scenarios[] = {
    {.id = "probe/http-ok",
     .test = "C20",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 200 {} -> healthy",
     .clause_text = "kubelet DoHTTPProbe: 200 <= code < 400 is success.",
     .run = sc_serving},
    {.id = "probe/http-503",
     .test = "C21",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 503 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_503},
    {.id = "probe/http-500",
     .test = "C22",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 500 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_500},
    {.id = "probe/http-404",
     .test = "C23",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET answers 404 -> unhealthy",
     .clause_text = "kubelet DoHTTPProbe: any code outside 200-399 is a failure.",
     .run = sc_http_404},
    {.id = "probe/http-slow",
     .test = "C24",
     .clauses = "H-HTTP-5",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET never answers in time -> unhealthy within the probe's own timeout",
     .clause_text =
         "kubelet probes with timeoutSeconds (default 1 s) and counts a late answer as a failure.",
     .run = sc_http_slow},
    {.id = "probe/http-connection-refused",
     .test = "C25",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "nothing listens on the port -> unhealthy",
     .clause_text = "No answer at all is a failed probe.",
     .run = sc_refused},
    {.id = "probe/http-tls-plaintext-server",
     .test = "C29",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "with --tls-cert: a server answering 200 in plaintext HTTP -> unhealthy",
     .clause_text =
         "An https:// probe that falls back to plaintext HTTP checks a server it cannot trust.",
     .run = sc_plaintext_peer},
    {.id = "probe/http-path-asked",
     .test = "C26",
     .clauses = "H-HTTP-6",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "the request asks for {url}'s path (GET / or /health/{service})",
     .clause_text =
         "The health endpoint is GET / (an Executor has no other route); the mock serves a named "
         "service on /health/NAME.",
     .run = sc_service_asked},
    {.id = "probe/http-one-request",
     .test = "C27",
     .clauses = "H-HTTP-5",
     .level = LEVEL_SHOULD,
     .protocol = HTTP,
     .summary = "one probe run makes one request (at most --attempts)",
     .clause_text = "kubelet makes one GET per period.",
     .run = sc_calls},
    {.id = "probe/http-user-agent",
     .test = "C28",
     .clauses = "H-HTTP-5",
     .level = LEVEL_MAY,
     .protocol = HTTP,
     .summary = "the probe names itself in user-agent (reported)",
     .clause_text = "kubelet sends kube-probe/<version>.",
     .run = sc_user_agent},
};

const hc_case *client_probe_scenarios(case_protocol protocol, size_t *count) {
  if (protocol == PROTOCOL_HTTP) {
    *count = sizeof(http_scenarios) / sizeof(http_scenarios[0]);
    return http_scenarios;
  }
  *count = sizeof(grpc_scenarios) / sizeof(grpc_scenarios[0]);
  return grpc_scenarios;
}
