/* route.c — a job's fate: the pure decisions, and route_apply; see route.h. */
#include "route/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/redact.h"

const asset_class_t *route_class(const config_t *cfg, const char *asset_class, char *err, size_t errlen) {
    const asset_class_t *c = config_class(cfg, asset_class);
    if (c) return c;
    char known[512];
    config_class_names(cfg, known, sizeof known);
    snprintf(err, errlen, "asset_class: unknown class \"%s\"; expected one of %s (the config's asset_classes)",
             asset_class, known);
    return NULL;
}

static fate_t finish(job_verdict_t v, const char *reason, const char *detail, const char *image_uri) {
    fate_t f = {.kind = FATE_FINISH, .verdict = v, .reason = reason, .image_uri = image_uri};
    snprintf(f.detail, sizeof f.detail, "%s", detail ? detail : "");
    return f;
}

static fate_t escalate(const char *escalation, const char *guidance, const char *preview_uri) {
    return (fate_t){.kind = FATE_ESCALATE, .escalation = escalation, .guidance = guidance,
                    .preview_uri = preview_uri};
}

fate_t route_on_arrival(const asset_class_t *cls, const task_t *task) {
    if (cls->route == ROUTE_PRODUCTION_ONLY) return escalate("route", "", "");
    return (fate_t){.kind = FATE_RENDER};
}

fate_t route_failure(const asset_class_t *cls, const task_t *task, const char *escalation, const char *reason,
                     const char *detail, const char *guidance) {
    if (task->attempt < cls->max_attempts) return escalate(escalation, guidance, task->preview_uri);
    if (task->preview_uri[0]) return finish(VERDICT_DEGRADED, reason, detail, task->preview_uri);
    return finish(VERDICT_REJECTED, reason, detail, task->image_uri);
}

fate_t route_after_check(const asset_class_t *cls, const task_t *task, bool pass, const char *reasons,
                         const char *guidance) {
    bool preview = task->stage == STAGE_PREVIEW;
    if (pass) {
        if (preview && cls->route == ROUTE_FINAL && task->attempt < cls->max_attempts)
            return escalate("final_render", "", task->image_uri);
        return finish(VERDICT_ACCEPTED, "", "", task->image_uri);
    }
    char detail[1024];
    snprintf(detail, sizeof detail, "%s: %s", reasons, guidance);
    return route_failure(cls, task, "verification_failed", "verification_failed", detail, guidance);
}

fate_t route_after_render_failure(const asset_class_t *cls, const task_t *task, const char *reason,
                                  const char *detail) {
    char d[1024];
    snprintf(d, sizeof d, "%s: %s", reason, detail);
    fate_t f = route_failure(cls, task, task->stage == STAGE_PREVIEW ? "preview_failed" : "render_failed",
                             "render_failed", d, task->guidance);
    if (f.kind == FATE_FINISH && f.verdict == VERDICT_REJECTED) f.image_uri = ""; /* nothing was drawn */
    return f;
}

fate_t route_over_budget(const asset_class_t *cls, const task_t *task, const char *tier, const char *detail,
                         int64_t window_reset_ms) {
    bool has_preview = task->preview_uri[0] != 0;
    over_budget_t policy = cls->over_budget;
    if (policy == OVER_BUDGET_DEGRADE && !has_preview && task->stage == STAGE_PREVIEW)
        policy = OVER_BUDGET_DEFER; /* nothing verified to degrade to yet */
    if (policy == OVER_BUDGET_DEFER) {
        return (fate_t){.kind = FATE_DEFER, .until_ms = window_reset_ms + 50, .why = "budget_deferred"};
    }
    char d[1024];
    snprintf(d, sizeof d, "%s tier over its spend cap: %s", tier, detail);
    if (policy == OVER_BUDGET_DEGRADE && has_preview) {
        fate_t f = finish(VERDICT_DEGRADED, "budget_exhausted", d, task->preview_uri);
        f.as_preview = true;
        return f;
    }
    return finish(VERDICT_REJECTED, "budget_exhausted", d, "");
}

