/* test_image.c — bounded PNG decoding: real PNGs in, hostile bytes rejected with
 * a sentence, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "verify/image.h"

static const image_limits_t LIMITS = {16 << 20, 4096, 64};

static image_t make_rgb(int w, int h) {
    image_t img = {w, h, malloc((size_t)w * h * 3)};
    for (int i = 0; i < w * h * 3; i++) img.rgb[i] = (unsigned char)(i * 7 + i / 3);
    return img;
}

static void encode(const image_t *img, unsigned char **png, size_t *len) {
    char err[256];
    assert_int_equal(image_encode_png(img, png, len, err, sizeof err), 0);
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static void test_rgb_png_round_trips(void **state) {
    (void)state;
    image_t img = make_rgb(37, 21), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    char err[256];
    assert_int_equal(image_decode_png(png, len, &LIMITS, &out, err, sizeof err), 0);
    assert_int_equal(out.w, 37);
    assert_int_equal(out.h, 21);
    assert_memory_equal(out.rgb, img.rgb, 37 * 21 * 3);
    image_free(&out);
    image_free(&img);
    free(png);
}

static void test_grey_alpha_png_is_composited_on_white(void **state) {
    (void)state;
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 2;
    pi.height = 1;
    pi.format = PNG_FORMAT_GA;
    unsigned char px[4] = {0, 255, 0, 0}; /* opaque black, fully transparent */
    png_alloc_size_t len = 0;
    assert_true(png_image_write_to_memory(&pi, NULL, &len, 0, px, 0, NULL));
    unsigned char *png = malloc(len);
    assert_true(png_image_write_to_memory(&pi, png, &len, 0, px, 0, NULL));
    image_t out;
    char err[256];
    assert_int_equal(image_decode_png(png, len, &LIMITS, &out, err, sizeof err), 0);
    assert_int_equal(out.rgb[0], 0);
    assert_int_equal(out.rgb[2], 0);
    assert_int_equal(out.rgb[3], 255);
    assert_int_equal(out.rgb[5], 255);
    image_free(&out);
    free(png);
}

static void test_dimensions_over_the_limit_are_rejected(void **state) {
    (void)state;
    image_t img = make_rgb(5000, 2), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    char err[256] = "";
    assert_int_equal(image_decode_png(png, len, &LIMITS, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "5000"));
    assert_null(out.rgb);
    image_free(&img);
    free(png);
}

