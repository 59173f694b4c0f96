/* moderation.c — see moderation.h. */
#include <stdlib.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/message.h"
#include "base/metrics.h"
#include "moderation.h"
#include "runtime/kafka.h"

#define POLL_EVERY_MS 500
#define MAX_PER_TURN 256

struct moderation_tail {
    kafka_reader_t *reader;
    loop_t *loop;
    loop_timer_id timer;
};

static void count(const moderation_t *d) {
    const char *verifier = !d->has_verdict ? "unknown" : d->verdict == VERDICT_REJECTED ? "failed" : "passed";
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_moderation_decisions_total",
                          "Moderation decisions recorded (pressroom.moderation) since this process started, by the "
                          "moderated verdict's class and model, the decision, and whether the verifier had passed it.",
                          "class", d->asset_class[0] ? d->asset_class : "unknown", "model",
                          d->model[0] ? d->model : "unknown", "decision", moderation_decision_name(d->decision),
                          "verifier", verifier, NULL),
               1);
}

static void on_timer(void *ctx) {
    moderation_tail_t *t = ctx;
    rd_kafka_message_t *m;
    for (int i = 0; i < MAX_PER_TURN && (m = kafka_reader_next(t->reader, 0)); i++) {
        moderation_t d;
        char err[512];
        if (moderation_parse(m->payload, m->len, &d, err, sizeof err) == 0) count(&d);
        else log_warn("moderation_malformed", "error", err, NULL);
        rd_kafka_message_destroy(m);
    }
    t->timer = loop_timer_at(t->loop, mono_ms() + POLL_EVERY_MS, on_timer, t);
}

moderation_tail_t *moderation_tail_start(const config_t *cfg, loop_t *l) {
    char topic[256], err[512];
    const char *topics[] = {config_topic(cfg, "moderation", topic, sizeof topic)};
    kafka_reader_t *r = kafka_reader_new_tail(cfg, topics, 1, 0, 10000, err, sizeof err);
    if (!r) {
        log_warn("moderation_unavailable", "topic", topic, "error", err, NULL);
        return NULL;
    }
    moderation_tail_t *t = xcalloc(1, sizeof *t);
    t->reader = r;
    t->loop = l;
    t->timer = loop_timer_at(l, mono_ms() + POLL_EVERY_MS, on_timer, t);
    return t;
}

void moderation_tail_free(moderation_tail_t *t) {
    if (!t) return;
    loop_timer_cancel(t->loop, t->timer);
    kafka_reader_free(t->reader);
    free(t);
}
