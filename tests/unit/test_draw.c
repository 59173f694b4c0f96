/* test_draw.c — draw_scene draws what its truth says: real PNGs decoded with libpng,
 * each mistake kind visible in the truth, determinism for a seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/color.h"
#include "pressroom-renderer/draw.h"

/* ==== Helpers ==== */

static scene_t base_scene(uint64_t seed) {
    scene_t s;
    memset(&s, 0, sizeof s);
    s.width = 768;
    s.height = 512;
    s.n_lines = 2;
    snprintf(s.lines[0], SCENE_LINE_LEN, "SUMMER SALE");
    snprintf(s.lines[1], SCENE_LINE_LEN, "50%% off today");
    s.palette[0] = 0x1E3A8A;
    s.palette[1] = 0xFACC15;
    s.n_palette = 2;
    s.bold = true;
    s.seed = seed;
    return s;
}

typedef struct {
    unsigned char *png;
    size_t len;
    scene_truth_t truth;
} drawn_t;

static drawn_t draw_ok(const scene_t *s) {
    drawn_t d;
    char err[256] = "";
    int rc = draw_scene(s, &d.png, &d.len, &d.truth, err, sizeof err);
    if (rc) fprintf(stderr, "draw_scene: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(d.png);
    return d;
}

typedef struct {
    int w, h;
    uint8_t *rgb;
} pixels_t;

/* Decodes with libpng's simplified API into 8-bit RGB. */
static pixels_t decode(const drawn_t *d) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, d->png, d->len));
    img.format = PNG_FORMAT_RGB;
    pixels_t p = {(int)img.width, (int)img.height, malloc(PNG_IMAGE_SIZE(img))};
    assert_true(png_image_finish_read(&img, NULL, p.rgb, 0, NULL));
    return p;
}

static uint32_t pixel(const pixels_t *p, int x, int y) {
    const uint8_t *q = p->rgb + ((size_t)y * (size_t)p->w + (size_t)x) * 3;
    return RGB_PACK(q[0], q[1], q[2]);
}

/* How many pixels inside box b are exactly colour c. */
static int count_colour(const pixels_t *p, box_t b, uint32_t c) {
    int n = 0;
    for (int y = b.y; y < b.y + b.h; y++)
        for (int x = b.x; x < b.x + b.w; x++) n += pixel(p, x, y) == c;
    return n;
}

/* Whether `longer` is `shorter` with exactly one byte inserted; *at = its index. */
static bool one_inserted(const char *longer, const char *shorter, int *at) {
    size_t n = strlen(shorter);
    if (strlen(longer) != n + 1) return false;
    for (size_t i = 0; i <= n; i++) {
        if (!strncmp(longer, shorter, i) && !strcmp(longer + i + 1, shorter + i)) {
            *at = (int)i;
            return true;
        }
    }
    return false;
}

/* The single line that differs between the truth and the scene; -1 when none or many. */
static int changed_line(const scene_t *s, const scene_truth_t *t) {
    int changed = -1, count = 0;
    for (int i = 0; i < s->n_lines; i++)
        if (strcmp(s->lines[i], t->lines[i])) changed = i, count++;
    return count == 1 ? changed : -1;
}

/* ==== Tests ==== */

static void test_same_seed_draws_identical_bytes_and_another_seed_does_not(void **state) {
    (void)state;
    scene_t s = base_scene(7);
    s.n_palette = 0; /* background then comes from the seed */
    s.mistake = MISTAKE_TYPO;
    drawn_t a = draw_ok(&s), b = draw_ok(&s);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.png, b.png, a.len);
    assert_string_equal(a.truth.lines[0], b.truth.lines[0]);
    s.seed = 8;
    drawn_t c = draw_ok(&s);
    assert_true(c.len != a.len || memcmp(a.png, c.png, a.len) != 0);
    free(a.png), free(b.png), free(c.png);
}

