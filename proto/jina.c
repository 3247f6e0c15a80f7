/* jina: the Executor's service names. See jina.h. */
#include "jina.h"

#include <string.h>

#include "number.h"

const char *const jina_services[] = {
    "grpc.reflection.v1alpha.ServerReflection",
    "jina.JinaDataRequestRPC",
    "jina.JinaDiscoverEndpointsRPC",
    "jina.JinaGatewayDryRunRPC",
    "jina.JinaInfoRPC",
    "jina.JinaRPC",
    "jina.JinaSingleDataRequestRPC",
    NULL,
};

size_t jina_service_count(void) { return sizeof(jina_services) / sizeof(jina_services[0]) - 1; }

int jina_is_service(const char *name) {
  for (size_t i = 0; jina_services[i]; i++) {
    if (strcmp(jina_services[i], name) == 0)
      return 1;
  }
  return 0;
}

int jina_ms_parse(const char *text, long max, long *ms) {
  if (text && strcmp(text, "-1") == 0) {
    *ms = -1;
    return 0;
  }
  return number_parse(text, 0, max, ms);
}
