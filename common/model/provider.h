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

/* Whom to call: fixed per model for the client's lifetime. */
typedef struct {
    const char *model;    /* model id sent to the provider (the config key under "models") */
    const char *base_url; /* endpoint without a trailing slash */
    const char *api_key;  /* "" = send no credentials */
} provider_target_t;

/* One HTTP request built by an adapter; the client sets it on the easy handle and frees
 * it with provider_request_free after the transfer. */
typedef struct {
    char url[1024];
    struct curl_slist *headers;
    char *body;           /* JSON body (malloc'd), or NULL */
    size_t body_len;
    curl_mime *mime;      /* multipart body, or NULL */
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
} provider_t;

/* One adapter per name in base/providers.h: provider_openai, provider_raw, ... */
#define PROVIDER_EXTERN_(n) extern const provider_t provider_##n;
PRESSROOM_PROVIDERS(PROVIDER_EXTERN_)
#undef PROVIDER_EXTERN_

/* The adapter for a config "provider" name, or NULL. */
const provider_t *provider_find(const char *name);

void provider_request_free(provider_request_t *req);

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

/* The seed every dialect sends: 0 .. 4294967294 (Stability's range; A1111, Vertex and the
 * renderer take 32-bit seeds), seed mod 4294967295 — deterministic for a job's seed. */
uint32_t provider_seed32(uint64_t seed);

/* The guidance to send: the request's, or the provider default 7 when 0. */
double provider_guidance(const render_request_t *r);

#endif
