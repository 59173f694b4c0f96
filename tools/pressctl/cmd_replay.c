/* cmd_replay.c — `pressctl replay`: read a time range of a topic and publish the JOBS
 * it carries again, by default into the backfill lane (pressroom.backfill).
 *
 * What a message of each topic gives back:
 *   jobs, backfill                  the job itself
 *   verify, production (and lanes)  the task's job
 *   dlq                             the letter's original bytes, read as a job or a task
 *                                   (a bounded letter, or one that is neither, is skipped:
 *                                   `pressctl dlq redrive --fix` is for those)
 *   results, rejected               an outcome carries no job, only (job_id, revision): the
 *                                   job is found on the jobs topic and its lane by that pair
 *                                   (one read of both, to their end); a job that retention
 *                                   removed is counted "not found"
 * A job is replayed once per run whatever the number of its messages in the range. It
 * keeps its revision, so a revision already decided ends at admission as
 * job_already_decided: no render, no charge, no verdict. --force-rerender stamps a new
 * revision (the old one + ".r" + the replay id), so every job renders and is charged
 * once more. submitted_at_ms becomes the replay's time (it is not part of a revision).
 * Each published job carries pressroom-replayed-from-{topic,partition,offset,time} (the
 * message it was selected by) and pressroom-replay-id headers. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/message.h"
#include "base/sha256.h"
#include "pressctl.h"
#include "runtime/kafka.h"

typedef enum { CARRIES_JOB, CARRIES_TASK, CARRIES_LETTER, CARRIES_OUTCOME } carries_t;

typedef struct {
    const char *topic_arg, *into_arg, *cls, *reason, *job_id;
    int64_t from_ms, to_ms;
    bool force, dry_run;
} replay_opts_t;

/* Where a replayed job was selected: its replayed-from headers. */
typedef struct {
    char key[JOB_KEY_LEN];
    char topic[256];
    int32_t partition;
    int64_t offset, time_ms;
    bool published;
} origin_t;

/* The job keys of one run (open addressing): a job is replayed once. */
typedef struct {
    origin_t *v;
    int n, cap;
    int *slots, nslots;
} keyset_t;

static uint64_t key_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int *keyset_slot(const keyset_t *ks, const char *key) {
    size_t mask = (size_t)ks->nslots - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask)
        if (!ks->slots[i] || !strcmp(ks->v[ks->slots[i] - 1].key, key)) return &ks->slots[i];
}

static origin_t *keyset_find(const keyset_t *ks, const char *key) {
    if (!ks->nslots) return NULL;
    int *s = keyset_slot(ks, key);
    return *s ? &ks->v[*s - 1] : NULL;
}

/* Adds key; NULL when it was there already. */
static origin_t *keyset_add(keyset_t *ks, const char *key) {
    if (keyset_find(ks, key)) return NULL;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 256;
        ks->v = xrealloc(ks->v, (size_t)ks->cap * sizeof *ks->v);
    }
    origin_t *o = &ks->v[ks->n++];
    memset(o, 0, sizeof *o);
    snprintf(o->key, sizeof o->key, "%s", key);
    if (ks->n * 2 > ks->nslots) {
        free(ks->slots);
        ks->nslots = ks->nslots ? ks->nslots * 2 : 512;
        ks->slots = xcalloc((size_t)ks->nslots, sizeof *ks->slots);
        for (int i = 0; i < ks->n; i++) *keyset_slot(ks, ks->v[i].key) = i + 1;
    } else {
        *keyset_slot(ks, key) = ks->n;
    }
    return o;
}

static void keyset_free(keyset_t *ks) {
    free(ks->v);
    free(ks->slots);
}

typedef struct {
    const replay_opts_t *opt;
    const config_t *cfg;
    carries_t carries;
    char into[256];
    char replay_id[24];
    kafka_t *k; /* NULL on a dry run */
    keyset_t keys;
    int64_t read, selected, filtered, duplicates, unparseable, not_found, published, failed, rerendered;
    int samples;
    int64_t last_progress;
} replay_t;

static void progress(replay_t *rp, bool force) {
    int64_t now = now_ms();
    if (!force && now - rp->last_progress < 2000) return;
    rp->last_progress = now;
    fprintf(stderr, "pressctl replay: read %" PRId64 ", selected %" PRId64 ", %s %" PRId64 "\n", rp->read,
            rp->selected, rp->opt->dry_run ? "would publish" : "published",
            rp->opt->dry_run ? rp->selected : rp->published);
}

