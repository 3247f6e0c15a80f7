/* The subcommands of health-conformance. Each takes the parsed command line
 * and returns the process exit code; main.c picks one. Called once, from
 * the main thread. */
#ifndef HC_CMD_H
#define HC_CMD_H

#include "cli.h"
#include "runner.h"

int cmd_run(cli *o);        /* run (the default): cmd_run.c */
int cmd_list(const cli *o); /* list / --list: cmd_run.c */
/* One row per case of cases[0..count) that protocol (-1: any) and sel
 * select, columns as wide as their longest entry (cmd_run.c). */
void cmd_list_table(const hc_case *cases, size_t count, const selection *sel, int protocol);
/* --list: cmd_list_table once the selection is checked as a run checks it
 * (cmd_select_cases), so that a pattern matching no case is the same usage
 * error here as there, not an empty list: 0 or the usage exit code. */
int cmd_list_selected(const hc_case *cases, size_t count, const selection *sel, int protocol);
/* The cases sel and protocol select, copied into *out (the caller frees
 * it); a pattern matching no case of the table, or an empty selection, is a
 * usage error (its exit code returned, the message printed). */
int cmd_select_cases(const hc_case *cases, size_t count, const selection *sel, int protocol,
                     hc_case **out, size_t *n);
/* --known-failing FILE (NULL: *out NULL) checked against the table: 0 or
 * the usage exit code. */
int cmd_load_baseline(const char *path, const hc_case *cases, size_t count, baseline **out);
/* runner_run, then report_end: the exit code (1 when a report could not be
 * written or memory ran out, with the reason on stderr). *cut_short (if
 * not NULL) says --max-time cut a case short: its thread still runs, so
 * the caller ends the process without library cleanup (runner.h). */
int cmd_run_cases(const hc_case *cases, size_t count, const runner_options *ro, report *rep,
                  int *cut_short);
int cmd_probe(const cli *o); /* probe: cmd_check.c */
int cmd_wait(const cli *o);  /* wait: cmd_check.c */

#endif
