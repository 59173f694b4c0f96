/* model_client.c — image-model requests over libcurl multi: timers for retries, a
 * circuit breaker per model, ordered fallbacks; see model_client.h for the policy. */
#include "model/model_client.h"
#include "base/alloc.h"
#include "base/clock.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/providers.h"
#include "base/redact.h"
#include "model/provider.h"
#include "runtime/loop.h"

#define CONNECT_TIMEOUT_MS 1000
#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS 5000
#define GATE_RETRY_MS 1000   /* the rate gate could not answer: ask again after this */
#define TOKEN_MAX_BYTES 65536 /* a metadata server's token answer */
#define TOKEN_REFRESH_MARGIN_MS 60000 /* refresh a token this long before it expires ... */
#define METADATA_TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
/* A body may carry the largest PNG as base64 inside JSON. */
#define MAX_BODY_BYTES ((size_t)MODEL_CLIENT_MAX_PNG_BYTES / 3 * 4 + (1u << 20))
#define MAX_ENDPOINTS (1 + CFG_MAX_FALLBACKS)

typedef enum { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state_t;

/* One model of the tier: how to reach it and whether it is healthy. */
typedef struct {
    const model_config_t *model;
    const provider_t *provider;
    char base_url[512];
    char *api_key;              /* "" when none; never logged */
    cJSON *params;              /* models.NAME.params, checked against the adapter */
    provider_target_t target;
    /* api_key_file: what the file was when last read (re-read when it changes). */
    bool key_file_known;
    dev_t key_dev;
    ino_t key_ino;
    off_t key_size;
    struct timespec key_mtime;
    /* token_source metadata: the token's life and the fetch in flight. */
    int64_t token_expires_ms;   /* 0 = no token yet */
    int64_t token_lifetime_ms;
    CURL *token_easy;
    struct curl_slist *token_headers;
    char token_url[600];
    char token_err[CURL_ERROR_SIZE];
    char *token_buf;
    size_t token_len;
    bool token_too_big;
    breaker_state_t state;
    int failures;               /* consecutive */
    int64_t opened_ms;
    bool probing;               /* half-open: the one probe is in flight */
} endpoint_t;

/* One submitted render, from submit to model_client_next. */
typedef struct call {
    struct call *prev, *next;   /* mc->calls: every call not yet returned */
    struct call *qnext;         /* mc->done queue */
    render_request_t req;       /* strings owned */
    void *opaque;
    int ep;                     /* current endpoint */
    int ep_attempts;            /* attempts on it */
    int attempts;               /* over all endpoints */
    bool probe;                 /* this attempt is the half-open probe */
    bool waiting;               /* retry or rate timer armed */
    bool gate_pending;          /* waits for the rate gate (model_client_run_gate) */
    bool slot_held;             /* the rate gate granted a slot on endpoint slot_ep */
    int slot_ep;
    int64_t due_ms, started_ms;
    CURL *easy;                 /* the attempt in flight, or NULL */
    provider_request_t hreq;
    char curl_err[CURL_ERROR_SIZE];
    unsigned char *buf;
    size_t len, cap;
    bool too_big;
    bool auth_refreshed;        /* a 401 already re-read the credentials once */
    bool token_wait;            /* waits for its model's metadata token */
    render_sent_t sent;         /* what the last request built asked for */
    render_timing_t timing;     /* of the last transfer that completed */
    char reason[64];            /* last failure */
    char detail[512];
    int http_status;
    char trail[512];            /* what happened on models already left behind */
    render_result_t *result;
} call_t;

struct model_client {
    CURLM *multi;
    tier_config_t tier;
    endpoint_t ep[MAX_ENDPOINTS];
    int n_ep;
    long timeout_ms;
    call_t *calls;              /* all calls not yet returned */
    call_t *done_head, *done_tail;
    int n_calls, n_waiting, n_done, n_gate_pending;
    loop_t *loop;               /* the worker's event loop: curl's sockets and timers */
    loop_timer_id curl_timer;   /* libcurl's one timeout */
    loop_timer_id retry_timer;  /* the earliest retry or rate wait */
    int64_t retry_due_ms;
    uint64_t rng;
    model_rate_gate_t gate;     /* NULL: no fleet-wide rate limits */
    void *gate_ctx;
};

static void start_attempt(model_client_t *mc, call_t *c);
static void arm_retry_timer(model_client_t *mc);
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp);
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp);

/* ==== Small things ==== */

