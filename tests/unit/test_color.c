/* test_color.c — CIEDE2000 against Sharma, Wu & Dalal (2005), WCAG contrast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "base/color.h"

/* The 34 test pairs of Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula:
 * implementation notes, supplementary test data, and mathematical observations",
 * Color Research & Application 30(1), 2005, Table 1. */
static const double SHARMA[34][7] = {
    {50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425},
    {50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615},
    {50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412},
    {50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669},
    {50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461},
    {50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065},
    {50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492},
    {50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977},
    {50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030},
    {50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000},
    {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
    {63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630},
    {61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731},
    {35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645},
    {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
    {36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146},
    {90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441},
    {90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381},
    {6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377},
    {2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082},
};

static void test_ciede2000_matches_the_34_published_pairs_to_4_decimals(void **state) {
    (void)state;
    for (int i = 0; i < 34; i++) {
        lab_t x = {SHARMA[i][0], SHARMA[i][1], SHARMA[i][2]};
        lab_t y = {SHARMA[i][3], SHARMA[i][4], SHARMA[i][5]};
        double d = color_ciede2000(x, y), back = color_ciede2000(y, x);
        if (fabs(d - SHARMA[i][6]) >= 0.00005 || fabs(back - SHARMA[i][6]) >= 0.00005)
            fail_msg("pair %d: expected %.4f, got %.6f (reversed %.6f)", i + 1, SHARMA[i][6], d, back);
    }
}

static void test_identical_colours_have_zero_difference(void **state) {
    (void)state;
    lab_t x = color_rgb_to_lab(0x336699);
    assert_true(color_ciede2000(x, x) < 1e-9);
}

static void test_srgb_to_lab_known_values_and_round_trip(void **state) {
    (void)state;
    lab_t w = color_rgb_to_lab(0xffffff), k = color_rgb_to_lab(0x000000), r = color_rgb_to_lab(0xff0000);
    assert_true(fabs(w.L - 100) < 0.01 && fabs(w.a) < 0.01 && fabs(w.b) < 0.01);
    assert_true(fabs(k.L) < 0.01);
    /* sRGB red: L 53.24, a 80.09, b 67.20 (D65). */
    assert_true(fabs(r.L - 53.24) < 0.05 && fabs(r.a - 80.09) < 0.1 && fabs(r.b - 67.20) < 0.1);
    uint32_t samples[] = {0x000000, 0xffffff, 0x336699, 0xe162a5, 0x123456, 0x80ff00};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        assert_int_equal(color_lab_to_rgb(color_rgb_to_lab(samples[i])), samples[i]);
}

static void test_wcag_contrast_ratios(void **state) {
    (void)state;
    assert_true(fabs(color_contrast_ratio(0x000000, 0xffffff) - 21.0) < 1e-9);
    assert_true(fabs(color_contrast_ratio(0xffffff, 0x000000) - 21.0) < 1e-9);
    assert_true(fabs(color_contrast_ratio(0x336699, 0x336699) - 1.0) < 1e-9);
    /* #767676 is the lightest grey that passes AA (4.5:1) on white: 4.54:1. */
    assert_true(fabs(color_contrast_ratio(0x767676, 0xffffff) - 4.54) < 0.01);
    assert_true(color_contrast_ratio(0x777777, 0xffffff) < 4.5);
    /* Pure red on white: 4.00:1; blue on white: 8.59:1. */
    assert_true(fabs(color_contrast_ratio(0xff0000, 0xffffff) - 4.00) < 0.01);
    assert_true(fabs(color_contrast_ratio(0x0000ff, 0xffffff) - 8.59) < 0.01);
    assert_true(fabs(color_relative_luminance(0xffffff) - 1.0) < 1e-9);
    assert_true(color_relative_luminance(0x000000) == 0.0);
}

static void test_segment_distance_covers_blends_between_two_colours(void **state) {
    (void)state;
    lab_t a = color_rgb_to_lab(0xff0000), b = color_rgb_to_lab(0x0000ff);
    lab_t labmid = {(a.L + b.L) / 2, (a.a + b.a) / 2, (a.b + b.b) / 2};
    assert_true(color_ciede2000_to_segment(labmid, a, b) < 0.01);
    assert_true(color_ciede2000_to_segment(a, a, b) < 1e-9);
    assert_true(color_ciede2000_to_segment(color_rgb_to_lab(0x00ff00), a, b) > 30);
}

static void test_hex_formatting(void **state) {
    (void)state;
    char buf[8];
    assert_string_equal(color_hex(0x0a0b0c, buf), "#0a0b0c");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ciede2000_matches_the_34_published_pairs_to_4_decimals),
        cmocka_unit_test(test_identical_colours_have_zero_difference),
        cmocka_unit_test(test_srgb_to_lab_known_values_and_round_trip),
        cmocka_unit_test(test_wcag_contrast_ratios),
        cmocka_unit_test(test_segment_distance_covers_blends_between_two_colours),
        cmocka_unit_test(test_hex_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
