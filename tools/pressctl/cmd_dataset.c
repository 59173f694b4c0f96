/* cmd_dataset.c — pressctl dataset export|synth: the verified-pairs dataset of a
 * template (issue 13 item 4).
 *
 * export reads every verdict on the results and rejected topics (a reader by
 * assignment: it joins no group and commits nothing), keeps the template's, and of
 * each revision (job_id@revision) only the newest verdict (a replay or a forced
 * re-render gives a revision another verdict: the last one stands). It writes the
 * layout image-training tools read (the Hugging Face "imagefolder" one):
 *   DIR/metadata.jsonl           one line per accepted pair: file_name, prompt, ...
 *   DIR/images/JOB@REV.png       the image, copied from the blob store
 *   DIR/rejected/metadata.jsonl  with --include-rejected: the negatives, with reasons
 *   DIR/rejected/images/...
 *   DIR/manifest.json            what was read, kept, dropped and written, and why
 * Each line carries the image's SHA-256 as copied. Degraded verdicts (a verified
 * preview delivered because production was over budget) are neither positives nor
 * negatives: they are counted in the manifest and left out.
 *
 * synth writes N synthetic template jobs (each slot drawn from its configured values,
 * a seeded PRNG: the same --seed gives the same jobs) to a JSONL file and submits it
 * with pressctl submit's own code (cmd_submit). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/fileio.h"
#include "base/message.h"
#include "base/prompt.h"
#include "base/sha256.h"
#include "blob/blobstore.h"
#include "pressctl.h"
#include "runtime/kafka.h"

#define MAX_IMAGE_BYTES (64u << 20)

/* ==== export ==== */

typedef struct {
    char key[JOB_KEY_LEN];
    int64_t ts;        /* the verdict message's timestamp (ms) */
    int32_t partition; /* and its place, to order verdicts of the same millisecond */
    int64_t offset;
    int topic;         /* 0 results, 1 rejected */
    char *payload;
} kept_t;

typedef struct {
    kept_t *v;
    int n, cap;
} kept_list_t;

static kept_t *kept_find(kept_list_t *l, const char *key) {
    for (int i = 0; i < l->n; i++) /* linear: an export is thousands of pairs, not millions */
        if (!strcmp(l->v[i].key, key)) return &l->v[i];
    return NULL;
}

static bool newer(int64_t ts, int topic, int32_t p, int64_t off, const kept_t *k) {
    if (ts != k->ts) return ts > k->ts;
    if (topic != k->topic || p != k->partition) return false; /* the same ms on two partitions: keep the first */
    return off > k->offset;
}

/* A file name for a revision: its key with the characters a file system or a training
 * tool might mind replaced ('@' and ':' are fine in ids, but not in every tool). */
static void file_stem(const char *key, char *buf, size_t len) {
    size_t i = 0;
    for (; key[i] && i + 1 < len; i++) buf[i] = (key[i] == ':' || key[i] == '@') ? '_' : key[i];
    buf[i] = 0;
}

/* --out must be new or empty: an export never mixes with an older one. */
static bool dir_empty_or_absent(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    closedir(d);
    return empty;
}

typedef struct {
    const char *template_name;
    int64_t since_ms;
    const char *out;
    bool include_rejected;
} export_opts_t;

typedef struct {
    int verdicts_read, unreadable, other_templates, revisions, superseded;
    int accepted, degraded_skipped, rejected, rejected_without_image, image_errors;
} export_counts_t;

static cJSON *slots_json(const outcome_t *o) {
    cJSON *s = cJSON_CreateObject();
    for (int i = 0; i < o->n_slots; i++) cJSON_AddStringToObject(s, o->slot_names[i], o->slot_values[i]);
    return s;
}

/* Copies the verdict's image into DIR/SUB/images and appends its line to lines.
 * Returns 0, or -1 with the reason printed (the image could not be read or written). */
