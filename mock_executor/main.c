/* mock-executor: a configurable grpc.health.v1 and HTTP health server.
 * flags -> registry -> (load time) -> listeners -> (ready delay) ->
 * timelines -> wait for SIGTERM/SIGINT -> drain within the grace. */
#define _GNU_SOURCE /* strsignal */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "absl_mode.h"
#include "admin.h"
#include "config.h"
#include "faults.h"
#include "engines.h"
#include "http_health.h"
#include "jina.h"
#include "journal.h"
#include "netaddr.h"
#include "registry.h"
#include "timeline.h"
#include "tls.h"
#include "wire.h"

#define PROG "mock-executor"
/* How long shutdown waits for the NOT_SERVING messages to go out
 * (H-WATCH-9) before it ends or keeps the Watch streams. */
#define DRAIN_MS 300
/* A quiet spell this long after gRPC calls trims the heap (serve). */
#define IDLE_TRIM_MS 1000

/* Everything the process runs; torn down in reverse order. */
typedef struct mock {
  const config *cfg;
  registry *reg;
  faults *faults;
  journal *journal;
  timelines *timelines;
  engines *grpc;
  http_health *http[CONFIG_MAX_LISTENERS];
  size_t n_http;
  admin *admin;
  tls_pem tls;         /* the --ssl-* files, read at start */
  const tls_pem *tlsp; /* &tls with TLS on, NULL for plaintext */
  sigset_t stop;
} mock;

/* Blocks the stop signals in this thread and, by inheritance, in every
 * thread started later: only this thread sees them, synchronously. */
static void block_stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Waits up to ms (forever when < 0) for a stop signal: returns it, or 0
 * when the time ran out. */
static int wait_signal(const sigset_t *set, long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  int sig;

  for (;;) {
    sig = ms < 0 ? (sigwait(set, &sig) == 0 ? sig : -1) : sigtimedwait(set, NULL, &ts);
    if (sig > 0)
      return sig;
    if (ms >= 0 && errno == EAGAIN)
      return 0;
  }
}

/* Waits for a stop signal while serving. A second in which no gRPC call
 * started or ended, after a busy spell, returns the heap's free pages to the system: glibc
 * keeps what 10,000 closed streams freed in its arenas otherwise, and the
 * RSS after a load would stay at the load's peak (bench/soak). Ends count:
 * streams closed more than a second after the last one opened free their
 * memory after that spell's trim. */
static int serve(const mock *m) {
  size_t seen = 0, activity;
  int busy = 0, sig;

  while ((sig = wait_signal(&m->stop, IDLE_TRIM_MS)) == 0) {
    activity = m->grpc ? engines_activity(m->grpc) : 0;
    if (activity != seen) {
      seen = activity;
      busy = 1;
    } else if (busy) {
      malloc_trim(0);
      busy = 0;
    }
  }
  return sig;
}

static void print_listening(const char *protocol, const char *host, int port) {
  if (strchr(host, ':') && host[0] != '[')
    printf("LISTENING %s [%s]:%d\n", protocol, host, port);
  else
    printf("LISTENING %s %s:%d\n", protocol, host, port);
  fflush(stdout);
}

/* "" is SERVING unless --status says otherwise (H-SVC-3/4) or the
 * no-overall-health violation is on; later --status flags win. With
 * `all` >= 0 every one of them gets that status instead (--ready-delay). */
static int load_statuses(mock *m, int all) {
  const config *cfg = m->cfg;
  int rc = 0;

  if (!faults_on(m->faults, VIOLATE_NO_OVERALL_HEALTH))
    rc = registry_set(m->reg, "", all >= 0 ? all : WIRE_SERVING);
  for (size_t i = 0; i < cfg->n_statuses && rc == 0; i++)
    rc = registry_set(m->reg, cfg->statuses[i].name, all >= 0 ? all : cfg->statuses[i].status);
  return rc;
}

/* J-SVC-1: a Jina Executor sets its services SERVING once server.start()
 * returned, i.e. after the port opened (J-SVC-1); "" was
 * SERVING before (load_statuses). A --status for one of them wins. With
 * `all` >= 0 they get that status instead (--ready-delay). */
