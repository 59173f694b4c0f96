/* read.c — reading the lines with OCR: each box's chosen channel cropped, scaled to
 * a modest text height, made dark-on-light and binarised, then one Tesseract call
 * (ocr_box); the first pass over the largest boxes (read_lines); and the extra passes
 * (other binarisation, scale, page mode) for a line whose first reading does not
 * match (retry_line), which checks.c decides to ask for. See verify_internal.h. */
#include "verify/verify_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/color.h"
#include "verify/textnorm.h"

/* ==== Small image helpers ==== */

static inline int px_channel(const unsigned char *p, int ch) {
    return ch == 0 ? (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8 : p[ch - 1];
}

/* Resamples a grey image (sw x sh) to dw x dh: area average when shrinking,
 * bilinear when enlarging. */
static void resample(const unsigned char *src, int sw, int sh, unsigned char *dst, int dw, int dh) {
    double sx = (double)sw / dw, sy = (double)sh / dh;
    if (sx >= 1 && sy >= 1) {
        for (int y = 0; y < dh; y++) {
            int y0 = (int)(y * sy), y1 = (int)((y + 1) * sy);
            if (y1 <= y0) y1 = y0 + 1;
            if (y1 > sh) y1 = sh;
            for (int x = 0; x < dw; x++) {
                int x0 = (int)(x * sx), x1 = (int)((x + 1) * sx);
                if (x1 <= x0) x1 = x0 + 1;
                if (x1 > sw) x1 = sw;
                unsigned sum = 0, n = 0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++) sum += src[(size_t)yy * sw + xx], n++;
                dst[(size_t)y * dw + x] = (unsigned char)(n ? sum / n : 255);
            }
        }
        return;
    }
    for (int y = 0; y < dh; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < dw; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double tx = fx - x0;
            double a = src[(size_t)y0 * sw + x0] * (1 - tx) + src[(size_t)y0 * sw + x1] * tx;
            double b = src[(size_t)y1 * sw + x0] * (1 - tx) + src[(size_t)y1 * sw + x1] * tx;
            dst[(size_t)y * dw + x] = (unsigned char)(a * (1 - ty) + b * ty + 0.5);
        }
    }
}

/* ==== OCR of one line ==== */

/* Variants of the OCR input for a line. */
typedef enum { BIN_OTSU = 0, BIN_GREY, BIN_MIDPOINT } binmode_t;

/* OCRs box b: crop the chosen channel, scale so the text is about target_h pixels
 * tall, make it dark-on-light and binarise per mode, white margin, one OCR call. */
static void ocr_box_model(vctx_t *c, tbox_t *b, ocr_model_t model, double target_h, binmode_t mode, int psm,
                          ocr_line_t *out) {
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, ch = k.y1 - k.y0;
    unsigned char *src = malloc((size_t)cw * ch);
    if (!src) abort();
    /* Dark text on light; an outline round the letters (b->outlined) is ground. */
    unsigned char ground = (unsigned char)(b->dark_text ? 255 : 0);
    for (size_t i = 0; i < (size_t)cw * ch; i++) {
        unsigned char v = b->chan[i];
        if (b->outlined && v >= b->stroke_lo && v <= b->stroke_hi) v = ground;
        src[i] = (unsigned char)(b->dark_text ? v : 255 - v);
    }
    double s = target_h / b->h;
    if (s > 4) s = 4;
    if (s > 0.85 && s < 1.25) s = 1; /* close enough: skip the resample */
    int dw = (int)(cw * s + 0.5), dh = (int)(ch * s + 0.5);
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    unsigned char *dst = src;
    if (s != 1) {
        dst = malloc((size_t)dw * dh);
        if (!dst) abort();
        resample(src, cw, ch, dst, dw, dh);
    }
    int thr;
    if (mode == BIN_MIDPOINT) {
        int ink = px_channel((const unsigned char[]){RGB_R(b->ink), RGB_G(b->ink), RGB_B(b->ink)}, b->channel);
        int gr = px_channel((const unsigned char[]){RGB_R(b->ground), RGB_G(b->ground), RGB_B(b->ground)}, b->channel);
        if (!b->dark_text) ink = 255 - ink, gr = 255 - gr;
        thr = (ink + gr) / 2;
    } else {
        unsigned hist[256] = {0};
        for (size_t i = 0; i < (size_t)dw * dh; i++) hist[dst[i]]++;
        double eta;
        thr = otsu(hist, &eta);
    }
    int m = 8, ow = dw + 2 * m, oh = dh + 2 * m;
    unsigned char *o = malloc((size_t)ow * oh);
    if (!o) abort();
    memset(o, 255, (size_t)ow * oh);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            unsigned char v = dst[(size_t)y * dw + x];
            o[(size_t)(y + m) * ow + x + m] = mode == BIN_GREY ? v : (v <= thr ? 0 : 255);
        }
    double t0 = (double)mono_us() / 1e3;
    ocr_engine_read_model(c->ocr, model, o, ow, oh, psm, out);
    c->ocr_ms += (double)mono_us() / 1e3 - t0;
    /* The words' and the characters' boxes on the page (the margin taken off, the
     * scale undone; a box's low edge rounded down, its high edge up). */
