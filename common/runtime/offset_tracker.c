/* offset_tracker.c — contiguous watermarks per partition; see offset_tracker.h. */
#include "runtime/offset_tracker.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

struct partition_track {
    offset_tracker_t *tracker;
    char *topic;
    int32_t partition;
    bool revoked;
    input_ref_t *head, *tail; /* not-yet-retired inputs in consume order */
    partition_track_t *next;
};

struct offset_tracker {
    watermark_fn fn;
    void *opaque;
    partition_track_t *tracks;
    int pending;
};

offset_tracker_t *offset_tracker_new(watermark_fn fn, void *opaque) {
    offset_tracker_t *t = xcalloc(1, sizeof *t);
    t->fn = fn;
    t->opaque = opaque;
    return t;
}

static void track_free(partition_track_t *pt) {
    input_ref_t *r = pt->head;
    while (r) {
        input_ref_t *n = r->next;
        free(r);
        r = n;
    }
    free(pt->topic);
    free(pt);
}

static void unlink_track(offset_tracker_t *t, partition_track_t *pt) {
    for (partition_track_t **pp = &t->tracks; *pp; pp = &(*pp)->next) {
        if (*pp == pt) {
            *pp = pt->next;
            return;
        }
    }
}

void offset_tracker_free(offset_tracker_t *t) {
    if (!t) return;
    partition_track_t *pt = t->tracks;
    while (pt) {
        partition_track_t *n = pt->next;
        track_free(pt);
        pt = n;
    }
    free(t);
}

static partition_track_t *find_track(offset_tracker_t *t, const char *topic, int32_t partition) {
    for (partition_track_t *pt = t->tracks; pt; pt = pt->next)
        if (pt->partition == partition && !pt->revoked && !strcmp(pt->topic, topic)) return pt;
    return NULL;
}

input_ref_t *offset_tracker_track(offset_tracker_t *t, const char *topic, int32_t partition,
                                  int64_t offset) {
    partition_track_t *pt = find_track(t, topic, partition);
    if (!pt) {
        pt = xcalloc(1, sizeof *pt);
        pt->tracker = t;
        pt->topic = xstrdup(topic);
        pt->partition = partition;
        pt->next = t->tracks;
        t->tracks = pt;
    }
    input_ref_t *r = xcalloc(1, sizeof *r);
    assert(!pt->tail || pt->tail->offset < offset); /* a partition's offsets only grow */
    r->track = pt;
    r->offset = offset;
    r->holds = 1;
    if (pt->tail) pt->tail->next = r;
    else pt->head = r;
    pt->tail = r;
    t->pending++;
    return r;
}

void input_ref_hold(input_ref_t *ref) {
    assert(ref->holds > 0 && "hold on an input that is already done");
    ref->holds++;
}

/* Retires the done prefix of a partition and reports the new watermark. */
static void advance(partition_track_t *pt) {
    offset_tracker_t *t = pt->tracker;
    int64_t next = -1;
    while (pt->head && pt->head->done) {
        input_ref_t *r = pt->head;
        next = r->offset + 1;
        pt->head = r->next;
        if (!pt->head) pt->tail = NULL;
        free(r);
    }
    if (next >= 0 && !pt->revoked && t->fn) t->fn(t->opaque, pt->topic, pt->partition, next);
    if (pt->revoked && !pt->head) {
        unlink_track(t, pt);
        track_free(pt);
    }
}

void input_ref_release(input_ref_t *ref) {
    assert(ref->holds > 0 && "release on an input that is already done");
    if (--ref->holds > 0) return;
    ref->done = true;
    ref->track->tracker->pending--;
    advance(ref->track);
}

void offset_tracker_revoke(offset_tracker_t *t, const char *topic, int32_t partition) {
    partition_track_t *pt = find_track(t, topic, partition);
    if (!pt) return;
    pt->revoked = true;
    advance(pt); /* frees it when nothing is in flight */
}

int offset_tracker_pending(const offset_tracker_t *t) { return t->pending; }
