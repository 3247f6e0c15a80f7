/* command: see command.h. */
#define _GNU_SOURCE /* pipe2 */
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errbuf.h"
#include "monotime.h"
#include "xalloc.h"

extern char **environ;

#define PENDING_MAX (1 << 20) /* unread output kept for command_read_line */
#define NO_PIDFD_POLL_MS 10   /* without a pidfd the leader's exit is polled */

struct command {
  pid_t pid;
  int fd;     /* read end of the output pipe; -1 once it ended */
  int pidfd;  /* -1 when the kernel has none */
  int reaped; /* the leader was reaped: wstatus holds its status */
  int wstatus;
  char out[COMMAND_OUTPUT_MAX]; /* the tail of the output */
  size_t outlen;
  char *pend; /* output not yet returned by command_read_line */
  size_t plen, pcap;
};

/* ---- templates ----------------------------------------------------------- */

/* Appends `word` in single quotes ('it'\''s'); 0 or -ENAMETOOLONG. */
static int append_quoted(char *out, size_t cap, size_t *len, const char *word) {
  size_t n = *len;

#define PUT(ch)             \
  do {                      \
    if (n + 1 >= cap)       \
      return -ENAMETOOLONG; \
    out[n++] = (ch);        \
  } while (0)
  PUT('\'');
  for (const char *p = word; *p; p++) {
    if (*p == '\'') {
      PUT('\'');
      PUT('\\');
      PUT('\'');
    }
    PUT(*p);
  }
  PUT('\'');
#undef PUT
  out[n] = '\0';
  *len = n;
  return 0;
}

/* The variable whose "{name}" starts at p, or NULL. */
static const command_var *placeholder_at(const char *p, const command_var *vars, size_t n,
                                         size_t *skip) {
  for (size_t i = 0; p[0] == '{' && i < n; i++) {
    size_t len = strlen(vars[i].name);
    if (strncmp(p + 1, vars[i].name, len) == 0 && p[1 + len] == '}') {
      *skip = len + 2;
      return &vars[i];
    }
  }
  return NULL;
}

int command_expand(const char *tmpl, const command_var *vars, size_t n, char *out, size_t cap) {
  size_t len = 0, skip = 0;

  if (cap == 0)
    return -ENAMETOOLONG;
  out[0] = '\0';
  for (const char *p = tmpl; *p;) {
    const command_var *v = placeholder_at(p, vars, n, &skip);
    if (v) {
      if (append_quoted(out, cap, &len, v->value) < 0)
        return -ENAMETOOLONG;
      p += skip;
      continue;
    }
    if (len + 1 >= cap)
      return -ENAMETOOLONG;
    out[len++] = *p++;
    out[len] = '\0';
  }
  return 0;
}

/* ---- starting -------------------------------------------------------------- */

int command_start(const char *line, command **out, char *err, size_t errlen) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char *argv[] = {"sh", "-c", (char *)line, NULL};
  sigset_t all, none;
  command *c = xcalloc(1, sizeof(*c));
  int fds[2], rc;

  /* CLOEXEC: commands spawned from other threads must not inherit it. */
  if (pipe2(fds, O_CLOEXEC) < 0) {
    rc = errbuf_fail(err, errlen, -errno, "pipe: %s", strerror(errno));
    free(c);
    return rc;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0); /* a group of its own: ending it reaches every child */
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all); /* SIGPIPE back to default */
  posix_spawnattr_setsigmask(&attr, &none);
  rc = posix_spawn(&c->pid, "/bin/sh", &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    free(c);
    return errbuf_fail(err, errlen, -rc, "cannot run /bin/sh: %s", strerror(rc));
  }
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  c->fd = fds[0];
  c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  *out = c;
  return 0;
}

pid_t command_pid(const command *c) { return c->pid; }

/* ---- output ---------------------------------------------------------------- */

static void keep_tail(command *c, const char *data, size_t n) {
  if (n >= sizeof(c->out)) {
    data += n - (sizeof(c->out) - 1);
    n = sizeof(c->out) - 1;
    c->outlen = 0;
  } else if (c->outlen + n >= sizeof(c->out)) {
    size_t drop = c->outlen + n - (sizeof(c->out) - 1);
    memmove(c->out, c->out + drop, c->outlen - drop);
    c->outlen -= drop;
  }
  memcpy(c->out + c->outlen, data, n);
  c->outlen += n;
  c->out[c->outlen] = '\0';
}

/* Adds to the unread lines. Past PENDING_MAX what nobody read is dropped
 * (a command that floods its output loses lines, never memory). */
static void keep_pending(command *c, const char *data, size_t n) {
  if (n > PENDING_MAX) {
    data += n - PENDING_MAX;
    n = PENDING_MAX;
  }
  if (c->plen + n > PENDING_MAX)
    c->plen = 0;
  if (c->plen + n > c->pcap) {
    size_t cap = c->pcap ? c->pcap : 4096;
    while (cap < c->plen + n)
      cap *= 2;
    c->pend = xrealloc(c->pend, cap);
    c->pcap = cap;
  }
  memcpy(c->pend + c->plen, data, n);
  c->plen += n;
}

