/* cmd_submit.c — `pressctl submit` and `pressctl results`: publish jobs, follow the
 * terminal topics (results, rejected, dlq) until each job has its verdict, and
 * report: a table per asset class, a JSONL of outcomes and an HTML contact sheet.
 * A job is (job_id, revision): delivery is at-least-once, so a verdict read again for the
 * same revision counts once (the first). `submit` waits for the revisions it sent (a
 * verdict of an older revision of the same job_id is not its answer); `results` reports
 * the newest revision per job_id (verdicts of one job share a partition: the last read
 * is the last given). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "blob/blobstore.h"
#include "base/clock.h"
#include "base/config.h"
#include "runtime/kafka.h"
#include "base/message.h"
#include "base/prompt.h"
#include "base/traceparent.h"
#include "pressctl.h"
#include "base/stats.h"
#include "runtime/worker.h"

typedef struct {
    char job_id[128];
    char revision[JOB_REVISION_LEN]; /* submit: the revision sent; results: the one reported */
    char asset_class[32];
    bool expected;   /* submitted in this run (submit) */
    bool terminal;
    int duplicates;  /* further verdicts seen for the same revision */
    bool dead_letter; /* it ended on the DLQ: o holds the reason, not a verdict */
    outcome_t o;
} entry_t;

/* How the reports name an entry's end: its verdict, "dlq" or "pending". */
static const char *entry_end(const entry_t *e) {
    return !e->terminal ? "pending" : e->dead_letter ? "dlq" : job_verdict_name(e->o.verdict);
}

typedef struct {
    entry_t *v;
    int n, cap;
    int expected, terminal;
    int *slots; /* open addressing over v by job id: index + 1, 0 when empty */
    int nslots; /* a power of two, at least twice n */
} ledger_t;

static int *ledger_slot(const ledger_t *l, const char *id) {
    size_t mask = (size_t)l->nslots - 1;
    for (size_t i = job_id_hash(id) & mask;; i = (i + 1) & mask) {
        int *s = &l->slots[i];
        if (!*s || !strcmp(l->v[*s - 1].job_id, id)) return s;
    }
}

static entry_t *ledger_find(ledger_t *l, const char *id) {
    if (!l->nslots) return NULL;
    int *s = ledger_slot(l, id);
    return *s ? &l->v[*s - 1] : NULL;
}

static entry_t *ledger_add(ledger_t *l, const char *id, const char *cls) {
    entry_t *e = ledger_find(l, id);
    if (e) return e;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->job_id, sizeof e->job_id, "%s", id);
    snprintf(e->asset_class, sizeof e->asset_class, "%s", cls ? cls : "");
    if (l->n * 2 > l->nslots) { /* grow and re-index everything */
        free(l->slots);
        l->nslots = l->nslots ? l->nslots * 2 : 512;
        l->slots = xcalloc((size_t)l->nslots, sizeof *l->slots);
        for (int i = 0; i < l->n; i++) *ledger_slot(l, l->v[i].job_id) = i + 1;
    } else {
        *ledger_slot(l, e->job_id) = l->n;
    }
    return e;
}

static void ledger_free(ledger_t *l) {
    for (int i = 0; i < l->n; i++) outcome_free(&l->v[i].o);
    free(l->v);
    free(l->slots);
}

/* ==== Following the terminal topics ==== */

static const char *header(const rd_kafka_message_t *m, const char *name) {
    rd_kafka_headers_t *h = NULL;
    const void *val;
    size_t sz;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &val, &sz)) return NULL;
    static char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)(sz < sizeof buf ? sz : sizeof buf - 1), (const char *)val);
    return buf;
}