static int load_profile_statuses(mock *m, int all) {
  const config *cfg = m->cfg;
  int rc = 0;

  if (cfg->profile != CONFIG_PROFILE_JINA)
    return 0;
  for (size_t i = 0; jina_services[i] && rc == 0; i++) {
    size_t k = 0;

    while (k < cfg->n_statuses && strcmp(cfg->statuses[k].name, jina_services[i]) != 0)
      k++;
    if (k == cfg->n_statuses)
      rc = registry_set(m->reg, jina_services[i], all >= 0 ? all : WIRE_SERVING);
  }
  return rc;
}

static int start_timelines(mock *m) {
  const config *cfg = m->cfg;
  char err[TIMELINE_ERR_MAX];

  for (size_t i = 0; i < cfg->n_timelines; i++) {
    timeline_spec spec;
    int rc = timeline_parse(cfg->timelines[i].spec, cfg->repeat, &spec, err, sizeof(err));
    if (rc == 0)
      rc = timelines_set(m->timelines, cfg->timelines[i].name, &spec);
    timeline_spec_free(&spec);
    if (rc < 0) {
      fprintf(stderr, PROG ": --timeline '%s': %s\n", cfg->timelines[i].spec,
              rc == -EINVAL ? err : strerror(-rc));
      return rc;
    }
  }
  return 0;
}

static int start_grpc(mock *m) {
  const config *cfg = m->cfg;
  health_server_options opts = {0};
  int ports[CONFIG_MAX_LISTENERS], bound[CONFIG_MAX_LISTENERS], wire[CONFIG_MAX_LISTENERS];
  char err[256];
  size_t n = 0;
  int rc;

  char why[2 * INJECT_TEXT_MAX + 32];
  /* A knob or fault rule that breaks the framing needs the wire engine. */
  int need_wire = faults_need_wire(m->faults, why, sizeof(why)) && !cfg->engine_given;

  for (size_t i = 0; i < cfg->n_listeners; i++) {
    if (cfg->listeners[i].protocol == CONFIG_PROTOCOL_GRPC) {
      wire[n] = need_wire || cfg->listeners[i].engine == CONFIG_ENGINE_WIRE;
      ports[n++] = cfg->listeners[i].port;
    }
  }
  if (need_wire && n > 0)
    fprintf(stderr, PROG ": %s needs the wire engine: gRPC listeners use --engine wire\n", why);
  if (n == 0)
    return load_profile_statuses(m, cfg->ready_delay_ms > 0 ? WIRE_NOT_SERVING : -1);
  opts.host = cfg->host;
  opts.ports = ports;
  opts.n_ports = n;
  opts.reg = m->reg;
  opts.journal = m->journal;
  opts.list_limit = cfg->list_limit;
  opts.cq_threads = cfg->cq_threads;
  opts.busy_poll_us = cfg->busy_poll_us;
  opts.tls = m->tlsp;
  opts.faults = m->faults;
  if (cfg->profile == CONFIG_PROFILE_JINA)
    opts.reflection_list = jina_services;
  rc = engines_start(&opts, wire, &m->grpc, bound, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\n", err);
    return rc;
  }
  /* After the port opened, before it is announced: whoever waits for the
   * LISTENING line sees the Executor's services SERVING. */
  rc = load_profile_statuses(m, cfg->ready_delay_ms > 0 ? WIRE_NOT_SERVING : -1);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < n; i++)
    print_listening("grpc", cfg->host, bound[i]);
  return 0;
}

static int start_http(mock *m) {
  const config *cfg = m->cfg;
  char err[256];

  for (size_t i = 0; i < cfg->n_listeners; i++) {
    http_health_options opts = {.host = cfg->host,
                                .port = cfg->listeners[i].port,
                                .reg = m->reg,
                                .journal = m->journal,
                                .faults = m->faults,
                                .tls = m->tlsp,
                                .jina = cfg->profile == CONFIG_PROFILE_JINA};
    int port, rc;

    if (cfg->listeners[i].protocol != CONFIG_PROTOCOL_HTTP)
      continue;
    memcpy(opts.codes, cfg->http_codes, sizeof(opts.codes));
    rc = http_health_start(&opts, &m->http[m->n_http], &port, err, sizeof(err));
    if (rc < 0) {
      fprintf(stderr, PROG ": %s\n", err);
      return rc;
    }
    m->n_http++;
    print_listening("http", cfg->host, port);
  }
  return 0;
}

