/* cmd_moderate.c — the moderation loop's two ends in pressctl:
 *
 *   pressctl moderate JOB_ID[@REV] --approve|--reject --reason R [--reviewer NAME]
 *       records a decision on pressroom.moderation (keyed by job_id) for a revision
 *       that has a verdict on the terminal topics (the newest revision when no @REV),
 *       stamped with what the verdict says (class, template, model, verdict).
 *   pressctl results --moderation
 *       joins the latest decision per (job_id, revision) with that revision's verdict
 *       and prints the moderation reject rate per class, template and model, and the
 *       verifier's escape rate: of the verifier passes (accepted or degraded: an image
 *       was delivered) that moderation judged, how many it rejected.
 *
 * Both read the topics by assignment (no consumer group), from the beginning to the
 * end they had when reading began. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/message.h"
#include "pressctl.h"
#include "runtime/kafka.h"

/* Reads topics to their end, handing each message to fn. 0, or -1 after saying why. */
static int read_all(const config_t *cfg, const char *const *topics, int n, int64_t since_ms, int timeout_s,
                    void (*fn)(void *ctx, const rd_kafka_message_t *m), void *ctx) {
    char err[512];
    kafka_reader_t *r = kafka_reader_new(cfg, topics, n, since_ms, 0, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl: %s\n", err);
        return -1;
    }
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    while (!kafka_reader_at_end(r)) {
        if (now_ms() > deadline) {
            fprintf(stderr, "pressctl: --timeout %d s passed before the end of the topics\n", timeout_s);
            kafka_reader_free(r);
            return -1;
        }
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (m) {
            fn(ctx, m);
            rd_kafka_message_destroy(m);
        }
    }
    kafka_reader_free(r);
    return 0;
}

static bool key_is(const rd_kafka_message_t *m, const char *job) {
    return m->key && m->key_len == strlen(job) && !memcmp(m->key, job, m->key_len);
}

/* ==== pressctl moderate ==== */

typedef struct {
    const char *job_id;
    const char *revision; /* NULL: the newest with a verdict */
    outcome_t found;      /* the verdict of that revision (first read of it) */
    bool have;
} verdict_search_t;

static void search_verdict(void *ctx, const rd_kafka_message_t *m) {
    verdict_search_t *s = ctx;
    if (!key_is(m, s->job_id)) return;
    outcome_t o;
    char err[512];
    if (outcome_parse(m->payload, m->len, &o, err, sizeof err)) return; /* results reports malformed ones */
    bool wanted = strcmp(o.job_id, s->job_id) == 0 && o.revision[0] &&
                  (s->revision ? !strcmp(o.revision, s->revision)
                               : !s->have || strcmp(o.revision, s->found.revision) != 0);
    if (!wanted || (s->revision && s->have)) { /* a repeat of a verdict already found counts once */
        outcome_free(&o);
        return;
    }
    if (s->have) outcome_free(&s->found);
    s->found = o;
    s->have = true;
}

