/* checks.c — every check on one image and its part of the report: sanity (size,
 * blank, blur), text (readings matched to the expected lines; duplicates and extra
 * text), layout (edge, safe zone, region), contrast and palette. Each failure goes
 * to the verdict through verdict_fail. The layout and contrast rules of one box are
 * also what decides whether a mismatched line is worth extra OCR passes (read.c).
 * See verify_internal.h. */
#include "verify/verify_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/color.h"
#include "verify/textnorm.h"

#define MAX_CLUSTERS 24

/* ==== Per-box layout and contrast rules (the checks, and whether a line is retried) ==== */

typedef struct {
    double zx0, zy0, zx1, zy1; /* safe zone, pixels */
    double sz;                 /* safe-zone fraction */
} zone_t;

static zone_t safe_zone(const vctx_t *c) {
    int W = c->img.w, H = c->img.h;
    double sz = c->job->safe_zone > 0 ? c->job->safe_zone : c->cfg->safe_zone;
    if (sz <= 0 || sz > 1) sz = 0.9;
    zone_t z = {W * (1 - sz) / 2, H * (1 - sz) / 2, 0, 0, sz};
    z.zx1 = W - z.zx0;
    z.zy1 = H - z.zy0;
    return z;
}

/* The image edge box b touches ("left" ...), or NULL. */
static const char *box_edge(const vctx_t *c, const tbox_t *b) {
    int W = c->img.w, H = c->img.h, x0 = b->x, y0 = b->y, x1 = b->x + b->w, y1 = b->y + b->h;
    return x0 <= 1 ? "left" : x1 >= W - 1 ? "right" : y0 <= 1 ? "top" : y1 >= H - 1 ? "bottom" : NULL;
}

/* The side on which box b leaves the safe zone, or NULL. */
static const char *box_zone_side(const zone_t *z, const tbox_t *b) {
    const int tol = 2;
    int x0 = b->x, y0 = b->y, x1 = b->x + b->w, y1 = b->y + b->h;
    return x0 < z->zx0 - tol ? "left" : x1 > z->zx1 + tol ? "right" : y0 < z->zy0 - tol ? "top"
           : y1 > z->zy1 + tol ? "bottom" : NULL;
}

/* True when box b lies outside the job's region (false when the job has none). */
static bool box_outside_region(const vctx_t *c, const tbox_t *b) {
    if (!c->job->has_region) return false;
    int W = c->img.w, H = c->img.h;
    const region_t *r = &c->job->region;
    double rx0 = r->x * W, ry0 = r->y * H, rx1 = (r->x + r->w) * W, ry1 = (r->y + r->h) * H;
    double rt = 0.01 * (W > H ? W : H);
    return b->x < rx0 - rt || b->y < ry0 - rt || b->x + b->w > rx1 + rt || b->y + b->h > ry1 + rt;
}

/* The contrast ratio box b needs (WCAG: large text 3:1 of the 4.5:1 default). */
static double box_contrast_need(const vctx_t *c, const tbox_t *b) {
    bool large = b->h >= 18;
    return c->job->min_contrast > 0 ? c->job->min_contrast
           : large ? c->cfg->min_contrast * (3.0 / 4.5) : c->cfg->min_contrast;
}

/* Why box b, once counted as text, fails the image whatever it reads (layout or
 * contrast), or NULL. A line that fails on its own gets no extra OCR passes:
 * they could only change the text reason, never the verdict. */
static const char *box_fails_alone(const vctx_t *c, const tbox_t *b) {
    zone_t z = safe_zone(c);
    if (box_edge(c, b)) return "text_touches_edge";
    if (box_zone_side(&z, b)) return "text_outside_safe_zone";
    if (box_outside_region(c, b)) return "text_outside_region";
    if (b->contrast < box_contrast_need(c, b)) return "low_contrast";
    return NULL;
}

/* ==== Text matching ==== */

/* Lowest confidence among the words of the reading that differ from the expected
 * line (all words when the word counts differ): how sure OCR is of the mismatch. */
static double mismatch_conf(const vctx_t *c, const tbox_t *b, const char *want) {
    char tokens[JOB_TEXT_LEN];
    snprintf(tokens, sizeof tokens, "%s", want);
    char *tok[OCR_MAX_WORDS];
    int nt = 0;
    for (char *save = NULL, *t = strtok_r(tokens, " ", &save); t && nt < OCR_MAX_WORDS;
         t = strtok_r(NULL, " ", &save))
        tok[nt++] = t;
    if (nt != b->ocr.n_words) return line_min_conf(&b->ocr);
    double mn = 100;
    for (int k = 0; k < nt; k++) {
        char w[OCR_TEXT_LEN];
        textnorm(b->ocr.words[k], w, sizeof w, casefold(c));
        if (strcmp(w, tok[k])) mn = fmin(mn, b->ocr.word_conf[k]);
    }
    return mn;
}

