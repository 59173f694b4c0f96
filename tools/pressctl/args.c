/* args.c — what every pressctl command parses the same way: integers (strictly:
 * no trailing text, no sign where none is allowed, in range), times, and the check
 * that a Kafka broker answers before anything waits on one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pressctl.h"
#include "runtime/kafka.h"

int arg_int(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = s && (*s >= '0' && *s <= '9') ? strtol(s, &end, 10) : 0;
    if (!s || !end || end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "pressctl %s: %s: expected an integer from %ld to %ld, found \"%s\"\n", cmd, flag, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int arg_time_ms(const char *cmd, const char *flag, const char *s, int64_t *out) {
    size_t n = s ? strlen(s) : 0;
    if (n && strspn(s, "0123456789") == n && n <= 15) { /* epoch milliseconds */
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    int y, mo, d, h, mi, sec, used = 0;
    if (s && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) == 6 && used == 19 &&
        mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60) {
        const char *p = s + used;
        int64_t ms = 0;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3) ms = ms * 10 + (*p - '0');
            if (!digits) goto bad;
            for (; digits < 3; digits++) ms *= 10;
        }
        int64_t offset_s = 0;
        if (*p == 'Z' || *p == 'z') p++;
        else if (*p == '+' || *p == '-') {
            int oh, om, ou = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &ou) != 2 || ou != 5 || oh > 23 || om > 59) goto bad;
            offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
            p += 6;
        } else goto bad;
        if (*p) goto bad;
        int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
        *out = secs * 1000 + ms;
        return 0;
    }
bad:
    fprintf(stderr,
            "pressctl %s: %s: expected an RFC 3339 time (2026-12-01T08:00:00Z) or epoch milliseconds, found \"%s\"\n",
            cmd, flag, s ? s : "");
    return -1;
}

int require_broker(const config_t *cfg) {
    char err[768];
    if (kafka_probe(cfg, BROKER_PROBE_MS, err, sizeof err) == 0) return 0;
    fprintf(stderr,
            "pressctl: %s: set PRESSROOM_BROKERS to your Kafka brokers, or start the embedded stack with "
            "`pressctl dev up` (it writes .pressroom/dev.env, which pressctl reads).\n",
            err);
    return -1;
}

const char *arg_topic(const char *cmd, const char *flag, const config_t *cfg, const char *s, char *buf, size_t len,
                      const char **shortname) {
    const char *full = config_topic_named(cfg, s, buf, len, shortname);
    if (full) return full;
    fprintf(stderr, "pressctl %s: %s: expected one of", cmd, flag);
    for (size_t i = 0; i < CONFIG_N_TOPIC_NAMES; i++)
        fprintf(stderr, "%s %s", i ? "," : "", CONFIG_TOPIC_NAMES[i]);
    fprintf(stderr, " (or the same with the prefix %s), found \"%s\"\n", cfg->topic_prefix, s ? s : "");
    return NULL;
}
