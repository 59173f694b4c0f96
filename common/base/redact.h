/* redact.h — the one redaction rule: no configured secret leaves the process.
 *
 * Wherever a secret is loaded (a model's API key, an A1111 user:password, a Kafka
 * password or key from the environment) it is registered here, with every encoding
 * pressroom sends it in: the raw value (also what follows "Bearer "), and the base64 of
 * it (HTTP Basic authentication of "user:password"). Every string that leaves the
 * process passes through redact(): each log line at every level (log.c), librdkafka's
 * log lines (they go through log.c), model answers' details (which reach verdicts) and
 * verdict details themselves (route.c), start-up errors. Occurrences become
 * "[redacted]".
 *
 * Secrets shorter than REDACT_MIN_LEN bytes are not registered: replacing every "abc"
 * in every log line would garble the logs and protect nothing (such a secret is not
 * one). Thread-safe: log lines come from librdkafka's and the OCR pool's threads. */
#ifndef PRESSROOM_REDACT_H
#define PRESSROOM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define REDACT_MIN_LEN 6
#define REDACT_MARK "[redacted]"

/* Registers secret (copied) and its base64 encoding. */
void redact_add_secret(const char *secret);

/* Replaces every registered secret in s (NUL-terminated, cap bytes of room) by
 * REDACT_MARK, in place; truncates rather than overflow. */
void redact(char *s, size_t cap);

/* True for a Kafka property whose value is a secret: *password*, *secret*, sasl.*,
 * ssl.key*. Their values are never printed. */
bool redact_sensitive_property(const char *name);

/* Forgets every secret (tests). */
void redact_reset(void);

#endif
