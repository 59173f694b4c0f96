/* cmd_ab.c — `pressctl ab`: the seed's Phase 1 harness. Every job x seed goes to every
 * model named, with the same prompt and seed (where the provider takes one), on one
 * event loop with --concurrency requests in flight; each image is verified in-process
 * by the pressroom verifier. Writes, into --out DIR:
 *   images/       every PNG a model returned
 *   results.jsonl one line per job x seed x model (timings, cost, verdict, reading)
 *   summary.json  per model: pass rate (overall and by check), p50/p95/p99 per step,
 *                 $/image and $/accepted image; per job and seed: where models differ
 *   report.html   all of it in one self-contained page (ab_report.c)
 * Exit 0 when the run completed (whatever the verdicts), 1 when a file could not be
 * written, 2 on usage, config or job file errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "base/fileio.h"
#include "base/prompt.h"
#include "base/stats.h"
#include "pressctl.h"
#include "runtime/loop.h"
#include "verify/ocr.h"
#include "verify/verify.h"

#define AB_MAX_MODELS 8
#define AB_MAX_SEEDS 64
#define AB_MAX_JOBS 10000
#define AB_LINE_MAX (1 << 20)

const char *const AB_STEP_NAMES[AB_N_STEPS] = {"dns",    "connect", "tls",    "first_byte",
                                               "transfer", "decode", "verify", "request"};
const char *const AB_CHECK_NAMES[AB_N_CHECKS] = {"sanity", "text", "layout", "contrast", "palette"};

ab_check_t ab_check_of_reason(const char *reason) {
    if (!strcmp(reason, "low_contrast")) return AB_CHECK_CONTRAST;
    if (!strcmp(reason, "off_palette")) return AB_CHECK_PALETTE;
    if (!strncmp(reason, "text_outside", 12) || !strcmp(reason, "text_touches_edge")) return AB_CHECK_LAYOUT;
    if (!strncmp(reason, "text_", 5)) return AB_CHECK_TEXT;
    return AB_CHECK_SANITY; /* image_undecodable size_mismatch blank_image blurred */
}

/* ==== Arguments ==== */

/* Splits a comma-separated list into at most max items of at most item_len bytes.
 * Returns the count, or -1 after printing what was expected. */
static int split_list(const char *flag, const char *s, char (*items)[64], int max) {
    int n = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!len || len >= 64 || n >= max) {
            fprintf(stderr, "pressctl ab: %s: expected 1 to %d comma-separated values of 1 to 63 bytes, found \"%s\"\n",
                    flag, max, s);
            return -1;
        }
        memcpy(items[n], p, len);
        items[n++][len] = 0;
        if (!comma) return n;
        p = comma + 1;
    }
}

static int parse_seeds(const char *s, uint64_t *seeds) {
    char items[AB_MAX_SEEDS][64];
    int n = split_list("--seeds", s, items, AB_MAX_SEEDS);
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = items[i][0] >= '0' && items[i][0] <= '9' ? strtoull(items[i], &end, 10) : 0;
        if (!end || *end || errno || v > 4294967295ULL) {
            fprintf(stderr, "pressctl ab: --seeds: expected integers from 0 to 4294967295, found \"%s\"\n", items[i]);
            return -1;
        }
        seeds[i] = v;
    }
    return n;
}

/* Reads every line of path as a job (job_parse: the one parser of jobs). Returns the
 * count, or -1 after printing "FILE:LINE: ..." for the first bad line. */
static int read_jobs(const char *path, const config_t *cfg, job_t **jobs) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pressctl ab: --jobs: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL, err[600];
    size_t cap = 0;
    ssize_t len;
    int n = 0, lineno = 0, room = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (len > AB_LINE_MAX || n >= AB_MAX_JOBS) {
            fprintf(stderr, "pressctl ab: %s:%d: %s\n", path, lineno,
                    n >= AB_MAX_JOBS ? "more than 10000 jobs" : "a line longer than 1 MiB");
            goto bad;
        }
        if (n == room) *jobs = xrealloc(*jobs, (size_t)(room = room ? room * 2 : 16) * sizeof **jobs);
        /* A template job is built as the preview worker builds it: its prompt, zone, palette. */
        if (job_parse(line, (size_t)len, &(*jobs)[n], err, sizeof err) != 0 ||
            job_apply_template(&(*jobs)[n], cfg, err, sizeof err) != 0) {
            fprintf(stderr, "pressctl ab: %s:%d: %s\n", path, lineno, err);
            goto bad;
        }
        for (int i = 0; i < n; i++)
            if (!strcmp((*jobs)[i].job_id, (*jobs)[n].job_id)) {
                fprintf(stderr, "pressctl ab: %s:%d: job_id \"%s\" appears twice (first on an earlier line)\n", path,
                        lineno, (*jobs)[n].job_id);
                goto bad;
            }
        n++;
    }
    free(line);
    fclose(f);
    if (!n) fprintf(stderr, "pressctl ab: %s: no jobs in the file\n", path);
    return n ? n : -1;
