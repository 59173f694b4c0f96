/* config.h — the orchestrator config: one JSON file, everything but the seed's
 * snippet has a default.
 *
 *   {"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 800},
 *              "production": {"model": "imagen4_ultra", "max_latency_ms": 2200}},
 *    "verify_ocr": true}
 *
 * loads unchanged. Environment overrides (applied after the file):
 *   PRESSROOM_CONFIG   path of the file (when no path is given to config_load)
 *   PRESSROOM_BROKERS  Kafka bootstrap list
 *   PRESSROOM_REDIS    Redis address, host:port or redis://host:port
 *   PRESSROOM_RENDERER base URL of the default model endpoint (models without "endpoint")
 *   PRESSROOM_BLOBS    blob store root URI (file:///path or s3://bucket/prefix)
 *   PRESSROOM_METRICS_LISTEN  HOST:PORT of a worker's /healthz, /readyz, /metrics
 * The full reference is in README.md and schemas/config.schema.json. */
#ifndef PRESSROOM_CONFIG_H
#define PRESSROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_MODELS 16
#define CFG_MAX_CLASSES 16
#define CFG_MAX_FALLBACKS 4
#define CFG_MAX_TEMPLATES 8
#define TEMPLATE_MAX_SLOTS 8
#define TEMPLATE_MAX_VALUES 8   /* synthetic values per slot (pressctl dataset synth) */
#define TEMPLATE_MAX_ADAPTERS 4 /* per-provider overrides */
#define TEMPLATE_MAX_LORAS 4
#define TEMPLATE_VALUE_LEN 128

/* One model: how to call it and, for the reference renderer, how it behaves. */
typedef struct {
    char name[64];            /* key under "models": our alias, e.g. "sd3.5_turbo" */
    char provider[16];        /* adapter: one of PRESSROOM_PROVIDERS (base/providers.h) */
    char provider_model[128]; /* the provider's model id sent on the wire ("model" field,
                                 checkpoint or URL segment); "" = the alias */
    char params_json[2048];   /* models.NAME.params: an object of provider extras (strings,
                                 numbers, booleans), compact JSON; "" = none. Checked against
                                 the adapter's known parameters when the client starts */
    char endpoint[512];       /* base URL; "" = the renderer_url */
    char api_key_env[64];     /* env var holding the API key ("" = none) */
    char api_key_file[256];   /* or a file holding it (re-read when it changes) */
    bool token_from_metadata; /* token_source "metadata": an OAuth token from the GCE
                                 metadata server (vertex) instead of a key */
    char metadata_url[256];   /* its base URL; default http://metadata.google.internal */
    int64_t price_micros;     /* price of one image, micro-dollars */
    int rate_limit;           /* provider's limit, GCRA fleet-wide: requests ... */
    int rate_period_s;        /* ... per this many seconds; 0 = unlimited */
    /* Reference renderer profile (ignored by real providers). */
    int latency_p50_ms;       /* log-normal latency: median */
    int latency_p99_ms;       /* and 99th percentile */
    double rate_typo;         /* substituted letter */
    double rate_drop;         /* dropped letter */
    double rate_extra;        /* extra letter */
    double rate_offzone;      /* text outside its safe zone */
    double rate_low_contrast; /* ink too close to background */
    double rate_off_palette;  /* background off the brand palette */
    bool prerendered;         /* serve a cached image per (prompt, size): benchmarks */
    double styled_fraction;   /* of the images drawn styled (display face, effect, rotation,
                                 texture, grain; draw.h); default 0 */
    /* Reference renderer fault injection (tests): the first fault_first_n requests
     * to this model, then each further one with probability fault_rate, get the
     * fault instead of an image. */
    char fault[16];           /* "" | status | timeout | garbage | safety */
    int fault_status;         /* HTTP status for "status" (500, 429, 400 ...) */
    int fault_first_n;
    double fault_rate;
    int fault_retry_after_s;  /* Retry-After header on 429 */
} model_config_t;

typedef struct {
    char name[16];            /* "preview" | "production" | "backfill" (a budget only: the
                                 backfill lane's cap and window, and its share) */
    char model[64];           /* primary model (a key of models[]) */
    char fallbacks[CFG_MAX_FALLBACKS][64]; /* ordered fallback models */
    int n_fallbacks;
    int max_latency_ms;       /* per-request budget; request timeout derives from it */
    int max_inflight;         /* model requests in flight per worker process */
    int max_retries;          /* per endpoint, on 429/5xx/timeouts */
    int64_t cap_micros;       /* spend cap per window; 0 = no cap */
    int window_s;             /* 3600 (hour) or 86400 (day) */
    int lease_ttl_s;          /* in-flight lease lifetime; 0 = derived (1.5 x the longest request, >= 60 s) */
    int breaker_failures;     /* consecutive failures that open a model's circuit */
    int breaker_cooldown_ms;  /* how long it stays open before one probe */
    double lane_share;        /* backfill: the share of a worker's in-flight window the lane
                                 may take (0.25) */
    /* tiers.*.fallback_on: what moves a request on to the next model. Default (none
     * configured): retries spent on 408/429/5xx/timeouts/connection errors, and an open
     * breaker; a refusal (4xx, safety) ends the request. */
    bool fallback_configured;
    unsigned fallback_on;     /* FALLBACK_ON_* bits */
    int fallback_status[16];  /* HTTP statuses listed */
    int n_fallback_status;
} tier_config_t;

