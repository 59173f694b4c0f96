/* provider_openai.c — the OpenAI Images API dialect.
 *
 * Reference: OpenAI API reference, "Create image" (POST /v1/images/generations),
 * CreateImageRequest in openai/openai-openapi (openapi.yaml), read 2026-12-02; the
 * request schema we check against is tests/contracts/openai.schema.json.
 *
 *   POST {base}/v1/images/generations
 *   {"model","prompt","n":1,"size":S[,"response_format":"b64_json"][, params...]}
 *   -> 200 {"created":..,"data":[{"b64_json":"..."}]}
 *   -> 4xx/5xx {"error":{"message","type","param","code"}}; code content_policy_violation
 *      is a safety refusal.
 *
 * What we map: the size to the model's nearest documented size (aspect first, then
 * area): dall-e-2 256x256 512x512 1024x1024; dall-e-3 1024x1024 1792x1024 1024x1792;
 * gpt-image-* 1024x1024 1536x1024 1024x1536; any other id (an OpenAI-compatible server)
 * the union of those. response_format b64_json only for dall-e-* and other ids (gpt-image
 * models always answer b64_json and refuse the field). The API takes no seed, guidance
 * or negative prompt: stronger guidance becomes prompt reinforcement, the negative
 * prompt an "Avoid: ..." sentence, and the result's note says the seed was not sent. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static const char *const sizes_dalle2[] = {"256x256", "512x512", "1024x1024", NULL};
static const char *const sizes_dalle3[] = {"1024x1024", "1792x1024", "1024x1792", NULL};
static const char *const sizes_gpt_image[] = {"1024x1024", "1536x1024", "1024x1536", NULL};
static const char *const sizes_any[] = {"256x256", "512x512", "1024x1024", "1536x1024", "1024x1536",
                                        "1792x1024", "1024x1792", NULL};

static bool is_gpt_image(const char *m) { return !strncmp(m, "gpt-image-", 10); }

const char *const *openai_sizes_for(const char *m) {
    if (!strcmp(m, "dall-e-2")) return sizes_dalle2;
    if (!strcmp(m, "dall-e-3")) return sizes_dalle3;
    if (is_gpt_image(m)) return sizes_gpt_image;
    return sizes_any;
}

static const char *const qualities[] = {"standard", "hd", "low", "medium", "high", "auto", NULL};
static const char *const styles[] = {"vivid", "natural", NULL};
static const char *const backgrounds[] = {"transparent", "opaque", "auto", NULL};
static const char *const moderations[] = {"low", "auto", NULL};
static const char *const formats[] = {"png", NULL}; /* we store PNG */

