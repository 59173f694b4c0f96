/* kafka.c — consumer, producer and watermark storage; see kafka.h. */
#include "runtime/kafka.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/redact.h"

extern char **environ;

struct kafka {
    rd_kafka_t *producer;
    rd_kafka_t *consumer; /* NULL for produce-only users */
    rd_kafka_queue_t *consumer_q;
    rd_kafka_queue_t *producer_q;
    int consumer_pipe[2];
    int producer_pipe[2];
    offset_tracker_t *tracker;
    bool paused;
    bool held;            /* held_topic's partitions are paused (kafka_hold_topic) */
    uint64_t partition_pauses; /* partitions paused so far: each one loses its prefetch */
    char held_topic[256];
    bool cooperative;
    bool failed;
    bool close_abandoned; /* the consumer did not close in time: destroy without closing */
    kafka_delivery_fn on_delivery;
    struct produce_wait *waiting; /* kafka_produce_wait's message, NULL when none */
    kafka_revoke_fn on_revoke;
    void *revoke_ctx;
    void *delivery_ctx;
    size_t message_max_bytes;
    char failure[512];
};

/* ==== Configuration ==== */

/* Whether a property holds a credential: its value is registered for redaction and
 * never printed. sasl.mechanism(s) only names a public algorithm. */
static bool sensitive_property(const char *k) {
    if (!strcmp(k, "sasl.mechanism") || !strcmp(k, "sasl.mechanisms")) return false;
    return strstr(k, "password") || strstr(k, "secret") || !strncmp(k, "sasl.", 5) || !strncmp(k, "ssl.key", 7);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen) {
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        if (sensitive_property(k))
            /* librdkafka may quote the value ("Invalid value ... for ..."): then not its words either. */
            snprintf(err, errlen, "kafka property %s=" REDACT_MARK ": %s", k,
                     *v && strstr(e, v) ? "rejected (librdkafka's message quotes the value)" : e);
        else
            snprintf(err, errlen, "kafka property %s=%s: %s", k, v, e);
        return -1;
    }
    return 0;
}

int kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen) {
    static const char prefix[] = "PRESSROOM_KAFKA_";
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1)) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char prop[128];
        size_t n = 0;
        for (const char *p = *e + sizeof prefix - 1; p < eq && n + 1 < sizeof prop; p++)
            prop[n++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
        prop[n] = 0;
        if (sensitive_property(prop) && eq[1] && !redact_add_secret(eq + 1)) {
            char why[64];
            snprintf(why, sizeof why, "shorter than %d characters", REDACT_MIN_SECRET);
            log_warn("kafka_secret_not_redacted", "property", prop, "why", why, NULL);
        }
        if (conf_set(conf, prop, eq + 1, err, errlen)) return -1;
    }
    return 0;
}

/* librdkafka's own log lines, as structured JSON like every other line (called
 * from librdkafka's threads; log.c writes each line with one write(2)). */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    log_level_t l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_event(l, "rdkafka", "client", rd_kafka_name(rk), "facility", fac, "msg", buf, NULL);
}

