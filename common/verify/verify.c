/* verify.c — the verifier's entry point for one image (verify_png; see verify.h):
 * decodes it, computes luma, runs the phases in order and frees the per-image state.
 * The phases live beside it (verify_internal.h says which file owns what).
 *
 * Pipeline (one image, one thread), each step's file in brackets:
 *   decode (bounded) -> sanity (size, blank) [here; checks.c]
 *   -> find text lines cheaply: sharp edges (full-res central differences, a
 *      threshold above the background's own texture; on a background textured in
 *      colour, luma edges above the texture's; where the edges of stripes or checks
 *      run across the image into the letters, above those edges' level), connected
 *      components, components grouped into lines by vertical overlap and
 *      horizontal gaps, each line's box the hull of its letters [find_lines.c]
 *   -> per line: pick the channel (luma, R, G, B) that separates ink from ground
 *      best (Otsu's between-class variance), measure ink/ground colours
 *      (contrast); a box whose ink leaves rows empty between two lines (stacked
 *      lines whose strokes or glows touch) is cut there [find_lines.c]; scale to
 *      a modest OCR height, binarise black-on-white, OCR as one line [read.c]
 *   -> match readings to expected lines exactly (after normalisation); only lines
 *      that do not match get extra OCR passes (other binarisation, scale, mode),
 *      and not even those when the line already fails layout or contrast on its
 *      own, or when two more passes read the very same wrong text; a pass reading
 *      the expected text does not outvote a first reading that saw a digit for a
 *      letter. A job that expects no text: the largest boxes are read, and any
 *      legible reading fails as text_unexpected [checks.c, read.c]
 *   -> layout, contrast, palette (dominant colours outside the ink), blur
 *      [checks.c]
 *   -> the verdict: reason codes, guidance, the report's summary [verdict.c]
 *
 * Cost: Tesseract's LSTM is most of it (~7 ms per line on one core), so the
 * verifier makes about one OCR call per expected line. The image is decoded once
 * (opaque PNGs straight to RGB), luma is computed once, the edge map runs 16
 * bytes at a time, each line's chosen channel is cropped once and reused. */
#include "verify/verify.h"
#include "base/clock.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "verify/image.h"
#include "verify/textnorm.h"
#include "verify/verify_internal.h"

/* c->luma from c->img; returns the luma's standard deviation. */
static double compute_luma(vctx_t *c) {
    int W = c->img.w, H = c->img.h;
    uint64_t sum = 0, sumsq = 0;
    for (int y = 0; y < H; y++) {
        const unsigned char *p = c->img.rgb + (size_t)y * W * 3;
        unsigned char *l = c->luma + (size_t)y * W;
        uint32_t rsum = 0;
        uint64_t rsq = 0;
        for (int x = 0; x < W; x++) {
            unsigned lv = (77u * p[3 * x] + 150u * p[3 * x + 1] + 29u * p[3 * x + 2]) >> 8;
            l[x] = (unsigned char)lv;
            rsum += lv;
            rsq += lv * lv;
        }
        sum += rsum;
        sumsq += rsq;
    }
    double mean = (double)sum / ((double)W * H);
    return sqrt(fmax(0, (double)sumsq / ((double)W * H) - mean * mean));
}

/* Text tilted by more than this (degrees) is levelled before it is read: a line
 * tilted 4 degrees rises 35 px over 500, its box takes the neighbouring lines and
 * OCR reads a slope. Less is within what line finding and the LSTM take. */
#define DESKEW_MIN_DEG 0.8
/* More than this is taken for a design choice or a misestimate: left as drawn. */
#define DESKEW_MAX_DEG 6.0

/* Closes the verdict and frees the per-image state (c itself stays the caller's). */
static verdict_t *finish(vctx_t *c, double t0) {
    verdict_t *v = verdict_close(c, t0);
    for (int i = 0; i < c->nboxes; i++) free(c->boxes[i].chan);
    free(c->luma);
    free(c->inkmask);
    image_free(&c->img);
    return v;
}

