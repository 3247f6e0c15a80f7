/*
 * config_yaml: reads a YAML config file (libyaml) into the same flags the
 * command line takes, so the flag parser stays the one source of truth and
 * "flags override the file" is just "the file's flags come first".
 *
 * The rule: every long flag is a top-level key, '-' written '_' or '-'
 * (`list_limit: 100` is `--list-limit 100`). By the kind the caller's key
 * table gives it, a key holds
 *   CONFIG_SCALAR  a scalar            -> --key VALUE
 *   CONFIG_BOOL    true/false          -> --key (or nothing)
 *   CONFIG_LIST    a scalar or a list  -> --key V1 --key V2 ...
 *   CONFIG_MAP     a mapping           -> --key NAME=VALUE ... (the key ""
 *                                          gives a bare --key VALUE)
 * Unknown keys, a wrong kind, a non-mapping document: an error naming the
 * file, the line and the key. Each produced argument carries its origin
 * ("FILE:LINE: key") so the flag parser can name the line of a bad value.
 *
 * Memory: config_args owns its strings; free with config_args_free.
 * Thread-compatible (no shared state).
 */
#ifndef HC_CONFIG_YAML_H
#define HC_CONFIG_YAML_H

#include <stddef.h>

typedef enum config_kind { CONFIG_SCALAR, CONFIG_BOOL, CONFIG_LIST, CONFIG_MAP } config_kind;

typedef struct config_key {
  const char *flag; /* long flag without dashes, e.g. "list-limit" */
  config_kind kind;
} config_key;

typedef struct config_args {
  char **argv;   /* "--list-limit", "100", ... (no program name) */
  char **origin; /* per argv entry: "FILE:LINE: key" */
  size_t argc;
} config_args;

#define CONFIG_ERR_MAX 256 /* the size of err in this tree's callers */

/* Loads `path` against `keys` (nkeys entries). On error returns -EINVAL
 * (bad content), -ENOENT/-EACCES (cannot open) or -ENOMEM, writes
 * "FILE:LINE: ..." into err (errlen bytes, errbuf.h), and leaves *out
 * empty. */
int config_yaml_load(const char *path, const config_key *keys, size_t nkeys, config_args *out,
                     char *err, size_t errlen);

void config_args_free(config_args *args);

#endif