static rd_kafka_conf_t *base_conf(const config_t *cfg, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    if (conf_set(conf, "bootstrap.servers", cfg->brokers, err, errlen) ||
        conf_set(conf, "log_level", "4", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* ==== Delivery reports and watermarks ==== */

struct produce_wait {
    bool done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    kafka_t *k = opaque;
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (k->waiting && m->_private == k->waiting) {
        *k->waiting = (struct produce_wait){true, m->err, m->partition, m->offset};
        return;
    }
    if (m->err)
        log_error("delivery_failed", "topic", topic, "error", rd_kafka_err2str(m->err), NULL);
    if (k->on_delivery && m->_private) {
        k->on_delivery(k->delivery_ctx, m->_private, m->err, topic);
    } else if (m->err) {
        /* librdkafka already retried within message.timeout.ms: nobody to tell. */
        char why[512];
        snprintf(why, sizeof why, "delivery to %s failed: %s", topic, rd_kafka_err2str(m->err));
        kafka_fail(k, why);
    }
}

void kafka_fail(kafka_t *k, const char *why) {
    if (k->failed) return;
    k->failed = true;
    snprintf(k->failure, sizeof k->failure, "%s", why);
}

void kafka_set_revoke_handler(kafka_t *k, kafka_revoke_fn fn, void *ctx) {
    k->on_revoke = fn;
    k->revoke_ctx = ctx;
}

void kafka_set_delivery_handler(kafka_t *k, kafka_delivery_fn fn, void *ctx) {
    k->on_delivery = fn;
    k->delivery_ctx = ctx;
}

bool kafka_error_permanent(rd_kafka_resp_err_t e) {
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__BAD_MSG: return true;
    default: return false;
    }
}

size_t kafka_message_max_bytes(const kafka_t *k) { return k->message_max_bytes; }

static void store_watermark(void *opaque, const char *topic, int32_t partition, int64_t next) {
    kafka_t *k = opaque;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(k->consumer, l);
    if (e && e != RD_KAFKA_RESP_ERR__STATE) {
        char p[16];
        snprintf(p, sizeof p, "%d", (int)partition);
        log_warn("offset_store_failed", "topic", topic, "partition", p, "error", rd_kafka_err2str(e), NULL);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* ==== Pausing ==== */

/* Which partitions of a list a pause or resume touches. A partition is only ever resumed
 * when it is paused: resuming one that is not makes librdkafka restart its fetch from
 * the committed offset, redelivering what was already consumed. */
typedef enum { PARTS_ALL, PARTS_UNHELD, PARTS_HELD } parts_filter_t;

static void set_paused(kafka_t *k, const rd_kafka_topic_partition_list_t *parts, bool pause, parts_filter_t which) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        bool held = k->held && !strcmp(p->topic, k->held_topic);
        if (which == PARTS_ALL || (which == PARTS_HELD) == held) rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    }
    if (l->cnt) {
        if (pause) {
            rd_kafka_pause_partitions(k->consumer, l);
            k->partition_pauses += (uint64_t)l->cnt;
        } else rd_kafka_resume_partitions(k->consumer, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void set_paused_assigned(kafka_t *k, bool pause, parts_filter_t which) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(k->consumer, &parts) || !parts) return;
    set_paused(k, parts, pause, which);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* ==== Rebalance ==== */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    kafka_t *k = opaque;
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("partitions_assigned", "count", n, "protocol", k->cooperative ? "cooperative" : "eager",
                 NULL);
        rd_kafka_error_t *e = NULL;
        if (k->cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else rd_kafka_assign(rk, parts);
        if (e) {
            log_error("assign_failed", "error", rd_kafka_error_string(e), NULL);
            rd_kafka_error_destroy(e);
        }
        if (k->paused) set_paused(k, parts, true, PARTS_ALL);
        else if (k->held) set_paused(k, parts, true, PARTS_HELD);
    } else {
        log_info("partitions_revoked", "count", n, NULL);
        /* Commit what is stored (the watermarks) before giving the partitions up, so
         * the next owner redelivers only what was still in flight. */
        rd_kafka_commit(rk, NULL, 0);
        for (int i = 0; i < parts->cnt; i++) {
            offset_tracker_revoke(k->tracker, parts->elems[i].topic, parts->elems[i].partition);
            if (k->on_revoke) k->on_revoke(k->revoke_ctx, parts->elems[i].topic, parts->elems[i].partition);
        }
        if (k->cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, NULL);
        }
    }
}

/* ==== Life cycle ==== */

static int make_pipe(int fds[2]) {
    if (pipe(fds) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

kafka_t *kafka_new(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                   char *err, size_t errlen) {
    kafka_t *k = xcalloc(1, sizeof *k);
    k->consumer_pipe[0] = k->consumer_pipe[1] = k->producer_pipe[0] = k->producer_pipe[1] = -1;
    char e[512];

    rd_kafka_conf_t *pconf = base_conf(cfg, err, errlen);
    if (!pconf) goto fail;
    if (conf_set(pconf, "enable.idempotence", "true", err, errlen) ||
        conf_set(pconf, "linger.ms", "5", err, errlen) ||
        conf_set(pconf, "message.timeout.ms", "60000", err, errlen) ||
        conf_set(pconf, "queue.buffering.max.messages", "200000", err, errlen) ||
        /* JSON compresses several-fold: less network and disk on a real cluster, and
         * several times the backlog inside the embedded broker's 5 MB per partition. */
        conf_set(pconf, "compression.type", "lz4", err, errlen) ||
        kafka_conf_from_env(pconf, err, errlen)) {
        rd_kafka_conf_destroy(pconf);
        goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_conf_set_opaque(pconf, k);
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, e, sizeof e);
    if (!k->producer) {
        snprintf(err, errlen, "cannot create a Kafka producer for %s: %s", cfg->brokers, e);
        goto fail;
    }
    k->producer_q = rd_kafka_queue_get_main(k->producer);
    char mmb[32];
    size_t mmb_len = sizeof mmb;
    k->message_max_bytes = 1000000;
    if (rd_kafka_conf_get(rd_kafka_conf(k->producer), "message.max.bytes", mmb, &mmb_len) == RD_KAFKA_CONF_OK)
        k->message_max_bytes = (size_t)strtoull(mmb, NULL, 10);
    if (make_pipe(k->producer_pipe)) goto fail_errno;
    rd_kafka_queue_io_event_enable(k->producer_q, k->producer_pipe[1], "1", 1);

    if (group) {
        rd_kafka_conf_t *cconf = base_conf(cfg, err, errlen);
        if (!cconf) goto fail;
        char session[16], heartbeat[16];
        snprintf(session, sizeof session, "%d", cfg->session_timeout_ms);
        snprintf(heartbeat, sizeof heartbeat, "%d", cfg->session_timeout_ms / 4 > 100 ? cfg->session_timeout_ms / 4 : 100);
        if (conf_set(cconf, "group.id", group, err, errlen) ||
            conf_set(cconf, "enable.auto.commit", "true", err, errlen) ||
            conf_set(cconf, "auto.commit.interval.ms", "500", err, errlen) ||
            conf_set(cconf, "enable.auto.offset.store", "false", err, errlen) ||
            conf_set(cconf, "auto.offset.reset", "earliest", err, errlen) ||
            conf_set(cconf, "partition.assignment.strategy", "cooperative-sticky", err, errlen) ||
            conf_set(cconf, "session.timeout.ms", session, err, errlen) ||
            conf_set(cconf, "heartbeat.interval.ms", heartbeat, err, errlen) ||
            conf_set(cconf, "max.poll.interval.ms", "300000", err, errlen) ||
            kafka_conf_from_env(cconf, err, errlen)) {
            rd_kafka_conf_destroy(cconf);
            goto fail;
        }
        rd_kafka_conf_set_rebalance_cb(cconf, on_rebalance);
        rd_kafka_conf_set_opaque(cconf, k);
        k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, e, sizeof e);
        if (!k->consumer) {
            snprintf(err, errlen, "cannot create a Kafka consumer for %s: %s", cfg->brokers, e);
            goto fail;
        }
        k->cooperative = true; /* cooperative-sticky, configured above */
        rd_kafka_poll_set_consumer(k->consumer);
        k->consumer_q = rd_kafka_queue_get_consumer(k->consumer);
        if (make_pipe(k->consumer_pipe)) goto fail_errno;
        rd_kafka_queue_io_event_enable(k->consumer_q, k->consumer_pipe[1], "1", 1);
        k->tracker = offset_tracker_new(store_watermark, k);
        rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(n_topics);
        for (int i = 0; i < n_topics; i++)
            rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t se = rd_kafka_subscribe(k->consumer, subs);
        rd_kafka_topic_partition_list_destroy(subs);
        if (se) {
            snprintf(err, errlen, "cannot subscribe to %s: %s", topics[0], rd_kafka_err2str(se));
            goto fail;
        }
    }
    return k;
fail_errno:
    snprintf(err, errlen, "pipe: %s", strerror(errno));
fail:
    kafka_free(k);
    return NULL;
}

void kafka_free(kafka_t *k) {
    if (!k) return;
    if (k->consumer_q) rd_kafka_queue_destroy(k->consumer_q);
    if (k->producer_q) rd_kafka_queue_destroy(k->producer_q);
    if (k->consumer)
        rd_kafka_destroy_flags(k->consumer, k->close_abandoned ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    if (k->producer) rd_kafka_destroy(k->producer);
    offset_tracker_free(k->tracker);
    for (int i = 0; i < 2; i++) {
        if (k->consumer_pipe[i] >= 0) close(k->consumer_pipe[i]);
        if (k->producer_pipe[i] >= 0) close(k->producer_pipe[i]);
    }
    free(k);
}

/* ==== Consuming ==== */

rd_kafka_message_t *kafka_poll(kafka_t *k, int timeout_ms) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, timeout_ms);
    if (!m) return NULL;
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("consumer_error", "error", rd_kafka_message_errstr(m), NULL);
        }
        rd_kafka_message_destroy(m);
        return NULL;
    }
    return m;
}

