/* pressctl — the operator's tool for pressroom. `pressctl --help` lists every
 * command from the table below, which is also what dispatches them and what every
 * `pressctl COMMAND [SUB] --help` prints.
 *
 * Commands other than `dev` first load the dev stack's env file
 * ($PRESSROOM_DEV_DIR/dev.env, default .pressroom/dev.env) when it exists, so they
 * talk to the stack `dev up` started; variables already set in the environment win. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pressctl.h"

#ifndef PRESSROOM_VERSION
#define PRESSROOM_VERSION "0.1.0"
#endif

typedef struct {
    const char *name;
    const char *sub;  /* NULL: the command takes no subcommand */
    const char *args; /* what follows "pressctl NAME [SUB]" */
    const char *what;
    int (*run)(int argc, char **argv); /* argv[0] is NAME */
    bool reads_dev_env;
} command_t;

static const command_t COMMANDS[] = {
    {"dev", "up", "[--config FILE] [--scale WORKER=N] [--dir DIR]",
     "start the embedded stack (broker, redis, renderer, workers) in the background; prints the env line "
     "the other commands need", cmd_dev, false},
    {"dev", "down", "[--dir DIR]", "stop it (workers drain first)", cmd_dev, false},
    {"submit", NULL, "FILE.jsonl [--wait] [--timeout S] [--html FILE] [--jsonl FILE]",
     "validate every line, publish the batch whole or not at all; --wait follows the verdicts", cmd_submit, true},
    {"results", NULL, "[--job ID] [--since TIME] [--timeout S] [--html FILE] [--jsonl FILE] [--moderation]",
     "read the terminal topics (by assignment: no consumer group) up to their end and report; TIME is "
     "RFC 3339 or epoch ms; --moderation adds the moderation reject and verifier escape rates per class, "
     "template and model", cmd_results, true},
    {"moderate", NULL, "JOB_ID[@REV] (--approve | --reject) --reason R [--reviewer NAME] [--timeout S]",
     "record a moderation decision on a revision that has a verdict (default: the job's newest) on the "
     "moderation topic", cmd_moderate, true},
    {"verify", NULL,
     "IMAGE --text T [--text T ...] [--palette \"#RRGGBB,...\"] [--min-contrast R] [--safe-zone F]\n"
     "                [--region x,y,w,h] [--size WxH] [--case-insensitive] [--no-ocr] [--config FILE]\n"
     "       pressctl verify --batch FILE.jsonl [--threads N] [--no-ocr] [--config FILE]",
     "run the verifier on image files; exit 0 pass, 1 fail, 2 error", cmd_verify, true},
    {"ab", NULL,
     "--models A,B[,C...] --jobs FILE.jsonl --out DIR [--seeds 42,43,...] [--concurrency N] [--no-ocr]\n"
     "                [--config FILE]",
     "every job x seed to every model (same prompt and seed), verified in-process; writes DIR/report.html, "
     "results.jsonl, summary.json", cmd_ab, true},
    {"budget", "show", "[--json]", "cap, spent, reserved, in flight and window per tier and model", cmd_budget,
     true},
    {"budget", "set", "TIER --cap-usd X [--window 1h|1d]", "override a tier's cap fleet-wide (in Redis)",
     cmd_budget, true},
    {"budget", "reset", "TIER", "clear the tier's current window and its override", cmd_budget, true},
    {"blob", "check", "", "open the configured blob store (blob_root / PRESSROOM_BLOBS) and say whether it works",
     cmd_blob, true},
    {"blob", "put", "FILE URI", "store a file at a URI inside the store", cmd_blob, true},
    {"blob", "get", "URI [--max BYTES]", "write a blob of the store to stdout (at most BYTES, default 16 MiB)",
     cmd_blob, true},
    {"blob", "url", "URI [--ttl S]", "a presigned GET URL for a blob of an s3 store (default blob_presign_ttl_s or "
     "900 s)", cmd_blob, true},
    {"replay", NULL,
     "--topic T [--from TIME] [--to TIME] [--class C] [--reason R] [--job-id ID] [--into TOPIC]\n"
     "                [--force-rerender] [--dry-run]",
     "publish again the jobs a time range [from, to) of T carries (T: jobs, backfill, verify, production, results, "
     "rejected, dlq, ...), into the backfill lane unless --into; a decided revision costs nothing again, "
     "--force-rerender stamps a new one", cmd_replay, true},
    {"dlq", "list", "[--reason PREFIX] [--topic T] [--since TIME] [--job-id ID]",
     "the dead letters: letter (partition:offset), time, source topic [partition] @offset, attempt, key, reason",
     cmd_dlq, true},
    {"dlq", "show", "LETTER", "one letter (partition:offset, as list prints it): every header and the payload",
     cmd_dlq, true},
    {"dlq", "redrive",
     "[LETTER ...] [--reason PREFIX] [--topic T] [--since TIME] [--job-id ID] [--all] [--max-attempts N]\n"
     "                [--fix FILE] [--dry-run]",
     "publish letters again to their source topic (the newest letter per key when selected by filter), counting "
     "pressroom-redrive-attempt; a letter at N attempts (default 3) is refused; --fix FILE sends FILE's bytes "
     "instead of one letter's", cmd_dlq, true},
    {"offsets", "show", "--group G [--topic T ...]",
     "a consumer group's committed offset, the high watermark and the lag per partition", cmd_offsets, true},
    {"offsets", "reset",
     "--group G (--to-datetime TIME | --to-earliest | --to-latest) [--topic T ...] [--dry-run]",
     "move a group's committed offsets (those it has, or of --topic); refused while the group has members", cmd_offsets, true},
    {"dataset", "export", "--template T --out DIR [--since TIME] [--include-rejected]",
     "the template's verified pairs (newest verdict per revision): DIR/metadata.jsonl, images/, manifest.json",
     cmd_dataset, true},
    {"dataset", "synth", "--template T --n N [--seed S] [--asset-class C] [--jobs-out FILE] [--wait] [--timeout S]",
     "N synthetic jobs from the template's slot values (seeded), submitted as pressctl submit does", cmd_dataset, true},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

void pressctl_usage(FILE *f, const char *name, const char *sub) {
    bool any = false;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const command_t *c = &COMMANDS[i];
        if (name && strcmp(c->name, name)) continue;
        if (sub && (!c->sub || strcmp(c->sub, sub))) continue;
        fprintf(f, "%s pressctl %s%s%s %s\n           %s\n", any ? "      " : "usage:", c->name,
                c->sub ? " " : "", c->sub ? c->sub : "", c->args, c->what);
        any = true;
    }
}

