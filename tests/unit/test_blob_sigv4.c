/* test_blob_sigv4.c — the signing the s3 blob store does itself: HMAC-SHA256 against
 * RFC 4231's vectors, and presigned URLs against the example AWS publishes in
 * "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" (Amazon
 * S3 API reference): the fixtures come from those documents, not from our code.
 * (s3rver does not check SigV4 signatures, so the integration tests cannot.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/sha256.h"
#include "blob/blob_sigv4.h"

static void hmac_hex(const char *key, size_t keylen, const char *msg, char out[65]) {
    unsigned char mac[32];
    hmac_sha256(key, keylen, msg, strlen(msg), mac);
    hex_encode(mac, 32, out);
}

static void test_hmac_sha256_matches_rfc_4231(void **state) {
    char hex[65];
    /* Test case 2: a short key. */
    hmac_hex("Jefe", 4, "what do ya want for nothing?", hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 6: a key longer than the block is hashed first. */
    char key[131];
    memset(key, 0xaa, sizeof key);
    hmac_hex(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First", hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static const sigv4_presign_t AWS_EXAMPLE = {
    .scheme = "https",
    .host = "examplebucket.s3.amazonaws.com",
    .path = "/test.txt",
    .region = "us-east-1",
    .access_key = "AKIAIOSFODNN7EXAMPLE",
    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    .now = 1369353600, /* 20130524T000000Z */
    .ttl_s = 86400,
};

static void test_presigned_url_matches_the_aws_example(void **state) {
    char url[2048];
    assert_int_equal(sigv4_presign(&AWS_EXAMPLE, url, sizeof url), 0);
    assert_string_equal(url,
                        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

static void test_every_input_changes_the_signature(void **state) {
    char base[2048], other[2048];
    assert_int_equal(sigv4_presign(&AWS_EXAMPLE, base, sizeof base), 0);
    const char *sig = strstr(base, "X-Amz-Signature=");
    sigv4_presign_t p = AWS_EXAMPLE;
    p.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
    assert_int_equal(sigv4_presign(&p, other, sizeof other), 0);
    assert_string_not_equal(strstr(other, "X-Amz-Signature="), sig);
    p = AWS_EXAMPLE;
    p.path = "/test2.txt";
    assert_int_equal(sigv4_presign(&p, other, sizeof other), 0);
    assert_string_not_equal(strstr(other, "X-Amz-Signature="), sig);
    p = AWS_EXAMPLE;
    p.host = "examplebucket.s3.amazonaws.com:9000";
    assert_int_equal(sigv4_presign(&p, other, sizeof other), 0);
    assert_string_not_equal(strstr(other, "X-Amz-Signature="), sig);
}

static void test_a_url_that_does_not_fit_is_refused(void **state) {
    char url[64];
    assert_int_equal(sigv4_presign(&AWS_EXAMPLE, url, sizeof url), -1);
}

static void test_keys_are_encoded_as_sigv4_encodes_paths(void **state) {
    char out[128];
    sigv4_encode_path("blobs/job:1/preview-1.png", out, sizeof out);
    assert_string_equal(out, "blobs/job%3A1/preview-1.png");
    sigv4_encode_path("a b+c~d_e", out, sizeof out);
    assert_string_equal(out, "a%20b%2Bc~d_e");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha256_matches_rfc_4231),
        cmocka_unit_test(test_presigned_url_matches_the_aws_example),
        cmocka_unit_test(test_every_input_changes_the_signature),
        cmocka_unit_test(test_a_url_that_does_not_fit_is_refused),
        cmocka_unit_test(test_keys_are_encoded_as_sigv4_encodes_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
