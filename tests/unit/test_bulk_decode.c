/* test_bulk_decode.c — the fast paths of the preview stage's reply decode must answer
 * exactly as the slow ones: json_parse_bulk as cJSON_ParseWithLength on every body,
 * mangled ones included, and base64_decode's table loop as its checked loop (the same
 * bytes, the same errors at the same offsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"

static uint32_t rng = 12345;
static unsigned char next_byte(void) {
    rng = rng * 1103515245u + 12345u;
    return (unsigned char)(rng >> 16);
}

/* cJSON's answer and json_parse_bulk's on buf[0..len), as compact JSON ("NULL" when
 * refused), must be the same. */
static void assert_same_parse(const char *buf, size_t len) {
    cJSON *a = cJSON_ParseWithLength(buf, len), *b = json_parse_bulk(buf, len, 64);
    char *pa = a ? cJSON_PrintUnformatted(a) : NULL, *pb = b ? cJSON_PrintUnformatted(b) : NULL;
    if ((a == NULL) != (b == NULL) || (pa && strcmp(pa, pb))) {
        fprintf(stderr, "differs on %zu bytes: %.120s\n cJSON: %.160s\n bulk:  %.160s\n", len, buf,
                pa ? pa : "NULL", pb ? pb : "NULL");
        fail();
    }
    free(pa);
    free(pb);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A reply of the OpenAI shape around a base64 image of n random bytes. */
static char *reply_body(size_t n, size_t *len) {
    unsigned char *raw = malloc(n);
    for (size_t i = 0; i < n; i++) raw[i] = next_byte();
    char *b64 = base64_encode(raw, n, NULL);
    size_t cap = strlen(b64) + 256;
    char *body = malloc(cap);
    *len = (size_t)snprintf(body, cap,
                            "{\"created\":1700000000,\"data\":[{\"b64_json\":\"%s\",\"revised_prompt\":\"a \\\"quoted\\\" "
                            "line\"}],\"usage\":{\"total\":3}}",
                            b64);
    free(raw);
    free(b64);
    return body;
}

static void test_bulk_parse_gives_cjsons_tree(void **state) {
    (void)state;
    size_t len;
    char *body = reply_body(3000, &len);
    assert_same_parse(body, len);
    cJSON *j = json_parse_bulk(body, len, 64);
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "b64_json");
    assert_true(cJSON_IsString(b64));
    assert_int_equal(strlen(b64->valuestring), 4000);
    cJSON_Delete(j);
    free(body);
}

static void test_bulk_parse_agrees_on_every_truncation(void **state) {
    (void)state;
    size_t len;
    char *body = reply_body(600, &len);
    for (size_t n = 0; n <= len; n++) assert_same_parse(body, n);
    free(body);
}

/* One byte replaced (quote, backslash, NUL, brace, newline, a letter) at every offset
 * of the body: wherever cJSON refuses or reads something else, so does the fast path. */
static void test_bulk_parse_agrees_on_every_mangled_byte(void **state) {
    (void)state;
    static const char subst[] = {'"', '\\', '\0', '}', ']', ',', ':', '\n', 'A', '{'};
    size_t len;
    char *body = reply_body(300, &len);
    char *m = malloc(len + 1);
    for (size_t at = 0; at < len; at++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(m, body, len);
            m[len] = '\0';
            m[at] = subst[k];
            assert_same_parse(m, len);
        }
    }
    free(m);
    free(body);
}

