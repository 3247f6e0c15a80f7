/* netaddr: --host values to socket addresses, one way for every listener
 * (netaddr.h). */
#define _POSIX_C_SOURCE 200809L /* getaddrinfo */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

#define HOST_MAX 256 /* a DNS name is at most 253 bytes */

/* host without the brackets of "[::1]", in name (HOST_MAX bytes); -1 when
 * it does not fit. */
static int strip_brackets(const char *host, char *name, size_t size) {
  size_t len = strlen(host);
  int n;

  if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
    n = snprintf(name, size, "%.*s", (int)(len - 2), host + 1);
  else
    n = snprintf(name, size, "%s", host);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

int netaddr_resolve(const char *who, const char *host, int port, struct sockaddr_storage *addr,
                    socklen_t *len, char *err, size_t errlen) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  char name[HOST_MAX];
  int rc;

  if (strip_brackets(host, name, sizeof(name)) < 0 || !*name)
    return errbuf_fail(err, errlen, -EINVAL, "%s: cannot use host '%s': not an address or name",
                       who, host);
  rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc != 0)
    return errbuf_fail(err, errlen, -EINVAL, "%s: cannot use host %s: %s", who, host,
                       gai_strerror(rc));
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  if (addr->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
  return 0;
}

int netaddr_peer_name(const struct sockaddr *sa, char *out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";

  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    snprintf(out, size, "ipv6:[%s]:%u", host, ntohs(a->sin6_port));
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    snprintf(out, size, "ipv4:%s:%u", host, ntohs(a->sin_port));
  } else {
    return -EAFNOSUPPORT;
  }
  return 0;
}

int netaddr_is_loopback(const char *host) {
  char name[HOST_MAX];
  struct in6_addr a6;
  struct in_addr a4;

  if (strip_brackets(host, name, sizeof(name)) < 0)
    return 0;
  if (strcmp(name, "localhost") == 0)
    return 1;
  if (inet_pton(AF_INET, name, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}