static bool box_is_candidate(const tbox_t *b) {
    return b->read && text_alnum_count(b->norm) > 0;
}

/* A reading confident enough to count as text nobody asked for. */
static bool box_is_legible(const tbox_t *b) {
    return text_alnum_count(b->norm) >= 2 && b->ocr.conf >= 70 && b->h >= 10;
}

/* Text nobody asked for: a legible reading, or one of three letters or digits at
 * least that eng read with less confidence and the second model reads the very
 * same (crisp Fira Code "Weekly" under the lines, read at 65 %). Two networks do
 * not read a texture fragment as one string. */
#define EXTRA_CONFIRM_MIN_ALNUM 3

static bool box_is_text(vctx_t *c, tbox_t *b) {
    if (box_is_legible(b)) return true;
    if (!c->ocr || b->h < 10 || text_alnum_count(b->norm) < EXTRA_CONFIRM_MIN_ALNUM) return false;
    if (!b->second_read) second_reading(c, b);
    return !strcmp(b->second_norm, b->norm);
}

/* Pairs every expected line still unmatched with a box read exactly as it. A word
 * read with low confidence is not proof: the line then gets extra passes and must
 * be read again, confidently. True when every expected line is matched. */
static bool match_exact(vctx_t *c, int *matched_by) {
    double minc = c->cfg->min_confidence;
    bool all = true;
    for (int j = 0; j < c->n_expected; j++) {
        for (int i = 0; i < c->nboxes && matched_by[j] < 0; i++) {
            tbox_t *b = &c->boxes[i];
            if (b->expected >= 0 || !b->read || strcmp(b->norm, c->expected[j])) continue;
            b->expected = j;
            matched_by[j] = i;
            b->exact = line_min_conf(&b->ocr) >= minc;
            if (!b->exact && c->ocr && !(b->no_retry = box_fails_alone(c, b)))
                b->exact = retry_line(c, b, c->expected[j], minc);
            b->uncertain = !b->exact;
        }
        all = all && matched_by[j] >= 0;
    }
    return all;
}

/* After box b grew to its whole line (extend_line), the other boxes that lay
 * mostly inside it were pieces of the same line: they are its, not extra text. */
static void absorb_fragments(vctx_t *c, const tbox_t *b, int j) {
    for (int i = 0; i < c->nboxes; i++) {
        tbox_t *o = &c->boxes[i];
        if (o == b || o->expected >= 0) continue;
        int ix = (o->x + o->w < b->x + b->w ? o->x + o->w : b->x + b->w) - (o->x > b->x ? o->x : b->x);
        int iy = (o->y + o->h < b->y + b->h ? o->y + o->h : b->y + b->h) - (o->y > b->y ? o->y : b->y);
        if (ix > 0 && iy > 0 && (double)ix * iy >= 0.6 * o->w * o->h) o->expected = j;
    }
}

/* A reading's look-alike (text_lookalike, just set in b) is evidence, but for an
 * "i" read where the text has a "1" on a line whose ink holds no dot beyond the
 * text's own i and j: a glyph without a dot is no i. EB Garamond's old-style 1, a
 * short serifed stem, is read "i" by the Latin model ("$i9.99" for a correct
 * "$19.99", 2 of 4400 correct images on the study and fresh corpora, no look-alike
 * caught by it). Clears b's look-alike when it does not stand. */
static bool lookalike_stands(const vctx_t *c, tbox_t *b, const char *want) {
    if (strcmp(b->lookalike_seen, "i") || strcmp(b->lookalike_meant, "1") || glyph_shape_extra_dot(c, b, want))
        return true;
    b->lookalike_seen = b->lookalike_meant = NULL;
    return false;
}

