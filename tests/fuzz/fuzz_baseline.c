/* The runner's known-failing file (--known-failing, selection.h): the input
 * as text to baseline_parse, and as a file (a memfd opened by path,
 * /proc/self/fd/N) to baseline_load and to selection_add's "@FILE" (as
 * --run); then baseline_check, baseline_verdict and selection_match
 * against the real case table (cases_table.c).
 * Invariants: parsing is deterministic and the file reads as the text
 * does; an error is -EINVAL naming NAME:LINE of an existing line and
 * leaves *out untouched; a listed case turns a FAIL or WARN into a
 * tolerated "known failing (NAME:LINE: ...)" and a PASS into a stale-entry
 * FAIL, an unlisted one and every SKIP stay as they were; a case matching
 * the file's first ID is listed (as --run: runs); a file with no entry
 * lists nothing (as --run: runs every case); a refused pattern file adds
 * no pattern at all. */
#define _GNU_SOURCE /* memfd_create */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "catalogue.h"
#include "fuzz.h"
#include "runner.h"
#include "selection.h"

#define NAME "known-failing.txt"
#define ERR_MAX RUNNER_ERR_MAX /* what main.c passes */
#define KNOWN "known failing (" NAME ":"

static int fd = -1;
static char path[64];
static const hc_case *cases;
static size_t ncases;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fd = memfd_create("fuzz_baseline", 0);
  if (fd < 0)
    abort();
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  cases = catalogue_cases(&ncases);
  return 0;
}

/* Checks "name:N: " at the start of err with N a line of text. */
static void check_where(const char *err, const char *name, const char *text) {
  size_t len = strlen(name), lines = 1;
  long n;

  FUZZ_CHECK(memchr(err, '\0', ERR_MAX) != NULL);
  FUZZ_CHECK(strncmp(err, name, len) == 0 && err[len] == ':');
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  n = strtol(err + len + 1, NULL, 10);
  FUZZ_CHECK(n >= 1 && (size_t)n <= lines);
}

/* The first word of the first line that is an entry (not blank, not a
 * '#' comment), as selection.h describes the format; "" when none. */
static void first_entry(const char *text, char *word, size_t size) {
  word[0] = '\0';
  for (const char *line = text; *line;) {
    const char *p = line, *end;
    size_t n;

    while (*p && *p != '\n' && isspace((unsigned char)*p))
      p++;
    if (*p && *p != '\n' && *p != '#') {
      for (end = p; *end && !isspace((unsigned char)*end); end++)
        ;
      n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;
      memcpy(word, p, n);
      word[n] = '\0';
      return;
    }
    line = strchr(line, '\n');
    if (!line)
      return;
    line++;
  }
}

/* baseline_verdict on a fresh result; returns what it returned. */
static int verdict(const baseline *b, const hc_case *c, case_outcome outcome, int counts,
                   case_result *res) {
  memset(res, 0, sizeof(*res));
  res->outcome = outcome;
  strcpy(res->message, "what the case said");
  return baseline_verdict(b, c, res, counts);
}

/* 1 if b lists c; checks every outcome's verdict against the contract. */
static int listed(const baseline *b, const hc_case *c) {
  case_result res;
  int is;

  /* PASS decides whether c is listed: only a listed case changes. */
  int rc = verdict(b, c, OUTCOME_PASS, 0, &res);
  is = res.outcome != OUTCOME_PASS;
  if (is)
    FUZZ_CHECK(rc == 1 && res.outcome == OUTCOME_FAIL &&
               strncmp(res.message, "stale known-failing entry: ", 27) == 0 &&
               strncmp(res.message + 27, c->id, strlen(c->id)) == 0 && res.expected[0] &&
               res.seen[0]);
  else
    FUZZ_CHECK(rc == 0 && strcmp(res.message, "what the case said") == 0);
  for (int counts = 0; counts <= 1; counts++) {
    for (case_outcome o = OUTCOME_FAIL; o <= OUTCOME_WARN; o++) {
      rc = verdict(b, c, o, counts, &res);
      FUZZ_CHECK(res.outcome == o);
      if (is)
        FUZZ_CHECK(rc == 0 && strncmp(res.message, KNOWN, strlen(KNOWN)) == 0);
      else
        FUZZ_CHECK(rc == counts && strcmp(res.message, "what the case said") == 0);
    }
    rc = verdict(b, c, OUTCOME_SKIP, counts, &res);
    FUZZ_CHECK(rc == counts && res.outcome == OUTCOME_SKIP &&
               strcmp(res.message, "what the case said") == 0);
  }
  return is;
}

