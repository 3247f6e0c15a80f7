/* cmocka tests for mock_executor/netaddr.c: --host values to socket
 * addresses, the same for every listener. Resolves only numeric addresses,
 * localhost and a name under .invalid (RFC 6761: never resolves). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

static void resolve__ipv4_with_port(void **state) {
  struct sockaddr_storage ss;
  socklen_t len = 0;
  char err[256];
  const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
  (void)state;

  assert_int_equal(netaddr_resolve("grpc", "127.0.0.1", 5000, &ss, &len, err, sizeof(err)), 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_equal(len, sizeof(struct sockaddr_in));
  assert_int_equal(ntohs(in->sin_port), 5000);
  assert_int_equal(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
}

/* "::1" and "[::1]" are one address, as gRPC targets and URLs write it. */
static void resolve__ipv6_bare_or_bracketed(void **state) {
  static const char *const hosts[] = {"::1", "[::1]"};
  (void)state;

  for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[256] = "";
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

    if (netaddr_resolve("http", hosts[i], 0, &ss, &len, err, sizeof(err)) < 0)
      fail_msg("%s: %s", hosts[i], err);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(in6->sin6_port, 0);
    assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
  }
}

static void resolve__bad_hosts_are_named(void **state) {
  static const struct {
    const char *host, *needle;
  } cases[] = {
      {"nosuch.invalid", "grpc: cannot use host nosuch.invalid: "},
      {"", "grpc: cannot use host '': not an address or name"},
      {"[]", "grpc: cannot use host '[]': not an address or name"},
      {"[::1", "grpc: cannot use host [::1: "},
  };
  (void)state;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[256] = "";

    assert_int_equal(netaddr_resolve("grpc", cases[i].host, 1, &ss, &len, err, sizeof(err)),
                     -EINVAL);
    if (strncmp(err, cases[i].needle, strlen(cases[i].needle)) != 0)
      fail_msg("%s: \"%s\" does not start with \"%s\"", cases[i].host, err, cases[i].needle);
  }
}

static void resolve__too_long_is_refused(void **state) {
  char host[400];
  struct sockaddr_storage ss;
  socklen_t len = 0;
  char err[512] = "";
  (void)state;

  memset(host, 'a', sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  assert_int_equal(netaddr_resolve("grpc", host, 1, &ss, &len, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "not an address or name"));
}

/* Peers as gRPC names them, the same from both engines and HTTP. */
static void peer_name__as_grpc_writes_it(void **state) {
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(5000)};
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
  struct sockaddr other = {.sa_family = AF_UNIX};
  char out[64] = "untouched";
  (void)state;

  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in6.sin6_addr = in6addr_loopback;
  assert_int_equal(netaddr_peer_name((struct sockaddr *)&in, out, sizeof(out)), 0);
  assert_string_equal(out, "ipv4:127.0.0.1:5000");
  assert_int_equal(netaddr_peer_name((struct sockaddr *)&in6, out, sizeof(out)), 0);
  assert_string_equal(out, "ipv6:[::1]:443");
  assert_int_equal(netaddr_peer_name((struct sockaddr *)&in6, out, 8), 0);
  assert_string_equal(out, "ipv6:[:"); /* truncated, terminated */
  strcpy(out, "untouched");
  assert_int_equal(netaddr_peer_name(&other, out, sizeof(out)), -EAFNOSUPPORT);
  assert_string_equal(out, "untouched");
}

static void is_loopback__numeric_and_localhost_only(void **state) {
  static const char *const yes[] = {"localhost", "127.0.0.1", "127.255.0.9", "::1", "[::1]"};
  static const char *const no[] = {"10.0.0.1",   "0.0.0.0", "::", "[::]",     "example.invalid",
                                   "localhost.", "[",       "",   "128.0.0.1"};
  (void)state;

  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (!netaddr_is_loopback(yes[i]))
      fail_msg("%s is loopback", yes[i]);
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    if (netaddr_is_loopback(no[i]))
      fail_msg("%s is not loopback", no[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resolve__ipv4_with_port),
      cmocka_unit_test(resolve__ipv6_bare_or_bracketed),
      cmocka_unit_test(resolve__bad_hosts_are_named),
      cmocka_unit_test(resolve__too_long_is_refused),
      cmocka_unit_test(peer_name__as_grpc_writes_it),
      cmocka_unit_test(is_loopback__numeric_and_localhost_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
