/* config_yaml_load: a --config file, through a memfd opened by path
 * (/proc/self/fd/N), against a key table shaped like the mock's flags.
 * Invariants: success gives "--flag" then a value per pair, each with an
 * origin; an error leaves *out empty and names the file. */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_yaml.h"
#include "fuzz.h"

static const config_key keys[] = {
    {"host", CONFIG_SCALAR},      {"port", CONFIG_LIST},           {"admin-port", CONFIG_SCALAR},
    {"http-port", CONFIG_SCALAR}, {"status", CONFIG_MAP},          {"timeline", CONFIG_MAP},
    {"repeat", CONFIG_BOOL},      {"reflection", CONFIG_BOOL},     {"list-limit", CONFIG_SCALAR},
    {"delay", CONFIG_MAP},        {"fault", CONFIG_LIST},          {"grace", CONFIG_SCALAR},
    {"http-code", CONFIG_MAP},    {"journal-size", CONFIG_SCALAR}, {"verbose", CONFIG_BOOL},
};

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fd = memfd_create("fuzz_config_yaml", 0);
  if (fd < 0)
    abort();
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  config_args args;
  char err[CONFIG_ERR_MAX];

  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
    abort();
  memset(err, 'x', sizeof(err));
  if (config_yaml_load(path, keys, sizeof(keys) / sizeof(keys[0]), &args, err, sizeof(err)) == 0) {
    for (size_t i = 0; i < args.argc; i++) {
      FUZZ_CHECK(args.argv[i] && args.origin[i]);
      FUZZ_CHECK(strncmp(args.origin[i], path, strlen(path)) == 0);
    }
    FUZZ_CHECK(args.argc == 0 || strncmp(args.argv[0], "--", 2) == 0);
    config_args_free(&args);
  } else {
    FUZZ_CHECK(args.argc == 0 && !args.argv && !args.origin);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
  }
  return 0;
}
