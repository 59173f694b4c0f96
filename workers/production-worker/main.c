/* production-worker — consumes escalations (a job, its attempt number and the
 * guidance from the failed check), admits each against the production tier's
 * budget, renders it with the high-fidelity model and stronger guidance, and hands
 * the image to the verifier. */
#include <string.h>

#include "base/message.h"
#include "render/render_stage.h"
#include "route/route.h"
#include "runtime/worker.h"

static int production_init(worker_t *w, char *err, size_t errlen) {
    return render_stage_attach(w, &worker_config(w)->production, err, errlen);
}

static void production_on_input(worker_t *w, input_t *in) {
    task_t task;
    char err[512];
    if (task_parse(input_payload(in), input_len(in), &task, err, sizeof err) != 0) {
        input_dlq(w, in, err);
        return;
    }
    task.backfill = input_backfill(in);
    if (task.stage != STAGE_PRODUCTION) {
        input_dlq(w, in, "stage: expected \"production\" on the production topic");
        return;
    }
    if (!route_class(worker_config(w), task.job.asset_class, err, sizeof err)) {
        input_dlq(w, in, err);
        return;
    }
    render_stage_start(w, in, &task);
}

int main(int argc, char **argv) {
    worker_stage_t stage =
        render_stage_worker("production-worker", "production", production_init, production_on_input);
    return worker_main(argc, argv, &stage);
}
