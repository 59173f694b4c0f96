/* config.c — loading and validating the orchestrator config; see config.h. */
#include "base/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/hostport.h"
#include "base/json.h"
#include "base/providers.h"

/* ==== Defaults ==== */

static void model_defaults(model_config_t *m, const char *name, int64_t price, int p50, int p99,
                           double typo, double layout) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->provider, sizeof m->provider, "raw"); /* the seed's /render: takes WxH as asked */
    snprintf(m->metadata_url, sizeof m->metadata_url, "http://metadata.google.internal");
    m->price_micros = price;
    m->latency_p50_ms = p50;
    m->latency_p99_ms = p99;
    m->rate_typo = typo;
    m->rate_drop = typo / 2;
    m->rate_extra = typo / 2;
    m->rate_offzone = layout;
    m->rate_low_contrast = layout;
    m->rate_off_palette = layout;
    m->fault_status = 500;
}

static void tier_defaults(tier_config_t *t, const char *name, const char *model, int latency,
                          int64_t cap) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->model, sizeof t->model, "%s", model);
    t->max_latency_ms = latency;
    t->max_inflight = 256;
    t->max_retries = 3;
    t->cap_micros = cap;
    t->window_s = 3600;
    t->lease_ttl_s = 0; /* derived by the rendering worker from the longest request */
    t->breaker_failures = 5;
    t->breaker_cooldown_ms = 5000;
}

static void class_defaults(asset_class_t *c, const char *name, route_t route, over_budget_t p,
                           int max_attempts) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->route = route;
    c->over_budget = p;
    c->max_attempts = max_attempts;
}

void config_load_dev_env(void) {
    const char *dir = getenv("PRESSROOM_DEV_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/dev.env", dir && *dir ? dir : ".pressroom");
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#') continue;
        *eq = 0;
        setenv(line, eq + 1, 0);
    }
    fclose(f);
}

void config_defaults(config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->brokers, sizeof cfg->brokers, "127.0.0.1:9092");
    snprintf(cfg->redis, sizeof cfg->redis, "127.0.0.1:6379");
    snprintf(cfg->renderer_url, sizeof cfg->renderer_url, "http://127.0.0.1:8080");
    snprintf(cfg->blob_root, sizeof cfg->blob_root, "file:///var/lib/pressroom/blobs");
    cfg->blob_threads = 8;
    cfg->s3.timeout_ms = 10000;
    cfg->s3.max_retries = 3;
    snprintf(cfg->topic_prefix, sizeof cfg->topic_prefix, "pressroom.");
    snprintf(cfg->group_prefix, sizeof cfg->group_prefix, "pressroom.");
    cfg->session_timeout_ms = 10000;
    cfg->max_message_bytes = 1048576;
    cfg->buffer_max_bytes = 16 << 20;
    cfg->buffer_max_messages = 0;
    cfg->drain_timeout_ms = 30000;
    cfg->verify_ocr = true;
    cfg->default_max_attempts = 3;
    tier_defaults(&cfg->preview, "preview", "sd3.5_turbo", 800, 50 * 1000000LL);
    tier_defaults(&cfg->production, "production", "imagen4_ultra", 2200, 200 * 1000000LL);
    tier_defaults(&cfg->backfill, "backfill", "", 0, 20 * 1000000LL);
    cfg->backfill.lane_share = 0.25;
    model_defaults(&cfg->models[0], "sd3.5_turbo", 20000, 300, 700, 0.10, 0.04);
    model_defaults(&cfg->models[1], "imagen4_ultra", 60000, 1000, 2000, 0.02, 0.01);
    cfg->n_models = 2;
    class_defaults(&cfg->classes[0], "avatar", ROUTE_PREVIEW, OVER_BUDGET_DEFER, cfg->default_max_attempts);
    class_defaults(&cfg->classes[1], "auto_preview", ROUTE_PREVIEW, OVER_BUDGET_DEFER, cfg->default_max_attempts);
    class_defaults(&cfg->classes[2], "thumbnail", ROUTE_PREVIEW, OVER_BUDGET_DEFER, cfg->default_max_attempts);
    class_defaults(&cfg->classes[3], "editorial", ROUTE_FINAL, OVER_BUDGET_DEGRADE, cfg->default_max_attempts);
    class_defaults(&cfg->classes[4], "paid", ROUTE_FINAL, OVER_BUDGET_REJECT, cfg->default_max_attempts);
    cfg->n_classes = 5;
    verifier_config_t *v = &cfg->verifier;
    v->threads = 0;
    v->max_png_bytes = 16 * 1024 * 1024;
    v->max_dimension = 4096;
    v->max_png_chunks = 4096;
    v->safe_zone = 0.9;
    v->min_contrast = 4.5;
    v->palette_tolerance = 12.0;
    v->blur_threshold = 20.0;
    v->min_confidence = 40.0;
}

/* ==== Names on the wire ==== */

/* Indexed by route_t, over_budget_t: what the file says and the logs print. */
static const char *const ROUTE_NAMES[] = {"preview", "final", "production_only", NULL};
static const char *const OVER_BUDGET_NAMES[] = {"defer", "degrade", "reject", NULL};
static const char *const WINDOW_NAMES[] = {"1h", "1d", NULL}; /* 3600 s, 86400 s */
static const char *const FAULT_KINDS[] = {"status", "timeout", "garbage", "safety", NULL};
static const char *const TOKEN_SOURCES[] = {"key", "metadata", NULL};
/* tiers.*.fallback_on words, in FALLBACK_ON_* bit order. */
static const char *const FALLBACK_WORDS[] = {"timeout", "safety_refusal", "breaker_open", "unavailable", NULL};

/* models.NAME.params: an object of scalars (the adapter checks names and values when
 * the model client starts: base knows no provider's parameters). */
