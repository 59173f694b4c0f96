/* verify.c — the verifier's checks on one image; see verify.h.
 *
 * Pipeline (one image, one thread):
 *   decode (bounded) -> sanity (size, blank)
 *   -> find text lines cheaply: sharp edges (full-res central differences, a
 *      threshold above the background's own texture), connected components,
 *      components grouped into lines by vertical overlap and horizontal gaps
 *   -> per line: pick the channel (luma, R, G, B) that separates ink from ground
 *      best (Otsu's between-class variance), measure ink/ground colours (contrast),
 *      scale to a modest OCR height, binarise black-on-white, OCR as one line
 *   -> match readings to expected lines exactly (after normalisation); only lines
 *      that do not match get extra OCR passes (other binarisation, scale, mode),
 *      and not even those when the line already fails layout or contrast on its
 *      own, or when two more passes read the very same wrong text
 *   -> layout, contrast, palette (dominant colours outside the ink), blur.
 *
 * Cost: Tesseract's LSTM is most of it (~7 ms per line on one core), so the
 * verifier makes about one OCR call per expected line. The image is decoded once
 * (opaque PNGs straight to RGB), luma is computed once, the edge map runs 16
 * bytes at a time, each line's chosen channel is cropped once and reused. */
#include "verify/verify.h"
#include "base/clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/color.h"
#include "verify/image.h"
#include "verify/ocr.h"
#include "verify/textnorm.h"

#define MAX_CC 20000
#define MAX_BOXES 24
#define MAX_CLUSTERS 24

/* ==== Verdicts ==== */

struct verdict {
    bool pass;
    char reasons[512];
    char guidance[2048];
    cJSON *report;
};

bool verdict_pass(const verdict_t *v) { return v && v->pass; }
const char *verdict_reasons(const verdict_t *v) { return v ? v->reasons : ""; }
const char *verdict_guidance(const verdict_t *v) { return v ? v->guidance : ""; }
cJSON *verdict_report(const verdict_t *v) { return v ? cJSON_Duplicate(v->report, 1) : NULL; }

