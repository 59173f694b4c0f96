/* render_stage.c — admit, render, store, settle, verify; see render_stage.h. */
#include "render_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blobstore.h"
#include "budget.h"
#include "log.h"
#include "model_client.h"
#include "pipeline.h"

#define REDIS_RETRY_MS 1000
#define SETTLE_RETRY_MS 500
#define DEFER_RECHECK_MS 5000

/* One render in flight (or waiting for its charge to be recorded). */
typedef struct render {
    input_ref_t *ref;
    task_t task;
    char prompt[4096];
    render_result_t *result; /* set once the model answered and settle is pending */
    int64_t retry_at_ms;
    struct render *next;
} render_t;

struct render_stage {
    const config_t *cfg;
    const tier_config_t *tier;
    model_client_t *mc;
    budget_t *budget;
    int64_t worst_case_micros;
    int inflight;            /* model requests */
    render_t *unsettled;     /* rendered, charge not yet recorded (Redis down) */
    int n_unsettled;
    bool deferred_logged;    /* one log line per deferral episode */
};

render_stage_t *render_stage_new(const config_t *cfg, const tier_config_t *tier, char *err,
                                 size_t errlen) {
    render_stage_t *rs = calloc(1, sizeof *rs);
    rs->cfg = cfg;
    rs->tier = tier;
    rs->mc = model_client_new(cfg, tier, err, errlen);
    if (!rs->mc) {
        free(rs);
        return NULL;
    }
    rs->budget = budget_connect(cfg, err, errlen);
    if (!rs->budget) {
        model_client_free(rs->mc);
        free(rs);
        return NULL;
    }
    rs->worst_case_micros = model_client_worst_case_micros(rs->mc);
    return rs;
}

void render_stage_free(render_stage_t *rs) {
    if (!rs) return;
    model_client_free(rs->mc);
    while (rs->unsettled) {
        render_t *r = rs->unsettled;
        rs->unsettled = r->next;
        render_result_free(r->result);
        free(r);
    }
    budget_free(rs->budget);
    free(rs);
}

int render_stage_inflight(const render_stage_t *rs) { return rs->inflight + rs->n_unsettled; }

void render_stage_wait(render_stage_t *rs, struct curl_waitfd *fds, unsigned n, int timeout_ms) {
    if (rs->unsettled && timeout_ms > SETTLE_RETRY_MS) timeout_ms = SETTLE_RETRY_MS;
    model_client_poll(rs->mc, fds, n, timeout_ms);
}

/* ==== Admission ==== */

static void over_budget(render_stage_t *rs, worker_t *w, rd_kafka_message_t *m, input_ref_t *ref,
                        const task_t *task, const budget_decision_t *d) {
    const asset_class_t *cls = pipeline_class(rs->cfg, task->job.asset_class);
    bool has_preview = task->preview_uri[0] != 0;
    over_budget_t policy = cls->over_budget;
    if (policy == OVER_BUDGET_DEGRADE && !has_preview && !strcmp(task->stage, "preview"))
        policy = OVER_BUDGET_DEFER; /* nothing verified to degrade to yet */
    if (policy == OVER_BUDGET_DEFER) {
        /* Paused until the window turns; re-checked every DEFER_RECHECK_MS so an
         * operator raising the cap (pressctl budget set) takes effect. */
        int64_t until = d->window_reset_ms + 50;
        if (until > now_ms() + DEFER_RECHECK_MS) until = now_ms() + DEFER_RECHECK_MS;
        worker_park(w, m, ref, until, true, "budget_deferred");
        if (!rs->deferred_logged) {
            char reset[32];
            snprintf(reset, sizeof reset, "%lld", (long long)d->window_reset_ms);
            log_warn("budget_deferred", "tier", rs->tier->name, "job_id", task->job.job_id,
                     "window_resets_at_ms", reset, NULL);
            rs->deferred_logged = true;
        }
        return;
    }
    char detail[512];
    snprintf(detail, sizeof detail, "%s tier over its spend cap: %s", rs->tier->name, d->detail);
    if (policy == OVER_BUDGET_DEGRADE && has_preview) {
        task_t t = *task;
        snprintf(t.stage, sizeof t.stage, "preview");
        pipeline_finish(w, ref, &t, "degraded", "budget_exhausted", detail, task->preview_uri, NULL);
    } else {
        pipeline_finish(w, ref, task, "rejected", "budget_exhausted", detail, "", NULL);
    }
    worker_done(w, ref);
}

/* Hands a stored image to the verifier and ends the input. */
static void to_verifier(worker_t *w, input_ref_t *ref, task_t *task, const char *uri) {
    snprintf(task->image_uri, sizeof task->image_uri, "%s", uri);
    char *json = task_encode(task);
    worker_emit(w, ref, "verify", task->job.job_id, json);
    free(json);
    worker_done(w, ref);
}

