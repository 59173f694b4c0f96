/* verify_internal.h — private to common/verify/: what the verifier's phases share.
 *
 * One image is checked by one thread in phases, each in its own file:
 *   verify.c      orchestration: decode, luma, the phases in order (verify_png)
 *   find_lines.c  locating text lines, and per line the channel, threshold and
 *                 polarity that separate ink from ground (binarisation), its colours
 *   read.c        OCR of the lines: the first reading, extra passes for lines that
 *                 do not match
 *   checks.c      every check and its part of the report: size, blank, text, layout,
 *                 contrast, palette, blur
 *   verdict.c     the verdict: reason codes, guidance, the report's summary, and the
 *                 public verdict_* accessors
 * This header holds the per-image context (vctx_t) and the line boxes (tbox_t) they
 * all work on, and the functions one phase calls in another. Nothing outside
 * common/verify/ includes it. */
#ifndef PRESSROOM_VERIFY_INTERNAL_H
#define PRESSROOM_VERIFY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "verify/image.h"
#include "verify/ocr.h"
#include "verify/verify.h"

#define MAX_BOXES 24

/* ==== Per-image state ==== */

/* One candidate text line: its box and ink analysis (find_lines.c), its readings
 * (read.c) and what it was matched to (checks.c). */
typedef struct {
    int x, y, w, h;     /* text box (full-res pixels, edge-tight) */
    int mass;           /* edge pixels inside */
    int channel;        /* 0 luma, 1 R, 2 G, 3 B */
    int thresh;         /* Otsu threshold on that channel */
    bool dark_text;     /* ink below the threshold */
    bool outlined;      /* hollow letters under one threshold: the stroke, chan values
                         * stroke_lo..stroke_hi, is ground for reading (find_lines.c) */
    int stroke_lo, stroke_hi;
    uint32_t ink, ground;
    double contrast;
    bool read;          /* OCR ran */
    bool skipped_small; /* left unread by the first pass: far smaller than the lines */
    ocr_line_t ocr;
    char norm[OCR_TEXT_LEN];
    int expected;       /* index of the expected line it was matched to, -1 none */
    bool exact;         /* reading equals that line */
    bool uncertain;     /* equal, but some word read with low confidence */
    bool spaced;        /* read as the line but for its spaces (word gaps misjudged) */
    bool confirmed;     /* uncertain or spaced, but the second model read it exactly */
    bool letter_gaps;   /* spaced, but the extra spaces are letter gaps
                         * (glyph_shape_letter_gaps) */
    bool texty;         /* counts as text for layout/contrast */
    int passes;
    ocr_line_t first;   /* first reading, kept when extra passes ran */
    unsigned char *chan; /* the chosen channel over the padded crop (analyse_box) */
    const char *no_retry; /* why no extra OCR passes ran (the box fails on its own) */
    const char *lookalike_seen, *lookalike_meant; /* a reading saw this glyph for that one */
    const char *lookalike_by; /* that reading's text (first, second or glyphs .text) */
    bool second_read;   /* the second model read the line (second_reading) */
    ocr_line_t second;
    char second_norm[OCR_TEXT_LEN];
    bool glyphs_read;   /* the glyph classifier read the line (glyph_reading) */
    ocr_line_t glyphs;
    char glyphs_norm[OCR_TEXT_LEN];
    bool extended;      /* grown sideways to the whole line (extend_line) */
    const char *shape_fault; /* what glyph_shape_lookalike found, or NULL */
} tbox_t;

/* One image under check: the job and settings, the decoded image and the maps
 * derived from it, the line boxes, and the verdict and report being built. */
typedef struct {
    const verifier_config_t *cfg;
    const job_t *job;
    ocr_engine_t *ocr;
    image_t img;
    unsigned char *luma;      /* full-res luma */
    unsigned char *inkmask;   /* full-res: 1 = text ink */
    tbox_t boxes[MAX_BOXES];
    int nboxes;
    char expected[JOB_MAX_TEXT][JOB_TEXT_LEN]; /* normalised */
    int n_expected;
    /* verdict under construction */
    verdict_t *v;
    cJSON *report, *checks;
    int edge_threshold;
    bool edge_luma;           /* textured background: lines found on luma edges only */
    bool edge_texture;        /* edge_threshold raised above texture edges that ran into the text */
    bool edge_soft;           /* edge_threshold raised above soft (blurred) edges */
    int stacked_splits;       /* boxes cut between stacked lines (split_stacked_lines) */
    int trimmed;              /* boxes trimmed to their ink (split_stacked_lines) */
    double skew_deg;          /* the letters' tilt find_lines measured (estimate_skew) */
    int ocr_calls;
    double ocr_ms;
} vctx_t;

static inline bool casefold(const vctx_t *c) { return c->job->case_insensitive; }

/* Whether value v of box b's channel is on the ink side of its threshold. */
static inline bool box_ink(const tbox_t *b, unsigned char v) { return b->dark_text ? v <= b->thresh : v > b->thresh; }

