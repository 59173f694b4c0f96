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

/* A job's identity is (job_id, revision): the same job again is the same revision
 * (whatever its submission time, and through a task's round trip); any rendering field
 * changed is another; an explicit revision is taken as it is, and checked. */
static void test_revision_is_the_digest_of_what_decides_the_image(void **state) {
    (void)state;
    char err[512];
    job_t a, b, c, d;
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"a \\\"SALE\\\" sign\"}", &a, err), 0);
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"a \\\"SALE\\\" sign\","
                           "\"submitted_at_ms\":1700000000000}", &b, err), 0);
    assert_int_equal(strlen(a.revision), 17);
    assert_int_equal(a.revision[0], 'r');
    assert_string_equal(a.revision, b.revision);
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"a \\\"SALE!\\\" sign\"}", &c, err), 0);
    assert_string_not_equal(a.revision, c.revision);
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"a \\\"SALE\\\" sign\","
                           "\"size\":\"512x512\"}", &c, err), 0);
    assert_string_not_equal(a.revision, c.revision);
    /* Another id with the same content: the revision is the content's, the key differs. */
    char json[256];
    snprintf(json, sizeof json, "{\"job_id\":\"r-2\",\"asset_class\":\"thumbnail\",\"prompt\":\"a \\\"SALE\\\" sign\","
             "\"seed\":%llu}", (unsigned long long)a.seed);
    assert_int_equal(parse(json, &d, err), 0);
    assert_string_equal(a.revision, d.revision);
    char ka[JOB_KEY_LEN], kd[JOB_KEY_LEN];
    assert_string_not_equal(job_key(&a, ka, sizeof ka), job_key(&d, kd, sizeof kd));
    /* Through a task: the same revision comes back. */
    task_t t;
    memset(&t, 0, sizeof t);
    t.job = a;
    t.attempt = 1;
    char *enc = task_encode(&t);
    task_t back;
    assert_int_equal(task_parse(enc, strlen(enc), &back, err, sizeof err), 0);
    free(enc);
    assert_string_equal(back.job.revision, a.revision);
    /* Explicit: taken as is; a bad one names the field. */
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"revision\":\"v2\",\"asset_class\":\"thumbnail\",\"prompt\":\"p\"}", &c, err), 0);
    assert_string_equal(c.revision, "v2");
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"revision\":\"../x\",\"asset_class\":\"thumbnail\",\"prompt\":\"p\"}", &c, err), -1);
    assert_non_null(strstr(err, "revision"));
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"revision\":\"\",\"asset_class\":\"thumbnail\",\"prompt\":\"p\"}", &c, err), -1);
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"revision\":7,\"asset_class\":\"thumbnail\",\"prompt\":\"p\"}", &c, err), -1);
}

