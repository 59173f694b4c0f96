/* preview-worker — consumes jobs, validates them, admits each against the preview
 * tier's budget, renders it with the fast model (many in flight) and hands the
 * image to the verifier. Jobs whose asset class skips the preview go straight to
 * production (route_on_arrival). A message that is not a valid job, or names an asset
 * class or template the config does not know, goes to the DLQ with the reason. A job naming
 * a template gets its prompt, zone and palette from it here (job_apply_template): the task
 * carries the built job to every later stage. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/message.h"
#include "base/prompt.h"
#include "render/render_stage.h"
#include "route/route.h"
#include "runtime/worker.h"

static int preview_init(worker_t *w, char *err, size_t errlen) {
    return render_stage_attach(w, &worker_config(w)->preview, err, errlen);
}

static void preview_on_input(worker_t *w, input_t *in) {
    task_t task;
    memset(&task, 0, sizeof task);
    char err[512];
    if (job_parse(input_payload(in), input_len(in), &task.job, err, sizeof err) != 0) {
        input_dlq(w, in, err);
        return;
    }
    const asset_class_t *cls = route_class(worker_config(w), task.job.asset_class, err, sizeof err);
    if (!cls || job_apply_template(&task.job, worker_config(w), err, sizeof err)) {
        input_dlq(w, in, err);
        return;
    }
    task.started_ms = now_ms();
    task.backfill = input_backfill(in);
    task.stage = STAGE_PREVIEW;
    task.attempt = 0; /* no render yet: the preview is attempt 1 */
    fate_t f = route_on_arrival(cls, &task);
    if (f.kind != FATE_RENDER) {
        route_apply(w, in, &task, &f, NULL);
        return;
    }
    task.attempt = 1;
    render_stage_start(w, in, &task);
}

int main(int argc, char **argv) {
    worker_stage_t stage = render_stage_worker("preview-worker", "jobs", preview_init, preview_on_input);
    return worker_main(argc, argv, &stage);
}
