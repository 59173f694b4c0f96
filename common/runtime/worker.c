/* worker.c — the shared worker runtime; see worker.h. */
#include "runtime/worker.h"
#include "base/clock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "runtime/admin_http.h"
#include "base/log.h"
#include "base/metrics.h"

#define WORKER_MAX_FDS 8
#define DRAIN_TIMEOUT_MS 30000
#define STATS_INTERVAL_MS 10000

typedef struct parked {
    rd_kafka_message_t *m;
    input_ref_t *ref;
    int64_t due_ms;
    bool pause;
    struct parked *next;
} parked_t;

struct worker {
    const worker_stage_t *stage;
    void *state;
    config_t cfg;
    kafka_t *kafka;
    int max_inflight;
    int extra_fds[WORKER_MAX_FDS];
    int n_extra;
    parked_t *parked;
    int n_parked;
    rd_kafka_message_t *held; /* worker_hold() during the current on_message */
    bool failed;
    bool draining;
    admin_http_t *admin; /* NULL unless metrics_listen is set */
    metric_t *consumed, *emitted, *dlq;
};

static volatile sig_atomic_t g_run = 1;
static void on_signal(int sig) {
    (void)sig;
    g_run = 0;
}

const config_t *worker_config(const worker_t *w) { return &w->cfg; }
void *worker_state(const worker_t *w) { return w->state; }
void worker_set_state(worker_t *w, void *state) { w->state = state; }
int worker_max_inflight(const worker_t *w) { return w->max_inflight; }
void worker_set_max_inflight(worker_t *w, int n) { w->max_inflight = n > 0 ? n : 1; }
bool worker_running(const worker_t *w) { return g_run && !w->failed; }

void worker_add_fd(worker_t *w, int fd) {
    if (w->n_extra < WORKER_MAX_FDS) w->extra_fds[w->n_extra++] = fd;
}

/* ==== Outputs ==== */

int worker_emit(worker_t *w, input_ref_t *ref, const char *topic, const char *key, const char *json) {
    char full[256], err[512];
    config_topic(&w->cfg, topic, full, sizeof full);
    if (kafka_produce(w->kafka, full, key, json, strlen(json), NULL, 0, ref, err, sizeof err) != 0) {
        log_error("produce_failed", "topic", full, "key", key, "error", err, NULL);
        w->failed = true;
        return -1;
    }
    metric_inc(w->emitted, 1);
    return 0;
}