static uint64_t rng_next(model_client_t *mc) {
    uint64_t x = mc->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return mc->rng = x;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

/* Appends a printf-formatted sentence to a fixed buffer, "; "-separated, truncating. */
static void append(char *dst, size_t dstlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *dst, size_t dstlen, const char *fmt, ...) {
    size_t n = strlen(dst);
    if (n && n + 2 < dstlen) { strcat(dst, "; "); n += 2; }
    if (n + 1 >= dstlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + n, dstlen - n, fmt, ap);
    va_end(ap);
}

/* ==== Set-up ==== */

/* Registers a loaded key with the one redaction rule (base/redact.h): the key, its
 * Bearer and Basic forms follow from it; for A1111's "user:password" the password alone
 * too. A key too short to redact is still used, with a warning naming the model. */
static void register_api_key(const model_config_t *m, const char *key) {
    if (!*key) return;
    const char *colon = strchr(key, ':');
    const char *password = !strcmp(m->provider, "a1111") && colon && colon[1] ? colon + 1 : NULL;
    if (redact_add_secret(key) && (!password || redact_add_secret(password))) return;
    char why[96];
    snprintf(why, sizeof why, "%s shorter than %d characters: logs cannot tell it from other text",
             password ? "the key or its password is" : "the key is", REDACT_MIN_SECRET);
    log_warn("api_key_not_redacted", "model", m->name, "why", why, NULL);
}

/* Reads the one line of m->api_key_file into a malloc'd *key. Returns 0, or -1 with err
 * naming the config key and what the file holds (never its text). */
static int read_key_file(const model_config_t *m, char **key, char *err, size_t errlen) {
    char ferr[256];
    size_t len = 0;
    char *text = file_read_all(m->api_key_file, 1 << 16, &len, ferr, sizeof ferr);
    if (!text) {
        snprintf(err, errlen, "models.%s.api_key_file: %s", m->name, ferr);
        return -1;
    }
    while (len && isspace((unsigned char)text[len - 1])) text[--len] = '\0';
    size_t skip = strspn(text, " \t\r\n");
    if (!text[skip] || strpbrk(text + skip, "\r\n")) {
        snprintf(err, errlen, "models.%s.api_key_file: expected one line holding the API key in %s, found %s",
                 m->name, m->api_key_file, text[skip] ? "several lines" : "an empty file");
        free(text);
        return -1;
    }
    memmove(text, text + skip, len - skip + 1);
    *key = text;
    return 0;
}

/* Reads the model's API key from its env var or file into *key ("" when none configured,
 * or when the token comes from the metadata server). Returns 0, or -1 with err naming
 * the model and where the key was expected. */
static int load_api_key(const model_config_t *m, char **key, char *err, size_t errlen) {
    if (m->api_key_env[0]) {
        const char *v = getenv(m->api_key_env);
        if (!v || !*v) {
            snprintf(err, errlen, "models.%s.api_key_env: expected the API key in environment variable %s, found it %s",
                     m->name, m->api_key_env, v ? "empty" : "unset");
            return -1;
        }
        *key = strdup(v);
    } else if (m->api_key_file[0]) {
        if (read_key_file(m, key, err, errlen)) return -1;
    } else {
        *key = strdup("");
    }
    if (!*key) {
        snprintf(err, errlen, "models.%s: out of memory", m->name);
        return -1;
    }
    register_api_key(m, *key);
    return 0;
}

/* Remembers what the key file is now (device, inode, size, mtime). */
static void note_key_file(endpoint_t *e, const struct stat *st) {
    e->key_file_known = true;
    e->key_dev = st->st_dev;
    e->key_ino = st->st_ino;
    e->key_size = st->st_size;
    e->key_mtime = st->st_mtim;
}

/* api_key_file: re-reads the key when the file changed (a sidecar or `gcloud auth
 * print-access-token` rewrote or replaced it), or always when forced (after a 401).
 * A file that cannot be read keeps the key in use, with a warning. */
static void refresh_key_file(endpoint_t *e, bool force) {
    const model_config_t *m = e->model;
    struct stat st;
    if (stat(m->api_key_file, &st) != 0) {
        if (force) log_warn("api_key_file_unreadable", "model", m->name, "file", m->api_key_file, NULL);
        return;
    }
    if (!force && e->key_file_known && st.st_dev == e->key_dev && st.st_ino == e->key_ino &&
        st.st_size == e->key_size && st.st_mtim.tv_sec == e->key_mtime.tv_sec &&
        st.st_mtim.tv_nsec == e->key_mtime.tv_nsec)
        return;
    char *key = NULL, err[400];
    if (read_key_file(m, &key, err, sizeof err)) {
        log_warn("api_key_file_unreadable", "model", m->name, "error", err, NULL);
        return;
    }
    note_key_file(e, &st);
    if (strcmp(key, e->api_key)) {
        register_api_key(m, key);
        log_info("api_key_reloaded", "model", m->name, "file", m->api_key_file, NULL);
    }
    free(e->api_key);
    e->api_key = key;
    e->target.api_key = key;
}

/* ==== Metadata server tokens ==== */

static size_t on_token_body(char *data, size_t size, size_t nmemb, void *userp) {
    endpoint_t *e = userp;
    size_t n = size * nmemb;
    if (e->token_len + n > TOKEN_MAX_BYTES) {
        e->token_too_big = true;
        return 0;
    }
    char *b = xrealloc(e->token_buf, e->token_len + n + 1);
    e->token_buf = b;
    memcpy(b + e->token_len, data, n);
    e->token_len += n;
    b[e->token_len] = '\0';
    return n;
}

/* Starts fetching a token from the metadata server (GET .../token with
 * Metadata-Flavor: Google) unless one fetch is already in flight. */
static void token_fetch_start(model_client_t *mc, endpoint_t *e) {
    if (e->token_easy) return;
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Metadata-Flavor: Google");
    if (!h || !hd) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hd);
        return;
    }
    e->token_len = 0;
    e->token_too_big = false;
    e->token_err[0] = '\0';
    snprintf(e->token_url, sizeof e->token_url, "%s%s", e->model->metadata_url, METADATA_TOKEN_PATH);
    curl_easy_setopt(h, CURLOPT_URL, e->token_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_token_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, e);
    curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, e->token_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, mc->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pressroom-model-client/1");
    if (curl_multi_add_handle(mc->multi, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hd);
        return;
    }
    e->token_easy = h;
    e->token_headers = hd;
    log_debug("metadata_token_fetch", "model", e->model->name, "url", e->token_url, NULL);
}

static void token_release(model_client_t *mc, endpoint_t *e) {
    if (e->token_easy) {
        curl_multi_remove_handle(mc->multi, e->token_easy);
        curl_easy_cleanup(e->token_easy);
        e->token_easy = NULL;
    }
    curl_slist_free_all(e->token_headers);
    e->token_headers = NULL;
}

/* Reads the metadata server's answer {"access_token","expires_in","token_type":"Bearer"}.
 * Returns 0 with the new token in place, or -1 with why in err (never the body's token). */