static void record(ledger_t *l, const rd_kafka_message_t *m, bool only_expected) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    bool dlq = strlen(topic) >= 3 && !strcmp(topic + strlen(topic) - 3, "dlq");
    outcome_t o;
    char err[512];
    if (dlq) {
        memset(&o, 0, sizeof o);
        snprintf(o.job_id, sizeof o.job_id, "%.*s", (int)(m->key_len < 127 ? m->key_len : 127),
                 m->key ? (const char *)m->key : "");
        if (!o.job_id[0]) return; /* a keyless dead letter belongs to no job */
        const char *reason = header(m, "pressroom-reason");
        snprintf(o.detail, sizeof o.detail, "%s", reason ? reason : "");
        snprintf(o.reason, sizeof o.reason, "invalid_message");
    } else if (outcome_parse(m->payload, m->len, &o, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl: skipping a malformed outcome on %s [%d] @%lld: %s\n", topic,
                (int)m->partition, (long long)m->offset, err);
        return;
    }
    entry_t *e = only_expected ? ledger_find(l, o.job_id) : ledger_add(l, o.job_id, o.asset_class);
    if (!e) {
        outcome_free(&o);
        return;
    }
    bool other_revision = !dlq && e->revision[0] && o.revision[0] && strcmp(e->revision, o.revision) != 0;
    if (other_revision && e->expected) { /* an older revision's verdict: not this submission's */
        outcome_free(&o);
        return;
    }
    if (e->terminal && !other_revision) {
        e->duplicates++;
        outcome_free(&o);
        return;
    }
    if (e->terminal) { /* results: a newer revision of the job replaces the one reported */
        outcome_free(&e->o);
        l->terminal--;
    }
    if (!dlq && o.revision[0]) snprintf(e->revision, sizeof e->revision, "%s", o.revision);
    e->terminal = true;
    e->dead_letter = dlq;
    if (o.asset_class[0]) snprintf(e->asset_class, sizeof e->asset_class, "%s", o.asset_class);
    e->o = o;
    l->terminal++;
}

/* Reads the terminal topics from the beginning (or since_ms) by assignment: no
 * consumer group is created, so nothing is left behind per run. With only_expected,
 * stops when every expected job is terminal; otherwise when every partition was
 * read to the end it had when reading began. timeout_s counts from then. */
static int follow(const config_t *cfg, ledger_t *l, bool only_expected, int timeout_s, int64_t since_ms,
                  const char *job, bool *timed_out) {
    char t1[256], t2[256], t3[256], err[512];
    const char *topics[] = {config_topic(cfg, "results", t1, sizeof t1),
                            config_topic(cfg, "rejected", t2, sizeof t2),
                            config_topic(cfg, "dlq", t3, sizeof t3)};
    if (require_broker(cfg)) return -1;
    kafka_reader_t *r = kafka_reader_new(cfg, topics, 3, since_ms, 0, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl: %s\n", err);
        return -1;
    }
    int64_t start = now_ms(), deadline = start + (int64_t)timeout_s * 1000, last_print = start;
    *timed_out = true;
    while (now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (m) {
            if (!job || (m->key_len == strlen(job) && !memcmp(m->key, job, m->key_len))) record(l, m, only_expected);
            rd_kafka_message_destroy(m);
        }
        if (only_expected ? l->terminal >= l->expected : kafka_reader_at_end(r)) {
            *timed_out = false;
            break;
        }
        if (now_ms() - last_print > 5000) {
            if (only_expected) fprintf(stderr, "pressctl: %d/%d jobs terminal\n", l->terminal, l->expected);
            else fprintf(stderr, "pressctl: %d verdicts read so far\n", l->terminal);
            last_print = now_ms();
        }
    }
    kafka_reader_free(r);
    return 0;
}

/* ==== Reports ==== */

static void print_row(const char *name, const ledger_t *l, const char *cls) {
    int jobs = 0, accepted = 0, degraded = 0, escalated = 0, rejected = 0, dlq = 0, caught = 0, pending = 0;
    int64_t cost = 0;
    int64_t *lat = xmalloc((size_t)(l->n + 1) * sizeof *lat);
    int nl = 0;
    for (int i = 0; i < l->n; i++) {
        const entry_t *e = &l->v[i];
        if (cls && strcmp(e->asset_class, cls)) continue;
        jobs++;
        if (!e->terminal) {
            pending++;
            continue;
        }
        const outcome_t *o = &e->o;
        if (e->dead_letter) dlq++;
        else if (o->verdict == VERDICT_ACCEPTED) accepted++;
        else if (o->verdict == VERDICT_DEGRADED) degraded++;
        else rejected++;
        escalated += o->escalations; /* every escalation, not jobs that escalated */
        caught += o->failed_checks;
        cost += o->cost_micros;
        if (!e->dead_letter) lat[nl++] = o->latency_ms;
    }
    stats_sort_i64(lat, (size_t)nl);
    char cpa[32];
    /* Everything spent on the class over what was delivered as accepted. */
    if (accepted) snprintf(cpa, sizeof cpa, "$%.4f", cost / 1e6 / accepted);
    else snprintf(cpa, sizeof cpa, "-");
    printf("%-14s %5d %8d %8d %9d %8d %4d %7lld %7lld %7lld %10s %8d %7d\n", name, jobs, accepted,
           degraded, escalated, rejected, dlq, (long long)stats_percentile(lat, (size_t)nl, 50),
           (long long)stats_percentile(lat, (size_t)nl, 95), (long long)stats_percentile(lat, (size_t)nl, 99), cpa, caught, pending);
    free(lat);
}