static void read_params(json_reader_t *r, const cJSON *mj, const char *path, model_config_t *m) {
    const cJSON *p = json_read_object(r, mj, path, "params", JSON_OPTIONAL,
                                      "an object of provider parameters, e.g. {\"quality\": \"hd\"}");
    if (!p) return;
    char ppath[192], item[256];
    json_path(ppath, sizeof ppath, path, "params");
    const cJSON *it;
    cJSON_ArrayForEach(it, p) {
        if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
            json_fail(r, json_path(item, sizeof item, ppath, it->string), "a string, a number or a boolean", it);
            return;
        }
    }
    char *text = cJSON_PrintUnformatted(p);
    if (!text || strlen(text) >= sizeof m->params_json) {
        json_failf(r, ppath, "at most 2047 bytes of parameters", "%zu bytes", text ? strlen(text) : 0);
    } else {
        snprintf(m->params_json, sizeof m->params_json, "%s", text);
    }
    free(text);
}

/* tiers.*.fallback_on: ["timeout", "safety_refusal", "breaker_open", "unavailable", 429, 500..599]. */
static void read_fallback_on(json_reader_t *r, const cJSON *t, const char *path, tier_config_t *tier) {
    const char *expected = "an array of HTTP statuses (400..599) and \"timeout\", \"safety_refusal\", "
                           "\"breaker_open\", \"unavailable\"";
    const cJSON *a = json_read_array(r, t, path, "fallback_on", JSON_OPTIONAL, 24, expected);
    if (!a) return;
    char apath[192], item[200];
    json_path(apath, sizeof apath, path, "fallback_on");
    tier->fallback_configured = true;
    tier->fallback_on = 0;
    tier->n_fallback_status = 0;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        json_index_path(item, sizeof item, apath, i++);
        if (cJSON_IsNumber(it) && it->valuedouble == (int)it->valuedouble && it->valuedouble >= 400 &&
            it->valuedouble <= 599) {
            if (tier->n_fallback_status >= 16) return (void)json_fail(r, item, "at most 16 statuses", it);
            tier->fallback_status[tier->n_fallback_status++] = (int)it->valuedouble;
            continue;
        }
        int w = -1;
        for (int k = 0; cJSON_IsString(it) && FALLBACK_WORDS[k]; k++)
            if (!strcmp(it->valuestring, FALLBACK_WORDS[k])) w = k;
        if (w < 0) return (void)json_fail(r, item, expected, it);
        tier->fallback_on |= 1u << w;
    }
}

/* Dollars (a JSON number) to integer micro-dollars. */
static int read_usd(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, int64_t *dst) {
    double usd = (double)*dst / 1e6;
    if (json_read_double(r, obj, parent, name, JSON_OPTIONAL, &usd, 0, 1e9,
                         "a non-negative amount in US dollars, e.g. 0.04"))
        return -1;
    *dst = llround(usd * 1e6);
    return 0;
}

/* The object member `name` of obj, read by one of the section loaders below. */
static const cJSON *section(json_reader_t *r, const cJSON *obj, const char *parent, const char *name,
                            const char *const *known, char *path, size_t pathlen) {
    const cJSON *s = json_read_object(r, obj, parent, name, JSON_OPTIONAL, NULL);
    json_path(path, pathlen, parent, name);
    if (s) json_check_keys(r, s, path, known);
    return s;
}

/* ==== Sections ==== */

/* tiers.backfill: a budget, not a renderer: the lane renders with the stages' models. */
static void load_backfill_tier(json_reader_t *r, const cJSON *t, const char *path, tier_config_t *tier) {
    static const char *const known[] = {"cap_usd", "window", "share", NULL};
    json_check_keys(r, t, path, known);
    read_usd(r, t, path, "cap_usd", &tier->cap_micros);
    int window = tier->window_s == 86400;
    if (json_read_enum(r, t, path, "window", JSON_OPTIONAL, WINDOW_NAMES, &window) == 0)
        tier->window_s = window ? 86400 : 3600;
    json_read_double(r, t, path, "share", JSON_OPTIONAL, &tier->lane_share, 0.01, 1.0,
                     "the share of a worker's in-flight window the backfill lane may take, from 0.01 to 1");
}

static void load_tier(json_reader_t *r, const cJSON *t, const char *path, void *slot) {
    tier_config_t *tier = slot;
    if (!strcmp(tier->name, "backfill")) return load_backfill_tier(r, t, path, tier);
    static const char *const known[] = {"model", "fallbacks", "max_latency_ms", "max_inflight",
                                        "max_retries", "cap_usd", "window", "lease_ttl_s", "breaker_failures",
                                        "breaker_cooldown_ms", "fallback_on", NULL};
    json_check_keys(r, t, path, known);
    read_fallback_on(r, t, path, tier);
    json_read_string(r, t, path, "model", JSON_OPTIONAL, tier->model, sizeof tier->model);
    json_read_int(r, t, path, "max_latency_ms", JSON_OPTIONAL, &tier->max_latency_ms, 1, 600000,
                  "a positive integer (milliseconds)");
    json_read_int(r, t, path, "max_inflight", JSON_OPTIONAL, &tier->max_inflight, 1, 100000, NULL);
    json_read_int(r, t, path, "max_retries", JSON_OPTIONAL, &tier->max_retries, 0, 20, NULL);
    read_usd(r, t, path, "cap_usd", &tier->cap_micros);
    json_read_int(r, t, path, "lease_ttl_s", JSON_OPTIONAL, &tier->lease_ttl_s, 1, 86400, "seconds, from 1 to 86400");
    json_read_int(r, t, path, "breaker_failures", JSON_OPTIONAL, &tier->breaker_failures, 1, 1000, NULL);
    json_read_int(r, t, path, "breaker_cooldown_ms", JSON_OPTIONAL, &tier->breaker_cooldown_ms, 100, 600000,
                  "milliseconds, from 100 to 600000");
    int window = tier->window_s == 86400;
    if (json_read_enum(r, t, path, "window", JSON_OPTIONAL, WINDOW_NAMES, &window) == 0)
        tier->window_s = window ? 86400 : 3600;
    const cJSON *fb = json_read_array(r, t, path, "fallbacks", JSON_OPTIONAL, CFG_MAX_FALLBACKS,
                                      "an array of at most 4 model names");
    if (!fb) return;
    char fpath[192], item[200];
    json_path(fpath, sizeof fpath, path, "fallbacks");
    tier->n_fallbacks = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, fb) {
        if (json_read_string_at(r, it, json_index_path(item, sizeof item, fpath, tier->n_fallbacks), JSON_REQUIRED,
                                tier->fallbacks[tier->n_fallbacks], sizeof tier->fallbacks[0]))
            return;
        tier->n_fallbacks++;
    }
}