void worker_dlq(worker_t *w, const rd_kafka_message_t *m, input_ref_t *ref, const char *reason) {
    char full[256], err[512], part[16], off[32];
    config_topic(&w->cfg, "dlq", full, sizeof full);
    snprintf(part, sizeof part, "%d", (int)m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    const char *src = rd_kafka_topic_name(m->rkt);
    kafka_header_t h[] = {{"pressroom-reason", reason},
                          {"pressroom-source-topic", src},
                          {"pressroom-source-partition", part},
                          {"pressroom-source-offset", off},
                          {"pressroom-worker", w->stage->name}};
    char key[160] = "";
    if (m->key_len) snprintf(key, sizeof key, "%.*s", (int)(m->key_len < 150 ? m->key_len : 150), (const char *)m->key);
    log_warn("dead_lettered", "topic", src, "partition", part, "offset", off, "reason", reason, NULL);
    if (kafka_produce(w->kafka, full, m->key_len ? key : NULL, m->payload, m->len, h, 5, ref, err,
                      sizeof err) != 0) {
        log_error("produce_failed", "topic", full, "error", err, NULL);
        w->failed = true;
    }
    metric_inc(w->dlq, 1);
    worker_done(w, ref);
}

void worker_done(worker_t *w, input_ref_t *ref) {
    (void)w;
    input_ref_release(ref);
}

/* ==== Parking ==== */

void worker_park(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref, int64_t until_ms, bool pause,
                 const char *why) {
    parked_t *p = calloc(1, sizeof *p);
    p->m = m;
    p->ref = ref;
    p->due_ms = until_ms;
    p->pause = pause;
    /* keep due order */
    parked_t **pp = &w->parked;
    while (*pp && (*pp)->due_ms <= until_ms) pp = &(*pp)->next;
    p->next = *pp;
    *pp = p;
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
    for (parked_t *p = w->parked; p; p = p->next)
        if (p->pause) return true;
    return false;
}

static bool is_parked(const worker_t *w, const rd_kafka_message_t *m) {
    for (parked_t *p = w->parked; p; p = p->next)
        if (p->m == m) return true;
    return false;
}

void worker_hold(worker_t *w, rd_kafka_message_t *m) { w->held = m; }

/* Dispatches m to the stage; destroys it unless the stage parked or held it. */
static void dispatch(worker_t *w, rd_kafka_message_t *m, input_ref_t *ref) {
    w->held = NULL;
    w->stage->on_message(w, m, ref);
    if (w->held != m && !is_parked(w, m)) rd_kafka_message_destroy(m);
    w->held = NULL;
}

static void redispatch_due(worker_t *w) {
    int64_t now = now_ms();
    while (w->parked && w->parked->due_ms <= now && worker_running(w)) {
        parked_t *p = w->parked;
        w->parked = p->next;
        w->n_parked--;
        rd_kafka_message_t *m = p->m;
        input_ref_t *ref = p->ref;
        free(p);
        dispatch(w, m, ref);
    }
}

static void drop_parked(worker_t *w) {
    /* Never ended: their offsets are not stored, so they are redelivered. */
    while (w->parked) {
        parked_t *p = w->parked;
        w->parked = p->next;
        rd_kafka_message_destroy(p->m);
        free(p);
    }
    w->n_parked = 0;
}

/* ==== Loop ==== */

static void default_wait(worker_t *w, struct curl_waitfd *fds, unsigned n, int timeout_ms) {
    (void)w;
    struct pollfd p[WORKER_MAX_FDS + 3];
    for (unsigned i = 0; i < n; i++) p[i] = (struct pollfd){.fd = fds[i].fd, .events = POLLIN};
    poll(p, n, timeout_ms);
}

static int stage_inflight(worker_t *w) { return w->stage->inflight ? w->stage->inflight(w) : 0; }

static void iterate(worker_t *w, bool consume) {
    redispatch_due(w);
    int busy = stage_inflight(w) + w->n_parked;
    bool full = busy >= w->max_inflight;
    kafka_pause(w->kafka, !consume || full || parked_pause(w));
    /* Poll even when paused: it serves rebalances; a paused partition yields nothing. */
    for (int n = 0; n < 256 && worker_running(w); n++) {
        rd_kafka_message_t *m = kafka_poll(w->kafka, 0);
        if (!m) break;
        if (!consume) { /* draining: leave it to be redelivered */
            rd_kafka_message_destroy(m);
            continue;
        }
        metric_inc(w->consumed, 1);
        input_ref_t *ref = kafka_track(w->kafka, m);
        dispatch(w, m, ref);
        if (stage_inflight(w) + w->n_parked >= w->max_inflight) {
            kafka_pause(w->kafka, true);
            break;
        }
    }
    struct curl_waitfd fds[WORKER_MAX_FDS + 3];
    unsigned nfds = 0;
    fds[nfds++] = (struct curl_waitfd){.fd = kafka_consumer_fd(w->kafka), .events = CURL_WAIT_POLLIN};
    fds[nfds++] = (struct curl_waitfd){.fd = kafka_producer_fd(w->kafka), .events = CURL_WAIT_POLLIN};
    for (int i = 0; i < w->n_extra; i++)
        fds[nfds++] = (struct curl_waitfd){.fd = w->extra_fds[i], .events = CURL_WAIT_POLLIN};
    if (w->admin) fds[nfds++] = (struct curl_waitfd){.fd = admin_http_fd(w->admin), .events = CURL_WAIT_POLLIN};
    int timeout = 100;
    if (w->parked) {
        int64_t until = w->parked->due_ms - now_ms();
        if (until < timeout) timeout = until < 0 ? 0 : (int)until;
    }
    if (w->stage->wait) w->stage->wait(w, fds, nfds, timeout);
    else default_wait(w, fds, nfds, timeout);
    kafka_drain_fds(w->kafka);
    kafka_serve(w->kafka);
    if (w->stage->collect) w->stage->collect(w);
    kafka_serve(w->kafka);
    if (w->admin) admin_http_serve(w->admin);
}

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
    metric_set(metric_get(METRIC_GAUGE, "pressroom_parked",
                          "Inputs parked for later (budget deferral, Redis down, rate limit).", NULL),
               w->n_parked);
    metric_set(metric_get(METRIC_GAUGE, "pressroom_consumer_paused",
                          "1 while consumption is paused (window full, deferral, draining).", NULL),
               kafka_paused(w->kafka));
    metric_set(metric_get(METRIC_GAUGE, "pressroom_draining", "1 after SIGTERM while in-flight work finishes.", NULL),
               w->draining);
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

int worker_main(int argc, char **argv, const worker_stage_t *stage) {
    const char *config_path = NULL;
    const char *metrics_listen = NULL;
    int max_inflight = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
        else if (!strcmp(argv[i], "--metrics-listen") && i + 1 < argc) metrics_listen = argv[++i];
        else if (!strcmp(argv[i], "--max-inflight") && i + 1 < argc) max_inflight = atoi(argv[++i]);
        else {
            usage(stage);
            return 2;
        }
    }
    log_init(stage->name);
    setenv("OMP_THREAD_LIMIT", "1", 0);
    worker_t *w = calloc(1, sizeof *w);
    w->stage = stage;
    char err[1024];
    if (config_load(&w->cfg, config_path, err, sizeof err) != 0) {
        log_error("bad_config", "error", err, NULL);
        fprintf(stderr, "%s: %s\n", stage->name, err);
        free(w);
        return 2;
    }
    if (metrics_listen) snprintf(w->cfg.metrics_listen, sizeof w->cfg.metrics_listen, "%s", metrics_listen);
    register_metrics(w);
    w->max_inflight = 64;
    if (stage->init && stage->init(w, err, sizeof err) != 0) {
        log_error("init_failed", "error", err, NULL);
        fprintf(stderr, "%s: %s\n", stage->name, err);
        free(w);
        metrics_reset();
        return 2;
    }
    if (max_inflight > 0) w->max_inflight = max_inflight;

    char group[256], topic[256];
    snprintf(group, sizeof group, "%s%s", w->cfg.group_prefix, stage->name);
    config_topic(&w->cfg, stage->input, topic, sizeof topic);
    const char *topics[] = {topic};
    w->kafka = kafka_new(&w->cfg, group, topics, 1, err, sizeof err);
    if (!w->kafka) {
        log_error("kafka_failed", "error", err, NULL);
        if (stage->fini) stage->fini(w);
        free(w);
        metrics_reset();
        return 1;
    }
    if (w->cfg.metrics_listen[0]) {
        admin_http_hooks_t hooks = {.refresh = refresh_metrics, .not_ready = not_ready, .ctx = w};
        w->admin = admin_http_start(w->cfg.metrics_listen, &hooks, err, sizeof err);
        if (!w->admin) {
            log_error("admin_http_failed", "error", err, NULL);
            fprintf(stderr, "%s: %s\n", stage->name, err);
            kafka_free(w->kafka);
            if (stage->fini) stage->fini(w);
            free(w);
            metrics_reset();
            return 2;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char mi[16];
    snprintf(mi, sizeof mi, "%d", w->max_inflight);
    log_info("worker_started", "input", topic, "group", group, "max_inflight", mi, "brokers",
             w->cfg.brokers, NULL);

    int64_t next_stats = now_ms() + STATS_INTERVAL_MS;
    while (worker_running(w)) {
        iterate(w, true);
        if (now_ms() >= next_stats) {
            log_stats(w);
            next_stats = now_ms() + STATS_INTERVAL_MS;
        }
    }
    /* Drain: finish what is in flight, let outputs be acknowledged, store, commit. */
    char why[512] = "";
    int rc = 0;
    if (kafka_failed(w->kafka, why, sizeof why) || w->failed) {
        log_error("worker_failed", "error", why[0] ? why : "produce failed", NULL);
        rc = 1;
    } else {
        log_info("draining", NULL);
        w->draining = true;
        drop_parked(w);
        int64_t deadline = now_ms() + DRAIN_TIMEOUT_MS;
        while ((stage_inflight(w) > 0 || kafka_outq_len(w->kafka) > 0) && now_ms() < deadline &&
               !kafka_failed(w->kafka, NULL, 0))
            iterate(w, false);
        if (stage_inflight(w) > 0) log_warn("drain_timeout", NULL);
    }
    drop_parked(w);
    log_stats(w);
    kafka_close(w->kafka, rc ? 0 : 10000);
    if (stage->fini) stage->fini(w);
    kafka_free(w->kafka);
    admin_http_stop(w->admin);
    free(w);
    metrics_reset();
    log_info("worker_stopped", "status", rc ? "failed" : "clean", NULL);
    return rc;
}
