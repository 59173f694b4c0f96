/* The prompt grammar (base/prompt.h): the quoted lines, palette and text area that
 * the workers expect and the reference renderer draws, and the prompt sent to a model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/message.h"
#include "base/prompt.h"

#define END NULL

/* prompt_lines on p gives exactly the lines that follow (NULL-terminated), rc 0. */
static void expect_lines(const char *p, ...) {
    prompt_lines_t l;
    char err[256] = "";
    if (prompt_lines(p, &l, err, sizeof err) != 0) fail_msg("%s: unexpected error %s", p, err);
    va_list ap;
    va_start(ap, p);
    int i = 0;
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= l.n_lines) fail_msg("%s: line %d missing (want \"%s\")", p, i, want);
        if (strcmp(l.lines[i], want)) fail_msg("%s: line %d is \"%s\", want \"%s\"", p, i, l.lines[i], want);
    }
    va_end(ap);
    if (l.n_lines != i) fail_msg("%s: %d lines, want %d", p, l.n_lines, i);
}

static void test_straight_double_quotes(void **state) {
    (void)state;
    expect_lines("Banner with \"50% OFF\" and \"Today only\"", "50% OFF", "Today only", END);
    expect_lines("a \"quote with 'single' inside\" here", "quote with 'single' inside", END);
    expect_lines("no quotes at all", END);
}

static void test_straight_single_quotes_and_apostrophes(void **state) {
    (void)state;
    expect_lines("A clean product shot with overlay text 'SALE'", "SALE", END);
    expect_lines("The chef's table with the title 'Chef's Table' on top", "Chef's Table", END);
    expect_lines("shoes for kids' feet, 'Only $9.99'", "Only $9.99", END);
    expect_lines("it's what's inside", END);
    expect_lines("'A','B' and ('C')", "A", "B", "C", END);
}

static void test_curly_double_quotes(void **state) {
    (void)state;
    expect_lines("Poster with \xe2\x80\x9cSALE\xe2\x80\x9d in red", "SALE", END);      /* “SALE” */
    expect_lines("\xe2\x80\x9c" "A" "\xe2\x80\x9c and \xe2\x80\x9c" "B" "\xe2\x80\x9d", "A", "B", END); /* “A“ “B” */
    expect_lines("\"mixed\xe2\x80\x9d and \xe2\x80\x9cmixed\"", "mixed", "mixed", END); /* "mixed” “mixed" */
    /* A lone right quote opens nothing: the single quotes stand. */
    expect_lines("a 12\xe2\x80\x9d screen with 'SALE'", "SALE", END);
}

static void test_curly_single_quotes(void **state) {
    (void)state;
    expect_lines("Poster with \xe2\x80\x98NEW\xe2\x80\x99 on top", "NEW", END);          /* ‘NEW’ */
    expect_lines("the chef\xe2\x80\x99s table, title \xe2\x80\x98" "Chef\xe2\x80\x99s Table\xe2\x80\x99",
                 "Chef\xe2\x80\x99s Table", END);                                       /* chef’s ‘Chef’s Table’ */
    expect_lines("kids\xe2\x80\x99 shoes", END);
}

static void test_mixed_quotes(void **state) {
    (void)state;
    /* Double quotes of either kind win over single ones of either kind. */
    expect_lines("\"A\" and 'B' and \xe2\x80\x98" "C\xe2\x80\x99", "A", END);
    expect_lines("\xe2\x80\x9c" "A\xe2\x80\x9d and 'B'", "A", END);
    expect_lines("\xe2\x80\x9c" "A\xe2\x80\x9d and \"B\"", "A", "B", END);
    /* Without them, straight and curly single quotes both count. */
    expect_lines("'A' and \xe2\x80\x98" "B\xe2\x80\x99 and 'C\xe2\x80\x99", "A", "B", "C", END);
}

static void test_unterminated_quotes(void **state) {
    (void)state;
    prompt_lines_t l;
    char err[256] = "";
    assert_int_equal(prompt_lines("\"A\" on a 5\" screen", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "closing double quote"));
    assert_int_equal(l.n_lines, 1); /* the lines before the error are kept */
    assert_string_equal(l.lines[0], "A");
    assert_int_equal(prompt_lines("\xe2\x80\x9cSALE", &l, NULL, 0), -1); /* err may be NULL */
    /* An open single quote is a leading apostrophe: no error, the lines before stand. */
    expect_lines("rock 'n roll", END);
    expect_lines("'A' and 'tis all", "A", END);
}

