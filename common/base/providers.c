/* providers.c — the provider list's names and messages; see providers.h. */
#include "base/providers.h"

#include <stdio.h>
#include <string.h>

#define PROVIDER_NAME_(n) #n,
const char *const provider_names[PROVIDER_COUNT] = {PRESSROOM_PROVIDERS(PROVIDER_NAME_)};

bool provider_known(const char *name) {
    for (int i = 0; i < PROVIDER_COUNT; i++)
        if (!strcmp(provider_names[i], name)) return true;
    return false;
}

size_t provider_names_list(char *buf, size_t len) {
    size_t n = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i < PROVIDER_COUNT; i++) {
        int r = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s%s", i ? ", " : "",
                         provider_names[i]);
        if (r > 0) n += (size_t)r;
    }
    return n;
}
