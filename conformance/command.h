/*
 * command: a shell command line the runner starts and must be able to end,
 * whatever it does (the --control-cmd hook, the client suite's --probe-cmd
 * and --watch-cmd, the mock-executor the client suite plays scenarios on).
 *
 * The line runs as `/bin/sh -c LINE` through posix_spawn (never a fork
 * after grpc_init), in a process group of its own, stdin from /dev/null,
 * stdout and stderr together on one pipe the runner reads. Its output is
 * kept in a bounded buffer (the last COMMAND_OUTPUT_MAX bytes) and can
 * also be read line by line as it comes (command_read_line).
 *
 * Ending: the leader's exit is seen without reaping it (waitid WNOWAIT),
 * then the whole group gets SIGKILL, then the leader is reaped, so the
 * group id cannot have been reused by then and nothing the command started
 * (a pipeline, a daemonised child) outlives it.
 *
 * Templates: command_expand replaces {NAME} placeholders by values quoted
 * for the shell ('it'\''s'), so a value can never split into words or run
 * anything.
 *
 * Memory: a command owns its buffers; command_free ends and frees it.
 * Thread safety: a command belongs to one thread; distinct commands may be
 * driven from several threads at once (pipes and spawns are CLOEXEC).
 */
#ifndef HC_COMMAND_H
#define HC_COMMAND_H

#include <stddef.h>
#include <sys/types.h>

#define COMMAND_OUTPUT_MAX 4096 /* output bytes kept (the tail) */
#define COMMAND_LINE_MAX 8192   /* an expanded template */

typedef struct command command;

/* One {name} -> value substitution for command_expand. */
typedef struct command_var {
  const char *name;  /* without braces: "service" */
  const char *value; /* quoted when substituted */
} command_var;

/* Replaces every {name} of vars[0..n) in tmpl by its quoted value into out.
 * Text that is no known placeholder is copied as it is. 0, or
 * -ENAMETOOLONG when out (cap bytes) is too small. */
int command_expand(const char *tmpl, const command_var *vars, size_t n, char *out, size_t cap);

/* Starts `/bin/sh -c line`. 0 and *out, or a negative errno with err. */
int command_start(const char *line, command **out, char *err, size_t errlen);

pid_t command_pid(const command *c);

/* Waits until the command's leader exits or deadline (monotime_ms) passes,
 * collecting output meanwhile. 0 and *wstatus when it exited (the group is
 * then killed and the leader reaped), -ETIMEDOUT when it is still running
 * (nothing is killed). */
int command_wait(command *c, long long deadline, int *wstatus);

/* The next complete output line (without its newline, truncated to size),
 * waiting until deadline. 0 with a line; -ETIMEDOUT; -EPIPE when the
 * output ended (every writer closed it) with no line left. */
int command_read_line(command *c, char *line, size_t size, long long deadline);

/* Reads what output is already there, without waiting (keeps a pipe that
 * is not otherwise read from filling up). */
void command_pump(command *c);

/* Ends the command: SIGTERM to its group, up to grace_ms for the leader to
 * exit, then SIGKILL to the group; reaps the leader. Returns the wait
 * status, or -1 when it had to be killed. Safe to call twice. */
int command_stop(command *c, int grace_ms);

/* The output kept so far (NUL-terminated, the last COMMAND_OUTPUT_MAX bytes). */
const char *command_output(const command *c);

/* The last non-empty line of the output kept, into out. */
void command_last_line(const command *c, char *out, size_t size);

/* command_stop(c, 0) if still running, then frees. Safe with NULL. */
void command_free(command *c);

/* "exited 3", "killed by signal 11" for a wait status. */
void command_describe_status(int wstatus, char *out, size_t size);

#endif
