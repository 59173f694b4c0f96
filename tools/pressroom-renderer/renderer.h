/* renderer.h — the reference model endpoint's private parts: the typed render
 * request every dialect parses into, the reply every dialect writes, the dialect
 * adapters (one table of function pointers per provider API), and the prompt
 * reading and scene choosing shared by all of them. */
#ifndef PRESSROOM_RENDERER_H
#define PRESSROOM_RENDERER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base64.h"
#include "base/config.h"
#include "base/prompt.h"
#include "base/providers.h"
#include "draw.h"

#define MAX_BODY_BYTES (1 << 20) /* request bodies above this get 413 */
#define MAX_PROMPT_BYTES 10000
#define DEFAULT_GUIDANCE 7.0

/* ==== What the prompt asks for ==== */

typedef struct {
    char lines[SCENE_MAX_LINES][SCENE_LINE_LEN]; /* each quoted string, in order */
    int n_lines;
    uint32_t palette[PROMPT_MAX_PALETTE]; /* every #RRGGBB token, in order */
    int n_palette;
    bool has_region;     /* "text area: X%,Y%,W%,H%" */
    double region_x, region_y, region_w, region_h; /* fractions */
} prompt_spec_t;

/* Reads the overlay text, the palette and the optional text area out of a prompt,
 * in the workers' prompt grammar (base/prompt.h: prompt_lines, prompt_palette,
 * prompt_text_area). Returns 0, or -1 with a sentence in err (an unclosed double
 * quote, too many lines, a line too long, a malformed text area or one outside the
 * image). */
int prompt_parse(const char *prompt, prompt_spec_t *spec, char *err, size_t errlen);

/* ==== The typed request ==== */

typedef enum { DIALECT_OPENAI = 0, DIALECT_RAW, DIALECT_STABILITY, DIALECT_A1111, DIALECT_VERTEX } dialect_t;

typedef struct {
    dialect_t dialect;
    char model[64];          /* "" = the preview tier's model */
    char prompt[MAX_PROMPT_BYTES + 1];
    prompt_spec_t spec;      /* what prompt_parse found in prompt */
    uint64_t seed;           /* 0 when the request has none */
    int width, height;
    double guidance;         /* DEFAULT_GUIDANCE when the request has none */
    int steps;               /* echoed by the a1111 dialect only */
    char aspect_ratio[8];    /* stability / vertex, echoed */
    bool forced;             /* "mistake" field present (eval/test extension) */
    mistake_t forced_mistake;
    bool accept_json;        /* stability: Accept: application/json */
    char vertex_path[512];   /* vertex: projects/P/locations/L/publishers/google/models/M */
    /* A refused request: what the provider's error names (set by parse with err). */
    char bad_param[64];      /* the parameter at fault ("" = none) */
    char bad_code[40];       /* openai: unknown_parameter | invalid_value | ...;
                                a1111: the pydantic error type */
} render_request_t;

/* The incoming HTTP request as the dialect parsers see it. */
typedef struct {
    const char *url;
    const char *content_type; /* may be NULL */
    const char *accept;       /* may be NULL */
    const char *authorization; /* the Authorization header; may be NULL */
    const char *metadata_flavor; /* the Metadata-Flavor header (metadata server); may be NULL */
    const char *body;         /* NUL-terminated; may contain NULs (multipart) */
    size_t body_len;
} http_in_t;

/* ==== The reply ==== */

#define REPLY_MAX_HEADERS 8

typedef struct {
    int status;
    const char *content_type;
    unsigned char *body;      /* owned (freed after sending) unless body_static */
    size_t body_len;
    bool body_static;         /* lives as long as the process (prerendered cache) */
    bool close;               /* close the connection after this reply */
    char *header_names[REPLY_MAX_HEADERS];
    char *header_values[REPLY_MAX_HEADERS];
    int n_headers;
} reply_t;

void reply_header(reply_t *r, const char *name, const char *value);
void reply_headerf(reply_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes ownership of a malloc'd body. */
void reply_body(reply_t *r, int status, const char *content_type, void *body, size_t len);
/* A JSON body from a cJSON tree (printed unformatted; the tree is deleted). */
struct cJSON;
void reply_json(reply_t *r, int status, struct cJSON *tree);
void reply_free(reply_t *r);

/* ==== A rendered image ==== */

typedef struct {
    unsigned char *png;
    size_t png_len;
    char *b64;               /* base64 of png, NUL-terminated */
    char *truth;             /* X-Pressroom-Truth value (one line JSON) */
    bool shared;             /* owned by the prerendered cache: do not free */
} image_t;

void image_free(image_t *img);

/* ==== Dialects ==== */

typedef enum {
    FAIL_BAD_REQUEST = 400,
    FAIL_NOT_FOUND = 404,
    FAIL_TOO_LARGE = 413,
    FAIL_RATE_LIMITED = 429,
} fail_status_t;

/* One provider API: how its request looks and how its answers look. */
typedef struct {
    const char *name;
    /* Request -> rq. Returns 0, or -1 with a sentence in err (and rq->bad_param,
     * rq->bad_code when the dialect names them): answered by invalid. */
    int (*parse)(const http_in_t *in, render_request_t *rq, char *err, size_t errlen);
    /* The provider's answer to a request its validation refuses (status and shape). */
    void (*invalid)(const render_request_t *rq, const char *message, reply_t *out);
    /* 200 with the image in this API's shape. */
    void (*image)(const render_request_t *rq, const image_t *img, reply_t *out);
    /* An error with `status` (400, 404, 413, 429, 5xx) in this API's shape. */
    void (*error)(int status, const char *message, reply_t *out);
    /* The provider's safety-filter answer. */
    void (*safety)(const render_request_t *rq, reply_t *out);
    /* 200 with a body that is not this API's shape; variant picks among kinds. */
    void (*garbage)(const render_request_t *rq, unsigned variant, reply_t *out);
} dialect_ops_t;

extern const dialect_ops_t DIALECT_OPS[PROVIDER_COUNT]; /* indexed by dialect_t */

/* Which dialect serves (method, url); returns -1 when none does. */
int dialect_route(const char *url);

/* Width and height for an aspect ratio "A:B" with the shorter side 512 and the
 * longer one rounded to a multiple of 8; -1 when `ratio` is not "A:B". */
int size_from_aspect(const char *ratio, int *w, int *h);

#endif
