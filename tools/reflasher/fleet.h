/*
 * reflasher fleet: one migration rehearsed on every device kind of a fleet
 * (cmd_fleet.c), and its self-contained HTML report (fleet_html.c).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "rf_boot.h"

#define FLEET_MAX_KINDS 64
#define FLEET_MAX_REGIONS 48

typedef enum {
    FLEET_REGION_BOOTLOADER = 0,
    FLEET_REGION_PTABLE,
    FLEET_REGION_APP,
    FLEET_REGION_DATA,
    FLEET_REGION_OTADATA,
} fleet_region_kind_t;

typedef struct fleet_region {
    uint32_t addr, size;
    fleet_region_kind_t kind;
    char label[24];
    char content[96];     /**< what the bytes there are: "ESP app 'hello_world' v5.1.2", "MCUboot image", "blank" */
} fleet_region_t;

/** A flash map: the regions of a state of the flash and which sectors hold data. */
typedef struct fleet_map {
    uint32_t flash_size;
    fleet_region_t r[FLEET_MAX_REGIONS];
    int n;
    bool table_valid;     /**< the partitions come from a valid table in this state */
    uint8_t *used;        /**< per 4 KiB sector: 1 when not all 0xFF (malloc'd) */
    uint32_t nsect;
    uint32_t written[16][2]; /**< destination regions (addr, size) written by the migration (after map) */
    int nwritten;
} fleet_map_t;

typedef enum { FLEET_SAFE = 0, FLEET_REFUSED, FLEET_UNSAFE, FLEET_ERROR } fleet_verdict_t;

typedef struct fleet_kind {
    char name[64];
    char chip[16];
    char running[20];
    char partitions[512];  /**< CSV path ("" for a dump) */
    char old_system[600];  /**< "generated", "real: BOOTLOADER + APP", "dump: FILE" */
    uint32_t flash_size;
    char error[512];       /**< the kind could not be built or rehearsed */
    rf_boot_result_t before;
    char before_reason[240];
    /* the plan */
    bool plan_ran;
    bool plan_valid;
    char rule[48];
    char rule_text[200];
    char detail[400];
    double est_ms, est_window_ms;
    bool no_backup_window;
    /* the reference run and the sweep (plan valid) */
    bool ran;
    bool ref_ok;
    char mig_error[300];   /**< the migration's error (esp_err name: first error line) */
    rf_boot_result_t end;
    char end_loader[16];
    char end_reason[300];
    uint32_t win_first, win_last;
    double win_ms;
    double device_ms;
    uint64_t bytes_erased, bytes_programmed, net_bytes;
    uint32_t write_ops;
    bool swept;
    bool sweep_ok;
    uint32_t cut_points, outcomes[3], brick_outside, rerun_failures, stride;
    fleet_verdict_t verdict;
    char warning[240];     /**< "" or what a person should look at although the kind is SAFE */
    fleet_map_t before_map, after_map;
} fleet_kind_t;

typedef struct fleet_report {
    const char *fleet_file;
    const char *mode;      /**< "download" / "embedded" */
    const char *images[16];
    int nimages;
    fleet_kind_t *k;
    int n;
} fleet_report_t;

const char *fleet_verdict_name(fleet_verdict_t v);

/** Write the HTML report (one file, inline CSS and SVG, no external asset). */
bool fleet_write_html(const char *path, const fleet_report_t *rep);