input_ref_t *kafka_track(kafka_t *k, const rd_kafka_message_t *m) {
    return offset_tracker_track(k->tracker, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
}

void kafka_pause(kafka_t *k, bool paused) {
    if (!k->consumer || k->paused == paused) return;
    k->paused = paused;
    /* The held topic's partitions stay paused either way. */
    set_paused_assigned(k, paused, PARTS_UNHELD);
}

void kafka_hold_topic(kafka_t *k, const char *topic, bool held) {
    if (!k->consumer || (k->held == held && !strcmp(k->held_topic, topic))) return;
    if (k->held && !k->paused) set_paused_assigned(k, false, PARTS_HELD); /* release the old one */
    k->held = held;
    snprintf(k->held_topic, sizeof k->held_topic, "%s", topic);
    if (held && !k->paused) set_paused_assigned(k, true, PARTS_HELD);
}

bool kafka_paused(const kafka_t *k) { return k->paused; }
uint64_t kafka_partition_pauses(const kafka_t *k) { return k->partition_pauses; }

int kafka_consumer_fd(const kafka_t *k) { return k->consumer_pipe[0]; }
int kafka_producer_fd(const kafka_t *k) { return k->producer_pipe[0]; }

void kafka_drain_fds(kafka_t *k) {
    char buf[256];
    if (k->consumer_pipe[0] >= 0)
        while (read(k->consumer_pipe[0], buf, sizeof buf) > 0) {}
    if (k->producer_pipe[0] >= 0)
        while (read(k->producer_pipe[0], buf, sizeof buf) > 0) {}
}

/* ==== Producing ==== */

rd_kafka_resp_err_t kafka_produce(kafka_t *k, const char *topic, const char *key, const void *value, size_t len,
                                  const kafka_header_t *headers, int n_headers, void *opaque, char *err,
                                  size_t errlen) {
    rd_kafka_headers_t *hdrs = NULL;
    if (n_headers > 0) {
        hdrs = rd_kafka_headers_new((size_t)n_headers);
        for (int i = 0; i < n_headers; i++)
            rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
    }
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (!e) return 0;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 100) {
            rd_kafka_poll(k->producer, 100); /* serve delivery reports to make room */
            continue;
        }
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        snprintf(err, errlen, "produce to %s failed: %s (%zu bytes)", topic, rd_kafka_err2str(e), len);
        return e;
    }
}