bad:
    free(line);
    fclose(f);
    return -1;
}

/* ==== The run ==== */

typedef struct {
    ab_run_t *run;
    loop_t *loop;
    verify_pool_t *pool;
    int next;        /* the next result to submit */
    int in_flight;   /* submitted, not yet verified or failed */
    int done;
    int write_errors;
} ab_driver_t;

/* The job as the model and the verifier see it for result r (its seed replaced). */
static job_t job_for(const ab_run_t *run, const ab_result_t *r) {
    job_t job = run->jobs[r->job];
    job.seed = run->seeds[r->seed];
    return job;
}

static void submit_next(ab_driver_t *d) {
    ab_run_t *run = d->run;
    ab_result_t *r = &run->results[d->next++];
    job_t job = job_for(run, r);
    char prompt[4096];
    job_render_prompt(&job, "", prompt, sizeof prompt);
    render_request_t req = {.prompt = prompt, .width = job.width, .height = job.height, .seed = job.seed,
                            .tmpl = job.template_name[0] ? config_template(run->cfg, job.template_name) : NULL};
    if (model_client_submit(run->models[r->model].client, &req, r) != 0) {
        snprintf(r->reason, sizeof r->reason, "out_of_memory");
        d->done++;
        return;
    }
    d->in_flight++;
}

/* A finished verdict: its report, reasons and time go into the result. */
static void take_verdicts(void *ctx, int fd, int events) {
    ab_driver_t *d = ctx;
    void *op;
    verdict_t *v;
    while ((v = verify_pool_next(d->pool, &op))) {
        ab_result_t *r = op;
        r->verified = true;
        r->pass = verdict_pass(v);
        r->report = verdict_report(v);
        const cJSON *el = cJSON_GetObjectItemCaseSensitive(r->report, "elapsed_ms");
        r->step_us[AB_STEP_VERIFY] = cJSON_IsNumber(el) ? (int64_t)(el->valuedouble * 1000) : 0;
        const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(r->report, "reasons"), *it;
        cJSON_ArrayForEach(it, reasons) if (cJSON_IsString(it)) r->failed_checks |= 1u << ab_check_of_reason(it->valuestring);
        verdict_free(v);
        d->in_flight--;
        d->done++;
    }
}

