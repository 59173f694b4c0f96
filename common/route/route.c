/* pipeline.c — routing and terminal verdicts; see pipeline.h. */
#include "route/route.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"

const asset_class_t *pipeline_class(const config_t *cfg, const char *asset_class) {
    static asset_class_t fallback = {"default", ROUTE_PREVIEW, OVER_BUDGET_DEFER, 3};
    const asset_class_t *c = config_class(cfg, asset_class);
    if (c) return c;
    fallback.max_attempts = cfg->default_max_attempts;
    return &fallback;
}

int pipeline_finish(worker_t *w, input_ref_t *ref, const task_t *task, const char *verdict,
                    const char *reason, const char *detail, const char *image_uri,
                    const cJSON *report) {
    outcome_t o;
    memset(&o, 0, sizeof o);
    snprintf(o.job_id, sizeof o.job_id, "%s", task->job.job_id);
    snprintf(o.asset_class, sizeof o.asset_class, "%s", task->job.asset_class);
    snprintf(o.verdict, sizeof o.verdict, "%s", verdict);
    snprintf(o.reason, sizeof o.reason, "%s", reason ? reason : "");
    snprintf(o.detail, sizeof o.detail, "%s", detail ? detail : "");
    snprintf(o.image_uri, sizeof o.image_uri, "%s", image_uri ? image_uri : "");
    snprintf(o.stage, sizeof o.stage, "%s", task->stage);
    snprintf(o.model, sizeof o.model, "%s", task->model);
    o.attempt = task->attempt;
    memcpy(o.charges, task->charges, sizeof o.charges);
    o.n_charges = task->n_charges;
    o.cost_micros = task_cost(task);
    int64_t start = task->job.submitted_ms ? task->job.submitted_ms : task->started_ms;
    o.latency_ms = start ? now_ms() - start : 0;
    if (o.latency_ms < 0) o.latency_ms = 0;
    for (int i = 0; i < task->n_charges; i++)
        if (!strcmp(task->charges[i].stage, "production")) o.escalations++;
    o.failed_checks = task->failed_checks;
    o.report = (cJSON *)report; /* borrowed: outcome_encode copies it */
    char *json = outcome_encode(&o);
    int rc = worker_emit(w, ref, strcmp(verdict, "rejected") ? "results" : "rejected", o.job_id, json);
    char cost[32];
    snprintf(cost, sizeof cost, "%lld", (long long)o.cost_micros);
    log_info("job_finished", "job_id", o.job_id, "verdict", verdict, "reason", o.reason, "cost_micros",
             cost, NULL);
    const char *cls = o.asset_class[0] ? o.asset_class : "unknown";
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_verdicts_total", "Jobs ended, by verdict and reason.",
                          "asset_class", cls, "verdict", verdict, "reason", o.reason, NULL),
               1);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_spend_usd_total",
                          "Charges carried by finished jobs, in dollars.", "asset_class", cls, NULL),
               (double)o.cost_micros / 1e6);
    metric_observe(metric_get(METRIC_HISTOGRAM, "pressroom_job_seconds",
                              "Submission to verdict, per asset class.", "asset_class", cls, NULL),
                   (double)o.latency_ms / 1000.0);
    free(json);
    return rc;
}

int pipeline_escalate(worker_t *w, input_ref_t *ref, const task_t *task, const char *escalation,
                      const char *guidance, const char *preview_uri) {
    task_t next = *task;
    snprintf(next.stage, sizeof next.stage, "production");
    next.attempt = task->attempt + 1;
    next.image_uri[0] = 0;
    next.model[0] = 0;
    snprintf(next.escalation, sizeof next.escalation, "%s", escalation);
    snprintf(next.guidance, sizeof next.guidance, "%s", guidance ? guidance : "");
    snprintf(next.preview_uri, sizeof next.preview_uri, "%s", preview_uri ? preview_uri : "");
    char *json = task_encode(&next);
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", next.attempt);
    log_info("job_escalated", "job_id", task->job.job_id, "escalation", escalation, "attempt", attempt,
             NULL);
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_escalations_total",
                          "Jobs sent to production, by why.", "escalation", escalation, NULL),
               1);
    int rc = worker_emit(w, ref, "production", task->job.job_id, json);
    free(json);
    return rc;
}

double pipeline_guidance_scale(int attempt) {
    return attempt <= 1 ? 0.0 : 7.0 * (1.0 + 0.5 * (attempt - 1));
}
