/* config_yaml: YAML file -> flags, with origins. */
#define _GNU_SOURCE /* strdup, asprintf */
#include "config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "errbuf.h"

typedef struct loader {
  const char *path;
  yaml_document_t *doc;
  config_args *out;
  char *err;
  size_t errlen;
} loader;

static int fail(loader *l, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(loader *l, const yaml_node_t *at, const char *fmt, ...) {
  int n =
      snprintf(l->err, l->errlen, "%s:%zu: ", l->path, at ? at->start_mark.line + 1 : (size_t)1);
  va_list ap;

  if (n >= 0 && (size_t)n < l->errlen) {
    va_start(ap, fmt);
    vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

static int push(loader *l, char *arg, const yaml_node_t *at, const char *key) {
  config_args *o = l->out;
  char **argv = realloc(o->argv, (o->argc + 1) * sizeof(*argv));
  char **origin;
  char *where = NULL;

  if (argv)
    o->argv = argv;
  origin = argv ? realloc(o->origin, (o->argc + 1) * sizeof(*origin)) : NULL;
  if (origin)
    o->origin = origin;
  if (!arg || !argv || !origin ||
      asprintf(&where, "%s:%zu: %s", l->path, at->start_mark.line + 1, key) < 0) {
    free(arg);
    return -ENOMEM;
  }
  o->argv[o->argc] = arg;
  o->origin[o->argc] = where;
  o->argc++;
  return 0;
}

static int push_flag(loader *l, const char *flag, const yaml_node_t *at, const char *key) {
  char *arg;

  if (asprintf(&arg, "--%s", flag) < 0)
    return -ENOMEM;
  return push(l, arg, at, key);
}

static const char *scalar(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int emit_pair(loader *l, const config_key *k, const char *key, const yaml_node_t *at,
                     const char *value) {
  int rv = push_flag(l, k->flag, at, key);

  if (rv < 0)
    return rv;
  return push(l, strdup(value), at, key);
}

static int emit_list(loader *l, const config_key *k, const char *key, yaml_node_t *v) {
  int rv;

  if (v->type == YAML_SCALAR_NODE)
    return emit_pair(l, k, key, v, scalar(v));
  if (v->type != YAML_SEQUENCE_NODE)
    return fail(l, v, "%s: expected a value or a list of values", key);
  for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
    yaml_node_t *item = yaml_document_get_node(l->doc, *it);
    if (!scalar(item))
      return fail(l, item, "%s: list items must be plain values", key);
    rv = emit_pair(l, k, key, item, scalar(item));
    if (rv < 0)
      return rv;
  }
  return 0;
}

static int emit_map(loader *l, const config_key *k, const char *key, yaml_node_t *v) {
  if (v->type != YAML_MAPPING_NODE)
    return fail(l, v, "%s: expected a mapping of NAME: VALUE", key);
  for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
    yaml_node_t *name = yaml_document_get_node(l->doc, p->key);
    yaml_node_t *val = yaml_document_get_node(l->doc, p->value);
    char *arg;
    int rv;

    if (!scalar(name) || !scalar(val))
      return fail(l, val, "%s: names and values must be plain values", key);
    if (*scalar(name))
      rv = asprintf(&arg, "%s=%s", scalar(name), scalar(val)) < 0 ? -ENOMEM : 0;
    else
      rv = (arg = strdup(scalar(val))) ? 0 : -ENOMEM;
    if (rv < 0)
      return rv;
    rv = push_flag(l, k->flag, val, key);
    if (rv < 0) {
      free(arg);
      return rv;
    }
    rv = push(l, arg, val, key);
    if (rv < 0)
      return rv;
  }
  return 0;
}

static int emit_bool(loader *l, const config_key *k, const char *key, yaml_node_t *v) {
  const char *s = scalar(v);

  if (s && strcmp(s, "true") == 0)
    return push_flag(l, k->flag, v, key);
  if (s && strcmp(s, "false") == 0)
    return 0;
  return fail(l, v, "%s: expected true or false, got '%s'", key, s ? s : "(not a value)");
}

static const config_key *find_key(const config_key *keys, size_t nkeys, const char *key) {
  for (size_t i = 0; i < nkeys; i++) {
    const char *f = keys[i].flag, *k = key;
    while (*f && (*f == *k || (*f == '-' && *k == '_'))) {
      f++;
      k++;
    }
    if (!*f && !*k)
      return &keys[i];
  }
  return NULL;
}

static int emit_key(loader *l, const config_key *keys, size_t nkeys, yaml_node_t *name,
                    yaml_node_t *v) {
  const char *key = scalar(name);
  const config_key *k;

  if (!key)
    return fail(l, name, "keys must be plain names");
  k = find_key(keys, nkeys, key);
  if (!k)
    return fail(l, name, "unknown key '%s'", key);
  switch (k->kind) {
  case CONFIG_SCALAR:
    if (!scalar(v))
      return fail(l, v, "%s: expected a single value", key);
    return emit_pair(l, k, key, v, scalar(v));
  case CONFIG_BOOL:
    return emit_bool(l, k, key, v);
  case CONFIG_LIST:
    return emit_list(l, k, key, v);
  case CONFIG_MAP:
    return emit_map(l, k, key, v);
  }
  return -EINVAL;
}

void config_args_free(config_args *args) {
  for (size_t i = 0; i < args->argc; i++) {
    free(args->argv[i]);
    free(args->origin[i]);
  }
  free(args->argv);
  free(args->origin);
  memset(args, 0, sizeof(*args));
}

int config_yaml_load(const char *path, const config_key *keys, size_t nkeys, config_args *out,
                     char *err, size_t errlen) {
  yaml_parser_t parser;
  yaml_document_t doc;
  loader l = {.path = path, .doc = &doc, .out = out, .err = err, .errlen = errlen};
  yaml_node_t *root;
  FILE *f;
  int rv = 0;

  memset(out, 0, sizeof(*out));
  f = fopen(path, "rb");
  if (!f) {
    rv = -errno;
    return errbuf_fail(err, errlen, rv, "%s: cannot open: %s", path, strerror(-rv));
  }
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    rv = errbuf_fail(err, errlen, -EINVAL, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
    yaml_parser_delete(&parser);
    fclose(f);
    return rv;
  }
  root = yaml_document_get_root_node(&doc);
  if (root && root->type != YAML_MAPPING_NODE) {
    rv = fail(&l, root, "the top level must be a mapping of settings");
    goto out;
  }
  /* An empty file is a valid, empty config. */
  for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
       root && p < root->data.mapping.pairs.top; p++) {
    rv = emit_key(&l, keys, nkeys, yaml_document_get_node(&doc, p->key),
                  yaml_document_get_node(&doc, p->value));
    if (rv < 0)
      goto out;
  }
out:
  if (rv == -ENOMEM) /* push() and emit_map() write no message of their own */
    snprintf(err, errlen, "%s: out of memory", path);
  if (rv < 0)
    config_args_free(out);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  fclose(f);
  return rv;
}
