/* provider.h — model provider adapters: one table of function pointers per HTTP dialect,
 * the shape of curl's `struct Curl_ssl`. Adding a provider is a new provider_NAME.c that
 * defines `const provider_t provider_NAME` and one X(NAME) in PRESSROOM_PROVIDERS
 * (base/providers.h), from which the registry and the config validator are built.
 *
 * An adapter knows only its dialect: how to turn a render_request_t into an HTTP request,
 * and how to read the answer (image, safety refusal, malformed body, the provider's error
 * message). Timeouts, retries, breakers and fallbacks live in model_client.c. */
#ifndef PRESSROOM_PROVIDER_H
#define PRESSROOM_PROVIDER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/providers.h"
#include "model/model_client.h"

struct cJSON;

/* Whom to call: fixed per model for the client's lifetime (the key may be replaced
 * between requests when its file changes or a token is refreshed). */
typedef struct {
    const char *model;          /* our alias (the config key under "models"), for messages */
    const char *provider_model; /* the provider's model id, sent on the wire */
    const char *base_url;       /* endpoint without a trailing slash */
    const char *api_key;        /* "" = send no credentials */
    const struct cJSON *params; /* models.NAME.params, checked against the adapter; or NULL */
} provider_target_t;

/* One parameter a provider documents beyond what the adapter sends itself, for
 * models.NAME.params: a JSON string, integer, number or boolean, within [lo, hi] or
 * one of choices. The table ends with a NULL name. */
typedef enum { PARAM_STRING, PARAM_INT, PARAM_NUMBER, PARAM_BOOL } param_kind_t;
typedef struct {
    const char *name;
    param_kind_t kind;
    double lo, hi;              /* PARAM_INT, PARAM_NUMBER */
    const char *const *choices; /* PARAM_STRING: NULL = any string */
} provider_param_t;

/* One HTTP request built by an adapter; the client sets it on the easy handle and frees
 * it with provider_request_free after the transfer. */
typedef struct {
    char url[1024];
    struct curl_slist *headers;
    char *body;           /* JSON body (malloc'd), or NULL */
    size_t body_len;
    curl_mime *mime;      /* multipart body, or NULL */
    render_sent_t sent;   /* what this request asks for (size or ratio, seed, notes) */
} provider_request_t;

/* A finished HTTP exchange, any status. */
typedef struct {
    long status;
    const unsigned char *body;
    size_t body_len;
    const char *content_type; /* NULL when absent */
    CURL *easy;               /* for response headers: curl_easy_header() */
    const char *model;        /* for messages */
} provider_response_t;

/* What the adapter made of a response. For a non-2xx status the adapter leaves ok false,
 * puts the provider's own message in detail, and sets reason only when the dialect says
 * more than the status does ("safety_filtered"); the client classifies the rest. */
typedef struct {
    bool ok;
    unsigned char *png;   /* malloc'd when ok; the client takes it */
    size_t png_len;
    char reason[64];
    char detail[512];
} provider_outcome_t;

typedef struct provider {
    const char *name;
    /* Fills req (URL, headers, body) for one render. `easy` is the handle it will run on
     * (curl_mime_init needs it). Returns 0, or -1 with a sentence in err. */
    int (*build)(const provider_target_t *t, const render_request_t *r, CURL *easy,
                 provider_request_t *req, char *err, size_t errlen);
    /* Reads a response of any status into out (see provider_outcome_t). */
    void (*parse)(const provider_response_t *resp, provider_outcome_t *out);
    /* Base URL to use when the model has no "endpoint": derived from the renderer URL
     * (most dialects use it as is). NULL = the renderer URL unchanged. */
    void (*default_base)(const char *renderer_url, char *out, size_t outlen);
    /* The parameters models.NAME.params may carry (NULL-name terminated). */
    const provider_param_t *params;
    /* Optional: checks what depends on the provider model (a parameter one model family
     * refuses). Returns 0, or -1 with "params.KEY: expected ..., found ..." in err. */
    int (*check_model)(const provider_target_t *t, char *err, size_t errlen);
} provider_t;

