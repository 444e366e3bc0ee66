/* The migration runs shared by `migrate` and `rehearse` (cmd_migrate.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "args.h"
#include "rf_device.h"

/** SIZE omitted: the size of the partition that starts at DEST (false, with
 *  a message, when none does). */
bool rf_cli_default_size(rf_device_t *dev, rf_image_arg_t *img);

/** Download mode: validate the whole plan, then run it (bootloader region
 *  last) through the seed API. *failed_at: input index of the failing image. */
esp_err_t rf_cli_run_download(rf_device_t *dev, rf_image_arg_t *imgs, int n, int *failed_at);

/** Embedded mode, step 0 (the linker's job, not counted): put FILE at `at`
 *  inside the running partition. *len: its length. Sets img->size if unset. */
esp_err_t rf_cli_embed_place(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, uint32_t *len);

/** Embedded mode: the copy through the seed API. */
/** Embedded mode's whole plan, before anything is placed or written: the
 *  image where it lies, the engine's rules, and no plan without a backup
 *  path unless allow_no_backup (the rule of `plan --require-backup`). */
esp_err_t rf_cli_check_embedded(rf_device_t *dev, const rf_image_arg_t *img, uint32_t at, bool allow_no_backup);

esp_err_t rf_cli_run_embedded(rf_device_t *dev, const rf_image_arg_t *img, uint32_t at, uint32_t len);
