/* Host stand-in for ESP-IDF's hal/spi_flash_types.h: only what esp_flash.h
 * users get through it here, the esp_flash error codes. */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include "hal/esp_flash_err.h"
