/*
 * What the seed-compatible API needs from the platform it runs on: a flash
 * port, the partition list, the running partition and a way to turn an
 * esp_http_client_config_t into a byte stream. Each port provides one
 * (port/esp_idf over esp_flash / esp_partition / esp_http_client; host/ over
 * the NOR simulator and libcurl). The seed functions use
 * esp_self_reflasher_default_platform(); the *_with() variants take one
 * explicitly, which is how tests run several simulated devices side by side.
 */
#pragma once
#include "self_reflasher.h"
#include "rf_flash.h"
#include "rf_log.h"
#include "rf_ptable.h"
#include "rf_source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SELF_REFLASHER_NO_JOURNAL 0xFFFFFFFFu

typedef struct esp_self_reflasher_platform {
    void *ctx;
    const rf_flash_t *flash;
    /** ESP image chip id of this device (esp_chip_id_t: 0 ESP32, 9 ESP32-S3...);
     *  0xFFFF when unknown: the engine then refuses every checked write (without
     *  the chip neither the bootloader nor the end state can be judged; fail closed). */
    uint16_t chip_id;
    /** Offset of the partition table (CONFIG_PARTITION_TABLE_OFFSET, 0x8000 by default). */
    uint32_t ptable_offset;
    /** Where the journal lives (two flash sectors): 0 = the last two sectors
     *  of the flash when no partition covers them; ESP_SELF_REFLASHER_NO_JOURNAL
     *  = none (no resume). It must overlap no destination, staging or running
     *  partition; a step whose regions it would overlap runs without it. */
    uint32_t journal_addr;
    /** The ROM's recovery-bootloader address (ESP32-C5/-C61/-P4: eFuse
     *  RECOVERY_BOOTLOADER_FLASH_SECTOR x 4 KiB); 0 = none. With one, a new
     *  bootloader is written and verified there first, so rewriting the
     *  primary bootloader leaves no window. */
    uint32_t recovery_bootloader_addr;
    /** The new system's MCUboot slots, for the end-state check (the boot
     *  model on the would-be flash): 0 = the reference's layout (primary
     *  0x10000, secondary 0x110000, 1 MiB each). */
    uint32_t mcuboot_primary_slot, mcuboot_secondary_slot, mcuboot_slot_size;
    /** The partition the running code executes from (ESP_ERR_NOT_FOUND if none). */
    esp_err_t (*running_partition)(void *ctx, rf_part_t *out);
    /** Every partition of the table, in table order. */
    esp_err_t (*list_partitions)(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count);
    /** Create a source for this HTTP configuration; it is not opened yet. */
    esp_err_t (*make_source)(void *ctx, const esp_http_client_config_t *http, rf_source_t *out);
    /** Release what make_source allocated. */
    void (*free_source)(void *ctx, rf_source_t *src);
    rf_log_t log;
} esp_self_reflasher_platform_t;

/** The platform of this build (the port's). NULL if none is bound yet. */
const esp_self_reflasher_platform_t *esp_self_reflasher_default_platform(void);

esp_err_t esp_self_reflasher_init_with(const esp_self_reflasher_platform_t *platform,
                                       const esp_self_reflasher_config_t *config,
                                       esp_self_reflasher_handle_t *handle);
/** esp_self_reflasher_finish() on this platform. */
esp_err_t esp_self_reflasher_finish_with(const esp_self_reflasher_platform_t *platform);

esp_err_t esp_self_reflasher_directly_copy_to_region_with(const esp_self_reflasher_platform_t *platform,
                                                          const esp_self_reflasher_config_t *config);

#ifdef __cplusplus
}
#endif