/* Matches readings to expected lines and records text failures. */
void check_text(vctx_t *c, cJSON *lines_json) {
    const job_t *job = c->job;
    int matched_by[JOB_MAX_TEXT];
    for (int j = 0; j < c->n_expected; j++) matched_by[j] = -1;

    double minc = c->cfg->min_confidence;
    /* 1. Exact readings; with a line still unmatched, the small boxes the first
     *    pass left unread are read too, and matched the same way. */
    if (!match_exact(c, matched_by) && read_small_boxes(c)) match_exact(c, matched_by);
    /* 2. Unmatched lines: the closest unmatched reading. Extra passes only when
     *    the first is inconclusive (the differing words were read with < 90%
     *    confidence): a confident misreading is a wrong image, not an OCR slip. */
    for (int j = 0; j < c->n_expected; j++) {
        if (matched_by[j] >= 0) continue;
        int best = -1;
        double bd = 2;
        for (int i = 0; i < c->nboxes; i++) {
            tbox_t *b = &c->boxes[i];
            if (b->expected >= 0 || !b->read) continue;
            /* Pair by the case-folded distance: "SALE" for "Sale" is a mismatch,
             * not a missing line plus an extra one. */
            char fr[OCR_TEXT_LEN], fe[JOB_TEXT_LEN];
            textnorm(b->norm, fr, sizeof fr, true);
            textnorm(c->expected[j], fe, sizeof fe, true);
            double d = text_normalized_distance(fr, fe);
            if (d < bd) bd = d, best = i;
        }
        if (best < 0) continue;
        tbox_t *b = &c->boxes[best];
        if (bd < 0.75 || !box_is_candidate(b)) {
            bool ok = c->ocr && mismatch_conf(c, b, c->expected[j]) < 90 &&
                      !(b->no_retry = box_fails_alone(c, b)) && retry_line(c, b, c->expected[j], minc);
            /* A reading of part of the line, however confident, may be a box cut
             * short: grown to the whole line, it is read again. */
            if (!ok && c->ocr && box_is_candidate(b) && extend_line(c, b, c->expected[j], minc)) {
                ok = true;
                b->no_retry = NULL;
                absorb_fragments(c, b, j);
            }
            /* A pass that read the expected text does not outvote one that saw a
             * look-alike glyph where the text has another ("Sa1e" for "Sale"):
             * the eng network reads such typos as the word they imitate far more
             * often than the reverse, so the typo reading is the evidence. */
            if (ok) {
                char first[OCR_TEXT_LEN];
                textnorm(b->first.text, first, sizeof first, casefold(c));
                if (text_lookalike(first, c->expected[j], false, &b->lookalike_seen, &b->lookalike_meant) &&
                    lookalike_stands(c, b, c->expected[j])) {
                    ok = false;
                    b->lookalike_by = b->first.text;
                }
            }
            b->expected = j;
            b->exact = ok;
            /* Read as the text but for its spaces ("NEWS LATEIN", "Chef 's"): the
             * word gaps of tight or styled lettering misjudged. The second model
             * decides, as for an uncertain line (step 3). */
            b->spaced = !ok && !b->lookalike_seen && text_differs_only_in_spaces(b->norm, c->expected[j]);
            matched_by[j] = best;
        }
    }
    /* 3. The second, independent reading of every matched line (the Latin model:
     *    another network, trained on other text, with other biases). Where it sees
     *    a look-alike glyph the text does not have ("Sa1e" for "Sale"), the line
     *    fails: eng reads such typos as the word they imitate, so a reading that
     *    holds the digit (or the letter where a digit belongs) is the evidence. Any
     *    other disagreement is the second model's own slip and does not count.
     *    A line eng read exactly but only with low word confidence, and no retry
     *    read confidently, is read by the second model too: two independent
     *    networks reading the very same text is the confidence the one lacked
     *    (outlined, glowing or grainy letters read right at 0-35%). So is a line
     *    eng read as the text but for its spaces: it passes when Latin reads the
     *    very text, spaces included. */
    if (c->ocr)
        for (int j = 0; j < c->n_expected; j++) {
            int i = matched_by[j];
            if (i < 0) continue;
            tbox_t *b = &c->boxes[i];
            bool confirm = (b->uncertain || b->spaced) && !b->no_retry;
            if (!b->exact && !confirm) continue;
            second_reading(c, b);
            if (text_lookalike(b->second_norm, c->expected[j], true, &b->lookalike_seen, &b->lookalike_meant) &&
                lookalike_stands(c, b, c->expected[j])) {
                b->exact = false;
                b->lookalike_by = b->second.text;
            } else if (confirm && !strcmp(b->second_norm, c->expected[j])) {
                b->exact = true;
                b->uncertain = b->spaced = false;
                b->confirmed = true;
            } else if (confirm && b->spaced && text_differs_only_in_spaces(b->second_norm, c->expected[j]) &&
                       glyph_shape_letter_gaps(c, b, c->expected[j])) {
                /* Both read the text's characters with a space it does not have,
                 * where a stroke or a wide fit sets two letters apart. */
                b->exact = true;
                b->spaced = false;
                b->letter_gaps = true;
            }
            /* 4. Where both networks read the text, the glyph classifier reads the
             *    line blob by blob: it has no pull towards the letters round a
             *    glyph, so it sees the digit a network reads as the letter it
             *    imitates ("SHIPPIN6"). Its reading is noisy elsewhere, so only a
             *    digit for a letter, in a word it otherwise read as the text, on a
             *    line it read with one other slip at most, counts
             *    (text_glyph_lookalike). */
            if (b->exact) {
                glyph_reading(c, b);
                if (text_glyph_lookalike(b->glyphs_norm, c->expected[j], &b->lookalike_seen, &b->lookalike_meant)) {
                    b->exact = false;
                    b->lookalike_by = b->glyphs.text;
                }
            }
            /* 5. Where all three read the text, the shapes of the glyphs they
             *    agree on: a dot for every i and j, an O as wide as the line's
             *    capitals, an I without a 1's flag (glyph_shape.c). */
            if (b->exact && (b->shape_fault = glyph_shape_lookalike(c, b, c->expected[j]))) b->exact = false;
        }
    /* 6. Report and verdict per expected line. */
    /* Unreadable: no reading was paired with an expected line and none is legible
     * on its own (a few low-confidence glyphs read from shapes are not text). */
    int n_read = 0;
    for (int i = 0; i < c->nboxes; i++) {
        const tbox_t *b = &c->boxes[i];
        n_read += box_is_candidate(b) && (b->expected >= 0 || box_is_legible(b));
    }
    bool unreadable = n_read == 0;
    if (unreadable) {
        char all[512] = "";
        for (int j = 0; j < job->n_text; j++)
            snprintf(all + strlen(all), sizeof all - strlen(all), "%s\"%s\"", j ? ", " : "", job->text[j]);
        verdict_fail(c, "text_unreadable", "no legible text found; draw %s clearly, in high contrast", all);
    }
    for (int j = 0; j < c->n_expected; j++) {
        cJSON *lj = cJSON_CreateObject();
        cJSON_AddStringToObject(lj, "expected", job->text[j]);
        int i = matched_by[j];
        if (i >= 0) {
            tbox_t *b = &c->boxes[i];
            b->texty = true;
            cJSON_AddStringToObject(lj, "read", b->ocr.text);
            cJSON_AddNumberToObject(lj, "distance", text_normalized_distance(b->norm, c->expected[j]));
            cJSON_AddNumberToObject(lj, "confidence", b->ocr.conf);
            cJSON *words = cJSON_AddArrayToObject(lj, "words");
            for (int k = 0; k < b->ocr.n_words; k++) {
                cJSON *wj = cJSON_CreateObject();
                cJSON_AddStringToObject(wj, "text", b->ocr.words[k]);
                cJSON_AddNumberToObject(wj, "conf", b->ocr.word_conf[k]);
                cJSON_AddItemToArray(words, wj);
            }
            cJSON_AddItemToObject(lj, "box", cJSON_CreateIntArray((const int[]){b->x, b->y, b->w, b->h}, 4));
            cJSON_AddNumberToObject(lj, "ocr_passes", b->passes);
            if (b->no_retry) cJSON_AddStringToObject(lj, "retries_skipped", b->no_retry);
            if (b->passes > 1) {
                double mn = 100;
                for (int k = 0; k < b->first.n_words; k++) mn = fmin(mn, b->first.word_conf[k]);
                cJSON_AddStringToObject(lj, "first_read", b->first.text);
                cJSON_AddNumberToObject(lj, "first_min_conf", mn);
            }
            if (b->second_read) cJSON_AddStringToObject(lj, "second_read", b->second.text);
            if (b->glyphs_read) cJSON_AddStringToObject(lj, "glyph_read", b->glyphs.text);
            if (b->lookalike_seen) cJSON_AddStringToObject(lj, "lookalike", b->lookalike_by);
            if (b->shape_fault) cJSON_AddStringToObject(lj, "glyph_shape", b->shape_fault);
            if (b->confirmed) cJSON_AddBoolToObject(lj, "confirmed_by_second_read", true);
            if (b->letter_gaps) cJSON_AddBoolToObject(lj, "extra_spaces_are_letter_gaps", true);
            if (b->extended) cJSON_AddBoolToObject(lj, "box_extended", true);
            cJSON_AddBoolToObject(lj, "match", b->exact);
            if (!b->exact) {
                if (b->lookalike_seen)
                    verdict_fail(c, "text_mismatch",
                                 "expected \"%s\", %s saw \"%s\" (\"%s\" for \"%s\"); draw every letter unambiguously",
                                 job->text[j],
                                 b->lookalike_by == b->second.text   ? "a second reading"
                                 : b->lookalike_by == b->glyphs.text ? "a glyph-by-glyph reading"
                                                                     : "a reading",
                                 b->lookalike_by, b->lookalike_seen, b->lookalike_meant);
                else if (b->shape_fault)
                    verdict_fail(c, "text_mismatch",
                                 "expected \"%s\", every reading saw it but the glyphs' shapes do not: %s; draw every "
                                 "letter unambiguously",
                                 job->text[j], b->shape_fault);
                else if (b->uncertain)
                    verdict_fail(c, "text_mismatch", "expected \"%s\", read it only uncertainly (word confidence %.0f%%); draw it clearly",
                                 job->text[j], line_min_conf(&b->ocr));
                else if (b->norm[0])
                    verdict_fail(c, "text_mismatch", "expected \"%s\", read \"%s\"", job->text[j], b->ocr.text);
                else
                    verdict_fail(c, "text_missing", "the line \"%s\" is missing or illegible", job->text[j]);
            }
        } else {
            cJSON_AddNullToObject(lj, "read");
            cJSON_AddNumberToObject(lj, "distance", 1);
            cJSON_AddBoolToObject(lj, "match", false);
            if (!unreadable) verdict_fail(c, "text_missing", "the line \"%s\" is missing", job->text[j]);
        }
        cJSON_AddItemToArray(lines_json, lj);
    }
    /* 5. Readings nobody asked for: duplicates of an expected line, or extra text. */
    cJSON *extra = cJSON_AddArrayToObject(c->checks, "extra_text");
    for (int i = 0; i < c->nboxes; i++) {
        tbox_t *b = &c->boxes[i];
        if (b->expected >= 0 || !b->read) continue;
        int dup = -1;
        for (int j = 0; j < c->n_expected && dup < 0; j++)
            if (!strcmp(b->norm, c->expected[j])) dup = j;
        if (dup < 0 && !box_is_text(c, b)) continue;
        b->texty = true;
        cJSON *ej = cJSON_CreateObject();
        cJSON_AddStringToObject(ej, "read", b->ocr.text);
        cJSON_AddNumberToObject(ej, "confidence", b->ocr.conf);
        cJSON_AddItemToObject(ej, "box", cJSON_CreateIntArray((const int[]){b->x, b->y, b->w, b->h}, 4));
        cJSON_AddItemToArray(extra, ej);
        if (dup >= 0) verdict_fail(c, "text_duplicated", "\"%s\" appears more than once; draw it once", job->text[dup]);
        else verdict_fail(c, "text_extra", "remove the extra text \"%s\"", b->ocr.text);
    }
}

