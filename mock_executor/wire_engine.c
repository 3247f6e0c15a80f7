/* wire_engine: the libnghttp2 gRPC engine: listeners, connections, the I/O
 * loop, the timers and main's commands. See wire_engine.h; the threading
 * rule and lock order are written in wire_stream.h. */
#define _GNU_SOURCE
#include "wire_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "monocond.h"
#include "netaddr.h"
#include "wire_stream.h"
#include "xalloc.h"

#define EV_WAKE ((uint64_t)WENGINE_MAX_PORTS) /* epoll data: < this a listener index */
#define READ_CHUNK 16384
#define OUT_BATCH 32768 /* bytes gathered per send() */

struct wengine {
  hlogic logic;
  int listen_fds[WENGINE_MAX_PORTS];
  size_t n_listen;
  int epfd, evfd;
  pthread_t thread;
  int started;
  nghttp2_session_callbacks *cbs;
  int max_streams_one; /* max-streams-one, read once at start (SETTINGS) */
  long busy_poll_us;   /* --busy-poll-us */

  /* I/O thread only. */
  wconn *conns;
  wstream *timers;
  size_t n_watches;
  int shutting_down;

  pthread_mutex_t mu; /* guards the fields below */
  pthread_cond_t cond;
  wnote *notes, *notes_tail;
  int cmd_end, cmd_shutdown, cmd_stop;
  hlogic_answer end;
  size_t watch_owed;   /* Watch statuses queued or buffered, not yet taken */
  size_t active_calls; /* streams not yet closed */
  size_t accepted;
};

/* ---- for wire_stream.c -------------------------------------------------- */

hlogic *wengine_logic(wengine *we) { return &we->logic; }

const hlogic_answer *wengine_end(wengine *we) { return &we->end; }

void wengine_timer_add(wengine *we, wstream *st) {
  if (st->in_timer)
    return;
  st->in_timer = 1;
  atomic_fetch_add(&st->refs, 1); /* held by the list */
  st->timer_next = we->timers;
  we->timers = st;
}

static void counter_add(wengine *we, size_t *counter, int delta) {
  pthread_mutex_lock(&we->mu);
  *counter += (size_t)(long)delta;
  if (*counter == 0)
    pthread_cond_broadcast(&we->cond);
  pthread_mutex_unlock(&we->mu);
}

void wengine_count_call(wengine *we, int delta) {
  if (delta > 0) {
    pthread_mutex_lock(&we->mu);
    we->accepted++;
    pthread_mutex_unlock(&we->mu);
  }
  counter_add(we, &we->active_calls, delta);
}

void wengine_watch_owed(wengine *we, int delta) { counter_add(we, &we->watch_owed, delta); }

size_t wengine_watches_open(wengine *we) { return we->n_watches; }

void wengine_watches_delta(wengine *we, int delta) { we->n_watches += (size_t)(long)delta; }

static void wake(wengine *we) {
  uint64_t one = 1;

  if (write(we->evfd, &one, sizeof(one)) < 0) {
    /* EAGAIN: the counter is already non-zero, the loop wakes anyway */
  }
}

/* Registry writer's thread, registry locked (lock order: registry -> mu). */
void wengine_queue_note(wengine *we, wnote *n) {
  pthread_mutex_lock(&we->mu);
  if (we->notes_tail)
    we->notes_tail->next = n;
  else
    we->notes = n;
  we->notes_tail = n;
  we->watch_owed++;
  pthread_mutex_unlock(&we->mu);
  wake(we);
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(wconn *c) {
  struct linger rst = {.l_onoff = 1, .l_linger = 0};
  wengine *we = c->we;

  if (c->close_after_flush == 2) /* the reset action: RST, not FIN */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
  epoll_ctl(we->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  nghttp2_session_del(c->session); /* no callbacks: the streams go below */
  while (c->streams)
    wstream_drop(c->streams);
  if (c->prev)
    c->prev->next = c->next;
  else
    we->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  free(c->out);
  free(c);
}

/* The connection's peer, as the core names it ("unknown" when the kernel
 * cannot say). */
static void peer_name(int fd, char *out, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);

  if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
      netaddr_peer_name((struct sockaddr *)&ss, out, size) < 0)
    snprintf(out, size, "unknown");
}

