/* draw.c — scenes (background, overlay text in a real font, at most one deliberate
 * mistake) drawn with cairo into PNG bytes, plus the truth of what was drawn; see draw.h.
 *
 * Everything random comes from scene_t.seed through one splitmix64 stream, consumed
 * in a fixed order, so a scene is a pure function of its fields: same scene, same
 * bytes. Fonts are resolved by fontconfig through cairo's "toy" font API, so any
 * installed family name works ("DejaVu Sans", "Liberation Serif", "FreeMono",
 * "DejaVu Sans Condensed"). */
#include "draw.h"


#include <cairo.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <png.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/color.h"

#define DEFAULT_FONT "DejaVu Sans"
#define SAFE_ZONE 0.90      /* title-safe zone: this fraction of each dimension */
#define FIT_MARGIN 0.88     /* text block fills at most this much of its zone */
#define MIN_INK_CONTRAST 4.5

/* ==== Random numbers ==== */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n). */
static int rng_below(rng_t *r, int n) { return n <= 0 ? 0 : (int)(rng_unit(r) * n); }

/* ==== Colours (the science is in color.c, shared with the verifier) ==== */

static double channel(uint32_t c, int shift) { return (double)((c >> shift) & 0xff) / 255.0; }

static double contrast(uint32_t a, uint32_t b) { return color_contrast_ratio(a, b); }

static double ciede2000(uint32_t a, uint32_t b) {
    return color_ciede2000(color_rgb_to_lab(a), color_rgb_to_lab(b));
}

static uint32_t rgb_pack(double r, double g, double b) {
    long R = lround(fmin(fmax(r, 0), 1) * 255), G = lround(fmin(fmax(g, 0), 1) * 255),
         B = lround(fmin(fmax(b, 0), 1) * 255);
    return (uint32_t)((R << 16) | (G << 8) | B);
}

/* Linear mix in sRGB space: t = 0 gives a, t = 1 gives b. */
static uint32_t rgb_mix(uint32_t a, uint32_t b, double t) {
    return rgb_pack(channel(a, 16) + (channel(b, 16) - channel(a, 16)) * t,
                    channel(a, 8) + (channel(b, 8) - channel(a, 8)) * t,
                    channel(a, 0) + (channel(b, 0) - channel(a, 0)) * t);
}

/* Black or white, whichever contrasts more with bg. */
static uint32_t best_mono_ink(uint32_t bg) {
    return contrast(bg, 0x000000) >= contrast(bg, 0xffffff) ? 0x000000
                                                                                  : 0xffffff;
}

/* An ink whose contrast with bg is close to `target` (between 1.3 and 2.0): a mix of
 * bg towards the stronger of black and white, found by bisection. */
static uint32_t low_contrast_ink(uint32_t bg, double target) {
    uint32_t far = best_mono_ink(bg);
    double lo = 0, hi = 1;
    for (int i = 0; i < 30; i++) {
        double mid = (lo + hi) / 2;
        if (contrast(bg, rgb_mix(bg, far, mid)) < target) lo = mid;
        else hi = mid;
    }
    uint32_t ink = rgb_mix(bg, far, (lo + hi) / 2);
    /* 8-bit rounding may land just outside the band; step towards it. */
    for (double t = (lo + hi) / 2; contrast(bg, ink) < 1.3 && t < 1; t += 0.005)
        ink = rgb_mix(bg, far, t);
    for (double t = (lo + hi) / 2; contrast(bg, ink) > 2.0 && t > 0; t -= 0.005)
        ink = rgb_mix(bg, far, t);
    return ink;
}

/* A background colour whose CIEDE2000 distance to every palette colour exceeds 25
 * (30 when one can be found): the off-palette mistake. */
static uint32_t off_palette_color(const scene_t *s, rng_t *r) {
    uint32_t best = 0x808080;
    double best_d = -1;
    for (int tries = 0; tries < 128; tries++) {
        uint32_t c = color_from_hsv(rng_unit(r) * 360.0, 0.35 + 0.6 * rng_unit(r),
                               0.25 + 0.7 * rng_unit(r));
        double d = 1e9;
        for (int i = 0; i < s->n_palette; i++) d = fmin(d, ciede2000(c, s->palette[i]));
        if (d > best_d) best_d = d, best = c;
        if (d > 30) break;
    }
    return best;
}

/* ==== Mistakes on the text ==== */

/* Letters that look alike enough that substituting one for another is not a clearly
 * visible typo (OCR and people confuse them). */
static const char *const CONFUSABLE[] = {"ODQCG", "IJLT", "EFB", "PRB", "UVW", "MNW", "KX",
                                         "oaceq", "iljt", "tf", "nmhu", "bdpq", "vwy", "rn",
                                         NULL};

static bool confusable(char a, char b) {
    if (tolower((unsigned char)a) == tolower((unsigned char)b)) return true;
    for (const char *const *g = CONFUSABLE; *g; g++)
        if (strchr(*g, a) && strchr(*g, b)) return true;
    return false;
}

