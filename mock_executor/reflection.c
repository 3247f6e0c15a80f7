/* reflection: ServerReflectionInfo answers. See reflection.h. */
#include "reflection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "wire.h"
#include "xalloc.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

const char *const reflection_services[] = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    NULL,
};

/* Room for the longest list served: ours (3) or a Jina Executor's (7). */
#define N_SERVICES 8

/* The parts a response may point to; they live on the caller's stack. */
typedef struct answer_parts {
  Grpc__Reflection__V1__ListServiceResponse list;
  Grpc__Reflection__V1__ServiceResponse services[N_SERVICES];
  Grpc__Reflection__V1__ServiceResponse *service_ptrs[N_SERVICES];
  Grpc__Reflection__V1__FileDescriptorResponse files;
  ProtobufCBinaryData file;
  Grpc__Reflection__V1__ExtensionNumberResponse extensions;
  Grpc__Reflection__V1__ErrorResponse error;
  char message[256];
} answer_parts;

#define HEALTH_PACKAGE "grpc.health.v1."

static void answer_list(response *res, answer_parts *p, const faults *f,
                        const char *const *services) {
  size_t n = 0;

  grpc__reflection__v1__list_service_response__init(&p->list);
  for (size_t i = 0; services[i] && n < N_SERVICES; i++) {
    if (faults_on(f, VIOLATE_REFLECTION_NO_HEALTH) &&
        strncmp(services[i], HEALTH_PACKAGE, strlen(HEALTH_PACKAGE)) == 0)
      continue;
    grpc__reflection__v1__service_response__init(&p->services[n]);
    p->services[n].name = (char *)services[i];
    p->service_ptrs[n] = &p->services[n];
    n++;
  }
  p->list.n_service = n;
  p->list.service = p->service_ptrs;
  res->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
  res->list_services_response = &p->list;
}

/* H-REFL-5: failures are answered in-stream and the stream stays open. */
static void set_error(response *res, answer_parts *p, int code, char *message) {
  grpc__reflection__v1__error_response__init(&p->error);
  p->error.error_code = code;
  p->error.error_message = message;
  res->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
  res->error_response = &p->error;
}

static void answer_error(response *res, answer_parts *p, int code, const char *what,
                         const char *name) {
  snprintf(p->message, sizeof(p->message), "%s not found: %s", what, name);
  set_error(res, p, code, p->message);
}

/* H-REFL-4: the file as one serialized FileDescriptorProto. Our files
 * import nothing, so there are no dependencies to send along. */
static void answer_file(response *res, answer_parts *p, const wire_file *f, const char *what,
                        const char *name) {
  if (!f) {
    answer_error(res, p, WIRE_CODE_NOT_FOUND, what, name);
    return;
  }
  grpc__reflection__v1__file_descriptor_response__init(&p->files);
  p->file.data = (uint8_t *)f->data;
  p->file.len = f->len;
  p->files.n_file_descriptor_proto = 1;
  p->files.file_descriptor_proto = &p->file;
  res->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
  res->file_descriptor_response = &p->files;
}

/* Our messages declare no extension ranges: a known type has none. */
static void answer_extension_numbers(response *res, answer_parts *p, const char *type) {
  if (!wire_file_containing_symbol(type)) {
    answer_error(res, p, WIRE_CODE_NOT_FOUND, "type", type);
    return;
  }
  grpc__reflection__v1__extension_number_response__init(&p->extensions);
  p->extensions.base_type_name = (char *)type;
  res->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
  res->all_extension_numbers_response = &p->extensions;
}

/* reflection-not-found hides the Health symbols, as the C++ default
 * health service does (grpc/grpc#36665). */
static const wire_file *symbol_file(const char *symbol, const faults *f) {
  if (faults_on(f, VIOLATE_REFLECTION_NOT_FOUND) &&
      strncmp(symbol, HEALTH_PACKAGE, strlen(HEALTH_PACKAGE)) == 0)
    return NULL;
  return wire_file_containing_symbol(symbol);
}

static void answer_request(const request *req, response *res, answer_parts *p, const faults *f,
                           const char *const *services) {
  switch (req->message_request_case) {
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
    answer_list(res, p, f, services);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
    answer_file(res, p, symbol_file(req->file_containing_symbol, f), "symbol",
                req->file_containing_symbol);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
    answer_file(res, p, wire_file_by_name(req->file_by_filename), "file", req->file_by_filename);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
    answer_error(res, p, WIRE_CODE_NOT_FOUND, "extension of",
                 req->file_containing_extension->containing_type);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
    answer_extension_numbers(res, p, req->all_extension_numbers_of_type);
    break;
  default:
    set_error(res, p, WIRE_CODE_INVALID_ARGUMENT, "no message_request set");
    break;
  }
}

int reflection_answer(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len) {
  return reflection_answer_faults(NULL, NULL, buf, len, out, out_len);
}

int reflection_answer_faults(const faults *f, const char *const *services, const uint8_t *buf,
                             size_t len, uint8_t **out, size_t *out_len) {
  response res = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
  answer_parts parts;
  request *req;
  uint8_t *packed;
  size_t size;
  int rc = 0;

  req = grpc__reflection__v1__server_reflection_request__unpack(NULL, len, buf);
  if (!req)
    return -EBADMSG;
  res.valid_host = req->host;
  res.original_request = req;
  answer_request(req, &res, &parts, f, services ? services : reflection_services);
  if (faults_on(f, VIOLATE_REFLECTION_ABORT) &&
      res.message_response_case ==
          GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE &&
      parts.error.error_code == WIRE_CODE_NOT_FOUND) {
    rc = -ENOENT;
    goto out;
  }
  size = grpc__reflection__v1__server_reflection_response__get_packed_size(&res);
  packed = xmalloc(size);
  grpc__reflection__v1__server_reflection_response__pack(&res, packed);
  *out = packed;
  *out_len = size;
out:
  grpc__reflection__v1__server_reflection_request__free_unpacked(req, NULL);
  return rc;
}