/* No text asked for: every legible reading is lettering nobody asked for (the seed's
 * hallucinated typography). The boxes do not count as text for layout or contrast:
 * the image fails for carrying them at all. */
void check_unexpected_text(vctx_t *c) {
    cJSON *extra = cJSON_AddArrayToObject(c->checks, "unexpected_text");
    char all[OCR_TEXT_LEN] = "";
    for (int i = 0; i < c->nboxes; i++) {
        tbox_t *b = &c->boxes[i];
        if (!b->read || !box_is_text(c, b)) continue;
        cJSON *ej = cJSON_CreateObject();
        cJSON_AddStringToObject(ej, "read", b->ocr.text);
        cJSON_AddNumberToObject(ej, "confidence", b->ocr.conf);
        cJSON_AddItemToObject(ej, "box", cJSON_CreateIntArray((const int[]){b->x, b->y, b->w, b->h}, 4));
        cJSON_AddItemToArray(extra, ej);
        size_t n = strlen(all);
        snprintf(all + n, sizeof all - n, "%s\"%s\"", n ? ", " : "", b->ocr.text);
    }
    if (all[0]) verdict_fail(c, "text_unexpected", "the job asks for no text, but the image reads %s; draw no lettering", all);
}

/* Text without OCR: every box that looks like a line of text counts as text. */
void check_text_without_ocr(vctx_t *c) {
    for (int i = 0; i < c->nboxes; i++) c->boxes[i].texty = true;
    if (c->nboxes == 0)
        verdict_fail(c, "text_unreadable", "no text found; draw the requested text clearly, in high contrast");
}

