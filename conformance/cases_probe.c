/*
 * cases_probe: T37, the verdict grpc_health_probe would give (§4): exit 0
 * for SERVING, 4 for OK with any other status, 3 for any RPC error, 2
 * when the connection fails. When grpc_health_probe is on PATH it is run
 * and must agree.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cases.h"
#include "monotime.h"
#include "probe.h"
#include "wire.h"

extern char **environ;

#define PROBE_TIMEOUT_MS 1000 /* the probe's defaults: -connect-timeout 1s, -rpc-timeout 1s */
#define PROBE_GRACE_MS 2000   /* beyond its own timeouts before we kill it */

static int on_path(const char *prog, char *out, size_t size) {
  const char *path = getenv("PATH");
  while (path && *path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    snprintf(out, size, "%.*s/%s", (int)n, path, prog);
    if (n && access(out, X_OK) == 0)
      return 1;
    path = end ? end + 1 : NULL;
  }
  return 0;
}

/* Runs the probe (posix_spawn: never fork a gRPC process, §7) and returns
 * its exit code, or -1 when it could not run or did not finish in time. */
static int run_probe(const char *exe, const char *target) {
  char addr[300];
  snprintf(addr, sizeof(addr), "-addr=%s", target);
  char *argv[] = {(char *)exe, addr, "-connect-timeout=1s", "-rpc-timeout=1s", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  long long t0 = monotime_ms();
  int wstatus = 0;
  while ((rc = waitpid(pid, &wstatus, WNOHANG)) == 0 &&
         monotime_ms() - t0 < 2 * PROBE_TIMEOUT_MS + PROBE_GRACE_MS)
    monotime_sleep_ms(10); /* bounded poll: waitpid has no timeout */
  if (rc == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &wstatus, 0);
    return -1;
  }
  return rc == pid && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

void case_check_probe_verdict(const case_ctx *ctx, case_result *res) {
  gclient *gc = NULL;
  if (cases_connect(ctx, res, &gc) < 0)
    return;
  gclient_reply r;
  int status = -1;
  char seen[CASE_TEXT_MAX], exe[1024];
  gclient_check(gc, "", cases_wait_ms(ctx, PROBE_TIMEOUT_MS), &r);
  gclient_reply_describe(&r, seen, sizeof(seen));
  int verdict = probe_grpc_reply_exit(&r, &status);
  gclient_reply_free(&r);
  gclient_close(gc);

  if (verdict != PROBE_EXIT_SERVING &&
      !(verdict == PROBE_EXIT_UNHEALTHY && status == WIRE_NOT_SERVING)) {
    char got[CASE_TEXT_MAX];
    snprintf(got, sizeof(got), "probe exit %d: %.400s", verdict, seen);
    case_fail(res, "probe exit 0 (SERVING) or 4 (NOT_SERVING)", got,
              "grpc_health_probe would report this server broken");
    return;
  }
  if (!on_path("grpc_health_probe", exe, sizeof(exe))) {
    case_pass(res, "computed probe verdict %d (%s); grpc_health_probe not on PATH", verdict, seen);
    return;
  }
  int code = run_probe(exe, ctx->target);
  if (code == verdict) {
    case_pass(res, "grpc_health_probe exits %d, as computed (%s)", code, seen);
  } else {
    char exp[64], got[64];
    snprintf(exp, sizeof(exp), "grpc_health_probe exit %d", verdict);
    snprintf(got, sizeof(got), code < 0 ? "no exit within the bound" : "exit %d", code);
    case_fail(res, exp, got, "grpc_health_probe disagrees with the computed verdict");
  }
}