double route_guidance_scale(int attempt) { return attempt <= 1 ? 0.0 : 7.0 * (1.0 + 0.5 * (attempt - 1)); }

/* ==== Acting on a fate ==== */

static route_ledger_t g_ledger;

void route_set_ledger(const route_ledger_t *ledger) { g_ledger = *ledger; }

static void emit_verdict(worker_t *w, input_t *in, const task_t *msg_task, const fate_t *f, const cJSON *report) {
    const char *verdict = job_verdict_name(f->verdict);
    /* The costs on a verdict are the budget's settled records, never the message's. */
    task_t checked = *msg_task;
    const task_t *task = &checked;
    if (g_ledger.check_charges) {
        int changed = g_ledger.check_charges(g_ledger.ctx, &checked);
        if (changed < 0) {
            input_park(w, in, now_ms() + 1000, true, "redis_unavailable");
            return;
        }
        if (changed > 0) {
            char n[16];
            snprintf(n, sizeof n, "%d", changed);
            log_warn("verdict_charges_corrected", "job_id", task->job.job_id, "charges", n, "msg",
                     "the message carried charges the budget did not settle; the verdict carries the budget's", NULL);
        }
    }
    bool retryable = f->reason && !strcmp(f->reason, "budget_exhausted");
    if (g_ledger.record_verdict && !retryable && g_ledger.record_verdict(g_ledger.ctx, task, verdict) != 0) {
        input_park(w, in, now_ms() + 1000, true, "redis_unavailable");
        return;
    }
    outcome_t o;
    memset(&o, 0, sizeof o);
    snprintf(o.job_id, sizeof o.job_id, "%s", task->job.job_id);
    snprintf(o.revision, sizeof o.revision, "%s", task->job.revision);
    snprintf(o.asset_class, sizeof o.asset_class, "%s", task->job.asset_class);
    snprintf(o.prompt, sizeof o.prompt, "%s", task->job.prompt);
    snprintf(o.metadata, sizeof o.metadata, "%s", task->job.metadata);
    snprintf(o.template_name, sizeof o.template_name, "%s", task->job.template_name);
    memcpy(o.slot_names, task->job.slot_names, sizeof o.slot_names);
    memcpy(o.slot_values, task->job.slot_values, sizeof o.slot_values);
    o.n_slots = task->job.n_slots;
    o.verdict = f->verdict;
    snprintf(o.reason, sizeof o.reason, "%s", f->reason ? f->reason : "");
    snprintf(o.detail, sizeof o.detail, "%s", f->detail);
    redact(o.detail, sizeof o.detail); /* every detail was redacted at its source; this is the last door */
    snprintf(o.image_uri, sizeof o.image_uri, "%s", f->image_uri ? f->image_uri : "");
    snprintf(o.image_url, sizeof o.image_url, "%s", f->image_url && o.image_uri[0] ? f->image_url : "");
    o.stage = f->as_preview ? STAGE_PREVIEW : task->stage;
    snprintf(o.model, sizeof o.model, "%s", task->model);
    o.attempt = task->attempt;
    /* The seed the delivered image was asked with (render_stage: job seed + attempt - 1;
     * a degraded verdict delivers the preview, attempt 1). */
    o.has_seed = o.image_uri[0] != 0;
    o.seed = task->job.seed + (f->as_preview || task->attempt < 1 ? 0 : (uint64_t)(task->attempt - 1));
    memcpy(o.charges, task->charges, sizeof o.charges);
    o.n_charges = task->n_charges;
    o.cost_micros = task_cost(task);
    int64_t start = task->job.submitted_ms ? task->job.submitted_ms : task->started_ms;
    o.latency_ms = start ? now_ms() - start : 0;
    if (o.latency_ms < 0) o.latency_ms = 0;
    for (int i = 0; i < task->n_charges; i++)
        if (task->charges[i].stage == STAGE_PRODUCTION) o.escalations++;
    o.failed_checks = task->failed_checks;
    o.backfill = task->backfill;
    o.report = (cJSON *)report; /* borrowed: outcome_encode copies it */
    char *json = outcome_encode(&o);
    worker_emit(w, in, f->verdict == VERDICT_REJECTED ? "rejected" : "results", o.job_id, json);
    free(json);
    char cost[32];
    snprintf(cost, sizeof cost, "%lld", (long long)o.cost_micros);
    log_info("job_finished", "job_id", o.job_id, "verdict", verdict, "reason", o.reason, "cost_micros", cost, NULL);
    const char *cls = o.asset_class[0] ? o.asset_class : "unknown";
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_verdicts_total",
                          "Jobs ended, by verdict and reason (and template: \"\" = none).", "asset_class", cls,
                          "verdict", verdict, "reason", o.reason, "template", o.template_name, NULL),
               1);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_spend_usd_total", "Charges carried by finished jobs, in dollars.",
                          "asset_class", cls, NULL),
               (double)o.cost_micros / 1e6);
    metric_observe(metric_get(METRIC_HISTOGRAM, "pressroom_job_seconds", "Submission to verdict, per asset class.",
                              "asset_class", cls, NULL),
                   (double)o.latency_ms / 1000.0);
    input_done(w, in);
}