/* A letter of the same case as `like` that is visibly different from it. */
static char different_letter(char like, rng_t *r) {
    char base = isupper((unsigned char)like) ? 'A' : 'a';
    for (;;) {
        char c = (char)(base + rng_below(r, 26));
        if (!confusable(c, like)) return c;
    }
}

typedef struct {
    int line, pos;
} letter_ref_t;

/* Applies typo/drop/extra to lines in place. Returns false when there is no ASCII
 * letter to change (the scene then has no mistake). */
static bool apply_text_mistake(char lines[][SCENE_LINE_LEN], int n_lines, mistake_t m, rng_t *r) {
    int n = 0;
    for (int l = 0; l < n_lines; l++) {
        size_t len = strlen(lines[l]);
        if (m == MISTAKE_EXTRA && len + 2 >= SCENE_LINE_LEN) continue;
        for (size_t i = 0; i < len; i++)
            if (isalpha((unsigned char)lines[l][i]) && !((unsigned char)lines[l][i] & 0x80)) n++;
    }
    if (n == 0) return false;
    int k = rng_below(r, n);
    letter_ref_t at = {-1, -1};
    for (int l = 0; l < n_lines && at.line < 0; l++) {
        size_t len = strlen(lines[l]);
        if (m == MISTAKE_EXTRA && len + 2 >= SCENE_LINE_LEN) continue;
        for (size_t i = 0; i < len; i++)
            if (isalpha((unsigned char)lines[l][i]) && k-- == 0) {
                at.line = l;
                at.pos = (int)i;
                break;
            }
    }
    char *s = lines[at.line];
    size_t len = strlen(s);
    char c = s[at.pos];
    switch (m) {
    case MISTAKE_TYPO:
        s[at.pos] = different_letter(c, r);
        break;
    case MISTAKE_DROP:
        memmove(s + at.pos, s + at.pos + 1, len - (size_t)at.pos);
        break;
    case MISTAKE_EXTRA: {
        /* Half the time a doubled letter ("SALLE"), else a stray one ("SAKLE"). */
        char add = rng_unit(r) < 0.5 ? c : different_letter(c, r);
        memmove(s + at.pos + 1, s + at.pos, len - (size_t)at.pos + 1);
        s[at.pos + 1] = add;
        break;
    }
    default:
        return false;
    }
    return true;
}

/* ==== Backgrounds ==== */

/* Lightens (amount > 0) or darkens a colour by mixing with white or black. */
static uint32_t shade(uint32_t c, double amount) {
    return amount >= 0 ? rgb_mix(c, 0xffffff, amount) : rgb_mix(c, 0x000000, -amount);
}

static void set_source(cairo_t *cr, uint32_t c, double alpha) {
    cairo_set_source_rgba(cr, channel(c, 16), channel(c, 8), channel(c, 0), alpha);
}

static void paint_gradient(cairo_t *cr, int w, int h, uint32_t bg, rng_t *r) {
    double d = 0.05 + 0.05 * rng_unit(r);
    int dir = rng_below(r, 3);
    cairo_pattern_t *p = dir == 0   ? cairo_pattern_create_linear(0, 0, 0, h)
                         : dir == 1 ? cairo_pattern_create_linear(0, 0, w, 0)
                                    : cairo_pattern_create_linear(0, 0, w, h);
    uint32_t a = shade(bg, d), b = shade(bg, -d);
    cairo_pattern_add_color_stop_rgb(p, 0, channel(a, 16), channel(a, 8), channel(a, 0));
    cairo_pattern_add_color_stop_rgb(p, 1, channel(b, 16), channel(b, 8), channel(b, 0));
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);
}

/* Per-pixel noise of +-amp on each channel, from a xorshift stream seeded by r. */
static void add_noise(cairo_surface_t *surf, rng_t *r, int amp) {
    cairo_surface_flush(surf);
    unsigned char *data = cairo_image_surface_get_data(surf);
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    uint32_t x = (uint32_t)rng_next(r) | 1u;
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        for (int i = 0; i < w; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            uint32_t px = row[i], out = 0;
            for (int sh = 0; sh < 24; sh += 8) {
                int v = (int)((px >> sh) & 0xff) + (int)((x >> sh) % (uint32_t)(2 * amp + 1)) - amp;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                out |= (uint32_t)v << sh;
            }
            row[i] = out | 0xff000000u;
        }
    }
    cairo_surface_mark_dirty(surf);
}

/* Soft blobs: circles and rectangles drawn at 1/8 scale and magnified with a
 * bilinear filter, which blurs them for free. */
