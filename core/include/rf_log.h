/*
 * Logging without global state: every core context carries an rf_log_t.
 * A NULL function means silence. Levels follow ESP_LOGx (E, W, I, D, V).
 *
 * As ESP_LOGx does with LOG_LOCAL_LEVEL, a line above RF_LOG_MAX_LEVEL is
 * compiled out, its text included: on ESP-IDF RF_LOG_MAX_LEVEL is
 * CONFIG_LOG_MAXIMUM_LEVEL (Info by default: Debug and Verbose lines cost
 * nothing); elsewhere every level is built. Define RF_LOG_MAX_LEVEL (0 = none,
 * 1 = errors ... 5 = verbose) to choose.
 */
#pragma once
#include <stdarg.h>
#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#endif

#ifndef RF_LOG_MAX_LEVEL
#if defined(CONFIG_LOG_MAXIMUM_LEVEL)
#define RF_LOG_MAX_LEVEL CONFIG_LOG_MAXIMUM_LEVEL
#else
#define RF_LOG_MAX_LEVEL 5
#endif
#endif

typedef enum { RF_LOG_ERROR = 1, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG, RF_LOG_VERBOSE } rf_log_level_t;

typedef struct rf_log {
    void (*fn)(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap);
    void *arg;
} rf_log_t;

/** One line through log->fn, with the tag RF_TAG (rf_util.c: one copy, not
 *  one per file; the tag is not an argument, so no call passes it). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void rf_log(const rf_log_t *log, rf_log_level_t level, const char *fmt, ...);

/* The tag the reference component uses, so device logs read the same. */
#define RF_TAG "self_reflasher"
#define RF_LOG_AT(log, level, ...)                                   \
    do {                                                             \
        if (RF_LOG_MAX_LEVEL >= (level)) {                           \
            rf_log((log), (level), __VA_ARGS__);                     \
        }                                                            \
    } while (0)
#define RF_LOGE(log, ...) RF_LOG_AT((log), RF_LOG_ERROR, __VA_ARGS__)
#define RF_LOGW(log, ...) RF_LOG_AT((log), RF_LOG_WARN, __VA_ARGS__)
#define RF_LOGI(log, ...) RF_LOG_AT((log), RF_LOG_INFO, __VA_ARGS__)
#define RF_LOGD(log, ...) RF_LOG_AT((log), RF_LOG_DEBUG, __VA_ARGS__)
