/* The wire engine's HTTP/2 input side end to end: the client connection
 * preface, then the input as raw bytes (frames, HPACK, gRPC messages) over
 * a loopback TCP connection to a wire engine (wire_engine.h) started once on
 * 127.0.0.1 with a kernel-chosen port. That covers nghttp2's parsing as the
 * engine configures it and every callback of wire_stream.c: headers,
 * grpc-timeout, content-type, message reassembly, the methods and the
 * timers.
 *
 * Invariant: the engine closes the fuzzed connection once it read its end
 * (half-close), and then still answers a new connection's preface with its
 * SETTINGS within the bound (fuzz_net.h). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "faults.h"
#include "fuzz.h"
#include "fuzz_net.h"
#include "registry.h"
#include "wire.h"
#include "wire_engine.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static const int any = 0;
  health_server_options o = {.host = "127.0.0.1", .ports = &any, .n_ports = 1, .list_limit = 100};
  registry *reg;
  journal *j;
  faults *f;
  wengine *we;
  char err[256];

  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN);
  if (registry_new(&reg) < 0 || registry_set(reg, "", WIRE_SERVING) < 0 ||
      registry_set(reg, "svc", WIRE_NOT_SERVING) < 0 || journal_new(16, &j) < 0 ||
      faults_new(&f) < 0)
    abort();
  o.reg = reg;
  o.journal = j;
  o.faults = f;
  /* Never stopped: it serves every input until the process exits. */
  if (wengine_start(&o, &we, &port, err, sizeof(err)) < 0) {
    fprintf(stderr, "fuzz_wire_engine: %s\n", err);
    abort();
  }
  return 0;
}

/* A new connection's preface gets the server's SETTINGS frame (type 4). */
static void probe(void) {
  static const char settings[] = "\0\0\0\4\0\0\0\0\0"; /* an empty SETTINGS frame */
  char head[9];
  int fd = connect_to(port);

  FUZZ_CHECK(send_all(fd, PREFACE, sizeof(PREFACE) - 1) == 0);
  FUZZ_CHECK(send_all(fd, settings, 9) == 0);
  shutdown(fd, SHUT_WR);
  FUZZ_CHECK(read_answer(fd, head, sizeof(head)) == sizeof(head));
  FUZZ_CHECK(head[3] == 4);
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char sink[1];
  int fd = connect_to(port);

  /* -1: closed on us mid-input (a connection error): fine */
  if (send_all(fd, PREFACE, sizeof(PREFACE) - 1) == 0)
    (void)send_all(fd, data, size);
  shutdown(fd, SHUT_WR);
  read_answer(fd, sink, 0); /* until the engine closes it: it read the end */
  close(fd);
  probe();
  return 0;
}