static void paint_shapes(cairo_t *cr, const scene_t *s, uint32_t bg, rng_t *r) {
    int sw = s->width / 8 + 1, sh = s->height / 8 + 1;
    cairo_surface_t *small = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, sw, sh);
    cairo_t *sc = cairo_create(small);
    int n = 4 + rng_below(r, 6);
    for (int i = 0; i < n; i++) {
        uint32_t c = s->n_palette > 2 && rng_unit(r) < 0.5
                         ? s->palette[2 + rng_below(r, s->n_palette - 2)]
                         : shade(bg, (rng_unit(r) - 0.5) * 0.5);
        set_source(sc, c, 0.25 + 0.3 * rng_unit(r));
        double x = rng_unit(r) * sw, y = rng_unit(r) * sh, size = (0.1 + 0.3 * rng_unit(r)) * sh;
        if (rng_unit(r) < 0.5) cairo_arc(sc, x, y, size, 0, 2 * M_PI);
        else cairo_rectangle(sc, x - size, y - size * 0.6, size * 2, size * 1.2);
        cairo_fill(sc);
    }
    cairo_destroy(sc);
    cairo_save(cr);
    cairo_scale(cr, (double)s->width / (sw - 1), (double)s->height / (sh - 1));
    cairo_set_source_surface(cr, small, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BILINEAR);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(small);
}

/* A crisp subject in the middle: concentric discs and a bar, shades of bg. */
static void paint_subject(cairo_t *cr, const scene_t *s, uint32_t bg, rng_t *r) {
    double cx = s->width / 2.0, cy = s->height / 2.0;
    double rad = (0.25 + 0.1 * rng_unit(r)) * (s->width < s->height ? s->width : s->height);
    set_source(cr, shade(bg, 0.35), 1);
    cairo_arc(cr, cx, cy, rad, 0, 2 * M_PI);
    cairo_fill(cr);
    set_source(cr, shade(bg, -0.35), 1);
    cairo_arc(cr, cx, cy - rad * 0.25, rad * 0.35, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_rectangle(cr, cx - rad * 0.55, cy + rad * 0.25, rad * 1.1, rad * 0.3);
    cairo_fill(cr);
}

/* ==== Layout ==== */

typedef struct {
    double x, y, w, h;
} rect_t;

static void fonts_warm_up(void) {
    /* fontconfig's first initialisation is not safe to race; do it once, here. */
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 4, 4);
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, DEFAULT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_text_extents_t e;
    cairo_text_extents(cr, "Aa", &e);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}
static pthread_once_t g_fonts_once = PTHREAD_ONCE_INIT;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Clips a box to the image; a box entirely outside becomes empty at the edge. */
static box_t clip_box(double x, double y, double w, double h, int W, int H) {
    int x0 = clampi((int)floor(x), 0, W), y0 = clampi((int)floor(y), 0, H);
    int x1 = clampi((int)ceil(x + w), 0, W), y1 = clampi((int)ceil(y + h), 0, H);
    return (box_t){x0, y0, x1 - x0, y1 - y0};
}

/* ==== PNG output ==== */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} bytes_t;

static int bytes_append(bytes_t *b, const void *data, size_t length) {
    if (b->len + length > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + length) cap *= 2;
        unsigned char *nb = realloc(b->buf, cap);
        if (!nb) return -1;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, length);
    b->len += length;
    return 0;
}

static void png_write_cb(png_structp p, png_bytep data, png_size_t length) {
    if (bytes_append(png_get_io_ptr(p), data, length)) png_error(p, "out of memory");
}
static void png_flush_cb(png_structp p) { (void)p; }

/* Encodes an RGB24 cairo surface as an 8-bit RGB PNG into out. libpng directly rather
 * than cairo_surface_write_to_png_stream: cairo leaves libpng's adaptive filtering on,
 * which costs ~11 ms for 768x512; no filter and zlib level 3 take ~2.5 ms and the
 * flat-colour images we draw stay small (~20 KB). Returns 0 or -1 with err. */
static int png_encode(cairo_surface_t *surf, bytes_t *out, char *err, size_t errlen) {
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    unsigned char *row = malloc((size_t)w * 3);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!row || !p || !info) {
        free(row);
        png_destroy_write_struct(&p, &info);
        snprintf(err, errlen, "draw_scene: out of memory encoding a %dx%d PNG", w, h);
        return -1;
    }
    if (setjmp(png_jmpbuf(p))) {
        free(row);
        png_destroy_write_struct(&p, &info);
        snprintf(err, errlen, "draw_scene: libpng failed encoding a %dx%d PNG", w, h);
        return -1;
    }
    png_set_write_fn(p, out, png_write_cb, png_flush_cb);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(p, 3);
    png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_write_info(p, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *px = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            row[3 * x] = (unsigned char)(px[x] >> 16);
            row[3 * x + 1] = (unsigned char)(px[x] >> 8);
            row[3 * x + 2] = (unsigned char)px[x];
        }
        png_write_row(p, row);
    }
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(row);
    return 0;
}

/* ==== The scene ==== */

