/* pressroom-renderer — the reference model endpoint: real provider APIs (OpenAI
 * Images, the seed's raw /render, Stability v2beta, AUTOMATIC1111, Vertex AI Imagen)
 * answered with real PNGs drawn by common/draw.c, so the pipeline runs with no GPU
 * and no internet.
 *
 *   pressroom-renderer --config FILE --listen 127.0.0.1:PORT
 *
 * Each configured model (config "models") is a profile: price, log-normal latency,
 * rates of typographic mistakes, optional fault injection, optional prerendered
 * cache. The same request gives the same bytes. What was really drawn is reported in
 * the X-Pressroom-Truth header (workers never read it; tests and evals do), the price
 * in X-Pressroom-Price-Micros.
 *
 * With --api-key-env VAR it checks credentials as the providers do: a request whose
 * Authorization is neither "Bearer $VAR" nor "Basic base64($VAR)" (A1111's user:password)
 * is answered in its dialect's error shape with --auth-status (default 401; 429 or 503
 * make the client retry), and the message quotes the credentials received, as some
 * providers echo a wrong key — what the workers' redaction must catch. Without the
 * flag no credentials are checked. With --api-key-file FILE instead, the accepted key
 * is FILE's one line, re-read on every request (a rotated token is refused at once),
 * and GET /computeMetadata/v1/instance/service-accounts/default/token with header
 * "Metadata-Flavor: Google" answers as the GCE metadata server does:
 * {"access_token": <FILE's key>, "expires_in": --token-lifetime-s (default 3599),
 * "token_type": "Bearer"} (403 without the header).
 *
 * A request names its model by the provider's id (models.NAME.provider_model, default
 * NAME) in its dialect; two models of one provider with the same id are refused at
 * start-up: the renderer could not tell them apart.
 *
 * Prints "listening http://HOST:PORT" on stdout once ready, serves until SIGTERM or
 * SIGINT, exits 0. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/fileio.h"
#include "base/hostport.h"
#include "runtime/admin_http.h"
#include "base/log.h"
#include "base/redact.h"
#include "renderer.h"

#define CACHE_BUCKETS 1024
#define CACHE_MAX_ENTRIES 4096 /* per model; beyond it prerendered images are drawn each time */
#define TIMEOUT_FAULT_MS 30000
#define DISCARD_LIMIT (8u << 20) /* oversized chunked bodies: read this much, then hang up */

/* ==== State ==== */

typedef struct cache_entry {
    struct cache_entry *next;
    char *key;
    image_t img;
} cache_entry_t;

/* Runtime state of one configured model. */
typedef struct {
    const model_config_t *cfg;
    atomic_long requests;      /* counts requests for the fault's first_n */
    pthread_mutex_t cache_lock;
    cache_entry_t *cache[CACHE_BUCKETS];
    int cache_n;
} model_state_t;

static struct {
    config_t cfg;
    model_state_t models[CFG_MAX_MODELS];
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
} g;

/* Per-connection upload state (MHD's con_cls). */
typedef struct {
    char *buf;
    size_t len, cap;
    bool too_large;
    bool answered;   /* a 413 was queued before the body was read */
} upload_t;

/* ==== Randomness and time ==== */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Per-thread randomness for what need not be deterministic: latency, fault_rate. */
static double thread_unit(void) {
    static _Thread_local uint64_t state;
    if (!state) state = now_ns() ^ (uint64_t)(uintptr_t)&state;
    return unit(&state);
}

/* Sleeps ms milliseconds, or less when the server is stopping. */
static void sleep_interruptible(int ms) {
    if (ms <= 0) return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g.stop_lock);
    while (!g.stopping &&
           pthread_cond_timedwait(&g.stop_cond, &g.stop_lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&g.stop_lock);
}

/* A log-normal latency with median p50 and 99th percentile p99, milliseconds. */
static int latency_sample(const model_config_t *m) {
    if (m->latency_p50_ms <= 0) return 0;
    double sigma = m->latency_p99_ms > m->latency_p50_ms
                       ? log((double)m->latency_p99_ms / m->latency_p50_ms) / 2.3263478740
                       : 0;
    double u1 = thread_unit(), u2 = thread_unit();
    double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
    double ms = m->latency_p50_ms * exp(sigma * z);
    return ms > 120000 ? 120000 : (int)ms;
}