/* ==== Layout, contrast ==== */

static const char *box_label(const vctx_t *c, const tbox_t *b) {
    if (b->expected >= 0) return c->job->text[b->expected];
    if (b->read && b->ocr.text[0]) return b->ocr.text;
    static __thread char buf[64];
    snprintf(buf, sizeof buf, "at x %d, y %d", b->x, b->y);
    return buf;
}

void check_layout(vctx_t *c, cJSON *layout) {
    int W = c->img.w, H = c->img.h;
    zone_t z = safe_zone(c);
    cJSON_AddNumberToObject(layout, "safe_zone", z.sz);
    cJSON_AddItemToObject(layout, "zone", cJSON_CreateIntArray((const int[]){(int)z.zx0, (int)z.zy0,
                                                   (int)(z.zx1 - z.zx0), (int)(z.zy1 - z.zy0)}, 4));
    if (c->job->has_region) { /* the region checked (the job's, or its template's zone) */
        cJSON *rj = cJSON_AddObjectToObject(layout, "region");
        cJSON_AddNumberToObject(rj, "x", c->job->region.x);
        cJSON_AddNumberToObject(rj, "y", c->job->region.y);
        cJSON_AddNumberToObject(rj, "w", c->job->region.w);
        cJSON_AddNumberToObject(rj, "h", c->job->region.h);
    }
    for (int i = 0; i < c->nboxes; i++) {
        const tbox_t *b = &c->boxes[i];
        if (!b->texty) continue;
        int x0 = b->x, y0 = b->y, x1 = b->x + b->w, y1 = b->y + b->h;
        const char *what = box_label(c, b);
        const char *edge = box_edge(c, b);
        if (edge) verdict_fail(c, "text_touches_edge", "text \"%s\" touches the %s edge of the image", what, edge);
        const char *side = box_zone_side(&z, b);
        if (side) verdict_fail(c, "text_outside_safe_zone", "text \"%s\" is outside the safe zone on the %s", what, side);
        if (box_outside_region(c, b)) {
            const region_t *r = &c->job->region;
            double rx0 = r->x * W, ry0 = r->y * H, rx1 = (r->x + r->w) * W, ry1 = (r->y + r->h) * H;
            verdict_fail(c, "text_outside_region",
                         "text \"%s\" must lie inside its region (x %.0f-%.0f, y %.0f-%.0f px), found at x %d-%d, y %d-%d",
                         what, rx0, rx1, ry0, ry1, x0, x1, y0, y1);
        }
    }
}