verdict_t *verify_png(ocr_engine_t *ocr, const verifier_config_t *cfg, const job_t *job,
                      const unsigned char *png, size_t len) {
    double t0 = (double)mono_us() / 1e3;
    vctx_t *c = calloc(1, sizeof *c);
    verdict_t *v = verdict_new();
    if (!c || !v) abort();
    c->cfg = cfg;
    c->job = job;
    c->ocr = ocr;
    c->v = v;
    c->report = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->report, "ocr", ocr != NULL);
    c->checks = cJSON_AddObjectToObject(c->report, "checks");
    cJSON *sanity = cJSON_AddObjectToObject(c->checks, "sanity");

    /* Decode. */
    image_limits_t lim = {cfg->max_png_bytes, cfg->max_dimension, cfg->max_png_chunks};
    char err[256];
    if (image_decode_png(png, len, &lim, &c->img, err, sizeof err) != 0) {
        cJSON_AddStringToObject(sanity, "decode_error", err);
        verdict_fail(c, "image_undecodable", "the image could not be decoded (%s); re-render a valid PNG", err);
        verdict_t *out = finish(c, t0);
        free(c);
        return out;
    }
    int W = c->img.w, H = c->img.h;
    check_size(c);

    c->luma = malloc((size_t)W * H);
    c->inkmask = calloc((size_t)W * H, 1);
    if (!c->luma || !c->inkmask) abort();
    double sd = compute_luma(c);
    cJSON_AddNumberToObject(sanity, "luma_stddev", round(sd * 100) / 100);

    /* Text lines. */
    double t1 = (double)mono_us() / 1e3;
    find_lines(c);
    double skew = c->skew_deg;
    if (fabs(skew) >= DESKEW_MIN_DEG && fabs(skew) <= DESKEW_MAX_DEG) {
        /* Level the image and find the lines again on it; every later check
         * (reading, layout, contrast, palette) sees the levelled image. */
        image_t level;
        image_rotate(&c->img, skew, &level);
        image_free(&c->img);
        c->img = level;
        compute_luma(c);
        find_lines(c);
        cJSON_AddNumberToObject(sanity, "levelled_by_deg", round(skew * 100) / 100);
    }
    cJSON_AddNumberToObject(sanity, "edge_threshold", c->edge_threshold);
    if (c->edge_luma) cJSON_AddStringToObject(sanity, "edges", "luma (textured background)");
    if (c->edge_texture) cJSON_AddBoolToObject(sanity, "above_texture_edges", true);
    if (c->edge_soft) cJSON_AddBoolToObject(sanity, "above_soft_edges", true);
    bool blank = check_blank(c, sanity, sd);

    c->n_expected = job->n_text < JOB_MAX_TEXT ? job->n_text : JOB_MAX_TEXT;
    for (int j = 0; j < c->n_expected; j++)
        textnorm(job->text[j], c->expected[j], sizeof c->expected[j], casefold(c));
    for (int i = 0; i < c->nboxes; i++) analyse_box(c, &c->boxes[i]);
    split_stacked_lines(c);
    if (c->stacked_splits) cJSON_AddNumberToObject(sanity, "stacked_lines_split", c->stacked_splits);
    if (c->trimmed) cJSON_AddNumberToObject(sanity, "boxes_trimmed_to_ink", c->trimmed);
    for (int i = 0; i < c->nboxes; i++) mark_box_ink(c, &c->boxes[i]);

    double t2 = (double)mono_us() / 1e3;
    cJSON *lines = cJSON_AddArrayToObject(c->checks, "text");
    if (c->n_expected > 0 && ocr) {
        read_lines(c);
        check_text(c, lines);
    } else if (c->n_expected > 0) {
        check_text_without_ocr(c);
    } else if (ocr && c->nboxes > 0) {
        read_lines(c);
        check_unexpected_text(c);
    }
    double t3 = (double)mono_us() / 1e3;

    check_layout(c, cJSON_AddObjectToObject(c->checks, "layout"));
    check_contrast(c, cJSON_AddObjectToObject(c->checks, "contrast"));
    if (job->n_palette > 0) check_palette(c, cJSON_AddObjectToObject(c->checks, "palette"));
    /* Blur is judged on the text; a job that asks for none may be a soft scene. */
    if (!blank && c->n_expected > 0) check_blur(c, sanity);
    cJSON *tm = cJSON_AddObjectToObject(c->report, "timings_ms");
    cJSON_AddNumberToObject(tm, "decode", round((t1 - t0) * 10) / 10);
    cJSON_AddNumberToObject(tm, "detect", round((t2 - t1) * 10) / 10);
    cJSON_AddNumberToObject(tm, "ocr", round((t3 - t2) * 10) / 10);
    cJSON_AddNumberToObject(tm, "tesseract", round(c->ocr_ms * 10) / 10);
    cJSON_AddNumberToObject(tm, "ocr_calls", c->ocr_calls);
    verdict_t *out = finish(c, t0);
    free(c);
    return out;
}