static int validate_scene(const scene_t *s, char *err, size_t errlen) {
    if (s->width < 16 || s->height < 16 || s->width > 8192 || s->height > 8192) {
        snprintf(err, errlen, "draw_scene: expected width and height from 16 to 8192 pixels, found %dx%d",
                 s->width, s->height);
        return -1;
    }
    if (s->n_lines < 0 || s->n_lines > SCENE_MAX_LINES) {
        snprintf(err, errlen, "draw_scene: expected 0 to %d lines, found %d", SCENE_MAX_LINES,
                 s->n_lines);
        return -1;
    }
    for (int i = 0; i < s->n_lines; i++)
        if (strnlen(s->lines[i], SCENE_LINE_LEN) >= SCENE_LINE_LEN) {
            snprintf(err, errlen, "draw_scene: line %d is not NUL-terminated within %d bytes", i,
                     SCENE_LINE_LEN);
            return -1;
        }
    if (s->n_palette < 0 || s->n_palette > 8) {
        snprintf(err, errlen, "draw_scene: expected 0 to 8 palette colours, found %d", s->n_palette);
        return -1;
    }
    if ((int)s->mistake < (int)MISTAKE_NONE || (int)s->mistake >= (int)MISTAKE_COUNT) {
        snprintf(err, errlen, "draw_scene: unknown mistake %d", (int)s->mistake);
        return -1;
    }
    if (s->has_region && (s->region_w <= 0 || s->region_h <= 0 || s->region_x < 0 ||
                          s->region_y < 0 || s->region_x + s->region_w > 1.0001 ||
                          s->region_y + s->region_h > 1.0001)) {
        snprintf(err, errlen, "draw_scene: expected a region inside the image (fractions 0..1), "
                 "found x=%g y=%g w=%g h=%g", s->region_x, s->region_y, s->region_w, s->region_h);
        return -1;
    }
    return 0;
}


/* ==== Styled scenes (scene_t.styled_fraction) ==== */

/* Bold display faces of the fonts in scripts/install-deps.sh's main list. */
static const char *const STYLE_FACES[] = {"DejaVu Sans",     "DejaVu Serif",     "DejaVu Sans Condensed",
                                          "Liberation Sans", "Liberation Serif", "Liberation Sans Narrow",
                                          "FreeSans",        "FreeSerif"};
typedef enum { FX_STROKE = 0, FX_SHADOW, FX_GLOW, FX_COUNT } effect_t;
typedef enum { TEX_STRIPES = 0, TEX_CHECKS, TEX_CONFETTI, TEX_BOKEH, TEX_COUNT } texture_t;
static const char *const FX_NAMES[] = {"stroke", "shadow", "glow"};
static const char *const TEX_NAMES[] = {"stripes", "checks", "confetti", "bokeh"};

typedef struct {
    bool on;
    const char *face;
    effect_t effect;
    texture_t texture;
    double angle; /* radians */
    double tex_amount;
    int grain;
    rng_t r;
} style_t;

static style_t choose_style(const scene_t *s) {
    style_t st = {0};
    /* Its own stream: a plain scene draws exactly what it drew before styles existed. */
    st.r = (rng_t){s->seed ^ 0x5354594c45535459ULL}; /* "STYLESTY" */
    if (s->styled_fraction <= 0 || rng_unit(&st.r) >= s->styled_fraction) return st;
    st.on = true;
    st.face = STYLE_FACES[rng_below(&st.r, (int)(sizeof STYLE_FACES / sizeof *STYLE_FACES))];
    st.effect = (effect_t)rng_below(&st.r, FX_COUNT);
    st.texture = (texture_t)rng_below(&st.r, TEX_COUNT);
    st.angle = (rng_unit(&st.r) * 8.0 - 4.0) * M_PI / 180.0;
    st.tex_amount = 0.10 + 0.12 * rng_unit(&st.r);
    /* Grain on a third of them: noise costs the PNG encoder several times the drawing. */
    st.grain = rng_below(&st.r, 3) == 0 ? 3 + rng_below(&st.r, 5) : 0;
    return st;
}

/* A busy texture over the background, in shades of it. */
static void paint_texture(cairo_t *cr, int w, int h, uint32_t bg, style_t *st) {
    rng_t *r = &st->r;
    double d = st->tex_amount;
    uint32_t lo = shade(bg, -d), hi = shade(bg, d);
    if (st->texture == TEX_STRIPES || st->texture == TEX_CHECKS) {
        double period = 18 + rng_below(r, 30);
        cairo_save(cr);
        cairo_translate(cr, w / 2.0, h / 2.0);
        cairo_rotate(cr, rng_unit(r) * M_PI);
        double R = hypot(w, h);
        set_source(cr, lo, 1);
        for (double x = -R; x < R; x += period) cairo_rectangle(cr, x, -R, period / 2, 2 * R);
        cairo_fill(cr);
        if (st->texture == TEX_CHECKS) {
            set_source(cr, hi, 0.5);
            for (double y = -R; y < R; y += period) cairo_rectangle(cr, -R, y, 2 * R, period / 2);
            cairo_fill(cr);
        }
        cairo_restore(cr);
    } else if (st->texture == TEX_CONFETTI) {
        int n = 150 + rng_below(r, 150);
        for (int i = 0; i < n; i++) {
            double x = rng_unit(r) * w, y = rng_unit(r) * h, a = rng_unit(r) * M_PI;
            double hue = rng_unit(r) * 360;
            uint32_t c = rgb_mix(bg, color_from_hsv(hue, 0.7, 0.9), d * 1.5);
            cairo_save(cr);
            cairo_translate(cr, x, y);
            cairo_rotate(cr, a);
            set_source(cr, c, 1);
            cairo_rectangle(cr, -5, -2, 10, 4);
            cairo_fill(cr);
            cairo_restore(cr);
        }
    } else {
        int n = 18 + rng_below(r, 18);
        for (int i = 0; i < n; i++) {
            double x = rng_unit(r) * w, y = rng_unit(r) * h, rad = 20 + rng_unit(r) * 70;
            cairo_pattern_t *p = cairo_pattern_create_radial(x, y, 0, x, y, rad);
            uint32_t c = rng_below(r, 2) ? hi : lo;
            cairo_pattern_add_color_stop_rgba(p, 0, channel(c, 16), channel(c, 8), channel(c, 0), 0.9);
            cairo_pattern_add_color_stop_rgba(p, 1, channel(c, 16), channel(c, 8), channel(c, 0), 0);
            cairo_set_source(cr, p);
            cairo_arc(cr, x, y, rad, 0, 2 * M_PI);
            cairo_fill(cr);
            cairo_pattern_destroy(p);
        }
    }
}