/* A model answered: keep its timings, write its image, hand it to the verifier. */
static void take_render(ab_driver_t *d, ab_result_t *r, render_result_t *rr) {
    ab_run_t *run = d->run;
    const render_timing_t *t = &rr->timing;
    int64_t steps[] = {t->dns_us, t->connect_us, t->tls_us, t->first_byte_us, t->transfer_us, t->decode_us};
    for (int i = 0; i <= AB_STEP_DECODE; i++) r->step_us[i] = steps[i];
    r->step_us[AB_STEP_REQUEST] = rr->latency_ms * 1000;
    r->http_status = rr->http_status;
    r->attempts = rr->attempts;
    r->sent = rr->sent;
    if (!rr->ok) {
        snprintf(r->reason, sizeof r->reason, "%s", rr->reason);
        snprintf(r->detail, sizeof r->detail, "%s", rr->detail);
        d->in_flight--;
        d->done++;
        return;
    }
    r->rendered = true;
    r->cost_micros = rr->price_micros;
    char path[1200], err[512];
    snprintf(r->image, sizeof r->image, "images/j%03d-s%" PRIu64 "-m%d.png", r->job, run->seeds[r->seed], r->model);
    snprintf(path, sizeof path, "%s/%s", run->out_dir, r->image);
    if (file_write_atomic(path, rr->png, rr->png_len, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl ab: %s\n", err);
        r->image[0] = 0;
        d->write_errors++;
    }
    job_t job = job_for(run, r);
    if (rr->sent.aspect_ratio[0]) snprintf(job.check_aspect, sizeof job.check_aspect, "%s", rr->sent.aspect_ratio);
    else if (rr->sent.width && rr->sent.height) job.width = rr->sent.width, job.height = rr->sent.height;
    int queued = verify_pool_submit(d->pool, &job, rr->png, rr->png_len, false, r); /* the pool takes the PNG */
    rr->png = NULL;
    if (queued != 0) { /* the pool is shutting down: cannot happen while the run drives it */
        snprintf(r->reason, sizeof r->reason, "verifier_unavailable");
        d->in_flight--;
        d->done++;
    }
}

static void take_renders(ab_driver_t *d) {
    for (int m = 0; m < d->run->n_models; m++) {
        void *op;
        render_result_t *rr;
        while ((rr = model_client_next(d->run->models[m].client, &op))) {
            take_render(d, op, rr);
            render_result_free(rr);
        }
    }
}

static void run_gates(void *ctx) {
    ab_driver_t *d = ctx;
    for (int m = 0; m < d->run->n_models; m++) model_client_run_gate(d->run->models[m].client);
}

/* A tier of one model (no fallbacks, no cap) for the model's client: the A/B compares
 * models, not a tier's fallback chain. Timeouts follow the slower of the two tiers. */
static tier_config_t tier_for(const config_t *cfg, const char *model, int concurrency) {
    tier_config_t t = cfg->preview;
    snprintf(t.name, sizeof t.name, "ab");
    snprintf(t.model, sizeof t.model, "%s", model);
    t.n_fallbacks = 0;
    t.fallback_configured = false;
    t.cap_micros = 0;
    t.max_inflight = concurrency;
    if (cfg->production.max_latency_ms > t.max_latency_ms) t.max_latency_ms = cfg->production.max_latency_ms;
    return t;
}

static int drive(ab_run_t *run, bool ocr, char *err, size_t errlen) {
    ab_driver_t d = {.run = run};
    int rc = -1;
    d.loop = loop_new();
    if (!d.loop) return snprintf(err, errlen, "out of memory"), -1;
    for (int m = 0; m < run->n_models; m++) {
        tier_config_t tier = tier_for(run->cfg, run->models[m].name, run->concurrency);
        run->models[m].client = model_client_new(run->cfg, &tier, d.loop, err, errlen);
        if (!run->models[m].client) goto out;
    }
    d.pool = verify_pool_new(&run->cfg->verifier, ocr, 0, err, errlen);
    if (!d.pool) goto out;
    loop_watch(d.loop, verify_pool_fd(d.pool), LOOP_READ, take_verdicts, &d);
    loop_before_sleep(d.loop, run_gates, &d);
    int64_t t0 = mono_ms();
    while (d.done < run->n_results) {
        while (d.next < run->n_results && d.in_flight < run->concurrency) submit_next(&d);
        loop_run_once(d.loop, 50);
        take_renders(&d);
        take_verdicts(&d, 0, 0);
    }
    run->wall_ms = mono_ms() - t0;
    rc = d.write_errors ? -1 : 0;
    if (rc) snprintf(err, errlen, "%d image%s could not be written into %s", d.write_errors,
                     d.write_errors == 1 ? "" : "s", run->out_dir);
out:
    if (d.pool) {
        loop_unwatch(d.loop, verify_pool_fd(d.pool));
        verify_pool_free(d.pool);
    }
    for (int m = 0; m < run->n_models; m++) {
        model_client_free(run->models[m].client);
        run->models[m].client = NULL;
    }
    loop_free(d.loop);
    return rc;
}

/* ==== Summary ==== */

static void summarise(ab_run_t *run) {
    run->summary = xcalloc((size_t)run->n_models, sizeof *run->summary);
    int64_t *v = xcalloc((size_t)run->n_results + 1, sizeof *v);
    for (int m = 0; m < run->n_models; m++) {
        ab_model_summary_t *s = &run->summary[m];
        for (int i = 0; i < run->n_results; i++) {
            const ab_result_t *r = &run->results[i];
            if (r->model != m) continue;
            s->requests++;
            s->rendered += r->rendered;
            s->verified += r->verified;
            s->accepted += r->verified && r->pass;
            s->cost_micros += r->cost_micros;
            if (r->rendered && !r->sent.seed_sent) {
                s->seed_not_sent++;
                if (!s->seed_note[0]) snprintf(s->seed_note, sizeof s->seed_note, "%s", r->sent.note);
            }
            for (int c = 0; c < AB_N_CHECKS; c++) s->check_pass[c] += r->verified && !(r->failed_checks & (1u << c));
        }
        for (int step = 0; step < AB_N_STEPS; step++) {
            size_t n = 0;
            for (int i = 0; i < run->n_results; i++) {
                const ab_result_t *r = &run->results[i];
                if (r->model == m && r->rendered && (step != AB_STEP_VERIFY || r->verified)) v[n++] = r->step_us[step];
            }
            stats_sort_i64(v, n);
            static const double P[3] = {50, 95, 99};
            for (int p = 0; p < 3; p++) s->pct_ms[step][p] = (double)stats_percentile(v, n, P[p]) / 1000.0;
        }
    }
    free(v);
}

cJSON *ab_reading(const ab_result_t *r) {
    if (!r->verified) return NULL;
    cJSON *out = cJSON_CreateArray();
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(r->report, "checks");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(checks, "text")) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(it, "expected");
        const cJSON *read = cJSON_GetObjectItemCaseSensitive(it, "read");
        cJSON *line = cJSON_CreateObject();
        cJSON_AddStringToObject(line, "expected", cJSON_IsString(exp) ? exp->valuestring : "");
        cJSON_AddStringToObject(line, "read", cJSON_IsString(read) ? read->valuestring : "");
        cJSON_AddItemToArray(out, line);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(checks, "extra_text")) {
        const cJSON *read = cJSON_GetObjectItemCaseSensitive(it, "read");
        cJSON *line = cJSON_CreateObject();
        cJSON_AddNullToObject(line, "expected");
        cJSON_AddStringToObject(line, "read", cJSON_IsString(read) ? read->valuestring : "");
        cJSON_AddItemToArray(out, line);
    }
    return out;
}

