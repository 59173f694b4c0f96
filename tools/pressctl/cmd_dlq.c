/* cmd_dlq.c — `pressctl dlq list|show|redrive`: the dead letters of pressroom.dlq
 * (schemas/dlq.md), read by assignment (no consumer group). Reading letters, selecting
 * them and re-driving one live in common/runtime/dlq.h (the console's re-drive button
 * calls the same functions); this file parses the command line and prints. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/fileio.h"
#include "pressctl.h"
#include "runtime/dlq.h"
#include "runtime/kafka.h"

typedef dlq_letter_t letter_t;
typedef dlq_letters_t letters_t;

typedef struct {
    const char *sub;
    const char *reason, *topic_arg, *job_id, *fix;
    int64_t since_ms;
    int max_attempts;
    bool all, dry_run;
    char **ids;
    int n_ids;
    char topic[256]; /* --topic, full name */
} dlq_opts_t;

static dlq_filter_t opts_filter(const dlq_opts_t *o) {
    return (dlq_filter_t){o->reason, o->topic_arg ? o->topic : NULL, o->job_id};
}

/* Every letter of the DLQ (at or after since_ms), in the order read. */
static int read_letters(const config_t *cfg, int64_t since_ms, letters_t *l, char *dlq, size_t dlqlen) {
    char err[1024];
    if (require_broker(cfg)) return -1;
    if (dlq_letters_read(cfg, since_ms, READ_IDLE_MS, l, dlq, dlqlen, err, sizeof err)) {
        fprintf(stderr, "pressctl dlq: %s\n", err);
        return -1;
    }
    return 0;
}

static void format_time(int64_t ms, char *buf, size_t len) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static int parse_letter_id(const char *s, int32_t *p, int64_t *off) {
    if (!dlq_letter_id_parse(s, p, off)) return 0;
    fprintf(stderr, "pressctl dlq: expected a letter as PARTITION:OFFSET (as `pressctl dlq list` prints it), found \"%s\"\n",
            s ? s : "");
    return -1;
}

static letter_t *find_letter(letters_t *l, const char *id) {
    int32_t p;
    int64_t off;
    if (parse_letter_id(id, &p, &off)) return NULL;
    letter_t *t = dlq_letters_find(l, p, off);
    if (!t) fprintf(stderr, "pressctl dlq: no letter %s on the dead-letter topic\n", id);
    return t;
}

/* ==== list, show ==== */

static int dlq_list(const dlq_opts_t *o, letters_t *l) {
    int shown = 0;
    dlq_filter_t f = opts_filter(o);
    char when[40];
    printf("%-10s %-24s %-34s %-7s %-24s %s\n", "LETTER", "TIME", "SOURCE", "ATTEMPT", "KEY", "REASON");
    for (int i = 0; i < l->n; i++) {
        const letter_t *t = &l->v[i];
        if (!dlq_letter_matches(&f, t)) continue;
        char id[40], src[300];
        snprintf(id, sizeof id, "%d:%" PRId64, (int)t->partition, t->offset);
        format_time(t->time_ms, when, sizeof when);
        snprintf(src, sizeof src, "%s", t->source);
        printf("%-10s %-24s %-34s %-7d %-24s %s%s\n", id, when, src, t->attempt, t->key[0] ? t->key : "-",
               t->reason, t->bounded ? " (bounded letter)" : "");
        shown++;
    }
    printf("%d letter(s)\n", shown);
    return 0;
}