/* ==== Choosing and drawing the scene ==== */

/* FNV-1a over the request's identity: model, prompt, seed, guidance. */
static uint64_t request_hash(const char *model, const render_request_t *rq) {
    uint64_t h = 0xcbf29ce484222325ULL;
#define MIX(p, n)                                                                          \
    for (size_t i_ = 0; i_ < (n); i_++) h = (h ^ ((const unsigned char *)(p))[i_]) * 0x100000001b3ULL
    MIX(model, strlen(model) + 1);
    MIX(rq->prompt, strlen(rq->prompt) + 1);
    MIX(&rq->seed, sizeof rq->seed);
    long long guidance = llround(rq->guidance * 1e6);
    MIX(&guidance, sizeof guidance);
#undef MIX
    return h;
}

/* One mistake drawn with the profile's rates, each multiplied by min(1, (7/g)^2):
 * stronger guidance, fewer mistakes. off_palette needs a palette to be off from.
 * When the rates add up to more than 1 they are shares of a certain mistake. */
static mistake_t choose_mistake(const model_config_t *m, const render_request_t *rq, uint64_t *rng) {
    double k = fmin(1.0, pow(DEFAULT_GUIDANCE / rq->guidance, 2));
    double rate[MISTAKE_COUNT] = {0, m->rate_typo, m->rate_drop, m->rate_extra, m->rate_offzone,
                                  m->rate_low_contrast,
                                  rq->spec.n_palette > 0 ? m->rate_off_palette : 0};
    double sum = 0;
    for (int i = 1; i < MISTAKE_COUNT; i++) sum += rate[i] * k;
    double scale = sum > 1 ? 1 / sum : 1, u = unit(rng), acc = 0;
    for (int i = 1; i < MISTAKE_COUNT; i++) {
        acc += rate[i] * k * scale;
        if (u < acc) return (mistake_t)i;
    }
    return MISTAKE_NONE;
}

/* --truth-log: every drawn image's ground truth, one JSON line each (evaluations and
 * the demo read it; workers never do). */
static int g_truth_fd = -1;

/* One line on fd: O_APPEND, one write. */
static void log_truth_fd(int fd, const char *truth) {
    size_t n = strlen(truth);
    char *line = malloc(n + 2);
    if (!line) return;
    memcpy(line, truth, n);
    line[n] = '\n';
    ssize_t w = write(fd, line, n + 1); /* O_APPEND: one line, one write */
    (void)w;
    free(line);
}

static void log_truth(const char *truth) {
    if (g_truth_fd >= 0) log_truth_fd(g_truth_fd, truth);
}

/* --request-log: every model request that reached a dialect (after authentication), one
 * JSON line each: {"ts_ms","path","content_type","body"}; body is the request's JSON, or
 * {"bytes": N} for a body that is not JSON (multipart). Headers are never written: the
 * credentials stay out of it. Tests read it to see what an adapter sent. */
static int g_request_fd = -1;

static void log_request(const http_in_t *in) {
    if (g_request_fd < 0) return;
    cJSON *o = cJSON_CreateObject();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cJSON_AddNumberToObject(o, "ts_ms", (double)ts.tv_sec * 1000 + (double)(ts.tv_nsec / 1000000));
    cJSON_AddStringToObject(o, "path", in->url);
    if (in->content_type) cJSON_AddStringToObject(o, "content_type", in->content_type);
    cJSON *body = strlen(in->body) == in->body_len ? cJSON_ParseWithLength(in->body, in->body_len) : NULL;
    if (!body) {
        body = cJSON_CreateObject();
        cJSON_AddNumberToObject(body, "bytes", (double)in->body_len);
    }
    cJSON_AddItemToObject(o, "body", body);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text) log_truth_fd(g_request_fd, text);
    free(text);
}