enum {
    FALLBACK_ON_TIMEOUT = 1u << 0,        /* timeouts and 408 */
    FALLBACK_ON_SAFETY_REFUSAL = 1u << 1, /* the provider's safety filter refused */
    FALLBACK_ON_BREAKER_OPEN = 1u << 2,   /* the model's breaker is open */
    FALLBACK_ON_UNAVAILABLE = 1u << 3,    /* connection refused, reset, empty reply */
};

typedef enum { ROUTE_PREVIEW = 0, ROUTE_FINAL, ROUTE_PRODUCTION_ONLY } route_t;
typedef enum { OVER_BUDGET_DEFER = 0, OVER_BUDGET_DEGRADE, OVER_BUDGET_REJECT } over_budget_t;

/* An asset class: which route its jobs take and what happens when over budget. */
typedef struct {
    char name[32];
    route_t route;              /* preview: a verified preview is final;
                                   final: verified preview then a production render;
                                   production_only: skip the preview */
    over_budget_t over_budget;
    int max_attempts;           /* renders per job, preview included; default: the
                                   top-level max_attempts (3) */
} asset_class_t;

typedef struct {
    int threads;                /* OCR threads; 0 = number of cores */
    int max_inflight;           /* images being read or checked; 0 = derived (verifier_window) */
    int64_t max_png_bytes;      /* untrusted PNG bounds */
    int max_dimension;
    int max_png_chunks;
    double safe_zone;           /* fraction of each dimension, default 0.9 */
    double min_contrast;        /* WCAG ratio, default 4.5 (3.0 for large text) */
    double palette_tolerance;   /* CIEDE2000 */
    double blur_threshold;      /* variance of Laplacian below this = blurred */
    double min_confidence;      /* mean word confidence below this = unreadable */
} verifier_config_t;

/* templates.NAME.slots.SLOT: a "{SLOT}" placeholder of the template's prompt. */
typedef struct {
    char name[32];
    bool has_default;
    char def[TEMPLATE_VALUE_LEN];       /* "default": used when the job gives no value */
    char values[TEMPLATE_MAX_VALUES][TEMPLATE_VALUE_LEN]; /* "values": synthetic pairs draw from these */
    int n_values;
} template_slot_t;

/* templates.NAME.providers.PROVIDER: what a render on that provider adds. */
typedef struct {
    char provider[16];                  /* one of PRESSROOM_PROVIDERS */
    char model[64];                     /* "model": a configured model alias of the same provider (a
                                           fine-tune) whose provider model id is sent instead; "" = none */
    char provider_model[128];           /* that model's id on the wire (resolved at load) */
    char lora[TEMPLATE_MAX_LORAS][64];  /* "loras": [{"name","weight"}] -> "<lora:NAME:WEIGHT>" (a1111) */
    double lora_weight[TEMPLATE_MAX_LORAS];
    int n_loras;
    char alwayson_scripts_json[1024];   /* "alwayson_scripts" (a1111), compact JSON object; "" = none */
} template_adapter_t;

/* templates.NAME: an editorial template a job names with "template". */
typedef struct {
    char name[64];
    char prompt[1024];                  /* with "{slot}" placeholders; the job's prompt replaces it */
    template_slot_t slots[TEMPLATE_MAX_SLOTS];
    int n_slots;
    bool has_region;                    /* "zone": {x,y,w,h}, the text's region (fractions) */
    double region_x, region_y, region_w, region_h;
    uint32_t palette[8];                /* "palette": ["#RRGGBB", ...] */
    int n_palette;
    template_adapter_t adapters[TEMPLATE_MAX_ADAPTERS];
    int n_adapters;
} template_config_t;

/* The s3:// blob store (config key "s3"); see common/blob/blobstore.h. */
typedef struct {
    char region[64];            /* "" = $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1 */
    char endpoint[256];         /* "" = $AWS_ENDPOINT_URL_S3, else https://s3.<region>.amazonaws.com */
    bool virtual_host;          /* addressing "virtual": bucket.host/key; "path": host/bucket/key */
    char credentials_file[512]; /* "" = $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials */
    char profile[64];           /* "" = $AWS_PROFILE, else "default" */
    int timeout_ms;             /* one request, connect included */
    int max_retries;            /* on 5xx and connection errors, with backoff */
} s3_config_t;

