/* kafka.h — pressroom's Kafka consumer and producer (librdkafka).
 *
 * Delivery contract: an input's offset is stored only after every output produced
 * for it was acknowledged by the broker, and only as a contiguous watermark per
 * partition (offset_tracker.h); auto-commit then commits what was stored.
 * Rebalances are cooperative-sticky (incremental assign/unassign); a revoked
 * partition's in-flight inputs finish without storing anything. */
#ifndef PRESSROOM_KAFKA_H
#define PRESSROOM_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "runtime/offset_tracker.h"

typedef struct kafka kafka_t;

/* One header on a produced message. */
typedef struct {
    const char *name;
    const char *value;
} kafka_header_t;

/* Creates the producer and, when group is not NULL, a consumer in that group
 * subscribed to `topics` (full names). Returns NULL with err. */
kafka_t *kafka_new(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                   char *err, size_t errlen);
void kafka_free(kafka_t *k);

/* Polls one message (NULL when none within timeout_ms). Serves rebalances.
 * Messages for paused partitions are not returned. Caller destroys the message. */
rd_kafka_message_t *kafka_poll(kafka_t *k, int timeout_ms);

/* Starts tracking a consumed message; the returned ref holds the processing hold. */
input_ref_t *kafka_track(kafka_t *k, const rd_kafka_message_t *m);

/* Produces value under key to topic (full name); opaque comes back with its delivery
 * report. Returns 0, or the error with a sentence in err (the queue stayed full, the
 * message is refused, the producer failed). Never blocks for long. */
rd_kafka_resp_err_t kafka_produce(kafka_t *k, const char *topic, const char *key, const void *value, size_t len,
                                  const kafka_header_t *headers, int n_headers, void *opaque, char *err,
                                  size_t errlen);

/* Produces like kafka_produce and waits up to timeout_ms for the broker's answer: 0 with
 * the message's partition and offset, or the error with a sentence in err. For operators'
 * tools that report where a message went (one such wait at a time per client). */
rd_kafka_resp_err_t kafka_produce_wait(kafka_t *k, const char *topic, const char *key, const void *value, size_t len,
                                       const kafka_header_t *headers, int n_headers, int timeout_ms,
                                       int32_t *partition, int64_t *offset, char *err, size_t errlen);

/* The last header `name` of m as a NUL-terminated string in buf (cut to len - 1), or
 * NULL when m has none. */
const char *kafka_msg_header(const rd_kafka_message_t *m, const char *name, char *buf, size_t len);

/* Receives every delivery report of a message produced with a non-NULL opaque: err 0 =
 * acknowledged, else librdkafka gave up on it. Without a handler a failed delivery makes
 * the client failed (kafka_failed). */
typedef void (*kafka_delivery_fn)(void *ctx, void *opaque, rd_kafka_resp_err_t err, const char *topic);
void kafka_set_delivery_handler(kafka_t *k, kafka_delivery_fn fn, void *ctx);

/* Told of each partition revoked from this consumer (after its watermark was committed),
 * so messages polled from it and not yet tracked can be dropped. */
typedef void (*kafka_revoke_fn)(void *ctx, const char *topic, int32_t partition);
void kafka_set_revoke_handler(kafka_t *k, kafka_revoke_fn fn, void *ctx);

/* True when the error refuses this one message for good (too large, invalid, a record
 * the broker rejects): retrying it cannot help, and it says nothing about the others. */
bool kafka_error_permanent(rd_kafka_resp_err_t e);

/* The producer's message.max.bytes: the largest message it will send. */
size_t kafka_message_max_bytes(const kafka_t *k);

/* Serves delivery reports. */
void kafka_serve(kafka_t *k);

/* Pause/resume every assigned partition (the in-flight window is full, the budget
 * is deferred, Redis is down). Newly assigned partitions inherit the state. */
void kafka_pause(kafka_t *k, bool paused);
bool kafka_paused(const kafka_t *k);
/* Partitions paused since the start (by kafka_pause, kafka_hold_topic or an assignment
 * that inherits a pause), counted one per partition: librdkafka drops the messages it
 * had prefetched for each, and fetches them again on resume. */
uint64_t kafka_partition_pauses(const kafka_t *k);
/* Holds (pauses) the partitions of one topic, or releases them, whatever the global
 * state (the backfill lane while its buffer is full). Newly assigned partitions inherit
 * it. */
void kafka_hold_topic(kafka_t *k, const char *topic, bool held);

/* File descriptors that become readable when a queue has something (consumer
 * messages or rebalances; producer delivery reports). Drain with kafka_drain_fds. */
int kafka_consumer_fd(const kafka_t *k);
int kafka_producer_fd(const kafka_t *k);
void kafka_drain_fds(kafka_t *k);

/* Fatal: the client cannot work (a delivery failed without a handler, or the handler
 * declared it, kafka_fail). The worker must stop without storing. */
bool kafka_failed(const kafka_t *k, char *why, size_t len);
void kafka_fail(kafka_t *k, const char *why);