rd_kafka_resp_err_t kafka_produce_wait(kafka_t *k, const char *topic, const char *key, const void *value, size_t len,
                                       const kafka_header_t *headers, int n_headers, int timeout_ms,
                                       int32_t *partition, int64_t *offset, char *err, size_t errlen) {
    struct produce_wait w = {0};
    k->waiting = &w;
    rd_kafka_resp_err_t e = kafka_produce(k, topic, key, value, len, headers, n_headers, &w, err, errlen);
    if (e) {
        k->waiting = NULL;
        return e;
    }
    for (int64_t deadline = now_ms() + timeout_ms; !w.done && now_ms() < deadline;) rd_kafka_poll(k->producer, 50);
    if (!w.done) {
        /* Still queued: its report must not land on a dead stack frame. */
        rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(k->producer, 0);
        k->waiting = NULL;
        snprintf(err, errlen, "no answer from the brokers within %d ms for the message to %s", timeout_ms, topic);
        return RD_KAFKA_RESP_ERR__TIMED_OUT;
    }
    k->waiting = NULL;
    if (w.err) {
        snprintf(err, errlen, "delivery to %s failed: %s", topic, rd_kafka_err2str(w.err));
        return w.err;
    }
    if (partition) *partition = w.partition;
    if (offset) *offset = w.offset;
    return 0;
}