static void test_task_render_round_trips_and_is_checked(void **state) {
    (void)state;
    task_t t, back;
    memset(&t, 0, sizeof t);
    char err[512];
    assert_int_equal(parse("{\"job_id\":\"r-1\",\"asset_class\":\"paid\",\"prompt\":\"p\"}", &t.job, err), 0);
    t.attempt = 1;
    t.render = (task_render_t){.known = true, .width = 1536, .height = 1024, .seed_sent = false};
    snprintf(t.render.note, sizeof t.render.note, "openai takes no seed");
    char *json = task_encode(&t);
    assert_non_null(strstr(json, "\"render\":{\"width\":1536,\"height\":1024,\"seed_sent\":false,\"note\":\"openai takes no seed\"}"));
    assert_int_equal(task_parse(json, strlen(json), &back, err, sizeof err), 0);
    free(json);
    assert_true(back.render.known);
    assert_int_equal(back.render.width, 1536);
    assert_string_equal(back.render.note, "openai takes no seed");
    const char *s = "{\"job\":{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\"},\"stage\":\"preview\",\"attempt\":1,"
                    "\"render\":{\"width\":768,\"height\":512,\"aspect_ratio\":\"3:2\"}}";
    assert_int_equal(task_parse(s, strlen(s), &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "render: expected either width and height or aspect_ratio, found both"));
    s = "{\"job\":{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\"},\"stage\":\"preview\",\"attempt\":1,"
        "\"render\":{\"aspect_ratio\":\"wide\"}}";
    assert_int_equal(task_parse(s, strlen(s), &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "render.aspect_ratio: expected \"W:H\""));
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

/* ==== Strict JSON at the boundary: every codec refuses it, naming the field ==== */

static int parse_job(const char *buf, size_t len, char *err, size_t errlen) {
    job_t j;
    return job_parse(buf, len, &j, err, errlen);
}

static int parse_task(const char *buf, size_t len, char *err, size_t errlen) {
    task_t t;
    return task_parse(buf, len, &t, err, errlen);
}

static int parse_outcome(const char *buf, size_t len, char *err, size_t errlen) {
    outcome_t o;
    int rc = outcome_parse(buf, len, &o, err, errlen);
    if (rc == 0) outcome_free(&o);
    return rc;
}

/* A codec and a valid document of it, split around one string value: head "VALUE" tail. */
typedef struct {
    const char *name;
    int (*parse)(const char *buf, size_t len, char *err, size_t errlen);
    const char *head, *tail;
    const char *field;     /* the path of that string in an error: "<codec>: <field>: " */
    const char *size_head; /* the same around the job's size */
    const char *size_field;
} codec_t;

#define JOB_HEAD "{\"job_id\":\"j-1\",\"asset_class\":\"paid\",\"prompt\":"
#define TASK_HEAD "{\"job\":{\"job_id\":\"j-1\",\"asset_class\":\"paid\",\"prompt\":"
#define TASK_TAIL "},\"stage\":\"preview\",\"attempt\":1,\"charges\":[{\"stage\":\"preview\",\"attempt\":1,\"usd_micros\":5}]}"
#define OUTCOME_HEAD "{\"job_id\":\"j-1\",\"verdict\":\"rejected\",\"stage\":\"production\",\"detail\":"

static const codec_t CODECS[] = {
    {"job", parse_job, JOB_HEAD, "}", "job: prompt: ", JOB_HEAD "\"p\",\"size\":", "job: size: "},
    {"task", parse_task, TASK_HEAD, TASK_TAIL, "task: job.prompt: ", TASK_HEAD "\"p\",\"size\":", "task: job.size: "},
    {"outcome", parse_outcome, OUTCOME_HEAD, ",\"cost_micros\":0}", "outcome: detail: ", NULL, NULL},
};
#define N_CODECS (sizeof CODECS / sizeof *CODECS)

/* head + "value[0..n)" + tail, parsed with the codec. Returns its rc; err filled. */
static int parse_with(const codec_t *c, const char *head, const char *value, size_t n, const char *tail, char *err) {
    char buf[1024];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s\"", head);
    memcpy(buf + len, value, n);
    len += n;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "\"%s", tail);
    err[0] = '\0';
    return c->parse(buf, len, err, 512);
}

/* Every codec refuses value in its string field, naming the codec, the field and found. */
static void expect_refused_value(const char *value, size_t n, const char *expected, const char *found) {
    for (size_t i = 0; i < N_CODECS; i++) {
        const codec_t *c = &CODECS[i];
        char err[512];
        if (parse_with(c, c->head, value, n, c->tail, err) != -1)
            fail_msg("%s accepted a string with %s", c->name, found);
        if (strncmp(err, c->field, strlen(c->field)) || !strstr(err, expected) || !strstr(err, found))
            fail_msg("%s: \"%s\" does not start with \"%s\" or lacks \"%s\" / \"%s\"", c->name, err, c->field,
                     expected, found);
    }
}

static void test_every_codec_accepts_the_documents_the_strict_cases_start_from(void **state) {
    (void)state;
    for (size_t i = 0; i < N_CODECS; i++) {
        const codec_t *c = &CODECS[i];
        char err[512];
        /* UTF-8 text and a surrogate pair are fine. */
        const char *ok = "caf\xC3\xA9 \\uD83D\\uDE00 \xF0\x9F\x98\x80 \\u00e9 \xE2\x80\x9CSALE\xE2\x80\x9D";
        if (parse_with(c, c->head, ok, strlen(ok), c->tail, err)) fail_msg("%s: %s", c->name, err);
    }
    job_t j;
    char err[512];
    const char *s = JOB_HEAD "\"caf\\u00e9 \\uD83D\\uDE00\"}";
    assert_int_equal(job_parse(s, strlen(s), &j, err, sizeof err), 0);
    assert_string_equal(j.prompt, "caf\xC3\xA9 \xF0\x9F\x98\x80"); /* decoded, not cut */
}