bool verdict_has_reason(const verdict_t *v, const char *code) {
    if (!v) return false;
    size_t n = strlen(code);
    for (const char *p = v->reasons; (p = strstr(p, code)); p += n)
        if ((p == v->reasons || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

void verdict_free(verdict_t *v) {
    if (!v) return;
    cJSON_Delete(v->report);
    free(v);
}

/* ==== Per-image state ==== */

typedef struct {
    int x0, y0, x1, y1; /* inclusive, full-res pixels */
    int count;          /* edge pixels */
} cc_t;

typedef struct {
    int x, y, w, h;     /* text box (full-res pixels, edge-tight) */
    int mass;           /* edge pixels inside */
    int channel;        /* 0 luma, 1 R, 2 G, 3 B */
    int thresh;         /* Otsu threshold on that channel */
    bool dark_text;     /* ink below the threshold */
    uint32_t ink, ground;
    double contrast;
    bool read;          /* OCR ran */
    ocr_line_t ocr;
    char norm[OCR_TEXT_LEN];
    int expected;       /* index of the expected line it was matched to, -1 none */
    bool exact;         /* reading equals that line */
    bool uncertain;     /* equal, but some word read with low confidence */
    bool texty;         /* counts as text for layout/contrast */
    int passes;
    ocr_line_t first;   /* first reading, kept when extra passes ran */
    unsigned char *chan; /* the chosen channel over the padded crop (analyse_box) */
    const char *no_retry; /* why no extra OCR passes ran (the box fails on its own) */
} tbox_t;

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
    int ocr_calls;
    double ocr_ms;
} vctx_t;

/* Records a failure: the reason code (once) and a guidance sentence. */
static void fail(vctx_t *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(vctx_t *c, const char *code, const char *fmt, ...) {
    verdict_t *v = c->v;
    v->pass = false;
    if (!verdict_has_reason(v, code)) {
        size_t n = strlen(v->reasons);
        snprintf(v->reasons + n, sizeof v->reasons - n, "%s%s", n ? "," : "", code);
    }
    char sentence[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    size_t n = strlen(v->guidance);
    if (!strstr(v->guidance, sentence))
        snprintf(v->guidance + n, sizeof v->guidance - n, "%s%s", n ? "; " : "", sentence);
}

/* ==== Small image helpers ==== */

static inline int px_channel(const unsigned char *p, int ch) {
    return ch == 0 ? (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8 : p[ch - 1];
}

/* Otsu's threshold over a 256-bin histogram; *eta = between-class variance over
 * total variance (0..1, how well two classes explain the values). */
static int otsu(const unsigned hist[256], double *eta) {
    double total = 0, sum = 0, sumsq = 0;
    for (int i = 0; i < 256; i++) {
        total += hist[i];
        sum += (double)i * hist[i];
        sumsq += (double)i * i * hist[i];
    }
    *eta = 0;
    if (total == 0) return 127;
    double mean = sum / total, var = sumsq / total - mean * mean;
    double w0 = 0, sum0 = 0, best = -1;
    int t = 127;
    for (int i = 0; i < 255; i++) {
        w0 += hist[i];
        sum0 += (double)i * hist[i];
        if (w0 == 0 || w0 == total) continue;
        double w1 = total - w0, m0 = sum0 / w0, m1 = (sum - sum0) / w1;
        double between = w0 * w1 * (m0 - m1) * (m0 - m1) / (total * total);
        if (between > best) {
            best = between;
            t = i;
        }
    }
    *eta = var > 1e-9 ? best / var : 0;
    return t;
}

/* Median of each channel over pixels of the crop where sel[] is set. */
static uint32_t median_rgb(const unsigned hist[3][256], unsigned n) {
    int out[3] = {0, 0, 0};
    for (int ch = 0; ch < 3; ch++) {
        unsigned acc = 0;
        for (int i = 0; i < 256; i++) {
            acc += hist[ch][i];
            if (acc * 2 >= n) {
                out[ch] = i;
                break;
            }
        }
    }
    return RGB_PACK(out[0], out[1], out[2]);
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

/* ==== Finding text lines ==== */

static int uf_find(int *parent, int i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int cmp_cc_x(const void *a, const void *b) {
    const cc_t *x = a, *y = b;
    return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int cmp_box_mass(const void *a, const void *b) {
    const tbox_t *x = a, *y = b;
    return (y->mass > x->mass) - (y->mass < x->mass);
}

static int cmp_box_y(const void *a, const void *b) {
    const tbox_t *x = a, *y = b;
    return (x->y > y->y) - (x->y < y->y);
}

/* 16 bytes at a time (GCC/Clang vector extensions; unaligned loads via memcpy). */
typedef unsigned char v16u8 __attribute__((vector_size(16)));

static inline v16u8 v16_load(const unsigned char *p) {
    v16u8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline v16u8 v16_absdiff(v16u8 a, v16u8 b) {
    v16u8 gt = (v16u8)(a > b);
    return ((a - b) & gt) | ((b - a) & ~gt);
}

static inline v16u8 v16_max(v16u8 a, v16u8 b) {
    v16u8 gt = (v16u8)(a > b);
    return (a & gt) | (b & ~gt);
}

/* dst[i] = max(|a[i] - b[i]|, |c[i] - d[i]|) for i < n. */
static void absdiff_max(unsigned char *restrict dst, const unsigned char *a, const unsigned char *b,
                        const unsigned char *cc, const unsigned char *d, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16u8 r = v16_max(v16_absdiff(v16_load(a + i), v16_load(b + i)),
                          v16_absdiff(v16_load(cc + i), v16_load(d + i)));
        memcpy(dst + i, &r, sizeof r);
    }
    for (; i < n; i++) {
        int x = abs(a[i] - b[i]), y = abs(cc[i] - d[i]);
        dst[i] = (unsigned char)(x > y ? x : y);
    }
}

/* Sharp-edge map: per pixel the largest central difference over R, G, B in x and
 * y (one-sided at the image border). Returns the threshold chosen above the
 * background's texture. */
static int edge_map(const image_t *img, unsigned char *grad) {
    int w = img->w, h = img->h;
    size_t rs = (size_t)w * 3;
    const unsigned char *p = img->rgb;
    unsigned hist[256] = {0};
    unsigned char *m = malloc(rs);
    if (!m) abort();
    for (int y = 0; y < h; y++) {
        int ym = y > 0 ? y - 1 : y, yp = y < h - 1 ? y + 1 : y;
        const unsigned char *row = p + (size_t)y * rs, *up = p + (size_t)ym * rs, *dn = p + (size_t)yp * rs;
        /* Per byte (pixel x channel): max of the x and y differences. Interior
         * columns first, then the two border columns (neighbour clamped). */
        if (w > 2) absdiff_max(m + 3, row + 6, row, dn + 3, up + 3, rs - 6);
        for (int x = 0; x < w; x += (w > 1 ? w - 1 : 1)) {
            int xm = x > 0 ? x - 1 : x, xp = x < w - 1 ? x + 1 : x;
            for (int ch = 0; ch < 3; ch++) {
                int gx = abs(row[3 * xp + ch] - row[3 * xm + ch]), gy = abs(dn[3 * x + ch] - up[3 * x + ch]);
                m[3 * x + ch] = (unsigned char)(gx > gy ? gx : gy);
            }
        }
        unsigned char *g = grad + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            unsigned char a = m[3 * x], b = m[3 * x + 1], cc = m[3 * x + 2];
            unsigned char v = a > b ? a : b;
            v = v > cc ? v : cc;
            g[x] = v;
            hist[v]++;
        }
    }
    free(m);
    unsigned n = (unsigned)w * h, acc = 0;
    int median = 0;
    for (int i = 0; i < 256; i++) {
        acc += hist[i];
        if (acc * 2 >= n) {
            median = i;
            break;
        }
    }
    int t = (int)(2.2 * median) + 8;
    if (t < 30) t = 30;
    if (t > 72) t = 72;
    return t;
}

/* Finds candidate text lines into c->boxes (full-res), largest edge mass first. */
static void find_lines(vctx_t *c) {
    int w = c->img.w, h = c->img.h;
    size_t n = (size_t)w * h;
    unsigned char *grad = malloc(n);
    int *stack = malloc(n * sizeof *stack);
    cc_t *ccs = malloc(MAX_CC * sizeof *ccs);
    if (!grad || !stack || !ccs) abort();
    c->edge_threshold = edge_map(&c->img, grad);
    int t = c->edge_threshold, ncc = 0;

    /* Connected components (8-neighbour) of edge pixels; visited pixels are zeroed. */
    const v16u8 below = (v16u8){0} + (unsigned char)(t - 1);
    for (size_t i = 0; i < n && ncc < MAX_CC; i++) {
        /* Skip 16 quiet pixels at a time (most of the image has no sharp edge). */
        while (i + 16 <= n) {
            v16u8 hit = (v16u8)(v16_load(grad + i) > below);
            uint64_t lanes[2];
            memcpy(lanes, &hit, sizeof lanes);
            if (lanes[0] | lanes[1]) break;
            i += 16;
        }
        if (i >= n) break;
        if (grad[i] < t) continue;
        cc_t cc = {(int)(i % w), (int)(i / w), (int)(i % w), (int)(i / w), 0};
        int sp = 0;
        stack[sp++] = (int)i;
        grad[i] = 0;
        while (sp) {
            int k = stack[--sp], x = k % w, y = k / w;
            cc.count++;
            if (x < cc.x0) cc.x0 = x;
            if (x > cc.x1) cc.x1 = x;
            if (y < cc.y0) cc.y0 = y;
            if (y > cc.y1) cc.y1 = y;
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h) continue;
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= w) continue;
                    size_t j = (size_t)yy * w + xx;
                    if (grad[j] >= t) {
                        grad[j] = 0;
                        stack[sp++] = (int)j;
                    }
                }
            }
        }
        int ch = cc.y1 - cc.y0 + 1, cw = cc.x1 - cc.x0 + 1;
        if (cc.count < 4 || ch < 3) continue;             /* specks */
        if (ch > h * 0.9 && cw > w * 0.9) continue;       /* frame-like outline */
        ccs[ncc++] = cc;
    }
    free(grad);
    free(stack);

    /* Group components into lines: overlapping vertically by half the smaller
     * height, and horizontally closer than 1.2x the taller height. */
    qsort(ccs, (size_t)ncc, sizeof *ccs, cmp_cc_x);
    int *parent = malloc((size_t)(ncc ? ncc : 1) * sizeof *parent);
    if (!parent) abort();
    int hmax = 0;
    for (int i = 0; i < ncc; i++) {
        parent[i] = i;
        if (ccs[i].y1 - ccs[i].y0 + 1 > hmax) hmax = ccs[i].y1 - ccs[i].y0 + 1;
    }
    for (int i = 0; i < ncc; i++) {
        int hi = ccs[i].y1 - ccs[i].y0 + 1;
        for (int j = i + 1; j < ncc && ccs[j].x0 <= ccs[i].x1 + 1.2 * hmax; j++) {
            int hj = ccs[j].y1 - ccs[j].y0 + 1, hm = hi > hj ? hi : hj, hs = hi < hj ? hi : hj;
            int gap = ccs[j].x0 - ccs[i].x1;
            if (gap > 1.2 * hm) continue;
            int ov = (ccs[i].y1 < ccs[j].y1 ? ccs[i].y1 : ccs[j].y1) -
                     (ccs[i].y0 > ccs[j].y0 ? ccs[i].y0 : ccs[j].y0) + 1;
            if (ov * 2 < hs) continue;
            int a = uf_find(parent, i), b = uf_find(parent, j);
            if (a != b) parent[b] = a;
        }
    }
    /* Collect groups. */
    tbox_t *all = calloc((size_t)(ncc ? ncc : 1), sizeof *all);
    int *slot = malloc((size_t)(ncc ? ncc : 1) * sizeof *slot);
    if (!all || !slot) abort();
    int ng = 0;
    for (int i = 0; i < ncc; i++) slot[i] = -1;
    for (int i = 0; i < ncc; i++) {
        int r = uf_find(parent, i);
        if (slot[r] < 0) {
            slot[r] = ng;
            all[ng] = (tbox_t){.x = ccs[i].x0, .y = ccs[i].y0, .w = ccs[i].x1, .h = ccs[i].y1};
            ng++;
        }
        tbox_t *b = &all[slot[r]];
        if (ccs[i].x0 < b->x) b->x = ccs[i].x0;
        if (ccs[i].y0 < b->y) b->y = ccs[i].y0;
        if (ccs[i].x1 > b->w) b->w = ccs[i].x1;
        if (ccs[i].y1 > b->h) b->h = ccs[i].y1;
        b->mass += ccs[i].count;
    }
    for (int g = 0; g < ng; g++) {
        all[g].w = all[g].w - all[g].x + 1;
        all[g].h = all[g].h - all[g].y + 1;
    }
    /* Second level: whole words into lines. A word's box spans ascenders and
     * descenders, so gaps are judged against the taller box (word spaces in wide
     * or italic faces exceed the letter-level rule above). */
    int live = 0;
    for (int g = 0; g < ng; g++) {
        if (all[g].h < 6 || all[g].mass < 20) all[g].mass = 0;
        live += all[g].mass > 0;
    }
    for (bool merged = live <= 400; merged;) {
        merged = false;
        for (int a = 0; a < ng; a++) {
            tbox_t *A = &all[a];
            if (A->mass == 0 || A->h < 6) continue;
            for (int b = a + 1; b < ng; b++) {
                tbox_t *B = &all[b];
                if (B->mass == 0 || B->h < 6) continue;
                int hs = A->h < B->h ? A->h : B->h, hm = A->h > B->h ? A->h : B->h;
                if (hs * 2 < hm) continue;
                int ov = (A->y + A->h < B->y + B->h ? A->y + A->h : B->y + B->h) - (A->y > B->y ? A->y : B->y);
                int gap = (A->x > B->x ? A->x : B->x) - (A->x + A->w < B->x + B->w ? A->x + A->w : B->x + B->w);
                if (ov * 3 < hs * 2 || gap > 0.9 * hm) continue;
                int x0 = A->x < B->x ? A->x : B->x, y0 = A->y < B->y ? A->y : B->y;
                int x1 = A->x + A->w > B->x + B->w ? A->x + A->w : B->x + B->w;
                int y1 = A->y + A->h > B->y + B->h ? A->y + A->h : B->y + B->h;
                A->x = x0, A->y = y0, A->w = x1 - x0, A->h = y1 - y0;
                A->mass += B->mass;
                B->mass = 0;
                merged = true;
            }
        }
    }
    int kept = 0;
    for (int g = 0; g < ng; g++) {
        tbox_t *b = &all[g];
        if (b->mass == 0) continue;
        double density = (double)b->mass / ((double)b->w * b->h);
        if (b->h < 8 || b->mass < 40 || density < 0.03) continue;
        if (b->w < b->h / 4) continue;
        all[kept++] = *b;
    }
    qsort(all, (size_t)kept, sizeof *all, cmp_box_mass);
    c->nboxes = kept < MAX_BOXES ? kept : MAX_BOXES;
    for (int i = 0; i < c->nboxes; i++) {
        c->boxes[i] = all[i];
        c->boxes[i].expected = -1;
    }
    qsort(c->boxes, (size_t)c->nboxes, sizeof c->boxes[0], cmp_box_y);
    free(all);
    free(slot);
    free(parent);
    free(ccs);
}

/* ==== Per-line analysis: channel, binarisation, colours, OCR ==== */

typedef struct {
    int x0, y0, x1, y1; /* padded crop, exclusive ends */
} crop_t;

static crop_t padded(const vctx_t *c, const tbox_t *b) {
    int pad = b->h / 5 + 4;
    crop_t k = {b->x - pad, b->y - pad, b->x + b->w + pad, b->y + b->h + pad};
    if (k.x0 < 0) k.x0 = 0;
    if (k.y0 < 0) k.y0 = 0;
    if (k.x1 > c->img.w) k.x1 = c->img.w;
    if (k.y1 > c->img.h) k.y1 = c->img.h;
    return k;
}

/* Copies channel ch (0 luma, 1 R, 2 G, 3 B) of crop k into a new w x h buffer. */
static unsigned char *channel_crop(const vctx_t *c, crop_t k, int ch) {
    int cw = k.x1 - k.x0, chh = k.y1 - k.y0, w = c->img.w;
    unsigned char *out = malloc((size_t)cw * chh);
    if (!out) abort();
    for (int y = 0; y < chh; y++) {
        unsigned char *o = out + (size_t)y * cw;
        if (ch == 0) {
            memcpy(o, c->luma + (size_t)(y + k.y0) * w + k.x0, (size_t)cw);
            continue;
        }
        const unsigned char *p = c->img.rgb + ((size_t)(y + k.y0) * w + k.x0) * 3 + (ch - 1);
        for (int x = 0; x < cw; x++) o[x] = p[3 * x];
    }
    return out;
}

/* Picks the channel separating ink from ground best, the threshold and the
 * polarity (ground = the class holding most of the crop's border), then measures
 * the ink and ground colours, their WCAG contrast, and marks ink in c->inkmask.
 * Keeps the chosen channel of the padded crop in b->chan for OCR. */
static void analyse_box(vctx_t *c, tbox_t *b) {
    crop_t k = padded(c, b);
    int w = c->img.w;
    const unsigned char *rgb = c->img.rgb;
    unsigned hist[4][256];
    memset(hist, 0, sizeof hist);
    for (int y = k.y0; y < k.y1; y++) {
        const unsigned char *l = c->luma + (size_t)y * w;
        const unsigned char *p = rgb + (size_t)y * w * 3;
        for (int x = k.x0; x < k.x1; x++) {
            hist[0][l[x]]++;
            hist[1][p[3 * x]]++;
            hist[2][p[3 * x + 1]]++;
            hist[3][p[3 * x + 2]]++;
        }
    }
    double best = -1;
    for (int ch = 0; ch < 4; ch++) {
        double eta;
        int t = otsu(hist[ch], &eta);
        if (ch == 0) eta *= 1.03; /* prefer luma on ties */
        if (eta > best) {
            best = eta;
            b->channel = ch;
            b->thresh = t;
        }
    }
    int cw = k.x1 - k.x0, chh = k.y1 - k.y0, th = b->thresh;
    unsigned char *chan = channel_crop(c, k, b->channel);
    b->chan = chan;
    /* Polarity from the border of the crop. */
    unsigned above = 0, total = 0;
    for (int x = 0; x < cw; x++) {
        above += chan[x] > th;
        above += chan[(size_t)(chh - 1) * cw + x] > th;
        total += 2;
    }
    for (int y = 0; y < chh; y++) {
        above += chan[(size_t)y * cw] > th;
        above += chan[(size_t)y * cw + cw - 1] > th;
        total += 2;
    }
    b->dark_text = above * 2 >= total;

    /* Ink mask of the crop (1 = ink side of the threshold). */
    unsigned char *m = malloc((size_t)cw * chh * 2);
    if (!m) abort();
    unsigned char *near = m + (size_t)cw * chh;
    for (size_t i = 0; i < (size_t)cw * chh; i++)
        m[i] = b->dark_text ? chan[i] <= th : chan[i] > th;

    /* Ink: the 40% of ink pixels farthest from the threshold (stroke cores, not
     * anti-aliased fringes). Ground: pixels not next to ink. */
    unsigned dist_hist[256] = {0}, n_ink = 0;
    int bx0 = b->x - k.x0, by0 = b->y - k.y0;
    for (int y = by0; y < by0 + b->h; y++)
        for (int x = bx0; x < bx0 + b->w; x++) {
            size_t i = (size_t)y * cw + x;
            if (!m[i]) continue;
            c->inkmask[(size_t)(y + k.y0) * w + x + k.x0] = 1;
            dist_hist[abs(chan[i] - th)]++;
            n_ink++;
        }
    int cut = 0;
    for (unsigned acc = 0; cut < 255; cut++) {
        acc += dist_hist[cut];
        if (acc * 10 >= n_ink * 6) break;
    }
    /* near = ink at any of the offsets {-2, 0, 2} x {-2, 0, 2} (separable: rows,
     * then columns). */
    unsigned char *rowd = malloc((size_t)cw * chh);
    if (!rowd) abort();
    for (int y = 0; y < chh; y++) {
        const unsigned char *r = m + (size_t)y * cw;
        unsigned char *o = rowd + (size_t)y * cw;
        for (int x = 0; x < cw; x++)
            o[x] = r[x] | (x >= 2 ? r[x - 2] : 0) | (x + 2 < cw ? r[x + 2] : 0);
    }
    for (int y = 0; y < chh; y++) {
        const unsigned char *r = rowd + (size_t)y * cw;
        const unsigned char *u = y >= 2 ? r - 2 * (size_t)cw : NULL, *d = y + 2 < chh ? r + 2 * (size_t)cw : NULL;
        unsigned char *o = near + (size_t)y * cw;
        for (int x = 0; x < cw; x++) o[x] = r[x] | (u ? u[x] : 0) | (d ? d[x] : 0);
    }
    free(rowd);
    unsigned ih[3][256], gh[3][256], ni = 0, ng = 0;
    memset(ih, 0, sizeof ih);
    memset(gh, 0, sizeof gh);
    for (int y = 0; y < chh; y++) {
        bool yin = y >= by0 && y < by0 + b->h;
        for (int x = 0; x < cw; x++) {
            size_t i = (size_t)y * cw + x;
            const unsigned char *p = rgb + ((size_t)(y + k.y0) * w + x + k.x0) * 3;
            if (m[i]) {
                bool inside = yin && x >= bx0 && x < bx0 + b->w;
                if (!inside || abs(chan[i] - th) < cut) continue;
                for (int ch = 0; ch < 3; ch++) ih[ch][p[ch]]++;
                ni++;
                continue;
            }
            if (near[i]) continue;
            for (int ch = 0; ch < 3; ch++) gh[ch][p[ch]]++;
            ng++;
        }
    }
    free(m);
    b->ink = ni ? median_rgb(ih, ni) : 0;
    b->ground = ng ? median_rgb(gh, ng) : 0xffffff;
    b->contrast = (ni && ng) ? color_contrast_ratio(b->ink, b->ground) : 1.0;
}

/* Variants of the OCR input for a line. */
typedef enum { BIN_OTSU = 0, BIN_GREY, BIN_MIDPOINT } binmode_t;

/* OCRs box b: crop the chosen channel, scale so the text is about target_h pixels
 * tall, make it dark-on-light and binarise per mode, white margin, one OCR call. */
static void ocr_box(vctx_t *c, tbox_t *b, double target_h, binmode_t mode, int psm, ocr_line_t *out) {
    crop_t k = padded(c, b);
    int cw = k.x1 - k.x0, ch = k.y1 - k.y0;
    unsigned char *src = malloc((size_t)cw * ch);
    if (!src) abort();
    for (size_t i = 0; i < (size_t)cw * ch; i++)
        src[i] = (unsigned char)(b->dark_text ? b->chan[i] : 255 - b->chan[i]);
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
    ocr_engine_read(c->ocr, o, ow, oh, psm, out);
    c->ocr_ms += (double)mono_us() / 1e3 - t0;
    c->ocr_calls++;
    free(o);
    if (dst != src) free(dst);
    free(src);
}

/* ==== Per-box layout and contrast rules (shared by the checks and by retries) ==== */

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

static bool casefold(const vctx_t *c) { return c->job->case_insensitive; }

static void set_reading(vctx_t *c, tbox_t *b, const ocr_line_t *line) {
    b->ocr = *line;
    textnorm(line->text, b->norm, sizeof b->norm, casefold(c));
}

/* Extra passes for an expected line that no first reading matched: tries other
 * inputs on the box most like it and keeps the first that reads it exactly. */
static double line_min_conf(const ocr_line_t *l) {
    double mn = l->n_words ? 100 : 0;
    for (int k = 0; k < l->n_words; k++) mn = fmin(mn, l->word_conf[k]);
    return mn;
}

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

static bool retry_line(vctx_t *c, tbox_t *b, const char *want, double need_conf) {
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
        textnorm(line.text, norm, sizeof norm, casefold(c));
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

static bool box_is_candidate(const tbox_t *b) {
    return b->read && text_alnum_count(b->norm) > 0;
}

/* A reading confident enough to count as text nobody asked for. */
static bool box_is_legible(const tbox_t *b) {
    return text_alnum_count(b->norm) >= 2 && b->ocr.conf >= 70 && b->h >= 10;
}

/* Matches readings to expected lines and records text failures. */
static void check_text(vctx_t *c, cJSON *lines_json) {
    const job_t *job = c->job;
    int matched_by[JOB_MAX_TEXT];
    for (int j = 0; j < c->n_expected; j++) matched_by[j] = -1;

    double minc = c->cfg->min_confidence;
    /* 1. Exact readings. A word read with low confidence is not proof: the line
     *    then gets extra passes and must be read again, confidently. */
    for (int j = 0; j < c->n_expected; j++)
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
            b->expected = j;
            b->exact = ok;
            matched_by[j] = best;
        }
    }
    /* 3. Report and verdict per expected line. */
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
        fail(c, "text_unreadable", "no legible text found; draw %s clearly, in high contrast", all);
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
            cJSON_AddBoolToObject(lj, "match", b->exact);
            if (!b->exact) {
                if (b->uncertain)
                    fail(c, "text_mismatch", "expected \"%s\", read it only uncertainly (word confidence %.0f%%); draw it clearly",
                         job->text[j], line_min_conf(&b->ocr));
                else if (b->norm[0])
                    fail(c, "text_mismatch", "expected \"%s\", read \"%s\"", job->text[j], b->ocr.text);
                else
                    fail(c, "text_missing", "the line \"%s\" is missing or illegible", job->text[j]);
            }
        } else {
            cJSON_AddNullToObject(lj, "read");
            cJSON_AddNumberToObject(lj, "distance", 1);
            cJSON_AddBoolToObject(lj, "match", false);
            if (!unreadable) fail(c, "text_missing", "the line \"%s\" is missing", job->text[j]);
        }
        cJSON_AddItemToArray(lines_json, lj);
    }
    /* 4. Readings nobody asked for: duplicates of an expected line, or extra text. */
    cJSON *extra = cJSON_AddArrayToObject(c->checks, "extra_text");
    for (int i = 0; i < c->nboxes; i++) {
        tbox_t *b = &c->boxes[i];
        if (b->expected >= 0 || !b->read) continue;
        int dup = -1;
        for (int j = 0; j < c->n_expected && dup < 0; j++)
            if (!strcmp(b->norm, c->expected[j])) dup = j;
        bool legible = box_is_legible(b);
        if (dup < 0 && !legible) continue;
        b->texty = true;
        cJSON *ej = cJSON_CreateObject();
        cJSON_AddStringToObject(ej, "read", b->ocr.text);
        cJSON_AddNumberToObject(ej, "confidence", b->ocr.conf);
        cJSON_AddItemToObject(ej, "box", cJSON_CreateIntArray((const int[]){b->x, b->y, b->w, b->h}, 4));
        cJSON_AddItemToArray(extra, ej);
        if (dup >= 0) fail(c, "text_duplicated", "\"%s\" appears more than once; draw it once", job->text[dup]);
        else fail(c, "text_extra", "remove the extra text \"%s\"", b->ocr.text);
    }
}