static int draw_request(const model_config_t *m, const render_request_t *rq, image_t *img,
                        char *err, size_t errlen) {
    uint64_t rng = request_hash(m->name, rq);
    scene_t s;
    memset(&s, 0, sizeof s);
    s.width = rq->width;
    s.height = rq->height;
    memcpy(s.lines, rq->spec.lines, sizeof s.lines);
    s.n_lines = rq->spec.n_lines;
    memcpy(s.palette, rq->spec.palette, sizeof s.palette);
    s.n_palette = rq->spec.n_palette;
    s.font_family = "DejaVu Sans";
    s.bold = true;
    s.has_region = rq->spec.has_region;
    s.region_x = rq->spec.region_x;
    s.region_y = rq->spec.region_y;
    s.region_w = rq->spec.region_w;
    s.region_h = rq->spec.region_h;
    s.seed = splitmix(&rng);
    s.styled_fraction = m->styled_fraction;
    /* A scene with no overlay text still has a subject (a flat fill would be blank). */
    s.background = s.n_lines == 0 ? BG_SUBJECT : unit(&rng) < 0.15 ? BG_GRADIENT : BG_FLAT;
    mistake_t chosen = choose_mistake(m, rq, &rng);
    s.mistake = rq->forced ? rq->forced_mistake : chosen;
    scene_truth_t truth;
    memset(img, 0, sizeof *img);
    if (draw_scene(&s, &img->png, &img->png_len, &truth, err, errlen)) return -1;
    img->b64 = base64_encode(img->png, img->png_len, NULL);
    img->truth = scene_truth_json_tagged(&truth, m->name, rq->seed);
    if (!img->b64 || !img->truth) {
        image_free(img);
        snprintf(err, errlen, "out of memory encoding a %zu-byte PNG", img->png_len);
        return -1;
    }
    log_truth(img->truth);
    return 0;
}

static uint64_t key_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* The image for rq: from the model's prerendered cache (keyed by prompt and size,
 * filled by the first request) or freshly drawn. */
static int render_image(model_state_t *ms, const render_request_t *rq, image_t *img, char *err,
                        size_t errlen) {
    if (!ms->cfg->prerendered) return draw_request(ms->cfg, rq, img, err, errlen);
    size_t klen = strlen(rq->prompt) + 32;
    char *key = malloc(klen);
    if (!key) abort();
    snprintf(key, klen, "%dx%d\n%s", rq->width, rq->height, rq->prompt);
    unsigned b = (unsigned)(key_hash(key) % CACHE_BUCKETS);
    pthread_mutex_lock(&ms->cache_lock);
    for (cache_entry_t *e = ms->cache[b]; e; e = e->next)
        if (!strcmp(e->key, key)) {
            *img = e->img;
            pthread_mutex_unlock(&ms->cache_lock);
            free(key);
            return 0;
        }
    pthread_mutex_unlock(&ms->cache_lock);
    if (draw_request(ms->cfg, rq, img, err, errlen)) {
        free(key);
        return -1;
    }
    pthread_mutex_lock(&ms->cache_lock);
    for (cache_entry_t *e = ms->cache[b]; e; e = e->next)
        if (!strcmp(e->key, key)) { /* another thread drew it meanwhile: use theirs */
            image_free(img);
            *img = e->img;
            pthread_mutex_unlock(&ms->cache_lock);
            free(key);
            return 0;
        }
    cache_entry_t *e = ms->cache_n < CACHE_MAX_ENTRIES ? calloc(1, sizeof *e) : NULL;
    if (e) {
        img->shared = true;
        e->key = key;
        e->img = *img;
        e->next = ms->cache[b];
        ms->cache[b] = e;
        ms->cache_n++;
        key = NULL;
    }
    pthread_mutex_unlock(&ms->cache_lock);
    free(key);
    return 0;
}

static void cache_free(model_state_t *ms) {
    for (int b = 0; b < CACHE_BUCKETS; b++) {
        cache_entry_t *e = ms->cache[b];
        while (e) {
            cache_entry_t *next = e->next;
            e->img.shared = false;
            image_free(&e->img);
            free(e->key);
            free(e);
            e = next;
        }
        ms->cache[b] = NULL;
    }
}

/* ==== Serving one request ==== */

/* A model's id on the wire: provider_model, else its key. */
static const char *wire_id(const model_config_t *m) {
    return m->provider_model[0] ? m->provider_model : m->name;
}

/* The profile a request names: the model of this dialect's provider whose wire id is
 * `wire`; else the model whose key is `wire` (a request straight to the renderer). */
