/*
 * grpc_handoff: tells ThreadSanitizer about the one synchronisation the
 * gRPC C core promises its users (make test-tsan, HC_TSAN only).
 *
 * Debian's libgrpc is not built with TSan, so TSan cannot see that a tag
 * handed to grpc_call_start_batch() (or a request_call, or shutdown_and_
 * notify) on one thread and returned by grpc_completion_queue_next() on
 * another carries a happens-before: everything the first thread wrote
 * before starting the batch is visible to the thread that dequeues the
 * tag. Without this every hand-off of a call through a completion queue
 * is reported as a race. The build links every program with
 * -Wl,--wrap=<each function below> (CMakeLists.txt, HC_TSAN), so our code
 * is unchanged: a release on the tag's address before the call, an
 * acquire after the tag comes back. Only that edge is added; two tags of
 * one call still order nothing, as in the core itself.
 */
#include <grpc/grpc.h>
#include <sanitizer/tsan_interface.h>

grpc_call_error __real_grpc_call_start_batch(grpc_call *call, const grpc_op *ops, size_t nops,
                                             void *tag, void *reserved);
grpc_call_error __wrap_grpc_call_start_batch(grpc_call *call, const grpc_op *ops, size_t nops,
                                             void *tag, void *reserved);
grpc_call_error __real_grpc_server_request_call(grpc_server *server, grpc_call **call,
                                                grpc_call_details *details, grpc_metadata_array *md,
                                                grpc_completion_queue *bound,
                                                grpc_completion_queue *notify, void *tag);
grpc_call_error __wrap_grpc_server_request_call(grpc_server *server, grpc_call **call,
                                                grpc_call_details *details, grpc_metadata_array *md,
                                                grpc_completion_queue *bound,
                                                grpc_completion_queue *notify, void *tag);
grpc_call_error __real_grpc_server_request_registered_call(
    grpc_server *server, void *method, grpc_call **call, gpr_timespec *deadline,
    grpc_metadata_array *md, grpc_byte_buffer **payload, grpc_completion_queue *bound,
    grpc_completion_queue *notify, void *tag);
grpc_call_error __wrap_grpc_server_request_registered_call(
    grpc_server *server, void *method, grpc_call **call, gpr_timespec *deadline,
    grpc_metadata_array *md, grpc_byte_buffer **payload, grpc_completion_queue *bound,
    grpc_completion_queue *notify, void *tag);
void __real_grpc_server_shutdown_and_notify(grpc_server *server, grpc_completion_queue *cq,
                                            void *tag);
void __wrap_grpc_server_shutdown_and_notify(grpc_server *server, grpc_completion_queue *cq,
                                            void *tag);
grpc_event __real_grpc_completion_queue_next(grpc_completion_queue *cq, gpr_timespec deadline,
                                             void *reserved);
grpc_event __wrap_grpc_completion_queue_next(grpc_completion_queue *cq, gpr_timespec deadline,
                                             void *reserved);

grpc_call_error __wrap_grpc_call_start_batch(grpc_call *call, const grpc_op *ops, size_t nops,
                                             void *tag, void *reserved) {
  __tsan_release(tag);
  return __real_grpc_call_start_batch(call, ops, nops, tag, reserved);
}

grpc_call_error __wrap_grpc_server_request_call(grpc_server *server, grpc_call **call,
                                                grpc_call_details *details, grpc_metadata_array *md,
                                                grpc_completion_queue *bound,
                                                grpc_completion_queue *notify, void *tag) {
  __tsan_release(tag);
  return __real_grpc_server_request_call(server, call, details, md, bound, notify, tag);
}

grpc_call_error __wrap_grpc_server_request_registered_call(
    grpc_server *server, void *method, grpc_call **call, gpr_timespec *deadline,
    grpc_metadata_array *md, grpc_byte_buffer **payload, grpc_completion_queue *bound,
    grpc_completion_queue *notify, void *tag) {
  __tsan_release(tag);
  return __real_grpc_server_request_registered_call(server, method, call, deadline, md, payload,
                                                    bound, notify, tag);
}

void __wrap_grpc_server_shutdown_and_notify(grpc_server *server, grpc_completion_queue *cq,
                                            void *tag) {
  __tsan_release(tag);
  __real_grpc_server_shutdown_and_notify(server, cq, tag);
}

grpc_event __wrap_grpc_completion_queue_next(grpc_completion_queue *cq, gpr_timespec deadline,
                                             void *reserved) {
  grpc_event ev = __real_grpc_completion_queue_next(cq, deadline, reserved);

  if (ev.type == GRPC_OP_COMPLETE)
    __tsan_acquire(ev.tag);
  return ev;
}
