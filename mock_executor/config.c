/* config: parsing the command line and the config file against the flag
 * table (config_flags.c). See config.h; --print-config is config_print.c. */
#include "config.h"
#include "config_flags.h"
#include "config_names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timeline.h"

/* ---- parsing ---------------------------------------------------------- */

static const flag_def *find_flag(const char *arg, const char **inline_value, char *err,
                                 size_t errlen) {
  const char *eq;
  size_t len;

  *inline_value = NULL;
  if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
    for (size_t i = 0; i < config_nflags; i++) {
      if (config_flags[i].short_name == arg[1])
        return &config_flags[i];
    }
  }
  if (strncmp(arg, "--", 2) != 0) {
    if (arg[0] == '-')
      fail(err, errlen, "unknown option '%s'", arg);
    else
      fail(err, errlen, "unexpected argument '%s'", arg);
    return NULL;
  }
  eq = strchr(arg, '=');
  len = eq ? (size_t)(eq - arg) - 2 : strlen(arg) - 2;
  for (size_t i = 0; i < config_nflags; i++) {
    if (strlen(config_flags[i].name) == len && strncmp(arg + 2, config_flags[i].name, len) == 0) {
      if (eq)
        *inline_value = eq + 1;
      return &config_flags[i];
    }
  }
  fail(err, errlen, "unknown option '%.*s'", (int)(len + 2), arg);
  return NULL;
}

/* --profile jina: like jina's parse_known_args, an unknown --flag on the
 * command line and the values after it are set aside (main warns), not
 * refused. */
static void ignore_unknown(config *cfg, int argc, char **argv, int *i) {
  for (;;) {
    if (cfg->n_ignored < CONFIG_MAX_IGNORED)
      cfg->ignored[cfg->n_ignored] = argv[*i];
    cfg->n_ignored++;
    if (*i + 1 >= argc || argv[*i + 1][0] == '-')
      return;
    ++*i;
  }
}

/* Parses one flag at argv[*i] and its values, advancing *i. */
static int parse_one(config *cfg, int argc, char **argv, int *i, int from_file, char *err,
                     size_t errlen) {
  const char *inline_value;
  const flag_def *f = find_flag(argv[*i], &inline_value, err, errlen);
  int rc, n = 0;

  if (!f && cfg->profile == CONFIG_PROFILE_JINA && !from_file) {
    ignore_unknown(cfg, argc, argv, i);
    return 0;
  }
  if (!f)
    return -EINVAL;
  if (f->arg == ARG_NONE) {
    if (inline_value)
      return fail(err, errlen, "--%s takes no value", f->name);
    return f->apply(cfg, NULL, from_file, err, errlen);
  }
  if (inline_value)
    return f->apply(cfg, inline_value, from_file, err, errlen);
  /* ARG_MANY takes every following argument up to the next option. */
  while (*i + 1 < argc && (n == 0 || (f->arg == ARG_MANY && argv[*i + 1][0] != '-'))) {
    rc = f->apply(cfg, argv[++*i], from_file, err, errlen);
    if (rc != 0)
      return rc;
    n++;
  }
  if (n == 0)
    return fail(err, errlen, "--%s needs a value", f->name);
  return 0;
}

/* Parses args[0..argc); on an error in an argument that came from the
 * config file, prefixes the message with its FILE:LINE: key. */