#define ON_PAGE(v, origin, round) ((origin) + (int)round(((v) - m) / s))
    for (int i = 0; i < out->n_words; i++) {
        out->word_x0[i] = ON_PAGE(out->word_x0[i], k.x0, floor);
        out->word_x1[i] = ON_PAGE(out->word_x1[i], k.x0, ceil);
    }
    for (int i = 0; i < out->n_symbols; i++) {
        ocr_symbol_t *y = &out->symbols[i];
        y->x0 = ON_PAGE(y->x0, k.x0, floor), y->x1 = ON_PAGE(y->x1, k.x0, ceil);
        y->y0 = ON_PAGE(y->y0, k.y0, floor), y->y1 = ON_PAGE(y->y1, k.y0, ceil);
    }
#undef ON_PAGE
    c->ocr_calls++;
    free(o);
    if (dst != src) free(dst);
    free(src);
}

static void ocr_box(vctx_t *c, tbox_t *b, double target_h, binmode_t mode, int psm, ocr_line_t *out) {
    ocr_box_model(c, b, OCR_MODEL_ENG, target_h, mode, psm, out);
}

/* ==== Readings ==== */

/* Marks OCR makes of specks, rules, shadow edges and glow fringes at a line's ends
 * ("'Night", "__ Best", "Sale."). */
static bool stray_mark(char ch) { return ch && strchr("'\"`.,:;_|-~^*", ch) != NULL; }

/* True when some expected line starts (end = false) or ends with a stray mark. */
static bool expected_has_mark(const vctx_t *c, bool end) {
    for (int j = 0; j < c->n_expected; j++) {
        size_t n = strlen(c->expected[j]);
        if (n && stray_mark(end ? c->expected[j][n - 1] : c->expected[j][0])) return true;
    }
    return false;
}

/* True when some expected line has the mark `ch` as a word of its own ("Sale - 50%"). */
static bool expected_has_lone_mark(const vctx_t *c, char ch) {
    for (int j = 0; j < c->n_expected; j++)
        for (const char *e = c->expected[j]; (e = strchr(e, ch)); e++)
            if ((e == c->expected[j] || e[-1] == ' ') && (e[1] == ' ' || !e[1])) return true;
    return false;
}

/* True when some expected line holds the character ch. */
static bool expected_has(const vctx_t *c, char ch) {
    for (int j = 0; j < c->n_expected; j++)
        if (strchr(c->expected[j], ch)) return true;
    return false;
}

