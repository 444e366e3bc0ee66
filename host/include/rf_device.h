/*
 * A simulated device on the host: DEVICE.img is the raw flash content byte
 * for byte (so cmp and dd work on it); DEVICE.img.meta, a small key=value
 * text file beside it, holds the chip, the running partition, the partition
 * table offset and the flash timing settings.
 *
 * rf_device_platform() binds a device to the seed-compatible API: the
 * "native host port" (NOR simulator + libcurl + files).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "nor_sim.h"
#include "rf_ptable.h"
#include "self_reflasher_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RF_DEVICE_PATH_MAX 1024

typedef struct rf_device {
    nor_sim_t *sim;
    rf_flash_t flash;
    char chip[16];             /**< "esp32", "esp32s3", ... */
    char running[RF_PART_LABEL_MAX + 1]; /**< label of the running partition */
    uint32_t ptable_offset;    /**< 0x8000 unless the meta says otherwise */
    char path[RF_DEVICE_PATH_MAX];
    bool quiet;                /**< only error log lines */
    bool log_to_stderr;        /**< log lines on stderr (keeps stdout for --json) */
    uint64_t net_bytes;        /**< bytes delivered by sources made by the platform */
    esp_self_reflasher_platform_t platform;
    /** SHA-256 (64 lowercase hex digits) of the ESP-IDF bootloader that
     *  rf_device_write_old_system() put on the device (meta key
     *  old_bootloader_sha256); "" when the meta has none. */
    char old_bootloader_sha256[65];
    /** ROM recovery-bootloader address (eFuse RECOVERY_BOOTLOADER_FLASH_SECTOR
     *  x 4 KiB on ESP32-C5/-C61/-P4); 0 = none. Meta key recovery_bootloader_offset. */
    uint32_t recovery_offset;
} rf_device_t;

typedef struct rf_device_spec {
    const char *chip;            /**< esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2, ... */
    uint32_t flash_size;         /**< bytes */
    const char *partitions_csv;  /**< path of an ESP-IDF partitions.csv */
    const char *running;         /**< label of the running partition, e.g. "factory" */
    uint32_t ptable_offset;      /**< 0 for the default 0x8000 */
} rf_device_spec_t;

/** Second-stage bootloader offset of a chip (0x1000 on esp32/esp32s2, 0x0 on
 *  esp32s3/c2/c3/c6/h2/c61, 0x2000 on esp32c5/p4); false if the chip is unknown. */
bool rf_chip_bootloader_offset(const char *chip, uint32_t *offset);

/** Create DEVICE.img (+ .meta): flash all 0xFF but the partition table at
 *  ptable_offset. Overwrites existing files. err gets a message on failure. */
esp_err_t rf_device_create(const char *img_path, const rf_device_spec_t *spec, char *err, size_t err_len);

/** Open an existing device (file-backed: every write lands in DEVICE.img). */
esp_err_t rf_device_open(const char *img_path, rf_device_t *dev, char *err, size_t err_len);

/** An in-memory copy of an open device, e.g. for a power-cut sweep. */
esp_err_t rf_device_clone(const rf_device_t *src, rf_device_t *dst);

void rf_device_close(rf_device_t *dev);

/** The device's platform for the seed API (dev->platform, filled by open/clone). */
const esp_self_reflasher_platform_t *rf_device_get_platform(rf_device_t *dev);

/** Make dev the platform returned by esp_self_reflasher_default_platform()
 *  (NULL unbinds). The host build's only global. */
void rf_device_bind_default(rf_device_t *dev);

/** Read the partition table of the device. */
esp_err_t rf_device_ptable(rf_device_t *dev, rf_ptable_t *out);

/** Set `key`=`value` in DEVICE.img.meta (replacing the key's lines, or
 *  appending one). Keys are [a-z0-9_]; values contain no newline. */
esp_err_t rf_device_meta_set(const char *img_path, const char *key, const char *value);

#ifdef __cplusplus
}
#endif
