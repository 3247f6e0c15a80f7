/*
 * sockwatch: see sockwatch.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "sockwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "monocond.h"
#include "monotime.h"

static void *watch(void *arg) {
  sockwatch *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stop) {
    long long left = w->deadline - monotime_ms();
    if (left <= 0) {
      for (int i = 0; i < SOCKWATCH_FDS; i++)
        if (w->fds[i] >= 0)
          shutdown(w->fds[i], SHUT_RDWR); /* wakes and ends every read */
      w->fired = 1;
      break;
    }
    struct timespec ts = monocond_after((long)left);
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int sockwatch_start(sockwatch *w, int timeout_ms) {
  int rc;

  memset(w, 0, sizeof(*w));
  for (int i = 0; i < SOCKWATCH_FDS; i++)
    w->fds[i] = -1;
  w->deadline = monotime_ms() + timeout_ms;
  pthread_mutex_init(&w->lock, NULL);
  monocond_init(&w->cond);
  rc = pthread_create(&w->thread, NULL, watch, w);
  if (rc != 0)
    return -rc;
  w->started = 1;
  return 0;
}

static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a) {
  sockwatch *w = arg;
  int fd;
  (void)purpose;
  pthread_mutex_lock(&w->lock);
  fd = w->fired ? -1 : socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  for (int i = 0; fd >= 0 && i < SOCKWATCH_FDS; i++)
    if (w->fds[i] < 0) {
      w->fds[i] = fd;
      break;
    }
  pthread_mutex_unlock(&w->lock);
  return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

static int on_close(void *arg, curl_socket_t fd) {
  sockwatch *w = arg;
  pthread_mutex_lock(&w->lock);
  for (int i = 0; i < SOCKWATCH_FDS; i++)
    if (w->fds[i] == fd)
      w->fds[i] = -1;
  close(fd); /* under the lock: the number is not reused before it is forgotten */
  pthread_mutex_unlock(&w->lock);
  return 0;
}

void sockwatch_curl(sockwatch *w, CURL *h) {
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, w);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, w);
}

int sockwatch_stop(sockwatch *w) {
  if (!w->started)
    return 0;
  pthread_mutex_lock(&w->lock);
  w->stop = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  w->started = 0;
  return w->fired;
}

void sockwatch_free(sockwatch *w) {
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
}