static void test_a_nul_escaped_or_raw_is_refused_by_every_codec(void **state) {
    (void)state;
    expect_refused_value("a\\u0000/../x", 12, "expected text without NUL characters", "found the escape \\u0000");
    expect_refused_value("a\0/../x", 7, "expected text without NUL characters", "found a raw NUL byte");
}

static void test_a_size_with_a_nul_is_refused(void **state) {
    (void)state;
    for (size_t i = 0; i < N_CODECS; i++) {
        const codec_t *c = &CODECS[i];
        if (!c->size_head) continue;
        char err[512];
        const char *v = "768x512\\u0000junk";
        assert_int_equal(parse_with(c, c->size_head, v, strlen(v), c->tail, err), -1);
        if (strncmp(err, c->size_field, strlen(c->size_field)) || !strstr(err, "\\u0000"))
            fail_msg("%s: %s", c->name, err);
        assert_int_equal(parse_with(c, c->size_head, "768x512\0junk", 12, c->tail, err), -1);
        if (strncmp(err, c->size_field, strlen(c->size_field)) || !strstr(err, "raw NUL")) fail_msg("%s: %s", c->name, err);
    }
}

static void test_invalid_utf8_is_refused_by_every_codec(void **state) {
    (void)state;
    expect_refused_value("\xC0\xAF", 2, "expected UTF-8", "an overlong encoding (\\xC0\\xAF)");
    expect_refused_value("\xE0\x80\xAF", 3, "expected UTF-8", "an overlong encoding");
    expect_refused_value("\xED\xA0\x80", 3, "expected UTF-8", "an encoded UTF-16 surrogate (\\xED\\xA0\\x80)");
    expect_refused_value("\xF4\x90\x80\x80", 4, "expected UTF-8", "a code point above U+10FFFF");
    expect_refused_value("\xF5\x80\x80\x80", 4, "expected UTF-8", "a code point above U+10FFFF");
    expect_refused_value("\xE2\x82", 2, "expected UTF-8", "a truncated sequence (\\xE2\\x82)");
    expect_refused_value("\x80", 1, "expected UTF-8", "a stray continuation byte");
    expect_refused_value("\xFF", 1, "expected UTF-8", "a byte that never occurs in UTF-8");
}

static void test_invalid_utf8_outside_strings_and_at_the_end_is_refused(void **state) {
    (void)state;
    for (size_t i = 0; i < N_CODECS; i++) {
        const codec_t *c = &CODECS[i];
        char buf[512], err[512];
        /* A document cut inside a sequence: the last bytes are a truncated one. */
        size_t len = (size_t)snprintf(buf, sizeof buf, "%s\"x\xE2\x82", c->head);
        assert_int_equal(c->parse(buf, len, err, sizeof err), -1);
        if (!strstr(err, "a truncated sequence")) fail_msg("%s: %s", c->name, err);
        /* A bad byte between tokens. */
        len = (size_t)snprintf(buf, sizeof buf, "%s\"x\"%s \xC1\x81", c->head, c->tail);
        assert_int_equal(c->parse(buf, len, err, sizeof err), -1);
        if (!strstr(err, "(top level): expected UTF-8, found an overlong encoding")) fail_msg("%s: %s", c->name, err);
    }
}

static void test_a_lone_surrogate_escape_is_refused_by_every_codec(void **state) {
    (void)state;
    const char *expected = "expected a UTF-16 surrogate pair";
    expect_refused_value("\\uD800", 6, expected, "found the lone surrogate \\uD800");
    expect_refused_value("x\\uDBFFy", 8, expected, "found the lone surrogate \\uDBFF");
    expect_refused_value("\\uD800\\u0041", 12, expected, "found the lone surrogate \\uD800");
    expect_refused_value("\\uDC00", 6, expected, "found the lone surrogate \\uDC00");
}

