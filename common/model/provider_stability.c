/* provider_stability.c — Stability AI Stable Image (v2beta, SD3 family).
 *
 *   POST {base}/v2beta/stable-image/generate/sd3, multipart/form-data:
 *     prompt, model, seed (0 .. 4294967294), aspect_ratio (the supported ratio nearest to
 *     WxH), output_format=png [, cfg_scale, negative_prompt]; header Accept: image/[*]
 *   -> 200 PNG bytes, headers "seed" and "finish-reason" (SUCCESS | CONTENT_FILTERED)
 *   -> 4xx/5xx {"id","name","errors":["..."]}; name content_moderation is a safety refusal.
 * The image size is the provider's for that ratio (1:1 is 1024x1024), not WxH. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static const char *const stability_ratios[] = {"1:1", "16:9", "21:9", "2:3", "3:2", "4:5",
                                               "5:4", "9:16", "9:21", NULL};

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
    char seed[32], cfg[32];
    snprintf(seed, sizeof seed, "%" PRIu32, provider_seed32(r->seed));
    snprintf(cfg, sizeof cfg, "%g", r->guidance);
    int rc = !req->mime || add_part(req->mime, "prompt", r->prompt) ||
             add_part(req->mime, "model", t->model) || add_part(req->mime, "seed", seed) ||
             add_part(req->mime, "aspect_ratio",
                      provider_nearest_ratio(r->width, r->height, stability_ratios)) ||
             add_part(req->mime, "output_format", "png") ||
             (r->guidance > 0 && add_part(req->mime, "cfg_scale", cfg)) ||
             (r->negative_prompt && *r->negative_prompt &&
              add_part(req->mime, "negative_prompt", r->negative_prompt)) ||
             provider_header(req, "Accept", "image/*") || provider_bearer(req, t);
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
};
