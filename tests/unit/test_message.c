/* The message codecs: every payload parsed in one place, validated, round-tripped.
 * The prompt grammar (quoted lines, the prompt sent to a model) is in test_prompt.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/message.h"

static int parse(const char *s, job_t *job, char *err) {
    return job_parse(s, strlen(s), job, err, 512);
}

static void test_minimal_job_gets_defaults_and_quoted_text(void **state) {
    (void)state;
    job_t j;
    char err[512];
    assert_int_equal(parse("{\"job_id\":\"t-1\",\"asset_class\":\"thumbnail\","
                           "\"prompt\":\"A clean product shot with overlay text 'SALE'\"}", &j, err), 0);
    assert_int_equal(j.width, 768);
    assert_int_equal(j.height, 512);
    assert_int_equal(j.n_text, 1);
    assert_string_equal(j.text[0], "SALE");
    job_t again;
    assert_int_equal(parse("{\"job_id\":\"t-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"x 'SALE'\"}", &again, err), 0);
    assert_true(j.seed == again.seed); /* seed derived from the job id: deterministic */
}

static void test_double_quoted_lines_win_and_explicit_text_overrides(void **state) {
    (void)state;
    job_t j;
    char err[512];
    assert_int_equal(parse("{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":"
                           "\"Banner with \\\"50% OFF\\\" and \\\"Today only\\\"\"}", &j, err), 0);
    assert_int_equal(j.n_text, 2);
    assert_string_equal(j.text[1], "Today only");
    assert_int_equal(parse("{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"x 'NO'\",\"text\":[]}",
                           &j, err), 0);
    assert_int_equal(j.n_text, 0);
}

static void test_invalid_jobs_are_rejected_with_the_field_named(void **state) {
    (void)state;
    job_t j;
    char err[512];
    struct { const char *json, *needle; } cases[] = {
        {"not json", "not valid JSON"},
        {"[1,2]", "expected a JSON object"},
        {"{\"asset_class\":\"paid\",\"prompt\":\"p\"}", "job_id"},
        {"{\"job_id\":\"../etc\",\"asset_class\":\"paid\",\"prompt\":\"p\"}", "job_id"},
        {"{\"job_id\":\"..\",\"asset_class\":\"paid\",\"prompt\":\"p\"}", "job_id"},
        {"{\"job_id\":\"a\",\"asset_class\":\"Paid Ads\",\"prompt\":\"p\"}", "asset_class"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"\"}", "prompt"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"size\":\"big\"}", "size"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"size\":\"99999x2\"}", "size"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"palette\":[\"red\"]}", "palette"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"text\":\"SALE\"}", "text"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"colour\":1}", "colour"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\"} trailing", "trailing"},
        {"{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"region\":{\"x\":0.5,\"y\":0,\"w\":0.9,\"h\":1}}", "region"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = 0;
        assert_int_equal(parse(cases[i].json, &j, err), -1);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: \"%s\" does not mention %s", i, err, cases[i].needle);
    }
}

static void test_truncated_payload_is_not_read_past_its_length(void **state) {
    (void)state;
    const char *full = "{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\"}";
    job_t j;
    char err[512];
    assert_int_equal(job_parse(full, strlen(full) - 1, &j, err, sizeof err), -1);
}

