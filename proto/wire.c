/* wire: status names, message prefix, health messages, descriptor index. */
#define _GNU_SOURCE /* strdup, strcasecmp */
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "number.h"

static const char *const status_names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

static const char *const code_names[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int parse_name(const char *text, const char *const *names, size_t n, int *out) {
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(text, names[i]) == 0) {
      *out = (int)i;
      return 0;
    }
  }
  long v;

  if (number_parse(text, 0, (long)n - 1, &v) < 0)
    return -EINVAL;
  *out = (int)v;
  return 0;
}

int wire_status_parse(const char *text, int *status) {
  if (!text)
    return -EINVAL;
  return parse_name(text, status_names, COUNT(status_names), status);
}

const char *wire_status_name(int status) {
  if (status < 0 || status > WIRE_STATUS_MAX)
    return "INVALID";
  return status_names[status];
}

const char *wire_code_name(int code) {
  if (code < 0 || (size_t)code >= COUNT(code_names))
    return NULL;
  return code_names[code];
}

int wire_code_parse(const char *text, int *code) {
  if (!text)
    return -EINVAL;
  return parse_name(text, code_names, COUNT(code_names), code);
}

void wire_prefix_write(uint8_t out[WIRE_PREFIX_LEN], int compressed, uint32_t len) {
  out[0] = compressed ? 1 : 0;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

int wire_prefix_read(const uint8_t *buf, size_t avail, int *compressed, uint32_t *len) {
  if (avail < WIRE_PREFIX_LEN)
    return -EAGAIN;
  *compressed = buf[0];
  *len = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | (uint32_t)buf[4];
  return 0;
}

int wire_check_request_decode(const uint8_t *buf, size_t len, char **service) {
  Grpc__Health__V1__HealthCheckRequest *req;
  char *copy;

  /* H-CHECK-8: protobuf-c reads 0 bytes as the default message, service "". */
  req = grpc__health__v1__health_check_request__unpack(NULL, len, buf);
  if (!req)
    return -EBADMSG;
  copy = strdup(req->service);
  grpc__health__v1__health_check_request__free_unpacked(req, NULL);
  if (!copy)
    return -ENOMEM;
  *service = copy;
  return 0;
}

int wire_check_request_encode(const char *service, uint8_t **buf, size_t *len) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  size_t n;
  uint8_t *out;

  req.service = (char *)service;
  n = grpc__health__v1__health_check_request__get_packed_size(&req);
  out = malloc(n ? n : 1);
  if (!out)
    return -ENOMEM;
  grpc__health__v1__health_check_request__pack(&req, out);
  *buf = out;
  *len = n;
  return 0;
}

int wire_check_response_encode(int status, uint8_t out[WIRE_RESPONSE_MAX]) {
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

  if (status < 0 || status > WIRE_STATUS_MAX)
    return -EINVAL;
  resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
  return (int)grpc__health__v1__health_check_response__pack(&resp, out);
}

int wire_check_response_decode(const uint8_t *buf, size_t len, int *status) {
  Grpc__Health__V1__HealthCheckResponse *resp;

  resp = grpc__health__v1__health_check_response__unpack(NULL, len, buf);
  if (!resp)
    return -EBADMSG;
  *status = (int)resp->status;
  grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
  return 0;
}

/* ---- descriptors ---------------------------------------------------- */

extern const unsigned char hc_fd_grpc_health_v1_health[];
extern const size_t hc_fd_grpc_health_v1_health_len;
extern const unsigned char hc_fd_grpc_reflection_v1_reflection[];
extern const size_t hc_fd_grpc_reflection_v1_reflection_len;
extern const unsigned char hc_fd_grpc_reflection_v1alpha_reflection[];
extern const size_t hc_fd_grpc_reflection_v1alpha_reflection_len;

static wire_file files[3];
static pthread_once_t files_once = PTHREAD_ONCE_INIT;

/* Sorted (symbol -> file) table, built once from the descriptors. */
typedef struct symbol_entry {
  char *symbol;
  const wire_file *file;
} symbol_entry;

static symbol_entry *symbols;
static size_t symbol_count;
static size_t symbol_cap;

