/* dialect.c — the provider APIs the renderer speaks, one adapter each (see
 * dialect_ops_t in renderer.h): the request parsed into a render_request_t, and
 * images, errors, safety-filter answers and garbage in that provider's shape.
 *
 *   openai     POST /v1/images/generations                      JSON -> JSON b64_json
 *   raw        POST /render                                     JSON -> image/png
 *   stability  POST /v2beta/stable-image/generate/sd3           multipart -> image/png
 *   a1111      POST /sdapi/v1/txt2img                           JSON -> JSON images[]
 *   vertex     POST /v1/projects/P/locations/L/publishers/google/models/M:predict
 *                                                               JSON -> JSON predictions[]
 *
 * Besides each API's real fields, every dialect takes the eval/test extension
 * "mistake" (JSON field; form field for stability; in "parameters" for vertex).
 * Answers where a provider has no fixed convention:
 *   raw errors     {"error":{"code":"bad_request|not_found|payload_too_large|rate_limited|
 *                  server_error","message":"..."}}; safety: 400 code "content_filtered"
 *   a1111 safety   200 with a black image and info.nsfw_content_detected [true]
 *   a1111 errors   {"error":"BadRequest|NotFound|...","detail":"...","body":"","errors":"..."}
 * Garbage (fault injection) is 200 with a body that breaks the shape: truncated JSON,
 * a non-base64 image field, base64 of HTML; or for PNG bodies HTML or a cut-off PNG.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "renderer.h"

/* ==== JSON request fields ==== */

/* Shows a found JSON value in an error sentence, shortened. */
static void shown(const cJSON *v, char *buf, size_t len) {
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, len, "%.60s%s", s ? s : "nothing", s && strlen(s) > 60 ? "..." : "");
    free(s);
}

static int field_error(char *err, size_t errlen, const char *key, const char *expected,
                       const cJSON *found) {
    char f[80];
    shown(found, f, sizeof f);
    snprintf(err, errlen, "%s: expected %s, found %s", key, expected, f);
    return -1;
}

static cJSON *json_object_body(const http_in_t *in, char *err, size_t errlen) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(in->body, in->body_len, &end, 0);
    if (!root) {
        size_t at = end && end >= in->body ? (size_t)(end - in->body) : 0;
        snprintf(err, errlen, "request body: expected a JSON object, found text that is not valid "
                 "JSON (at byte %zu of %zu)", at, in->body_len);
        return NULL;
    }
    while (end && end < in->body + in->body_len && strchr(" \t\r\n", *end)) end++;
    if (end && end < in->body + in->body_len) {
        snprintf(err, errlen, "request body: expected one JSON object, found more text after it "
                 "(at byte %zu of %zu)", (size_t)(end - in->body), in->body_len);
        cJSON_Delete(root);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        field_error(err, errlen, "request body", "a JSON object", root);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Optional string field (required when `required`) into dst. */
static int get_str(const cJSON *obj, const char *key, bool required, char *dst, size_t dstlen,
                   char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return field_error(err, errlen, key, "a string", NULL);
        return 0;
    }
    if (!cJSON_IsString(v)) return field_error(err, errlen, key, "a string", v);
    if (strlen(v->valuestring) >= dstlen) {
        char exp[64];
        snprintf(exp, sizeof exp, "a string of at most %zu bytes", dstlen - 1);
        return field_error(err, errlen, key, exp, v);
    }
    snprintf(dst, dstlen, "%s", v->valuestring);
    return 0;
}

static int get_int(const cJSON *obj, const char *key, long long lo, long long hi, long long *dst,
                   char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        char exp[96];
        snprintf(exp, sizeof exp, "an integer from %lld to %lld", lo, hi);
        return field_error(err, errlen, key, exp, v);
    }
    *dst = (long long)v->valuedouble;
    return 0;
}

static int get_guidance(const cJSON *obj, const char *key, double *dst, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 100)
        return field_error(err, errlen, key, "a number above 0 and at most 100", v);
    *dst = v->valuedouble;
    return 0;
}

static int get_seed(const cJSON *obj, const char *key, bool minus_one_is_none,
                    render_request_t *rq, char *err, size_t errlen) {
    long long seed = 0;
    if (get_int(obj, key, minus_one_is_none ? -1 : 0, 4294967295LL, &seed, err, errlen)) return -1;
    rq->seed = seed < 0 ? 0 : (uint64_t)seed;
    return 0;
}

static int set_mistake(const char *name, const char *key, render_request_t *rq, char *err,
                       size_t errlen) {
    mistake_t m = mistake_from_name(name);
    if (m == MISTAKE_COUNT) {
        snprintf(err, errlen, "%s: expected one of none, typo, drop, extra, offzone, low_contrast, "
                 "off_palette, found \"%.40s\"", key, name);
        return -1;
    }
    rq->forced = true;
    rq->forced_mistake = m;
    return 0;
}

/* The eval/test extension: "mistake": "typo" forces that mistake ("none": clean). */
static int get_mistake(const cJSON *obj, const char *key, render_request_t *rq, char *err,
                       size_t errlen) {
    char name[32] = "";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) return field_error(err, errlen, key, "a mistake name string", v);
    snprintf(name, sizeof name, "%s", v->valuestring);
    return set_mistake(name, key, rq, err, errlen);
}

/* "768x512" -> 768, 512; each side 64..2048. */
static int parse_wxh(const char *key, const char *s, render_request_t *rq, char *err, size_t errlen) {
    int w, h, n = 0;
    if (sscanf(s, "%dx%d%n", &w, &h, &n) != 2 || s[n] || w < 64 || h < 64 || w > 2048 || h > 2048) {
        snprintf(err, errlen, "%s: expected \"WIDTHxHEIGHT\" with each side from 64 to 2048 "
                 "pixels, e.g. \"768x512\", found \"%.40s\"", key, s);
        return -1;
    }
    rq->width = w;
    rq->height = h;
    return 0;
}

static void request_defaults(render_request_t *rq, dialect_t d, int w, int h) {
    memset(rq, 0, sizeof *rq);
    rq->dialect = d;
    rq->width = w;
    rq->height = h;
    rq->guidance = DEFAULT_GUIDANCE;
    rq->steps = 20;
}

/* The first member of obj whose name is not in known (NULL-terminated), or NULL. */
static const cJSON *unknown_member(const cJSON *obj, const char *const *known) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        bool found = false;
        for (const char *const *k = known; *k && !found; k++) found = !strcmp(*k, it->string);
        if (!found) return it;
    }
    return NULL;
}

static bool in_list(const char *s, const char *const *list);