static void test_a_raw_control_character_in_a_string_is_refused(void **state) {
    (void)state;
    expect_refused_value("a\tb", 3, "expected control characters escaped", "found the raw byte \\x09");
}

static void test_a_key_twice_is_refused_by_every_codec_naming_it(void **state) {
    (void)state;
    struct { int (*parse)(const char *, size_t, char *, size_t); const char *json, *needle; } cases[] = {
        {parse_job, JOB_HEAD "\"p\",\"job_id\":\"j-2\"}", "job: job_id: expected each key once in its object, found \"job_id\" a second time"},
        {parse_job, JOB_HEAD "\"p\",\"region\":{\"x\":0,\"y\":0,\"w\":0.5,\"h\":0.5,\"w\":1}}", "job: region.w: expected each key once"},
        {parse_task, TASK_HEAD "\"p\",\"prompt\":\"q\"" TASK_TAIL, "task: job.prompt: expected each key once"},
        {parse_task, TASK_HEAD "\"p\"},\"stage\":\"preview\",\"stage\":\"production\",\"attempt\":1}", "task: stage: expected each key once"},
        {parse_task, TASK_HEAD "\"p\"},\"stage\":\"preview\",\"attempt\":1,\"charges\":[{\"stage\":\"preview\",\"attempt\":1,\"usd_micros\":5},"
                     "{\"stage\":\"production\",\"attempt\":2,\"usd_micros\":5,\"usd_micros\":0}]}", "task: charges[1].usd_micros: expected each key once"},
        {parse_outcome, "{\"job_id\":\"j-1\",\"verdict\":\"rejected\",\"verdict\":\"accepted\"}", "outcome: verdict: expected each key once"},
        {parse_outcome, "{\"job_id\":\"j-1\",\"verdict\":\"accepted\",\"report\":{\"checks\":[{\"pass\":true,\"pass\":false}]}}",
         "outcome: report.checks[0].pass: expected each key once"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512] = "";
        assert_int_equal(cases[i].parse(cases[i].json, strlen(cases[i].json), err, sizeof err), -1);
        if (strncmp(err, cases[i].needle, strlen(cases[i].needle))) fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].needle);
    }
}

static void test_trailing_bytes_are_refused_by_every_codec(void **state) {
    (void)state;
    for (size_t i = 0; i < N_CODECS; i++) {
        const codec_t *c = &CODECS[i];
        char buf[512], err[512];
        size_t len = (size_t)snprintf(buf, sizeof buf, "%s\"x\"%s {}", c->head, c->tail);
        assert_int_equal(c->parse(buf, len, err, sizeof err), -1);
        if (!strstr(err, ": (top level): expected one JSON value and nothing after it, found trailing bytes \"{}\""))
            fail_msg("%s: %s", c->name, err);
        /* A NUL after the object is not an end: it is refused too. */
        len = (size_t)snprintf(buf, sizeof buf, "%s\"x\"%s", c->head, c->tail);
        memcpy(buf + len, "\0{}", 3);
        assert_int_equal(c->parse(buf, len + 3, err, sizeof err), -1);
        if (!strstr(err, "(top level): expected text without NUL characters, found a raw NUL byte")) fail_msg("%s: %s", c->name, err);
        /* Whitespace after it is fine. */
        len = (size_t)snprintf(buf, sizeof buf, "%s\"x\"%s \n\t\r\n", c->head, c->tail);
        if (c->parse(buf, len, err, sizeof err)) fail_msg("%s: %s", c->name, err);
    }
}

/* ==== Stage and verdict: enums in the structs, strings on the wire ==== */

