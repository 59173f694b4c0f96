/* sha256.h — SHA-256 (FIPS 180-4), for fingerprints of messages too large to keep
 * whole (the DLQ's bounded letters), and HMAC-SHA256 for the blob store's AWS
 * signatures (presigned URLs, x-amz-content-sha256). */
#ifndef PRESSROOM_SHA256_H
#define PRESSROOM_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The digest of data as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* The raw 32-byte digest. */
void sha256(const void *data, size_t len, unsigned char out[32]);
/* HMAC-SHA256 (RFC 2104) of msg under key. */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len, unsigned char out[32]);
/* data as 2 * len lowercase hex digits and a NUL. */
void hex_encode(const unsigned char *data, size_t len, char *out);

#endif
