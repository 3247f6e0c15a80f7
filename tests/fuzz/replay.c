/* replay: the main() of the fuzz targets in the normal build. Feeds every
 * file named on the command line, or found directly in a directory named
 * there, to LLVMFuzzerTestOneInput once, so ctest catches a regression on
 * any corpus or crash input without clang or libFuzzer. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets that need set-up define LLVMFuzzerInitialize; libFuzzer calls it
 * when defined, and so does this driver. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  long n;

  if (!f) {
    perror(path);
    return -1;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "%s: cannot size\n", path);
    fclose(f);
    return -1;
  }
  buf = malloc(n ? (size_t)n : 1); /* an exact-size copy, so ASan sees overreads */
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

static int replay_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int rv = 0;

  if (!d) {
    perror(dir);
    return -1;
  }
  while ((e = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;

    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (replay_file(path) < 0)
      rv = -1;
    (*count)++;
  }
  closedir(d);
  return rv;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int rv = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    struct stat st;

    if (stat(argv[i], &st) != 0) /* a target with no regression inputs yet */
      continue;
    if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) < 0 : replay_file(argv[i]) < 0)
      rv = 1;
    else if (!S_ISDIR(st.st_mode))
      count++;
  }
  printf("replayed %zu inputs\n", count);
  if (count == 0) { /* a corpus that vanished must not pass as "no crash" */
    fprintf(stderr, "%s: no inputs found\n", argv[0]);
    return 1;
  }
  return rv;
}
