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
#include "base/json.h"

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

/* Checks bytes as the image (signature, size cap, chunk structure). Returns 0, or -1
 * with bad_response in out. */
static int check_png(provider_outcome_t *out, const unsigned char *bytes, size_t len, const char *model,
                     const char *what) {
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
    return 0;
}

int provider_accept_png(provider_outcome_t *out, const unsigned char *bytes, size_t len,
                        const char *model, const char *what) {
    if (check_png(out, bytes, len, model, what)) return -1;
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
    if (check_png(out, bytes, len, model, what)) {
        free(bytes);
        return -1;
    }
    out->png = bytes; /* the decoded buffer is the image: no second copy */
    out->png_len = len;
    out->ok = true;
    return 0;
}

/* A printable excerpt of a body for messages: control bytes shown as '.', at most max. */
static void excerpt(char *dst, size_t dstlen, const unsigned char *body, size_t len, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < len && i < max && n + 1 < dstlen; i++)
        dst[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? (char)body[i] : '.';
    dst[n] = '\0';
    if (len > max && n + 4 < dstlen) strcat(dst, "...");
}

/* A string this long in a reply is the image: parsed by memcpy (json_parse_bulk). */
#define PROVIDER_BULK_STRING 1024

cJSON *provider_parse_json(provider_outcome_t *out, const provider_response_t *resp) {
    cJSON *j = json_parse_bulk((const char *)resp->body, resp->body_len, PROVIDER_BULK_STRING);
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

const char *provider_nearest_size(int width, int height, const char *const *sizes) {
    double want = log((double)(width > 0 ? width : 1) / (height > 0 ? height : 1));
    double want_area = log((double)(width > 0 ? width : 1) * (height > 0 ? height : 1));
    const char *best = sizes[0];
    double best_d = INFINITY, best_a = INFINITY;
    for (const char *const *s = sizes; *s; s++) {
        int w = 0, h = 0;
        if (sscanf(*s, "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0) continue;
        double d = fabs(log((double)w / h) - want), a = fabs(log((double)w * h) - want_area);
        if (d < best_d - 1e-9 || (fabs(d - best_d) <= 1e-9 && a < best_a)) {
            best_d = d;
            best_a = a;
            best = *s;
        }
    }
    return best;
}

double provider_clamp(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void provider_note(render_sent_t *sent, const char *fmt, ...) {
    size_t n = strlen(sent->note);
    if (n && n + 2 < sizeof sent->note) {
        memcpy(sent->note + n, "; ", 3);
        n += 2;
    }
    if (n + 1 >= sizeof sent->note) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sent->note + n, sizeof sent->note - n, fmt, ap);
    va_end(ap);
}

void provider_add_params(cJSON *obj, const provider_target_t *t) {
    const cJSON *it;
    if (!t->params) return;
    cJSON_ArrayForEach(it, t->params) {
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy) continue;
        if (cJSON_GetObjectItemCaseSensitive(obj, it->string)) cJSON_ReplaceItemInObjectCaseSensitive(obj, it->string, copy);
        else cJSON_AddItemToObject(obj, it->string, copy);
    }
}

void provider_reinforced_prompt(const render_request_t *r, bool fold_negative, char *buf, size_t len) {
    int n = snprintf(buf, len, "%s", r->prompt ? r->prompt : "");
    if (n < 0 || (size_t)n >= len) return;
    if (r->guidance > 0)
        n += snprintf(buf + n, len - (size_t)n,
                      ". Render the quoted text exactly as written, letter for letter, same capitals and "
                      "punctuation, nothing added or left out, fully inside the image and legible%s",
                      r->guidance > 10 ? "; the previous images were rejected for their text, so this matters "
                                         "more than anything else in the picture"
                                       : "");
    if (n < 0 || (size_t)n >= len) return;
    if (fold_negative && r->negative_prompt && *r->negative_prompt)
        snprintf(buf + n, len - (size_t)n, ". Avoid: %s", r->negative_prompt);
}

/* ==== Parameters ==== */

static int param_error(char *err, size_t errlen, const char *name, const char *expected, const cJSON *found) {
    char *shown = found ? cJSON_PrintUnformatted(found) : NULL;
    snprintf(err, errlen, "params.%s: expected %s, found %.80s", name, expected, shown ? shown : "nothing");
    free(shown);
    return -1;
}

int provider_check_params(const provider_t *p, const provider_target_t *t, char *err, size_t errlen) {
    const cJSON *it;
    if (!t->params) return 0;
    cJSON_ArrayForEach(it, t->params) {
        const provider_param_t *d = NULL;
        for (const provider_param_t *q = p->params; q && q->name; q++)
            if (!strcmp(q->name, it->string)) d = q;
        if (!d) {
            char known[512] = "";
            size_t n = 0;
            for (const provider_param_t *q = p->params; q && q->name && n + 1 < sizeof known; q++)
                n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "", q->name);
            char expected[640];
            snprintf(expected, sizeof expected, "a parameter %s documents (%s)", p->name,
                     known[0] ? known : "none: it takes no extras");
            snprintf(err, errlen, "params.%s: expected %s, found an unknown name", it->string, expected);
            return -1;
        }
        char expected[512];
        switch (d->kind) {
        case PARAM_BOOL:
            if (!cJSON_IsBool(it)) return param_error(err, errlen, d->name, "true or false", it);
            break;
        case PARAM_INT:
        case PARAM_NUMBER:
            snprintf(expected, sizeof expected, "%s from %g to %g", d->kind == PARAM_INT ? "an integer" : "a number",
                     d->lo, d->hi);
            if (!cJSON_IsNumber(it) || it->valuedouble < d->lo || it->valuedouble > d->hi ||
                (d->kind == PARAM_INT && it->valuedouble != floor(it->valuedouble)))
                return param_error(err, errlen, d->name, expected, it);
            break;
        case PARAM_STRING: {
            bool ok = cJSON_IsString(it) && it->valuestring[0];
            if (ok && d->choices) {
                ok = false;
                for (const char *const *c = d->choices; *c; c++)
                    if (!strcmp(*c, it->valuestring)) ok = true;
            }
            if (!ok) {
                size_t n = (size_t)snprintf(expected, sizeof expected, "%s", d->choices ? "one of " : "a non-empty string");
                for (const char *const *c = d->choices; c && *c && n + 1 < sizeof expected; c++)
                    n += (size_t)snprintf(expected + n, sizeof expected - n, "%s\"%s\"", c == d->choices ? "" : ", ", *c);
                return param_error(err, errlen, d->name, expected, it);
            }
            break;
        }
        }
    }
    return p->check_model ? p->check_model(t, err, errlen) : 0;
}