static int export_one(const export_opts_t *eo, const blob_store_t *store, const outcome_t *o, const char *key,
                      const char *sub, FILE *lines) {
    char stem[JOB_KEY_LEN], rel[JOB_KEY_LEN + 32], path[1400], err[512];
    file_stem(key, stem, sizeof stem);
    snprintf(rel, sizeof rel, "images/%s.png", stem);
    snprintf(path, sizeof path, "%s/%s%s%s", eo->out, sub, sub[0] ? "/" : "", rel);
    unsigned char *png = NULL;
    size_t len = 0;
    blob_status_t st = blob_get(store, o->image_uri, MAX_IMAGE_BYTES, &png, &len, err, sizeof err);
    if (st != BLOB_OK) {
        fprintf(stderr, "pressctl dataset export: %s: image %s: %s\n", key, o->image_uri, err);
        return -1;
    }
    if (file_write_atomic(path, png, len, err, sizeof err)) {
        fprintf(stderr, "pressctl dataset export: %s\n", err);
        free(png);
        return -1;
    }
    char hex[65];
    sha256_hex(png, len, hex);
    free(png);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "file_name", rel);
    cJSON_AddStringToObject(j, "job_id", o->job_id);
    cJSON_AddStringToObject(j, "revision", o->revision);
    cJSON_AddStringToObject(j, "prompt", o->prompt);
    cJSON_AddStringToObject(j, "template", o->template_name);
    cJSON_AddItemToObject(j, "slots", slots_json(o));
    if (o->has_seed) cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    else cJSON_AddNullToObject(j, "seed");
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "stage", stage_name(o->stage));
    cJSON_AddStringToObject(j, "verdict", job_verdict_name(o->verdict));
    if (o->verdict == VERDICT_REJECTED) {
        cJSON_AddStringToObject(j, "reason", o->reason);
        cJSON_AddStringToObject(j, "detail", o->detail);
    }
    cJSON_AddStringToObject(j, "image_uri", o->image_uri);
    cJSON_AddStringToObject(j, "sha256", hex);
    if (o->metadata[0]) cJSON_AddItemToObject(j, "metadata", cJSON_Parse(o->metadata));
    cJSON_AddItemToObject(j, "verifier_report", o->report ? cJSON_Duplicate(o->report, 1) : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int rc = text && fprintf(lines, "%s\n", text) > 0 ? 0 : -1;
    free(text);
    if (rc) fprintf(stderr, "pressctl dataset export: cannot write the metadata of %s\n", key);
    return rc;
}

static int read_verdicts(const config_t *cfg, const export_opts_t *eo, kept_list_t *l, export_counts_t *c) {
    char results[256], rejected[256], err[1024];
    config_topic(cfg, "results", results, sizeof results);
    config_topic(cfg, "rejected", rejected, sizeof rejected);
    const char *topics[] = {results, rejected};
    kafka_reader_t *r = kafka_reader_new(cfg, topics, 2, eo->since_ms, 0, BROKER_PROBE_MS * 2, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pressctl dataset export: %s\n", err);
        return -1;
    }
    int64_t idle_since = now_ms();
    while (!kafka_reader_at_end(r)) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (!m) {
            if (now_ms() - idle_since <= READ_IDLE_MS) continue;
            fprintf(stderr, "pressctl dataset export: nothing came for %d s before the topics' end; stopped\n",
                    READ_IDLE_MS / 1000);
            kafka_reader_free(r);
            return -1;
        }
        idle_since = now_ms();
        int topic = strcmp(rd_kafka_topic_name(m->rkt), results) ? 1 : 0;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        outcome_t o;
        char perr[512];
        c->verdicts_read++;
        if (!m->payload || outcome_parse(m->payload, m->len, &o, perr, sizeof perr)) {
            c->unreadable++;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (strcmp(o.template_name, eo->template_name)) {
            c->other_templates++;
        } else {
            char key[JOB_KEY_LEN];
            snprintf(key, sizeof key, "%s@%s", o.job_id, o.revision);
            kept_t *k = kept_find(l, key);
            if (!k) {
                if (l->n == l->cap) {
                    l->cap = l->cap ? l->cap * 2 : 64;
                    l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
                }
                k = &l->v[l->n++];
                memset(k, 0, sizeof *k);
                snprintf(k->key, sizeof k->key, "%s", key);
                k->ts = INT64_MIN;
            } else {
                c->superseded++;
            }
            if (!k->payload || newer(ts, topic, m->partition, m->offset, k)) {
                free(k->payload);
                k->payload = xmalloc(m->len + 1);
                memcpy(k->payload, m->payload, m->len);
                k->payload[m->len] = 0;
                k->ts = ts;
                k->topic = topic;
                k->partition = m->partition;
                k->offset = m->offset;
            }
        }
        outcome_free(&o);
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    c->revisions = l->n;
    return 0;
}

static int write_manifest(const export_opts_t *eo, const export_counts_t *c) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "template", eo->template_name);
    cJSON_AddNumberToObject(m, "since_ms", (double)eo->since_ms);
    cJSON_AddNumberToObject(m, "exported_at_ms", (double)now_ms());
    cJSON_AddStringToObject(m, "layout", "imagefolder: metadata.jsonl beside images/ (file_name relative to it)");
    cJSON_AddStringToObject(m, "metadata", "metadata.jsonl");
    if (eo->include_rejected) cJSON_AddStringToObject(m, "rejected_metadata", "rejected/metadata.jsonl");
    cJSON *n = cJSON_AddObjectToObject(m, "counts");
    cJSON_AddNumberToObject(n, "verdicts_read", c->verdicts_read);
    cJSON_AddNumberToObject(n, "unreadable", c->unreadable);
    cJSON_AddNumberToObject(n, "other_templates", c->other_templates);
    cJSON_AddNumberToObject(n, "revisions", c->revisions);
    cJSON_AddNumberToObject(n, "superseded_verdicts", c->superseded);
    cJSON_AddNumberToObject(n, "accepted", c->accepted);
    cJSON_AddNumberToObject(n, "degraded_skipped", c->degraded_skipped);
    cJSON_AddNumberToObject(n, "rejected", c->rejected);
    cJSON_AddNumberToObject(n, "rejected_without_image", c->rejected_without_image);
    cJSON_AddNumberToObject(n, "image_errors", c->image_errors);
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    char path[1100], err[512];
    snprintf(path, sizeof path, "%s/manifest.json", eo->out);
    int rc = text ? file_write_atomic(path, text, strlen(text), err, sizeof err) : -1;
    if (rc) fprintf(stderr, "pressctl dataset export: %s\n", text ? err : "out of memory");
    free(text);
    return rc;
}

