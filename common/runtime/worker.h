/* worker.h — the runtime every pressroom worker shares: config and signals, the
 * Kafka consumer/producer, the in-flight window, parking, the DLQ, draining.
 *
 * A worker binary supplies a worker_stage_t (what is particular to it) and calls
 * worker_main(). The main loop is single-threaded:
 *
 *   while (running or draining) {
 *       re-dispatch parked messages that are due;
 *       consume while the window has room (pausing partitions when it is full);
 *       stage->wait(...)  -- model requests, OCR verdicts, Kafka queues, one wait;
 *       serve delivery reports; stage->collect(...)
 *   }
 *
 * Each consumed message gets an input_ref_t holding its offset back until the stage
 * calls worker_done() and every output produced with worker_emit() is acknowledged. */
#ifndef PRESSROOM_WORKER_H
#define PRESSROOM_WORKER_H

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "runtime/kafka.h"

typedef struct worker worker_t;

typedef struct {
    const char *name;  /* "preview-worker": process name and consumer group suffix */
    const char *input; /* short name of the topic consumed: "jobs" */
    /* Sets up the stage's own state (worker_set_state). Returns 0, or -1 with err. */
    int (*init)(worker_t *w, char *err, size_t errlen);
    /* A consumed (or re-dispatched parked) message. The stage must end the input
     * with worker_done(), worker_dlq() or worker_park(). The runtime destroys m
     * after the call unless it was parked or held (worker_hold). */
    void (*on_message)(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref);
    /* Waits up to timeout_ms or until one of fds is readable; NULL = poll(2). */
    void (*wait)(worker_t *w, struct curl_waitfd *fds, unsigned n, int timeout_ms);
    /* Collects finished asynchronous work (model results, verdicts). */
    void (*collect)(worker_t *w);
    /* Work in flight inside the stage. */
    int (*inflight)(worker_t *w);
    /* Frees the stage's state. */
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
void *worker_state(const worker_t *w);
void worker_set_state(worker_t *w, void *state);
int worker_max_inflight(const worker_t *w);
/* Sets the window (from the stage's tier) before the loop starts. */
void worker_set_max_inflight(worker_t *w, int n);
/* An extra fd the loop waits on (e.g. the OCR pool's). */
void worker_add_fd(worker_t *w, int fd);

/* Produces json (NUL-terminated) to the short-named topic, keyed by key, as an
 * output of ref. On failure the worker stops without storing the offset. */
int worker_emit(worker_t *w, input_ref_t *ref, const char *topic, const char *key, const char *json);
/* Sends m's original bytes to the DLQ with its reason and ends the input. */
void worker_dlq(worker_t *w, const rd_kafka_message_t *m, input_ref_t *ref, const char *reason);
/* Ends the stage's processing of ref. */
void worker_done(worker_t *w, input_ref_t *ref);
/* From on_message: the stage keeps m past the call (to decide it in a batch later);
 * the runtime does not destroy it. The stage later parks it (worker_park) or
 * destroys it (rd_kafka_message_destroy) once the input is ended. */
void worker_hold(worker_t *w, rd_kafka_message_t *m);
/* Keeps m and re-dispatches it at until_ms (epoch ms). While anything is parked
 * with pause=true, consumption is paused (defer, Redis down): nothing is lost and
 * nothing busy-loops. */
void worker_park(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref, int64_t until_ms, bool pause,
                 const char *why);
bool worker_running(const worker_t *w);

#endif
