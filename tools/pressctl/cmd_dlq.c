/* cmd_dlq.c — `pressctl dlq list|show|redrive`: the dead letters of pressroom.dlq
 * (schemas/dlq.md), read by assignment (no consumer group).
 *
 * A letter is named by its place on the DLQ, "partition:offset". redrive publishes a
 * letter's value (or, with --fix, a file's bytes) under its key to the topic it came from
 * (pressroom-source-topic), with pressroom-redrive-attempt = the letter's count + 1 and
 * pressroom-redriven-from = "dlq-topic:partition:offset". The workers copy that count onto
 * the letter when the message fails again, so a message that keeps failing reaches the
 * limit (--max-attempts, default 3) and is refused there. Selected by filter, only the
 * newest letter of each (source topic, key) is redriven: the older ones are the same
 * message's earlier failures. A bounded letter (pressroom-kept-bytes below
 * pressroom-original-bytes) is not the whole message: only --fix redrives it. */
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
#include "runtime/kafka.h"

#define DEFAULT_MAX_ATTEMPTS 3

typedef struct {
    int32_t partition;
    int64_t offset, time_ms;
    char key[160];
    char source[256];
    char reason[1100];
    int attempt; /* pressroom-redrive-attempt, 0 when absent */
    bool bounded;
    bool selected;
    char *value;
    size_t len;
} letter_t;

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

typedef struct {
    letter_t *v;
    int n, cap;
} letters_t;

static void letters_free(letters_t *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].value);
    free(l->v);
}

static int parse_attempt(const char *s) {
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 6) return 0;
    return atoi(s);
}

/* Every letter of the DLQ (at or after since_ms), in the order read. */
static int read_letters(const config_t *cfg, int64_t since_ms, letters_t *l, char *dlq, size_t dlqlen) {
    char err[768], buf[1100];
    config_topic(cfg, "dlq", dlq, dlqlen);
    const char *topics[] = {dlq};
    if (require_broker(cfg)) return -1;
    kafka_reader_t *r = kafka_reader_new(cfg, topics, 1, since_ms, 0, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl dlq: %s\n", err);
        return -1;
    }
    int64_t idle_since = now_ms();
    while (!kafka_reader_at_end(r)) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (!m) {
            if (now_ms() - idle_since <= READ_IDLE_MS) continue;
            fprintf(stderr, "pressctl dlq: nothing came from %s for %d s before its end; stopped\n", dlq,
                    READ_IDLE_MS / 1000);
            kafka_reader_free(r);
            return -1;
        }
        idle_since = now_ms();
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
        }
        letter_t *t = &l->v[l->n++];
        memset(t, 0, sizeof *t);
        t->partition = m->partition;
        t->offset = m->offset;
        t->time_ms = rd_kafka_message_timestamp(m, NULL);
        if (m->key_len)
            snprintf(t->key, sizeof t->key, "%.*s", (int)(m->key_len < sizeof t->key ? m->key_len : sizeof t->key - 1),
                     (const char *)m->key);
        const char *h = msg_header(m, "pressroom-source-topic", buf, sizeof buf);
        snprintf(t->source, sizeof t->source, "%s", h ? h : "");
        h = msg_header(m, "pressroom-reason", buf, sizeof buf);
        snprintf(t->reason, sizeof t->reason, "%s", h ? h : "");
        t->attempt = parse_attempt(msg_header(m, "pressroom-redrive-attempt", buf, sizeof buf));
        char kept[32];
        const char *o = msg_header(m, "pressroom-original-bytes", buf, sizeof buf);
        const char *k = msg_header(m, "pressroom-kept-bytes", kept, sizeof kept);
        t->bounded = o && k && strcmp(o, k) != 0;
        t->len = m->len;
        t->value = xmalloc(m->len + 1);
        if (m->len) memcpy(t->value, m->payload, m->len);
        t->value[m->len] = 0;
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    return 0;
}

static bool letter_matches(const dlq_opts_t *o, const letter_t *t) {
    return (!o->reason || !strncmp(t->reason, o->reason, strlen(o->reason))) &&
           (!o->topic_arg || !strcmp(t->source, o->topic)) && (!o->job_id || !strcmp(t->key, o->job_id));
}