static model_config_t *model_slot(config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_models; i++)
        if (!strcmp(cfg->models[i].name, name)) return &cfg->models[i];
    if (cfg->n_models >= CFG_MAX_MODELS) return NULL;
    model_config_t *m = &cfg->models[cfg->n_models++];
    model_defaults(m, name, 40000, 500, 1500, 0.05, 0.02);
    return m;
}

static void load_model(json_reader_t *r, const cJSON *mj, const char *path, void *slot) {
    model_config_t *m = slot;
    static const char *const known[] = {
        "provider", "provider_model", "endpoint", "api_key_env", "api_key_file", "token_source",
        "metadata_url", "params", "price_usd", "latency_p50_ms", "latency_p99_ms", "rates", "prerendered", "styled_fraction",
        "fault", "rate_limit", NULL};
    json_check_keys(r, mj, path, known);
    if (json_read_string(r, mj, path, "provider", JSON_OPTIONAL, m->provider, sizeof m->provider) == 0 &&
        !provider_known(m->provider)) {
        char key[192], expected[160];
        size_t n = (size_t)snprintf(expected, sizeof expected, "one of ");
        provider_names_list(expected + n, sizeof expected - n);
        json_fail(r, json_path(key, sizeof key, path, "provider"), expected,
                  cJSON_GetObjectItemCaseSensitive(mj, "provider"));
    }
    json_read_string(r, mj, path, "endpoint", JSON_OPTIONAL, m->endpoint, sizeof m->endpoint);
    json_read_string(r, mj, path, "api_key_env", JSON_OPTIONAL, m->api_key_env, sizeof m->api_key_env);
    json_read_string(r, mj, path, "api_key_file", JSON_OPTIONAL, m->api_key_file, sizeof m->api_key_file);
    json_read_string(r, mj, path, "provider_model", JSON_OPTIONAL, m->provider_model, sizeof m->provider_model);
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(mj, "provider_model");
    char key[192];
    if (cJSON_IsString(pm) && !pm->valuestring[0])
        json_fail(r, json_path(key, sizeof key, path, "provider_model"),
                  "the provider's model id, e.g. \"sd3.5-large-turbo\" (leave it out to send the model's key)", pm);
    int source = m->token_from_metadata;
    if (json_read_enum(r, mj, path, "token_source", JSON_OPTIONAL, TOKEN_SOURCES, &source) == 0)
        m->token_from_metadata = source == 1;
    json_read_string(r, mj, path, "metadata_url", JSON_OPTIONAL, m->metadata_url, sizeof m->metadata_url);
    if (m->token_from_metadata && strcmp(m->provider, "vertex"))
        json_fail(r, json_path(key, sizeof key, path, "token_source"),
                  "\"key\" (\"metadata\" is an OAuth token for provider vertex)",
                  cJSON_GetObjectItemCaseSensitive(mj, "token_source"));
    if (m->token_from_metadata && (m->api_key_env[0] || m->api_key_file[0]))
        json_fail(r, json_path(key, sizeof key, path, "token_source"),
                  "\"key\" when api_key_env or api_key_file is set (one credential source)",
                  cJSON_GetObjectItemCaseSensitive(mj, "token_source"));
    if (strncmp(m->metadata_url, "http://", 7) && strncmp(m->metadata_url, "https://", 8))
        json_fail(r, json_path(key, sizeof key, path, "metadata_url"), "an http:// or https:// URL",
                  cJSON_GetObjectItemCaseSensitive(mj, "metadata_url"));
    read_params(r, mj, path, m);
    read_usd(r, mj, path, "price_usd", &m->price_micros);
    char sub[192];
    static const char *const rlknown[] = {"requests", "per_s", NULL};
    const cJSON *rl = json_read_object(r, mj, path, "rate_limit", JSON_OPTIONAL,
                                       "an object {\"requests\": N, \"per_s\": S}");
    if (rl) {
        json_path(sub, sizeof sub, path, "rate_limit");
        json_check_keys(r, rl, sub, rlknown);
        json_read_int(r, rl, sub, "requests", JSON_REQUIRED, &m->rate_limit, 1, 1000000, "a positive integer");
        json_read_int(r, rl, sub, "per_s", JSON_REQUIRED, &m->rate_period_s, 1, 86400, "seconds, from 1 to 86400");
    }
    const char *ms = "milliseconds, 0 to 600000";
    json_read_int(r, mj, path, "latency_p50_ms", JSON_OPTIONAL, &m->latency_p50_ms, 0, 600000, ms);
    json_read_int(r, mj, path, "latency_p99_ms", JSON_OPTIONAL, &m->latency_p99_ms, 0, 600000, ms);
    if (m->latency_p99_ms < m->latency_p50_ms) m->latency_p99_ms = m->latency_p50_ms;
    json_read_bool(r, mj, path, "prerendered", JSON_OPTIONAL, &m->prerendered);
    json_read_double(r, mj, path, "styled_fraction", JSON_OPTIONAL, &m->styled_fraction, 0, 1,
                     "a fraction from 0 to 1 (of the images drawn styled)");
    static const char *const rknown[] = {"typo", "drop", "extra", "offzone", "low_contrast", "off_palette", NULL};
    const cJSON *rates = section(r, mj, path, "rates", rknown, sub, sizeof sub);
    if (rates) {
        double *dst[] = {&m->rate_typo, &m->rate_drop, &m->rate_extra, &m->rate_offzone, &m->rate_low_contrast,
                         &m->rate_off_palette};
        for (int i = 0; rknown[i]; i++)
            json_read_double(r, rates, sub, rknown[i], JSON_OPTIONAL, dst[i], 0, 1, "a probability from 0 to 1");
    }
    static const char *const fknown[] = {"kind", "status", "first_n", "rate", "retry_after_s", NULL};
    const cJSON *f = section(r, mj, path, "fault", fknown, sub, sizeof sub);
    if (f) {
        int kind = -1;
        if (json_read_enum(r, f, sub, "kind", JSON_OPTIONAL, FAULT_KINDS, &kind) == 0 && kind >= 0)
            snprintf(m->fault, sizeof m->fault, "%s", FAULT_KINDS[kind]);
        json_read_int(r, f, sub, "status", JSON_OPTIONAL, &m->fault_status, 100, 599, "an HTTP status code");
        json_read_int(r, f, sub, "first_n", JSON_OPTIONAL, &m->fault_first_n, 0, 1000000, "a non-negative integer");
        json_read_double(r, f, sub, "rate", JSON_OPTIONAL, &m->fault_rate, 0, 1, "a probability from 0 to 1");
        json_read_int(r, f, sub, "retry_after_s", JSON_OPTIONAL, &m->fault_retry_after_s, 0, 3600,
                      "seconds, 0 to 3600");
    }
}

