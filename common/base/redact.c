/* redact.c — the registry of secrets and the one redaction rule; see redact.h. */
#include "base/redact.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"

#define MAX_SECRETS 64

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_secrets[MAX_SECRETS];
static int g_n;

static void add_locked(char *s) {
    for (int i = 0; i < g_n; i++)
        if (!strcmp(g_secrets[i], s)) {
            free(s);
            return;
        }
    if (g_n == MAX_SECRETS) {
        free(s);
        return;
    }
    /* Longest first, so a secret inside another (pass inside user:pass) is not found
     * first and leaves the rest of the longer one readable. */
    int i = g_n++;
    while (i > 0 && strlen(g_secrets[i - 1]) < strlen(s)) {
        g_secrets[i] = g_secrets[i - 1];
        i--;
    }
    g_secrets[i] = s;
}

void redact_add_secret(const char *secret) {
    if (!secret || strlen(secret) < REDACT_MIN_LEN) return;
    char *b64 = base64_encode(secret, strlen(secret), NULL);
    pthread_mutex_lock(&g_mu);
    add_locked(xstrdup(secret));
    if (b64) add_locked(b64);
    pthread_mutex_unlock(&g_mu);
}

/* Replaces each occurrence of secret in s. */
static void replace_all(char *s, size_t cap, const char *secret) {
    size_t sl = strlen(secret), ml = sizeof REDACT_MARK - 1;
    char *p = s;
    while ((p = strstr(p, secret))) {
        size_t head = (size_t)(p - s), tail = strlen(p + sl);
        if (head + ml >= cap) { /* no room even for the mark: cut the string here */
            *p = '\0';
            return;
        }
        if (head + ml + tail + 1 > cap) tail = cap - 1 - head - ml;
        memmove(p + ml, p + sl, tail);
        p[ml + tail] = '\0';
        memcpy(p, REDACT_MARK, ml);
        p += ml;
    }
}

void redact(char *s, size_t cap) {
    if (!s || !cap) return;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n; i++) replace_all(s, cap, g_secrets[i]);
    pthread_mutex_unlock(&g_mu);
}

bool redact_sensitive_property(const char *name) {
    return strstr(name, "password") || strstr(name, "secret") || !strncmp(name, "sasl.", 5) ||
           !strncmp(name, "ssl.key", 7);
}

void redact_reset(void) {
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n; i++) free(g_secrets[i]);
    g_n = 0;
    pthread_mutex_unlock(&g_mu);
}
