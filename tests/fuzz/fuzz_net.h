/*
 * fuzz_net: loopback socket helpers of the targets that fuzz a listener end
 * to end (fuzz_http, fuzz_wire_engine). Every wait retries on EINTR against
 * one deadline (libFuzzer's -timeout alarm interrupts them, docs/fuzzing.md
 * finding 2); a timeout or a dead listener aborts (FUZZ_CHECK).
 */
#ifndef HC_FUZZ_NET_H
#define HC_FUZZ_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define WAIT_MS 5000 /* far above a loopback answer; MHD's own idle timeout is 60 s */

static inline long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd shows `events`, retrying on EINTR until `deadline` (now_ms);
 * a timeout or an error is a hang or a dead listener: abort. */
static inline void wait_for(int fd, short events, long long deadline) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    long long left = deadline - now_ms();
    int n = poll(&p, 1, left > 0 ? (int)left : 0);

    if (n == 1)
      return;
    FUZZ_CHECK(n < 0 && errno == EINTR); /* no answer and no close: a hang */
  }
}

static inline int connect_to(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int soerr = 0;
  socklen_t len = sizeof(soerr);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(fd >= 0);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
    return fd;
  /* Interrupted, the connection goes on in the background: wait for it. */
  FUZZ_CHECK(errno == EINTR); /* anything else: the listener died */
  wait_for(fd, POLLOUT, now_ms() + WAIT_MS);
  FUZZ_CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0);
  return fd;
}

/* Sends what it can; 0 once all is sent, -1 when the peer closed on us. */
static inline int send_all(int fd, const void *data, size_t size) {
  size_t sent = 0;

  while (sent < size) {
    ssize_t n = send(fd, (const char *)data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    sent += (size_t)n;
  }
  return 0;
}

/* Reads until the server closes; keeps the first bytes in buf. */
static inline size_t read_answer(int fd, char *buf, size_t cap) {
  long long deadline = now_ms() + WAIT_MS;
  size_t got = 0;

  for (;;) {
    char sink[4096];
    ssize_t n;

    wait_for(fd, POLLIN, deadline);
    n = recv(fd, sink, sizeof(sink), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return got;
    if (got < cap) {
      size_t take = (size_t)n < cap - got ? (size_t)n : cap - got;
      memcpy(buf + got, sink, take);
      got += take;
    }
  }
}

#endif
