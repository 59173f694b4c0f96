/* blob_backend.h — what a blob store backend provides (inside common/blob/ only).
 * blobstore.c checks every URI against the root and the name grammar before a
 * backend sees it; a backend receives `rel`, the names after "<root>/". */
#ifndef PRESSROOM_BLOB_BACKEND_H
#define PRESSROOM_BLOB_BACKEND_H

#include "blob/blobstore.h"

typedef struct s3_store s3_store_t;

struct blob_store {
    const struct blob_backend *backend;
    char root[512];     /* without trailing slashes ("file://" + "/" for the root folder itself) */
    size_t root_len;
    char key[64];       /* the config key the root came from: blob_root or PRESSROOM_BLOBS */
    int presign_ttl_s;
    s3_store_t *s3;     /* the s3 backend's state */
};

typedef struct blob_backend {
    const char *scheme; /* "file://" */
    /* Validates s->root (and the config) at start-up; 0 or -1 with err. */
    int (*open)(blob_store_t *s, const config_t *cfg, char *err, size_t errlen);
    void (*close)(blob_store_t *s);
    int (*put)(const blob_store_t *s, const char *uri, const char *rel, const void *data, size_t len, char *err,
               size_t errlen);
    blob_status_t (*get)(const blob_store_t *s, const char *uri, const char *rel, size_t max, unsigned char **data,
                         size_t *len, char *err, size_t errlen);
    /* BLOB_OUTSIDE_STORE when a backend-specific rule puts rel outside; anything else inside. */
    blob_status_t (*locate)(const blob_store_t *s, const char *uri, const char *rel, char *err, size_t errlen);
    int (*exists)(const blob_store_t *s, const char *uri, const char *rel, char *err, size_t errlen);
    int (*presign)(const blob_store_t *s, const char *uri, const char *rel, int ttl_s, char *url, size_t len,
                   char *err, size_t errlen);
} blob_backend_t;

extern const blob_backend_t blob_s3_backend;

/* True when names is one or more blob names separated by single slashes (the grammar
 * of blobstore.h), e.g. an s3 root's prefix. */
bool blob_names_valid(const char *names);

#endif
