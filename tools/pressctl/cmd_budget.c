/* cmd_budget.c — `pressctl budget`: look at and steer the fleet's spend caps in Redis.
 *
 *   pressctl budget show [--json]                      cap, spend, reservations, leases,
 *                                                      window reset, per tier and model
 *   pressctl budget set TIER --cap-usd X [--window 1h|1d]   run-time cap override
 *   pressctl budget reset TIER                         clear the current window's spend,
 *                                                      reservations and the override
 *
 * Redis comes from the config (config_load(NULL): PRESSROOM_CONFIG, PRESSROOM_REDIS).
 * Exit status: 0 done, 1 Redis unavailable or refused, 2 usage. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget/budget.h"
#include "base/config.h"
#include "base/log.h"
#include "pressctl.h"

static const char *const tiers[] = {"preview", "production", "backfill"};

static void budget_usage(void) {
    pressctl_usage(stderr, "budget", NULL);
    fprintf(stderr, "TIER is preview, production or backfill.\n");
}

/* "12", "12.5", "0.000001" -> micro-dollars. Returns 0, or -1 for anything else
 * (negative, more than 6 decimals, trailing text, overflow). */
static int parse_usd(const char *s, int64_t *out) {
    int64_t whole = 0, frac = 0;
    int digits = 0, fdigits = 0;
    const char *p = s;
    if (*p == '$') p++;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (whole > (INT64_MAX / 1000000 - 9) / 10) return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, fdigits++) {
            if (fdigits >= 6) return -1;
            frac = frac * 10 + (*p - '0');
        }
    }
    if (*p || digits + fdigits == 0) return -1;
    for (int i = fdigits; i < 6; i++) frac *= 10;
    *out = whole * 1000000 + frac;
    return 0;
}

/* Micro-dollars as "$12.50", "$0.000123": at least two decimals, no trailing zeros. */
static const char *usd(int64_t micros, char *buf, size_t len) {
    const char *sign = micros < 0 ? "-" : "";
    uint64_t m = micros < 0 ? (uint64_t)(-(micros + 1)) + 1 : (uint64_t)micros;
    char frac[8];
    snprintf(frac, sizeof frac, "%06" PRIu64, m % 1000000);
    for (int i = 5; i >= 2 && frac[i] == '0'; i--) frac[i] = '\0';
    snprintf(buf, len, "%s$%" PRIu64 ".%s", sign, m / 1000000, frac);
    return buf;
}

static const char *iso_utc(int64_t ms, char *buf, size_t len) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static const char *window_name(int window_s, char *buf, size_t len) {
    if (window_s == 3600) return "1h";
    if (window_s == 86400) return "1d";
    snprintf(buf, len, "%ds", window_s);
    return buf;
}

/* Connects as configured; prints the reason and returns NULL on a bad config. */
static budget_t *connect_from_config(config_t *cfg) {
    char err[1024];
    if (config_load(cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl budget: %s\n", err);
        return NULL;
    }
    budget_t *b = budget_connect(cfg, err, sizeof err);
    if (!b) fprintf(stderr, "pressctl budget: %s\n", err);
    return b;
}

static cJSON *snapshot_json(const budget_snapshot_t *s) {
    char buf[64];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tier", s->tier);
    cJSON_AddNumberToObject(o, "cap_micros", (double)s->cap_micros);
    cJSON_AddNumberToObject(o, "window_s", s->window_s);
    cJSON_AddBoolToObject(o, "overridden", s->overridden);
    cJSON_AddNumberToObject(o, "spent_micros", (double)s->spent_micros);
    cJSON_AddNumberToObject(o, "reserved_micros", (double)s->reserved_micros);
    cJSON_AddNumberToObject(o, "in_flight", (double)s->in_flight);
    cJSON_AddNumberToObject(o, "window_reset_ms", (double)s->window_reset_ms);
    cJSON_AddStringToObject(o, "window_reset", iso_utc(s->window_reset_ms, buf, sizeof buf));
    cJSON_AddNumberToObject(o, "admitted", (double)s->admitted);
    cJSON_AddNumberToObject(o, "settled", (double)s->settled);
    cJSON_AddNumberToObject(o, "released", (double)s->released);
    cJSON_AddNumberToObject(o, "expired", (double)s->expired);
    cJSON_AddNumberToObject(o, "charged_unsettled_micros", (double)s->charged_unsettled_micros);
    cJSON_AddNumberToObject(o, "late_settles", (double)s->late_settles);
    cJSON_AddNumberToObject(o, "deferred", (double)s->deferred);
    cJSON *models = cJSON_AddArrayToObject(o, "models");
    for (int i = 0; i < s->n_models; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "model", s->models[i].model);
        cJSON_AddNumberToObject(m, "spent_micros", (double)s->models[i].spent_micros);
        cJSON_AddNumberToObject(m, "reserved_micros", (double)s->models[i].reserved_micros);
        cJSON_AddItemToArray(models, m);
    }
    return o;
}