/* A new revision for --force-rerender: the old one + ".r" + the replay id, or, when
 * that is longer than a revision may be, "r" + 16 hex digits of its SHA-256. */
static void stamp_revision(job_t *job, const char *replay_id) {
    char next[256], hex[65];
    snprintf(next, sizeof next, "%s.r%s", job->revision, replay_id);
    if (strlen(next) < sizeof job->revision) {
        snprintf(job->revision, sizeof job->revision, "%s", next);
        return;
    }
    sha256_hex(next, strlen(next), hex);
    snprintf(job->revision, sizeof job->revision, "r%.16s", hex);
}

/* Publishes job (selected by the message at o) into the target topic, or counts it and
 * prints a sample on a dry run. */
static void replay_job(replay_t *rp, job_t *job, origin_t *o) {
    rp->selected++;
    if (rp->opt->force) {
        stamp_revision(job, rp->replay_id);
        rp->rerendered++;
    }
    job->submitted_ms = now_ms();
    if (!rp->k) {
        if (rp->samples++ < 5)
            printf("sample: %s revision %s class %s from %s [%d] @%" PRId64 "\n", job->job_id, job->revision,
                   job->asset_class, o->topic, (int)o->partition, o->offset);
        return;
    }
    char part[16], off[24], ts[24], err[512];
    snprintf(part, sizeof part, "%d", (int)o->partition);
    snprintf(off, sizeof off, "%" PRId64, o->offset);
    snprintf(ts, sizeof ts, "%" PRId64, o->time_ms);
    kafka_header_t h[] = {{"pressroom-replayed-from-topic", o->topic},
                          {"pressroom-replayed-from-partition", part},
                          {"pressroom-replayed-from-offset", off},
                          {"pressroom-replayed-from-time", ts},
                          {"pressroom-replay-id", rp->replay_id}};
    char *json = job_encode(job);
    if (kafka_produce(rp->k, rp->into, job->job_id, json, strlen(json), h, (int)(sizeof h / sizeof h[0]), NULL, err,
                      sizeof err)) {
        fprintf(stderr, "pressctl replay: %s: %s\n", job->job_id, err);
        rp->failed++;
    } else {
        rp->published++;
    }
    free(json);
    o->published = true;
}

static bool job_matches(const replay_t *rp, const job_t *job) {
    return (!rp->opt->cls || !strcmp(job->asset_class, rp->opt->cls)) &&
           (!rp->opt->job_id || !strcmp(job->job_id, rp->opt->job_id));
}

/* One message of the range: the job it carries, filtered, once per run. */
static void replay_message(replay_t *rp, const rd_kafka_message_t *m) {
    rp->read++;
    char err[512], hbuf[1100];
    static job_t job; /* large: one at a time */
    static task_t task;
    static outcome_t out;
    const char *payload = m->payload ? (const char *)m->payload : "";
    switch (rp->carries) {
    case CARRIES_JOB:
        if (job_parse(payload, m->len, &job, err, sizeof err)) goto unparseable;
        break;
    case CARRIES_TASK:
        if (task_parse(payload, m->len, &task, err, sizeof err)) goto unparseable;
        job = task.job;
        break;
    case CARRIES_LETTER: {
        const char *reason = kafka_msg_header(m, "pressroom-reason", hbuf, sizeof hbuf);
        if (rp->opt->reason && (!reason || strncmp(reason, rp->opt->reason, strlen(rp->opt->reason)))) {
            rp->filtered++;
            return;
        }
        char orig[32], kept[32];
        const char *o = kafka_msg_header(m, "pressroom-original-bytes", orig, sizeof orig);
        const char *kb = kafka_msg_header(m, "pressroom-kept-bytes", kept, sizeof kept);
        if (o && kb && strcmp(o, kb)) goto unparseable; /* a bounded letter: not the whole message */
        if (job_parse(payload, m->len, &job, err, sizeof err)) {
            if (task_parse(payload, m->len, &task, err, sizeof err)) goto unparseable;
            job = task.job;
        }
        break;
    }
    case CARRIES_OUTCOME:
        if (outcome_parse(payload, m->len, &out, err, sizeof err)) goto unparseable;
        bool keep = (!rp->opt->cls || !strcmp(out.asset_class, rp->opt->cls)) &&
                    (!rp->opt->job_id || !strcmp(out.job_id, rp->opt->job_id)) &&
                    (!rp->opt->reason || !strcmp(out.reason, rp->opt->reason));
        char key[JOB_KEY_LEN];
        snprintf(key, sizeof key, "%s@%s", out.job_id, out.revision);
        outcome_free(&out);
        if (!keep) {
            rp->filtered++;
            return;
        }
        origin_t *org = keyset_add(&rp->keys, key);
        if (!org) {
            rp->duplicates++;
            return;
        }
        snprintf(org->topic, sizeof org->topic, "%s", rd_kafka_topic_name(m->rkt));
        org->partition = m->partition;
        org->offset = m->offset;
        org->time_ms = rd_kafka_message_timestamp(m, NULL);
        return; /* the job is found on the jobs topic afterwards */
    }
    if (!job_matches(rp, &job)) {
        rp->filtered++;
        return;
    }
    char key[JOB_KEY_LEN];
    origin_t *org = keyset_add(&rp->keys, job_key(&job, key, sizeof key));
    if (!org) {
        rp->duplicates++;
        return;
    }
    snprintf(org->topic, sizeof org->topic, "%s", rd_kafka_topic_name(m->rkt));
    org->partition = m->partition;
    org->offset = m->offset;
    org->time_ms = rd_kafka_message_timestamp(m, NULL);
    replay_job(rp, &job, org);
    return;
unparseable:
    rp->unparseable++;
}

