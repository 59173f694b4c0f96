/* base64.h — RFC 4648 base64 (standard alphabet, '=' padding), for image payloads
 * carried inside JSON (OpenAI b64_json, A1111 images[], Vertex bytesBase64Encoded). */
#ifndef PRESSROOM_BASE64_H
#define PRESSROOM_BASE64_H

#include <stddef.h>

/* Encodes len bytes into a malloc'd NUL-terminated string (length in *out_len when
 * out_len is not NULL). Returns NULL only when out of memory. */
char *base64_encode(const void *data, size_t len, size_t *out_len);

/* Decodes text (length len) into a malloc'd buffer of *out_len bytes. Line breaks
 * (CR, LF) are skipped; anything else outside the alphabet, misplaced padding or a
 * truncated final group is an error. When the decoded size would exceed max, decoding
 * stops. Returns NULL on error with a sentence in err naming the offending offset. */
unsigned char *base64_decode(const char *text, size_t len, size_t max, size_t *out_len, char *err,
                             size_t errlen);

#endif
