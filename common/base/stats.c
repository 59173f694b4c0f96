/* stats.c — percentiles and a monotonic clock; see stats.h. */
#include "base/stats.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void stats_sort_i64(int64_t *v, size_t n) { qsort(v, n, sizeof *v, cmp_i64); }

int64_t stats_percentile(const int64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    long idx = (long)ceil(p / 100.0 * (double)n) - 1;
    if (idx < 0) idx = 0;
    if ((size_t)idx >= n) idx = (long)n - 1;
    return v[idx];
}