int cmd_moderate(int argc, char **argv) {
    const char *target = NULL, *reason = NULL, *reviewer = NULL;
    int decision = -1, timeout_s = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--reason") || !strcmp(a, "--reviewer") || !strcmp(a, "--timeout");
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "pressctl moderate: %s expects a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--approve") || !strcmp(a, "--reject")) {
            int d = !strcmp(a, "--reject") ? MODERATION_REJECTED : MODERATION_APPROVED;
            if (decision >= 0) {
                fprintf(stderr, "pressctl moderate: give one of --approve or --reject, once\n");
                return 2;
            }
            decision = d;
        } else if (!strcmp(a, "--reason")) reason = argv[++i];
        else if (!strcmp(a, "--reviewer")) reviewer = argv[++i];
        else if (!strcmp(a, "--timeout")) {
            if (arg_int("moderate", a, argv[++i], 1, 86400, &timeout_s)) return 2;
        } else if (!target && a[0] != '-') target = a;
        else {
            fprintf(stderr, "pressctl moderate: unexpected argument \"%s\"\n", a);
            pressctl_usage(stderr, "moderate", NULL);
            return 2;
        }
    }
    if (!target || decision < 0 || !reason || !reason[0]) {
        fprintf(stderr, "pressctl moderate: expected JOB_ID[@REV], --approve or --reject, and a non-empty --reason\n");
        pressctl_usage(stderr, "moderate", NULL);
        return 2;
    }
    moderation_t d = {.decision = (moderation_decision_t)decision, .decided_at_ms = now_ms()};
    const char *at = strchr(target, '@');
    snprintf(d.job_id, sizeof d.job_id, "%.*s", (int)(at ? (size_t)(at - target) : strlen(target)), target);
    if (strlen(target) - (at ? strlen(at) : 0) >= sizeof d.job_id || (at && strlen(at + 1) >= sizeof d.revision)) {
        fprintf(stderr, "pressctl moderate: \"%s\": the job id (at most 127) or revision (at most 64) is too long\n",
                target);
        return 2;
    }
    snprintf(d.revision, sizeof d.revision, "%s", at ? at + 1 : "placeholder");
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    if (strlen(reason) >= sizeof d.reason || (reviewer && strlen(reviewer) >= sizeof d.reviewer)) {
        fprintf(stderr, "pressctl moderate: --reason is at most %zu bytes, --reviewer at most %zu\n",
                sizeof d.reason - 1, sizeof d.reviewer - 1);
        return 2;
    }
    if (reviewer) snprintf(d.reviewer, sizeof d.reviewer, "%s", reviewer);
    /* The codec is the one judge of a decision's fields: what it refuses is not sent. */
    char err[1024];
    char *probe = moderation_encode(&d);
    moderation_t check;
    int bad = moderation_parse(probe, strlen(probe), &check, err, sizeof err);
    free(probe);
    if (bad || (reviewer && !reviewer[0])) {
        fprintf(stderr, "pressctl moderate: %s\n", bad ? err : "--reviewer: expected a name, found \"\"");
        return 2;
    }

    config_t cfg;
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    if (require_broker(&cfg)) return 1;
    char t1[256], t2[256], tm[256];
    const char *terminal[] = {config_topic(&cfg, "results", t1, sizeof t1),
                              config_topic(&cfg, "rejected", t2, sizeof t2)};
    verdict_search_t s = {.job_id = d.job_id, .revision = at ? d.revision : NULL};
    if (read_all(&cfg, terminal, 2, 0, timeout_s, search_verdict, &s)) return 1;
    if (!s.have) {
        fprintf(stderr, "pressctl moderate: job %s%s%s has no verdict on %s or %s: only a decided revision can be "
                        "moderated\n", d.job_id, at ? "@" : "", at ? d.revision : "", t1, t2);
        return 1;
    }
    snprintf(d.revision, sizeof d.revision, "%s", s.found.revision);
    snprintf(d.asset_class, sizeof d.asset_class, "%s", s.found.asset_class);
    snprintf(d.template_name, sizeof d.template_name, "%s", s.found.template_name);
    snprintf(d.model, sizeof d.model, "%s", s.found.model);
    d.has_verdict = true;
    d.verdict = s.found.verdict;
    outcome_free(&s.found);

    kafka_t *k = kafka_new(&cfg, NULL, NULL, 0, err, sizeof err);
    if (!k) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 1;
    }
    config_topic(&cfg, "moderation", tm, sizeof tm);
    char *json = moderation_encode(&d);
    int rc = kafka_produce(k, tm, d.job_id, json, strlen(json), NULL, 0, NULL, err, sizeof err);
    if (rc) fprintf(stderr, "pressctl: %s\n", err);
    free(json);
    kafka_close(k, 30000, true);
    int unsent = kafka_outq_len(k);
    kafka_free(k);
    if (rc || unsent) {
        if (unsent) fprintf(stderr, "pressctl moderate: the broker did not acknowledge the decision\n");
        return 1;
    }
    printf("recorded %s for %s@%s (verdict %s, class %s, model %s) on %s\n", moderation_decision_name(d.decision),
           d.job_id, d.revision, job_verdict_name(d.verdict), d.asset_class, d.model[0] ? d.model : "-", tm);
    return 0;
}

/* ==== pressctl results --moderation ==== */

typedef struct {
    char key[JOB_KEY_LEN]; /* job_id@revision */
    long seq;              /* read order: the last read wins */
    moderation_t d;
    bool matched; /* the revision's verdict was found */
    char asset_class[32], template_name[JOB_TEMPLATE_LEN], model[64];
    job_verdict_t verdict;
} joined_t;

typedef struct {
    joined_t *v;
    int n, cap;
    long seq;
    int malformed;
    const char *job; /* --job */
} join_t;

static void key_of(char *buf, size_t len, const char *job_id, const char *revision) {
    snprintf(buf, len, "%s@%s", job_id, revision);
}

static void collect_decision(void *ctx, const rd_kafka_message_t *m) {
    join_t *j = ctx;
    if (j->job && !key_is(m, j->job)) return;
    moderation_t d;
    char err[512];
    if (moderation_parse(m->payload, m->len, &d, err, sizeof err)) {
        fprintf(stderr, "pressctl: skipping a malformed decision on %s [%d] @%lld: %s\n", rd_kafka_topic_name(m->rkt),
                (int)m->partition, (long long)m->offset, err);
        j->malformed++;
        return;
    }
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 256;
        j->v = xrealloc(j->v, (size_t)j->cap * sizeof *j->v);
    }
    joined_t *e = &j->v[j->n++];
    memset(e, 0, sizeof *e);
    key_of(e->key, sizeof e->key, d.job_id, d.revision);
    e->seq = j->seq++;
    e->d = d;
}

static int by_key_then_newest(const void *a, const void *b) {
    const joined_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq > y->seq ? -1 : x->seq < y->seq);
}

static int by_key(const void *key, const void *e) { return strcmp(key, ((const joined_t *)e)->key); }