typedef struct {
    char path[512];             /* file it was loaded from, "" = defaults only */
    char brokers[512];
    char redis[256];            /* host:port, or seeds host:port,host:port,... (Cluster) */
    int redis_wait_replicas;    /* budget writes count once this many replicas have them */
    char renderer_url[256];
    char blob_root[512];
    s3_config_t s3;
    int blob_threads;           /* per worker: threads storing (rendering) or reading (verifier) images off the loop */
    int blob_presign_ttl_s;     /* > 0: verdicts carry a presigned GET URL valid this long (s3 only) */
    char metrics_listen[64];    /* HOST:PORT for /healthz /readyz /metrics; "" = off */
    char topic_prefix[64];      /* default "pressroom." */
    char group_prefix[64];      /* consumer group = prefix + worker name */
    int session_timeout_ms;     /* consumer group session timeout */
    int max_message_bytes;      /* larger inputs go to the DLQ unparsed (kafka.max_message_bytes) */
    int64_t buffer_max_bytes;   /* polled inputs waiting for the window: pause past this many bytes */
    int buffer_max_messages;    /* ... or this many (0 = 4 x the window, at least 1024) */
    int drain_timeout_ms;       /* after SIGTERM, how long in-flight work may take before the worker exits */
    bool verify_ocr;
    int default_max_attempts;
    tier_config_t preview;
    tier_config_t production;
    tier_config_t backfill;     /* the backfill lane's budget (tiers.backfill) */
    model_config_t models[CFG_MAX_MODELS];
    int n_models;
    asset_class_t classes[CFG_MAX_CLASSES];
    int n_classes;
    verifier_config_t verifier;
    template_config_t templates[CFG_MAX_TEMPLATES];
    int n_templates;
} config_t;

/* Loads `path` (NULL: $PRESSROOM_CONFIG, or defaults only when unset) into *cfg,
 * then applies the environment overrides. Returns 0, or -1 with a sentence in err
 * naming the file, the key and the expected form:
 *   "examples/config.json: tiers.preview.max_latency_ms: expected a positive integer
 *    (milliseconds), found \"fast\"" */
int config_load(config_t *cfg, const char *path, char *err, size_t errlen);

/* The dev stack's env file ($PRESSROOM_DEV_DIR/dev.env, default .pressroom/dev.env,
 * written by `pressctl dev up`): its KEY=VALUE lines go into the environment, without
 * overriding what is set, so the operator's tools talk to that stack. No file: nothing. */
void config_load_dev_env(void);

/* Defaults only (no file, no environment). */
void config_defaults(config_t *cfg);

const model_config_t *config_model(const config_t *cfg, const char *name);
/* The asset class named `name`; NULL when unknown. */
const asset_class_t *config_class(const config_t *cfg, const char *name);
/* The known asset class names, in the config's order, as "avatar", "paid", ... into
 * buf (for "unknown asset class \"x\": expected one of ..."), truncated to len - 1
 * bytes and NUL-terminated when len > 0. Returns the length of the whole list, as
 * snprintf does. */
size_t config_class_names(const config_t *cfg, char *buf, size_t len);
/* The template named `name`; NULL when unknown. */
const template_config_t *config_template(const config_t *cfg, const char *name);
/* A template's override for a provider ("a1111"); NULL when it has none (t may be NULL). */
const template_adapter_t *template_adapter(const template_config_t *t, const char *provider);
const tier_config_t *config_tier(const config_t *cfg, const char *tier);
/* The backfill lane's twin of a stage's input topic: "jobs" -> "backfill", "verify" ->
 * "verify.backfill", "production" -> "production.backfill"; NULL for the terminal topics
 * (results, rejected, dlq: verdicts are verdicts, whichever lane). */
const char *config_lane_topic(const char *shortname);
/* Full topic name for a short name ("jobs" -> "pressroom.jobs"), into buf. */
const char *config_topic(const config_t *cfg, const char *shortname, char *buf, size_t len);
/* The topics an operator names by their short name (jobs, backfill, verify, ..., dlq). */
extern const char *const CONFIG_TOPIC_NAMES[];
extern const size_t CONFIG_N_TOPIC_NAMES;
/* A topic named by its short name or its full name (with cfg's prefix): the full name in
 * buf and, when shortname is not NULL, the short one; NULL when it is none of them. */
const char *config_topic_named(const config_t *cfg, const char *s, char *buf, size_t len, const char **shortname);

const char *route_name(route_t r);
const char *over_budget_name(over_budget_t p);

#endif
