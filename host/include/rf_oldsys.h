/*
 * The "old system" of a simulated device: what a real ESP-IDF device holds
 * before a migration, so a migration (and a power cut in the middle of one)
 * starts from the real thing rather than from blank flash:
 *
 *  - an ESP-IDF-style second-stage bootloader (ESP image, generated, its
 *    segments loaded into the chip's internal RAM as a ROM requires; or a
 *    real one given by the caller) at the chip's bootloader offset;
 *  - the partition table (already written by rf_device_create());
 *  - otadata: erased (0xFF, "boot factory", what `idf.py flash` writes) when
 *    the running partition is the factory app, else one esp_ota_select_entry_t
 *    selecting the running ota_N;
 *  - a valid ESP-IDF app (generated, project "old_app", version "1.0.0"; or
 *    a real one given by the caller) at the start of the running partition;
 *  - optionally a file embedded in the running partition (the reference's
 *    embedded mode). When it lies where the app is, the app's first (DROM)
 *    segment is grown to carry it, as the real example's app does, and the
 *    app stays valid (checksum and SHA-256 recomputed).
 *
 * The bootloader's SHA-256 is recorded in DEVICE.img.meta
 * (old_bootloader_sha256=HEX) and in dev->old_bootloader_sha256, so the boot
 * model (rf_boot.h) can tell the old bootloader from a new one.
 *
 * otadata (ESP-IDF esp_ota_select_entry_t, 32 bytes, at the start of each
 * of the two 4 KiB sectors of the data/ota partition): ota_seq (LE32),
 * seq_label[20], ota_state (LE32), crc (LE32) = crc32_le(UINT32_MAX,
 * &ota_seq, 4) with the ROM's crc32_le (reflected polynomial 0xEDB88320, the
 * given value complemented on entry and the result complemented on exit),
 * i.e. Python's binascii.crc32(ota_seq_bytes, 0xFFFFFFFF). An entry is valid
 * when ota_seq != 0xFFFFFFFF and the CRC matches; the bootloader boots
 * ota_{(seq - 1) % number_of_ota_partitions} from the valid entry with the
 * highest seq, the factory app when neither entry is valid.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rf_device.h"
#include "rf_otadata.h"

#ifdef __cplusplus
extern "C" {
#endif

/* otadata entries and the CRC live in the core: rf_otadata.h, rf_crc.h. */

typedef struct rf_oldsys_opts {
    const char *app_project;       /**< NULL: "old_app" */
    const char *app_version;       /**< NULL: "1.0.0" */
    uint32_t app_code_size;        /**< 0: 192 KiB of filler code */
    uint32_t bootloader_code_size; /**< 0: 12 KiB */
    /** Write an otadata entry even when the running partition is the factory
     *  app (ota_seq below; the factory app still boots only if it selects no
     *  OTA slot, so leave this false unless you know why). */
    bool otadata_force;
    uint32_t ota_seq;              /**< 0: derived from the running ota_N (N + 1) */
    bool otadata_state_set;        /**< false: the entry's state is RF_OTA_IMG_UNDEFINED
                                        (what esp_ota_set_boot_partition writes without
                                        rollback); true: ota_state below */
    uint32_t ota_state;
    /** Real images instead of the generated ones (e.g. an ESP-IDF build's
     *  bootloader.bin and app .bin): the bootloader must be a valid ESP image
     *  for the device's chip (its header's flash-size code is set to the
     *  device's flash size and its appended SHA-256 recomputed, as esptool
     *  does when it writes a bootloader with --flash_size); the app a valid
     *  ESP image for the chip. NULL: generated. */
    const uint8_t *bootloader;
    size_t bootloader_len;
    const uint8_t *app;
    size_t app_len;
    /** Embedded file: bytes and flash address (inside the running partition). */
    const uint8_t *embed;
    size_t embed_len;
    uint32_t embed_at;
} rf_oldsys_opts_t;

typedef struct rf_oldsys_result {
    uint32_t bootloader_offset;
    uint32_t bootloader_len;
    uint8_t bootloader_sha256[32];
    char bootloader_sha256_hex[65];
    uint32_t app_offset;           /**< start of the running partition */
    uint32_t app_len;
    uint8_t app_sha256[32];
    uint32_t otadata_offset;       /**< 0: the table has no data/ota partition */
    bool otadata_written;          /**< false: left erased (boot factory) */
    uint32_t ota_seq;
    bool embedded_in_app;          /**< the embed lies inside the app's first segment */
} rf_oldsys_result_t;

/** Write the old system onto an open device (direct writes to the content:
 *  no flash counters, no simulated time). The partition table must already
 *  be there (rf_device_create). The running partition must be an app
 *  partition (factory or ota_N). Records old_bootloader_sha256 in
 *  dev->old_bootloader_sha256 and, for a file-backed device, in its meta.
 *  opts and res may be NULL. err gets a message on failure. */
esp_err_t rf_device_write_old_system(rf_device_t *dev, const rf_oldsys_opts_t *opts, rf_oldsys_result_t *res,
                                     char *err, size_t err_len);

/** Set the flash-size code of an ESP image header (byte 3, upper nibble:
 *  1 MB 0, 2 MB 1, 4 MB 2, 8 MB 3, 16 MB 4, 32 MB 5, 64 MB 6, 128 MB 7) and
 *  recompute its appended SHA-256 when it has one, as esptool does. The
 *  image must be a valid ESP image before and is after. ESP_ERR_INVALID_ARG
 *  for a flash size with no code or an invalid image (err says which). */
esp_err_t rf_oldsys_set_flash_size(uint8_t *img, size_t len, uint32_t flash_size, char *err, size_t err_len);

/** Internal-RAM load addresses for a chip's bootloader segments (DRAM, IRAM,
 *  IRAM: where a ROM loads a second-stage bootloader); false for an unknown
 *  chip. The generated stand-in bootloader uses them. */
bool rf_oldsys_bootloader_ram(const char *chip, uint32_t addr[3]);

/** Lowercase hex of n bytes into out (2n + 1 bytes). */
void rf_oldsys_hex(const uint8_t *d, size_t n, char *out);
/** Parse 64 hex digits into 32 bytes; false if malformed. */
bool rf_oldsys_unhex32(const char *hex, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
