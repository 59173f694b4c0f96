/* blob_pool.h — blob store calls off the loop: a few threads that store images, read
 * them and answer "is it stored already?", and an eventfd the caller's loop watches.
 *
 *   blob_pool_t *p = blob_pool_new(store, cfg->blob_threads, err, sizeof err);
 *   loop_watch(loop, blob_pool_fd(p), LOOP_READ, on_ready, ctx);
 *   blob_pool_put(p, uri, png, len, render);     // png stays the caller's until done
 *   ... before sleep: while (blob_pool_next(p, &done)) act on done.opaque
 *
 * A put to s3 is a network round trip (retries included); many renders are in flight
 * per worker, so none of them may wait on the loop thread. Requests are served in
 * submission order by the first free thread; completions come back in the order they
 * finish. Like the OCR pool (common/verify/), it knows nothing of the loop. */
#ifndef PRESSROOM_BLOB_POOL_H
#define PRESSROOM_BLOB_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "blob/blobstore.h"

typedef struct blob_pool blob_pool_t;

typedef enum { BLOB_OP_PUT, BLOB_OP_EXISTS, BLOB_OP_GET } blob_op_t;

typedef struct {
    blob_op_t op;
    void *opaque;    /* the submitter's */
    int rc;          /* PUT, GET: 0 done, -1 failed; EXISTS: blob_exists's 1, 0 or -1 */
    char err[768];   /* a sentence when rc is -1 */
    /* GET: blob_get's status and bytes (malloc'd, now the taker's to free; NULL unless
     * status is BLOB_OK). */
    blob_status_t status;
    unsigned char *data;
    size_t len;
} blob_done_t;

/* threads >= 1. NULL with err when a thread or the eventfd cannot be created. */
blob_pool_t *blob_pool_new(const blob_store_t *store, int threads, char *err, size_t errlen);

/* Queues a blob_put of data (len bytes, not copied: valid until its completion is
 * taken) at uri. */
void blob_pool_put(blob_pool_t *p, const char *uri, const void *data, size_t len, void *opaque);
/* Queues a blob_exists of uri. */
void blob_pool_exists(blob_pool_t *p, const char *uri, void *opaque);
/* Queues a blob_get of uri, at most max bytes (the verifier's image reads: a read from
 * s3 is a round trip, which must hold neither the loop nor an OCR thread). */
void blob_pool_get(blob_pool_t *p, const char *uri, size_t max, void *opaque);

/* Readable (eventfd) while completions are waiting. */
int blob_pool_fd(const blob_pool_t *p);
/* Takes one completion into *done; false when none is waiting. */
bool blob_pool_next(blob_pool_t *p, blob_done_t *done);
/* Submitted and not yet taken. */
int blob_pool_pending(const blob_pool_t *p);

/* Lets the running calls finish, drops the queued ones and their completions (a GET's
 * bytes freed), joins the threads. The opaque pointers of what was dropped stay the
 * caller's. */
void blob_pool_free(blob_pool_t *p);

#endif
