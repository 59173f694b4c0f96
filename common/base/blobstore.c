/* blobstore.c — blob store backends by URI scheme; see blobstore.h. */
#include "base/blobstore.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"

typedef struct {
    const char *scheme; /* "file://" */
    int (*put)(const char *uri, const void *data, size_t len, char *err, size_t errlen);
    blob_status_t (*get)(const char *root, const char *uri, size_t max, unsigned char **data, size_t *len,
                         char *err, size_t errlen);
    blob_status_t (*locate)(const char *root, const char *uri, char *err, size_t errlen);
    bool (*exists)(const char *uri);
} blob_backend_t;

/* ==== file:// ==== */

#define FILE_SCHEME "file://"
#define NAME_MAX_LEN 255

static const char *file_path(const char *uri) { return uri + strlen(FILE_SCHEME); }

static int file_put(const char *uri, const void *data, size_t len, char *err, size_t errlen) {
    return file_write_atomic(file_path(uri), data, len, err, errlen);
}

static bool file_exists(const char *uri) {
    struct stat st;
    return stat(file_path(uri), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* A name the store writes: letters, digits and ._:-, not starting with a dot. */
static bool blob_name_char(char c) { return isalnum((unsigned char)c) || strchr("._:-", c); }

/* Checks that uri is root + "/" + blob names; *rel is the part after the root, *rootdir
 * the root's folder. A root that is not file:///absolute/path contains nothing. */
static blob_status_t file_below_root(const char *root, const char *uri, const char **rel, char *rootdir,
                                     size_t dirlen, char *err, size_t errlen) {
    if (file_path(root)[0] != '/') {
        snprintf(err, errlen, "blob_root %s: expected file:///absolute/path", root);
        return BLOB_OUTSIDE_STORE;
    }
    size_t rl = strlen(root);
    while (rl > strlen(FILE_SCHEME) + 1 && root[rl - 1] == '/') rl--;
    if (root[rl - 1] == '/') rl--; /* the root is "/" itself */
    snprintf(rootdir, dirlen, "%.*s", (int)(rl - strlen(FILE_SCHEME)), file_path(root));
    if (!rootdir[0]) snprintf(rootdir, dirlen, "/");
    if (strncmp(uri, root, rl) != 0 || uri[rl] != '/') {
        snprintf(err, errlen, "%s: not inside the blob store %.*s", uri, (int)rl, root);
        return BLOB_OUTSIDE_STORE;
    }
    *rel = uri + rl + 1;
    const char *name = *rel;
    for (const char *p = *rel;; p++) {
        if (*p && *p != '/') {
            if (!blob_name_char(*p)) {
                snprintf(err, errlen, "%s: byte 0x%02x at %zu is not a letter, digit or ._:- of a blob name",
                         uri, (unsigned char)*p, (size_t)(p - uri));
                return BLOB_OUTSIDE_STORE;
            }
            continue;
        }
        size_t n = (size_t)(p - name);
        if (n == 0 || *name == '.' || n > NAME_MAX_LEN) {
            snprintf(err, errlen, "%s: \"%.*s\" at %zu is not a blob name (empty, starting with a dot, or too long)",
                     uri, (int)(n > 32 ? 32 : n), name, (size_t)(name - uri));
            return BLOB_OUTSIDE_STORE;
        }
        if (!*p) return BLOB_OK;
        name = p + 1;
    }
}

static const char *file_kind(mode_t m) {
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISDIR(m)) return "a folder";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "not a regular file";
}

/* The status of a failed open or stat: gone is missing, a link met by O_NOFOLLOW is
 * outside, anything else unreadable. */
static blob_status_t file_errno_status(const char *uri, const char *what, char *err, size_t errlen) {
    int e = errno;
    snprintf(err, errlen, "%s: %s: %s", uri, what, strerror(e));
    if (e == ENOENT || e == ENOTDIR) return BLOB_MISSING;
    if (e == ELOOP) return BLOB_OUTSIDE_STORE;
    return BLOB_UNREADABLE;
}

/* Walks uri's names down from root's folder, never following a link: every folder is
 * opened with openat(O_NOFOLLOW) from the one above. On BLOB_OK the last name is a
 * regular file; when leaf is not NULL it is opened (O_NOFOLLOW|O_NONBLOCK, so a FIFO
 * swapped in never blocks) into *leaf and its fstat into *st. */
static blob_status_t file_walk(const char *root, const char *uri, int *leaf, struct stat *st, char *err,
                               size_t errlen) {
    const char *rel;
    char rootdir[1024];
    blob_status_t s = file_below_root(root, uri, &rel, rootdir, sizeof rootdir, err, errlen);
    if (s != BLOB_OK) return s;
    int dfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return file_errno_status(uri, "cannot open the blob store's folder", err, errlen);
    for (const char *name = rel;;) {
        const char *slash = strchr(name, '/');
        char part[NAME_MAX_LEN + 1];
        snprintf(part, sizeof part, "%.*s", (int)(slash ? (size_t)(slash - name) : strlen(name)), name);
        struct stat ps;
        if (fstatat(dfd, part, &ps, AT_SYMLINK_NOFOLLOW) != 0) {
            s = file_errno_status(uri, part, err, errlen);
            break;
        }
        if (S_ISLNK(ps.st_mode) || (!slash && !S_ISREG(ps.st_mode))) {
            snprintf(err, errlen, "%s: \"%s\" is %s, not a blob", uri, part, file_kind(ps.st_mode));
            s = BLOB_OUTSIDE_STORE;
            break;
        }
        if (slash && !S_ISDIR(ps.st_mode)) {
            snprintf(err, errlen, "%s: \"%s\" is not a folder", uri, part);
            s = BLOB_MISSING;
            break;
        }
        if (!slash && !leaf) break; /* located: a regular file, not opened */
        int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (slash ? O_DIRECTORY : 0);
        int fd = openat(dfd, part, flags);
        if (fd < 0) {
            s = file_errno_status(uri, part, err, errlen);
            break;
        }
        close(dfd);
        dfd = fd;
        if (!slash) {
            /* Authoritative: what was opened, not what was stat'ed a moment ago. */
            if (fstat(fd, st) != 0) {
                s = file_errno_status(uri, part, err, errlen);
            } else if (!S_ISREG(st->st_mode)) {
                snprintf(err, errlen, "%s: \"%s\" is %s, not a blob", uri, part, file_kind(st->st_mode));
                s = BLOB_OUTSIDE_STORE;
            } else {
                *leaf = fd;
                return BLOB_OK;
            }
            break;
        }
        name = slash + 1;
    }
    close(dfd);
    return s;
}

static blob_status_t file_get(const char *root, const char *uri, size_t max, unsigned char **data,
                              size_t *len, char *err, size_t errlen) {
    int fd;
    struct stat st;
    blob_status_t s = file_walk(root, uri, &fd, &st, err, errlen);
    if (s != BLOB_OK) return s;
    if ((size_t)st.st_size > max) {
        snprintf(err, errlen, "%s: %lld bytes, more than the limit of %zu", uri, (long long)st.st_size, max);
        s = BLOB_TOO_LARGE;
    } else if (!(*data = (unsigned char *)file_read_fd(fd, (size_t)st.st_size, uri, len, err, errlen))) {
        s = BLOB_UNREADABLE;
    }
    close(fd);
    return s;
}

static blob_status_t file_locate(const char *root, const char *uri, char *err, size_t errlen) {
    return file_walk(root, uri, NULL, NULL, err, errlen);
}

static const blob_backend_t BACKENDS[] = {
    {FILE_SCHEME, file_put, file_get, file_locate, file_exists},
};

static const blob_backend_t *backend_for(const char *uri) {
    for (size_t i = 0; i < sizeof BACKENDS / sizeof *BACKENDS; i++)
        if (!strncmp(uri, BACKENDS[i].scheme, strlen(BACKENDS[i].scheme))) return &BACKENDS[i];
    return NULL;
}

/* ==== Public ==== */

const char *blob_status_name(blob_status_t s) {
    switch (s) {
    case BLOB_OK: return "ok";
    case BLOB_OUTSIDE_STORE: return "blob_outside_store";
    case BLOB_MISSING: return "blob_missing";
    case BLOB_TOO_LARGE: return "blob_too_large";
    case BLOB_UNREADABLE: return "blob_unreadable";
    }
    return "blob_unreadable";
}

int blob_image_uri(const char *root, const char *job_id, const char *revision, const char *stage, int attempt,
                   char *uri, size_t len) {
    if (!backend_for(root)) return -1;
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/') rl--;
    int n = snprintf(uri, len, "%.*s/%s/%s-%s-%d.png", (int)rl, root, job_id, revision, stage, attempt);
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

blob_status_t blob_get(const char *root, const char *uri, size_t max, unsigned char **data, size_t *len,
                       char *err, size_t errlen) {
    *data = NULL;
    const blob_backend_t *b = backend_for(root);
    if (!b) {
        snprintf(err, errlen, "blob_root %s: expected a file:// URI (no backend for this scheme)", root);
        return BLOB_UNREADABLE;
    }
    return b->get(root, uri, max, data, len, err, errlen);
}

bool blob_uri_inside(const char *root, const char *uri, char *err, size_t errlen) {
    char scratch[8];
    if (!err) err = scratch, errlen = sizeof scratch;
    const blob_backend_t *b = backend_for(root);
    if (!b) {
        snprintf(err, errlen, "blob_root %s: expected a file:// URI (no backend for this scheme)", root);
        return false;
    }
    return b->locate(root, uri, err, errlen) != BLOB_OUTSIDE_STORE;
}

bool blob_exists(const char *uri) {
    const blob_backend_t *b = backend_for(uri);
    return b && b->exists(uri);
}

const char *blob_local_path(const char *root, const char *uri) {
    return blob_uri_inside(root, uri, NULL, 0) ? file_path(uri) : NULL;
}