/* The lowest contrast of ink against the pixels of surf inside the box, on a grid of
 * every 3rd pixel (the textures' features are larger than that). */
static double worst_contrast(cairo_surface_t *surf, box_t b, uint32_t ink) {
    cairo_surface_flush(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    double worst = 21;
    for (int y = b.y; y < b.y + b.h; y += 3)
        for (int x = b.x; x < b.x + b.w; x += 3) {
            uint32_t px = *(const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride + (size_t)x * 4) & 0xffffff;
            worst = fmin(worst, contrast(ink, px));
        }
    return worst;
}

/* The axis-aligned box of rectangle r rotated by angle about (cx, cy). */
static rect_t rotated_rect(rect_t r, double angle, double cx, double cy) {
    double xs[4] = {r.x, r.x + r.w, r.x + r.w, r.x}, ys[4] = {r.y, r.y, r.y + r.h, r.y + r.h};
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9, c = cos(angle), sn = sin(angle);
    for (int i = 0; i < 4; i++) {
        double dx = xs[i] - cx, dy = ys[i] - cy;
        double X = cx + dx * c - dy * sn, Y = cy + dx * sn + dy * c;
        x0 = fmin(x0, X), y0 = fmin(y0, Y), x1 = fmax(x1, X), y1 = fmax(y1, Y);
    }
    return (rect_t){x0, y0, x1 - x0, y1 - y0};
}

/* The text path's effect, drawn under the fill: a stroke, a drop shadow or a glow in the
 * colour opposite the ink. */
static void draw_effect(cairo_t *cr, const style_t *st, uint32_t ink, double size) {
    uint32_t halo = best_mono_ink(ink);
    if (st->effect == FX_STROKE) {
        set_source(cr, halo, 1);
        cairo_set_line_width(cr, fmax(2, size * 0.08));
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_stroke_preserve(cr);
    } else if (st->effect == FX_SHADOW) {
        cairo_save(cr);
        cairo_translate(cr, size * 0.05, size * 0.05);
        set_source(cr, halo, 0.6);
        cairo_fill_preserve(cr);
        cairo_restore(cr);
    } else {
        set_source(cr, halo, 0.25);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        for (double lw = size * 0.22; lw > size * 0.05; lw *= 0.5) {
            cairo_set_line_width(cr, lw);
            cairo_stroke_preserve(cr);
        }
    }
}


int draw_scene(const scene_t *s, unsigned char **png, size_t *len, scene_truth_t *truth,
               char *err, size_t errlen) {
    *png = NULL;
    *len = 0;
    if (validate_scene(s, err, errlen)) return -1;
    pthread_once(&g_fonts_once, fonts_warm_up);

    rng_t r = {s->seed ^ 0x5052455353524f4fULL}; /* "PRESSROO" */
    scene_truth_t t;
    memset(&t, 0, sizeof t);
    t.n_lines = s->n_lines;
    for (int i = 0; i < s->n_lines; i++) memcpy(t.lines[i], s->lines[i], SCENE_LINE_LEN);
    t.mistake = s->mistake;

    /* A fixed number of draws from the main stream (colours, layout jitter), then
     * separate streams for the mistake and the background texture: a clean scene and
     * its mistaken twin share background and layout. */
    double hue = rng_unit(&r) * 360.0, sat = 0.3 + 0.5 * rng_unit(&r), val = 0.3 + 0.65 * rng_unit(&r);
    double target = 1.35 + 0.5 * rng_unit(&r);
    double size_jitter = 0.75 + 0.25 * rng_unit(&r);
    double jx = rng_unit(&r) - 0.5, jy = rng_unit(&r) - 0.5;
    int offzone_dir = rng_below(&r, 4);
    double overhang = 0.03 + 0.12 * rng_unit(&r);
    rng_t r_mistake = {rng_next(&r)}, r_texture = {rng_next(&r)};
    style_t st = choose_style(s);

    uint32_t bg = s->n_palette >= 1 ? s->palette[0] : color_from_hsv(hue, sat, val);
    if (s->mistake == MISTAKE_OFF_PALETTE) {
        if (s->n_palette >= 1) bg = off_palette_color(s, &r_mistake);
        else t.mistake = MISTAKE_NONE; /* nothing to be off from */
    }
    uint32_t ink = best_mono_ink(bg);
    if (s->n_palette >= 2 && contrast(s->palette[1], bg) >= MIN_INK_CONTRAST)
        ink = s->palette[1];
    if (s->mistake == MISTAKE_LOW_CONTRAST) ink = low_contrast_ink(bg, target);
    t.ink = ink;
    t.background = bg;

    if (s->mistake == MISTAKE_TYPO || s->mistake == MISTAKE_DROP || s->mistake == MISTAKE_EXTRA)
        if (!apply_text_mistake(t.lines, t.n_lines, s->mistake, &r_mistake)) t.mistake = MISTAKE_NONE;

    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, s->width, s->height);
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "draw_scene: cannot create a %dx%d cairo surface: %s", s->width,
                 s->height, cairo_status_to_string(cairo_status(cr)));
        cairo_destroy(cr);
        cairo_surface_destroy(surf);
        return -1;
    }

    /* Background. */
    set_source(cr, bg, 1);
    cairo_paint(cr);
    if (s->background == BG_GRADIENT) paint_gradient(cr, s->width, s->height, bg, &r_texture);
    else if (s->background == BG_SHAPES) paint_shapes(cr, s, bg, &r_texture);
    else if (s->background == BG_SUBJECT) paint_subject(cr, s, bg, &r_texture);
    else if (s->background == BG_NOISE) add_noise(surf, &r_texture, 14);
    if (st.on && t.n_lines > 0) paint_texture(cr, s->width, s->height, bg, &st);

    /* Font and size: the block of lines fits its zone with a margin. */
    const char *family = st.on ? st.face : s->font_family && *s->font_family ? s->font_family : DEFAULT_FONT;
    cairo_select_font_face(cr, family, s->italic && !st.on ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                           s->bold || st.on ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    rect_t zone = {s->width * (1 - SAFE_ZONE) / 2, s->height * (1 - SAFE_ZONE) / 2,
                   s->width * SAFE_ZONE, s->height * SAFE_ZONE};
    if (s->has_region)
        zone = (rect_t){s->region_x * s->width, s->region_y * s->height, s->region_w * s->width,
                        s->region_h * s->height};
    if (t.n_lines > 0) {
        cairo_set_font_size(cr, 100);
        cairo_font_extents_t fe;
        cairo_font_extents(cr, &fe);
        double max_w = 0;
        for (int i = 0; i < t.n_lines; i++) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, t.lines[i], &e);
            max_w = fmax(max_w, e.width);
        }
        double block_h = (fe.ascent + fe.descent) * (1.0 + 1.08 * (t.n_lines - 1));
        double scale = zone.h * FIT_MARGIN / block_h;
        if (max_w > 0) scale = fmin(scale, zone.w * FIT_MARGIN / max_w);
        double size = fmax(6.0, 100.0 * scale * size_jitter);
        cairo_set_font_size(cr, size);
        cairo_font_extents(cr, &fe);

        double line_h = (fe.ascent + fe.descent) * 1.08;
        double text_h = (fe.ascent + fe.descent) + line_h * (t.n_lines - 1);
        cairo_text_extents_t ext[SCENE_MAX_LINES];
        double text_w = 0;
        for (int i = 0; i < t.n_lines; i++) {
            cairo_text_extents(cr, t.lines[i], &ext[i]);
            text_w = fmax(text_w, ext[i].width);
        }
        double bx = zone.x + (zone.w - text_w) / 2 + jx * fmax(0, zone.w - text_w) * 0.4;
        double by = zone.y + (zone.h - text_h) / 2 + jy * fmax(0, zone.h - text_h) * 0.4;

        /* Ink boxes before any offzone shift. */
        rect_t ink_box[SCENE_MAX_LINES];
        double ux0 = 1e9, uy0 = 1e9, ux1 = -1e9, uy1 = -1e9;
        double origin_x[SCENE_MAX_LINES], baseline[SCENE_MAX_LINES];
        for (int i = 0; i < t.n_lines; i++) {
            baseline[i] = by + fe.ascent + i * line_h;
            origin_x[i] = bx + (text_w - ext[i].width) / 2 - ext[i].x_bearing;
            ink_box[i] = (rect_t){origin_x[i] + ext[i].x_bearing, baseline[i] + ext[i].y_bearing,
                                  ext[i].width, ext[i].height};
            if (ext[i].width <= 0) continue;
            ux0 = fmin(ux0, ink_box[i].x);
            uy0 = fmin(uy0, ink_box[i].y);
            ux1 = fmax(ux1, ink_box[i].x + ink_box[i].w);
            uy1 = fmax(uy1, ink_box[i].y + ink_box[i].h);
        }
        double dx = 0, dy = 0;
        if (s->mistake == MISTAKE_OFFZONE) {
            if (ux1 < ux0) t.mistake = MISTAKE_NONE; /* no ink to move */
            else if (offzone_dir == 0) dx = -ux0 - overhang * (ux1 - ux0);
            else if (offzone_dir == 1) dx = s->width - ux1 + overhang * (ux1 - ux0);
            else if (offzone_dir == 2) dy = -uy0 - overhang * (uy1 - uy0);
            else dy = s->height - uy1 + overhang * (uy1 - uy0);
        }
        if (!st.on) {
            set_source(cr, ink, 1);
            for (int i = 0; i < t.n_lines; i++) {
                cairo_move_to(cr, origin_x[i] + dx, baseline[i] + dy);
                cairo_show_text(cr, t.lines[i]);
                t.boxes[i] = clip_box(ink_box[i].x + dx, ink_box[i].y + dy, ink_box[i].w, ink_box[i].h,
                                      s->width, s->height);
            }
        } else {
            double cx = (ux0 + ux1) / 2 + dx, cy = (uy0 + uy1) / 2 + dy;
            double pad = size * 0.25; /* the effect's reach */
            rect_t under = rotated_rect((rect_t){ux0 + dx - pad, uy0 + dy - pad, ux1 - ux0 + 2 * pad,
                                                 uy1 - uy0 + 2 * pad}, st.angle, cx, cy);
            box_t ub = clip_box(under.x, under.y, under.w, under.h, s->width, s->height);
            bool legible = true;
            if (s->mistake != MISTAKE_LOW_CONTRAST && ub.w > 0 && ub.h > 0) {
                /* Legible by construction: the ink against the pixels actually under the
                 * text, with room for the grain; else black or white; else no texture. */
                const uint32_t cands[3] = {ink, 0x000000, 0xffffff};
                double best = -1;
                uint32_t pick = ink;
                for (int k = 0; k < 3; k++) {
                    double w = worst_contrast(surf, ub, cands[k]);
                    if (w > best + 0.01) best = w, pick = cands[k];
                    if (k == 0 && w >= MIN_INK_CONTRAST + 1) break;
                }
                ink = pick;
                if (best < MIN_INK_CONTRAST + 1) {
                    set_source(cr, bg, 1);
                    cairo_paint(cr);
                    ink = t.ink;
                    legible = false;
                }
            }
            t.ink = ink;
            snprintf(t.style, sizeof t.style, "%s/%s/%s/%.1fdeg", st.face, FX_NAMES[st.effect],
                     legible ? TEX_NAMES[st.texture] : "plain", st.angle * 180 / M_PI);
            for (int i = 0; i < t.n_lines; i++) {
                cairo_save(cr);
                cairo_translate(cr, cx, cy);
                cairo_rotate(cr, st.angle);
                cairo_translate(cr, -cx, -cy);
                cairo_move_to(cr, origin_x[i] + dx, baseline[i] + dy);
                cairo_text_path(cr, t.lines[i]);
                draw_effect(cr, &st, ink, size);
                set_source(cr, ink, 1);
                cairo_fill(cr);
                cairo_restore(cr);
                rect_t rb = rotated_rect((rect_t){ink_box[i].x + dx, ink_box[i].y + dy, ink_box[i].w, ink_box[i].h},
                                         st.angle, cx, cy);
                t.boxes[i] = clip_box(rb.x, rb.y, rb.w, rb.h, s->width, s->height);
            }
            if (st.grain) add_noise(surf, &st.r, st.grain);
        }
    } else if (s->mistake == MISTAKE_OFFZONE || s->mistake == MISTAKE_LOW_CONTRAST) {
        t.mistake = MISTAKE_NONE; /* no text to misplace or fade */
    }

    cairo_destroy(cr);
    cairo_surface_flush(surf);
    bytes_t out = {0};
    int rc = png_encode(surf, &out, err, errlen);
    cairo_surface_destroy(surf);
    if (rc) {
        free(out.buf);
        return -1;
    }
    *png = out.buf;
    *len = out.len;
    if (truth) *truth = t;
    return 0;
}