/* One adapter per name in base/providers.h: provider_openai, provider_raw, ... */
#define PROVIDER_EXTERN_(n) extern const provider_t provider_##n;
PRESSROOM_PROVIDERS(PROVIDER_EXTERN_)
#undef PROVIDER_EXTERN_

/* The adapter for a config "provider" name, or NULL. */
const provider_t *provider_find(const char *name);

void provider_request_free(provider_request_t *req);

/* Checks params (an object, or NULL) against p->params and p->check_model: every name
 * known, every value of its kind and range. Returns 0, or -1 with "params.KEY: expected
 * ..., found ..." in err. */
int provider_check_params(const provider_t *p, const provider_target_t *t, char *err, size_t errlen);

/* ==== Helpers shared by adapters (provider.c) ==== */

/* Sets out to a failure with reason and a printf-formatted detail. */
void provider_fail(provider_outcome_t *out, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Accepts bytes as the image: checks the 8-byte PNG signature and the size cap, copies
 * them into out->png. On failure sets reason bad_response; `what` names the source
 * ("response body", "data[0].b64_json"). Returns 0 or -1. */
int provider_accept_png(provider_outcome_t *out, const unsigned char *bytes, size_t len,
                        const char *model, const char *what);

/* Decodes base64 text and accepts it as the image (as above). Returns 0 or -1. */
int provider_accept_b64_png(provider_outcome_t *out, const char *b64, const char *model, const char *what);

/* Parses a JSON body; NULL (and bad_response in out) when it is not JSON. */
struct cJSON *provider_parse_json(provider_outcome_t *out, const provider_response_t *resp);

/* For an error status: "HTTP 400 from MODEL: " + msg (or a printable excerpt of the
 * body when msg is NULL) into out->detail. */
void provider_error_detail(provider_outcome_t *out, const provider_response_t *resp, const char *msg);

/* Appends "Name: value" (printf-formatted value) to req->headers. Returns 0 or -1. */
int provider_header(provider_request_t *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds "Authorization: Bearer KEY" when the target has a key. Returns 0 or -1. */
int provider_bearer(provider_request_t *req, const provider_target_t *t);

/* Serialises a JSON object as the request body (Content-Type: application/json).
 * Frees obj. Returns 0 or -1. */
int provider_json_body(provider_request_t *req, struct cJSON *obj);

/* The ratio from `ratios` ("W:H" strings, NULL-terminated) nearest to width/height
 * (compared on a log scale). */
const char *provider_nearest_ratio(int width, int height, const char *const *ratios);

/* The size from `sizes` ("WxH", NULL-terminated) nearest to width x height: nearest
 * aspect ratio on a log scale, then nearest area. */
const char *provider_nearest_size(int width, int height, const char *const *sizes);

/* Copies every member of t->params into obj (replacing a member of that name). */
void provider_add_params(struct cJSON *obj, const provider_target_t *t);

/* The prompt for providers without a guidance parameter (OpenAI, Imagen): a re-render
 * (guidance > 0) gets the reinforcement sentence — the text exactly as quoted in the
 * prompt, letter for letter, and what the verifier found (the prompt's "Fix: ..."). The
 * quoted lines are not repeated: a model would draw them twice. When the provider takes
 * no negative prompt, it is folded in as "Avoid: ...". Into buf (truncated). */
void provider_reinforced_prompt(const render_request_t *r, bool fold_negative, char *buf, size_t len);

/* v within [lo, hi]. */
double provider_clamp(double v, double lo, double hi);

/* Appends a "; "-separated printf-formatted note to sent->note. */
void provider_note(render_sent_t *sent, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The seed every dialect sends: 0 .. 4294967294 (Stability's range; A1111, Vertex and the
 * renderer take 32-bit seeds), seed mod 4294967295 — deterministic for a job's seed. */
uint32_t provider_seed32(uint64_t seed);

/* The guidance to send: the request's, or the provider default 7 when 0. */
double provider_guidance(const render_request_t *r);

/* provider_openai.c: the sizes a model id takes (exposed for tests). */
const char *const *openai_sizes_for(const char *provider_model);

#endif