static void format_time(int64_t ms, char *buf, size_t len) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/* "P:OFFSET" into partition and offset; -1 with a sentence when it is not one. */
static int parse_letter_id(const char *s, int32_t *p, int64_t *off) {
    char *end = NULL;
    if (s && *s >= '0' && *s <= '9') {
        long pp = strtol(s, &end, 10);
        if (end && *end == ':' && end[1] >= '0' && end[1] <= '9') {
            char *e2 = NULL;
            long long oo = strtoll(end + 1, &e2, 10);
            if (e2 && !*e2 && pp <= 100000) {
                *p = (int32_t)pp;
                *off = oo;
                return 0;
            }
        }
    }
    fprintf(stderr, "pressctl dlq: expected a letter as PARTITION:OFFSET (as `pressctl dlq list` prints it), found \"%s\"\n",
            s ? s : "");
    return -1;
}

static letter_t *find_letter(letters_t *l, const char *id) {
    int32_t p;
    int64_t off;
    if (parse_letter_id(id, &p, &off)) return NULL;
    for (int i = 0; i < l->n; i++)
        if (l->v[i].partition == p && l->v[i].offset == off) return &l->v[i];
    fprintf(stderr, "pressctl dlq: no letter %s on the dead-letter topic\n", id);
    return NULL;
}

/* ==== list, show ==== */

static int dlq_list(const dlq_opts_t *o, letters_t *l) {
    int shown = 0;
    char when[40];
    printf("%-10s %-24s %-34s %-7s %-24s %s\n", "LETTER", "TIME", "SOURCE", "ATTEMPT", "KEY", "REASON");
    for (int i = 0; i < l->n; i++) {
        const letter_t *t = &l->v[i];
        if (!letter_matches(o, t)) continue;
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
    for (int i = l->n - 1; i >= 0; i--) {
        letter_t *t = &l->v[i];
        if (!letter_matches(o, t)) continue;
        bool newer = false;
        for (int j = i + 1; j < l->n && t->key[0] && !newer; j++)
            newer = l->v[j].selected && !strcmp(l->v[j].key, t->key) && !strcmp(l->v[j].source, t->source);
        if (newer) continue;
        t->selected = true;
        n++;
    }
    return n;
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
        char topic[256];
        const char *why = NULL;
        if (t->attempt >= o->max_attempts) why = "at the attempt limit";
        else if (t->bounded && !fixed) why = "a bounded letter (not the whole message): redrive it with --fix FILE";
        else if (!t->source[0]) why = "no pressroom-source-topic header";
        if (!why) {
            /* Only to a pressroom topic: a letter's headers are data, not a destination to trust. */
            const char *full = pressroom_topic(cfg, t->source, topic, sizeof topic, NULL);
            if (!full) why = "its pressroom-source-topic is not a pressroom topic";
        }
        if (why) {
            printf("refused %d:%" PRId64 " (%s, key %s, %d attempt(s)): %s\n", (int)t->partition, t->offset, t->source,
                   t->key[0] ? t->key : "-", t->attempt, why);
            refused++;
            continue;
        }
        char attempt[16], from[300];
        snprintf(attempt, sizeof attempt, "%d", t->attempt + 1);
        snprintf(from, sizeof from, "%s:%d:%" PRId64, dlq, (int)t->partition, t->offset);
        kafka_header_t h[] = {{"pressroom-redrive-attempt", attempt}, {"pressroom-redriven-from", from}};
        const char *value = fixed ? fixed : t->value;
        size_t len = fixed ? fixed_len : t->len;
        if (k && kafka_produce(k, topic, t->key[0] ? t->key : NULL, value, len, h, 2, NULL, err, sizeof err)) {
            fprintf(stderr, "pressctl dlq redrive: %d:%" PRId64 ": %s\n", (int)t->partition, t->offset, err);
            refused++;
            continue;
        }
        printf("%s %d:%" PRId64 " to %s (key %s, attempt %s)%s\n", k ? "redrove" : "would redrive", (int)t->partition,
               t->offset, topic, t->key[0] ? t->key : "-", attempt, fixed ? " with the fixed bytes" : "");
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
    dlq_opts_t o = {.sub = argv[1], .max_attempts = DEFAULT_MAX_ATTEMPTS};
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
    letters_free(&l);
out:
    free(o.ids);
    return rc;
}
