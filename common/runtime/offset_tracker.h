/* offset_tracker.h — per-partition contiguous watermarks for at-least-once delivery.
 *
 * Every consumed input is tracked from the moment it is polled. It holds one
 * reference for the worker's processing and one per output produced for it; when
 * all are released (the broker acknowledged every output and the worker is done),
 * the input is done. Inputs may finish in any order; the tracker only ever reports
 * the contiguous prefix of done inputs, so a crash redelivers exactly what had not
 * finished. Pure logic: no Kafka calls here (kafka.c stores what this reports). */
#ifndef PRESSROOM_OFFSET_TRACKER_H
#define PRESSROOM_OFFSET_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct offset_tracker offset_tracker_t;
typedef struct partition_track partition_track_t;

typedef struct input_ref {
    partition_track_t *track;
    int64_t offset;
    int holds;              /* processing hold + outputs not yet acknowledged */
    bool done;
    struct input_ref *next; /* consume order within the partition */
} input_ref_t;

/* Called when a partition's watermark advances: `next_offset` is the offset the
 * consumer should resume from (last contiguous done input + 1). */
typedef void (*watermark_fn)(void *opaque, const char *topic, int32_t partition, int64_t next_offset);

offset_tracker_t *offset_tracker_new(watermark_fn fn, void *opaque);
void offset_tracker_free(offset_tracker_t *t);

/* Starts tracking an input with one (processing) hold. Offsets of one partition
 * must be tracked in increasing order. */
input_ref_t *offset_tracker_track(offset_tracker_t *t, const char *topic, int32_t partition,
                                  int64_t offset);
/* One more hold (an output was produced for this input). */
void input_ref_hold(input_ref_t *ref);
/* Releases a hold; when none remain the input is done and the watermark may move. */
void input_ref_release(input_ref_t *ref);

/* The partition was revoked: its inputs still in flight finish without moving any
 * watermark (the new owner redelivers them). */
void offset_tracker_revoke(offset_tracker_t *t, const char *topic, int32_t partition);

/* Inputs tracked and not yet done, over all partitions. */
int offset_tracker_pending(const offset_tracker_t *t);

#endif