static asset_class_t *class_slot(config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_classes; i++)
        if (!strcmp(cfg->classes[i].name, name)) return &cfg->classes[i];
    if (cfg->n_classes >= CFG_MAX_CLASSES) return NULL;
    asset_class_t *a = &cfg->classes[cfg->n_classes++];
    /* A class the file adds inherits the top-level max_attempts, which load_json reads
     * before any class (by name: the order of keys in the file does not matter). */
    class_defaults(a, name, ROUTE_PREVIEW, OVER_BUDGET_DEFER, cfg->default_max_attempts);
    return a;
}

static void load_class(json_reader_t *r, const cJSON *aj, const char *path, void *slot) {
    asset_class_t *a = slot;
    static const char *const known[] = {"route", "over_budget", "max_attempts", NULL};
    json_check_keys(r, aj, path, known);
    int route = (int)a->route, policy = (int)a->over_budget;
    json_read_enum(r, aj, path, "route", JSON_OPTIONAL, ROUTE_NAMES, &route);
    json_read_enum(r, aj, path, "over_budget", JSON_OPTIONAL, OVER_BUDGET_NAMES, &policy);
    a->route = (route_t)route;
    a->over_budget = (over_budget_t)policy;
    json_read_int(r, aj, path, "max_attempts", JSON_OPTIONAL, &a->max_attempts, 1, 10, NULL);
}

static void load_verifier(json_reader_t *r, const cJSON *vj, const char *path, verifier_config_t *v) {
    json_read_int(r, vj, path, "threads", JSON_OPTIONAL, &v->threads, 0, 256, "an integer from 0 (one per core) to 256");
    json_read_int(r, vj, path, "max_inflight", JSON_OPTIONAL, &v->max_inflight, 0, 100000,
                  "an integer from 0 (derived from the OCR threads) to 100000");
    double bytes = (double)v->max_png_bytes;
    json_read_double(r, vj, path, "max_png_bytes", JSON_OPTIONAL, &bytes, 1024, 1 << 30, "bytes, 1024 to 2^30");
    v->max_png_bytes = (int64_t)bytes;
    json_read_int(r, vj, path, "max_dimension", JSON_OPTIONAL, &v->max_dimension, 16, 16384, "pixels, 16 to 16384");
    json_read_int(r, vj, path, "max_png_chunks", JSON_OPTIONAL, &v->max_png_chunks, 8, 1000000, "an integer >= 8");
    json_read_double(r, vj, path, "safe_zone", JSON_OPTIONAL, &v->safe_zone, 0.1, 1.0, "a fraction from 0.1 to 1");
    json_read_double(r, vj, path, "min_contrast", JSON_OPTIONAL, &v->min_contrast, 1.0, 21.0,
                     "a WCAG ratio from 1 to 21");
    json_read_double(r, vj, path, "palette_tolerance", JSON_OPTIONAL, &v->palette_tolerance, 0.1, 100,
                     "a CIEDE2000 distance");
    json_read_double(r, vj, path, "blur_threshold", JSON_OPTIONAL, &v->blur_threshold, 0, 1e6,
                     "a non-negative number");
    json_read_double(r, vj, path, "min_confidence", JSON_OPTIONAL, &v->min_confidence, 0, 100, "a percentage");
}

/* Each member of the object `name` (models, tiers, asset_classes) must be an object;
 * slot finds where it goes (NULL: refused with `full`), load reads it (load_model,
 * load_tier, load_class: their slot is a model_config_t, tier_config_t, asset_class_t). */
typedef void *(*slot_fn)(config_t *cfg, const char *name);
typedef void (*load_fn)(json_reader_t *r, const cJSON *obj, const char *path, void *slot);

static void load_members(json_reader_t *r, config_t *cfg, const cJSON *root, const char *name, slot_fn slot,
                         const char *full, load_fn load) {
    const cJSON *members = json_read_object(r, root, "", name, JSON_OPTIONAL, NULL);
    const cJSON *it;
    cJSON_ArrayForEach(it, members) {
        char path[192];
        json_path(path, sizeof path, name, it->string);
        void *dst = slot(cfg, it->string);
        if (!dst) return (void)json_fail(r, path, full, it);
        if (!cJSON_IsObject(it)) return (void)json_fail(r, path, "an object", it);
        load(r, it, path, dst);
    }
}

static void *model_member(config_t *cfg, const char *name) {
    return strlen(name) < sizeof cfg->models[0].name ? model_slot(cfg, name) : NULL;
}
static void *tier_member(config_t *cfg, const char *name) {
    return !strcmp(name, "preview")      ? (void *)&cfg->preview
           : !strcmp(name, "production") ? (void *)&cfg->production
           : !strcmp(name, "backfill")   ? (void *)&cfg->backfill
                                         : NULL;
}
static void *class_member(config_t *cfg, const char *name) {
    return strlen(name) < sizeof cfg->classes[0].name ? class_slot(cfg, name) : NULL;
}

