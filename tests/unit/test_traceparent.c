/* W3C traceparent headers: what is valid, and the next hop's header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/traceparent.h"

static bool ok(const char *s) {
    traceparent_t tp;
    return traceparent_parse(s, strlen(s), &tp);
}

static void test_the_spec_example_parses(void **state) {
    (void)state;
    const char *s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    traceparent_t tp;
    assert_true(traceparent_parse(s, strlen(s), &tp));
    assert_string_equal(tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(tp.parent_id, "00f067aa0ba902b7");
    assert_int_equal(tp.flags, 1);
}

static void test_invalid_headers_are_refused(void **state) {
    (void)state;
    assert_false(ok(""));
    assert_false(ok("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")); /* upper case */
    assert_false(ok("00-00000000000000000000000000000000-00f067aa0ba902b7-01")); /* zero trace id */
    assert_false(ok("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")); /* zero parent id */
    assert_false(ok("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")); /* version ff */
    assert_false(ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-")); /* v00 is exactly 55 */
    assert_false(ok("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01")); /* dash misplaced */
    assert_false(ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
    assert_false(ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));
    /* A later version may append fields after a dash. */
    assert_true(ok("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    assert_false(ok("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra"));
}

static void test_the_next_hop_keeps_the_trace_and_takes_a_new_parent(void **state) {
    (void)state;
    const char *s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    traceparent_t in, out, again;
    assert_true(traceparent_parse(s, strlen(s), &in));
    char a[TRACEPARENT_LEN + 1], b[TRACEPARENT_LEN + 1];
    traceparent_next(&in, a, sizeof a);
    traceparent_next(&in, b, sizeof b);
    assert_int_equal(strlen(a), TRACEPARENT_LEN);
    assert_true(traceparent_parse(a, strlen(a), &out));
    assert_true(traceparent_parse(b, strlen(b), &again));
    assert_string_equal(out.trace_id, in.trace_id);
    assert_int_equal(out.flags, 1);
    assert_string_not_equal(out.parent_id, in.parent_id);
    assert_string_not_equal(out.parent_id, again.parent_id);
}

static void test_a_job_without_a_trace_starts_one(void **state) {
    (void)state;
    char a[TRACEPARENT_LEN + 1], b[TRACEPARENT_LEN + 1];
    traceparent_t ta, tb;
    traceparent_next(NULL, a, sizeof a);
    traceparent_next(NULL, b, sizeof b);
    assert_true(traceparent_parse(a, strlen(a), &ta));
    assert_true(traceparent_parse(b, strlen(b), &tb));
    assert_memory_equal(a, "00-", 3);
    assert_int_equal(ta.flags, 0);
    assert_string_not_equal(ta.trace_id, tb.trace_id);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_spec_example_parses),
        cmocka_unit_test(test_invalid_headers_are_refused),
        cmocka_unit_test(test_the_next_hop_keeps_the_trace_and_takes_a_new_parent),
        cmocka_unit_test(test_a_job_without_a_trace_starts_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