void check_contrast(vctx_t *c, cJSON *contrast) {
    double worst = 0, need_at_worst = 0;
    int n = 0;
    cJSON *per = cJSON_AddArrayToObject(contrast, "boxes");
    for (int i = 0; i < c->nboxes; i++) {
        const tbox_t *b = &c->boxes[i];
        if (!b->texty) continue;
        double need = box_contrast_need(c, b);
        char ink[8], gr[8];
        cJSON *bj = cJSON_CreateObject();
        cJSON_AddStringToObject(bj, "text", box_label(c, b));
        cJSON_AddStringToObject(bj, "ink", color_hex(b->ink, ink));
        cJSON_AddStringToObject(bj, "background", color_hex(b->ground, gr));
        cJSON_AddNumberToObject(bj, "ratio", round(b->contrast * 100) / 100);
        cJSON_AddNumberToObject(bj, "required", need);
        if (b->outlined) cJSON_AddBoolToObject(bj, "outline_is_ground", true);
        cJSON_AddItemToArray(per, bj);
        if (n++ == 0 || b->contrast / need < worst / need_at_worst) worst = b->contrast, need_at_worst = need;
        if (b->contrast < need)
            verdict_fail(c, "low_contrast", "raise contrast between text and background (%.1f:1, need %.1f:1)",
                         b->contrast, need);
    }
    if (n) {
        cJSON_AddNumberToObject(contrast, "min_ratio", round(worst * 100) / 100);
        cJSON_AddNumberToObject(contrast, "required", need_at_worst);
    }
}

/* ==== Palette ==== */

typedef struct {
    double L, a, b;
    double weight;
} cluster_t;

/* Dominant colours outside the text ink: mean colours of 8x8 cells (cells mostly
 * ink skipped), clustered greedily in Lab; each cluster holding >= 4% of the image
 * must be within tolerance of a palette colour or of a blend of two (gradients,
 * soft edges). */