/* ==== templates.NAME ==== */

static void *template_member(config_t *cfg, const char *name) {
    if (strlen(name) >= sizeof cfg->templates[0].name || name[0] < 'a' || name[0] > 'z' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name))
        return NULL;
    for (int i = 0; i < cfg->n_templates; i++)
        if (!strcmp(cfg->templates[i].name, name)) return &cfg->templates[i];
    if (cfg->n_templates >= CFG_MAX_TEMPLATES) return NULL;
    template_config_t *t = &cfg->templates[cfg->n_templates++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

static bool slot_name_ok(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') && *s != '_') return false;
    return true;
}

static void load_template_slot(json_reader_t *r, const cJSON *sj, const char *path, template_slot_t *slot) {
    static const char *const known[] = {"default", "values", NULL};
    if (!cJSON_IsObject(sj)) return (void)json_fail(r, path, "an object {\"default\", \"values\"}", sj);
    json_check_keys(r, sj, path, known);
    slot->has_default = cJSON_GetObjectItemCaseSensitive(sj, "default") != NULL;
    json_read_string(r, sj, path, "default", JSON_OPTIONAL, slot->def, sizeof slot->def);
    const cJSON *vals = json_read_array(r, sj, path, "values", JSON_OPTIONAL, TEMPLATE_MAX_VALUES,
                                        "an array of at most 8 strings under 128 bytes");
    char vpath[256], item[300];
    json_path(vpath, sizeof vpath, path, "values");
    const cJSON *it;
    cJSON_ArrayForEach(it, vals) {
        if (json_read_string_at(r, it, json_index_path(item, sizeof item, vpath, slot->n_values), JSON_REQUIRED,
                                slot->values[slot->n_values], TEMPLATE_VALUE_LEN))
            return;
        slot->n_values++;
    }
}

static void load_template_adapter(json_reader_t *r, const config_t *cfg, const cJSON *aj, const char *path,
                                  template_adapter_t *a) {
    static const char *const known[] = {"model", "loras", "alwayson_scripts", NULL};
    if (!cJSON_IsObject(aj)) return (void)json_fail(r, path, "an object {\"model\", \"loras\", \"alwayson_scripts\"}", aj);
    json_check_keys(r, aj, path, known);
    char sub[256], item[300];
    if (json_read_string(r, aj, path, "model", JSON_OPTIONAL, a->model, sizeof a->model) == 0 && a->model[0]) {
        const model_config_t *m = config_model(cfg, a->model);
        if (m) snprintf(a->provider_model, sizeof a->provider_model, "%s", m->provider_model[0] ? m->provider_model : m->name);
        if (!m || strcmp(m->provider, a->provider)) {
            char want[128];
            snprintf(want, sizeof want, "the name of a model configured under \"models\" with provider \"%s\"",
                     a->provider);
            json_fail(r, json_path(sub, sizeof sub, path, "model"), want, cJSON_GetObjectItemCaseSensitive(aj, "model"));
        }
    }
    const cJSON *loras = cJSON_GetObjectItemCaseSensitive(aj, "loras");
    if (loras && strcmp(a->provider, "a1111"))
        json_fail(r, json_path(sub, sizeof sub, path, "loras"), "no loras (only the a1111 provider takes LoRA tags)", loras);
    loras = json_read_array(r, aj, path, "loras", JSON_OPTIONAL, TEMPLATE_MAX_LORAS,
                            "an array of at most 4 {\"name\", \"weight\"}");
    json_path(sub, sizeof sub, path, "loras");
    const cJSON *it;
    cJSON_ArrayForEach(it, loras) {
        json_index_path(item, sizeof item, sub, a->n_loras);
        static const char *const lk[] = {"name", "weight", NULL};
        if (!cJSON_IsObject(it)) return (void)json_fail(r, item, "an object {\"name\", \"weight\"}", it);
        json_check_keys(r, it, item, lk);
        char *name = a->lora[a->n_loras];
        a->lora_weight[a->n_loras] = 1.0;
        if (json_read_string(r, it, item, "name", JSON_REQUIRED, name, sizeof a->lora[0])) return;
        for (const char *c = name; *c; c++)
            if (*c == ':' || *c == '<' || *c == '>' || (unsigned char)*c < ' ') {
                char np[320];
                return (void)json_fail(r, json_path(np, sizeof np, item, "name"),
                                       "a LoRA file name without ':', '<' or '>'", cJSON_GetObjectItemCaseSensitive(it, "name"));
            }
        json_read_double(r, it, item, "weight", JSON_OPTIONAL, &a->lora_weight[a->n_loras], -5, 5,
                         "a LoRA weight from -5 to 5");
        a->n_loras++;
    }
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(aj, "alwayson_scripts");
    if (as && strcmp(a->provider, "a1111"))
        json_fail(r, json_path(sub, sizeof sub, path, "alwayson_scripts"),
                  "no alwayson_scripts (only the a1111 provider has them)", as);
    as = json_read_object(r, aj, path, "alwayson_scripts", JSON_OPTIONAL,
                          "an object {\"SCRIPT\": {\"args\": [...]}} (the webui's alwayson_scripts)");
    if (as && !r->failed) {
        json_path(sub, sizeof sub, path, "alwayson_scripts");
        cJSON_ArrayForEach(it, as) {
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "args");
            if (!cJSON_IsObject(it) || !cJSON_IsArray(args) || cJSON_GetArraySize(it) != 1)
                return (void)json_fail(r, json_path(item, sizeof item, sub, it->string),
                                       "an object {\"args\": [...]}", it);
        }
        char *text = cJSON_PrintUnformatted(as);
        if (!text || strlen(text) >= sizeof a->alwayson_scripts_json)
            json_failf(r, sub, "at most 1023 bytes as compact JSON", "%zu bytes", text ? strlen(text) : 0);
        else
            snprintf(a->alwayson_scripts_json, sizeof a->alwayson_scripts_json, "%s", text);
        free(text);
    }
}

