/* traceparent.c — W3C traceparent headers: parse one, make the next hop's. */
#include "base/traceparent.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static bool lower_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static bool all_zero(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0') return false;
    return true;
}

bool traceparent_parse(const char *v, size_t len, traceparent_t *tp) {
    if (!v || len < TRACEPARENT_LEN) return false;
    if (!lower_hex(v, 2) || !memcmp(v, "ff", 2)) return false;
    bool v00 = !memcmp(v, "00", 2);
    if (v00 ? len != TRACEPARENT_LEN : (len > TRACEPARENT_LEN && v[TRACEPARENT_LEN] != '-')) return false;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    if (!lower_hex(v + 3, 32) || all_zero(v + 3, 32) || !lower_hex(v + 36, 16) || all_zero(v + 36, 16) ||
        !lower_hex(v + 53, 2))
        return false;
    memcpy(tp->trace_id, v + 3, 32);
    tp->trace_id[32] = 0;
    memcpy(tp->parent_id, v + 36, 16);
    tp->parent_id[16] = 0;
    unsigned hi = (unsigned)(v[53] <= '9' ? v[53] - '0' : v[53] - 'a' + 10);
    unsigned lo = (unsigned)(v[54] <= '9' ? v[54] - '0' : v[54] - 'a' + 10);
    tp->flags = hi * 16 + lo;
    return true;
}

/* n random bytes as 2n lower-case hex digits into out; never all zeros. */
static void random_hex(char *out, size_t n) {
    unsigned char b[16];
    if (n > sizeof b) n = sizeof b;
    if (getrandom(b, n, 0) != (ssize_t)n) { /* no entropy source: time and pid, still unique enough */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 44);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (unsigned char)x;
        }
    }
    b[n - 1] |= 1; /* all zeros is invalid */
    for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

char *traceparent_next(const traceparent_t *in, char *out, size_t len) {
    char trace[33], parent[17];
    if (in) snprintf(trace, sizeof trace, "%s", in->trace_id);
    else random_hex(trace, 16);
    random_hex(parent, 8);
    snprintf(out, len, "00-%s-%s-%02x", trace, parent, in ? in->flags & 0xff : 0u);
    return out;
}
