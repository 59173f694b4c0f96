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

#include "blob/blob_pool.h"
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

/* One check in flight: its image being read (blob pool), then checked (OCR pool). */
typedef struct check {
    input_t *in;
    task_t task;
    job_t checked;     /* what the image is checked against */
    int64_t queued_us; /* mono_us() at submission to the blob pool */
    struct check *prev, *next; /* verifier_state_t.checks */
} check_t;

typedef struct {
    blob_store_t *store; /* validated at start-up; read by the blob pool's threads */
    blob_pool_t *reads;  /* image reads, off the loop and off the OCR threads */
    verify_pool_t *pool;
    budget_t *budget; /* verdict costs come from its settled records */
    check_t *checks;  /* every check not yet decided: freed at exit (their inputs redelivered) */
    moderation_tail_t *moderation; /* the decisions counter (moderation.h); NULL without the topic */
} verifier_state_t;

static void on_verdicts(void *ctx, int fd, int events);
static void on_images(void *ctx, int fd, int events);

static void check_link(verifier_state_t *st, check_t *c) {
    c->next = st->checks;
    if (st->checks) st->checks->prev = c;
    st->checks = c;
}

static void check_free(verifier_state_t *st, check_t *c) {
    if (c->prev) c->prev->next = c->next;
    else st->checks = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

/* The verifier's default window (verifier.max_inflight 0): enough images read ahead and
 * queued that every OCR thread always has the next one while the loop decides, and every
 * blob thread has a read in flight (a read from s3 is a round trip). Verdicts waiting for
 * the broker's acknowledgement hold no slot. */
static int verifier_window(int ocr_threads, int blob_threads) {
    int n = 8 * ocr_threads + blob_threads;
    return n > 32 ? n : 32;
}

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
    st->reads = blob_pool_new(st->store, cfg->blob_threads, err, errlen);
    if (!st->reads) {
        blob_store_free(st->store);
        free(st);
        return -1;
    }
    st->pool = verify_pool_new(&cfg->verifier, cfg->verify_ocr, cfg->verifier.threads, err, errlen);
    if (!st->pool) {
        blob_pool_free(st->reads);
        blob_store_free(st->store);
        free(st);
        return -1;
    }
    st->budget = budget_connect(cfg, err, errlen);
    if (!st->budget) {
        verify_pool_free(st->pool);
        blob_pool_free(st->reads);
        blob_store_free(st->store);
        free(st);
        return -1;
    }
    route_set_ledger(&(route_ledger_t){.check_charges = check_charges, .record_verdict = record_verdict,
                                       .ctx = st->budget});
    worker_set_state(w, st);
    st->moderation = moderation_tail_start(cfg, worker_loop(w));
    loop_watch(worker_loop(w), verify_pool_fd(st->pool), LOOP_READ, on_verdicts, w);
    loop_watch(worker_loop(w), blob_pool_fd(st->reads), LOOP_READ, on_images, w);
    worker_set_max_inflight(w, cfg->verifier.max_inflight > 0
                                   ? cfg->verifier.max_inflight
                                   : verifier_window(verify_pool_threads(st->pool), cfg->blob_threads));
    return 0;
}

/* Verifications by stage and result, failed checks by reason code, time in the pool. */
static void count_verdict(const check_t *c, const verdict_t *v) {
    bool pass = verdict_pass(v);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_verifications_total",
                          "Images checked, by stage and result (and template: \"\" = none).", "stage",
                          stage_name(c->task.stage), "result", pass ? "pass" : "fail", "template",
                          c->task.job.template_name, NULL),
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
    check_t *c = xcalloc(1, sizeof *c);
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
    /* The image is checked against what its render asked the provider for: the size an
     * adapter mapped the job to, or the aspect ratio of a provider that takes one. */
    c->checked = c->task.job;
    const task_render_t *rd = &c->task.render;
    if (rd->known && rd->aspect_ratio[0])
        snprintf(c->checked.check_aspect, sizeof c->checked.check_aspect, "%s", rd->aspect_ratio);
    else if (rd->known) {
        c->checked.width = rd->width;
        c->checked.height = rd->height;
    }
    check_link(st, c);
    /* Read on a blob thread, not here: a slow volume never stalls the loop, nor an OCR thread. */
    blob_pool_get(st->reads, c->task.image_uri, (size_t)cfg->verifier.max_png_bytes, c);
}

/* Images read: each goes to the OCR pool (an unreadable one as empty bytes: checked as
 * undecodable, so it is re-rendered, never a crash). */
static void on_images(void *ctx, int fd, int events) {
    worker_t *w = ctx;
    verifier_state_t *st = worker_state(w);
    blob_done_t done;
    while (blob_pool_next(st->reads, &done)) {
        check_t *c = done.opaque;
        if (done.status != BLOB_OK)
            log_warn("image_unavailable", "job_id", c->task.job.job_id, "status", blob_status_name(done.status),
                     "error", done.err, NULL);
        /* The pool takes the bytes; when it refuses (shutting down) the input is left
         * unfinished, so it is redelivered. */
        if (verify_pool_submit(st->pool, &c->checked, done.data, done.len, c->task.backfill, c) != 0) check_free(st, c);
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
        check_free(st, c);
    }
}

static int verifier_inflight(worker_t *w) {
    verifier_state_t *st = worker_state(w);
    return blob_pool_pending(st->reads) + verify_pool_pending(st->pool);
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
    blob_pool_free(st->reads);  /* joins the readers before the store goes */
    verify_pool_free(st->pool);
    while (st->checks) check_free(st, st->checks); /* undecided: their inputs are redelivered */
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