static void test_clean_scene_truth_equals_request_and_png_has_requested_size(void **state) {
    (void)state;
    scene_t s = base_scene(1);
    drawn_t d = draw_ok(&s);
    assert_int_equal(d.truth.mistake, MISTAKE_NONE);
    assert_int_equal(d.truth.n_lines, 2);
    assert_string_equal(d.truth.lines[0], "SUMMER SALE");
    assert_string_equal(d.truth.lines[1], "50% off today");
    assert_int_equal(d.truth.background, 0x1E3A8A);
    assert_int_equal(d.truth.ink, 0xFACC15); /* palette ink contrasts enough (>= 4.5) */
    pixels_t p = decode(&d);
    assert_int_equal(p.w, 768);
    assert_int_equal(p.h, 512);
    assert_int_equal(pixel(&p, 0, 0), 0x1E3A8A);
    for (int i = 0; i < 2; i++) {
        box_t b = d.truth.boxes[i];
        /* inside the 90% title-safe zone, and really inked */
        assert_true(b.x >= 768 * 0.05 && b.x + b.w <= 768 * 0.95);
        assert_true(b.y >= 512 * 0.05 && b.y + b.h <= 512 * 0.95);
        assert_true(b.w > 100 && b.h > 10);
        assert_true(count_colour(&p, b, 0xFACC15) > b.w * b.h / 20);
    }
    /* nothing outside the boxes is ink */
    box_t above = {0, 0, 768, d.truth.boxes[0].y};
    assert_int_equal(count_colour(&p, above, 0xFACC15), 0);
    free(p.rgb), free(d.png);
}

static void test_ink_falls_back_to_black_or_white_when_palette_ink_lacks_contrast(void **state) {
    (void)state;
    scene_t s = base_scene(1);
    s.palette[0] = 0xFF0000;
    s.palette[1] = 0xFFFFFF; /* white on red: 4.0 */
    drawn_t d = draw_ok(&s);
    assert_int_equal(d.truth.ink, 0x000000);
    assert_true(color_contrast_ratio(d.truth.ink, d.truth.background) >= 4.5);
    free(d.png);
}

static void test_typo_replaces_one_letter_with_a_visibly_different_letter(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        scene_t s = base_scene(seed);
        s.mistake = MISTAKE_TYPO;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_TYPO);
        int l = changed_line(&s, &d.truth);
        assert_true(l >= 0);
        assert_int_equal(strlen(d.truth.lines[l]), strlen(s.lines[l]));
        int diffs = 0;
        for (size_t i = 0; i < strlen(s.lines[l]); i++) {
            char a = s.lines[l][i], b = d.truth.lines[l][i];
            if (a == b) continue;
            diffs++;
            assert_true(isalpha((unsigned char)a) && isalpha((unsigned char)b));
            assert_true(tolower((unsigned char)a) != tolower((unsigned char)b)); /* not a case change */
        }
        assert_int_equal(diffs, 1);
        free(d.png);
    }
}

static void test_drop_removes_exactly_one_letter(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        scene_t s = base_scene(seed);
        s.mistake = MISTAKE_DROP;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_DROP);
        int l = changed_line(&s, &d.truth), at;
        assert_true(l >= 0);
        assert_true(one_inserted(s.lines[l], d.truth.lines[l], &at));
        assert_true(isalpha((unsigned char)s.lines[l][at]));
        free(d.png);
    }
}

static void test_extra_adds_exactly_one_letter(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        scene_t s = base_scene(seed);
        s.mistake = MISTAKE_EXTRA;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_EXTRA);
        int l = changed_line(&s, &d.truth), at;
        assert_true(l >= 0);
        assert_true(one_inserted(d.truth.lines[l], s.lines[l], &at));
        assert_true(isalpha((unsigned char)d.truth.lines[l][at]));
        free(d.png);
    }
}

static void test_text_mistake_without_letters_leaves_a_clean_scene(void **state) {
    (void)state;
    scene_t s = base_scene(3);
    s.n_lines = 1;
    snprintf(s.lines[0], SCENE_LINE_LEN, "50%% -- 2024");
    s.mistake = MISTAKE_TYPO;
    drawn_t d = draw_ok(&s);
    assert_int_equal(d.truth.mistake, MISTAKE_NONE);
    assert_string_equal(d.truth.lines[0], "50% -- 2024");
    free(d.png);
}

