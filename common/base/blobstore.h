/* blobstore.h — where rendered images live. Messages carry a URI, never pixels.
 *
 * Backends sit behind a table of operations chosen by the URI scheme; file:// (a
 * shared volume, the embedded default) is built in. An image's URI is derived from
 * (job, stage, attempt), so writing it again on a redelivery is idempotent. */
#ifndef PRESSROOM_BLOBSTORE_H
#define PRESSROOM_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>

/* The URI of a job's image: <root>/<job_id>/<stage>-<attempt>.png. Returns 0, or -1
 * when root's scheme has no backend or the result does not fit. */
int blob_image_uri(const char *root, const char *job_id, const char *stage, int attempt, char *uri,
                   size_t len);

/* Stores data at uri (atomically: readers never see half an image). 0 or -1 with err. */
int blob_put(const char *uri, const void *data, size_t len, char *err, size_t errlen);

/* Reads the blob at uri, at most max bytes; malloc'd (caller frees). NULL with err. */
unsigned char *blob_get(const char *uri, size_t max, size_t *len, char *err, size_t errlen);

bool blob_exists(const char *uri);

/* For file:// URIs, the local path (for reports and the contact sheet); NULL otherwise. */
const char *blob_local_path(const char *uri);

#endif
