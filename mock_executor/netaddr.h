/*
 * netaddr: the one way the mock turns a --host or --admin-host value into a
 * socket address, for every listener (the core and wire gRPC engines,
 * the HTTP health endpoint and the control API), so that a value works on
 * all of them or is refused by all with the same words.
 *
 * A host is a numeric address or a name (getaddrinfo, the first answer);
 * an IPv6 address may be written bare (::1) or in brackets ([::1]), as
 * gRPC targets and URLs write it.
 *
 * Thread-safe (no state). No memory is kept past a call. The peer name is
 * taken once per connection (wire engine, httpd), not per request.
 */
#ifndef HC_NETADDR_H
#define HC_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Resolves host into *addr (*len bytes) with port set (0: the kernel picks).
 * Returns 0, or -EINVAL with "WHO: cannot use host HOST: REASON" in err
 * (errlen bytes) when host is empty, too long or does not resolve. */
int netaddr_resolve(const char *who, const char *host, int port, struct sockaddr_storage *addr,
                    socklen_t *len, char *err, size_t errlen);

/* The peer sa (AF_INET or AF_INET6) as gRPC names peers,
 * "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000", into out (size bytes,
 * truncated), so both protocols and both engines read alike in the journal.
 * Returns 0, or -EAFNOSUPPORT for another family with out untouched. */
int netaddr_peer_name(const struct sockaddr *sa, char *out, size_t size);

/* 1 when host is "localhost" or a numeric loopback address (127.0.0.0/8,
 * ::1, bracketed or not), else 0. Names other than localhost are not
 * resolved: the answer must not depend on the resolver. */
int netaddr_is_loopback(const char *host);

#endif
