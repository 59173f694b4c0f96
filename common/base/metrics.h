/* metrics.h — the process's metrics: counters, gauges and histograms, rendered in the
 * Prometheus text format (served by admin_http.c at /metrics) and read back for the
 * periodic stats log line.
 *
 * A series is a family name plus label values, found or created on first use:
 *
 *   metric_inc(metric_get(METRIC_COUNTER, "pressroom_verdicts_total",
 *                         "Jobs ended, by verdict.", "verdict", "accepted", NULL), 1);
 *
 * Callers keep the returned pointer for hot paths. Not thread-safe by design: only a
 * worker's loop thread records and renders (the HTTP endpoint is served from that loop). */
#ifndef PRESSROOM_METRICS_H
#define PRESSROOM_METRICS_H

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_kind_t;

typedef struct metric metric_t;

/* The series of family `name` with the given labels: NULL-terminated key, value pairs
 * (at most 4). A family keeps the kind and help of its first series. Histograms use
 * latency buckets in seconds (5 ms to 60 s). Never NULL. */
metric_t *metric_get(metric_kind_t kind, const char *name, const char *help, ...)
    __attribute__((sentinel));

void metric_inc(metric_t *m, double by);
void metric_set(metric_t *m, double v);
void metric_observe(metric_t *m, double v);
/* Counter or gauge value; a histogram's count of observations. */
double metric_value(const metric_t *m);

/* A label every series carries (e.g. worker="preview-worker"). */
void metrics_set_const_label(const char *key, const char *value);

/* Every series in the Prometheus text exposition format 0.0.4; free() it. */
char *metrics_render(void);

/* Frees every series (process exit, tests). */
void metrics_reset(void);

#endif