/* Records what the provider's error names and formats the message; returns -1. */
static int refuse(render_request_t *rq, const char *param, const char *code, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int refuse(render_request_t *rq, const char *param, const char *code, char *err, size_t errlen,
                  const char *fmt, ...) {
    snprintf(rq->bad_param, sizeof rq->bad_param, "%s", param ? param : "");
    snprintf(rq->bad_code, sizeof rq->bad_code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "a", "b", "c" into buf for messages. */
static const char *quoted_list(const char *const *list, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (; *list && n + 1 < len; list++) n += (size_t)snprintf(buf + n, len - n, "%s'%s'", n ? ", " : "", *list);
    return buf;
}

/* ==== Shared answers ==== */

/* The PNG as the body: borrowed from the prerendered cache, else copied. */
static void reply_png(reply_t *out, const image_t *img) {
    if (img->shared) {
        reply_body(out, 200, "image/png", img->png, img->png_len);
        out->body_static = true;
        return;
    }
    unsigned char *copy = malloc(img->png_len);
    if (!copy) abort();
    memcpy(copy, img->png, img->png_len);
    reply_body(out, 200, "image/png", copy, img->png_len);
}

static void reply_text(reply_t *out, int status, const char *content_type, const char *text,
                       size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) abort();
    memcpy(copy, text, len);
    copy[len] = '\0';
    reply_body(out, status, content_type, copy, len);
}

/* 200 with JSON that is not the API's shape: 0 truncated mid-image, 1 the image field
 * holding text that is not base64, 2 valid base64 of bytes that are not a PNG. */
static void garbage_json(reply_t *out, unsigned variant, const char *prefix, const char *suffix) {
    char buf[512];
    switch (variant % 3) {
    case 0:
        snprintf(buf, sizeof buf, "%siVBORw0KGgoAAAANSUhEUgAAAwAAAAIA", prefix);
        break;
    case 1:
        snprintf(buf, sizeof buf, "%s!!! this is not base64 @@@%s", prefix, suffix);
        break;
    default: {
        char *b = base64_encode((const unsigned char *)"<html><body>502 Bad Gateway</body></html>",
                                41, NULL);
        snprintf(buf, sizeof buf, "%s%s%s", prefix, b ? b : "", suffix);
        free(b);
    }
    }
    reply_text(out, 200, "application/json", buf, strlen(buf));
}

/* 200 image/png whose bytes are not a decodable PNG: 0 HTML, 1 a PNG cut off after
 * its header chunk. */
static void garbage_png(reply_t *out, unsigned variant) {
    static const unsigned char cut[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                        'I', 'H', 'D', 'R', 0, 0, 3, 0, 0, 0, 2, 0, 8, 2, 0, 0};
    if (variant % 2 == 0) {
        const char *html = "<html><body><h1>502 Bad Gateway</h1></body></html>\n";
        reply_text(out, 200, "image/png", html, strlen(html));
    } else {
        reply_text(out, 200, "image/png", (const char *)cut, sizeof cut);
    }
}

/* A safety-filter stand-in image: flat mid grey, no text. */
static image_t filtered_image(const render_request_t *rq) {
    scene_t s;
    memset(&s, 0, sizeof s);
    s.width = rq->width;
    s.height = rq->height;
    s.palette[0] = rq->dialect == DIALECT_A1111 ? 0x000000 : 0x808080;
    s.n_palette = 1;
    image_t img;
    memset(&img, 0, sizeof img);
    char err[256];
    if (draw_scene(&s, &img.png, &img.png_len, NULL, err, sizeof err) == 0)
        img.b64 = base64_encode(img.png, img.png_len, NULL);
    return img;
}

static cJSON *add_obj(cJSON *parent, const char *key) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(parent, key, o);
    return o;
}

/* ==== OpenAI Images ==== */

/* Reference: OpenAI API reference, Create image (POST /v1/images/generations) and
 * CreateImageRequest in openai/openai-openapi, read 2026-12-02. Every member the
 * reference does not list is refused as the API does (400 invalid_request_error,
 * code unknown_parameter, param NAME); values outside the reference's enums and ranges
 * are invalid_value. Per model: dall-e-2 sizes 256x256 512x512 1024x1024, prompt up to
 * 1000 characters; dall-e-3 1024x1024 1792x1024 1024x1792, n 1, prompt up to 4000,
 * quality standard|hd, style; gpt-image-* 1024x1024 1536x1024 1024x1536 auto, no
 * response_format, quality low|medium|high|auto, background, moderation, output_format.
 * Any other model id (the renderer's own profiles, as an OpenAI-compatible server) takes
 * the union of the documented sizes. "mistake" is the renderer's eval/test extension. */
static const char *const OPENAI_KEYS[] = {"prompt", "model", "n", "quality", "response_format", "size", "style",
                                          "user", "background", "moderation", "output_format",
                                          "output_compression", "partial_images", "stream", "mistake", NULL};
static const char *const OPENAI_SIZES_ALL[] = {"256x256", "512x512", "1024x1024", "1536x1024", "1024x1536",
                                               "1792x1024", "1024x1792", "auto", NULL};
static const char *const OPENAI_SIZES_DALLE2[] = {"256x256", "512x512", "1024x1024", NULL};
static const char *const OPENAI_SIZES_DALLE3[] = {"1024x1024", "1792x1024", "1024x1792", NULL};
static const char *const OPENAI_SIZES_GPT[] = {"1024x1024", "1536x1024", "1024x1536", "auto", NULL};

/* An optional string member that must be one of list (the reference's enum). */
static int openai_enum(const cJSON *root, const char *key, const char *const *list, render_request_t *rq,
                       char *out, size_t outlen, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    char l[256];
    if (!cJSON_IsString(v) || !in_list(v->valuestring, list)) {
        char f[80];
        shown(v, f, sizeof f);
        return refuse(rq, key, "invalid_value", err, errlen, "Invalid value: %s. Supported values are: %s.", f,
                      quoted_list(list, l, sizeof l));
    }
    if (out) snprintf(out, outlen, "%s", v->valuestring);
    return 0;
}

static int openai_parse(const http_in_t *in, render_request_t *rq, char *err, size_t errlen) {
    request_defaults(rq, DIALECT_OPENAI, 1024, 1024);
    cJSON *root = json_object_body(in, err, errlen);
    if (!root) return -1;
    int rc = 0;
    const cJSON *bad = unknown_member(root, OPENAI_KEYS);
    if (bad) rc = refuse(rq, bad->string, "unknown_parameter", err, errlen, "Unknown parameter: '%.60s'.", bad->string);
    if (!rc) rc = get_str(root, "model", false, rq->model, sizeof rq->model, err, errlen);
    if (!rc) rc = get_str(root, "prompt", true, rq->prompt, sizeof rq->prompt, err, errlen);
    if (rc && !rq->bad_code[0]) snprintf(rq->bad_param, sizeof rq->bad_param, "%s", rq->model[0] ? "prompt" : "model");
    const char *m = rq->model[0] ? rq->model : "dall-e-2"; /* the reference's default model */
    bool dalle2 = !strcmp(m, "dall-e-2"), dalle3 = !strcmp(m, "dall-e-3"), gpt = !strncmp(m, "gpt-image-", 10);
    size_t max_prompt = dalle2 ? 1000 : dalle3 ? 4000 : 32000;
    if (!rc && strlen(rq->prompt) > max_prompt)
        rc = refuse(rq, "prompt", "string_above_max_length", err, errlen,
                    "Invalid 'prompt': string too long. Expected a string with maximum length %zu, but got a string "
                    "with length %zu instead.", max_prompt, strlen(rq->prompt));
    long long n = 1;
    if (!rc && get_int(root, "n", 1, 10, &n, err, errlen)) rc = refuse(rq, "n", "invalid_value", err, errlen, "%s", err);
    if (!rc && n != 1)
        rc = refuse(rq, "n", "invalid_value", err, errlen,
                    "n: expected 1 (this endpoint draws one image per request), found %lld", n);
    char size[32] = "1024x1024", format[32] = "b64_json";
    const char *const *sizes = dalle2 ? OPENAI_SIZES_DALLE2 : dalle3 ? OPENAI_SIZES_DALLE3 : gpt ? OPENAI_SIZES_GPT
                                                                                               : OPENAI_SIZES_ALL;
    if (!rc) rc = openai_enum(root, "size", sizes, rq, size, sizeof size, err, errlen);
    if (!rc && !strcmp(size, "auto")) snprintf(size, sizeof size, "1024x1024");
    if (!rc) rc = parse_wxh("size", size, rq, err, errlen);
    static const char *const formats[] = {"url", "b64_json", NULL};
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    if (!rc && rf && gpt)
        rc = refuse(rq, "response_format", "unknown_parameter", err, errlen,
                    "Unknown parameter: 'response_format'. (%s always returns b64_json)", m);
    if (!rc) rc = openai_enum(root, "response_format", formats, rq, format, sizeof format, err, errlen);
    if (!rc && strcmp(format, "b64_json"))
        rc = refuse(rq, "response_format", "invalid_value", err, errlen,
                    "response_format: expected \"b64_json\" (this endpoint hosts no image URLs), found \"%s\"", format);
    static const char *const q_dalle3[] = {"standard", "hd", NULL}, *const q_gpt[] = {"low", "medium", "high", "auto", NULL};
    static const char *const q_any[] = {"standard", "hd", "low", "medium", "high", "auto", NULL};
    static const char *const styles[] = {"vivid", "natural", NULL}, *const bgs[] = {"transparent", "opaque", "auto", NULL};
    static const char *const mods[] = {"low", "auto", NULL}, *const outfmt[] = {"png", "jpeg", "webp", NULL};
    static const char *const none[] = {NULL};
    if (!rc) rc = openai_enum(root, "quality", dalle2 ? none : dalle3 ? q_dalle3 : gpt ? q_gpt : q_any, rq, NULL, 0, err, errlen);
    if (!rc) rc = openai_enum(root, "style", (dalle3 || (!dalle2 && !gpt)) ? styles : none, rq, NULL, 0, err, errlen);
    if (!rc) rc = openai_enum(root, "background", dalle2 || dalle3 ? none : bgs, rq, NULL, 0, err, errlen);
    if (!rc) rc = openai_enum(root, "moderation", dalle2 || dalle3 ? none : mods, rq, NULL, 0, err, errlen);
    if (!rc) rc = openai_enum(root, "output_format", dalle2 || dalle3 ? none : outfmt, rq, format, sizeof format, err, errlen);
    if (!rc && cJSON_GetObjectItemCaseSensitive(root, "output_format") && strcmp(format, "png"))
        rc = refuse(rq, "output_format", "invalid_value", err, errlen,
                    "output_format: expected \"png\" (this endpoint encodes PNG only), found \"%s\"", format);
    long long v = 0;
    if (!rc && get_int(root, "output_compression", 0, 100, &v, err, errlen))
        rc = refuse(rq, "output_compression", "invalid_value", err, errlen, "%s", err);
    if (!rc && get_int(root, "partial_images", 0, 3, &v, err, errlen))
        rc = refuse(rq, "partial_images", "invalid_value", err, errlen, "%s", err);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (!rc && st && !cJSON_IsFalse(st) && !cJSON_IsNull(st))
        rc = refuse(rq, "stream", "invalid_value", err, errlen, "stream: expected false (this endpoint does not stream)");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(root, "user");
    if (!rc && user && !cJSON_IsString(user)) rc = refuse(rq, "user", "invalid_type", err, errlen, "user: expected a string");
    if (!rc) rc = get_mistake(root, "mistake", rq, err, errlen);
    cJSON_Delete(root);
    return rc;
}

static void openai_invalid(const render_request_t *rq, const char *message, reply_t *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON *e = add_obj(root, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", "invalid_request_error");
    if (rq->bad_param[0]) cJSON_AddStringToObject(e, "param", rq->bad_param);
    else cJSON_AddNullToObject(e, "param");
    if (rq->bad_code[0]) cJSON_AddStringToObject(e, "code", rq->bad_code);
    else cJSON_AddNullToObject(e, "code");
    reply_json(out, 400, root);
}

static void openai_image(const render_request_t *rq, const image_t *img, reply_t *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "created", (double)time(NULL));
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "b64_json", img->b64);
    cJSON_AddStringToObject(item, "revised_prompt", rq->prompt);
    cJSON_AddItemToArray(data, item);
    reply_json(out, 200, root);
}

