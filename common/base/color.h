/* color.h — colour science for the verifier: sRGB <-> CIELAB (D65), the CIEDE2000
 * colour difference, and WCAG 2.x relative luminance / contrast ratio.
 * Colours are 0xRRGGBB (8-bit sRGB). Everything here is pure and thread safe. */
#ifndef PRESSROOM_COLOR_H
#define PRESSROOM_COLOR_H

#include <stdint.h>

typedef struct {
    double L, a, b;
} lab_t;

#define RGB_R(c) ((int)(((c) >> 16) & 0xff))
#define RGB_G(c) ((int)(((c) >> 8) & 0xff))
#define RGB_B(c) ((int)((c)&0xff))
#define RGB_PACK(r, g, b) ((uint32_t)(((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b)))

/* sRGB (0..255 per channel, fractional allowed) to CIELAB under D65/2°. */
lab_t color_srgb_to_lab(double r, double g, double b);
lab_t color_rgb_to_lab(uint32_t rgb);
/* CIELAB back to 8-bit sRGB (clamped). */
uint32_t color_lab_to_rgb(lab_t lab);

/* CIEDE2000 difference (kL = kC = kH = 1), Sharma, Wu & Dalal (2005). */
double color_ciede2000(lab_t x, lab_t y);

/* Smallest CIEDE2000 distance from p to the Lab segment a..b (the colours of a
 * gradient or blurred edge between two palette colours), sampled finely. */
double color_ciede2000_to_segment(lab_t p, lab_t a, lab_t b);

/* HSV (hue in degrees, saturation and value 0..1) to 0xRRGGBB. */
uint32_t color_from_hsv(double h, double s, double v);

/* WCAG 2.x relative luminance, 0 (black) .. 1 (white). */
double color_relative_luminance(uint32_t rgb);
/* WCAG 2.x contrast ratio (L1 + 0.05) / (L2 + 0.05), 1 .. 21, order-independent. */
double color_contrast_ratio(uint32_t a, uint32_t b);

/* "#rrggbb" into buf (at least 8 bytes); returns buf. */
char *color_hex(uint32_t rgb, char *buf);

#endif
