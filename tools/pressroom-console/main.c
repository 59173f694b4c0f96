/* pressroom-console — the fleet's status pages in a browser, served by our own code
 * (libmicrohttpd, one thread) from the sources themselves: Kafka (by assignment and
 * OffsetFetch, never joining a group), Redis (budget.h) and the workers' admin
 * endpoints. Read-only unless an action token is configured ($PRESSROOM_CONSOLE_TOKEN
 * or --token-file): then POST /dlq/redrive, carrying the token, re-drives dead letters
 * (actions.c); without one there is no such endpoint. Images come from the blob store
 * through /blob, only for URIs inside the store (blob_get confines every read).
 *
 *   pressroom-console [--listen HOST:PORT] [--config FILE] [--worker NAME=URL ...]
 *                     [--last N] [--sample-s S] [--token-file FILE] [--max-attempts N]
 *
 * Like pressctl it first loads the dev stack's env file ($PRESSROOM_DEV_DIR/dev.env,
 * default .pressroom/dev.env) without overriding the environment; its
 * PRESSROOM_CONSOLE_WORKERS (NAME=URL,...) names the workers when no --worker does. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/hostport.h"
#include "base/log.h"
#include "console.h"
#include "runtime/dlq.h"

#define BLOB_MAX_BYTES (16u << 20)
#define FORM_MAX_BYTES 8192

const char *const CONSOLE_TIERS[CONSOLE_N_TIERS] = {"preview", "production", "backfill"};
static volatile sig_atomic_t running = 1;
static void on_signal(int sig) {
    (void)sig;
    running = 0;
}

static const char CSS[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fff}"
    "nav{background:#223;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}"
    "nav a{color:#cde;text-decoration:none}nav a.on{color:#fff;font-weight:bold;border-bottom:2px solid #fff}"
    ".refresh{margin-left:auto;font-size:12px}main{padding:8px 16px}h1{font-size:20px}h2{font-size:16px;margin-top:20px}"
    "table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f6}.ok{color:#070}.bad{color:#b00;font-weight:bold}.warn{color:#a60}.error{color:#b00}"
    ".note,footer{color:#666;font-size:12px}pre{white-space:pre-wrap;word-break:break-all;max-width:520px;margin:0;font-size:12px}"
    "img.thumb{width:96px;height:auto;border:1px solid #ccc}dl{margin:0;font-size:12px}dt{font-weight:bold}dd{margin:0 0 2px 8px;word-break:break-all}"
    ".filters label{margin-right:8px}svg.chart{display:block;margin:4px 0}";

/* Auto-refresh (remembered per browser) and times in the reader's zone. */
static const char JS[] =
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  var box = document.getElementById('autorefresh');\n"
    "  if (box) {\n"
    "    box.checked = localStorage.getItem('pressroom.autorefresh') === '1';\n"
    "    box.addEventListener('change', function () { localStorage.setItem('pressroom.autorefresh', box.checked ? '1' : '0'); });\n"
    "    setInterval(function () { if (box.checked) location.reload(); }, 5000);\n"
    "  }\n"
    "  document.querySelectorAll('form.action').forEach(function (f) {\n"
    "    f.addEventListener('submit', function (ev) {\n"
    "      var tok = document.getElementById('action-token');\n"
    "      if (!tok || !tok.value) { ev.preventDefault(); document.getElementById('action-msg').textContent = 'enter the action token first'; return; }\n"
    "      f.querySelector('input[name=token]').value = tok.value;\n"
    "    });\n"
    "  });\n"
    "  document.querySelectorAll('td.t[data-ms]').forEach(function (td) {\n"
    "    var ms = Number(td.dataset.ms);\n"
    "    if (ms > 0) td.title = new Date(ms).toLocaleString();\n"
    "  });\n"
    "});\n";

