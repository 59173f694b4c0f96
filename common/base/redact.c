/* redact.c — the process-wide secret registry and redact(); see redact.h. */
#include "base/redact.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

#define REDACT_MAX_FORMS 384 /* three forms per secret */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_forms[REDACT_MAX_FORMS]; /* written once each, before g_n publishes it */
static atomic_int g_n;

/* Adds one form under the lock; true when it is (or already was) registered. */
static bool add_form(char *form) {
    int n = atomic_load_explicit(&g_n, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (!strcmp(g_forms[i], form)) {
            free(form);
            return true;
        }
    if (n == REDACT_MAX_FORMS) {
        free(form);
        return false;
    }
    g_forms[n] = form;
    atomic_store_explicit(&g_n, n + 1, memory_order_release);
    return true;
}

bool redact_add_secret(const char *secret) {
    size_t len = secret ? strlen(secret) : 0;
    if (len < REDACT_MIN_SECRET) return false;
    /* Raw, base64, and base64 without its padding (as some echo it); the masks of the
     * two base64 forms overlap, so a padded one becomes a single mark. */
    char *forms[3] = {strdup(secret), base64_encode(secret, len, NULL), NULL};
    if (forms[1]) {
        forms[2] = strdup(forms[1]);
        if (forms[2]) forms[2][strcspn(forms[2], "=")] = '\0';
    }
    bool ok = forms[0] && forms[1] && forms[2];
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < 3; i++)
        if (forms[i]) ok = add_form(forms[i]) && ok;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

/* Marks in mask every byte of s (length len) that belongs to an occurrence of form,
 * or to a trailing fragment of it. Returns whether anything was marked. */
static bool mark_form(const char *s, size_t len, const char *form, unsigned char *mask) {
    size_t fl = strlen(form);
    bool any = false;
    for (const char *p = s; (p = strstr(p, form)); p++) {
        if (mask) memset(mask + (p - s), 1, fl);
        any = true;
    }
    for (size_t k = fl - 1 < len ? fl - 1 : len; k >= REDACT_MIN_SECRET; k--)
        if (!memcmp(s + len - k, form, k)) {
            if (mask) memset(mask + len - k, 1, k);
            any = true;
            break;
        }
    return any;
}

char *redact(char *s, size_t cap) {
    int n = atomic_load_explicit(&g_n, memory_order_acquire);
    if (!s || cap == 0 || n == 0) return s;
    size_t len = strnlen(s, cap - 1);
    s[len] = '\0';
    bool found = false;
    for (int i = 0; i < n && !found; i++) found = mark_form(s, len, g_forms[i], NULL);
    if (!found) return s;
    unsigned char *mask = calloc(len, 1);
    char *out = malloc(cap);
    if (!mask || !out) {
        /* Cannot rebuild it: nothing of it may leave. */
        free(mask);
        free(out);
        strncpy(s, REDACT_MARK, cap - 1);
        s[cap - 1] = '\0';
        return s;
    }
    for (int i = 0; i < n; i++) mark_form(s, len, g_forms[i], mask);
    static const char mark[] = REDACT_MARK;
    size_t o = 0;
    for (size_t i = 0; i < len && o < cap - 1;) {
        if (!mask[i]) {
            out[o++] = s[i++];
            continue;
        }
        for (size_t m = 0; m < sizeof mark - 1 && o < cap - 1; m++) out[o++] = mark[m];
        while (i < len && mask[i]) i++;
    }
    out[o] = '\0';
    memcpy(s, out, o + 1);
    free(mask);
    free(out);
    return s;
}
