/* render_stage.h — what preview-worker and production-worker share: admit the
 * render against the tier's budget, call the model (many in flight), store the
 * image, settle the charge, hand the image to the verifier.
 *
 * Over budget, per asset class: defer parks the message (consumption paused) until
 * the window turns; degrade delivers the verified preview marked "degraded" (at the
 * preview stage there is none yet, so it defers); reject ends the job with
 * budget_exhausted. Redis unreachable: park and retry with backoff (fail closed).
 * A replayed render that was already settled and stored is not rendered or charged
 * again: the stored image goes to the verifier with the recorded charge.
 *
 * The blob store is never called on the loop: images are stored, and the replay check
 * asks whether one is stored, on a pool of threads (common/blob/blob_pool.h); a job's
 * verify task is emitted only after its image's put succeeded. */
#ifndef PRESSROOM_RENDER_STAGE_H
#define PRESSROOM_RENDER_STAGE_H

#include "base/message.h"
#include "runtime/worker.h"

typedef struct render_stage render_stage_t;

/* The stage of a rendering worker: name, input topic, init and on_input are the
 * worker's own; in-flight accounting, stats, metrics, readiness and clean-up come from
 * here. init must call render_stage_attach. */
worker_stage_t render_stage_worker(const char *name, const char *input,
                                   int (*init)(worker_t *w, char *err, size_t errlen),
                                   void (*on_input)(worker_t *w, input_t *in));

/* Creates the render stage for `tier` (preview or production) as w's state, hooks it on
 * the worker's loop and sizes the window from the tier's max_inflight. Returns 0, or -1
 * with err. */
int render_stage_attach(worker_t *w, const tier_config_t *tier, char *err, size_t errlen);

/* Queues task->job for admission (task->stage / task->attempt). The queued jobs are
 * admitted in one pipelined Redis batch before the loop next sleeps, then rendered; the
 * stage ends the input (to the verifier, parked, or through route_apply). */
void render_stage_start(worker_t *w, input_t *in, const task_t *task);

#endif