static model_state_t *model_state(const char *dialect, const char *wire) {
    for (int i = 0; i < g.cfg.n_models; i++)
        if (!strcmp(g.models[i].cfg->provider, dialect) && !strcmp(wire_id(g.models[i].cfg), wire)) return &g.models[i];
    for (int i = 0; i < g.cfg.n_models; i++)
        if (!strcmp(g.models[i].cfg->name, wire)) return &g.models[i];
    return NULL;
}

/* Whether this request to the model gets its injected fault: the first first_n
 * requests, then each with probability fault_rate. */
static bool fault_due(model_state_t *ms, long *nth) {
    *nth = atomic_fetch_add(&ms->requests, 1) + 1;
    const model_config_t *m = ms->cfg;
    if (!m->fault[0]) return false;
    return *nth <= m->fault_first_n || (m->fault_rate > 0 && thread_unit() < m->fault_rate);
}

/* The answer to a parsed, valid request for a known model. */
static void serve(model_state_t *ms, const dialect_ops_t *ops, render_request_t *rq, reply_t *out) {
    const model_config_t *m = ms->cfg;
    uint64_t t0 = now_ns();
    int latency = latency_sample(m);
    long nth;
    if (fault_due(ms, &nth)) {
        log_debug("fault_injected", "model", m->name, "kind", m->fault, NULL);
        if (!strcmp(m->fault, "status")) {
            char msg[160];
            snprintf(msg, sizeof msg, "injected fault: HTTP %d for model %s (request %ld)",
                     m->fault_status, m->name, nth);
            ops->error(m->fault_status, msg, out);
            if (m->fault_status == 429 || m->fault_status == 503)
                reply_headerf(out, "Retry-After", "%d", m->fault_retry_after_s);
            return;
        }
        if (!strcmp(m->fault, "timeout")) {
            sleep_interruptible(TIMEOUT_FAULT_MS);
        } else {
            sleep_interruptible(latency);
            if (!strcmp(m->fault, "garbage")) ops->garbage(rq, (unsigned)nth, out);
            else ops->safety(rq, out);
            return;
        }
    }
    image_t img;
    char err[512];
    if (render_image(ms, rq, &img, err, sizeof err)) {
        log_error("render_failed", "model", m->name, "error", err, NULL);
        ops->error(500, err, out);
        return;
    }
    int spent = (int)((now_ns() - t0) / 1000000ULL);
    sleep_interruptible(latency - spent);
    ops->image(rq, &img, out);
    reply_headerf(out, "X-Pressroom-Price-Micros", "%lld", (long long)m->price_micros);
    reply_header(out, "X-Pressroom-Truth", img.truth);
    image_free(&img);
}

/* --api-key-env: the credentials accepted (NULL: none checked), and the status of a refusal. */
static struct {
    char *bearer, *basic;
    int status;
    const char *file;   /* --api-key-file: the accepted key, re-read per request */
    int token_lifetime_s;
} g_auth = {NULL, NULL, 401, NULL, 3599};

/* The key in --api-key-file now (malloc'd, registered for redaction), or NULL. */
static char *key_file_read(void) {
    char ferr[256];
    size_t len = 0;
    char *text = file_read_all(g_auth.file, 1 << 16, &len, ferr, sizeof ferr);
    if (!text) return NULL;
    while (len && strchr(" \t\r\n", text[len - 1])) text[--len] = '\0';
    size_t skip = strspn(text, " \t\r\n");
    memmove(text, text + skip, len - skip + 1);
    if (!text[0]) {
        free(text);
        return NULL;
    }
    redact_add_secret(text);
    return text;
}

