/*
 * The plan: every migration is first a list of images (source, destination,
 * size, expected kind and digest) that is validated as a whole before any
 * byte is written. The same code runs on the device (the seed API validates
 * each step with it) and in the host tool (`reflasher plan`, `migrate`).
 *
 * rf_plan_validate():
 *  - checks each destination: non-empty, sector-aligned, inside the flash,
 *    clear of the running partition, clear of every other destination;
 *  - checks each known length against its destination (and staging);
 *  - derives each destination's kind: the chip's second-stage bootloader
 *    offset takes only an ESP bootloader for this chip; the start of an app
 *    partition takes an ESP app or an MCUboot image; anything else gets the
 *    length and hash checks only;
 *  - orders the images so that everything that leaves the old boot chain
 *    intact comes first and the images touching the bootloader or the
 *    partition table sectors come last (stable otherwise);
 *  - chooses a staging partition per image (an OTA app partition clear of
 *    the running partition and of every destination written before it,
 *    preferring one clear of all destinations);
 *  - lists the partitions each destination overwrites;
 *  - for an embedded image whose destination overlaps the running partition
 *    (the library's embedded mode over the running app): chooses the OTA app
 *    partition that takes a backup of the running app (rf_choose_backup(),
 *    the library's rule) and the otadata partition switched to select it;
 *  - estimates device time per step and the bootloader window from the
 *    timing model: the bootloader sectors' estimate; for an embedded image,
 *    the sectors of [bootloader, partition table) it rewrites (the library
 *    writes them last); an embedded image over the running partition with no
 *    room for a backup has no bootable system for its whole copy: the window
 *    is its whole copy's estimate and no_backup_window is set.
 * On a broken rule it stops with err, the rule and the image's index.
 * Freestanding: no libc, no heap; the caller owns the plan.
 */
#pragma once
#include "rf_ptable.h"

#define RF_PLAN_MAX_IMAGES 8u
#define RF_PLAN_MAX_OVERWRITES 8u

typedef enum {
    RF_DEST_RAW = 0,        /**< no declared kind: length and hash checks only */
    RF_DEST_BOOTLOADER,     /**< the chip's second-stage bootloader offset: ESP bootloader for this chip */
    RF_DEST_APP_SLOT,       /**< the start of an app partition: ESP app or MCUboot image */
    RF_DEST_MCUBOOT_SLOT,   /**< declared by the caller: MCUboot image only, header/TLVs/trailer fit */
    RF_DEST_ESP_APP,        /**< declared by the caller: ESP app for this chip only */
} rf_dest_kind_t;

typedef enum {
    RF_RULE_OK = 0,
    RF_RULE_TOO_MANY_IMAGES,
    RF_RULE_DEST_EMPTY,
    RF_RULE_DEST_ALIGN,
    RF_RULE_DEST_OUTSIDE_FLASH,
    RF_RULE_DEST_OVERLAPS_RUNNING,
    RF_RULE_DEST_OVERLAPS_DEST,
    RF_RULE_IMAGE_EMPTY,
    RF_RULE_IMAGE_TOO_LARGE,
    RF_RULE_NO_STAGING,
    RF_RULE_STAGING_TOO_SMALL,
    RF_RULE_STAGING_CONFLICT,
    RF_RULE__COUNT
} rf_plan_rule_t;

typedef struct rf_plan_cost {
    uint32_t sector_erase_us, block_erase_us, page_program_us, read_bytes_per_s, net_bytes_per_s;
} rf_plan_cost_t;

typedef struct rf_plan_image {
    /* input */
    const char *source;         /**< display only (URL, path); caller-owned */
    uint32_t dest;
    uint32_t dest_size;
    int64_t len;                /**< image length, -1 while unknown */
    uint32_t data_pages;        /**< pages of the image not all 0xFF (the engine never programs blank
                                     pages); 0 = unknown: every page is counted */
    rf_dest_kind_t kind;        /**< RF_DEST_RAW: derived from the destination */
    bool has_sha256;
    uint8_t sha256[32];
    bool embedded;              /**< source already in flash at src_addr: no staging */
    uint32_t src_addr;
    uint32_t backup_need;       /**< embedded over the running partition: bytes the backup of the running app
                                     needs (the library: max(app image length, src_addr + len - running.offset));
                                     0 = unknown: the running partition's size. Rounded up to a sector. */
    uint32_t backup_data_pages; /**< pages of the backup not all 0xFF; 0 = unknown: every page is counted */
    /* output */
    uint32_t input_index;       /**< position in the caller's list */
    bool boot_critical;         /**< touches the bootloader or partition table sectors */
    rf_part_t staging;          /**< chosen staging partition (download mode); with `direct`, the destination */
    bool direct;                /**< downloaded straight into its destination (rf_choose_direct): no copy */
    uint32_t overwrites[RF_PLAN_MAX_OVERWRITES]; /**< partition indexes in the table */
    uint32_t overwrites_count;
    uint64_t est_download_us, est_stage_us, est_copy_us;
    /* output, embedded images whose destination overlaps the running partition */
    bool over_running;          /**< the library backs the running app up first (when it can) */
    bool has_backup;            /**< a partition can hold the backup (rf_choose_backup()) */
    rf_part_t backup;           /**< the backup partition: its first backup_len bytes are rewritten */
    uint32_t backup_len;        /**< bytes copied to it (backup_need rounded up to a sector) */
    bool writes_otadata;        /**< otadata is switched to select the backup */
    rf_part_t otadata;          /**< the otadata partition (one of its two sectors is rewritten) */
    uint64_t est_backup_us;     /**< backup copy + otadata switch (included in est_total_us) */
} rf_plan_image_t;

