/*
 * A migration prepared for rf_rehearse() (host/include/rf_rehearse.h), shared
 * by `rehearse` and `fleet`: the images in execution order (the plan's:
 * bootloader region last), or the embedded image placed in the running app,
 * and the callback that runs it on a device copy through the same functions
 * as `migrate` (rf_cli_run_download / rf_cli_run_embedded).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "args.h"
#include "rf_device.h"
#include "rf_rehearse.h"

#define RF_SCENARIO_MAX 16

typedef struct rf_cli_scenario {
    bool embedded;
    rf_image_arg_t *imgs;       /**< the caller's; reordered in place (download) */
    int n;
    uint32_t at;                /**< embedded: where the image sits in the running app */
    uint32_t emb_len;
    rf_rehearse_region_t dest[RF_SCENARIO_MAX];
    const char *sources[RF_SCENARIO_MAX];
    /* on refusal */
    const char *rule_name;      /**< the plan rule that refused it (static), NULL otherwise */
    char msg[640];              /**< one line: why it cannot run */
} rf_cli_scenario_t;

/** Prepare `sc` on `base` (which it modifies: the embedded image is placed
 *  in the running app, as the linker does): default sizes, the plan's order
 *  (validated without fetching). 0 ready, 1 refused by the plan, 2 other
 *  error; sc->msg says why. */
int rf_cli_scenario_prepare(rf_device_t *base, rf_cli_scenario_t *sc);

/** An rf_rehearse_cfg_t running `sc` (run, dest, sources); the caller sets
 *  the sweep options. */
void rf_cli_scenario_cfg(rf_cli_scenario_t *sc, rf_rehearse_cfg_t *cfg);
