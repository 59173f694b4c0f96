/* pages.c — the console's pages: fleet, lag, budgets, verdicts, DLQ. Each reads its
 * source on request and appends escaped HTML; every list is bounded (last N, bytes
 * of a payload or header shown). Rows carry data-* attributes with the raw numbers, so
 * a test (or a script) reads what the page shows without scraping text. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/message.h"
#include "console.h"
#include "runtime/kafka.h"

#define KAFKA_TIMEOUT_MS 5000
#define PAYLOAD_SHOWN 2048
#define HEADER_SHOWN 512
#define DETAIL_SHOWN 400

static const struct {
    const char *path, *title;
} NAV[] = {{"/", "Fleet"}, {"/lag", "Lag"}, {"/budgets", "Budgets"}, {"/verdicts", "Verdicts"}, {"/dlq", "DLQ"}};

void page_begin(html_t *h, const char *title, const char *current) {
    html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width\"><title>pressroom · ");
    html_str(h, title);
    html_raw(h, "</title><link rel=\"stylesheet\" href=\"/static/console.css\">"
                "<script src=\"/static/console.js\" defer></script></head><body><nav><b>pressroom</b>");
    for (size_t i = 0; i < sizeof NAV / sizeof NAV[0]; i++)
        html_printf(h, "<a href=\"%s\"%s>%s</a>", NAV[i].path, !strcmp(NAV[i].path, current) ? " class=\"on\"" : "",
                    NAV[i].title);
    html_raw(h, "<label class=\"refresh\"><input type=\"checkbox\" id=\"autorefresh\"> refresh every 5 s</label></nav><main>");
    html_printf(h, "<h1>%s</h1>", title);
}

void page_end(html_t *h) {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    html_printf(h, "<footer>pressroom-console · built %s</footer></main></body></html>\n", when);
}

static void error_box(html_t *h, const char *what, const char *err) {
    html_raw(h, "<p class=\"error\">");
    html_str(h, what);
    html_raw(h, ": ");
    html_str(h, err);
    html_raw(h, "</p>");
}

static void time_cell(html_t *h, int64_t ms) {
    char when[32] = "-";
    if (ms > 0) {
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
    }
    html_printf(h, "<td class=\"t\" data-ms=\"%" PRId64 "\">%s</td>", ms, when);
}

/* ==== Fleet ==== */

typedef struct {
    html_t *h;
    int n;
} breakers_t;

static void on_breaker(void *ctx, const char *labels, double v) {
    breakers_t *b = ctx;
    char tier[64], model[128];
    prom_label(labels, "tier", tier, sizeof tier);
    prom_label(labels, "model", model, sizeof model);
    html_printf(b->h, "%s<span class=\"%s\" data-model=\"", b->n++ ? "<br>" : "", v > 0 ? "bad" : "ok");
    html_str(b->h, model);
    html_raw(b->h, "\">");
    html_str(b->h, tier);
    html_raw(b->h, "/");
    html_str(b->h, model);
    html_raw(b->h, v > 0 ? ": open</span>" : ": closed</span>");
}

/* The newest dead letter each worker wrote (its reason), from the DLQ's tail. */
typedef struct {
    char worker[64];
    char reason[256];
    int64_t ts;
} last_letter_t;

static int last_letters(console_t *c, last_letter_t *out, int max) {
    char t[256], err[512];
    const char *topics[] = {config_topic(&c->cfg, "dlq", t, sizeof t)};
    kafka_reader_t *r = kafka_reader_new_tail(&c->cfg, topics, 1, 20, KAFKA_TIMEOUT_MS, err, sizeof err);
    if (!r) return 0;
    int n = 0;
    int64_t deadline = now_ms() + KAFKA_TIMEOUT_MS;
    while (!kafka_reader_at_end(r) && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 100);
        if (!m) continue;
        rd_kafka_headers_t *hs = NULL;
        const void *wv = NULL, *rv = NULL;
        size_t wl = 0, rl = 0;
        if (!rd_kafka_message_headers(m, &hs) && !rd_kafka_header_get_last(hs, "pressroom-worker", &wv, &wl)) {
            rd_kafka_header_get_last(hs, "pressroom-reason", &rv, &rl);
            int64_t ts = rd_kafka_message_timestamp(m, NULL);
            int i = 0;
            while (i < n && (strlen(out[i].worker) != wl || memcmp(out[i].worker, wv, wl))) i++;
            if (i == n && n < max && wl < sizeof out[i].worker) {
                memset(&out[i], 0, sizeof out[i]);
                memcpy(out[i].worker, wv, wl);
                n++;
            }
            if (i < n && ts >= out[i].ts) {
                out[i].ts = ts;
                snprintf(out[i].reason, sizeof out[i].reason, "%.*s", (int)(rl < 255 ? rl : 255),
                         rv ? (const char *)rv : "");
            }
        }
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    return n;
}

