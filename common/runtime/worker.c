/* worker.c — the shared worker runtime; see worker.h. */
#include "runtime/worker.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/redact.h"
#include "base/sha256.h"
#include "base/traceparent.h"
#include "runtime/admin_http.h"
#include "runtime/kafka.h"

#define STATS_INTERVAL_MS 10000
#define POLL_BATCH 256          /* messages consumed per loop turn at most */
#define LETTER_MAX_BYTES 65536  /* a dead letter keeps at most this much of the input */
#define LETTER_OVERHEAD 256     /* the producer's own framing, on top of headers and key */
#define BUFFER_MIN_COUNT 1024   /* kafka.buffer_max_messages 0: 4 x the window, at least this */

typedef enum { INPUT_WITH_STAGE = 0, INPUT_PARKED, INPUT_ENDED } input_state_t;

/* What a delivery report's opaque points to: an input (its output was acknowledged)
 * or a publication (worker_publish); both start with the tag. */
enum { OPAQUE_INPUT = 0x1b7u, OPAQUE_PUBLICATION = 0x2c9u };

typedef struct {
    unsigned tag;
    void (*acked)(void *ctx, bool ok);
    void *ctx;
} publication_t;

/* Polled messages not yet started, in order. */
typedef struct {
    rd_kafka_message_t **v;
    int head, n, cap;
    size_t bytes;
} queue_t;

/* One consumed message, from poll until it ended and its outputs were acknowledged. */
struct input {
    unsigned tag;             /* OPAQUE_INPUT */
    worker_t *w;
    rd_kafka_message_t *m;
    input_ref_t *ref;         /* the offset tracker's hold on this offset */
    input_state_t state;
    int outputs;              /* produced, not yet acknowledged */
    bool refused;             /* the broker refused an output for good: dead-letter it */
    bool letter_sent;         /* its dead letter is queued: a failure of that is fatal */
    char refusal[512];
    /* parked */
    int64_t due_ms;
    bool pause;
    struct input *next_parked;
    bool backfill;            /* from the backfill lane's topic */
    char traceparent[TRACEPARENT_LEN + 1]; /* what its outputs carry ("" until the first) */
    struct input *prev_live, *next_live; /* every input not yet freed (worker_t.live) */
};

struct worker {
    const worker_stage_t *stage;
    void *state;
    config_t cfg;
    kafka_t *kafka;
    loop_t *loop;
    int max_inflight;
    input_t *parked;          /* by due time */
    input_t *live;            /* every input not yet freed: what a drain timeout abandons */
    int n_parked;
    /* Polled and not yet dispatched (the window is full): kept here rather than pausing
     * the partitions, which would make librdkafka drop its prefetched messages. Not
     * tracked yet, so nothing of theirs is ever stored; paused only past these bounds. */
    queue_t queued;           /* live messages polled, not yet started */
    /* The backfill lane (the input topic's twin, config_lane_topic): its polled messages
     * wait here and start only when no live message waits and the lane holds less than
     * its share of the window; its partitions are held while this queue is full. */
    queue_t lane;
    char lane_topic[256];     /* "" = no lane */
    int lane_quota;           /* inputs of the lane in flight at most */
    int lane_inflight;        /* lane inputs started and not ended */
    int with_stage;           /* inputs dispatched and not yet ended or parked */
    bool failed;
    bool draining;
    bool consuming;           /* false while draining: polled messages are left */
    admin_http_t *admin;      /* NULL unless metrics_listen is set */
    metric_t *consumed, *emitted, *dlq;
};

static volatile sig_atomic_t g_run = 1;
static void on_signal(int sig) {
    (void)sig;
    g_run = 0;
}

const config_t *worker_config(const worker_t *w) { return &w->cfg; }
loop_t *worker_loop(worker_t *w) { return w->loop; }
void *worker_state(const worker_t *w) { return w->state; }
void worker_set_state(worker_t *w, void *state) { w->state = state; }
int worker_max_inflight(const worker_t *w) { return w->max_inflight; }
void worker_set_max_inflight(worker_t *w, int n) { w->max_inflight = n > 0 ? n : 1; }
bool worker_running(const worker_t *w) { return g_run && !w->failed && !kafka_failed(w->kafka, NULL, 0); }

const void *input_payload(const input_t *in) { return in->m->payload; }
size_t input_len(const input_t *in) { return in->m->len; }
const char *input_topic(const input_t *in) { return rd_kafka_topic_name(in->m->rkt); }
bool input_backfill(const input_t *in) { return in->backfill; }

