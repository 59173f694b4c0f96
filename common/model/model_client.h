/* model_client.h — many image-model requests in flight from one thread (libcurl multi),
 * with retries, a circuit breaker per model and ordered fallback models.
 *
 * The client runs on the worker's event loop (runtime/loop.h): libcurl's sockets and
 * its timeout are watched there, retries wait on loop timers, nothing here blocks.
 *
 *   model_client_t *mc = model_client_new(cfg, &cfg->preview, loop, err, sizeof err);
 *   model_client_submit(mc, &req, job);                 // never blocks
 *   // in a before-sleep hook of the loop:
 *   model_client_run_gate(mc);                          // rate slots, batched here
 *   void *job; render_result_t *r;
 *   while ((r = model_client_next(mc, &job))) { ...; render_result_free(r); }
 *
 * Policy (see docs/providers.md):
 * - per-attempt timeout: 2 x tier.max_latency_ms + 1000 ms (connect timeout 1000 ms);
 * - retries on 408, 429, 5xx, timeouts and connection errors, up to tier.max_retries per
 *   model, after a jittered exponential backoff (100 ms x 2^n, half jitter, cap 5 s) or the
 *   server's Retry-After when longer; a Retry-After beyond the attempt timeout moves on
 *   to the next model instead of waiting;
 * - other 4xx are terminal (reason "http_4xx", or "safety_filtered" when the dialect says so);
 * - malformed 2xx responses are terminal ("bad_response");
 * - a breaker per model opens after tier.breaker_failures (default 5) consecutive failures
 *   (timeouts, connection errors, 429/5xx, malformed responses), lets one probe through
 *   after tier.breaker_cooldown_ms (default 5000), closes on success;
 *   an open breaker moves a request straight to the next fallback;
 * - models are tried in order: tier.model, then tier.fallbacks[]; tier.fallback_on
 *   (when set) names what moves a request on (statuses, timeout, unavailable,
 *   safety_refusal, breaker_open); anything else ends it on the model that failed;
 * - a 401 re-reads the model's credentials (api_key_file, the metadata server) and
 *   retries once at once: a rotated token never ends a job;
 * - with a rate gate set, every attempt on a model with a rate limit (retries and
 *   fallbacks included) first takes a slot from it and waits for the slot on a timer;
 *   the gate failing closes the door until it answers again. */
#ifndef PRESSROOM_MODEL_CLIENT_H
#define PRESSROOM_MODEL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "runtime/loop.h"

#define MODEL_CLIENT_MAX_PNG_BYTES (32u << 20) /* larger images are a bad_response */

/* What a request asked the provider for, as sent (the adapter fills it): the size or
 * the aspect ratio the image is checked against, whether the seed went out, and what
 * the provider could not be told. */
typedef struct {
    int width, height;          /* the exact size requested; 0 when the API takes a ratio */
    char aspect_ratio[8];       /* "4:3" when the API takes a ratio, else "" */
    bool seed_sent;
    char note[256];             /* "" or e.g. "openai takes no seed: ..." */
} render_sent_t;

typedef struct {
    const char *prompt;
    int width, height;
    uint64_t seed;
    double guidance;             /* cfg/guidance scale; 0 = provider default (7) */
    const char *negative_prompt; /* may be NULL */
    const template_config_t *tmpl; /* the job's template (its per-provider model and adapter), or NULL */
    bool rate_admitted;          /* the first attempt on tier.model already holds a rate
                                  * slot (budget admission took it): not gated again */
} render_request_t;

/* Where the answering attempt's time went, in microseconds (libcurl's timing info of
 * that transfer, cut into steps): DNS lookup, TCP connect, TLS handshake (0 over plain
 * HTTP), first byte (request sent to the response's first byte: the server's time),
 * transfer (first byte to last), and decode (the adapter reading the response: JSON,
 * base64, PNG checks). All 0 when no transfer completed. */
typedef struct {
    int64_t dns_us, connect_us, tls_us, first_byte_us, transfer_us, total_us;
    int64_t decode_us;
} render_timing_t;

