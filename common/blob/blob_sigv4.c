/* blob_sigv4.c — SigV4 query-string signing; see blob_sigv4.h. */
#include "blob/blob_sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/sha256.h"

/* RFC 3986 encoding: unreserved bytes kept, and those of keep. */
static void encode(const char *v, const char *keep, char *out, size_t len) {
    size_t n = 0;
    for (const char *p = v; *p && n + 4 < len; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || strchr("-._~", c) || (keep && strchr(keep, c))) out[n++] = (char)c;
        else n += (size_t)snprintf(out + n, len - n, "%%%02X", c);
    }
    out[n] = '\0';
}

void sigv4_encode_path(const char *key, char *out, size_t len) { encode(key, "/", out, len); }

int sigv4_presign(const sigv4_presign_t *p, char *url, size_t len) {
    time_t t = (time_t)p->now;
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[16], stamp[24];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char scope[160], cred[400], cred_enc[600];
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", date, p->region);
    snprintf(cred, sizeof cred, "%s/%s", p->access_key, scope);
    encode(cred, NULL, cred_enc, sizeof cred_enc);
    /* The query parameters in canonical (byte) order; the signature is appended last. */
    char query[1200];
    snprintf(query, sizeof query,
             "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%d"
             "&X-Amz-SignedHeaders=host",
             cred_enc, stamp, p->ttl_s);
    char canonical[4096];
    snprintf(canonical, sizeof canonical, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", p->path, query, p->host);
    char canonical_hash[65];
    sha256_hex(canonical, strlen(canonical), canonical_hash);
    char to_sign[400];
    snprintf(to_sign, sizeof to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, canonical_hash);
    char k_secret[300];
    snprintf(k_secret, sizeof k_secret, "AWS4%s", p->secret_key);
    unsigned char k[32], sig[32];
    hmac_sha256(k_secret, strlen(k_secret), date, strlen(date), k);
    hmac_sha256(k, 32, p->region, strlen(p->region), k);
    hmac_sha256(k, 32, "s3", 2, k);
    hmac_sha256(k, 32, "aws4_request", 12, k);
    hmac_sha256(k, 32, to_sign, strlen(to_sign), sig);
    memset(k_secret, 0, sizeof k_secret);
    memset(k, 0, sizeof k);
    char sig_hex[65];
    hex_encode(sig, 32, sig_hex);
    int n = snprintf(url, len, "%s://%s%s?%s&X-Amz-Signature=%s", p->scheme, p->host, p->path, query, sig_hex);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
