/* traceparent.h — W3C Trace Context (https://www.w3.org/TR/trace-context/) as a Kafka
 * header: every message a worker produces for an input carries "traceparent", with the
 * input's trace id and a new parent id (one per hop), so a job's walk from submit to
 * verdict is one trace in any tracer that reads the header.
 *
 *   traceparent: VERSION-TRACEID-PARENTID-FLAGS   e.g.
 *   00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 *
 * two, 32, 16 and two lower-case hex digits; the trace id and parent id not all zeros;
 * version ff is invalid. A version above 00 is read by its first four fields (the
 * spec's forward compatibility) and continued as version 00. */
#ifndef PRESSROOM_TRACEPARENT_H
#define PRESSROOM_TRACEPARENT_H

#include <stdbool.h>
#include <stddef.h>

#define TRACEPARENT_HEADER "traceparent"
#define TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

typedef struct {
    char trace_id[33];
    char parent_id[17];
    unsigned flags;
} traceparent_t;

/* Parses a header value of len bytes (not NUL-terminated). Returns true when it is a
 * valid traceparent by the rules above. */
bool traceparent_parse(const char *value, size_t len, traceparent_t *tp);

/* The next hop's header into out (at least TRACEPARENT_LEN + 1 bytes): the trace id
 * and flags of `in` with a fresh random parent id, or, when in is NULL (the job came
 * without one or with an invalid one), a fresh trace with the sampled flag clear.
 * Returns out. */
char *traceparent_next(const traceparent_t *in, char *out, size_t len);

#endif