static void openai_error_coded(int status, const char *message, const char *code, reply_t *out) {
    const char *type = status == 429 ? "requests" : status >= 500 ? "server_error"
                                                                  : "invalid_request_error";
    if (!code)
        code = status == 404 ? "model_not_found" : status == 413 ? "request_too_large"
             : status == 429 ? "rate_limit_exceeded" : NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *e = add_obj(root, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    if (code) cJSON_AddStringToObject(e, "code", code);
    else cJSON_AddNullToObject(e, "code");
    reply_json(out, status, root);
}

static void openai_error(int status, const char *message, reply_t *out) {
    openai_error_coded(status, message, NULL, out);
}

static void openai_safety(const render_request_t *rq, reply_t *out) {
    (void)rq;
    openai_error_coded(400, "Your request was rejected as a result of our safety system. Your "
                       "prompt may contain text that is not allowed by our safety system.",
                       "content_policy_violation", out);
}

static void openai_garbage(const render_request_t *rq, unsigned variant, reply_t *out) {
    (void)rq;
    garbage_json(out, variant, "{\"created\":1700000000,\"data\":[{\"b64_json\":\"", "\"}]}");
}

/* ==== Raw (the seed's endpoint) ==== */

static int raw_parse(const http_in_t *in, render_request_t *rq, char *err, size_t errlen) {
    request_defaults(rq, DIALECT_RAW, 768, 512);
    cJSON *root = json_object_body(in, err, errlen);
    if (!root) return -1;
    char size[32] = "768x512";
    static const char *const known[] = {"prompt", "seed", "size", "model", "guidance", "negative_prompt", "mistake", NULL};
    const cJSON *bad = unknown_member(root, known);
    int rc = bad ? refuse(rq, bad->string, NULL, err, errlen, "%.60s: expected one of prompt, seed, size, model, "
                          "guidance, negative_prompt, found an unknown field", bad->string)
                 : get_str(root, "model", false, rq->model, sizeof rq->model, err, errlen);
    if (!rc) rc = get_str(root, "prompt", true, rq->prompt, sizeof rq->prompt, err, errlen);
    if (!rc) rc = get_seed(root, "seed", false, rq, err, errlen);
    if (!rc) rc = get_str(root, "size", false, size, sizeof size, err, errlen);
    if (!rc) rc = parse_wxh("size", size, rq, err, errlen);
    if (!rc) rc = get_guidance(root, "guidance", &rq->guidance, err, errlen);
    if (!rc) rc = get_mistake(root, "mistake", rq, err, errlen);
    cJSON_Delete(root);
    return rc;
}

static void raw_image(const render_request_t *rq, const image_t *img, reply_t *out) {
    (void)rq;
    reply_png(out, img);
}

static void raw_error_coded(int status, const char *message, const char *code, reply_t *out) {
    if (!code)
        code = status == 400 ? "bad_request" : status == 404 ? "not_found"
             : status == 405 ? "method_not_allowed" : status == 413 ? "payload_too_large"
             : status == 429 ? "rate_limited" : status >= 500 ? "server_error" : "error";
    cJSON *root = cJSON_CreateObject();
    cJSON *e = add_obj(root, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    reply_json(out, status, root);
}

static void raw_error(int status, const char *message, reply_t *out) {
    raw_error_coded(status, message, NULL, out);
}

static void raw_invalid(const render_request_t *rq, const char *message, reply_t *out) {
    (void)rq;
    raw_error_coded(400, message, NULL, out);
}

static void raw_safety(const render_request_t *rq, reply_t *out) {
    (void)rq;
    raw_error_coded(400, "the prompt was refused by the safety filter", "content_filtered", out);
}

static void raw_garbage(const render_request_t *rq, unsigned variant, reply_t *out) {
    (void)rq;
    garbage_png(out, variant);
}

/* ==== Stability AI v2beta ==== */

typedef struct {
    char name[64];
    const char *value; /* not NUL-terminated */
    size_t len;
} form_field_t;

/* The boundary parameter of a multipart/form-data Content-Type, into b. */
static int multipart_boundary(const char *content_type, char *b, size_t blen) {
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19)) return -1;
    const char *p = strcasestr(content_type, "boundary=");
    if (!p) return -1;
    p += 9;
    bool quoted = *p == '"';
    if (quoted) p++;
    size_t n = 0;
    while (p[n] && (quoted ? p[n] != '"' : p[n] != ';' && p[n] != ' ') && n + 1 < blen) n++;
    if (n == 0 || n > 70) return -1;
    memcpy(b, p, n);
    b[n] = '\0';
    return 0;
}