/* ==== Layout, contrast ==== */

static const char *box_label(const vctx_t *c, const tbox_t *b) {
    if (b->expected >= 0) return c->job->text[b->expected];
    if (b->read && b->ocr.text[0]) return b->ocr.text;
    static __thread char buf[64];
    snprintf(buf, sizeof buf, "at x %d, y %d", b->x, b->y);
    return buf;
}

static void check_layout(vctx_t *c, cJSON *layout) {
    int W = c->img.w, H = c->img.h;
    zone_t z = safe_zone(c);
    cJSON_AddNumberToObject(layout, "safe_zone", z.sz);
    cJSON_AddItemToObject(layout, "zone", cJSON_CreateIntArray((const int[]){(int)z.zx0, (int)z.zy0,
                                                   (int)(z.zx1 - z.zx0), (int)(z.zy1 - z.zy0)}, 4));
    for (int i = 0; i < c->nboxes; i++) {
        const tbox_t *b = &c->boxes[i];
        if (!b->texty) continue;
        int x0 = b->x, y0 = b->y, x1 = b->x + b->w, y1 = b->y + b->h;
        const char *what = box_label(c, b);
        const char *edge = box_edge(c, b);
        if (edge) fail(c, "text_touches_edge", "text \"%s\" touches the %s edge of the image", what, edge);
        const char *side = box_zone_side(&z, b);
        if (side) fail(c, "text_outside_safe_zone", "text \"%s\" is outside the safe zone on the %s", what, side);
        if (box_outside_region(c, b)) {
            const region_t *r = &c->job->region;
            double rx0 = r->x * W, ry0 = r->y * H, rx1 = (r->x + r->w) * W, ry1 = (r->y + r->h) * H;
            fail(c, "text_outside_region",
                 "text \"%s\" must lie inside its region (x %.0f-%.0f, y %.0f-%.0f px), found at x %d-%d, y %d-%d",
                 what, rx0, rx1, ry0, ry1, x0, x1, y0, y1);
        }
    }
}