/* GET .../service-accounts/default/token: the metadata server's token answer. */
static void metadata_token(const http_in_t *in, reply_t *out) {
    if (!in->metadata_flavor || strcmp(in->metadata_flavor, "Google")) {
        const char *msg = "Missing Metadata-Flavor:Google header.";
        reply_body(out, 403, "text/html", strdup(msg), strlen(msg));
        return;
    }
    char *key = g_auth.file ? key_file_read() : NULL;
    if (!key) {
        const char *msg = "no token: the renderer was started without --api-key-file (or it is empty)";
        reply_body(out, 404, "text/html", strdup(msg), strlen(msg));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", key);
    cJSON_AddNumberToObject(o, "expires_in", g_auth.token_lifetime_s);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    free(key);
    reply_json(out, 200, o);
}

static void auth_init(const char *env, const char *status) {
    const char *key = getenv(env);
    if (!key || !*key) FATAL("--api-key-env: expected the API key in environment variable %s, found it %s", env,
                             key ? "empty" : "unset");
    if (!redact_add_secret(key)) log_warn("api_key_not_redacted", "why", "shorter than the redaction minimum", NULL);
    char *b64 = base64_encode(key, strlen(key), NULL);
    if (!b64) abort();
    size_t n = strlen(key) + strlen(b64) + 16;
    g_auth.bearer = malloc(n);
    g_auth.basic = malloc(n);
    if (!g_auth.bearer || !g_auth.basic) abort();
    snprintf(g_auth.bearer, n, "Bearer %s", key);
    snprintf(g_auth.basic, n, "Basic %s", b64);
    free(b64);
    if (status) {
        char *end;
        long v = strtol(status, &end, 10);
        if (*end || v < 400 || v > 599) FATAL("--auth-status: expected an HTTP status from 400 to 599, found \"%s\"", status);
        g_auth.status = (int)v;
    }
}

/* Whether the request may go on; when not, out holds the refusal, quoting what was sent. */
static bool authorized(const dialect_ops_t *ops, const http_in_t *in, reply_t *out) {
    const char *a = in->authorization;
    if (g_auth.file) {
        char *key = key_file_read();
        bool ok = false;
        if (key && a) {
            char *b64 = base64_encode(key, strlen(key), NULL);
            ok = (!strncmp(a, "Bearer ", 7) && !strcmp(a + 7, key)) ||
                 (b64 && !strncmp(a, "Basic ", 6) && !strcmp(a + 6, b64));
            free(b64);
        }
        free(key);
        if (ok) return true;
    } else {
        if (!g_auth.bearer) return true;
        if (a && (!strcmp(a, g_auth.bearer) || !strcmp(a, g_auth.basic))) return true;
    }
    char msg[512];
    if (a) snprintf(msg, sizeof msg, "incorrect credentials provided: Authorization: %.400s", a);
    else snprintf(msg, sizeof msg, "no credentials: expected an Authorization header");
    ops->error(g_auth.status, msg, out);
    return false;
}

static void list_models(char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < g.cfg.n_models && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", g.cfg.models[i].name);
}

/* Routes, parses and answers one complete request into out. */
static void handle(const char *method, const http_in_t *in, bool too_large, reply_t *out) {
    if (!strcmp(in->url, "/computeMetadata/v1/instance/service-accounts/default/token") && !strcmp(method, "GET"))
        return metadata_token(in, out);
    int d = dialect_route(in->url);
    if (d < 0) {
        if (!strcmp(in->url, "/healthz")) {
            reply_body(out, 200, "application/json", strdup("{\"status\":\"ok\"}"), 15);
            return;
        }
        char msg[400];
        snprintf(msg, sizeof msg, "no endpoint at %.200s; expected one of /v1/images/generations, "
                 "/render, /v2beta/stable-image/generate/sd3, /sdapi/v1/txt2img, "
                 "/v1/projects/P/locations/L/publishers/google/models/M:predict", in->url);
        DIALECT_OPS[DIALECT_RAW].error(404, msg, out);
        return;
    }
    const dialect_ops_t *ops = &DIALECT_OPS[d];
    if (strcmp(method, "POST")) {
        char msg[96];
        snprintf(msg, sizeof msg, "method %.16s: expected POST", method);
        ops->error(405, msg, out);
        reply_header(out, "Allow", "POST");
        return;
    }
    if (!authorized(ops, in, out)) return;
    if (too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body: expected at most %d bytes", MAX_BODY_BYTES);
        ops->error(413, msg, out);
        out->close = true;
        return;
    }
    log_request(in);
    render_request_t *rq = malloc(sizeof *rq);
    if (!rq) abort();
    char err[512];
    if (ops->parse(in, rq, err, sizeof err) ||
        prompt_parse(rq->prompt, &rq->spec, err, sizeof err)) {
        log_debug("bad_request", "dialect", ops->name, "error", err, NULL);
        ops->invalid(rq, err, out);
        free(rq);
        return;
    }
    if (!rq->model[0]) snprintf(rq->model, sizeof rq->model, "%s", g.cfg.preview.model);
    model_state_t *ms = model_state(ops->name, rq->model);
    if (!ms) {
        char models[256], msg[512];
        list_models(models, sizeof models);
        snprintf(msg, sizeof msg, "model \"%s\": expected one of the configured models (%s)",
                 rq->model, models);
        ops->error(404, msg, out);
        free(rq);
        return;
    }
    serve(ms, ops, rq, out);
    free(rq);
}

/* ==== HTTP (libmicrohttpd) ==== */

static enum MHD_Result send_reply(struct MHD_Connection *c, reply_t *r) {
    struct MHD_Response *resp;
    if (r->body_static || !r->body)
        resp = MHD_create_response_from_buffer(r->body_len, r->body ? (void *)r->body : (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        reply_free(r);
        return MHD_NO;
    }
    if (!r->body_static) r->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    for (int i = 0; i < r->n_headers; i++)
        MHD_add_response_header(resp, r->header_names[i], r->header_values[i]);
    if (r->close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    reply_free(r);
    return rc;
}

static void early_413(struct MHD_Connection *c, const char *url, const char *method) {
    reply_t r;
    memset(&r, 0, sizeof r);
    handle(method, &(http_in_t){.url = url, .body = "", .body_len = 0}, true, &r);
    r.close = true;
    send_reply(c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)cls;
    (void)version;
    upload_t *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u) return MHD_NO;
        *con_cls = u;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > MAX_BODY_BYTES) {
            u->too_large = u->answered = true;
            early_413(c, url, method);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* A chunked body over the cap is read and dropped up to DISCARD_LIMIT, then
         * answered 413 (libmicrohttpd cannot answer in the middle of a body); past
         * that limit the connection is simply closed. */
        if (u->too_large) {
            u->len += n;
            return u->len > DISCARD_LIMIT ? MHD_NO : MHD_YES;
        }
        if (u->len + n > MAX_BODY_BYTES) {
            u->too_large = true;
            free(u->buf);
            u->buf = NULL;
            u->len += n;
            return MHD_YES;
        }
        if (u->len + n + 1 > u->cap) {
            size_t cap = u->cap ? u->cap * 2 : 4096;
            while (cap < u->len + n + 1) cap *= 2;
            char *nb = realloc(u->buf, cap);
            if (!nb) return MHD_NO;
            u->buf = nb;
            u->cap = cap;
        }
        memcpy(u->buf + u->len, upload_data, n);
        u->len += n;
        u->buf[u->len] = '\0';
        return MHD_YES;
    }
    if (u->answered) return MHD_YES;
    u->answered = true;
    if (u->too_large) u->len = 0;
    http_in_t in = {
        .url = url,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .metadata_flavor = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Metadata-Flavor"),
        .body = u->buf ? u->buf : "",
        .body_len = u->len,
    };
    reply_t r;
    memset(&r, 0, sizeof r);
    uint64_t t0 = now_ns();
    handle(method, &in, u->too_large, &r);
    char status[8], ms[24];
    snprintf(status, sizeof status, "%d", r.status);
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)((now_ns() - t0) / 1000000ULL));
    log_debug("request", "method", method, "url", url, "status", status, "ms", ms, NULL);
    return send_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    upload_t *u = *con_cls;
    if (u) free(u->buf);
    free(u);
    *con_cls = NULL;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    log_debug("http_error", "error", msg, NULL);
}

