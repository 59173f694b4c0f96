/* provider_stability.c — Stability AI Stable Image (v2beta, SD3 family).
 *
 * Reference: Stability AI REST API reference, "Stable Diffusion 3.0 & 3.5"
 * (POST /v2beta/stable-image/generate/sd3, platform.stability.ai/docs/api-reference),
 * read 2026-12-02; the request schema we check against is
 * tests/contracts/stability.schema.json.
 *
 *   POST {base}/v2beta/stable-image/generate/sd3, multipart/form-data:
 *     prompt, model (Stability's id: provider_model), seed (0 .. 4294967294),
 *     aspect_ratio (the supported ratio nearest to WxH), output_format=png
 *     [, cfg_scale (1..10), negative_prompt, params...]; header Accept: image/[*]
 *   -> 200 PNG bytes, headers "seed" and "finish-reason" (SUCCESS | CONTENT_FILTERED)
 *   -> 4xx/5xx {"id","name","errors":["..."]}; name content_moderation is a safety refusal.
 * The image size is the provider's for that ratio (1:1 is 1024x1024), not WxH: the
 * verifier is told the ratio. Stronger guidance is cfg_scale clamped to the documented
 * 1..10; the negative prompt is not sent to turbo models, which the reference says
 * ignore it. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static const char *const stability_ratios[] = {"1:1", "16:9", "21:9", "2:3", "3:2", "4:5",
                                               "5:4", "9:16", "9:21", NULL};
static const char *const style_presets[] = {"3d-model", "analog-film", "anime", "cinematic", "comic-book",
                                            "digital-art", "enhance", "fantasy-art", "isometric", "line-art",
                                            "low-poly", "modeling-compound", "neon-punk", "origami",
                                            "photographic", "pixel-art", "tile-texture", NULL};

static const provider_param_t stability_params[] = {
    {"style_preset", PARAM_STRING, 0, 0, style_presets},
    {NULL, 0, 0, 0, NULL},
};

#define STABILITY_CFG_MIN 1.0
#define STABILITY_CFG_MAX 10.0

static int add_part(curl_mime *mime, const char *name, const char *value) {
    curl_mimepart *p = curl_mime_addpart(mime);
    if (!p) return -1;
    if (curl_mime_name(p, name) != CURLE_OK) return -1;
    return curl_mime_data(p, value, CURL_ZERO_TERMINATED) == CURLE_OK ? 0 : -1;
}

static int stability_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                           provider_request_t *req, char *err, size_t errlen) {
    snprintf(req->url, sizeof req->url, "%s/v2beta/stable-image/generate/sd3", t->base_url);
    req->mime = curl_mime_init(easy);
    const char *ratio = provider_nearest_ratio(r->width, r->height, stability_ratios);
    snprintf(req->sent.aspect_ratio, sizeof req->sent.aspect_ratio, "%s", ratio);
    req->sent.seed_sent = true;
    char seed[32], cfg[32] = "";
    snprintf(seed, sizeof seed, "%" PRIu32, provider_seed32(r->seed));
    if (r->guidance > 0) {
        double g = provider_clamp(r->guidance, STABILITY_CFG_MIN, STABILITY_CFG_MAX);
        snprintf(cfg, sizeof cfg, "%g", g);
        if (g != r->guidance) provider_note(&req->sent, "cfg_scale %g clamped to %g (Stability takes 1..10)", r->guidance, g);
    }
    bool turbo = strstr(t->provider_model, "turbo") != NULL;
    bool negative = r->negative_prompt && *r->negative_prompt;
    if (negative && turbo) provider_note(&req->sent, "negative prompt not sent: %s ignores it", t->provider_model);
    int rc = !req->mime || add_part(req->mime, "prompt", r->prompt) ||
             add_part(req->mime, "model", t->provider_model) || add_part(req->mime, "seed", seed) ||
             add_part(req->mime, "aspect_ratio", ratio) ||
             add_part(req->mime, "output_format", "png") ||
             (cfg[0] && add_part(req->mime, "cfg_scale", cfg)) ||
             (negative && !turbo && add_part(req->mime, "negative_prompt", r->negative_prompt));
    const cJSON *it;
    if (t->params) cJSON_ArrayForEach(it, t->params) {
        if (rc) break;
        char v[256];
        if (cJSON_IsString(it)) snprintf(v, sizeof v, "%s", it->valuestring);
        else if (cJSON_IsBool(it)) snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
        else snprintf(v, sizeof v, "%g", it->valuedouble);
        rc = add_part(req->mime, it->string, v);
    }
    if (!rc) rc = provider_header(req, "Accept", "image/*") || provider_bearer(req, t);
    if (rc) {
        snprintf(err, errlen, "stability: out of memory building the request");
        return -1;
    }
    return 0;
}

static void stability_parse(const provider_response_t *resp, provider_outcome_t *out) {
    if (resp->status < 200 || resp->status > 299) {
        cJSON *j = cJSON_ParseWithLength((const char *)resp->body, resp->body_len);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
        char msg[400] = "";
        size_t n = 0;
        if (cJSON_IsString(name)) n += (size_t)snprintf(msg, sizeof msg, "%s", name->valuestring);
        const cJSON *e;
        int i = 0;
        if (cJSON_IsArray(errors)) cJSON_ArrayForEach(e, errors) {
            if (!cJSON_IsString(e) || n >= sizeof msg) continue;
            n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s", i++ ? "; " : n ? ": " : "", e->valuestring);
        }
        provider_error_detail(out, resp, msg[0] ? msg : NULL);
        if (cJSON_IsString(name) && !strcmp(name->valuestring, "content_moderation"))
            snprintf(out->reason, sizeof out->reason, "safety_filtered");
        cJSON_Delete(j);
        return;
    }
    struct curl_header *h = NULL;
    if (curl_easy_header(resp->easy, "finish-reason", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
        strcmp(h->value, "SUCCESS")) {
        if (!strcmp(h->value, "CONTENT_FILTERED"))
            provider_fail(out, "safety_filtered", "%s: finish-reason CONTENT_FILTERED (the provider's safety filter refused the image)",
                          resp->model);
        else
            provider_fail(out, "bad_response", "%s: expected finish-reason SUCCESS or CONTENT_FILTERED, found \"%.64s\"",
                          resp->model, h->value);
        return;
    }
    provider_accept_png(out, resp->body, resp->body_len, resp->model, "response body");
}

const provider_t provider_stability = {
    .name = "stability",
    .build = stability_build,
    .parse = stability_parse,
    .default_base = NULL,
    .params = stability_params,
};