static void print_table(const ledger_t *l) {
    printf("\n%-14s %5s %8s %8s %9s %8s %4s %7s %7s %7s %10s %8s %7s\n", "asset class", "jobs",
           "accepted", "degraded", "escalated", "rejected", "dlq", "p50 ms", "p95 ms", "p99 ms",
           "$/accepted", "caught", "pending");
    char seen[64][32];
    int ns = 0;
    for (int i = 0; i < l->n; i++) {
        bool dup = false;
        for (int j = 0; j < ns; j++)
            if (!strcmp(seen[j], l->v[i].asset_class)) dup = true;
        if (!dup && ns < 64) snprintf(seen[ns++], 32, "%s", l->v[i].asset_class);
    }
    for (int j = 0; j < ns; j++) print_row(seen[j][0] ? seen[j] : "(unknown)", l, seen[j]);
    print_row("all", l, NULL);
    printf("\n(escalated = renders sent back to production, all attempts; $/accepted = the class's whole spend "
           "over its accepted jobs, - when none; caught = verifier checks that failed a rendered image)\n");
}

/* Closes a report file; 0, or -1 after saying why it is not whole. */
static int close_report(FILE *f, const char *path) {
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "pressctl: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

static int write_jsonl(const ledger_t *l, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pressctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < l->n; i++) {
        const entry_t *e = &l->v[i];
        if (!e->terminal) continue;
        cJSON *o = outcome_to_json(&e->o);
        if (e->dead_letter) { /* not an outcome: no verdict, no stage */
            cJSON_ReplaceItemInObjectCaseSensitive(o, "verdict", cJSON_CreateString(entry_end(e)));
            cJSON_ReplaceItemInObjectCaseSensitive(o, "stage", cJSON_CreateString(""));
        }
        char *s = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    return close_report(f, path);
}

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static int write_html(const ledger_t *l, const blob_store_t *store, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pressctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<!doctype html><meta charset=utf-8><title>pressroom contact sheet</title>\n"
               "<style>body{font:14px sans-serif;margin:1em}.g{display:flex;flex-wrap:wrap;gap:12px}"
               ".c{width:260px;border:1px solid #ccc;padding:6px}.c img{width:100%%}"
               ".accepted{border-color:#2a2}.degraded{border-color:#d90}.rejected,.dlq{border-color:#c22}"
               "b{text-transform:uppercase}small{color:#555;word-break:break-word}</style>\n"
               "<h1>pressroom contact sheet</h1><p>%d jobs, %d terminal</p><div class=g>\n",
            l->n, l->terminal);
    for (int i = 0; i < l->n; i++) {
        const entry_t *e = &l->v[i];
        const outcome_t *o = &e->o;
        const char *verdict = entry_end(e);
        fprintf(f, "<div class=\"c %s\">", verdict);
        const char *img = o->image_uri[0] ? blob_local_path(store, o->image_uri) : NULL;
        if (img) {
            fputs("<img loading=lazy src=\"file://", f);
            html_escape(f, img);
            fputs("\">", f);
        } else if (o->image_url[0]) { /* an s3 store with blob_presign_ttl_s: until it expires */
            fputs("<img loading=lazy src=\"", f);
            html_escape(f, o->image_url);
            fputs("\">", f);
        }
        fputs("<div><code>", f);
        html_escape(f, e->job_id);
        fprintf(f, "</code> · %s</div><b>%s</b> ", e->asset_class, verdict);
        html_escape(f, o->reason);
        fprintf(f, "<br><small>$%.4f · %lld ms · %d escalation(s)</small><br><small>", o->cost_micros / 1e6,
                (long long)o->latency_ms, o->escalations);
        html_escape(f, o->detail);
        fputs("</small></div>\n", f);
    }
    fputs("</div>\n", f);
    return close_report(f, path);
}

