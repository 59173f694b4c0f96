/* html.c — the one place text becomes HTML. Payloads, headers, job ids and reasons are
 * hostile: everything a page shows passes through html_text. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "console.h"

static void reserve(html_t *h, size_t more) {
    if (h->len + more + 1 <= h->cap) return;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < h->len + more + 1) cap *= 2;
    h->s = xrealloc(h->s, cap);
    h->cap = cap;
}

static void append(html_t *h, const char *s, size_t n) {
    reserve(h, n);
    memcpy(h->s + h->len, s, n);
    h->len += n;
    h->s[h->len] = 0;
}

void html_raw(html_t *h, const char *s) { append(h, s, strlen(s)); }

void html_printf(html_t *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    reserve(h, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(h->s + h->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    h->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t i = 1; i < len; i++) cp = cp << 6 | (s[i] & 0x3F);
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range, a surrogate */
    return len;
}

void html_text(html_t *h, const char *str, size_t len, size_t max) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = str ? len : 0, i = 0;
    while (i < n && i < max) {
        unsigned c = s[i];
        char esc[8];
        switch (c) {
        case '&': html_raw(h, "&amp;"); i++; continue;
        case '<': html_raw(h, "&lt;"); i++; continue;
        case '>': html_raw(h, "&gt;"); i++; continue;
        case '"': html_raw(h, "&quot;"); i++; continue;
        case '\'': html_raw(h, "&#39;"); i++; continue;
        case '\n': case '\t': append(h, (const char *)&s[i], 1); i++; continue;
        default: break;
        }
        size_t u = c >= 0x20 && c != 0x7F ? utf8_len(s + i, n - i) : 0;
        if (u && i + u > max) break; /* never half a character */
        if (u) {
            append(h, (const char *)s + i, u);
            i += u;
        } else {
            snprintf(esc, sizeof esc, "\\x%02X", c);
            html_raw(h, esc);
            i++;
        }
    }
    if (i < n) html_raw(h, "\xE2\x80\xA6"); /* … */
}

void html_str(html_t *h, const char *s) { html_text(h, s, s ? strlen(s) : 0, 1024); }

void html_url_value(html_t *h, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            append(h, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            append(h, e, 3);
        }
    }
}

void html_usd(html_t *h, int64_t micros) {
    const char *sign = micros < 0 ? "-" : "";
    uint64_t m = micros < 0 ? (uint64_t)(-(micros + 1)) + 1 : (uint64_t)micros;
    char frac[8];
    snprintf(frac, sizeof frac, "%06" PRIu64, m % 1000000);
    for (int i = 5; i >= 2 && frac[i] == '0'; i--) frac[i] = 0;
    html_printf(h, "%s$%" PRIu64 ".%s", sign, m / 1000000, frac);
}

void html_free(html_t *h) {
    free(h->s);
    *h = (html_t){0};
}
