/* stats.h — latency percentiles and a monotonic clock, for reports and benchmarks. */
#ifndef PRESSROOM_STATS_H
#define PRESSROOM_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Sorts v ascending (in place). */
void stats_sort_i64(int64_t *v, size_t n);
/* The p-th percentile (nearest rank, p in 0..100) of v, which must be sorted; 0 when empty. */
int64_t stats_percentile(const int64_t *v, size_t n, double p);

#endif