/* Prints the table and writes the files asked for. Returns 0, or -1 when a write
 * failed (the command then exits 1). */
static int report(const ledger_t *l, const blob_store_t *store, const char *html, const char *jsonl) {
    print_table(l);
    int rc = 0;
    if (jsonl && write_jsonl(l, jsonl)) rc = -1;
    if (html && write_html(l, store, html)) rc = -1;
    int dups = 0;
    for (int i = 0; i < l->n; i++) dups += l->v[i].duplicates;
    if (dups) printf("duplicate verdicts (at-least-once delivery; deduplicated by job_id and revision): %d\n", dups);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pressctl: cannot write the report to stdout: %s\n", strerror(errno ? errno : EIO));
        rc = -1;
    }
    return rc;
}

/* ==== Commands ==== */

typedef struct {
    const char *file;
    bool wait;
    int timeout_s;
    const char *html, *jsonl;
    const char *job;   /* results --job */
    int64_t since_ms;  /* results --since; 0 = from the beginning */
    bool moderation;   /* results --moderation */
} opts_t;

/* submit (want_file) or results options. Returns 0, or -1 after saying what is wrong. */
static int parse_opts(int argc, char **argv, opts_t *o, bool want_file) {
    const char *cmd = want_file ? "submit" : "results";
    o->timeout_s = 600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--timeout") || !strcmp(a, "--html") || !strcmp(a, "--jsonl") ||
                     (!want_file && (!strcmp(a, "--job") || !strcmp(a, "--since")));
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "pressctl %s: %s expects a value\n", cmd, a);
            return -1;
        }
        if (want_file && !strcmp(a, "--wait")) o->wait = true;
        else if (!want_file && !strcmp(a, "--moderation")) o->moderation = true;
        else if (!strcmp(a, "--timeout")) {
            if (arg_int(cmd, a, argv[++i], 1, 86400, &o->timeout_s)) return -1;
        } else if (!strcmp(a, "--html")) o->html = argv[++i];
        else if (!strcmp(a, "--jsonl")) o->jsonl = argv[++i];
        else if (!want_file && !strcmp(a, "--job")) o->job = argv[++i];
        else if (!want_file && !strcmp(a, "--since")) {
            if (arg_time_ms(cmd, a, argv[++i], &o->since_ms)) return -1;
        } else if (want_file && !o->file && a[0] != '-') o->file = a;
        else {
            fprintf(stderr, "pressctl %s: unexpected argument \"%s\"\n", cmd, a);
            pressctl_usage(stderr, cmd, NULL);
            return -1;
        }
    }
    if (want_file && !o->file) {
        fprintf(stderr, "pressctl submit: expected the JSONL file of jobs\n");
        pressctl_usage(stderr, "submit", NULL);
        return -1;
    }
    return 0;
}

/* The config and the blob store, validated before anything is published or read (the
 * store is asked once: a wrong blob_root stops here). 0, or 2 with the sentence printed. */
static int open_config(config_t *cfg, blob_store_t **store) {
    char err[1024];
    if (config_load(cfg, NULL, err, sizeof err) || !(*store = blob_store_open(cfg, err, sizeof err))) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    return 0;
}

static int submit(const opts_t *o, const config_t *cfg, const blob_store_t *store);

int cmd_submit(int argc, char **argv) {
    opts_t opt = {0};
    if (parse_opts(argc, argv, &opt, true)) return 2;
    config_t cfg;
    blob_store_t *store = NULL;
    if (open_config(&cfg, &store)) return 2;
    int rc = submit(&opt, &cfg, store);
    blob_store_free(store);
    return rc;
}

