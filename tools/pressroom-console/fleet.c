/* fleet.c — one worker's admin endpoint (/metrics and /readyz, admin_http.h) over
 * libcurl, bounded in time and size, and reading values out of its exposition text. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "console.h"

#define SCRAPE_MAX_BYTES (4 << 20)
#define SCRAPE_TIMEOUT_MS 1500

typedef struct {
    char *buf;
    size_t len, cap;
    bool too_large;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
    body_t *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n > SCRAPE_MAX_BYTES) {
        b->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->buf = xrealloc(b->buf, b->cap);
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = 0;
    return n;
}

/* GETs base+path; returns the HTTP status (0 when no answer, err says why). */
static long get(const char *base, const char *path, body_t *b, char *err, size_t errlen) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot create a libcurl handle");
        return 0;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SCRAPE_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else snprintf(err, errlen, "%s: %s", url, b->too_large ? "answer larger than 4 MiB" : cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return status;
}

void fleet_scrape(const console_worker_t *w, worker_status_t *out) {
    memset(out, 0, sizeof *out);
    body_t m = {0}, r = {0};
    long st = get(w->url, "/metrics", &m, out->error, sizeof out->error);
    if (st == 200 && m.buf) {
        out->up = true;
        out->metrics = m.buf;
    } else {
        if (st) snprintf(out->error, sizeof out->error, "%s/metrics answered HTTP %ld", w->url, st);
        free(m.buf);
    }
    char rerr[256] = "";
    st = get(w->url, "/readyz", &r, rerr, sizeof rerr);
    out->ready = st == 200;
    if (!out->ready) {
        const char *why = st ? (r.buf ? r.buf : "") : rerr;
        snprintf(out->not_ready, sizeof out->not_ready, "%s", why);
        out->not_ready[strcspn(out->not_ready, "\n")] = 0;
    }
    free(r.buf);
}

void fleet_status_free(worker_status_t *s) {
    free(s->metrics);
    s->metrics = NULL;
}

void prom_each(const char *text, const char *name, void (*fn)(void *ctx, const char *labels, double v), void *ctx) {
    size_t nl = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > nl && !strncmp(line, name, nl) && (line[nl] == '{' || line[nl] == ' ')) {
            char buf[2048];
            snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
            char *labels = buf + nl, *value;
            if (*labels == '{') {
                char *close = strrchr(labels, '}');
                if (close) {
                    *close = 0;
                    labels++;
                    value = close + 1;
                } else value = NULL;
            } else {
                *labels = 0;
                value = labels + 1;
            }
            char *vend;
            double v = value ? strtod(value, &vend) : 0;
            if (value && vend != value) fn(ctx, labels, v);
        }
        line = end ? end + 1 : NULL;
    }
}

void prom_label(const char *labels, const char *key, char *buf, size_t len) {
    buf[0] = 0;
    size_t kl = strlen(key);
    for (const char *p = labels; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=' && p[kl + 1] == '"') {
            const char *v = p + kl + 2;
            size_t n = 0;
            for (; *v && *v != '"' && n + 1 < len; v++) {
                if (*v == '\\' && v[1]) v++;
                buf[n++] = *v;
            }
            buf[n] = 0;
            return;
        }
        /* skip to the next label: past the closing quote of this value */
        const char *q = strchr(p, '"');
        if (!q) return;
        for (q++; *q && *q != '"'; q++)
            if (*q == '\\' && q[1]) q++;
        if (!*q) return;
        p = q + 1;
        if (*p == ',') p++;
    }
}

typedef struct {
    const char *key, *value;
    bool found;
    double v;
} find_t;

static void on_find(void *ctx, const char *labels, double v) {
    find_t *f = ctx;
    if (f->found) return;
    if (f->key) {
        char got[256];
        prom_label(labels, f->key, got, sizeof got);
        if (strcmp(got, f->value)) return;
    }
    f->found = true;
    f->v = v;
}

bool prom_value(const char *text, const char *name, const char *key, const char *value, double *out) {
    find_t f = {key, value, false, 0};
    if (text) prom_each(text, name, on_find, &f);
    if (f.found) *out = f.v;
    return f.found;
}