static void add_symbol(const char *scope, const char *name, const wire_file *f) {
  size_t n = strlen(scope) + strlen(name) + 2;
  char *s;

  if (symbol_count == symbol_cap) {
    size_t cap = symbol_cap ? symbol_cap * 2 : 64;
    symbol_entry *grown = realloc(symbols, cap * sizeof(*grown));
    if (!grown)
      abort(); /* start-up only; nothing sensible to run without it */
    symbols = grown;
    symbol_cap = cap;
  }
  s = malloc(n);
  if (!s)
    abort();
  snprintf(s, n, "%s%s%s", scope, *scope ? "." : "", name);
  symbols[symbol_count].symbol = s;
  symbols[symbol_count].file = f;
  symbol_count++;
}

static void index_enum(const char *scope, const Google__Protobuf__EnumDescriptorProto *e,
                       const wire_file *f) {
  add_symbol(scope, e->name, f);
  /* Enum values are scoped like their enum's siblings (C++ scoping). */
  for (size_t i = 0; i < e->n_value; i++)
    add_symbol(scope, e->value[i]->name, f);
}

static void index_message(const char *scope, const Google__Protobuf__DescriptorProto *m,
                          const wire_file *f) {
  size_t n = strlen(scope) + strlen(m->name) + 2;
  char *inner = malloc(n);

  if (!inner)
    abort();
  snprintf(inner, n, "%s%s%s", scope, *scope ? "." : "", m->name);
  add_symbol(scope, m->name, f);
  for (size_t i = 0; i < m->n_nested_type; i++)
    index_message(inner, m->nested_type[i], f);
  for (size_t i = 0; i < m->n_enum_type; i++)
    index_enum(inner, m->enum_type[i], f);
  free(inner);
}

static void index_file(const wire_file *f) {
  Google__Protobuf__FileDescriptorProto *fd;
  const char *pkg;

  fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->len, f->data);
  if (!fd)
    abort(); /* the build produced these bytes; they must decode */
  pkg = fd->package ? fd->package : "";
  for (size_t i = 0; i < fd->n_message_type; i++)
    index_message(pkg, fd->message_type[i], f);
  for (size_t i = 0; i < fd->n_enum_type; i++)
    index_enum(pkg, fd->enum_type[i], f);
  for (size_t i = 0; i < fd->n_service; i++) {
    const Google__Protobuf__ServiceDescriptorProto *s = fd->service[i];
    size_t n = strlen(pkg) + strlen(s->name) + 2;
    char *svc = malloc(n);

    if (!svc)
      abort();
    snprintf(svc, n, "%s%s%s", pkg, *pkg ? "." : "", s->name);
    add_symbol(pkg, s->name, f);
    for (size_t j = 0; j < s->n_method; j++)
      add_symbol(svc, s->method[j]->name, f);
    free(svc);
  }
  google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
}

static int symbol_cmp(const void *a, const void *b) {
  return strcmp(((const symbol_entry *)a)->symbol, ((const symbol_entry *)b)->symbol);
}

static void files_init(void) {
  files[0] = (wire_file){"grpc/health/v1/health.proto", hc_fd_grpc_health_v1_health,
                         hc_fd_grpc_health_v1_health_len};
  files[1] = (wire_file){"grpc/reflection/v1/reflection.proto", hc_fd_grpc_reflection_v1_reflection,
                         hc_fd_grpc_reflection_v1_reflection_len};
  files[2] = (wire_file){"grpc/reflection/v1alpha/reflection.proto",
                         hc_fd_grpc_reflection_v1alpha_reflection,
                         hc_fd_grpc_reflection_v1alpha_reflection_len};
  for (size_t i = 0; i < COUNT(files); i++)
    index_file(&files[i]);
  qsort(symbols, symbol_count, sizeof(*symbols), symbol_cmp);
}

const wire_file *wire_files(size_t *count) {
  pthread_once(&files_once, files_init);
  *count = COUNT(files);
  return files;
}

const wire_file *wire_file_by_name(const char *name) {
  pthread_once(&files_once, files_init);
  for (size_t i = 0; i < COUNT(files); i++) {
    if (strcmp(files[i].name, name) == 0)
      return &files[i];
  }
  return NULL;
}

const wire_file *wire_file_containing_symbol(const char *symbol) {
  symbol_entry key, *hit;

  pthread_once(&files_once, files_init);
  if (symbol[0] == '.')
    symbol++;
  key.symbol = (char *)symbol;
  hit = bsearch(&key, symbols, symbol_count, sizeof(*symbols), symbol_cmp);
  return hit ? hit->file : NULL;
}
