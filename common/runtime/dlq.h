/* dlq.h — the dead letters of pressroom.dlq (schemas/dlq.md) and their re-drive: one
 * home for `pressctl dlq` and the console's re-drive button.
 *
 * A letter is named by its place on the DLQ, "partition:offset". Re-driving publishes a
 * letter's value (or replacement bytes) under its key to the topic it came from
 * (pressroom-source-topic, only when that is a pressroom topic: a letter's headers are
 * data, not a destination to trust), with pressroom-redrive-attempt = the letter's count
 * + 1 and pressroom-redriven-from = "dlq-topic:partition:offset". The workers copy that
 * count onto the letter when the message fails again, so a message that keeps failing
 * reaches the limit (max_attempts) and is refused there. Selected by filter, only the
 * newest letter of each (source topic, key) is re-driven: the older ones are the same
 * message's earlier failures. A bounded letter (pressroom-kept-bytes below
 * pressroom-original-bytes) is not the whole message: only replacement bytes re-drive it. */
#ifndef PRESSROOM_DLQ_H
#define PRESSROOM_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "runtime/kafka.h"

#define DLQ_DEFAULT_MAX_ATTEMPTS 3
#define DLQ_ATTEMPT_HEADER "pressroom-redrive-attempt"
#define DLQ_FROM_HEADER "pressroom-redriven-from"

typedef struct {
    int32_t partition;
    int64_t offset, time_ms;
    char key[160];
    char source[256];
    char reason[1100];
    int attempt; /* pressroom-redrive-attempt, 0 when absent */
    bool bounded;
    bool selected;
    char *value;
    size_t len;
} dlq_letter_t;

typedef struct {
    dlq_letter_t *v;
    int n, cap;
} dlq_letters_t;

/* Reads every letter of the DLQ (at or after since_ms, when > 0), in the order read, into
 * l; its full name into dlq. Gives up when nothing comes for idle_ms before the end.
 * 0, or -1 with err. */
int dlq_letters_read(const config_t *cfg, int64_t since_ms, int idle_ms, dlq_letters_t *l, char *dlq, size_t dlqlen,
                     char *err, size_t errlen);
void dlq_letters_free(dlq_letters_t *l);

/* "PARTITION:OFFSET" into partition and offset; -1 when it is not one. */
int dlq_letter_id_parse(const char *s, int32_t *partition, int64_t *offset);
/* The letter at partition:offset, NULL when l has none. */
dlq_letter_t *dlq_letters_find(dlq_letters_t *l, int32_t partition, int64_t offset);

/* A selection by filter; NULL fields match everything. */
typedef struct {
    const char *reason_prefix;
    const char *source_topic; /* full name */
    const char *key;
} dlq_filter_t;
bool dlq_letter_matches(const dlq_filter_t *f, const dlq_letter_t *t);
/* Marks selected the newest matching letter of each (source topic, key); returns how
 * many it marked. */
int dlq_select_newest(dlq_letters_t *l, const dlq_filter_t *f);

/* What became of one letter. */
typedef struct {
    bool redriven;        /* published (or, in a dry run, would be) */
    char topic[256];      /* where it went (or would go) */
    int32_t partition;    /* the new message's place, -1 in a dry run */
    int64_t offset;
    int attempt;          /* the attempt header it carries */
    char why[768];        /* the refusal, or the publish error */
} dlq_redrive_result_t;

/* Re-drives letter t of topic dlq through producer k (NULL: a dry run that only checks),
 * with value/len instead of the letter's bytes when value is not NULL, and waits for the
 * broker's answer. Refused (why) at the attempt limit, for a bounded letter without
 * replacement bytes, for a letter with no or a foreign source topic. Returns 0 re-driven,
 * 1 refused, -1 the publish failed (why). */
int dlq_redrive_letter(kafka_t *k, const config_t *cfg, const char *dlq, const dlq_letter_t *t, const char *value,
                       size_t len, int max_attempts, dlq_redrive_result_t *res);

#endif
