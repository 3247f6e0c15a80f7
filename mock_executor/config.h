/*
 * config: mock-executor's flags, and its YAML config file, into one struct.
 *
 * One table of flags is the single source of truth: it drives parsing,
 * --help, the YAML keys (every long flag is a key, '-' written '_': see
 * config_yaml.h) and --print-config. `--config FILE` loads the file's
 * settings first; flags on the command line override them (a list flag
 * such as --port given on the command line replaces the file's list).
 *
 * Listeners are (port, protocol, engine) triples, Jina style: `--port 12345
 * 12346 --protocol http grpc`, or repeated flags; one --protocol (or
 * --engine) applies to every port.
 *
 * Memory: config_parse() fills a caller-owned struct; its strings point
 * into argv or into the loaded file's arguments (kept in the struct), so
 * argv must outlive it. config_free() frees what it owns. Not thread-safe
 * (called once from main).
 */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "config_yaml.h"
#include "faults.h"
#include "wire.h"

typedef enum config_protocol { CONFIG_PROTOCOL_GRPC = 0, CONFIG_PROTOCOL_HTTP } config_protocol;

/* Which HTTP/2 engine serves a gRPC listener: the gRPC C core, or the wire
 * engine on libnghttp2 (wire_engine.h), which can also break the framing. */
typedef enum config_engine { CONFIG_ENGINE_CORE = 0, CONFIG_ENGINE_WIRE } config_engine;

/* What happens to open Watch streams on SIGTERM once they were told
 * NOT_SERVING: end them at once (UNAVAILABLE), or keep them open until the
 * grace period ends, as grpc-go's health server does (H-WATCH-9). */
typedef enum config_drain_watch { CONFIG_DRAIN_END = 0, CONFIG_DRAIN_KEEP } config_drain_watch;

/* What the mock presents itself as: a generic health server, or a Jina
 * Executor (--profile jina: its services, reflection v1alpha only, Jina's
 * FastAPI app over HTTP; docs/jina.md). */
typedef enum config_profile { CONFIG_PROFILE_NONE = 0, CONFIG_PROFILE_JINA } config_profile;

typedef struct config_listener {
  int port; /* 0 = a free port */
  config_protocol protocol;
  config_engine engine; /* gRPC listeners */
} config_listener;

/* A NAME=VALUE flag (--status, --timeline); name "" is the overall health. */
typedef struct config_status {
  char *name; /* malloc'd */
  int status;
} config_status;

typedef struct config_timeline {
  char *name;       /* malloc'd */
  const char *spec; /* points into argv */
} config_timeline;

#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_CQ_THREADS 8
#define CONFIG_MAX_BUSY_POLL_US 1000
#define CONFIG_MAX_IGNORED 32

/* A flag with one value per port, or one for all (--protocol, --engine). */
typedef struct config_per_port {
  const char *values[CONFIG_MAX_LISTENERS];
  size_t n;
  int from_file;
} config_per_port;

typedef struct config {
  config_profile profile;
  const char *host; /* bind address of the health listeners, default 0.0.0.0 */
  config_listener listeners[CONFIG_MAX_LISTENERS];
  size_t n_listeners;      /* at least 1 after a successful parse */
  const char *admin_host;  /* default 127.0.0.1 */
  int admin_port;          /* -1: no control API (the default); 0: a free port */
  const char *admin_token; /* NULL: none */
  int admin_insecure;      /* allow a non-loopback control API without token */
  /* TLS on every health listener (Jina's --ssl-certfile/--ssl-keyfile: both
   * or neither); --ssl-ca also requires client certificates. NULL: unset. */
  const char *ssl_certfile, *ssl_keyfile, *ssl_ca;
  config_status *statuses; /* in order; later ones win */
  size_t n_statuses;
  config_timeline *timelines;
  size_t n_timelines;
  int repeat;            /* timelines start over */
  size_t list_limit;     /* List answers RESOURCE_EXHAUSTED above it (H-LIST-3) */
  int cq_threads;        /* completion queues (a thread each), 1..CONFIG_MAX_CQ_THREADS */
  int busy_poll_us;      /* a serving thread polls this long before it sleeps */
  long load_time_ms;     /* ports closed this long at start */
  long timeout_ready_ms; /* jina's --timeout-ready: a longer load fails; -1 none */
  long ready_delay_ms;   /* ports open but NOT_SERVING this long at start */
  long grace_ms;         /* longest drain after SIGTERM (default 1000) */
  config_drain_watch drain_watch;
  size_t journal_size;                 /* requests kept (default 1000); 0: off */
  int http_codes[WIRE_STATUS_MAX + 1]; /* 0 = default */
  int violate[VIOLATE_COUNT];          /* knobs switched on */
  const char **fault_rules;            /* --fault texts (inject.h), malloc'd array into argv */
  size_t n_fault_rules;
  unsigned long long fault_seed; /* --fault-seed (default 0) */
  int engine_given;              /* --engine was given: no automatic choice */
  int print_config;
  const char *config_file; /* NULL: none */
  /* --profile jina: unknown command-line flags and their values, set aside
   * as jina's parse_known_args does (into argv; the first CONFIG_MAX_IGNORED
   * kept, n_ignored counts them all). Without the profile they are errors. */
  const char *ignored[CONFIG_MAX_IGNORED];
  size_t n_ignored;

  /* private */
  config_args file_args;
  int ports_from_file;
  config_per_port protocols, engines;
} config;

/* config_parse() results besides errors. */
#define CONFIG_RUN 0
#define CONFIG_HELP 1
#define CONFIG_VERSION 2
#define CONFIG_LIST_VIOLATIONS 3

/* Parses argv[1..argc), loading --config FILE first. Returns CONFIG_RUN,
 * CONFIG_HELP, CONFIG_VERSION or CONFIG_LIST_VIOLATIONS, or -EINVAL with a
 * one-line message naming the offending flag (and FILE:LINE for a value
 * from the config file) in err; the struct is then left with nothing to
 * free. -ENOMEM likewise. */
int config_parse(int argc, char **argv, config *cfg, char *err, size_t errlen);

/* Frees what config_parse() allocated. Safe on a zeroed struct. */
void config_free(config *cfg);

/* The --help text, from the flag table. */
void config_usage(FILE *out);

/* Writes the effective config as YAML that --config reads back. Returns 0
 * or -EIO. */
int config_print(const config *cfg, FILE *out);

/* The YAML keys (config_yaml_load's table); *count receives the number. */
const config_key *config_yaml_keys(size_t *count);

#endif
