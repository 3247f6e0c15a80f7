/* catalogue: lookups and the result helpers cases fill their result with.
 * The table itself (catalogue_cases) lives in cases_table.c. */
#include "catalogue.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control.h"

const char *catalogue_unmet_need(const hc_case *c, const struct control *ctl) {
  if ((c->needs & NEED_CONTROL) && !ctl)
    return "needs a control hook (--control or --control-cmd)";
  if ((c->needs & NEED_SHUTDOWN) && !control_can_shutdown(ctl))
    return "needs a control hook that can shut the target down (--control or --control-cmd)";
  return NULL;
}

const hc_case *catalogue_find(const char *id) {
  size_t count;
  const hc_case *cases = catalogue_cases(&count);

  if (!id)
    return NULL;
  for (size_t i = 0; i < count; i++)
    if (strcmp(cases[i].id, id) == 0)
      return &cases[i];
  return NULL;
}

const char *catalogue_level_name(case_level level) {
  switch (level) {
  case LEVEL_MUST:
    return "MUST";
  case LEVEL_SHOULD:
    return "SHOULD";
  case LEVEL_MAY:
    return "MAY";
  }
  return "INVALID";
}

const char *catalogue_outcome_name(case_outcome outcome) {
  switch (outcome) {
  case OUTCOME_PASS:
    return "pass";
  case OUTCOME_FAIL:
    return "fail";
  case OUTCOME_WARN:
    return "warn";
  case OUTCOME_SKIP:
    return "skip";
  }
  return "invalid";
}

/* snprintf truncates safely; a NULL text becomes "". */
static void fill(case_result *res, case_outcome outcome, const char *expected, const char *seen,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void fill(case_result *res, case_outcome outcome, const char *expected, const char *seen,
                 const char *fmt, va_list ap) {
  res->outcome = outcome;
  vsnprintf(res->message, sizeof(res->message), fmt, ap);
  snprintf(res->expected, sizeof(res->expected), "%s", expected ? expected : "");
  snprintf(res->seen, sizeof(res->seen), "%s", seen ? seen : "");
}

void case_pass(case_result *res, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(res, OUTCOME_PASS, NULL, NULL, fmt, ap);
  va_end(ap);
}

void case_skip(case_result *res, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(res, OUTCOME_SKIP, NULL, NULL, fmt, ap);
  va_end(ap);
}

void case_warn(case_result *res, const char *expected, const char *seen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(res, OUTCOME_WARN, expected, seen, fmt, ap);
  va_end(ap);
}

void case_fail(case_result *res, const char *expected, const char *seen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(res, OUTCOME_FAIL, expected, seen, fmt, ap);
  va_end(ap);
}