/* Splits a multipart/form-data body into its fields (file parts included, by name).
 * Returns the number of fields, or -1 with err. */
static int multipart_parse(const http_in_t *in, form_field_t *fields, int max, char *err,
                           size_t errlen) {
    char boundary[80], delim[96];
    if (multipart_boundary(in->content_type, boundary, sizeof boundary)) {
        snprintf(err, errlen, "Content-Type: expected multipart/form-data with a boundary, found "
                 "\"%.60s\"", in->content_type ? in->content_type : "nothing");
        return -1;
    }
    size_t dlen = (size_t)snprintf(delim, sizeof delim, "--%s", boundary);
    const char *body = in->body, *end = in->body + in->body_len;
    const char *p = memmem(body, in->body_len, delim, dlen);
    int n = 0;
    if (!p) goto malformed;
    for (;;) {
        p += dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return n; /* closing delimiter */
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;
        else if (end - p >= 1 && p[0] == '\n') p += 1;
        else goto malformed;
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        size_t hsep = 4;
        if (!hend) {
            hend = memmem(p, (size_t)(end - p), "\n\n", 2);
            hsep = 2;
        }
        if (!hend) goto malformed;
        /* name="..." from the Content-Disposition header */
        char name[64] = "";
        for (const char *h = p; h < hend;) {
            const char *eol = memchr(h, '\n', (size_t)(hend - h));
            if (!eol) eol = hend;
            if ((size_t)(eol - h) > 20 && !strncasecmp(h, "content-disposition:", 20)) {
                const char *nm = h;
                while (nm + 6 <= eol && strncmp(nm, "name=\"", 6)) nm++;
                if (nm + 6 <= eol && (nm == h || nm[-1] == ' ' || nm[-1] == ';')) {
                    nm += 6;
                    const char *q = memchr(nm, '"', (size_t)(eol - nm));
                    if (q && (size_t)(q - nm) < sizeof name) {
                        memcpy(name, nm, (size_t)(q - nm));
                        name[q - nm] = '\0';
                    }
                }
            }
            h = eol + 1;
        }
        const char *value = hend + hsep;
        char next[100];
        size_t nlen = (size_t)snprintf(next, sizeof next, "\r\n%s", delim);
        const char *vend = memmem(value, (size_t)(end - value), next, nlen);
        if (!vend) {
            vend = memmem(value, (size_t)(end - value), next + 1, nlen - 1); /* bare \n */
            if (!vend) goto malformed;
            nlen -= 1;
        }
        if (!name[0]) {
            snprintf(err, errlen, "multipart part %d: expected a Content-Disposition header with "
                     "name=\"...\"", n + 1);
            return -1;
        }
        if (n >= max) {
            snprintf(err, errlen, "multipart body: expected at most %d fields", max);
            return -1;
        }
        snprintf(fields[n].name, sizeof fields[n].name, "%s", name);
        fields[n].value = value;
        fields[n].len = (size_t)(vend - value);
        n++;
        p = vend + nlen - dlen;
    }
malformed:
    snprintf(err, errlen, "multipart body: expected parts separated by \"--%s\" and a closing "
             "\"--%s--\", found a malformed body of %zu bytes", boundary, boundary, in->body_len);
    return -1;
}

static const form_field_t *form_get(const form_field_t *f, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name)) return &f[i];
    return NULL;
}

/* A text field into dst (NUL-terminated); -1 with err when too long or binary. */
static int form_str(const form_field_t *f, int n, const char *name, char *dst, size_t dstlen,
                    char *err, size_t errlen) {
    const form_field_t *v = form_get(f, n, name);
    if (!v) return 0;
    if (v->len >= dstlen || memchr(v->value, '\0', v->len)) {
        snprintf(err, errlen, "%s: expected text of at most %zu bytes, found %zu bytes%s", name,
                 dstlen - 1, v->len, memchr(v->value, '\0', v->len) ? " with NUL bytes" : "");
        return -1;
    }
    memcpy(dst, v->value, v->len);
    dst[v->len] = '\0';
    return 0;
}

static const char *const STABILITY_RATIOS[] = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                               "4:5",  "5:4", "9:16", "9:21", NULL};

static bool in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(s, *list)) return true;
    return false;
}

/* Reference: Stability AI REST API reference, POST /v2beta/stable-image/generate/sd3
 * (platform.stability.ai/docs/api-reference), read 2026-12-02: multipart fields prompt
 * (1..10000 characters), mode (text-to-image here), aspect_ratio, model (sd3.5-large,
 * sd3.5-large-turbo, sd3.5-medium, sd3.5-flash), seed 0..4294967294, output_format,
 * style_preset, negative_prompt (not for turbo models), cfg_scale 1..10. Other fields,
 * values outside those and image-to-image (image, strength: not drawn here) get 400
 * {"id","name":"bad_request","errors":[...]}. "mistake" is the eval/test extension. */
static const char *const STABILITY_FIELDS[] = {"prompt", "mode", "aspect_ratio", "model", "seed", "output_format",
                                               "style_preset", "negative_prompt", "cfg_scale", "mistake", NULL};
static const char *const STABILITY_MODELS[] = {"sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash", NULL};
static const char *const STABILITY_STYLES[] = {"3d-model", "analog-film", "anime", "cinematic", "comic-book",
                                               "digital-art", "enhance", "fantasy-art", "isometric", "line-art",
                                               "low-poly", "modeling-compound", "neon-punk", "origami",
                                               "photographic", "pixel-art", "tile-texture", NULL};

