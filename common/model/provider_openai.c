/* provider_openai.c — the OpenAI Images API dialect.
 *
 *   POST {base}/v1/images/generations
 *   {"model","prompt","n":1,"size":"WxH","response_format":"b64_json"[,"seed","guidance_scale"]}
 *   -> 200 {"created":..,"data":[{"b64_json":"..."}]}
 *   -> 4xx/5xx {"error":{"message","type","param","code"}}; code content_policy_violation
 *      is a safety refusal. "seed" and "guidance_scale" are extensions (OpenAI-compatible
 *      servers honour them; api.openai.com ignores unknown fields it does not reject). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static int openai_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                        provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    snprintf(req->url, sizeof req->url, "%s/v1/images/generations", t->base_url);
    cJSON *o = cJSON_CreateObject();
    char size[32];
    snprintf(size, sizeof size, "%dx%d", r->width, r->height);
    cJSON_AddStringToObject(o, "model", t->model);
    cJSON_AddStringToObject(o, "prompt", r->prompt);
    cJSON_AddNumberToObject(o, "n", 1);
    cJSON_AddStringToObject(o, "size", size);
    cJSON_AddStringToObject(o, "response_format", "b64_json");
    cJSON_AddNumberToObject(o, "seed", provider_seed32(r->seed));
    if (r->guidance > 0) cJSON_AddNumberToObject(o, "guidance_scale", r->guidance);
    if (r->negative_prompt && *r->negative_prompt)
        cJSON_AddStringToObject(o, "negative_prompt", r->negative_prompt);
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
};
