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
    {"check/overall-health", "T01", "H-SVC-3,H-SVC-4,H-CHECK-1,H-CHECK-3", LEVEL_MUST, GRPC, 0,
     "Check '' answers OK with SERVING or NOT_SERVING",
     "If the caller does not specify a service name, the server should respond with its overall "
     "health status. [...] a response must be sent back with an OK status and the status field "
     "should be set to SERVING or NOT_SERVING accordingly.",
     case_check_overall_health},
    {"check/empty-request", "T02", "H-CHECK-8", LEVEL_MUST, GRPC, 0,
     "a 0-byte request (what every probe sends) reads as service ''",
     "The server accepts a 0-byte request message and reads it as service=\"\". Every standard "
     "probe sends one.",
     case_check_empty_request},
    {"check/explicit-empty-field", "T03", "H-CHECK-8", LEVEL_MUST, GRPC, 0,
     "request '0a 00' (service present, empty) is answered like the 0-byte request",
     "The server accepts a 0-byte request message and reads it as service=\"\".",
     case_check_explicit_empty_field},
    {"check/registered-not-serving", "T04", "H-CHECK-1", LEVEL_MUST, GRPC, CTL,
     "a name set NOT_SERVING answers OK with NOT_SERVING, not an error",
     "a response must be sent back with an OK status and the status field should be set to "
     "SERVING or NOT_SERVING accordingly.",
     case_check_registered_not_serving},
    {"check/unknown-service-not-found", "T05", "H-CHECK-2,H-CHECK-4", LEVEL_MUST, GRPC, 0,
     "an unregistered name fails with NOT_FOUND, never OK with some status",
     "If the requested service is unknown, the call will fail with status NOT_FOUND.",
     case_check_unknown_not_found},
    {"check/no-service-unknown", "T07", "H-SVC-2,H-CHECK-4", LEVEL_MUST, GRPC, 0,
     "Check of a registered name never answers SERVICE_UNKNOWN (FAIL) or UNKNOWN (WARN)",
     "SERVICE_UNKNOWN = 3;  // Used only by the Watch method.", case_check_no_service_unknown},
    {"check/exact-name-match", "T08", "H-SVC-5,H-CHECK-2", LEVEL_MUST, GRPC, CTL,
     "names match exactly: other case, a trailing space or a prefix give NOT_FOUND",
     "The server can just do exact matching of the service name without support of any kind of "
     "wildcard matching.",
     case_check_exact_match},
    {"check/unknown-field-ignored", "T09", "H-CHECK-9", LEVEL_SHOULD, GRPC, 0,
     "a request with an unknown field is answered as without it",
     "old binaries simply ignore the new field when parsing.", case_check_unknown_field_ignored},
    {"check/latency-budget", "T10", "H-CHECK-6,H-WIRE-5", LEVEL_MUST, GRPC, ALONE,
     "Check with grpc-timeout 1S answers within the latency budget",
     "Clients should set a deadline when calling Check, and can declare the server unhealthy if "
     "they do not receive a timely response.",
     case_check_latency_budget},
    {"check/idempotent", "T11", "H-CHECK-5,H-LIST-5", LEVEL_SHOULD, GRPC, 0,
     "20 sequential Checks with no change give the same answer",
     "Check implementations should be idempotent and side effect free.", case_check_idempotent},
    {"check/concurrent-on-one-connection", "T12", "H-WATCH-10", LEVEL_MUST, GRPC, 0,
     "50 concurrent Checks on one connection all succeed",
     "health checking will use a stream on every connection. This stream counts toward the "
     "HTTP/2 MAX_CONCURRENT_STREAMS setting.",
     case_check_concurrent},
    {"wire/unknown-method-unimplemented", "T13", "H-WIRE-4", LEVEL_MUST, GRPC, 0,
     "an unknown method or service gets UNIMPLEMENTED",
     "Method not found at server | UNIMPLEMENTED | Server", case_check_unknown_method},
    {"check/long-name", "T35", "H-CHECK-10", LEVEL_MUST, GRPC, 0,
     "a 4 KiB name gets NOT_FOUND or INVALID_ARGUMENT and the server stays up",
     "The server may reject over-long names. C++ answers INVALID_ARGUMENT when a name is longer "
     "than 200 bytes.",
     case_check_long_name},
    {"check/probe-verdict", "T37", "H-CLIENT-3", LEVEL_MUST, GRPC, 0,
     "grpc_health_probe's verdict on '' is 0 (SERVING) or 4 (NOT_SERVING), and the probe agrees",
     "Exit codes: 0 means the reply was SERVING. 2 means the connection failed. 3 means the RPC "
     "failed. 4 means the RPC succeeded but the status was not SERVING.",
     case_check_probe_verdict},
    {"wire/unary-one-message-and-trailers", "T06", "H-CHECK-7,H-WIRE-3", LEVEL_MUST, GRPC, 0,
     "raw HTTP/2 Check: HTTP 200, gRPC content-type, one message, grpc-status 0 in trailers",
     "Response cardinality violation (method requires exactly one response but server sent some "
     "other number of responses) | UNIMPLEMENTED | Client; Status must be sent in Trailers even "
     "if the status code is OK.",
     case_wire_unary_framing},
    {"wire/uncompressed-by-default", "T33", "H-WIRE-6", LEVEL_MUST, GRPC, 0,
     "with no grpc-accept-encoding sent, replies have compressed flag 0",
     "If the Message-Encoding header is omitted then the Compressed-Flag must be 0.",
     case_wire_uncompressed},
    {"wire/content-type-415", "T34", "H-WIRE-2", LEVEL_SHOULD, GRPC, 0,
     "a POST with content-type text/plain gets HTTP 415",
     "If Content-Type does not begin with \"application/grpc\", gRPC servers SHOULD respond with "
     "HTTP status of 415",
     case_wire_content_type_415},
    {"watch/implemented", "T23", "H-WATCH-8", LEVEL_MUST, GRPC, 0,
     "Watch is served, or refused with UNIMPLEMENTED (WARN), never another code",
     "A server without Watch answers UNIMPLEMENTED, not some other code and not a hang. Clients "
     "then treat the backend as healthy.",
     case_watch_implemented},
    {"watch/first-message-immediate", "T14", "H-WATCH-1", LEVEL_MUST, GRPC, 0,
     "Watch '' sends the current status (SERVING or NOT_SERVING) within 1 s",
     "The server will immediately send back a message indicating the current serving status.",
     case_watch_first_message},
    {"watch/stays-open", "T15", "H-WATCH-3,H-WATCH-7", LEVEL_MUST, GRPC, 0,
     "after the first message, Watch '' does not end on its own",
     "If the call terminates with any other status (including OK), clients should retry the call "
     "with appropriate exponential backoff.",
     case_watch_stays_open},
    {"watch/unknown-service-stays-open", "T16", "H-WATCH-3", LEVEL_MUST, GRPC, 0,
     "Watch of an unknown name sends SERVICE_UNKNOWN and stays open",
     "the server will send a message setting the serving status to SERVICE_UNKNOWN but will *not* "
     "terminate the call.",
     case_watch_unknown_stays_open},
    {"watch/pushes-changes", "T17", "H-WATCH-2", LEVEL_MUST, GRPC, CTL,
     "a status change reaches an open Watch",
     "It will then subsequently send a new message whenever the service's serving status changes.",
     case_watch_pushes_changes},
    {"watch/unknown-then-registered", "T18", "H-WATCH-4", LEVEL_MUST, GRPC, CTL,
     "a watched unknown name that gets registered sends its status",
     "If at some future point, the serving status of the service becomes known, the server will "
     "send a new message with the service's serving status.",
     case_watch_unknown_then_registered},
    {"watch/no-duplicates", "T19", "H-WATCH-5", LEVEL_SHOULD, GRPC, CTL,
     "setting the same status again sends no duplicate message (WARN)",
     "The server sends no consecutive duplicate statuses. (grpc-go: if lastSentStatus == "
     "servingStatus { continue })",
     case_watch_no_duplicates},
    {"watch/slow-reader-gets-latest", "T20", "H-WATCH-6", LEVEL_MUST, GRPC, CTL,
     "a reader that pauses through 100 flips ends on the latest status",
     "For a slow reader the server may coalesce, dropping intermediate statuses, but the latest "
     "status must eventually be delivered.",
     case_watch_slow_reader},
    {"watch/all-watchers-notified", "T21", "H-WATCH-2", LEVEL_MUST, GRPC, CTL,
     "5 watchers of one name all get its change",
     "It will then subsequently send a new message whenever the service's serving status changes.",
     case_watch_all_watchers},
    {"watch/cancel-does-not-leak", "T22", "H-WATCH-10,H-CLIENT-6", LEVEL_MUST, GRPC, 0,
     "200 Watches opened and cancelled; Watch and Check still work",
     "When the client subchannel is shutting down or when the backend sends a GOAWAY, the client "
     "will cancel the Watch() call.",
     case_watch_cancel_no_leak},
    {"watch/check-not-starved", "T36", "H-WATCH-10,H-CHECK-6", LEVEL_MUST, GRPC, ALONE,
     "with 64 Watches open, Check answers within the latency budget",
     "health checking will use a stream on every connection. [...] Clients should set a deadline "
     "when calling Check, and can declare the server unhealthy if they do not receive a timely "
     "response.",
     case_watch_check_not_starved},
    {"list/includes-checked-names", "T26", "H-LIST-1,H-LIST-2", LEVEL_MUST, GRPC, 0,
     "List (if served) holds '' and every known name with Check's status",
     "statuses contains all the services and their respective status.", case_list_includes_names},
    {"list/map-encoding", "T28", "H-LIST-2", LEVEL_MUST, GRPC, 0,
     "List (if served) map entries decode strictly, with or without explicit empty keys",
     "map<string, HealthCheckResponse> statuses = 1; statuses contains all the services and their "
     "respective status.",
     case_list_map_encoding},
    {"reflection/lists-health", "T29", "H-REFL-3", LEVEL_MUST, GRPC, 0,
     "reflection (if served) list_services names grpc.health.v1.Health",
     "List the full names of registered services. The content will not be checked.",
     case_reflection_lists_health},
    {"reflection/describes-health", "T30", "H-SVC-1,H-REFL-4,H-REFL-8", LEVEL_MUST, GRPC, 0,
     "reflection (if served) describes Health: Check unary, Watch server-streaming",
     "This message is used to answer file_by_filename, file_containing_symbol, "
     "file_containing_extension requests with transitive dependencies.",
     case_reflection_describes_health},
    {"reflection/v1alpha-fallback", "T31", "H-REFL-2", LEVEL_MUST, GRPC, 0,
     "reflection v1 is served, or UNIMPLEMENTED with v1alpha served",
     "If it gets back an \"Unimplemented\" error, it will fall back to using the v1alpha version.",
     case_reflection_version_fallback},
    {"reflection/unknown-symbol-in-stream", "T32", "H-REFL-5", LEVEL_MUST, GRPC, 0,
     "an unknown symbol gets an in-stream error_response NOT_FOUND; the stream stays usable",
     "Lookup failures go back in-stream as error_response{error_code:5}, and the stream stays "
     "usable.",
     case_reflection_unknown_symbol},
    /* Leaves 101 names when the hook cannot remove them: after every List reader. */
    {"list/limit", "T27", "H-LIST-3", LEVEL_MUST, GRPC, CTL | ALONE | LAST,
     "List (if served) answers OK at 100 services, OK or RESOURCE_EXHAUSTED at 101",
     "The server may respond with a RESOURCE_EXHAUSTED error if too many services exist. (A90: "
     "The maximum number of services to return is 100)",
     case_list_limit},
    /* HTTP (--protocol http): Jina's FastAPI Executor app, kubelet httpGet, `jina ping`. */
    {"http/root-ok", "H01", "H-HTTP-1", LEVEL_MUST, HTTP, 0,
     "GET / answers 200 while healthy (WARN for another 2xx/3xx: `jina ping` needs 200)",
     "GET / returns {} with status 200 (Jina worker/http_fastapi_app.py). Jina's readiness "
     "check: \"return conn.code == HTTPStatus.OK\" (servers/http.py).",
     case_http_root_ok},
    {"http/root-json-body", "H02", "H-HTTP-1", LEVEL_MUST, HTTP, 0,
     "GET / carries a JSON body: {} passes, other valid JSON warns, non-JSON fails",
     "GET / returns {} with status 200. The response model is the empty pydantic "
     "JinaHealthModel.",
     case_http_root_json_body},
    {"http/root-content-type-json", "H03", "H-HTTP-3", LEVEL_SHOULD, HTTP, 0,
     "GET / is labelled Content-Type: application/json",
     "FastAPI answers a response model with JSONResponse, media_type application/json.",
     case_http_root_content_type},
    {"http/keep-alive", "H04", "H-HTTP-4", LEVEL_SHOULD, HTTP, 0,
     "3 GETs on one client reuse one HTTP/1.1 connection",
     "HTTP/1.1 defaults to the use of \"persistent connections\", allowing multiple requests and "
     "responses to be carried over a single connection (RFC 9112 section 9.3).",
     case_http_keep_alive},
    {"http/latency-budget", "H05", "H-HTTP-5", LEVEL_MUST, HTTP, ALONE,
     "GET / answers within the latency budget",
     "kubelet probes with timeoutSeconds (default 1 s) and counts a late answer as a failure.",
     case_http_latency_budget},
    {"http/unhealthy-not-success", "H06", "H-HTTP-2", LEVEL_MUST, HTTP, CTL | ALONE,
     "'' NOT_SERVING turns GET / outside 200-399, SERVING turns it back",
     "kubelet DoHTTPProbe: \"if res.StatusCode >= http.StatusOK && res.StatusCode < "
     "http.StatusBadRequest\" is success (k8s pkg/probe/http/http.go). Unhealthy means no 200.",
     case_http_unhealthy_not_success},
    {"http/unknown-path-not-health", "H07", "H-HTTP-6", LEVEL_SHOULD, HTTP, 0,
     "an unknown path does not answer 200 with the health body",
     "A FastAPI app answers 404 {\"detail\":\"Not Found\"} on a path with no route; an "
     "Executor has no route but GET / (H-HTTP-6).",
     case_http_unknown_path},
    {"http/head", "H08", "H-HTTP-7", LEVEL_MAY, HTTP, 0,
     "HEAD / answers like GET without a body, or 405 as Jina's FastAPI app does",
     "HEAD / is 405 on FastAPI, which does not add HEAD to GET routes; a real Jina Executor "
     "must pass, so HEAD is at most optional here.",
     case_http_head},
    {"shutdown/watchers-see-not-serving", "T24", "H-WATCH-9", LEVEL_SHOULD, GRPC, SHUT,
     "on graceful shutdown, watchers get NOT_SERVING and Check says NOT_SERVING",
     "Make sure you inform the health check library about server shutdown so that it can notify "
     "all the connected clients.",
     case_shutdown_watchers_not_serving},
    {"shutdown/sets-ignored", "T25", "H-WATCH-9", LEVEL_MAY, GRPC, SHUT,
     "after shutdown, setting SERVING leaves Check NOT_SERVING (WARN only)",
     "Shutdown() sets all NOT_SERVING and ignores later sets (grpc-go; Java, Python and C++ "
     "alike).",
     case_shutdown_sets_ignored},
};

const hc_case *catalogue_cases(size_t *count) {
  *count = sizeof(cases) / sizeof(cases[0]);
  return cases;
}
