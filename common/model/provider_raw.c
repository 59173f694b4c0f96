/* provider_raw.c — the seed's plain render endpoint.
 *
 * Reference: the seed's render endpoint as the reference renderer serves it
 * (tools/pressroom-renderer/dialect.c), 2026-12-02; tests/contracts/raw.schema.json.
 *
 *   POST {base}/render {"prompt","seed","size":"WxH","model","guidance"[,"negative_prompt"]}
 *   -> 200 PNG bytes
 *   -> errors: JSON {"error":{"code","message"}} (code content_filtered: a safety refusal),
 *      {"error":"..."}, or any text, shown as is. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "model/provider.h"

static int raw_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                     provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    snprintf(req->url, sizeof req->url, "%s/render", t->base_url);
    cJSON *o = cJSON_CreateObject();
    char size[32];
    snprintf(size, sizeof size, "%dx%d", r->width, r->height);
    req->sent.width = r->width;
    req->sent.height = r->height;
    req->sent.seed_sent = true;
    cJSON_AddStringToObject(o, "prompt", r->prompt);
    cJSON_AddNumberToObject(o, "seed", provider_seed32(r->seed));
    cJSON_AddStringToObject(o, "size", size);
    cJSON_AddStringToObject(o, "model", t->provider_model);
    cJSON_AddNumberToObject(o, "guidance", provider_guidance(r));
    if (r->negative_prompt && *r->negative_prompt)
        cJSON_AddStringToObject(o, "negative_prompt", r->negative_prompt);
    if (provider_json_body(req, o) || provider_bearer(req, t) ||
        provider_header(req, "Accept", "image/png")) {
        snprintf(err, errlen, "raw: out of memory building the request");
        return -1;
    }
    return 0;
}

static void raw_parse(const provider_response_t *resp, provider_outcome_t *out) {
    if (resp->status < 200 || resp->status > 299) {
        cJSON *j = cJSON_ParseWithLength((const char *)resp->body, resp->body_len);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        if (cJSON_IsObject(e)) e = cJSON_GetObjectItemCaseSensitive(e, "message");
        provider_error_detail(out, resp, cJSON_IsString(e) ? e->valuestring : NULL);
        if (cJSON_IsString(code) && !strcmp(code->valuestring, "content_filtered"))
            snprintf(out->reason, sizeof out->reason, "safety_filtered");
        cJSON_Delete(j);
        return;
    }
    provider_accept_png(out, resp->body, resp->body_len, resp->model, "response body");
}

const provider_t provider_raw = {
    .name = "raw",
    .build = raw_build,
    .parse = raw_parse,
    .default_base = NULL,
};