static int submit(const opts_t *o, const config_t *cfg, const blob_store_t *store) {
    const opts_t opt = *o;
    char err[1024];
    FILE *f = fopen(opt.file, "r");
    if (!f) {
        perror(opt.file);
        return 2;
    }
    /* Validate everything first: a batch is published whole or not at all. */
    ledger_t l = {0};
    job_t *jobs = NULL;
    int n = 0, cap = 0, bad = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            jobs = xrealloc(jobs, (size_t)cap * sizeof *jobs);
        }
        if (job_parse(line, (size_t)len, &jobs[n], err, sizeof err) != 0) {
            fprintf(stderr, "%s:%d: %s\n", opt.file, lineno, err);
            bad++;
            continue;
        }
        job_t built = jobs[n]; /* a template the config cannot fill stops the batch here, not in the DLQ */
        if (job_apply_template(&built, cfg, err, sizeof err) != 0) {
            fprintf(stderr, "%s:%d: %s\n", opt.file, lineno, err);
            bad++;
            continue;
        }
        if (ledger_find(&l, jobs[n].job_id)) {
            fprintf(stderr, "%s:%d: job_id %s appears twice in the batch\n", opt.file, lineno, jobs[n].job_id);
            bad++;
            continue;
        }
        entry_t *e = ledger_add(&l, jobs[n].job_id, jobs[n].asset_class);
        e->expected = true;
        snprintf(e->revision, sizeof e->revision, "%s", jobs[n].revision);
        n++;
    }
    free(line);
    fclose(f);
    if (bad) {
        fprintf(stderr, "pressctl: %d invalid line(s) in %s; nothing published\n", bad, opt.file);
        free(jobs);
        ledger_free(&l);
        return 2;
    }
    l.expected = n;
    if (require_broker(cfg)) {
        free(jobs);
        ledger_free(&l);
        return 1;
    }
    kafka_t *k = kafka_new(cfg, NULL, NULL, 0, err, sizeof err);
    if (!k) {
        fprintf(stderr, "pressctl: %s\n", err);
        free(jobs);
        ledger_free(&l);
        return 1;
    }
    char topic[256];
    config_topic(cfg, "jobs", topic, sizeof topic);
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        if (!jobs[i].submitted_ms) jobs[i].submitted_ms = now;
        char *json = job_encode(&jobs[i]);
        char trace[TRACEPARENT_LEN + 1]; /* each job starts its own trace here */
        kafka_header_t h = {TRACEPARENT_HEADER, traceparent_next(NULL, trace, sizeof trace)};
        if (kafka_produce(k, topic, jobs[i].job_id, json, strlen(json), &h, 1, NULL, err, sizeof err)) {
            fprintf(stderr, "pressctl: %s\n", err);
            free(json);
            break;
        }
        free(json);
    }
    kafka_close(k, 30000, true);
    int unsent = kafka_outq_len(k);
    kafka_free(k);
    free(jobs);
    if (unsent) {
        fprintf(stderr, "pressctl: %d job(s) were not acknowledged by the broker\n", unsent);
        ledger_free(&l);
        return 1;
    }
    printf("published %d job(s) to %s\n", n, topic);
    if (!opt.wait) {
        ledger_free(&l);
        return 0;
    }
    bool timed_out;
    if (follow(cfg, &l, true, opt.timeout_s, 0, NULL, &timed_out)) {
        ledger_free(&l);
        return 1;
    }
    int rc = report(&l, store, opt.html, opt.jsonl) ? 1 : 0;
    printf("terminal: %d/%d jobs\n", l.terminal, l.expected);
    if (l.terminal != l.expected) rc = 1;
    ledger_free(&l);
    return rc;
}

int cmd_results(int argc, char **argv) {
    opts_t opt = {0};
    if (parse_opts(argc, argv, &opt, false)) return 2;
    config_t cfg;
    blob_store_t *store = NULL;
    if (open_config(&cfg, &store)) return 2;
    ledger_t l = {0};
    bool timed_out;
    if (follow(&cfg, &l, false, opt.timeout_s, opt.since_ms, opt.job, &timed_out)) {
        blob_store_free(store);
        return 1;
    }
    int rc = report(&l, store, opt.html, opt.jsonl) ? 1 : 0;
    printf("terminal: %d jobs\n", l.terminal);
    if (timed_out) {
        fprintf(stderr, "pressctl results: --timeout %d s passed before the end of the topics; the report is partial\n",
                opt.timeout_s);
        rc = 1;
    }
    if (opt.job && !l.terminal) {
        fprintf(stderr, "pressctl results: no verdict for job %s%s\n", opt.job, opt.since_ms ? " since --since" : "");
        rc = 1;
    }
    if (opt.moderation && moderation_report(&cfg, opt.since_ms, opt.job, opt.timeout_s)) rc = 1;
    ledger_free(&l);
    blob_store_free(store);
    return rc;
}
