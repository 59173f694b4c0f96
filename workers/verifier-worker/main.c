/* verifier-worker — consumes rendered images, checks each against its job's
 * constraints on the OCR thread pool (verify.h), and decides where the job goes:
 *
 *   pass, preview of a "final"-route class  -> production (final render)
 *   pass                                     -> results, accepted
 *   fail, attempts left                      -> production with the guidance
 *   fail, none left, verified preview exists -> results, degraded (the preview)
 *   fail, none left                          -> rejected, verification_failed
 *
 * An image that cannot be read from the blob store is a failed check like any
 * other (it is re-rendered), never a crash. An image or preview URI outside the
 * store goes to the DLQ (blob_outside_store) without being read. The costs a verdict
 * carries are the budget's settled records (Redis), not the charges the message claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blobstore.h"
#include "budget/budget.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/message.h"
#include "base/metrics.h"
#include "moderation.h"
#include "verify/ocr.h"
#include "base/stats.h"
#include "route/route.h"
#include "runtime/loop.h"
#include "verify/verify.h"
#include "runtime/worker.h"

typedef struct {
    blob_store_t *store; /* validated at start-up; read by the checker threads */
    verify_pool_t *pool;
    budget_t *budget; /* verdict costs come from its settled records */
    moderation_tail_t *moderation; /* the decisions counter (moderation.h); NULL without the topic */
} verifier_state_t;

/* One check in flight. */
typedef struct {
    input_t *in;
    task_t task;
    int64_t queued_us; /* mono_us() at submission to the pool */
} check_t;

static void on_verdicts(void *ctx, int fd, int events);

static int check_charges(void *ctx, task_t *task) { return budget_verify_charges(ctx, task); }
static int record_verdict(void *ctx, const task_t *task, const char *verdict) {
    return budget_record_verdict(ctx, task, verdict);
}

static int verifier_init(worker_t *w, char *err, size_t errlen) {
    const config_t *cfg = worker_config(w);
    verifier_state_t *st = xcalloc(1, sizeof *st);
    st->store = blob_store_open(cfg, err, errlen);
    if (!st->store) {
        free(st);
        return -1;
    }
    st->pool = verify_pool_new(&cfg->verifier, cfg->verify_ocr, cfg->verifier.threads, err, errlen);
    if (!st->pool) {
        blob_store_free(st->store);
        free(st);
        return -1;
    }
    st->budget = budget_connect(cfg, err, errlen);
    if (!st->budget) {
        verify_pool_free(st->pool);
        blob_store_free(st->store);
        free(st);
        return -1;
    }
    route_set_ledger(&(route_ledger_t){.check_charges = check_charges, .record_verdict = record_verdict,
                                       .ctx = st->budget});
    worker_set_state(w, st);
    st->moderation = moderation_tail_start(cfg, worker_loop(w));
    loop_watch(worker_loop(w), verify_pool_fd(st->pool), LOOP_READ, on_verdicts, w);
    /* Enough queued to keep every OCR thread busy, few enough to redeliver little. */
    worker_set_max_inflight(w, 4 * verify_pool_threads(st->pool) + 4);
    return 0;
}

/* Verifications by stage and result, failed checks by reason code, time in the pool. */
static void count_verdict(const check_t *c, const verdict_t *v) {
    bool pass = verdict_pass(v);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_verifications_total", "Images checked, by stage and result.",
                          "stage", stage_name(c->task.stage), "result", pass ? "pass" : "fail", NULL),
               1);
    char reasons[512];
    snprintf(reasons, sizeof reasons, "%s", verdict_reasons(v));
    char *save = NULL;
    for (char *code = strtok_r(reasons, ",", &save); code; code = strtok_r(NULL, ",", &save))
        metric_inc(metric_get(METRIC_COUNTER, "pressroom_check_failures_total",
                              "Failed checks by reason code (an image can fail several).", "reason", code,
                              NULL),
                   1);
    metric_observe(metric_get(METRIC_HISTOGRAM, "pressroom_verify_seconds",
                              "Queue plus check time on the OCR pool.", NULL),
                   (double)(mono_us() - c->queued_us) / 1e6);
}