static void test_empty_quotes_draw_nothing(void **state) {
    (void)state;
    expect_lines("\"\" and \"A\"", "A", END);
    expect_lines("'' and 'B'", "B", END);
    expect_lines("\xe2\x80\x9c\xe2\x80\x9d", END);
    expect_lines("\xe2\x80\x98\xe2\x80\x99 'C'", "C", END);
}

static void test_too_many_or_too_long_lines(void **state) {
    (void)state;
    prompt_lines_t l;
    char err[256] = "";
    assert_int_equal(prompt_lines("\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\"", &l, err, sizeof err), 0);
    assert_int_equal(l.n_lines, 8);
    assert_int_equal(prompt_lines("\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\"", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 8"));
    assert_int_equal(l.n_lines, 8);
    assert_string_equal(l.lines[7], "h");
    char p[600];
    snprintf(p, sizeof p, "\"%0255d\"", 0); /* 255 bytes: fits */
    assert_int_equal(prompt_lines(p, &l, err, sizeof err), 0);
    assert_int_equal(strlen(l.lines[0]), 255);
    snprintf(p, sizeof p, "'A' '%0256d'", 0); /* 256 bytes: too long */
    assert_int_equal(prompt_lines(p, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 255"));
    assert_int_equal(l.n_lines, 1);
}

/* The lines a job must carry (job_default_text, what the verifier checks) are the
 * lines the grammar reads (prompt_lines, what the renderer draws), errors included. */
static void test_job_default_text_is_the_grammar(void **state) {
    (void)state;
    const char *prompts[] = {
        "Banner with \"50% OFF\" and \"Today only\"",
        "The chef's table with the title 'Chef's Table' on top",
        "Poster with \xe2\x80\x9cSALE\xe2\x80\x9d",
        "Poster with \xe2\x80\x98NEW\xe2\x80\x99 and 'HOT', for kids\xe2\x80\x99 rooms",
        "\"A\" and 'B'",
        "\"A\" on a 5\" screen",
        "\"\" and \"A\"",
        "rock 'n roll",
        "\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\"",
        "no text, palette #112233",
    };
    for (size_t i = 0; i < sizeof prompts / sizeof *prompts; i++) {
        job_t j;
        memset(&j, 0, sizeof j);
        snprintf(j.prompt, sizeof j.prompt, "%s", prompts[i]);
        job_default_text(&j);
        prompt_lines_t l;
        prompt_lines(prompts[i], &l, NULL, 0);
        assert_int_equal(j.n_text, l.n_lines);
        for (int k = 0; k < l.n_lines; k++) assert_string_equal(j.text[k], l.lines[k]);
    }
    /* And through job_parse, for a job with no text[]. */
    job_t j;
    char err[512];
    const char *json = "{\"job_id\":\"c-1\",\"asset_class\":\"paid\",\"prompt\":\"Poster \xe2\x80\x9cSALE\xe2\x80\x9d\"}";
    assert_int_equal(job_parse(json, strlen(json), &j, err, sizeof err), 0);
    assert_int_equal(j.n_text, 1);
    assert_string_equal(j.text[0], "SALE");
}

static void test_apostrophes_are_not_quotes_in_a_job(void **state) {
    (void)state;
    job_t j;
    char err[512];
    const char *json = "{\"job_id\":\"e-2\",\"asset_class\":\"editorial\",\"prompt\":"
                       "\"The chef's table with the title 'Chef's Table' on top\"}";
    assert_int_equal(job_parse(json, strlen(json), &j, err, sizeof err), 0);
    assert_int_equal(j.n_text, 1);
    assert_string_equal(j.text[0], "Chef's Table");
}

static void test_palette_tokens(void **state) {
    (void)state;
    uint32_t pal[PROMPT_MAX_PALETTE];
    assert_int_equal(prompt_palette("palette #1E3A8A #facc15, not #12345, #1234567, a#123456 or #12345G", pal), 2);
    assert_int_equal(pal[0], 0x1E3A8A);
    assert_int_equal(pal[1], 0xFACC15);
    assert_int_equal(prompt_palette("#000001 #000002 #000003 #000004 #000005 #000006 #000007 #000008 #000009", pal), 8);
    assert_int_equal(pal[7], 8);
    assert_int_equal(prompt_palette("no colours", pal), 0);
}

static void test_text_area(void **state) {
    (void)state;
    bool found = true;
    region_t r;
    char err[256] = "";
    assert_int_equal(prompt_text_area("no area here", &found, &r, err, sizeof err), 0);
    assert_false(found);
    assert_int_equal(prompt_text_area("poster, Text Area:  10%, 60% ,80%,30%", &found, &r, err, sizeof err), 0);
    assert_true(found);
    assert_true(r.x > 0.0999 && r.x < 0.1001 && r.y > 0.5999 && r.y < 0.6001);
    assert_true(r.w > 0.7999 && r.w < 0.8001 && r.h > 0.2999 && r.h < 0.3001);
    assert_int_equal(prompt_text_area("text area: 10%,60%", &found, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "comma"));
    assert_int_equal(prompt_text_area("text area: ten", &found, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "four percentages"));
    assert_int_equal(prompt_text_area("text area: 50%,0%,60%,10%", &found, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "inside the image"));
}

static void test_unquote_leaves_no_line(void **state) {
    (void)state;
    char buf[256];
    prompt_unquote("say \"A\", \xe2\x80\x9c" "B\xe2\x80\x9d and 5\" more", buf, sizeof buf);
    assert_string_equal(buf, "say A, B and 5 more");
    prompt_unquote("the chef's 'Chef's Table' and \xe2\x80\x98NEW\xe2\x80\x99 for kids'", buf, sizeof buf);
    assert_string_equal(buf, "the chef's Chef's Table and NEW for kids'");
    prompt_lines_t l;
    assert_int_equal(prompt_lines(buf, &l, NULL, 0), 0);
    assert_int_equal(l.n_lines, 0);
    /* Removing the empty '' joins the bytes around it into a “: that goes too. */
    prompt_unquote("a\xe2''\x80\x9c" "b", buf, sizeof buf);
    assert_string_equal(buf, "ab");
    assert_int_equal(prompt_unquote("\"long\"", buf, 3), 2); /* bounded by len */
    assert_string_equal(buf, "lo");
}

/* The prompt sent to a model reads back, in the same grammar, as the job's text. */
static void expect_render_prompt_reads_back(const char *prompt, const char *const *text, int n,
                                            const char *guidance, char *buf, size_t len) {
    job_t j;
    memset(&j, 0, sizeof j);
    snprintf(j.prompt, sizeof j.prompt, "%s", prompt);
    for (int i = 0; i < n; i++) snprintf(j.text[i], sizeof j.text[i], "%s", text[i]);
    j.n_text = n;
    job_render_prompt(&j, guidance, buf, len);
    prompt_lines_t l;
    char err[256] = "";
    if (prompt_lines(buf, &l, err, sizeof err)) fail_msg("\"%s\": %s", buf, err);
    if (l.n_lines != n) fail_msg("\"%s\": %d lines, want %d", buf, l.n_lines, n);
    for (int i = 0; i < n; i++) assert_string_equal(l.lines[i], text[i]);
}

static void test_render_prompt_quotes_the_text_exactly_once(void **state) {
    (void)state;
    char buf[2048];
    const char *sale[] = {"SALE"}, *off[] = {"50% OFF"}, *two[] = {"A", "B"};
    /* The prompt already quotes the text: sent as it is. */
    expect_render_prompt_reads_back("Poster \xe2\x80\x9cSALE\xe2\x80\x9d", sale, 1, NULL, buf, sizeof buf);
    assert_string_equal(buf, "Poster \xe2\x80\x9cSALE\xe2\x80\x9d");
    expect_render_prompt_reads_back("Poster 'SALE'", sale, 1, NULL, buf, sizeof buf);
    assert_string_equal(buf, "Poster 'SALE'");
    /* Explicit text other than the prompt's quotes: the prompt's quote marks go, curly
     * ones too, or the renderer would draw a line the verifier does not expect. */
    expect_render_prompt_reads_back("Poster \xe2\x80\x9cSALE\xe2\x80\x9d", off, 1, NULL, buf, sizeof buf);
    assert_string_equal(buf, "Poster SALE. Overlay text, exactly: \"50% OFF\"");
    expect_render_prompt_reads_back("Poster \xe2\x80\x98SALE\xe2\x80\x99, chef's", two, 2, NULL, buf, sizeof buf);
    /* text: [] — nothing is quoted, single quotes included. */
    expect_render_prompt_reads_back("a photo of a 'vintage' car", NULL, 0, NULL, buf, sizeof buf);
    assert_string_equal(buf, "a photo of a vintage car");
    /* A prompt the grammar refuses (unclosed quote) is not sent as it is. */
    expect_render_prompt_reads_back("a 5\" screen", NULL, 0, NULL, buf, sizeof buf);
    /* Guidance never adds a line, whatever its quotes. */
    expect_render_prompt_reads_back("Poster 'SALE'", sale, 1,
                                    "expected \"SALE\", read \xe2\x80\x9cSA1E\xe2\x80\x9d; 'kids' letters'",
                                    buf, sizeof buf);
    /* An apostrophe the prompt left open cannot pair with one in the guidance. */
    expect_render_prompt_reads_back("Poster 'SALE' and 'tis", sale, 1, "mind the kids' letters", buf, sizeof buf);
}

static void test_render_prompt_carries_text_palette_and_guidance(void **state) {
    (void)state;
    job_t j;
    char err[512], buf[2048];
    const char *json = "{\"job_id\":\"a\",\"asset_class\":\"paid\",\"prompt\":\"Poster\","
                       "\"text\":[\"SALE\"],\"palette\":[\"#112233\"],"
                       "\"region\":{\"x\":0.1,\"y\":0.6,\"w\":0.8,\"h\":0.3}}";
    assert_int_equal(job_parse(json, strlen(json), &j, err, sizeof err), 0);
    job_render_prompt(&j, "expected \"SALE\"", buf, sizeof buf);
    assert_non_null(strstr(buf, "\"SALE\""));
    assert_non_null(strstr(buf, "#112233"));
    assert_non_null(strstr(buf, "Fix: expected SALE"));
    /* What it writes, the grammar reads back. */
    uint32_t pal[PROMPT_MAX_PALETTE];
    assert_int_equal(prompt_palette(buf, pal), 1);
    assert_int_equal(pal[0], 0x112233);
    bool found = false;
    region_t r;
    assert_int_equal(prompt_text_area(buf, &found, &r, err, sizeof err), 0);
    assert_true(found);
    assert_true(r.x > 0.0999 && r.x < 0.1001 && r.h > 0.2999 && r.h < 0.3001);
    /* A small buffer is filled, not overrun. */
    char small[12];
    job_render_prompt(&j, "expected \"SALE\"", small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* ==== job_apply_template ==== */

static config_t g_tcfg;

static void template_config(void) {
    config_defaults(&g_tcfg);
    template_config_t *t = &g_tcfg.templates[0];
    memset(t, 0, sizeof *t);
    g_tcfg.n_templates = 1;
    snprintf(t->name, sizeof t->name, "weekly-deals");
    snprintf(t->prompt, sizeof t->prompt, "Deals on {product}, headline \"{headline}\" {unknown}");
    t->n_slots = 2;
    snprintf(t->slots[0].name, sizeof t->slots[0].name, "headline");
    t->slots[0].has_default = true;
    snprintf(t->slots[0].def, sizeof t->slots[0].def, "DEALS");
    snprintf(t->slots[1].name, sizeof t->slots[1].name, "product");
    t->has_region = true;
    t->region_x = 0.1, t->region_y = 0.5, t->region_w = 0.8, t->region_h = 0.4;
    t->palette[0] = 0x1E3A8A;
    t->n_palette = 1;
}

static void parse_job(const char *json, job_t *j) {
    char err[512];
    assert_int_equal(job_parse(json, strlen(json), j, err, sizeof err), 0);
}

static void test_template_builds_prompt_text_zone_palette(void **state) {
    (void)state;
    template_config();
    job_t j;
    char err[512];
    parse_job("{\"job_id\":\"t1\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\",\"slots\":{\"product\":\"tea\"}}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), 0);
    /* "{unknown}" is no declared slot: its bytes stay (the config loader refuses it; here it shows
     * that only declared slots are replaced). */
    assert_string_equal(j.prompt, "Deals on tea, headline \"DEALS\" {unknown}");
    assert_int_equal(j.n_text, 1);
    assert_string_equal(j.text[0], "DEALS");
    assert_true(j.has_region && j.region.y > 0.4999 && j.region.y < 0.5001);
    assert_int_equal(j.n_palette, 1);
    assert_int_equal(j.palette[0], 0x1E3A8A);
    /* Applying again changes nothing: the built prompt has no declared placeholder left. */
    job_t again = j;
    assert_int_equal(job_apply_template(&again, &g_tcfg, err, sizeof err), 0);
    assert_string_equal(again.prompt, j.prompt);
    /* Through the task codec and back, the built job is the same job. */
    char *enc = job_encode(&j);
    job_t back;
    parse_job(enc, &back);
    free(enc);
    assert_string_equal(back.prompt, j.prompt);
    assert_string_equal(back.revision, j.revision);
    assert_int_equal(back.n_text, 1);
    assert_string_equal(back.text[0], "DEALS");
}

static void test_template_explicit_fields_win(void **state) {
    (void)state;
    template_config();
    job_t j;
    char err[512];
    parse_job("{\"job_id\":\"t2\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\","
              "\"prompt\":\"My own {product} \\\"HI\\\"\",\"slots\":{\"product\":\"jam\",\"headline\":\"X\"},"
              "\"text\":[\"HI\"],\"palette\":[\"#000000\"],\"region\":{\"x\":0,\"y\":0,\"w\":1,\"h\":0.2}}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), 0);
    assert_string_equal(j.prompt, "My own jam \"HI\"");
    assert_int_equal(j.palette[0], 0);
    assert_true(j.region.h > 0.1999 && j.region.h < 0.2001);
}

static void test_template_errors(void **state) {
    (void)state;
    template_config();
    job_t j;
    char err[512];
    parse_job("{\"job_id\":\"t3\",\"asset_class\":\"thumbnail\",\"template\":\"monthly\"}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), -1);
    assert_string_equal(err, "job: template: expected one of the configured templates (weekly-deals), found \"monthly\"");
    parse_job("{\"job_id\":\"t4\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\"}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), -1);
    assert_string_equal(err, "job: slots.product: expected a value (template \"weekly-deals\" has no default)");
    parse_job("{\"job_id\":\"t5\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\",\"slots\":{\"colour\":\"red\"}}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), -1);
    assert_string_equal(err, "job: slots.colour: expected a slot of template \"weekly-deals\" (headline, product)");
    /* The codec: a prompt or a template; slots only with a template; a template name's form. */
    const char *bad[] = {
        "{\"job_id\":\"t6\",\"asset_class\":\"thumbnail\"}",
        "{\"job_id\":\"t7\",\"asset_class\":\"thumbnail\",\"prompt\":\"x\",\"slots\":{\"a\":\"b\"}}",
        "{\"job_id\":\"t8\",\"asset_class\":\"thumbnail\",\"template\":\"Weekly Deals\"}",
        "{\"job_id\":\"t9\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\",\"slots\":{\"a\":1}}",
        "{\"job_id\":\"t11\",\"asset_class\":\"thumbnail\",\"template\":\"weekly-deals\",\"slots\":{\"product\":\"{headline}\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(job_parse(bad[i], strlen(bad[i]), &j, err, sizeof err), -1);
    /* A job without a template is left alone. */
    parse_job("{\"job_id\":\"t10\",\"asset_class\":\"thumbnail\",\"prompt\":\"{product}\"}", &j);
    assert_int_equal(job_apply_template(&j, &g_tcfg, err, sizeof err), 0);
    assert_string_equal(j.prompt, "{product}");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_straight_double_quotes),
        cmocka_unit_test(test_straight_single_quotes_and_apostrophes),
        cmocka_unit_test(test_curly_double_quotes),
        cmocka_unit_test(test_curly_single_quotes),
        cmocka_unit_test(test_mixed_quotes),
        cmocka_unit_test(test_unterminated_quotes),
        cmocka_unit_test(test_empty_quotes_draw_nothing),
        cmocka_unit_test(test_too_many_or_too_long_lines),
        cmocka_unit_test(test_job_default_text_is_the_grammar),
        cmocka_unit_test(test_apostrophes_are_not_quotes_in_a_job),
        cmocka_unit_test(test_palette_tokens),
        cmocka_unit_test(test_text_area),
        cmocka_unit_test(test_unquote_leaves_no_line),
        cmocka_unit_test(test_render_prompt_quotes_the_text_exactly_once),
        cmocka_unit_test(test_render_prompt_carries_text_palette_and_guidance),
        cmocka_unit_test(test_template_builds_prompt_text_zone_palette),
        cmocka_unit_test(test_template_explicit_fields_win),
        cmocka_unit_test(test_template_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
