/*
 * cases_table: every conformance case, in run order; the clauses are
 * those of docs/protocol.md. A case whose changes a hook may be unable to
 * undo (NEED_LAST: it cannot REMOVE, or cannot RESUME after a shutdown)
 * comes after every case that could read them, so that no verdict depends
 * on what ran before: list/limit after the other List cases, the shutdown
 * cases at the very end. test_catalogue.c holds the table to that.
 * Clause texts are quoted from the reference, for failure reports.
 */
#include "cases.h"

#define GRPC PROTOCOL_GRPC
#define CTL NEED_CONTROL
#define HTTP PROTOCOL_HTTP
#define SHUT (NEED_CONTROL | NEED_SHUTDOWN | NEED_ALONE | NEED_LAST)
#define ALONE NEED_ALONE
#define LAST NEED_LAST

static const hc_case cases[] = {
    {.id = "check/overall-health",
     .test = "T01",
     .clauses = "H-SVC-3,H-SVC-4,H-CHECK-1,H-CHECK-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check '' answers OK with SERVING or NOT_SERVING",
     .clause_text =
         "If the caller does not specify a service name, the server should respond with its "
         "overall "
         "health status. [...] a response must be sent back with an OK status and the status field "
         "should be set to SERVING or NOT_SERVING accordingly.",
     .run = case_check_overall_health},
    {.id = "check/empty-request",
     .test = "T02",
     .clauses = "H-CHECK-8",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "a 0-byte request (what every probe sends) reads as service ''",
     .clause_text =
         "The server accepts a 0-byte request message and reads it as service=\"\". Every standard "
         "probe sends one.",
     .run = case_check_empty_request},
    {.id = "check/explicit-empty-field",
     .test = "T03",
     .clauses = "H-CHECK-8",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "request '0a 00' (service present, empty) is answered like the 0-byte request",
     .clause_text = "The server accepts a 0-byte request message and reads it as service=\"\".",
     .run = case_check_explicit_empty_field},
    {.id = "check/registered-not-serving",
     .test = "T04",
     .clauses = "H-CHECK-1",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "a name set NOT_SERVING answers OK with NOT_SERVING, not an error",
     .clause_text =
         "a response must be sent back with an OK status and the status field should be set to "
         "SERVING or NOT_SERVING accordingly.",
     .run = case_check_registered_not_serving},
    {.id = "check/unknown-service-not-found",
     .test = "T05",
     .clauses = "H-CHECK-2,H-CHECK-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "an unregistered name fails with NOT_FOUND, never OK with some status",
     .clause_text =
         "If the requested service is unknown, the call will fail with status NOT_FOUND.",
     .run = case_check_unknown_not_found},
    {.id = "check/no-service-unknown",
     .test = "T07",
     .clauses = "H-SVC-2,H-CHECK-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Check of a registered name never answers SERVICE_UNKNOWN (FAIL) or UNKNOWN (WARN)",
     .clause_text = "SERVICE_UNKNOWN = 3;  // Used only by the Watch method.",
     .run = case_check_no_service_unknown},
    {.id = "check/exact-name-match",
     .test = "T08",
     .clauses = "H-SVC-5,H-CHECK-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "names match exactly: other case, a trailing space or a prefix give NOT_FOUND",
     .clause_text =
         "The server can just do exact matching of the service name without support of any kind of "
         "wildcard matching.",
     .run = case_check_exact_match},
    {.id = "check/unknown-field-ignored",
     .test = "T09",
     .clauses = "H-CHECK-9",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "a request with an unknown field is answered as without it",
     .clause_text = "old binaries simply ignore the new field when parsing.",
     .run = case_check_unknown_field_ignored},
    {.id = "check/latency-budget",
     .test = "T10",
     .clauses = "H-CHECK-6,H-WIRE-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = ALONE,
     .summary = "Check with grpc-timeout 1S answers within the latency budget",
     .clause_text = "Clients should set a deadline when calling Check, and can declare the server "
                    "unhealthy if "
                    "they do not receive a timely response.",
     .run = case_check_latency_budget},
    {.id = "check/idempotent",
     .test = "T11",
     .clauses = "H-CHECK-5,H-LIST-5",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "20 sequential Checks with no change give the same answer",
     .clause_text = "Check implementations should be idempotent and side effect free.",
     .run = case_check_idempotent},
    {.id = "check/concurrent-on-one-connection",
     .test = "T12",
     .clauses = "H-WATCH-10",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "50 concurrent Checks on one connection all succeed",
     .clause_text =
         "health checking will use a stream on every connection. This stream counts toward the "
         "HTTP/2 MAX_CONCURRENT_STREAMS setting.",
     .run = case_check_concurrent},
    {.id = "wire/unknown-method-unimplemented",
     .test = "T13",
     .clauses = "H-WIRE-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "an unknown method or service gets UNIMPLEMENTED",
     .clause_text = "Method not found at server | UNIMPLEMENTED | Server",
     .run = case_check_unknown_method},
    {.id = "check/long-name",
     .test = "T35",
     .clauses = "H-CHECK-10",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "a 4 KiB name gets NOT_FOUND or INVALID_ARGUMENT and the server stays up",
     .clause_text = "The server may reject over-long names. C++ answers INVALID_ARGUMENT when a "
                    "name is longer "
                    "than 200 bytes.",
     .run = case_check_long_name},
    {.id = "check/probe-verdict",
     .test = "T37",
     .clauses = "H-CLIENT-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "grpc_health_probe's verdict on '' is 0 (SERVING) or 4 (NOT_SERVING), and the "
                "probe agrees",
     .clause_text = "Exit codes: 0 means the reply was SERVING. 2 means the connection failed. 3 "
                    "means the RPC "
                    "failed. 4 means the RPC succeeded but the status was not SERVING.",
     .run = case_check_probe_verdict},
    {.id = "wire/unary-one-message-and-trailers",
     .test = "T06",
     .clauses = "H-CHECK-7,H-WIRE-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "raw HTTP/2 Check: HTTP 200, gRPC content-type, one message, grpc-status 0 in trailers",
     .clause_text = "Response cardinality violation (method requires exactly one response but "
                    "server sent some "
                    "other number of responses) | UNIMPLEMENTED | Client; Status must be sent in "
                    "Trailers even "
                    "if the status code is OK.",
     .run = case_wire_unary_framing},
    {.id = "wire/uncompressed-by-default",
     .test = "T33",
     .clauses = "H-WIRE-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "with no grpc-accept-encoding sent, replies have compressed flag 0",
     .clause_text = "If the Message-Encoding header is omitted then the Compressed-Flag must be 0.",
     .run = case_wire_uncompressed},
    {.id = "wire/content-type-415",
     .test = "T34",
     .clauses = "H-WIRE-2",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .summary = "a POST with content-type text/plain gets HTTP 415",
     .clause_text = "If Content-Type does not begin with \"application/grpc\", gRPC servers SHOULD "
                    "respond with "
                    "HTTP status of 415",
     .run = case_wire_content_type_415},
    {.id = "watch/implemented",
     .test = "T23",
     .clauses = "H-WATCH-8",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Watch is served, or refused with UNIMPLEMENTED (WARN), never another code",
     .clause_text = "A server without Watch answers UNIMPLEMENTED, not some other code and not a "
                    "hang. Clients "
                    "then treat the backend as healthy.",
     .run = case_watch_implemented},
    {.id = "watch/first-message-immediate",
     .test = "T14",
     .clauses = "H-WATCH-1",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Watch '' sends the current status (SERVING or NOT_SERVING) within 1 s",
     .clause_text =
         "The server will immediately send back a message indicating the current serving status.",
     .run = case_watch_first_message},
    {.id = "watch/stays-open",
     .test = "T15",
     .clauses = "H-WATCH-3,H-WATCH-7",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "after the first message, Watch '' does not end on its own",
     .clause_text = "If the call terminates with any other status (including OK), clients should "
                    "retry the call "
                    "with appropriate exponential backoff.",
     .run = case_watch_stays_open},
    {.id = "watch/unknown-service-stays-open",
     .test = "T16",
     .clauses = "H-WATCH-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "Watch of an unknown name sends SERVICE_UNKNOWN and stays open",
     .clause_text = "the server will send a message setting the serving status to SERVICE_UNKNOWN "
                    "but will *not* "
                    "terminate the call.",
     .run = case_watch_unknown_stays_open},
    {.id = "watch/pushes-changes",
     .test = "T17",
     .clauses = "H-WATCH-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "a status change reaches an open Watch",
     .clause_text = "It will then subsequently send a new message whenever the service's serving "
                    "status changes.",
     .run = case_watch_pushes_changes},
    {.id = "watch/unknown-then-registered",
     .test = "T18",
     .clauses = "H-WATCH-4",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "a watched unknown name that gets registered sends its status",
     .clause_text = "If at some future point, the serving status of the service becomes known, the "
                    "server will "
                    "send a new message with the service's serving status.",
     .run = case_watch_unknown_then_registered},
    {.id = "watch/no-duplicates",
     .test = "T19",
     .clauses = "H-WATCH-5",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "setting the same status again sends no duplicate message (WARN)",
     .clause_text =
         "The server sends no consecutive duplicate statuses. (grpc-go: if lastSentStatus == "
         "servingStatus { continue })",
     .run = case_watch_no_duplicates},
    {.id = "watch/slow-reader-gets-latest",
     .test = "T20",
     .clauses = "H-WATCH-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "a reader that pauses through 100 flips ends on the latest status",
     .clause_text = "For a slow reader the server may coalesce, dropping intermediate statuses, "
                    "but the latest "
                    "status must eventually be delivered.",
     .run = case_watch_slow_reader},
    {.id = "watch/all-watchers-notified",
     .test = "T21",
     .clauses = "H-WATCH-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL,
     .summary = "5 watchers of one name all get its change",
     .clause_text = "It will then subsequently send a new message whenever the service's serving "
                    "status changes.",
     .run = case_watch_all_watchers},
    {.id = "watch/cancel-does-not-leak",
     .test = "T22",
     .clauses = "H-WATCH-10,H-CLIENT-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "200 Watches opened and cancelled; Watch and Check still work",
     .clause_text = "When the client subchannel is shutting down or when the backend sends a "
                    "GOAWAY, the client "
                    "will cancel the Watch() call.",
     .run = case_watch_cancel_no_leak},
    {.id = "watch/check-not-starved",
     .test = "T36",
     .clauses = "H-WATCH-10,H-CHECK-6",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = ALONE,
     .summary = "with 64 Watches open, Check answers within the latency budget",
     .clause_text =
         "health checking will use a stream on every connection. [...] Clients should set a "
         "deadline "
         "when calling Check, and can declare the server unhealthy if they do not receive a timely "
         "response.",
     .run = case_watch_check_not_starved},
    {.id = "list/includes-checked-names",
     .test = "T26",
     .clauses = "H-LIST-1,H-LIST-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "List (if served) holds '' and every known name with Check's status",
     .clause_text = "statuses contains all the services and their respective status.",
     .run = case_list_includes_names},
    {.id = "list/map-encoding",
     .test = "T28",
     .clauses = "H-LIST-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "List (if served) map entries decode strictly, with or without explicit empty keys",
     .clause_text = "map<string, HealthCheckResponse> statuses = 1; statuses contains all the "
                    "services and their "
                    "respective status.",
     .run = case_list_map_encoding},
    {.id = "reflection/lists-health",
     .test = "T29",
     .clauses = "H-REFL-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "reflection (if served) list_services names grpc.health.v1.Health",
     .clause_text = "List the full names of registered services. The content will not be checked.",
     .run = case_reflection_lists_health},
    {.id = "reflection/describes-health",
     .test = "T30",
     .clauses = "H-SVC-1,H-REFL-4,H-REFL-8",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "reflection (if served) describes Health: Check unary, Watch server-streaming",
     .clause_text = "This message is used to answer file_by_filename, file_containing_symbol, "
                    "file_containing_extension requests with transitive dependencies.",
     .run = case_reflection_describes_health},
    {.id = "reflection/v1alpha-fallback",
     .test = "T31",
     .clauses = "H-REFL-2",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary = "reflection v1 is served, or UNIMPLEMENTED with v1alpha served",
     .clause_text = "If it gets back an \"Unimplemented\" error, it will fall back to using the "
                    "v1alpha version.",
     .run = case_reflection_version_fallback},
    {.id = "reflection/unknown-symbol-in-stream",
     .test = "T32",
     .clauses = "H-REFL-5",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .summary =
         "an unknown symbol gets an in-stream error_response NOT_FOUND; the stream stays usable",
     .clause_text =
         "Lookup failures go back in-stream as error_response{error_code:5}, and the stream stays "
         "usable.",
     .run = case_reflection_unknown_symbol},
    /* Leaves 101 names when the hook cannot remove them: after every List reader. */
    {.id = "list/limit",
     .test = "T27",
     .clauses = "H-LIST-3",
     .level = LEVEL_MUST,
     .protocol = GRPC,
     .needs = CTL | ALONE | LAST,
     .summary = "List (if served) answers OK at 100 services, OK or RESOURCE_EXHAUSTED at 101",
     .clause_text =
         "The server may respond with a RESOURCE_EXHAUSTED error if too many services exist. (A90: "
         "The maximum number of services to return is 100)",
     .run = case_list_limit},
    /* HTTP (--protocol http): Jina's FastAPI Executor app, kubelet httpGet, `jina ping`. */
    {.id = "http/root-ok",
     .test = "H01",
     .clauses = "H-HTTP-1",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET / answers 200 while healthy (WARN for another 2xx/3xx: `jina ping` needs 200)",
     .clause_text =
         "GET / returns {} with status 200 (Jina worker/http_fastapi_app.py). Jina's readiness "
         "check: \"return conn.code == HTTPStatus.OK\" (servers/http.py).",
     .run = case_http_root_ok},
    {.id = "http/root-json-body",
     .test = "H02",
     .clauses = "H-HTTP-1",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .summary = "GET / carries a JSON body: {} passes, other valid JSON warns, non-JSON fails",
     .clause_text = "GET / returns {} with status 200. The response model is the empty pydantic "
                    "JinaHealthModel.",
     .run = case_http_root_json_body},
    {.id = "http/root-content-type-json",
     .test = "H03",
     .clauses = "H-HTTP-3",
     .level = LEVEL_SHOULD,
     .protocol = HTTP,
     .summary = "GET / is labelled Content-Type: application/json",
     .clause_text =
         "FastAPI answers a response model with JSONResponse, media_type application/json.",
     .run = case_http_root_content_type},
    {.id = "http/keep-alive",
     .test = "H04",
     .clauses = "H-HTTP-4",
     .level = LEVEL_SHOULD,
     .protocol = HTTP,
     .summary = "3 GETs on one client reuse one HTTP/1.1 connection",
     .clause_text = "HTTP/1.1 defaults to the use of \"persistent connections\", allowing multiple "
                    "requests and "
                    "responses to be carried over a single connection (RFC 9112 section 9.3).",
     .run = case_http_keep_alive},
    {.id = "http/latency-budget",
     .test = "H05",
     .clauses = "H-HTTP-5",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .needs = ALONE,
     .summary = "GET / answers within the latency budget",
     .clause_text =
         "kubelet probes with timeoutSeconds (default 1 s) and counts a late answer as a failure.",
     .run = case_http_latency_budget},
    {.id = "http/unhealthy-not-success",
     .test = "H06",
     .clauses = "H-HTTP-2",
     .level = LEVEL_MUST,
     .protocol = HTTP,
     .needs = CTL | ALONE,
     .summary = "'' NOT_SERVING turns GET / outside 200-399, SERVING turns it back",
     .clause_text =
         "kubelet DoHTTPProbe: \"if res.StatusCode >= http.StatusOK && res.StatusCode < "
         "http.StatusBadRequest\" is success (k8s pkg/probe/http/http.go). Unhealthy means no 200.",
     .run = case_http_unhealthy_not_success},
    {.id = "http/unknown-path-not-health",
     .test = "H07",
     .clauses = "H-HTTP-6",
     .level = LEVEL_SHOULD,
     .protocol = HTTP,
     .summary = "an unknown path does not answer 200 with the health body",
     .clause_text =
         "A FastAPI app answers 404 {\"detail\":\"Not Found\"} on a path with no route; an "
         "Executor has no route but GET / (H-HTTP-6).",
     .run = case_http_unknown_path},
    {.id = "http/head",
     .test = "H08",
     .clauses = "H-HTTP-7",
     .level = LEVEL_MAY,
     .protocol = HTTP,
     .summary = "HEAD / answers like GET without a body, or 405 as Jina's FastAPI app does",
     .clause_text =
         "HEAD / is 405 on FastAPI, which does not add HEAD to GET routes; a real Jina Executor "
         "must pass, so HEAD is at most optional here.",
     .run = case_http_head},
    {.id = "shutdown/watchers-see-not-serving",
     .test = "T24",
     .clauses = "H-WATCH-9",
     .level = LEVEL_SHOULD,
     .protocol = GRPC,
     .needs = SHUT,
     .summary = "on graceful shutdown, watchers get NOT_SERVING and Check says NOT_SERVING",
     .clause_text = "Make sure you inform the health check library about server shutdown so that "
                    "it can notify "
                    "all the connected clients.",
     .run = case_shutdown_watchers_not_serving},
    {.id = "shutdown/sets-ignored",
     .test = "T25",
     .clauses = "H-WATCH-9",
     .level = LEVEL_MAY,
     .protocol = GRPC,
     .needs = SHUT,
     .summary = "after shutdown, setting SERVING leaves Check NOT_SERVING (WARN only)",
     .clause_text =
         "Shutdown() sets all NOT_SERVING and ignores later sets (grpc-go; Java, Python and C++ "
         "alike).",
     .run = case_shutdown_sets_ignored},
};

const hc_case *catalogue_cases(size_t *count) {
  *count = sizeof(cases) / sizeof(cases[0]);
  return cases;
}