static void snapshot_text(const budget_snapshot_t *s) {
    char cap[32], spent[32], res[32], reset[32], win[16];
    printf("%-11s %-14s %-14s %-14s %9" PRId64 "  %-6s %s%s\n", s->tier,
           s->cap_micros ? usd(s->cap_micros, cap, sizeof cap) : "none",
           usd(s->spent_micros, spent, sizeof spent), usd(s->reserved_micros, res, sizeof res),
           s->in_flight, window_name(s->window_s, win, sizeof win),
           iso_utc(s->window_reset_ms, reset, sizeof reset), s->overridden ? "  (override)" : "");
    if (s->charged_unsettled_micros || s->late_settles)
        printf("  charged for leases that expired unsettled: %s (late settles %" PRId64 ")\n",
               usd(s->charged_unsettled_micros, spent, sizeof spent), s->late_settles);
    if (s->deferred)
        printf("  deferred jobs waiting for the window to turn or a raised cap: %" PRId64 "\n", s->deferred);
    for (int i = 0; i < s->n_models; i++)
        printf("  %-30s spent %-14s reserved %s\n", s->models[i].model,
               usd(s->models[i].spent_micros, spent, sizeof spent),
               usd(s->models[i].reserved_micros, res, sizeof res));
}

static int budget_show(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else {
            fprintf(stderr, "pressctl budget show: unknown option \"%s\"\n", argv[i]);
            budget_usage();
            return 2;
        }
    }
    config_t *cfg = malloc(sizeof *cfg);
    budget_t *b = cfg ? connect_from_config(cfg) : NULL;
    if (!b) {
        free(cfg);
        return 1;
    }
    enum { N_TIERS = sizeof tiers / sizeof *tiers };
    budget_snapshot_t snaps[N_TIERS];
    int rc = 0;
    for (int i = 0; i < N_TIERS && !rc; i++) {
        if (budget_snapshot(b, tiers[i], &snaps[i])) {
            fprintf(stderr, "pressctl budget show: %s\n", budget_errstr(b));
            rc = 1;
        }
    }
    if (!rc && json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "redis", cfg->redis);
        cJSON *arr = cJSON_AddArrayToObject(root, "tiers");
        for (int i = 0; i < N_TIERS; i++) cJSON_AddItemToArray(arr, snapshot_json(&snaps[i]));
        char *text = cJSON_PrintUnformatted(root);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
    } else if (!rc) {
        printf("%-11s %-14s %-14s %-14s %9s  %-6s %s\n", "tier", "cap", "spent", "reserved",
               "in flight", "window", "resets at");
        for (int i = 0; i < N_TIERS; i++) snapshot_text(&snaps[i]);
    }
    budget_free(b);
    free(cfg);
    return rc;
}

static int budget_set(int argc, char **argv) {
    if (argc < 2) {
        budget_usage();
        return 2;
    }
    const char *tier = argv[1];
    int64_t cap = -1;
    int window_s = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--cap-usd") && i + 1 < argc) {
            if (parse_usd(argv[++i], &cap)) {
                fprintf(stderr,
                        "pressctl budget set: --cap-usd: expected dollars with at most 6 decimals "
                        "(e.g. 12.50), found \"%s\"\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--window") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "1h")) window_s = 3600;
            else if (!strcmp(argv[i], "1d")) window_s = 86400;
            else {
                fprintf(stderr, "pressctl budget set: --window: expected 1h or 1d, found \"%s\"\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "pressctl budget set: unexpected argument \"%s\"\n", argv[i]);
            budget_usage();
            return 2;
        }
    }
    if (cap < 0) {
        fprintf(stderr, "pressctl budget set: expected --cap-usd X\n");
        budget_usage();
        return 2;
    }
    config_t *cfg = malloc(sizeof *cfg);
    budget_t *b = cfg ? connect_from_config(cfg) : NULL;
    int rc = 1;
    if (b && !config_tier(cfg, tier)) {
        fprintf(stderr, "pressctl budget set: TIER: expected preview, production or backfill, found \"%s\"\n", tier);
        rc = 2;
    } else if (b && budget_set_cap(b, tier, cap, window_s)) {
        fprintf(stderr, "pressctl budget set: %s\n", budget_errstr(b));
    } else if (b) {
        char buf[32];
        const tier_config_t *t = config_tier(cfg, tier);
        printf("%s: cap %s per %s (override stored in Redis at %s)\n", tier, usd(cap, buf, sizeof buf),
               window_s ? (window_s == 3600 ? "1h" : "1d") : (t->window_s == 86400 ? "1d" : "1h"),
               cfg->redis);
        rc = 0;
    }
    budget_free(b);
    free(cfg);
    return rc;
}

static int budget_reset_cmd(int argc, char **argv) {
    if (argc != 2) {
        budget_usage();
        return 2;
    }
    config_t *cfg = malloc(sizeof *cfg);
    budget_t *b = cfg ? connect_from_config(cfg) : NULL;
    int rc = 1;
    if (b && !config_tier(cfg, argv[1])) {
        fprintf(stderr, "pressctl budget reset: TIER: expected preview, production or backfill, found \"%s\"\n",
                argv[1]);
        rc = 2;
    } else if (b && budget_reset(b, argv[1])) {
        fprintf(stderr, "pressctl budget reset: %s\n", budget_errstr(b));
    } else if (b) {
        printf("%s: current window cleared, override removed\n", argv[1]);
        rc = 0;
    }
    budget_free(b);
    free(cfg);
    return rc;
}

int cmd_budget(int argc, char **argv) {
    if (argc < 2) {
        budget_usage();
        return 2;
    }
    log_set_level(LOG_ERROR); /* an outage is reported on stderr by the command itself */
    if (!strcmp(argv[1], "show")) return budget_show(argc - 1, argv + 1);
    if (!strcmp(argv[1], "set")) return budget_set(argc - 1, argv + 1);
    if (!strcmp(argv[1], "reset")) return budget_reset_cmd(argc - 1, argv + 1);
    fprintf(stderr, "pressctl budget: unknown subcommand \"%s\"\n", argv[1]);
    budget_usage();
    return 2;
}