void check_palette(vctx_t *c, cJSON *pj) {
    const job_t *job = c->job;
    cJSON *expect = cJSON_AddArrayToObject(pj, "palette"); /* the palette checked (job's or template's) */
    for (int i = 0; i < job->n_palette; i++) {
        char hex[8];
        cJSON_AddItemToArray(expect, cJSON_CreateString(color_hex(job->palette[i], hex)));
    }
    int W = c->img.w, H = c->img.h, cs = 8;
    cluster_t cl[MAX_CLUSTERS];
    int ncl = 0;
    double total = 0;
    lab_t pal[JOB_MAX_PALETTE];
    for (int i = 0; i < job->n_palette; i++) pal[i] = color_rgb_to_lab(job->palette[i]);
    unsigned memo_sum[3] = {0, 0, 0}, memo_n = 0;
    lab_t memo_lab = {0, 0, 0};
    for (int cy = 0; cy + cs <= H; cy += cs)
        for (int cx = 0; cx + cs <= W; cx += cs) {
            unsigned sum[3] = {0, 0, 0}, n = 0;
            for (int y = cy; y < cy + cs; y++) {
                size_t k0 = (size_t)y * W + cx;
                const unsigned char *p = c->img.rgb + k0 * 3, *ink = c->inkmask + k0;
                uint64_t any_ink;
                memcpy(&any_ink, ink, sizeof any_ink); /* cs == 8 mask bytes */
                if (!any_ink) {
                    for (int x = 0; x < cs; x++) sum[0] += p[3 * x], sum[1] += p[3 * x + 1], sum[2] += p[3 * x + 2];
                    n += cs;
                    continue;
                }
                for (int x = 0; x < cs; x++) {
                    if (ink[x]) continue;
                    sum[0] += p[3 * x], sum[1] += p[3 * x + 1], sum[2] += p[3 * x + 2];
                    n++;
                }
            }
            if (n * 2 < (unsigned)(cs * cs)) continue;
            /* Flat areas repeat the same cell colour: convert each mean once. */
            if (sum[0] != memo_sum[0] || sum[1] != memo_sum[1] || sum[2] != memo_sum[2] || n != memo_n) {
                memo_lab = color_srgb_to_lab((double)sum[0] / n, (double)sum[1] / n, (double)sum[2] / n);
                memcpy(memo_sum, sum, sizeof memo_sum);
                memo_n = n;
            }
            lab_t lab = memo_lab;
            total += 1;
            int best = -1;
            double bd = 8.0;
            for (int i = 0; i < ncl; i++) {
                double d = sqrt(pow(cl[i].L - lab.L, 2) + pow(cl[i].a - lab.a, 2) + pow(cl[i].b - lab.b, 2));
                if (d < bd) bd = d, best = i;
            }
            if (best < 0 && ncl < MAX_CLUSTERS) {
                cl[ncl++] = (cluster_t){lab.L, lab.a, lab.b, 1};
            } else {
                if (best < 0) best = 0;
                cluster_t *k = &cl[best];
                k->weight += 1;
                k->L += (lab.L - k->L) / k->weight;
                k->a += (lab.a - k->a) / k->weight;
                k->b += (lab.b - k->b) / k->weight;
            }
        }
    double tol = c->cfg->palette_tolerance > 0 ? c->cfg->palette_tolerance : 12;
    cJSON_AddNumberToObject(pj, "tolerance", tol);
    cJSON *colors = cJSON_AddArrayToObject(pj, "dominant");
    double off_weight = 0;
    for (int i = 0; i < ncl; i++) {
        double wfrac = total > 0 ? cl[i].weight / total : 0;
        if (wfrac < 0.04) continue;
        lab_t lab = {cl[i].L, cl[i].a, cl[i].b};
        double d = 1e9;
        int nearest = 0;
        for (int p = 0; p < job->n_palette; p++) {
            double dp = color_ciede2000(lab, pal[p]);
            if (dp < d) d = dp, nearest = p;
        }
        double blend = d;
        for (int p = 0; p < job->n_palette; p++)
            for (int q = p + 1; q < job->n_palette; q++) {
                double dq = color_ciede2000_to_segment(lab, pal[p], pal[q]);
                if (dq < blend) blend = dq;
            }
        uint32_t rgb = color_lab_to_rgb(lab);
        char hex[8], nhex[8];
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddStringToObject(cj, "color", color_hex(rgb, hex));
        cJSON_AddNumberToObject(cj, "weight", round(wfrac * 1000) / 1000);
        cJSON_AddStringToObject(cj, "nearest", color_hex(job->palette[nearest], nhex));
        cJSON_AddNumberToObject(cj, "delta_e", round(d * 10) / 10);
        cJSON_AddNumberToObject(cj, "delta_e_blend", round(blend * 10) / 10);
        cJSON_AddItemToArray(colors, cj);
        /* Blends are how soft shapes and gradients between brand colours look;
         * the dominant colour must lie closer to a blend (half the tolerance). */
        bool dominant = true;
        for (int k = 0; k < ncl; k++) dominant &= cl[k].weight <= cl[i].weight;
        bool off = d > tol && (blend > tol || (dominant && blend > tol / 2));
        if (off) {
            off_weight += wfrac;
            char want[JOB_MAX_PALETTE * 9 + 1] = "";
            for (int p = 0; p < job->n_palette; p++) {
                char h[8];
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", p ? ", " : "",
                         color_hex(job->palette[p], h));
            }
            verdict_fail(c, "off_palette",
                         "colour %s covers %.0f%% of the image and is off the palette (CIEDE2000 %.1f from %s, "
                         "tolerance %.0f); use only %s",
                         hex, wfrac * 100, d, nhex, tol, want);
        }
    }
    cJSON_AddNumberToObject(pj, "off_palette_fraction", round(off_weight * 1000) / 1000);
}