/* Inputs tracked and not done. */
int kafka_pending_inputs(const kafka_t *k);
/* Messages queued in the producer and not yet acknowledged. */
int kafka_outq_len(const kafka_t *k);

/* Flushes the producer (up to timeout), commits the stored watermarks synchronously
 * when commit is true, and closes the consumer. */
void kafka_close(kafka_t *k, int timeout_ms, bool commit);

/* librdkafka properties from the environment: PRESSROOM_KAFKA_<PROP> with dots as
 * underscores, e.g. PRESSROOM_KAFKA_SECURITY_PROTOCOL=SASL_SSL. The value of a
 * credential property (a name with "password" or "secret", sasl.* but sasl.mechanism,
 * ssl.key*) is registered for redaction (base/redact.h) and never printed, not even
 * in the error for a property librdkafka refuses. */
int kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen);

/* Messages of the partitions assigned to this consumer not yet polled: each one's high
 * watermark (as last fetched, no round trip) minus its position (the last message
 * polled + 1), summed. 0 without a consumer. */
int64_t kafka_consumer_lag(kafka_t *k);

/* Asks the brokers for their metadata, silently (no librdkafka log lines). Returns 0
 * when one answered within timeout_ms, else -1 with a sentence naming cfg->brokers. */
int kafka_probe(const config_t *cfg, int timeout_ms, char *err, size_t errlen);

/* ==== Reading by assignment (operators' tools) ====
 * A consumer that joins no group: assigned every partition of `topics` from the
 * beginning (or from the first message at or after since_ms, when > 0), it joins
 * no group and commits nothing, so reading leaves nothing behind on the brokers.
 * The end is each partition's high watermark when the reader was created; with
 * until_ms > 0 (exclusive) also the first offset at or after until_ms (found with
 * rd_kafka_offsets_for_times), and nothing at or after until_ms is returned. A broker
 * that cannot look offsets up by time (librdkafka's mock cluster: the embedded broker)
 * is read from the beginning to the watermark and both bounds filter by message
 * timestamp: the same messages, read the long way. */
typedef struct kafka_reader kafka_reader_t;
kafka_reader_t *kafka_reader_new(const config_t *cfg, const char *const *topics, int n_topics, int64_t since_ms,
                                 int64_t until_ms, int timeout_ms, char *err, size_t errlen);
/* The next message (caller destroys it), or NULL when none came within timeout_ms. */
rd_kafka_message_t *kafka_reader_next(kafka_reader_t *r, int timeout_ms);
/* Every partition was read up to the end it had when the reader was created. */
bool kafka_reader_at_end(const kafka_reader_t *r);
void kafka_reader_free(kafka_reader_t *r);
/* Like kafka_reader_new, but each partition is read from its last `tail` messages (the
 * high watermark minus tail, or the low one) to its end: the newest of every partition,
 * for a page that shows the last N. */
kafka_reader_t *kafka_reader_new_tail(const config_t *cfg, const char *const *topics, int n_topics, int tail,
                                      int timeout_ms, char *err, size_t errlen);

/* ==== A consumer group's lag, asked without joining it ====
 * One partition of a group's topics: the offset the group committed (-1: none yet) and
 * the partition's low and high watermarks, asked of the brokers. */
typedef struct {
    char topic[256];
    int32_t partition;
    int64_t committed, low, high;
    int64_t lag; /* high - committed; high - low when nothing was committed */
} kafka_partition_lag_t;

/* Asks the group's committed offsets (OffsetFetch, by a consumer that never subscribes,
 * so it never joins the group or changes its offsets) and the watermarks of every
 * partition of `topics`. A topic the brokers do not know is an error, or skipped when
 * skip_unknown (brokers that cannot be reached are an error either way). Fills up to max
 * rows; returns how many, or -1 with err. */
int kafka_group_lag(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                    bool skip_unknown, kafka_partition_lag_t *out, int max, int timeout_ms, char *err,
                    size_t errlen);

/* ==== A consumer group's offsets (operators' tools) ====
 * A consumer with group.id = group that never subscribes: it joins nothing (so it is no
 * member of the group) and commits only what it is told to (rd_kafka_committed,
 * rd_kafka_commit with explicit offsets, rd_kafka_list_groups). NULL with err. The
 * caller destroys it with rd_kafka_destroy. */
rd_kafka_t *kafka_group_client(const config_t *cfg, const char *group, char *err, size_t errlen);
/* Joins group as a member, subscribed to `topics` with the workers' assignor
 * (cooperative-sticky), and waits up to timeout_ms for its assignment to settle. Returns
 * the member (it may commit; close it with rd_kafka_consumer_close, then destroy), with
 * *assigned = the partitions it was given: all of them only when no other member is in
 * the group. For brokers that cannot describe a group (the mock cluster), this is how a
 * tool learns whether the group has other members. NULL with err. */
rd_kafka_t *kafka_group_join(const config_t *cfg, const char *group, const char *const *topics, int n_topics,
                             int timeout_ms, int *assigned, char *err, size_t errlen);

#endif