void draw_shutdown(void) {
    cairo_debug_reset_static_data();
    /* fontconfig is cairo's dependency, not ours: found at run time, not linked. */
    void (*fc_fini)(void);
    *(void **)&fc_fini = dlsym(RTLD_DEFAULT, "FcFini");
    if (fc_fini) fc_fini();
}

/* ==== Names ==== */

static const char *const MISTAKE_NAMES[MISTAKE_COUNT] = {
    "none", "typo", "drop", "extra", "offzone", "low_contrast", "off_palette"};

const char *mistake_name(mistake_t m) {
    return (int)m >= 0 && (int)m < (int)MISTAKE_COUNT ? MISTAKE_NAMES[m] : "unknown";
}

mistake_t mistake_from_name(const char *name) {
    for (int i = 0; name && i < MISTAKE_COUNT; i++)
        if (!strcmp(name, MISTAKE_NAMES[i])) return (mistake_t)i;
    return MISTAKE_COUNT;
}

/* ==== Truth as JSON ==== */

static void out_append(bytes_t *b, const char *s, size_t n) {
    if (bytes_append(b, s, n)) abort(); /* out of memory for a few hundred bytes */
}

static void out_printf(bytes_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(bytes_t *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    out_append(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
}

/* Decodes one UTF-8 sequence at s (NUL-terminated); returns its length, and the code
 * point in *cp (U+FFFD for an invalid sequence, consuming one byte). */
static int utf8_decode(const unsigned char *s, uint32_t *cp) {
    int n = s[0] >= 0xf0 && s[0] < 0xf8 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (s[0] >= 0xf8) n = 0;
    if (n == 0) {
        *cp = 0xfffd;
        return 1;
    }
    uint32_t c = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        c = 0xfffd;
    *cp = c;
    return n;
}

/* A JSON string, pure ASCII: control and non-ASCII characters as \uXXXX. */
static void out_json_string(bytes_t *b, const char *s) {
    out_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p++};
            out_append(b, esc, 2);
        } else if (*p >= 0x20 && *p < 0x7f) {
            out_append(b, (const char *)p++, 1);
        } else if (*p < 0x80) {
            out_printf(b, "\\u%04x", *p++);
        } else {
            uint32_t cp;
            p += utf8_decode(p, &cp);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                out_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else {
                out_printf(b, "\\u%04x", cp);
            }
        }
    }
    out_append(b, "\"", 1);
}

