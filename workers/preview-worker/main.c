/* preview-worker — consumes jobs, validates them, admits each against the preview
 * tier's budget, renders it with the fast model (many in flight) and hands the
 * image to the verifier. Jobs whose asset class skips the preview go straight to
 * production. A message that is not a valid job goes to the DLQ with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/clock.h"
#include "base/message.h"
#include "route/route.h"
#include "render/render_stage.h"
#include "runtime/worker.h"

static int preview_init(worker_t *w, char *err, size_t errlen) {
    return render_stage_attach(w, &worker_config(w)->preview, err, errlen);
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
    render_stage_start(w, m, ref, &task);
}

int main(int argc, char **argv) {
    worker_stage_t stage = render_stage_worker("preview-worker", "jobs", preview_init, preview_on_message);
    return worker_main(argc, argv, &stage);
}
