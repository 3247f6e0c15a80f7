/*
 * cases: what the case families share (cases_*.c), and every case
 * function, for cases_table.c. Not used outside the catalogue.
 *
 * A case never hangs: every RPC carries a deadline of ctx->timeout_ms
 * (H-CHECK-6) and every wait is bounded by it or by a shorter window.
 * A case that creates names (ctx->service plus a suffix) removes them
 * before it returns, so the target is left as found (when the hook cannot,
 * the case is NEED_LAST or harmless, and says what stays).
 *
 * Whether a case may run without a hook is decided in one place,
 * catalogue_unmet_need(), from its NEED_* flags: the runner skips a Ctl
 * case without a hook before it starts, so cases do not check again.
 *
 * Names. `case_` is singular because it names one case or one verdict:
 *  - case_<family>_<what>: the entry point (a case_fn) of exactly one
 *    table row, defined in cases_<family>.c, e.g. case_watch_stays_open;
 *  - case_pass, case_skip, case_warn, case_fail: the four verdict setters,
 *    one per case_outcome, defined with the case_* types in catalogue.c.
 * `cases_` is plural because it names what the case files share: the
 * helpers below (cases_util.c) and the family-internal ones, which add
 * their family (cases_http_internal.h: cases_http_*, cases_reflection_
 * internal.h: cases_refl_*). A helper is never named case_, even when it
 * ends in a verdict (cases_should, cases_set): every `case_` name but the
 * four setters is the `.run` of some row (cases_table.c, cases_jina.c).
 */
#ifndef HC_CASES_H
#define HC_CASES_H

#include <stddef.h>

#include "catalogue.h"
#include "grpc_client.h"

#define HEALTH_CHECK "/grpc.health.v1.Health/Check"
#define HEALTH_WATCH "/grpc.health.v1.Health/Watch"
#define HEALTH_LIST "/grpc.health.v1.Health/List"

#define CASES_NAME_MAX 256

/* Opens a client to ctx->target; on failure fills res (FAIL) and returns < 0. */
int cases_connect(const case_ctx *ctx, case_result *res, gclient **gc);

/* "<ctx->service>-<suffix>" into buf. */
void cases_name(const case_ctx *ctx, const char *suffix, char *buf, size_t size);

/* Sets a status through the control hook; on failure fills res (SKIP, the
 * hook is not the server under test) and returns < 0. */
int cases_set(const case_ctx *ctx, case_result *res, const char *service, int status);

/* Starts a graceful shutdown through the control hook; on failure res is
 * SKIP and it returns < 0. */
int cases_start_shutdown(const case_ctx *ctx, case_result *res);

/* Resumes the target after a shutdown case; a failure is appended to
 * res->message (the target stays shut down), the outcome kept. */
void cases_resume(const case_ctx *ctx, case_result *res);

/* Removes a name the case created, best effort: 0, or the hook's error
 * (-ENOTSUP: it cannot remove), which most callers ignore. */
int cases_remove(const case_ctx *ctx, const char *service);

/* Appends "; <note>" (or just the note) to res->message, keeping the
 * outcome: what a case left behind that the reader must know. */
