/* provider.c — the adapter registry and the helpers every dialect shares; see provider.h. */
#include "model/provider.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

/* The registry: one adapter per name in base/providers.h, in the list's order. */
#define PROVIDER_ENTRY_(n) &provider_##n,
static const provider_t *const providers[PROVIDER_COUNT] = {PRESSROOM_PROVIDERS(PROVIDER_ENTRY_)};
#undef PROVIDER_ENTRY_

const provider_t *provider_find(const char *name) {
    for (int i = 0; i < PROVIDER_COUNT; i++)
        if (!strcmp(providers[i]->name, name)) return providers[i];
    return NULL;
}

void provider_request_free(provider_request_t *req) {
    curl_slist_free_all(req->headers);
    free(req->body);
    curl_mime_free(req->mime);
    memset(req, 0, sizeof *req);
}

/* ==== Outcomes ==== */

void provider_fail(provider_outcome_t *out, const char *reason, const char *fmt, ...) {
    out->ok = false;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks the chunk structure (no decompression, no CRC): IHDR first with a non-zero size,
 * every chunk inside the bytes, IEND last. Returns NULL or what is wrong. */
static const char *png_structure_error(const unsigned char *b, size_t len, char *buf, size_t buflen) {
    size_t off = 8;
    int n = 0;
    while (off + 12 <= len) {
        uint32_t clen = be32(b + off);
        const unsigned char *type = b + off + 4;
        if (clen > len - off - 12) {
            snprintf(buf, buflen, "chunk %d (%.4s) at offset %zu claims %u bytes, only %zu remain", n,
                     (const char *)type, off, clen, len - off - 12);
            return buf;
        }
        if (n == 0 && (memcmp(type, "IHDR", 4) || clen != 13 || !be32(b + off + 8) || !be32(b + off + 12))) {
            snprintf(buf, buflen, "expected an IHDR chunk of 13 bytes with non-zero width and height first");
            return buf;
        }
        if (!memcmp(type, "IEND", 4)) return NULL;
        off += 12 + (size_t)clen;
        n++;
    }
    snprintf(buf, buflen, "the data ends after %d chunk%s at offset %zu without an IEND chunk (truncated)", n,
             n == 1 ? "" : "s", off);
    return buf;
}

int provider_accept_png(provider_outcome_t *out, const unsigned char *bytes, size_t len,
                        const char *model, const char *what) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len > MODEL_CLIENT_MAX_PNG_BYTES) {
        provider_fail(out, "bad_response", "%s from %s: expected a PNG of at most %u bytes, found %zu bytes",
                      what, model, MODEL_CLIENT_MAX_PNG_BYTES, len);
        return -1;
    }
    if (len < sizeof sig || memcmp(bytes, sig, sizeof sig)) {
        char shown[3 * 8 + 1] = "";
        for (size_t i = 0; i < len && i < 8; i++) snprintf(shown + 3 * i, 4, "%02x ", bytes[i]);
        if (shown[0]) shown[strlen(shown) - 1] = '\0';
        provider_fail(out, "bad_response",
                      "%s from %s: expected a PNG (signature 89 50 4e 47 0d 0a 1a 0a), found %zu bytes starting %s",
                      what, model, len, len ? shown : "(empty)");
        return -1;
    }
    char why[160];
    if (png_structure_error(bytes, len, why, sizeof why)) {
        provider_fail(out, "bad_response", "%s from %s: expected a complete PNG, found %zu bytes: %s", what, model,
                      len, why);
        return -1;
    }
    out->png = malloc(len);
    if (!out->png) {
        provider_fail(out, "bad_response", "%s from %s: out of memory for %zu bytes", what, model, len);
        return -1;
    }
    memcpy(out->png, bytes, len);
    out->png_len = len;
    out->ok = true;
    return 0;
}

int provider_accept_b64_png(provider_outcome_t *out, const char *b64, const char *model, const char *what) {
    char err[160];
    size_t len = 0;
    unsigned char *bytes = base64_decode(b64, strlen(b64), MODEL_CLIENT_MAX_PNG_BYTES + 1, &len, err, sizeof err);
    if (!bytes) {
        provider_fail(out, "bad_response", "%s from %s: expected base64 image data: %s", what, model, err);
        return -1;
    }
    int rc = provider_accept_png(out, bytes, len, model, what);
    free(bytes);
    return rc;
}

/* A printable excerpt of a body for messages: control bytes shown as '.', at most max. */
static void excerpt(char *dst, size_t dstlen, const unsigned char *body, size_t len, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < len && i < max && n + 1 < dstlen; i++)
        dst[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? (char)body[i] : '.';
    dst[n] = '\0';
    if (len > max && n + 4 < dstlen) strcat(dst, "...");
}

cJSON *provider_parse_json(provider_outcome_t *out, const provider_response_t *resp) {
    cJSON *j = cJSON_ParseWithLength((const char *)resp->body, resp->body_len);
    if (!j) {
        char shown[128];
        excerpt(shown, sizeof shown, resp->body, resp->body_len, 80);
        provider_fail(out, "bad_response", "HTTP %ld from %s: expected a JSON body, found \"%s\" (%zu bytes)",
                      resp->status, resp->model, shown, resp->body_len);
    }
    return j;
}

void provider_error_detail(provider_outcome_t *out, const provider_response_t *resp, const char *msg) {
    char shown[320];
    if (!msg) {
        excerpt(shown, sizeof shown, resp->body, resp->body_len, 300);
        msg = resp->body_len ? shown : "(empty body)";
    }
    snprintf(out->detail, sizeof out->detail, "HTTP %ld from %s: %s", resp->status, resp->model, msg);
}

/* ==== Request building ==== */

int provider_header(provider_request_t *req, const char *name, const char *fmt, ...) {
    char line[2048];
    int n = snprintf(line, sizeof line, "%s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    struct curl_slist *l = curl_slist_append(req->headers, line);
    if (!l) return -1;
    req->headers = l;
    return 0;
}

int provider_bearer(provider_request_t *req, const provider_target_t *t) {
    if (!t->api_key || !t->api_key[0]) return 0;
    return provider_header(req, "Authorization", "Bearer %s", t->api_key);
}

int provider_json_body(provider_request_t *req, cJSON *obj) {
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) return -1;
    req->body = text;
    req->body_len = strlen(text);
    return provider_header(req, "Content-Type", "application/json");
}

const char *provider_nearest_ratio(int width, int height, const char *const *ratios) {
    double want = log((double)(width > 0 ? width : 1) / (height > 0 ? height : 1));
    const char *best = ratios[0];
    double best_d = INFINITY;
    for (const char *const *r = ratios; *r; r++) {
        int a = 0, b = 0;
        if (sscanf(*r, "%d:%d", &a, &b) != 2 || a <= 0 || b <= 0) continue;
        double d = fabs(log((double)a / b) - want);
        if (d < best_d) { best_d = d; best = *r; }
    }
    return best;
}

uint32_t provider_seed32(uint64_t seed) {
    return (uint32_t)(seed % 4294967295u);
}

double provider_guidance(const render_request_t *r) {
    return r->guidance > 0 ? r->guidance : 7.0;
}
