/*
 * Host stand-in for ESP-IDF's esp_timer.h: esp_timer_get_time() only (the
 * microseconds since boot; on the host CLOCK_MONOTONIC, idf_emul_sys.c), as
 * the port uses it.
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int64_t esp_timer_get_time(void);

#ifdef __cplusplus
}
#endif
