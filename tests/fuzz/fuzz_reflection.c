/* Reflection messages (H-REFL-*): ServerReflectionRequest, which the mock
 * decodes from any client, and ServerReflectionResponse plus the
 * FileDescriptorProtos inside it, which the runner decodes from the
 * server under test; v1 and v1alpha. Each input is tried as every one. */
#include "fuzz_proto.h"

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"

/* The runner reads these fields of a response; walking them is what a
 * careless reader would do, so a NULL where the type promises none shows. */
static void walk_response(const Grpc__Reflection__V1__ServerReflectionResponse *r) {
  switch (r->message_response_case) {
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE:
    /* A oneof member that is a message is never NULL once its case is set. */
    FUZZ_CHECK(r->file_descriptor_response);
    for (size_t i = 0; i < r->file_descriptor_response->n_file_descriptor_proto; i++) {
      ProtobufCBinaryData *b = &r->file_descriptor_response->file_descriptor_proto[i];
      ProtobufCMessage *fd = fuzz_proto_roundtrip(
          &google__protobuf__file_descriptor_proto__descriptor, b->data, b->len);
      if (fd)
        protobuf_c_message_free_unpacked(fd, NULL);
    }
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE:
    FUZZ_CHECK(r->list_services_response);
    for (size_t i = 0; i < r->list_services_response->n_service; i++)
      FUZZ_CHECK(r->list_services_response->service[i] &&
                 r->list_services_response->service[i]->name);
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE:
    FUZZ_CHECK(r->error_response && r->error_response->error_message);
    break;
  default:
    break;
  }
  FUZZ_CHECK(r->valid_host); /* proto3 strings default to "", never NULL */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const ProtobufCMessageDescriptor *const plain[] = {
      &grpc__reflection__v1__server_reflection_request__descriptor,
      &grpc__reflection__v1alpha__server_reflection_request__descriptor,
      &grpc__reflection__v1alpha__server_reflection_response__descriptor,
      &google__protobuf__file_descriptor_proto__descriptor,
  };
  ProtobufCMessage *m;

  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
    m = fuzz_proto_roundtrip(plain[i], data, size);
    if (m)
      protobuf_c_message_free_unpacked(m, NULL);
  }
  m = fuzz_proto_roundtrip(&grpc__reflection__v1__server_reflection_response__descriptor, data,
                           size);
  if (m) {
    walk_response((const Grpc__Reflection__V1__ServerReflectionResponse *)m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  return 0;
}