char *scene_truth_json_tagged(const scene_truth_t *t, const char *model, uint64_t seed) {
    bytes_t b = {0};
    out_printf(&b, "{\"lines\":[");
    for (int i = 0; i < t->n_lines; i++) {
        if (i) out_append(&b, ",", 1);
        out_json_string(&b, t->lines[i]);
    }
    out_printf(&b, "],\"boxes\":[");
    for (int i = 0; i < t->n_lines; i++)
        out_printf(&b, "%s[%d,%d,%d,%d]", i ? "," : "", t->boxes[i].x, t->boxes[i].y,
                   t->boxes[i].w, t->boxes[i].h);
    out_printf(&b, "],\"ink\":\"#%06X\",\"background\":\"#%06X\",\"mistake\":\"%s\"",
               t->ink & 0xffffff, t->background & 0xffffff, mistake_name(t->mistake));
    if (model) {
        out_printf(&b, ",\"model\":");
        out_json_string(&b, model);
    }
    if (model || seed) out_printf(&b, ",\"seed\":%llu", (unsigned long long)seed);
    out_append(&b, "}", 2); /* with the NUL */
    return (char *)b.buf;
}

char *scene_truth_json(const scene_truth_t *t) { return scene_truth_json_tagged(t, NULL, 0); }

static int parse_hex_color(const cJSON *v, uint32_t *out) {
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 7 || v->valuestring[0] != '#') return -1;
    char *end;
    unsigned long c = strtoul(v->valuestring + 1, &end, 16);
    if (*end) return -1;
    *out = (uint32_t)c;
    return 0;
}

