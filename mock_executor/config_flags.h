/* config_flags: what crosses between the flag table (config_flags.c) and
 * the parsing that walks it (config.c). Internal to the two; config.h is
 * the contract. */
#ifndef HC_CONFIG_FLAGS_H
#define HC_CONFIG_FLAGS_H

#include <stddef.h>

#include "config.h"
#include "errbuf.h"

/* The defaults --help states (config_flags.c) and config_parse sets (config.c). */
#define DEFAULT_HOST "0.0.0.0"
#define DEFAULT_ADMIN_HOST "127.0.0.1"
#define DEFAULT_LIST_LIMIT 100 /* A90, grpc-go, grpc-node (H-LIST-3) */
#define DEFAULT_BUSY_POLL_US                                                                    \
  50                          /* 1x1 Check 2.2x faster, same CPU per call (docs/performance.md) \
                               */
#define DEFAULT_CQ_THREADS 4  /* 1 polling + 3 for Watch streams (health_server.c) */
#define DEFAULT_GRACE_MS 1000 /* Jina: server.stop(1.0) */
#define DEFAULT_JOURNAL 1000
#define DEFAULT_TIMEOUT_READY_MS 600000 /* jina/parsers/orchestrate/pod.py */

/* Every error found in a flag is a bad value: -EINVAL. */
#define fail(err, errlen, ...) errbuf_fail(err, errlen, -EINVAL, __VA_ARGS__)

typedef enum flag_arg { ARG_NONE, ARG_ONE, ARG_MANY } flag_arg;

/* Applies one value (NULL for ARG_NONE). Returns 0, a CONFIG_* code > 0,
 * or a negative error with err filled. */
typedef int (*apply_fn)(config *cfg, const char *value, int from_file, char *err, size_t errlen);

typedef struct flag_def {
  const char *name; /* long name without "--" */
  char short_name;  /* 'h', 'V' or 0 */
  flag_arg arg;
  int yaml; /* a config_kind, or -1 when the flag is not a config key */
  apply_fn apply;
  const char *metavar;
  const char *help;
} flag_def;

/* The one table (parsing, --help, YAML keys, --print-config), in --help
 * order, and its length. */
extern const flag_def config_flags[];
extern const size_t config_nflags;

/* Sets *out to the index of text in names[0..n) (case-insensitive: jina
 * writes GRPC, HTTP). Returns 0, or -EINVAL with err naming flag. */
int config_parse_enum(const char *flag, const char *text, const char *const *names, size_t n,
                      int *out, char *err, size_t errlen);

#endif
