/* draw.h — draws a scene (background in a palette, lines of overlay text in a real
 * font) into a PNG with cairo, optionally with one deliberate mistake, and reports
 * what it really drew. Used by the reference renderer and the verifier's
 * evaluation corpus; never by workers. */
#ifndef PRESSROOM_DRAW_H
#define PRESSROOM_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCENE_MAX_LINES 8
#define SCENE_LINE_LEN 256

/* BG_SUBJECT: a flat background with a crisp subject (a badge of circles and bars in
 * shades of the background): what a scene without overlay text looks like. */
typedef enum { BG_FLAT = 0, BG_GRADIENT, BG_NOISE, BG_SHAPES, BG_SUBJECT } background_kind_t;

typedef enum {
    MISTAKE_NONE = 0,
    MISTAKE_TYPO,         /* one letter substituted */
    MISTAKE_DROP,         /* one letter dropped */
    MISTAKE_EXTRA,        /* one letter added */
    MISTAKE_OFFZONE,      /* text outside the safe zone / touching an edge */
    MISTAKE_LOW_CONTRAST, /* ink close to the background */
    MISTAKE_OFF_PALETTE,  /* background colour far from the brand palette */
    MISTAKE_COUNT
} mistake_t;

typedef struct {
    int x, y, w, h;       /* pixels */
} box_t;

typedef struct {
    int width, height;
    char lines[SCENE_MAX_LINES][SCENE_LINE_LEN]; /* the text that should be drawn */
    int n_lines;
    uint32_t palette[8];  /* 0xRRGGBB; [0] background, [1] ink when given */
    int n_palette;
    const char *font_family; /* NULL = "DejaVu Sans" */
    bool bold, italic;
    background_kind_t background;
    bool has_region;
    double region_x, region_y, region_w, region_h; /* fractions: where the text goes */
    uint64_t seed;        /* all randomness (layout jitter, mistake letters) from this */
    mistake_t mistake;
    /* The fraction of scenes drawn styled, chosen from the seed (0: none, the plain
     * scenes of before): a bold display face (font_family ignored), a stroke, drop
     * shadow or glow, a rotation within +-4 degrees, a busy texture (stripes, checks,
     * confetti, bokeh) and grain. The ink is chosen against the pixels under the text so
     * its contrast is at least 4.5:1 there (unless the mistake is low_contrast). */
    double styled_fraction;
} scene_t;

typedef struct {
    char lines[SCENE_MAX_LINES][SCENE_LINE_LEN]; /* what was really drawn */
    int n_lines;
    box_t boxes[SCENE_MAX_LINES];
    uint32_t ink, background;
    mistake_t mistake;
    char style[96]; /* "" when plain, else e.g. "Liberation Serif/stroke/stripes/-2.5deg" */
} scene_truth_t;

/* Draws `s` as a PNG into a malloc'd buffer (*png, *len; caller frees).
 * Fills *truth when not NULL. Returns 0, or -1 with err. Thread safe. */
int draw_scene(const scene_t *s, unsigned char **png, size_t *len, scene_truth_t *truth,
               char *err, size_t errlen);

const char *mistake_name(mistake_t m);
/* MISTAKE_COUNT when unknown. */
mistake_t mistake_from_name(const char *name);
/* Truth as JSON text (malloc'd): {"lines":[...],"boxes":[[x,y,w,h]...],"ink":"#..",
 * "background":"#..","mistake":"typo"} */
char *scene_truth_json(const scene_truth_t *t);
/* The same, one line and pure ASCII (non-ASCII escaped as \uXXXX, so it fits an HTTP
 * header), with "model" (omitted when NULL) and "seed" added: the renderer's
 * X-Pressroom-Truth header. malloc'd. */
char *scene_truth_json_tagged(const scene_truth_t *t, const char *model, uint64_t seed);
/* Parses scene_truth_json(_tagged) text back into *t (model/seed ignored).
 * Returns 0, or -1 with a sentence in err. */
int scene_truth_parse(const char *json, scene_truth_t *t, char *err, size_t errlen);

/* Releases cairo's and fontconfig's process-wide caches (font faces, configuration)
 * so leak checkers see a clean exit. Call once, at exit, after every draw_scene has
 * returned; drawing afterwards is not supported. */
void draw_shutdown(void);

#endif
