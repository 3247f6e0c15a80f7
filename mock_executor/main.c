/* mock-executor: a configurable grpc.health.v1 server.
 * flags -> registry -> listeners -> wait for SIGTERM/SIGINT -> drain. */
#define _GNU_SOURCE /* strsignal */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "health_server.h"
#include "registry.h"
#include "wire.h"

#define PROG "mock-executor"
/* How long shutdown waits for the NOT_SERVING messages to go out
 * (H-WATCH-9); the whole exit must take under 1 s. */
#define DRAIN_MS 300

/* Blocks the stop signals in this thread and, by inheritance, in every
 * thread started later: only sigwait() in main sees them. */
static void block_stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int wait_for_stop(const sigset_t *set) {
  int sig = 0;

  while (sigwait(set, &sig) != 0)
    ;
  return sig;
}

static void print_listening(const char *protocol, const char *host, int port) {
  if (strchr(host, ':') && host[0] != '[')
    printf("LISTENING %s [%s]:%d\n", protocol, host, port);
  else
    printf("LISTENING %s %s:%d\n", protocol, host, port);
  fflush(stdout);
}

/* "" is SERVING unless --status says otherwise (H-SVC-3/4); later
 * --status flags win. */
static int load_statuses(registry *reg, const config *cfg) {
  int rc = registry_set(reg, "", WIRE_SERVING);

  for (size_t i = 0; i < cfg->n_statuses && rc == 0; i++)
    rc = registry_set(reg, cfg->statuses[i].name, cfg->statuses[i].status);
  return rc;
}

static int start_grpc(const config *cfg, registry *reg, health_server **hs) {
  health_server_options opts = {0};
  int ports[CONFIG_MAX_LISTENERS], bound[CONFIG_MAX_LISTENERS];
  char err[256];
  int rc;

  for (size_t i = 0; i < cfg->n_listeners; i++)
    ports[i] = cfg->listeners[i].port; /* all grpc for now (config.h) */
  opts.host = cfg->host;
  opts.ports = ports;
  opts.n_ports = cfg->n_listeners;
  opts.reg = reg;
  opts.list_limit = cfg->list_limit;
  opts.cq_threads = cfg->cq_threads;
  rc = health_server_start(&opts, hs, bound, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\n", err);
    return rc;
  }
  for (size_t i = 0; i < cfg->n_listeners; i++)
    print_listening("grpc", cfg->host, bound[i]);
  return 0;
}

static int start_admin(const config *cfg, registry *reg, admin **adm) {
  admin_options opts = {.host = cfg->admin_host, .port = cfg->admin_port, .reg = reg};
  char err[256];
  int port, rc;

  if (cfg->admin_port < 0)
    return 0; /* the control API is opt-in */
  rc = admin_start(&opts, adm, &port, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": control API: %s\n", err);
    return rc;
  }
  print_listening("admin", cfg->admin_host, port);
  return 0;
}

static int run(const config *cfg) {
  health_server *hs = NULL;
  admin *adm = NULL;
  registry *reg = NULL;
  sigset_t stop;
  int rc, sig;

  block_stop_signals(&stop);
  rc = registry_new(&reg);
  if (rc == 0)
    rc = load_statuses(reg, cfg);
  if (rc < 0) {
    fprintf(stderr, PROG ": out of memory\n");
    goto out;
  }
  rc = start_grpc(cfg, reg, &hs);
  if (rc == 0)
    rc = start_admin(cfg, reg, &adm);
  if (rc < 0)
    goto out;

  sig = wait_for_stop(&stop);
  fprintf(stderr, PROG ": %s, shutting down\n", strsignal(sig));
  registry_shutdown(reg); /* H-WATCH-9: NOT_SERVING, watchers notified */
  if (health_server_drain(hs, DRAIN_MS) < 0)
    fprintf(stderr, PROG ": some watchers did not take NOT_SERVING in %d ms\n", DRAIN_MS);
out:
  admin_stop(adm);
  health_server_stop(hs);
  registry_free(reg);
  return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
  config cfg;
  char err[256];
  int rc;

  rc = config_parse(argc, argv, &cfg, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", err);
    return 2;
  }
  if (rc == CONFIG_HELP) {
    config_usage(stdout);
    return 0;
  }
  if (rc == CONFIG_VERSION) {
    printf(PROG " %s\n", HC_VERSION);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  rc = run(&cfg);
  config_free(&cfg);
  return rc;
}