/* Fatal: the process cannot work (the producer failed, a dead letter was refused).
 * Nothing is stored from now on: what is unfinished is redelivered after a restart. */
static void worker_fail(worker_t *w, const char *why) {
    if (!w->failed) log_error("worker_failed", "error", why, NULL);
    w->failed = true;
    kafka_fail(w->kafka, why);
}

/* Unlinks and frees an input and its message (librdkafka's destroy waits for every
 * message it handed out, so none may outlive the consumer). */
static void input_free(input_t *in) {
    worker_t *w = in->w;
    if (in->prev_live) in->prev_live->next_live = in->next_live;
    else w->live = in->next_live;
    if (in->next_live) in->next_live->prev_live = in->prev_live;
    rd_kafka_message_destroy(in->m);
    free(in);
}

/* Frees an input once it ended and nothing it produced is waiting for the broker. */
static void input_maybe_free(input_t *in) {
    if (in->state != INPUT_ENDED || in->outputs > 0) return;
    input_free(in);
}

/* ==== Outputs ==== */

/* The traceparent header every output of in carries: the input's trace (its own
 * traceparent header, when valid) with this hop's new parent id, or a new trace when
 * the input came without one. Made once per input: one hop, one parent id. */
static const char *input_traceparent(input_t *in) {
    if (in->traceparent[0]) return in->traceparent;
    rd_kafka_headers_t *hdrs = NULL;
    const void *val = NULL;
    size_t size = 0;
    traceparent_t tp;
    bool have = rd_kafka_message_headers(in->m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(hdrs, TRACEPARENT_HEADER, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                traceparent_parse(val, size, &tp);
    return traceparent_next(have ? &tp : NULL, in->traceparent, sizeof in->traceparent);
}

static rd_kafka_resp_err_t produce_for(worker_t *w, input_t *in, const char *topic, const char *key,
                                       const void *value, size_t len, const kafka_header_t *h, int nh,
                                       char *err, size_t errlen) {
    kafka_header_t all[16];
    assert(nh < 16 && "an output carries at most 15 headers of its own (a dead letter has 8)");
    int n = 0;
    for (int i = 0; i < nh; i++) all[n++] = h[i];
    all[n++] = (kafka_header_t){TRACEPARENT_HEADER, input_traceparent(in)};
    rd_kafka_resp_err_t e = kafka_produce(w->kafka, topic, key, value, len, all, n, in, err, errlen);
    if (!e) {
        in->outputs++;
        input_ref_hold(in->ref);
    }
    return e;
}

int worker_emit(worker_t *w, input_t *in, const char *topic, const char *key, const char *json) {
    char full[256], err[512];
    const char *lane = in->backfill ? config_lane_topic(topic) : NULL; /* the lane's work stays in it */
    config_topic(&w->cfg, lane ? lane : topic, full, sizeof full);
    if (in->refused || w->failed) return -1;
    rd_kafka_resp_err_t e = produce_for(w, in, full, key, json, strlen(json), NULL, 0, err, sizeof err);
    if (!e) {
        metric_inc(w->emitted, 1);
        return 0;
    }
    log_error("produce_failed", "topic", full, "key", key, "error", err, NULL);
    if (kafka_error_permanent(e)) {
        in->refused = true;
        snprintf(in->refusal, sizeof in->refusal, "%s", err);
    } else {
        worker_fail(w, err);
    }
    return -1;
}

int worker_publish(worker_t *w, const char *topic, const char *key, const char *value, size_t len,
                   void (*acked)(void *ctx, bool ok), void *ctx) {
    char err[512];
    if (w->failed) {
        acked(ctx, false);
        return -1;
    }
    publication_t *p = xcalloc(1, sizeof *p);
    *p = (publication_t){.tag = OPAQUE_PUBLICATION, .acked = acked, .ctx = ctx};
    rd_kafka_resp_err_t e = kafka_produce(w->kafka, topic, key, value, len, NULL, 0, p, err, sizeof err);
    if (!e) {
        metric_inc(w->emitted, 1);
        return 0;
    }
    log_error("produce_failed", "topic", topic, "key", key, "error", err, NULL);
    if (!kafka_error_permanent(e)) worker_fail(w, err);
    free(p);
    acked(ctx, false);
    return -1;
}

/* The dead letter of in: its bytes (the first part only when they do not fit the
 * producer's limit), with headers saying why, where from, how large and its SHA-256.
 * Returns 0 when it is queued (in waits for its acknowledgement). */
static int send_letter(worker_t *w, input_t *in, const char *reason) {
    const rd_kafka_message_t *m = in->m;
    char full[256], err[512], part[16], off[32], size[24], sha[65], kept[24];
    config_topic(&w->cfg, "dlq", full, sizeof full);
    snprintf(part, sizeof part, "%d", (int)m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    snprintf(size, sizeof size, "%zu", m->len);
    sha256_hex(m->payload, m->len, sha);
    char key[160] = "";
    if (m->key_len) snprintf(key, sizeof key, "%.*s", (int)(m->key_len < 150 ? m->key_len : 150), (const char *)m->key);
    char why[300];
    snprintf(why, sizeof why, "%s", reason); /* a header stays small whatever the reason */
    redact(why, sizeof why);
    const char *src = rd_kafka_topic_name(m->rkt);
    kafka_header_t h[] = {{"pressroom-reason", why},
                          {"pressroom-source-topic", src},
                          {"pressroom-source-partition", part},
                          {"pressroom-source-offset", off},
                          {"pressroom-worker", w->stage->name},
                          {"pressroom-original-bytes", size},
                          {"pressroom-original-sha256", sha},
                          {"pressroom-kept-bytes", kept},
                          {"pressroom-redrive-attempt", NULL}};
    int nh = (int)(sizeof h / sizeof h[0]) - 1;
    /* A redriven message (pressctl dlq redrive) keeps its attempt count on its next
     * letter, so a message that keeps failing reaches the redrive limit. Digits only. */
    char attempt[8] = "";
    rd_kafka_headers_t *hdrs = NULL;
    const void *av;
    size_t an;
    if (!rd_kafka_message_headers(m, &hdrs) && !rd_kafka_header_get_last(hdrs, "pressroom-redrive-attempt", &av, &an) &&
        av && an > 0 && an < sizeof attempt) {
        memcpy(attempt, av, an);
        attempt[an] = 0;
        if (strspn(attempt, "0123456789") == an) h[nh++].value = attempt;
    }
    size_t overhead = LETTER_OVERHEAD + strlen(key);
    for (int i = 0; i < nh; i++) overhead += strlen(h[i].name) + 24 + 8;
    overhead += strlen(why) + strlen(src) + sizeof TRACEPARENT_HEADER + TRACEPARENT_LEN + 8;
    size_t limit = kafka_message_max_bytes(w->kafka);
    size_t room = limit > overhead ? limit - overhead : 0;
    if (room > LETTER_MAX_BYTES && m->len > LETTER_MAX_BYTES) room = LETTER_MAX_BYTES;
    size_t keep = m->len < room ? m->len : room;
    snprintf(kept, sizeof kept, "%zu", keep);
    log_warn("dead_lettered", "topic", src, "partition", part, "offset", off, "reason", why, "bytes", size,
             "kept_bytes", kept, NULL);
    metric_inc(w->dlq, 1);
    rd_kafka_resp_err_t e = produce_for(w, in, full, m->key_len ? key : NULL, m->payload, keep, h, nh, err, sizeof err);
    in->letter_sent = true;
    if (!e) return 0;
    char fatal[700];
    snprintf(fatal, sizeof fatal, "the dead letter of %s [%s] at %s was refused: %s", src, part, off, err);
    worker_fail(w, fatal);
    return -1;
}

/* Ends the stage's part of in: the processing hold goes; the outputs carry it on. */
static void input_end(worker_t *w, input_t *in) {
    if (in->state == INPUT_ENDED) {
        log_error("input_ended_twice", "topic", input_topic(in), NULL);
        abort(); /* a stage bug: ending twice would store an offset that is not done */
    }
    if (in->state == INPUT_WITH_STAGE) w->with_stage--;
    if (in->backfill) w->lane_inflight--;
    in->state = INPUT_ENDED;
    if (w->failed) {
        /* Never release: the offset must not be stored. The input is redelivered. */
        input_maybe_free(in);
        return;
    }
    input_ref_release(in->ref);
    input_maybe_free(in);
}

void input_done(worker_t *w, input_t *in) {
    if (in->refused && !in->letter_sent && !w->failed) { /* one letter, whoever saw the refusal */
        char reason[600];
        snprintf(reason, sizeof reason, "%s: %s",
                 strstr(in->refusal, "too large") ? "message_too_large" : "output_refused", in->refusal);
        send_letter(w, in, reason);
    }
    input_end(w, in);
}

void input_dlq(worker_t *w, input_t *in, const char *reason) {
    if (!w->failed && !in->letter_sent) send_letter(w, in, reason);
    input_end(w, in);
}

/* A delivery report for an output of an input. */
static void on_delivery(void *ctx, void *opaque, rd_kafka_resp_err_t err, const char *topic) {
    worker_t *w = ctx;
    if (*(const unsigned *)opaque == OPAQUE_PUBLICATION) {
        publication_t *p = opaque;
        if (err) {
            char why[512];
            snprintf(why, sizeof why, "delivery to %s failed: %s", topic, rd_kafka_err2str(err));
            log_error("publish_failed", "topic", topic, "error", why, NULL);
            if (!kafka_error_permanent(err)) worker_fail(w, why); /* the brokers are gone */
        }
        p->acked(p->ctx, !err);
        free(p);
        return;
    }
    input_t *in = opaque;
    if (err) {
        char why[512];
        snprintf(why, sizeof why, "delivery to %s failed: %s", topic, rd_kafka_err2str(err));
        if (!kafka_error_permanent(err) || in->letter_sent || w->failed) {
            /* The brokers are gone past message.timeout.ms, or even the letter was
             * refused: stop without storing. The hold stays: never released. */
            worker_fail(w, why);
            in->outputs--;
            input_maybe_free(in);
            return;
        }
        /* Refused for good: the input becomes a dead letter, whose acknowledgement
         * (not this output's) ends it. */
        in->refused = true;
        snprintf(in->refusal, sizeof in->refusal, "%s", why);
        char reason[600];
        snprintf(reason, sizeof reason, "%s: %s",
                 err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
                     ? "message_too_large"
                     : "output_refused",
                 why);
        if (send_letter(w, in, reason) != 0) {
            in->outputs--;
            input_maybe_free(in);
            return;
        }
    }
    in->outputs--;
    input_ref_release(in->ref);
    input_maybe_free(in);
}

/* ==== Dispatch and parking ==== */

void input_park(worker_t *w, input_t *in, int64_t until_ms, bool pause, const char *why) {
    if (in->state == INPUT_WITH_STAGE) w->with_stage--;
    in->state = INPUT_PARKED;
    in->due_ms = until_ms;
    in->pause = pause;
    input_t **pp = &w->parked; /* keep due order */
    while (*pp && (*pp)->due_ms <= until_ms) pp = &(*pp)->next_parked;
    in->next_parked = *pp;
    *pp = in;
    w->n_parked++;
    if (pause && !kafka_paused(w->kafka)) {
        char resume[32];
        time_t t = (time_t)(until_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(resume, sizeof resume, "%Y-%m-%dT%H:%M:%SZ", &tm);
        log_warn("consumption_paused", "why", why, "resumes_at", resume, NULL);
    }
}

static bool parked_pause(const worker_t *w) {
    for (const input_t *p = w->parked; p; p = p->next_parked)
        if (p->pause) return true;
    return false;
}

static void dispatch(worker_t *w, input_t *in) {
    in->state = INPUT_WITH_STAGE;
    w->with_stage++;
    if ((int64_t)in->m->len > w->cfg.max_message_bytes) {
        char reason[200];
        snprintf(reason, sizeof reason,
                 "message_too_large: %zu bytes, above kafka.max_message_bytes (%d); not parsed", in->m->len,
                 w->cfg.max_message_bytes);
        input_dlq(w, in, reason);
        return;
    }
    w->stage->on_input(w, in);
}

static void redispatch_due(worker_t *w) {
    int64_t now = now_ms();
    while (w->parked && w->parked->due_ms <= now && worker_running(w)) {
        input_t *in = w->parked;
        w->parked = in->next_parked;
        w->n_parked--;
        dispatch(w, in);
    }
}

/* Parked inputs are not ended: their offsets are not stored, so they are redelivered. */
static void drop_parked(worker_t *w) {
    while (w->parked) {
        input_t *in = w->parked;
        w->parked = in->next_parked;
        input_free(in);
    }
    w->n_parked = 0;
}

/* ==== The loop's hooks ==== */

static int stage_inflight(worker_t *w) { return w->stage->inflight ? w->stage->inflight(w) : 0; }
static bool window_full(worker_t *w) { return stage_inflight(w) + w->n_parked >= w->max_inflight; }

/* The bound on live messages polled and not yet started (kafka.buffer_max_messages). */
static int buffer_max_messages(const worker_t *w) {
    if (w->cfg.buffer_max_messages > 0) return w->cfg.buffer_max_messages;
    return 4 * w->max_inflight > BUFFER_MIN_COUNT ? 4 * w->max_inflight : BUFFER_MIN_COUNT;
}

/* Only past these bounds are the partitions paused (kafka.buffer_max_bytes). */
static bool buffer_full(const worker_t *w) {
    return w->queued.n >= buffer_max_messages(w) || (int64_t)w->queued.bytes >= w->cfg.buffer_max_bytes;
}

/* The lane waits behind live work: a little more than its quota is enough queued. */
static bool lane_full(const worker_t *w) {
    int max_n = 2 * w->lane_quota + 16;
    if (max_n > buffer_max_messages(w)) max_n = buffer_max_messages(w);
    return w->lane.n >= max_n || (int64_t)w->lane.bytes >= w->cfg.buffer_max_bytes / 4;
}

static void queue_push(queue_t *q, rd_kafka_message_t *m) {
    if (q->n == q->cap) {
        int cap = q->cap ? q->cap * 2 : 256;
        rd_kafka_message_t **b = xmalloc((size_t)cap * sizeof *b);
        for (int i = 0; i < q->n; i++) b[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = b;
        q->head = 0;
        q->cap = cap;
    }
    q->v[(q->head + q->n) % q->cap] = m;
    q->n++;
    q->bytes += m->len;
}

static rd_kafka_message_t *queue_pop(queue_t *q) {
    if (!q->n) return NULL;
    rd_kafka_message_t *m = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    q->bytes -= m->len;
    return m;
}

/* Drops queued messages (of one partition, or all when topic is NULL): never tracked,
 * never stored, so they are redelivered to whoever owns the partition. */
static void queue_drop(queue_t *q, const char *topic, int32_t partition) {
    int n = q->n;
    for (int i = 0; i < n; i++) {
        rd_kafka_message_t *m = queue_pop(q);
        if (!topic || (m->partition == partition && !strcmp(rd_kafka_topic_name(m->rkt), topic)))
            rd_kafka_message_destroy(m);
        else
            queue_push(q, m); /* the slot was just freed */
    }
}

static void buffer_drop(worker_t *w, const char *topic, int32_t partition) {
    queue_drop(&w->queued, topic, partition);
    queue_drop(&w->lane, topic, partition);
}

static bool from_lane(const worker_t *w, const rd_kafka_message_t *m) {
    return w->lane_topic[0] && !strcmp(rd_kafka_topic_name(m->rkt), w->lane_topic);
}

static void on_revoke(void *ctx, const char *topic, int32_t partition) { buffer_drop(ctx, topic, partition); }

/* Tracks a polled message and hands it to the stage. */
static void start_input(worker_t *w, rd_kafka_message_t *m) {
    input_t *in = xcalloc(1, sizeof *in);
    in->tag = OPAQUE_INPUT;
    input_ref_t *ref = kafka_track(w->kafka, m);
    in->w = w;
    in->m = m;
    in->ref = ref;
    in->backfill = from_lane(w, m);
    if (in->backfill) w->lane_inflight++;
    in->next_live = w->live;
    if (w->live) w->live->prev_live = in;
    w->live = in;
    dispatch(w, in);
}

/* May a backfill input start now? Only with no live message waiting, room in the window,
 * and the lane under its share of it. */
static bool lane_may_start(const worker_t *w) {
    return !w->queued.n && w->lane_inflight < w->lane_quota;
}

/* Before every wait: parked inputs that are due, queued inputs while the window has
 * room (live first, then the backfill lane within its share), then polling. Polling goes
 * on while the window is full (it serves rebalances and keeps librdkafka's prefetch);
 * only a full queue, a deferral or draining pauses (a full lane queue holds only the
 * lane's partitions). */
static void before_sleep(void *ctx) {
    worker_t *w = ctx;
    bool hold = !w->consuming || parked_pause(w);
    if (w->consuming) redispatch_due(w);
    while (w->queued.n && !hold && !window_full(w) && worker_running(w)) start_input(w, queue_pop(&w->queued));
    while (w->lane.n && !hold && !window_full(w) && lane_may_start(w) && worker_running(w))
        start_input(w, queue_pop(&w->lane));
    kafka_pause(w->kafka, hold || buffer_full(w));
    if (w->lane_topic[0]) kafka_hold_topic(w->kafka, w->lane_topic, lane_full(w));
    int n = 0;
    for (; n < POLL_BATCH && worker_running(w); n++) {
        rd_kafka_message_t *m = kafka_poll(w->kafka, 0);
        if (!m) break;
        if (!w->consuming) { /* draining: leave it to be redelivered */
            rd_kafka_message_destroy(m);
            continue;
        }
        metric_inc(w->consumed, 1);
        bool lane = from_lane(w, m);
        if (!hold && !window_full(w) && (lane ? !w->lane.n && lane_may_start(w) : !w->queued.n)) {
            start_input(w, m);
            continue;
        }
        queue_push(lane ? &w->lane : &w->queued, m);
        if (lane && lane_full(w)) kafka_hold_topic(w->kafka, w->lane_topic, true);
        if (buffer_full(w)) {
            kafka_pause(w->kafka, true);
            break;
        }
    }
    bool startable = !hold && !window_full(w) && (w->queued.n || (w->lane.n && lane_may_start(w)));
    if (n == POLL_BATCH || startable) loop_wake(w->loop); /* more to do */
    if (w->parked) {
        int64_t until = w->parked->due_ms - now_ms();
        loop_sleep_at_most(w->loop, until > 0 ? (int)(until < 100 ? until : 100) : 0);
    }
}

static void on_kafka_fd(void *ctx, int fd, int events) {
    worker_t *w = ctx;
    kafka_drain_fds(w->kafka);
    kafka_serve(w->kafka); /* delivery reports; consumer messages are taken in before_sleep */
}

static void on_admin_fd(void *ctx, int fd, int events) { admin_http_serve(ctx); }

/* ==== Metrics, health and readiness ==== */

static void register_metrics(worker_t *w) {
    metrics_set_const_label("worker", w->stage->name);
    w->consumed = metric_get(METRIC_COUNTER, "pressroom_messages_consumed_total",
                             "Messages taken from the input topic.", NULL);
    w->emitted = metric_get(METRIC_COUNTER, "pressroom_messages_produced_total",
                            "Outputs produced to the next topics (DLQ excluded).", NULL);
    w->dlq = metric_get(METRIC_COUNTER, "pressroom_dead_letters_total",
                        "Malformed inputs sent to the DLQ with their reason.", NULL);
}

static void refresh_metrics(void *ctx) {
    worker_t *w = ctx;
    metric_set(metric_get(METRIC_GAUGE, "pressroom_inflight", "Inputs being processed by the stage.", NULL),
               stage_inflight(w));
    metric_set(metric_get(METRIC_GAUGE, "pressroom_max_inflight", "The in-flight window.", NULL),
               w->max_inflight);
    metric_set(metric_get(METRIC_GAUGE, "pressroom_pending_inputs",
                          "Inputs whose offsets wait on unfinished work or unacknowledged outputs.", NULL),
               kafka_pending_inputs(w->kafka));
    metric_set(metric_get(METRIC_GAUGE, "pressroom_buffered_inputs",
                          "Inputs polled and waiting for room in the window (not yet started).", NULL),
               w->queued.n + w->lane.n);
    metric_set(metric_get(METRIC_GAUGE, "pressroom_parked",
                          "Inputs parked for later (budget deferral, Redis down, rate limit).", NULL),
               w->n_parked);
    metric_set(metric_get(METRIC_COUNTER, "pressroom_consumer_pauses_total",
                          "Partitions paused (buffer full, deferral, backfill lane held, draining): each "
                          "loses librdkafka's prefetch and is fetched again on resume.",
                          NULL),
               (double)kafka_partition_pauses(w->kafka));
    metric_set(metric_get(METRIC_GAUGE, "pressroom_consumer_paused",
                          "1 while consumption is paused (buffer full, deferral, draining).", NULL),
               kafka_paused(w->kafka));
    metric_set(metric_get(METRIC_GAUGE, "pressroom_draining", "1 after SIGTERM while in-flight work finishes.", NULL),
               w->draining);
    /* Not yet polled, plus polled and not yet done (buffered, in flight, parked). */
    metric_set(metric_get(METRIC_GAUGE, "pressroom_consumer_lag",
                          "Messages of this worker's partitions not yet processed (behind the end).", NULL),
               (double)(kafka_consumer_lag(w->kafka) + w->queued.n + w->lane.n + kafka_pending_inputs(w->kafka)));
    if (w->stage->refresh_metrics) w->stage->refresh_metrics(w);
}

static const char *not_ready(void *ctx) {
    worker_t *w = ctx;
    if (w->draining || !worker_running(w)) return "draining";
    return w->stage->not_ready ? w->stage->not_ready(w) : NULL;
}

static void log_stats(worker_t *w) {
    char c[24], e[24], d[24], i[16], p[16], pk[16];
    snprintf(c, sizeof c, "%.0f", metric_value(w->consumed));
    snprintf(e, sizeof e, "%.0f", metric_value(w->emitted));
    snprintf(d, sizeof d, "%.0f", metric_value(w->dlq));
    snprintf(i, sizeof i, "%d", stage_inflight(w));
    snprintf(p, sizeof p, "%d", kafka_pending_inputs(w->kafka));
    snprintf(pk, sizeof pk, "%d", w->n_parked);
    log_info("stats", "consumed", c, "emitted", e, "dlq", d, "inflight", i, "pending_inputs", p,
             "parked", pk, "paused", kafka_paused(w->kafka) ? "true" : "false", NULL);
    if (w->stage->log_stats) w->stage->log_stats(w);
}

static void usage(const worker_stage_t *stage) {
    fprintf(stderr, "usage: %s [--config FILE] [--max-inflight N] [--metrics-listen HOST:PORT]\n",
            stage->name);
}

/* Parses the command line. Returns 0, or 2 after printing the usage. */
static int parse_args(int argc, char **argv, const worker_stage_t *stage, const char **config_path,
                      const char **metrics_listen, int *max_inflight) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) *config_path = argv[++i];
        else if (!strcmp(argv[i], "--metrics-listen") && i + 1 < argc) *metrics_listen = argv[++i];
        else if (!strcmp(argv[i], "--max-inflight") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1000000) {
                fprintf(stderr, "%s: --max-inflight: expected an integer from 1 to 1000000, found \"%s\"\n",
                        stage->name, argv[i]);
                return 2;
            }
            *max_inflight = (int)n;
        } else {
            usage(stage);
            return 2;
        }
    }
    return 0;
}

static void worker_free(worker_t *w) {
    drop_parked(w);
    buffer_drop(w, NULL, 0);
    free(w->queued.v);
    free(w->lane.v);
    if (w->stage->fini && w->state) w->stage->fini(w);
    /* Inputs still in flight after a drain timeout: the stage is gone, their offsets
     * were never stored (redelivered to the next owner); only their messages remain. */
    int abandoned = 0;
    for (; w->live; abandoned++) input_free(w->live);
    if (abandoned) {
        char n[16];
        snprintf(n, sizeof n, "%d", abandoned);
        log_warn("inputs_abandoned", "count", n, "why", "still in flight at exit; redelivered to the next owner", NULL);
    }
    kafka_free(w->kafka);
    admin_http_stop(w->admin);
    loop_free(w->loop);
    free(w);
    metrics_reset();
}

/* A start-up error, on both the log and stderr, redacted like every string that leaves
 * the process. Returns rc, the exit status. */
static int start_failed(const worker_stage_t *stage, const char *event, char *err, size_t errlen, int rc) {
    redact(err, errlen);
    log_error(event, "error", err, NULL);
    fprintf(stderr, "%s: %s\n", stage->name, err);
    return rc;
}

/* Loads the config, sets up the stage, Kafka and the admin endpoint. Returns 0, or
 * the exit status. */
static int worker_start(worker_t *w, const char *config_path, const char *metrics_listen, int max_inflight) {
    const worker_stage_t *stage = w->stage;
    char err[1024];
    if (config_load(&w->cfg, config_path, err, sizeof err) != 0)
        return start_failed(stage, "bad_config", err, sizeof err, 2);
    if (metrics_listen) snprintf(w->cfg.metrics_listen, sizeof w->cfg.metrics_listen, "%s", metrics_listen);
    register_metrics(w);
    w->max_inflight = 64;
    w->loop = loop_new();
    loop_before_sleep(w->loop, before_sleep, w);
    if (stage->init && stage->init(w, err, sizeof err) != 0)
        return start_failed(stage, "init_failed", err, sizeof err, 2);
    if (max_inflight > 0) w->max_inflight = max_inflight;

    char group[256], topic[256];
    snprintf(group, sizeof group, "%s%s", w->cfg.group_prefix, stage->name);
    config_topic(&w->cfg, stage->input, topic, sizeof topic);
    const char *lane = config_lane_topic(stage->input);
    if (lane) config_topic(&w->cfg, lane, w->lane_topic, sizeof w->lane_topic);
    int quota = (int)(w->cfg.backfill.lane_share * w->max_inflight);
    w->lane_quota = quota > 0 ? quota : 1;
    const char *topics[] = {topic, w->lane_topic};
    w->kafka = kafka_new(&w->cfg, group, topics, lane ? 2 : 1, err, sizeof err);
    if (!w->kafka)
        return start_failed(stage, "kafka_failed", err, sizeof err, 1);
    kafka_set_delivery_handler(w->kafka, on_delivery, w);
    kafka_set_revoke_handler(w->kafka, on_revoke, w);
    loop_watch(w->loop, kafka_consumer_fd(w->kafka), LOOP_READ, on_kafka_fd, w);
    loop_watch(w->loop, kafka_producer_fd(w->kafka), LOOP_READ, on_kafka_fd, w);
    if (w->cfg.metrics_listen[0]) {
        admin_http_hooks_t hooks = {.refresh = refresh_metrics, .not_ready = not_ready, .ctx = w};
        w->admin = admin_http_start(w->cfg.metrics_listen, &hooks, err, sizeof err);
        if (!w->admin)
            return start_failed(stage, "admin_http_failed", err, sizeof err, 2);
        loop_watch(w->loop, admin_http_fd(w->admin), LOOP_READ, on_admin_fd, w->admin);
    }
    char mi[16];
    snprintf(mi, sizeof mi, "%d", w->max_inflight);
    log_info("worker_started", "input", topic, "backfill_lane", w->lane_topic, "group", group, "max_inflight", mi,
             "brokers", w->cfg.brokers, NULL);
    return 0;
}

int worker_main(int argc, char **argv, const worker_stage_t *stage) {
    const char *config_path = NULL, *metrics_listen = NULL;
    int max_inflight = 0;
    int rc = parse_args(argc, argv, stage, &config_path, &metrics_listen, &max_inflight);
    if (rc) return rc;
    log_init(stage->name);
    /* cJSON allocates through the one out-of-memory policy too (alloc.h). */
    cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = xmalloc, .free_fn = free});
    setenv("OMP_THREAD_LIMIT", "1", 0);
    worker_t *w = xcalloc(1, sizeof *w);
    w->stage = stage;
    w->consuming = true;
    rc = worker_start(w, config_path, metrics_listen, max_inflight);
    if (rc) {
        worker_free(w);
        return rc;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int64_t next_stats = mono_ms() + STATS_INTERVAL_MS;
    while (worker_running(w)) {
        loop_run_once(w->loop, 100);
        if (mono_ms() >= next_stats) {
            log_stats(w);
            next_stats = mono_ms() + STATS_INTERVAL_MS;
        }
    }
    /* Drain: finish what is in flight, let outputs be acknowledged, store, commit. */
    char why[512] = "";
    if (kafka_failed(w->kafka, why, sizeof why) || w->failed) {
        log_error("worker_failed", "error", why[0] ? why : "produce failed", NULL);
        rc = 1;
    } else {
        log_info("draining", NULL);
        w->draining = true;
        w->consuming = false;
        drop_parked(w);
        buffer_drop(w, NULL, 0);
        int64_t deadline = mono_ms() + w->cfg.drain_timeout_ms;
        while ((stage_inflight(w) > 0 || kafka_outq_len(w->kafka) > 0) && mono_ms() < deadline &&
               !kafka_failed(w->kafka, NULL, 0))
            loop_run_once(w->loop, 100);
        if (stage_inflight(w) > 0) log_warn("drain_timeout", NULL);
        if (kafka_failed(w->kafka, why, sizeof why)) rc = 1;
    }
    drop_parked(w);
    log_stats(w);
    /* A failed worker stores nothing more: no flush-driven watermark, no final commit. */
    kafka_close(w->kafka, rc ? 0 : 10000, rc == 0);
    if (stage->fini) stage->fini(w);
    w->state = NULL;
    worker_free(w);
    log_info("worker_stopped", "status", rc ? "failed" : "clean", NULL);
    return rc;
}