/* ==== Sanity ==== */

void check_size(vctx_t *c) {
    const job_t *job = c->job;
    int W = c->img.w, H = c->img.h;
    cJSON_AddItemToObject(c->report, "size", cJSON_CreateIntArray((const int[]){W, H}, 2));
    int a = 0, b = 0;
    if (job->check_aspect[0] && sscanf(job->check_aspect, "%d:%d", &a, &b) == 2 && a > 0 && b > 0 && W > 0 && H > 0) {
        /* A provider that takes a ratio draws its own size for it (Imagen's 4:3 is
         * 1280x896): within 8% of the ratio on a log scale. */
        if (fabs(log((double)W / H) - log((double)a / b)) > 0.08)
            verdict_fail(c, "size_mismatch", "render at aspect ratio %d:%d (got %dx%d)", a, b, W, H);
    } else if (job->width > 0 && job->height > 0 && (job->width != W || job->height != H))
        verdict_fail(c, "size_mismatch", "render at %dx%d (got %dx%d)", job->width, job->height, W, H);
}

/* Blank: luma hardly varies and no line of text was found. Returns whether it is. */
bool check_blank(vctx_t *c, cJSON *sanity, double luma_sd) {
    bool blank = luma_sd < 2.0 && c->nboxes == 0;
    cJSON_AddBoolToObject(sanity, "blank", blank);
    if (blank) verdict_fail(c, "blank_image", "the image is blank (uniform, luma deviation %.1f); render the scene", luma_sd);
    return blank;
}

/* Variance of the Laplacian of luma over the text boxes (or the whole image when
 * none): low means soft edges everywhere, i.e. blurred. */
static double sharpness(const vctx_t *c) {
    int W = c->img.w, H = c->img.h;
    double sum = 0, sumsq = 0;
    size_t n = 0;
    bool any = false;
    for (int i = 0; i < c->nboxes; i++) any |= c->boxes[i].texty;
    for (int i = 0; i < (any ? c->nboxes : 1); i++) {
        int x0 = 1, y0 = 1, x1 = W - 1, y1 = H - 1;
        if (any) {
            const tbox_t *b = &c->boxes[i];
            if (!b->texty) continue;
            x0 = b->x > 1 ? b->x : 1, y0 = b->y > 1 ? b->y : 1;
            x1 = b->x + b->w < W - 1 ? b->x + b->w : W - 1;
            y1 = b->y + b->h < H - 1 ? b->y + b->h : H - 1;
        }
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const unsigned char *p = c->luma + (size_t)y * W + x;
                int lap = 4 * p[0] - p[-1] - p[1] - p[-W] - p[W];
                sum += lap;
                sumsq += (double)lap * lap;
                n++;
            }
    }
    if (!n) return 0;
    double mean = sum / n;
    return sumsq / n - mean * mean;
}

void check_blur(vctx_t *c, cJSON *sanity) {
    double sharp = sharpness(c);
    cJSON_AddNumberToObject(sanity, "sharpness", round(sharp * 10) / 10);
    if (sharp < c->cfg->blur_threshold)
        verdict_fail(c, "blurred", "the image is blurred (sharpness %.1f, need %.0f); render crisp text and edges",
                     sharp, c->cfg->blur_threshold);
}