/* ==== Start-up and shutdown ==== */

static void usage(void) {
    fprintf(stderr, "usage: pressroom-renderer [--config FILE] [--listen HOST:PORT] [--truth-log FILE]\n"
                    "                          [--request-log FILE]\n"
                    "                          [--api-key-env VAR | --api-key-file FILE [--token-lifetime-s S]]\n"
                    "                          [--auth-status STATUS]\n");
    exit(2);
}

/* Thread-per-connection servers need one descriptor per client. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv) {
    const char *config_path = NULL, *listen = "127.0.0.1:8080", *key_env = NULL, *auth_status = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
        else if (!strcmp(argv[i], "--api-key-env") && i + 1 < argc) key_env = argv[++i];
        else if (!strcmp(argv[i], "--auth-status") && i + 1 < argc) auth_status = argv[++i];
        else if (!strcmp(argv[i], "--api-key-file") && i + 1 < argc) g_auth.file = argv[++i];
        else if (!strcmp(argv[i], "--token-lifetime-s") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 86400) FATAL("--token-lifetime-s: expected seconds from 1 to 86400, found \"%s\"", argv[i]);
            g_auth.token_lifetime_s = (int)v;
        }
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc) listen = argv[++i];
        else if (!strcmp(argv[i], "--request-log") && i + 1 < argc) {
            const char *path = argv[++i];
            g_request_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (g_request_fd < 0) FATAL("--request-log %s: %s", path, strerror(errno));
        }
        else if (!strcmp(argv[i], "--truth-log") && i + 1 < argc) {
            const char *path = argv[++i];
            g_truth_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (g_truth_fd < 0) FATAL("--truth-log %s: %s", path, strerror(errno));
        }
        else usage();
    }
    log_init("pressroom-renderer");
    if (key_env && g_auth.file) usage();
    if (key_env) auth_init(key_env, auth_status);
    else if (g_auth.file) {
        char *k = key_file_read();
        if (!k) FATAL("--api-key-file %s: expected one line holding the key", g_auth.file);
        free(k);
        if (auth_status) {
            char *end;
            long v = strtol(auth_status, &end, 10);
            if (*end || v < 400 || v > 599) FATAL("--auth-status: expected an HTTP status from 400 to 599, found \"%s\"", auth_status);
            g_auth.status = (int)v;
        }
    } else if (auth_status) usage();
    char err[512];
    if (config_load(&g.cfg, config_path, err, sizeof err)) FATAL("%s", err);
    struct sockaddr_in addr;
    if (listen_addr_parse(listen, &addr))
        FATAL("--listen: expected HOST:PORT with an IPv4 address, e.g. 127.0.0.1:8080, found \"%s\"",
              listen);
    for (int i = 0; i < g.cfg.n_models; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(g.cfg.models[i].provider, g.cfg.models[j].provider) &&
                !strcmp(wire_id(&g.cfg.models[i]), wire_id(&g.cfg.models[j])))
                FATAL("%s: models.%s and models.%s: expected distinct provider_model ids for provider %s, found "
                      "\"%s\" twice (the renderer could not tell them apart)", config_path ? config_path : "config",
                      g.cfg.models[j].name, g.cfg.models[i].name, g.cfg.models[i].provider, wire_id(&g.cfg.models[i]));
    for (int i = 0; i < g.cfg.n_models; i++) {
        g.models[i].cfg = &g.cfg.models[i];
        atomic_init(&g.models[i].requests, 0);
        pthread_mutex_init(&g.models[i].cache_lock, NULL);
    }
    pthread_mutex_init(&g.stop_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g.stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    raise_fd_limit();

    /* Warm up fonts and the PNG encoder before the first request. */
    {
        scene_t s = {.width = 16, .height = 16, .n_lines = 1, .lines = {"A"}, .bold = true};
        unsigned char *png;
        size_t len;
        if (draw_scene(&s, &png, &len, NULL, err, sizeof err)) FATAL("cannot draw: %s", err);
        free(png);
    }

    /* Signals go to sigwait in this thread only; connection threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(1 << 20), MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL, MHD_OPTION_END);
    if (!d) FATAL("cannot listen on %s: %s", listen, strerror(errno));
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : ntohs(addr.sin_port);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
    printf("listening http://%s:%u\n", host, port);
    fflush(stdout);
    char models[256], portbuf[16];
    list_models(models, sizeof models);
    snprintf(portbuf, sizeof portbuf, "%u", port);
    log_info("listening", "host", host, "port", portbuf, "models", models, NULL);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    pthread_mutex_lock(&g.stop_lock);
    g.stopping = true;
    pthread_cond_broadcast(&g.stop_cond);
    pthread_mutex_unlock(&g.stop_lock);
    MHD_stop_daemon(d);
    for (int i = 0; i < g.cfg.n_models; i++) cache_free(&g.models[i]);
    draw_shutdown();
    log_info("stopped", NULL);
    return 0;
}
