/*
 * ping: `health-conformance ping executor|gateway|flow HOST:PORT`, a drop-in
 * for `jina ping` (docs/jina.md) in k8s exec probes and
 * Compose healthchecks (deploy/, docs/jina.md).
 *
 *   executor  Check(service="") over gRPC, once more only if the first
 *             ended UNAVAILABLE (Jina's send_health_check_sync); ready iff
 *             SERVING. A scheme on HOST:PORT is dropped, as Jina does.
 *   gateway   grpc:// (the default): as executor; http:// or websocket://
 *             (ws://): GET http://HOST:PORT/ answered exactly 200.
 *   flow      grpc: jina.JinaGatewayDryRunRPC/dry_run answered OK with a
 *             StatusProto code SUCCESS; http: GET /dry_run answered 200 with
 *             a JSON body whose "code" is 0. A target that does not serve the
 *             dry run (an Executor, a plain health server) is reported so.
 *
 * --timeout MS (default 3000; -1: no limit, in practice a day) bounds each
 * RPC or request; --attempts N (default 1) checks, 1 s apart;
 * --min-successful-attempts M (default 1). Exit 0 when at least M
 * succeeded, 1 otherwise, 2 for a usage error. Like Jina (parse_known_args),
 * unknown flags and extra arguments are warned about and ignored, so the
 * k8s template's single argument "--timeout 9000" is ignored too.
 *
 * Called once from main (not thread-safe: it calls grpc_init, curl's
 * global init through hclient).
 */
#ifndef HC_PING_H
#define HC_PING_H

/* argv[0] is "ping". Returns the process exit code. */
int ping_main(int argc, char **argv);

#endif