static int start_admin(mock *m) {
  const config *cfg = m->cfg;
  admin_options opts = {.host = cfg->admin_host,
                        .port = cfg->admin_port,
                        .reg = m->reg,
                        .journal = m->journal,
                        .timelines = m->timelines,
                        .faults = m->faults,
                        .token = cfg->admin_token};
  char err[256];
  int port, rc;

  if (cfg->admin_port < 0)
    return 0; /* the control API is opt-in */
  rc = admin_start(&opts, &m->admin, &port, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": control API: %s\n", err);
    return rc;
  }
  print_listening("admin", cfg->admin_host, port);
  return 0;
}

static int start_listeners(mock *m) {
  int rc = start_grpc(m);

  if (rc == 0)
    rc = start_http(m);
  if (rc == 0)
    rc = start_admin(m);
  return rc;
}

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Graceful drain, like a Jina Executor on SIGTERM: every service
 * NOT_SERVING at once and watchers told (H-WATCH-9), Watch streams ended
 * or kept (--drain-watch), calls in flight finished within --grace; a
 * second signal cuts it short. */
static void drain(mock *m) {
  long deadline = now_ms() + m->cfg->grace_ms;

  /* Nothing may set SERVING again; the control API still holds the
   * timelines, so they stop but stay allocated until teardown. */
  timelines_stop_all(m->timelines);
  registry_shutdown(m->reg);
  if (!m->grpc)
    return;
  if (engines_drain(m->grpc, DRAIN_MS) < 0)
    fprintf(stderr, PROG ": some watchers did not take NOT_SERVING in %d ms\n", DRAIN_MS);
  if (m->cfg->drain_watch == CONFIG_DRAIN_END)
    engines_end_watches(m->grpc, WIRE_CODE_UNAVAILABLE, "server shutting down");
  engines_begin_shutdown(m->grpc);
  for (long left = deadline - now_ms(); left > 0; left = deadline - now_ms()) {
    if (engines_wait_idle(m->grpc, left < 50 ? (int)left : 50) == 0)
      return;
    if (wait_signal(&m->stop, 0) > 0) {
      fprintf(stderr, PROG ": second signal, exiting now\n");
      return;
    }
  }
}

static void teardown(mock *m) {
  admin_stop(m->admin);
  for (size_t i = 0; i < m->n_http; i++)
    http_health_stop(m->http[i]);
  engines_stop(m->grpc);
  timelines_free(m->timelines);
  registry_free(m->reg);
  journal_free(m->journal);
  faults_free(m->faults);
  tls_pem_free(&m->tls);
}

/* Reads the --ssl-* files before anything listens, naming a bad one. */
static int load_tls(mock *m) {
  const config *cfg = m->cfg;
  char err[512];
  int rc;

  if (!cfg->ssl_certfile)
    return 0;
  rc = tls_pem_load(cfg->ssl_certfile, cfg->ssl_keyfile, cfg->ssl_ca, &m->tls, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\n", err);
    return rc;
  }
  m->tlsp = &m->tls;
  return 0;
}

