/* redact.h — one redaction rule for every string that leaves the process.
 *
 * A process-wide registry of secrets. Whoever loads a secret registers it once, with
 * redact_add_secret(): the model client each API key (and, for A1111's "user:password",
 * the password alone), the Kafka set-up each sensitive property it reads from the
 * environment, the reference renderer its own key. redact() then replaces, in a string
 * about to leave the process, every registered secret in every encoding we send it by
 * REDACT_MARK: the raw value (so "Bearer <key>" becomes "Bearer [redacted]") and its
 * base64 (HTTP Basic of "user:password"). log.c applies it to every line at every level
 * (librdkafka's lines go through log.c too); the model client to its result details at
 * their source; the worker runtime to start-up errors and dead letters' reasons.
 *
 * Secrets shorter than REDACT_MIN_SECRET bytes are refused: replacing every "abc" in
 * every log line would garble the logs while such a secret is guessable anyway. The
 * caller warns naming where it came from, never the value.
 *
 * Thread safe: registration takes a lock, redact() reads the registry without one. */
#ifndef PRESSROOM_REDACT_H
#define PRESSROOM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define REDACT_MIN_SECRET 6
#define REDACT_MARK "[redacted]"

/* Registers secret (copied) and its base64 (with and without padding). Registering it
 * again is a no-op. Returns false when it is not registered: shorter than REDACT_MIN_SECRET,
 * the registry full, or out of memory. */
bool redact_add_secret(const char *secret);

/* Replaces in s (NUL-terminated, in a buffer of cap bytes) every occurrence of a
 * registered secret by REDACT_MARK; occurrences that overlap or touch become one
 * mark. A string that ends in the first REDACT_MIN_SECRET or more bytes of a secret
 * (what a truncated copy leaves) has that fragment replaced too. When the marks make
 * the result longer than cap - 1 bytes it is cut there: what remains never holds a
 * part of a secret that redact() would have replaced. Returns s. */
char *redact(char *s, size_t cap);

#endif
