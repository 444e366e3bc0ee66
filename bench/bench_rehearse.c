/*
 * Benchmark: the power-cut rehearsal (host/src/rf_rehearse.c) of the
 * reference download scenario (ESP32, 4 MB, the download example's table, an
 * old ESP-IDF system), through the seed API as a device runs it: the brick
 * window against the reference component's 690 ms (../shared/device-timings.md),
 * the outcomes of a cut before and in the middle of every write, and what
 * the sweep costs on this machine, in one process and in N. Then the
 * source-layer network faults. Prints numbers, and each cut point whose
 * rerun of the bare seed-API sequence does not end NEW (today: a cut in the
 * middle of the partition table's erase, after the new bootloader is
 * complete: the device boots NEW, but init finds no running partition; the
 * CLI's migrate resumes that case from the journal itself).
 *   build/bench_rehearse [JOBS]
 * Images: generated ones of the fixtures' shape (1 MiB MCUboot slot with a
 * confirmed trailer, 27 KB bootloader): no ../shared needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rf_device.h"
#include "rf_imggen.h"
#include "rf_oldsys.h"
#include "rf_rehearse.h"

static int write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    int bad = f == NULL || fwrite(d, 1, n, f) != n;
    return (f != NULL && fclose(f) != 0) || bad;
}

static void report(const char *what, const rf_rehearse_result_t *r)
{
    printf("%-24s %4u cut points, OLD %3u NEW %3u BRICK %3u (outside the window %u), reruns NEW %u/%u, "
           "%.2f s wall, %.0f points/s\n",
           what, (unsigned)r->np, (unsigned)r->outcomes[0], (unsigned)r->outcomes[1], (unsigned)r->outcomes[2],
           (unsigned)r->brick_outside, (unsigned)r->rerun_ok, (unsigned)r->np, r->sweep_s,
           r->sweep_s > 0 ? r->np / r->sweep_s : 0.0);
    for (uint32_t i = 0; i < r->np; i++) {
        const rf_rehearse_point_t *p = &r->points[i];
        if (!rf_rehearse_point_rerun_ok(p)) {
            printf("  rerun not NEW after a cut %s op %u (device %s after the cut): %s\n",
                   p->mode == NOR_CUT_MIDDLE ? "in the middle of" : "before", (unsigned)p->k,
                   rf_boot_result_name((rf_boot_result_t)p->outcome), p->rerun_reason);
        }
    }
}

int main(int argc, char **argv)
{
    int jobs = argc > 1 ? atoi(argv[1]) : rf_rehearse_default_jobs();
    char dir[] = "/tmp/rf-bench-rehearse-XXXXXX";
    if (mkdtemp(dir) == NULL || jobs < 1) {
        return 1;
    }
    uint8_t *app = NULL, *bl = NULL;
    rf_mcuboot_gen_t g = { .payload_size = 149824, .slot_size = 0x100000, .trailer_perm = true, .seed = 3 };
    rf_esp_gen_t e = { .chip_id = 0, .code_size = 27000, .seed = 4 };
    size_t app_len = rf_gen_mcuboot_image(&g, &app), bl_len = rf_gen_esp_image(&e, &bl);
    char csv[300], img[300], app_path[300], bl_path[300], err[256] = "";
    snprintf(csv, sizeof csv, "%s/partitions.csv", dir);
    snprintf(img, sizeof img, "%s/dev.img", dir);
    snprintf(app_path, sizeof app_path, "%s/app_upd.bin", dir);
    snprintf(bl_path, sizeof bl_path, "%s/bootloader.bin", dir);
    static const char k_csv[] = "nvs,data,nvs,,0x4000,\notadata,data,ota,,0x2000,\nphy_init,data,phy,,0x1000,\n"
                                "factory,app,factory,0x10000,1M,\nota_0,app,ota_0,0x110000,1M,\nota_1,app,ota_1,0x210000,1M,\n";
    if (app_len == 0 || bl_len == 0 || write_file(csv, (const uint8_t *)k_csv, sizeof k_csv - 1) ||
        write_file(app_path, app, app_len) || write_file(bl_path, bl, bl_len)) {
        return 1;
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20, .partitions_csv = csv, .running = "factory" };
    rf_device_t dev;
    if (rf_device_create(img, &spec, err, sizeof err) != ESP_OK || rf_device_open(img, &dev, err, sizeof err) != ESP_OK ||
        rf_device_write_old_system(&dev, NULL, NULL, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    dev.quiet = true;
    dev.log_to_stderr = true;
    rf_rehearse_step_t steps[] = { { app_path, 0x110000, 0x100000 }, { bl_path, 0x1000, 0xF000 } };
    rf_rehearse_seed_steps_t st = { steps, 2, 0 };
    const rf_rehearse_region_t dest[] = { { 0x110000, 0x100000 }, { 0x1000, 0xF000 } };
    const char *sources[] = { app_path, bl_path };
    rf_rehearse_cfg_t cfg = { .run = rf_rehearse_run_seed_download, .run_arg = &st, .dest = dest, .ndest = 2,
                              .sources = sources, .nsources = 2, .sweep = true, .mid_op = true, .jobs = 1 };
    rf_rehearse_result_t r1, rn, nf;
    if (rf_rehearse(&dev, &cfg, &r1) != ESP_OK) {
        fprintf(stderr, "bench: the reference run failed\n");
        return 1;
    }
    printf("rehearsal of the reference download scenario (seed API, generated images of the fixtures' shape)\n");
    printf("reference run: %u write ops, %.1f ms of device time, %llu bytes erased, %llu programmed\n",
           (unsigned)r1.write_ops, (double)r1.ref_counters.time_ns / 1e6,
           (unsigned long long)r1.ref_counters.bytes_erased, (unsigned long long)r1.ref_counters.bytes_programmed);
    printf("brick window: ops %u-%u, %.1f ms (reference component: 690 ms)\n", (unsigned)r1.win_first,
           (unsigned)r1.win_last, r1.win_ms);
    report("sweep, 1 process:", &r1);
    cfg.jobs = jobs;
    if (rf_rehearse(&dev, &cfg, &rn) == ESP_OK) {
        char what[40];
        snprintf(what, sizeof what, "sweep, %d processes:", jobs);
        report(what, &rn);
    }
    cfg.sweep = false;
    cfg.net_faults = true;
    if (rf_rehearse(&dev, &cfg, &nf) == ESP_OK) {
        int ok = 0;
        for (int i = 0; i < nf.nnf; i++) {
            ok += nf.nf[i].ok;
        }
        printf("network faults in the source layer: %d/%d recovered (reset 10/50/90 %%, stall, 500) in %.2f s\n", ok,
               nf.nnf, nf.total_s);
    }
    rf_rehearse_result_free(&r1);
    rf_rehearse_result_free(&rn);
    rf_rehearse_result_free(&nf);
    rf_device_close(&dev);
    unlink(csv);
    unlink(app_path);
    unlink(bl_path);
    unlink(img);
    char meta[320];
    snprintf(meta, sizeof meta, "%s.meta", img);
    unlink(meta);
    rmdir(dir);
    free(app);
    free(bl);
    return 0;
}
