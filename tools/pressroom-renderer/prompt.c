/* prompt.c — what a prompt asks the renderer to draw; see prompt_parse in renderer.h.
 *
 *   A clean product shot with overlay text "SUMMER SALE" and "50% off",
 *   palette #1E3A8A #FACC15, text area: 10%,60%,80%,30%
 *
 * gives lines ["SUMMER SALE", "50% off"], palette [0x1E3A8A, 0xFACC15] and the
 * region x=0.1 y=0.6 w=0.8 h=0.3. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "renderer.h"

/* UTF-8 curly double quotes count as double quotes. */
static size_t open_dquote(const char *p) {
    if (*p == '"') return 1;
    if (!strncmp(p, "\xe2\x80\x9c", 3)) return 3; /* left double quotation mark */
    return 0;
}

static size_t close_dquote(const char *p) {
    if (*p == '"') return 1;
    if (!strncmp(p, "\xe2\x80\x9d", 3) || !strncmp(p, "\xe2\x80\x9c", 3)) return 3;
    return 0;
}

static int add_line(prompt_spec_t *spec, const char *s, size_t n, char *err, size_t errlen) {
    if (n == 0) return 0; /* "" draws nothing */
    if (spec->n_lines >= SCENE_MAX_LINES) {
        snprintf(err, errlen, "prompt: expected at most %d quoted text lines, found more",
                 SCENE_MAX_LINES);
        return -1;
    }
    if (n >= SCENE_LINE_LEN) {
        snprintf(err, errlen, "prompt: quoted text line %d is %zu bytes; expected at most %d",
                 spec->n_lines + 1, n, SCENE_LINE_LEN - 1);
        return -1;
    }
    memcpy(spec->lines[spec->n_lines], s, n);
    spec->lines[spec->n_lines][n] = '\0';
    spec->n_lines++;
    return 0;
}

static int parse_double_quoted(const char *prompt, prompt_spec_t *spec, bool *found, char *err,
                               size_t errlen) {
    *found = false;
    for (const char *p = prompt; *p;) {
        size_t q = open_dquote(p);
        if (!q) {
            p++;
            continue;
        }
        *found = true;
        const char *start = p + q, *end = start;
        size_t cq = 0;
        while (*end && !(cq = close_dquote(end))) end++;
        if (!*end) {
            snprintf(err, errlen, "prompt: expected a closing double quote for the text starting "
                     "at byte %zu", (size_t)(start - prompt));
            return -1;
        }
        if (add_line(spec, start, (size_t)(end - start), err, errlen)) return -1;
        p = end + cq;
    }
    return 0;
}

/* 'SALE': an apostrophe opens a quote only at the start or after a non-alphanumeric
 * character, and closes one only before the end or a non-alphanumeric character, so
 * "it's" and "kids'" are not quotes. An unmatched opener is ignored. */
static int parse_single_quoted(const char *prompt, prompt_spec_t *spec, char *err, size_t errlen) {
    for (const char *p = prompt; *p; p++) {
        if (*p != '\'' || (p > prompt && isalnum((unsigned char)p[-1]))) continue;
        const char *start = p + 1, *end = start;
        while (*end && !(*end == '\'' && !isalnum((unsigned char)end[1]))) end++;
        if (!*end) return 0;
        if (add_line(spec, start, (size_t)(end - start), err, errlen)) return -1;
        p = end;
    }
    return 0;
}

static void parse_palette(const char *prompt, prompt_spec_t *spec) {
    for (const char *p = prompt; *p && spec->n_palette < 8; p++) {
        if (*p != '#' || (p > prompt && isalnum((unsigned char)p[-1]))) continue;
        int n = 0;
        while (n < 7 && isxdigit((unsigned char)p[1 + n])) n++;
        if (n != 6 || isalnum((unsigned char)p[7])) continue;
        char hex[7];
        memcpy(hex, p + 1, 6);
        hex[6] = '\0';
        spec->palette[spec->n_palette++] = (uint32_t)strtoul(hex, NULL, 16);
    }
}

/* "text area: X%,Y%,W%,H%" (case-insensitive, spaces allowed around numbers). */
static int parse_region(const char *prompt, prompt_spec_t *spec, char *err, size_t errlen) {
    const char *p = strcasestr(prompt, "text area:");
    if (!p) return 0;
    p += strlen("text area:");
    double v[4];
    for (int i = 0; i < 4; i++) {
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        v[i] = strtod(p, &end);
        if (end == p || *end != '%') {
            snprintf(err, errlen, "prompt: text area: expected four percentages "
                     "\"X%%,Y%%,W%%,H%%\", found \"%.40s\"", p);
            return -1;
        }
        p = end + 1;
        while (*p == ' ' || *p == '\t') p++;
        if (i < 3) {
            if (*p != ',') {
                snprintf(err, errlen, "prompt: text area: expected a comma after the %s "
                         "percentage, found \"%.20s\"", i == 0 ? "first" : i == 1 ? "second" : "third", p);
                return -1;
            }
            p++;
        }
    }
    if (v[0] < 0 || v[1] < 0 || v[2] <= 0 || v[3] <= 0 || v[0] + v[2] > 100 || v[1] + v[3] > 100) {
        snprintf(err, errlen, "prompt: text area: expected a rectangle inside the image "
                 "(X+W and Y+H at most 100%%, W and H above 0), found %g%%,%g%%,%g%%,%g%%",
                 v[0], v[1], v[2], v[3]);
        return -1;
    }
    spec->has_region = true;
    spec->region_x = v[0] / 100;
    spec->region_y = v[1] / 100;
    spec->region_w = v[2] / 100;
    spec->region_h = v[3] / 100;
    return 0;
}

int prompt_parse(const char *prompt, prompt_spec_t *spec, char *err, size_t errlen) {
    memset(spec, 0, sizeof *spec);
    bool found;
    if (parse_double_quoted(prompt, spec, &found, err, errlen)) return -1;
    if (!found && parse_single_quoted(prompt, spec, err, errlen)) return -1;
    parse_palette(prompt, spec);
    return parse_region(prompt, spec, err, errlen);
}

/* ==== Sizes ==== */

int size_from_aspect(const char *ratio, int *w, int *h) {
    int a, b, n = 0;
    if (sscanf(ratio, "%d:%d%n", &a, &b, &n) != 2 || ratio[n] || a <= 0 || b <= 0 || a > 100 ||
        b > 100)
        return -1;
    int longer = (int)(512.0 * (a > b ? (double)a / b : (double)b / a) / 8.0 + 0.5) * 8;
    *w = a >= b ? longer : 512;
    *h = a >= b ? 512 : longer;
    return 0;
}
