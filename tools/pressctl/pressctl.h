/* pressctl.h — subcommands of pressctl, one file each. Each returns the process
 * exit status. main.c has loaded the dev stack's env file (if any) into the
 * environment first, so config_load(cfg, NULL, ...) sees PRESSROOM_* overrides. */
#ifndef PRESSROOM_PRESSCTL_H
#define PRESSROOM_PRESSCTL_H

int cmd_dev(int argc, char **argv);     /* dev up|down   (cmd_dev.c) */
int cmd_submit(int argc, char **argv);  /* submit FILE.jsonl [--wait] (cmd_submit.c) */
int cmd_results(int argc, char **argv); /* results (cmd_submit.c) */
int cmd_verify(int argc, char **argv);  /* verify IMAGE ... | --batch FILE (cmd_verify.c) */
int cmd_budget(int argc, char **argv);  /* budget show|set|reset (cmd_budget.c) */
int cmd_blob(int argc, char **argv);    /* blob check|put|get|url (cmd_blob.c) */

#endif
