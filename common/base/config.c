/* config.c — loading and validating the orchestrator config; see config.h. */
#include "base/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "base/fileio.h"
#include "base/providers.h"

/* ==== Defaults ==== */

static void model_defaults(model_config_t *m, const char *name, int64_t price, int p50, int p99,
                           double typo, double layout) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->provider, sizeof m->provider, "openai");
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

void config_defaults(config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->brokers, sizeof cfg->brokers, "127.0.0.1:9092");
    snprintf(cfg->redis, sizeof cfg->redis, "127.0.0.1:6379");
    snprintf(cfg->renderer_url, sizeof cfg->renderer_url, "http://127.0.0.1:8080");
    snprintf(cfg->blob_root, sizeof cfg->blob_root, "file:///var/lib/pressroom/blobs");
    snprintf(cfg->topic_prefix, sizeof cfg->topic_prefix, "pressroom.");
    snprintf(cfg->group_prefix, sizeof cfg->group_prefix, "pressroom.");
    cfg->session_timeout_ms = 10000;
    cfg->max_message_bytes = 1048576;
    cfg->verify_ocr = true;
    cfg->default_max_attempts = 3;
    tier_defaults(&cfg->preview, "preview", "sd3.5_turbo", 800, 50 * 1000000LL);
    tier_defaults(&cfg->production, "production", "imagen4_ultra", 2200, 200 * 1000000LL);
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

/* ==== Validation helpers ==== */

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    int failed;
} ctx_t;

static void fail(ctx_t *c, const char *key, const char *expected, const cJSON *found) {
    if (c->failed) return;
    c->failed = 1;
    char *shown = found ? cJSON_PrintUnformatted(found) : NULL;
    snprintf(c->err, c->errlen, "%s: %s: expected %s, found %s", c->file, key, expected,
             shown ? shown : "nothing");
    free(shown);
}

static void get_string(ctx_t *c, const cJSON *obj, const char *name, const char *path, char *dst,
                       size_t dstlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return;
    char key[256];
    snprintf(key, sizeof key, "%s%s", path, name);
    if (!cJSON_IsString(v)) return fail(c, key, "a string", v);
    if (strlen(v->valuestring) >= dstlen) {
        char exp[64];
        snprintf(exp, sizeof exp, "a string of at most %zu bytes", dstlen - 1);
        return fail(c, key, exp, v);
    }
    snprintf(dst, dstlen, "%s", v->valuestring);
}

static void get_int(ctx_t *c, const cJSON *obj, const char *name, const char *path, int *dst,
                    int lo, int hi, const char *expected) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return;
    char key[256];
    snprintf(key, sizeof key, "%s%s", path, name);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return fail(c, key, expected, v);
    *dst = (int)v->valuedouble;
}

static void get_double(ctx_t *c, const cJSON *obj, const char *name, const char *path, double *dst,
                       double lo, double hi, const char *expected) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return;
    char key[256];
    snprintf(key, sizeof key, "%s%s", path, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return fail(c, key, expected, v);
    *dst = v->valuedouble;
}

static void get_bool(ctx_t *c, const cJSON *obj, const char *name, const char *path, bool *dst) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return;
    char key[256];
    snprintf(key, sizeof key, "%s%s", path, name);
    if (!cJSON_IsBool(v)) return fail(c, key, "true or false", v);
    *dst = cJSON_IsTrue(v);
}

/* Dollars (a JSON number) to integer micro-dollars. */
static void get_usd(ctx_t *c, const cJSON *obj, const char *name, const char *path, int64_t *dst) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return;
    char key[256];
    snprintf(key, sizeof key, "%s%s", path, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return fail(c, key, "a non-negative amount in US dollars, e.g. 0.04", v);
    *dst = llround(v->valuedouble * 1e6);
}

static void check_object(ctx_t *c, const cJSON *v, const char *key) {
    if (v && !cJSON_IsObject(v)) fail(c, key, "an object", v);
}

/* Rejects keys we do not know: a typo in a config must not pass silently. */
static void check_keys(ctx_t *c, const cJSON *obj, const char *path, const char *const *known) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (!strcmp(*k, it->string)) ok = 1;
        if (!ok) {
            char key[256], exp[512];
            snprintf(key, sizeof key, "%s%s", path, it->string);
            size_t n = (size_t)snprintf(exp, sizeof exp, "one of the known keys (");
            for (const char *const *k = known; *k && n < sizeof exp; k++)
                n += (size_t)snprintf(exp + n, sizeof exp - n, "%s%s", k == known ? "" : ", ", *k);
            if (n < sizeof exp) snprintf(exp + n, sizeof exp - n, ")");
            fail(c, key, exp, it);
        }
    }
}