/* Reads what the pipe holds now. Returns 1 if anything came, 0 if not,
 * and closes the pipe at its end. */
static int read_available(command *c) {
  char chunk[4096];
  int got_any = 0;

  while (c->fd >= 0) {
    ssize_t got = read(c->fd, chunk, sizeof(chunk));
    if (got > 0) {
      keep_tail(c, chunk, (size_t)got);
      keep_pending(c, chunk, (size_t)got);
      got_any = 1;
      continue;
    }
    if (got < 0 && errno == EINTR)
      continue;
    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      close(c->fd);
      c->fd = -1;
    }
    break;
  }
  return got_any;
}

void command_pump(command *c) { read_available(c); }

const char *command_output(const command *c) { return c->out; }

void command_last_line(const command *c, char *out, size_t size) {
  size_t end = c->outlen, start;

  while (end > 0 && (c->out[end - 1] == '\n' || c->out[end - 1] == '\r'))
    end--;
  start = end;
  while (start > 0 && c->out[start - 1] != '\n')
    start--;
  snprintf(out, size, "%.*s", (int)(end - start), c->out + start);
}

/* Waits for output (or the leader's exit, when watch_exit) until deadline.
 * Returns after one wake-up; the caller loops. */
static void wait_event(command *c, long long deadline, int watch_exit) {
  struct pollfd p[2];
  int n = 0, left = (int)(deadline - monotime_ms());

  if (left <= 0)
    return;
  if (c->fd >= 0)
    p[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
  if (watch_exit && c->pidfd >= 0)
    p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
  if (watch_exit && c->pidfd < 0 && left > NO_PIDFD_POLL_MS)
    left = NO_PIDFD_POLL_MS;
  if (n == 0 && left > NO_PIDFD_POLL_MS)
    left = NO_PIDFD_POLL_MS;
  if (poll(p, (nfds_t)n, left) > 0)
    read_available(c);
}

int command_read_line(command *c, char *line, size_t size, long long deadline) {
  for (;;) {
    char *nl = c->plen ? memchr(c->pend, '\n', c->plen) : NULL;
    if (nl || (c->fd < 0 && c->plen)) {
      size_t len = nl ? (size_t)(nl - c->pend) : c->plen;
      size_t used = nl ? len + 1 : len;
      if (len && c->pend[len - 1] == '\r')
        len--;
      snprintf(line, size, "%.*s", (int)len, c->pend);
      memmove(c->pend, c->pend + used, c->plen - used);
      c->plen -= used;
      return 0;
    }
    if (c->fd < 0)
      return -EPIPE;
    if (monotime_ms() >= deadline)
      return -ETIMEDOUT;
    wait_event(c, deadline, 0);
  }
}

/* ---- ending ---------------------------------------------------------------- */

/* 1 once the leader has exited: the group is killed, then the leader reaped
 * (waitid WNOWAIT leaves it a zombie, so its pid, the group id, cannot be
 * reused before the kill). */
static int finished(command *c) {
  siginfo_t info;

  if (c->reaped)
    return 1;
  memset(&info, 0, sizeof(info));
  if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0)
    return 0;
  kill(-c->pid, SIGKILL); /* whatever the command left behind in its group */
  while (waitpid(c->pid, &c->wstatus, 0) < 0 && errno == EINTR)
    ;
  c->reaped = 1;
  read_available(c);
  if (c->pidfd >= 0) {
    close(c->pidfd);
    c->pidfd = -1;
  }
  return 1;
}

int command_wait(command *c, long long deadline, int *wstatus) {
  for (;;) {
    if (finished(c)) {
      if (wstatus)
        *wstatus = c->wstatus;
      return 0;
    }
    if (monotime_ms() >= deadline)
      return -ETIMEDOUT;
    wait_event(c, deadline, 1);
  }
}

int command_stop(command *c, int grace_ms) {
  if (c->reaped)
    return c->wstatus;
  kill(-c->pid, SIGTERM); /* the group command_start created, led by c->pid */
  if (grace_ms > 0 && command_wait(c, monotime_ms() + grace_ms, NULL) == 0)
    return c->wstatus;
  kill(-c->pid, SIGKILL);
  command_wait(c, monotime_ms() + 60000, NULL); /* SIGKILL cannot be ignored */
  return -1;
}

void command_free(command *c) {
  if (!c)
    return;
  if (!c->reaped)
    command_stop(c, 0);
  if (c->fd >= 0)
    close(c->fd);
  if (c->pidfd >= 0)
    close(c->pidfd);
  free(c->pend);
  free(c);
}

void command_describe_status(int wstatus, char *out, size_t size) {
  if (WIFSIGNALED(wstatus))
    snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(wstatus),
             strsignal(WTERMSIG(wstatus)));
  else
    snprintf(out, size, "exited %d", WEXITSTATUS(wstatus));
}