static void test_offzone_text_crosses_the_safe_zone_and_reaches_an_edge(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        scene_t s = base_scene(seed);
        s.mistake = MISTAKE_OFFZONE;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_OFFZONE);
        assert_string_equal(d.truth.lines[0], s.lines[0]);
        int x0 = 768, y0 = 512, x1 = 0, y1 = 0;
        for (int i = 0; i < d.truth.n_lines; i++) {
            box_t b = d.truth.boxes[i];
            if (b.w == 0 || b.h == 0) continue;
            x0 = b.x < x0 ? b.x : x0;
            y0 = b.y < y0 ? b.y : y0;
            x1 = b.x + b.w > x1 ? b.x + b.w : x1;
            y1 = b.y + b.h > y1 ? b.y + b.h : y1;
        }
        assert_true(x0 == 0 || y0 == 0 || x1 == 768 || y1 == 512);
        assert_true(x0 < 768 * 0.05 || y0 < 512 * 0.05 || x1 > 768 * 0.95 || y1 > 512 * 0.95);
        free(d.png);
    }
}

static void test_low_contrast_ink_is_close_to_the_background(void **state) {
    (void)state;
    uint32_t bgs[] = {0x1E3A8A, 0xFFFFFF, 0x000000, 0x808080, 0xF5E6C8};
    for (size_t i = 0; i < sizeof bgs / sizeof *bgs; i++) {
        scene_t s = base_scene(i + 1);
        s.palette[0] = bgs[i];
        s.mistake = MISTAKE_LOW_CONTRAST;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_LOW_CONTRAST);
        double r = color_contrast_ratio(d.truth.ink, d.truth.background);
        assert_true(r >= 1.25 && r < 2.5);
        pixels_t p = decode(&d);
        assert_true(count_colour(&p, d.truth.boxes[0], d.truth.ink) > 0);
        free(p.rgb), free(d.png);
    }
}

static void test_off_palette_background_is_far_from_every_palette_colour(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        scene_t s = base_scene(seed);
        s.palette[2] = 0xE11D48;
        s.palette[3] = 0x10B981;
        s.n_palette = 4;
        s.mistake = MISTAKE_OFF_PALETTE;
        drawn_t d = draw_ok(&s);
        assert_int_equal(d.truth.mistake, MISTAKE_OFF_PALETTE);
        for (int i = 0; i < s.n_palette; i++)
            assert_true(color_ciede2000(color_rgb_to_lab(d.truth.background),
                                        color_rgb_to_lab(s.palette[i])) > 25);
        pixels_t p = decode(&d);
        assert_int_equal(pixel(&p, 2, 2), d.truth.background);
        assert_true(color_contrast_ratio(d.truth.ink, d.truth.background) >= 4.5);
        free(p.rgb), free(d.png);
    }
}

static void test_off_palette_without_a_palette_is_no_mistake(void **state) {
    (void)state;
    scene_t s = base_scene(2);
    s.n_palette = 0;
    s.mistake = MISTAKE_OFF_PALETTE;
    drawn_t d = draw_ok(&s);
    assert_int_equal(d.truth.mistake, MISTAKE_NONE);
    free(d.png);
}

static void test_region_holds_the_text(void **state) {
    (void)state;
    scene_t s = base_scene(5);
    s.has_region = true;
    s.region_x = 0.1, s.region_y = 0.6, s.region_w = 0.5, s.region_h = 0.3;
    drawn_t d = draw_ok(&s);
    for (int i = 0; i < 2; i++) {
        box_t b = d.truth.boxes[i];
        assert_true(b.x >= 76 && b.x + b.w <= 77 + 384);
        assert_true(b.y >= 307 && b.y + b.h <= 308 + 154);
    }
    free(d.png);
}

static void test_font_family_and_style_change_the_drawing(void **state) {
    (void)state;
    const char *families[] = {"DejaVu Sans", "Liberation Serif", "FreeMono", "DejaVu Sans Condensed"};
    int widths[4];
    for (int f = 0; f < 4; f++) {
        scene_t s = base_scene(9);
        s.n_lines = 1;
        s.font_family = families[f];
        s.italic = f == 1;
        s.bold = false;
        s.has_region = true; /* a fixed height so widths compare fonts, not sizes */
        s.region_x = 0, s.region_y = 0.4, s.region_w = 1, s.region_h = 0.2;
        drawn_t d = draw_ok(&s);
        widths[f] = d.truth.boxes[0].w;
        free(d.png);
    }
    /* the condensed face is narrower than the regular one; the monospace wider */
    assert_true(widths[3] < widths[0]);
    assert_true(widths[2] > widths[0]);
    assert_true(widths[1] != widths[0]);
}