static void conn_accept(wengine *we, int lfd) {
  nghttp2_settings_entry one = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1};
  struct epoll_event ev = {.events = EPOLLIN};
  int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  int on = 1;
  wconn *c;

  if (fd < 0)
    return; /* EAGAIN, or a connection already gone */
  c = xcalloc(1, sizeof(*c));
  if (nghttp2_session_server_new(&c->session, we->cbs, c) != 0) {
    free(c);
    close(fd);
    return;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  c->we = we;
  c->fd = fd;
  peer_name(fd, c->peer, sizeof(c->peer));
  /* Violation max-streams-one (T12); without it no limit is announced,
   * as the core does. */
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, &one, we->max_streams_one ? 1 : 0);
  if (we->shutting_down)
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
  c->next = we->conns;
  if (we->conns)
    we->conns->prev = c;
  we->conns = c;
  ev.data.ptr = c;
  epoll_ctl(we->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* 0, or -1 when the connection is to be closed. */
static int conn_read(wconn *c) {
  uint8_t buf[READ_CHUNK];

  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

    if (n == 0)
      return -1;
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0)
      return -1;
  }
}

static void want_out(wconn *c, int on) {
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

  if (c->epoll_out != on && epoll_ctl(c->we->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
    c->epoll_out = on;
}

/* Sends len bytes; what the socket does not take is kept in c->out (it
 * was empty) and EPOLLOUT armed. 1 all sent, 0 some kept, -1 to close. */
static int conn_send(wconn *c, const uint8_t *buf, size_t len) {
  ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);

  if (w < 0 && errno != EAGAIN && errno != EINTR)
    return -1;
  if (w < 0)
    w = 0;
  if ((size_t)w == len)
    return 1;
  c->out = xrealloc(c->out, len - (size_t)w);
  memcpy(c->out, buf + w, len - (size_t)w);
  c->out_len = len - (size_t)w;
  want_out(c, 1);
  return 0;
}

/* Writes what nghttp2 has to send, gathered into one send() per OUT_BATCH
 * bytes: each frame would be a syscall of its own otherwise (HEADERS, DATA
 * and trailers of every Check). 1 all written, 0 the socket is full (the
 * rest is in c->out), -1 to close. */
static int conn_send_frames(wconn *c) {
  uint8_t batch[OUT_BATCH];
  size_t used = 0;
  const uint8_t *data;
  ssize_t n;
  int r;

  for (;;) {
    n = nghttp2_session_mem_send(c->session, &data);
    if (n < 0)
      return -1;
    if (n > 0 && used + (size_t)n <= sizeof(batch)) {
      memcpy(batch + used, data, (size_t)n);
      used += (size_t)n;
      continue;
    }
    r = used ? conn_send(c, batch, used) : 1;
    used = 0;
    if (r <= 0 || n == 0) {
      if (r == 0 && n > 0) { /* data is valid only until the next call */
        c->out = xrealloc(c->out, c->out_len + (size_t)n);
        memcpy(c->out + c->out_len, data, (size_t)n);
        c->out_len += (size_t)n;
      }
      return r;
    }
    if ((size_t)n > sizeof(batch)) {
      r = conn_send(c, data, (size_t)n);
      if (r <= 0)
        return r;
    } else {
      memcpy(batch, data, (size_t)n);
      used = (size_t)n;
    }
  }
}

/* Writes what is buffered, then what nghttp2 has to send, until the socket
 * is full (the rest waits for EPOLLOUT: nghttp2 produces nothing more
 * meanwhile, which is the backpressure). 0, or -1 to close. */
static int conn_flush(wconn *c) {
  int r;

  while (c->out_off < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      want_out(c, 1);
      return 0;
    }
    if (w < 0)
      return -1;
    c->out_off += (size_t)w;
  }
  c->out_off = c->out_len = 0;
  r = conn_send_frames(c);
  if (r <= 0)
    return r;
  if (c->close_after_flush)
    return -1; /* close: mid-call, once the headers are out */
  want_out(c, 0);
  if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
    return -1; /* GOAWAY sent and every stream done, or the peer went away */
  return 0;
}

/* ---- the loop ----------------------------------------------------------- */

/* Runs the timers that are due (run) or only looks (!run: the flush may
 * have added some, e.g. slow:D's next byte); drops the streams with none
 * left. The wait until the next one (-1: none). */
static int run_timers(wengine *we, int run) {
  long long now = wstream_now_ms(), next = LLONG_MAX;
  wstream **link = &we->timers, *st;

  while ((st = *link)) {
    long long due =
        run ? wstream_tick(st, now, we->shutting_down, we->n_watches) : wstream_next_due(st);

    if (due == 0) {
      *link = st->timer_next;
      st->in_timer = 0;
      wstream_unref(st);
      continue;
    }
    if (due < next)
      next = due;
    link = &st->timer_next;
  }
  if (next == LLONG_MAX)
    return -1;
  return next <= now ? 0 : (int)(next - now > INT_MAX ? INT_MAX : next - now);
}

