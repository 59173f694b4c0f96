/* The console's escaping (tools/pressroom-console/html.c) and its reading of the
 * workers' exposition text (fleet.c): what a hostile payload or header becomes on a
 * page, and which series a page reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pressroom-console/fleet.c"
#include "pressroom-console/html.c"

static char *escaped(const char *s, size_t len, size_t max) {
    static html_t h;
    html_free(&h);
    html_text(&h, s, len, max);
    return h.s ? h.s : "";
}

static void test_markup_becomes_entities(void **state) {
    (void)state;
    const char *s = "<script>alert('x')</script>&\"";
    assert_string_equal(escaped(s, strlen(s), 1024), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
}

static void test_control_bytes_and_invalid_utf8_are_shown_as_hex(void **state) {
    (void)state;
    assert_string_equal(escaped("a\x01\x7f\xff", 4, 100), "a\\x01\\x7F\\xFF");
    assert_string_equal(escaped("\xC0\xAF", 2, 100), "\\xC0\\xAF");         /* overlong "/" */
    assert_string_equal(escaped("\xED\xA0\x80", 3, 100), "\\xED\\xA0\\x80"); /* a surrogate */
    assert_string_equal(escaped("a\0b", 3, 100), "a\\x00b");                 /* NUL inside a payload */
}

static void test_valid_utf8_and_newlines_are_kept(void **state) {
    (void)state;
    const char *s = "caf\xC3\xA9 \xE2\x80\x9CSALE\xE2\x80\x9D\n\tok";
    assert_string_equal(escaped(s, strlen(s), 100), s);
}

static void test_long_text_is_cut_whole_characters_only(void **state) {
    (void)state;
    assert_string_equal(escaped("abcdef", 6, 3), "abc\xE2\x80\xA6");
    assert_string_equal(escaped("a\xC3\xA9", 3, 2), "a\xE2\x80\xA6");
    assert_string_equal(escaped("abc", 3, 3), "abc");
}

static void test_query_values_are_percent_encoded(void **state) {
    (void)state;
    html_t h = {0};
    html_url_value(&h, "file:///s/a b?x=1&y=\"<");
    assert_string_equal(h.s, "file%3A%2F%2F%2Fs%2Fa%20b%3Fx%3D1%26y%3D%22%3C");
    html_free(&h);
}

static void test_usd_keeps_micro_dollars(void **state) {
    (void)state;
    html_t h = {0};
    html_usd(&h, 4400000);
    html_raw(&h, " ");
    html_usd(&h, 123);
    html_raw(&h, " ");
    html_usd(&h, -1500000);
    assert_string_equal(h.s, "$4.40 $0.000123 -$1.50");
    html_free(&h);
}

static const char EXPOSITION[] =
    "# HELP pressroom_inflight Inputs in flight.\n"
    "# TYPE pressroom_inflight gauge\n"
    "pressroom_inflight{worker=\"preview-worker\"} 17\n"
    "pressroom_inflight_peak{worker=\"preview-worker\"} 99\n"
    "pressroom_model_breaker_open{worker=\"preview-worker\",tier=\"preview\",model=\"a\\\"b\"} 1\n"
    "pressroom_model_breaker_open{worker=\"preview-worker\",tier=\"preview\",model=\"fast\"} 0\n"
    "pressroom_draining 0\n";

static void test_series_are_read_by_name_and_label(void **state) {
    (void)state;
    double v = -1;
    assert_true(prom_value(EXPOSITION, "pressroom_inflight", NULL, NULL, &v));
    assert_true(v == 17); /* not pressroom_inflight_peak */
    assert_true(prom_value(EXPOSITION, "pressroom_model_breaker_open", "model", "fast", &v));
    assert_true(v == 0);
    assert_true(prom_value(EXPOSITION, "pressroom_model_breaker_open", "model", "a\"b", &v));
    assert_true(v == 1);
    assert_true(prom_value(EXPOSITION, "pressroom_draining", NULL, NULL, &v));
    assert_false(prom_value(EXPOSITION, "pressroom_parked", NULL, NULL, &v));
    assert_false(prom_value(NULL, "pressroom_inflight", NULL, NULL, &v));
    char model[32];
    prom_label("worker=\"w\",tier=\"preview\",model=\"x,y\"", "model", model, sizeof model);
    assert_string_equal(model, "x,y");
    prom_label("worker=\"w\"", "model", model, sizeof model);
    assert_string_equal(model, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markup_becomes_entities),
        cmocka_unit_test(test_control_bytes_and_invalid_utf8_are_shown_as_hex),
        cmocka_unit_test(test_valid_utf8_and_newlines_are_kept),
        cmocka_unit_test(test_long_text_is_cut_whole_characters_only),
        cmocka_unit_test(test_query_values_are_percent_encoded),
        cmocka_unit_test(test_usd_keeps_micro_dollars),
        cmocka_unit_test(test_series_are_read_by_name_and_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
