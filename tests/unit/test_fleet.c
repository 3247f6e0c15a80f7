/* cmocka tests for conformance/fleet.c: the list of targets, and the
 * fan-out of one name to every address the resolver answered (the answer
 * injected: no lookup, no traffic). The runs themselves are tested in
 * tests/integration/test_fleet.py against mocks on 127.0.0.2 and 127.0.0.3. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "fleet.h"

/* A resolver's answer as getaddrinfo gives it, built by hand. */
typedef struct answer {
  struct addrinfo ai[6];
  struct sockaddr_in v4[6];
  struct sockaddr_in6 v6[6];
  struct sockaddr_un un;
  size_t n;
} answer;

/* Links one more entry to the answer. */
static void append(answer *a, int family, int socktype, void *sa, size_t len) {
  a->ai[a->n] = (struct addrinfo){
      .ai_family = family, .ai_socktype = socktype, .ai_addr = sa, .ai_addrlen = (socklen_t)len};
  if (a->n)
    a->ai[a->n - 1].ai_next = &a->ai[a->n];
  a->n++;
}

static void add_v4(answer *a, const char *ip, int socktype) {
  struct sockaddr_in *sa = &a->v4[a->n];

  sa->sin_family = AF_INET;
  assert_int_equal(inet_pton(AF_INET, ip, &sa->sin_addr), 1);
  append(a, AF_INET, socktype, sa, sizeof(*sa));
}

static void add_v6(answer *a, const char *ip) {
  struct sockaddr_in6 *sa = &a->v6[a->n];

  sa->sin6_family = AF_INET6;
  assert_int_equal(inet_pton(AF_INET6, ip, &sa->sin6_addr), 1);
  append(a, AF_INET6, SOCK_STREAM, sa, sizeof(*sa));
}

static void add_unix(answer *a) {
  a->un.sun_family = AF_UNIX;
  append(a, AF_UNIX, SOCK_STREAM, &a->un, sizeof(a->un));
}

/* A headless Service's name: one target per pod address, in the
 * resolver's order; the same address for another socket type once; the
 * name kept for TLS and {host}. */
static void answer__one_target_per_address(void **state) {
  answer a = {0};
  fleet_list l = {0};
  char err[256];

  (void)state;
  add_v4(&a, "127.0.0.2", SOCK_STREAM);
  add_v4(&a, "127.0.0.2", SOCK_DGRAM);
  add_v4(&a, "127.0.0.3", SOCK_STREAM);
  add_unix(&a);
  add_v6(&a, "::1");
  assert_int_equal(fleet_add_answer(&l, "pods.ns.svc.cluster.local:50051", a.ai, err, sizeof(err)),
                   0);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.v[0].target, "127.0.0.2:50051");
  assert_string_equal(l.v[1].target, "127.0.0.3:50051");
  assert_string_equal(l.v[2].target, "[::1]:50051");
  assert_string_equal(l.v[2].host, "::1");
  for (size_t i = 0; i < l.n; i++)
    assert_string_equal(l.v[i].name, "pods.ns.svc.cluster.local");
  fleet_list_free(&l);
}

static void answer__scheme_and_port_kept(void **state) {
  answer a = {0};
  fleet_list l = {0};
  char err[256];

  (void)state;
  add_v4(&a, "127.0.0.2", SOCK_STREAM);
  add_v6(&a, "::1");
  assert_int_equal(fleet_add_answer(&l, "https://executors:8443", a.ai, err, sizeof(err)), 0);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.v[0].target, "https://127.0.0.2:8443");
  assert_string_equal(l.v[1].target, "https://[::1]:8443");
  fleet_list_free(&l);
}

/* An address also given by hand is run once; a target given twice is an error. */
static void add__duplicates(void **state) {
  answer a = {0};
  fleet_list l = {0};
  char err[256];

  (void)state;
  assert_int_equal(fleet_add(&l, "127.0.0.2:50051", err, sizeof(err)), 0);
  assert_int_equal(fleet_add(&l, "127.0.0.2:50051", err, sizeof(err)), -EEXIST);
  assert_string_equal(err, "target 127.0.0.2:50051 given twice");
  add_v4(&a, "127.0.0.2", SOCK_STREAM);
  add_v4(&a, "127.0.0.3", SOCK_STREAM);
  assert_int_equal(fleet_add_answer(&l, "pods:50051", a.ai, err, sizeof(err)), 0);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.v[1].target, "127.0.0.3:50051");
  assert_int_equal(fleet_add(&l, "[::1]:7", err, sizeof(err)), 0);
  assert_string_equal(l.v[2].target, "[::1]:7");
  assert_string_equal(l.v[2].host, "::1");
  fleet_list_free(&l);
}

static void add__bad_targets_named(void **state) {
  fleet_list l = {0};
  char err[256];

  (void)state;
  assert_int_equal(fleet_add(&l, "no-port", err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "'no-port'"));
  assert_int_equal(fleet_add_answer(&l, "pods:0", NULL, err, sizeof(err)), -EINVAL);
  assert_int_equal(fleet_add_answer(&l, "pods:50051", NULL, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "pods resolved to no address");
  assert_int_equal(l.n, 0);
  fleet_list_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(answer__one_target_per_address),
      cmocka_unit_test(answer__scheme_and_port_kept),
      cmocka_unit_test(add__duplicates),
      cmocka_unit_test(add__bad_targets_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
