/* textnorm.c — Unicode/whitespace normalisation and edit distance; see textnorm.h. */
#include "verify/textnorm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ==== UTF-8 ==== */

/* Decodes one code point at s (len bytes left); *adv = bytes consumed (>= 1).
 * Invalid or overlong sequences decode as U+FFFD consuming one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *adv) {
    unsigned c = s[0];
    *adv = 1;
    if (c < 0x80) return c;
    int n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0 || (size_t)n >= len) return 0xfffd;
    uint32_t cp = c & (0x3f >> n);
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0xfffd;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0xfffd;
    *adv = (size_t)n + 1;
    return cp;
}

static int utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes a whole string into a malloc'd code point array. */
static uint32_t *utf8_decode(const char *s, size_t *n) {
    size_t len = strlen(s), k = 0, adv;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    if (!cps) abort();
    for (size_t i = 0; i < len; i += adv) cps[k++] = utf8_next((const unsigned char *)s + i, len - i, &adv);
    *n = k;
    return cps;
}

/* ==== Normalisation ==== */

static bool is_space(uint32_t c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static bool is_ignorable(uint32_t c) {
    return c == 0x200b || c == 0x200c || c == 0x200d || c == 0x2060 || c == 0xfeff || c == 0xad;
}

/* Composition of a Latin-1 base letter with a combining accent, 0 when none. */
static uint32_t compose(uint32_t base, uint32_t mark) {
    static const struct { uint32_t mark; const char *bases; uint32_t first[12]; } table[] = {
        {0x300, "AEIOUaeiou", {0xc0, 0xc8, 0xcc, 0xd2, 0xd9, 0xe0, 0xe8, 0xec, 0xf2, 0xf9}},
        {0x301, "AEIOUYaeiouy", {0xc1, 0xc9, 0xcd, 0xd3, 0xda, 0xdd, 0xe1, 0xe9, 0xed, 0xf3, 0xfa, 0xfd}},
        {0x302, "AEIOUaeiou", {0xc2, 0xca, 0xce, 0xd4, 0xdb, 0xe2, 0xea, 0xee, 0xf4, 0xfb}},
        {0x303, "ANOano", {0xc3, 0xd1, 0xd5, 0xe3, 0xf1, 0xf5}},
        {0x308, "AEIOUaeiouy", {0xc4, 0xcb, 0xcf, 0xd6, 0xdc, 0xe4, 0xeb, 0xef, 0xf6, 0xfc, 0xff}},
        {0x30a, "Aa", {0xc5, 0xe5}},
        {0x327, "Cc", {0xc7, 0xe7}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].mark != mark) continue;
        const char *p = base < 0x80 ? strchr(table[i].bases, (int)base) : NULL;
        if (p && base) return table[i].first[p - table[i].bases];
    }
    return 0;
}

/* Maps one code point to its normalised replacement string (ASCII) or NULL when
 * it stands for itself. */
static const char *replacement(uint32_t c) {
    switch (c) {
    case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x2032: case 0x00b4: case 0x0060:
        return "'";
    case 0x201c: case 0x201d: case 0x201e: case 0x201f: case 0x2033: case 0x00ab: case 0x00bb:
        return "\"";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212:
    case 0xfe58: case 0xfe63: case 0xff0d:
        return "-";
    case 0x2026: return "...";
    case 0xfb00: return "ff";
    case 0xfb01: return "fi";
    case 0xfb02: return "fl";
    case 0xfb03: return "ffi";
    case 0xfb04: return "ffl";
    case 0x2044: case 0x2215: return "/";
    default: return NULL;
    }
}

static uint32_t fold(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
    return c;
}

size_t textnorm(const char *in, char *out, size_t outlen, bool casefold) {
    if (outlen == 0) return 0;
    size_t n;
    uint32_t *cps = utf8_decode(in ? in : "", &n);
    /* First pass: compose, map, drop ignorables, into a code point buffer. */
    uint32_t *buf = malloc((3 * n + 1) * sizeof *buf);
    if (!buf) abort();
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (is_ignorable(c)) continue;
        if (c >= 0x300 && c <= 0x36f && m > 0) {
            uint32_t comp = compose(buf[m - 1], c);
            if (comp) { buf[m - 1] = comp; continue; }
        }
        if (c >= 0xff01 && c <= 0xff5e) c = c - 0xff01 + 0x21; /* fullwidth ASCII */
        const char *rep = replacement(c);
        if (rep) {
            for (; *rep; rep++) buf[m++] = (uint32_t)*rep;
            continue;
        }
        buf[m++] = is_space(c) ? ' ' : casefold ? fold(c) : c;
    }
    if (casefold)
        for (size_t i = 0; i < m; i++) buf[i] = fold(buf[i]);
    /* Second pass: collapse and trim spaces, encode. */
    size_t pos = 0;
    bool pending_space = false;
    for (size_t i = 0; i < m; i++) {
        if (buf[i] == ' ') {
            pending_space = pos > 0;
            continue;
        }
        char enc[5];
        int k = utf8_put(buf[i], enc);
        if (pos + (size_t)k + (pending_space ? 1 : 0) >= outlen) break;
        if (pending_space) out[pos++] = ' ';
        pending_space = false;
        memcpy(out + pos, enc, (size_t)k);
        pos += (size_t)k;
    }
    out[pos] = '\0';
    free(buf);
    free(cps);
    return pos;
}

