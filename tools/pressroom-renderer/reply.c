/* reply.c — building replies (status, headers, body) and the base64 the JSON
 * dialects carry images in; see renderer.h. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renderer.h"

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort(); /* a few bytes of header: nothing sensible left to do */
    return d;
}

void reply_header(reply_t *r, const char *name, const char *value) {
    if (r->n_headers >= REPLY_MAX_HEADERS) return;
    r->header_names[r->n_headers] = xstrdup(name);
    r->header_values[r->n_headers] = xstrdup(value);
    r->n_headers++;
}

void reply_headerf(reply_t *r, const char *name, const char *fmt, ...) {
    char value[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    reply_header(r, name, value);
}

void reply_body(reply_t *r, int status, const char *content_type, void *body, size_t len) {
    if (!r->body_static) free(r->body);
    r->status = status;
    r->content_type = content_type;
    r->body = body;
    r->body_len = len;
    r->body_static = false;
}

void reply_json(reply_t *r, int status, cJSON *tree) {
    char *text = tree ? cJSON_PrintUnformatted(tree) : NULL;
    cJSON_Delete(tree);
    if (!text) {
        text = xstrdup("{\"error\":\"out of memory\"}");
        status = 500;
    }
    reply_body(r, status, "application/json", text, strlen(text));
}

void reply_free(reply_t *r) {
    if (!r->body_static) free(r->body);
    for (int i = 0; i < r->n_headers; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    memset(r, 0, sizeof *r);
}

void image_free(image_t *img) {
    if (img->shared) return;
    free(img->png);
    free(img->b64);
    free(img->truth);
    memset(img, 0, sizeof *img);
}
