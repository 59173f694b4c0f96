/* color.c — sRGB/CIELAB conversion, CIEDE2000, WCAG contrast; see color.h. */
#include "base/color.h"

#include <math.h>
#include <stdio.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* D65 reference white (2° observer), as in the Sharma et al. test data. */
static const double XN = 95.047, YN = 100.0, ZN = 108.883;

static double srgb_to_linear(double c) {
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double linear_to_srgb(double c) {
    double v = c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
    return v * 255.0;
}

static double lab_f(double t) {
    const double d = 6.0 / 29.0;
    return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

static double lab_finv(double t) {
    const double d = 6.0 / 29.0;
    return t > d ? t * t * t : 3 * d * d * (t - 4.0 / 29.0);
}

lab_t color_srgb_to_lab(double r, double g, double b) {
    double R = srgb_to_linear(r), G = srgb_to_linear(g), B = srgb_to_linear(b);
    double X = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) * 100.0;
    double Y = (0.2126729 * R + 0.7151522 * G + 0.0721750 * B) * 100.0;
    double Z = (0.0193339 * R + 0.1191920 * G + 0.9503041 * B) * 100.0;
    double fx = lab_f(X / XN), fy = lab_f(Y / YN), fz = lab_f(Z / ZN);
    lab_t out = {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
    return out;
}

lab_t color_rgb_to_lab(uint32_t rgb) {
    return color_srgb_to_lab(RGB_R(rgb), RGB_G(rgb), RGB_B(rgb));
}

static int clamp8(double v) {
    long r = lround(v);
    return r < 0 ? 0 : r > 255 ? 255 : (int)r;
}

uint32_t color_lab_to_rgb(lab_t lab) {
    double fy = (lab.L + 16.0) / 116.0, fx = fy + lab.a / 500.0, fz = fy - lab.b / 200.0;
    double X = XN * lab_finv(fx) / 100.0, Y = YN * lab_finv(fy) / 100.0, Z = ZN * lab_finv(fz) / 100.0;
    double R = 3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z;
    double G = -0.9692660 * X + 1.8760108 * Y + 0.0415560 * Z;
    double B = 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z;
    return RGB_PACK(clamp8(linear_to_srgb(R)), clamp8(linear_to_srgb(G)), clamp8(linear_to_srgb(B)));
}

static double deg(double rad) { return rad * 180.0 / M_PI; }
static double rad(double d) { return d * M_PI / 180.0; }

double color_ciede2000(lab_t x, lab_t y) {
    double C1 = hypot(x.a, x.b), C2 = hypot(y.a, y.b);
    double Cbar = (C1 + C2) / 2.0;
    double Cbar7 = pow(Cbar, 7);
    double G = 0.5 * (1 - sqrt(Cbar7 / (Cbar7 + pow(25.0, 7))));
    double a1 = (1 + G) * x.a, a2 = (1 + G) * y.a;
    double C1p = hypot(a1, x.b), C2p = hypot(a2, y.b);
    double h1p = (a1 == 0 && x.b == 0) ? 0 : deg(atan2(x.b, a1));
    double h2p = (a2 == 0 && y.b == 0) ? 0 : deg(atan2(y.b, a2));
    if (h1p < 0) h1p += 360;
    if (h2p < 0) h2p += 360;

    double dLp = y.L - x.L, dCp = C2p - C1p, dhp;
    if (C1p * C2p == 0) dhp = 0;
    else if (fabs(h2p - h1p) <= 180) dhp = h2p - h1p;
    else if (h2p - h1p > 180) dhp = h2p - h1p - 360;
    else dhp = h2p - h1p + 360;
    double dHp = 2 * sqrt(C1p * C2p) * sin(rad(dhp / 2));

    double Lbp = (x.L + y.L) / 2, Cbp = (C1p + C2p) / 2, hbp;
    if (C1p * C2p == 0) hbp = h1p + h2p;
    else if (fabs(h1p - h2p) <= 180) hbp = (h1p + h2p) / 2;
    else if (h1p + h2p < 360) hbp = (h1p + h2p + 360) / 2;
    else hbp = (h1p + h2p - 360) / 2;

    double T = 1 - 0.17 * cos(rad(hbp - 30)) + 0.24 * cos(rad(2 * hbp)) +
               0.32 * cos(rad(3 * hbp + 6)) - 0.20 * cos(rad(4 * hbp - 63));
    double dTheta = 30 * exp(-pow((hbp - 275) / 25, 2));
    double Cbp7 = pow(Cbp, 7);
    double RC = 2 * sqrt(Cbp7 / (Cbp7 + pow(25.0, 7)));
    double SL = 1 + 0.015 * pow(Lbp - 50, 2) / sqrt(20 + pow(Lbp - 50, 2));
    double SC = 1 + 0.045 * Cbp;
    double SH = 1 + 0.015 * Cbp * T;
    double RT = -sin(rad(2 * dTheta)) * RC;
    double l = dLp / SL, c = dCp / SC, h = dHp / SH;
    return sqrt(l * l + c * c + h * h + RT * c * h);
}

double color_ciede2000_to_segment(lab_t p, lab_t a, lab_t b) {
    double best = 1e9;
    for (int i = 0; i <= 32; i++) {
        double t = i / 32.0;
        lab_t q = {a.L + t * (b.L - a.L), a.a + t * (b.a - a.a), a.b + t * (b.b - a.b)};
        double d = color_ciede2000(p, q);
        if (d < best) best = d;
    }
    return best;
}

double color_relative_luminance(uint32_t rgb) {
    return 0.2126 * srgb_to_linear(RGB_R(rgb)) + 0.7152 * srgb_to_linear(RGB_G(rgb)) +
           0.0722 * srgb_to_linear(RGB_B(rgb));
}

double color_contrast_ratio(uint32_t a, uint32_t b) {
    double la = color_relative_luminance(a), lb = color_relative_luminance(b);
    if (la < lb) {
        double t = la;
        la = lb;
        lb = t;
    }
    return (la + 0.05) / (lb + 0.05);
}

char *color_hex(uint32_t rgb, char *buf) {
    snprintf(buf, 8, "#%02x%02x%02x", RGB_R(rgb), RGB_G(rgb), RGB_B(rgb));
    return buf;
}

uint32_t color_from_hsv(double h, double s, double v) {
    double c = v * s, hp = fmod(h, 360.0) / 60.0, x = c * (1 - fabs(fmod(hp, 2.0) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    if (hp < 1) r = c, g = x;
    else if (hp < 2) r = x, g = c;
    else if (hp < 3) g = c, b = x;
    else if (hp < 4) g = x, b = c;
    else if (hp < 5) r = x, b = c;
    else r = c, b = x;
    long R = lround(fmin(fmax(r + m, 0), 1) * 255), G = lround(fmin(fmax(g + m, 0), 1) * 255),
         B = lround(fmin(fmax(b + m, 0), 1) * 255);
    return (uint32_t)((R << 16) | (G << 8) | B);
}