int scene_truth_parse(const char *json, scene_truth_t *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    cJSON *root = cJSON_Parse(json);
    const char *what = NULL;
    if (!cJSON_IsObject(root)) what = "a JSON object";
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(root, "lines");
    const cJSON *boxes = cJSON_GetObjectItemCaseSensitive(root, "boxes");
    if (!what && (!cJSON_IsArray(lines) || cJSON_GetArraySize(lines) > SCENE_MAX_LINES))
        what = "\"lines\": an array of at most 8 strings";
    if (!what && (!cJSON_IsArray(boxes) || cJSON_GetArraySize(boxes) != cJSON_GetArraySize(lines)))
        what = "\"boxes\": an array of [x,y,w,h], one per line";
    if (!what) {
        const cJSON *it;
        cJSON_ArrayForEach(it, lines) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= SCENE_LINE_LEN) {
                what = "\"lines\": strings shorter than 256 bytes";
                break;
            }
            snprintf(t->lines[t->n_lines++], SCENE_LINE_LEN, "%s", it->valuestring);
        }
        int i = 0;
        cJSON_ArrayForEach(it, boxes) {
            int v[4];
            if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 4) {
                what = "\"boxes\": arrays of 4 integers";
                break;
            }
            for (int k = 0; k < 4; k++) {
                const cJSON *n = cJSON_GetArrayItem(it, k);
                v[k] = cJSON_IsNumber(n) ? n->valueint : 0;
            }
            t->boxes[i++] = (box_t){v[0], v[1], v[2], v[3]};
        }
    }
    if (!what && (parse_hex_color(cJSON_GetObjectItemCaseSensitive(root, "ink"), &t->ink) ||
                  parse_hex_color(cJSON_GetObjectItemCaseSensitive(root, "background"), &t->background)))
        what = "\"ink\" and \"background\" as \"#RRGGBB\"";
    if (!what) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "mistake");
        t->mistake = cJSON_IsString(m) ? mistake_from_name(m->valuestring) : MISTAKE_COUNT;
        if (t->mistake == MISTAKE_COUNT) what = "\"mistake\": one of none, typo, drop, extra, "
                                                "offzone, low_contrast, off_palette";
    }
    cJSON_Delete(root);
    if (what) {
        snprintf(err, errlen, "scene truth: expected %s", what);
        return -1;
    }
    return 0;
}
