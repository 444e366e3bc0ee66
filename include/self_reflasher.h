/*
 * esp-self-reflasher compatible API: replace the whole system of an
 * ESP32-family device (second-stage bootloader, partition table, apps) from
 * firmware that is already running on it.
 *
 * Same names and types as the reference component, with these differences,
 * all in the direction of not bricking a device:
 *
 *  - Nothing is erased by esp_self_reflasher_init(). The staging partition
 *    is erased only after the download's length is known to fit both the
 *    staging partition and the destination region, and then only the
 *    sectors that must change.
 *  - Overlap checks are true interval intersections: a staging partition
 *    that contains, or is contained in, the destination is refused (the
 *    reference only compares the ends). Touching regions are fine.
 *  - An image larger than its destination region is refused before anything
 *    is written (the reference never checks).
 *  - A failing function never frees the handle; the caller frees it with
 *    esp_self_reflasher_deinit() (the reference frees it on some errors and
 *    leaves the caller with a dangling pointer).
 *  - Every write is read back and compared before the function returns
 *    ESP_OK. The whole destination region is left holding the image followed
 *    by 0xFF: stale bytes of the old system (an old MCUboot trailer at the
 *    end of a slot, say) never survive.
 *  - The embedded-mode copy has memmove semantics: the source may overlap
 *    the destination and no source byte is erased before it has been read.
 *
 * Error codes are esp_err_t with ESP-IDF's values; each failure also logs one
 * line (tag "self_reflasher") saying what and where.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_partition.h"
/* As the reference's header: the build's configuration and esp_attr.h. */
#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#elif defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif
#include "esp_attr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Codes of esp_http_client.h that older ESP-IDF 5.x releases lack (same values). */
#ifndef ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE
#define ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE (ESP_ERR_HTTP_BASE + 10)
#endif
#ifndef ESP_ERR_HTTP_READ_TIMEOUT
#define ESP_ERR_HTTP_READ_TIMEOUT (ESP_ERR_HTTP_BASE + 11)
#endif
#ifndef ESP_ERR_HTTP_INCOMPLETE_DATA
#define ESP_ERR_HTTP_INCOMPLETE_DATA (ESP_ERR_HTTP_BASE + 12)
#endif

/** A range of flash, absolute addresses. */
typedef struct {
    uint32_t region_address;
    size_t region_size;
} addr_region_t;

/** What the destination must receive; checked on the staged (or embedded)
 *  image before any destination byte is written. */
typedef enum {
    /** From the destination: the chip's second-stage bootloader offset takes
     *  an ESP bootloader image for this chip; the start of an app partition
     *  takes an ESP app image for this chip or an MCUboot image that fits the
     *  region; any other destination gets the length (and hash) checks only. */
    ESP_SELF_REFLASHER_IMAGE_AUTO = 0,
    ESP_SELF_REFLASHER_IMAGE_RAW,            /**< length and hash checks only */
    ESP_SELF_REFLASHER_IMAGE_ESP_BOOTLOADER, /**< ESP image, bootloader, this chip */
    ESP_SELF_REFLASHER_IMAGE_ESP_APP,        /**< ESP image, app, this chip */
    ESP_SELF_REFLASHER_IMAGE_MCUBOOT,        /**< MCUboot image; header, TLVs and trailer fit the region */
} esp_self_reflasher_image_kind_t;

/** Verification settings (not in the reference; a NULL pointer means the
 *  defaults: every check on, kind AUTO, no expected digest, no key). */
typedef struct {
    /** Turn the content checks off (format, digest, signature). Logged as a
     *  warning on every use. Length and read-back checks always stay. */
    bool skip_content_checks;
    esp_self_reflasher_image_kind_t kind;
    /** Expected SHA-256 of the whole image (32 bytes), or NULL. */
    const uint8_t *sha256;
    /** Public key (PEM or DER SubjectPublicKeyInfo, ECDSA P-256 or Ed25519):
     *  an MCUboot image must carry a signature that verifies with it. */
    const uint8_t *pubkey;
    size_t pubkey_len;
} esp_self_reflasher_verify_t;