static void test_stage_and_verdict_round_trip_as_enums(void **state) {
    (void)state;
    assert_string_equal(stage_name(STAGE_PREVIEW), "preview");
    assert_string_equal(stage_name(STAGE_PRODUCTION), "production");
    assert_string_equal(job_verdict_name(VERDICT_ACCEPTED), "accepted");
    assert_string_equal(job_verdict_name(VERDICT_DEGRADED), "degraded");
    assert_string_equal(job_verdict_name(VERDICT_REJECTED), "rejected");
    outcome_t o;
    memset(&o, 0, sizeof o);
    snprintf(o.job_id, sizeof o.job_id, "o-1");
    o.verdict = VERDICT_DEGRADED;
    o.stage = STAGE_PRODUCTION;
    o.n_charges = 1;
    o.charges[0] = (charge_t){.stage = STAGE_PRODUCTION, .attempt = 2, .model = "m", .micros = 7};
    char *json = outcome_encode(&o);
    assert_non_null(strstr(json, "\"verdict\":\"degraded\""));
    assert_non_null(strstr(json, "\"stage\":\"production\""));
    outcome_t back;
    char err[512];
    assert_int_equal(outcome_parse(json, strlen(json), &back, err, sizeof err), 0);
    free(json);
    assert_int_equal(back.verdict, VERDICT_DEGRADED);
    assert_int_equal(back.stage, STAGE_PRODUCTION);
    assert_int_equal(back.charges[0].stage, STAGE_PRODUCTION);
    outcome_free(&back);
    const char *bad = "{\"job_id\":\"o-1\",\"verdict\":\"accepted\",\"stage\":\"draft\"}";
    assert_int_equal(outcome_parse(bad, strlen(bad), &back, err, sizeof err), -1);
    assert_string_equal(err, "outcome: stage: expected \"preview\" or \"production\", found \"draft\"");
    bad = "{\"job_id\":\"o-1\",\"verdict\":\"dlq\"}";
    assert_int_equal(outcome_parse(bad, strlen(bad), &back, err, sizeof err), -1);
    assert_string_equal(err, "outcome: verdict: expected \"accepted\", \"degraded\" or \"rejected\", found \"dlq\"");
}


/* ==== metadata: opaque, bounded, passed through ==== */

static void test_metadata_passes_through_job_task_and_outcome_unchanged(void **state) {
    (void)state;
    job_t j;
    char err[512];
    const char *s = "{\"job_id\":\"m-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"x 'SALE'\","
                    "\"metadata\":{\"post_id\":\"p-9\",\"tags\":[\"a\",1,true,null],\"n\":{\"z\":1,\"a\":\"\\u00e9<\"}}}";
    assert_int_equal(parse(s, &j, err), 0);
    assert_string_equal(j.metadata, "{\"post_id\":\"p-9\",\"tags\":[\"a\",1,true,null],\"n\":{\"z\":1,\"a\":\"\xc3\xa9<\"}}");
    task_t t;
    memset(&t, 0, sizeof t);
    t.job = j;
    t.attempt = 1;
    char *enc = task_encode(&t);
    task_t back;
    assert_int_equal(task_parse(enc, strlen(enc), &back, err, sizeof err), 0);
    free(enc);
    assert_string_equal(back.job.metadata, j.metadata);
    outcome_t o;
    memset(&o, 0, sizeof o);
    snprintf(o.job_id, sizeof o.job_id, "m-1");
    snprintf(o.prompt, sizeof o.prompt, "%s", j.prompt);
    snprintf(o.template_name, sizeof o.template_name, "weekly-deals");
    snprintf(o.metadata, sizeof o.metadata, "%s", back.job.metadata);
    enc = outcome_encode(&o);
    outcome_t ob;
    assert_int_equal(outcome_parse(enc, strlen(enc), &ob, err, sizeof err), 0);
    free(enc);
    assert_string_equal(ob.metadata, j.metadata);
    assert_string_equal(ob.prompt, "x 'SALE'");
    assert_string_equal(ob.template_name, "weekly-deals");
    outcome_free(&ob);
}

static void test_metadata_is_not_part_of_the_revision(void **state) {
    (void)state;
    job_t a, b, c;
    char err[512];
    assert_int_equal(parse("{\"job_id\":\"m-2\",\"asset_class\":\"thumbnail\",\"prompt\":\"x 'SALE'\"}", &a, err), 0);
    assert_int_equal(parse("{\"job_id\":\"m-2\",\"asset_class\":\"thumbnail\",\"prompt\":\"x 'SALE'\","
                           "\"metadata\":{\"post\":1}}", &b, err), 0);
    assert_int_equal(parse("{\"job_id\":\"m-2\",\"asset_class\":\"thumbnail\",\"prompt\":\"x 'SALE!'\","
                           "\"metadata\":{\"post\":1}}", &c, err), 0);
    assert_string_equal(a.revision, b.revision); /* metadata decides nothing about the image */
    assert_string_not_equal(b.revision, c.revision);
}

