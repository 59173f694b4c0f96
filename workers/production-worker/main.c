/* production-worker — consumes escalations (a job, its attempt number and the
 * guidance from the failed check), admits each against the production tier's
 * budget, renders it with the high-fidelity model and stronger guidance, and hands
 * the image to the verifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/message.h"
#include "route/route.h"
#include "render/render_stage.h"
#include "runtime/worker.h"

static int production_init(worker_t *w, char *err, size_t errlen) {
    return render_stage_attach(w, &worker_config(w)->production, err, errlen);
}

static void production_on_message(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref) {
    task_t task;
    char err[512];
    if (task_parse(m->payload, m->len, &task, err, sizeof err) != 0) {
        worker_dlq(w, m, ref, err);
        return;
    }
    if (strcmp(task.stage, "production") != 0) {
        worker_dlq(w, m, ref, "stage: expected \"production\" on the production topic");
        return;
    }
    render_stage_start(w, m, ref, &task);
}

int main(int argc, char **argv) {
    worker_stage_t stage = render_stage_worker("production-worker", "production", production_init, production_on_message);
    return worker_main(argc, argv, &stage);
}