static int token_accept(model_client_t *mc, endpoint_t *e, CURLcode cc, char *err, size_t errlen) {
    long status = 0;
    curl_easy_getinfo(e->token_easy, CURLINFO_RESPONSE_CODE, &status);
    const char *who = e->token_url;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "token from %s: %s", who,
                 e->token_too_big ? "answer over 64 KiB" : e->token_err[0] ? e->token_err : curl_easy_strerror(cc));
        return -1;
    }
    if (status != 200) {
        snprintf(err, errlen, "token from %s: expected HTTP 200, found HTTP %ld", who, status);
        return -1;
    }
    cJSON *j = e->token_buf ? cJSON_ParseWithLength(e->token_buf, e->token_len) : NULL;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "token_type");
    int rc = -1;
    if (!cJSON_IsString(tok) || !tok->valuestring[0] || strpbrk(tok->valuestring, "\r\n") || !cJSON_IsNumber(exp) ||
        exp->valuedouble < 1 || exp->valuedouble > 86400 || (type && !(cJSON_IsString(type) && !strcmp(type->valuestring, "Bearer"))))
        snprintf(err, errlen, "token from %s: expected {\"access_token\": \"...\", \"expires_in\": 1..86400, "
                 "\"token_type\": \"Bearer\"}, found %s", who, !j ? "a body that is not JSON" : "other members");
    else {
        char *key = xstrdup(tok->valuestring);
        register_api_key(e->model, key);
        free(e->api_key);
        e->api_key = key;
        e->target.api_key = key;
        e->token_lifetime_ms = (int64_t)(exp->valuedouble * 1000);
        e->token_expires_ms = mono_ms() + e->token_lifetime_ms;
        char s[24];
        snprintf(s, sizeof s, "%d", (int)exp->valuedouble);
        log_info("metadata_token_refreshed", "model", e->model->name, "expires_in_s", s, NULL);
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

static void retry_or_move_on(model_client_t *mc, call_t *c, long retry_after_s);
static void set_failure(call_t *c, const char *reason, int status, const char *detail);

/* A token fetch finished: wake the calls that waited for it (or fail their attempt). */
static void on_token_done(model_client_t *mc, endpoint_t *e, CURLcode cc) {
    char err[512] = "";
    int rc = token_accept(mc, e, cc, err, sizeof err);
    token_release(mc, e);
    if (rc) log_warn("metadata_token_failed", "model", e->model->name, "error", err, NULL);
    int idx = (int)(e - mc->ep);
    for (call_t *c = mc->calls; c; c = c->next) {
        if (!c->token_wait || c->ep != idx) continue;
        c->token_wait = false;
        if (!rc) {
            start_attempt(mc, c);
            continue;
        }
        c->ep_attempts++;
        c->attempts++;
        set_failure(c, "upstream_unavailable", 0, err);
        retry_or_move_on(mc, c, 0);
    }
}

/* Before an attempt on e: the credentials it will send are current. Returns false when
 * the call must wait for a metadata token (c->token_wait set, the fetch started). */
static bool credentials_ready(model_client_t *mc, endpoint_t *e, call_t *c) {
    const model_config_t *m = e->model;
    if (m->api_key_file[0]) refresh_key_file(e, false);
    if (!m->token_from_metadata) return true;
    int64_t now = mono_ms();
    int64_t margin = e->token_lifetime_ms / 4 < TOKEN_REFRESH_MARGIN_MS ? e->token_lifetime_ms / 4 : TOKEN_REFRESH_MARGIN_MS;
    if (e->token_expires_ms && now < e->token_expires_ms - margin) return true;
    token_fetch_start(mc, e);
    if (e->token_expires_ms && now < e->token_expires_ms) return true; /* still valid: refresh in the background */
    if (!e->token_easy) return true; /* could not start a fetch: the attempt goes without, the 401 says so */
    c->token_wait = true;
    return false;
}

static int add_endpoint(model_client_t *mc, const config_t *cfg, const char *name, char *err, size_t errlen) {
    const model_config_t *m = config_model(cfg, name);
    if (!m) {
        snprintf(err, errlen, "tiers.%s: expected a model configured under \"models\", found \"%s\"",
                 mc->tier.name, name);
        return -1;
    }
    const provider_t *p = provider_find(m->provider);
    if (!p) {
        char names[256];
        provider_names_list(names, sizeof names);
        snprintf(err, errlen, "models.%s.provider: expected one of %s, found \"%s\"", m->name, names, m->provider);
        return -1;
    }
    endpoint_t *e = &mc->ep[mc->n_ep];
    memset(e, 0, sizeof *e);
    e->model = m;
    e->provider = p;
    if (m->endpoint[0]) snprintf(e->base_url, sizeof e->base_url, "%s", m->endpoint);
    else if (p->default_base) p->default_base(cfg->renderer_url, e->base_url, sizeof e->base_url);
    else snprintf(e->base_url, sizeof e->base_url, "%s", cfg->renderer_url);
    size_t n = strlen(e->base_url);
    while (n && e->base_url[n - 1] == '/') e->base_url[--n] = '\0';
    if (strncmp(e->base_url, "http://", 7) && strncmp(e->base_url, "https://", 8)) {
        snprintf(err, errlen, "models.%s.endpoint: expected an http:// or https:// URL, found \"%s\"", m->name,
                 e->base_url);
        return -1;
    }
    const char *userinfo = strstr(e->base_url, "://"), *at = userinfo ? strchr(userinfo + 3, '@') : NULL;
    if (at && !memchr(userinfo + 3, '/', (size_t)(at - userinfo - 3))) { /* http://user:pass@host */
        char cred[512];
        snprintf(cred, sizeof cred, "%.*s", (int)(at - userinfo - 3), userinfo + 3);
        redact_add_secret(cred); /* connection failures quote the endpoint URL */
    }
    if (load_api_key(m, &e->api_key, err, errlen)) return -1;
    struct stat st;
    if (m->api_key_file[0] && stat(m->api_key_file, &st) == 0) note_key_file(e, &st);
    mc->n_ep++; /* from here model_client_free frees what the endpoint holds */
    e->target.model = m->name;
    e->target.provider_model = m->provider_model[0] ? m->provider_model : m->name;
    e->target.base_url = e->base_url;
    e->target.api_key = e->api_key;
    if (m->params_json[0]) {
        e->params = cJSON_Parse(m->params_json);
        if (!e->params) {
            snprintf(err, errlen, "models.%s.params: out of memory", m->name);
            return -1;
        }
        e->target.params = e->params;
    }
    char perr[400];
    if (provider_check_params(p, &e->target, perr, sizeof perr)) {
        snprintf(err, errlen, "%s%smodels.%s.%s (provider %s, model %s)", cfg->path, cfg->path[0] ? ": " : "", m->name,
                 perr, p->name, e->target.provider_model);
        return -1;
    }
    return 0;
}

model_client_t *model_client_new(const config_t *cfg, const tier_config_t *tier, loop_t *loop, char *err,
                                 size_t errlen) {
    model_client_t *mc = calloc(1, sizeof *mc);
    if (!mc) {
        snprintf(err, errlen, "model client: out of memory");
        return NULL;
    }
    mc->tier = *tier;
    mc->loop = loop;
    mc->timeout_ms = 2L * tier->max_latency_ms + CONNECT_TIMEOUT_MS;
    mc->rng = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() ^ (uintptr_t)mc;
    if (!mc->rng) mc->rng = 1;
    if (add_endpoint(mc, cfg, tier->model, err, errlen)) goto fail;
    for (int i = 0; i < tier->n_fallbacks; i++)
        if (add_endpoint(mc, cfg, tier->fallbacks[i], err, errlen)) goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference counted; thread-safe in 7.84+ */
    mc->multi = curl_multi_init();
    if (!mc->multi) {
        snprintf(err, errlen, "model client: curl_multi_init failed");
        goto fail;
    }
    /* Every request in flight gets its own connection (HTTP/1.1) and keeps it afterwards:
     * the worker's window, not libcurl, bounds concurrency. */
    long conns = tier->max_inflight > 0 ? tier->max_inflight : 1;
    curl_multi_setopt(mc->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(mc->multi, CURLMOPT_MAXCONNECTS, conns * mc->n_ep);
    curl_multi_setopt(mc->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(mc->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(mc->multi, CURLMOPT_SOCKETDATA, mc);
    curl_multi_setopt(mc->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(mc->multi, CURLMOPT_TIMERDATA, mc);
    return mc;
fail:
    model_client_free(mc);
    return NULL;
}

int64_t model_client_longest_request_ms(const model_client_t *mc) {
    /* Per model: every attempt runs to its timeout, and every wait between attempts is
     * as long as it may be (a Retry-After up to the timeout, or the backoff's cap). */
    int64_t wait = mc->timeout_ms > BACKOFF_CAP_MS ? mc->timeout_ms : BACKOFF_CAP_MS;
    int64_t per_model = (int64_t)(mc->tier.max_retries + 1) * mc->timeout_ms + (int64_t)mc->tier.max_retries * wait;
    return per_model * mc->n_ep;
}

int64_t model_client_worst_case_micros(const model_client_t *mc) {
    int64_t worst = 0;
    for (int i = 0; i < mc->n_ep; i++)
        if (mc->ep[i].model->price_micros > worst) worst = mc->ep[i].model->price_micros;
    return worst;
}

/* ==== Circuit breaker ==== */

static const char *breaker_name(breaker_state_t s) {
    return s == BREAKER_OPEN ? "open" : s == BREAKER_HALF_OPEN ? "half_open" : "closed";
}

const char *model_client_breaker_state(const model_client_t *mc, const char *model, int *failures) {
    for (int i = 0; i < mc->n_ep; i++) {
        if (strcmp(mc->ep[i].model->name, model)) continue;
        if (failures) *failures = mc->ep[i].failures;
        breaker_state_t s = mc->ep[i].state;
        if (s == BREAKER_OPEN && mono_ms() - mc->ep[i].opened_ms >= mc->tier.breaker_cooldown_ms)
            return "half_open"; /* due for a probe */
        return breaker_name(s);
    }
    return NULL;
}

/* May an attempt go to e now? Sets *probe when it is the half-open probe. */
static bool breaker_admit(model_client_t *mc, endpoint_t *e, int64_t now, bool *probe) {
    *probe = false;
    if (e->state == BREAKER_CLOSED) return true;
    if (e->state == BREAKER_OPEN && now - e->opened_ms >= mc->tier.breaker_cooldown_ms) {
        e->state = BREAKER_HALF_OPEN;
        e->probing = false;
    }
    if (e->state == BREAKER_HALF_OPEN && !e->probing) {
        e->probing = true;
        *probe = true;
        return true;
    }
    return false;
}

static void breaker_success(endpoint_t *e, call_t *c) {
    e->failures = 0;
    if (c->probe) e->probing = false;
    if (e->state != BREAKER_CLOSED) {
        e->state = BREAKER_CLOSED;
        log_info("model_breaker_closed", "model", e->model->name, NULL);
    }
}

static void breaker_open(endpoint_t *e, const char *why) {
    char n[16];
    snprintf(n, sizeof n, "%d", e->failures);
    e->state = BREAKER_OPEN;
    e->opened_ms = mono_ms();
    e->probing = false;
    log_warn("model_breaker_open", "model", e->model->name, "consecutive_failures", n, "last_failure", why, NULL);
}

static void breaker_failure(model_client_t *mc, endpoint_t *e, call_t *c, const char *why) {
    e->failures++;
    if (c->probe) {
        c->probe = false;
        breaker_open(e, why);
    } else if (e->state == BREAKER_CLOSED && e->failures >= mc->tier.breaker_failures) {
        breaker_open(e, why);
    }
}

/* ==== Completion ==== */

static void release_transfer(model_client_t *mc, call_t *c) {
    if (c->easy) {
        curl_multi_remove_handle(mc->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    provider_request_free(&c->hreq);
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    c->too_big = false;
}

static void finish(model_client_t *mc, call_t *c, bool ok, unsigned char *png, size_t png_len) {
    release_transfer(mc, c);
    render_result_t *r = calloc(1, sizeof *r);
    if (!r) {
        /* Out of memory: nothing sensible left to report; drop the image, keep the call. */
        free(png);
        log_error("model_client_oom", "where", "finish", NULL);
        return;
    }
    const endpoint_t *e = &mc->ep[c->ep < mc->n_ep ? c->ep : mc->n_ep - 1];
    r->ok = ok;
    r->png = png;
    r->png_len = png_len;
    snprintf(r->model, sizeof r->model, "%s", e->model->name);
    r->price_micros = ok ? e->model->price_micros : 0;
    r->http_status = c->http_status;
    r->attempts = c->attempts;
    r->latency_ms = mono_ms() - c->started_ms;
    r->sent = c->sent;
    r->timing = c->timing;
    redact(r->sent.note, sizeof r->sent.note);
    if (!ok) {
        snprintf(r->reason, sizeof r->reason, "%s", c->reason[0] ? c->reason : "upstream_unavailable");
        if (c->trail[0] && c->ep < mc->n_ep)
            append(r->detail, sizeof r->detail, "%s (earlier: %s)", c->detail, c->trail);
        else if (c->trail[0] && mc->n_ep == 1)
            append(r->detail, sizeof r->detail, "%s", c->trail);
        else if (c->trail[0])
            append(r->detail, sizeof r->detail, "every model failed: %s", c->trail);
        else
            snprintf(r->detail, sizeof r->detail, "%s", c->detail);
        redact(r->detail, sizeof r->detail);
    }
    c->result = r;
    c->qnext = NULL;
    if (mc->done_tail) mc->done_tail->qnext = c;
    else mc->done_head = c;
    mc->done_tail = c;
    mc->n_done++;
}

/* Records the last failure on the current model. */
static void set_failure(call_t *c, const char *reason, int status, const char *detail) {
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    snprintf(c->detail, sizeof c->detail, "%s", detail);
    redact(c->detail, sizeof c->detail); /* providers echo keys; a cut copy may end in one */
    c->http_status = status;
}

/* Arms c's timer: start_attempt runs again after delay_ms. */
static void wait_for(model_client_t *mc, call_t *c, int64_t delay_ms) {
    c->waiting = true;
    c->due_ms = mono_ms() + delay_ms;
    mc->n_waiting++;
}

/* Leaves the current model for the next one (or the end of the list). */
static void move_on(model_client_t *mc, call_t *c) {
    append(c->trail, sizeof c->trail, "%s after %d attempt%s: %s", mc->ep[c->ep].model->name, c->ep_attempts,
           c->ep_attempts == 1 ? "" : "s", c->detail);
    c->ep++;
    c->ep_attempts = 0;
    start_attempt(mc, c);
}

/* Does this failure move the request on to the next model? tier.fallback_on when set;
 * else today's rule: timeouts, connection errors, 429 and 5xx (once retries are spent)
 * and an open breaker do, refusals (4xx, safety) do not. */
static bool falls_back(const model_client_t *mc, const char *reason, int status) {
    const tier_config_t *t = &mc->tier;
    bool timeout = !strcmp(reason, "timeout"), unavailable = !strcmp(reason, "upstream_unavailable") && !status;
    if (!t->fallback_configured)
        return timeout || !strcmp(reason, "upstream_unavailable") || !strcmp(reason, "rate_limited") ||
               !strcmp(reason, "circuit_open");
    for (int i = 0; status && i < t->n_fallback_status; i++)
        if (t->fallback_status[i] == status) return true;
    if (timeout) return t->fallback_on & FALLBACK_ON_TIMEOUT;
    if (unavailable) return t->fallback_on & FALLBACK_ON_UNAVAILABLE;
    if (!strcmp(reason, "safety_filtered")) return t->fallback_on & FALLBACK_ON_SAFETY_REFUSAL;
    if (!strcmp(reason, "circuit_open")) return t->fallback_on & FALLBACK_ON_BREAKER_OPEN;
    return false;
}

/* This model is done with the request: the next model when the failure falls back,
 * else the end (the result names this model and its failure). */
static void leave_model(model_client_t *mc, call_t *c) {
    if (falls_back(mc, c->reason, c->http_status)) return move_on(mc, c);
    if (c->ep + 1 < mc->n_ep)
        append(c->detail, sizeof c->detail, "no fallback: tiers.%s.fallback_on does not list %s", mc->tier.name,
               c->http_status ? "this status" : c->reason);
    finish(mc, c, false, NULL, 0);
}

/* A retryable failure: count it against the breaker, then retry this model after a
 * backoff (or Retry-After), or move on when its retries are spent, its breaker opened,
 * or the server asks to wait longer than an attempt may take. */
static void retry_or_move_on(model_client_t *mc, call_t *c, long retry_after_s) {
    endpoint_t *e = &mc->ep[c->ep];
    breaker_failure(mc, e, c, c->reason);
    if (c->ep_attempts > mc->tier.max_retries || e->state == BREAKER_OPEN) return leave_model(mc, c);
    int64_t base = BACKOFF_BASE_MS << (c->ep_attempts - 1 < 16 ? c->ep_attempts - 1 : 16);
    if (base > BACKOFF_CAP_MS) base = BACKOFF_CAP_MS;
    int64_t delay = base / 2 + (int64_t)(rng_next(mc) % (uint64_t)(base / 2 + 1));
    if (retry_after_s > 0) {
        int64_t ra = (int64_t)retry_after_s * 1000;
        if (ra > mc->timeout_ms) {
            append(c->detail, sizeof c->detail, "Retry-After %ld s exceeds the %ld ms request timeout", retry_after_s,
                   mc->timeout_ms);
            return leave_model(mc, c);
        }
        if (ra > delay) delay = ra;
    }
    wait_for(mc, c, delay);
    char d[24], a[16];
    snprintf(d, sizeof d, "%" PRId64, delay);
    snprintf(a, sizeof a, "%d", c->ep_attempts);
    log_debug("model_retry", "model", e->model->name, "reason", c->reason, "attempt", a, "delay_ms", d,
              "detail", c->detail, NULL);
}

static bool retryable_status(long s) {
    return s == 408 || s == 429 || s >= 500;
}

/* libcurl's timing of c's completed transfer (cumulative times since its start),
 * cut into steps. */
static void record_timing(call_t *c) {
    curl_off_t dns = 0, conn = 0, tls = 0, first = 0, total = 0;
    curl_easy_getinfo(c->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(c->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(c->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total);
    /* A reused connection reports 0 for the steps it skipped. */
    if (conn < dns) conn = dns;
    curl_off_t secured = tls > conn ? tls : conn;
    if (first < secured) first = secured;
    if (total < first) total = first;
    c->timing = (render_timing_t){.dns_us = dns,
                                  .connect_us = conn - dns,
                                  .tls_us = secured - conn,
                                  .first_byte_us = first - secured,
                                  .transfer_us = total - first,
                                  .total_us = total};
}

/* One transfer finished: classify and act (finish, retry, move on). */
static void on_transfer_done(model_client_t *mc, call_t *c, CURLcode cc) {
    endpoint_t *e = &mc->ep[c->ep];
    long status = 0;
    curl_off_t retry_after = 0;
    char *ctype = NULL;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &retry_after);
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (cc == CURLE_OK) record_timing(c);
    char detail[512];

    if (cc != CURLE_OK) {
        if (c->too_big) {
            snprintf(detail, sizeof detail, "%s: response body exceeds %zu bytes (the largest PNG allowed is %u bytes)",
                     e->model->name, MAX_BODY_BYTES, MODEL_CLIENT_MAX_PNG_BYTES);
            set_failure(c, "bad_response", (int)status, detail);
            breaker_failure(mc, e, c, "bad_response");
            return finish(mc, c, false, NULL, 0);
        }
        bool timeout = cc == CURLE_OPERATION_TIMEDOUT;
        if (timeout)
            snprintf(detail, sizeof detail, "%s at %s: no answer within %ld ms (timeout = 2 x max_latency_ms + %d ms)",
                     e->model->name, e->base_url, mc->timeout_ms, CONNECT_TIMEOUT_MS);
        else
            snprintf(detail, sizeof detail, "%s at %s: %s", e->model->name, e->base_url,
                     c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
        set_failure(c, timeout ? "timeout" : "upstream_unavailable", 0, detail);
        release_transfer(mc, c);
        return retry_or_move_on(mc, c, 0);
    }

    provider_response_t resp = {status, c->buf ? c->buf : (const unsigned char *)"", c->len, ctype, c->easy,
                                e->model->name};
    provider_outcome_t out;
    memset(&out, 0, sizeof out);
    int64_t decode_start = mono_us();
    e->provider->parse(&resp, &out);
    c->timing.decode_us = mono_us() - decode_start;
    release_transfer(mc, c);
    c->http_status = (int)status;

    if (status >= 200 && status <= 299) {
        if (out.ok) {
            breaker_success(e, c);
            return finish(mc, c, true, out.png, out.png_len);
        }
        free(out.png);
        set_failure(c, out.reason[0] ? out.reason : "bad_response", (int)status, out.detail);
        if (!strcmp(c->reason, "bad_response")) breaker_failure(mc, e, c, "bad_response");
        else breaker_success(e, c);
        if (mc->tier.fallback_configured && !strcmp(c->reason, "safety_filtered") && falls_back(mc, c->reason, 0)) {
            c->http_status = 0; /* a 200 refusal is no status to list */
            return move_on(mc, c);
        }
        return finish(mc, c, false, NULL, 0);
    }
    free(out.png);
    if (status == 401 && !c->auth_refreshed) {
        /* Credentials may have been rotated under us: re-read them and retry once now. */
        c->auth_refreshed = true;
        set_failure(c, "http_4xx", (int)status, out.detail);
        if (e->model->api_key_file[0]) refresh_key_file(e, true);
        if (e->model->token_from_metadata) e->token_expires_ms = 0;
        log_info("model_auth_retry", "model", e->model->name, "detail", c->detail, NULL);
        return start_attempt(mc, c);
    }
    if (retryable_status(status)) {
        set_failure(c, status == 429 ? "rate_limited" : status == 408 ? "timeout" : "upstream_unavailable",
                    (int)status, out.detail);
        return retry_or_move_on(mc, c, (long)retry_after);
    }
    /* The server is up and refused this request: terminal, and no mark against the model. */
    breaker_success(e, c);
    const char *reason = out.reason[0] ? out.reason : (status >= 400 && status <= 499) ? "http_4xx" : "bad_response";
    if (!out.detail[0]) snprintf(out.detail, sizeof out.detail, "HTTP %ld from %s", status, e->model->name);
    set_failure(c, reason, (int)status, out.detail);
    if (mc->tier.fallback_configured && falls_back(mc, c->reason, c->http_status)) return move_on(mc, c);
    finish(mc, c, false, NULL, 0);
}

/* ==== Transfers ==== */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    call_t *c = userp;
    size_t n = size * nmemb;
    if (c->len + n > MAX_BODY_BYTES) {
        c->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + n) cap *= 2;
        unsigned char *b = realloc(c->buf, cap);
        if (!b) return 0;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return n;
}

void model_client_set_rate_gate(model_client_t *mc, model_rate_gate_t gate, void *ctx) {
    mc->gate = gate;
    mc->gate_ctx = ctx;
}

/* The rate gate for the attempt about to start on e. Returns true when it may start
 * now; false when c waits: for the gate to be asked (model_client_run_gate, from the
 * owner's before-sleep hook, never from inside a transfer), or for its slot's time. */
static bool rate_slot(model_client_t *mc, call_t *c, endpoint_t *e) {
    bool admitted = c->attempts == 0 && c->ep == 0 && c->req.rate_admitted;
    if (!mc->gate || e->model->rate_limit <= 0 || admitted) return true;
    bool held = c->slot_held && c->slot_ep == c->ep; /* the timer of a granted slot fired */
    c->slot_held = false; /* a slot on a model left behind is simply not used */
    if (held) return true;
    if (c->probe) { /* give the half-open probe back while waiting */
        e->probing = false;
        c->probe = false;
    }
    if (!c->gate_pending) {
        c->gate_pending = true;
        mc->n_gate_pending++;
    }
    return false;
}

/* Asks the gate for c's slot on its current model; starts c or arms its wait. */
static void ask_gate(model_client_t *mc, call_t *c) {
    endpoint_t *e = &mc->ep[c->ep];
    int64_t delay = 0;
    int g = mc->gate(mc->gate_ctx, e->model->name, &delay);
    if (g < 0) delay = GATE_RETRY_MS;
    c->slot_held = g == 0;
    c->slot_ep = c->ep;
    if (g == 0 && delay <= 0) return start_attempt(mc, c);
    char d[24];
    snprintf(d, sizeof d, "%" PRId64, delay);
    log_debug("model_rate_wait", "model", e->model->name, "delay_ms", d, "slot", c->slot_held ? "taken" : "none",
              NULL);
    wait_for(mc, c, delay > 0 ? delay : 1);
}

int model_client_run_gate(model_client_t *mc) {
    int asked = 0;
    for (call_t *c = mc->calls; c && mc->n_gate_pending; c = c->next) {
        if (!c->gate_pending) continue;
        c->gate_pending = false;
        mc->n_gate_pending--;
        ask_gate(mc, c);
        asked++;
    }
    arm_retry_timer(mc);
    return asked;
}

/* Starts the next attempt of c on the first model, from c->ep on, whose breaker admits
 * it; finishes c when none is left or the request cannot be built. */

/* The endpoint's target, with the model id of the job's template's fine-tune for this
 * provider (templates.NAME.providers.P.model) when it names one. */
static const provider_target_t *target_for(const endpoint_t *e, const render_request_t *req, provider_target_t *buf) {
    const template_adapter_t *a = template_adapter(req->tmpl, e->provider->name);
    if (!a || !a->provider_model[0]) return &e->target;
    *buf = e->target;
    buf->provider_model = a->provider_model;
    return buf;
}

static void start_attempt(model_client_t *mc, call_t *c) {
    int64_t now = mono_ms();
    for (; c->ep < mc->n_ep; c->ep++, c->ep_attempts = 0) {
        endpoint_t *e = &mc->ep[c->ep];
        if (breaker_admit(mc, e, now, &c->probe)) break;
        char detail[256];
        int64_t left = mc->tier.breaker_cooldown_ms - (now - e->opened_ms);
        snprintf(detail, sizeof detail, "circuit open after %d consecutive failures (next probe in %" PRId64 " ms)",
                 e->failures, left > 0 ? left : 0);
        set_failure(c, "circuit_open", 0, detail);
        if (!falls_back(mc, "circuit_open", 0)) {
            append(c->detail, sizeof c->detail, "no fallback: tiers.%s.fallback_on does not list breaker_open",
                   mc->tier.name);
            return finish(mc, c, false, NULL, 0);
        }
        append(c->trail, sizeof c->trail, "%s skipped: %s", e->model->name, detail);
    }
    if (c->ep >= mc->n_ep) return finish(mc, c, false, NULL, 0);

    endpoint_t *e = &mc->ep[c->ep];
    if (!rate_slot(mc, c, e)) return; /* waits on a timer for its slot */
    if (!credentials_ready(mc, e, c)) {
        if (c->probe) { /* give the half-open probe back while waiting */
            e->probing = false;
            c->probe = false;
        }
        return;
    }
    char err[256] = "";
    provider_target_t target;
    c->easy = curl_easy_init();
    if (!c->easy) snprintf(err, sizeof err, "curl_easy_init failed");
    else if (e->provider->build(target_for(e, &c->req, &target), &c->req, c->easy, &c->hreq, err, sizeof err) == 0 &&
             !provider_header(&c->hreq, "Expect", "%s", "")) {
        c->sent = c->hreq.sent;
        /* "Expect:" (empty) drops curl's 100-continue round trip on large bodies. */
        CURL *h = c->easy;
        curl_easy_setopt(h, CURLOPT_URL, c->hreq.url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hreq.headers);
        if (c->hreq.mime) {
            curl_easy_setopt(h, CURLOPT_MIMEPOST, c->hreq.mime);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->hreq.body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->hreq.body ? c->hreq.body : "");
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_PRIVATE, c);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, mc->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "pressroom-model-client/1");
        c->curl_err[0] = '\0';
        c->ep_attempts++;
        c->attempts++;
        if (curl_multi_add_handle(mc->multi, h) == CURLM_OK) return;
        snprintf(err, sizeof err, "curl_multi_add_handle failed");
    } else if (!err[0]) {
        snprintf(err, sizeof err, "out of memory building the request");
    }
    if (c->probe) e->probing = false;
    char detail[400];
    snprintf(detail, sizeof detail, "%s: could not build the %s request: %s", e->model->name, e->provider->name, err);
    set_failure(c, "invalid_request", 0, detail);
    finish(mc, c, false, NULL, 0);
}

int model_client_plan(model_client_t *mc, const render_request_t *req, render_sent_t *sent) {
    endpoint_t *e = &mc->ep[0];
    CURL *h = curl_easy_init();
    provider_request_t hreq;
    memset(&hreq, 0, sizeof hreq);
    char err[256];
    provider_target_t target;
    int rc = h ? e->provider->build(target_for(e, req, &target), req, h, &hreq, err, sizeof err) : -1;
    if (!rc) *sent = hreq.sent;
    provider_request_free(&hreq);
    curl_easy_cleanup(h);
    return rc;
}

int model_client_submit(model_client_t *mc, const render_request_t *req, void *opaque) {
    call_t *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->req = *req;
    c->req.prompt = dup_or_null(req->prompt ? req->prompt : "");
    c->req.negative_prompt = dup_or_null(req->negative_prompt);
    if (!c->req.prompt || (req->negative_prompt && !c->req.negative_prompt)) {
        free((char *)c->req.prompt);
        free((char *)c->req.negative_prompt);
        free(c);
        return -1;
    }
    c->opaque = opaque;
    c->started_ms = mono_ms();
    c->next = mc->calls;
    if (mc->calls) mc->calls->prev = c;
    mc->calls = c;
    mc->n_calls++;
    start_attempt(mc, c);
    arm_retry_timer(mc);
    return 0;
}

/* ==== Event loop ==== */

/* Finished transfers: classify and act on each. */
static void read_done(model_client_t *mc) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(mc->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        endpoint_t *tok = NULL;
        for (int i = 0; i < mc->n_ep; i++)
            if (mc->ep[i].token_easy == m->easy_handle) tok = &mc->ep[i];
        if (tok) {
            on_token_done(mc, tok, m->data.result);
            continue;
        }
        call_t *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        on_transfer_done(mc, c, m->data.result);
    }
    arm_retry_timer(mc);
}

static void socket_action(model_client_t *mc, curl_socket_t fd, int flags) {
    int running = 0;
    CURLMcode rc = curl_multi_socket_action(mc->multi, fd, flags, &running);
    if (rc != CURLM_OK) log_error("model_client_socket_action", "error", curl_multi_strerror(rc), NULL);
    read_done(mc);
}

static void on_socket_ready(void *ctx, int fd, int events) {
    socket_action(ctx, fd, ((events & LOOP_READ) ? CURL_CSELECT_IN : 0) | ((events & LOOP_WRITE) ? CURL_CSELECT_OUT : 0));
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which of its sockets to watch for what. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    model_client_t *mc = userp;
    if (what == CURL_POLL_REMOVE) loop_unwatch(mc->loop, fd);
    else
        loop_watch(mc->loop, fd,
                   (what == CURL_POLL_IN ? LOOP_READ : what == CURL_POLL_OUT ? LOOP_WRITE : LOOP_READ | LOOP_WRITE),
                   on_socket_ready, mc);
    return 0;
}

static void on_curl_timeout(void *ctx) {
    model_client_t *mc = ctx;
    mc->curl_timer = 0;
    socket_action(mc, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: libcurl's one timeout, as a loop timer (never acted on here:
 * libcurl forbids calling it back from inside this callback). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
    model_client_t *mc = userp;
    loop_timer_cancel(mc->loop, mc->curl_timer);
    mc->curl_timer = timeout_ms < 0 ? 0 : loop_timer_at(mc->loop, mono_ms() + timeout_ms, on_curl_timeout, mc);
    return 0;
}

static void fire_retries(void *ctx) {
    model_client_t *mc = ctx;
    mc->retry_timer = 0;
    int64_t now = mono_ms();
    for (call_t *c = mc->calls; c && mc->n_waiting; c = c->next) {
        if (!c->waiting || c->due_ms > now) continue;
        c->waiting = false;
        mc->n_waiting--;
        start_attempt(mc, c);
    }
    arm_retry_timer(mc);
}

/* Keeps one loop timer at the earliest retry or rate wait. */
static void arm_retry_timer(model_client_t *mc) {
    int64_t best = -1;
    for (call_t *c = mc->calls; c && mc->n_waiting; c = c->next)
        if (c->waiting && (best < 0 || c->due_ms < best)) best = c->due_ms;
    if (best < 0 || (mc->retry_timer && best == mc->retry_due_ms)) {
        if (best < 0 && mc->retry_timer) {
            loop_timer_cancel(mc->loop, mc->retry_timer);
            mc->retry_timer = 0;
        }
        return;
    }
    loop_timer_cancel(mc->loop, mc->retry_timer);
    mc->retry_due_ms = best;
    mc->retry_timer = loop_timer_at(mc->loop, best, fire_retries, mc);
}

int model_client_waiting_for_gate(const model_client_t *mc) { return mc->n_gate_pending; }

int model_client_ready(const model_client_t *mc) { return mc->n_done; }

render_result_t *model_client_next(model_client_t *mc, void **opaque) {
    call_t *c = mc->done_head;
    if (!c) return NULL;
    mc->done_head = c->qnext;
    if (!mc->done_head) mc->done_tail = NULL;
    mc->n_done--;
    if (c->prev) c->prev->next = c->next;
    else mc->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    mc->n_calls--;
    render_result_t *r = c->result;
    if (opaque) *opaque = c->opaque;
    free((char *)c->req.prompt);
    free((char *)c->req.negative_prompt);
    free(c);
    return r;
}

int model_client_inflight(const model_client_t *mc) {
    return mc->n_calls;
}

void render_result_free(render_result_t *r) {
    if (!r) return;
    free(r->png);
    free(r);
}

void model_client_free(model_client_t *mc) {
    if (!mc) return;
    call_t *c = mc->calls;
    while (c) {
        call_t *next = c->next;
        release_transfer(mc, c);
        render_result_free(c->result);
        free((char *)c->req.prompt);
        free((char *)c->req.negative_prompt);
        free(c);
        c = next;
    }
    if (mc->loop) {
        loop_timer_cancel(mc->loop, mc->curl_timer);
        loop_timer_cancel(mc->loop, mc->retry_timer);
    }
    for (int i = 0; mc->multi && i < mc->n_ep; i++) token_release(mc, &mc->ep[i]);
    if (mc->multi) {
        curl_multi_cleanup(mc->multi);
        curl_global_cleanup();
    }
    for (int i = 0; i < mc->n_ep; i++) {
        free(mc->ep[i].token_buf);
        cJSON_Delete(mc->ep[i].params);
        free(mc->ep[i].api_key);
    }
    free(mc);
}