static void usage_all(FILE *f) {
    fprintf(f, "pressctl %s — the operator's tool for pressroom\n\n", PRESSROOM_VERSION);
    pressctl_usage(f, NULL, NULL);
    fprintf(f, "\n`pressctl COMMAND [SUB] --help` prints one command's usage; `pressctl --version` the version.\n");
}

static bool is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

int main(int argc, char **argv) {
    log_init("pressctl");
    if (!getenv("PRESSROOM_LOG_LEVEL")) log_set_level(LOG_WARN);
    if (argc < 2) {
        usage_all(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || !strcmp(cmd, "help")) {
        if (argc > 2) cmd = argv[2]; /* pressctl help COMMAND */
        else {
            usage_all(stdout);
            return 0;
        }
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("pressctl %s\n", PRESSROOM_VERSION);
        return 0;
    }
    const command_t *found = NULL;
    for (size_t i = 0; i < N_COMMANDS && !found; i++)
        if (!strcmp(COMMANDS[i].name, cmd)) found = &COMMANDS[i];
    if (!found) {
        fprintf(stderr, "pressctl: unknown command \"%s\"\n", cmd);
        usage_all(stderr);
        return 2;
    }
    /* --help anywhere: the usage of the command, or of its subcommand when one is named. */
    bool help = cmd != argv[1];
    for (int i = 2; i < argc && !help; i++) help = is_help(argv[i]);
    if (help) {
        const char *sub = NULL;
        int at = cmd != argv[1] ? 3 : 2;
        for (size_t i = 0; at < argc && i < N_COMMANDS && !sub; i++)
            if (!strcmp(COMMANDS[i].name, cmd) && COMMANDS[i].sub && !strcmp(COMMANDS[i].sub, argv[at]))
                sub = COMMANDS[i].sub;
        pressctl_usage(stdout, cmd, sub);
        return 0;
    }
    if (found->reads_dev_env) config_load_dev_env();
    return found->run(argc - 1, argv + 1);
}