unsigned ab_differing_checks(const ab_run_t *run, int job, int seed) {
    unsigned any_fail = 0, all_fail = ~0u;
    bool any = false;
    for (int m = 0; m < run->n_models; m++) {
        const ab_result_t *r = ab_result(run, job, seed, m);
        unsigned f = r->verified ? r->failed_checks : ~0u; /* no image fails every check */
        any_fail |= f;
        all_fail &= f;
        any = true;
    }
    return any ? (any_fail & ~all_fail) & ((1u << AB_N_CHECKS) - 1) : 0;
}

static cJSON *checks_json(unsigned failed, bool verified) {
    cJSON *o = cJSON_CreateObject();
    for (int c = 0; c < AB_N_CHECKS; c++) {
        if (verified) cJSON_AddBoolToObject(o, AB_CHECK_NAMES[c], !(failed & (1u << c)));
        else cJSON_AddNullToObject(o, AB_CHECK_NAMES[c]);
    }
    return o;
}

static cJSON *result_json(const ab_run_t *run, const ab_result_t *r) {
    const job_t *job = &run->jobs[r->job];
    const ab_model_t *m = &run->models[r->model];
    char prompt[4096];
    job_t sent_job = *job;
    sent_job.seed = run->seeds[r->seed];
    job_render_prompt(&sent_job, "", prompt, sizeof prompt);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", job->job_id);
    cJSON_AddStringToObject(o, "revision", job->revision);
    if (job->template_name[0]) cJSON_AddStringToObject(o, "template", job->template_name);
    cJSON_AddNumberToObject(o, "seed", (double)run->seeds[r->seed]);
    cJSON_AddStringToObject(o, "model", m->name);
    cJSON_AddStringToObject(o, "provider", m->cfg->provider);
    cJSON_AddStringToObject(o, "provider_model", m->cfg->provider_model[0] ? m->cfg->provider_model : m->name);
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddBoolToObject(o, "seed_sent", r->sent.seed_sent);
    if (r->sent.note[0]) cJSON_AddStringToObject(o, "note", r->sent.note);
    cJSON_AddBoolToObject(o, "rendered", r->rendered);
    if (!r->rendered) {
        cJSON_AddStringToObject(o, "render_reason", r->reason);
        cJSON_AddStringToObject(o, "render_detail", r->detail);
    }
    cJSON_AddNumberToObject(o, "http_status", r->http_status);
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    cJSON *t = cJSON_AddObjectToObject(o, "timings_ms");
    for (int s = 0; s < AB_N_STEPS; s++) cJSON_AddNumberToObject(t, AB_STEP_NAMES[s], (double)r->step_us[s] / 1000.0);
    cJSON_AddNumberToObject(o, "cost_usd", (double)r->cost_micros / 1e6);
    if (r->verified) cJSON_AddBoolToObject(o, "pass", r->pass);
    else cJSON_AddNullToObject(o, "pass");
    cJSON *reasons = cJSON_AddArrayToObject(o, "reasons");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->report, "reasons"))
        cJSON_AddItemToArray(reasons, cJSON_Duplicate(it, 1));
    cJSON_AddItemToObject(o, "checks", checks_json(r->failed_checks, r->verified));
    cJSON *reading = ab_reading(r);
    if (reading) cJSON_AddItemToObject(o, "reading", reading);
    else cJSON_AddNullToObject(o, "reading");
    if (r->image[0]) cJSON_AddStringToObject(o, "image", r->image);
    else cJSON_AddNullToObject(o, "image");
    if (r->report) cJSON_AddItemToObject(o, "report", cJSON_Duplicate(r->report, 1));
    return o;
}