static int stability_parse(const http_in_t *in, render_request_t *rq, char *err, size_t errlen) {
    request_defaults(rq, DIALECT_STABILITY, 512, 512);
    rq->accept_json = in->accept && strstr(in->accept, "application/json");
    form_field_t f[32];
    int n = multipart_parse(in, f, 32, err, errlen);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (!in_list(f[i].name, STABILITY_FIELDS))
            return refuse(rq, f[i].name, NULL, err, errlen, "%.60s: unrecognized field; expected one of prompt, mode, "
                          "aspect_ratio, model, seed, output_format, style_preset, negative_prompt, cfg_scale", f[i].name);
        for (int j = 0; j < i; j++)
            if (!strcmp(f[i].name, f[j].name))
                return refuse(rq, f[i].name, NULL, err, errlen, "%.60s: expected once, found twice", f[i].name);
    }
    char seed[32] = "", cfg[32] = "", format[16] = "png", mistake[32] = "", mode[32] = "text-to-image",
         style[32] = "", negative[MAX_PROMPT_BYTES + 1] = "";
    snprintf(rq->aspect_ratio, sizeof rq->aspect_ratio, "1:1");
    if (form_str(f, n, "prompt", rq->prompt, sizeof rq->prompt, err, errlen) ||
        form_str(f, n, "model", rq->model, sizeof rq->model, err, errlen) ||
        form_str(f, n, "seed", seed, sizeof seed, err, errlen) ||
        form_str(f, n, "aspect_ratio", rq->aspect_ratio, sizeof rq->aspect_ratio, err, errlen) ||
        form_str(f, n, "output_format", format, sizeof format, err, errlen) ||
        form_str(f, n, "cfg_scale", cfg, sizeof cfg, err, errlen) ||
        form_str(f, n, "mode", mode, sizeof mode, err, errlen) ||
        form_str(f, n, "style_preset", style, sizeof style, err, errlen) ||
        form_str(f, n, "negative_prompt", negative, sizeof negative, err, errlen) ||
        form_str(f, n, "mistake", mistake, sizeof mistake, err, errlen))
        return -1;
    if (!form_get(f, n, "prompt") || !rq->prompt[0]) {
        snprintf(err, errlen, "prompt: expected a non-empty form field, found %s",
                 form_get(f, n, "prompt") ? "an empty one" : "nothing");
        return -1;
    }
    if (!rq->model[0]) snprintf(rq->model, sizeof rq->model, "sd3.5-large"); /* the reference's default */
    if (!in_list(rq->model, STABILITY_MODELS)) {
        snprintf(err, errlen, "model: must be one of sd3.5-large, sd3.5-large-turbo, sd3.5-medium, sd3.5-flash, "
                 "found \"%.60s\"", rq->model);
        return -1;
    }
    if (strcmp(mode, "text-to-image")) {
        snprintf(err, errlen, "mode: expected \"text-to-image\" (image-to-image needs image and strength), found \"%.40s\"", mode);
        return -1;
    }
    if (style[0] && !in_list(style, STABILITY_STYLES)) {
        snprintf(err, errlen, "style_preset: expected one of the documented presets (3d-model ... tile-texture), found \"%.40s\"", style);
        return -1;
    }
    if (negative[0] && strstr(rq->model, "turbo")) {
        snprintf(err, errlen, "negative_prompt: not supported by %s", rq->model);
        return -1;
    }
    if (seed[0]) {
        char *end;
        unsigned long long s = strtoull(seed, &end, 10);
        if (*end || !isdigit((unsigned char)seed[0]) || s > 4294967294ULL) {
            snprintf(err, errlen, "seed: expected an integer from 0 to 4294967294, found \"%s\"", seed);
            return -1;
        }
        rq->seed = s;
    }
    if (!in_list(rq->aspect_ratio, STABILITY_RATIOS)) {
        snprintf(err, errlen, "aspect_ratio: expected one of 16:9, 1:1, 21:9, 2:3, 3:2, 4:5, 5:4, "
                 "9:16, 9:21, found \"%s\"", rq->aspect_ratio);
        return -1;
    }
    size_from_aspect(rq->aspect_ratio, &rq->width, &rq->height);
    if (strcmp(format, "png")) {
        snprintf(err, errlen, "output_format: expected \"png\" (this endpoint encodes PNG only; the API also "
                 "takes jpeg), found \"%s\"", format);
        return -1;
    }
    if (cfg[0]) {
        char *end;
        double g = strtod(cfg, &end);
        if (*end || !(g >= 1) || g > 10) {
            snprintf(err, errlen, "cfg_scale: must be a number from 1 to 10, found \"%s\"", cfg);
            return -1;
        }
        rq->guidance = g;
    }
    if (mistake[0] && set_mistake(mistake, "mistake", rq, err, errlen)) return -1;
    return 0;
}

static void stability_invalid(const render_request_t *rq, const char *message, reply_t *out);

static void stability_json_image(const render_request_t *rq, const char *b64, const char *reason,
                                 reply_t *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "image", b64 ? b64 : "");
    cJSON_AddStringToObject(root, "finish_reason", reason);
    cJSON_AddNumberToObject(root, "seed", (double)rq->seed);
    reply_json(out, 200, root);
}

static void stability_image(const render_request_t *rq, const image_t *img, reply_t *out) {
    if (rq->accept_json) stability_json_image(rq, img->b64, "SUCCESS", out);
    else reply_png(out, img);
    reply_headerf(out, "seed", "%llu", (unsigned long long)rq->seed);
    reply_header(out, "finish-reason", "SUCCESS");
}

static void stability_error(int status, const char *message, reply_t *out) {
    const char *name = status == 400 ? "bad_request" : status == 403 ? "content_moderation"
                     : status == 404 ? "not_found" : status == 405 ? "method_not_allowed"
                     : status == 413 ? "payload_too_large" : status == 429 ? "rate_limit_exceeded"
                     : status >= 500 ? "internal_error" : "error";
    char id[33];
    unsigned long long a = (unsigned long long)time(NULL) * 2654435761ULL ^ (unsigned long long)rand();
    snprintf(id, sizeof id, "%016llx%016llx", a, a * 0x9e3779b97f4a7c15ULL);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "name", name);
    cJSON *errors = cJSON_AddArrayToObject(root, "errors");
    cJSON_AddItemToArray(errors, cJSON_CreateString(message));
    reply_json(out, status, root);
}

static void stability_invalid(const render_request_t *rq, const char *message, reply_t *out) {
    (void)rq;
    stability_error(400, message, out);
}

static void stability_safety(const render_request_t *rq, reply_t *out) {
    image_t img = filtered_image(rq);
    if (!img.png || !img.b64) {
        image_free(&img);
        stability_error(500, "could not draw the filtered image", out);
        return;
    }
    if (rq->accept_json) stability_json_image(rq, img.b64, "CONTENT_FILTERED", out);
    else reply_png(out, &img);
    reply_headerf(out, "seed", "%llu", (unsigned long long)rq->seed);
    reply_header(out, "finish-reason", "CONTENT_FILTERED");
    image_free(&img);
}

static void stability_garbage(const render_request_t *rq, unsigned variant, reply_t *out) {
    if (rq->accept_json) garbage_json(out, variant, "{\"finish_reason\":\"SUCCESS\",\"image\":\"", "\"}");
    else garbage_png(out, variant);
    reply_header(out, "finish-reason", "SUCCESS");
}

/* ==== AUTOMATIC1111 / Forge ==== */

/* Reference: the webui's API model for POST /sdapi/v1/txt2img
 * (StableDiffusionTxt2ImgProcessingAPI in modules/api/models.py, from
 * StableDiffusionProcessingTxt2Img; AUTOMATIC1111/stable-diffusion-webui v1.10), read
 * 2026-12-02. A member of the wrong type gets FastAPI's 422 {"detail":[{"loc":["body",
 * NAME],"msg","type"}]}. Stricter than the webui, which ignores members it does not
 * know: those get 422 type value_error.extra, so a drifting client is caught. The
 * webui's own UI ranges bound cfg_scale (1..30), steps (1..150) and the size (64..2048);
 * it draws multiples of 8 (the latent is 1/8 of the image), as here. One image per
 * request (batch_size, n_iter 1); hires fix, scripts and image saving are not drawn. */
