/*
 * Host stand-in for ESP-IDF's esp_log.h, written from the ESP-IDF API
 * reference ("Logging library"): the ESP_LOGx macros print
 * "L (ms) tag: message" lines, L being E, W, I, D or V; esp_log_level_set()
 * sets the level of one tag ("*" for all); a line is printed when its level
 * is at or below the tag's level (default CONFIG_LOG_DEFAULT_LEVEL, Info).
 * As in ESP-IDF, a file's LOG_LOCAL_LEVEL defaults to CONFIG_LOG_MAXIMUM_LEVEL
 * (Kconfig's default for it: the default level, Info), and a line above it
 * is compiled out. Lines go to stdout (the chip's console). No colours.
 */
#pragma once
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_LOG_NONE = 0,
    ESP_LOG_ERROR,
    ESP_LOG_WARN,
    ESP_LOG_INFO,
    ESP_LOG_DEBUG,
    ESP_LOG_VERBOSE,
} esp_log_level_t;

void esp_log_level_set(const char *tag, esp_log_level_t level);
esp_log_level_t esp_log_level_get(const char *tag);
/** Milliseconds since the program started (the chip's boot). */
uint32_t esp_log_timestamp(void);
/** Print a formatted string if `level` is enabled for `tag` (no prefix, no newline added). */
void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void esp_log_writev(esp_log_level_t level, const char *tag, const char *format, va_list args);

#ifndef CONFIG_LOG_MAXIMUM_LEVEL
#ifdef CONFIG_LOG_DEFAULT_LEVEL
#define CONFIG_LOG_MAXIMUM_LEVEL CONFIG_LOG_DEFAULT_LEVEL
#else
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#endif
#endif

#ifndef LOG_LOCAL_LEVEL
#define LOG_LOCAL_LEVEL CONFIG_LOG_MAXIMUM_LEVEL
#endif

#define LOG_FORMAT(letter, format) #letter " (%" PRIu32 ") %s: " format "\n"

#define ESP_LOG_LEVEL(level, tag, format, ...)                                                          \
    do {                                                                                                \
        if ((level) == ESP_LOG_ERROR) {                                                                 \
            esp_log_write(ESP_LOG_ERROR, tag, LOG_FORMAT(E, format), esp_log_timestamp(), tag, ##__VA_ARGS__); \
        } else if ((level) == ESP_LOG_WARN) {                                                           \
            esp_log_write(ESP_LOG_WARN, tag, LOG_FORMAT(W, format), esp_log_timestamp(), tag, ##__VA_ARGS__); \
        } else if ((level) == ESP_LOG_DEBUG) {                                                          \
            esp_log_write(ESP_LOG_DEBUG, tag, LOG_FORMAT(D, format), esp_log_timestamp(), tag, ##__VA_ARGS__); \
        } else if ((level) == ESP_LOG_VERBOSE) {                                                        \
            esp_log_write(ESP_LOG_VERBOSE, tag, LOG_FORMAT(V, format), esp_log_timestamp(), tag, ##__VA_ARGS__); \
        } else {                                                                                        \
            esp_log_write(ESP_LOG_INFO, tag, LOG_FORMAT(I, format), esp_log_timestamp(), tag, ##__VA_ARGS__); \
        }                                                                                               \
    } while (0)

#define ESP_LOG_LEVEL_LOCAL(level, tag, format, ...)                 \
    do {                                                             \
        if (LOG_LOCAL_LEVEL >= (level)) {                            \
            ESP_LOG_LEVEL(level, tag, format, ##__VA_ARGS__);        \
        }                                                            \
    } while (0)

#define ESP_LOGE(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_ERROR, tag, format, ##__VA_ARGS__)
#define ESP_LOGW(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_WARN, tag, format, ##__VA_ARGS__)
#define ESP_LOGI(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_INFO, tag, format, ##__VA_ARGS__)
#define ESP_LOGD(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_DEBUG, tag, format, ##__VA_ARGS__)
#define ESP_LOGV(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_VERBOSE, tag, format, ##__VA_ARGS__)

#ifdef __cplusplus
}
#endif