/* ==== Distances ==== */

int text_edit_distance(const char *a, const char *b) {
    size_t na, nb;
    uint32_t *ca = utf8_decode(a, &na), *cb = utf8_decode(b, &nb);
    int *row = malloc((nb + 1) * sizeof *row);
    if (!row) abort();
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (ca[i - 1] != cb[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int d = row[nb];
    free(row);
    free(ca);
    free(cb);
    return d;
}

int text_infix_distance(const char *part, const char *whole, size_t *start, size_t *end) {
    size_t n = strlen(part), m = strlen(whole);
    /* d[j]: edits for part[0..i) ending at whole[j]; from[j]: where that stretch starts. */
    int *d = malloc((m + 1) * sizeof *d);
    size_t *from = malloc((m + 1) * sizeof *from);
    if (!d || !from) abort();
    for (size_t j = 0; j <= m; j++) d[j] = 0, from[j] = j; /* a stretch may start anywhere */
    for (size_t i = 1; i <= n; i++) {
        int diag = d[0];
        size_t diag_from = from[0];
        d[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = d[j], sub = diag + (part[i - 1] != whole[j - 1]);
            size_t up_from = from[j];
            int best = sub;
            size_t best_from = diag_from;
            if (up + 1 < best) best = up + 1, best_from = up_from;
            if (d[j - 1] + 1 < best) best = d[j - 1] + 1, best_from = from[j - 1];
            diag = up, diag_from = up_from;
            d[j] = best, from[j] = best_from;
        }
    }
    size_t bj = 0;
    for (size_t j = 1; j <= m; j++)
        if (d[j] < d[bj]) bj = j;
    int dist = d[bj];
    *start = from[bj], *end = bj;
    free(d);
    free(from);
    return dist;
}

double text_normalized_distance(const char *a, const char *b) {
    size_t na, nb;
    free(utf8_decode(a, &na));
    free(utf8_decode(b, &nb));
    size_t mx = na > nb ? na : nb;
    if (mx == 0) return 0.0;
    return (double)text_edit_distance(a, b) / (double)mx;
}

bool text_differs_only_in_spaces(const char *a, const char *b) {
    if (!strcmp(a, b)) return false;
    for (;;) {
        while (*a == ' ') a++;
        while (*b == ' ') b++;
        if (*a != *b) return false;
        if (!*a) return true;
        a++, b++;
    }
}

int text_alnum_count(const char *s) {
    size_t n;
    uint32_t *cps = utf8_decode(s, &n);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= 0xc0 && c != 0xd7 && c != 0xf7 && c != 0xfffd && !(c >= 0x2000 && c <= 0x2bff)))
            count++;
    }
    free(cps);
    return count;
}

/* ==== Look-alike glyphs ==== */

/* Look-alike glyphs across the digit/letter line: what an image model writes for
 * a letter ("Sa1e", "0ff", "5ALE") and what the eng network, biased against a digit
 * inside a run of letters and the reverse, reads back as the letter. A reading that
 * holds the digit is therefore strong evidence; letter-for-letter slips (e/c, f/t)
 * are left out: OCR makes those on correct images too. Each pair listed once; the
 * comparison tries both directions. */
static const char *const LOOKALIKE_PAIRS[][2] = {
    {"1", "l"}, {"1", "I"}, {"1", "i"}, {"0", "O"}, {"0", "o"}, {"5", "S"},
    {"5", "s"}, {"8", "B"}, {"2", "Z"}, {"6", "G"}, {"9", "g"}, {"4", "A"},
};
#define N_LOOKALIKE_PAIRS (sizeof LOOKALIKE_PAIRS / sizeof LOOKALIKE_PAIRS[0])

