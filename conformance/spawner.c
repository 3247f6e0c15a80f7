/*
 * spawner: see spawner.h.
 */
#define _GNU_SOURCE /* mkostemp */
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errbuf.h"
#include "xalloc.h"
#include "monotime.h"
#include "runner.h"

extern char **environ;

#define POLL_MS 20 /* between readiness and exit checks */
#define DEFAULT_GRACE_MS 5000

struct spawned {
  pid_t pid;
  int exited;
  int wstatus;
  char log[64]; /* the output file */
};

int spawner_free_port(int *port, char *err, size_t errlen) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ret = 0;

  if (fd < 0)
    return errbuf_fail(err, errlen, -errno, "socket: %s", strerror(errno));
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    ret = errbuf_fail(err, errlen, -errno, "no free port on 127.0.0.1: %s", strerror(errno));
  else
    *port = ntohs(a.sin_port);
  close(fd);
  return ret;
}

int spawner_expand(const char *tmpl, int port, int control_port, char *out, size_t size) {
  size_t n = 0;
  int has_port = 0;

  for (const char *p = tmpl; *p;) {
    char num[16] = "";
    size_t len = 0;
    if (strncmp(p, "{port}", 6) == 0) {
      snprintf(num, sizeof(num), "%d", port);
      has_port = 1;
      p += 6;
    } else if (strncmp(p, "{control_port}", 14) == 0) {
      snprintf(num, sizeof(num), "%d", control_port);
      p += 14;
    } else {
      num[0] = *p++;
    }
    len = strlen(num);
    if (n + len >= size)
      return -ENAMETOOLONG;
    memcpy(out + n, num, len);
    n += len;
  }
  out[n] = '\0';
  return has_port ? 0 : -EINVAL;
}

int spawner_start(const char *command, spawned **out, char *err, size_t errlen) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  spawned *s = xcalloc(1, sizeof(*s));
  char *script = xmalloc(strlen("exec ") + strlen(command) + 1);
  int fd = -1, rc;

  sprintf(script, "exec %s", command);
  snprintf(s->log, sizeof(s->log), "/tmp/hc-spawn-XXXXXX");
  fd = mkostemp(s->log, O_CLOEXEC);
  if (fd < 0) {
    rc = errbuf_fail(err, errlen, -errno, "cannot create an output file: %s", strerror(errno));
    free(script);
    free(s);
    return rc;
  }
  char *argv[] = {"/bin/sh", "-c", script, NULL};
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP); /* its own group: stop reaches children */
  posix_spawnattr_setpgroup(&attr, 0);
  rc = posix_spawn(&s->pid, "/bin/sh", &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  free(script);
  if (rc != 0) {
    unlink(s->log);
    free(s);
    return errbuf_fail(err, errlen, -rc, "cannot start /bin/sh: %s", strerror(rc));
  }
  *out = s;
  return 0;
}

/* 1 if the target has exited (recording its status). */
static int reaped(spawned *s) {
  if (!s->exited && waitpid(s->pid, &s->wstatus, WNOHANG) == s->pid)
    s->exited = 1;
  return s->exited;
}

int spawner_wait_ready(spawned *s, const int *ports, size_t n, int timeout_ms, char *err,
                       size_t errlen) {
  long long deadline = monotime_ms() + timeout_ms;
  char target[32], why[RUNNER_ERR_MAX] = "";

  for (size_t i = 0; i < n; i++) {
    snprintf(target, sizeof(target), "127.0.0.1:%d", ports[i]);
    for (;;) {
      if (reaped(s))
        return errbuf_fail(
            err, errlen, -ECHILD, "the target exited (status %d) before port %d answered",
            WIFEXITED(s->wstatus) ? WEXITSTATUS(s->wstatus) : 128 + WTERMSIG(s->wstatus), ports[i]);
      long long left = deadline - monotime_ms();
      if (left <= 0)
        return errbuf_fail(err, errlen, -ETIMEDOUT, "port %d did not answer within %d ms (%.200s)",
                           ports[i], timeout_ms, why);
      if (runner_probe(target, (int)(left < 1000 ? left : 1000), why, sizeof(why)) == 0)
        break;
      monotime_sleep_ms(
          POLL_MS); /* nothing to block on: the target gives no signal when it listens */
    }
  }
  return 0;
}

int spawner_stop(spawned *s, int grace_ms) {
  long long deadline = monotime_ms() + grace_ms;

  if (reaped(s))
    return s->wstatus;
  kill(-s->pid, SIGTERM); /* the group spawner_start created, led by s->pid */
  while (!reaped(s) && monotime_ms() < deadline)
    monotime_sleep_ms(POLL_MS); /* waitpid has no timeout */
  if (s->exited)
    return s->wstatus;
  kill(-s->pid, SIGKILL);
  if (waitpid(s->pid, &s->wstatus, 0) == s->pid)
    s->exited = 1;
  return -1;
}

void spawner_print_tail(const spawned *s, FILE *f, size_t max) {
  char buf[4096];
  FILE *in = fopen(s->log, "r");
  size_t n;

  if (!in)
    return;
  if (fseek(in, 0, SEEK_END) == 0 && ftell(in) > (long)max)
    fseek(in, -(long)max, SEEK_END);
  else
    fseek(in, 0, SEEK_SET);
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
    fwrite(buf, 1, n, f);
  fclose(in);
}

void spawner_free(spawned *s) {
  if (!s)
    return;
  spawner_stop(s, DEFAULT_GRACE_MS);
  unlink(s->log);
  free(s);
}
