/*
 * Building a validated plan (core/include/rf_plan.h) from an open simulated
 * device and the tool's image arguments; shared by `reflasher plan` (and
 * usable by `migrate`).
 *
 * rf_cli_build_plan():
 *  1. fills the plan's device part: chip id, bootloader offset, partition
 *     table offset and table, flash geometry, running partition, timing costs
 *     (the device's nor_sim timing, ns -> us);
 *  2. fills one plan image per argument: destination, size (default: the
 *     partition that starts at DEST), expected SHA-256;
 *  3. validates once without lengths (destinations only: nothing is fetched
 *     for a plan that is refused anyway);
 *  4. when fetch is true, reads every SOURCE completely into memory (kept in
 *     `extra`), checks its SHA-256 against #sha256= when given, validates the
 *     plan again with the lengths, then checks each image's content for its
 *     destination kind: bootloader offset -> a valid ESP bootloader for this
 *     chip; start of an app partition -> a valid ESP app for this chip or a
 *     valid MCUboot image that fits the slot; anything else -> length (and
 *     hash) only.
 * Returns 0 when the plan is valid, 1 when it is refused (a plan rule or a
 * content check: extra->rule_name / extra->bad_input / err say which), 2 for
 * a usage-like error (no partition starts at DEST and no SIZE, unknown chip,
 * unreadable partition table, running partition missing); err gets one line.
 * Image numbers in messages are 1-based positions on the command line.
 * imgs[i].size/has_size are filled in where SIZE was omitted. The plan's
 * images are in execution order afterwards (plan->img[k].input_index maps
 * back to imgs[] and extra->img[]); plan->table points into extra, so free
 * extra (rf_cli_plan_extra_free) only after the plan is no longer used.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "args.h"
#include "rf_device.h"
#include "rf_image.h"
#include "rf_engine.h"
#include "rf_plan.h"

/** What the content check found for one image. */
typedef enum {
    RF_CLI_CONTENT_NONE = 0,   /**< not checked (not fetched, or a raw destination) */
    RF_CLI_CONTENT_ESP_BOOTLOADER,
    RF_CLI_CONTENT_ESP_APP,
    RF_CLI_CONTENT_MCUBOOT,
} rf_cli_content_t;

typedef struct rf_cli_plan_image {
    bool fetched;
    uint8_t *data;              /**< the whole image (malloc'd), NULL if not fetched */
    size_t len;
    uint8_t sha256[32];         /**< of data, when fetched */
    bool sha256_checked;        /**< an expected hash was given and compared */
    bool content_checked;       /**< the content check for the kind ran (and passed unless refused) */
    rf_cli_content_t content;
    char content_desc[400];     /**< "ESP bootloader for ESP32, 3 segments, checksum and SHA-256 ok" */
} rf_cli_plan_image_t;

typedef struct rf_cli_plan_extra {
    rf_ptable_t *table;         /**< the device's table (malloc'd): plan->table points here */
    rf_cli_plan_image_t img[RF_PLAN_MAX_IMAGES]; /**< by input index (command-line order) */
    int count;
    bool fetched;               /**< sources were read (lengths known) */
    /* on refusal */
    const char *rule_name;      /**< "DEST_ALIGN", "CONTENT_CHIP_ID", ... (static string) */
    char rule_text[160];        /**< the rule's description */
    char detail[320];           /**< what exactly failed (content checks), "" for plan rules */
    int bad_input;              /**< 0-based input index of the offending image, -1 none */
    esp_err_t fetch_err;        /**< SOURCE_FETCH: what reading the source failed with */
    uint32_t keep[4];           /**< plan->keep points here */
    uint32_t boot_path[RF_ENG_BOOT_PATH_MAX]; /**< plan->boot_path points here */
    /* embedded mode (rf_cli_build_embedded_plan) */
    bool embedded;
    uint32_t at;                /**< where the image lies inside the running app */
    uint32_t app_len;           /**< the running app's ESP image length on the device, 0: not an image */
    uint32_t backup_need;       /**< max(app_len, at + len - running.offset): the plan rounds it up */
} rf_cli_plan_extra_t;

/** Rule names of the tool itself (content rules are rf_eng_rule_name()'s, plan rules rf_plan_rule_name()'s). */
#define RF_CLI_RULE_SOURCE_FETCH "SOURCE_FETCH"
#define RF_CLI_RULE_EMBED_PLACE "EMBEDDED_NOT_IN_RUNNING"

int rf_cli_build_plan(rf_device_t *dev, rf_image_arg_t *imgs, int n, bool fetch, rf_plan_t *plan,
                      rf_cli_plan_extra_t *extra, char *err, size_t err_len);

/** Embedded mode (the library's directly_copy_to_region): one image, the
 *  local FILE, already in flash at `at` inside the running partition (the
 *  plan does not place it). SIZE omitted: the file's length (as `migrate
 *  --embedded`). Reads the file, checks that [at, at + len) lies inside the
 *  running partition (EMBEDDED_NOT_IN_RUNNING), sets the image's backup_need
 *  from the device (the running app's ESP image length vs the embedded
 *  image's end, as the library), validates, then the hash and content checks
 *  of download mode. Same return values as rf_cli_build_plan(). */
int rf_cli_build_embedded_plan(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, rf_plan_t *plan,
                               rf_cli_plan_extra_t *extra, char *err, size_t err_len);

/** Read a whole SOURCE (URL or file) into a malloc'd buffer of at most cap bytes. */
esp_err_t rf_cli_fetch(const char *url, size_t cap, uint8_t **out, size_t *len);

/** Free what rf_cli_build_plan() allocated (safe on a zeroed or failed extra). */
void rf_cli_plan_extra_free(rf_cli_plan_extra_t *extra);
