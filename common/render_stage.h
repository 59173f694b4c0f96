/* render_stage.h — what preview-worker and production-worker share: admit the
 * render against the tier's budget, call the model (many in flight), store the
 * image, settle the charge, hand the image to the verifier.
 *
 * Over budget, per asset class: defer parks the message (consumption paused) until
 * the window turns; degrade delivers the verified preview marked "degraded" (at the
 * preview stage there is none yet, so it defers); reject ends the job with
 * budget_exhausted. Redis unreachable: park and retry with backoff (fail closed).
 * A replayed render that was already settled and stored is not rendered or charged
 * again: the stored image goes to the verifier with the recorded charge. */
#ifndef PRESSROOM_RENDER_STAGE_H
#define PRESSROOM_RENDER_STAGE_H

#include "message.h"
#include "worker.h"

typedef struct render_stage render_stage_t;

/* For `tier` (preview or production). Returns NULL with err. */
render_stage_t *render_stage_new(const config_t *cfg, const tier_config_t *tier, char *err,
                                 size_t errlen);
void render_stage_free(render_stage_t *rs);

/* Queues task->job for admission (task->stage / task->attempt); m is held
 * (worker_hold). The queued jobs are admitted in one pipelined Redis batch at the
 * start of the next render_stage_wait, then rendered; m is parked or destroyed. */
void render_stage_start(render_stage_t *rs, worker_t *w, rd_kafka_message_t *m, input_ref_t *ref,
                        const task_t *task);

/* Admits the queued jobs (one round trip), then waits for model answers or fds. */
void render_stage_wait(render_stage_t *rs, struct curl_waitfd *fds, unsigned n, int timeout_ms);
/* Stores finished images and settles their charges in one batch (one round trip). */
void render_stage_collect(render_stage_t *rs, worker_t *w);
int render_stage_inflight(const render_stage_t *rs);
/* Logs the budget client's metrics: Redis round trips, decisions, outages. */
void render_stage_log_stats(render_stage_t *rs);

#endif
