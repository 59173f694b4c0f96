/* base64.c — RFC 4648 base64; see base64.h. */
#include "base/base64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* 1 + the sextet of each alphabet character; 0 for every other byte. */
static const uint8_t SEXTET1[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static int sextet(unsigned char c) { return (int)SEXTET1[c] - 1; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Whole groups, two at a time: each character's table entry holds its sextet already
 * shifted into place in the group's 3 output bytes, laid out as a little-endian word
 * (byte 0 lowest), so a group is four loads, three ORs and one 4-byte store. A byte
 * outside the alphabet has bit 24 set (never set by a sextet): the loop stops there
 * and the general loop below takes over, with its checks and messages. */
#define B64_BAD 0x01000000u
#define B64_S(c) ((uint32_t)SEXTET1_OF(c) - 1u)
#define SEXTET1_OF(c)                                                                                          \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A' + 1                                                               \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 27                                                              \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 53                                                              \
     : (c) == '+'               ? 63                                                                          \
     : (c) == '/'               ? 64                                                                          \
                                : 0)
#define B64_D0(c) (SEXTET1_OF(c) ? B64_S(c) << 2 : B64_BAD)
#define B64_D1(c) (SEXTET1_OF(c) ? (B64_S(c) >> 4) | (B64_S(c) & 15) << 12 : B64_BAD)
#define B64_D2(c) (SEXTET1_OF(c) ? (B64_S(c) >> 2) << 8 | (B64_S(c) & 3) << 22 : B64_BAD)
#define B64_D3(c) (SEXTET1_OF(c) ? B64_S(c) << 16 : B64_BAD)
#define B64_T4(F, b) F(b), F((b) + 1), F((b) + 2), F((b) + 3)
#define B64_T16(F, b) B64_T4(F, b), B64_T4(F, (b) + 4), B64_T4(F, (b) + 8), B64_T4(F, (b) + 12)
#define B64_T64(F, b) B64_T16(F, b), B64_T16(F, (b) + 16), B64_T16(F, (b) + 32), B64_T16(F, (b) + 48)
#define B64_T256(F) B64_T64(F, 0), B64_T64(F, 64), B64_T64(F, 128), B64_T64(F, 192)
static const uint32_t D0[256] = {B64_T256(B64_D0)}, D1[256] = {B64_T256(B64_D1)},
                      D2[256] = {B64_T256(B64_D2)}, D3[256] = {B64_T256(B64_D3)};

/* Decodes whole groups from in[*i] into out[*o] while both fit (8 input bytes, 6 output
 * bytes within max; the buffer has a byte of slack past each group for the 4-byte
 * store). Stops before the first group holding anything but alphabet characters. */
static void decode_groups(const unsigned char *in, size_t len, size_t max, unsigned char *out, size_t *i,
                          size_t *o) {
    size_t ii = *i, oo = *o;
    while (ii + 8 <= len && oo + 6 <= max) {
        uint32_t a = D0[in[ii]] | D1[in[ii + 1]] | D2[in[ii + 2]] | D3[in[ii + 3]];
        uint32_t b = D0[in[ii + 4]] | D1[in[ii + 5]] | D2[in[ii + 6]] | D3[in[ii + 7]];
        if ((a | b) & B64_BAD) break;
        memcpy(out + oo, &a, 4);
        memcpy(out + oo + 3, &b, 4);
        oo += 6;
        ii += 8;
    }
    *i = ii;
    *o = oo;
}
#else
static void decode_groups(const unsigned char *in, size_t len, size_t max, unsigned char *out, size_t *i,
                          size_t *o) {
    (void)in, (void)len, (void)max, (void)out, (void)i, (void)o;
}
#endif

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
    const unsigned char *in = (const unsigned char *)text;
    size_t start = 0;
    decode_groups(in, len, max, out, &start, &o);
    for (size_t i = start; i < len; i++) {
        /* Fast path: a whole group of four alphabet characters (have == 0 implies no
         * padding seen yet); anything else goes through the checks below. */
        while (have == 0 && i + 4 <= len) {
            uint32_t s0 = SEXTET1[in[i]], s1 = SEXTET1[in[i + 1]], s2 = SEXTET1[in[i + 2]],
                     s3 = SEXTET1[in[i + 3]];
            if (!s0 || !s1 || !s2 || !s3 || o + 3 > max) break;
            uint32_t v = (s0 - 1) << 18 | (s1 - 1) << 12 | (s2 - 1) << 6 | (s3 - 1);
            out[o++] = (unsigned char)(v >> 16);
            out[o++] = (unsigned char)(v >> 8);
            out[o++] = (unsigned char)v;
            i += 4;
        }
        if (i >= len) break;
        unsigned char c = in[i];
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