static void emit_escalation(worker_t *w, input_t *in, const task_t *task, const fate_t *f) {
    task_t next = *task;
    next.stage = STAGE_PRODUCTION;
    next.attempt = task->attempt + 1;
    next.image_uri[0] = 0;
    next.model[0] = 0;
    memset(&next.render, 0, sizeof next.render); /* nothing rendered yet for this attempt */
    snprintf(next.escalation, sizeof next.escalation, "%s", f->escalation);
    snprintf(next.guidance, sizeof next.guidance, "%s", f->guidance ? f->guidance : "");
    snprintf(next.preview_uri, sizeof next.preview_uri, "%s", f->preview_uri ? f->preview_uri : "");
    char *json = task_encode(&next);
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", next.attempt);
    log_info("job_escalated", "job_id", task->job.job_id, "escalation", f->escalation, "attempt", attempt, NULL);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_escalations_total", "Jobs sent to production, by why.",
                          "escalation", f->escalation, NULL),
               1);
    worker_emit(w, in, "production", task->job.job_id, json);
    free(json);
    input_done(w, in);
}

/* A deferred job leaves its partition (the ledger holds it) so the work behind it flows
 * on; without a ledger, or with Redis unreachable, it is parked and consumption pauses. */
static void defer_job(worker_t *w, input_t *in, const task_t *task, const fate_t *f) {
    if (g_ledger.hold && g_ledger.hold(g_ledger.ctx, in, task, f->until_ms) == 0) {
        char due[24];
        snprintf(due, sizeof due, "%lld", (long long)f->until_ms);
        log_info("job_deferred", "job_id", task->job.job_id, "why", f->why, "due_ms", due, NULL);
        metric_inc(metric_get(METRIC_COUNTER, "pressroom_deferrals_total",
                              "Jobs handed to the deferred store (over a deferring class's cap).", "stage",
                              stage_name(task->stage), NULL),
                   1);
        return input_done(w, in);
    }
    input_park(w, in, g_ledger.hold ? now_ms() + 1000 : f->until_ms, true, g_ledger.hold ? "redis_unavailable" : f->why);
}

void route_apply(worker_t *w, input_t *in, const task_t *task, const fate_t *f, const cJSON *report) {
    switch (f->kind) {
    case FATE_RENDER: return;
    case FATE_FINISH: return emit_verdict(w, in, task, f, report);
    case FATE_ESCALATE: return emit_escalation(w, in, task, f);
    case FATE_DEFER: return defer_job(w, in, task, f);
    case FATE_DEAD_LETTER: return input_dlq(w, in, f->detail);
    }
}
