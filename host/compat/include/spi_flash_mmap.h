/*
 * Host stand-in for ESP-IDF's spi_flash_mmap.h (the subset the examples use).
 * spi_flash_cache2phys(): given an address where flash is mapped, the
 * physical flash offset, or SPI_FLASH_CACHE2PHYS_FAIL when the address is not
 * in mapped flash. On the host, only data registered with
 * idf_emul_map_app_data() (the embedded image of the embedded example) is
 * "mapped flash".
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "esp_err.h"
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_ERR_FLASH_OP_FAIL    (ESP_ERR_FLASH_BASE + 1)
#define ESP_ERR_FLASH_OP_TIMEOUT (ESP_ERR_FLASH_BASE + 2)

#define SPI_FLASH_SEC_SIZE 4096
#define SPI_FLASH_CACHE2PHYS_FAIL UINT32_MAX

size_t spi_flash_cache2phys(const void *cached);

#ifdef __cplusplus
}
#endif
