/*
 * control: the hook through which streaming cases change statuses on the
 * server under test. Either the mock's control API (`--control URL`, HTTP
 * JSON through libcurl) or any command (`--control-cmd 'CMD {service}
 * {status}'`, run through /bin/sh with {service} and {status} substituted,
 * shell-quoted).
 *
 * Every call is bounded by the timeout given at creation and returns 0 or
 * a negative error with a one-line reason in err (errlen bytes, the
 * caller's, CONTROL_ERR_MAX in this tree; errbuf.h).
 * Thread safety: one control may be used from several threads at once.
 */
#ifndef HC_CONTROL_H
#define HC_CONTROL_H

#include <stddef.h>

typedef struct control control;

#define CONTROL_ERR_MAX 256

/* Exactly one of url / cmd is non-NULL. The strings are copied. */
int control_new(const char *url, const char *cmd, int timeout_ms, control **out, char *err,
                size_t errlen);
void control_free(control *c);

/* Sets `service` to `status` (0-3) on the target. */
int control_set(control *c, const char *service, int status, char *err, size_t errlen);

/* Removes `service` (Check then NOT_FOUND). With --control-cmd the command
 * gets status "REMOVE"; -ENOTSUP if the hook cannot do it. */
int control_remove(control *c, const char *service, char *err, size_t errlen);

/* Starts the target's graceful shutdown (all NOT_SERVING, H-WATCH-9), and
 * undoes it (resume). With --control-cmd: status "SHUTDOWN" / "RESUME". */
int control_shutdown(control *c, char *err, size_t errlen);
int control_resume(control *c, char *err, size_t errlen);

/* GET `path` of the mock's control API ("/v1/journal") into *out, a new
 * JSON reference (replies of up to 4 MiB). -ENOTSUP for a command hook. */
struct json_t;
int control_get_json(control *c, const char *path, struct json_t **out, char *err, size_t errlen);

/* 1 while a shutdown started through this hook has not been undone (its
 * RESUME failed or is unsupported, exit 64): the target stays shut down,
 * and a later shutdown case starts from there instead of asking again. */
int control_is_shut_down(const control *c);

/* 1 if the hook can remove, shut down and resume (the mock's API can;
 * a command is assumed to). */
int control_can_shutdown(const control *c);

#endif
