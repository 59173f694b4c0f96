/* test_redact.c — one redaction rule: every registered secret, raw, as a Bearer token
 * or as HTTP Basic base64, becomes "[redacted]" in any string that leaves the process
 * (log lines at every level, Kafka start-up errors); overlaps, truncated copies and
 * small buffers never let a part of a secret through; short secrets are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/log.h"
#include "base/redact.h"
#include "runtime/kafka.h"

static const char OPENAI_KEY[] = "sk-test-4f9c2d7e1a0b";
static const char A1111_AUTH[] = "pressroom:a1111-pass-77";

static void redacts_to(const char *in, const char *want) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", in);
    assert_string_equal(redact(buf, sizeof buf), want);
}

static void test_a_raw_secret_is_redacted(void **state) {
    (void)state;
    assert_true(redact_add_secret(OPENAI_KEY));
    redacts_to("key sk-test-4f9c2d7e1a0b was refused", "key [redacted] was refused");
    redacts_to("sk-test-4f9c2d7e1a0b", "[redacted]");
    redacts_to("nothing secret here", "nothing secret here");
    /* Registering again is harmless. */
    assert_true(redact_add_secret(OPENAI_KEY));
}

static void test_a_bearer_token_is_redacted(void **state) {
    (void)state;
    assert_true(redact_add_secret(OPENAI_KEY));
    redacts_to("HTTP 401: Incorrect API key provided: Authorization: Bearer sk-test-4f9c2d7e1a0b.",
               "HTTP 401: Incorrect API key provided: Authorization: Bearer [redacted].");
}

static void test_basic_auth_base64_is_redacted(void **state) {
    (void)state;
    assert_true(redact_add_secret(A1111_AUTH));
    char *b64 = base64_encode(A1111_AUTH, strlen(A1111_AUTH), NULL);
    assert_non_null(strchr(b64, '=')); /* this one is padded: the whole of it goes */
    char in[256], want[] = "received Authorization: Basic [redacted] (wrong)";
    snprintf(in, sizeof in, "received Authorization: Basic %s (wrong)", b64);
    redacts_to(in, want);
    /* Echoed without its padding, too. */
    b64[strcspn(b64, "=")] = '\0';
    snprintf(in, sizeof in, "received Authorization: Basic %s (wrong)", b64);
    redacts_to(in, want);
    free(b64);
    redacts_to("pressroom:a1111-pass-77", "[redacted]");
}

static void test_several_and_overlapping_secrets_become_marks(void **state) {
    (void)state;
    assert_true(redact_add_secret("alpha-secret-1"));
    assert_true(redact_add_secret("secret-1-omega"));
    assert_true(redact_add_secret("kafkapass99"));
    /* Two secrets sharing bytes: neither leaves a part of the other behind. */
    redacts_to("x alpha-secret-1-omega y", "x [redacted] y");
    /* One inside a longer one, and the same secret twice in a row. */
    assert_true(redact_add_secret("prefix-kafkapass99-suffix"));
    redacts_to("a prefix-kafkapass99-suffix b", "a [redacted] b");
    redacts_to("kafkapass99kafkapass99", "[redacted]");
    redacts_to("1 alpha-secret-1, 2 kafkapass99, 3 secret-1-omega",
               "1 [redacted], 2 [redacted], 3 [redacted]");
}

static void test_a_truncated_copy_never_ends_in_part_of_a_secret(void **state) {
    (void)state;
    assert_true(redact_add_secret(OPENAI_KEY));
    /* A detail cut by snprintf in the middle of an echoed key. */
    redacts_to("HTTP 401 from m: Bearer sk-test-4f9", "HTTP 401 from m: Bearer [redacted]");
    /* Fragments shorter than REDACT_MIN_SECRET are left: they cannot be told from text. */
    redacts_to("ends in sk-te", "ends in sk-te");
}

static void test_marks_never_overflow_the_buffer(void **state) {
    (void)state;
    assert_true(redact_add_secret("zq81x0"));
    /* "[redacted]" is longer than the 6-byte secret: the result is cut at cap - 1. */
    char buf[17 + 4];
    memset(buf, 'G', sizeof buf);
    snprintf(buf, 17, "ab zq81x0 zq81x0");
    assert_string_equal(redact(buf, 17), "ab [redacted] [r");
    assert_int_equal(strlen(buf), 16);
    for (size_t i = 17; i < sizeof buf; i++) assert_int_equal(buf[i], 'G'); /* guard bytes untouched */
    char tiny[4] = "zq8";
    assert_string_equal(redact(tiny, sizeof tiny), "zq8");
    char one[1] = "";
    assert_string_equal(redact(one, sizeof one), "");
}