static void test_forged_huge_header_is_rejected_before_allocating(void **state) {
    (void)state;
    image_t img = make_rgb(8, 8), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    /* IHDR data starts at 16: width, height. Claim 100000 x 100000, fix the CRC. */
    put32(png + 16, 100000);
    put32(png + 20, 100000);
    put32(png + 29, crc32_of(png + 12, 17));
    char err[256] = "";
    assert_int_equal(image_decode_png(png, len, &LIMITS, &out, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    image_free(&img);
    free(png);
}

static void test_truncated_png_is_an_error(void **state) {
    (void)state;
    image_t img = make_rgb(64, 64), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    char err[256] = "";
    for (size_t cut = 8; cut < len; cut += len / 7 + 1) {
        err[0] = '\0';
        assert_int_equal(image_decode_png(png, cut, &LIMITS, &out, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    image_free(&img);
    free(png);
}

static void test_garbage_bytes_are_an_error(void **state) {
    (void)state;
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
    image_t out;
    char err[256] = "";
    assert_int_equal(image_decode_png(junk, sizeof junk, &LIMITS, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "signature"));
    assert_int_equal(image_decode_png(junk, 0, &LIMITS, &out, err, sizeof err), -1);
    /* A valid signature followed by garbage. */
    memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
    err[0] = '\0';
    assert_int_equal(image_decode_png(junk, sizeof junk, &LIMITS, &out, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
}

static void test_too_many_bytes_or_chunks_are_rejected(void **state) {
    (void)state;
    image_t img = make_rgb(16, 16), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    char err[256] = "";
    image_limits_t small = {64, 4096, 64};
    assert_int_equal(image_decode_png(png, len, &small, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "limit"));
    /* 100 empty tEXt-like chunks inserted after IHDR (8 + 25 bytes). */
    size_t extra = 100 * 12, n2 = len + extra;
    unsigned char *many = malloc(n2);
    memcpy(many, png, 33);
    for (int i = 0; i < 100; i++) {
        unsigned char *c = many + 33 + i * 12;
        put32(c, 0);
        memcpy(c + 4, "teXt", 4);
        put32(c + 8, crc32_of(c + 4, 4));
    }
    memcpy(many + 33 + extra, png + 33, len - 33);
    assert_int_equal(image_decode_png(many, n2, &LIMITS, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "chunks"));
    image_limits_t roomy = {16 << 20, 4096, 1000};
    assert_int_equal(image_decode_png(many, n2, &roomy, &out, err, sizeof err), 0);
    image_free(&out);
    free(many);
    image_free(&img);
    free(png);
}

/* The offset of the first IDAT chunk (its length field), or 0. */
static size_t find_idat(const unsigned char *png, size_t len) {
    for (size_t pos = 8; pos + 12 <= len;) {
        uint32_t clen = (uint32_t)png[pos] << 24 | (uint32_t)png[pos + 1] << 16 | (uint32_t)png[pos + 2] << 8 |
                        png[pos + 3];
        if (!memcmp(png + pos + 4, "IDAT", 4)) return pos;
        pos += 12 + (size_t)clen;
    }
    return 0;
}

/* Integrity lives in the chunk CRCs: one flipped byte of compressed data is an error.
 * The zlib Adler-32 is not checked (a stream whose Adler-32 alone is wrong, under a
 * correct CRC, decodes): it covers the same bytes the CRC already did. */
static void test_corrupt_idat_is_an_error_adler32_is_left_to_the_crc(void **state) {
    (void)state;
    image_t img = make_rgb(37, 21), out;
    unsigned char *png;
    size_t len;
    encode(&img, &png, &len);
    size_t at = find_idat(png, len);
    assert_true(at > 0);
    uint32_t clen = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 | (uint32_t)png[at + 2] << 8 | png[at + 3];
    assert_true(clen > 8);
    char err[256];

    unsigned char *bad = malloc(len);
    memcpy(bad, png, len);
    bad[at + 8 + clen / 2] ^= 0x10; /* a byte of the deflate data, CRC left as it was */
    assert_int_equal(image_decode_png(bad, len, &LIMITS, &out, err, sizeof err), -1);
    assert_true(err[0]);

    memcpy(bad, png, len);
    bad[at + 8 + clen - 1] ^= 0x01; /* the Adler-32's last byte, CRC left as it was */
    assert_int_equal(image_decode_png(bad, len, &LIMITS, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "CRC"));

    memcpy(bad, png, len);
    bad[at + 8 + clen - 1] ^= 0x01; /* the Adler-32's last byte, then a correct CRC */
    put32(bad + at + 8 + clen, crc32_of(bad + at + 4, 4 + clen));
    assert_int_equal(image_decode_png(bad, len, &LIMITS, &out, err, sizeof err), 0);
    assert_memory_equal(out.rgb, img.rgb, 37 * 21 * 3);
    image_free(&out);
    free(bad);
    image_free(&img);
    free(png);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rgb_png_round_trips),
        cmocka_unit_test(test_grey_alpha_png_is_composited_on_white),
        cmocka_unit_test(test_dimensions_over_the_limit_are_rejected),
        cmocka_unit_test(test_forged_huge_header_is_rejected_before_allocating),
        cmocka_unit_test(test_truncated_png_is_an_error),
        cmocka_unit_test(test_garbage_bytes_are_an_error),
        cmocka_unit_test(test_too_many_bytes_or_chunks_are_rejected),
        cmocka_unit_test(test_corrupt_idat_is_an_error_adler32_is_left_to_the_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
