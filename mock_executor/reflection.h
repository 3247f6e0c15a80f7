/*
 * reflection: answers grpc.reflection.v1 and v1alpha ServerReflectionRequests
 * from the descriptors embedded in the wire library (H-REFL-3/4/5).
 *
 * It knows no transport: the gRPC server hands it one serialized request and
 * sends back the one serialized response, in order (H-REFL-8). v1 and v1alpha
 * have the same messages and field numbers, so one codec serves both paths.
 *
 * Thread-safe (no state of its own; the wire descriptor index is built once).
 */
#ifndef HC_REFLECTION_H
#define HC_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "faults.h"

/* The services listed by list_services (H-REFL-3), NULL-terminated. */
extern const char *const reflection_services[];

/* Answers one request. On success *out is a malloc'd ServerReflectionResponse
 * (caller frees) that carries original_request; lookups that fail are
 * answered in-stream with error_response NOT_FOUND (H-REFL-5), so they are
 * successes here. -EBADMSG when the request does not decode (end the
 * stream with INVALID_ARGUMENT). Out of memory aborts (docs/oom.md). */
int reflection_answer(const uint8_t *req, size_t len, uint8_t **out, size_t *out_len);

/* reflection_answer listing `services` (NULL-terminated, at most 8;
 * NULL: reflection_services) in list_services, as a Jina Executor lists
 * its own (jina.h) while every symbol of ours still resolves (J-REFL-2),
 * and with the violation knobs of `f` (NULL: none) read:
 * reflection-no-health leaves Health out of list_services,
 * reflection-not-found answers NOT_FOUND for the grpc.health.v1 symbols,
 * and with reflection-abort a failed lookup returns -ENOENT (and no
 * answer) so that the caller ends the stream instead (H-REFL-5 broken). */
int reflection_answer_faults(const faults *f, const char *const *services, const uint8_t *req,
                             size_t len, uint8_t **out, size_t *out_len);

#endif
