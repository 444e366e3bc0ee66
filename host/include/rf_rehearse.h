/*
 * Rehearsal of a migration on in-memory copies of a simulated device: "every
 * failure is an outcome". Shared by `reflasher rehearse`, `reflasher fleet`,
 * the tests and the benches; the caller says how to run the migration (a
 * callback over an rf_device_t), this library does the rest.
 *
 *  1. Reference run: on a copy (counters at zero), the migration runs once
 *     while nor_sim's trace records every program and erase: N write
 *     operations. It must succeed and the boot model must say NEW; else
 *     rf_rehearse() returns ESP_ERR_INVALID_STATE with ref_* saying why.
 *  2. Power-cut sweep (cfg.sweep): for each cut point k (every stride'th of
 *     1..N, plus the brick window's edges and op N; mid_op adds a cut in the
 *     middle of op k, seed k): on a fresh copy, arm the cut, run the
 *     migration (it fails at the cut), restore power, model the boot (OLD /
 *     NEW / BRICK + reason); then run the migration again on that copy (the
 *     device booting back into the migrating app), which must boot NEW with
 *     every destination region equal to the reference run's. A cut run's
 *     operations up to the cut must be the reference's (trace check).
 *  3. The brick window, from the reference trace: the write operations that
 *     touch the second-stage bootloader's sectors ([chip's bootloader offset,
 *     partition table offset)), from the first to the last program there, as
 *     an op range and in simulated device time. A BRICK inside it is
 *     expected; anywhere else it is a failure. Inside: cut before op k with
 *     first < k <= last; cut in the middle of op k with first <= k <= last.
 *  4. Network faults (cfg.net_faults): for each source in cfg.sources, runs
 *     whose source layer breaks (rf_fault_source.h: connection reset at 10 %,
 *     50 % and 90 % of the object, a stall at 50 %, an HTTP-500-like open
 *     failure), whatever the server is. The fault must be reported (not
 *     ESP_OK), the device must not be BRICK, and a rerun without the fault
 *     must end NEW with the reference's destinations.
 * Cut points run in cfg.jobs worker processes (fork), each on its own copies.
 * The device given is never written.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "nor_sim.h"
#include "rf_boot.h"
#include "rf_device.h"
#include "rf_fault_source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RF_REHEARSE_REASON_LEN 240
#define RF_REHEARSE_MAX_JOBS 64

/** Run the migration on `dev` (a copy; it may fail at a power cut). */
typedef esp_err_t (*rf_rehearse_run_fn)(void *arg, rf_device_t *dev);

typedef enum {
    RF_REHEARSE_PHASE_REFERENCE = 0,
    RF_REHEARSE_PHASE_CUTS,
    RF_REHEARSE_PHASE_NET,
} rf_rehearse_phase_t;

typedef struct rf_rehearse_progress {
    rf_rehearse_phase_t phase;
    uint32_t done, total;       /**< cut points or network faults */
    double device_ms;           /**< reference run: simulated device time so far */
    uint64_t bytes;             /**< reference run: bytes programmed + erased so far */
    double elapsed_s;
} rf_rehearse_progress_t;

typedef struct rf_rehearse_region {
    uint32_t addr, size;
} rf_rehearse_region_t;

typedef struct rf_rehearse_cfg {
    rf_rehearse_run_fn run;
    void *run_arg;
    const rf_rehearse_region_t *dest; /**< destination regions compared with the reference's */
    int ndest;
    const char *const *sources;       /**< source names (URLs, paths) the migration opens, for net faults */
    int nsources;
    bool sweep;                       /**< false: the reference run only */
    uint32_t stride;                  /**< 0 = 1 */
    bool mid_op;
    bool net_faults;
    int jobs;                         /**< <= 1: in this process */
    void (*progress)(void *arg, const rf_rehearse_progress_t *p);
    void *progress_arg;
} rf_rehearse_cfg_t;

typedef struct rf_rehearse_point {
    uint32_t k;                 /**< op number */
    uint8_t mode;               /**< NOR_CUT_BEFORE / NOR_CUT_MIDDLE */
    uint8_t done;
    uint8_t cut_reached;        /**< the armed cut happened */
    uint8_t outcome;            /**< rf_boot_result_t after the cut */
    uint8_t in_window;
    uint8_t rerun_outcome;
    uint8_t dest_ok;
    uint8_t flash_same;         /**< whole flash equal to the reference's after the rerun */
    int32_t cut_err;
    int32_t rerun_err;
    uint32_t trace_mismatches;
    char reason[RF_REHEARSE_REASON_LEN];
    char rerun_reason[RF_REHEARSE_REASON_LEN];
} rf_rehearse_point_t;