/* ==== Sections ==== */

static void load_tier(ctx_t *c, const cJSON *t, tier_config_t *tier) {
    char path[64];
    snprintf(path, sizeof path, "tiers.%s.", tier->name);
    static const char *const known[] = {"model", "fallbacks", "max_latency_ms", "max_inflight",
                                        "max_retries", "cap_usd", "window", "lease_ttl_s", "breaker_failures", "breaker_cooldown_ms", NULL};
    check_keys(c, t, path, known);
    get_string(c, t, "model", path, tier->model, sizeof tier->model);
    get_int(c, t, "max_latency_ms", path, &tier->max_latency_ms, 1, 600000,
            "a positive integer (milliseconds)");
    get_int(c, t, "max_inflight", path, &tier->max_inflight, 1, 100000, "an integer from 1 to 100000");
    get_int(c, t, "max_retries", path, &tier->max_retries, 0, 20, "an integer from 0 to 20");
    get_usd(c, t, "cap_usd", path, &tier->cap_micros);
    get_int(c, t, "lease_ttl_s", path, &tier->lease_ttl_s, 1, 86400, "seconds, from 1 to 86400");
    get_int(c, t, "breaker_failures", path, &tier->breaker_failures, 1, 1000, "an integer from 1 to 1000");
    get_int(c, t, "breaker_cooldown_ms", path, &tier->breaker_cooldown_ms, 100, 600000,
            "milliseconds, from 100 to 600000");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(t, "window");
    if (w) {
        char key[128];
        snprintf(key, sizeof key, "%swindow", path);
        if (cJSON_IsString(w) && !strcmp(w->valuestring, "1h")) tier->window_s = 3600;
        else if (cJSON_IsString(w) && !strcmp(w->valuestring, "1d")) tier->window_s = 86400;
        else fail(c, key, "\"1h\" or \"1d\"", w);
    }
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(t, "fallbacks");
    if (fb) {
        char key[128];
        snprintf(key, sizeof key, "%sfallbacks", path);
        if (!cJSON_IsArray(fb) || cJSON_GetArraySize(fb) > CFG_MAX_FALLBACKS)
            return fail(c, key, "an array of at most 4 model names", fb);
        const cJSON *it;
        tier->n_fallbacks = 0;
        cJSON_ArrayForEach(it, fb) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof tier->fallbacks[0])
                return fail(c, key, "an array of model names", fb);
            snprintf(tier->fallbacks[tier->n_fallbacks++], sizeof tier->fallbacks[0], "%s",
                     it->valuestring);
        }
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

