/* provider_vertex.c — Google Vertex AI Imagen (predict).
 *
 * Reference: Vertex AI "Imagen API" model reference (generate images,
 * cloud.google.com/vertex-ai/generative-ai/docs/model-reference/imagen-api) and the
 * GCE metadata server's token endpoint (compute/docs/access/authenticate-workloads),
 * read 2026-12-02; the request schema we check against is
 * tests/contracts/vertex.schema.json.
 *
 *   endpoint (config) = https://REGION-aiplatform.googleapis.com/v1/projects/PROJECT/
 *                       locations/REGION/publishers/google/models
 *   POST {endpoint}/{MODEL}:predict
 *   {"instances":[{"prompt"}],"parameters":{"sampleCount":1,"seed":N,"aspectRatio":R,
 *    "addWatermark":false[,"negativePrompt", params...]}}   R: 1:1 3:4 4:3 9:16 16:9
 *   -> 200 {"predictions":[{"bytesBase64Encoded","mimeType"}]}; a prediction with
 *      raiFilteredReason, an empty predictions list or an empty object {} is a safety refusal
 *   -> errors {"error":{"code","message","status"}}.
 * Imagen has no guidance parameter for generation: stronger guidance is prompt
 * reinforcement. negativePrompt only for the models that take it (imagegeneration@*,
 * imagen-3.0-generate-001, imagen-3.0-fast-generate-001); for newer ones it is folded
 * into the prompt. The seed needs addWatermark false, which we send.
 * The key is an OAuth access token (a file kept fresh by a sidecar or `gcloud auth
 * print-access-token`, re-read when it changes; or the metadata server), sent as Bearer.
 * Without an endpoint the renderer URL gets the path of project "pressroom", location
 * "local". The image size is the provider's for that ratio: the verifier is told it. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static const char *const vertex_ratios[] = {"1:1", "3:4", "4:3", "9:16", "16:9", NULL};
static const char *const person_generation[] = {"dont_allow", "allow_adult", "allow_all", NULL};
static const char *const safety_settings[] = {"block_low_and_above", "block_medium_and_above", "block_only_high",
                                              "block_none", NULL};
static const char *const languages[] = {"auto", "en", "zh", "zh-CN", "zh-TW", "hi", "ja", "ko", "pt", "es", NULL};
static const char *const image_sizes[] = {"1K", "2K", NULL};

static const provider_param_t vertex_params[] = {
    {"personGeneration", PARAM_STRING, 0, 0, person_generation},
    {"safetySetting", PARAM_STRING, 0, 0, safety_settings},
    {"enhancePrompt", PARAM_BOOL, 0, 0, NULL},
    {"language", PARAM_STRING, 0, 0, languages},
    {"sampleImageSize", PARAM_STRING, 0, 0, image_sizes},
    {"includeRaiReason", PARAM_BOOL, 0, 0, NULL},
    {"includeSafetyAttributes", PARAM_BOOL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Does this Imagen model take negativePrompt? (The reference: not imagen-3.0-generate-002
 * and later.) Our own aliases on the renderer take it. */
static bool takes_negative(const char *m) {
    if (!strncmp(m, "imagegeneration@", 16)) return true;
    if (!strcmp(m, "imagen-3.0-generate-001") || !strcmp(m, "imagen-3.0-fast-generate-001")) return true;
    return strncmp(m, "imagen-", 7) != 0;
}

