/* Reflection lookups with a symbol or file name from the client
 * (wire_file_containing_symbol, wire_file_by_name; H-REFL-4). Invariants:
 * a file found by name has that name; a symbol found with a leading '.'
 * is found without it, in the same file. */
#include <string.h>

#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size);
  const wire_file *f;

  f = wire_file_by_name(text);
  FUZZ_CHECK(!f || strcmp(f->name, text) == 0);
  f = wire_file_containing_symbol(text);
  if (f && text[0] == '.')
    FUZZ_CHECK(wire_file_containing_symbol(text + 1) == f);
  free(text);
  return 0;
}
