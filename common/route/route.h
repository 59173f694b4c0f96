/* route.h — every decision about a job's fate, in one place.
 *
 * The decisions are pure functions: given the asset class, the job's task and what
 * just happened, they return a typed fate_t and touch nothing. route_apply is the one
 * function that acts on a fate: it emits the outputs (a verdict, an escalation, a
 * dead letter) and ends the input (runtime/worker.h). So the rules cannot drift apart
 * between workers, and each exists once:
 *
 *   route_on_arrival         a new job: render the preview here, or straight to
 *                            production (production_only), or the DLQ (unknown class)
 *   route_after_check        the verifier's verdict: accept, final render, or the
 *                            failure rule below
 *   route_after_render_failure  the model gave up: the failure rule below
 *   route_over_budget        the class's over-budget policy: defer, degrade, reject
 *   route_failure            THE rule: attempts left -> escalate; none left and a
 *                            verified preview -> degraded; none -> rejected
 *
 * Attempts count renders: the preview is attempt 1, each production render one more,
 * up to the asset class's max_attempts. */
#ifndef PRESSROOM_ROUTE_H
#define PRESSROOM_ROUTE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "base/message.h"
#include "runtime/worker.h"

typedef enum {
    FATE_RENDER = 0, /* render here (the caller's own work, route_apply does nothing) */
    FATE_FINISH,     /* a terminal verdict */
    FATE_ESCALATE,   /* to production for the next attempt */
    FATE_DEFER,      /* held until a time (or room in the budget), off the partition */
    FATE_DEAD_LETTER /* not a job we can run */
} fate_kind_t;

typedef struct {
    fate_kind_t kind;
    /* FATE_FINISH */
    job_verdict_t verdict;   /* base/message.h */
    const char *reason;      /* "" for accepted; budget_exhausted, verification_failed ... */
    char detail[1024];
    const char *image_uri;   /* borrowed from the task: the image the verdict delivers */
    const char *image_url;   /* borrowed, may be NULL: an HTTP URL of it for downstream (presigned) */
    bool as_preview;         /* the verdict delivers the preview (degrade over budget) */
    /* FATE_ESCALATE */
    const char *escalation;  /* final_render | verification_failed | preview_failed |
                                render_failed | route */
    const char *guidance;    /* borrowed: what the re-render must fix */
    const char *preview_uri; /* borrowed: a verified preview to fall back on */
    /* FATE_DEFER */
    int64_t until_ms;
    const char *why;
} fate_t;

/* The asset class of a job, or NULL with a sentence in err naming the known ones. */
const asset_class_t *route_class(const config_t *cfg, const char *asset_class, char *err, size_t errlen);

/* A job just consumed from the jobs topic (task->stage STAGE_PREVIEW, attempt 0). */
fate_t route_on_arrival(const asset_class_t *cls, const task_t *task);

/* The failure rule, for a job whose current attempt failed for `reason`. */
fate_t route_failure(const asset_class_t *cls, const task_t *task, const char *escalation, const char *reason,
                     const char *detail, const char *guidance);

/* The verifier's verdict on task->image_uri. */
fate_t route_after_check(const asset_class_t *cls, const task_t *task, bool pass, const char *reasons,
                         const char *guidance);

/* The model gave up on the render (reason and detail from the model client). */
fate_t route_after_render_failure(const asset_class_t *cls, const task_t *task, const char *reason,
                                  const char *detail);

/* The tier is over its cap; its window turns at window_reset_ms (epoch ms), when a
 * deferred job is due (it comes back earlier when the tier has room: a raised cap). */
fate_t route_over_budget(const asset_class_t *cls, const task_t *task, const char *tier, const char *detail,
                         int64_t window_reset_ms);

/* The budget's side of every terminal verdict, asked before it is emitted (set once per
 * process by the stage that owns the budget connection):
 *   check_charges   replaces a task's charges by what the budget settled for them
 *                   (budget_verify_charges), returning how many changed; NULL: the
 *                   charges are the stage's own settles;
 *   record_verdict  records that the job revision has its verdict (budget_record_verdict),
 *                   so a redelivery or replay of it ends at admission; not asked for a
 *                   budget_exhausted rejection (nothing was done: the job may come again);
 *   hold            takes a deferred job's message off its partition until due_ms or room
 *                   in the budget (budget_defer), so the jobs behind it flow on; the input
 *                   then ends and its offset is stored. NULL: the input is parked and
 *                   consumption pauses until due_ms.
 * Any returning -1 (Redis unreachable) parks the input (pausing consumption): a verdict
 * is re-dispatched later rather than sent with unverified charges or unrecorded, a
 * deferred job is never dropped. */
typedef struct {
    int (*check_charges)(void *ctx, task_t *task);
    int (*record_verdict)(void *ctx, const task_t *task, const char *verdict);
    int (*hold)(void *ctx, const input_t *in, const task_t *task, int64_t due_ms);
    void *ctx;
} route_ledger_t;
void route_set_ledger(const route_ledger_t *ledger);

/* Acts on a fate: emits what it says and ends the input (FATE_RENDER: nothing).
 * report (may be NULL) is the verification report for a verdict, borrowed. */
void route_apply(worker_t *w, input_t *in, const task_t *task, const fate_t *f, const cJSON *report);

/* Guidance scale for a render attempt: 0 (provider default) for attempt 1, then
 * stronger with each escalation. */
double route_guidance_scale(int attempt);

#endif
