/* The two HTTP listeners end to end: raw bytes over a loopback TCP
 * connection to the control API (admin.c) or, with an odd first byte, the
 * plain-HTTP health endpoint (http_health.c), both on one registry. That
 * covers libmicrohttpd's request parsing, httpd.c's body reading and
 * routing, percent-decoded paths (/health/{name}, /v1/statuses/{name}) and
 * the routes. 127.0.0.1 and ports the kernel picks only.
 *
 * Invariant: after any input the listener still answers a plain request
 * within the bound below. A crash shows in libmicrohttpd's thread, so
 * libFuzzer may blame the input after the guilty one: replay the last few. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "fuzz.h"
#include "http_health.h"
#include "registry.h"
#include "wire.h"

#define WAIT_MS 5000 /* far above a loopback answer; MHD's own idle timeout is 60 s */

static registry *reg;
static int ports[2];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  admin_options ao = {.host = "127.0.0.1", .port = 0};
  http_health_options ho = {.host = "127.0.0.1", .port = 0};
  admin *adm;
  http_health *hh;
  char err[256];

  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN); /* a listener may close before we finish sending */
  if (registry_new(&reg) < 0 || registry_set(reg, "", WIRE_SERVING) < 0 ||
      registry_set(reg, "svc", WIRE_NOT_SERVING) < 0)
    abort();
  ao.reg = ho.reg = reg;
  /* Never stopped: they serve every input until the process exits. */
  if (admin_start(&ao, &adm, &ports[0], err, sizeof(err)) < 0 ||
      http_health_start(&ho, &hh, &ports[1], err, sizeof(err)) < 0) {
    fprintf(stderr, "fuzz_http: %s\n", err);
    abort();
  }
  return 0;
}

static int connect_to(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    abort(); /* the listener died */
  return fd;
}

/* Reads until the server closes; keeps the first bytes in buf. */
static size_t read_answer(int fd, char *buf, size_t cap) {
  size_t got = 0;

  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char sink[4096];
    ssize_t n;

    FUZZ_CHECK(poll(&p, 1, WAIT_MS) == 1); /* no answer and no close: a hang */
    n = recv(fd, sink, sizeof(sink), 0);
    if (n <= 0)
      return got;
    if (got < cap) {
      size_t take = (size_t)n < cap - got ? (size_t)n : cap - got;
      memcpy(buf + got, sink, take);
      got += take;
    }
  }
}

/* An HTTP/1.0 request the listener answers and then closes: it proves the
 * listener is alive, and as libmicrohttpd's one event thread serves it
 * after the fuzzed connection's bytes, it paces the inputs. */
static void probe(int port, const char *path) {
  char req[64], head[16];
  int fd = connect_to(port);
  size_t len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);

  FUZZ_CHECK(send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len);
  FUZZ_CHECK(read_answer(fd, head, sizeof(head)) >= 12);
  FUZZ_CHECK(memcmp(head, "HTTP/1.", 7) == 0);
  close(fd);
}

/* Closes with a reset: a keep-alive connection libmicrohttpd would hold
 * for its idle timeout goes at once, and leaves no TIME_WAIT behind. */
static void reset(int fd) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};

  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t sent = 0;
  int which, fd;

  if (size < 1)
    return 0;
  registry_resume(reg); /* a POST /v1/shutdown must not freeze later inputs */
  which = data[0] & 1;
  fd = connect_to(ports[which]);
  data++;
  size--;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0)
      break; /* closed on us mid-request (e.g. a bad header): fine */
    sent += (size_t)n;
  }
  /* libmicrohttpd answers a half-closed connection but does not close it,
   * so the answer is not awaited here: the probe is. */
  shutdown(fd, SHUT_WR);
  probe(ports[which], which ? "/" : "/v1/health");
  reset(fd);
  return 0;
}