int page_fleet(console_t *c, html_t *h) {
    page_begin(h, "Fleet", "/");
    if (!c->n_workers) {
        html_raw(h, "<p class=\"error\">no workers to show: give --worker NAME=URL (a worker's --metrics-listen "
                    "address), or run from a dev stack whose dev.env lists them (PRESSROOM_CONSOLE_WORKERS)</p>");
        page_end(h);
        return 200;
    }
    last_letter_t letters[CONSOLE_MAX_WORKERS];
    int n_letters = last_letters(c, letters, CONSOLE_MAX_WORKERS);
    html_raw(h, "<table id=\"fleet\"><thead><tr><th>worker</th><th>up</th><th>ready</th><th>in flight</th>"
                "<th>window</th><th>parked</th><th>paused</th><th>lag</th><th>breakers</th><th>dead letters</th>"
                "<th>last error</th></tr></thead><tbody>");
    for (int i = 0; i < c->n_workers; i++) {
        const console_worker_t *w = &c->workers[i];
        worker_status_t st;
        fleet_scrape(w, &st);
        double inflight = 0, window = 0, parked = 0, paused = 0, lag = 0, dead = 0, draining = 0;
        prom_value(st.metrics, "pressroom_inflight", NULL, NULL, &inflight);
        prom_value(st.metrics, "pressroom_max_inflight", NULL, NULL, &window);
        prom_value(st.metrics, "pressroom_parked", NULL, NULL, &parked);
        prom_value(st.metrics, "pressroom_consumer_paused", NULL, NULL, &paused);
        prom_value(st.metrics, "pressroom_consumer_lag", NULL, NULL, &lag);
        prom_value(st.metrics, "pressroom_dead_letters_total", NULL, NULL, &dead);
        prom_value(st.metrics, "pressroom_draining", NULL, NULL, &draining);
        char kind[64] = "";
        if (st.metrics) {
            char labels[256] = "";
            const char *p = strstr(st.metrics, "pressroom_inflight{");
            if (p) snprintf(labels, sizeof labels, "%.*s", (int)strcspn(p + 19, "}"), p + 19);
            prom_label(labels, "worker", kind, sizeof kind);
        }
        html_raw(h, "<tr data-worker=\"");
        html_str(h, w->name);
        html_printf(h, "\" data-up=\"%d\" data-ready=\"%d\" data-inflight=\"%.0f\" data-window=\"%.0f\" "
                       "data-parked=\"%.0f\" data-paused=\"%.0f\"><td>", st.up, st.ready, inflight, window, parked,
                    paused);
        html_str(h, w->name);
        html_raw(h, "<br><small>");
        html_str(h, w->url);
        html_raw(h, "</small></td>");
        html_printf(h, "<td class=\"%s\">%s</td>", st.up ? "ok" : "bad", st.up ? "up" : "down");
        html_printf(h, "<td class=\"%s\">%s", st.ready ? "ok" : "bad", st.ready ? "ready" : "not ready");
        if (!st.ready && st.not_ready[0]) {
            html_raw(h, "<br><small>");
            html_str(h, st.not_ready);
            html_raw(h, "</small>");
        }
        html_raw(h, "</td>");
        if (st.up)
            html_printf(h, "<td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%s%s</td><td>%.0f</td><td>", inflight, window,
                        parked, paused > 0 ? "paused" : "no", draining > 0 ? " (draining)" : "", lag);
        else
            html_raw(h, "<td>-</td><td>-</td><td>-</td><td>-</td><td>-</td><td>");
        breakers_t b = {h, 0};
        if (st.metrics) prom_each(st.metrics, "pressroom_model_breaker_open", on_breaker, &b);
        if (!b.n) html_raw(h, "-");
        html_printf(h, "</td><td>%.0f</td><td class=\"lasterr\">", dead);
        if (!st.up) html_str(h, st.error);
        else {
            const last_letter_t *l = NULL;
            for (int j = 0; j < n_letters && !l; j++)
                if (kind[0] && !strcmp(letters[j].worker, kind)) l = &letters[j];
            if (!st.ready && st.not_ready[0]) html_str(h, st.not_ready);
            else if (l) {
                html_raw(h, "dead letter: ");
                html_str(h, l->reason);
            } else html_raw(h, "-");
        }
        html_raw(h, "</td></tr>");
        fleet_status_free(&st);
    }
    html_raw(h, "</tbody></table><p class=\"note\">From each worker's <code>/metrics</code> and <code>/readyz</code>; "
                "lag is the worker's own view (<code>pressroom_consumer_lag</code>: its partitions' messages not done); "
                "last error: why it is not ready, else the reason of the newest dead letter it wrote.</p>");
    page_end(h);
    return 200;
}

