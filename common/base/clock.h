/* clock.h — the two clocks every part of pressroom reads: wall time (epoch ms, for
 * what crosses processes: submitted_ms, park deadlines, budget windows) and
 * monotonic time (µs, for intervals: latencies, timeouts, backoff). */
#ifndef PRESSROOM_CLOCK_H
#define PRESSROOM_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
/* Microseconds on the monotonic clock (CLOCK_MONOTONIC). */
int64_t mono_us(void);
/* Milliseconds on the monotonic clock. */
int64_t mono_ms(void);

#endif
