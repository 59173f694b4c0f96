/* prompt.c — what a prompt asks the renderer to draw; see prompt_parse in renderer.h.
 *
 *   A clean product shot with overlay text "SUMMER SALE" and "50% off",
 *   palette #1E3A8A #FACC15, text area: 10%,60%,80%,30%
 *
 * gives lines ["SUMMER SALE", "50% off"], palette [0x1E3A8A, 0xFACC15] and the
 * region x=0.1 y=0.6 w=0.8 h=0.3. The grammar is the workers' own (base/prompt.h):
 * the renderer draws exactly the lines the verifier expects. */
#include <stdio.h>
#include <string.h>

#include "renderer.h"

_Static_assert(SCENE_MAX_LINES == PROMPT_MAX_LINES && SCENE_LINE_LEN == PROMPT_LINE_LEN,
               "a scene draws exactly the lines the prompt grammar reads");

int prompt_parse(const char *prompt, prompt_spec_t *spec, char *err, size_t errlen) {
    memset(spec, 0, sizeof *spec);
    prompt_lines_t lines;
    if (prompt_lines(prompt, &lines, err, errlen)) return -1;
    memcpy(spec->lines, lines.lines, sizeof spec->lines);
    spec->n_lines = lines.n_lines;
    spec->n_palette = prompt_palette(prompt, spec->palette);
    region_t area;
    if (prompt_text_area(prompt, &spec->has_region, &area, err, errlen)) return -1;
    if (spec->has_region) {
        spec->region_x = area.x;
        spec->region_y = area.y;
        spec->region_w = area.w;
        spec->region_h = area.h;
    }
    return 0;
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
