/*
 * config: mock-executor's command line into one struct.
 *
 * The listeners are a list of (port, protocol) because a later issue serves
 * several ports and protocols from one registry (`--port 12345 12346
 * --protocol http grpc`); today only grpc is accepted.
 *
 * Memory: config_parse() fills a caller-owned struct; strings point into
 * argv or are malloc'd copies, freed by config_free(). Not thread-safe
 * (called once from main).
 */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum config_protocol {
  CONFIG_PROTOCOL_GRPC = 0
} config_protocol;

typedef struct config_listener {
  int port; /* 0 = a free port */
  config_protocol protocol;
} config_listener;

/* One --status: a service name (malloc'd; "" is the overall health) and
 * its ServingStatus 0-3. */
typedef struct config_status {
  char *name;
  int status;
} config_status;

#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_CQ_THREADS 8

typedef struct config {
  const char *host; /* gRPC bind address, default "0.0.0.0" */
  config_listener listeners[CONFIG_MAX_LISTENERS];
  size_t n_listeners;  /* at least 1 after a successful parse */
  const char *admin_host; /* default "127.0.0.1" */
  int admin_port;         /* -1: no control API (the default); 0: a free port */
  config_status *statuses; /* in command-line order; later ones win */
  size_t n_statuses;
  size_t list_limit; /* List answers RESOURCE_EXHAUSTED above it (H-LIST-3) */
  int cq_threads;    /* completion-queue threads, 1..CONFIG_MAX_CQ_THREADS */
} config;

/* config_parse() results besides errors. */
#define CONFIG_RUN 0
#define CONFIG_HELP 1
#define CONFIG_VERSION 2

/* Parses argv[1..argc). Returns CONFIG_RUN, CONFIG_HELP or CONFIG_VERSION,
 * or -EINVAL with a one-line message naming the offending flag in err
 * (the struct is then left empty: nothing to free). -ENOMEM likewise. */
int config_parse(int argc, char **argv, config *cfg, char *err, size_t errlen);

/* Frees what config_parse() allocated. Safe on a zeroed struct. */
void config_free(config *cfg);

/* The --help text. */
void config_usage(FILE *out);

#endif
