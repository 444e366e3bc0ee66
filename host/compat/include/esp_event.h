/* Host stand-in for ESP-IDF's esp_event.h: the default event loop is not
 * needed on the host; esp_event_loop_create_default() returns ESP_OK. */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "esp_event_base.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t esp_event_loop_create_default(void);

#ifdef __cplusplus
}
#endif