static const char *const A1111_KEYS[] = {
    "prompt", "negative_prompt", "styles", "seed", "subseed", "subseed_strength", "seed_resize_from_h",
    "seed_resize_from_w", "sampler_name", "sampler_index", "scheduler", "batch_size", "n_iter", "steps", "cfg_scale",
    "width", "height", "restore_faces", "tiling", "do_not_save_samples", "do_not_save_grid", "eta",
    "denoising_strength", "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise", "override_settings",
    "override_settings_restore_afterwards", "refiner_checkpoint", "refiner_switch_at", "disable_extra_networks",
    "firstpass_image", "comments", "enable_hr", "firstphase_width", "firstphase_height", "hr_scale", "hr_upscaler",
    "hr_second_pass_steps", "hr_resize_x", "hr_resize_y", "hr_checkpoint_name", "hr_sampler_name", "hr_scheduler",
    "hr_prompt", "hr_negative_prompt", "force_task_id", "script_name", "script_args", "send_images", "save_images",
    "alwayson_scripts", "infotext", "mistake", NULL};

/* Checks the type of every member the reference types (pydantic's coercions aside). */
static int a1111_types(const cJSON *root, render_request_t *rq, char *err, size_t errlen) {
    static const char *const strings[] = {"prompt", "negative_prompt", "sampler_name", "sampler_index", "scheduler",
                                          "refiner_checkpoint", "hr_upscaler", "hr_checkpoint_name", "hr_sampler_name",
                                          "hr_scheduler", "hr_prompt", "hr_negative_prompt", "force_task_id",
                                          "script_name", "infotext", "firstpass_image", NULL};
    static const char *const ints[] = {"seed", "subseed", "seed_resize_from_h", "seed_resize_from_w", "batch_size",
                                       "n_iter", "steps", "width", "height", "firstphase_width", "firstphase_height",
                                       "hr_second_pass_steps", "hr_resize_x", "hr_resize_y", NULL};
    static const char *const numbers[] = {"subseed_strength", "cfg_scale", "eta", "denoising_strength", "s_min_uncond",
                                          "s_churn", "s_tmax", "s_tmin", "s_noise", "refiner_switch_at", "hr_scale", NULL};
    static const char *const bools[] = {"restore_faces", "tiling", "do_not_save_samples", "do_not_save_grid",
                                        "override_settings_restore_afterwards", "disable_extra_networks", "enable_hr",
                                        "send_images", "save_images", NULL};
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        if (cJSON_IsNull(it)) continue;
        const char *k = it->string, *type = NULL, *msg = NULL;
        if (in_list(k, strings) && !cJSON_IsString(it)) type = "type_error.str", msg = "str type expected";
        else if (in_list(k, ints) && (!cJSON_IsNumber(it) || it->valuedouble != (double)(long long)it->valuedouble))
            type = "type_error.integer", msg = "value is not a valid integer";
        else if (in_list(k, numbers) && !cJSON_IsNumber(it)) type = "type_error.float", msg = "value is not a valid float";
        else if (in_list(k, bools) && !cJSON_IsBool(it)) type = "type_error.bool", msg = "value could not be parsed to a boolean";
        else if ((!strcmp(k, "override_settings") || !strcmp(k, "alwayson_scripts") || !strcmp(k, "comments")) &&
                 !cJSON_IsObject(it))
            type = "type_error.dict", msg = "value is not a valid dict";
        else if ((!strcmp(k, "styles") || !strcmp(k, "script_args")) && !cJSON_IsArray(it))
            type = "type_error.list", msg = "value is not a valid list";
        if (type) return refuse(rq, k, type, err, errlen, "%s", msg);
    }
    return 0;
}

/* A number member within [lo, hi] (the UI's range), else 422 value_error.number. */
static int a1111_range(const cJSON *root, const char *key, double lo, double hi, double *dst, render_request_t *rq,
                       char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsNumber(v)) return 0;
    if (v->valuedouble < lo || v->valuedouble > hi)
        return refuse(rq, key, "value_error.number.not_in_range", err, errlen,
                      "ensure this value is from %g to %g", lo, hi);
    *dst = v->valuedouble;
    return 0;
}

static int a1111_parse(const http_in_t *in, render_request_t *rq, char *err, size_t errlen) {
    request_defaults(rq, DIALECT_A1111, 512, 512);
    cJSON *root = json_object_body(in, err, errlen);
    if (!root) return -1;
    double w = 512, h = 512, steps = 20, batch = 1, iters = 1;
    int rc = 0;
    const cJSON *bad = unknown_member(root, A1111_KEYS);
    if (bad) rc = refuse(rq, bad->string, "value_error.extra", err, errlen, "extra fields not permitted");
    if (!rc) rc = a1111_types(root, rq, err, errlen);
    if (!rc) rc = get_str(root, "prompt", true, rq->prompt, sizeof rq->prompt, err, errlen);
    if (!rc) rc = get_seed(root, "seed", true, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "width", 64, 2048, &w, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "height", 64, 2048, &h, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "steps", 1, 150, &steps, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "cfg_scale", 1, 30, &rq->guidance, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "batch_size", 1, 1, &batch, rq, err, errlen);
    if (!rc) rc = a1111_range(root, "n_iter", 1, 1, &iters, rq, err, errlen);
    if (!rc && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "enable_hr")))
        rc = refuse(rq, "enable_hr", "value_error.const", err, errlen, "hires fix is not drawn by this endpoint");
    if (!rc) rc = get_mistake(root, "mistake", rq, err, errlen);
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(root, "override_settings");
    if (!rc && ov && !cJSON_IsNull(ov))
        rc = get_str(ov, "sd_model_checkpoint", false, rq->model, sizeof rq->model, err, errlen);
    rq->width = (int)w / 8 * 8;
    rq->height = (int)h / 8 * 8;
    rq->steps = (int)steps;
    cJSON_Delete(root);
    return rc;
}

/* FastAPI's validation error: 422 {"detail":[{"loc":["body",NAME],"msg","type"}]}. */
static void a1111_invalid(const render_request_t *rq, const char *message, reply_t *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON *detail = cJSON_AddArrayToObject(root, "detail");
    cJSON *d = cJSON_CreateObject();
    cJSON *loc = cJSON_AddArrayToObject(d, "loc");
    cJSON_AddItemToArray(loc, cJSON_CreateString("body"));
    if (rq->bad_param[0]) cJSON_AddItemToArray(loc, cJSON_CreateString(rq->bad_param));
    cJSON_AddStringToObject(d, "msg", message);
    cJSON_AddStringToObject(d, "type", rq->bad_code[0] ? rq->bad_code : "value_error");
    cJSON_AddItemToArray(detail, d);
    reply_json(out, 422, root);
}

/* {"images":[b64],"parameters":{the request},"info":"<json string>"}; nsfw marks the
 * safety-filter answer (a black image), as the NSFW-filter extensions do. */
static void a1111_reply(const render_request_t *rq, const char *b64, const char *model, bool nsfw,
                        reply_t *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON *images = cJSON_AddArrayToObject(root, "images");
    cJSON_AddItemToArray(images, cJSON_CreateString(b64 ? b64 : ""));
    cJSON *p = add_obj(root, "parameters");
    cJSON_AddStringToObject(p, "prompt", rq->prompt);
    cJSON_AddNumberToObject(p, "seed", (double)rq->seed);
    cJSON_AddNumberToObject(p, "width", rq->width);
    cJSON_AddNumberToObject(p, "height", rq->height);
    cJSON_AddNumberToObject(p, "cfg_scale", rq->guidance);
    cJSON_AddNumberToObject(p, "steps", rq->steps);
    cJSON_AddStringToObject(add_obj(p, "override_settings"), "sd_model_checkpoint", model);
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "prompt", rq->prompt);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(info, "all_prompts"), cJSON_CreateString(rq->prompt));
    cJSON_AddNumberToObject(info, "seed", (double)rq->seed);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(info, "all_seeds"), cJSON_CreateNumber((double)rq->seed));
    cJSON_AddNumberToObject(info, "width", rq->width);
    cJSON_AddNumberToObject(info, "height", rq->height);
    cJSON_AddNumberToObject(info, "cfg_scale", rq->guidance);
    cJSON_AddNumberToObject(info, "steps", rq->steps);
    cJSON_AddStringToObject(info, "sd_model_name", model);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(info, "nsfw_content_detected"), cJSON_CreateBool(nsfw));
    char *info_text = cJSON_PrintUnformatted(info);
    cJSON_Delete(info);
    cJSON_AddStringToObject(root, "info", info_text ? info_text : "{}");
    free(info_text);
    reply_json(out, 200, root);
}