typedef struct {
    /** Download mode: where to fetch the image (url, timeouts, TLS, ...).
     *  On the host the url may also be a file path or a file:// URL. */
    const esp_http_client_config_t *http_config;
    /** Download mode, optional: the partition to stage the download in. NULL
     *  chooses the first OTA app partition after the running one that
     *  overlaps neither the destination nor the running partition. */
    const esp_partition_t *target_partition;
    /** Embedded mode: where the image lies in flash (it may overlap dest_region). */
    addr_region_t src_region;
    /** Both modes: the destination. The image is written at its start and the
     *  rest of the region is left erased (0xFF). Must start on a 4 KiB sector
     *  boundary; the size is rounded up to whole sectors. */
    addr_region_t dest_region;
    /** Embedded mode: bytes of the image at src_region.region_address. 0 means
     *  src_region.region_size. */
    size_t src_bin_size;
    /** Verification of the image before it is written (NULL: defaults, all on). */
    const esp_self_reflasher_verify_t *verify;
} esp_self_reflasher_config_t;

/** An opaque handle, as in the reference (void *: any object pointer converts
 *  to it without a cast, in C and C++). */
typedef void *esp_self_reflasher_handle_t;

/**
 * Download mode, step 1: validate the configuration and choose the staging
 * partition. Allocates the handle (the component's only heap allocation; the
 * copy path itself allocates nothing). Erases nothing.
 *
 * Preconditions: config and handle non-NULL; config->http_config and its url
 * set; dest_region non-empty, sector-aligned and inside the flash; the
 * destination does not overlap the running partition; the staging partition
 * (given or chosen) overlaps neither the destination nor the running partition.
 *
 * Errors: ESP_ERR_INVALID_ARG (NULL or malformed arguments, misaligned or
 * out-of-flash destination, staging overlapping destination or running
 * code, destination overlapping running code), ESP_ERR_NOT_FOUND (no
 * partition table, no running partition, no usable staging partition),
 * ESP_ERR_NO_MEM. On error *handle is left NULL.
 */
esp_err_t esp_self_reflasher_init(const esp_self_reflasher_config_t *config,
                                  esp_self_reflasher_handle_t *handle);

/**
 * Download mode, step 2: fetch the image into the staging partition.
 *
 * Opens the source and reads the announced length first: an image longer
 * than the staging partition or than the destination region is refused
 * before anything is erased (ESP_ERR_INVALID_SIZE). It then writes the
 * stream into the staging partition, erasing only sectors that are not
 * already blank (a whole 64 KiB block at once when that is cheaper), reads
 * it back and checks its SHA-256 against what was received. The staged
 * image is then verified for its destination (format, chip, digest,
 * signature: see esp_self_reflasher_verify_t); a refused image never
 * reaches the destination.
 *
 * Erases: sectors of the staging partition up to the image's length.
 * If the transfer fails part-way (connection lost, timeout) and the device
 * has a journal and the server gave a validator (ETag or Last-Modified),
 * the whole 64 KiB blocks received stay staged as a declared resumable
 * area and a rerun continues from there (If-Range); otherwise, and always
 * when the image is refused for what it is (too long, an endless body, a
 * wrong digest or format), the sectors written by this call are erased
 * again, so no partial image is left behind.
 *
 * Errors: ESP_ERR_INVALID_ARG (NULL handle), ESP_ERR_INVALID_SIZE (too long,
 * or empty), ESP_ERR_HTTP_CONNECT (unreachable), ESP_ERR_NOT_FOUND (HTTP
 * 404), ESP_ERR_INVALID_RESPONSE (other non-2xx status),
 * ESP_ERR_HTTP_INCOMPLETE_DATA (the connection closed early),
 * ESP_ERR_TIMEOUT (no byte within timeout_ms, or the download deadline or
 * minimum rate of Kconfig SELF_REFLASHER_DOWNLOAD_DEADLINE_S /
 * SELF_REFLASHER_MIN_RATE_BPS broken: a stalled or trickling server),
 * ESP_ERR_INVALID_CRC (read-back mismatch, or not the expected SHA-256),
 * ESP_ERR_IMAGE_INVALID (wrong format for the destination, wrong chip, bad
 * embedded hash or signature), flash errors from the port.
 */
