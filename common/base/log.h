/* log.h — structured JSON logs, one object per line on stderr.
 *
 *   log_info("job_admitted", "job_id", id, "tier", "preview", NULL);
 *
 * Fields are key/value string pairs terminated by NULL; values (and msg) have every
 * registered secret replaced (base/redact.h), at every level, then are JSON-escaped.
 * Use log_infof()/log_errorf() for a free-text "msg" field. The process name is set
 * once with log_init(). Thread safe (one write(2) per line). */
#ifndef PRESSROOM_LOG_H
#define PRESSROOM_LOG_H

#include <stdarg.h>
#include <stdlib.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_init(const char *process_name);
void log_set_level(log_level_t level);
/* Structured event: `event` names what happened; then key, value, ..., NULL. */
void log_event(log_level_t level, const char *event, ...);
/* Free-text message with printf formatting, stored in the "msg" field. */
void log_msgf(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_event(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_event(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)

/* Fatal: logs with function and line, then exits 1. For start-up errors. */
#define FATAL(...)                                                             \
    do {                                                                       \
        log_msgf(LOG_ERROR, "fatal", __VA_ARGS__);                             \
        exit(1);                                                               \
    } while (0)

#endif
