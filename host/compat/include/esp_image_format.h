/*
 * Host stand-in for ESP-IDF's esp_image_format.h (bootloader_support): the
 * image error codes, which ESP-IDF defines only here.
 */
#pragma once
#include <stdbool.h>
#include "esp_err.h"

#define ESP_ERR_IMAGE_BASE       0x2000
#define ESP_ERR_IMAGE_FLASH_FAIL (ESP_ERR_IMAGE_BASE + 1)
#define ESP_ERR_IMAGE_INVALID    (ESP_ERR_IMAGE_BASE + 2)