void render_stage_start(render_stage_t *rs, worker_t *w, rd_kafka_message_t *m, input_ref_t *ref,
                        const task_t *task) {
    const char *id = task->job.job_id;
    budget_decision_t d;
    int rc = budget_admit(rs->budget, rs->tier->name, rs->tier->model, id, task->stage, task->attempt,
                          rs->worst_case_micros, &d);
    if (rc != 0) { /* Redis unreachable: fail closed, retry later */
        worker_park(w, m, ref, now_ms() + REDIS_RETRY_MS, true, "redis_unavailable");
        return;
    }
    if (d.status == BUDGET_RATE_LIMITED) {
        worker_park(w, m, ref, now_ms() + (d.retry_after_ms > 0 ? d.retry_after_ms : 100), true,
                    "rate_limited");
        return;
    }
    if (d.status == BUDGET_OVER_CAP) {
        over_budget(rs, w, m, ref, task, &d);
        return;
    }
    rs->deferred_logged = false;
    char uri[1024];
    if (blob_image_uri(rs->cfg->blob_root, id, task->stage, task->attempt, uri, sizeof uri) != 0) {
        task_t t = *task;
        pipeline_finish(w, ref, &t, "rejected", "storage_failed", "blob_root has no backend", "", NULL);
        budget_release(rs->budget, rs->tier->name, id, task->stage, task->attempt, &d);
        worker_done(w, ref);
        return;
    }
    if (d.settled && blob_exists(uri)) {
        /* Replay of a finished render: same image, same recorded charge. */
        task_t t = *task;
        snprintf(t.model, sizeof t.model, "%s", rs->tier->model);
        task_add_charge(&t, task->stage, task->attempt, rs->tier->model, d.charged_micros);
        log_info("render_replayed", "job_id", id, "stage", task->stage, NULL);
        to_verifier(w, ref, &t, uri);
        return;
    }
    render_t *r = calloc(1, sizeof *r);
    r->ref = ref;
    r->task = *task;
    if (!r->task.started_ms) r->task.started_ms = now_ms();
    job_render_prompt(&task->job, task->guidance, r->prompt, sizeof r->prompt);
    render_request_t req = {.prompt = r->prompt,
                            .width = task->job.width,
                            .height = task->job.height,
                            .seed = task->job.seed + (uint64_t)(task->attempt - 1),
                            .guidance = pipeline_guidance_scale(task->attempt),
                            .negative_prompt = task->guidance[0] ? "misspelled text, cropped text" : NULL};
    if (model_client_submit(rs->mc, &req, r) != 0) {
        free(r);
        worker_park(w, m, ref, now_ms() + REDIS_RETRY_MS, false, "out_of_memory");
        return;
    }
    rs->inflight++;
}

/* ==== Completion ==== */

static void render_failed(render_stage_t *rs, worker_t *w, render_t *r) {
    task_t *t = &r->task;
    budget_decision_t d;
    budget_release(rs->budget, rs->tier->name, t->job.job_id, t->stage, t->attempt, &d);
    const asset_class_t *cls = pipeline_class(rs->cfg, t->job.asset_class);
    char detail[700];
    snprintf(detail, sizeof detail, "%s: %s", r->result->reason, r->result->detail);
    snprintf(t->model, sizeof t->model, "%s", r->result->model);
    if (t->attempt < cls->max_attempts) {
        pipeline_escalate(w, r->ref, t, !strcmp(t->stage, "preview") ? "preview_failed" : "render_failed",
                          t->guidance, t->preview_uri);
    } else if (t->preview_uri[0]) {
        pipeline_finish(w, r->ref, t, "degraded", "render_failed", detail, t->preview_uri, NULL);
    } else {
        pipeline_finish(w, r->ref, t, "rejected", "render_failed", detail, "", NULL);
    }
    worker_done(w, r->ref);
}

/* Stores the image and records the charge; false when Redis must be retried. */
static bool render_succeeded(render_stage_t *rs, worker_t *w, render_t *r) {
    task_t *t = &r->task;
    char uri[1024], err[512];
    blob_image_uri(rs->cfg->blob_root, t->job.job_id, t->stage, t->attempt, uri, sizeof uri);
    if (!r->retry_at_ms && blob_put(uri, r->result->png, r->result->png_len, err, sizeof err) != 0) {
        log_error("blob_put_failed", "job_id", t->job.job_id, "error", err, NULL);
        budget_decision_t d;
        budget_settle(rs->budget, rs->tier->name, t->job.job_id, t->stage, t->attempt,
                      r->result->price_micros, &d);
        task_add_charge(t, t->stage, t->attempt, r->result->model, r->result->price_micros);
        pipeline_finish(w, r->ref, t, "rejected", "storage_failed", err, "", NULL);
        worker_done(w, r->ref);
        return true;
    }
    budget_decision_t d;
    if (budget_settle(rs->budget, rs->tier->name, t->job.job_id, t->stage, t->attempt,
                      r->result->price_micros, &d) != 0)
        return false;
    snprintf(t->model, sizeof t->model, "%s", r->result->model);
    task_add_charge(t, t->stage, t->attempt, r->result->model, d.charged_micros);
    to_verifier(w, r->ref, t, uri);
    return true;
}

void render_stage_collect(render_stage_t *rs, worker_t *w) {
    void *opaque;
    render_result_t *res;
    while ((res = model_client_next(rs->mc, &opaque))) {
        render_t *r = opaque;
        rs->inflight--;
        r->result = res;
        if (!res->ok) {
            render_failed(rs, w, r);
        } else if (!render_succeeded(rs, w, r)) {
            r->retry_at_ms = now_ms() + SETTLE_RETRY_MS;
            r->next = rs->unsettled;
            rs->unsettled = r;
            rs->n_unsettled++;
            continue;
        }
        render_result_free(res);
        free(r);
    }
    /* Charges Redis could not record yet: retry; the input stays held meanwhile. */
    int64_t now = now_ms();
    for (render_t **pp = &rs->unsettled; *pp;) {
        render_t *r = *pp;
        if (r->retry_at_ms > now || !render_succeeded(rs, w, r)) {
            if (r->retry_at_ms <= now) r->retry_at_ms = now + SETTLE_RETRY_MS;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        rs->n_unsettled--;
        render_result_free(r->result);
        free(r);
    }
}
