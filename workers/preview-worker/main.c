/* preview-worker — consumes jobs, validates them, admits each against the preview
 * tier's budget, renders it with the fast model (many in flight) and hands the
 * image to the verifier. Jobs whose asset class skips the preview go straight to
 * production. A message that is not a valid job goes to the DLQ with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "pipeline.h"
#include "render_stage.h"
#include "worker.h"

static int preview_init(worker_t *w, char *err, size_t errlen) {
    const config_t *cfg = worker_config(w);
    render_stage_t *rs = render_stage_new(cfg, &cfg->preview, err, errlen);
    if (!rs) return -1;
    worker_set_state(w, rs);
    worker_set_max_inflight(w, cfg->preview.max_inflight);
    return 0;
}

static void preview_on_message(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref) {
    task_t task;
    memset(&task, 0, sizeof task);
    char err[512];
    if (job_parse(m->payload, m->len, &task.job, err, sizeof err) != 0) {
        worker_dlq(w, m, ref, err);
        return;
    }
    task.started_ms = now_ms();
    const asset_class_t *cls = pipeline_class(worker_config(w), task.job.asset_class);
    if (cls->route == ROUTE_PRODUCTION_ONLY) {
        snprintf(task.stage, sizeof task.stage, "preview");
        task.attempt = 0; /* no preview render: production is attempt 1 */
        pipeline_escalate(w, ref, &task, "route", "", "");
        worker_done(w, ref);
        return;
    }
    snprintf(task.stage, sizeof task.stage, "preview");
    task.attempt = 1;
    render_stage_start(worker_state(w), w, m, ref, &task);
}

static void preview_wait(worker_t *w, struct curl_waitfd *fds, unsigned n, int timeout_ms) {
    render_stage_wait(worker_state(w), fds, n, timeout_ms);
}
static void preview_collect(worker_t *w) { render_stage_collect(worker_state(w), w); }
static int preview_inflight(worker_t *w) { return render_stage_inflight(worker_state(w)); }
static void preview_fini(worker_t *w) { render_stage_free(worker_state(w)); }
static void preview_log_stats(worker_t *w) { render_stage_log_stats(worker_state(w)); }

int main(int argc, char **argv) {
    static const worker_stage_t stage = {
        .name = "preview-worker",
        .input = "jobs",
        .init = preview_init,
        .on_message = preview_on_message,
        .wait = preview_wait,
        .collect = preview_collect,
        .inflight = preview_inflight,
        .fini = preview_fini,
        .log_stats = preview_log_stats,
    };
    return worker_main(argc, argv, &stage);
}