/* ==== Lag ==== */

static const struct {
    const char *worker, *input;
} GROUPS[] = {{"preview-worker", "jobs"}, {"verifier-worker", "verify"}, {"production-worker", "production"}};

int page_lag(console_t *c, html_t *h) {
    page_begin(h, "Consumer lag", "/lag");
    html_raw(h, "<p class=\"note\">Committed offsets of each worker group against the partitions' high watermarks, "
                "asked of the brokers by a consumer that never joins the group.</p>");
    for (size_t g = 0; g < sizeof GROUPS / sizeof GROUPS[0]; g++) {
        char group[256], t1[256], t2[256], err[512];
        snprintf(group, sizeof group, "%s%s", c->cfg.group_prefix, GROUPS[g].worker);
        const char *lane = config_lane_topic(GROUPS[g].input);
        const char *topics[] = {config_topic(&c->cfg, GROUPS[g].input, t1, sizeof t1),
                                lane ? config_topic(&c->cfg, lane, t2, sizeof t2) : NULL};
        kafka_partition_lag_t rows[256];
        int n = kafka_group_lag(&c->cfg, group, topics, lane ? 2 : 1, false, rows, 256, KAFKA_TIMEOUT_MS, err, sizeof err);
        html_raw(h, "<h2>");
        html_str(h, group);
        html_raw(h, "</h2>");
        if (n < 0) {
            error_box(h, group, err);
            continue;
        }
        int64_t total = 0;
        for (int i = 0; i < n; i++) total += rows[i].lag;
        html_raw(h, "<table class=\"lag\" data-group=\"");
        html_str(h, group);
        html_printf(h, "\" data-total=\"%" PRId64 "\"><thead><tr><th>topic</th><th>partition</th><th>committed</th>"
                       "<th>high watermark</th><th>lag</th></tr></thead><tbody>", total);
        for (int i = 0; i < n; i++) {
            const kafka_partition_lag_t *r = &rows[i];
            html_raw(h, "<tr data-topic=\"");
            html_str(h, r->topic);
            html_printf(h, "\" data-partition=\"%d\" data-committed=\"%" PRId64 "\" data-high=\"%" PRId64
                           "\" data-lag=\"%" PRId64 "\"><td>", (int)r->partition, r->committed, r->high, r->lag);
            html_str(h, r->topic);
            html_printf(h, "</td><td>%d</td><td>%s%" PRId64 "</td><td>%" PRId64 "</td><td class=\"%s\">%" PRId64
                           "</td></tr>", (int)r->partition, r->committed < 0 ? "none, low " : "",
                        r->committed < 0 ? r->low : r->committed, r->high, r->lag ? "warn" : "", r->lag);
        }
        html_printf(h, "</tbody><tfoot><tr><td colspan=\"4\">total</td><td>%" PRId64 "</td></tr></tfoot></table>",
                    total);
    }
    page_end(h);
    return 200;
}

/* ==== Budgets ==== */

