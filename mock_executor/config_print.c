/* config_print: --print-config, the effective configuration as YAML through
 * libyaml's emitter (config_print in config.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "config_names.h"
#include "faults.h"
#include "wire.h"

static int add_scalar(yaml_document_t *doc, const char *text) {
  return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)text, (int)strlen(text),
                                  YAML_ANY_SCALAR_STYLE);
}

static void add_pair(yaml_document_t *doc, int map, const char *key, int value) {
  yaml_document_append_mapping_pair(doc, map, add_scalar(doc, key), value);
}

static void add_text(yaml_document_t *doc, int map, const char *key, const char *text) {
  add_pair(doc, map, key, add_scalar(doc, text));
}

static void add_number(yaml_document_t *doc, int map, const char *key, long v) {
  char buf[32];

  snprintf(buf, sizeof(buf), "%ld", v);
  add_text(doc, map, key, buf);
}

static void add_duration(yaml_document_t *doc, int map, const char *key, long ms) {
  char buf[32];

  snprintf(buf, sizeof(buf), "%ldms", ms);
  add_text(doc, map, key, buf);
}

/* Later entries for the same name win, as when parsing. */
static int is_overridden(const char *const *names, size_t i, size_t n, size_t stride) {
  for (size_t j = i + 1; j < n; j++) {
    if (strcmp(*(const char *const *)((const char *)names + i * stride),
               *(const char *const *)((const char *)names + j * stride)) == 0)
      return 1;
  }
  return 0;
}

static void add_listeners(yaml_document_t *doc, int root, const config *cfg) {
  int ports = yaml_document_add_sequence(doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
  int protos = yaml_document_add_sequence(doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
  int engines = yaml_document_add_sequence(doc, NULL, YAML_FLOW_SEQUENCE_STYLE);

  for (size_t i = 0; i < cfg->n_listeners; i++) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", cfg->listeners[i].port);
    yaml_document_append_sequence_item(doc, ports, add_scalar(doc, buf));
    yaml_document_append_sequence_item(
        doc, protos, add_scalar(doc, config_protocol_names[cfg->listeners[i].protocol]));
    yaml_document_append_sequence_item(
        doc, engines, add_scalar(doc, config_engine_names[cfg->listeners[i].engine]));
  }
  add_pair(doc, root, "port", ports);
  add_pair(doc, root, "protocol", protos);
  add_pair(doc, root, "engine", engines);
}

static void add_faults(yaml_document_t *doc, int root, const config *cfg) {
  int rules = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
  char seed[32];

  for (size_t i = 0; i < cfg->n_fault_rules; i++)
    yaml_document_append_sequence_item(doc, rules, add_scalar(doc, cfg->fault_rules[i]));
  add_pair(doc, root, "fault", rules);
  snprintf(seed, sizeof(seed), "%llu", cfg->fault_seed);
  add_text(doc, root, "fault_seed", seed);
}

static void add_named(yaml_document_t *doc, int root, const config *cfg) {
  int statuses = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
  int schedules = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
  int codes = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
  int violate = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);

  for (size_t i = 0; i < cfg->n_statuses; i++) {
    if (!is_overridden((const char *const *)&cfg->statuses[0].name, i, cfg->n_statuses,
                       sizeof(cfg->statuses[0])))
      add_text(doc, statuses, cfg->statuses[i].name, wire_status_name(cfg->statuses[i].status));
  }
  for (size_t i = 0; i < cfg->n_timelines; i++) {
    if (!is_overridden((const char *const *)&cfg->timelines[0].name, i, cfg->n_timelines,
                       sizeof(cfg->timelines[0])))
      add_text(doc, schedules, cfg->timelines[i].name, cfg->timelines[i].spec);
  }
  for (int s = 0; s <= WIRE_STATUS_MAX; s++) {
    if (cfg->http_codes[s])
      add_number(doc, codes, wire_status_name(s), cfg->http_codes[s]);
  }
  for (size_t k = 0; k < VIOLATE_COUNT; k++) {
    size_t n;
    if (cfg->violate[k])
      yaml_document_append_sequence_item(doc, violate,
                                         add_scalar(doc, faults_catalogue(&n)[k].name));
  }
  add_pair(doc, root, "status", statuses);
  add_pair(doc, root, "timeline", schedules);
  add_pair(doc, root, "http_code", codes);
  add_pair(doc, root, "violate", violate);
  add_faults(doc, root, cfg);
}

int config_print(const config *cfg, FILE *out) {
  yaml_document_t doc;
  yaml_emitter_t em;
  int root, ok;

  if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1))
    return -ENOMEM;
  root = yaml_document_add_mapping(&doc, NULL, YAML_BLOCK_MAPPING_STYLE);
  add_text(&doc, root, "profile", config_profile_names[cfg->profile]);
  add_text(&doc, root, "host", cfg->host);
  add_listeners(&doc, root, cfg);
  add_named(&doc, root, cfg);
  add_text(&doc, root, "repeat", cfg->repeat ? "true" : "false");
  add_duration(&doc, root, "load_time", cfg->load_time_ms);
  add_number(&doc, root, "timeout_ready", cfg->timeout_ready_ms);
  add_duration(&doc, root, "ready_delay", cfg->ready_delay_ms);
  add_duration(&doc, root, "grace", cfg->grace_ms);
  add_text(&doc, root, "drain_watch", config_drain_names[cfg->drain_watch]);
  add_number(&doc, root, "list_limit", (long)cfg->list_limit);
  add_number(&doc, root, "journal_size", (long)cfg->journal_size);
  if (cfg->admin_port >= 0)
    add_number(&doc, root, "admin_port", cfg->admin_port);
  add_text(&doc, root, "admin_host", cfg->admin_host);
  if (cfg->admin_token)
    add_text(&doc, root, "admin_token", cfg->admin_token);
  add_text(&doc, root, "admin_insecure", cfg->admin_insecure ? "true" : "false");
  add_number(&doc, root, "cq_threads", cfg->cq_threads);
  add_number(&doc, root, "busy_poll_us", cfg->busy_poll_us);
  if (cfg->ssl_certfile)
    add_text(&doc, root, "ssl_certfile", cfg->ssl_certfile);
  if (cfg->ssl_keyfile)
    add_text(&doc, root, "ssl_keyfile", cfg->ssl_keyfile);
  if (cfg->ssl_ca)
    add_text(&doc, root, "ssl_ca", cfg->ssl_ca);

  yaml_emitter_initialize(&em);
  yaml_emitter_set_output_file(&em, out);
  yaml_emitter_set_unicode(&em, 1);
  ok = yaml_emitter_open(&em);
  if (ok) /* dump destroys the document, even on failure */
    ok = yaml_emitter_dump(&em, &doc) && yaml_emitter_close(&em);
  else
    yaml_document_delete(&doc);
  yaml_emitter_delete(&em);
  return ok ? 0 : -EIO;
}