static cJSON *summary_json(const ab_run_t *run) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "jobs", run->n_jobs);
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds");
    for (int i = 0; i < run->n_seeds; i++) cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)run->seeds[i]));
    cJSON_AddNumberToObject(o, "requests", run->n_results);
    cJSON_AddNumberToObject(o, "concurrency", run->concurrency);
    cJSON_AddNumberToObject(o, "wall_ms", (double)run->wall_ms);
    cJSON *models = cJSON_AddArrayToObject(o, "models");
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", run->models[m].name);
        cJSON_AddStringToObject(j, "provider", run->models[m].cfg->provider);
        cJSON_AddNumberToObject(j, "requests", s->requests);
        cJSON_AddNumberToObject(j, "rendered", s->rendered);
        cJSON_AddNumberToObject(j, "verified", s->verified);
        cJSON_AddNumberToObject(j, "accepted", s->accepted);
        cJSON_AddNumberToObject(j, "pass_rate", s->requests ? (double)s->accepted / s->requests : 0);
        cJSON *pc = cJSON_AddObjectToObject(j, "pass_rate_by_check");
        for (int c = 0; c < AB_N_CHECKS; c++)
            cJSON_AddNumberToObject(pc, AB_CHECK_NAMES[c], s->verified ? (double)s->check_pass[c] / s->verified : 0);
        cJSON *steps = cJSON_AddObjectToObject(j, "steps_ms");
        for (int st = 0; st < AB_N_STEPS; st++) {
            cJSON *p = cJSON_AddObjectToObject(steps, AB_STEP_NAMES[st]);
            cJSON_AddNumberToObject(p, "p50", s->pct_ms[st][0]);
            cJSON_AddNumberToObject(p, "p95", s->pct_ms[st][1]);
            cJSON_AddNumberToObject(p, "p99", s->pct_ms[st][2]);
        }
        cJSON_AddNumberToObject(j, "cost_usd", (double)s->cost_micros / 1e6);
        if (s->rendered) cJSON_AddNumberToObject(j, "usd_per_image", (double)s->cost_micros / 1e6 / s->rendered);
        else cJSON_AddNullToObject(j, "usd_per_image");
        if (s->accepted) cJSON_AddNumberToObject(j, "usd_per_accepted", (double)s->cost_micros / 1e6 / s->accepted);
        else cJSON_AddNullToObject(j, "usd_per_accepted");
        cJSON_AddBoolToObject(j, "seed_sent", s->seed_not_sent == 0);
        if (s->seed_note[0]) cJSON_AddStringToObject(j, "seed_note", s->seed_note);
        cJSON_AddItemToArray(models, j);
    }
    cJSON *diffs = cJSON_AddArrayToObject(o, "diffs");
    int differing = 0;
    for (int jb = 0; jb < run->n_jobs; jb++)
        for (int sd = 0; sd < run->n_seeds; sd++) {
            unsigned checks = ab_differing_checks(run, jb, sd);
            bool verdicts_differ = false;
            for (int m = 1; m < run->n_models; m++)
                verdicts_differ |= (ab_result(run, jb, sd, m)->verified && ab_result(run, jb, sd, m)->pass) !=
                                   (ab_result(run, jb, sd, 0)->verified && ab_result(run, jb, sd, 0)->pass);
            differing += verdicts_differ;
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "job_id", run->jobs[jb].job_id);
            cJSON_AddNumberToObject(d, "seed", (double)run->seeds[sd]);
            cJSON_AddBoolToObject(d, "verdicts_differ", verdicts_differ);
            cJSON *dc = cJSON_AddArrayToObject(d, "differing_checks");
            for (int c = 0; c < AB_N_CHECKS; c++)
                if (checks & (1u << c)) cJSON_AddItemToArray(dc, cJSON_CreateString(AB_CHECK_NAMES[c]));
            cJSON *per = cJSON_AddObjectToObject(d, "models");
            for (int m = 0; m < run->n_models; m++) {
                const ab_result_t *r = ab_result(run, jb, sd, m);
                cJSON *pm = cJSON_AddObjectToObject(per, run->models[m].name);
                if (r->verified) cJSON_AddBoolToObject(pm, "pass", r->pass);
                else cJSON_AddNullToObject(pm, "pass");
                cJSON *rd = ab_reading(r);
                if (rd) cJSON_AddItemToObject(pm, "reading", rd);
                else cJSON_AddNullToObject(pm, "reading");
            }
            cJSON_AddItemToArray(diffs, d);
        }
    cJSON_AddNumberToObject(o, "verdicts_differ", differing);
    return o;
}