/* A line chart of spent (dark) and spent + reserved (light) over the samples of this
 * window, as inline SVG: x from the first sample to the last (what the console saw), y
 * from 0 to a little above the highest value, the cap drawn when it is in range. */
static void burn_chart(html_t *h, const budget_sample_t *s, int n, int64_t cap) {
    const int W = 560, H = 140, L = 56, B = 16;
    int64_t top = 10000; /* at least $0.01 */
    for (int i = 0; i < n; i++)
        if (s[i].spent + s[i].reserved > top) top = s[i].spent + s[i].reserved;
    top = top + top / 4;
    bool cap_shown = cap > 0 && cap <= top * 2;
    if (cap_shown && cap > top) top = cap;
    int64_t t0 = n ? s[0].t_ms : 0, t1 = n ? s[n - 1].t_ms : 0;
    if (t1 - t0 < 60000) t1 = t0 + 60000;
    double span = (double)(t1 - t0);
    html_printf(h, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                   "aria-label=\"spend over time\"><rect x=\"%d\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
                   "stroke=\"#ccc\"/>", L + W + 4, H + B, L + W + 4, H + B, L, W, H);
    html_printf(h, "<text x=\"%d\" y=\"10\" font-size=\"10\" text-anchor=\"end\">", L - 4);
    html_usd(h, top);
    html_printf(h, "</text><text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">$0</text>", L - 4, H);
    if (cap_shown) {
        double y = H - (double)cap / (double)top * H;
        html_printf(h, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>"
                       "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" fill=\"#c00\">cap ", L, L + W, y, y, L + 4, y + 11);
        html_usd(h, cap);
        html_raw(h, "</text>");
    } else if (cap > 0) {
        html_printf(h, "<text x=\"%d\" y=\"12\" font-size=\"10\" fill=\"#c00\">cap ", L + 4);
        html_usd(h, cap);
        html_raw(h, " (above the chart)</text>");
    }
    for (int pass = 0; pass < 2; pass++) {
        html_printf(h, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", pass ? "#06c" : "#9bd",
                    pass ? "2" : "1.5");
        for (int i = 0; i < n; i++) {
            double x = L + (double)(s[i].t_ms - t0) / span * W;
            double v = (double)(s[i].spent + (pass ? 0 : s[i].reserved));
            html_printf(h, "%.1f,%.1f ", x, H - v / (double)top * H);
        }
        html_raw(h, "\"/>");
    }
    char a[16] = "-", b[16] = "-";
    if (n) {
        time_t x = (time_t)(t0 / 1000), y = (time_t)(t1 / 1000);
        struct tm tm;
        strftime(a, sizeof a, "%H:%M:%SZ", gmtime_r(&x, &tm));
        strftime(b, sizeof b, "%H:%M:%SZ", gmtime_r(&y, &tm));
    }
    html_printf(h, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text><text x=\"%d\" y=\"%d\" font-size=\"10\" "
                   "text-anchor=\"end\">%s</text></svg>", L, H + 12, a, L + W, H + 12, b);
}

int page_budgets(console_t *c, html_t *h) {
    page_begin(h, "Budgets", "/budgets");
    html_raw(h, "<table id=\"budgets\"><thead><tr><th>tier</th><th>cap</th><th>spent</th><th>reserved</th>"
                "<th>deferred</th><th>in flight</th><th>window resets</th><th>burn rate</th>"
                "<th>time to exhaustion</th></tr></thead><tbody>");
    budget_snapshot_t snaps[CONSOLE_N_TIERS];
    bool ok[CONSOLE_N_TIERS];
    for (int t = 0; t < CONSOLE_N_TIERS; t++) {
        ok[t] = budget_snapshot(c->budget, CONSOLE_TIERS[t], &snaps[t]) == 0;
        if (!ok[t]) {
            html_printf(h, "<tr data-tier=\"%s\"><td>%s</td><td colspan=\"8\" class=\"error\">", CONSOLE_TIERS[t],
                        CONSOLE_TIERS[t]);
            html_str(h, budget_errstr(c->budget));
            html_raw(h, "</td></tr>");
            continue;
        }
        const budget_snapshot_t *s = &snaps[t];
        console_add_sample(c, t, s);
        /* The current burn rate: over this window's samples of the last minute. */
        double rate = 0; /* micro-dollars per second */
        pthread_mutex_lock(&c->lock);
        int n = c->n_samples[t];
        const budget_sample_t *last = n ? &c->samples[t][(c->next_sample[t] + CONSOLE_MAX_SAMPLES - 1) % CONSOLE_MAX_SAMPLES] : NULL;
        const budget_sample_t *first = last;
        for (int i = 1; i < n; i++) {
            const budget_sample_t *x = &c->samples[t][(c->next_sample[t] + CONSOLE_MAX_SAMPLES - 1 - i) % CONSOLE_MAX_SAMPLES];
            if (x->window_id != last->window_id || last->t_ms - x->t_ms > 60000) break;
            first = x;
        }
        if (last && first != last && last->t_ms > first->t_ms)
            rate = (double)(last->spent - first->spent) * 1000.0 / (double)(last->t_ms - first->t_ms);
        pthread_mutex_unlock(&c->lock);
        int64_t left = s->cap_micros - s->spent_micros - s->reserved_micros;
        html_printf(h, "<tr data-tier=\"%s\" data-cap-micros=\"%" PRId64 "\" data-spent-micros=\"%" PRId64
                       "\" data-reserved-micros=\"%" PRId64 "\" data-deferred=\"%" PRId64 "\"><td>%s%s</td><td>",
                    s->tier, s->cap_micros, s->spent_micros, s->reserved_micros, s->deferred, s->tier,
                    s->overridden ? " <small>(override)</small>" : "");
        if (s->cap_micros) html_usd(h, s->cap_micros);
        else html_raw(h, "none");
        html_raw(h, "</td><td>");
        html_usd(h, s->spent_micros);
        html_raw(h, "</td><td>");
        html_usd(h, s->reserved_micros);
        html_printf(h, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td>", s->deferred, s->in_flight);
        time_cell(h, s->window_reset_ms);
        html_raw(h, "<td>");
        html_usd(h, (int64_t)llround(rate * 60 / 10000) * 10000); /* to the cent */
        html_raw(h, "/min</td><td>");
        if (!s->cap_micros) html_raw(h, "no cap");
        else if (left <= 0) html_raw(h, "<span class=\"bad\">exhausted</span>");
        else if (rate <= 0) html_raw(h, "not spending");
        else {
            double secs = (double)left / rate;
            int64_t reset_in = (s->window_reset_ms - s->now_ms) / 1000;
            if (secs > (double)reset_in) html_printf(h, "after the window resets (%.0f min at this rate)", secs / 60);
            else html_printf(h, "<span class=\"warn\">%.0f min</span>", secs / 60);
        }
        html_raw(h, "</td></tr>");
    }
    html_raw(h, "</tbody></table>");
    for (int t = 0; t < CONSOLE_N_TIERS; t++) {
        if (!ok[t]) continue;
        const budget_snapshot_t *s = &snaps[t];
        budget_sample_t *copy = xmalloc(sizeof(budget_sample_t) * CONSOLE_MAX_SAMPLES);
        int n = 0;
        pthread_mutex_lock(&c->lock);
        for (int i = c->n_samples[t] - 1; i >= 0; i--) {
            const budget_sample_t *x = &c->samples[t][(c->next_sample[t] + CONSOLE_MAX_SAMPLES - 1 - i) % CONSOLE_MAX_SAMPLES];
            if (x->window_id == s->window_id) copy[n++] = *x;
        }
        pthread_mutex_unlock(&c->lock);
        html_printf(h, "<h2>%s: burn-down this window</h2>", s->tier);
        burn_chart(h, copy, n, s->cap_micros);
        html_printf(h, "<p class=\"note\">%d samples, one every %d s while the console runs; dark: spent, light: "
                       "spent + reserved.", n, c->sample_s);
        for (int m = 0; m < s->n_models; m++) {
            html_raw(h, m ? ", " : " By model: ");
            html_str(h, s->models[m].model);
            html_raw(h, " ");
            html_usd(h, s->models[m].spent_micros);
        }
        html_raw(h, "</p>");
        free(copy);
    }
    page_end(h);
    return 200;
}

/* ==== Verdicts ==== */

typedef struct {
    outcome_t o;
    int64_t ts;
    char topic[64];
} verdict_row_t;

static int by_time_desc(const void *a, const void *b) {
    const verdict_row_t *x = a, *y = b;
    return x->ts < y->ts ? 1 : x->ts > y->ts ? -1 : strcmp(x->o.job_id, y->o.job_id);
}

static int rows_param(console_t *c, query_fn q, void *req) {
    const char *s = q(req, "n");
    char *end = NULL;
    long n = s && *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : 0;
    if (!end || *end || n < 1) n = c->last_n; /* absent or not a positive integer: the default */
    return n > 500 ? 500 : (int)n;
}

static bool matches(const char *want, const char *got) { return !want || !*want || !strcmp(want, got); }

static void filter_select(html_t *h, const char *name, const char *current, const char *const *options, int n) {
    html_printf(h, "<label>%s <select name=\"%s\"><option value=\"\">any</option>", name, name);
    for (int i = 0; i < n; i++) {
        html_raw(h, "<option value=\"");
        html_str(h, options[i]);
        html_raw(h, current && !strcmp(current, options[i]) ? "\" selected>" : "\">");
        html_str(h, options[i]);
        html_raw(h, "</option>");
    }
    html_raw(h, "</select></label> ");
}

/* Adds s to a set of distinct strings (for the filters' options). */
static int add_option(const char **set, int n, int max, const char *s) {
    if (!*s) return n;
    for (int i = 0; i < n; i++)
        if (!strcmp(set[i], s)) return n;
    if (n < max) set[n++] = s;
    return n;
}

int page_verdicts(console_t *c, html_t *h, query_fn q, void *req) {
    page_begin(h, "Verdicts", "/verdicts");
    int want = rows_param(c, q, req);
    const char *f_class = q(req, "class"), *f_verdict = q(req, "verdict"), *f_reason = q(req, "reason");
    char t1[256], t2[256], err[512];
    const char *topics[] = {config_topic(&c->cfg, "results", t1, sizeof t1),
                            config_topic(&c->cfg, "rejected", t2, sizeof t2)};
    kafka_reader_t *r = kafka_reader_new_tail(&c->cfg, topics, 2, want, KAFKA_TIMEOUT_MS, err, sizeof err);
    if (!r) {
        error_box(h, "reading the terminal topics", err);
        page_end(h);
        return 200;
    }
    int cap = 256, n = 0;
    verdict_row_t *rows = xmalloc(sizeof *rows * (size_t)cap);
    int64_t deadline = now_ms() + KAFKA_TIMEOUT_MS;
    while (!kafka_reader_at_end(r) && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 100);
        if (!m) continue;
        if (n == cap) rows = xrealloc(rows, sizeof *rows * (size_t)(cap *= 2));
        char perr[256];
        if (outcome_parse(m->payload, m->len, &rows[n].o, perr, sizeof perr) == 0) {
            rows[n].ts = rd_kafka_message_timestamp(m, NULL);
            snprintf(rows[n].topic, sizeof rows[n].topic, "%s", rd_kafka_topic_name(m->rkt));
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    bool complete = kafka_reader_at_end(r);
    kafka_reader_free(r);
    qsort(rows, (size_t)n, sizeof *rows, by_time_desc);
    const char *classes[64] = {0}, *reasons[64] = {0};
    int nc = 0, nr = 0;
    for (int i = 0; i < n; i++) {
        nc = add_option(classes, nc, 64, rows[i].o.asset_class);
        nr = add_option(reasons, nr, 64, rows[i].o.reason);
    }
    static const char *const verdicts[] = {"accepted", "degraded", "rejected"};
    html_raw(h, "<form class=\"filters\" method=\"get\" action=\"/verdicts\">");
    filter_select(h, "class", f_class, classes, nc);
    filter_select(h, "verdict", f_verdict, verdicts, 3);
    filter_select(h, "reason", f_reason, reasons, nr);
    html_printf(h, "<label>last <input name=\"n\" type=\"number\" min=\"1\" max=\"500\" value=\"%d\"></label> "
                   "<button>show</button></form>", want);
    if (!complete) html_raw(h, "<p class=\"error\">the topics were not read to their end in time: the list may miss the newest</p>");
    html_raw(h, "<table id=\"verdicts\"><thead><tr><th>image</th><th>job</th><th>class</th><th>verdict</th>"
                "<th>reason</th><th>cost</th><th>latency</th><th>renders</th><th>at</th></tr></thead><tbody>");
    int shown = 0;
    for (int i = 0; i < n && shown < want; i++) {
        const outcome_t *o = &rows[i].o;
        const char *verdict = job_verdict_name(o->verdict);
        if (!matches(f_class, o->asset_class) || !matches(f_verdict, verdict) || !matches(f_reason, o->reason)) continue;
        shown++;
        html_raw(h, "<tr data-job-id=\"");
        html_str(h, o->job_id);
        html_printf(h, "\" data-verdict=\"%s\" data-cost-micros=\"%" PRId64 "\"><td>", verdict, o->cost_micros);
        if (o->image_uri[0] && blob_uri_inside(c->store, o->image_uri, NULL, 0)) {
            html_raw(h, "<a href=\"/blob?uri=");
            html_url_value(h, o->image_uri);
            html_raw(h, "\"><img class=\"thumb\" loading=\"lazy\" alt=\"\" src=\"/blob?uri=");
            html_url_value(h, o->image_uri);
            html_raw(h, "\"></a>");
        } else if (o->image_uri[0]) {
            html_raw(h, "<small>outside the store</small>");
        } else html_raw(h, "-");
        html_raw(h, "</td><td>");
        html_str(h, o->job_id);
        html_raw(h, "<br><small>");
        html_str(h, o->revision);
        html_raw(h, "</small></td><td>");
        html_str(h, o->asset_class);
        html_printf(h, "</td><td class=\"%s\">%s</td><td>", o->verdict == VERDICT_REJECTED ? "bad" : o->verdict == VERDICT_DEGRADED ? "warn" : "ok", verdict);
        html_str(h, o->reason);
        if (o->detail[0]) {
            html_raw(h, "<br><small>");
            html_text(h, o->detail, strlen(o->detail), DETAIL_SHOWN);
            html_raw(h, "</small>");
        }
        html_raw(h, "</td><td>");
        html_usd(h, o->cost_micros);
        html_printf(h, "</td><td>%" PRId64 " ms</td><td>%d (%d escalated)</td>", o->latency_ms, o->attempt,
                    o->escalations);
        time_cell(h, rows[i].ts);
        html_raw(h, "</tr>");
    }
    html_printf(h, "</tbody></table><p class=\"note\">%d shown of the last %d per partition read from ", shown, want);
    html_str(h, t1);
    html_raw(h, " and ");
    html_str(h, t2);
    html_raw(h, ", newest first; a job verdict read twice (at-least-once) is listed twice.</p>");
    for (int i = 0; i < n; i++) outcome_free(&rows[i].o);
    free(rows);
    page_end(h);
    return 200;
}

/* ==== Dead letters ==== */

int page_dlq(console_t *c, html_t *h, query_fn q, void *req) {
    page_begin(h, "Dead letters", "/dlq");
    int want = rows_param(c, q, req);
    const char *f_reason = q(req, "reason");
    char t[256], err[512];
    const char *topics[] = {config_topic(&c->cfg, "dlq", t, sizeof t)};
    kafka_reader_t *r = kafka_reader_new_tail(&c->cfg, topics, 1, want, KAFKA_TIMEOUT_MS, err, sizeof err);
    if (!r) {
        error_box(h, "reading the DLQ", err);
        page_end(h);
        return 200;
    }
    html_printf(h, "<form class=\"filters\" method=\"get\" action=\"/dlq\"><label>reason starts with <input name=\"reason\" value=\"");
    html_str(h, f_reason ? f_reason : "");
    html_printf(h, "\"></label> <label>last <input name=\"n\" type=\"number\" min=\"1\" max=\"500\" value=\"%d\">"
                   "</label> <button>show</button></form>", want);
    bool actions = c->action_token != NULL;
    if (actions) {
        /* The token is typed here and copied into the form on submit (console.js); the
         * page never carries it. */
        html_printf(h, "<div class=\"actions\" id=\"actions\"><label>action token <input type=\"password\" "
                       "id=\"action-token\" autocomplete=\"off\"></label> <span class=\"error\" id=\"action-msg\"></span> "
                       "<span class=\"note\">re-drive publishes a letter to the topic it came from with "
                       "pressroom-redrive-attempt + 1; refused at %d attempts</span>",
                    c->max_attempts);
        if (f_reason && *f_reason) {
            html_raw(h, "<form class=\"action\" id=\"redrive-filtered\" method=\"post\" action=\"/dlq/redrive\">"
                        "<input type=\"hidden\" name=\"token\"><input type=\"hidden\" name=\"filtered\" value=\"1\">"
                        "<input type=\"hidden\" name=\"reason\" value=\"");
            html_str(h, f_reason);
            html_raw(h, "\"><button>re-drive the newest letter of each job with this reason</button></form>");
        }
        html_raw(h, "</div>");
    }
    html_printf(h, "<table id=\"dlq\"><thead><tr><th>at</th><th>from</th><th>key</th><th>reason</th><th>headers</th>"
                   "<th>payload</th>%s</tr></thead><tbody>", actions ? "<th>action</th>" : "");
    int64_t deadline = now_ms() + KAFKA_TIMEOUT_MS;
    int shown = 0;
    while (!kafka_reader_at_end(r) && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 100);
        if (!m) continue;
        rd_kafka_headers_t *hs = NULL;
        const void *rv = NULL;
        size_t rl = 0;
        if (rd_kafka_message_headers(m, &hs)) hs = NULL;
        if (hs) rd_kafka_header_get_last(hs, "pressroom-reason", &rv, &rl);
        if (f_reason && *f_reason && (rl < strlen(f_reason) || memcmp(rv, f_reason, strlen(f_reason)))) {
            rd_kafka_message_destroy(m);
            continue;
        }
        shown++;
        html_printf(h, "<tr data-partition=\"%d\" data-offset=\"%" PRId64 "\" data-key=\"", (int)m->partition,
                    (int64_t)m->offset);
        html_text(h, m->key, m->key_len, 256);
        html_raw(h, "\" data-reason=\"");
        html_text(h, rv, rl, HEADER_SHOWN);
        html_raw(h, "\">");
        time_cell(h, rd_kafka_message_timestamp(m, NULL));
        html_printf(h, "<td>[%d] @%" PRId64 "</td><td>", (int)m->partition, (int64_t)m->offset);
        html_text(h, m->key, m->key_len, 256);
        html_raw(h, "</td><td class=\"reason\">");
        html_text(h, rv, rl, HEADER_SHOWN);
        html_raw(h, "</td><td><dl>");
        const char *name;
        const void *val;
        size_t vl;
        for (size_t i = 0; hs && i < 32 && !rd_kafka_header_get_all(hs, i, &name, &val, &vl); i++) {
            html_raw(h, "<dt>");
            html_text(h, name, strlen(name), 128);
            html_raw(h, "</dt><dd>");
            html_text(h, val, vl, HEADER_SHOWN);
            html_raw(h, "</dd>");
        }
        html_printf(h, "</dl></td><td><small>%zu bytes%s</small><pre>", m->len, m->len > PAYLOAD_SHOWN ? ", first 2048 shown" : "");
        html_text(h, m->payload, m->len, PAYLOAD_SHOWN);
        html_raw(h, "</pre></td>");
        if (actions)
            html_printf(h, "<td><form class=\"action redrive\" method=\"post\" action=\"/dlq/redrive\">"
                           "<input type=\"hidden\" name=\"token\"><input type=\"hidden\" name=\"letter\" "
                           "value=\"%d:%" PRId64 "\"><button data-letter=\"%d:%" PRId64 "\">re-drive</button></form></td>",
                        (int)m->partition, (int64_t)m->offset, (int)m->partition, (int64_t)m->offset);
        html_raw(h, "</tr>");
        rd_kafka_message_destroy(m);
    }
    bool complete = kafka_reader_at_end(r);
    kafka_reader_free(r);
    html_printf(h, "</tbody></table><p class=\"note\">%d letters: the last %d per partition of ", shown, want);
    html_str(h, t);
    html_raw(h, complete ? ", oldest first per partition.</p>" : "; <b>not read to the end in time</b>.</p>");
    page_end(h);
    return 200;
}