static void a1111_image(const render_request_t *rq, const image_t *img, reply_t *out) {
    a1111_reply(rq, img->b64, rq->model, false, out);
}

static void a1111_error(int status, const char *message, reply_t *out) {
    const char *name = status == 400 ? "BadRequest" : status == 404 ? "NotFound"
                     : status == 405 ? "MethodNotAllowed" : status == 413 ? "PayloadTooLarge"
                     : status == 429 ? "TooManyRequests" : status >= 500 ? "RuntimeError"
                     : "HTTPException";
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "error", name);
    cJSON_AddStringToObject(root, "detail", message);
    cJSON_AddStringToObject(root, "body", "");
    cJSON_AddStringToObject(root, "errors", message);
    reply_json(out, status, root);
}

static void a1111_safety(const render_request_t *rq, reply_t *out) {
    image_t img = filtered_image(rq);
    if (!img.b64) a1111_error(500, "could not draw the filtered image", out);
    else a1111_reply(rq, img.b64, rq->model, true, out);
    image_free(&img);
}

static void a1111_garbage(const render_request_t *rq, unsigned variant, reply_t *out) {
    (void)rq;
    garbage_json(out, variant, "{\"images\":[\"", "\"],\"parameters\":{},\"info\":\"{}\"}");
}

/* ==== Vertex AI Imagen ==== */

static const char *const VERTEX_RATIOS[] = {"1:1", "3:4", "4:3", "9:16", "16:9", NULL};

/* One non-empty path segment of at most `max` bytes, no '/', ending at `stop`. */
static const char *segment(const char *p, char stop, char *dst, size_t max) {
    size_t n = 0;
    while (p[n] && p[n] != stop && p[n] != '/') n++;
    if (n == 0 || n >= max || p[n] != stop) return NULL;
    if (dst) {
        memcpy(dst, p, n);
        dst[n] = '\0';
    }
    return p + n + 1;
}

/* /v1/projects/P/locations/L/publishers/google/models/M:predict -> M; 0 or -1. */
static int vertex_model(const char *url, char *model, size_t len) {
    const char *p = url;
    if (strncmp(p, "/v1/projects/", 13)) return -1;
    if (!(p = segment(p + 13, '/', NULL, 256))) return -1;
    if (strncmp(p, "locations/", 10)) return -1;
    if (!(p = segment(p + 10, '/', NULL, 256))) return -1;
    if (strncmp(p, "publishers/google/models/", 25)) return -1;
    if (!(p = segment(p + 25, ':', model, len))) return -1;
    return strcmp(p, "predict") ? -1 : 0;
}

/* Reference: Vertex AI Imagen API model reference (generate images: instances[].prompt,
 * parameters sampleCount, seed, aspectRatio, addWatermark, negativePrompt,
 * personGeneration, safetySetting, enhancePrompt, language, sampleImageSize,
 * includeRaiReason, includeSafetyAttributes, outputOptions, storageUri), read 2026-12-02.
 * Anything else, a value outside the documented ones, a seed while watermarking (the
 * default: the reference says the seed needs addWatermark false) and negativePrompt on
 * models that do not take it (imagen-3.0-generate-002, imagen-4.*) get 400
 * {"error":{"code":400,"message","status":"INVALID_ARGUMENT"}}. "mistake" (in
 * parameters) is the eval/test extension. */
static const char *const VERTEX_PARAMS[] = {"sampleCount", "seed", "aspectRatio", "addWatermark", "negativePrompt",
                                            "personGeneration", "safetySetting", "enhancePrompt", "language",
                                            "sampleImageSize", "includeRaiReason", "includeSafetyAttributes",
                                            "outputOptions", "storageUri", "mistake", NULL};

static int vertex_enum(const cJSON *par, const char *key, const char *const *list, render_request_t *rq, char *err,
                       size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(par, key);
    char l[256];
    if (v && !(cJSON_IsString(v) && in_list(v->valuestring, list)))
        return refuse(rq, key, NULL, err, errlen, "parameters.%s: expected one of %s", key, quoted_list(list, l, sizeof l));
    return 0;
}

static int vertex_bool(const cJSON *par, const char *key, render_request_t *rq, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(par, key);
    if (v && !cJSON_IsBool(v))
        return refuse(rq, key, NULL, err, errlen, "Invalid value at 'parameters.%s' (TYPE_BOOL)", key);
    return 0;
}

