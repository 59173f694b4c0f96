/* blobstore.h — where rendered images live. Messages carry a URI, never pixels.
 *
 * Backends sit behind a table of operations chosen by the URI scheme; file:// (a
 * shared volume, the embedded default) is built in. An image's URI is derived from
 * (job, revision, stage, attempt), so writing it again on a redelivery is idempotent.
 *
 * A blob reference read from a message is trusted only inside the store: every read
 * names the store's root (config_t.blob_root) and a URI must be that root, "/", then
 * one or more names of letters, digits and ._:- not starting with a dot (so no "..",
 * no "//", no percent-escapes, no NUL or control bytes). It is opened component by
 * component from the root's folder with O_NOFOLLOW|O_NONBLOCK: a symbolic link
 * anywhere below the root, or anything but a regular file at the end (a FIFO, a
 * device, a folder), is outside the store. The size is checked before reading. */
#ifndef PRESSROOM_BLOBSTORE_H
#define PRESSROOM_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    BLOB_OK = 0,
    BLOB_OUTSIDE_STORE, /* not a blob of this store: never read, never passed on */
    BLOB_MISSING,       /* inside the store, but no such blob (yet) */
    BLOB_TOO_LARGE,     /* a blob larger than the caller's limit */
    BLOB_UNREADABLE,    /* inside the store, but it cannot be read (permissions, I/O, no backend) */
} blob_status_t;

/* "ok", "blob_outside_store", "blob_missing", "blob_too_large", "blob_unreadable":
 * the prefix of a reason that names the status. */
const char *blob_status_name(blob_status_t s);

/* The URI of a job revision's image: <root>/<job_id>/<revision>-<stage>-<attempt>.png.
 * Returns 0, or -1 when root's scheme has no backend or the result does not fit. */
int blob_image_uri(const char *root, const char *job_id, const char *revision, const char *stage, int attempt,
                   char *uri, size_t len);

/* Stores data at uri (atomically: readers never see half an image). 0 or -1 with err.
 * For URIs built by blob_image_uri from the configured root, not from a message. */
int blob_put(const char *uri, const void *data, size_t len, char *err, size_t errlen);

/* Reads the blob at uri in the store at root, at most max bytes, into *data (malloc'd,
 * caller frees; NUL-terminated, *len excludes the NUL). Returns BLOB_OK, or another
 * status with *data NULL and a sentence in err. Never blocks on a FIFO. */
blob_status_t blob_get(const char *root, const char *uri, size_t max, unsigned char **data, size_t *len,
                       char *err, size_t errlen);

/* For a URI only passed on (a preview delivered in a verdict): true when it names a
 * place inside the store at root, reached without a symbolic link, and what is there
 * (if anything) is a regular file — so a blob not written yet is still inside. False
 * (with a sentence in err, when err is not NULL) exactly when blob_get would return
 * BLOB_OUTSIDE_STORE. */
bool blob_uri_inside(const char *root, const char *uri, char *err, size_t errlen);

/* For the render stage's idempotency check on a URI it built: a non-empty regular file. */
bool blob_exists(const char *uri);

/* For file:// URIs inside the store at root, the local path (for reports and the
 * contact sheet; a pointer into uri); NULL otherwise. */
const char *blob_local_path(const char *root, const char *uri);

#endif