static int dlq_show(const config_t *cfg, const char *id) {
    int32_t p;
    int64_t off;
    if (parse_letter_id(id, &p, &off)) return 2;
    char dlq[256], err[768];
    config_topic(cfg, "dlq", dlq, sizeof dlq);
    const char *topics[] = {dlq};
    if (require_broker(cfg)) return 1;
    kafka_reader_t *r = kafka_reader_new(cfg, topics, 1, 0, 0, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl dlq: %s\n", err);
        return 1;
    }
    int rc = 1;
    int64_t idle_since = now_ms();
    while (!kafka_reader_at_end(r) && rc && now_ms() - idle_since <= READ_IDLE_MS) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (!m) continue;
        idle_since = now_ms();
        if (m->partition == p && m->offset == off) {
            char when[40];
            format_time(rd_kafka_message_timestamp(m, NULL), when, sizeof when);
            printf("letter: %s [%d] @%" PRId64 "\ntime: %s\nkey: %.*s\n", dlq, (int)p, off, when, (int)m->key_len,
                   m->key ? (const char *)m->key : "");
            rd_kafka_headers_t *h = NULL;
            if (!rd_kafka_message_headers(m, &h)) {
                const char *name;
                const void *val;
                size_t sz;
                for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &val, &sz); i++)
                    printf("header %s: %.*s\n", name, (int)sz, val ? (const char *)val : "");
            }
            printf("payload (%zu bytes):\n", m->len);
            fwrite(m->payload, 1, m->len, stdout);
            printf("\n");
            rc = 0;
        }
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    if (rc) fprintf(stderr, "pressctl dlq: no letter %s on %s\n", id, dlq);
    return rc;
}

/* ==== redrive ==== */

/* Selects the letters to redrive: those named, or by filter the newest matching letter
 * of each (source topic, key). Returns how many, or -1. */
static int select_letters(const dlq_opts_t *o, letters_t *l) {
    int n = 0;
    if (o->n_ids) {
        for (int i = 0; i < o->n_ids; i++) {
            letter_t *t = find_letter(l, o->ids[i]);
            if (!t) return -1;
            n += !t->selected;
            t->selected = true;
        }
        return n;
    }
    dlq_filter_t f = opts_filter(o);
    return dlq_select_newest(l, &f);
}

static int dlq_redrive(const config_t *cfg, const dlq_opts_t *o, letters_t *l, const char *dlq) {
    if (!o->n_ids && !o->reason && !o->topic_arg && !o->job_id && !o->all) {
        fprintf(stderr, "pressctl dlq redrive: name letters (PARTITION:OFFSET), filter them (--reason, --topic, "
                        "--since, --job-id) or pass --all\n");
        return 2;
    }
    int n = select_letters(o, l);
    if (n < 0) return 2;
    char *fixed = NULL;
    size_t fixed_len = 0;
    if (o->fix) {
        if (n != 1) {
            fprintf(stderr, "pressctl dlq redrive: --fix replaces one letter's bytes; %d letter(s) are selected\n", n);
            return 2;
        }
        char err[512];
        if (!(fixed = file_read_all(o->fix, 16u << 20, &fixed_len, err, sizeof err))) {
            fprintf(stderr, "pressctl dlq redrive: --fix: %s\n", err);
            return 2;
        }
        while (fixed_len && (fixed[fixed_len - 1] == '\n' || fixed[fixed_len - 1] == '\r')) fixed[--fixed_len] = 0;
    }
    kafka_t *k = NULL;
    char err[768];
    if (!o->dry_run && !(k = kafka_new(cfg, NULL, NULL, 0, err, sizeof err))) {
        fprintf(stderr, "pressctl dlq redrive: %s\n", err);
        free(fixed);
        return 1;
    }
    int sent = 0, refused = 0;
    for (int i = 0; i < l->n; i++) {
        letter_t *t = &l->v[i];
        if (!t->selected) continue;
        dlq_redrive_result_t res;
        int r = dlq_redrive_letter(k, cfg, dlq, t, fixed, fixed_len, o->max_attempts, &res);
        if (r == 1) {
            printf("refused %d:%" PRId64 " (%s, key %s, %d attempt(s)): %s\n", (int)t->partition, t->offset, t->source,
                   t->key[0] ? t->key : "-", t->attempt, res.why);
            refused++;
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "pressctl dlq redrive: %d:%" PRId64 ": %s\n", (int)t->partition, t->offset, res.why);
            refused++;
            continue;
        }
        if (k)
            printf("redrove %d:%" PRId64 " to %s [%d] @%" PRId64 " (key %s, attempt %d)%s\n", (int)t->partition,
                   t->offset, res.topic, (int)res.partition, res.offset, t->key[0] ? t->key : "-", res.attempt,
                   fixed ? " with the fixed bytes" : "");
        else
            printf("would redrive %d:%" PRId64 " to %s (key %s, attempt %d)%s\n", (int)t->partition, t->offset,
                   res.topic, t->key[0] ? t->key : "-", res.attempt, fixed ? " with the fixed bytes" : "");
        sent++;
    }
    free(fixed);
    int unsent = 0;
    if (k) {
        kafka_close(k, 30000, true);
        unsent = kafka_outq_len(k);
        kafka_free(k);
    }
    printf("%s %d letter(s), refused %d%s\n", o->dry_run ? "dry run: would redrive" : "redrove", sent - unsent, refused,
           unsent ? "; some were NOT acknowledged by the broker" : "");
    return refused || unsent ? 1 : 0;
}