typedef struct rf_plan {
    /* input */
    uint16_t chip_id;
    uint32_t bootloader_offset;
    uint32_t ptable_offset;
    uint32_t flash_size;
    uint32_t sector_size, block_size, page_size;
    const rf_ptable_t *table;
    rf_part_t running;
    rf_plan_cost_t cost;        /**< zeros: device-timings.md defaults */
    const rf_part_t *forced_staging; /**< the caller's target partition, or NULL */
    const uint32_t *keep;       /**< ranges (start, size pairs) no staging may overwrite (rf_eng_staging_keep()) */
    bool boot_block_blank;      /**< the bootloader's 64 KiB block holds nothing outside the destination that
                                     rewrites the bootloader (blank): the write engine then opens the window with
                                     one block erase followed by the bootloader's pages (rf_write.c) */
    uint32_t keep_count;
    const uint32_t *boot_path;  /**< app offsets the current boot goes through (rf_eng_boot_path()) */
    int32_t boot_path_count;    /**< how many; < 0 unknown */
    bool boot_path_known;       /**< false (the default): unknown, no destination is written directly */
    rf_plan_image_t img[RF_PLAN_MAX_IMAGES];
    uint32_t count;
    /* output */
    bool reordered;
    uint64_t est_total_us;
    uint64_t window_us;         /**< estimated bootloader window (0: no bootloader image) */
    int32_t window_image;       /**< index (execution order) of the image that opens it, -1 none */
    bool no_backup_window;      /**< the window is a whole embedded copy over the running partition: no OTA
                                     partition can hold a backup of the running app */
    uint32_t journal_addr;      /**< the journal's declared area (the last two sectors of the flash
                                     when no partition nor destination covers them); 0 = none: no resume */
    uint32_t journal_len;
    rf_plan_rule_t rule;
    int32_t bad;                /**< execution-order index of the offending image, -1 none */
    int32_t other;              /**< the other image of a pair rule, -1 none */
} rf_plan_t;

/** ESP_OK or ESP_ERR_INVALID_ARG / ESP_ERR_INVALID_SIZE / ESP_ERR_NOT_FOUND
 *  with plan->rule and plan->bad saying which rule and which image.
 *  The images are reordered in place: fill the input fields, validate once;
 *  to validate again, fill them again. */
esp_err_t rf_plan_validate(rf_plan_t *plan);

/** One-line description of a rule ("the destination overlaps the running partition"). */
const char *rf_plan_rule_str(rf_plan_rule_t rule);
/** Short identifier ("DEST_OVERLAPS_RUNNING"). */
const char *rf_plan_rule_name(rf_plan_rule_t rule);
const char *rf_dest_kind_name(rf_dest_kind_t kind);

/** rf_overlaps() (rf_region.h) out of line: one copy for the core's callers. */
bool rf_span_overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs);

/** Whether a download to [dest, dest + dest_size) may go straight to its
 *  destination (no staging): the destination lies inside one OTA app
 *  partition of the table that is not the running one, that the old
 *  system's boot neither boots nor tries (boot_path: app offsets from
 *  rf_eng_boot_path(); boot_path_count < 0: unknown, never direct). Such a
 *  partition is what the staging rule could pick, and the destination is
 *  what this step overwrites anyway (an MCUboot image already there, the
 *  kept ranges of rf_eng_staging_keep, is this step's own output from an
 *  earlier run): the download destroys nothing there that staging and the
 *  copy would not, and nothing makes it reachable before it is verified in
 *  place. *out: the destination as its own staging area (offset dest,
 *  size dest_size, the partition's label). Shared by the plan and the seed API. */
bool rf_choose_direct(const rf_ptable_t *t, const rf_part_t *running, uint32_t dest, uint32_t dest_size,
                      const uint32_t *boot_path, int32_t boot_path_count, rf_part_t *out);

/** Choose a staging partition for [dest, dest + dest_size): the forced one if
 *  given (checked), else the first OTA app partition after the running one
 *  (wrapping) that overlaps neither the destination, the running partition,
 *  nor any of the `avoid` ranges (pairs of start, size). Shared by the plan
 *  and the seed API. */
esp_err_t rf_choose_staging(const rf_ptable_t *t, const rf_part_t *running, const rf_part_t *forced, uint32_t dest,
                            uint32_t dest_size, const uint32_t *avoid, uint32_t avoid_count, rf_part_t *out,
                            rf_plan_rule_t *rule);

/** Choose the partition that takes a backup of the running app before an
 *  embedded copy overwrites the running partition: the first OTA app
 *  partition in table order with size >= need that overlaps neither the
 *  running partition nor [dest, dest + dest_size). ESP_ERR_NOT_FOUND when
 *  none does. Shared by the plan and the seed API (backup_running_app()). */
esp_err_t rf_choose_backup(const rf_ptable_t *t, const rf_part_t *running, uint32_t need, uint32_t dest,
                           uint32_t dest_size, rf_part_t *out);
