/* The metrics registry and its Prometheus text: series found by family and labels,
 * label values escaped, histograms cumulative with +Inf equal to the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/metrics.h"

static int reset(void **state) {
    (void)state;
    metrics_reset();
    return 0;
}

static void test_a_series_is_found_again_by_family_and_labels(void **state) {
    (void)state;
    metric_t *a = metric_get(METRIC_COUNTER, "jobs_total", "Jobs.", "verdict", "accepted", NULL);
    metric_t *b = metric_get(METRIC_COUNTER, "jobs_total", "Jobs.", "verdict", "rejected", NULL);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(a, metric_get(METRIC_COUNTER, "jobs_total", "Jobs.", "verdict", "accepted", NULL));
    metric_inc(a, 2);
    metric_inc(metric_get(METRIC_COUNTER, "jobs_total", "ignored", "verdict", "accepted", NULL), 1);
    assert_true(metric_value(a) == 3.0);
    assert_true(metric_value(b) == 0.0);
    char *text = metrics_render();
    assert_non_null(strstr(text, "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\n"));
    assert_non_null(strstr(text, "jobs_total{verdict=\"accepted\"} 3\n"));
    assert_non_null(strstr(text, "jobs_total{verdict=\"rejected\"} 0\n"));
    assert_null(strstr(text, "ignored")); /* the family keeps its first help */
    free(text);
}

static void test_label_values_are_escaped(void **state) {
    (void)state;
    metric_set(metric_get(METRIC_GAUGE, "odd", "Odd labels.", "why", "say \"hi\"\\\nbye", NULL), 1.5);
    char *text = metrics_render();
    assert_non_null(strstr(text, "odd{why=\"say \\\"hi\\\"\\\\\\nbye\"} 1.5\n"));
    free(text);
}

static void test_const_labels_come_first_on_every_series(void **state) {
    (void)state;
    metrics_set_const_label("worker", "preview-worker");
    metric_inc(metric_get(METRIC_COUNTER, "a_total", "A.", NULL), 1);
    metric_inc(metric_get(METRIC_COUNTER, "b_total", "B.", "tier", "preview", NULL), 1);
    char *text = metrics_render();
    assert_non_null(strstr(text, "a_total{worker=\"preview-worker\"} 1\n"));
    assert_non_null(strstr(text, "b_total{worker=\"preview-worker\",tier=\"preview\"} 1\n"));
    free(text);
}

static void test_histogram_buckets_are_cumulative(void **state) {
    (void)state;
    metric_t *h = metric_get(METRIC_HISTOGRAM, "render_seconds", "Render time.", "tier", "preview", NULL);
    metric_observe(h, 0.003); /* <= 0.005 */
    metric_observe(h, 0.3);   /* <= 0.5 */
    metric_observe(h, 0.3);
    metric_observe(h, 120);   /* only +Inf */
    assert_true(metric_value(h) == 4.0);
    char *text = metrics_render();
    assert_non_null(strstr(text, "# TYPE render_seconds histogram\n"));
    assert_non_null(strstr(text, "render_seconds_bucket{tier=\"preview\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "render_seconds_bucket{tier=\"preview\",le=\"0.25\"} 1\n"));
    assert_non_null(strstr(text, "render_seconds_bucket{tier=\"preview\",le=\"0.5\"} 3\n"));
    assert_non_null(strstr(text, "render_seconds_bucket{tier=\"preview\",le=\"60\"} 3\n"));
    assert_non_null(strstr(text, "render_seconds_bucket{tier=\"preview\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "render_seconds_sum{tier=\"preview\"} 120.603\n"));
    assert_non_null(strstr(text, "render_seconds_count{tier=\"preview\"} 4\n"));
    free(text);
}

static void test_an_empty_registry_renders_empty_text(void **state) {
    (void)state;
    char *text = metrics_render();
    assert_string_equal(text, "");
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_a_series_is_found_again_by_family_and_labels, reset),
        cmocka_unit_test_teardown(test_label_values_are_escaped, reset),
        cmocka_unit_test_teardown(test_const_labels_come_first_on_every_series, reset),
        cmocka_unit_test_teardown(test_histogram_buckets_are_cumulative, reset),
        cmocka_unit_test_teardown(test_an_empty_registry_renders_empty_text, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
