/*
 * wire: what both programs share about the bytes on the wire.
 *
 *  - ServingStatus names <-> values (H-SVC-2) and gRPC status code names;
 *  - the 5-byte gRPC message prefix (compressed flag + big-endian length);
 *  - HealthCheckRequest / HealthCheckResponse encode and decode;
 *  - the serialized FileDescriptorProtos of our .proto files (generated at
 *    build time) and a symbol index over them, for reflection (H-REFL-4).
 *
 * Every function here is thread-safe: none keeps state except the
 * descriptor index, which is built once under pthread_once.
 * Returns: 0 or a negative errno-style value unless stated otherwise.
 */
#ifndef HC_WIRE_H
#define HC_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* grpc.health.v1.HealthCheckResponse.ServingStatus (H-SVC-2). A status
 * read off the wire may lie outside the enum: such values travel as int. */
typedef enum wire_status {
  WIRE_UNKNOWN = 0,
  WIRE_SERVING = 1,
  WIRE_NOT_SERVING = 2,
  WIRE_SERVICE_UNKNOWN = 3
} wire_status;
#define WIRE_STATUS_MAX WIRE_SERVICE_UNKNOWN

/* gRPC status codes used by this project (doc/statuscodes.md), a namespace
 * of their own (WIRE_CODE_*) so that a code is never read as a status. */
typedef enum wire_code {
  WIRE_CODE_OK = 0,
  WIRE_CODE_CANCELLED = 1,
  WIRE_CODE_UNKNOWN = 2,
  WIRE_CODE_INVALID_ARGUMENT = 3,
  WIRE_CODE_DEADLINE_EXCEEDED = 4,
  WIRE_CODE_NOT_FOUND = 5,
  WIRE_CODE_RESOURCE_EXHAUSTED = 8,
  WIRE_CODE_UNIMPLEMENTED = 12,
  WIRE_CODE_INTERNAL = 13,
  WIRE_CODE_UNAVAILABLE = 14
} wire_code;

/* Parses SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN (any case) or a
 * decimal 0-3 into *status. -EINVAL (and *status untouched) otherwise. */
int wire_status_parse(const char *text, int *status);

/* "SERVING" etc.; "INVALID" for a value outside 0-3. Static storage. */
const char *wire_status_name(int status);

/* "OK", "NOT_FOUND", ... for 0-16; "CODE_<n>" never: NULL outside 0-16. */
const char *wire_code_name(int code);

/* Parses a gRPC code name (any case, e.g. "not_found") or a decimal 0-16. */
int wire_code_parse(const char *text, int *code);

/* The gRPC message prefix. */
#define WIRE_PREFIX_LEN 5
void wire_prefix_write(uint8_t out[WIRE_PREFIX_LEN], int compressed, uint32_t len);
/* Reads a prefix from buf[0..avail). Returns 0 and fills the outputs when
 * 5 bytes are there, -EAGAIN when fewer are. */
int wire_prefix_read(const uint8_t *buf, size_t avail, int *compressed, uint32_t *len);

/* HealthCheckRequest decode. A 0-byte message means service "" (H-CHECK-8);
 * unknown fields are skipped (H-CHECK-9). On success *service is a
 * malloc'd NUL-terminated copy the caller frees. -EBADMSG on bad bytes,
 * -ENOMEM. */
int wire_check_request_decode(const uint8_t *buf, size_t len, char **service);

/* HealthCheckRequest encode into a malloc'd buffer the caller frees. */
int wire_check_request_encode(const char *service, uint8_t **buf, size_t *len);

/* HealthCheckResponse encode: writes at most WIRE_RESPONSE_MAX bytes into
 * out and returns the length (UNKNOWN encodes to 0 bytes), or -EINVAL for a
 * status outside 0-3. */
#define WIRE_RESPONSE_MAX 2
int wire_check_response_encode(int status, uint8_t out[WIRE_RESPONSE_MAX]);

/* HealthCheckResponse decode into *status (any enum value, even >3, is
 * returned as sent). -EBADMSG on bad bytes. */
int wire_check_response_decode(const uint8_t *buf, size_t len, int *status);

/* A .proto file of ours, serialized as a FileDescriptorProto. */
typedef struct wire_file {
  const char *name;          /* "grpc/health/v1/health.proto" */
  const unsigned char *data; /* static storage */
  size_t len;
} wire_file;

/* The files, in a fixed order; *count receives their number. */
const wire_file *wire_files(size_t *count);

/* The file named exactly `name`, or NULL. */
const wire_file *wire_file_by_name(const char *name);

/* The file that defines the fully qualified symbol (service, method,
 * message, nested message, enum or enum value), e.g.
 * "grpc.health.v1.Health", "grpc.health.v1.Health.Watch",
 * "grpc.health.v1.HealthCheckResponse.ServingStatus". A leading '.' is
 * accepted. NULL when no file defines it. */
const wire_file *wire_file_containing_symbol(const char *symbol);

#endif