const char *kafka_msg_header(const rd_kafka_message_t *m, const char *name, char *buf, size_t len) {
    rd_kafka_headers_t *h = NULL;
    const void *val;
    size_t sz;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &val, &sz)) return NULL;
    snprintf(buf, len, "%.*s", (int)(sz < len ? sz : len - 1), val ? (const char *)val : "");
    return buf;
}

void kafka_serve(kafka_t *k) { rd_kafka_poll(k->producer, 0); }

bool kafka_failed(const kafka_t *k, char *why, size_t len) {
    if (k->failed && why) snprintf(why, len, "%s", k->failure);
    return k->failed;
}

int kafka_pending_inputs(const kafka_t *k) { return k->tracker ? offset_tracker_pending(k->tracker) : 0; }
int kafka_outq_len(const kafka_t *k) { return rd_kafka_outq_len(k->producer); }

void kafka_close(kafka_t *k, int timeout_ms, bool commit) {
    rd_kafka_flush(k->producer, timeout_ms); /* delivery reports move watermarks */
    if (!k->consumer) return;
    if (commit) rd_kafka_commit(k->consumer, NULL, 0);
    /* Leave the group, but never hang on it: rd_kafka_consumer_close() blocks
     * forever when the brokers are gone mid-rebalance. */
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->consumer);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(k->consumer, q);
    if (e) rd_kafka_error_destroy(e);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int limit = timeout_ms > 1000 ? timeout_ms : 1000;
    for (;;) {
        if (rd_kafka_consumer_closed(k->consumer)) break;
        /* The consumer queue now forwards here, prefetched messages included: serve
         * it as events (a callback-mode poll aborts inside librdkafka on a message).
         * The final revocation still runs our handler; unread messages are dropped
         * uncommitted, so the next owner gets them again. */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
        if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
            on_rebalance(k->consumer, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev), k);
        if (ev) rd_kafka_event_destroy(ev);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > limit) {
            log_warn("consumer_close_timeout", "msg", "left the group without the brokers' answer", NULL);
            k->close_abandoned = true;
            break;
        }
    }
    rd_kafka_queue_destroy(q);
}

/* ==== Lag ==== */