/* The padded crop around a line box, clipped to the image: what is binarised and read. */
typedef struct {
    int x0, y0, x1, y1; /* padded crop, exclusive ends */
} crop_t;

/* ==== find_lines.c ==== */

/* Finds candidate text lines into c->boxes (full-res), largest edge mass first. */
void find_lines(vctx_t *c);
/* Chooses box b's channel, threshold and polarity, measures its ink and ground
 * colours and contrast, keeps the channel crop in b->chan. */
void analyse_box(vctx_t *c, tbox_t *b);
/* Marks box b's ink (analyse_box's threshold) in c->inkmask, which the palette
 * check skips: once per box that stands (not for a trial box that may be dropped). */
void mark_box_ink(vctx_t *c, const tbox_t *b);
/* Splits each analysed box holding lines stacked under each other (rows with no
 * ink between them) into one box per line, each analysed; boxes stay in y order. */
void split_stacked_lines(vctx_t *c);
crop_t padded_crop(const vctx_t *c, const tbox_t *b);
/* Otsu's threshold over a 256-bin histogram; *eta = between-class variance over
 * total variance (0..1, how well two classes explain the values). */
int otsu(const unsigned hist[256], double *eta);

/* ==== glyph_shape.c ==== */

/* For a line every reader read as want (normalised): NULL when the shapes of its
 * glyphs agree, else what is drawn as a look-alike (a dotless i or j, a narrow O,
 * a flagged I), in words for the guidance. Case-insensitive jobs are not checked. */
const char *glyph_shape_lookalike(const vctx_t *c, const tbox_t *b, const char *want);
/* Whether line b's ink holds more dots (over stems) than the text want has i and j,
 * or cannot be measured: the evidence that a glyph read "i" is drawn as one. */
bool glyph_shape_extra_dot(const vctx_t *c, const tbox_t *b, const char *want);
/* Whether the spaces line b's reading puts inside words of want (keeping every
 * space of want) are letter gaps: then the reading is the text. */
bool glyph_shape_letter_gaps(const vctx_t *c, const tbox_t *b, const char *want);

/* ==== read.c ==== */

/* First pass: reads the largest boxes once each, a few more than the lines expected. */
void read_lines(vctx_t *c);
/* Reads the boxes the first pass left unread as too small (a line still unmatched
 * may be small lettering after all); false when there were none. */
bool read_small_boxes(vctx_t *c);
/* Extra OCR passes on box b for the expected line `want` (normalised); true when
 * one reads it exactly with every word at >= need_conf (the reading is then b's). */
bool retry_line(vctx_t *c, tbox_t *b, const char *want, double need_conf);
/* Box b reads only part of the expected line `want` ("Mountai" for "Mountain"):
 * line finding cut the line short. Grows the box sideways by what the reading
 * lacks at each end and reads it again; true when that reads `want` exactly with
 * every word at >= need_conf (b then has the grown box, its analysis and reading). */
bool extend_line(vctx_t *c, tbox_t *b, const char *want, double need_conf);
/* The second, independent reading of box b (the Latin model, same input as the
 * first pass) into b->second and b->second_norm. */
void second_reading(vctx_t *c, tbox_t *b);
/* The glyph-by-glyph reading of box b (eng's legacy classifier, the same input as
 * the second reading) into b->glyphs and b->glyphs_norm. */
void glyph_reading(vctx_t *c, tbox_t *b);
/* The lowest word confidence of a reading (0 when it has no words). */
double line_min_conf(const ocr_line_t *l);

/* ==== checks.c ==== */

/* Each check fails the verdict for what it finds and adds its scores to the report
 * (the cJSON object or array it is given, or c->report). */
void check_size(vctx_t *c);
/* Returns whether the image is blank (then blur is not checked). */
bool check_blank(vctx_t *c, cJSON *sanity, double luma_sd);
/* Matches the readings to the expected lines (asking read.c for extra passes on
 * inconclusive ones); marks the boxes that count as text. */
void check_text(vctx_t *c, cJSON *lines_json);
/* A job that asks for no text: any legible reading fails as text_unexpected. */
void check_unexpected_text(vctx_t *c);
/* Without OCR every line-like box counts as text; none at all is text_unreadable. */
void check_text_without_ocr(vctx_t *c);
void check_layout(vctx_t *c, cJSON *layout);
void check_contrast(vctx_t *c, cJSON *contrast);
void check_palette(vctx_t *c, cJSON *pj);
void check_blur(vctx_t *c, cJSON *sanity);

/* ==== verdict.c ==== */

/* A new verdict that passes until a check fails it; NULL when out of memory. */
verdict_t *verdict_new(void);
/* Records a failure on c's verdict: the reason code (once) and a guidance sentence. */
void verdict_fail(vctx_t *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds the verdict's summary (pass, reasons, guidance, elapsed since t0 ms) to
 * c->report and hands the report to the verdict, which it returns. */
verdict_t *verdict_close(vctx_t *c, double t0);

#endif
