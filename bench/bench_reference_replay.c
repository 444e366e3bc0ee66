/*
 * Replay of the reference implementation's flash operations through the NOR
 * simulator (default timings), next to the real device logs of
 * ../shared/device-timings.md.
 *
 *   bench_reference_replay [app_upd.bin [mcuboot-esp32.bin]]
 *
 * Without arguments the fixtures are taken from $RF_SHARED/fixtures when
 * present; otherwise images with the same page pattern are synthesised (only
 * which 256-byte pages hold data matters to the timing model).
 *
 * Scenarios (the reference's own sequence: whole-region erases, 1 KiB reads
 * and writes):
 *  1. download example, ESP32-S3, 8 MB;
 *  2. embedded example, ESP32, 4 MB: per destination sector, erase, then four
 *     1 KiB read+write pairs. Replayed twice: with dense data (every page
 *     holds data) and with the example's real image shape (MCUboot at 0x1000,
 *     the NuttX app at 0x10000, the rest 0xFF).
 *
 * Prints numbers only; it asserts nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nor_sim.h"
#include "replay.h"

static uint8_t *read_exact(const char *path, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    uint8_t *buf = malloc(len);
    size_t got = buf != NULL ? fread(buf, 1, len, f) : 0;
    int extra = fgetc(f);
    fclose(f);
    if (buf == NULL || got != len || extra != EOF) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    char app_path[4096] = "", boot_path[4096] = "";
    const char *shared = getenv("RF_SHARED");
    if (argc > 1) {
        snprintf(app_path, sizeof app_path, "%s", argv[1]);
    } else if (shared != NULL) {
        snprintf(app_path, sizeof app_path, "%s/fixtures/app_upd.bin", shared);
    }
    if (argc > 2) {
        snprintf(boot_path, sizeof boot_path, "%s", argv[2]);
    } else if (shared != NULL) {
        snprintf(boot_path, sizeof boot_path, "%s/fixtures/mcuboot-esp32.bin", shared);
    }

    uint8_t *app = app_path[0] ? read_exact(app_path, APP_UPD_SIZE) : NULL;
    const char *app_src = app != NULL ? app_path : "synthesised (app_upd.bin page pattern)";
    if (app == NULL) {
        app = malloc(APP_UPD_SIZE);
        if (app == NULL) {
            return 2;
        }
        synth_app_upd(app);
    }
    uint8_t *mcuboot = boot_path[0] ? read_exact(boot_path, MCUBOOT_SIZE) : NULL;
    const char *mcuboot_src = mcuboot != NULL ? boot_path : "synthesised (27,376 dense bytes)";
    if (mcuboot == NULL) {
        mcuboot = malloc(MCUBOOT_SIZE);
        if (mcuboot == NULL) {
            return 2;
        }
        fill_dense(mcuboot, MCUBOOT_SIZE, 4);
    }
    /* The download log's bootloader is 39,776 bytes of dense data. */
    uint8_t *boot_dl = malloc(DL_BOOT_LEN);
    if (boot_dl == NULL) {
        return 2;
    }
    fill_dense(boot_dl, DL_BOOT_LEN, 5);

    nor_sim_config_t d;
    nor_sim_default_config(&d, 0);
    printf("Reference replay through the NOR simulator (default timings)\n");
    printf("timings: sector erase %.2f ms, block erase %.2f ms, page %.2f ms (blank %.2f ms), read %u B/s, "
           "net %u B/s\n",
           d.timing.sector_erase_ns / 1e6, d.timing.block_erase_ns / 1e6, d.timing.page_program_ns / 1e6,
           d.timing.page_program_blank_ns / 1e6, d.timing.read_bytes_per_s, d.timing.net_bytes_per_s);
    printf("app image: %s, %u of 4096 pages with data\n", app_src, count_data_pages(app, APP_UPD_SIZE));
    printf("mcuboot image: %s\n\n", mcuboot_src);

    printf("1. Download example (ESP32-S3, 8 MB): log 11,600 ms\n");
    replay_download(app, boot_dl, DL_BOOT_LEN, true);
    printf("  (device-timings.md: erase 3,207,168 B, program 2,151,904 B, replay 11.4-11.5 s)\n");
    /* device-timings.md's 2,151,904 programmed bytes = 2 * (1 MiB + 27,376):
     * its count used a 27,376-byte bootloader (mcuboot-esp32.bin) where the
     * log downloads 39,776 bytes. The same replay with that size: */
    dl_result_t v = replay_download(app, mcuboot, MCUBOOT_SIZE, false);
    printf("  variant with a %u-byte bootloader: total %.1f ms, erased %" PRIu64 " B, programmed %" PRIu64
           " B, brick window %.1f ms\n\n",
           MCUBOOT_SIZE, ms_of(v.total_ns), v.erased, v.programmed, ms_of(v.brick_ns));

    printf("2. Embedded example (ESP32, 4 MB): log 12,310 ms\n");
    uint8_t *image = malloc(EM_LEN);
    if (image == NULL) {
        return 2;
    }
    fill_dense(image, EM_LEN, 6);
    replay_embedded("dense data", image, true);
    printf("\n");
    memset(image, 0xFF, EM_LEN);
    memcpy(image, mcuboot, MCUBOOT_SIZE);
    memcpy(image + EM_APP_OFF, app, APP_UPD_SIZE);
    replay_embedded("example-shaped: MCUboot + app_upd.bin at 0x10000", image, true);
    printf("  (device-timings.md: replay 12.7 s)\n");

    free(image);
    free(boot_dl);
    free(mcuboot);
    free(app);
    return 0;
}