static void close_listeners(wengine *we) {
  for (size_t i = 0; i < we->n_listen; i++) {
    if (we->listen_fds[i] >= 0) {
      epoll_ctl(we->epfd, EPOLL_CTL_DEL, we->listen_fds[i], NULL);
      close(we->listen_fds[i]);
      we->listen_fds[i] = -1;
    }
  }
}

/* main's commands and the queued Watch statuses. 1 when told to stop. */
static int run_commands(wengine *we) {
  wnote *notes, *n;
  int end, shutdown, stop;
  uint64_t count;

  if (read(we->evfd, &count, sizeof(count)) < 0) {
    /* EAGAIN: nothing was posted */
  }
  pthread_mutex_lock(&we->mu);
  notes = we->notes;
  we->notes = we->notes_tail = NULL;
  end = we->cmd_end, shutdown = we->cmd_shutdown, stop = we->cmd_stop;
  we->cmd_end = 0, we->cmd_shutdown = 0;
  pthread_mutex_unlock(&we->mu);
  for (; notes; notes = n) {
    n = notes->next;
    wstream_note(notes->st, notes->status);
    wengine_watch_owed(we, -1);
    wstream_unref(notes->st);
    free(notes);
  }
  for (wconn *c = we->conns; c && end; c = c->next) {
    for (wstream *st = c->streams; st; st = st->next)
      wstream_end_watch(st);
  }
  if (shutdown && !we->shutting_down) {
    /* The Watch ends just submitted go out before GOAWAY: a strict client
     * (python h2) stops reading at GOAWAY, though RFC 9113 lets the
     * streams it names finish. */
    for (wconn *c = we->conns; c && end; c = c->next)
      c->dead |= conn_flush(c) < 0;
    we->shutting_down = 1;
    close_listeners(we);
    for (wconn *c = we->conns; c; c = c->next) {
      nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                            NULL, 0);
      c->goaway = 1;
    }
  }
  return stop;
}

static long long now_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* epoll_wait, after polling for up to --busy-poll-us when it would sleep:
 * a client with one call at a time then finds the thread awake, without
 * the wake-up of a sleeping one on its round trip (as grpc-go's spinning
 * scheduler does). */
static int wait_events(wengine *we, struct epoll_event *evs, int nevs, int timeout_ms) {
  long long until;
  int n;

  if (we->busy_poll_us == 0 || timeout_ms == 0)
    return epoll_wait(we->epfd, evs, nevs, timeout_ms);
  /* never past the next timer */
  until = now_us() + (timeout_ms > 0 && timeout_ms * 1000L < we->busy_poll_us ? timeout_ms * 1000L
                                                                              : we->busy_poll_us);
  do {
    n = epoll_wait(we->epfd, evs, nevs, 0);
    if (n != 0)
      return n;
  } while (now_us() < until);
  return epoll_wait(we->epfd, evs, nevs, timeout_ms);
}

static void *io_loop(void *arg) {
  wengine *we = arg;
  struct epoll_event evs[64];

  for (;;) {
    int n;

    run_timers(we, 1);
    /* What the timers, the events and the commands produced goes out
     * before the loop sleeps again, until the next timer (which the flush
     * may have set). */
    for (wconn *c = we->conns, *next; c; c = next) {
      next = c->next;
      if (c->dead || conn_flush(c) < 0)
        conn_close(c);
    }
    n = wait_events(we, evs, 64, run_timers(we, 0));
    for (int i = 0; i < n; i++) {
      uint64_t key = evs[i].data.u64;

      if (key < EV_WAKE)
        conn_accept(we, we->listen_fds[key]);
      else if (key != EV_WAKE && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
               conn_read(evs[i].data.ptr) < 0)
        ((wconn *)evs[i].data.ptr)->dead = 1; /* closed above: later events may name it */
    }
    if (run_commands(we))
      break;
  }
  while (we->conns)
    conn_close(we->conns);
  run_timers(we, 0); /* every stream is closed: the list empties */
  return NULL;
}

/* ---- start / stop ------------------------------------------------------- */