/* Writes text + "\n" lines atomically into DIR/name. */
static int write_out(const ab_run_t *run, const char *name, const char *text, char *err, size_t errlen) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", run->out_dir, name);
    return file_write_atomic(path, text, strlen(text), err, errlen);
}

static int write_outputs(const ab_run_t *run, char *err, size_t errlen) {
    size_t cap = 1 << 16, len = 0;
    char *all = xmalloc(cap);
    all[0] = 0;
    for (int i = 0; i < run->n_results; i++) {
        cJSON *o = result_json(run, &run->results[i]);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        size_t n = strlen(line);
        while (len + n + 2 > cap) all = xrealloc(all, cap *= 2);
        memcpy(all + len, line, n);
        len += n;
        all[len++] = '\n';
        all[len] = 0;
        free(line);
    }
    int rc = write_out(run, "results.jsonl", all, err, errlen);
    free(all);
    if (rc) return -1;
    cJSON *s = summary_json(run);
    char *text = cJSON_Print(s);
    cJSON_Delete(s);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    memcpy(text + n, "\n", 2);
    rc = write_out(run, "summary.json", text, err, errlen);
    free(text);
    if (rc) return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/report.html", run->out_dir);
    return ab_write_report(run, path, err, errlen);
}

static void print_summary(const ab_run_t *run) {
    printf("%-20s %8s %8s %9s %10s %10s %10s %12s %14s\n", "model", "requests", "accepted", "pass_rate", "p50_ms",
           "p95_ms", "p99_ms", "usd/image", "usd/accepted");
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        char per_acc[32] = "-";
        if (s->accepted) snprintf(per_acc, sizeof per_acc, "%.4f", (double)s->cost_micros / 1e6 / s->accepted);
        printf("%-20s %8d %8d %9.3f %10.1f %10.1f %10.1f %12.4f %14s\n", run->models[m].name, s->requests, s->accepted,
               s->requests ? (double)s->accepted / s->requests : 0, s->pct_ms[AB_STEP_REQUEST][0],
               s->pct_ms[AB_STEP_REQUEST][1], s->pct_ms[AB_STEP_REQUEST][2],
               s->rendered ? (double)s->cost_micros / 1e6 / s->rendered : 0, per_acc);
    }
    printf("wrote %s/report.html, results.jsonl, summary.json (%d requests in %lld ms)\n", run->out_dir,
           run->n_results, (long long)run->wall_ms);
}

/* ==== The command ==== */