static int vertex_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                        provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    int n = snprintf(req->url, sizeof req->url, "%s/%s:predict", t->base_url, t->provider_model);
    if (n < 0 || (size_t)n >= sizeof req->url) {
        snprintf(err, errlen, "vertex: endpoint URL too long for model %s", t->provider_model);
        return -1;
    }
    const char *ratio = provider_nearest_ratio(r->width, r->height, vertex_ratios);
    snprintf(req->sent.aspect_ratio, sizeof req->sent.aspect_ratio, "%s", ratio);
    req->sent.seed_sent = true;
    bool negative = r->negative_prompt && *r->negative_prompt, native = takes_negative(t->provider_model);
    if (negative && !native)
        provider_note(&req->sent, "negative prompt folded into the prompt: %s takes no negativePrompt",
                      t->provider_model);
    char prompt[8192];
    provider_reinforced_prompt(r, !native, prompt, sizeof prompt);
    cJSON *o = cJSON_CreateObject();
    cJSON *inst = cJSON_AddArrayToObject(o, "instances");
    cJSON *i0 = cJSON_CreateObject();
    cJSON_AddItemToArray(inst, i0);
    cJSON_AddStringToObject(i0, "prompt", prompt);
    cJSON *p = cJSON_AddObjectToObject(o, "parameters");
    cJSON_AddNumberToObject(p, "sampleCount", 1);
    cJSON_AddNumberToObject(p, "seed", provider_seed32(r->seed));
    cJSON_AddStringToObject(p, "aspectRatio", ratio);
    cJSON_AddBoolToObject(p, "addWatermark", 0); /* Imagen ignores the seed when watermarking */
    if (negative && native) cJSON_AddStringToObject(p, "negativePrompt", r->negative_prompt);
    provider_add_params(p, t);
    if (provider_json_body(req, o) || provider_bearer(req, t)) {
        snprintf(err, errlen, "vertex: out of memory building the request");
        return -1;
    }
    return 0;
}

static void vertex_parse(const provider_response_t *resp, provider_outcome_t *out) {
    cJSON *j = provider_parse_json(out, resp);
    if (!j) return;
    if (resp->status < 200 || resp->status > 299) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        provider_error_detail(out, resp, cJSON_IsString(msg) ? msg->valuestring : NULL);
        cJSON_Delete(j);
        return;
    }
    const cJSON *preds = cJSON_GetObjectItemCaseSensitive(j, "predictions");
    const cJSON *first = cJSON_IsArray(preds) ? cJSON_GetArrayItem(preds, 0) : NULL;
    const cJSON *rai = cJSON_GetObjectItemCaseSensitive(first, "raiFilteredReason");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(first, "bytesBase64Encoded");
    const cJSON *mime = cJSON_GetObjectItemCaseSensitive(first, "mimeType");
    if (cJSON_IsString(rai)) {
        provider_fail(out, "safety_filtered", "%s: raiFilteredReason: %.400s", resp->model, rai->valuestring);
    } else if ((cJSON_IsArray(preds) && !first) || (cJSON_IsObject(j) && !j->child)) {
        provider_fail(out, "safety_filtered", "%s: no predictions returned (Vertex filters refused every sample)",
                      resp->model);
    } else if (!cJSON_IsString(b64)) {
        provider_fail(out, "bad_response",
                      "HTTP %ld from %s: expected {\"predictions\":[{\"bytesBase64Encoded\":\"...\"}]}, found %s",
                      resp->status, resp->model,
                      !cJSON_IsObject(j)     ? "a body that is not an object"
                      : !cJSON_IsArray(preds) ? "no \"predictions\" array"
                                              : "no string \"bytesBase64Encoded\" in predictions[0]");
    } else if (cJSON_IsString(mime) && strcmp(mime->valuestring, "image/png")) {
        provider_fail(out, "bad_response", "%s: expected mimeType image/png, found \"%.64s\"", resp->model,
                      mime->valuestring);
    } else {
        provider_accept_b64_png(out, b64->valuestring, resp->model, "predictions[0].bytesBase64Encoded");
    }
    cJSON_Delete(j);
}

static void vertex_default_base(const char *renderer_url, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/v1/projects/pressroom/locations/local/publishers/google/models", renderer_url);
}

const provider_t provider_vertex = {
    .name = "vertex",
    .build = vertex_build,
    .parse = vertex_parse,
    .default_base = vertex_default_base,
    .params = vertex_params,
};
