/*
 * reflasher rehearse --device DEVICE.img
 *                    (--image SOURCE@DEST[:SIZE] ... | --embedded FILE@DEST[:SIZE] [--at ADDR])
 *                    --power-cut-sweep [--mid-op] [--stride N] [--net-faults] [--jobs N]
 *                    [--trace OPS.csv] [--json] [--quiet]
 *
 * Argument parsing and printing only: the rehearsal (reference run, power
 * cuts, brick window, network faults injected in the source layer) is
 * host/src/rf_rehearse.c; the migration it rehearses is prepared by
 * scenario.c with the same functions as `migrate`.
 * Exit status: 0 all good, 1 a failure (reference run, BRICK outside the
 * window, a rerun, a network fault), 2 usage.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "progress.h"
#include "rf_device.h"
#include "rf_rehearse.h"
#include "scenario.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher rehearse --device DEVICE.img --image SOURCE@DEST[:SIZE][#sha256=HEX] [--image ...] [--allow-http]\n"
            "                          --power-cut-sweep [--mid-op] [--stride N] [--net-faults] [--jobs N] [--trace OPS.csv]\n"
            "                          [--json] [--quiet]\n"
            "       reflasher rehearse --device DEVICE.img --embedded FILE@DEST[:SIZE] [--at ADDR]\n"
            "                          --power-cut-sweep [--mid-op] [--stride N] [--jobs N] [--trace OPS.csv] [--json] [--quiet]\n"
            "Runs the migration on in-memory copies of DEVICE.img (never written) with a power cut before\n"
            "(and with --mid-op, in the middle of) every Nth flash write, models each boot, reruns it to the\n"
            "end; exit 1 if a cut bricks the device outside the bootloader window or a rerun does not boot NEW.\n"
            "--net-faults breaks each source in the source layer (connection reset at 10/50/90 %%, a stall,\n"
            "an HTTP 500), so it works against any server.\n");
    return 2;
}

/* Print a cJSON object on stdout, one line. */
static bool print_json(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s == NULL) {
        return false;
    }
    printf("%s\n", s);
    cJSON_free(s);
    return true;
}

int cmd_rehearse(int argc, char **argv)
{
    const char *trace_path = NULL;
    rf_image_arg_t *imgs = calloc(RF_SCENARIO_MAX, sizeof *imgs);
    int jobs = rf_rehearse_default_jobs();
    bool json = false, quiet = false, sweep = false, mid_op = false, net_faults = false;
    uint32_t stride = 1;
    char err[512];
    int rc = 2;
    if (imgs == NULL) {
        return 1;
    }
    rf_migration_args_t m;
    rf_migration_args_init(&m, imgs, RF_SCENARIO_MAX);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool *flag = strcmp(a, "--json") == 0 ? &json
                     : strcmp(a, "--quiet") == 0 ? &quiet
                     : strcmp(a, "--power-cut-sweep") == 0 ? &sweep
                     : strcmp(a, "--mid-op") == 0 ? &mid_op
                     : strcmp(a, "--net-faults") == 0 ? &net_faults : NULL;
        if (flag != NULL) {
            *flag = true;
            continue;
        }
        if (rf_migration_flag(&m, a)) {
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            rc = 0;
            goto out;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            goto out_usage;
        }
        int r = rf_migration_arg(&m, "reflasher rehearse", a, v);
        if (r < 0) {
            goto out;
        }
        if (r > 0) {
            continue;
        }
        uint32_t j;
        if (strcmp(a, "--stride") == 0) {
            if (!rf_parse_size(v, &stride) || stride == 0) {
                goto out_usage;
            }
        } else if (strcmp(a, "--trace") == 0) {
            trace_path = v;
        } else if (strcmp(a, "--jobs") == 0 && rf_parse_size(v, &j) && j > 0 && j <= RF_REHEARSE_MAX_JOBS) {
            jobs = (int)j;
        } else {
            goto out_usage;
        }
    }
    if (m.device == NULL || m.n == 0 || !sweep || (m.embedded && m.n != 1) || (m.at_given && !m.embedded)) {
        goto out_usage;
    }
    if (!rf_migration_check_http(&m, "reflasher rehearse")) {
        goto out;
    }
    if (net_faults && m.embedded) {
        fprintf(stderr, "reflasher rehearse: --net-faults needs download mode (--image SOURCE@DEST)\n");
        goto out_usage;
    }
    rc = 1;

    /* The device: read once, never written (everything happens on in-memory copies). */
    rf_device_t orig, base;
    if (rf_device_open(m.device, &orig, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: %s\n", err);
        goto out;
    }
    esp_err_t e = rf_device_clone(&orig, &base);
    rf_device_close(&orig);
    if (e != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: no memory for a copy of %s\n", m.device);
        goto out;
    }
    base.quiet = true;
    base.log_to_stderr = true;
    rf_cli_scenario_t sc = { .embedded = m.embedded, .imgs = imgs, .n = m.n, .at = m.at };
    if (rf_cli_scenario_prepare(&base, &sc) != 0) {
        fprintf(stderr, "reflasher rehearse: %s\n", sc.msg);
        rf_device_close(&base);
        goto out;
    }
    rf_rehearse_cfg_t cfg = { .sweep = true, .stride = stride, .mid_op = mid_op, .net_faults = net_faults,
                              .jobs = jobs };
    rf_cli_scenario_cfg(&sc, &cfg);
    if (!quiet) {
        cfg.progress = rf_progress_rehearse;
        cfg.progress_arg = "rehearse";
    }
    rf_rehearse_result_t res;
    e = rf_rehearse(&base, &cfg, &res);
    rf_progress_finish();
    const char *mode = m.embedded ? "embedded" : "download";
    if (e == ESP_ERR_INVALID_STATE) {
        fprintf(stderr, "reflasher rehearse: the reference run (no power cut) %s: %s: %s\n",
                res.ref_err != ESP_OK ? "failed" : "does not end NEW",
                res.ref_err != ESP_OK ? esp_err_to_name(res.ref_err) : rf_boot_result_name(res.ref_boot),
                res.ref_err != ESP_OK && res.ref_error_line[0] ? res.ref_error_line : res.ref_reason);
    } else if (e != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: %s\n", esp_err_to_name(e));
    } else if (trace_path != NULL && !rf_rehearse_write_trace(trace_path, &res)) {
        fprintf(stderr, "reflasher rehearse: cannot write %s\n", trace_path);
    } else if (json) {
        cJSON *j = rf_rehearse_json(&res, m.device, mode, sc.sources);
        rc = print_json(j) ? (res.ok ? 0 : 1) : 1;
        cJSON_Delete(j);
    } else {
        rf_rehearse_print(stdout, &res, m.device, mode, sc.sources, !quiet);
        rc = res.ok ? 0 : 1;
    }
    rf_rehearse_result_free(&res);
    rf_device_close(&base);
    goto out;
out_usage:
    rc = usage();
out:
    free(imgs);
    return rc;
}