static bool ascii_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* The normalised reading of `text` into norm, without stray marks at an end where
 * no expected line has one, nor a mark read as a word of its own between words
 * ("Night hour ' $4.50": a speck or a shadow's edge) where no expected line has that
 * mark alone: a reading is compared with the text, not with the speckle beside it.
 * An "@" next to a digit is a dotted zero (eng reads Fira Code's 0, a dot inside,
 * as "@": "1@ Days" on correct images), unless the text has an "@" itself; an "@"
 * among letters ("Dr@p", the 0 drawn for an o) stays what it is. */
static void normalise_reading(const vctx_t *c, const char *text, char *norm, size_t len) {
    textnorm(text, norm, len, casefold(c));
    if (!expected_has(c, '@'))
        for (char *p = norm; (p = strchr(p, '@')); p++)
            if ((p > norm && ascii_digit(p[-1])) || ascii_digit(p[1])) *p = '0';
    size_t n = strlen(norm), a = 0;
    if (!expected_has_mark(c, true))
        while (n > 0 && (stray_mark(norm[n - 1]) || norm[n - 1] == ' ')) n--;
    if (!expected_has_mark(c, false))
        while (a < n && (stray_mark(norm[a]) || norm[a] == ' ')) a++;
    memmove(norm, norm + a, n - a);
    norm[n - a] = '\0';
    /* " X " with X a single stray mark becomes " ". */
    for (char *m = norm; (m = strchr(m, ' '));) {
        if (stray_mark(m[1]) && m[2] == ' ' && !expected_has_lone_mark(c, m[1]))
            memmove(m, m + 2, strlen(m + 2) + 1);
        else
            m++;
    }
}

static void set_reading(vctx_t *c, tbox_t *b, const ocr_line_t *line) {
    b->ocr = *line;
    normalise_reading(c, line->text, b->norm, sizeof b->norm);
}

/* A word that is one mark ("'", "|", "."), or one typographic quote or dash: what
 * the reading's ends and gaps drop (normalise_reading). */
static bool lone_mark_word(const char *w) {
    char norm[16];
    textnorm(w, norm, sizeof norm, false);
    return norm[0] && !norm[1] && stray_mark(norm[0]);
}

double line_min_conf(const ocr_line_t *l) {
    double mn = 100;
    int n = 0;
    /* A lone mark's confidence says nothing about the letters (a speck read "'" at 27%). */
    for (int k = 0; k < l->n_words; k++)
        if (!lone_mark_word(l->words[k])) mn = fmin(mn, l->word_conf[k]), n++;
    return n ? mn : 0;
}

/* Extra passes for an expected line that no first reading matched: tries other
 * inputs on the box most like it and keeps the first that reads it exactly. */
bool retry_line(vctx_t *c, tbox_t *b, const char *want, double need_conf) {
    static const struct {
        double target;
        binmode_t mode;
        int psm;
    } passes[] = {
        {40, BIN_GREY, OCR_PSM_LINE},  {64, BIN_OTSU, OCR_PSM_LINE},
        {32, BIN_MIDPOINT, OCR_PSM_LINE}, {48, BIN_OTSU, OCR_PSM_RAW_LINE},
        {56, BIN_GREY, OCR_PSM_WORD},
    };
    bool one_word = !strchr(want, ' ');
    b->first = b->ocr;
    int agree = 0; /* passes in a row that read exactly the first (wrong) reading */
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
        if (passes[i].psm == OCR_PSM_WORD && !one_word) continue;
        ocr_line_t line;
        ocr_box(c, b, passes[i].target, passes[i].mode, passes[i].psm, &line);
        b->passes++;
        char norm[OCR_TEXT_LEN];
        normalise_reading(c, line.text, norm, sizeof norm);
        if (!strcmp(norm, want) && line_min_conf(&line) >= need_conf) {
            set_reading(c, b, &line);
            return true;
        }
        /* Two more inputs (other binarisation, other scale) reading the very same
         * wrong text: the text really is that; further passes only cost time. */
        agree = strcmp(norm, want) && !strcmp(norm, b->norm) ? agree + 1 : 0;
        if (agree >= 2) break;
    }
    return false;
}

/* Narrows box b to the columns of its rows that hold ink (at least a tenth of the
 * box's height, or 2 pixels, on the ink side of its threshold): a box grown by an
 * estimate of the missing letters, trimmed back to what is drawn. */
static void tighten_columns(const vctx_t *c, tbox_t *b) {
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, need = b->h / 10 > 2 ? b->h / 10 : 2;
    int x0 = b->x + b->w, x1 = b->x;
    for (int x = b->x; x < b->x + b->w; x++) {
        int n = 0;
        for (int y = b->y; y < b->y + b->h; y++) {
            unsigned char v = b->chan[(size_t)(y - k.y0) * cw + x - k.x0];
            n += box_ink(b, v);
        }
        if (n >= need) {
            if (x < x0) x0 = x;
            x1 = x + 1;
        }
    }
    if (x1 > x0) b->w = x1 - x0, b->x = x0;
}