void cases_note(case_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A SHOULD broken: WARN, or FAIL with --strict. */
void cases_should(const case_ctx *ctx, case_result *res, const char *expected, const char *seen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* min(cap, ctx->timeout_ms), at least 1. */
int cases_wait_ms(const case_ctx *ctx, int cap);

/* A short window in which "nothing arrives" is the expected outcome. */
int cases_quiet_ms(const case_ctx *ctx);

/* 1 if r is OK with exactly one message carrying SERVING or NOT_SERVING
 * (H-CHECK-1); *status gets the decoded status when one decoded. */
int cases_reply_healthy(const gclient_reply *r, int *status);

/* Opens Watch on `service` and reads its first message within wait_ms.
 * 0 with *s and *status on success; otherwise res is filled (SKIP when
 * Watch is UNIMPLEMENTED, left to watch/implemented; FAIL otherwise) and
 * *s is NULL. */
int cases_watch_first(const case_ctx *ctx, case_result *res, gclient *gc, const char *service,
                      int wait_ms, gclient_stream **s, int *status);

/* cases_watch_first with the Watch's deadline given: for a case whose
 * stream must outlive many hook calls (T20). */
int cases_watch_open(case_result *res, gclient *gc, const char *service, int deadline_ms,
                     int wait_ms, gclient_stream **s, int *status);

/* Reads until a message with `want` arrives within wait_ms in total.
 * 0 when it came; otherwise -ETIMEDOUT / 1 (ended) / -EBADMSG, and `seen`
 * describes what came instead. *others counts messages before it. */
int cases_watch_until(gclient_stream *s, int want, int wait_ms, int *others, char *seen,
                      size_t size);

/* Describes the end of a stream ("ended with OK", "NOT_FOUND (x)"). */
void cases_stream_end(const gclient_stream *s, char *buf, size_t size);

/* check */
void case_check_overall_health(const case_ctx *ctx, case_result *res);
void case_check_empty_request(const case_ctx *ctx, case_result *res);
void case_check_explicit_empty_field(const case_ctx *ctx, case_result *res);
void case_check_registered_not_serving(const case_ctx *ctx, case_result *res);
void case_check_unknown_not_found(const case_ctx *ctx, case_result *res);
void case_check_no_service_unknown(const case_ctx *ctx, case_result *res);
void case_check_exact_match(const case_ctx *ctx, case_result *res);
void case_check_unknown_field_ignored(const case_ctx *ctx, case_result *res);
void case_check_latency_budget(const case_ctx *ctx, case_result *res);
void case_check_idempotent(const case_ctx *ctx, case_result *res);
void case_check_concurrent(const case_ctx *ctx, case_result *res);
void case_check_unknown_method(const case_ctx *ctx, case_result *res);
void case_check_long_name(const case_ctx *ctx, case_result *res);
void case_check_probe_verdict(const case_ctx *ctx, case_result *res);

/* wire */
void case_wire_unary_framing(const case_ctx *ctx, case_result *res);
void case_wire_uncompressed(const case_ctx *ctx, case_result *res);
void case_wire_content_type_415(const case_ctx *ctx, case_result *res);

/* watch */
void case_watch_implemented(const case_ctx *ctx, case_result *res);
void case_watch_first_message(const case_ctx *ctx, case_result *res);
void case_watch_stays_open(const case_ctx *ctx, case_result *res);
void case_watch_unknown_stays_open(const case_ctx *ctx, case_result *res);
void case_watch_pushes_changes(const case_ctx *ctx, case_result *res);
void case_watch_unknown_then_registered(const case_ctx *ctx, case_result *res);
void case_watch_no_duplicates(const case_ctx *ctx, case_result *res);
void case_watch_slow_reader(const case_ctx *ctx, case_result *res);
void case_watch_all_watchers(const case_ctx *ctx, case_result *res);
void case_watch_cancel_no_leak(const case_ctx *ctx, case_result *res);
void case_watch_check_not_starved(const case_ctx *ctx, case_result *res);
void case_shutdown_watchers_not_serving(const case_ctx *ctx, case_result *res);
void case_shutdown_sets_ignored(const case_ctx *ctx, case_result *res);

/* list */
void case_list_includes_names(const case_ctx *ctx, case_result *res);
void case_list_limit(const case_ctx *ctx, case_result *res);
void case_list_map_encoding(const case_ctx *ctx, case_result *res);

/* reflection */
void case_reflection_lists_health(const case_ctx *ctx, case_result *res);
void case_reflection_describes_health(const case_ctx *ctx, case_result *res);
void case_reflection_version_fallback(const case_ctx *ctx, case_result *res);
void case_reflection_unknown_symbol(const case_ctx *ctx, case_result *res);

/* jina (--profile jina, cases_jina.c) */
void case_jina_services_serving(const case_ctx *ctx, case_result *res);
void case_jina_overall_serving(const case_ctx *ctx, case_result *res);
void case_jina_reflection_lists_services(const case_ctx *ctx, case_result *res);
void case_jina_reflection_health_symbol(const case_ctx *ctx, case_result *res);
void case_jina_health_name_not_found(const case_ctx *ctx, case_result *res);
void case_jina_shutdown_every_service(const case_ctx *ctx, case_result *res);

/* http (--protocol http) */
void case_http_root_ok(const case_ctx *ctx, case_result *res);
void case_http_root_json_body(const case_ctx *ctx, case_result *res);
void case_http_root_content_type(const case_ctx *ctx, case_result *res);
void case_http_keep_alive(const case_ctx *ctx, case_result *res);
void case_http_latency_budget(const case_ctx *ctx, case_result *res);
void case_http_unhealthy_not_success(const case_ctx *ctx, case_result *res);
void case_http_unknown_path(const case_ctx *ctx, case_result *res);
void case_http_head(const case_ctx *ctx, case_result *res);

#endif
