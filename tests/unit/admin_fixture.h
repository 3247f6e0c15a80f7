/* The fixture of the control API's unit tests (test_admin.c,
 * test_admin_features.c): admin_start on 127.0.0.1, a free port, over a real
 * registry ("" SERVING, "svc" NOT_SERVING) and, unless bare, a journal,
 * timelines and faults; a libcurl handle that keeps its connection. Each
 * test owns its fixture (setup/teardown); nothing here is thread-safe. */
#ifndef HC_TEST_ADMIN_FIXTURE_H
#define HC_TEST_ADMIN_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin.h"
#include "faults.h"
#include "http_client.h"
#include "journal.h"
#include "registry.h"
#include "timeline.h"
#include "wire.h"

typedef struct fixture {
  registry *reg;
  journal *jrn;
  timelines *tls;
  faults *flt;
  admin *adm;
  int port;
  CURL *curl;
} fixture;

#define TOKEN "s3cret-token"

/* features: also the journal, timelines and faults; token: NULL or one. */
static inline fixture *fixture_new(int features, const char *token) {
  fixture *f = calloc(1, sizeof(*f));
  admin_options opts = {.host = "127.0.0.1", .port = 0, .token = token};
  char err[256];

  assert_non_null(f);
  assert_int_equal(registry_new(&f->reg), 0);
  if (features) {
    assert_int_equal(journal_new(8, &f->jrn), 0);
    assert_int_equal(timelines_new(f->reg, &f->tls), 0);
    assert_int_equal(faults_new(&f->flt), 0);
  }
  opts.reg = f->reg;
  opts.journal = f->jrn;
  opts.timelines = f->tls;
  opts.faults = f->flt;
  assert_int_equal(admin_start(&opts, &f->adm, &f->port, err, sizeof(err)), 0);
  assert_true(f->port > 0);
  f->curl = curl_easy_init();
  assert_non_null(f->curl);
  assert_int_equal(registry_set(f->reg, "", WIRE_SERVING), 0);
  assert_int_equal(registry_set(f->reg, "svc", WIRE_NOT_SERVING), 0);
  return f;
}

static inline int setup(void **state) {
  *state = fixture_new(1, NULL);
  return 0;
}

static inline int setup_bare(void **state) {
  *state = fixture_new(0, NULL);
  return 0;
}

static inline int setup_token(void **state) {
  *state = fixture_new(1, TOKEN);
  return 0;
}

static inline int teardown(void **state) {
  fixture *f = *state;

  curl_easy_cleanup(f->curl);
  admin_stop(f->adm);
  timelines_free(f->tls);
  journal_free(f->jrn);
  faults_free(f->flt);
  registry_free(f->reg);
  free(f);
  return 0;
}

static void request(fixture *f, const char *method, const char *path, const char *body,
                    http_reply *r) {
  assert_int_equal(http_do(f->curl, f->port, method, path, body, r), CURLE_OK);
}

static inline int status_of(fixture *f, const char *name) {
  int st = -1;

  if (registry_get(f->reg, name, &st) < 0)
    return -1;
  return st;
}

/* The registry as setup() left it: "" SERVING, "svc" NOT_SERVING. */
static inline void assert_unchanged(fixture *f) {
  assert_int_equal(registry_count(f->reg), 2);
  assert_int_equal(status_of(f, ""), WIRE_SERVING);
  assert_int_equal(status_of(f, "svc"), WIRE_NOT_SERVING);
  assert_false(registry_is_shut_down(f->reg));
}

static inline void assert_error(const http_reply *r, long code, const char *needle) {
  json_t *root;
  const char *msg;

  assert_int_equal(r->code, code);
  assert_string_equal(r->content_type, "application/json");
  root = json_loads(r->body, 0, NULL);
  assert_non_null(root);
  msg = json_string_value(json_object_get(root, "error"));
  assert_non_null(msg);
  if (!strstr(msg, needle))
    fail_msg("error \"%s\" does not mention \"%s\"", msg, needle);
  json_decref(root);
}

#endif
