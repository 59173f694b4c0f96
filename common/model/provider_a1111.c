/* provider_a1111.c — AUTOMATIC1111 stable-diffusion-webui API (also Forge, SD.Next).
 *
 * Reference: the webui's API (modules/api/models.py, StableDiffusionTxt2ImgProcessingAPI,
 * built from modules/processing.py StableDiffusionProcessingTxt2Img; /docs of a running
 * webui), AUTOMATIC1111/stable-diffusion-webui v1.10, read 2026-12-02; the request schema
 * we check against is tests/contracts/a1111.schema.json.
 *
 *   POST {base}/sdapi/v1/txt2img {"prompt","negative_prompt","seed","width","height",
 *     "cfg_scale","steps":20,"override_settings":{"sd_model_checkpoint":MODEL},
 *     "override_settings_restore_afterwards":false[, params...]}
 *   -> 200 {"images":["<base64 PNG>"],"parameters":{..},"info":"<JSON text>"}; an info with
 *      "nsfw_content_detected":[true] (NSFW-filter extensions, the renderer) is a safety
 *      refusal: the image is a blacked-out stand-in
 *   -> errors (FastAPI) {"detail": ...} or {"error","detail","body","errors"}.
 * Sizes: the webui draws multiples of 8 (the latent is 1/8 of the image): WxH is
 * rounded to the nearest multiple of 8 within 64..2048 and the verifier told so.
 * Stronger guidance is cfg_scale clamped to the UI's 1..30. Restoring the settings
 * afterwards would reload the checkpoint on every request: we keep it loaded.
 * An API key, when configured, is the webui's --api-auth "user:password", sent as HTTP
 * Basic authentication.
 * A job's template (templates.NAME.providers.a1111) adds its LoRAs to the prompt in the
 * webui's extra-networks syntax, ", <lora:NAME:WEIGHT>" each (the webui strips the tags
 * from the text it encodes and loads models/Lora/NAME), and its "alwayson_scripts"
 * object as the request's (the webui hands each script its "args"; ControlNet, ADetailer
 * ...). Its "model" is a fine-tuned checkpoint sent as sd_model_checkpoint (the model
 * client swaps the target's provider model). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "model/provider.h"

#define A1111_CFG_MIN 1.0
#define A1111_CFG_MAX 30.0

static const provider_param_t a1111_params[] = {
    {"steps", PARAM_INT, 1, 150, NULL},
    {"sampler_name", PARAM_STRING, 0, 0, NULL},
    {"scheduler", PARAM_STRING, 0, 0, NULL},
    {"restore_faces", PARAM_BOOL, 0, 0, NULL},
    {"tiling", PARAM_BOOL, 0, 0, NULL},
    {"subseed", PARAM_INT, -1, 4294967295.0, NULL},
    {"subseed_strength", PARAM_NUMBER, 0, 1, NULL},
    {"eta", PARAM_NUMBER, 0, 1, NULL},
    {"s_churn", PARAM_NUMBER, 0, 100, NULL},
    {"s_noise", PARAM_NUMBER, 0, 2, NULL},
    {"refiner_checkpoint", PARAM_STRING, 0, 0, NULL},
    {"refiner_switch_at", PARAM_NUMBER, 0, 1, NULL},
    {"do_not_save_samples", PARAM_BOOL, 0, 0, NULL},
    {"do_not_save_grid", PARAM_BOOL, 0, 0, NULL},
    {"disable_extra_networks", PARAM_BOOL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* The nearest multiple of 8 within 64..2048. */
static int side8(int v) {
    int s = (int)lround(v / 8.0) * 8;
    return s < 64 ? 64 : s > 2048 ? 2048 : s;
}

static int a1111_build(const provider_target_t *t, const render_request_t *r, CURL *easy,
                       provider_request_t *req, char *err, size_t errlen) {
    (void)easy;
    snprintf(req->url, sizeof req->url, "%s/sdapi/v1/txt2img", t->base_url);
    req->sent.width = side8(r->width);
    req->sent.height = side8(r->height);
    req->sent.seed_sent = true;
    if (req->sent.width != r->width || req->sent.height != r->height)
        provider_note(&req->sent, "size %dx%d rounded to %dx%d (multiples of 8)", r->width, r->height,
                      req->sent.width, req->sent.height);
    double cfg = provider_clamp(provider_guidance(r), A1111_CFG_MIN, A1111_CFG_MAX);
    if (r->guidance > 0 && cfg != r->guidance)
        provider_note(&req->sent, "cfg_scale %g clamped to %g (the webui takes 1..30)", r->guidance, cfg);
    const template_adapter_t *ad = template_adapter(r->tmpl, "a1111");
    cJSON *o = cJSON_CreateObject();
    if (ad && ad->n_loras) {
        size_t cap = strlen(r->prompt) + (size_t)ad->n_loras * (sizeof ad->lora[0] + 40) + 1, n = 0;
        char *p = malloc(cap);
        if (!p) {
            cJSON_Delete(o);
            snprintf(err, errlen, "a1111: out of memory building the request");
            return -1;
        }
        n = (size_t)snprintf(p, cap, "%s", r->prompt);
        for (int i = 0; i < ad->n_loras && n < cap; i++)
            n += (size_t)snprintf(p + n, cap - n, ", <lora:%s:%g>", ad->lora[i], ad->lora_weight[i]);
        cJSON_AddStringToObject(o, "prompt", p);
        free(p);
    } else {
        cJSON_AddStringToObject(o, "prompt", r->prompt);
    }
    cJSON_AddStringToObject(o, "negative_prompt", r->negative_prompt ? r->negative_prompt : "");
    cJSON_AddNumberToObject(o, "seed", provider_seed32(r->seed));
    cJSON_AddNumberToObject(o, "width", req->sent.width);
    cJSON_AddNumberToObject(o, "height", req->sent.height);
    cJSON_AddNumberToObject(o, "cfg_scale", cfg);
    cJSON_AddNumberToObject(o, "steps", 20);
    cJSON *ov = cJSON_AddObjectToObject(o, "override_settings");
    cJSON_AddStringToObject(ov, "sd_model_checkpoint", t->provider_model);
    cJSON_AddFalseToObject(o, "override_settings_restore_afterwards");
    if (ad && ad->alwayson_scripts_json[0]) {
        cJSON *scripts = cJSON_Parse(ad->alwayson_scripts_json); /* checked when the config loaded */
        if (scripts) cJSON_AddItemToObject(o, "alwayson_scripts", scripts);
    }
    provider_add_params(o, t);
    int rc = provider_json_body(req, o);
    if (!rc && t->api_key && *t->api_key) {
        char *basic = base64_encode((const unsigned char *)t->api_key, strlen(t->api_key), NULL);
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
    .params = a1111_params,
};
