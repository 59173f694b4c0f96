/* base64.c — RFC 4648 base64; see base64.h. */
#include "base64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len, size_t *out_len) {
    const unsigned char *in = data;
    size_t n = 4 * ((len + 2) / 3);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return out;
}

static int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

unsigned char *base64_decode(const char *text, size_t len, size_t max, size_t *out_len, char *err,
                             size_t errlen) {
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (!out) {
        snprintf(err, errlen, "out of memory decoding %zu bytes of base64", len);
        return NULL;
    }
    size_t o = 0;
    uint32_t acc = 0;
    int have = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' || c == '\n') continue;
        if (c == '=') {
            if (have < 2) {
                snprintf(err, errlen, "base64: padding '=' at offset %zu, after %d of 4 characters", i, have);
                goto fail;
            }
            pad++;
            if (pad > 2 || have + pad > 4) {
                snprintf(err, errlen, "base64: too much padding at offset %zu", i);
                goto fail;
            }
            continue;
        }
        int v = sextet(c);
        if (v < 0 || pad) {
            snprintf(err, errlen, "base64: expected a character of the base64 alphabet at offset %zu, found %s0x%02x",
                     i, pad ? "data after padding: " : "", c);
            goto fail;
        }
        acc = acc << 6 | (uint32_t)v;
        if (++have == 4) {
            if (o + 3 > max) {
                snprintf(err, errlen, "base64: decoded data exceeds %zu bytes", max);
                goto fail;
            }
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
            have = 0;
        }
    }
    if (have) {
        if (have == 1 || (pad && have + pad != 4)) {
            snprintf(err, errlen, "base64: truncated final group (%d characters, %d padding)", have, pad);
            goto fail;
        }
        if (o + (size_t)have - 1 > max) {
            snprintf(err, errlen, "base64: decoded data exceeds %zu bytes", max);
            goto fail;
        }
        acc <<= 6 * (4 - have);
        out[o++] = (unsigned char)(acc >> 16);
        if (have == 3) out[o++] = (unsigned char)(acc >> 8);
    } else if (pad) {
        snprintf(err, errlen, "base64: padding without data");
        goto fail;
    }
    *out_len = o;
    return out;
fail:
    free(out);
    return NULL;
}
