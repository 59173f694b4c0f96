/* metrics.c — counters, gauges, histograms and their Prometheus rendering; see metrics.h. */
#include "base/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 4

static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

struct metric {
    char *labels; /* rendered: k="v",k2="v2" (without braces), "" for none */
    double value; /* counter, gauge; histogram sum */
    unsigned long long count;
    unsigned long long buckets[N_BUCKETS]; /* histogram, non-cumulative */
    struct metric *next;
};

typedef struct family {
    char *name, *help;
    metric_kind_t kind;
    metric_t *series;
    struct family *next;
} family_t;

static family_t *g_families, **g_tail = &g_families;
static char *g_const_labels; /* rendered like a series' labels */

/* ==== Text helpers ==== */

typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
}

/* A label value escaped as the exposition format wants: \\, \" and \n. */
static void put_label(buf_t *b, const char *key, const char *value) {
    put(b, "%s%s=\"", b->len ? "," : "", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\\') put(b, "\\\\");
        else if (*p == '"') put(b, "\\\"");
        else if (*p == '\n') put(b, "\\n");
        else put(b, "%c", *p);
    }
    put(b, "\"");
}

/* ==== Registry ==== */

static family_t *family_get(metric_kind_t kind, const char *name, const char *help) {
    for (family_t *f = g_families; f; f = f->next)
        if (!strcmp(f->name, name)) return f;
    family_t *f = calloc(1, sizeof *f);
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->kind = kind;
    *g_tail = f;
    g_tail = &f->next;
    return f;
}

metric_t *metric_get(metric_kind_t kind, const char *name, const char *help, ...) {
    family_t *f = family_get(kind, name, help);
    buf_t lb = {0};
    put(&lb, "%s", "");
    va_list ap;
    va_start(ap, help);
    for (int i = 0; i < MAX_LABELS; i++) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        put_label(&lb, k, v ? v : "");
    }
    va_end(ap);
    metric_t **pp = &f->series;
    for (; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->labels, lb.s)) {
            free(lb.s);
            return *pp;
        }
    metric_t *m = calloc(1, sizeof *m);
    m->labels = lb.s;
    *pp = m;
    return m;
}

void metric_inc(metric_t *m, double by) { m->value += by; }
void metric_set(metric_t *m, double v) { m->value = v; }

void metric_observe(metric_t *m, double v) {
    m->value += v;
    m->count++;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (v <= BUCKETS[i]) {
            m->buckets[i]++;
            break;
        }
}

double metric_value(const metric_t *m) { return m->count ? (double)m->count : m->value; }

void metrics_set_const_label(const char *key, const char *value) {
    buf_t b = {0};
    put(&b, "%s", "");
    if (g_const_labels) {
        put(&b, "%s", g_const_labels);
        free(g_const_labels);
    }
    put_label(&b, key, value);
    g_const_labels = b.s;
}

/* ==== Rendering ==== */

/* {const,series[,extra]} or nothing when all are empty. */
static void put_labels(buf_t *b, const metric_t *m, const char *extra) {
    const char *parts[] = {g_const_labels ? g_const_labels : "", m->labels, extra ? extra : ""};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        if (!parts[i][0]) continue;
        put(b, "%s%s", any ? "," : "{", parts[i]);
        any = true;
    }
    if (any) put(b, "}");
}

static void put_value(buf_t *b, double v) {
    if (v == (double)(long long)v && v < 9e15 && v > -9e15) put(b, " %lld\n", (long long)v);
    else put(b, " %.9g\n", v);
}

char *metrics_render(void) {
    static const char *const TYPE[] = {"counter", "gauge", "histogram"};
    buf_t b = {0};
    put(&b, "%s", "");
    for (const family_t *f = g_families; f; f = f->next) {
        put(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, TYPE[f->kind]);
        for (const metric_t *m = f->series; m; m = m->next) {
            if (f->kind != METRIC_HISTOGRAM) {
                put(&b, "%s", f->name);
                put_labels(&b, m, NULL);
                put_value(&b, m->value);
                continue;
            }
            unsigned long long cum = 0;
            for (size_t i = 0; i <= N_BUCKETS; i++) {
                char le[48];
                if (i < N_BUCKETS) {
                    cum += m->buckets[i];
                    snprintf(le, sizeof le, "le=\"%g\"", BUCKETS[i]);
                } else {
                    cum = m->count;
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                }
                put(&b, "%s_bucket", f->name);
                put_labels(&b, m, le);
                put_value(&b, (double)cum);
            }
            put(&b, "%s_sum", f->name);
            put_labels(&b, m, NULL);
            put_value(&b, m->value);
            put(&b, "%s_count", f->name);
            put_labels(&b, m, NULL);
            put_value(&b, (double)m->count);
        }
    }
    return b.s;
}

void metrics_reset(void) {
    while (g_families) {
        family_t *f = g_families;
        g_families = f->next;
        while (f->series) {
            metric_t *m = f->series;
            f->series = m->next;
            free(m->labels);
            free(m);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    g_tail = &g_families;
    free(g_const_labels);
    g_const_labels = NULL;
}
