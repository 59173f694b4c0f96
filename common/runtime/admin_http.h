/* admin_http.h — a worker's operational HTTP endpoint, served from its own loop
 * (libmicrohttpd in external epoll mode: one fd in the loop's wait, no threads):
 *
 *   GET /healthz  200 "ok" while the loop turns (it answers, so it is not stuck)
 *   GET /readyz   200 when the worker takes work; 503 with the reason otherwise
 *                 (draining, Redis unreachable: admission fails closed)
 *   GET /metrics  every metric in the Prometheus text format (metrics.h)
 *
 * Off unless an address is configured ("metrics_listen", PRESSROOM_METRICS_LISTEN or
 * --metrics-listen); port 0 binds a free port, logged as "admin_listening". */
#ifndef PRESSROOM_ADMIN_HTTP_H
#define PRESSROOM_ADMIN_HTTP_H

#include <stddef.h>

typedef struct admin_http admin_http_t;

typedef struct {
    /* Brings gauges up to date before /metrics renders (optional). */
    void (*refresh)(void *ctx);
    /* NULL when ready, else why not (for /readyz). */
    const char *(*not_ready)(void *ctx);
    void *ctx;
} admin_http_hooks_t;

/* Listens on addr ("HOST:PORT"). NULL with a sentence in err on failure. */
admin_http_t *admin_http_start(const char *addr, const admin_http_hooks_t *hooks, char *err,
                               size_t errlen);
/* The fd to wait on for readability; then call admin_http_serve(). */
int admin_http_fd(const admin_http_t *a);
/* Serves whatever is ready without blocking. */
void admin_http_serve(admin_http_t *a);
unsigned admin_http_port(const admin_http_t *a);
void admin_http_stop(admin_http_t *a);

#endif