bool extend_line(vctx_t *c, tbox_t *b, const char *want, double need_conf) {
    size_t n = strlen(b->norm), m = strlen(want), start, end;
    if (n < 3 || n >= m) return false;
    int slips = text_infix_distance(b->norm, want, &start, &end);
    size_t pre = start, post = m - end;
    if (slips * 10 > (int)n * 3 || pre + post == 0) return false;
    /* The reading's own width per character, the missing ones and one more each
     * side; never past the image. */
    double cw = (double)b->w / n;
    int W = c->img.w;
    tbox_t t = *b;
    t.chan = NULL;
    int x0 = pre ? (int)(b->x - (pre + 1) * cw) : b->x, x1 = post ? (int)(b->x + b->w + (post + 1) * cw) : b->x + b->w;
    t.x = x0 < 0 ? 0 : x0;
    t.w = (x1 > W ? W : x1) - t.x;
    if (t.w <= b->w) return false;
    analyse_box(c, &t);
    tighten_columns(c, &t);
    free(t.chan);
    analyse_box(c, &t);
    ocr_line_t line;
    ocr_box(c, &t, 40, BIN_OTSU, OCR_PSM_LINE, &line);
    b->passes++;
    char norm[OCR_TEXT_LEN];
    normalise_reading(c, line.text, norm, sizeof norm);
    if (strcmp(norm, want) || line_min_conf(&line) < need_conf) {
        free(t.chan);
        return false;
    }
    /* Adopted: the grown box is the line's, its ink marked like any line's. */
    free(b->chan);
    t.passes = b->passes;
    *b = t;
    mark_box_ink(c, b);
    set_reading(c, b, &line);
    b->extended = true;
    return true;
}

void second_reading(vctx_t *c, tbox_t *b) {
    /* At 36 px text height rather than the first pass's 40: the same look-alikes
     * caught on the dev split, at a little less cost (docs/verifier.md). */
    ocr_box_model(c, b, OCR_MODEL_LATIN, 36, BIN_OTSU, OCR_PSM_LINE, &b->second);
    normalise_reading(c, b->second.text, b->second_norm, sizeof b->second_norm);
    b->second_read = true;
}

void glyph_reading(vctx_t *c, tbox_t *b) {
    ocr_box_model(c, b, OCR_MODEL_GLYPHS, 36, BIN_OTSU, OCR_PSM_LINE, &b->glyphs);
    normalise_reading(c, b->glyphs.text, b->glyphs_norm, sizeof b->glyphs_norm);
    b->glyphs_read = true;
}

/* Below this fraction of the median height of the lines read first, a box beyond
 * the expected lines' count is not read in the first pass: lettering that small
 * beside the lines is not a headline nobody asked for, and reading it costs an OCR
 * call (on the corpora, extra text drawn by a model sits at 0.44-1.0 of the lines;
 * specks, rules and texture fragments below 0.3). */
#define EXTRA_TEXT_MIN_HEIGHT 0.35

static int by_height(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

static void read_box(vctx_t *c, tbox_t *b) {
    ocr_line_t line;
    ocr_box(c, b, 40, BIN_OTSU, OCR_PSM_LINE, &line);
    b->read = true;
    b->skipped_small = false;
    b->passes = 1;
    set_reading(c, b, &line);
}

void read_lines(vctx_t *c) {
    /* First pass: the largest boxes, a few more than the lines expected. */
    int budget = c->n_expected + 2;
    tbox_t *order[MAX_BOXES];
    for (int i = 0; i < c->nboxes; i++) order[i] = &c->boxes[i];
    for (int i = 0; i < c->nboxes; i++)
        for (int j = i + 1; j < c->nboxes; j++)
            if (order[j]->mass > order[i]->mass) {
                tbox_t *t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int heights[MAX_BOXES], nh = 0;
    for (int i = 0; i < c->nboxes && i < budget; i++) {
        if (i >= c->n_expected && nh > 0) {
            if (i == c->n_expected) qsort(heights, (size_t)nh, sizeof heights[0], by_height);
            if (order[i]->h < EXTRA_TEXT_MIN_HEIGHT * heights[nh / 2]) {
                order[i]->skipped_small = true;
                continue;
            }
        }
        read_box(c, order[i]);
        if (i < c->n_expected && text_alnum_count(order[i]->norm) >= 2) heights[nh++] = order[i]->h;
    }
}

bool read_small_boxes(vctx_t *c) {
    bool any = false;
    for (int i = 0; i < c->nboxes; i++)
        if (c->boxes[i].skipped_small) {
            read_box(c, &c->boxes[i]);
            any = true;
        }
    return any;
}
