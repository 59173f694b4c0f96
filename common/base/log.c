/* log.c — structured JSON logs; see log.h. */
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/redact.h"

static char g_process[64] = "pressroom";
static log_level_t g_level = LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *process_name) {
    snprintf(g_process, sizeof g_process, "%s", process_name);
    const char *lvl = getenv("PRESSROOM_LOG_LEVEL");
    if (lvl) {
        for (int i = 0; i < 4; i++)
            if (strcmp(lvl, level_names[i]) == 0) g_level = (log_level_t)i;
    }
}

void log_set_level(log_level_t level) { g_level = level; }

/* Appends `s` JSON-escaped to buf at *pos, never past cap-1. */
static void append_escaped(char *buf, size_t cap, size_t *pos, const char *s) {
    for (; s && *s && *pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c < 0x20) {
            *pos += (size_t)snprintf(buf + *pos, cap - *pos, "\\u%04x", c);
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

/* Appends a value: redacted (base/redact.h) while still raw, then JSON-escaped, so a
 * secret is found whatever characters it holds. */
static void append_value(char *buf, size_t cap, size_t *pos, const char *s) {
    char v[8192];
    snprintf(v, sizeof v, "%s", s ? s : "");
    append_escaped(buf, cap, pos, redact(v, sizeof v));
}

static void append_raw(char *buf, size_t cap, size_t *pos, const char *s) {
    while (*s && *pos + 1 < cap) buf[(*pos)++] = *s++;
}

static void emit(log_level_t level, const char *event, const char *msg, va_list ap) {
    char buf[8192];
    size_t pos = 0;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    pos += (size_t)snprintf(buf, sizeof buf, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"proc\":\"",
                            ts, (int)(tv.tv_usec / 1000), level_names[level]);
    append_escaped(buf, sizeof buf, &pos, g_process);
    append_raw(buf, sizeof buf, &pos, "\",\"event\":\"");
    append_escaped(buf, sizeof buf, &pos, event);
    append_raw(buf, sizeof buf, &pos, "\"");
    if (msg) {
        append_raw(buf, sizeof buf, &pos, ",\"msg\":\"");
        append_value(buf, sizeof buf, &pos, msg);
        append_raw(buf, sizeof buf, &pos, "\"");
    } else {
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            append_raw(buf, sizeof buf, &pos, ",\"");
            append_escaped(buf, sizeof buf, &pos, k);
            append_raw(buf, sizeof buf, &pos, "\":\"");
            append_value(buf, sizeof buf, &pos, v);
            append_raw(buf, sizeof buf, &pos, "\"");
        }
    }
    if (pos > sizeof buf - 3) pos = sizeof buf - 3;
    buf[pos++] = '}';
    buf[pos++] = '\n';
    ssize_t w = write(2, buf, pos);
    (void)w;
}

void log_event(log_level_t level, const char *event, ...) {
    if (level < g_level) return;
    va_list ap;
    va_start(ap, event);
    emit(level, event, NULL, ap);
    va_end(ap);
}

void log_msgf(log_level_t level, const char *event, const char *fmt, ...) {
    if (level < g_level) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    va_list none;
    /* emit() ignores the va_list when msg is set; pass any valid list. */
    va_start(none, fmt);
    emit(level, event, msg, none);
    va_end(none);
}
