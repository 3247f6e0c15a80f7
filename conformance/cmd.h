/* The subcommands of health-conformance. Each takes the parsed command line
 * and returns the process exit code; main.c picks one. Called once, from
 * the main thread. */
#ifndef HC_CMD_H
#define HC_CMD_H

#include "cli.h"

int cmd_run(cli *o);         /* run (the default): cmd_run.c */
void cmd_list(const cli *o); /* list / --list: cmd_run.c */
int cmd_probe(const cli *o); /* probe: cmd_check.c */
int cmd_wait(const cli *o);  /* wait: cmd_check.c */

#endif