static void test_metadata_must_be_a_bounded_object(void **state) {
    (void)state;
    job_t j;
    char err[512];
    assert_int_equal(parse(JOB_HEAD "\"p\",\"metadata\":[1,2]}", &j, err), -1);
    assert_string_equal(err, "job: metadata: expected an object (opaque to pressroom), found [1,2]");
    assert_int_equal(parse(JOB_HEAD "\"p\",\"metadata\":\"post-9\"}", &j, err), -1);
    assert_non_null(strstr(err, "job: metadata: expected an object"));
    assert_int_equal(parse(JOB_HEAD "\"p\",\"metadata\":{\"a\":1,\"a\":2}}", &j, err), -1);
    assert_non_null(strstr(err, "job: metadata.a: expected each key once"));
    /* {"blob":"x...x"} is n + 11 bytes compact: 4096 is kept whole, 4097 refused. */
    for (size_t n = 4085; n <= 4086; n++) {
        char *big = malloc(n + 200);
        int k = snprintf(big, n + 200, JOB_HEAD "\"p\",\"metadata\":{\"blob\":\"");
        memset(big + k, 'x', n);
        snprintf(big + k + n, 200, "\"}}");
        if (n == 4085) {
            assert_int_equal(parse(big, &j, err), 0);
            assert_int_equal(strlen(j.metadata), 4096);
        } else {
            assert_int_equal(parse(big, &j, err), -1);
            assert_string_equal(err, "job: metadata: expected an object of at most 4096 bytes as compact JSON, found 4097 bytes");
        }
        free(big);
    }
    const char *o = "{\"job_id\":\"o\",\"verdict\":\"accepted\",\"metadata\":7}";
    outcome_t out;
    assert_int_equal(outcome_parse(o, strlen(o), &out, err, sizeof err), -1);
    assert_string_equal(err, "outcome: metadata: expected an object (opaque to pressroom), found 7");
}

static void test_errors_name_codec_field_expected_and_found(void **state) {
    (void)state;
    job_t j;
    char err[512];
    const char *s = JOB_HEAD "\"p\",\"size\":\"huge\"}";
    assert_int_equal(job_parse(s, strlen(s), &j, err, sizeof err), -1);
    assert_string_equal(err, "job: size: expected \"WIDTHxHEIGHT\" in pixels, 16 to 8192, e.g. \"768x512\", found \"huge\"");
    s = "{\"asset_class\":\"paid\",\"prompt\":\"p\"}";
    assert_int_equal(job_parse(s, strlen(s), &j, err, sizeof err), -1);
    assert_string_equal(err, "job: job_id: expected a non-empty string (required), found nothing");
    task_t t;
    s = TASK_HEAD "\"p\"},\"stage\":\"preview\",\"attempt\":1,\"charges\":[{\"stage\":\"preview\",\"attempt\":0,\"usd_micros\":5}]}";
    assert_int_equal(task_parse(s, strlen(s), &t, err, sizeof err), -1);
    assert_string_equal(err, "task: charges[0].attempt: expected an integer from 1 to 100, found 0");
    s = "{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"p\",\"text\":[\"ok\",7]}";
    assert_int_equal(job_parse(s, strlen(s), &j, err, sizeof err), -1);
    assert_string_equal(err, "job: text[1]: expected a non-empty string, found 7");
}

