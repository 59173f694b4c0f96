/* sha256.h — SHA-256 (FIPS 180-4), for fingerprints of messages too large to keep
 * whole (the DLQ's bounded letters). */
#ifndef PRESSROOM_SHA256_H
#define PRESSROOM_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The digest of data as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
