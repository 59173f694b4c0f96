/* production-worker — consumes escalations (a job, its attempt number and the
 * guidance from the failed check), admits each against the production tier's
 * budget, renders it with the high-fidelity model and stronger guidance, and hands
 * the image to the verifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "pipeline.h"
#include "render_stage.h"
#include "worker.h"

static int production_init(worker_t *w, char *err, size_t errlen) {
    const config_t *cfg = worker_config(w);
    render_stage_t *rs = render_stage_new(cfg, &cfg->production, err, errlen);
    if (!rs) return -1;
    worker_set_state(w, rs);
    worker_set_max_inflight(w, cfg->production.max_inflight);
    return 0;
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
    render_stage_start(worker_state(w), w, m, ref, &task);
}

static void production_wait(worker_t *w, struct curl_waitfd *fds, unsigned n, int timeout_ms) {
    render_stage_wait(worker_state(w), fds, n, timeout_ms);
}
static void production_collect(worker_t *w) { render_stage_collect(worker_state(w), w); }
static int production_inflight(worker_t *w) { return render_stage_inflight(worker_state(w)); }
static void production_fini(worker_t *w) { render_stage_free(worker_state(w)); }
static void production_log_stats(worker_t *w) { render_stage_log_stats(worker_state(w)); }

int main(int argc, char **argv) {
    static const worker_stage_t stage = {
        .name = "production-worker",
        .input = "production",
        .init = production_init,
        .on_message = production_on_message,
        .wait = production_wait,
        .collect = production_collect,
        .inflight = production_inflight,
        .fini = production_fini,
        .log_stats = production_log_stats,
    };
    return worker_main(argc, argv, &stage);
}