static void test_bulk_parse_unusual_documents(void **state) {
    (void)state;
    char big[2000];
    memset(big, 'Q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char doc[4600];
    const char *shapes[] = {
        "{\"%s\":1}",                         /* the long string is a key */
        "[\"%s\"] trailing \"garbage\"",     /* cJSON stops after the value */
        "{\"a\":\"x\",\"a\":\"%s\"}",         /* a key twice: cJSON keeps both */
        "\"%s\"",                             /* the document is the string */
        "{\"a\":[1,2,{\"b\":\"%s\"}],\"c\":\"\"}",
        "{\"a\":\"%s\\n\"}",                  /* an escape inside: parsed by cJSON */
        "{\"a\":\"%s\",\"b\":\"%s\"}",        /* two long strings */
        "[1] \"%s\"",                         /* the long string after the root value */
        "{\"a\" \"%s\"}",                     /* a missing colon */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int n = snprintf(doc, sizeof doc, shapes[i], big, big);
        assert_same_parse(doc, (size_t)n);
    }
    /* A NUL inside the long string: cJSON cuts the value there, and so must we. */
    int n = snprintf(doc, sizeof doc, "{\"a\":\"%s\"}", big);
    doc[600] = '\0';
    assert_same_parse(doc, (size_t)n);
}

/* ==== base64 ==== */

static void test_base64_round_trips_every_length(void **state) {
    (void)state;
    unsigned char raw[700];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = next_byte();
    for (size_t n = 0; n <= sizeof raw; n++) {
        size_t elen, dlen;
        char *e = base64_encode(raw, n, &elen), err[160];
        unsigned char *d = base64_decode(e, elen, n, &dlen, err, sizeof err);
        assert_non_null(d);
        assert_int_equal(dlen, n);
        assert_memory_equal(d, raw, n);
        free(d);
        if (n > 0) { /* one byte over the limit: refused, at every length */
            d = base64_decode(e, elen, n - 1, &dlen, err, sizeof err);
            assert_null(d);
            assert_non_null(strstr(err, "exceeds"));
        }
        free(e);
    }
}

/* A character outside the alphabet at any offset is named at that offset. */
static void test_base64_bad_character_named_at_its_offset(void **state) {
    (void)state;
    unsigned char raw[300];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = next_byte();
    size_t elen;
    char *e = base64_encode(raw, sizeof raw, &elen), err[160], want[64];
    for (size_t at = 0; at < elen - 2; at++) { /* the last two may be padding */
        char saved = e[at];
        static const char bad[] = {'!', '-', '_', ' ', '\t', (char)0x80, (char)0xff, '\0'};
        for (size_t k = 0; k < sizeof bad; k++) {
            e[at] = bad[k];
            size_t dlen;
            assert_null(base64_decode(e, elen, 1 << 20, &dlen, err, sizeof err));
            snprintf(want, sizeof want, "at offset %zu", at);
            assert_non_null(strstr(err, want));
        }
        e[at] = saved;
    }
    free(e);
}

/* Every byte value at every offset of a block: decoded when it is in the alphabet (to
 * the bytes that encode back to the same text), named at its offset when it is not. */
static void test_base64_every_byte_at_every_offset(void **state) {
    (void)state;
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char text[97], err[160], want[64];
    for (size_t i = 0; i < 96; i++) text[i] = alphabet[next_byte() % 64];
    text[96] = '\0';
    for (size_t at = 0; at < 96; at++) {
        char saved = text[at];
        for (int v = 0; v < 256; v++) {
            if (v == '\r' || v == '\n' || v == '=') continue; /* skipped, or padding: tested above and below */
            text[at] = (char)v;
            size_t dlen;
            unsigned char *d = base64_decode(text, 96, 1 << 20, &dlen, err, sizeof err);
            if (v && strchr(alphabet, v)) {
                assert_non_null(d);
                assert_int_equal(dlen, 72);
                char *back = base64_encode(d, dlen, NULL);
                assert_memory_equal(back, text, 96);
                free(back);
                free(d);
            } else {
                assert_null(d);
                snprintf(want, sizeof want, "at offset %zu", at);
                assert_non_null(strstr(err, want));
            }
        }
        text[at] = saved;
    }
}

/* Line breaks anywhere are skipped; padding inside the data is an error. */
static void test_base64_line_breaks_and_misplaced_padding(void **state) {
    (void)state;
    unsigned char raw[500];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = next_byte();
    size_t elen, dlen;
    char *e = base64_encode(raw, sizeof raw, &elen), err[160];
    char *wrapped = malloc(elen * 2 + 8);
    size_t w = 0;
    for (size_t i = 0; i < elen; i++) {
        wrapped[w++] = e[i];
        if (i % 76 == 75) wrapped[w++] = '\r', wrapped[w++] = '\n';
        if (i % 29 == 13) wrapped[w++] = '\n';
    }
    unsigned char *d = base64_decode(wrapped, w, sizeof raw, &dlen, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(dlen, sizeof raw);
    assert_memory_equal(d, raw, sizeof raw);
    free(d);
    e[40] = '=';
    assert_null(base64_decode(e, elen, 1 << 20, &dlen, err, sizeof err));
    free(wrapped);
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_parse_gives_cjsons_tree),
        cmocka_unit_test(test_bulk_parse_agrees_on_every_truncation),
        cmocka_unit_test(test_bulk_parse_agrees_on_every_mangled_byte),
        cmocka_unit_test(test_bulk_parse_unusual_documents),
        cmocka_unit_test(test_base64_round_trips_every_length),
        cmocka_unit_test(test_base64_bad_character_named_at_its_offset),
        cmocka_unit_test(test_base64_every_byte_at_every_offset),
        cmocka_unit_test(test_base64_line_breaks_and_misplaced_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
