/* worker.h — the runtime every pressroom worker shares: config and signals, the
 * event loop (loop.h), the Kafka consumer and producer, the in-flight window, parking,
 * the DLQ, draining — and the inputs.
 *
 * The runtime owns every consumed message as an input_t. A stage receives each input
 * through on_input and ends it exactly once, now or later, with one of:
 *
 *   input_done   the stage is finished; the outputs it emitted (worker_emit) carry it on
 *   input_dlq    the input is bad: a dead letter with the reason
 *   input_park   not now: re-dispatched to on_input at a time (budget deferral, Redis down)
 *   route_apply  (route/route.h) a decision about the job's fate, emitted and ended
 *
 * An input's offset is stored only when it was ended and every output produced for it
 * was acknowledged by the broker. An output the broker refuses for good (too large,
 * invalid) never advances the watermark: the input is dead-lettered instead (a bounded
 * letter with the original size, a SHA-256 and the reason), and ends when that letter
 * is acknowledged. If even the letter cannot be written the worker stops without
 * storing the offset, so the input is redelivered after a restart.
 *
 * One turn of the loop: the runtime's before-sleep hook re-dispatches parked inputs that
 * are due and consumes while the window has room; the stage's own hooks and fd handlers
 * (model transfers, OCR verdicts) follow; delivery reports end outputs. */
#ifndef PRESSROOM_WORKER_H
#define PRESSROOM_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "runtime/loop.h"

typedef struct worker worker_t;
typedef struct input input_t;

typedef struct {
    const char *name;  /* "preview-worker": process name and consumer group suffix */
    const char *input; /* short name of the topic consumed: "jobs" */
    /* Sets up the stage's own state (worker_set_state) and registers its fds and
     * hooks on worker_loop(w). Returns 0, or -1 with err. */
    int (*init)(worker_t *w, char *err, size_t errlen);
    /* A consumed (or re-dispatched parked) input, to be ended exactly once. */
    void (*on_input)(worker_t *w, input_t *in);
    /* Inputs the stage has taken and not ended. */
    int (*inflight)(worker_t *w);
    /* Frees the stage's state; inputs it still holds are not ended (redelivered). */
    void (*fini)(worker_t *w);
    /* Logs the stage's own metrics with the runtime's periodic stats (optional). */
    void (*log_stats)(worker_t *w);
    /* Brings the stage's gauges (metrics.h) up to date before /metrics (optional). */
    void (*refresh_metrics)(worker_t *w);
    /* NULL when the stage can take work, else why not, for /readyz (optional). */
    const char *(*not_ready)(worker_t *w);
} worker_stage_t;

/* Runs a worker process: `STAGE [--config FILE] [--max-inflight N] [--metrics-listen
 * HOST:PORT]` (the last serves /healthz, /readyz and /metrics; see admin_http.h). Returns the
 * exit status: 0 after a clean drain (SIGTERM/SIGINT), 1 on a fatal error,
 * 2 on bad arguments or config. */
int worker_main(int argc, char **argv, const worker_stage_t *stage);

const config_t *worker_config(const worker_t *w);
loop_t *worker_loop(worker_t *w);
void *worker_state(const worker_t *w);
void worker_set_state(worker_t *w, void *state);
int worker_max_inflight(const worker_t *w);
/* Sets the window (from the stage's tier) before the loop starts. */
void worker_set_max_inflight(worker_t *w, int n);
bool worker_running(const worker_t *w);

/* The input's bytes and where it came from. */
const void *input_payload(const input_t *in);
size_t input_len(const input_t *in);
const char *input_topic(const input_t *in);
/* From the backfill lane: the input topic's twin (config_lane_topic). Its outputs go to
 * the twins of the topics named (worker_emit), so the lane's work stays in the lane;
 * it starts only when no live input waits, within tiers.backfill.share of the window. */
bool input_backfill(const input_t *in);

/* Produces json (NUL-terminated) to the short-named topic, keyed by key, as an output
 * of in. Returns 0; or -1 when the broker refused it (the input will be dead-lettered
 * when it ends) or the producer failed (the worker stops). Either way the caller still
 * ends the input. */
int worker_emit(worker_t *w, input_t *in, const char *topic, const char *key, const char *json);

/* Produces a message that is no input's output (a deferred job going back to its topic,
 * `topic` a full topic name): acked(ctx, true) once the broker acknowledged it,
 * acked(ctx, false) when it could not be queued (before returning -1) or was refused.
 * Nothing waits for it on shutdown: whoever published it must survive its loss (a
 * deferred job's claim expires and it is claimed again). Returns 0 when queued. */
int worker_publish(worker_t *w, const char *topic, const char *key, const char *value, size_t len,
                   void (*acked)(void *ctx, bool ok), void *ctx);

/* Ends the input: done (outputs emitted), dead-lettered with a reason, or parked until
 * until_ms (epoch ms). While anything is parked with pause=true, consumption is paused
 * (defer, Redis down): nothing is lost and nothing busy-loops. */
void input_done(worker_t *w, input_t *in);
void input_dlq(worker_t *w, input_t *in, const char *reason);
void input_park(worker_t *w, input_t *in, int64_t until_ms, bool pause, const char *why);

#endif