static int vertex_parse(const http_in_t *in, render_request_t *rq, char *err, size_t errlen) {
    request_defaults(rq, DIALECT_VERTEX, 512, 512);
    if (vertex_model(in->url, rq->model, sizeof rq->model)) {
        snprintf(err, errlen, "path: expected /v1/projects/P/locations/L/publishers/google/models/"
                 "MODEL:predict with a model name under 64 bytes");
        return -1;
    }
    snprintf(rq->vertex_path, sizeof rq->vertex_path, "%.500s", in->url + 4);
    *strrchr(rq->vertex_path, ':') = '\0';
    cJSON *root = json_object_body(in, err, errlen);
    if (!root) return -1;
    int rc = 0;
    static const char *const top[] = {"instances", "parameters", NULL}, *const inst_keys[] = {"prompt", NULL};
    const cJSON *bad = unknown_member(root, top);
    if (bad) rc = refuse(rq, bad->string, NULL, err, errlen,
                         "Invalid JSON payload received. Unknown name \"%.60s\": Cannot find field.", bad->string);
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(root, "instances");
    if (!rc && (!cJSON_IsArray(inst) || cJSON_GetArraySize(inst) != 1 || !cJSON_IsObject(cJSON_GetArrayItem(inst, 0))))
        rc = field_error(err, errlen, "instances", "an array of one object {\"prompt\": ...}", inst);
    if (!rc && (bad = unknown_member(cJSON_GetArrayItem(inst, 0), inst_keys)))
        rc = refuse(rq, bad->string, NULL, err, errlen,
                    "instances[0].%.60s: not a field of a text-to-image instance (expected prompt)", bad->string);
    if (!rc) rc = get_str(cJSON_GetArrayItem(inst, 0), "prompt", true, rq->prompt, sizeof rq->prompt, err, errlen);
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    snprintf(rq->aspect_ratio, sizeof rq->aspect_ratio, "1:1");
    if (!rc && par && !cJSON_IsObject(par))
        rc = field_error(err, errlen, "parameters", "an object", par);
    if (!rc && par && (bad = unknown_member(par, VERTEX_PARAMS)))
        rc = refuse(rq, bad->string, NULL, err, errlen,
                    "Invalid JSON payload received. Unknown name \"%.60s\" at 'parameters': Cannot find field.",
                    bad->string);
    if (!rc && par) {
        long long count = 1;
        rc = get_int(par, "sampleCount", 1, 4, &count, err, errlen);
        if (!rc && count != 1) {
            snprintf(err, errlen, "parameters.sampleCount: expected 1 (this endpoint draws one "
                     "image per request), found %lld", count);
            rc = -1;
        }
        if (!rc) rc = get_seed(par, "seed", false, rq, err, errlen);
        if (!rc) rc = get_str(par, "aspectRatio", false, rq->aspect_ratio, sizeof rq->aspect_ratio,
                              err, errlen);
        if (!rc && !in_list(rq->aspect_ratio, VERTEX_RATIOS)) {
            snprintf(err, errlen, "parameters.aspectRatio: expected one of 1:1, 3:4, 4:3, 9:16, "
                     "16:9, found \"%s\"", rq->aspect_ratio);
            rc = -1;
        }
        static const char *const persons[] = {"dont_allow", "allow_adult", "allow_all", NULL};
        static const char *const safety[] = {"block_low_and_above", "block_medium_and_above", "block_only_high",
                                             "block_none", "block_most", "block_some", "block_few", "block_fewest", NULL};
        static const char *const langs[] = {"auto", "en", "zh", "zh-CN", "zh-TW", "hi", "ja", "ko", "pt", "es", NULL};
        static const char *const sizes[] = {"1K", "2K", NULL};
        if (!rc) rc = vertex_enum(par, "personGeneration", persons, rq, err, errlen);
        if (!rc) rc = vertex_enum(par, "safetySetting", safety, rq, err, errlen);
        if (!rc) rc = vertex_enum(par, "language", langs, rq, err, errlen);
        if (!rc) rc = vertex_enum(par, "sampleImageSize", sizes, rq, err, errlen);
        static const char *const bools[] = {"addWatermark", "enhancePrompt", "includeRaiReason",
                                            "includeSafetyAttributes", NULL};
        for (const char *const *b = bools; !rc && *b; b++) rc = vertex_bool(par, *b, rq, err, errlen);
        const cJSON *wm = cJSON_GetObjectItemCaseSensitive(par, "addWatermark");
        if (!rc && cJSON_GetObjectItemCaseSensitive(par, "seed") && !cJSON_IsFalse(wm))
            rc = refuse(rq, "seed", NULL, err, errlen,
                        "parameters.seed: Seed is not supported when addWatermark is enabled (set addWatermark false)");
        const cJSON *neg = cJSON_GetObjectItemCaseSensitive(par, "negativePrompt");
        if (!rc && neg && !cJSON_IsString(neg)) rc = field_error(err, errlen, "parameters.negativePrompt", "a string", neg);
        if (!rc && neg && (!strncmp(rq->model, "imagen-4", 8) || !strcmp(rq->model, "imagen-3.0-generate-002")))
            rc = refuse(rq, "negativePrompt", NULL, err, errlen,
                        "parameters.negativePrompt: negative prompts are not supported by %s", rq->model);
        const cJSON *oo = cJSON_GetObjectItemCaseSensitive(par, "outputOptions");
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(oo, "mimeType");
        if (!rc && oo && (!cJSON_IsObject(oo) || (mt && !(cJSON_IsString(mt) && !strcmp(mt->valuestring, "image/png")))))
            rc = refuse(rq, "outputOptions", NULL, err, errlen,
                        "parameters.outputOptions: expected {\"mimeType\": \"image/png\"} (this endpoint encodes PNG only)");
        if (!rc && cJSON_GetObjectItemCaseSensitive(par, "storageUri"))
            rc = refuse(rq, "storageUri", NULL, err, errlen, "parameters.storageUri: this endpoint has no Cloud Storage");
        if (!rc) rc = get_mistake(par, "mistake", rq, err, errlen);
    }
    if (!rc) size_from_aspect(rq->aspect_ratio, &rq->width, &rq->height);
    cJSON_Delete(root);
    return rc;
}

static void vertex_invalid(const render_request_t *rq, const char *message, reply_t *out);

static void vertex_image(const render_request_t *rq, const image_t *img, reply_t *out) {
    (void)rq;
    cJSON *root = cJSON_CreateObject();
    cJSON *preds = cJSON_AddArrayToObject(root, "predictions");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "bytesBase64Encoded", img->b64);
    cJSON_AddStringToObject(p, "mimeType", "image/png");
    cJSON_AddItemToArray(preds, p);
    reply_json(out, 200, root);
}

static void vertex_error(int status, const char *message, reply_t *out) {
    const char *name = status == 400 || status == 413 ? "INVALID_ARGUMENT"
                     : status == 401 ? "UNAUTHENTICATED" : status == 403 ? "PERMISSION_DENIED"
                     : status == 404 ? "NOT_FOUND" : status == 405 ? "METHOD_NOT_ALLOWED"
                     : status == 429 ? "RESOURCE_EXHAUSTED" : status == 503 ? "UNAVAILABLE"
                     : status == 504 ? "DEADLINE_EXCEEDED" : status >= 500 ? "INTERNAL" : "UNKNOWN";
    cJSON *root = cJSON_CreateObject();
    cJSON *e = add_obj(root, "error");
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "status", name);
    reply_json(out, status, root);
}

static void vertex_invalid(const render_request_t *rq, const char *message, reply_t *out) {
    (void)rq;
    vertex_error(400, message, out);
}

static void vertex_safety(const render_request_t *rq, reply_t *out) {
    (void)rq;
    cJSON *root = cJSON_CreateObject();
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "raiFilteredReason",
                            "Unable to show generated images. All images were filtered out because "
                            "they violated Vertex AI's usage guidelines.");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "predictions"), p);
    reply_json(out, 200, root);
}

static void vertex_garbage(const render_request_t *rq, unsigned variant, reply_t *out) {
    (void)rq;
    garbage_json(out, variant, "{\"predictions\":[{\"mimeType\":\"image/png\",\"bytesBase64Encoded\":\"",
                 "\"}]}");
}

/* ==== The table ==== */

/* One dialect per provider adapter (base/providers.h): a provider added there needs
 * its API here too, or the reference renderer cannot stand in for it. */
_Static_assert(DIALECT_VERTEX + 1 == PROVIDER_COUNT, "one renderer dialect per provider in base/providers.h");

const dialect_ops_t DIALECT_OPS[PROVIDER_COUNT] = {
    [DIALECT_OPENAI] = {"openai", openai_parse, openai_invalid, openai_image, openai_error, openai_safety,
                        openai_garbage},
    [DIALECT_RAW] = {"raw", raw_parse, raw_invalid, raw_image, raw_error, raw_safety, raw_garbage},
    [DIALECT_STABILITY] = {"stability", stability_parse, stability_invalid, stability_image, stability_error,
                           stability_safety, stability_garbage},
    [DIALECT_A1111] = {"a1111", a1111_parse, a1111_invalid, a1111_image, a1111_error, a1111_safety,
                       a1111_garbage},
    [DIALECT_VERTEX] = {"vertex", vertex_parse, vertex_invalid, vertex_image, vertex_error, vertex_safety,
                        vertex_garbage},
};

int dialect_route(const char *url) {
    if (!strcmp(url, "/v1/images/generations")) return DIALECT_OPENAI;
    if (!strcmp(url, "/render") || !strcmp(url, "/models/render")) return DIALECT_RAW;
    if (!strcmp(url, "/v2beta/stable-image/generate/sd3") ||
        !strcmp(url, "/v2beta/stable-image/generate/core") ||
        !strcmp(url, "/v2beta/stable-image/generate/ultra"))
        return DIALECT_STABILITY;
    if (!strcmp(url, "/sdapi/v1/txt2img")) return DIALECT_A1111;
    char model[64];
    if (!vertex_model(url, model, sizeof model)) return DIALECT_VERTEX;
    return -1;
}