esp_err_t esp_self_reflasher_download_bin(esp_self_reflasher_handle_t handle);

/**
 * Download mode, step 3: copy the staged image to the destination region.
 *
 * Precondition: a successful esp_self_reflasher_download_bin() for the
 * current configuration. Checks again that the image fits the destination
 * and that the staged bytes still hash to what was downloaded, then writes
 * the region: sectors already holding the right bytes are skipped, sectors
 * that only need bits cleared are programmed without an erase, the rest are
 * erased (by block where cheaper) and programmed, pages of 0xFF are never
 * programmed. The region is read back and compared.
 *
 * Erases: sectors of the destination region that must change.
 * Errors: ESP_ERR_INVALID_ARG (NULL), ESP_ERR_INVALID_STATE (nothing staged),
 * ESP_ERR_INVALID_SIZE (image larger than the region), ESP_ERR_INVALID_CRC
 * (staged data changed, or read-back mismatch), flash errors.
 */
esp_err_t esp_self_reflasher_copy_to_region(esp_self_reflasher_handle_t handle);

/**
 * Download mode: move on to the next image (new URL and destination; a
 * new target_partition, or NULL to keep/choose as in init). Validates as
 * init does; erases nothing. On error the handle stays allocated (free it
 * with esp_self_reflasher_deinit()) but fails closed: every download or copy
 * is refused with ESP_ERR_INVALID_STATE until a valid configuration is set
 * here, so a caller that ignores this return value cannot download the
 * previous image to the previous destination by mistake.
 *
 * Fail closed, for every call: after a refused upd_next_config, a failed
 * download_bin or a failed copy_to_region, the handle refuses downloads and
 * copies (ESP_ERR_INVALID_STATE) until a successful upd_next_config (which
 * may name the same image again: a journaled download then resumes). The
 * handle holds no buffer between calls (each call takes its working memory
 * from the heap and frees it before returning), so a caller that never calls
 * esp_self_reflasher_deinit() (the reference frees the handle on its own
 * failure paths) leaks only the handle itself (under 0.5 KiB).
 */
esp_err_t esp_self_reflasher_upd_next_config(const esp_self_reflasher_config_t *config,
                                             esp_self_reflasher_handle_t handle);

/**
 * Embedded mode: copy src_bin_size bytes at src_region to dest_region in one
 * call (the image is part of the running firmware's flash, or anywhere in
 * flash). Source and destination may overlap: the copy runs in the direction
 * that never erases a source byte before it has been read. The source is
 * hashed first and the destination is read back and compared after.
 *
 * Preconditions: dest_region sector-aligned and inside the flash; the source
 * inside the flash; src_bin_size (or src_region.region_size) non-zero, no
 * larger than src_region.region_size when that is set, and no larger than
 * dest_region.region_size. The image is verified for its destination first
 * (as in download mode).
 * Erases: sectors of dest_region that must change.
 * Errors: ESP_ERR_INVALID_ARG (NULL, misaligned, outside flash),
 * ESP_ERR_INVALID_SIZE (image larger than the region), ESP_ERR_INVALID_CRC
 * (read-back mismatch, not the expected SHA-256), ESP_ERR_IMAGE_INVALID
 * (refused by the content checks), flash errors.
 */
esp_err_t esp_self_reflasher_directly_copy_to_region(const esp_self_reflasher_config_t *config);

/** The migration is complete (not in the reference): erase the journal that
 *  let an interrupted run resume, so nothing is left outside the
 *  destinations. Done by itself after a copy that rewrites the bootloader
 *  (the last step of a migration) and after an embedded copy; call it after
 *  the last step of a migration that leaves the bootloader alone. Erases
 *  only an area holding this component's journal records. */
esp_err_t esp_self_reflasher_finish(void);

/** Free a handle from esp_self_reflasher_init(). NULL is allowed. Not in the
 *  reference, which leaks or double-frees depending on the path. */
void esp_self_reflasher_deinit(esp_self_reflasher_handle_t handle);

/** Total bytes of the last successful download (0 if none). */
size_t esp_self_reflasher_get_downloaded_len(esp_self_reflasher_handle_t handle);

#ifdef __cplusplus
}
#endif
