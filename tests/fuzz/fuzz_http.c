/* The two HTTP listeners end to end: raw bytes over a loopback TCP
 * connection to the control API (admin.c) or, with an odd first byte, the
 * plain-HTTP health endpoint (http_health.c; with bit 1 set too, its
 * --profile jina face, jina_http.c), all on one registry. That
 * covers libmicrohttpd's request parsing, httpd.c's body reading and
 * routing, percent-decoded paths (/health/{name}, /v1/statuses/{name}) and
 * the routes. 127.0.0.1 and ports the kernel picks only.
 *
 * Invariant: after any input the listener still answers a plain request
 * within the bound below. A crash shows in libmicrohttpd's thread, so
 * libFuzzer may blame the input after the guilty one: replay the last few.
 *
 * Signals: libFuzzer's -timeout runs an interval timer (SIGALRM every
 * timeout/2 + 1 s) whose handler is installed without SA_RESTART, so any
 * blocking call here may fail with EINTR; poll() always does. Every wait
 * below retries on EINTR against one deadline. Before it did, an alarm
 * landing in the probe's poll() aborted the run as a "listener that stopped
 * answering" (docs/fuzzing.md, finding 2). FUZZ_HTTP_ALARM_US=N (replay
 * builds and libFuzzer alike) adds a timer of our own every N us, so ctest's
 * fuzz_http_signals replays the corpus with waits interrupted all the time. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "fuzz.h"
#include "fuzz_net.h"
#include "http_health.h"
#include "registry.h"
#include "wire.h"

static registry *reg;
static int ports[3]; /* admin, http_health, http_health as a Jina Executor */

static void on_alarm(int sig) {
  (void)sig; /* only there to interrupt waits, as libFuzzer's alarm does */
}

/* FUZZ_HTTP_ALARM_US: a SIGALRM handler without SA_RESTART and a timer. */
static void start_alarm(void) {
  const char *env = getenv("FUZZ_HTTP_ALARM_US");
  long us = env ? strtol(env, NULL, 10) : 0;
  struct sigaction sa = {.sa_handler = on_alarm}; /* sa_flags 0: no SA_RESTART */
  struct itimerval it = {.it_interval = {.tv_usec = us}, .it_value = {.tv_usec = us}};

  if (us <= 0 || us >= 1000000)
    return;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0)
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  admin_options ao = {.host = "127.0.0.1", .port = 0};
  http_health_options ho = {.host = "127.0.0.1", .port = 0};
  http_health_options jo = {.host = "127.0.0.1", .port = 0, .jina = 1};
  admin *adm;
  http_health *hh, *jh;
  char err[256];

  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN); /* a listener may close before we finish sending */
  if (registry_new(&reg) < 0 || registry_set(reg, "", WIRE_SERVING) < 0 ||
      registry_set(reg, "svc", WIRE_NOT_SERVING) < 0)
    abort();
  ao.reg = ho.reg = jo.reg = reg;
  /* Never stopped: they serve every input until the process exits. */
  if (admin_start(&ao, &adm, &ports[0], err, sizeof(err)) < 0 ||
      http_health_start(&ho, &hh, &ports[1], err, sizeof(err)) < 0 ||
      http_health_start(&jo, &jh, &ports[2], err, sizeof(err)) < 0) {
    fprintf(stderr, "fuzz_http: %s\n", err);
    abort();
  }
  start_alarm();
  return 0;
}

/* An HTTP/1.0 request the listener answers and then closes: it proves the
 * listener is alive, and as libmicrohttpd's one event thread serves it
 * after the fuzzed connection's bytes, it paces the inputs. */
static void probe(int port, const char *path) {
  char req[64], head[16];
  int fd = connect_to(port);
  size_t len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);

  FUZZ_CHECK(send_all(fd, req, len) == 0);
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
  int which, fd;

  if (size < 1)
    return 0;
  registry_resume(reg); /* a POST /v1/shutdown must not freeze later inputs */
  which = data[0] & 1 ? 1 + ((data[0] >> 1) & 1) : 0;
  fd = connect_to(ports[which]);
  /* -1: closed on us mid-request (e.g. a bad header): fine */
  (void)send_all(fd, data + 1, size - 1);
  /* libmicrohttpd answers a half-closed connection but does not close it,
   * so the answer is not awaited here: the probe is. */
  shutdown(fd, SHUT_WR);
  probe(ports[which], which ? "/" : "/v1/health");
  reset(fd);
  return 0;
}
