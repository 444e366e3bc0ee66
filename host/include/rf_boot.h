/*
 * Boot-state model for the host tools: the core's model (core/include/
 * rf_bootmodel.h, the one the engine runs on the would-be flash before any
 * write) over a simulated device or a flash dump, with a one-line reason.
 * It recognises bootloaders by their content only.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "rf_bootmodel.h"
#include "rf_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the model knows beyond the flash content. All-zero (or NULL) is a
 *  valid default: table at 0x8000, the reference's slots, no recovery
 *  bootloader. */
typedef struct rf_boot_expect {
    uint32_t ptable_offset;              /**< 0: 0x8000 */
    uint32_t primary_slot;               /**< 0: 0x10000 */
    uint32_t primary_size;               /**< 0: 0x100000 */
    uint32_t secondary_slot;             /**< 0: 0x110000 */
    uint32_t secondary_size;             /**< 0: 0x100000 */
    uint32_t mcuboot_trailer_size;       /**< 0: RF_MCUBOOT_TRAILER_MIN */
    uint32_t recovery_bootloader_offset; /**< 0: none (ESP32-C5/-C61/-P4 only) */
} rf_boot_expect_t;

typedef struct rf_boot_report {
    rf_boot_result_t result;
    char reason[640];                  /**< one line: what boots, or what stops the boot and where */
    /* ROM stage */
    bool bootloader_valid;
    bool used_recovery;                /**< the ROM fell back to the recovery bootloader */
    uint32_t bootloader_offset;        /**< where the bootloader that runs (or failed) is */
    uint32_t bootloader_len;
    uint8_t bootloader_sha256[32];     /**< of the image bytes [0, bootloader_len) */
    rf_boot_loader_t bootloader;
    /* ESP-IDF path */
    int32_t ota_selected;              /**< -1 factory, N = ota_N, -2 test, -3 none */
    uint32_t ota_seq;                  /**< seq of the active otadata entry (0: none valid) */
    char app_label[17];
    uint32_t app_offset;
    char app_project[33];
    char app_version[33];
    /* MCUboot path */
    uint8_t swap_type;                 /**< RF_SWAP_TYPE_* (1 none, 2 test, 3 perm, 4 revert) */
    uint32_t slot_offset;              /**< slot whose image boots (after the swap: the secondary's) */
    uint32_t image_len;
    uint8_t image_sha256[32];          /**< hash TLV value of the image that boots */
    rf_boot_state_t state;             /**< the core model's whole answer */
} rf_boot_report_t;

/** rf_boot_expect_t for a device: its table offset and recovery offset. */
void rf_boot_expect_from_device(const rf_device_t *dev, rf_boot_expect_t *exp);

/** Model the boot of `flash` (flash_size bytes) on `chip` ("esp32", ...).
 *  exp may be NULL (defaults), rep may be NULL. An unknown chip is BRICK. */
rf_boot_result_t rf_boot_model(const uint8_t *flash, uint32_t flash_size, const char *chip,
                               const rf_boot_expect_t *exp, rf_boot_report_t *rep);

/** rf_boot_model() over an open device's current content, with
 *  rf_boot_expect_from_device() (exp_override, when not NULL, instead). */
rf_boot_result_t rf_boot_model_device(rf_device_t *dev, const rf_boot_expect_t *exp_override,
                                      rf_boot_report_t *rep);

/** The core layout for a chip name and expectations (false: unknown chip). */
bool rf_boot_layout_for(const char *chip, const rf_boot_expect_t *exp, rf_boot_layout_t *out);

#ifdef __cplusplus
}
#endif
