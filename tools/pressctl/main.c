/* pressctl — the operator's tool for pressroom.
 *
 *   pressctl dev up [--config FILE] [--scale WORKER=N] [--dir DIR]
 *   pressctl dev down [--dir DIR]
 *   pressctl submit FILE.jsonl [--wait] [--timeout S] [--html FILE] [--jsonl FILE]
 *   pressctl results [--timeout S] [--html FILE] [--jsonl FILE]
 *   pressctl verify IMAGE --text "SALE" ... | --batch FILE.jsonl
 *   pressctl budget show [--json] | set TIER --cap-usd X --window 1h | reset TIER
 *   pressctl blob check | put FILE URI | get URI [--max N] | url URI [--ttl S]
 *
 * Subcommands other than `dev` first load the dev stack's env file
 * ($PRESSROOM_DEV_DIR/dev.env, default .pressroom/dev.env) when it exists, so they
 * talk to the stack `dev up` started; variables already set in the environment win. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pressctl.h"

/* Loads KEY=VALUE lines into the environment without overriding what is set. */
static void load_env_file(void) {
    const char *dir = getenv("PRESSROOM_DEV_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/dev.env", dir && *dir ? dir : ".pressroom");
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#') continue;
        *eq = 0;
        setenv(line, eq + 1, 0);
    }
    fclose(f);
}

static void usage(void) {
    fprintf(stderr,
            "usage: pressctl COMMAND ...\n"
            "  dev up [--config FILE] [--scale WORKER=N] [--dir DIR]   start the embedded stack\n"
            "  dev down [--dir DIR]                                     stop it\n"
            "  submit FILE.jsonl [--wait] [--timeout S] [--html F] [--jsonl F]\n"
            "  results [--timeout S] [--html F] [--jsonl F]\n"
            "  verify IMAGE --text T [...] | verify --batch FILE.jsonl\n"
            "  budget show [--json] | set TIER --cap-usd X --window 1h|1d | reset TIER\n"
            "  blob check | put FILE URI | get URI [--max BYTES] | url URI [--ttl S]\n");
}

int main(int argc, char **argv) {
    log_init("pressctl");
    if (!getenv("PRESSROOM_LOG_LEVEL")) log_set_level(LOG_WARN);
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "dev")) return cmd_dev(argc - 1, argv + 1);
    load_env_file();
    if (!strcmp(cmd, "submit")) return cmd_submit(argc - 1, argv + 1);
    if (!strcmp(cmd, "results")) return cmd_results(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify")) return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(cmd, "budget")) return cmd_budget(argc - 1, argv + 1);
    if (!strcmp(cmd, "blob")) return cmd_blob(argc - 1, argv + 1);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage();
        return 0;
    }
    fprintf(stderr, "pressctl: unknown command \"%s\"\n", cmd);
    usage();
    return 2;
}
