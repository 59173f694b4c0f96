/* blob_sigv4.h — AWS Signature Version 4 query-string signing (presigned GET URLs).
 * libcurl signs the requests it sends (CURLOPT_AWS_SIGV4); a URL handed to someone
 * else has to be signed here. Pure computation, no clock: the caller passes the time,
 * so the unit tests check it against AWS's published example. */
#ifndef PRESSROOM_BLOB_SIGV4_H
#define PRESSROOM_BLOB_SIGV4_H

#include <stddef.h>

typedef struct {
    const char *scheme;     /* "http" or "https" */
    const char *host;       /* the Host header: host[:port] (bucket.host for virtual-host style) */
    const char *path;       /* the canonical URI, already percent-encoded: /bucket/key or /key */
    const char *region;
    const char *access_key;
    const char *secret_key;
    long long now;          /* seconds since the epoch */
    int ttl_s;              /* X-Amz-Expires */
} sigv4_presign_t;

/* The presigned GET URL into url. Returns 0, or -1 when it does not fit in len. */
int sigv4_presign(const sigv4_presign_t *p, char *url, size_t len);

/* key percent-encoded as SigV4 encodes a path: unreserved bytes and "/" kept. */
void sigv4_encode_path(const char *key, char *out, size_t len);

#endif