/* templates.NAME; runs after the models are read (adapters name model aliases). */
static void load_template(json_reader_t *r, config_t *cfg, const cJSON *tj, const char *path, template_config_t *t) {
    static const char *const known[] = {"prompt", "slots", "zone", "palette", "providers", NULL};
    json_check_keys(r, tj, path, known);
    json_read_string(r, tj, path, "prompt", JSON_OPTIONAL, t->prompt, sizeof t->prompt);
    char sub[256], item[300];
    const cJSON *slots = json_read_object(r, tj, path, "slots", JSON_OPTIONAL, NULL);
    json_path(sub, sizeof sub, path, "slots");
    const cJSON *it;
    cJSON_ArrayForEach(it, slots) {
        json_path(item, sizeof item, sub, it->string);
        if (t->n_slots >= TEMPLATE_MAX_SLOTS || strlen(it->string) >= sizeof t->slots[0].name ||
            !slot_name_ok(it->string))
            return (void)json_failf(r, item, "at most 8 slots named in lower case, digits and _ (under 32 bytes)",
                                    "slot \"%.40s\"", it->string);
        template_slot_t *slot = &t->slots[t->n_slots++];
        snprintf(slot->name, sizeof slot->name, "%s", it->string);
        load_template_slot(r, it, item, slot);
    }
    const cJSON *zone = json_read_object(r, tj, path, "zone", JSON_OPTIONAL,
                                         "an object {\"x\",\"y\",\"w\",\"h\"} of fractions");
    if (zone) {
        json_path(sub, sizeof sub, path, "zone");
        static const char *const zk[] = {"x", "y", "w", "h", NULL};
        double *dst[] = {&t->region_x, &t->region_y, &t->region_w, &t->region_h};
        json_check_keys(r, zone, sub, zk);
        for (int i = 0; i < 4; i++)
            json_read_double(r, zone, sub, zk[i], JSON_REQUIRED, dst[i], 0, 1, "a fraction from 0 to 1");
        if (!r->failed && (t->region_w <= 0 || t->region_h <= 0 || t->region_x + t->region_w > 1.0001 ||
                           t->region_y + t->region_h > 1.0001))
            json_fail(r, sub, "a non-empty rectangle inside the image", zone);
        t->has_region = true;
    }
    const cJSON *pal = json_read_array(r, tj, path, "palette", JSON_OPTIONAL, 8,
                                       "an array of at most 8 colours \"#RRGGBB\"");
    json_path(sub, sizeof sub, path, "palette");
    cJSON_ArrayForEach(it, pal) {
        uint32_t rgb = 0;
        bool ok = cJSON_IsString(it) && it->valuestring[0] == '#' && strlen(it->valuestring) == 7 &&
                  strspn(it->valuestring + 1, "0123456789abcdefABCDEF") == 6;
        if (ok) rgb = (uint32_t)strtoul(it->valuestring + 1, NULL, 16);
        if (!ok) return (void)json_fail(r, json_index_path(item, sizeof item, sub, t->n_palette), "a colour \"#RRGGBB\"", it);
        t->palette[t->n_palette++] = rgb;
    }
    const cJSON *prov = json_read_object(r, tj, path, "providers", JSON_OPTIONAL,
                                         "an object of per-provider overrides, e.g. {\"a1111\": {\"loras\": [...]}}");
    json_path(sub, sizeof sub, path, "providers");
    cJSON_ArrayForEach(it, prov) {
        json_path(item, sizeof item, sub, it->string);
        if (!provider_known(it->string)) {
            char names[128], want[192];
            provider_names_list(names, sizeof names);
            snprintf(want, sizeof want, "a provider name: one of %s", names);
            return (void)json_failf(r, item, want, "\"%.40s\"", it->string);
        }
        template_adapter_t *a = &t->adapters[t->n_adapters++]; /* PROVIDER_COUNT > 4 is refused below */
        snprintf(a->provider, sizeof a->provider, "%s", it->string);
        load_template_adapter(r, cfg, it, item, a);
        if (t->n_adapters >= TEMPLATE_MAX_ADAPTERS && it->next)
            return (void)json_failf(r, sub, "at most 4 provider overrides", "more");
    }
    /* Every "{slot}" of the prompt is a declared slot. */
    for (const char *p = strchr(t->prompt, '{'); p && !r->failed; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        char name[64] = "";
        if (e && (size_t)(e - p - 1) < sizeof name) snprintf(name, sizeof name, "%.*s", (int)(e - p - 1), p + 1);
        bool found = false;
        for (int i = 0; i < t->n_slots; i++) found |= !strcmp(t->slots[i].name, name);
        if (!found) {
            json_path(sub, sizeof sub, path, "prompt");
            json_failf(r, sub, "\"{slot}\" placeholders naming slots declared under \"slots\"", "\"{%.40s\"", p + 1);
        }
    }
}

static void load_templates(json_reader_t *r, config_t *cfg, const cJSON *root) {
    const cJSON *members = json_read_object(r, root, "", "templates", JSON_OPTIONAL, NULL);
    const cJSON *it;
    cJSON_ArrayForEach(it, members) {
        char path[192];
        json_path(path, sizeof path, "templates", it->string);
        template_config_t *t = template_member(cfg, it->string);
        if (!t) return (void)json_fail(r, path, "at most 8 templates named in lower case, digits, - and _ (under 64 bytes), e.g. \"weekly-deals\"", it);
        if (!cJSON_IsObject(it)) return (void)json_fail(r, path, "an object", it);
        load_template(r, cfg, it, path, t);
        if (r->failed) return;
    }
}

const template_config_t *config_template(const config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_templates; i++)
        if (!strcmp(cfg->templates[i].name, name)) return &cfg->templates[i];
    return NULL;
}

const template_adapter_t *template_adapter(const template_config_t *t, const char *provider) {
    for (int i = 0; t && i < t->n_adapters; i++)
        if (!strcmp(t->adapters[i].provider, provider)) return &t->adapters[i];
    return NULL;
}

