/*
 * jina: what a Jina 3.x Executor shows of itself over gRPC, shared by the
 * mock (--profile jina) and the runner (--profile jina, ping).
 *
 * The names are the `service_names` list of Jina's GRPCServer
 * (jina/serve/runtimes/servers/grpc.py, docs/protocol.md, J-SVC-1): each is set
 * SERVING right after server.start() and listed by reflection v1alpha
 * (J-REFL-1), sorted as grpcio-reflection sorts them ("self._service_names
 * = tuple(sorted(service_names))"). grpc.health.v1.Health is not one of
 * them (J-SVC-3). Static, immutable: thread-safe.
 */
#ifndef HC_JINA_H
#define HC_JINA_H

#include <stddef.h>

/* The Executor's services, sorted (strcmp order), NULL-terminated. */
extern const char *const jina_services[];

/* How many names jina_services holds (7). */
size_t jina_service_count(void);

/* 1 when `name` is one of jina_services. */
int jina_is_service(const char *name);

/* Jina's millisecond flags (--timeout of jina ping, --timeout-ready):
 * digits in [0, max], or "-1" for no limit (*ms = -1). -EINVAL otherwise. */
int jina_ms_parse(const char *text, long max, long *ms);

#endif