static void test_task_round_trips_with_charges(void **state) {
    (void)state;
    task_t t;
    memset(&t, 0, sizeof t);
    char err[512];
    assert_int_equal(parse("{\"job_id\":\"e-9\",\"asset_class\":\"editorial\",\"prompt\":\"p\","
                           "\"text\":[\"Breaking\"],\"palette\":[\"#0b3d91\",\"#FFFFFF\"],"
                           "\"region\":{\"x\":0.1,\"y\":0.1,\"w\":0.8,\"h\":0.3}}", &t.job, err), 0);
    t.stage = STAGE_PRODUCTION;
    t.attempt = 2;
    snprintf(t.image_uri, sizeof t.image_uri, "file:///b/e-9/production-2.png");
    snprintf(t.guidance, sizeof t.guidance, "expected \"Breaking\", read \"Breakng\"");
    task_add_charge(&t, STAGE_PREVIEW, 1, "sd3.5_turbo", 20000);
    task_add_charge(&t, STAGE_PRODUCTION, 2, "imagen4_ultra", 60000);
    task_add_charge(&t, STAGE_PRODUCTION, 2, "imagen4_ultra", 60000); /* same render: not added twice */
    t.failed_checks = 1;
    char *json = task_encode(&t);
    task_t back;
    assert_int_equal(task_parse(json, strlen(json), &back, err, sizeof err), 0);
    free(json);
    assert_int_equal(back.n_charges, 2);
    assert_int_equal(task_cost(&back), 80000);
    assert_string_equal(back.guidance, t.guidance);
    assert_int_equal(back.job.n_palette, 2);
    assert_int_equal(back.job.palette[0], 0x0B3D91);
    assert_true(back.job.has_region);
    assert_int_equal(back.failed_checks, 1);
    assert_int_equal(back.job.seed, t.job.seed);
}

static void test_task_with_a_bad_nested_job_names_the_path(void **state) {
    (void)state;
    task_t t;
    char err[512];
    const char *s = "{\"job\":{\"job_id\":\"a\",\"asset_class\":\"paid\"},\"stage\":\"preview\",\"attempt\":1}";
    assert_int_equal(task_parse(s, strlen(s), &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "job.prompt"));
    s = "{\"job\":{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\"},\"stage\":\"final\",\"attempt\":1}";
    assert_int_equal(task_parse(s, strlen(s), &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "stage"));
}

/* ==== Strict JSON at every codec ==== */

/* A valid message of each codec with a string field whose value is FIELD, so a case
 * can put hostile bytes there. */
typedef int (*codec_fn)(const char *buf, size_t len, char *err, size_t errlen);
static int codec_job(const char *b, size_t n, char *e, size_t el) {
    job_t j;
    return job_parse(b, n, &j, e, el);
}
static int codec_task(const char *b, size_t n, char *e, size_t el) {
    task_t t;
    return task_parse(b, n, &t, e, el);
}
static int codec_outcome(const char *b, size_t n, char *e, size_t el) {
    outcome_t o;
    int rc = outcome_parse(b, n, &o, e, el);
    if (rc == 0) outcome_free(&o);
    return rc;
}
static const struct {
    const char *name;
    codec_fn parse;
    const char *before, *after; /* the message around the hostile value */
} CODECS[] = {
    {"job", codec_job, "{\"job_id\":\"j-1\",\"asset_class\":\"paid\",\"prompt\":\"", "\"}"},
    {"task", codec_task,
     "{\"job\":{\"job_id\":\"j-1\",\"asset_class\":\"paid\",\"prompt\":\"p\"},\"stage\":\"preview\","
     "\"attempt\":1,\"model\":\"m\",\"image\":\"file:///b/j-1/preview-1.png\",\"charges\":[],\"guidance\":\"",
     "\"}"},
    {"outcome", codec_outcome,
     "{\"job_id\":\"j-1\",\"asset_class\":\"paid\",\"verdict\":\"rejected\",\"reason\":\"render_failed\","
     "\"stage\":\"preview\",\"attempt\":1,\"model\":\"m\",\"cost_micros\":0,\"charges\":[],\"detail\":\"",
     "\"}"},
};

static int run_codec(size_t c, const char *value, size_t vlen, char *err) {
    char buf[1024];
    size_t a = strlen(CODECS[c].before), b = strlen(CODECS[c].after);
    memcpy(buf, CODECS[c].before, a);
    memcpy(buf + a, value, vlen);
    memcpy(buf + a + vlen, CODECS[c].after, b);
    err[0] = 0;
    return CODECS[c].parse(buf, a + vlen + b, err, 512);
}

static void test_every_codec_accepts_its_clean_message(void **state) {
    (void)state;
    char err[512];
    for (size_t c = 0; c < sizeof CODECS / sizeof *CODECS; c++)
        if (run_codec(c, "plain text \u00e9 \xc3\xa9 \\u2603", strlen("plain text \u00e9 \xc3\xa9 \\u2603"), err))
            fail_msg("%s: a clean message was refused: %s", CODECS[c].name, err);
}