static int parse_args(config *cfg, int argc, char **args, char **origins, char *err,
                      size_t errlen) {
  for (int i = 0; i < argc; i++) {
    int start = i;
    int rc = parse_one(cfg, argc, args, &i, origins != NULL, err, errlen);

    if (rc < 0 && rc != -ENOMEM && origins) {
      char msg[256];
      snprintf(msg, sizeof(msg), "%s", err);
      snprintf(err, errlen, "%s: %s", origins[i < argc ? i : start], msg);
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Pairs a per-port flag's values with the ports: one applies to every
 * port, else one each. values[k] receives each port's index in names. */
static int pair_per_port(const config *cfg, const char *flag, const char *const *names,
                         const config_per_port *list, int *values, char *err, size_t errlen) {
  size_t n = list->n;

  if (n == 0)
    return 0;
  if (n != 1 && n != cfg->n_listeners)
    return fail(err, errlen, "%s: %zu values for %zu ports (give one, or one per port)", flag, n,
                cfg->n_listeners);
  for (size_t k = 0; k < cfg->n_listeners; k++) /* validated when the flag was parsed */
    config_parse_enum(flag, list->values[n == 1 ? 0 : k], names, 2, &values[k], err, errlen);
  return 0;
}

static int pair_listeners(config *cfg, char *err, size_t errlen) {
  int protocols[CONFIG_MAX_LISTENERS] = {0}, engines[CONFIG_MAX_LISTENERS] = {0};

  if (pair_per_port(cfg, "--protocol", config_protocol_names, &cfg->protocols, protocols, err,
                    errlen) < 0 ||
      pair_per_port(cfg, "--engine", config_engine_names, &cfg->engines, engines, err, errlen) < 0)
    return -EINVAL;
  for (size_t k = 0; k < cfg->n_listeners; k++) {
    cfg->listeners[k].protocol = (config_protocol)protocols[k];
    cfg->listeners[k].engine = (config_engine)engines[k];
  }
  return 0;
}

/* Checks what only the whole command line can tell. */
static int check_whole(config *cfg, char *err, size_t errlen) {
  char terr[TIMELINE_ERR_MAX];
  timeline_spec spec;
  int rc;

  if (cfg->n_listeners == 0)
    cfg->n_listeners = 1; /* port 0 */
  /* Jina: "you can't pass a ssl_keyfile without a ssl_certfile and vice versa" */
  if (!cfg->ssl_certfile != !cfg->ssl_keyfile)
    return fail(err, errlen, "--ssl-certfile and --ssl-keyfile go together: give both or neither");
  if (cfg->ssl_ca && !cfg->ssl_certfile)
    return fail(err, errlen, "--ssl-ca needs --ssl-certfile and --ssl-keyfile");
  for (size_t i = 0; i < cfg->n_timelines; i++) {
    rc = timeline_parse(cfg->timelines[i].spec, cfg->repeat, &spec, terr, sizeof(terr));
    if (rc == -ENOMEM)
      return rc;
    if (rc < 0)
      return fail(err, errlen, "--timeline: '%s': %s", cfg->timelines[i].spec, terr);
    timeline_spec_free(&spec);
  }
  return pair_listeners(cfg, err, errlen);
}

static void set_defaults(config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->host = DEFAULT_HOST;
  cfg->admin_host = DEFAULT_ADMIN_HOST;
  cfg->admin_port = -1;
  cfg->list_limit = DEFAULT_LIST_LIMIT;
  cfg->cq_threads = DEFAULT_CQ_THREADS;
  cfg->busy_poll_us = DEFAULT_BUSY_POLL_US;
  cfg->grace_ms = DEFAULT_GRACE_MS;
  cfg->journal_size = DEFAULT_JOURNAL;
  cfg->timeout_ready_ms = DEFAULT_TIMEOUT_READY_MS;
}

/* The value of the last `flag` ("--config") on the command line, given as
 * "--config V" or "--config=V", or NULL: what must be known before the
 * other flags are parsed. */
static const char *last_value(int argc, char **argv, const char *flag) {
  size_t len = strlen(flag);
  const char *value = NULL;

  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], flag, len) == 0 && argv[i][len] == '=')
      value = argv[i] + len + 1;
    else if (strcmp(argv[i], flag) == 0 && i + 1 < argc)
      value = argv[++i];
  }
  return value;
}

int config_parse(int argc, char **argv, config *cfg, char *err, size_t errlen) {
  size_t nkeys;
  const config_key *keys = config_yaml_keys(&nkeys);
  const char *profile;
  char yerr[CONFIG_ERR_MAX];
  int rc;

  set_defaults(cfg);
  err[0] = '\0';
  cfg->config_file = last_value(argc, argv, "--config");
  if (cfg->config_file) {
    rc = config_yaml_load(cfg->config_file, keys, nkeys, &cfg->file_args, yerr, sizeof(yerr));
    if (rc < 0) {
      snprintf(err, errlen, "--config: %s", yerr);
      if (rc != -ENOMEM) /* -ENOENT, -EACCES: a bad flag value all the same */
        rc = -EINVAL;
      goto out;
    }
    rc = parse_args(cfg, (int)cfg->file_args.argc, cfg->file_args.argv, cfg->file_args.origin, err,
                    errlen);
    if (rc > 0)
      rc = fail(err, errlen, "--config: %s may not be set in a config file", "that flag");
    if (rc != 0)
      goto out;
  }
  /* Unknown flags before --profile jina are set aside too (checked again
   * when --profile is parsed). */
  profile = last_value(argc, argv, "--profile");
  if (profile && strcasecmp(profile, "jina") == 0)
    cfg->profile = CONFIG_PROFILE_JINA;
  rc = parse_args(cfg, argc - 1, argv + 1, NULL, err, errlen);
  if (rc == 0)
    rc = check_whole(cfg, err, errlen);
out:
  if (rc < 0) {
    if (rc == -ENOMEM)
      snprintf(err, errlen, "out of memory");
    config_free(cfg);
  }
  return rc;
}

void config_free(config *cfg) {
  for (size_t i = 0; i < cfg->n_statuses; i++)
    free(cfg->statuses[i].name);
  free(cfg->statuses);
  cfg->statuses = NULL;
  cfg->n_statuses = 0;
  for (size_t i = 0; i < cfg->n_timelines; i++)
    free(cfg->timelines[i].name);
  free(cfg->timelines);
  cfg->timelines = NULL;
  cfg->n_timelines = 0;
  free(cfg->fault_rules);
  cfg->fault_rules = NULL;
  cfg->n_fault_rules = 0;
  config_args_free(&cfg->file_args);
}