static void usage(FILE *f) {
    fprintf(f, "usage: pressroom-console [--listen HOST:PORT] [--config FILE] [--worker NAME=URL ...] [--last N] "
               "[--sample-s S] [--token-file FILE] [--max-attempts N]\n"
               "  --listen    where to serve the pages (default 127.0.0.1:8090; port 0 = any free port)\n"
               "  --config    the fleet's config (default $PRESSROOM_CONFIG): brokers, Redis, topics, blob_root\n"
               "  --worker    a worker's admin endpoint (its --metrics-listen), e.g. preview-0=http://10.0.0.5:9464;\n"
               "              repeat per worker; default $PRESSROOM_CONSOLE_WORKERS (NAME=URL,...; pressctl dev up writes it)\n"
               "  --last      rows of the verdict and DLQ pages (default 100, at most 500)\n"
               "  --sample-s  seconds between budget samples for the burn-down charts (default 5)\n"
               "  --token-file  the action token, read from FILE (default $PRESSROOM_CONSOLE_TOKEN; 16 to 256\n"
               "              printable characters); without one the console is read-only and shows no button\n"
               "  --max-attempts  the re-drive button's attempt limit, as pressctl dlq redrive's (default 3)\n");
}

/* "NAME=http://HOST:PORT" into the worker list. 0, or -1 after printing what was expected. */
static int add_worker(console_t *c, const char *where, const char *spec) {
    const char *eq = strchr(spec, '=');
    size_t nl = eq ? (size_t)(eq - spec) : 0;
    const char *url = eq ? eq + 1 : "";
    if (!nl || nl >= sizeof c->workers[0].name || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
        strlen(url) >= sizeof c->workers[0].url || strlen(url) < 9 || strpbrk(url, " \"'<>")) {
        fprintf(stderr, "pressroom-console: %s: expected NAME=http://HOST:PORT, found \"%s\"\n", where, spec);
        return -1;
    }
    if (c->n_workers == CONSOLE_MAX_WORKERS) {
        fprintf(stderr, "pressroom-console: %s: at most %d workers\n", where, CONSOLE_MAX_WORKERS);
        return -1;
    }
    console_worker_t *w = &c->workers[c->n_workers++];
    snprintf(w->name, sizeof w->name, "%.*s", (int)nl, spec);
    snprintf(w->url, sizeof w->url, "%s", url);
    size_t ul = strlen(w->url);
    while (ul && w->url[ul - 1] == '/') w->url[--ul] = 0;
    return 0;
}

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    char *end = NULL;
    long v = s && *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
    if (!end || *end || v < lo || v > hi) {
        fprintf(stderr, "pressroom-console: %s: expected an integer from %d to %d, found \"%s\"\n", flag, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

void console_add_sample(console_t *c, int tier, const budget_snapshot_t *s) {
    pthread_mutex_lock(&c->lock);
    int last = (c->next_sample[tier] + CONSOLE_MAX_SAMPLES - 1) % CONSOLE_MAX_SAMPLES;
    /* Two samples less than a second apart (a page load just after the sampler): keep one. */
    if (c->n_samples[tier] && s->now_ms - c->samples[tier][last].t_ms < 1000) c->next_sample[tier] = last;
    else if (c->n_samples[tier] < CONSOLE_MAX_SAMPLES) c->n_samples[tier]++;
    c->samples[tier][c->next_sample[tier]] = (budget_sample_t){s->now_ms, s->window_id, s->spent_micros,
                                                              s->reserved_micros, s->cap_micros};
    c->next_sample[tier] = (c->next_sample[tier] + 1) % CONSOLE_MAX_SAMPLES;
    pthread_mutex_unlock(&c->lock);
}

/* The burn-down's samples: every tier every sample_s seconds, on its own Redis connection. */
static void *sampler(void *arg) {
    console_t *c = arg;
    char err[512];
    budget_t *b = budget_connect(&c->cfg, err, sizeof err);
    if (!b) return NULL;
    while (running) {
        for (int t = 0; t < CONSOLE_N_TIERS; t++) {
            budget_snapshot_t s;
            if (budget_snapshot(b, CONSOLE_TIERS[t], &s) == 0) console_add_sample(c, t, &s);
        }
        for (int i = 0; i < c->sample_s * 10 && running; i++) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    budget_free(b);
    return NULL;
}

/* ==== HTTP ==== */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, void *body, size_t len,
                            enum MHD_ResponseMemoryMode mode) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    MHD_add_response_header(r, "Content-Type", type);
    /* Only our own origin: no inline script or style, nothing from elsewhere. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with
     * a form's POST, and the action check needs the real Origin. Other sites still get
     * no referrer. */
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text) {
    return reply(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text), MHD_RESPMEM_MUST_COPY);
}

