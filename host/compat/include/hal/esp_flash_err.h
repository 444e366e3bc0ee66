/*
 * Host stand-in for ESP-IDF's hal/esp_flash_err.h (hal; esp_flash.h brings
 * it through hal/spi_flash_types.h): the esp_flash error codes other than
 * ESP_ERR_FLASH_OP_FAIL/_TIMEOUT (those are spi_flash_mmap.h's).
 */
#pragma once
#include <stdint.h>
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    ESP_ERR_FLASH_SIZE_NOT_MATCH = ESP_ERR_INVALID_SIZE,
    ESP_ERR_FLASH_NO_RESPONSE = ESP_ERR_INVALID_RESPONSE,
};

#define ESP_ERR_FLASH_NOT_INITIALISED   (ESP_ERR_FLASH_BASE+3)
#define ESP_ERR_FLASH_UNSUPPORTED_HOST  (ESP_ERR_FLASH_BASE+4)
#define ESP_ERR_FLASH_UNSUPPORTED_CHIP  (ESP_ERR_FLASH_BASE+5)
#define ESP_ERR_FLASH_PROTECTED         (ESP_ERR_FLASH_BASE+6)

#ifdef __cplusplus
}
#endif