static int listen_on(wengine *we, const char *host, int port, int *bound, char *err,
                     size_t errlen) {
  struct sockaddr_storage ss;
  socklen_t len;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = we->n_listen};
  int fd, on = 1;
  int rc = netaddr_resolve("grpc", host, port, &ss, &len, err, errlen);

  if (rc < 0) /* not "in use": the name does not resolve (as core_server says) */
    return rc;
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto fail;
  /* Not SO_REUSEPORT: two mocks on one port must fail, as on the core. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
    goto fail;
  len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    goto fail;
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  we->listen_fds[we->n_listen++] = fd;
  return epoll_ctl(we->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -EIO;
fail:
  if (fd >= 0)
    close(fd);
  return errbuf_fail(err, errlen, -EADDRINUSE,
                     "cannot listen on %s:%d (address in use or not local)", host, port);
}

static void destroy(wengine *we) {
  if (we->started) {
    pthread_mutex_lock(&we->mu);
    we->cmd_stop = 1;
    pthread_mutex_unlock(&we->mu);
    wake(we);
    pthread_join(we->thread, NULL);
  }
  close_listeners(we);
  if (we->epfd >= 0)
    close(we->epfd);
  if (we->evfd >= 0)
    close(we->evfd);
  if (we->cbs)
    nghttp2_session_callbacks_del(we->cbs);
  for (wnote *n = we->notes, *next; n; n = next) { /* none: every watch stopped */
    next = n->next;
    wstream_unref(n->st);
    free(n);
  }
  hlogic_answer_free(&we->end);
  pthread_cond_destroy(&we->cond);
  pthread_mutex_destroy(&we->mu);
  free(we);
}

int wengine_start(const health_server_options *opts, wengine **out, int *bound_ports, char *err,
                  size_t errlen) {
  wengine *we = xcalloc(1, sizeof(*we));
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_WAKE};
  int rc = 0;

  pthread_mutex_init(&we->mu, NULL);
  monocond_init(&we->cond);
  hlogic_init(&we->logic, opts->reg, opts->faults, opts->journal, opts->list_limit);
  we->logic.reflection_list = opts->reflection_list;
  we->max_streams_one = faults_on(opts->faults, VIOLATE_MAX_STREAMS_ONE);
  we->busy_poll_us = opts->busy_poll_us;
  we->epfd = epoll_create1(EPOLL_CLOEXEC);
  we->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (opts->tls) {
    snprintf(err, errlen, "the wire engine serves plaintext only (use --engine core with TLS)");
    rc = -ENOTSUP;
  } else if (opts->n_ports > WENGINE_MAX_PORTS) {
    snprintf(err, errlen, "more than %d gRPC ports", WENGINE_MAX_PORTS);
    rc = -EINVAL;
  } else if (we->epfd < 0 || we->evfd < 0 || wstream_callbacks(&we->cbs) < 0 ||
             epoll_ctl(we->epfd, EPOLL_CTL_ADD, we->evfd, &ev) < 0) {
    snprintf(err, errlen, "cannot set up the wire engine: %s", strerror(errno));
    rc = -EIO;
  }
  for (size_t i = 0; i < opts->n_ports && rc == 0; i++)
    rc = listen_on(we, opts->host, opts->ports[i], &bound_ports[i], err, errlen);
  if (rc == 0 && pthread_create(&we->thread, NULL, io_loop, we) != 0) {
    snprintf(err, errlen, "cannot start the wire engine's thread");
    rc = -EAGAIN;
  }
  if (rc < 0) {
    destroy(we);
    return rc;
  }
  we->started = 1;
  *out = we;
  return 0;
}

size_t wengine_activity(wengine *we) {
  size_t n;

  pthread_mutex_lock(&we->mu);
  n = 2 * we->accepted - we->active_calls; /* starts + ends */
  pthread_mutex_unlock(&we->mu);
  return n;
}

/* Waits on we->cond until *counter is 0 or timeout_ms passed. */
static int wait_zero(wengine *we, const size_t *counter, int timeout_ms) {
  struct timespec until = monocond_after(timeout_ms);
  int rc = 0;

  pthread_mutex_lock(&we->mu);
  while (*counter > 0 && rc == 0)
    rc = pthread_cond_timedwait(&we->cond, &we->mu, &until);
  rc = *counter > 0 ? -ETIMEDOUT : 0;
  pthread_mutex_unlock(&we->mu);
  return rc;
}

int wengine_drain(wengine *we, int timeout_ms) {
  return wait_zero(we, &we->watch_owed, timeout_ms);
}

int wengine_wait_idle(wengine *we, int timeout_ms) {
  return wait_zero(we, &we->active_calls, timeout_ms);
}

void wengine_end_watches(wengine *we, int code, const char *details) {
  pthread_mutex_lock(&we->mu);
  we->end = (hlogic_answer){.code = code, .status = -1};
  snprintf(we->end.details, sizeof(we->end.details), "%s", details ? details : "");
  we->cmd_end = 1;
  pthread_mutex_unlock(&we->mu);
  wake(we);
}

void wengine_begin_shutdown(wengine *we) {
  pthread_mutex_lock(&we->mu);
  we->cmd_shutdown = 1;
  pthread_mutex_unlock(&we->mu);
  wake(we);
}

void wengine_stop(wengine *we) {
  if (we)
    destroy(we);
}