static void join_verdict(void *ctx, const rd_kafka_message_t *m) {
    join_t *j = ctx;
    if (!j->n) return;
    outcome_t o;
    char err[512], key[JOB_KEY_LEN];
    if (outcome_parse(m->payload, m->len, &o, err, sizeof err)) return; /* results reports malformed ones */
    key_of(key, sizeof key, o.job_id, o.revision);
    joined_t *e = bsearch(key, j->v, (size_t)j->n, sizeof *j->v, by_key);
    if (e && !e->matched) { /* the first verdict of a revision is its verdict (at-least-once) */
        e->matched = true;
        snprintf(e->asset_class, sizeof e->asset_class, "%s", o.asset_class);
        snprintf(e->template_name, sizeof e->template_name, "%s", o.template_name);
        snprintf(e->model, sizeof e->model, "%s", o.model);
        e->verdict = o.verdict;
    }
    outcome_free(&o);
}

typedef enum { BY_CLASS, BY_TEMPLATE, BY_MODEL } grouping_t;

static const char *group_of(const joined_t *e, grouping_t g) {
    const char *s = g == BY_CLASS ? e->asset_class : g == BY_TEMPLATE ? e->template_name : e->model;
    return s[0] ? s : "(none)";
}

static void print_row(const join_t *j, grouping_t g, const char *name) {
    int decisions = 0, rejected = 0, passes = 0, escapes = 0;
    for (int i = 0; i < j->n; i++) {
        const joined_t *e = &j->v[i];
        if (!e->matched || (name && strcmp(group_of(e, g), name))) continue;
        bool rej = e->d.decision == MODERATION_REJECTED;
        bool pass = e->verdict != VERDICT_REJECTED;
        decisions++;
        rejected += rej;
        passes += pass;
        escapes += pass && rej;
    }
    char rr[16] = "-", er[16] = "-";
    if (decisions) snprintf(rr, sizeof rr, "%.1f%%", 100.0 * rejected / decisions);
    if (passes) snprintf(er, sizeof er, "%.1f%%", 100.0 * escapes / passes);
    printf("%-22s %9d %8d %8d %12s %15d %8d %11s\n", name ? name : "all", decisions, decisions - rejected, rejected,
           rr, passes, escapes, er);
}

static void print_grouping(const join_t *j, grouping_t g, const char *title) {
    printf("\n%-22s %9s %8s %8s %12s %15s %8s %11s\n", title, "moderated", "approved", "rejected", "reject rate",
           "verifier passes", "escapes", "escape rate");
    for (int i = 0; i < j->n; i++) { /* each group once, in order of first appearance */
        const joined_t *e = &j->v[i];
        if (!e->matched) continue;
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = j->v[k].matched && !strcmp(group_of(&j->v[k], g), group_of(e, g));
        if (!seen) print_row(j, g, group_of(e, g));
    }
    print_row(j, g, NULL);
}

int moderation_report(const config_t *cfg, int64_t since_ms, const char *job, int timeout_s) {
    char tm[256], t1[256], t2[256];
    const char *mod[] = {config_topic(cfg, "moderation", tm, sizeof tm)};
    const char *terminal[] = {config_topic(cfg, "results", t1, sizeof t1), config_topic(cfg, "rejected", t2, sizeof t2)};
    join_t j = {.job = job};
    if (read_all(cfg, mod, 1, since_ms, timeout_s, collect_decision, &j)) {
        free(j.v);
        return -1;
    }
    /* The latest decision per job@revision: sorted by key, newest first, then one per key. */
    qsort(j.v, (size_t)j.n, sizeof *j.v, by_key_then_newest);
    int n = 0, superseded = 0;
    for (int i = 0; i < j.n; i++) {
        if (n && !strcmp(j.v[n - 1].key, j.v[i].key)) superseded++;
        else j.v[n++] = j.v[i];
    }
    j.n = n;
    /* Verdicts from the beginning: a decision in the window judges a verdict that may be older. */
    if (read_all(cfg, terminal, 2, 0, timeout_s, join_verdict, &j)) {
        free(j.v);
        return -1;
    }
    int unmatched = 0;
    for (int i = 0; i < j.n; i++) unmatched += !j.v[i].matched;
    printf("\nmoderation (%s; the latest decision per job@revision):\n", tm);
    print_grouping(&j, BY_CLASS, "asset class");
    print_grouping(&j, BY_TEMPLATE, "template");
    print_grouping(&j, BY_MODEL, "model");
    printf("\n(reject rate = rejected over moderated revisions; verifier passes = moderated revisions the verifier "
           "accepted or degraded, i.e. delivered; escapes = those moderation rejected; escape rate = escapes over "
           "verifier passes)\n");
    printf("moderation: %d revision(s) decided, %d earlier decision(s) superseded, %d without a verdict on %s or %s, "
           "%d malformed\n", j.n, superseded, unmatched, t1, t2, j.malformed);
    free(j.v);
    return 0;
}