/* ==== Dispatch ==== */

int cmd_dlq(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "show") && strcmp(argv[1], "redrive"))) {
        fprintf(stderr, "pressctl dlq: expected a subcommand list, show or redrive, found \"%s\"\n",
                argc < 2 ? "" : argv[1]);
        pressctl_usage(stderr, "dlq", NULL);
        return 2;
    }
    dlq_opts_t o = {.sub = argv[1], .max_attempts = DLQ_DEFAULT_MAX_ATTEMPTS};
    o.ids = xcalloc((size_t)argc, sizeof *o.ids);
    const char *bad = NULL;
    int rc = 2;
    for (int i = 2; i < argc && !bad; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--all") && !strcmp(o.sub, "redrive")) o.all = true;
        else if (!strcmp(a, "--dry-run") && !strcmp(o.sub, "redrive")) o.dry_run = true;
        else if (a[0] != '-' && strcmp(o.sub, "list")) o.ids[o.n_ids++] = argv[i];
        else if (!has) bad = a;
        else if (!strcmp(a, "--reason")) o.reason = argv[++i];
        else if (!strcmp(a, "--topic")) o.topic_arg = argv[++i];
        else if (!strcmp(a, "--job-id")) o.job_id = argv[++i];
        else if (!strcmp(a, "--since")) {
            if (arg_time_ms("dlq", "--since", argv[++i], &o.since_ms)) goto out;
        } else if (!strcmp(a, "--max-attempts") && !strcmp(o.sub, "redrive")) {
            if (arg_int("dlq redrive", "--max-attempts", argv[++i], 1, 1000, &o.max_attempts)) goto out;
        } else if (!strcmp(a, "--fix") && !strcmp(o.sub, "redrive")) o.fix = argv[++i];
        else bad = a;
    }
    if (bad) {
        fprintf(stderr, "pressctl dlq %s: unknown option or missing value: %s\n", o.sub, bad);
        pressctl_usage(stderr, "dlq", o.sub);
        goto out;
    }
    if (!strcmp(o.sub, "show") && o.n_ids != 1) {
        fprintf(stderr, "pressctl dlq show: expected one letter (PARTITION:OFFSET)\n");
        goto out;
    }
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        goto out;
    }
    if (o.topic_arg && !arg_topic("dlq", "--topic", &cfg, o.topic_arg, o.topic, sizeof o.topic, NULL)) goto out;
    if (!strcmp(o.sub, "show")) {
        rc = dlq_show(&cfg, o.ids[0]);
        goto out;
    }
    letters_t l = {0};
    char dlq[256];
    rc = 1;
    if (read_letters(&cfg, o.since_ms, &l, dlq, sizeof dlq) == 0)
        rc = !strcmp(o.sub, "list") ? dlq_list(&o, &l) : dlq_redrive(&cfg, &o, &l, dlq);
    dlq_letters_free(&l);
out:
    free(o.ids);
    return rc;
}