static void decide(worker_t *w, check_t *c, const verdict_t *v) {
    task_t *t = &c->task;
    count_verdict(c, v);
    if (!verdict_pass(v)) t->failed_checks++;
    char err[512];
    const asset_class_t *cls = route_class(worker_config(w), t->job.asset_class, err, sizeof err);
    if (!cls) {
        input_dlq(w, c->in, err);
        return;
    }
    cJSON *report = verdict_report(v);
    cJSON *rd = task_render_to_json(&t->render);
    if (rd && report) cJSON_AddItemToObject(report, "render", rd); /* the verdict says what was asked for */
    else cJSON_Delete(rd);
    fate_t f = route_after_check(cls, t, verdict_pass(v), verdict_reasons(v), verdict_guidance(v));
    /* Downstream may fetch a delivered image over HTTP: a presigned URL, signed here
     * (pure computation), valid blob_presign_ttl_s. */
    verifier_state_t *st = worker_state(w);
    char url[2048];
    int ttl = blob_presign_ttl_s(st->store);
    if (f.kind == FATE_FINISH && f.image_uri && f.image_uri[0] && ttl > 0) {
        if (blob_presign(st->store, f.image_uri, ttl, url, sizeof url, err, sizeof err) == 0) f.image_url = url;
        else log_warn("presign_failed", "job_id", t->job.job_id, "error", err, NULL);
    }
    route_apply(w, c->in, t, &f, report);
    cJSON_Delete(report);
}

static void verifier_on_input(worker_t *w, input_t *in) {
    verifier_state_t *st = worker_state(w);
    const config_t *cfg = worker_config(w);
    check_t *c = calloc(1, sizeof *c);
    char err[512];
    if (task_parse(input_payload(in), input_len(in), &c->task, err, sizeof err) != 0) {
        input_dlq(w, in, err);
        free(c);
        return;
    }
    c->task.backfill = input_backfill(in);
    if (!c->task.image_uri[0]) {
        input_dlq(w, in, "image: expected the URI of the rendered image");
        free(c);
        return;
    }
    if (!route_class(cfg, c->task.job.asset_class, err, sizeof err)) {
        input_dlq(w, in, err);
        free(c);
        return;
    }
    /* A reference outside the blob store is never read, checked nor delivered. */
    char reason[600];
    if (c->task.preview_uri[0] && !blob_uri_inside(st->store, c->task.preview_uri, err, sizeof err)) {
        snprintf(reason, sizeof reason, "%s: preview_image: %s", blob_status_name(BLOB_OUTSIDE_STORE), err);
        input_dlq(w, in, reason);
        free(c);
        return;
    }
    if (!blob_uri_inside(st->store, c->task.image_uri, err, sizeof err)) {
        snprintf(reason, sizeof reason, "%s: image: %s", blob_status_name(BLOB_OUTSIDE_STORE), err);
        input_dlq(w, in, reason);
        free(c);
        return;
    }
    c->in = in;
    c->queued_us = mono_us();
    /* Read on the checker thread, not here: a slow volume never stalls the loop. */
    /* The image is checked against what its render asked the provider for: the size an
     * adapter mapped the job to, or the aspect ratio of a provider that takes one. */
    job_t checked = c->task.job;
    const task_render_t *rd = &c->task.render;
    if (rd->known && rd->aspect_ratio[0]) snprintf(checked.check_aspect, sizeof checked.check_aspect, "%s", rd->aspect_ratio);
    else if (rd->known) {
        checked.width = rd->width;
        checked.height = rd->height;
    }
    if (verify_pool_submit_blob(st->pool, &checked, st->store, c->task.image_uri,
                                (size_t)cfg->verifier.max_png_bytes, c) != 0) {
        /* Shutting down: leave the input unfinished so it is redelivered. */
        free(c);
    }
}

static void on_verdicts(void *ctx, int fd, int events) {
    worker_t *w = ctx;
    verifier_state_t *st = worker_state(w);
    void *opaque;
    verdict_t *v;
    while ((v = verify_pool_next(st->pool, &opaque))) {
        check_t *c = opaque;
        decide(w, c, v);
        verdict_free(v);
        free(c);
    }
}

static int verifier_inflight(worker_t *w) {
    verifier_state_t *st = worker_state(w);
    return verify_pool_pending(st->pool);
}

static void verifier_refresh_metrics(worker_t *w) {
    verifier_state_t *st = worker_state(w);
    metric_set(metric_get(METRIC_GAUGE, "pressroom_ocr_threads", "OCR pool threads.", NULL),
               verify_pool_threads(st->pool));
}

static void verifier_fini(worker_t *w) {
    verifier_state_t *st = worker_state(w);
    if (!st) return;
    moderation_tail_free(st->moderation);
    verify_pool_free(st->pool); /* joins the checker threads before the store goes */
    budget_free(st->budget);
    blob_store_free(st->store);
    free(st);
}

int main(int argc, char **argv) {
    ocr_thread_limit_reexec(); /* OMP_THREAD_LIMIT=1 must be set before libgomp loads */
    static const worker_stage_t stage = {
        .name = "verifier-worker",
        .input = "verify",
        .init = verifier_init,
        .on_input = verifier_on_input,
        .inflight = verifier_inflight,
        .fini = verifier_fini,
        .refresh_metrics = verifier_refresh_metrics,
    };
    return worker_main(argc, argv, &stage);
}