/* The --fault rules, parsed once already by config_parse. */
static int load_fault_rules(mock *m) {
  inject *in = faults_inject(m->faults);
  char err[INJECT_ERR_MAX];
  inject_rule rule;

  inject_seed(in, m->cfg->fault_seed);
  for (size_t i = 0; i < m->cfg->n_fault_rules; i++) {
    int rc = inject_parse(m->cfg->fault_rules[i], &rule, err, sizeof(err));

    if (rc == 0)
      rc = inject_add(in, &rule);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int create_state(mock *m) {
  int rc = load_tls(m);

  if (rc < 0)
    return rc;
  rc = registry_new(&m->reg);

  if (rc == 0)
    rc = faults_new(&m->faults);
  if (rc == 0)
    registry_set_faults(m->reg, m->faults);
  if (rc == 0)
    rc = journal_new(m->cfg->journal_size, &m->journal);
  if (rc == 0)
    rc = timelines_new(m->reg, &m->timelines);
  if (rc < 0)
    return rc;
  for (int k = 0; k < VIOLATE_COUNT; k++)
    faults_set(m->faults, (fault_knob)k, m->cfg->violate[k]);
  return load_fault_rules(m);
}

/* How long the load phase lasts: --load-time, cut at --timeout-ready as
 * Jina's Pod.wait_start_success gives up (docs/jina.md). */
static long loading_ms(const config *cfg) {
  if (cfg->timeout_ready_ms >= 0 && cfg->timeout_ready_ms < cfg->load_time_ms)
    return cfg->timeout_ready_ms;
  return cfg->load_time_ms;
}

/* --profile jina: what jina's parse_known_args would set aside. */
static void warn_ignored(const config *cfg) {
  if (!cfg->n_ignored)
    return;
  fprintf(stderr, PROG ": ignored unknown argument(s) (--profile jina):");
  for (size_t i = 0; i < cfg->n_ignored && i < CONFIG_MAX_IGNORED; i++)
    fprintf(stderr, " %s", cfg->ignored[i]);
  fprintf(stderr, "%s\n", cfg->n_ignored > CONFIG_MAX_IGNORED ? " ..." : "");
}

static int run(const config *cfg) {
  mock m = {.cfg = cfg};
  int rc, sig = 0;

  /* Before gRPC takes its first absl::Mutex: Debian's debug absl would
   * otherwise check every lock's order (absl_mode.h). */
  absl_mode_no_deadlock_detection();
  block_stop_signals(&m.stop);
  rc = create_state(&m);
  if (rc < 0) {
    if (!m.cfg->ssl_certfile || m.tlsp) /* load_tls has said why */
      fprintf(stderr, PROG ": cannot start: %s\n", strerror(-rc));
    goto out;
  }
  /* An Executor loading its model does not listen at all: probes see a
   * refused connection until it is ready. */
  if (cfg->load_time_ms > 0) {
    fprintf(stderr, PROG ": loading for %ld ms, ports closed\n", cfg->load_time_ms);
    sig = wait_signal(&m.stop, loading_ms(cfg));
    if (sig > 0)
      goto out;
    if (loading_ms(cfg) < cfg->load_time_ms) {
      rc = -ETIMEDOUT;
      fprintf(stderr,
              PROG
              ": timeout after waiting for %ldms, if your executor takes time to load, "
              "you may increase --timeout-ready\n",
              cfg->timeout_ready_ms);
      goto out;
    }
  }
  rc = load_statuses(&m, cfg->ready_delay_ms > 0 ? WIRE_NOT_SERVING : -1);
  /* A timeline's first step holds from the first connection on. */
  if (rc == 0 && cfg->ready_delay_ms == 0)
    rc = start_timelines(&m);
  if (rc == 0)
    rc = start_listeners(&m);
  if (rc < 0)
    goto out;
  if (cfg->ready_delay_ms > 0) {
    sig = wait_signal(&m.stop, cfg->ready_delay_ms);
    if (sig == 0)
      rc = load_statuses(&m, -1);
    if (sig == 0 && rc == 0)
      rc = load_profile_statuses(&m, -1);
    if (sig == 0 && rc == 0)
      rc = start_timelines(&m);
  }
  if (rc < 0)
    goto out;
  if (sig == 0)
    sig = serve(&m);
  fprintf(stderr, PROG ": %s, shutting down\n", strsignal(sig));
  drain(&m);
out:
  teardown(&m);
  return rc < 0 ? 1 : 0;
}

static void list_violations(void) {
  size_t n;
  const fault_info *k = faults_catalogue(&n);

  for (size_t i = 0; i < n; i++)
    printf("%-32s %-5s %s\n", k[i].name, k[i].breaks, k[i].description);
  printf(
      "\nThe wire-* knobs act on gRPC listeners served by the wire engine, which\n"
      "is picked when one is on at start unless --engine is given.\n");
}

int main(int argc, char **argv) {
  config cfg;
  char err[512];
  int rc, info;

  rc = config_parse(argc, argv, &cfg, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", err);
    return 2;
  }
  info = rc; /* CONFIG_HELP ... print and exit 0 */
  rc = 0;
  warn_ignored(&cfg);
  if (info == CONFIG_HELP) {
    config_usage(stdout);
  } else if (info == CONFIG_VERSION) {
    printf(PROG " %s\n", HC_VERSION);
  } else if (info == CONFIG_LIST_VIOLATIONS) {
    list_violations();
  } else if (cfg.print_config) {
    rc = config_print(&cfg, stdout) < 0 ? 1 : 0;
  } else if (cfg.admin_port >= 0 && !netaddr_is_loopback(cfg.admin_host) && !cfg.admin_token &&
             !cfg.admin_insecure) {
    fprintf(stderr,
            PROG
            ": --admin-host %s is not a loopback address: give --admin-token, or "
            "--admin-insecure to expose the control API without one\n",
            cfg.admin_host);
    rc = 2;
  } else {
    signal(SIGPIPE, SIG_IGN);
    rc = run(&cfg);
  }
  config_free(&cfg);
  return rc;
}