/* Reads topics over [since, until) to their end, handing each message to fn. */
static int read_range(replay_t *rp, const char *const *topics, int n, int64_t since, int64_t until,
                      void (*fn)(replay_t *, const rd_kafka_message_t *)) {
    char err[768];
    kafka_reader_t *r = kafka_reader_new(rp->cfg, topics, n, since, until, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl replay: %s\n", err);
        return -1;
    }
    int64_t idle_since = now_ms();
    int rc = 0;
    while (!kafka_reader_at_end(r)) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (m) {
            fn(rp, m);
            rd_kafka_message_destroy(m);
            idle_since = now_ms();
        } else if (now_ms() - idle_since > READ_IDLE_MS) {
            fprintf(stderr, "pressctl replay: nothing came from %s for %d s before the end of its partitions; stopped\n",
                    topics[0], READ_IDLE_MS / 1000);
            rc = -1;
            break;
        }
        if (rp->k) kafka_serve(rp->k);
        progress(rp, false);
    }
    kafka_reader_free(r);
    return rc;
}

/* A message of the jobs topics while looking up the jobs of outcomes. */
static void lookup_job(replay_t *rp, const rd_kafka_message_t *m) {
    static job_t job;
    char err[512], key[JOB_KEY_LEN];
    if (job_parse(m->payload ? (const char *)m->payload : "", m->len, &job, err, sizeof err)) return;
    origin_t *o = keyset_find(&rp->keys, job_key(&job, key, sizeof key));
    if (!o || o->published) return;
    replay_job(rp, &job, o);
    o->published = true;
}

static int parse_replay_opts(int argc, char **argv, replay_opts_t *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--force-rerender")) o->force = true;
        else if (!strcmp(a, "--dry-run")) o->dry_run = true;
        else if (!has) {
            fprintf(stderr, "pressctl replay: unknown option or missing value: %s\n", a);
            pressctl_usage(stderr, "replay", NULL);
            return -1;
        } else if (!strcmp(a, "--topic")) o->topic_arg = argv[++i];
        else if (!strcmp(a, "--into")) o->into_arg = argv[++i];
        else if (!strcmp(a, "--class")) o->cls = argv[++i];
        else if (!strcmp(a, "--reason")) o->reason = argv[++i];
        else if (!strcmp(a, "--job-id")) o->job_id = argv[++i];
        else if (!strcmp(a, "--from")) {
            if (arg_time_ms("replay", "--from", argv[++i], &o->from_ms)) return -1;
        } else if (!strcmp(a, "--to")) {
            if (arg_time_ms("replay", "--to", argv[++i], &o->to_ms)) return -1;
        } else {
            fprintf(stderr, "pressctl replay: unknown option %s\n", a);
            pressctl_usage(stderr, "replay", NULL);
            return -1;
        }
    }
    if (!o->topic_arg) {
        fprintf(stderr, "pressctl replay: --topic is required\n");
        pressctl_usage(stderr, "replay", NULL);
        return -1;
    }
    if (o->from_ms && o->to_ms && o->to_ms <= o->from_ms) {
        fprintf(stderr, "pressctl replay: --to must be after --from (the range is [from, to))\n");
        return -1;
    }
    return 0;
}

