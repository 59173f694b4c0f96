/* blobstore.h — where rendered images live. Messages carry a URI, never pixels.
 *
 * A store is opened once per process from the config (blob_root, the s3 section):
 * blob_store_open validates the root and, for s3://, loads the credentials and asks
 * the store once, so a worker with an unknown scheme, no credentials, or a store that
 * is unreachable or refuses them stops at start-up with one sentence naming the key.
 * Backends sit behind a table of operations chosen by the root's scheme:
 *   file:///absolute/path      a shared volume (the embedded default)
 *   s3://bucket[/prefix]       S3 or an S3-compatible store (common/blob/blob_s3.c)
 * An image's URI is derived from (job, stage, attempt), so writing it again on a
 * redelivery is idempotent.
 *
 * A blob reference read from a message is trusted only inside the store: a URI must be
 * the store's root, "/", then one or more names of letters, digits and ._:- not
 * starting with a dot (so no "..", no "//", no percent-escapes, no NUL or control
 * bytes), for every backend. file:// then opens it component by component from the
 * root's folder with O_NOFOLLOW|O_NONBLOCK: a symbolic link anywhere below the root,
 * or anything but a regular file at the end (a FIFO, a device, a folder), is outside
 * the store. s3:// maps it to the key <prefix>/<names> of the root's bucket and never
 * to another bucket or key. Sizes are checked before reading: s3 refuses a
 * Content-Length over the limit and aborts a body that grows past it.
 *
 * Thread safety: after blob_store_open the store is read-only; blob_put, blob_get and
 * blob_exists may be called from any thread (the verifier's checker threads, the
 * render stage's store threads). They block on I/O: never call them on a loop thread
 * (blob_pool.h runs them off the loop). */
#ifndef PRESSROOM_BLOBSTORE_H
#define PRESSROOM_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"

typedef struct blob_store blob_store_t;

typedef enum {
    BLOB_OK = 0,
    BLOB_OUTSIDE_STORE, /* not a blob of this store: never read, never passed on */
    BLOB_MISSING,       /* inside the store, but no such blob (yet) */
    BLOB_TOO_LARGE,     /* a blob larger than the caller's limit */
    BLOB_UNREADABLE,    /* inside the store, but it cannot be read (permissions, I/O, the store down) */
} blob_status_t;

/* "ok", "blob_outside_store", "blob_missing", "blob_too_large", "blob_unreadable":
 * the prefix of a reason that names the status. */
const char *blob_status_name(blob_status_t s);

/* Opens the store named by cfg->blob_root (and cfg->s3, cfg->blob_presign_ttl_s).
 * Returns NULL with one sentence in err naming the key (blob_root, or
 * PRESSROOM_BLOBS when it came from there; s3.*) and what was wrong: an unknown
 * scheme, a malformed root, no credentials, an unreachable store, refused credentials.
 * Secrets it loads are registered with redact(). */
blob_store_t *blob_store_open(const config_t *cfg, char *err, size_t errlen);
void blob_store_free(blob_store_t *s);

/* The root URI, without trailing slashes. */
const char *blob_store_root(const blob_store_t *s);

/* The URI of a job revision's image: <root>/<job_id>/<revision>-<stage>-<attempt>.png.
 * Returns 0, or -1 when the result does not fit. */
int blob_image_uri(const blob_store_t *s, const char *job_id, const char *revision, const char *stage, int attempt,
                   char *uri, size_t len);

/* Stores data at uri (atomically: readers never see half an image). 0 or -1 with err.
 * For URIs built by blob_image_uri, not from a message. Blocks (retries included). */
int blob_put(const blob_store_t *s, const char *uri, const void *data, size_t len, char *err, size_t errlen);

/* Reads the blob at uri, at most max bytes, into *data (malloc'd, caller frees;
 * NUL-terminated, *len excludes the NUL). Returns BLOB_OK, or another status with
 * *data NULL and a sentence in err. Never blocks on a FIFO. */
blob_status_t blob_get(const blob_store_t *s, const char *uri, size_t max, unsigned char **data, size_t *len,
                       char *err, size_t errlen);

/* For a URI only passed on (a preview delivered in a verdict): true when it names a
 * place inside the store, and (file://) reached without a symbolic link with a regular
 * file there if anything, so a blob not written yet is still inside. False (with a
 * sentence in err, when err is not NULL) exactly when blob_get would return
 * BLOB_OUTSIDE_STORE. Never touches the network. */
bool blob_uri_inside(const blob_store_t *s, const char *uri, char *err, size_t errlen);

/* For the render stage's idempotency check on a URI it built: 1 when a non-empty blob
 * is stored there, 0 when none is, -1 (err) when the store could not tell. Blocks. */
int blob_exists(const blob_store_t *s, const char *uri, char *err, size_t errlen);

/* For file:// URIs inside the store, the local path (for reports and the contact
 * sheet; a pointer into uri); NULL otherwise. */
const char *blob_local_path(const blob_store_t *s, const char *uri);

/* The store's presigned-URL lifetime (blob_presign_ttl_s); 0 = off. */
int blob_presign_ttl_s(const blob_store_t *s);

/* An HTTP(S) URL that GETs the blob at uri without credentials for ttl_s seconds from
 * now (AWS SigV4 query-string signing, s3:// only; never with a session token, which
 * the URL would carry). Returns 0, or -1 with err.
 * Pure computation: no request is sent. */
int blob_presign(const blob_store_t *s, const char *uri, int ttl_s, char *url, size_t len, char *err,
                 size_t errlen);

#endif