/* Letter-for-letter look-alikes an image model draws ("Wcek", "Oceah"), counted
 * only in the second reading: eng reads most of them as drawn, but where it reads
 * the word they imitate, the Latin model sees the letter that is there ("Wecek",
 * "Dcals" on the dev splits) and, on correct images, does not invent these pairs.
 * Left out because Latin slips that way on correct dev images: u/v ("Hovr" for
 * "Hour") and E/F ("EREE" for "FREE" on outlined text). Eng's own first readings are
 * not judged by them: a retry may still read the text. */
static const char *const LETTER_LOOKALIKE_PAIRS[][2] = {
    {"c", "e"}, {"o", "a"}, {"rn", "m"}, {"b", "h"}, {"h", "n"},
};
#define N_LETTER_LOOKALIKE_PAIRS (sizeof LETTER_LOOKALIKE_PAIRS / sizeof LETTER_LOOKALIKE_PAIRS[0])

static const char *const *lookalike_pair(size_t k) {
    return k < N_LOOKALIKE_PAIRS ? LOOKALIKE_PAIRS[k] : LETTER_LOOKALIKE_PAIRS[k - N_LOOKALIKE_PAIRS];
}

/* True when a (from ai) and b (from bi) become equal by look-alike swaps only,
 * with at least one swap; records the first swap in *sa, *sb. A swap is x read
 * where the text has its look-alike y, or x beside y ("FRE5SH", "REC1IPE" for
 * "FRESH", "RECIPE": a network unsure of a glyph can emit both readings of it).
 * Recursive over the strings, bounded by their lengths (a few pairs tried per
 * position). */
/* The 0/O pairs: faces draw a round 0 and O most alike (condensed capitals alike
 * to the pixel), and a network reading one glyph between others picks either. */
static bool round_pair(size_t k) {
    return k < N_LOOKALIKE_PAIRS && !strcmp(LOOKALIKE_PAIRS[k][0], "0");
}

static bool lookalike_from(const char *a, const char *b, const char *b0, size_t npairs, bool second, int swaps,
                           const char **sa, const char **sb) {
    while (*a && *a == *b) a++, b++;
    if (!*a && !*b) return swaps > 0;
    for (size_t k = 0; k < npairs; k++)
        for (int dir = 0; dir < 2; dir++) {
            const char *x = lookalike_pair(k)[dir], *y = lookalike_pair(k)[!dir];
            size_t xl = strlen(x), yl = strlen(y);
            if (strncmp(a, x, xl)) continue;
            /* In the second reading a plain 0-for-O swap is no evidence ("0F" for
             * "OF" in Bebas Neue, 4 correct dev images, no look-alike); the digit
             * read beside the letter ("HERO0ES") still is. */
            bool swap_counts = !(second && round_pair(k));
            bool hit = false;
            if (!strncmp(b, y, yl)) /* x for y, or x then y */
                hit = (swap_counts && lookalike_from(a + xl, b + yl, b0, npairs, second, swaps + 1, sa, sb)) ||
                      (!strncmp(a + xl, y, yl) &&
                       lookalike_from(a + xl + yl, b + yl, b0, npairs, second, swaps + 1, sa, sb));
            if (!hit && (size_t)(b - b0) >= yl && !strncmp(b - yl, y, yl)) /* y (matched) then x */
                hit = lookalike_from(a + xl, b, b0, npairs, second, swaps + 1, sa, sb);
            if (hit) {
                if (!*sa) *sa = x, *sb = y;
                return true;
            }
        }
    return false;
}

bool text_lookalike(const char *read, const char *want, bool letters, const char **seen, const char **meant) {
    const char *sa = NULL, *sb = NULL;
    size_t npairs = N_LOOKALIKE_PAIRS + (letters ? N_LETTER_LOOKALIKE_PAIRS : 0);
    bool yes = lookalike_from(read, want, want, npairs, letters, 0, &sa, &sb);
    if (seen) *seen = yes ? sa : NULL;
    if (meant) *meant = yes ? sb : NULL;
    return yes;
}

/* The LOOKALIKE_PAIRS digit read as r where the text has its letter w, but for the
 * round pairs (round_pair): the glyph classifier's evidence of a typo. */
static bool glyph_digit_for_letter(uint32_t r, uint32_t w, const char **x, const char **y) {
    for (size_t k = 0; k < N_LOOKALIKE_PAIRS; k++) {
        const char *px = LOOKALIKE_PAIRS[k][0], *py = LOOKALIKE_PAIRS[k][1];
        if (round_pair(k) || px[1] || py[1] || (unsigned char)px[0] != r || (unsigned char)py[0] != w) continue;
        *x = px, *y = py;
        return true;
    }
    return false;
}

