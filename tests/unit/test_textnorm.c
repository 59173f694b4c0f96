/* test_textnorm.c — normalisation and edit distances used by the text check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "verify/textnorm.h"

static const char *norm(const char *in, bool fold) {
    static char out[256];
    textnorm(in, out, sizeof out, fold);
    return out;
}

static void test_whitespace_collapses_and_trims(void **state) {
    (void)state;
    assert_string_equal(norm("  50%\t\tOFF \n", false), "50% OFF");
    assert_string_equal(norm("SALE\xc2\xa0NOW", false), "SALE NOW");           /* NBSP */
    assert_string_equal(norm("a\xe2\x80\x89" "b\xe3\x80\x80" "c", false), "a b c"); /* thin, ideographic */
    assert_string_equal(norm("\xe2\x80\x8bSALE", false), "SALE");               /* zero-width space */
    assert_string_equal(norm("   ", false), "");
}

static void test_quotes_dashes_and_ligatures_normalise(void **state) {
    (void)state;
    assert_string_equal(norm("\xe2\x80\x9c" "Don\xe2\x80\x99" "t\xe2\x80\x9d", false), "\"Don't\"");
    assert_string_equal(norm("2019\xe2\x80\x93" "2020 \xe2\x80\x94 now", false), "2019-2020 - now");
    assert_string_equal(norm("\xef\xac\x81ne", false), "fine");
    assert_string_equal(norm("Wait\xe2\x80\xa6", false), "Wait...");
    assert_string_equal(norm("\xef\xbc\xa1\xef\xbc\xa2", false), "AB"); /* fullwidth */
}

static void test_combining_accents_compose(void **state) {
    (void)state;
    /* "Cafe" + U+0301 equals the precomposed "Café". */
    assert_string_equal(norm("Cafe\xcc\x81", false), "Caf\xc3\xa9");
    assert_string_equal(norm("Caf\xc3\xa9", false), "Caf\xc3\xa9");
    assert_string_equal(norm("n\xcc\x83", false), "\xc3\xb1");
}

static void test_case_folds_only_when_asked(void **state) {
    (void)state;
    assert_string_equal(norm("SALE", false), "SALE");
    assert_string_equal(norm("SaLe", true), "sale");
    assert_string_equal(norm("CAF\xc3\x89", true), "caf\xc3\xa9");
}

static void test_invalid_utf8_becomes_replacement_character(void **state) {
    (void)state;
    assert_string_equal(norm("A\xff" "B", false), "A\xef\xbf\xbd" "B");
}

static void test_output_is_truncated_at_a_code_point(void **state) {
    (void)state;
    char out[5];
    textnorm("ab\xc3\xa9\xc3\xa9", out, sizeof out, false);
    assert_string_equal(out, "ab\xc3\xa9");
}