static int load_json(json_reader_t *r, config_t *cfg, const cJSON *root) {
    static const char *const known[] = {"tiers", "verify_ocr", "models", "asset_classes", "verifier",
                                        "kafka", "redis", "renderer_url", "blob_root",
                                        "max_attempts", "metrics_listen", "redis_wait_replicas",
                                        "drain_timeout_ms", "blob_threads", "blob_presign_ttl_s", "s3", "templates", NULL};
    json_check_keys(r, root, "", known);
    json_read_bool(r, root, "", "verify_ocr", JSON_OPTIONAL, &cfg->verify_ocr);
    json_read_string(r, root, "", "redis", JSON_OPTIONAL, cfg->redis, sizeof cfg->redis);
    json_read_int(r, root, "", "redis_wait_replicas", JSON_OPTIONAL, &cfg->redis_wait_replicas, 0, 5,
                  "the number of replicas (0 to 5) a budget write must reach before it counts");
    json_read_string(r, root, "", "renderer_url", JSON_OPTIONAL, cfg->renderer_url, sizeof cfg->renderer_url);
    json_read_string(r, root, "", "blob_root", JSON_OPTIONAL, cfg->blob_root, sizeof cfg->blob_root);
    json_read_int(r, root, "", "blob_threads", JSON_OPTIONAL, &cfg->blob_threads, 1, 256, "threads, 1 to 256");
    json_read_int(r, root, "", "blob_presign_ttl_s", JSON_OPTIONAL, &cfg->blob_presign_ttl_s, 0, 604800,
                  "seconds, 0 (off) to 604800 (7 days, S3's limit)");
    json_read_string(r, root, "", "metrics_listen", JSON_OPTIONAL, cfg->metrics_listen, sizeof cfg->metrics_listen);
    struct sockaddr_in sa;
    if (cfg->metrics_listen[0] && listen_addr_parse(cfg->metrics_listen, &sa))
        json_fail(r, "metrics_listen", "HOST:PORT with an IPv4 address, e.g. 0.0.0.0:9464",
                  cJSON_GetObjectItemCaseSensitive(root, "metrics_listen"));
    json_read_int(r, root, "", "drain_timeout_ms", JSON_OPTIONAL, &cfg->drain_timeout_ms, 1000, 3600000, NULL);
    /* Before the classes: every class without its own max_attempts takes this one. */
    json_read_int(r, root, "", "max_attempts", JSON_OPTIONAL, &cfg->default_max_attempts, 1, 10, NULL);
    for (int i = 0; i < cfg->n_classes; i++) cfg->classes[i].max_attempts = cfg->default_max_attempts;

    char path[64];
    static const char *const kk[] = {"brokers", "topic_prefix", "group_prefix", "session_timeout_ms",
                                     "max_message_bytes", "buffer_max_bytes", "buffer_max_messages", NULL};
    const cJSON *k = section(r, root, "", "kafka", kk, path, sizeof path);
    if (k) {
        json_read_string(r, k, path, "brokers", JSON_OPTIONAL, cfg->brokers, sizeof cfg->brokers);
        json_read_string(r, k, path, "topic_prefix", JSON_OPTIONAL, cfg->topic_prefix, sizeof cfg->topic_prefix);
        json_read_string(r, k, path, "group_prefix", JSON_OPTIONAL, cfg->group_prefix, sizeof cfg->group_prefix);
        json_read_int(r, k, path, "session_timeout_ms", JSON_OPTIONAL, &cfg->session_timeout_ms, 1000, 300000,
                      "milliseconds, 1000 to 300000");
        json_read_int(r, k, path, "max_message_bytes", JSON_OPTIONAL, &cfg->max_message_bytes, 1024, 104857600,
                      "bytes, 1024 to 104857600");
        double bytes = (double)cfg->buffer_max_bytes;
        json_read_double(r, k, path, "buffer_max_bytes", JSON_OPTIONAL, &bytes, 1024, 1 << 30, "bytes, 1024 to 2^30");
        cfg->buffer_max_bytes = (int64_t)bytes;
        json_read_int(r, k, path, "buffer_max_messages", JSON_OPTIONAL, &cfg->buffer_max_messages, 0, 10000000,
                      "an integer from 0 (4 x the in-flight window, at least 1024) to 10000000");
    }
    load_members(r, cfg, root, "models", model_member, "at most 16 models with names under 64 bytes",
                 load_model);
    load_members(r, cfg, root, "tiers", tier_member, "a tier named \"preview\", \"production\" or \"backfill\"",
                 load_tier);
    load_members(r, cfg, root, "asset_classes", class_member, "at most 16 classes with names under 32 bytes",
                 load_class);
    load_templates(r, cfg, root);
    static const char *const sk[] = {"region", "endpoint", "addressing", "credentials_file", "profile",
                                     "timeout_ms", "max_retries", NULL};
    const cJSON *s3 = section(r, root, "", "s3", sk, path, sizeof path);
    if (s3) {
        s3_config_t *c = &cfg->s3;
        json_read_string(r, s3, path, "region", JSON_OPTIONAL, c->region, sizeof c->region);
        json_read_string(r, s3, path, "endpoint", JSON_OPTIONAL, c->endpoint, sizeof c->endpoint);
        char addressing[16] = "path";
        json_read_string(r, s3, path, "addressing", JSON_OPTIONAL, addressing, sizeof addressing);
        if (!r->failed && strcmp(addressing, "path") && strcmp(addressing, "virtual"))
            json_fail(r, "s3.addressing", "\"path\" (host/bucket/key) or \"virtual\" (bucket.host/key)",
                      cJSON_GetObjectItemCaseSensitive(s3, "addressing"));
        c->virtual_host = !strcmp(addressing, "virtual");
        json_read_string(r, s3, path, "credentials_file", JSON_OPTIONAL, c->credentials_file,
                         sizeof c->credentials_file);
        json_read_string(r, s3, path, "profile", JSON_OPTIONAL, c->profile, sizeof c->profile);
        json_read_int(r, s3, path, "timeout_ms", JSON_OPTIONAL, &c->timeout_ms, 100, 600000,
                      "milliseconds, 100 to 600000");
        json_read_int(r, s3, path, "max_retries", JSON_OPTIONAL, &c->max_retries, 0, 10, "0 to 10");
    }
    static const char *const vk[] = {"threads", "max_inflight", "max_png_bytes", "max_dimension", "max_png_chunks", "safe_zone",
                                     "min_contrast", "palette_tolerance", "blur_threshold", "min_confidence", NULL};
    const cJSON *v = section(r, root, "", "verifier", vk, path, sizeof path);
    if (v) load_verifier(r, v, path, &cfg->verifier);

    /* Cross-references: every tier names a configured model. */
    const tier_config_t *tiers[] = {&cfg->preview, &cfg->production};
    for (int i = 0; i < 2 && !r->failed; i++) {
        char key[64];
        snprintf(key, sizeof key, "tiers.%s.model", tiers[i]->name);
        if (!config_model(cfg, tiers[i]->model)) {
            cJSON *found = cJSON_CreateString(tiers[i]->model);
            json_fail(r, key, "the name of a model configured under \"models\"", found);
            cJSON_Delete(found);
        }
        for (int f = 0; f < tiers[i]->n_fallbacks && !r->failed; f++) {
            if (!config_model(cfg, tiers[i]->fallbacks[f])) {
                snprintf(key, sizeof key, "tiers.%s.fallbacks[%d]", tiers[i]->name, f);
                cJSON *found = cJSON_CreateString(tiers[i]->fallbacks[f]);
                json_fail(r, key, "the name of a model configured under \"models\"", found);
                cJSON_Delete(found);
            }
        }
    }
    return r->failed ? -1 : 0;
}

