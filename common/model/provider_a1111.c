/* provider_a1111.c — AUTOMATIC1111 stable-diffusion-webui API (also Forge, SD.Next).
 *
 *   POST {base}/sdapi/v1/txt2img {"prompt","negative_prompt","seed","width","height",
 *     "cfg_scale","steps":20,"override_settings":{"sd_model_checkpoint":MODEL}}
 *   -> 200 {"images":["<base64 PNG>"],"parameters":{..},"info":"<JSON text>"}; an info with
 *      "nsfw_content_detected":[true] (NSFW-filter extensions, the renderer) is a safety
 *      refusal: the image is a blacked-out stand-in
 *   -> errors (FastAPI) {"detail": ...} or {"error","detail","body","errors"}.
 * An API key, when configured, is the webui's --api-auth "user:password", sent as HTTP
 * Basic authentication. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "model/provider.h"

static int a1111_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                       provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    snprintf(req->url, sizeof req->url, "%s/sdapi/v1/txt2img", t->base_url);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", r->prompt);
    cJSON_AddStringToObject(o, "negative_prompt", r->negative_prompt ? r->negative_prompt : "");
    cJSON_AddNumberToObject(o, "seed", provider_seed32(r->seed));
    cJSON_AddNumberToObject(o, "width", r->width);
    cJSON_AddNumberToObject(o, "height", r->height);
    cJSON_AddNumberToObject(o, "cfg_scale", provider_guidance(r));
    cJSON_AddNumberToObject(o, "steps", 20);
    cJSON *ov = cJSON_AddObjectToObject(o, "override_settings");
    cJSON_AddStringToObject(ov, "sd_model_checkpoint", t->model);
    int rc = provider_json_body(req, o);
    if (!rc && t->api_key && *t->api_key) {
        char *basic = base64_encode(t->api_key, strlen(t->api_key), NULL);
        rc = !basic || provider_header(req, "Authorization", "Basic %s", basic);
        free(basic);
    }
    if (rc) {
        snprintf(err, errlen, "a1111: out of memory building the request");
        return -1;
    }
    return 0;
}

static void a1111_parse(const provider_response_t *resp, provider_outcome_t *out) {
    cJSON *j = provider_parse_json(out, resp);
    if (!j) return;
    if (resp->status < 200 || resp->status > 299) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        char *printed = NULL;
        const char *msg = NULL;
        if (cJSON_IsString(d)) msg = d->valuestring;
        else if (cJSON_IsString(e)) msg = e->valuestring;
        else if (d) msg = printed = cJSON_PrintUnformatted(d); /* validation errors: a list */
        provider_error_detail(out, resp, msg);
        free(printed);
        cJSON_Delete(j);
        return;
    }
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(j, "info");
    cJSON *infoj = cJSON_IsString(info) ? cJSON_Parse(info->valuestring) : NULL;
    const cJSON *nsfw = cJSON_GetObjectItemCaseSensitive(infoj, "nsfw_content_detected");
    bool filtered = cJSON_IsTrue(cJSON_GetArrayItem(nsfw, 0)) || cJSON_IsTrue(nsfw);
    cJSON_Delete(infoj);
    if (filtered) {
        provider_fail(out, "safety_filtered", "%s: nsfw_content_detected (the safety filter blacked out the image)",
                      resp->model);
        cJSON_Delete(j);
        return;
    }
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(j, "images");
    const cJSON *first = cJSON_IsArray(images) ? cJSON_GetArrayItem(images, 0) : NULL;
    if (!cJSON_IsString(first))
        provider_fail(out, "bad_response", "HTTP %ld from %s: expected {\"images\":[\"<base64>\"]}, found %s",
                      resp->status, resp->model,
                      !cJSON_IsArray(images) ? "no \"images\" array"
                      : !first              ? "an empty \"images\" array"
                                            : "a non-string images[0]");
    else
        provider_accept_b64_png(out, first->valuestring, resp->model, "images[0]");
    cJSON_Delete(j);
}

const provider_t provider_a1111 = {
    .name = "a1111",
    .build = a1111_build,
    .parse = a1111_parse,
    .default_base = NULL,
};