static void load_model(ctx_t *c, const cJSON *mj, model_config_t *m) {
    char path[128];
    snprintf(path, sizeof path, "models.%s.", m->name);
    static const char *const known[] = {
        "provider", "endpoint", "api_key_env", "api_key_file", "price_usd", "latency_p50_ms",
        "latency_p99_ms", "rates", "prerendered", "fault", "rate_limit", NULL};
    check_keys(c, mj, path, known);
    get_string(c, mj, "provider", path, m->provider, sizeof m->provider);
    if (!provider_known(m->provider)) {
        char key[160], expected[160];
        snprintf(key, sizeof key, "%sprovider", path);
        size_t n = (size_t)snprintf(expected, sizeof expected, "one of ");
        provider_names_list(expected + n, sizeof expected - n);
        fail(c, key, expected, cJSON_GetObjectItemCaseSensitive(mj, "provider"));
    }
    get_string(c, mj, "endpoint", path, m->endpoint, sizeof m->endpoint);
    get_string(c, mj, "api_key_env", path, m->api_key_env, sizeof m->api_key_env);
    get_string(c, mj, "api_key_file", path, m->api_key_file, sizeof m->api_key_file);
    get_usd(c, mj, "price_usd", path, &m->price_micros);
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(mj, "rate_limit");
    if (rl) {
        char rpath[128];
        snprintf(rpath, sizeof rpath, "%srate_limit.", path);
        if (!cJSON_IsObject(rl)) {
            fail(c, rpath, "an object {\"requests\": N, \"per_s\": S}", rl);
            return;
        }
        static const char *const rlknown[] = {"requests", "per_s", NULL};
        check_keys(c, rl, rpath, rlknown);
        get_int(c, rl, "requests", rpath, &m->rate_limit, 1, 1000000, "a positive integer");
        get_int(c, rl, "per_s", rpath, &m->rate_period_s, 1, 86400, "seconds, from 1 to 86400");
        if (!m->rate_limit || !m->rate_period_s)
            fail(c, rpath, "both \"requests\" and \"per_s\"", rl);
    }
    get_int(c, mj, "latency_p50_ms", path, &m->latency_p50_ms, 0, 600000, "milliseconds, 0 to 600000");
    get_int(c, mj, "latency_p99_ms", path, &m->latency_p99_ms, 0, 600000, "milliseconds, 0 to 600000");
    if (m->latency_p99_ms < m->latency_p50_ms) m->latency_p99_ms = m->latency_p50_ms;
    get_bool(c, mj, "prerendered", path, &m->prerendered);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(mj, "rates");
    if (r) {
        char rpath[160];
        snprintf(rpath, sizeof rpath, "%srates.", path);
        check_object(c, r, rpath);
        static const char *const rknown[] = {"typo", "drop", "extra", "offzone", "low_contrast",
                                             "off_palette", NULL};
        check_keys(c, r, rpath, rknown);
        const char *e = "a probability from 0 to 1";
        get_double(c, r, "typo", rpath, &m->rate_typo, 0, 1, e);
        get_double(c, r, "drop", rpath, &m->rate_drop, 0, 1, e);
        get_double(c, r, "extra", rpath, &m->rate_extra, 0, 1, e);
        get_double(c, r, "offzone", rpath, &m->rate_offzone, 0, 1, e);
        get_double(c, r, "low_contrast", rpath, &m->rate_low_contrast, 0, 1, e);
        get_double(c, r, "off_palette", rpath, &m->rate_off_palette, 0, 1, e);
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(mj, "fault");
    if (f) {
        char fpath[160];
        snprintf(fpath, sizeof fpath, "%sfault.", path);
        check_object(c, f, fpath);
        static const char *const fknown[] = {"kind", "status", "first_n", "rate",
                                             "retry_after_s", NULL};
        check_keys(c, f, fpath, fknown);
        get_string(c, f, "kind", fpath, m->fault, sizeof m->fault);
        if (m->fault[0] && strcmp(m->fault, "status") && strcmp(m->fault, "timeout") &&
            strcmp(m->fault, "garbage") && strcmp(m->fault, "safety")) {
            char key[192];
            snprintf(key, sizeof key, "%skind", fpath);
            fail(c, key, "one of status, timeout, garbage, safety", cJSON_GetObjectItemCaseSensitive(f, "kind"));
        }
        get_int(c, f, "status", fpath, &m->fault_status, 100, 599, "an HTTP status code");
        get_int(c, f, "first_n", fpath, &m->fault_first_n, 0, 1000000, "a non-negative integer");
        get_double(c, f, "rate", fpath, &m->fault_rate, 0, 1, "a probability from 0 to 1");
        get_int(c, f, "retry_after_s", fpath, &m->fault_retry_after_s, 0, 3600, "seconds, 0 to 3600");
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

static void load_class(ctx_t *c, const cJSON *aj, asset_class_t *a) {
    char path[128];
    snprintf(path, sizeof path, "asset_classes.%s.", a->name);
    static const char *const known[] = {"route", "over_budget", "max_attempts", NULL};
    check_keys(c, aj, path, known);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(aj, "route");
    if (r) {
        char key[160];
        snprintf(key, sizeof key, "%sroute", path);
        if (cJSON_IsString(r) && !strcmp(r->valuestring, "preview")) a->route = ROUTE_PREVIEW;
        else if (cJSON_IsString(r) && !strcmp(r->valuestring, "final")) a->route = ROUTE_FINAL;
        else if (cJSON_IsString(r) && !strcmp(r->valuestring, "production_only"))
            a->route = ROUTE_PRODUCTION_ONLY;
        else fail(c, key, "\"preview\", \"final\" or \"production_only\"", r);
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(aj, "over_budget");
    if (p) {
        char key[160];
        snprintf(key, sizeof key, "%sover_budget", path);
        if (cJSON_IsString(p) && !strcmp(p->valuestring, "defer")) a->over_budget = OVER_BUDGET_DEFER;
        else if (cJSON_IsString(p) && !strcmp(p->valuestring, "degrade"))
            a->over_budget = OVER_BUDGET_DEGRADE;
        else if (cJSON_IsString(p) && !strcmp(p->valuestring, "reject"))
            a->over_budget = OVER_BUDGET_REJECT;
        else fail(c, key, "\"defer\", \"degrade\" or \"reject\"", p);
    }
    get_int(c, aj, "max_attempts", path, &a->max_attempts, 1, 10, "an integer from 1 to 10");
}

static void load_verifier(ctx_t *c, const cJSON *vj, verifier_config_t *v) {
    const char *path = "verifier.";
    static const char *const known[] = {"threads", "max_png_bytes", "max_dimension",
                                        "max_png_chunks", "safe_zone", "min_contrast",
                                        "palette_tolerance", "blur_threshold", "min_confidence",
                                        NULL};
    check_keys(c, vj, path, known);
    get_int(c, vj, "threads", path, &v->threads, 0, 256, "an integer from 0 (one per core) to 256");
    double bytes = (double)v->max_png_bytes;
    get_double(c, vj, "max_png_bytes", path, &bytes, 1024, 1 << 30, "bytes, 1024 to 2^30");
    v->max_png_bytes = (int64_t)bytes;
    get_int(c, vj, "max_dimension", path, &v->max_dimension, 16, 16384, "pixels, 16 to 16384");
    get_int(c, vj, "max_png_chunks", path, &v->max_png_chunks, 8, 1000000, "an integer >= 8");
    get_double(c, vj, "safe_zone", path, &v->safe_zone, 0.1, 1.0, "a fraction from 0.1 to 1");
    get_double(c, vj, "min_contrast", path, &v->min_contrast, 1.0, 21.0, "a WCAG ratio from 1 to 21");
    get_double(c, vj, "palette_tolerance", path, &v->palette_tolerance, 0.1, 100, "a CIEDE2000 distance");
    get_double(c, vj, "blur_threshold", path, &v->blur_threshold, 0, 1e6, "a non-negative number");
    get_double(c, vj, "min_confidence", path, &v->min_confidence, 0, 100, "a percentage");
}

static int load_json(ctx_t *c, config_t *cfg, const cJSON *root) {
    if (!cJSON_IsObject(root)) {
        fail(c, "(top level)", "a JSON object", root);
        return -1;
    }
    static const char *const known[] = {"tiers", "verify_ocr", "models", "asset_classes", "verifier",
                                        "kafka", "redis", "renderer_url", "blob_root",
                                        "max_attempts", "metrics_listen", NULL};
    check_keys(c, root, "", known);
    get_bool(c, root, "verify_ocr", "", &cfg->verify_ocr);
    get_string(c, root, "redis", "", cfg->redis, sizeof cfg->redis);
    get_string(c, root, "renderer_url", "", cfg->renderer_url, sizeof cfg->renderer_url);
    get_string(c, root, "blob_root", "", cfg->blob_root, sizeof cfg->blob_root);
    get_string(c, root, "metrics_listen", "", cfg->metrics_listen, sizeof cfg->metrics_listen);
    struct sockaddr_in sa;
    if (cfg->metrics_listen[0] && listen_addr_parse(cfg->metrics_listen, &sa))
        fail(c, "metrics_listen", "HOST:PORT with an IPv4 address, e.g. 0.0.0.0:9464",
             cJSON_GetObjectItemCaseSensitive(root, "metrics_listen"));
    /* Before the classes: every class without its own max_attempts takes this one. */
    get_int(c, root, "max_attempts", "", &cfg->default_max_attempts, 1, 10, "an integer from 1 to 10");
    for (int i = 0; i < cfg->n_classes; i++) cfg->classes[i].max_attempts = cfg->default_max_attempts;

    const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "kafka");
    check_object(c, k, "kafka");
    if (cJSON_IsObject(k)) {
        static const char *const kk[] = {"brokers", "topic_prefix", "group_prefix",
                                         "session_timeout_ms", "max_message_bytes", NULL};
        check_keys(c, k, "kafka.", kk);
        get_string(c, k, "brokers", "kafka.", cfg->brokers, sizeof cfg->brokers);
        get_string(c, k, "topic_prefix", "kafka.", cfg->topic_prefix, sizeof cfg->topic_prefix);
        get_string(c, k, "group_prefix", "kafka.", cfg->group_prefix, sizeof cfg->group_prefix);
        get_int(c, k, "session_timeout_ms", "kafka.", &cfg->session_timeout_ms, 1000, 300000,
                "milliseconds, 1000 to 300000");
        get_int(c, k, "max_message_bytes", "kafka.", &cfg->max_message_bytes, 1024, 104857600,
                "bytes, 1024 to 104857600");
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    check_object(c, models, "models");
    const cJSON *it;
    if (cJSON_IsObject(models)) cJSON_ArrayForEach(it, models) {
        char key[160];
        snprintf(key, sizeof key, "models.%s", it->string);
        if (!cJSON_IsObject(it)) { fail(c, key, "an object", it); break; }
        model_config_t *m = model_slot(cfg, it->string);
        if (!m || strlen(it->string) >= sizeof m->name) {
            fail(c, key, "at most 16 models with names under 64 bytes", it);
            break;
        }
        load_model(c, it, m);
    }
    const cJSON *tiers = cJSON_GetObjectItemCaseSensitive(root, "tiers");
    check_object(c, tiers, "tiers");
    if (cJSON_IsObject(tiers)) cJSON_ArrayForEach(it, tiers) {
        char key[160];
        snprintf(key, sizeof key, "tiers.%s", it->string);
        tier_config_t *t = !strcmp(it->string, "preview")      ? &cfg->preview
                           : !strcmp(it->string, "production") ? &cfg->production
                                                               : NULL;
        if (!t) { fail(c, key, "a tier named \"preview\" or \"production\"", it); break; }
        if (!cJSON_IsObject(it)) { fail(c, key, "an object", it); break; }
        load_tier(c, it, t);
    }
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "asset_classes");
    check_object(c, classes, "asset_classes");
    if (cJSON_IsObject(classes)) cJSON_ArrayForEach(it, classes) {
        char key[160];
        snprintf(key, sizeof key, "asset_classes.%s", it->string);
        if (!cJSON_IsObject(it)) { fail(c, key, "an object", it); break; }
        asset_class_t *a = class_slot(cfg, it->string);
        if (!a || strlen(it->string) >= sizeof a->name) {
            fail(c, key, "at most 16 classes with names under 32 bytes", it);
            break;
        }
        load_class(c, it, a);
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "verifier");
    check_object(c, v, "verifier");
    if (cJSON_IsObject(v)) load_verifier(c, v, &cfg->verifier);

    /* Cross-references: every tier names a configured model. */
    const tier_config_t *tiers_[] = {&cfg->preview, &cfg->production};
    for (int i = 0; i < 2 && !c->failed; i++) {
        char key[64];
        snprintf(key, sizeof key, "tiers.%s.model", tiers_[i]->name);
        if (!config_model(cfg, tiers_[i]->model)) {
            cJSON *found = cJSON_CreateString(tiers_[i]->model);
            fail(c, key, "the name of a model configured under \"models\"", found);
            cJSON_Delete(found);
        }
        for (int f = 0; f < tiers_[i]->n_fallbacks && !c->failed; f++) {
            if (!config_model(cfg, tiers_[i]->fallbacks[f])) {
                snprintf(key, sizeof key, "tiers.%s.fallbacks", tiers_[i]->name);
                cJSON *found = cJSON_CreateString(tiers_[i]->fallbacks[f]);
                fail(c, key, "names of models configured under \"models\"", found);
                cJSON_Delete(found);
            }
        }
    }
    return c->failed ? -1 : 0;
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
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
        if (!root) {
            int line = 1, col = 1;
            const char *stop = end ? end : cJSON_GetErrorPtr();
            for (const char *p = text; stop && p < stop && p < text + len; p++) {
                if (*p == '\n') { line++; col = 1; } else col++;
            }
            snprintf(err, errlen, "%s:%d:%d: expected valid JSON (the file is not parseable here)",
                     path, line, col);
            free(text);
            return -1;
        }
        ctx_t c = {path, err, errlen, 0};
        int rc = load_json(&c, cfg, root);
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
    return NULL;
}

const char *config_topic(const config_t *cfg, const char *shortname, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", cfg->topic_prefix, shortname);
    return buf;
}

const char *route_name(route_t r) {
    return r == ROUTE_FINAL ? "final" : r == ROUTE_PRODUCTION_ONLY ? "production_only" : "preview";
}

const char *over_budget_name(over_budget_t p) {
    return p == OVER_BUDGET_DEGRADE ? "degrade" : p == OVER_BUDGET_REJECT ? "reject" : "defer";
}