typedef struct {
    bool ok;
    unsigned char *png; size_t png_len;   /* owned by the result */
    char model[64];             /* model that answered (primary or a fallback); when !ok the last one tried */
    int64_t price_micros;       /* that model's configured price; 0 when !ok */
    char reason[64];            /* terminal reason code when !ok: http_4xx, safety_filtered, bad_response,
                                   timeout, upstream_unavailable, rate_limited, circuit_open,
                                   invalid_request */
    char detail[512];           /* human sentence incl. the provider's own message (never the API key) */
    int http_status;            /* last HTTP status seen, 0 = none (transport error) */
    int attempts;               /* HTTP attempts over all models */
    int64_t latency_ms;         /* submit to completion */
    render_sent_t sent;         /* what the answering (or last tried) model was asked for */
    render_timing_t timing;     /* of the last attempt that got an answer */
} render_result_t;

typedef struct model_client model_client_t;

/* A client for one tier: its primary model and fallbacks from cfg (the config must outlive
 * the client). Reads API keys (api_key_env / api_key_file) now, and checks each model's
 * params against its adapter. Returns NULL with a sentence in err ("FILE: models.NAME.KEY:
 * expected ..., found ...") when a model is unknown, a provider has no adapter, a key is
 * missing or a parameter is not the provider's. */
model_client_t *model_client_new(const config_t *cfg, const tier_config_t *tier, loop_t *loop, char *err,
                                 size_t errlen);

/* Queues a render; copies req. Never blocks: the transfer starts on the loop.
 * Returns 0, or -1 when out of memory. */
int model_client_submit(model_client_t *mc, const render_request_t *req, void *opaque);

/* What a request would ask the tier's primary model for (the adapter's size or ratio,
 * seed, notes), without sending it: for a replayed render. Returns 0 or -1. */
int model_client_plan(model_client_t *mc, const render_request_t *req, render_sent_t *sent);

/* Asks the rate gate (model_client_set_rate_gate) for every attempt waiting on a slot
 * and starts or schedules each. The owner calls it from a before-sleep hook, so the
 * gate's Redis calls never run inside a socket or timer handler. Returns the number
 * of attempts that asked. */
int model_client_run_gate(model_client_t *mc);
/* Attempts waiting for model_client_run_gate. */
int model_client_waiting_for_gate(const model_client_t *mc);
/* Results waiting for model_client_next. */
int model_client_ready(const model_client_t *mc);

/* A completed request (and its opaque through *opaque), or NULL. The caller frees it
 * with render_result_free. */
render_result_t *model_client_next(model_client_t *mc, void **opaque);

/* Submitted and not yet returned by model_client_next. */
int model_client_inflight(const model_client_t *mc);

/* The fleet-wide request rate of a model, asked before each attempt on a model with
 * models.NAME.rate_limit. Returns 0 when a slot is taken: start after *delay_ms (0 =
 * now); 1 when no slot is free soon: ask again after *delay_ms, nothing taken; -1 when
 * it cannot tell (Redis down): the attempt waits and asks again (fail closed). */
typedef int (*model_rate_gate_t)(void *ctx, const char *model, int64_t *delay_ms);
void model_client_set_rate_gate(model_client_t *mc, model_rate_gate_t gate, void *ctx);

void render_result_free(render_result_t *r);

/* Cancels what is in flight and frees everything (results not yet returned included). */
void model_client_free(model_client_t *mc);

/* The longest one request may take, retries, waits and fallbacks included: what a budget
 * lease must outlive. */
int64_t model_client_longest_request_ms(const model_client_t *mc);

/* The highest price over the primary model and its fallbacks: what one request may cost. */
int64_t model_client_worst_case_micros(const model_client_t *mc);

/* Per model state for metrics and tests: the breaker ("closed", "open", "half_open")
 * and the consecutive failure count. Returns NULL when the model is not in this client. */
const char *model_client_breaker_state(const model_client_t *mc, const char *model, int *consecutive_failures);

#endif