static void test_short_secrets_are_refused(void **state) {
    (void)state;
    assert_false(redact_add_secret("abc12"));
    assert_false(redact_add_secret(""));
    assert_false(redact_add_secret(NULL));
    redacts_to("user abc12 logged in", "user abc12 logged in");
    assert_true(redact_add_secret("abc123")); /* REDACT_MIN_SECRET bytes is enough */
    redacts_to("user abc123 logged in", "user [redacted] logged in");
}

/* Runs fn with stderr captured; returns what it wrote (malloc'd). */
static char *captured_stderr(void (*fn)(void)) {
    char path[] = "/tmp/pressroom-test-redact.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    char *text = malloc(65536);
    ssize_t n = pread(fd, text, 65535, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static const char QUOTED_SECRET[] = "pa\"ss\\word99";

static void log_every_level(void) {
    log_set_level(LOG_DEBUG);
    log_debug("model_retry", "detail", "HTTP 503: Bearer sk-test-4f9c2d7e1a0b", NULL);
    log_info("a", "detail", "Basic cHJlc3Nyb29tOmExMTExLXBhc3MtNzc=", NULL);
    log_warn("b", "password", QUOTED_SECRET, NULL);
    log_msgf(LOG_ERROR, "c", "start-up failed: %s", "sk-test-4f9c2d7e1a0b");
    log_set_level(LOG_INFO);
}

static void test_every_log_line_at_every_level_is_redacted(void **state) {
    (void)state;
    assert_true(redact_add_secret(OPENAI_KEY));
    assert_true(redact_add_secret(A1111_AUTH));
    assert_true(redact_add_secret(QUOTED_SECRET));
    char *out = captured_stderr(log_every_level);
    assert_non_null(strstr(out, "\"level\":\"debug\""));
    assert_non_null(strstr(out, "\"level\":\"error\""));
    assert_null(strstr(out, "sk-test-4f9c2d7e1a0b"));
    assert_null(strstr(out, "cHJlc3Nyb29tOmExMTExLXBhc3Mt"));
    assert_null(strstr(out, "word99")); /* matched before JSON escaping */
    assert_non_null(strstr(out, "Bearer [redacted]"));
    assert_non_null(strstr(out, "\"password\":\"[redacted]\""));
    free(out);
}

static void test_a_mistyped_kafka_secret_is_never_printed(void **state) {
    (void)state;
    setenv("PRESSROOM_KAFKA_SSL_KEY_PASSWORDX", "hunter2secret", 1);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    assert_int_equal(kafka_conf_from_env(conf, err, sizeof err), -1);
    unsetenv("PRESSROOM_KAFKA_SSL_KEY_PASSWORDX");
    assert_non_null(strstr(err, "ssl.key.passwordx=[redacted]"));
    assert_null(strstr(err, "hunter2secret"));
    /* Read from the environment, it is registered: no log line can carry it either. */
    redacts_to("sasl: hunter2secret", "sasl: [redacted]");

    /* A value librdkafka refuses and quotes: its message is withheld as well. */
    setenv("PRESSROOM_KAFKA_SASL_OAUTHBEARER_METHOD", "not-a-method-s3cr3t", 1);
    assert_int_equal(kafka_conf_from_env(conf, err, sizeof err), -1);
    unsetenv("PRESSROOM_KAFKA_SASL_OAUTHBEARER_METHOD");
    assert_null(strstr(err, "not-a-method-s3cr3t"));
    assert_non_null(strstr(err, "sasl.oauthbearer.method=[redacted]"));
    /* A property that is not a credential still shows its value. */
    setenv("PRESSROOM_KAFKA_ACKS", "sometimes", 1);
    assert_int_equal(kafka_conf_from_env(conf, err, sizeof err), -1);
    unsetenv("PRESSROOM_KAFKA_ACKS");
    assert_non_null(strstr(err, "acks=sometimes"));
    rd_kafka_conf_destroy(conf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_raw_secret_is_redacted),
        cmocka_unit_test(test_a_bearer_token_is_redacted),
        cmocka_unit_test(test_basic_auth_base64_is_redacted),
        cmocka_unit_test(test_several_and_overlapping_secrets_become_marks),
        cmocka_unit_test(test_a_truncated_copy_never_ends_in_part_of_a_secret),
        cmocka_unit_test(test_marks_never_overflow_the_buffer),
        cmocka_unit_test(test_short_secrets_are_refused),
        cmocka_unit_test(test_every_log_line_at_every_level_is_redacted),
        cmocka_unit_test(test_a_mistyped_kafka_secret_is_never_printed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
