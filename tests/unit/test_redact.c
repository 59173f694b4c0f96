/* test_redact.c — the one redaction rule (base/redact.h): every registered secret in
 * every encoding we send it, in any string, becomes [redacted]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/redact.h"

static int reset(void **state) {
    (void)state;
    redact_reset();
    return 0;
}

static void test_raw_and_bearer_forms_are_redacted(void **state) {
    redact_add_secret("sk-live-0123456789abcdef");
    char s[256] = "401: bad key sk-live-0123456789abcdef (Authorization: Bearer sk-live-0123456789abcdef)";
    redact(s, sizeof s);
    assert_null(strstr(s, "sk-live"));
    assert_string_equal(s, "401: bad key [redacted] (Authorization: Bearer [redacted])");
}

static void test_basic_auth_base64_is_redacted(void **state) {
    const char *cred = "webui:hunter2-but-longer";
    redact_add_secret(cred);
    char *b64 = base64_encode(cred, strlen(cred), NULL);
    char s[256];
    snprintf(s, sizeof s, "echo: Authorization: Basic %s; user %s", b64, cred);
    redact(s, sizeof s);
    assert_null(strstr(s, b64));
    assert_null(strstr(s, "hunter2"));
    assert_string_equal(s, "echo: Authorization: Basic [redacted]; user [redacted]");
    free(b64);
}

static void test_a_secret_inside_another_is_redacted_whole(void **state) {
    redact_add_secret("pass-123456");
    redact_add_secret("user:pass-123456");
    char s[128] = "creds user:pass-123456 and pass-123456";
    redact(s, sizeof s);
    assert_string_equal(s, "creds [redacted] and [redacted]");
}

static void test_short_secrets_are_not_registered(void **state) {
    redact_add_secret("abc12"); /* shorter than REDACT_MIN_LEN */
    char s[64] = "abc12 stays";
    redact(s, sizeof s);
    assert_string_equal(s, "abc12 stays");
}

static void test_truncates_rather_than_overflow(void **state) {
    redact_add_secret("S3CRETS3CRET");
    char s[16] = "xS3CRETS3CRET";
    redact(s, sizeof s);
    assert_true(strlen(s) < sizeof s);
    assert_null(strstr(s, "S3CRET"));
    char t[8] = "ab";
    memcpy(t, "abS3CRE", 8); /* a partial secret is not a secret */
    redact(t, sizeof t);
    assert_string_equal(t, "abS3CRE");
}

static void test_sensitive_kafka_properties(void **state) {
    assert_true(redact_sensitive_property("sasl.password"));
    assert_true(redact_sensitive_property("sasl.username"));
    assert_true(redact_sensitive_property("ssl.key.password"));
    assert_true(redact_sensitive_property("ssl.key.pem"));
    assert_true(redact_sensitive_property("sasl.oauthbearer.client.secret"));
    assert_false(redact_sensitive_property("bootstrap.servers"));
    assert_false(redact_sensitive_property("security.protocol"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raw_and_bearer_forms_are_redacted, reset),
        cmocka_unit_test_setup(test_basic_auth_base64_is_redacted, reset),
        cmocka_unit_test_setup(test_a_secret_inside_another_is_redacted_whole, reset),
        cmocka_unit_test_setup(test_short_secrets_are_not_registered, reset),
        cmocka_unit_test_setup(test_truncates_rather_than_overflow, reset),
        cmocka_unit_test_setup(test_sensitive_kafka_properties, reset),
    };
    return cmocka_run_group_tests(tests, NULL, reset);
}
