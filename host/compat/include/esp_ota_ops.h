/*
 * Host stand-in for ESP-IDF's esp_ota_ops.h (app_update): its error codes
 * and the one function the port uses. esp_ota_get_running_partition(): the partition the running app
 * executes from; on the host, the partition of the bound device's table
 * whose label is the device's "running" label (DEVICE.img.meta), or NULL
 * when no device is bound or no such partition exists.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "esp_err.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_ERR_OTA_BASE                    0x1500
#define ESP_ERR_OTA_PARTITION_CONFLICT      (ESP_ERR_OTA_BASE + 0x01)
#define ESP_ERR_OTA_SELECT_INFO_INVALID     (ESP_ERR_OTA_BASE + 0x02)
#define ESP_ERR_OTA_VALIDATE_FAILED         (ESP_ERR_OTA_BASE + 0x03)
#define ESP_ERR_OTA_SMALL_SEC_VER           (ESP_ERR_OTA_BASE + 0x04)
#define ESP_ERR_OTA_ROLLBACK_FAILED         (ESP_ERR_OTA_BASE + 0x05)
#define ESP_ERR_OTA_ROLLBACK_INVALID_STATE  (ESP_ERR_OTA_BASE + 0x06)

const esp_partition_t *esp_ota_get_running_partition(void);

#ifdef __cplusplus
}
#endif