static void test_every_codec_refuses_nul_bad_utf8_and_lone_surrogates(void **state) {
    (void)state;
    static const struct {
        const char *value;
        size_t len;
        const char *needle;
    } cases[] = {
        {"a\\u0000/../x", 12, "NUL"},          /* an escaped NUL: cJSON would cut the string */
        {"a\0b", 3, "NUL"},                     /* a raw NUL byte */
        {"\xc3\x28", 2, "UTF-8"},                /* a truncated sequence */
        {"\xc0\xaf", 2, "UTF-8"},                /* an overlong "/" */
        {"\xed\xa0\x80", 3, "UTF-8"},            /* an encoded surrogate */
        {"\xf4\x90\x80\x80", 4, "UTF-8"},        /* above U+10FFFF */
        {"\x80", 1, "UTF-8"},                    /* a stray continuation byte */
        {"x\\ud800y", 9, "surrogate"},         /* a lone surrogate escape */
    };
    char err[512];
    for (size_t c = 0; c < sizeof CODECS / sizeof *CODECS; c++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            if (run_codec(c, cases[i].value, cases[i].len, err) != -1)
                fail_msg("%s case %zu: accepted", CODECS[c].name, i);
            if (!strstr(err, cases[i].needle)) fail_msg("%s case %zu: \"%s\" does not say %s", CODECS[c].name, i, err, cases[i].needle);
        }
}

static void test_every_codec_refuses_duplicate_keys_naming_the_field(void **state) {
    (void)state;
    char err[512];
    for (size_t c = 0; c < sizeof CODECS / sizeof *CODECS; c++) {
        /* The value closes the string and names a key of the message a second time. */
        const char *key = c == 0 ? "job_id" : "model";
        char dup[128];
        snprintf(dup, sizeof dup, "x\",\"%s\":\"other\",\"z\":\"", key);
        assert_int_equal(run_codec(c, dup, strlen(dup), err), -1);
        if (!strstr(err, key) || !strstr(err, "once"))
            fail_msg("%s: \"%s\" does not name the duplicated key %s", CODECS[c].name, err, key);
    }
    /* Inside a nested object, the path names it. */
    const char *nested = "{\"job\":{\"job_id\":\"a\",\"job_id\":\"b\",\"asset_class\":\"paid\",\"prompt\":\"p\"},"
                         "\"stage\":\"preview\",\"attempt\":1,\"model\":\"m\",\"image\":\"file:///b/a/preview-1.png\"}";
    task_t t;
    assert_int_equal(task_parse(nested, strlen(nested), &t, err, sizeof err), -1);
    if (!strstr(err, "job.job_id")) fail_msg("\"%s\" does not name job.job_id", err);
}

static void test_a_size_with_an_escaped_nul_is_refused(void **state) {
    (void)state;
    job_t j;
    char err[512];
    const char *m = "{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"size\":\"768x512\\u0000junk\"}";
    assert_int_equal(job_parse(m, strlen(m), &j, err, sizeof err), -1);
    assert_non_null(strstr(err, "size"));
    assert_non_null(strstr(err, "NUL"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_job_gets_defaults_and_quoted_text),
        cmocka_unit_test(test_double_quoted_lines_win_and_explicit_text_overrides),
        cmocka_unit_test(test_invalid_jobs_are_rejected_with_the_field_named),
        cmocka_unit_test(test_truncated_payload_is_not_read_past_its_length),
        cmocka_unit_test(test_task_round_trips_with_charges),
        cmocka_unit_test(test_task_with_a_bad_nested_job_names_the_path),
        cmocka_unit_test(test_every_codec_accepts_its_clean_message),
        cmocka_unit_test(test_every_codec_refuses_nul_bad_utf8_and_lone_surrogates),
        cmocka_unit_test(test_every_codec_refuses_duplicate_keys_naming_the_field),
        cmocka_unit_test(test_a_size_with_an_escaped_nul_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