static void test_every_background_kind_draws_a_valid_png(void **state) {
    (void)state;
    scene_t s = base_scene(4);
    drawn_t flat = draw_ok(&s);
    for (int k = BG_GRADIENT; k <= BG_SHAPES; k++) {
        s.background = (background_kind_t)k;
        drawn_t d = draw_ok(&s);
        assert_true(d.len != flat.len || memcmp(d.png, flat.png, d.len) != 0);
        pixels_t p = decode(&d);
        assert_int_equal(p.w, 768);
        /* still close to the palette background on average near a corner */
        assert_true(color_ciede2000(color_rgb_to_lab(pixel(&p, 10, 10)), color_rgb_to_lab(0x1E3A8A)) < 20);
        free(p.rgb), free(d.png);
    }
    free(flat.png);
}

static void test_truth_json_round_trips_and_is_ascii(void **state) {
    (void)state;
    scene_t s = base_scene(6);
    snprintf(s.lines[1], SCENE_LINE_LEN, "Caf\xc3\xa9 \"quoted\" \xf0\x9f\x98\x80");
    s.mistake = MISTAKE_DROP;
    drawn_t d = draw_ok(&s);
    char *json = scene_truth_json_tagged(&d.truth, "sd3.5_turbo", 42);
    for (const char *p = json; *p; p++) assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    assert_non_null(strstr(json, "\"model\":\"sd3.5_turbo\""));
    assert_non_null(strstr(json, "\"seed\":42"));
    scene_truth_t back;
    char err[256];
    assert_int_equal(scene_truth_parse(json, &back, err, sizeof err), 0);
    assert_int_equal(back.n_lines, d.truth.n_lines);
    for (int i = 0; i < back.n_lines; i++) {
        assert_string_equal(back.lines[i], d.truth.lines[i]);
        assert_memory_equal(&back.boxes[i], &d.truth.boxes[i], sizeof(box_t));
    }
    assert_int_equal(back.ink, d.truth.ink);
    assert_int_equal(back.background, d.truth.background);
    assert_int_equal(back.mistake, MISTAKE_DROP);
    free(json);
    assert_int_equal(scene_truth_parse("{\"lines\":[1]}", &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected"));
    free(d.png);
}

static void test_invalid_scene_is_refused_with_a_sentence(void **state) {
    (void)state;
    scene_t s = base_scene(1);
    s.width = 4;
    unsigned char *png;
    size_t len;
    char err[256];
    assert_int_equal(draw_scene(&s, &png, &len, NULL, err, sizeof err), -1);
    assert_null(png);
    assert_non_null(strstr(err, "expected width and height"));
    assert_int_equal(mistake_from_name("offzone"), MISTAKE_OFFZONE);
    assert_int_equal(mistake_from_name("nonsense"), MISTAKE_COUNT);
    assert_string_equal(mistake_name(MISTAKE_LOW_CONTRAST), "low_contrast");
}


/* styled_fraction 0.5: a seed not chosen for styling draws the same bytes as with 0, and
 * its truth names no style; one chosen draws something else. */
static void test_unstyled_seed_draws_the_plain_scene(void **state) {
    (void)state;
    int plain = 0, styled = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        scene_t a = base_scene(seed), b = base_scene(seed);
        b.styled_fraction = 0.5;
        drawn_t da = draw_ok(&a), db = draw_ok(&b);
        assert_string_equal(da.truth.style, "");
        if (!db.truth.style[0]) {
            assert_int_equal(da.len, db.len);
            assert_memory_equal(da.png, db.png, da.len);
            plain++;
        } else {
            assert_false(da.len == db.len && !memcmp(da.png, db.png, da.len));
            styled++;
        }
        free(da.png);
        free(db.png);
    }
    assert_true(plain > 0 && styled > 0);
}

/* Styled scenes: every face, effect and texture occurs, rotations of both signs within
 * 4 degrees; the text is legible by construction: the pixels of each line's box that are
 * not the ink's are, nearly all, far from it in contrast (antialiased edges excepted). */
static void test_styled_scenes_vary_and_keep_contrast_under_the_text(void **state) {
    (void)state;
    char seen[2048] = "";
    int neg = 0, pos = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        scene_t s = base_scene(seed);
        s.styled_fraction = 1;
        drawn_t d = draw_ok(&s);
        assert_true(d.truth.style[0] != 0);
        char face[64], fx[16], tex[16];
        double deg = 0;
        assert_int_equal(sscanf(d.truth.style, "%63[^/]/%15[^/]/%15[^/]/%lfdeg", face, fx, tex, &deg), 4);
        assert_true(fabs(deg) <= 4.0);
        neg += deg < -0.5;
        pos += deg > 0.5;
        char tags[120];
        snprintf(tags, sizeof tags, "|%s|%s|%s|", face, fx, tex);
        for (char *tok = strtok(tags, "|"); tok; tok = strtok(NULL, "|"))
            if (!strstr(seen, tok) && strlen(seen) + strlen(tok) + 2 < sizeof seen) strcat(strcat(seen, tok), "|");
        pixels_t p = decode(&d);
        for (int i = 0; i < d.truth.n_lines; i++) {
            box_t b = d.truth.boxes[i];
            assert_true(b.w > 0 && b.h > 0 && b.x >= 0 && b.y >= 0 && b.x + b.w <= p.w && b.y + b.h <= p.h);
            int far = 0, other = 0, inky = 0;
            for (int y = b.y; y < b.y + b.h; y++)
                for (int x = b.x; x < b.x + b.w; x++) {
                    uint32_t c = pixel(&p, x, y);
                    double cr = color_contrast_ratio(c, d.truth.ink);
                    if (cr < 1.3) inky++;
                    else other++, far += cr >= 3.0;
                }
            assert_true(inky > (b.w * b.h) / 50); /* the text is there */
            assert_true(far >= other * 7 / 10);   /* and stands out from what is around it */
        }
        free(p.rgb);
        free(d.png);
    }
    static const char *const want[] = {"stroke", "shadow", "glow", "stripes", "checks", "confetti", "bokeh"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(seen, want[i])) fail_msg("no styled scene used %s (seen %s)", want[i], seen);
    assert_true(neg > 0 && pos > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_draws_identical_bytes_and_another_seed_does_not),
        cmocka_unit_test(test_clean_scene_truth_equals_request_and_png_has_requested_size),
        cmocka_unit_test(test_ink_falls_back_to_black_or_white_when_palette_ink_lacks_contrast),
        cmocka_unit_test(test_typo_replaces_one_letter_with_a_visibly_different_letter),
        cmocka_unit_test(test_drop_removes_exactly_one_letter),
        cmocka_unit_test(test_extra_adds_exactly_one_letter),
        cmocka_unit_test(test_text_mistake_without_letters_leaves_a_clean_scene),
        cmocka_unit_test(test_offzone_text_crosses_the_safe_zone_and_reaches_an_edge),
        cmocka_unit_test(test_low_contrast_ink_is_close_to_the_background),
        cmocka_unit_test(test_off_palette_background_is_far_from_every_palette_colour),
        cmocka_unit_test(test_off_palette_without_a_palette_is_no_mistake),
        cmocka_unit_test(test_region_holds_the_text),
        cmocka_unit_test(test_font_family_and_style_change_the_drawing),
        cmocka_unit_test(test_every_background_kind_draws_a_valid_png),
        cmocka_unit_test(test_truth_json_round_trips_and_is_ascii),
        cmocka_unit_test(test_invalid_scene_is_refused_with_a_sentence),
        cmocka_unit_test(test_unstyled_seed_draws_the_plain_scene),
        cmocka_unit_test(test_styled_scenes_vary_and_keep_contrast_under_the_text),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    draw_shutdown();
    return failed;
}