static const char *query(void *req, const char *key) {
    return MHD_lookup_connection_value(req, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result serve_blob(console_t *c, struct MHD_Connection *conn) {
    const char *uri = query(conn, "uri");
    if (!uri || !*uri) return reply_text(conn, 400, "expected ?uri=<a blob URI of the store>\n");
    unsigned char *data = NULL;
    size_t len = 0;
    char err[512];
    blob_status_t st = blob_get(c->store, uri, BLOB_MAX_BYTES, &data, &len, err, sizeof err);
    if (st != BLOB_OK) {
        char msg[640];
        snprintf(msg, sizeof msg, "%s\n", blob_status_name(st));
        return reply_text(conn, st == BLOB_OUTSIDE_STORE ? 403 : st == BLOB_MISSING ? 404 : 502, msg);
    }
    if (len < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8)) {
        free(data);
        return reply_text(conn, 415, "not a PNG: the console serves only images\n");
    }
    return reply(conn, 200, "image/png", data, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result reply_page(struct MHD_Connection *conn, int status, html_t *h) {
    size_t len = h->len;
    return reply(conn, (unsigned)status, "text/html; charset=utf-8", h->s, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result refuse_action(struct MHD_Connection *conn, int status, const char *why) {
    html_t h = {0};
    page_begin(&h, "Re-drive refused", "/dlq");
    html_raw(&h, "<p class=\"error\" id=\"action-error\">");
    html_str(&h, why);
    html_raw(&h, "</p><p><a href=\"/dlq\">back to the dead letters</a></p>");
    page_end(&h);
    return reply_page(conn, status, &h);
}

/* A POST's body, gathered across MHD's calls. */
typedef struct {
    char body[FORM_MAX_BYTES + 1];
    size_t len;
    bool too_big;
} upload_t;

/* POST /dlq/redrive with its whole body: the checks that make it safe from other sites
 * (an Origin other than ours, a form that is not urlencoded, no or a wrong token), then
 * the re-drive. Nothing is read from Kafka or published before every check passed. */
static enum MHD_Result serve_action(console_t *c, struct MHD_Connection *conn, upload_t *u) {
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
    /* Our own origin is the Host the request was sent to, over http or (behind a TLS
     * proxy that keeps Host) https. */
    char own[300], own_tls[300];
    snprintf(own, sizeof own, "http://%s", host ? host : "");
    snprintf(own_tls, sizeof own_tls, "https://%s", host ? host : "");
    if ((origin && (!host || (strcmp(origin, own) && strcmp(origin, own_tls)))) ||
        (site && strcmp(site, "same-origin") && strcmp(site, "none")))
        return refuse_action(conn, 403, "refused: the request comes from another origin than the console's own");
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33))
        return refuse_action(conn, 415, "refused: expected a form (application/x-www-form-urlencoded)");
    if (u->too_big) return refuse_action(conn, 413, "refused: the form is larger than 8 KiB");
    u->body[u->len] = 0;
    char tok[300];
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Pressroom-Token");
    if (!given) given = form_value(u->body, "token", tok, sizeof tok);
    if (!console_token_ok(c, given)) {
        log_warn("console_action_refused", "why", given && *given ? "wrong token" : "no token", NULL);
        return refuse_action(conn, 403, given && *given ? "refused: wrong action token" : "refused: no action token");
    }
    html_t h = {0};
    int status = action_redrive(c, &h, u->body);
    return reply_page(conn, status, &h);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe) {
    free(*req_cls);
    *req_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req_cls) {
    console_t *c = cls;
    if (c->action_token && !strcmp(url, "/dlq/redrive")) {
        if (strcmp(method, "POST"))
            return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "re-drive: POST only, with the action token\n");
        upload_t *u = *req_cls;
        if (!u) {
            *req_cls = xcalloc(1, sizeof *u);
            return MHD_YES;
        }
        if (*upload_size) {
            size_t n = *upload_size;
            if (u->len + n > FORM_MAX_BYTES) u->too_big = true;
            else memcpy(u->body + u->len, upload, n), u->len += n;
            *upload_size = 0;
            return MHD_YES;
        }
        return serve_action(c, conn, u);
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          c->action_token ? "GET only, but for POST /dlq/redrive\n" : "the console is read-only: GET only\n");
    if (!strcmp(url, "/static/console.css"))
        return reply(conn, 200, "text/css; charset=utf-8", (void *)CSS, sizeof CSS - 1, MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/static/console.js"))
        return reply(conn, 200, "text/javascript; charset=utf-8", (void *)JS, sizeof JS - 1, MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/favicon.ico")) return reply(conn, 204, "image/x-icon", (void *)"", 0, MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/healthz")) return reply_text(conn, 200, "ok\n");
    if (!strcmp(url, "/blob")) return serve_blob(c, conn);
    html_t h = {0};
    int status;
    if (!strcmp(url, "/")) status = page_fleet(c, &h);
    else if (!strcmp(url, "/lag")) status = page_lag(c, &h);
    else if (!strcmp(url, "/budgets")) status = page_budgets(c, &h);
    else if (!strcmp(url, "/verdicts")) status = page_verdicts(c, &h, query, conn);
    else if (!strcmp(url, "/dlq")) status = page_dlq(c, &h, query, conn);
    else return reply_text(conn, 404, "not found: the pages are /, /lag, /budgets, /verdicts, /dlq\n");
    return reply_page(conn, status, &h);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_warn("console_http_error", "msg", msg, NULL);
}

int main(int argc, char **argv) {
    log_init("pressroom-console");
    const char *listen = "127.0.0.1:8090", *config = NULL, *token_file = NULL;
    console_t *c = xcalloc(1, sizeof *c);
    c->last_n = 100;
    c->sample_s = 5;
    c->max_attempts = DLQ_DEFAULT_MAX_ATTEMPTS;
    pthread_mutex_init(&c->lock, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!v || a[0] != '-') {
            fprintf(stderr, "pressroom-console: unexpected argument \"%s\"%s\n", a, !v && a[0] == '-' ? " (it expects a value)" : "");
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--listen")) listen = v;
        else if (!strcmp(a, "--config")) config = v;
        else if (!strcmp(a, "--worker")) {
            if (add_worker(c, "--worker", v)) return 2;
        } else if (!strcmp(a, "--last")) {
            if (parse_int("--last", v, 1, 500, &c->last_n)) return 2;
        } else if (!strcmp(a, "--sample-s")) {
            if (parse_int("--sample-s", v, 1, 3600, &c->sample_s)) return 2;
        } else if (!strcmp(a, "--token-file")) token_file = v;
        else if (!strcmp(a, "--max-attempts")) {
            if (parse_int("--max-attempts", v, 1, 1000, &c->max_attempts)) return 2;
        } else {
            fprintf(stderr, "pressroom-console: unknown flag \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
    }
    config_load_dev_env();
    const char *from_env = getenv("PRESSROOM_CONSOLE_WORKERS");
    if (!c->n_workers && from_env && *from_env) {
        char *list = xstrdup(from_env), *save = NULL;
        for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save))
            if (add_worker(c, "PRESSROOM_CONSOLE_WORKERS", w)) return 2;
        free(list);
    }
    if (console_load_token(c, token_file)) return 2;
    char err[1024];
    if (config_load(&c->cfg, config, err, sizeof err)) {
        fprintf(stderr, "pressroom-console: %s\n", err);
        return 2;
    }
    c->store = blob_store_open(&c->cfg, err, sizeof err);
    if (!c->store) {
        fprintf(stderr, "pressroom-console: %s\n", err);
        return 2;
    }
    c->budget = budget_connect(&c->cfg, err, sizeof err);
    if (!c->budget) {
        fprintf(stderr, "pressroom-console: %s\n", err);
        return 2;
    }
    struct sockaddr_in sa;
    if (listen_addr_parse(listen, &sa)) {
        fprintf(stderr, "pressroom-console: --listen: expected HOST:PORT with an IPv4 address, found \"%s\"\n", listen);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                            on_request, c, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                                            (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "pressroom-console: --listen: cannot listen on %s\n", listen);
        return 1;
    }
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    printf("listening http://%s:%u/\n%s\n", host, port ? port->port : ntohs(sa.sin_port),
           c->action_token ? "actions enabled: POST /dlq/redrive with the action token" : "read-only: no action token");
    fflush(stdout);
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    pthread_t th;
    bool sampling = pthread_create(&th, NULL, sampler, c) == 0;
    /* The signal may land on any thread (MHD's, the sampler's, librdkafka's): poll the flag. */
    while (running) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    if (sampling) pthread_join(th, NULL);
    budget_free(c->budget);
    if (c->producer) {
        kafka_close(c->producer, 5000, false);
        kafka_free(c->producer);
    }
    free(c->action_token);
    blob_store_free(c->store);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return 0;
}
