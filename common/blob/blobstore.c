/* blobstore.c — the store, the name grammar every backend shares, and the file://
 * backend; see blobstore.h. */
#include "blob/blobstore.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "blob/blob_backend.h"

/* ==== The name grammar ==== */

#define NAME_MAX_LEN 255

/* A name the store writes: letters, digits and ._:-, not starting with a dot. */
static bool blob_name_char(char c) { return isalnum((unsigned char)c) || strchr("._:-", c); }

/* Checks that uri is the root + "/" + blob names; *rel is the part after the root. */
static blob_status_t below_root(const blob_store_t *s, const char *uri, const char **rel, char *err,
                                size_t errlen) {
    size_t rl = s->root_len;
    if (strncmp(uri, s->root, rl) != 0 || uri[rl] != '/') {
        snprintf(err, errlen, "%s: not inside the blob store %.*s", uri, (int)rl, s->root);
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

bool blob_names_valid(const char *names) {
    if (!*names) return false;
    for (const char *name = names, *p = names;; p++) {
        if (*p && *p != '/') {
            if (!blob_name_char(*p)) return false;
            continue;
        }
        size_t n = (size_t)(p - name);
        if (n == 0 || *name == '.' || n > NAME_MAX_LEN) return false;
        if (!*p) return true;
        name = p + 1;
    }
}

/* ==== file:// ==== */

#define FILE_SCHEME "file://"

static const char *file_path(const char *uri) { return uri + strlen(FILE_SCHEME); }

static int file_open(blob_store_t *s, const config_t *cfg, char *err, size_t errlen) {
    if (file_path(s->root)[0] != '/') {
        snprintf(err, errlen, "%s %s: expected file:///absolute/path", s->key, s->root);
        return -1;
    }
    if (cfg->blob_presign_ttl_s > 0) {
        snprintf(err, errlen,
                 "blob_presign_ttl_s: expected 0 with a file:// store (presigned URLs need an s3:// %s), found %d",
                 s->key, cfg->blob_presign_ttl_s);
        return -1;
    }
    return 0;
}

static int file_put(const blob_store_t *s, const char *uri, const char *rel, const void *data, size_t len,
                    char *err, size_t errlen) {
    return file_write_atomic(file_path(uri), data, len, err, errlen);
}

static int file_exists(const blob_store_t *s, const char *uri, const char *rel, char *err, size_t errlen) {
    struct stat st;
    return stat(file_path(uri), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* The root's folder: the root's path, "/" for file:///. */
static void file_root_dir(const blob_store_t *s, char *rootdir, size_t dirlen) {
    snprintf(rootdir, dirlen, "%.*s", (int)(s->root_len - strlen(FILE_SCHEME)), file_path(s->root));
    if (!rootdir[0]) snprintf(rootdir, dirlen, "/");
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
static blob_status_t file_walk(const blob_store_t *store, const char *uri, const char *rel, int *leaf,
                               struct stat *st, char *err, size_t errlen) {
    char rootdir[1024];
    file_root_dir(store, rootdir, sizeof rootdir);
    blob_status_t s = BLOB_OK;
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

static blob_status_t file_get(const blob_store_t *store, const char *uri, const char *rel, size_t max,
                              unsigned char **data, size_t *len, char *err, size_t errlen) {
    int fd;
    struct stat st;
    blob_status_t s = file_walk(store, uri, rel, &fd, &st, err, errlen);
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

static blob_status_t file_locate(const blob_store_t *s, const char *uri, const char *rel, char *err,
                                 size_t errlen) {
    return file_walk(s, uri, rel, NULL, NULL, err, errlen);
}

static const blob_backend_t file_backend = {
    .scheme = FILE_SCHEME,
    .open = file_open,
    .put = file_put,
    .get = file_get,
    .locate = file_locate,
    .exists = file_exists,
};

/* The registry: the only list of schemes (dispatch and "expected one of"). */
static const blob_backend_t *const BACKENDS[] = {&file_backend, &blob_s3_backend};
#define N_BACKENDS (sizeof BACKENDS / sizeof *BACKENDS)

static const blob_backend_t *backend_for(const char *uri) {
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (!strncmp(uri, BACKENDS[i]->scheme, strlen(BACKENDS[i]->scheme))) return BACKENDS[i];
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

blob_store_t *blob_store_open(const config_t *cfg, char *err, size_t errlen) {
    blob_store_t *s = xcalloc(1, sizeof *s);
    const char *env = getenv("PRESSROOM_BLOBS");
    snprintf(s->key, sizeof s->key, "%s", env && *env && !strcmp(env, cfg->blob_root) ? "PRESSROOM_BLOBS" : "blob_root");
    snprintf(s->root, sizeof s->root, "%s", cfg->blob_root);
    s->backend = backend_for(s->root);
    if (!s->backend) {
        char schemes[128] = "";
        for (size_t i = 0; i < N_BACKENDS; i++)
            snprintf(schemes + strlen(schemes), sizeof schemes - strlen(schemes), "%s%s...", i ? " or " : "",
                     BACKENDS[i]->scheme);
        snprintf(err, errlen, "%s: expected a URI starting %s, found \"%s\" (no backend for this scheme)", s->key,
                 schemes, s->root);
        free(s);
        return NULL;
    }
    size_t rl = strlen(s->root), min = strlen(s->backend->scheme) + 1;
    while (rl > min && s->root[rl - 1] == '/') rl--;
    if (rl == min && s->root[rl - 1] == '/') rl--; /* file:/// is the root folder itself */
    s->root[rl] = '\0';
    s->root_len = rl;
    s->presign_ttl_s = cfg->blob_presign_ttl_s;
    if (s->backend->open(s, cfg, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void blob_store_free(blob_store_t *s) {
    if (!s) return;
    if (s->backend->close) s->backend->close(s);
    free(s);
}

const char *blob_store_root(const blob_store_t *s) { return s->root; }

int blob_presign_ttl_s(const blob_store_t *s) { return s->presign_ttl_s; }

int blob_image_uri(const blob_store_t *s, const char *job_id, const char *revision, const char *stage, int attempt,
                   char *uri, size_t len) {
    int n = snprintf(uri, len, "%s/%s/%s-%s-%d.png", s->root, job_id, revision, stage, attempt);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int blob_put(const blob_store_t *s, const char *uri, const void *data, size_t len, char *err, size_t errlen) {
    const char *rel;
    if (below_root(s, uri, &rel, err, errlen) != BLOB_OK) return -1;
    return s->backend->put(s, uri, rel, data, len, err, errlen);
}

blob_status_t blob_get(const blob_store_t *s, const char *uri, size_t max, unsigned char **data, size_t *len,
                       char *err, size_t errlen) {
    *data = NULL;
    const char *rel;
    blob_status_t st = below_root(s, uri, &rel, err, errlen);
    if (st != BLOB_OK) return st;
    return s->backend->get(s, uri, rel, max, data, len, err, errlen);
}

bool blob_uri_inside(const blob_store_t *s, const char *uri, char *err, size_t errlen) {
    char scratch[8];
    if (!err) err = scratch, errlen = sizeof scratch;
    const char *rel;
    if (below_root(s, uri, &rel, err, errlen) != BLOB_OK) return false;
    return !s->backend->locate || s->backend->locate(s, uri, rel, err, errlen) != BLOB_OUTSIDE_STORE;
}

int blob_exists(const blob_store_t *s, const char *uri, char *err, size_t errlen) {
    const char *rel;
    if (below_root(s, uri, &rel, err, errlen) != BLOB_OK) return -1;
    return s->backend->exists(s, uri, rel, err, errlen);
}

const char *blob_local_path(const blob_store_t *s, const char *uri) {
    return s->backend == &file_backend && blob_uri_inside(s, uri, NULL, 0) ? file_path(uri) : NULL;
}

int blob_presign(const blob_store_t *s, const char *uri, int ttl_s, char *url, size_t len, char *err,
                 size_t errlen) {
    const char *rel;
    if (below_root(s, uri, &rel, err, errlen) != BLOB_OK) return -1;
    if (!s->backend->presign) {
        snprintf(err, errlen, "%s: presigned URLs need an s3:// store", uri);
        return -1;
    }
    return s->backend->presign(s, uri, rel, ttl_s, url, len, err, errlen);
}
