/* pressctl.h — subcommands of pressctl, one file each. Each returns the process
 * exit status: 0 done, 1 failed (a service, a write, a verdict), 2 usage or config.
 * main.c has loaded the dev stack's env file (if any) into the environment first, so
 * config_load(cfg, NULL, ...) sees PRESSROOM_* overrides. */
#ifndef PRESSROOM_PRESSCTL_H
#define PRESSROOM_PRESSCTL_H

#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "base/config.h"

int cmd_dev(int argc, char **argv);     /* dev up|down   (cmd_dev.c) */
int cmd_submit(int argc, char **argv);  /* submit FILE.jsonl [--wait] (cmd_submit.c) */
int cmd_results(int argc, char **argv); /* results (cmd_submit.c) */
int cmd_verify(int argc, char **argv);  /* verify IMAGE ... | --batch FILE (cmd_verify.c) */
int cmd_budget(int argc, char **argv);  /* budget show|set|reset (cmd_budget.c) */
int cmd_blob(int argc, char **argv);    /* blob check|put|get|url (cmd_blob.c) */
int cmd_ab(int argc, char **argv);      /* ab --models A,B --jobs FILE --out DIR (cmd_ab.c) */
int cmd_replay(int argc, char **argv);  /* replay --topic T --from --to ... (cmd_replay.c) */
int cmd_dlq(int argc, char **argv);     /* dlq list|show|redrive (cmd_dlq.c) */
int cmd_offsets(int argc, char **argv); /* offsets show|reset (cmd_offsets.c) */
int cmd_dataset(int argc, char **argv); /* dataset export|synth (cmd_dataset.c) */
int cmd_moderate(int argc, char **argv); /* moderate JOB_ID[@REV] --approve|--reject (cmd_moderate.c) */
/* `results --moderation`: the latest decision per job@revision joined with its verdict,
 * reject and escape rates per class, template and model (cmd_moderate.c). 0, or -1. */
int moderation_report(const config_t *cfg, int64_t since_ms, const char *job, int timeout_s);

/* The usage of command `name` (every subcommand, or only `sub` when not NULL), from
 * the one table of commands in main.c. */
void pressctl_usage(FILE *f, const char *name, const char *sub);

/* ==== args.c ==== */

/* How long a command waits for a Kafka broker's first answer. */
#define BROKER_PROBE_MS 4000
/* How long a command reading topics to their end waits for a message before it gives up
 * (the brokers went away mid-read). */
#define READ_IDLE_MS 30000

/* Parses s as a decimal integer in [lo, hi], nothing else (no sign, no trailing text).
 * Returns 0, or -1 after printing "pressctl CMD: FLAG: expected ..., found "S"". */
int arg_int(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out);
/* RFC 3339 (2026-12-01T08:00:00Z, fractions and +HH:MM offsets allowed) or epoch
 * milliseconds, to epoch ms. Returns 0, or -1 after printing what was expected. */
int arg_time_ms(const char *cmd, const char *flag, const char *s, int64_t *out);
/* 0 when a broker of cfg->brokers answers within BROKER_PROBE_MS; else prints one
 * sentence naming PRESSROOM_BROKERS and `pressctl dev up` and returns -1. */
int require_broker(const config_t *cfg);
/* config_topic_named (base/config.h), printing "pressctl CMD: FLAG: expected one of ..." when s is none of them. */
const char *arg_topic(const char *cmd, const char *flag, const config_t *cfg, const char *s, char *buf, size_t len,
                      const char **shortname);

#endif
