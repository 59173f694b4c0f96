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
 * other (it is re-rendered), never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/blobstore.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/message.h"
#include "base/metrics.h"
#include "verify/ocr.h"
#include "route/route.h"
#include "base/stats.h"
#include "verify/verify.h"
#include "runtime/worker.h"

typedef struct {
    verify_pool_t *pool;
} verifier_state_t;

/* One check in flight. */
typedef struct {
    input_ref_t *ref;
    task_t task;
    int64_t queued_us; /* mono_us() at submission to the pool */
} check_t;

static int verifier_init(worker_t *w, char *err, size_t errlen) {
    const config_t *cfg = worker_config(w);
    verifier_state_t *st = calloc(1, sizeof *st);
    st->pool = verify_pool_new(&cfg->verifier, cfg->verify_ocr, cfg->verifier.threads, err, errlen);
    if (!st->pool) {
        free(st);
        return -1;
    }
    worker_set_state(w, st);
    worker_add_fd(w, verify_pool_fd(st->pool));
    /* Enough queued to keep every OCR thread busy, few enough to redeliver little. */
    worker_set_max_inflight(w, 4 * verify_pool_threads(st->pool) + 4);
    return 0;
}

/* Verifications by stage and result, failed checks by reason code, time in the pool. */
static void count_verdict(const check_t *c, const verdict_t *v) {
    bool pass = verdict_pass(v);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_verifications_total", "Images checked, by stage and result.",
                          "stage", c->task.stage, "result", pass ? "pass" : "fail", NULL),
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
    const asset_class_t *cls = pipeline_class(worker_config(w), t->job.asset_class);
    cJSON *report = verdict_report(v);
    bool preview = !strcmp(t->stage, "preview");
    if (verdict_pass(v)) {
        if (preview && cls->route == ROUTE_FINAL && t->attempt < cls->max_attempts)
            pipeline_escalate(w, c->ref, t, "final_render", "", t->image_uri);
        else
            pipeline_finish(w, c->ref, t, "accepted", "", "", t->image_uri, report);
    } else if (t->attempt < cls->max_attempts) {
        pipeline_escalate(w, c->ref, t, "verification_failed", verdict_guidance(v), t->preview_uri);
    } else {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s: %s", verdict_reasons(v), verdict_guidance(v));
        if (t->preview_uri[0])
            pipeline_finish(w, c->ref, t, "degraded", "verification_failed", detail, t->preview_uri, report);
        else
            pipeline_finish(w, c->ref, t, "rejected", "verification_failed", detail, t->image_uri, report);
    }
    cJSON_Delete(report);
    worker_done(w, c->ref);
}

static void verifier_on_message(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref) {
    verifier_state_t *st = worker_state(w);
    const config_t *cfg = worker_config(w);
    check_t *c = calloc(1, sizeof *c);
    char err[512];
    if (task_parse(m->payload, m->len, &c->task, err, sizeof err) != 0) {
        worker_dlq(w, m, ref, err);
        free(c);
        return;
    }
    if (!c->task.image_uri[0]) {
        worker_dlq(w, m, ref, "image: expected the URI of the rendered image");
        free(c);
        return;
    }
    c->ref = ref;
    size_t len = 0;
    unsigned char *png = blob_get(c->task.image_uri, (size_t)cfg->verifier.max_png_bytes, &len, err,
                                  sizeof err);
    if (!png) {
        /* An image we cannot read is checked as empty bytes: image_undecodable. */
        log_warn("image_unavailable", "job_id", c->task.job.job_id, "error", err, NULL);
        png = malloc(1);
        len = 0;
    }
    c->queued_us = mono_us();
    if (verify_pool_submit(st->pool, &c->task.job, png, len, c) != 0) {
        /* Shutting down: leave the input unfinished so it is redelivered. */
        free(c);
    }
}

static void verifier_collect(worker_t *w) {
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
    verify_pool_free(st->pool);
    free(st);
}

int main(int argc, char **argv) {
    ocr_thread_limit_reexec(); /* OMP_THREAD_LIMIT=1 must be set before libgomp loads */
    static const worker_stage_t stage = {
        .name = "verifier-worker",
        .input = "verify",
        .init = verifier_init,
        .on_message = verifier_on_message,
        .collect = verifier_collect,
        .inflight = verifier_inflight,
        .fini = verifier_fini,
        .refresh_metrics = verifier_refresh_metrics,
    };
    return worker_main(argc, argv, &stage);
}