static const provider_param_t openai_params[] = {
    {"quality", PARAM_STRING, 0, 0, qualities},
    {"style", PARAM_STRING, 0, 0, styles},
    {"background", PARAM_STRING, 0, 0, backgrounds},
    {"moderation", PARAM_STRING, 0, 0, moderations},
    {"output_format", PARAM_STRING, 0, 0, formats},
    {"user", PARAM_STRING, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Which parameters which model family takes (the reference's per-model notes). */
static int openai_check_model(const provider_target_t *t, char *err, size_t errlen) {
    const char *m = t->provider_model;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(t->params, "quality");
    bool dalle = !strncmp(m, "dall-e-", 7), gpt = is_gpt_image(m);
    if (cJSON_IsString(q)) {
        const char *v = q->valuestring;
        bool dalle_q = !strcmp(v, "standard") || !strcmp(v, "hd");
        if ((gpt && dalle_q) || (!strcmp(m, "dall-e-3") && !dalle_q) || !strcmp(m, "dall-e-2")) {
            snprintf(err, errlen, "params.quality: expected %s for model %s, found \"%s\"",
                     gpt ? "one of \"low\", \"medium\", \"high\", \"auto\"" : !strcmp(m, "dall-e-3") ? "\"standard\" or \"hd\"" : "no quality (dall-e-2 takes none)",
                     m, v);
            return -1;
        }
    }
    static const char *const gpt_only[] = {"background", "moderation", "output_format", NULL};
    for (const char *const *k = gpt_only; *k; k++)
        if (cJSON_GetObjectItemCaseSensitive(t->params, *k) && dalle) {
            snprintf(err, errlen, "params.%s: expected no %s for model %s (gpt-image models only)", *k, *k, m);
            return -1;
        }
    if (cJSON_GetObjectItemCaseSensitive(t->params, "style") && strcmp(m, "dall-e-3") && (dalle || gpt)) {
        snprintf(err, errlen, "params.style: expected no style for model %s (dall-e-3 only)", m);
        return -1;
    }
    return 0;
}

static int openai_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                        provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    snprintf(req->url, sizeof req->url, "%s/v1/images/generations", t->base_url);
    const char *size = provider_nearest_size(r->width, r->height, openai_sizes_for(t->provider_model));
    sscanf(size, "%dx%d", &req->sent.width, &req->sent.height);
    provider_note(&req->sent, "openai takes no seed: the image is not reproducible from the job's seed");
    if (req->sent.width != r->width || req->sent.height != r->height)
        provider_note(&req->sent, "size %dx%d mapped to %s, the nearest %s takes", r->width, r->height, size,
                      t->provider_model);
    /* The reference's prompt limits (characters; we count bytes, never fewer). */
    size_t max = !strcmp(t->provider_model, "dall-e-2") ? 1000 : !strcmp(t->provider_model, "dall-e-3") ? 4000 : 32000;
    char prompt[8192];
    provider_reinforced_prompt(r, true, prompt, sizeof prompt);
    if (strlen(prompt) > max) {
        snprintf(prompt, sizeof prompt, "%s", r->prompt); /* the reinforcement goes first */
        provider_note(&req->sent, "prompt reinforcement left out: %s takes at most %zu characters", t->provider_model, max);
    }
    if (strlen(prompt) > max) {
        snprintf(err, errlen, "openai: the prompt has %zu bytes, %s takes at most %zu characters", strlen(prompt),
                 t->provider_model, max);
        return -1;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", t->provider_model);
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddNumberToObject(o, "n", 1);
    cJSON_AddStringToObject(o, "size", size);
    if (!is_gpt_image(t->provider_model)) cJSON_AddStringToObject(o, "response_format", "b64_json");
    provider_add_params(o, t);
    if (provider_json_body(req, o) || provider_bearer(req, t)) {
        snprintf(err, errlen, "openai: out of memory building the request");
        return -1;
    }
    return 0;
}

static void openai_parse(const provider_response_t *resp, provider_outcome_t *out) {
    cJSON *j = provider_parse_json(out, resp);
    if (!j) return;
    if (resp->status < 200 || resp->status > 299) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        provider_error_detail(out, resp, cJSON_IsString(msg) ? msg->valuestring : NULL);
        if (cJSON_IsString(code) && !strcmp(code->valuestring, "content_policy_violation"))
            snprintf(out->reason, sizeof out->reason, "safety_filtered");
        cJSON_Delete(j);
        return;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    const cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(first, "b64_json");
    if (!cJSON_IsString(b64))
        provider_fail(out, "bad_response", "HTTP %ld from %s: expected {\"data\":[{\"b64_json\":\"...\"}]}, found %s",
                      resp->status, resp->model,
                      !cJSON_IsArray(data) ? "no \"data\" array"
                      : !first            ? "an empty \"data\" array"
                                          : "no string \"b64_json\" in data[0]");
    else
        provider_accept_b64_png(out, b64->valuestring, resp->model, "data[0].b64_json");
    cJSON_Delete(j);
}

const provider_t provider_openai = {
    .name = "openai",
    .build = openai_build,
    .parse = openai_parse,
    .default_base = NULL,
    .params = openai_params,
    .check_model = openai_check_model,
};