static void env_override(char *dst, size_t len, const char *var) {
    const char *v = getenv(var);
    if (v && *v) snprintf(dst, len, "%s", v);
}

int config_load(config_t *cfg, const char *path, char *err, size_t errlen) {
    config_defaults(cfg);
    if (!path || !*path) path = getenv("PRESSROOM_CONFIG");
    if (path && *path) {
        snprintf(cfg->path, sizeof cfg->path, "%s", path);
        size_t len = 0;
        char *text = file_read_all(path, 1 << 22, &len, err, errlen);
        if (!text) return -1;
        json_reader_t r;
        json_reader_init(&r, path, err, errlen);
        cJSON *root = json_parse_object(&r, text, len);
        int rc = root ? load_json(&r, cfg, root) : -1;
        cJSON_Delete(root);
        free(text);
        if (rc) return -1;
    }
    env_override(cfg->brokers, sizeof cfg->brokers, "PRESSROOM_BROKERS");
    env_override(cfg->redis, sizeof cfg->redis, "PRESSROOM_REDIS");
    env_override(cfg->renderer_url, sizeof cfg->renderer_url, "PRESSROOM_RENDERER");
    env_override(cfg->blob_root, sizeof cfg->blob_root, "PRESSROOM_BLOBS");
    env_override(cfg->metrics_listen, sizeof cfg->metrics_listen, "PRESSROOM_METRICS_LISTEN");
    return 0;
}

/* ==== Lookups ==== */

const model_config_t *config_model(const config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_models; i++)
        if (!strcmp(cfg->models[i].name, name)) return &cfg->models[i];
    return NULL;
}

const asset_class_t *config_class(const config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_classes; i++)
        if (!strcmp(cfg->classes[i].name, name)) return &cfg->classes[i];
    return NULL;
}

size_t config_class_names(const config_t *cfg, char *buf, size_t len) {
    size_t n = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i < cfg->n_classes; i++) {
        int r = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s\"%s\"", i ? ", " : "",
                         cfg->classes[i].name);
        if (r > 0) n += (size_t)r;
    }
    return n;
}

const tier_config_t *config_tier(const config_t *cfg, const char *tier) {
    if (!strcmp(tier, "preview")) return &cfg->preview;
    if (!strcmp(tier, "production")) return &cfg->production;
    if (!strcmp(tier, "backfill")) return &cfg->backfill;
    return NULL;
}

const char *config_lane_topic(const char *shortname) {
    if (!strcmp(shortname, "jobs")) return "backfill";
    if (!strcmp(shortname, "verify")) return "verify.backfill";
    if (!strcmp(shortname, "production")) return "production.backfill";
    return NULL;
}

const char *config_topic(const config_t *cfg, const char *shortname, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", cfg->topic_prefix, shortname);
    return buf;
}

const char *const CONFIG_TOPIC_NAMES[] = {"jobs",       "backfill",           "verify",  "verify.backfill", "production",
                                          "production.backfill", "results", "rejected", "dlq"};
const size_t CONFIG_N_TOPIC_NAMES = sizeof CONFIG_TOPIC_NAMES / sizeof *CONFIG_TOPIC_NAMES;

const char *config_topic_named(const config_t *cfg, const char *s, char *buf, size_t len, const char **shortname) {
    size_t np = strlen(cfg->topic_prefix);
    const char *shortn = s && !strncmp(s, cfg->topic_prefix, np) ? s + np : s;
    for (size_t i = 0; shortn && i < CONFIG_N_TOPIC_NAMES; i++)
        if (!strcmp(shortn, CONFIG_TOPIC_NAMES[i])) {
            if (shortname) *shortname = CONFIG_TOPIC_NAMES[i];
            return config_topic(cfg, CONFIG_TOPIC_NAMES[i], buf, len);
        }
    return NULL;
}

const char *route_name(route_t r) {
    return r >= ROUTE_PREVIEW && r <= ROUTE_PRODUCTION_ONLY ? ROUTE_NAMES[r] : ROUTE_NAMES[ROUTE_PREVIEW];
}

const char *over_budget_name(over_budget_t p) {
    return p >= OVER_BUDGET_DEFER && p <= OVER_BUDGET_REJECT ? OVER_BUDGET_NAMES[p] : OVER_BUDGET_NAMES[OVER_BUDGET_DEFER];
}
