/* find_lines.c — where the text is: the sharp-edge map (colour edges, or luma edges
 * when the background is textured in colour; its threshold raised above the level
 * of texture edges that run across the image), its connected components grouped into
 * words and then lines, each line's box the hull of its letters with nearby specks
 * (find_lines), and per line the channel (luma, R, G, B; luma alone on a textured
 * background), Otsu threshold and polarity that separate ink from ground, the ink and
 * ground colours with their contrast, and the ink mask the palette check skips
 * (analyse_box). The phase before reading; see verify_internal.h. */
#include "verify/verify_internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/color.h"

#define MAX_CC 20000

typedef struct {
    int x0, y0, x1, y1; /* inclusive, full-res pixels */
    int count;          /* edge pixels */
    int peak;           /* its 90th-percentile gradient (component_peaks), 0 unmeasured */
} cc_t;


/* ==== Small image helpers ==== */

/* Otsu's threshold over a 256-bin histogram; *eta = between-class variance over
 * total variance (0..1, how well two classes explain the values). */
int otsu(const unsigned hist[256], double *eta) {
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

/* Median of each channel of per-channel histograms holding n pixels each. */
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

/* Groups components (sorted by x0) into lines in parent (union-find): overlapping
 * vertically by half the smaller height, and horizontally closer than 1.2x the
 * taller height. */
static void group_components(const cc_t *ccs, int ncc, int *parent) {
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
}

typedef struct {
    int root, h, count;
} member_t;

static int cmp_member(const void *a, const void *b) {
    const member_t *x = a, *y = b;
    if (x->root != y->root) return (x->root > y->root) - (x->root < y->root);
    return (x->h > y->h) - (x->h < y->h);
}

/* A component at least this many times its group's median height (weighted by edge
 * pixels, so that specks do not lower it), both tall and wide, is no letter (a bokeh disc, a sticker, a blob beside the line): letters that
 * tall (f, j, g, brackets) are narrow, letters that wide (W, M, ligatures) are not
 * that tall, and a word fused by a glow sets its own median. */
#define NON_LETTER_RATIO 1.8

/* A component at least the median height in both directions whose edge pixels fill
 * less than this share of its box is a line or an arc (a stripe's edge cut short by a
 * glow, a quarter of a disc): the edges of a letter fill 0.15 or more of its box,
 * even a slash or a thin ring. */
#define SPARSE_FILL 0.05

/* Two letters that touch, one with an ascender and one with a descender ("gh" in a
 * large serif face, the g's ear on the h's stem), make one component as tall as
 * both and as wide as two letters: NON_LETTER_RATIO x the median in both. Such a
 * component stays when it stands side by side between two letters of its line
 * (each at least 0.6 of the median height, within half of it, neither overlapping
 * it by more than 0.15 of it) and is at most TOUCHING_PAIR_MAX x the median tall
 * and wide (two letters: the "gh" of a Nimbus Roman line came to 1.8 and 2.0); a
 * disc or a sticker stands apart from the letters or behind them, over them, and
 * one that took letters in is larger (2.5 and 2.7 for a bokeh disc behind "Wee"). */
#define TOUCHING_PAIR_MAX 2.2

static bool touching_pair(const cc_t *ccs, int ncc, int *parent, int i, int med) {
    const cc_t *p = &ccs[i];
    if (p->y1 - p->y0 + 1 > TOUCHING_PAIR_MAX * med || p->x1 - p->x0 + 1 > TOUCHING_PAIR_MAX * med) return false;
    int root = uf_find(parent, i);
    bool left = false, right = false;
    for (int j = 0; j < ncc; j++) {
        const cc_t *q = &ccs[j];
        int hq = q->y1 - q->y0 + 1;
        if (j == i || hq < 0.6 * med || uf_find(parent, j) != root) continue;
        if (q->x0 >= p->x0 && q->x1 <= p->x1 && q->y0 >= p->y0 && q->y1 <= p->y1) continue; /* a counter's edge */
        int over = (q->x1 < p->x1 ? q->x1 : p->x1) - (q->x0 > p->x0 ? q->x0 : p->x0) + 1;
        if (over > 0.15 * med) return false;
        if (q->x1 <= p->x0 + 0.15 * med && p->x0 - q->x1 <= 0.5 * med) left = true;
        if (q->x0 >= p->x1 - 0.15 * med && q->x0 - p->x1 <= 0.5 * med) right = true;
    }
    return left && right;
}

/* Removes (in place, keeping the x order) the components of groups of three or
 * more that are NON_LETTER_RATIO x the group's weighted median height in both height
 * and width (but for two letters that touch, touching_pair), or sparse
 * (SPARSE_FILL); returns how many remain. */
static int drop_non_letters(cc_t *ccs, int ncc, int *parent) {
    if (ncc < 3) return ncc;
    member_t *m = malloc((size_t)ncc * sizeof *m);
    int *median = malloc((size_t)ncc * sizeof *median);
    if (!m || !median) abort();
    for (int i = 0; i < ncc; i++) {
        m[i] = (member_t){uf_find(parent, i), ccs[i].y1 - ccs[i].y0 + 1, ccs[i].count};
        median[i] = 0;
    }
    qsort(m, (size_t)ncc, sizeof *m, cmp_member);
    for (int a = 0, b; a < ncc; a = b) {
        for (b = a; b < ncc && m[b].root == m[a].root; b++) {}
        if (b - a < 3) continue;
        long total = 0, acc = 0;
        for (int k = a; k < b; k++) total += m[k].count;
        int k = a;
        while (k < b - 1 && (acc += m[k].count) * 2 < total) k++;
        median[m[a].root] = m[k].h;
    }
    bool *drop = calloc((size_t)ncc, sizeof *drop);
    if (!drop) abort();
    for (int i = 0; i < ncc; i++) {
        int med = median[uf_find(parent, i)];
        int hi = ccs[i].y1 - ccs[i].y0 + 1, wi = ccs[i].x1 - ccs[i].x0 + 1;
        if (med <= 0) continue;
        drop[i] = (hi > NON_LETTER_RATIO * med && wi > NON_LETTER_RATIO * med && !touching_pair(ccs, ncc, parent, i, med)) ||
                  (hi > med && wi > med && ccs[i].count < SPARSE_FILL * hi * wi);
    }
    int kept = 0;
    for (int i = 0; i < ncc; i++)
        if (!drop[i]) ccs[kept++] = ccs[i];
    free(drop);
    free(m);
    free(median);
    return kept;
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

/* More than this share of the pixels on colour edges: the background is a texture
 * (text alone, even three lines of bold display type, stays under it). */
#define TEXTURE_SHARE 0.05

static int edge_threshold(const unsigned hist[256], unsigned n);

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
    return edge_threshold(hist, (unsigned)w * h);
}

/* The threshold above the background's own texture: 2.2 x the median gradient + 8,
 * within 30..72. */
static int edge_threshold(const unsigned hist[256], unsigned n) {
    unsigned acc = 0;
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

/* Share of the pixels at or above threshold t. */
static double edge_share(const unsigned hist[256], unsigned n, int t) {
    unsigned above = 0;
    for (int i = t; i < 256; i++) above += hist[i];
    return (double)above / n;
}

/* Edge map of luma alone (central differences, one-sided at the border), for a
 * background textured in colour: stripes, checks or confetti of colours close in
 * lightness make strong colour edges, while lettering legible at 4.5:1 stands out
 * in lightness. Threshold: 1.3 x the level only TEXTURE_SHARE of the pixels exceed
 * (the texture's edges) + 4, at least the usual rule's, at most 100. */
static int luma_edge_map(const vctx_t *c, unsigned char *grad) {
    int w = c->img.w, h = c->img.h;
    unsigned hist[256] = {0};
    for (int y = 0; y < h; y++) {
        const unsigned char *row = c->luma + (size_t)y * w;
        const unsigned char *up = y > 0 ? row - w : row, *dn = y < h - 1 ? row + w : row;
        unsigned char *g = grad + (size_t)y * w;
        if (w > 2) absdiff_max(g + 1, row + 2, row, dn + 1, up + 1, (size_t)w - 2);
        for (int x = 0; x < w; x += (w > 1 ? w - 1 : 1)) {
            int xm = x > 0 ? x - 1 : x, xp = x < w - 1 ? x + 1 : x;
            int gx = abs(row[xp] - row[xm]), gy = abs(dn[x] - up[x]);
            g[x] = (unsigned char)(gx > gy ? gx : gy);
        }
        for (int x = 0; x < w; x++) hist[g[x]]++;
    }
    unsigned n = (unsigned)w * h;
    int t = edge_threshold(hist, n), p = 0;
    while (p < 255 && edge_share(hist, n, p) > TEXTURE_SHARE) p++;
    int above = (int)(1.3 * p) + 4; /* clear of the texture's own strongest edges */
    if (above > t) t = above;
    return t < 100 ? t : 100;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The text's tilt, degrees (positive: lines descend to the right, in image
 * coordinates), from the letters' bottoms: within each word (a group of
 * components; tallest[root] its tallest component's height), the slope between every two letters at least a letter's height
 * apart; the median of all of them (descenders and accents are outliers it
 * ignores). 0 when fewer than 12 such pairs, or when fewer than half of them lie
 * within 0.02 (1.1 degrees) of the median (on six styled splits, where the letters
 * are level and a texture made a tilt of 0.8-6 degrees, at most 0.46 of the pairs
 * agree; on rotated text 0.41-1, a tenth of it below 0.5). */
#define MAX_SKEW_PAIRS 4096
static double estimate_skew(const cc_t *ccs, int ncc, int *parent, const int *tallest) {
    int *order = malloc((size_t)(ncc ? ncc : 1) * sizeof *order);
    double *slope = malloc(MAX_SKEW_PAIRS * sizeof *slope);
    if (!order || !slope) abort();
    /* Letters (>= 0.4 of their group's tallest), group by group. */
    int nl = 0;
    for (int i = 0; i < ncc; i++) {
        int r = uf_find(parent, i), hi = ccs[i].y1 - ccs[i].y0 + 1;
        if (hi * 5 >= tallest[r] * 2 && tallest[r] >= 8) order[nl++] = i;
    }
    int np = 0;
    for (int a = 0; a < nl && np < MAX_SKEW_PAIRS; a++) {
        const cc_t *A = &ccs[order[a]];
        int ra = uf_find(parent, order[a]);
        for (int b = a + 1; b < nl && np < MAX_SKEW_PAIRS; b++) {
            if (uf_find(parent, order[b]) != ra) continue;
            const cc_t *B = &ccs[order[b]];
            double dx = (B->x0 + B->x1) / 2.0 - (A->x0 + A->x1) / 2.0;
            if (dx < 0) dx = -dx;
            if (dx < tallest[ra]) continue;
            double dy = B->y1 - A->y1;
            if ((B->x0 + B->x1) < (A->x0 + A->x1)) dy = -dy;
            slope[np++] = dy / dx;
        }
    }
    double deg = 0;
    if (np >= 12) {
        qsort(slope, (size_t)np, sizeof *slope, cmp_double);
        double med = slope[np / 2];
        int near = 0;
        for (int k = 0; k < np; k++) near += fabs(slope[k] - med) <= 0.02;
        /* Letters on a common baseline agree; texture fragments do not. */
        if (near * 2 >= np) deg = atan(med) * 180 / M_PI;
    }
    free(order);
    free(slope);
    return deg;
}

/* Connected components (8-neighbour) of the pixels of grad at or above t into ccs
 * (at most MAX_CC; visited pixels are zeroed), without specks and frame-like
 * outlines; pix receives each kept component's pixels in turn, from first[k] for
 * component k. Returns how many. */
static int label_components(unsigned char *grad, int w, int h, int t, int *stack, int *pix, int *first,
                            cc_t *ccs) {
    size_t n = (size_t)w * h;
    int ncc = 0, npix = 0;
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
        cc_t cc = {(int)(i % w), (int)(i / w), (int)(i % w), (int)(i / w), 0, 0};
        int sp = 0;
        stack[sp++] = (int)i;
        grad[i] = 0;
        while (sp) {
            int k = stack[--sp], x = k % w, y = k / w;
            pix[npix + cc.count++] = k;
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
        if (cc.count < 4 || ch < 3) continue;       /* specks */
        if (ch > h * 0.9 && cw > w * 0.9) continue; /* frame-like outline */
        first[ncc] = npix;
        npix += cc.count;
        ccs[ncc++] = cc;
    }
    return ncc;
}

/* A component longer than this share of the image's smaller side, and thin (under
 * TEXTURE_THIN pixels across) or sparse (its edges fill under TEXTURE_FILL of its
 * box), is the edge of a texture, with whatever letters it ran into: a stripe's or
 * a check's edge is a line across the image. No letter is that long; a line of
 * letters fused by a stroke or a glow is long but dense (0.2-0.5 of its box). */
#define TEXTURE_EXTENT 0.4
#define TEXTURE_THIN 8
#define TEXTURE_FILL 0.1

/* Adds the gradients of one component's count pixels (pix) to hist and total. */
static void add_gradients(unsigned hist[256], unsigned *total, const unsigned char *grad, const int *pix, int count) {
    for (int i = 0; i < count; i++) hist[grad[pix[i]]]++;
    *total += (unsigned)count;
}

/* The edge level above a set of components' gradients (hist, total of them):
 * 1.3 x their 75th percentile + 4; 0 when there are none. */
static int level_above(const unsigned hist[256], unsigned total) {
    if (total == 0) return 0;
    unsigned acc = 0;
    int p = 0;
    while (p < 255 && (acc += hist[p]) * 4 < total * 3) p++;
    return (int)(1.3 * p) + 4;
}

/* The level above the texture's own edges (components as above; level_above), at
 * most 100; 0 when there are none. Letters
 * legible on stripes stand out from them by more than the stripes from each other
 * (on 21 corpora of corpus2, Pillow: 11 correct images that read no text or lost
 * a line now read, 24 -> 13 false rejects on stripes; none new). */
static int texture_edge_level(const unsigned char *grad, int w, int h, const int *pix, const int *first,
                              const cc_t *ccs, int ncc) {
    unsigned hist[256] = {0}, total = 0;
    int lim = (int)(TEXTURE_EXTENT * (w < h ? w : h));
    for (int k = 0; k < ncc; k++) {
        int cw = ccs[k].x1 - ccs[k].x0 + 1, ch = ccs[k].y1 - ccs[k].y0 + 1;
        if (cw <= lim && ch <= lim) continue;
        if ((cw < ch ? cw : ch) >= TEXTURE_THIN && ccs[k].count >= TEXTURE_FILL * cw * ch) continue;
        add_gradients(hist, &total, grad, pix + first[k], ccs[k].count);
    }
    int level = level_above(hist, total);
    return level < 100 ? level : 100;
}

/* Soft edges: a blurred shape's gradients (a bokeh disc's, a soft shadow's) peak
 * far below a crisp letter's, and where the shape touches the letters its edge
 * joins their line and stretches the line's box over it (to 3-7 times the text's
 * height on bokeh). A component of SOFT_MIN_EDGES edge pixels or more is soft when
 * its 90th-percentile gradient (its peak) is under SOFT_PEAK_RATIO of the sharpest
 * peak in its line. When a soft component reaches out of the hull of its line's
 * sharp ones by more than SOFT_STRETCH of their height, the components are found
 * again above the soft ones' level: 1.3 x the 75th percentile of their gradients
 * + 4, provided the image's sharpest peak stands SOFT_CLEAR x above it. Faint
 * crisp shapes (confetti in colours near the ground's) peak low as well, which is
 * why only a stretched line calls for it. */
#define SOFT_MIN_EDGES 20
#define SOFT_PEAK_RATIO 0.35
#define SOFT_STRETCH 0.5
#define SOFT_CLEAR 2.0

/* Sets each component's peak: its pixels' 90th-percentile gradient in grad. */
static void component_peaks(const unsigned char *grad, const int *pix, const int *first, cc_t *ccs, int ncc) {
    unsigned hist[256] = {0};
    for (int k = 0; k < ncc; k++) {
        const int *p = pix + first[k];
        for (int i = 0; i < ccs[k].count; i++) hist[grad[p[i]]]++;
        int acc = 0, v = 255;
        while (v > 0 && (acc += (int)hist[v]) * 10 < ccs[k].count) v--;
        ccs[k].peak = v;
        for (int i = 0; i < ccs[k].count; i++) hist[grad[p[i]]] = 0;
    }
}

/* Whether a soft component of some line (grouped in parent) reaches out of the
 * hull of the line's sharp components by more than SOFT_STRETCH of its height. */
static bool soft_edge_stretches(const cc_t *ccs, int ncc, int *parent) {
    int *sharpest = calloc(ncc > 0 ? (size_t)ncc : 1, sizeof *sharpest);
    cc_t *hull = malloc((ncc > 0 ? (size_t)ncc : 1) * sizeof *hull);
    if (!sharpest || !hull) abort();
    for (int i = 0; i < ncc; i++) {
        int r = uf_find(parent, i);
        if (ccs[i].peak > sharpest[r]) sharpest[r] = ccs[i].peak;
        hull[i] = (cc_t){INT_MAX, INT_MAX, -1, -1, 0, 0};
    }
    /* hull[r]: the hull of line r's sharp components, .count how many */
    for (int i = 0; i < ncc; i++) {
        int r = uf_find(parent, i);
        if (ccs[i].peak < SOFT_PEAK_RATIO * sharpest[r]) continue;
        cc_t *u = &hull[r];
        u->count++;
        if (ccs[i].x0 < u->x0) u->x0 = ccs[i].x0;
        if (ccs[i].y0 < u->y0) u->y0 = ccs[i].y0;
        if (ccs[i].x1 > u->x1) u->x1 = ccs[i].x1;
        if (ccs[i].y1 > u->y1) u->y1 = ccs[i].y1;
    }
    bool stretched = false;
    for (int i = 0; i < ncc && !stretched; i++) {
        int r = uf_find(parent, i);
        const cc_t *u = &hull[r];
        if (ccs[i].count < SOFT_MIN_EDGES || ccs[i].peak >= SOFT_PEAK_RATIO * sharpest[r] || u->count < 3) continue;
        int uh = u->y1 - u->y0 + 1;
        double reach = SOFT_STRETCH * uh;
        if (ccs[i].y1 - ccs[i].y0 + 1 < reach && ccs[i].x1 - ccs[i].x0 + 1 < reach) continue; /* a speck */
        stretched = ccs[i].y0 < u->y0 - reach || ccs[i].y1 > u->y1 + reach || ccs[i].x0 < u->x0 - reach ||
                    ccs[i].x1 > u->x1 + reach;
    }
    free(sharpest);
    free(hull);
    return stretched;
}

/* The level above the soft components' gradients (above), or 0 when the image's
 * sharpest peak does not stand SOFT_CLEAR x above it. */
static int soft_edge_level(const unsigned char *grad, const int *pix, const int *first, const cc_t *ccs, int ncc) {
    int strongest = 0;
    for (int k = 0; k < ncc; k++)
        if (ccs[k].count >= SOFT_MIN_EDGES && ccs[k].peak > strongest) strongest = ccs[k].peak;
    unsigned hist[256] = {0}, total = 0;
    for (int k = 0; k < ncc; k++) {
        if (ccs[k].count < SOFT_MIN_EDGES || ccs[k].peak >= SOFT_PEAK_RATIO * strongest) continue;
        add_gradients(hist, &total, grad, pix + first[k], ccs[k].count);
    }
    int level = level_above(hist, total);
    return level * SOFT_CLEAR <= strongest ? level : 0;
}

/* Groups components into lines (parent); then drops the components that are no
 * letter of the line they joined (discs, blobs) and groups again without them.
 * Returns how many components remain. */
static int group_lines(cc_t *ccs, int ncc, int *parent) {
    qsort(ccs, (size_t)ncc, sizeof *ccs, cmp_cc_x);
    group_components(ccs, ncc, parent);
    int kept = drop_non_letters(ccs, ncc, parent);
    if (kept < ncc) group_components(ccs, kept, parent);
    return kept;
}

/* Finds candidate text lines into c->boxes (full-res), largest edge mass first. */
void find_lines(vctx_t *c) {
    int w = c->img.w, h = c->img.h;
    size_t n = (size_t)w * h;
    unsigned char *grad = malloc(n);
    int *stack = malloc(n * sizeof *stack);
    cc_t *ccs = malloc(MAX_CC * sizeof *ccs);
    if (!grad || !stack || !ccs) abort();
    unsigned hist[256] = {0};
    c->edge_threshold = edge_map(&c->img, grad);
    for (size_t i = 0; i < n; i++) hist[grad[i]]++;
    c->edge_luma = edge_share(hist, (unsigned)n, c->edge_threshold) > TEXTURE_SHARE;
    if (c->edge_luma) c->edge_threshold = luma_edge_map(c, grad);
    int t = c->edge_threshold, ncc;

    /* Texture edges that run into the text (stripes, checks: one component
     * across the image, letters and all) are no letters: when there are any, the
     * components are found again above their level. */
    unsigned char *grad0 = malloc(n);
    int *pix = malloc(n * sizeof *pix), *first = malloc(MAX_CC * sizeof *first);
    if (!grad0 || !pix || !first) abort();
    memcpy(grad0, grad, n);
    ncc = label_components(grad, w, h, t, stack, pix, first, ccs);
    int above = texture_edge_level(grad0, w, h, pix, first, ccs, ncc);
    c->edge_texture = above > t;
    if (c->edge_texture) {
        t = c->edge_threshold = above;
        memcpy(grad, grad0, n);
        ncc = label_components(grad, w, h, t, stack, pix, first, ccs);
    }
    /* Soft edges that stretch a line (above): found again above their level. */
    component_peaks(grad0, pix, first, ccs, ncc);
    int soft = soft_edge_level(grad0, pix, first, ccs, ncc);
    int *parent = malloc(MAX_CC * sizeof *parent);
    if (!parent) abort();
    int grouped = group_lines(ccs, ncc, parent);
    c->edge_soft = soft > t && soft_edge_stretches(ccs, grouped, parent);
    if (c->edge_soft) {
        t = c->edge_threshold = soft;
        ncc = label_components(grad0, w, h, t, stack, pix, first, ccs);
        grouped = group_lines(ccs, ncc, parent);
    }
    ncc = grouped;
    free(grad0);
    free(pix);
    free(first);
    free(grad);
    free(stack);

    /* Collect groups. */
    tbox_t *all = calloc((size_t)(ncc ? ncc : 1), sizeof *all);
    int *slot = malloc((size_t)(ncc ? ncc : 1) * sizeof *slot);
    if (!all || !slot) abort();
    /* A group's box is the hull of its components at least 0.4 of its tallest (the
     * letters); smaller ones (dots, commas, specks) widen it only within 0.3 of
     * that height of the letters' hull, so a chain of specks never stretches a
     * line out to the image edge. (w, h hold x1, y1 until the end.) */
    int ng = 0, *tallest = calloc((size_t)(ncc ? ncc : 1), sizeof *tallest);
    if (!tallest) abort();
    for (int i = 0; i < ncc; i++) slot[i] = -1;
    for (int i = 0; i < ncc; i++) {
        int r = uf_find(parent, i), hi = ccs[i].y1 - ccs[i].y0 + 1;
        if (hi > tallest[r]) tallest[r] = hi;
    }
    c->skew_deg = estimate_skew(ccs, ncc, parent, tallest);
    tbox_t *hull = NULL; /* the letters' hulls, as after pass 0 */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            hull = malloc((size_t)(ng ? ng : 1) * sizeof *hull);
            if (!hull) abort();
            memcpy(hull, all, (size_t)ng * sizeof *hull);
        }
        for (int i = 0; i < ncc; i++) {
            int r = uf_find(parent, i), hi = ccs[i].y1 - ccs[i].y0 + 1;
            bool letter = hi * 5 >= tallest[r] * 2;
            if (letter != (pass == 0)) continue;
            if (slot[r] < 0) {
                if (!letter) continue; /* unreachable: every group has its tallest */
                slot[r] = ng;
                all[ng] = (tbox_t){.x = ccs[i].x0, .y = ccs[i].y0, .w = ccs[i].x1, .h = ccs[i].y1};
                ng++;
            }
            tbox_t *b = &all[slot[r]];
            if (!letter) {
                const tbox_t *l = &hull[slot[r]];
                int near = (int)(0.3 * tallest[r]);
                if (ccs[i].x1 < l->x - near || ccs[i].x0 > l->w + near || ccs[i].y1 < l->y - near ||
                    ccs[i].y0 > l->h + near)
                    continue;
            }
            if (ccs[i].x0 < b->x) b->x = ccs[i].x0;
            if (ccs[i].y0 < b->y) b->y = ccs[i].y0;
            if (ccs[i].x1 > b->w) b->w = ccs[i].x1;
            if (ccs[i].y1 > b->h) b->h = ccs[i].y1;
            b->mass += ccs[i].count;
        }
    }
    free(hull);
    free(tallest);
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

/* ==== Per-line analysis: channel, binarisation, colours ==== */

void mark_box_ink(vctx_t *c, const tbox_t *b) {
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, w = c->img.w;
    for (int y = b->y; y < b->y + b->h; y++)
        for (int x = b->x; x < b->x + b->w; x++)
            if (box_ink(b, b->chan[(size_t)(y - k.y0) * cw + x - k.x0])) c->inkmask[(size_t)y * w + x] = 1;
}

/* Box b with a margin of a fifth of its height (and 4 px), clipped to the image. */
crop_t padded_crop(const vctx_t *c, const tbox_t *b) {
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

/* Whether the ground (the class holding most of the crop's border) lies above
 * threshold th: the text is then dark. */
static bool ground_above(const unsigned char *chan, int cw, int chh, int th) {
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
    return above * 2 >= total;
}

/* Marks 2 in seen (0 = ground unseen, 1 = ink) on the ground reachable from the
 * crop's border without crossing ink (4-connected), a row span at a time. A
 * pixel is pushed at most three times (as a border seed, and as a run's start
 * from the row above and the row below): stack holds 3 * cw * chh. */
static void mark_outside(unsigned char *seen, int cw, int chh, int *stack) {
    size_t sp = 0;
    for (int x = 0; x < cw; x++) stack[sp++] = x, stack[sp++] = (chh - 1) * cw + x;
    for (int y = 1; y + 1 < chh; y++) stack[sp++] = y * cw, stack[sp++] = y * cw + cw - 1;
    while (sp) {
        int i = stack[--sp], y = i / cw;
        if (seen[i]) continue;
        int l = i % cw, r = l;
        unsigned char *row = seen + (size_t)y * cw;
        while (l > 0 && !row[l - 1]) l--;
        while (r + 1 < cw && !row[r + 1]) r++;
        memset(row + l, 2, (size_t)(r - l + 1));
        for (int ny = y - 1; ny <= y + 1; ny += 2) {
            if (ny < 0 || ny >= chh) continue;
            const unsigned char *nr = seen + (size_t)ny * cw;
            for (int x = l; x <= r; x++)
                if (!nr[x] && (x == l || nr[x - 1])) stack[sp++] = ny * cw + x;
        }
    }
}

/* Outlined (or glowing, or shadowed) text: a stroke round the letters on a ground
 * whose level lies between the letters' and the stroke's. The two-class threshold
 * then takes the stroke for the ink: hollow letters (OCR reads "Pemmer" for
 * "Planner"), and contrast measured stroke against ground (2.2:1 on a fill at
 * 7.4:1). The sign: the ink's holes (what it encloses, not reachable from the
 * crop's border without crossing ink) hold at least a quarter as many pixels as the
 * ink and sit on the other side of the ground's level from it, by at least 25 and a
 * third of the ink's distance. Then the letters are the holes: the threshold moves
 * to midway between ground and fill, on the fill's side, and the stroke becomes
 * ground for reading (b->stroke_lo..stroke_hi). True when it did;
 * *holes gets the holes' size over the ink's. */
static bool find_hollow_letters(tbox_t *b, int cw, int chh, double *holes) {
    const unsigned char *chan = b->chan;
    size_t n = (size_t)cw * chh;
    int th = b->thresh;
    unsigned char *seen = malloc(n); /* 1 = ink, 2 = ground reached from the border, 0 = holes */
    int *stack = malloc(n * 3 * sizeof *stack);
    if (!seen || !stack) abort();
    for (size_t i = 0; i < n; i++) seen[i] = box_ink(b, chan[i]);
    mark_outside(seen, cw, chh, stack);
    double sum[3] = {0, 0, 0};
    size_t cnt[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) sum[seen[i]] += chan[i], cnt[seen[i]]++;
    free(seen);
    free(stack);
    double ink_sum = sum[1], out_sum = sum[2], hole_sum = sum[0];
    size_t ink_n = cnt[1], out_n = cnt[2], hole_n = cnt[0];
    *holes = ink_n ? (double)hole_n / ink_n : 0;
    if (!ink_n || !out_n || hole_n * 4 < ink_n) return false;
    double ink = ink_sum / ink_n, ground = out_sum / out_n, fill = hole_sum / hole_n;
    double to_ink = ink - ground, to_fill = fill - ground;
    if (to_ink * to_fill >= 0 || fabs(to_fill) < 25 || fabs(to_fill) * 3 < fabs(to_ink)) return false;
    b->outlined = true;
    b->stroke_lo = b->dark_text ? 0 : th + 1;
    b->stroke_hi = b->dark_text ? th : 255;
    b->dark_text = fill < ground;
    b->thresh = (int)((ground + fill) / 2);
    return true;
}

/* Picks the channel separating ink from ground best, the threshold and the
 * polarity (ground = the class holding most of the crop's border), then measures
 * the ink and ground colours and their WCAG contrast. Keeps the chosen channel
 * of the padded crop in b->chan for OCR. */
void analyse_box(vctx_t *c, tbox_t *b) {
    crop_t k = padded_crop(c, b);
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
    /* On a background textured in colour the lines were found on luma edges, and a
     * colour channel would split the texture's two colours rather than ink from
     * ground: luma alone. */
    double best = -1;
    for (int ch = 0; ch < (c->edge_luma ? 1 : 4); ch++) {
        double eta;
        int t = otsu(hist[ch], &eta);
        if (ch == 0) eta *= 1.03; /* prefer luma on ties */
        if (eta > best) {
            best = eta;
            b->channel = ch;
            b->thresh = t;
        }
    }
    int cw = k.x1 - k.x0, chh = k.y1 - k.y0;
    b->chan = channel_crop(c, k, b->channel);
    b->dark_text = ground_above(b->chan, cw, chh, b->thresh);
    b->outlined = false;
    /* Hollow letters on the chosen channel; or luma, where the chosen channel
     * cannot tell fill from ground (a green fill on olive, in blue: the ink is the
     * black stroke alone, its holes as large as itself) and luma's ink is solid
     * letters (holes at most half as large, relative to the ink). */
    double holes, luma_holes;
    if (!find_hollow_letters(b, cw, chh, &holes) && b->channel != 0 && holes >= 0.5) {
        tbox_t l = *b;
        double eta;
        l.channel = 0;
        l.chan = channel_crop(c, k, 0);
        l.thresh = otsu(hist[0], &eta);
        l.dark_text = ground_above(l.chan, cw, chh, l.thresh);
        if (find_hollow_letters(&l, cw, chh, &luma_holes) || luma_holes * 2 <= holes) {
            free(b->chan);
            *b = l;
        } else {
            free(l.chan);
        }
    }
    unsigned char *chan = b->chan;
    int th = b->thresh;

    /* Ink mask of the crop (1 = ink side of the threshold). */
    unsigned char *m = malloc((size_t)cw * chh * 2);
    if (!m) abort();
    unsigned char *near = m + (size_t)cw * chh;
    for (size_t i = 0; i < (size_t)cw * chh; i++)
        m[i] = box_ink(b, chan[i]);

    /* Ink: the 40% of ink pixels farthest from the threshold (stroke cores, not
     * anti-aliased fringes). Ground: pixels not next to ink. */
    unsigned dist_hist[256] = {0}, n_ink = 0;
    int bx0 = b->x - k.x0, by0 = b->y - k.y0;
    for (int y = by0; y < by0 + b->h; y++)
        for (int x = bx0; x < bx0 + b->w; x++) {
            size_t i = (size_t)y * cw + x;
            if (!m[i]) continue;
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


/* Lines drawn close under each other whose strokes, glows or shadows touch make
 * one component, and one box of two or three lines, read as none of them. Their
 * ink leaves rows empty between them: a run of rows of the box with no ink (at
 * most STACK_GAP_INK of its width) is a gap between lines when the ink above and
 * below it each spans at least STACK_MIN_PART of the box's height, and 12 rows,
 * and is at least STACK_MIN_ASPECT times as wide as tall (a line, not an i's dot
 * or an accent). */
#define STACK_GAP_INK 0.005
#define STACK_THIN_INK 0.05
#define STACK_THIN_COVER 0.55
#define STACK_MIN_PART 0.35
#define STACK_MIN_ASPECT 1.5

/* Ink rows y0..y1-1 of box b (ink per row in ink[]) as a line: tall and wide
 * enough, and with ink in at least min_cover of the columns its ink spans. */
static bool stacked_part(const vctx_t *c, const tbox_t *b, const int *ink, int y0, int y1, double min_cover) {
    int h = y1 - y0, min_part = (int)(STACK_MIN_PART * b->h);
    if (h < 12 || h < min_part) return false;
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, bx0 = b->x - k.x0, by0 = b->y - k.y0, x0 = b->w, x1 = -1, n = 0;
    for (int y = y0; y < y1; y++) n += ink[y];
    if (n == 0) return false;
    unsigned char *col = calloc((size_t)b->w, 1);
    if (!col) abort();
    for (int y = y0; y < y1; y++) {
        const unsigned char *row = b->chan + (size_t)(y + by0) * cw + bx0;
        for (int x = 0; x < b->w; x++)
            if (box_ink(b, row[x])) {
                col[x] = 1;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
            }
    }
    int covered = 0;
    for (int x = 0; x < b->w; x++) covered += col[x];
    free(col);
    return x1 - x0 + 1 >= STACK_MIN_ASPECT * h && covered >= min_cover * (x1 - x0 + 1);
}

/* Where box b's rows hold a gap between two lines: sets *top to the last row of
 * the upper line and *bottom to the first of the lower (box coordinates), for the
 * widest such gap; false when there is none. */
static bool stacked_gap(const vctx_t *c, const tbox_t *b, int *top, int *bottom) {
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, bx0 = b->x - k.x0, by0 = b->y - k.y0;
    int *ink = calloc((size_t)b->h, sizeof *ink);
    if (!ink) abort();
    for (int y = 0; y < b->h; y++) {
        const unsigned char *row = b->chan + (size_t)(y + by0) * cw + bx0;
        for (int x = 0; x < b->w; x++) ink[y] += box_ink(b, row[x]);
    }
    int empty = (int)(STACK_GAP_INK * b->w), best = 0;
    for (int y = 0; y < b->h;) {
        if (ink[y] > empty) {
            y++;
            continue;
        }
        int e = y;
        while (e < b->h && ink[e] <= empty) e++;
        if (e - y > best && stacked_part(c, b, ink, 0, y, 0) && stacked_part(c, b, ink, e, b->h, 0)) {
            best = e - y;
            *top = y - 1;
            *bottom = e;
        }
        y = e;
    }
    /* No row empty: lines set so tight that a descender reaches the next line's
     * ascenders. The thinnest row of the box's middle is the gap when its ink is at
     * most STACK_THIN_INK of the width (a line's own middle rows cross every
     * letter's stems, 0.15 or more of its width) and the ink on either side has
     * ink in STACK_THIN_COVER of the columns it spans: a line's letters do, the
     * ascenders above a line's x-height ("T" and "l" of "Travel") do not. */
    int lo = (int)(STACK_MIN_PART * b->h), thin = lo;
    for (int y = lo; y < b->h - lo; y++)
        if (ink[y] < ink[thin]) thin = y;
    bool thin_gap = !best && lo > 0 && thin < b->h - lo && ink[thin] <= STACK_THIN_INK * b->w;
    if (thin_gap && stacked_part(c, b, ink, 0, thin, STACK_THIN_COVER) &&
        stacked_part(c, b, ink, thin + 1, b->h, STACK_THIN_COVER)) {
        best = 1;
        *top = thin - 1;
        *bottom = thin + 1;
    }
    free(ink);
    return best > 0;
}

/* A box that took a sharp-edged shape beside or below its letters (a bokeh disc
 * whose rim touches a descender) is far taller or wider than its ink, the shape
 * being ground on the box's threshold; OCR then reads the letters scaled down
 * with the shape. The box is trimmed to the rows and columns holding ink when that
 * takes away at least TRIM_MIN of its height or width and leaves 12 rows and 8
 * columns at least; true when it was (b analysed again; its edge mass, which
 * orders the first reading, kept). */
#define TRIM_MIN 0.25
static bool trim_to_ink(vctx_t *c, tbox_t *b) {
    crop_t k = padded_crop(c, b);
    int cw = k.x1 - k.x0, bx0 = b->x - k.x0, by0 = b->y - k.y0;
    int *rows = calloc((size_t)b->h + (size_t)b->w, sizeof *rows), *cols = rows + b->h;
    if (!rows) abort();
    for (int y = 0; y < b->h; y++) {
        const unsigned char *row = b->chan + (size_t)(y + by0) * cw + bx0;
        for (int x = 0; x < b->w; x++) rows[y] += box_ink(b, row[x]);
    }
    int empty = (int)(STACK_GAP_INK * b->w), y0 = 0, y1 = b->h, x0 = 0, x1 = b->w;
    while (y0 < y1 && rows[y0] <= empty) y0++;
    while (y1 > y0 && rows[y1 - 1] <= empty) y1--;
    for (int y = y0; y < y1; y++) {
        const unsigned char *row = b->chan + (size_t)(y + by0) * cw + bx0;
        for (int x = 0; x < b->w; x++) cols[x] += box_ink(b, row[x]);
    }
    while (x0 < x1 && cols[x0] == 0) x0++;
    while (x1 > x0 && cols[x1 - 1] == 0) x1--;
    free(rows);
    bool shorter = y1 - y0 <= (1 - TRIM_MIN) * b->h, narrower = x1 - x0 <= (1 - TRIM_MIN) * b->w;
    if ((!shorter && !narrower) || y1 - y0 < 12 || x1 - x0 < 8) return false;
    b->x += x0, b->y += y0, b->w = x1 - x0, b->h = y1 - y0;
    free(b->chan);
    analyse_box(c, b);
    return true;
}

void split_stacked_lines(vctx_t *c) {
    for (int i = 0; i < c->nboxes && c->nboxes < MAX_BOXES; i++) {
        tbox_t *b = &c->boxes[i];
        int top, bottom;
        if (trim_to_ink(c, b)) c->trimmed++;
        if (!stacked_gap(c, b, &top, &bottom)) continue;
        tbox_t lower = *b;
        lower.chan = NULL;
        lower.y = b->y + bottom;
        lower.h = b->h - bottom;
        lower.mass = (int)((double)b->mass * lower.h / b->h);
        b->h = top + 1;
        b->mass -= lower.mass;
        free(b->chan);
        analyse_box(c, b);
        analyse_box(c, &lower);
        c->boxes[c->nboxes++] = lower;
        c->stacked_splits++;
        i--; /* the upper part may hold two lines still */
    }
    qsort(c->boxes, (size_t)c->nboxes, sizeof c->boxes[0], cmp_box_y);
}