static void test_edit_distance_counts_code_points(void **state) {
    (void)state;
    assert_int_equal(text_edit_distance("SALE", "SALE"), 0);
    assert_int_equal(text_edit_distance("SALE", "SAIE"), 1);
    assert_int_equal(text_edit_distance("SALE", "SAL"), 1);
    assert_int_equal(text_edit_distance("Only", "Onlyy"), 1);
    assert_int_equal(text_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(text_edit_distance("", "abc"), 3);
    assert_int_equal(text_edit_distance("caf\xc3\xa9", "cafe"), 1);
}

static void test_normalized_distance_is_between_zero_and_one(void **state) {
    (void)state;
    assert_true(text_normalized_distance("", "") == 0.0);
    assert_true(fabs(text_normalized_distance("SALE", "SAIE") - 0.25) < 1e-12);
    assert_true(fabs(text_normalized_distance("abc", "xyz") - 1.0) < 1e-12);
    assert_true(fabs(text_normalized_distance("Only", "Onlyy") - 0.2) < 1e-12);
}

/* Where a partial reading sits in the line: the stretch it reads, with its slips. */
static void test_infix_distance_finds_the_stretch_read(void **state) {
    (void)state;
    size_t a, z;
    assert_int_equal(text_infix_distance("Mountai", "Mountain", &a, &z), 0);
    assert_int_equal(a, 0);
    assert_int_equal(z, 7);
    assert_int_equal(text_infix_distance("p to 70%", "Hour News Up to 70%", &a, &z), 0);
    assert_int_equal(a, 11);
    assert_int_equal(z, 19);
    /* Two slips (s read n, n read r): the stretch ends before "ner" either way. */
    assert_int_equal(text_infix_distance("Encape Plar", "Escape Planner", &a, &z), 2);
    assert_int_equal(a, 0);
    assert_true(z == 10 || z == 11);
    assert_int_equal(text_infix_distance("News", "Hour News Up", &a, &z), 0);
    assert_int_equal(a, 5);
    assert_int_equal(z, 9);
    /* Nothing in common: every byte is an edit. */
    assert_int_equal(text_infix_distance("xyz", "Sale", &a, &z), 3);
}

static void test_alnum_count(void **state) {
    (void)state;
    assert_int_equal(text_alnum_count("$19.99"), 4);
    assert_int_equal(text_alnum_count("-- ."), 0);
    assert_int_equal(text_alnum_count("Caf\xc3\xa9"), 4);
}

/* The glyph classifier's reading is judged only where it is local evidence: a
 * digit for a letter (never the round 0 for O, never a letter for a letter) inside
 * a word of three letters or more, its neighbours read as the text, on a line it
 * read with one other slip at most, and not the face's own way of drawing that
 * letter (the same slip twice in the line). The readings are the classifier's own,
 * from the study corpora (docs/verifier.md). */
static void test_glyph_lookalike_counts_only_local_evidence(void **state) {
    (void)state;
    const char *seen = NULL, *meant = NULL;
    assert_true(text_glyph_lookalike("SUMMER SHIPPIN6", "SUMMER SHIPPING", &seen, &meant));
    assert_string_equal(seen, "6");
    assert_string_equal(meant, "G");
    assert_true(text_glyph_lookalike("Sa1e Ofiice", "Sale Office", &seen, &meant)); /* one slip elsewhere */
    assert_string_equal(seen, "1");
    assert_string_equal(meant, "l");
    assert_false(text_glyph_lookalike("SME REC1PE 5O% 0FF", "SALE RECIPE 50% OFF", NULL, NULL)); /* noise elsewhere */
    assert_false(text_glyph_lookalike("Living 1ast nith $i.50", "Living last night $4.50", NULL, NULL));
    assert_false(text_glyph_lookalike("9n1y Trail", "Only Trail", NULL, NULL)); /* the word misread round it */
    assert_false(text_glyph_lookalike("Weekly Toble", "Weekly Table", NULL, NULL)); /* o for a: the face's "a" */
    assert_false(text_glyph_lookalike("Food Electioh", "Food Election", NULL, NULL)); /* h for n */
    assert_false(text_glyph_lookalike("Late Cbef's", "Late Chef's", NULL, NULL));     /* letter pairs: no */
    assert_false(text_glyph_lookalike("Planncr", "Planner", NULL, NULL));
    assert_false(text_glyph_lookalike("0FFICE HOUR", "OFFICE HOUR", NULL, NULL)); /* the round pair: no */
    assert_false(text_glyph_lookalike("FLASH N0. 5", "FLASH NO. 5", &seen, &meant)); /* a two-letter word */
    assert_null(seen);
    assert_false(text_glyph_lookalike("Best IO Days", "Best 10 Days", NULL, NULL));     /* letters for digits */
    assert_false(text_glyph_lookalike("Tia? 0?!X", "Trail only", NULL, NULL));         /* the word misread */
    assert_false(text_glyph_lookalike("Gardcn Travcl Save", "Garden Travel Save", NULL, NULL)); /* the face's e */
    assert_false(text_glyph_lookalike("Mountain", "Mountain", NULL, NULL));
    assert_false(text_glyph_lookalike("", "Sale", NULL, NULL));
    assert_false(text_glyph_lookalike("Sa1e", "", NULL, NULL));
}

static void test_differs_only_in_spaces(void **state) {
    (void)state;
    assert_true(text_differs_only_in_spaces("NEWS LATEIN", "NEWS LATE IN"));
    assert_true(text_differs_only_in_spaces("Chef 's", "Chef's"));
    assert_true(text_differs_only_in_spaces("CLUB NO.5", "CLUB NO. 5"));
    assert_false(text_differs_only_in_spaces("NEWS LATE IN", "NEWS LATE IN")); /* equal */
    assert_false(text_differs_only_in_spaces("NEWS LATEIN", "NEWS LATE ON"));
    assert_false(text_differs_only_in_spaces("Summer", "Summer Sale"));       /* a word missing */
    assert_false(text_differs_only_in_spaces("", "Sale"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whitespace_collapses_and_trims),
        cmocka_unit_test(test_quotes_dashes_and_ligatures_normalise),
        cmocka_unit_test(test_combining_accents_compose),
        cmocka_unit_test(test_case_folds_only_when_asked),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement_character),
        cmocka_unit_test(test_output_is_truncated_at_a_code_point),
        cmocka_unit_test(test_edit_distance_counts_code_points),
        cmocka_unit_test(test_normalized_distance_is_between_zero_and_one),
        cmocka_unit_test(test_infix_distance_finds_the_stretch_read),
        cmocka_unit_test(test_alnum_count),
        cmocka_unit_test(test_glyph_lookalike_counts_only_local_evidence),
        cmocka_unit_test(test_differs_only_in_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