static void check_contrast(vctx_t *c, cJSON *contrast) {
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
        cJSON_AddItemToArray(per, bj);
        if (n++ == 0 || b->contrast / need < worst / need_at_worst) worst = b->contrast, need_at_worst = need;
        if (b->contrast < need)
            fail(c, "low_contrast", "raise contrast between text and background (%.1f:1, need %.1f:1)",
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
static void check_palette(vctx_t *c, cJSON *pj) {
    const job_t *job = c->job;
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
            fail(c, "off_palette",
                 "colour %s covers %.0f%% of the image and is off the palette (CIEDE2000 %.1f from %s, "
                 "tolerance %.0f); use only %s",
                 hex, wfrac * 100, d, nhex, tol, want);
        }
    }
    cJSON_AddNumberToObject(pj, "off_palette_fraction", round(off_weight * 1000) / 1000);
}

/* ==== Sanity ==== */

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

/* ==== The check ==== */

static verdict_t *finish(vctx_t *c, double t0) {
    verdict_t *v = c->v;
    cJSON_AddBoolToObject(c->report, "pass", v->pass);
    cJSON *reasons = cJSON_AddArrayToObject(c->report, "reasons");
    char tmp[sizeof v->reasons];
    snprintf(tmp, sizeof tmp, "%s", v->reasons);
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(reasons, cJSON_CreateString(tok));
    cJSON_AddStringToObject(c->report, "guidance", v->guidance);
    cJSON_AddNumberToObject(c->report, "elapsed_ms", round(((double)mono_us() / 1e3 - t0) * 10) / 10);
    v->report = c->report;
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
    verdict_t *v = calloc(1, sizeof *v);
    if (!c || !v) abort();
    c->cfg = cfg;
    c->job = job;
    c->ocr = ocr;
    c->v = v;
    v->pass = true;
    c->report = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->report, "ocr", ocr != NULL);
    c->checks = cJSON_AddObjectToObject(c->report, "checks");
    cJSON *sanity = cJSON_AddObjectToObject(c->checks, "sanity");

    /* Decode. */
    image_limits_t lim = {cfg->max_png_bytes, cfg->max_dimension, cfg->max_png_chunks};
    char err[256];
    if (image_decode_png(png, len, &lim, &c->img, err, sizeof err) != 0) {
        cJSON_AddStringToObject(sanity, "decode_error", err);
        fail(c, "image_undecodable", "the image could not be decoded (%s); re-render a valid PNG", err);
        verdict_t *out = finish(c, t0);
        free(c);
        return out;
    }
    int W = c->img.w, H = c->img.h;
    cJSON_AddItemToObject(c->report, "size", cJSON_CreateIntArray((const int[]){W, H}, 2));
    if (job->width > 0 && job->height > 0 && (job->width != W || job->height != H))
        fail(c, "size_mismatch", "render at %dx%d (got %dx%d)", job->width, job->height, W, H);

    c->luma = malloc((size_t)W * H);
    c->inkmask = calloc((size_t)W * H, 1);
    if (!c->luma || !c->inkmask) abort();
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
    double mean = (double)sum / ((double)W * H), sd = sqrt(fmax(0, (double)sumsq / ((double)W * H) - mean * mean));
    cJSON_AddNumberToObject(sanity, "luma_stddev", round(sd * 100) / 100);

    /* Text lines. */
    double t1 = (double)mono_us() / 1e3;
    find_lines(c);
    cJSON_AddNumberToObject(sanity, "edge_threshold", c->edge_threshold);
    bool blank = sd < 2.0 && c->nboxes == 0;
    cJSON_AddBoolToObject(sanity, "blank", blank);
    if (blank) fail(c, "blank_image", "the image is blank (uniform, luma deviation %.1f); render the scene", sd);

    c->n_expected = job->n_text < JOB_MAX_TEXT ? job->n_text : JOB_MAX_TEXT;
    for (int j = 0; j < c->n_expected; j++)
        textnorm(job->text[j], c->expected[j], sizeof c->expected[j], casefold(c));
    for (int i = 0; i < c->nboxes; i++) analyse_box(c, &c->boxes[i]);

    double t2 = (double)mono_us() / 1e3;
    cJSON *lines = cJSON_AddArrayToObject(c->checks, "text");
    if (c->n_expected > 0 && ocr) {
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
        for (int i = 0; i < c->nboxes && i < budget; i++) {
            ocr_line_t line;
            ocr_box(c, order[i], 40, BIN_OTSU, OCR_PSM_LINE, &line);
            order[i]->read = true;
            order[i]->passes = 1;
            set_reading(c, order[i], &line);
        }
        check_text(c, lines);
    } else if (c->n_expected > 0) {
        /* No OCR: every box that looks like a line of text counts as text. */
        for (int i = 0; i < c->nboxes; i++) c->boxes[i].texty = true;
        if (c->nboxes == 0)
            fail(c, "text_unreadable", "no text found; draw the requested text clearly, in high contrast");
    }
    double t3 = (double)mono_us() / 1e3;

    check_layout(c, cJSON_AddObjectToObject(c->checks, "layout"));
    check_contrast(c, cJSON_AddObjectToObject(c->checks, "contrast"));
    if (job->n_palette > 0) check_palette(c, cJSON_AddObjectToObject(c->checks, "palette"));
    if (!blank) {
        double sharp = sharpness(c);
        cJSON_AddNumberToObject(sanity, "sharpness", round(sharp * 10) / 10);
        if (sharp < cfg->blur_threshold)
            fail(c, "blurred", "the image is blurred (sharpness %.1f, need %.0f); render crisp text and edges",
                 sharp, cfg->blur_threshold);
    }
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