static int dataset_export(const export_opts_t *eo) {
    config_t cfg;
    char err[1024];
    blob_store_t *store = NULL;
    if (config_load(&cfg, NULL, err, sizeof err) || !(store = blob_store_open(&cfg, err, sizeof err))) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    if (!config_template(&cfg, eo->template_name))
        fprintf(stderr, "pressctl dataset export: note: template \"%s\" is not in the config (exporting its verdicts anyway)\n",
                eo->template_name);
    if (!dir_empty_or_absent(eo->out)) {
        fprintf(stderr, "pressctl dataset export: --out %s: expected a new or empty directory (an export never mixes with another)\n",
                eo->out);
        blob_store_free(store);
        return 2;
    }
    if (require_broker(&cfg)) {
        blob_store_free(store);
        return 1;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/images", eo->out);
    int mk = mkdir_p(path, 0755);
    if (!mk && eo->include_rejected) {
        snprintf(path, sizeof path, "%s/rejected/images", eo->out);
        mk = mkdir_p(path, 0755);
    }
    if (mk) {
        fprintf(stderr, "pressctl dataset export: --out %s: %s\n", path, strerror(errno));
        blob_store_free(store);
        return 1;
    }
    kept_list_t l = {0};
    export_counts_t c = {0};
    int rc = read_verdicts(&cfg, eo, &l, &c) ? 1 : 0;
    FILE *pos = NULL, *neg = NULL;
    if (!rc) {
        snprintf(path, sizeof path, "%s/metadata.jsonl", eo->out);
        pos = fopen(path, "w");
        if (pos && eo->include_rejected) {
            snprintf(path, sizeof path, "%s/rejected/metadata.jsonl", eo->out);
            neg = fopen(path, "w");
        }
        if (!pos || (eo->include_rejected && !neg)) {
            fprintf(stderr, "pressctl dataset export: %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    }
    for (int i = 0; !rc && i < l.n; i++) {
        outcome_t o;
        if (outcome_parse(l.v[i].payload, strlen(l.v[i].payload), &o, err, sizeof err)) continue; /* parsed before */
        if (o.verdict == VERDICT_DEGRADED) {
            c.degraded_skipped++;
        } else if (o.verdict == VERDICT_ACCEPTED) {
            if (export_one(eo, store, &o, l.v[i].key, "", pos)) c.image_errors++;
            else c.accepted++;
        } else if (!o.image_uri[0]) {
            c.rejected_without_image++;
        } else {
            if (eo->include_rejected && export_one(eo, store, &o, l.v[i].key, "rejected", neg)) c.image_errors++;
            else c.rejected++;
        }
        outcome_free(&o);
    }
    if (pos && fclose(pos)) rc = 1;
    if (neg && fclose(neg)) rc = 1;
    if (!rc && write_manifest(eo, &c)) rc = 1;
    if (!rc && c.image_errors) rc = 1;
    if (!rc || c.verdicts_read)
        printf("exported %d accepted pair(s)%s of template %s to %s (%d verdict(s) read, %d revision(s), %d superseded, "
               "%d degraded left out, %d rejected%s, %d image error(s))\n",
               c.accepted, eo->include_rejected ? " and the negatives" : "", eo->template_name, eo->out,
               c.verdicts_read, c.revisions, c.superseded, c.degraded_skipped, c.rejected,
               eo->include_rejected ? " written" : " left out", c.image_errors);
    for (int i = 0; i < l.n; i++) free(l.v[i].payload);
    free(l.v);
    blob_store_free(store);
    return rc;
}

/* ==== synth ==== */

/* splitmix64: a small seeded generator, the same jobs for the same --seed everywhere. */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    const char *template_name, *asset_class, *jobs_out;
    int n;
    uint64_t seed;
    bool wait;
    const char *timeout;
} synth_opts_t;

/* The synthetic jobs as JSONL into f: slot values drawn from each slot's "values"
 * (a slot with none keeps its default, so it is left out). 0, or -1 with a sentence. */
static int write_synth_jobs(const config_t *cfg, const template_config_t *t, const synth_opts_t *so, FILE *f,
                            char *err, size_t errlen) {
    uint64_t rng = so->seed;
    for (int i = 0; i < so->n; i++) {
        cJSON *j = cJSON_CreateObject();
        char id[128];
        snprintf(id, sizeof id, "synth-%s-%llu-%d", t->name, (unsigned long long)so->seed, i + 1);
        cJSON_AddStringToObject(j, "job_id", id);
        cJSON_AddStringToObject(j, "asset_class", so->asset_class);
        cJSON_AddStringToObject(j, "template", t->name);
        cJSON *slots = cJSON_AddObjectToObject(j, "slots");
        for (int k = 0; k < t->n_slots; k++) {
            const template_slot_t *s = &t->slots[k];
            if (!s->n_values) continue;
            cJSON_AddStringToObject(slots, s->name, s->values[next_rand(&rng) % (uint64_t)s->n_values]);
        }
        cJSON_AddNumberToObject(j, "seed", (double)(next_rand(&rng) % 4294967296ULL));
        cJSON *md = cJSON_AddObjectToObject(j, "metadata");
        cJSON_AddStringToObject(md, "synthetic", "pressctl dataset synth");
        char *text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        job_t job;
        int rc = text ? job_parse(text, strlen(text), &job, err, errlen) : -1;
        if (!rc) rc = job_apply_template(&job, cfg, err, errlen); /* a slot without values or default */
        if (!rc && fprintf(f, "%s\n", text) < 0) {
            snprintf(err, errlen, "%s: %s", so->jobs_out, strerror(errno));
            rc = -1;
        }
        free(text);
        if (rc) return -1;
    }
    return 0;
}

static int dataset_synth(const synth_opts_t *so) {
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    const template_config_t *t = config_template(&cfg, so->template_name);
    if (!t) {
        char names[512] = "";
        size_t n = 0;
        for (int i = 0; i < cfg.n_templates && n < sizeof names; i++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", cfg.templates[i].name);
        fprintf(stderr, "pressctl dataset synth: --template: expected one of the configured templates (%s), found \"%s\"\n",
                cfg.n_templates ? names : "none configured", so->template_name);
        return 2;
    }
    if (!config_class(&cfg, so->asset_class)) {
        char names[512];
        config_class_names(&cfg, names, sizeof names);
        fprintf(stderr, "pressctl dataset synth: --asset-class: expected one of %s, found \"%s\"\n", names,
                so->asset_class);
        return 2;
    }
    /* Without --jobs-out the jobs go to a temporary file, removed once submitted. */
    char tmp[64] = "";
    synth_opts_t o = *so;
    FILE *f = NULL;
    if (!o.jobs_out) {
        snprintf(tmp, sizeof tmp, "/tmp/pressctl-synth-XXXXXX.jsonl");
        int fd = mkstemps(tmp, 6);
        if (fd >= 0) f = fdopen(fd, "w");
        o.jobs_out = tmp;
    } else {
        f = fopen(o.jobs_out, "w");
    }
    if (!f) {
        fprintf(stderr, "pressctl dataset synth: %s: %s\n", o.jobs_out, strerror(errno));
        return 2;
    }
    so = &o;
    int rc = write_synth_jobs(&cfg, t, so, f, err, sizeof err);
    if (fclose(f)) rc = -1;
    if (rc) {
        fprintf(stderr, "pressctl dataset synth: %s\n", err);
        if (tmp[0]) unlink(tmp);
        return 2;
    }
    if (!tmp[0]) printf("wrote %d synthetic job(s) of template %s to %s\n", so->n, t->name, so->jobs_out);
    fflush(stdout);
    /* pressctl submit's own code: validation, publishing, --wait. */
    char *argv[6];
    int argc = 0;
    argv[argc++] = "submit";
    argv[argc++] = (char *)so->jobs_out;
    if (so->wait) argv[argc++] = "--wait";
    if (so->timeout) {
        argv[argc++] = "--timeout";
        argv[argc++] = (char *)so->timeout;
    }
    argv[argc] = NULL;
    rc = cmd_submit(argc, argv);
    if (tmp[0]) unlink(tmp);
    return rc;
}

/* ==== the command ==== */

int cmd_dataset(int argc, char **argv) {
    const char *sub = argc >= 2 ? argv[1] : "";
    bool is_export = !strcmp(sub, "export"), is_synth = !strcmp(sub, "synth");
    if (!is_export && !is_synth) {
        fprintf(stderr, "pressctl dataset: expected a subcommand export or synth, found \"%s\"\n", sub);
        pressctl_usage(stderr, "dataset", NULL);
        return 2;
    }
    export_opts_t eo = {0};
    synth_opts_t so = {.asset_class = "thumbnail", .seed = 42, .n = -1};
    const char *tmpl = NULL, *bad = NULL;
    for (int i = 2; i < argc && !bad; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (is_export && !strcmp(a, "--include-rejected")) eo.include_rejected = true;
        else if (is_synth && !strcmp(a, "--wait")) so.wait = true;
        else if (!has) bad = a;
        else if (!strcmp(a, "--template")) tmpl = argv[++i];
        else if (is_export && !strcmp(a, "--since")) {
            if (arg_time_ms("dataset export", "--since", argv[++i], &eo.since_ms)) return 2;
        } else if (is_export && !strcmp(a, "--out")) eo.out = argv[++i];
        else if (is_synth && !strcmp(a, "--n")) {
            if (arg_int("dataset synth", "--n", argv[++i], 1, 100000, &so.n)) return 2;
        } else if (is_synth && !strcmp(a, "--seed")) {
            int s;
            if (arg_int("dataset synth", "--seed", argv[++i], 0, 2147483647, &s)) return 2;
            so.seed = (uint64_t)s;
        } else if (is_synth && !strcmp(a, "--asset-class")) so.asset_class = argv[++i];
        else if (is_synth && !strcmp(a, "--jobs-out")) so.jobs_out = argv[++i];
        else if (is_synth && !strcmp(a, "--timeout")) {
            int s;
            if (arg_int("dataset synth", "--timeout", argv[i + 1], 1, 86400, &s)) return 2;
            so.timeout = argv[++i];
        } else bad = a;
    }
    if (bad) {
        fprintf(stderr, "pressctl dataset %s: unknown option or missing value: %s\n", sub, bad);
        pressctl_usage(stderr, "dataset", sub);
        return 2;
    }
    const char *missing = !tmpl                        ? "--template T"
                          : is_export && !eo.out        ? "--out DIR"
                          : is_synth && so.n < 0        ? "--n N"
                                                        : NULL;
    if (missing) {
        fprintf(stderr, "pressctl dataset %s: expected %s\n", sub, missing);
        pressctl_usage(stderr, "dataset", sub);
        return 2;
    }
    if (is_export) {
        eo.template_name = tmpl;
        return dataset_export(&eo);
    }
    so.template_name = tmpl;
    return dataset_synth(&so);
}