int64_t kafka_consumer_lag(kafka_t *k) {
    if (!k->consumer) return 0;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(k->consumer, &parts) || !parts) return 0;
    int64_t lag = 0;
    if (parts->cnt && rd_kafka_position(k->consumer, parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t low = -1, high = -1;
            if (rd_kafka_get_watermark_offsets(k->consumer, p->topic, p->partition, &low, &high) || high < 0)
                continue;
            /* No position yet (nothing fetched): everything from the low mark is behind. */
            int64_t at = p->offset >= 0 ? p->offset : low;
            if (at >= 0 && high > at) lag += high - at;
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return lag;
}

/* ==== Probing the brokers ==== */

int kafka_probe(const config_t *cfg, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = base_conf(cfg, err, errlen);
    if (!conf) return -1;
    /* The caller reports an unreachable cluster in one sentence: no connection logs. */
    if (kafka_conf_from_env(conf, err, errlen) || conf_set(conf, "log_level", "0", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "cannot create a Kafka client for %s: %s", cfg->brokers, e);
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (me) {
        snprintf(err, errlen, "no Kafka broker answered at %s within %d s (%s)", cfg->brokers,
                 (timeout_ms + 999) / 1000, rd_kafka_err2str(me));
        return -1;
    }
    return 0;
}

/* ==== Reading by assignment ==== */

struct kafka_reader {
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts; /* offset = the high watermark at start */
    bool *done;                             /* per element of parts */
    int remaining;                          /* partitions not yet read to their end */
    int64_t since_ms;                       /* messages older than this are skipped */
    int64_t until_ms;                       /* > 0: messages at or after this are skipped, and each
                                               partition ends at the first of them the time
                                               lookup found */
};

static int reader_index(const kafka_reader_t *r, const char *topic, int32_t partition) {
    for (int i = 0; i < r->parts->cnt; i++)
        if (r->parts->elems[i].partition == partition && !strcmp(r->parts->elems[i].topic, topic)) return i;
    return -1;
}

static void reader_mark_done(kafka_reader_t *r, int i) {
    if (i >= 0 && !r->done[i]) {
        r->done[i] = true;
        r->remaining--;
    }
}

/* Reads from the beginning, from since_ms (> 0), or the last `tail` messages (> 0), up
 * to each partition's end, or until_ms (> 0, exclusive). */
static kafka_reader_t *reader_open(const config_t *cfg, const char *const *topics, int n_topics, int64_t since_ms,
                                   int64_t until_ms, int tail, int timeout_ms, char *err, size_t errlen) {
    kafka_reader_t *r = xcalloc(1, sizeof *r);
    rd_kafka_conf_t *conf = base_conf(cfg, err, errlen);
    if (!conf) goto fail;
    /* assign() needs a group.id, but a consumer that never subscribes never joins its
     * group, and one that never commits leaves no offsets: nothing is left behind. */
    if (conf_set(conf, "group.id", "pressroom-reader", err, errlen) ||
        conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
        kafka_conf_from_env(conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    char e[512];
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!r->rk) {
        snprintf(err, errlen, "cannot create a Kafka consumer for %s: %s", cfg->brokers, e);
        goto fail;
    }
    rd_kafka_poll_set_consumer(r->rk);
    r->parts = rd_kafka_topic_partition_list_new(64);
    for (int t = 0; t < n_topics; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t me = rd_kafka_metadata(r->rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (me || !md || md->topic_cnt != 1 || md->topics[0].err) {
            snprintf(err, errlen, "cannot read the partitions of %s from %s: %s", topics[t], cfg->brokers,
                     rd_kafka_err2str(me ? me : md && md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
            if (md) rd_kafka_metadata_destroy(md);
            goto fail;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(r->parts, topics[t], md->topics[0].partitions[p].id);
        rd_kafka_metadata_destroy(md);
    }
    r->done = xcalloc((size_t)r->parts->cnt + 1, sizeof *r->done);
    r->remaining = r->parts->cnt;
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_copy(r->parts);
    for (int i = 0; i < start->cnt; i++) start->elems[i].offset = since_ms > 0 ? since_ms : RD_KAFKA_OFFSET_BEGINNING;
    if (since_ms > 0) {
        rd_kafka_resp_err_t oe = rd_kafka_offsets_for_times(r->rk, start, timeout_ms);
        if (oe) {
            snprintf(err, errlen, "cannot find the offsets at %lld ms on %s: %s", (long long)since_ms,
                     cfg->brokers, rd_kafka_err2str(oe));
            rd_kafka_topic_partition_list_destroy(start);
            goto fail;
        }
    }
    r->since_ms = since_ms;
    rd_kafka_topic_partition_list_t *probe = NULL; /* non-empty partitions the time lookup found nothing in */
    for (int i = 0; i < r->parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &r->parts->elems[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(r->rk, p->topic, p->partition, &low, &high,
                                                                  timeout_ms);
        if (we) {
            snprintf(err, errlen, "cannot read the end of %s [%d]: %s", p->topic, (int)p->partition,
                     rd_kafka_err2str(we));
            rd_kafka_topic_partition_list_destroy(start);
            if (probe) rd_kafka_topic_partition_list_destroy(probe);
            goto fail;
        }
        p->offset = high;
        if (tail > 0) start->elems[i].offset = high - tail > low ? high - tail : low;
        int64_t from = start->elems[i].offset;
        if (high <= low || (since_ms > 0 && from >= high)) reader_mark_done(r, i); /* nothing to read */
        else if (since_ms > 0 && from < 0) {
            if (!probe) probe = rd_kafka_topic_partition_list_new(r->parts->cnt);
            rd_kafka_topic_partition_list_add(probe, p->topic, p->partition)->offset = 0;
        }
    }
    /* -1 means nothing at or after since_ms, or a broker that cannot look up times
     * (librdkafka's mock cluster, the embedded broker). Asked for time 0, a broker that
     * can answers a real offset for a non-empty partition: then nothing is newer. One
     * that cannot gets read from the beginning, older messages skipped by timestamp. */
    if (probe) {
        bool searchable = rd_kafka_offsets_for_times(r->rk, probe, timeout_ms) == 0;
        for (int j = 0; j < probe->cnt; j++) {
            const rd_kafka_topic_partition_t *q = &probe->elems[j];
            int i = reader_index(r, q->topic, q->partition);
            if (searchable && q->offset >= 0 && !q->err) {
                reader_mark_done(r, i);
                start->elems[i].offset = RD_KAFKA_OFFSET_END;
            } else {
                start->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            }
        }
        rd_kafka_topic_partition_list_destroy(probe);
    }
    /* The end bound: each partition ends at the first offset at or after until_ms, when
     * the brokers can say. A broker that cannot (the embedded one answers -1, or an
     * error) leaves the end at the high watermark, and kafka_reader_next drops what is
     * not older than until_ms by timestamp, so the range is the same either way. */
    r->until_ms = until_ms;
    if (until_ms > 0) {
        rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(r->parts);
        for (int i = 0; i < ends->cnt; i++) ends->elems[i].offset = until_ms;
        if (rd_kafka_offsets_for_times(r->rk, ends, timeout_ms) == 0) {
            for (int i = 0; i < ends->cnt; i++) {
                int64_t end = ends->elems[i].offset;
                if (ends->elems[i].err || end < 0 || end >= r->parts->elems[i].offset) continue;
                r->parts->elems[i].offset = end;
                int64_t from = start->elems[i].offset;
                if (end == 0 || (from >= 0 && from >= end)) reader_mark_done(r, i);
            }
        }
        rd_kafka_topic_partition_list_destroy(ends);
    }
    rd_kafka_resp_err_t ae = rd_kafka_assign(r->rk, start);
    rd_kafka_topic_partition_list_destroy(start);
    if (ae) {
        snprintf(err, errlen, "cannot assign the partitions: %s", rd_kafka_err2str(ae));
        goto fail;
    }
    return r;
fail:
    kafka_reader_free(r);
    return NULL;
}

kafka_reader_t *kafka_reader_new(const config_t *cfg, const char *const *topics, int n_topics, int64_t since_ms,
                                 int64_t until_ms, int timeout_ms, char *err, size_t errlen) {
    return reader_open(cfg, topics, n_topics, since_ms, until_ms, 0, timeout_ms, err, errlen);
}

kafka_reader_t *kafka_reader_new_tail(const config_t *cfg, const char *const *topics, int n_topics, int tail,
                                      int timeout_ms, char *err, size_t errlen) {
    return reader_open(cfg, topics, n_topics, 0, 0, tail > 0 ? tail : 1, timeout_ms, err, errlen);
}

rd_kafka_message_t *kafka_reader_next(kafka_reader_t *r, int timeout_ms) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
    if (!m) return NULL;
    int i = m->rkt ? reader_index(r, rd_kafka_topic_name(m->rkt), m->partition) : -1;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (i >= 0 && m->offset >= r->parts->elems[i].offset) reader_mark_done(r, i);
        rd_kafka_message_destroy(m);
        return NULL;
    }
    if (m->err) {
        log_warn("consumer_error", "error", rd_kafka_message_errstr(m), NULL);
        rd_kafka_message_destroy(m);
        return NULL;
    }
    bool past_end = r->until_ms > 0 && i >= 0 && m->offset >= r->parts->elems[i].offset;
    if (i >= 0 && m->offset + 1 >= r->parts->elems[i].offset) reader_mark_done(r, i);
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (past_end || (r->since_ms > 0 && ts < r->since_ms) || (r->until_ms > 0 && ts >= r->until_ms)) {
        rd_kafka_message_destroy(m);
        return NULL;
    }
    return m;
}

bool kafka_reader_at_end(const kafka_reader_t *r) { return r->remaining <= 0; }

void kafka_reader_free(kafka_reader_t *r) {
    if (!r) return;
    if (r->rk) {
        rd_kafka_assign(r->rk, NULL);
        rd_kafka_destroy_flags(r->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (r->parts) rd_kafka_topic_partition_list_destroy(r->parts);
    free(r->done);
    free(r);
}

/* ==== A group's lag ==== */

int kafka_group_lag(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                    bool skip_unknown, kafka_partition_lag_t *out, int max, int timeout_ms, char *err,
                    size_t errlen) {
    rd_kafka_conf_t *conf = base_conf(cfg, err, errlen);
    if (!conf) return -1;
    /* rd_kafka_committed needs the group's id; a consumer that never subscribes never
     * joins the group, and one that never commits never moves its offsets. */
    if (conf_set(conf, "group.id", group, err, errlen) || conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        kafka_conf_from_env(conf, err, errlen) || conf_set(conf, "log_level", "0", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "cannot create a Kafka consumer for %s: %s", cfg->brokers, e);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    int n = -1;
    for (int t = 0; t < n_topics; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_resp_err_t te = me ? me : md && md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (!te && md->topics[0].partition_cnt == 0) te = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (te) {
            if (md) rd_kafka_metadata_destroy(md);
            if (skip_unknown && te != RD_KAFKA_RESP_ERR__TRANSPORT && te != RD_KAFKA_RESP_ERR__TIMED_OUT) continue;
            snprintf(err, errlen, "cannot read the partitions of %s from %s: %s", topics[t], cfg->brokers,
                     rd_kafka_err2str(te));
            goto done;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], md->topics[0].partitions[p].id);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_resp_err_t ce = rd_kafka_committed(rk, parts, timeout_ms);
    if (ce) {
        snprintf(err, errlen, "cannot read the committed offsets of group %s from %s: %s", group, cfg->brokers,
                 rd_kafka_err2str(ce));
        goto done;
    }
    n = 0;
    for (int i = 0; i < parts->cnt && n < max; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        kafka_partition_lag_t *row = &out[n];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &low, &high, timeout_ms);
        if (we) {
            snprintf(err, errlen, "cannot read the end of %s [%d]: %s", p->topic, (int)p->partition,
                     rd_kafka_err2str(we));
            n = -1;
            goto done;
        }
        snprintf(row->topic, sizeof row->topic, "%s", p->topic);
        row->partition = p->partition;
        row->committed = p->err || p->offset < 0 ? -1 : p->offset;
        row->low = low;
        row->high = high;
        int64_t from = row->committed >= 0 ? row->committed : low;
        row->lag = high > from ? high - from : 0;
        n++;
    }
done:
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return n;
}

/* ==== A consumer group's offsets ==== */

rd_kafka_t *kafka_group_client(const config_t *cfg, const char *group, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = base_conf(cfg, err, errlen);
    if (!conf) return NULL;
    if (conf_set(conf, "group.id", group, err, errlen) || conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) || kafka_conf_from_env(conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) snprintf(err, errlen, "cannot create a Kafka consumer for %s: %s", cfg->brokers, e);
    return rk;
}

rd_kafka_t *kafka_group_join(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                             int timeout_ms, int *assigned, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = base_conf(cfg, err, errlen);
    if (!conf) return NULL;
    char session[16];
    snprintf(session, sizeof session, "%d", cfg->session_timeout_ms);
    if (conf_set(conf, "group.id", group, err, errlen) || conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err, errlen) ||
        conf_set(conf, "session.timeout.ms", session, err, errlen) || kafka_conf_from_env(conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "cannot create a Kafka consumer for %s: %s", cfg->brokers, e);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(n_topics);
    for (int i = 0; i < n_topics; i++) rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (se) {
        snprintf(err, errlen, "cannot join group %s: %s", group, rd_kafka_err2str(se));
        rd_kafka_destroy(rk);
        return NULL;
    }
    /* Settled: the same non-empty assignment for a session timeout (a cooperative
     * rebalance hands partitions over in two steps, and a live member that missed the
     * first round rejoins within its session). Messages polled meanwhile are dropped: with
     * no offset stored and no auto-commit, they leave nothing behind. */
    int64_t deadline = mono_ms() + timeout_ms, stable_since = 0;
    int last = -1;
    *assigned = 0;
    while (mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) rd_kafka_message_destroy(m);
        rd_kafka_topic_partition_list_t *a = NULL;
        int n = 0;
        if (!rd_kafka_assignment(rk, &a) && a) n = a->cnt;
        if (a) rd_kafka_topic_partition_list_destroy(a);
        if (n != last) {
            last = n;
            stable_since = mono_ms();
        } else if (n > 0 && mono_ms() - stable_since >= cfg->session_timeout_ms) {
            break;
        }
    }
    *assigned = last > 0 ? last : 0;
    return rk;
}
