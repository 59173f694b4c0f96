/* alloc.h — pressroom's one out-of-memory policy: allocation failure is fatal.
 *
 * A worker that cannot allocate logs "out_of_memory" (with the size asked for) and
 * aborts. Nothing is lost by it: an input's offset is stored only after it ended and
 * its outputs were acknowledged, so whatever was in flight is redelivered to the
 * restarted process (Kubernetes restarts it; `pressctl dev` does not). Code paths that
 * would otherwise try to limp on — park a message "until memory comes back", drop a
 * result — are not written at all: they were untested and a half-working worker is
 * worse than a restarted one.
 *
 * Every allocation in common/ goes through these; parsers of untrusted input bound
 * sizes before allocating, so an attacker cannot turn a message into an abort. */
#ifndef PRESSROOM_ALLOC_H
#define PRESSROOM_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
