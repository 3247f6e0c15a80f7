/* contain: a child process around what talks to the target (contain.h). */
#define _GNU_SOURCE /* strsignal */
#include "contain.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int contain_call(int (*fn)(void *arg), void *arg, int crash_code, const char *what) {
  pid_t pid;
  int st;

  fflush(NULL); /* else the child would write the parent's buffers again */
  pid = fork();
  if (pid < 0)
    return fn(arg); /* uncontained beats no answer */
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the runner */
    exit(fn(arg));
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return crash_code;
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  fprintf(stderr, CLI_PROG ": %s: the gRPC library aborted on what the target sent (%s)\n", what,
          strsignal(WTERMSIG(st)));
  return crash_code;
}