/* Two parses of the same text and one of the file agree on every case. */
static void check_parsed(baseline *b, baseline *again, baseline *loaded, const char *text) {
  char err[ERR_MAX], word[256];
  case_result r1, r2;
  int rc;

  memset(err, 'x', sizeof(err));
  rc = baseline_check(b, cases, ncases, err, sizeof(err));
  if (rc < 0) {
    FUZZ_CHECK(rc == -ENOENT && strstr(err, "matches no case"));
    check_where(err, NAME, text);
  }
  first_entry(text, word, sizeof(word));
  for (size_t i = 0; i < ncases; i++) {
    int is = listed(b, &cases[i]);

    FUZZ_CHECK(verdict(again, &cases[i], OUTCOME_PASS, 0, &r2) == is);
    FUZZ_CHECK(verdict(b, &cases[i], OUTCOME_PASS, 0, &r1) == is);
    FUZZ_CHECK(strcmp(r1.message, r2.message) == 0 && strcmp(r1.expected, r2.expected) == 0);
    FUZZ_CHECK(verdict(loaded, &cases[i], OUTCOME_PASS, 0, &r2) == is);
    if (!word[0])
      FUZZ_CHECK(!is && rc == 0);
    else if (strlen(word) < sizeof(word) - 1 && fnmatch(word, cases[i].id, 0) == 0)
      FUZZ_CHECK(is);
  }
}

static void fuzz_baseline(const char *text) {
  baseline *const untouched = (baseline *)&fd; /* a sentinel: must survive an error */
  baseline *b = untouched, *again = untouched, *loaded = untouched;
  char err[ERR_MAX], err2[ERR_MAX], err3[ERR_MAX];
  int rc, rc2, rc3;

  memset(err, 'x', sizeof(err));
  rc = baseline_parse(text, NAME, &b, err, sizeof(err));
  rc2 = baseline_parse(text, NAME, &again, err2, sizeof(err2));
  memset(err3, 'x', sizeof(err3));
  rc3 = baseline_load(path, &loaded, err3, sizeof(err3));
  FUZZ_CHECK(rc == rc2 && rc == rc3);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EINVAL && b == untouched && again == untouched && loaded == untouched);
    FUZZ_CHECK(strcmp(err, err2) == 0 && strstr(err, "has no reason"));
    check_where(err, NAME, text);
    check_where(err3, path, text);
    /* The same message after the name, up to where the longer name cuts it. */
    size_t longer = strlen(NAME) > strlen(path) ? strlen(NAME) : strlen(path);
    FUZZ_CHECK(strncmp(err + strlen(NAME), err3 + strlen(path), ERR_MAX - 1 - longer) == 0);
    return;
  }
  FUZZ_CHECK(b && b != untouched && again && again != untouched && loaded && loaded != untouched);
  check_parsed(b, again, loaded, text);
  baseline_free(b);
  baseline_free(again);
  baseline_free(loaded);
}

/* The same file as "@FILE" for --run. */
static void fuzz_selection(const char *text) {
  char arg[80], err[ERR_MAX], word[256];
  selection *s = NULL;
  int rc;

  if (selection_new(&s) < 0)
    abort();
  snprintf(arg, sizeof(arg), "@%s", path);
  memset(err, 'x', sizeof(err));
  rc = selection_add(s, 0, arg, err, sizeof(err));
  first_entry(text, word, sizeof(word));
  if (rc < 0) {
    FUZZ_CHECK(rc == -EINVAL && strstr(err, "one pattern per line"));
    check_where(err, path, text);
    for (size_t i = 0; i < ncases; i++) /* no pattern of a refused file stays */
      FUZZ_CHECK(selection_match(s, cases[i].id));
  } else {
    memset(err, 'x', sizeof(err));
    if (selection_check(s, cases, ncases, err, sizeof(err)) < 0)
      FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && strstr(err, "matches no case"));
    for (size_t i = 0; i < ncases; i++) {
      int match = selection_match(s, cases[i].id);

      if (!word[0]) /* no pattern: every case runs */
        FUZZ_CHECK(match);
      else if (strlen(word) < sizeof(word) - 1 && fnmatch(word, cases[i].id, 0) == 0)
        FUZZ_CHECK(match);
    }
  }
  selection_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size);

  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
    abort();
  fuzz_baseline(text);
  fuzz_selection(text);
  free(text);
  return 0;
}