typedef struct rf_rehearse_netfault {
    int source;                 /**< index in cfg.sources */
    rf_fault_kind_t kind;
    uint64_t at;                /**< object offset (reset, stall) */
    char fault[64];             /**< "close_at=104857", "stall_at=...", "status=500" */
    esp_err_t err;              /**< what the faulty run returned */
    rf_boot_result_t after;
    char reason[RF_REHEARSE_REASON_LEN];
    char err_line[RF_REHEARSE_REASON_LEN];
    esp_err_t rerun_err;
    rf_boot_result_t rerun;
    bool dest_ok;
    long long served;           /**< bytes the source delivered in the faulty run */
    long long rerun_bytes;      /**< bytes of that source the rerun read (a resume reads less) */
    bool ok;
} rf_rehearse_netfault_t;

typedef struct rf_rehearse_result {
    bool ok;                    /**< everything held */
    char chip[16];
    /* the reference run */
    bool ref_ok;
    esp_err_t ref_err;
    rf_boot_result_t ref_boot;
    char ref_reason[RF_REHEARSE_REASON_LEN];     /**< boot model's line */
    char ref_error_line[RF_REHEARSE_REASON_LEN]; /**< first error log line of a failing run */
    char ref_boot_loader[16];   /**< "ESP-IDF", "MCUboot", "none" */
    uint32_t write_ops;
    nor_sim_counters_t ref_counters;
    uint64_t ref_net_bytes;
    nor_sim_op_t *trace;        /**< the reference run's write operations */
    size_t trace_n;
    uint8_t *ref_flash;         /**< flash after the reference run */
    uint32_t flash_size;
    /* the brick window */
    uint32_t region_lo, region_hi;
    uint32_t win_first, win_last; /**< op numbers, 0 = none */
    double win_ms, win_start_ms, win_end_ms;
    /* the sweep */
    bool swept;
    uint32_t stride;
    bool mid_op;
    rf_rehearse_point_t *points;
    uint32_t np;
    uint32_t outcomes[3];       /**< by rf_boot_result_t */
    uint32_t brick_inside, brick_outside, ended_new, rerun_ok, flash_same, not_reached, mismatched, bad_points,
        rerun_errors, missing;
    /* network faults */
    bool net_faults;
    rf_rehearse_netfault_t *nf;
    int nnf;
    int nf_bad;
    int jobs;
    double sweep_s, total_s;
} rf_rehearse_result_t;

/** Rehearse. ESP_OK when the rehearsal ran (res->ok says whether everything
 *  held); ESP_ERR_INVALID_STATE when the reference run failed or does not
 *  end NEW (res->ref_* say why); ESP_ERR_NO_MEM, ESP_ERR_INVALID_ARG (unknown
 *  chip). Free res with rf_rehearse_result_free() in every case. */
esp_err_t rf_rehearse(const rf_device_t *base, const rf_rehearse_cfg_t *cfg, rf_rehearse_result_t *res);
void rf_rehearse_result_free(rf_rehearse_result_t *res);

/** The point's rerun booted NEW with the reference's destinations. */
bool rf_rehearse_point_rerun_ok(const rf_rehearse_point_t *p);
/** The point bricked outside the window. */
bool rf_rehearse_point_brick_outside(const rf_rehearse_point_t *p);

/** The reference run's write operations as CSV. */
bool rf_rehearse_write_trace(const char *path, const rf_rehearse_result_t *res);

/** The whole report as a cJSON object (caller frees with cJSON_Delete);
 *  `device` and `mode` ("download" / "embedded") label it; `sources` names
 *  the net faults' sources. NULL when out of memory. */
struct cJSON *rf_rehearse_json(const rf_rehearse_result_t *res, const char *device, const char *mode,
                               const char *const *sources);

/** {"OLD": n, "NEW": n, "BRICK": n} from counts by rf_boot_result_t. */
struct cJSON *rf_rehearse_outcomes_json(const uint32_t outcomes[3]);

/** The text report. table: also the heading and the table of cut points by
 *  outcome (what --quiet leaves out). */
void rf_rehearse_print(FILE *out, const rf_rehearse_result_t *res, const char *device, const char *mode,
                       const char *const *sources, bool table);

/** A ready-made rf_rehearse_run_fn for tests and benches: the seed API's
 *  download sequence, as a device runs it (init with the first step,
 *  download_bin, copy_to_region, upd_next_config for each next one, deinit).
 *  arg: an rf_rehearse_seed_steps_t. */
typedef struct rf_rehearse_step {
    const char *url;            /**< URL or file path */
    uint32_t dest, size;
} rf_rehearse_step_t;
typedef struct rf_rehearse_seed_steps {
    const rf_rehearse_step_t *v;
    int n;
    int timeout_ms;             /**< 0: 10 s */
} rf_rehearse_seed_steps_t;
esp_err_t rf_rehearse_run_seed_download(void *arg, rf_device_t *dev);

/** Default number of worker processes: online CPUs, at most 8. */
int rf_rehearse_default_jobs(void);

#ifdef __cplusplus
}
#endif
