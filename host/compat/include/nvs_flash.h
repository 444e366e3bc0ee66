/*
 * Host stand-in for ESP-IDF's nvs_flash.h. The emulation stores no NVS data:
 * nvs_flash_init() and nvs_flash_erase() return ESP_OK and do not touch the
 * simulated "nvs" partition (so a host run changes the device exactly as the
 * reflasher does, which the tests compare byte for byte).
 */
#pragma once
#include "esp_err.h"
#include "nvs.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t nvs_flash_init(void);
esp_err_t nvs_flash_erase(void);

#ifdef __cplusplus
}
#endif
