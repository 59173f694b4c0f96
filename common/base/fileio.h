/* fileio.h — whole-file reads and atomic writes. */
#ifndef PRESSROOM_FILEIO_H
#define PRESSROOM_FILEIO_H

#include <stddef.h>

/* Reads the whole of `path` (at most max bytes) into a malloc'd, NUL-terminated buffer.
 * Returns NULL with a sentence in err (naming the path) on failure or when too large. */
char *file_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Reads `size` bytes (its fstat size) of the open regular file fd into a malloc'd,
 * NUL-terminated buffer; `name` names it in err. Does not close fd. NULL on a short read. */
char *file_read_fd(int fd, size_t size, const char *name, size_t *len, char *err, size_t errlen);

/* Writes data to path atomically (temp file + rename), creating parent folders.
 * Returns 0 or -1 with err. */
int file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* mkdir -p. Returns 0 or -1 (errno set). */
int mkdir_p(const char *path, int mode);

#endif