int cmd_replay(int argc, char **argv) {
    replay_opts_t opt = {0};
    if (parse_replay_opts(argc, argv, &opt)) return 2;
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    replay_t rp = {.opt = &opt, .cfg = &cfg};
    char topic[256];
    const char *shortname = NULL;
    if (!arg_topic("replay", "--topic", &cfg, opt.topic_arg, topic, sizeof topic, &shortname) ||
        !arg_topic("replay", "--into", &cfg, opt.into_arg ? opt.into_arg : "backfill", rp.into, sizeof rp.into,
                   NULL))
        return 2;
    const char *into_short = NULL;
    char into_check[256];
    config_topic_named(&cfg, rp.into, into_check, sizeof into_check, &into_short);
    if (strcmp(into_short, "jobs") && strcmp(into_short, "backfill")) {
        fprintf(stderr, "pressctl replay: --into: expected a topic that takes jobs (jobs, backfill), found \"%s\"\n",
                opt.into_arg);
        return 2;
    }
    if (!strcmp(shortname, "jobs") || !strcmp(shortname, "backfill")) rp.carries = CARRIES_JOB;
    else if (!strcmp(shortname, "dlq")) rp.carries = CARRIES_LETTER;
    else if (!strcmp(shortname, "results") || !strcmp(shortname, "rejected")) rp.carries = CARRIES_OUTCOME;
    else rp.carries = CARRIES_TASK;
    if (opt.reason && (rp.carries == CARRIES_JOB || rp.carries == CARRIES_TASK)) {
        fprintf(stderr, "pressctl replay: --reason filters results, rejected and dlq, not %s\n", topic);
        return 2;
    }
    int64_t until = opt.to_ms ? opt.to_ms : now_ms();
    snprintf(rp.replay_id, sizeof rp.replay_id, "%" PRIx64, (uint64_t)now_ms());
    if (require_broker(&cfg)) return 1;
    if (!opt.dry_run && !(rp.k = kafka_new(&cfg, NULL, NULL, 0, err, sizeof err))) {
        fprintf(stderr, "pressctl replay: %s\n", err);
        return 1;
    }
    const char *src[] = {topic};
    int rc = read_range(&rp, src, 1, opt.from_ms, until, replay_message);
    if (!rc && rp.carries == CARRIES_OUTCOME) {
        char t1[256], t2[256];
        const char *jobs[] = {config_topic(&cfg, "jobs", t1, sizeof t1), config_topic(&cfg, "backfill", t2, sizeof t2)};
        rc = read_range(&rp, jobs, 2, 0, 0, lookup_job);
        for (int i = 0; i < rp.keys.n; i++) rp.not_found += !rp.keys.v[i].published;
    }
    int unsent = 0;
    if (rp.k) {
        kafka_close(rp.k, 60000, true);
        unsent = kafka_outq_len(rp.k);
        kafka_free(rp.k);
        rp.k = NULL;
        rp.published -= unsent;
        rp.failed += unsent;
    }
    progress(&rp, true);
    printf("replay %s: read %" PRId64 " message(s) of %s in [%" PRId64 ", %" PRId64 ") ms\n", rp.replay_id, rp.read,
           topic, opt.from_ms, until);
    printf("selected %" PRId64 " job(s); skipped %" PRId64 " filtered, %" PRId64 " duplicate, %" PRId64
           " unparseable, %" PRId64 " not found\n",
           rp.selected, rp.filtered, rp.duplicates, rp.unparseable, rp.not_found);
    if (opt.dry_run) printf("dry run: nothing published (would publish %" PRId64 " to %s)\n", rp.selected, rp.into);
    else
        printf("published %" PRId64 " job(s) to %s%s%s\n", rp.published, rp.into,
               opt.force ? ", each with a new revision (--force-rerender)" : "",
               rp.failed ? "; some were NOT acknowledged" : "");
    keyset_free(&rp.keys);
    if (rc) return 1;
    return rp.failed ? 1 : 0;
}
