/*
 * Execution: the steps of a migration carried out on a device's flash, each
 * one judged by the engine (rf_engine.h) before anything is written.
 *
 *  - a download step: fetch an image from a source into a staging
 *    partition (resuming only what the journal and the source prove to be
 *    the same file), verify it, then copy it to its destination after
 *    verifying it again on the flash as it is then;
 *  - an embedded step: an image already in flash (inside the running app)
 *    copied to its destination, with a backup of the running app first when
 *    the copy overwrites it;
 *  - the journal that lets an interrupted step resume, and its removal when
 *    the migration is complete.
 *
 * The seed API (src/self_reflasher.c) is an adapter over these functions:
 * it translates its configuration into an rf_exec_dl_t / rf_exec_check_t
 * and its platform into an rf_exec_dev_t. The host tool runs the same code
 * through the seed API.
 *
 * Memory: the caller owns it all. Each call takes one arena of at least
 * rf_exec_mem_len() bytes (the write engine's sectors, the engine's work
 * area, and one partition table or engine call at a time); nothing is
 * allocated here.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rf_engine.h"
#include "rf_flash.h"
#include "rf_image.h"
#include "rf_journal.h"
#include "rf_log.h"
#include "rf_ptable.h"
#include "rf_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The device a step runs on. */
typedef struct rf_exec_dev {
    void *ctx;                          /**< passed to the two partition calls */
    const rf_flash_t *flash;
    const rf_log_t *log;
    uint16_t chip_id;                   /**< esp_chip_id_t; 0xFFFF unknown (checked writes are refused) */
    uint32_t ptable_offset;             /**< 0: 0x8000 */
    uint32_t journal_addr;              /**< 0: the last two sectors when free; RF_EXEC_NO_JOURNAL: none */
    uint32_t recovery_bootloader_addr;  /**< 0: none */
    uint32_t mcuboot_primary_slot, mcuboot_secondary_slot, mcuboot_slot_size;   /**< 0: the reference's */
    esp_err_t (*running_partition)(void *ctx, rf_part_t *out);
    esp_err_t (*list_partitions)(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count);
} rf_exec_dev_t;

#define RF_EXEC_NO_JOURNAL 0xFFFFFFFFu

/** What a step's image is checked against. */
typedef struct rf_exec_check {
    bool skip;                      /**< the caller turned content checks off (logged as a warning) */
    const uint8_t *expect_sha256;   /**< NULL: none */
    const uint8_t *pubkey;          /**< NULL: none */
    size_t pubkey_len;
    rf_dest_kind_t declared;        /**< RF_DEST_RAW: derived from the destination */
    bool declared_raw;              /**< the caller declared raw bytes */
} rf_exec_check_t;

/** Makes the download's source when one is needed (not when the journal
 *  proves the image is already staged). */
typedef struct rf_exec_source_port {
    esp_err_t (*make)(void *arg, rf_source_t *out);
    void (*release)(void *arg, rf_source_t *src);
    void *arg;
} rf_exec_source_port_t;

/** A download step and what it has achieved (held by the caller between
 *  the download and the copy). */
typedef struct rf_exec_dl {
    const char *name;               /**< the source's URL: logs and the step's journal id */
    uint32_t dst;                   /**< destination: sector-aligned */
    uint32_t dst_size;              /**< the region as named (rounded up to sectors where written) */
    rf_part_t running;              /**< size 0: unknown (no table) */
    rf_part_t staging;              /**< with `direct`: the destination itself */
    bool direct;                    /**< no staging: the destination is a spare app partition off the old
                                         system's boot path (rf_choose_direct) and takes the download itself */
    bool staged;                    /**< the image is staged and verified */
    uint32_t staged_len;
    uint8_t staged_sha[32];
    rf_sha_known_t img_sha;         /**< the image's own digest from the download's verdict (len 0: none) */
    rf_journal_t journal;
    bool journal_on;
    char validator[RF_SOURCE_VALIDATOR_MAX];   /**< of the download being staged */
} rf_exec_dl_t;

/** Bytes of the arena every call below takes. */
size_t rf_exec_mem_len(uint32_t sector_size);

/** The destination must be a non-empty, sector-aligned range inside the flash. */
esp_err_t rf_exec_check_dest(const rf_exec_dev_t *dev, uint32_t dst, uint64_t size);

/** A verification key that cannot be loaded is refused (ESP_ERR_INVALID_ARG)
 *  before anything is downloaded or written. */
esp_err_t rf_exec_check_key(const rf_exec_dev_t *dev, const rf_exec_check_t *chk, void *mem, size_t mem_len);

/** Validate a download step's regions and choose its staging partition:
 *  `forced` (the caller's target partition) if given and usable, else the
 *  destination itself when the plan's direct rule allows it
 *  (rf_choose_direct: dl->direct), else `current` if still valid, else the
 *  plan's rule (rf_choose_staging). */
esp_err_t rf_exec_plan_download(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_part_t *forced,
                                const rf_part_t *current, void *mem, size_t mem_len);

/** No partition table (an interrupted run erased it on its way to the new
 *  system): this step's journal record says where it staged its image.
 *  ESP_OK when it does; dl->staging then comes from the journal. */
esp_err_t rf_exec_dl_from_journal(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, void *mem, size_t mem_len);

/** Stage and verify the image (the journal, if any, says what an earlier
 *  run achieved: a hint, checked again). On failure the staged bytes are
 *  erased unless a transfer failure leaves a declared resumable part. */
esp_err_t rf_exec_download(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk,
                           const rf_exec_source_port_t *sp, void *mem, size_t mem_len);

/** Copy the staged image to its destination after verifying it again. A
 *  direct download is already in place, verified there: the rest of the
 *  region is made blank and nothing else is written. */
esp_err_t rf_exec_copy(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk, void *mem,
                       size_t mem_len);

/** Copy an image already in flash at [src, src + len) to [dst, dst + dst_size). */
esp_err_t rf_exec_embedded(const rf_exec_dev_t *dev, uint32_t src, uint32_t len, uint32_t dst, uint32_t dst_size,
                           const rf_exec_check_t *chk, void *mem, size_t mem_len);

/** The migration is complete: erase its journal (only an area holding this
 *  component's records). */
esp_err_t rf_exec_finish(const rf_exec_dev_t *dev, void *mem, size_t mem_len);

#ifdef __cplusplus
}
#endif
