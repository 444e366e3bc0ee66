/*
 * Logging without global state: every core context carries an rf_log_t.
 * A NULL function means silence. Levels follow ESP_LOGx (E, W, I, D, V).
 */
#pragma once
#include <stdarg.h>

typedef enum { RF_LOG_ERROR = 1, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG, RF_LOG_VERBOSE } rf_log_level_t;

typedef struct rf_log {
    void (*fn)(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap);
    void *arg;
} rf_log_t;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void rf_log(const rf_log_t *log, rf_log_level_t level, const char *tag, const char *fmt, ...)
{
    if (log == 0 || log->fn == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    log->fn(log->arg, level, tag, fmt, ap);
    va_end(ap);
}

/* The tag the reference component uses, so device logs read the same. */
#define RF_TAG "self_reflasher"
#define RF_LOGE(log, ...) rf_log((log), RF_LOG_ERROR, RF_TAG, __VA_ARGS__)
#define RF_LOGW(log, ...) rf_log((log), RF_LOG_WARN, RF_TAG, __VA_ARGS__)
#define RF_LOGI(log, ...) rf_log((log), RF_LOG_INFO, RF_TAG, __VA_ARGS__)
#define RF_LOGD(log, ...) rf_log((log), RF_LOG_DEBUG, RF_TAG, __VA_ARGS__)
