/* The probe and wait subcommands (cmd.h): one check with
 * grpc_health_probe's exit codes (probe.h), or until a status is reached
 * (wait.h). */
#include "cmd.h"

#include <curl/curl.h>
#include <grpc/grpc.h>
#include <stdio.h>

#include "catalogue.h"
#include "contain.h"
#include "monotime.h"
#include "probe.h"
#include "wait.h"
#include "watchdog.h"
#include "wire.h"

/* probe: --attempts checks, --interval apart, until --min-successful
 * succeeded (exit 0) or too few can still succeed (the last failure's code). */
static int probe_here(void *arg) {
  const cli *o = arg;
  probe_options po = {.protocol = (case_protocol)o->protocol,
                      .target = o->target,
                      .service = o->service ? o->service : "",
                      .connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 1000,
                      .rpc_timeout_ms = o->rpc_timeout_ms ? o->rpc_timeout_ms : 1000};
  int attempts = o->attempts ? o->attempts : 1;
  int need = o->min_successful ? o->min_successful : 1;
  int interval_ms = o->interval_given ? o->interval_ms : 1000; /* jina ping sleeps 1 s */
  int ok = 0, last = PROBE_EXIT_CONNECT;
  probe_result r;
  int rc = cli_apply_tls(o);

  if (rc)
    return rc;
  watchdog_arm(PROBE_EXIT_RPC,
               "timeout: the target kept the gRPC client busy past the rpc deadline");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  for (int i = 1; i <= attempts; i++) {
    probe_once(&po, &r);
    if (r.exit_code == PROBE_EXIT_SERVING)
      ok++;
    else
      last = r.exit_code;
    if (attempts > 1)
      printf("attempt %d/%d: %s (exit %d)\n", i, attempts, r.detail, r.exit_code);
    else
      fprintf(r.exit_code == PROBE_EXIT_SERVING ? stdout : stderr, "%s\n", r.detail);
    if (ok >= need || ok + (attempts - i) < need)
      break;
    monotime_sleep_ms(interval_ms); /* the pause between attempts, as jina ping's */
  }
  grpc_shutdown();
  curl_global_cleanup();
  if (attempts > 1)
    printf("%d of %d attempts succeeded (%d needed)\n", ok, attempts, need);
  return ok >= need ? PROBE_EXIT_SERVING : last;
}

static int wait_here(void *arg) {
  const cli *o = arg;
  wait_options wo = {.protocol = (case_protocol)o->protocol,
                     .target = o->target,
                     .service = o->service ? o->service : "",
                     .want = o->want_status >= 0 ? o->want_status : WIRE_SERVING,
                     .timeout_ms = o->timeout_given ? o->timeout_ms : 30000,
                     .interval_ms = o->interval_given ? o->interval_ms : 200,
                     .rpc_timeout_ms = o->rpc_timeout_ms ? o->rpc_timeout_ms : 1000,
                     .progress = stdout};
  int code;

  if (o->protocol == PROTOCOL_HTTP && wo.want != WIRE_SERVING && wo.want != WIRE_NOT_SERVING)
    return cli_usage_error("--status %s: HTTP can only show SERVING or NOT_SERVING",
                           wire_status_name(wo.want));
  code = cli_apply_tls(o);
  if (code)
    return code;
  watchdog_arm(1,
               "wait: the target kept the gRPC client busy past the rpc deadline: "
               "not reached");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grpc_init();
  code = wait_run(&wo);
  grpc_shutdown();
  curl_global_cleanup();
  return code;
}

/* The core runs in a child (contain.h): a reply that aborts it is a failed
 * probe, and a wait that cannot reach its status. */
int cmd_probe(const cli *o) {
  return contain_call(probe_here, (void *)o, PROBE_EXIT_RPC, "probe failed");
}

int cmd_wait(const cli *o) {
  return contain_call(wait_here, (void *)o, 1, "wait ended, the status not reached");
}
