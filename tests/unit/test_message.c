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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_job_gets_defaults_and_quoted_text),
        cmocka_unit_test(test_double_quoted_lines_win_and_explicit_text_overrides),
        cmocka_unit_test(test_invalid_jobs_are_rejected_with_the_field_named),
        cmocka_unit_test(test_truncated_payload_is_not_read_past_its_length),
        cmocka_unit_test(test_task_round_trips_with_charges),
        cmocka_unit_test(test_task_with_a_bad_nested_job_names_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
