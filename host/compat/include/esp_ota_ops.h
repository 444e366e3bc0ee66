/*
 * Host stand-in for ESP-IDF's esp_ota_ops.h (the one function the port
 * uses). esp_ota_get_running_partition(): the partition the running app
 * executes from; on the host, the partition of the bound device's table
 * whose label is the device's "running" label (DEVICE.img.meta), or NULL
 * when no device is bound or no such partition exists.
 */
#pragma once
#include "esp_err.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

const esp_partition_t *esp_ota_get_running_partition(void);

#ifdef __cplusplus
}
#endif
