/* console.h — pressroom-console: a status console for the fleet, served by
 * libmicrohttpd from one thread. Read-only unless an action token is configured
 * (actions.c): then the DLQ page re-drives letters, by POST carrying the token. Every page is built on request from the real sources
 * (Kafka by assignment, Redis through budget.h, the workers' /metrics and /readyz), except
 * the budgets' burn-down, whose samples a second thread takes every --sample-s seconds
 * and keeps in memory. Every string that reaches a page goes through html.c. */
#ifndef PRESSROOM_CONSOLE_H
#define PRESSROOM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "blob/blobstore.h"
#include "budget/budget.h"
#include "runtime/kafka.h"

#define CONSOLE_MAX_WORKERS 32
#define CONSOLE_MAX_SAMPLES 720 /* per tier: an hour at 5 s */
#define CONSOLE_N_TIERS 3

/* ==== html.c: a growing buffer and the escaping every page uses ==== */
typedef struct {
    char *s;
    size_t len, cap;
} html_t;

void html_raw(html_t *h, const char *s);
void html_printf(html_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text for an element or an attribute value: & < > " ' as entities; valid UTF-8 kept;
 * control bytes and invalid UTF-8 as \xNN; at most max bytes of s (then "…"). */
void html_text(html_t *h, const char *s, size_t len, size_t max);
void html_str(html_t *h, const char *s); /* html_text of a NUL-terminated string, up to 1024 bytes */
/* A query-string value: everything but unreserved characters percent-encoded. */
void html_url_value(html_t *h, const char *s);
void html_usd(html_t *h, int64_t micros);
void html_free(html_t *h);

/* ==== The console's state ==== */
typedef struct {
    char name[64];
    char url[256]; /* http://HOST:PORT of its admin endpoint */
} console_worker_t;

typedef struct {
    int64_t t_ms, window_id, spent, reserved, cap;
} budget_sample_t;

typedef struct {
    config_t cfg;
    blob_store_t *store;
    budget_t *budget; /* the request thread's connection */
    console_worker_t workers[CONSOLE_MAX_WORKERS];
    int n_workers;
    int last_n;       /* default rows of the verdict and DLQ pages */
    int sample_s;
    /* Actions (actions.c): NULL = read-only, no action endpoint and no button. */
    char *action_token;
    int max_attempts;  /* the re-drive's attempt limit (pressctl dlq redrive --max-attempts) */
    kafka_t *producer; /* created at the first re-drive */
    /* Burn-down samples per tier, a ring under lock. */
    pthread_mutex_t lock;
    budget_sample_t samples[CONSOLE_N_TIERS][CONSOLE_MAX_SAMPLES];
    int n_samples[CONSOLE_N_TIERS], next_sample[CONSOLE_N_TIERS];
} console_t;

extern const char *const CONSOLE_TIERS[CONSOLE_N_TIERS];
void console_add_sample(console_t *c, int tier, const budget_snapshot_t *s);

/* A query parameter of the request (NULL when absent). */
typedef const char *(*query_fn)(void *req, const char *key);

/* ==== pages.c: each page appends its body to h; returns the HTTP status ==== */
int page_fleet(console_t *c, html_t *h);
int page_lag(console_t *c, html_t *h);
int page_budgets(console_t *c, html_t *h);
int page_verdicts(console_t *c, html_t *h, query_fn q, void *req);
int page_dlq(console_t *c, html_t *h, query_fn q, void *req);
void page_begin(html_t *h, const char *title, const char *current);
void page_end(html_t *h);

/* ==== actions.c: the token and the re-drive ==== */
/* The action token from --token-file FILE (when not NULL) or $PRESSROOM_CONSOLE_TOKEN:
 * c->action_token stays NULL when neither is set. -1 after printing why it is refused
 * (too short, unreadable), never the value. */
int console_load_token(console_t *c, const char *file);
/* True when given equals the configured token, compared in constant time. */
bool console_token_ok(const console_t *c, const char *given);
/* The value of field key of an application/x-www-form-urlencoded body, decoded, in buf;
 * NULL when absent. */
const char *form_value(const char *body, const char *key, char *buf, size_t len);
/* POST /dlq/redrive, authorised already: re-drives the letter named by field "letter"
 * (PARTITION:OFFSET), or with field "filtered" the newest letter of each job whose reason
 * starts with field "reason"; appends the result page. Returns the HTTP status. */
int action_redrive(console_t *c, html_t *h, const char *body);

/* ==== fleet.c: one worker's admin endpoint ==== */
typedef struct {
    bool up;            /* /metrics answered 200 */
    bool ready;         /* /readyz answered 200 */
    char not_ready[256];
    char *metrics;      /* the exposition text (malloc'd), NULL when down */
    char error[256];    /* why it is down */
} worker_status_t;

void fleet_scrape(const console_worker_t *w, worker_status_t *out);
void fleet_status_free(worker_status_t *s);
/* The value of the series `name` whose labels include key="value" (key NULL: any
 * series of the family); false when there is none. */
bool prom_value(const char *text, const char *name, const char *key, const char *value, double *out);
/* Calls fn for each series of family `name` with its label block and value. */
void prom_each(const char *text, const char *name, void (*fn)(void *ctx, const char *labels, double v), void *ctx);
/* The value of label `key` in a label block ("" when absent). */
void prom_label(const char *labels, const char *key, char *buf, size_t len);

#endif
