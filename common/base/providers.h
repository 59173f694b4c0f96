/* providers.h — the one list of model provider adapters (the "provider" of a model in
 * the config). Everything that names them is built from PRESSROOM_PROVIDERS: the
 * config validator (base/config.c), the adapter registry (model/provider.c, which
 * expects a `const provider_t provider_NAME` in model/provider_NAME.c for each) and
 * the messages that list them.
 *
 *   #define NAME_STRING(n) #n,
 *   static const char *const names[] = {PRESSROOM_PROVIDERS(NAME_STRING)};
 *
 * Adding a provider: one X(name) here, its adapter, and the name in
 * schemas/config.schema.json (tests/integration/test_schemas.sh compares the two). */
#ifndef PRESSROOM_PROVIDERS_H
#define PRESSROOM_PROVIDERS_H

#include <stdbool.h>
#include <stddef.h>

#define PRESSROOM_PROVIDERS(X) X(openai) X(raw) X(stability) X(a1111) X(vertex)

#define PROVIDER_COUNT_ONE_(n) +1
enum { PROVIDER_COUNT = 0 PRESSROOM_PROVIDERS(PROVIDER_COUNT_ONE_) };

/* The provider names, in the list's order. */
extern const char *const provider_names[PROVIDER_COUNT];

/* Is `name` one of the providers? */
bool provider_known(const char *name);

/* Writes "openai, raw, stability, a1111, vertex" (for "expected one of ...") into buf,
 * truncated to len - 1 bytes and NUL-terminated when len > 0. Returns the length of
 * the whole list, as snprintf does. */
size_t provider_names_list(char *buf, size_t len);

#endif
