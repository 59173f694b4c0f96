/* blobstore.c — blob store backends by URI scheme; see blobstore.h. */
#include "base/blobstore.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"

typedef struct {
    const char *scheme; /* "file://" */
    int (*put)(const char *uri, const void *data, size_t len, char *err, size_t errlen);
    unsigned char *(*get)(const char *uri, size_t max, size_t *len, char *err, size_t errlen);
    bool (*exists)(const char *uri);
} blob_backend_t;

/* ==== file:// ==== */

static const char *file_path(const char *uri) { return uri + strlen("file://"); }

static int file_put(const char *uri, const void *data, size_t len, char *err, size_t errlen) {
    return file_write_atomic(file_path(uri), data, len, err, errlen);
}

static unsigned char *file_get(const char *uri, size_t max, size_t *len, char *err, size_t errlen) {
    return (unsigned char *)file_read_all(file_path(uri), max, len, err, errlen);
}

static bool file_exists(const char *uri) {
    struct stat st;
    return stat(file_path(uri), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static const blob_backend_t BACKENDS[] = {
    {"file://", file_put, file_get, file_exists},
};

static const blob_backend_t *backend_for(const char *uri) {
    for (size_t i = 0; i < sizeof BACKENDS / sizeof *BACKENDS; i++)
        if (!strncmp(uri, BACKENDS[i].scheme, strlen(BACKENDS[i].scheme))) return &BACKENDS[i];
    return NULL;
}

/* ==== Public ==== */

int blob_image_uri(const char *root, const char *job_id, const char *stage, int attempt, char *uri,
                   size_t len) {
    if (!backend_for(root)) return -1;
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/') rl--;
    int n = snprintf(uri, len, "%.*s/%s/%s-%d.png", (int)rl, root, job_id, stage, attempt);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int blob_put(const char *uri, const void *data, size_t len, char *err, size_t errlen) {
    const blob_backend_t *b = backend_for(uri);
    if (!b) {
        snprintf(err, errlen, "%s: expected a file:// URI (no backend for this scheme)", uri);
        return -1;
    }
    return b->put(uri, data, len, err, errlen);
}

unsigned char *blob_get(const char *uri, size_t max, size_t *len, char *err, size_t errlen) {
    const blob_backend_t *b = backend_for(uri);
    if (!b) {
        snprintf(err, errlen, "%s: expected a file:// URI (no backend for this scheme)", uri);
        return NULL;
    }
    return b->get(uri, max, len, err, errlen);
}

bool blob_exists(const char *uri) {
    const blob_backend_t *b = backend_for(uri);
    return b && b->exists(uri);
}

const char *blob_local_path(const char *uri) {
    return strncmp(uri, "file://", 7) == 0 ? file_path(uri) : NULL;
}
