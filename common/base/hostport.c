/* hostport.c — HOST:PORT parsing; see hostport.h. */
#include "base/hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hostport_parse(const char *s, const char *scheme, int min_port, char *host, size_t hostlen, int *port) {
    if (scheme) {
        size_t n = strlen(scheme);
        if (!strncmp(s, scheme, n) && !strncmp(s + n, "://", 3)) s += n + 3;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen) return -1;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || colon[1] < '0' || colon[1] > '9') return -1;
    if (*end && !(scheme && *end == '/')) return -1;
    if (p < min_port || p > 65535) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

int listen_addr_parse(const char *s, struct sockaddr_in *addr) {
    char host[64];
    int port;
    if (hostport_parse(s, NULL, 0, host, sizeof host, &port)) return -1;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}
