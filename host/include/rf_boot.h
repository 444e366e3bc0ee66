/*
 * Boot-state model: "if the power went off now, what would this flash
 * content boot?" OLD (the old ESP-IDF system still boots), NEW (the new
 * MCUboot system boots, possibly after MCUboot's swap) or BRICK (nothing
 * boots: the ROM or a bootloader gives up). A power-cut sweep asks it after
 * every cut; the rule it enforces is "never BRICK".
 *
 * What the model follows, in the order the real chain runs:
 *
 *  1. ROM: the second-stage bootloader at the chip's offset (0x1000 on
 *     ESP32/-S2, 0x2000 on -C5/-P4, else 0x0) must be a valid ESP image
 *     for this chip: magic 0xE9, chip id, segments, XOR checksum and the
 *     appended SHA-256 when the header says it is there
 *     (rf_esp_image_inspect_ex). Chips whose ROM has the recovery-bootloader
 *     fallback (ESP32-C5, -C61, -P4: eFuse RECOVERY_BOOTLOADER_FLASH_SECTOR,
 *     0 or 0xFFF = disabled) try exp->recovery_bootloader_offset when the
 *     primary one is invalid.
 *  2. Which bootloader is it? Its SHA-256 (of the image bytes) equal to
 *     exp->old_bootloader_sha256 -> the old ESP-IDF bootloader; otherwise the
 *     new one (MCUboot). Without an old hash: equal to
 *     exp->new_bootloader_sha256 -> MCUboot; without either: an image
 *     holding the text "MCUboot" is MCUboot, any other is ESP-IDF's.
 *  3a. ESP-IDF bootloader (bootloader_utility.c): the partition table at
 *     exp->ptable_offset must parse and its MD5 entry, if any, match;
 *     otadata (data/ota, two 4 KiB sectors, esp_ota_select_entry_t, see
 *     rf_oldsys.h) picks ota_{(seq - 1) % ota_count} from the valid entry
 *     with the highest seq, the factory app when no entry is valid (ota_0
 *     when there is no factory app). The selected app is tried, then the
 *     bootloader's fallback order: downwards to the factory app, upwards
 *     through the OTA slots, then the test app. An app boots when it is a
 *     valid ESP image for the chip (checksum, SHA-256) holding an
 *     esp_app_desc_t -> OLD. None -> BRICK.
 *  3b. MCUboot (swap with scratch, one image, default 8-byte trailer): the
 *     swap type comes from the slot trailers (MCUboot's swap table: secondary
 *     magic good + image_ok unset = test, + image_ok set = perm; primary
 *     magic good + image_ok unset + copy_done set + secondary magic unset =
 *     revert). test/perm/revert with a valid MCUboot image in the secondary
 *     slot -> NEW (the swap brings it in); otherwise a valid MCUboot image in
 *     the primary slot -> NEW; otherwise BRICK ("MCUboot finds no bootable
 *     image"). Valid = header, TLVs and SHA-256 TLV check (rf_mcuboot_inspect
 *     with the slot size); a trailer magic that is neither good nor erased
 *     does not make the image invalid (MCUboot just does not swap).
 *
 * Not modelled: secure boot and flash encryption, signatures (no key is
 * known), anti-rollback, MCUboot's own interrupted swap (its status area),
 * the factory-reset / test-app GPIOs, deep-sleep fast boot.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "rf_device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RF_BOOT_OLD = 0, RF_BOOT_NEW = 1, RF_BOOT_BRICK = 2 } rf_boot_result_t;

typedef enum { RF_BOOT_BL_NONE = 0, RF_BOOT_BL_ESP_IDF, RF_BOOT_BL_MCUBOOT } rf_boot_loader_t;

/* Defaults of the reference's download example (MCUboot slots). */
#define RF_BOOT_PRIMARY_SLOT_DEFAULT 0x10000u
#define RF_BOOT_SECONDARY_SLOT_DEFAULT 0x110000u
#define RF_BOOT_SLOT_SIZE_DEFAULT 0x100000u

/** What the model knows beyond the flash content. All-zero (or NULL) is a
 *  valid default: no hashes, table at 0x8000, the reference's slots, no
 *  recovery bootloader. */
typedef struct rf_boot_expect {
    bool has_old_bootloader_sha256;
    uint8_t old_bootloader_sha256[32];
    bool has_new_bootloader_sha256;
    uint8_t new_bootloader_sha256[32];
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
} rf_boot_report_t;

/** rf_boot_expect_t for a device: its table offset and the
 *  old_bootloader_sha256 of its meta (set by rf_device_write_old_system). */
void rf_boot_expect_from_device(const rf_device_t *dev, rf_boot_expect_t *exp);

/** Model the boot of `flash` (flash_size bytes) on `chip` ("esp32", ...).
 *  exp may be NULL (defaults), rep may be NULL. An unknown chip is BRICK. */
rf_boot_result_t rf_boot_model(const uint8_t *flash, uint32_t flash_size, const char *chip,
                               const rf_boot_expect_t *exp, rf_boot_report_t *rep);

/** rf_boot_model() over an open device's current content, with
 *  rf_boot_expect_from_device() (exp_override, when not NULL, instead). */
rf_boot_result_t rf_boot_model_device(rf_device_t *dev, const rf_boot_expect_t *exp_override,
                                      rf_boot_report_t *rep);

/** "OLD", "NEW", "BRICK". */
const char *rf_boot_result_name(rf_boot_result_t r);
/** "none", "ESP-IDF", "MCUboot". */
const char *rf_boot_loader_name(rf_boot_loader_t b);
/** Whether the ROM of this chip has the recovery-bootloader fallback. */
bool rf_boot_chip_has_recovery(const char *chip);

#ifdef __cplusplus
}
#endif