int cmd_ab(int argc, char **argv) {
    ocr_thread_limit_reexec();
    const char *models_arg = NULL, *jobs_path = NULL, *seeds_arg = NULL, *out = NULL, *config_path = NULL;
    int concurrency = 8;
    bool no_ocr = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--models") || !strcmp(a, "--jobs") || !strcmp(a, "--seeds") ||
                     !strcmp(a, "--concurrency") || !strcmp(a, "--out") || !strcmp(a, "--config");
        if (takes && !val) {
            fprintf(stderr, "pressctl ab: %s expects a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--models")) models_arg = argv[++i];
        else if (!strcmp(a, "--jobs")) jobs_path = argv[++i];
        else if (!strcmp(a, "--seeds")) seeds_arg = argv[++i];
        else if (!strcmp(a, "--out")) out = argv[++i];
        else if (!strcmp(a, "--config")) config_path = argv[++i];
        else if (!strcmp(a, "--concurrency")) {
            if (arg_int("ab", "--concurrency", argv[++i], 1, 1024, &concurrency)) return 2;
        } else if (!strcmp(a, "--no-ocr")) no_ocr = true;
        else {
            fprintf(stderr, "pressctl ab: unexpected argument \"%s\"\n", a);
            pressctl_usage(stderr, "ab", NULL);
            return 2;
        }
    }
    if (!models_arg || !jobs_path || !out) {
        fprintf(stderr, "pressctl ab: --models, --jobs and --out are required\n");
        pressctl_usage(stderr, "ab", NULL);
        return 2;
    }
    static config_t cfg;
    char err[1024];
    if (config_load(&cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl ab: %s\n", err);
        return 2;
    }
    char names[AB_MAX_MODELS][64];
    int n_models = split_list("--models", models_arg, names, AB_MAX_MODELS);
    if (n_models < 0) return 2;
    ab_model_t models[AB_MAX_MODELS];
    memset(models, 0, sizeof models);
    for (int m = 0; m < n_models; m++) {
        const model_config_t *mc = config_model(&cfg, names[m]);
        if (!mc) {
            char known[1024] = "";
            for (int k = 0; k < cfg.n_models; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s\"%s\"", k ? ", " : "", cfg.models[k].name);
            fprintf(stderr, "pressctl ab: --models: unknown model \"%s\": expected one of the config's models.NAME (%s)\n",
                    names[m], known[0] ? known : "none configured");
            return 2;
        }
        for (int k = 0; k < m; k++)
            if (!strcmp(names[k], names[m])) {
                fprintf(stderr, "pressctl ab: --models: \"%s\" is named twice\n", names[m]);
                return 2;
            }
        snprintf(models[m].name, sizeof models[m].name, "%s", names[m]);
        models[m].cfg = mc;
    }
    ab_run_t run = {.cfg = &cfg, .models = models, .n_models = n_models, .out_dir = out, .concurrency = concurrency};
    uint64_t seeds[AB_MAX_SEEDS];
    run.n_jobs = read_jobs(jobs_path, &cfg, &run.jobs);
    int rc = 2;
    if (run.n_jobs < 0) goto done;
    if (seeds_arg) {
        if ((run.n_seeds = parse_seeds(seeds_arg, seeds)) < 0) goto done;
    } else {
        run.n_seeds = 1; /* each job's own seed: its "seed", or the one derived from its id */
        seeds[0] = run.jobs[0].seed;
        if (run.n_jobs > 1) {
            fprintf(stderr, "pressctl ab: --seeds is required with more than one job (the seeds every job runs with)\n");
            goto done;
        }
    }
    run.seeds = seeds;
    char images[1200];
    snprintf(images, sizeof images, "%s/images", out);
    if (mkdir_p(images, 0755) != 0) {
        fprintf(stderr, "pressctl ab: --out: cannot create %s: %s\n", images, strerror(errno));
        goto done;
    }
    run.n_results = run.n_jobs * run.n_seeds * n_models;
    run.results = xcalloc((size_t)run.n_results, sizeof *run.results);
    for (int j = 0, i = 0; j < run.n_jobs; j++)
        for (int s = 0; s < run.n_seeds; s++)
            for (int m = 0; m < n_models; m++, i++) run.results[i] = (ab_result_t){.job = j, .seed = s, .model = m};
    if (drive(&run, cfg.verify_ocr && !no_ocr, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl ab: %s\n", err);
        rc = strstr(err, "could not be written") ? 1 : 2;
        goto done;
    }
    summarise(&run);
    if (write_outputs(&run, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl ab: %s\n", err);
        rc = 1;
        goto done;
    }
    print_summary(&run);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    for (int i = 0; i < run.n_results; i++) cJSON_Delete(run.results[i].report);
    free(run.results);
    free(run.summary);
    free(run.jobs);
    return rc;
}