static bool ascii_letter(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* One edit-distance alignment of w (n code points) and r (m): al_w[k], al_r[k] the
 * aligned code points, 0 for a gap; returns its length. al_w, al_r hold n + m. */
static size_t align_code_points(const uint32_t *w, size_t n, const uint32_t *r, size_t m, uint32_t *al_w,
                                uint32_t *al_r) {
    int *d = malloc((n + 1) * (m + 1) * sizeof *d);
    if (!d) abort();
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (size_t i = 0; i <= n; i++) D(i, 0) = (int)i;
    for (size_t j = 0; j <= m; j++) D(0, j) = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = D(i - 1, j - 1) + (w[i - 1] != r[j - 1]);
            if (D(i - 1, j) + 1 < best) best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best) best = D(i, j - 1) + 1;
            D(i, j) = best;
        }
    size_t len = 0; /* traced back from the end, then reversed */
    for (size_t i = n, j = m; i || j;) {
        if (i && j && D(i, j) == D(i - 1, j - 1) + (w[i - 1] != r[j - 1]))
            al_w[len] = w[--i], al_r[len++] = r[--j];
        else if (i && D(i, j) == D(i - 1, j) + 1)
            al_w[len] = w[--i], al_r[len++] = 0;
        else
            al_w[len] = 0, al_r[len++] = r[--j];
    }
#undef D
    free(d);
    for (size_t a = 0, b = len ? len - 1 : 0; a < b; a++, b--) {
        uint32_t t = al_w[a];
        al_w[a] = al_w[b], al_w[b] = t;
        t = al_r[a], al_r[a] = al_r[b], al_r[b] = t;
    }
    return len;
}

bool text_glyph_lookalike(const char *read, const char *want, const char **seen, const char **meant) {
    size_t n, m;
    uint32_t *w = utf8_decode(want, &n), *r = utf8_decode(read, &m);
    uint32_t *al_w = malloc((n + m + 1) * sizeof *al_w), *al_r = malloc((n + m + 1) * sizeof *al_r);
    if (!al_w || !al_r) abort();
    size_t len = align_code_points(w, n, r, m, al_w, al_r);
    bool yes = false;
    for (size_t k = 0; k < len && !yes; k++) {
        if (!al_w[k] || !al_r[k] || al_w[k] == al_r[k]) continue;
        /* A digit read for its letter, but for 0 read for O or o: never a letter
         * read for a digit (the classifier reads the digits of "10" and "2026" as I,
         * O and S often enough), never a letter for a letter (c/e, b/h: on correct
         * images it read "Planncr", "Tahle", "Nigbt" as often as it caught one),
         * never the round pair (a round O is a "0" blob to it: "0FFICE", "50% 0ff"
         * on correct images, no look-alike caught; docs/verifier.md). */
        const char *x, *y;
        if (!glyph_digit_for_letter(al_r[k], al_w[k], &x, &y)) continue;
        /* The word round it in the text: three letters at least, every other glyph
         * of it read as the text (the classifier's slips come in runs: "9n1y"). */
        size_t lo = k, hi = k;
        while (lo > 0 && al_w[lo - 1] != ' ') lo--;
        while (hi + 1 < len && al_w[hi + 1] != ' ') hi++;
        int letters = 0;
        bool rest_read = true;
        for (size_t q = lo; q <= hi; q++) {
            letters += ascii_letter(al_w[q]);
            rest_read = rest_read && (q == k || al_w[q] == al_r[q]);
        }
        if (letters < 3 || !rest_read) continue;
        /* The same letter read the same wrong way elsewhere in the line is how the
         * classifier reads this face ("Gardcn Travcl" in EB Garamond), not a typo. */
        bool face = false;
        for (size_t q = 0; q < len && !face; q++) face = q != k && al_w[q] == al_w[k] && al_r[q] == al_r[k];
        if (face) continue;
        /* The rest of the line read as the text but for one slip at most: where
         * the classifier misreads more ("Living 1ast nith $i.50", "Bcape the
         * golden on1y$9" on correct images), it is not reading this face well
         * enough to be the evidence. */
        int slips = 0;
        for (size_t q = 0; q < len; q++) slips += q != k && al_w[q] != al_r[q];
        if (slips > 1) continue;
        yes = true;
        if (seen) *seen = x;
        if (meant) *meant = y;
    }
    if (!yes) {
        if (seen) *seen = NULL;
        if (meant) *meant = NULL;
    }
    free(al_w);
    free(al_r);
    free(w);
    free(r);
    return yes;
}
