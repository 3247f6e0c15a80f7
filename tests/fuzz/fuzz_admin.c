/* The control API's request handling (admin_internal.h): the JSON body of
 * PUT /v1/statuses, or with a first byte of 'D' the {name} of DELETE
 * /v1/statuses/{name}, then what the route does with them on a registry.
 * Invariants: a parsed PUT has a status 0-3 and a service the registry
 * then holds with that status; a refusal has a message; "" is never removed.
 * Every input leaves the registry as it found it. */
#include <errno.h>
#include <string.h>

#include "admin_internal.h"
#include "fuzz.h"
#include "registry.h"
#include "wire.h"

static registry *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (registry_new(&reg) < 0 || registry_set(reg, "", WIRE_SERVING) < 0)
    abort();
  return 0;
}

static void put(const uint8_t *data, size_t size) {
  /* The httpd hands routes a NUL-terminated body (or NULL for none). */
  char *body = size ? fuzz_cstr(data, size) : NULL;
  const char *service;
  json_t *root;
  char err[ADMIN_ERR_MAX] = "";
  int status, got, rc;

  rc = admin_parse_put(body, size, &root, &service, &status, err, sizeof(err));
  if (rc == 0) {
    FUZZ_CHECK(root && service && status >= 0 && status <= WIRE_STATUS_MAX);
    FUZZ_CHECK(registry_set(reg, service, status) == 0);
    FUZZ_CHECK(registry_get(reg, service, &got) == 0 && got == status);
    if (service[0]) /* the same registry for every input: keep it small */
      FUZZ_CHECK(registry_remove(reg, service) == 0);
    json_decref(root);
  } else {
    FUZZ_CHECK(rc == -EINVAL && err[0] && !root);
  }
  free(body);
}

static void delete (const uint8_t *data, size_t size) {
  char *name = fuzz_cstr(data, size);
  char err[ADMIN_ERR_MAX] = "";
  int status;

  if (admin_check_delete(name, err, sizeof(err)) < 0) {
    FUZZ_CHECK(name[0] == '\0' && err[0]);
  } else {
    FUZZ_CHECK(name[0] != '\0');
    FUZZ_CHECK(registry_set(reg, name, WIRE_SERVING) == 0);
    FUZZ_CHECK(registry_remove(reg, name) == 0);
    FUZZ_CHECK(registry_get(reg, name, &status) == -ENOENT);
  }
  FUZZ_CHECK(registry_get(reg, "", &status) == 0); /* the overall health stays */
  free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == 'D')
    delete (data + 1, size - 1);
  else
    put(data, size);
  return 0;
}