static void test_moderation_decision_round_trips_and_bad_ones_are_refused(void **state) {
    (void)state;
    const char *in = "{\"job_id\":\"j-1\",\"revision\":\"r1\",\"decision\":\"rejected\",\"reason\":\"logo cropped\","
                     "\"decided_at_ms\":1764662400000,\"asset_class\":\"paid\",\"model\":\"m\",\"verdict\":\"degraded\"}";
    moderation_t m;
    char err[512];
    assert_int_equal(moderation_parse(in, strlen(in), &m, err, sizeof err), 0);
    assert_int_equal(m.decision, MODERATION_REJECTED);
    assert_true(m.has_verdict);
    assert_int_equal(m.verdict, VERDICT_DEGRADED);
    assert_string_equal(m.reviewer, "");
    char *out = moderation_encode(&m);
    moderation_t back;
    assert_int_equal(moderation_parse(out, strlen(out), &back, err, sizeof err), 0);
    assert_string_equal(back.job_id, "j-1");
    assert_string_equal(back.revision, "r1");
    assert_string_equal(back.reason, "logo cropped");
    assert_true(back.decided_at_ms == INT64_C(1764662400000));
    assert_null(strstr(out, "reviewer")); /* optional fields stay out when empty */
    free(out);
    static const char *const bad[][2] = {
        {"{\"job_id\":\"j\",\"revision\":\"r\",\"decision\":\"maybe\",\"reason\":\"x\",\"decided_at_ms\":1}", "decision"},
        {"{\"job_id\":\"j\",\"decision\":\"approved\",\"reason\":\"x\",\"decided_at_ms\":1}", "revision"},
        {"{\"job_id\":\"j\",\"revision\":\"r\",\"decision\":\"approved\",\"reason\":\"\",\"decided_at_ms\":1}", "reason"},
        {"{\"job_id\":\"a/b\",\"revision\":\"r\",\"decision\":\"approved\",\"reason\":\"x\",\"decided_at_ms\":1}", "job_id"},
        {"{\"job_id\":\"j\",\"revision\":\"r\",\"decision\":\"approved\",\"reason\":\"x\",\"decided_at_ms\":-1}", "decided_at_ms"},
        {"{\"job_id\":\"j\",\"revision\":\"r\",\"decision\":\"approved\",\"reason\":\"x\",\"decided_at_ms\":1,\"score\":2}", "score"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(moderation_parse(bad[i][0], strlen(bad[i][0]), &m, err, sizeof err), -1);
        assert_non_null(strstr(err, "moderation"));
        assert_non_null(strstr(err, bad[i][1]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_job_gets_defaults_and_quoted_text),
        cmocka_unit_test(test_double_quoted_lines_win_and_explicit_text_overrides),
        cmocka_unit_test(test_invalid_jobs_are_rejected_with_the_field_named),
        cmocka_unit_test(test_truncated_payload_is_not_read_past_its_length),
        cmocka_unit_test(test_task_round_trips_with_charges),
        cmocka_unit_test(test_revision_is_the_digest_of_what_decides_the_image),
        cmocka_unit_test(test_task_render_round_trips_and_is_checked),
        cmocka_unit_test(test_task_with_a_bad_nested_job_names_the_path),
        cmocka_unit_test(test_every_codec_accepts_the_documents_the_strict_cases_start_from),
        cmocka_unit_test(test_a_nul_escaped_or_raw_is_refused_by_every_codec),
        cmocka_unit_test(test_a_size_with_a_nul_is_refused),
        cmocka_unit_test(test_invalid_utf8_is_refused_by_every_codec),
        cmocka_unit_test(test_invalid_utf8_outside_strings_and_at_the_end_is_refused),
        cmocka_unit_test(test_a_lone_surrogate_escape_is_refused_by_every_codec),
        cmocka_unit_test(test_a_raw_control_character_in_a_string_is_refused),
        cmocka_unit_test(test_a_key_twice_is_refused_by_every_codec_naming_it),
        cmocka_unit_test(test_trailing_bytes_are_refused_by_every_codec),
        cmocka_unit_test(test_stage_and_verdict_round_trip_as_enums),
        cmocka_unit_test(test_errors_name_codec_field_expected_and_found),
        cmocka_unit_test(test_metadata_passes_through_job_task_and_outcome_unchanged),
        cmocka_unit_test(test_metadata_is_not_part_of_the_revision),
        cmocka_unit_test(test_metadata_must_be_a_bounded_object),
        cmocka_unit_test(test_moderation_decision_round_trips_and_bad_ones_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
