/* pipeline.h — where a job goes next: the routing decisions and terminal verdicts
 * every worker shares (one home for them, so the rules cannot drift apart).
 *
 * Attempts count renders: the preview is attempt 1, each production render one
 * more, up to the asset class's max_attempts. */
#ifndef PRESSROOM_PIPELINE_H
#define PRESSROOM_PIPELINE_H

#include <cjson/cJSON.h>

#include "base/message.h"
#include "runtime/worker.h"

/* The asset class of a job (config), or a default preview-route class when the
 * config does not name it. */
const asset_class_t *pipeline_class(const config_t *cfg, const char *asset_class);

/* Emits the job's terminal verdict to results (accepted/degraded) or rejected.
 * report may be NULL (not taken over). Returns 0 or -1 (the worker stops). */
int pipeline_finish(worker_t *w, input_ref_t *ref, const task_t *task, const char *verdict,
                    const char *reason, const char *detail, const char *image_uri,
                    const cJSON *report);

/* Sends the job to production for attempt task->attempt + 1 with this guidance and
 * escalation reason ("final_render", "verification_failed", "preview_failed", "route").
 * preview_uri: a verified preview to fall back on ("" when none). */
int pipeline_escalate(worker_t *w, input_ref_t *ref, const task_t *task, const char *escalation,
                      const char *guidance, const char *preview_uri);

/* Guidance scale for a render attempt: 0 (provider default) for attempt 1, then
 * stronger with each escalation. */
double pipeline_guidance_scale(int attempt);

#endif
