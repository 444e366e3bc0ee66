/*
 * Benchmark: this library's migrations on a simulated ESP32 (4 MB), timed
 * by the honest clock (nor_sim.h: flash work, SHA-256 at the chip's rate,
 * inflate, request latency, the network as a TCP receiver with its window),
 * beside the reference implementation's replay (bench/lib/replay.c) and the
 * physical limit: the scenario's network bytes at the payload rate, plus the
 * least erase and program set for its destinations (no reads, no
 * verification, no staging, no CPU). Prints numbers only; asserts nothing.
 *
 * Scenarios (images from $RF_SHARED/fixtures or argv[1]; without them,
 * generated images of the same shape), served over HTTP on 127.0.0.1 by
 * tests/support/http_server.py (gzip: its gzip_static, Content-Encoding):
 *  - download raw / gzip: the reference download example (app_upd.bin to
 *    0x110000, mcuboot-esp32.bin to 0x1000, one handle), on the generated
 *    old ESP-IDF system, and (gzip) on a device holding the real ESP-IDF
 *    v5.1.2 bootloader and hello_world app (fixtures idf-v5.1.2-*.bin);
 *  - embedded: the embedded example (0x10F000 bytes from 0x14294 to 0x1000,
 *    inside the running app), image shaped like the real merged image
 *    (MCUboot at 0, app_upd.bin at 0xF000);
 *  - dense 1 MiB: the download scenario with a 1 MiB MCUboot image whose
 *    every page holds data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "http_server.h"
#include "replay.h"
#include "rf_device.h"
#include "rf_imggen.h"
#include "rf_oldsys.h"
#include "rf_rehearse.h"
#include "self_reflasher_platform.h"

#define FLASH (4u << 20)
#define ISSUE_NET_BPS 295000.0   /* the issue's definition of the limit's network rate */

typedef struct {
    uint64_t first_ns, last_ns;
    bool seen;
} window_t;

/* Operations touching the ESP32's second-stage bootloader [0x1000, 0x8000). */
static void on_op(void *arg, const nor_sim_op_t *op)
{
    window_t *w = arg;
    if (op->addr < 0x8000u && op->addr + op->len > 0x1000u) {
        if (!w->seen) {
            w->first_ns = op->t_start_ns;
            w->seen = true;
        }
        w->last_ns = op->t_end_ns;
    }
}

typedef struct {
    const char *name;
    double total, net, erase, program, read, cpu, window;
    uint64_t erased, programmed, read_b, net_b, hashed, inflated;
    double replay, log;       /* reference: replay, real log (< 0: none) */
    double limit, limit295;   /* physical limit at the model's rate / at 295 KB/s */
    double floor, target;     /* least time under this library's safety rules (0: not computed); issue 11's target */
    const char *floor_why;
    bool ok;
} row_t;

static uint8_t *load(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int write_file(const char *path, const uint8_t *d, size_t n, bool gz)
{
    if (gz) {
        gzFile z = gzopen(path, "wb9");
        int ok = z != NULL && gzwrite(z, d, (unsigned)n) == (int)n;
        return (z != NULL && gzclose(z) == Z_OK && ok) ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(d, 1, n, f) == n;
    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

/* Least flash work to make [at, at + size) hold img (n bytes) then 0xFF over
 * the content cur: each page that must change and holds data programmed
 * once; each sector holding a bit the target needs set erased once, by one
 * block erase where cheaper and where the block's bytes outside the region
 * are blank (they survive it). */
static void limit_for(const uint8_t *cur, uint32_t at, uint32_t size, const uint8_t *img, uint32_t n, uint64_t *pages,
                      double *erase_ms)
{
    for (uint32_t blk = at - at % 0x10000; blk < at + size; blk += 0x10000) {
        uint32_t dirty = 0;
        bool outside_blank = true;
        for (uint32_t sec = blk; sec < blk + 0x10000; sec += 0x1000) {
            if (sec < at || sec >= at + size) {
                for (uint32_t k = 0; k < 0x1000; k++) {
                    outside_blank &= cur[sec + k] == 0xFF;
                }
                continue;
            }
            bool erase = false;
            for (uint32_t pg = sec; pg < sec + 0x1000; pg += 256) {
                bool data = false, differs = false;
                for (uint32_t k = 0; k < 256; k++) {
                    uint32_t o = pg + k - at;
                    uint8_t t = o < n ? img[o] : 0xFF;
                    data |= t != 0xFF;
                    differs |= t != cur[pg + k];
                    erase |= (cur[pg + k] & t) != t;
                }
                *pages += data && differs;
            }
            dirty += erase;
        }
        double sectors = dirty * 37.0, block = 46.0;
        *erase_ms += dirty == 0 ? 0.0 : (outside_blank && block < sectors ? block : sectors);
    }
}

static void take_counters(const nor_sim_t *sim, const window_t *w, row_t *r)
{
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    r->total = c->time_ns / 1e6;
    r->net = c->net_ns / 1e6;
    r->erase = c->erase_ns / 1e6;
    r->program = c->program_ns / 1e6;
    r->read = c->read_ns / 1e6;
    r->cpu = c->cpu_ns / 1e6;
    r->erased = c->bytes_erased;
    r->programmed = c->bytes_programmed;
    r->read_b = c->bytes_read;
    r->net_b = c->net_bytes;
    r->hashed = c->sha256_bytes;
    r->inflated = c->inflate_bytes;
    r->window = w->seen ? (w->last_ns - w->first_ns) / 1e6 : 0.0;
}

static void set_limit(row_t *r, const nor_sim_t *sim, uint64_t pages, double erase_ms)
{
    const nor_sim_timing_t *t = &nor_sim_config(sim)->timing;
    double flash = (double)pages * t->page_program_ns / 1e6 + erase_ms;
    r->limit = (double)r->net_b * 1e3 / t->net_bytes_per_s + flash;
    r->limit295 = (double)r->net_b * 1e3 / ISSUE_NET_BPS + flash;
}

static int new_device(const char *dir, const char *name, const char *csv, rf_device_t *dev)
{
    char img[600], err[256];
    snprintf(img, sizeof img, "%s/%s", dir, name);
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = FLASH, .partitions_csv = csv, .running = "factory" };
    if (rf_device_create(img, &spec, err, sizeof err) != ESP_OK || rf_device_open(img, dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    dev->quiet = true;
    return 0;
}

/* The download example: app to 0x110000, bootloader to 0x1000, one handle. */
static void run_download(rf_device_t *dev, const ths_t *srv, const char *app, const char *bl, const uint8_t *app_img,
                         size_t app_len, const uint8_t *bl_img, size_t bl_len, row_t *r)
{
    uint8_t *before = malloc(FLASH);
    memcpy(before, nor_sim_data(dev->sim), FLASH);
    window_t w = { 0 };
    nor_sim_set_trace(dev->sim, on_op, &w);
    nor_sim_reset_counters(dev->sim);
    char u1[256], u2[256];
    ths_url(srv, app, u1, sizeof u1);
    ths_url(srv, bl, u2, sizeof u2);
    const rf_rehearse_step_t steps[] = { { u1, 0x110000, 0x100000 }, { u2, 0x1000, 0xF000 } };
    rf_rehearse_seed_steps_t seq = { steps, 2, 0 };   /* one handle, as the reference example */
    esp_err_t e = rf_rehearse_run_seed_download(&seq, dev);
    nor_sim_set_trace(dev->sim, NULL, NULL);
    const uint8_t *d = nor_sim_data(dev->sim);
    r->ok = e == ESP_OK && memcmp(d + 0x110000, app_img, app_len) == 0 && memcmp(d + 0x1000, bl_img, bl_len) == 0;
    take_counters(dev->sim, &w, r);
    uint64_t pages = 0;
    double erase_ms = 0;
    limit_for(before, 0x110000, 0x100000, app_img, (uint32_t)app_len, &pages, &erase_ms);
    limit_for(before, 0x1000, 0xF000, bl_img, (uint32_t)bl_len, &pages, &erase_ms);
    set_limit(r, dev->sim, pages, erase_ms);
    free(before);
}

/* The embedded example: the merged image inside the running app at 0x14294,
 * copied to 0x1000 (memmove). */
static void run_embedded(rf_device_t *dev, const uint8_t *image, row_t *r)
{
    uint8_t *d = nor_sim_data(dev->sim);
    memcpy(d + 0x14294, image, 0x10F000);
    uint8_t *before = malloc(FLASH);
    memcpy(before, d, FLASH);
    window_t w = { 0 };
    nor_sim_set_trace(dev->sim, on_op, &w);
    nor_sim_reset_counters(dev->sim);
    esp_self_reflasher_config_t c = { .src_region = { 0x14294, 0x10F000 }, .dest_region = { 0x1000, 0x10F000 },
                                      .src_bin_size = 0x10F000 };
    esp_err_t e = esp_self_reflasher_directly_copy_to_region_with(rf_device_get_platform(dev), &c);
    nor_sim_set_trace(dev->sim, NULL, NULL);
    r->ok = e == ESP_OK && memcmp(nor_sim_data(dev->sim) + 0x1000, image, 0x10F000) == 0;
    take_counters(dev->sim, &w, r);
    uint64_t pages = 0;
    double erase_ms = 0;
    limit_for(before, 0x1000, 0x10F000, image, 0x10F000, &pages, &erase_ms);
    set_limit(r, dev->sim, pages, erase_ms);
    /* Floor under our rules: a cut must leave a bootable system, so the
     * running app (0x10000.., the image inside it) is first copied to ota_0
     * (0x210000): the limit plus that copy's least flash work. */
    const uint32_t backup = 0x114000;   /* the running app up to the image's end, in sectors */
    uint64_t bpages = 0;
    double berase = 0;
    limit_for(before, 0x210000, backup, before + 0x10000, backup, &bpages, &berase);
    r->floor = r->limit + (double)bpages * nor_sim_config(dev->sim)->timing.page_program_ns / 1e6 + berase;
    r->floor_why = "limit + the backup of the running app (a cut must leave a bootable system)";
    free(before);
}

static void print_table(const row_t *rows, int n)
{
    printf("\n%-34s %9s %8s %8s %8s %8s %8s | %9s %9s %9s %9s %9s %9s | %9s\n",
           "scenario (simulated ESP32, honest clock)", "device ms", "network", "erase", "program", "read", "CPU",
           "net B", "erased B", "program B", "read B", "hashed B", "inflat. B", "window ms");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        printf("%-34s %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f | %9llu %9llu %9llu %9llu %9llu %9llu | %9.1f%s\n",
               r->name, r->total, r->net, r->erase, r->program, r->read, r->cpu, (unsigned long long)r->net_b,
               (unsigned long long)r->erased, (unsigned long long)r->programmed, (unsigned long long)r->read_b,
               (unsigned long long)r->hashed, (unsigned long long)r->inflated, r->window, r->ok ? "" : "  (FAILED)");
    }
    printf("\n%-34s %9s %11s %9s %9s %9s %9s %11s\n", "scenario", "device ms", "reference", "(log)", "ours/ref",
           "limit ms", "ours/lim", "ours/lim295");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        char log[16] = "-";
        if (r->log > 0) {
            snprintf(log, sizeof log, "%.0f", r->log);
        }
        printf("%-34s %9.1f %11.1f %9s %9.3f %9.1f %9.2f %11.2f\n", r->name, r->total, r->replay, log,
               r->total / r->replay, r->limit, r->total / r->limit, r->total / r->limit295);
    }
    printf("\n%-34s %9s %9s %9s  %s\n", "scenario", "device ms", "target", "floor", "floor: the least time under "
           "this library's safety rules");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        if (r->floor > 0) {
            printf("%-34s %9.1f %9.1f %9.1f  %s\n", r->name, r->total, r->target, r->floor, r->floor_why);
        }
    }
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : getenv("RF_SHARED");
    setenv("RF_SRC", RF_SOURCE_DIR, 0);
    char dir[] = "/tmp/rf-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    size_t app_len = 0, bl_len = 0, idf_bl_len = 0, idf_app_len = 0;
    uint8_t *app = shared ? load(shared, "app_upd.bin", &app_len) : NULL;
    uint8_t *bl = shared ? load(shared, "mcuboot-esp32.bin", &bl_len) : NULL;
    uint8_t *idf_bl = shared ? load(shared, "idf-v5.1.2-bootloader-esp32.bin", &idf_bl_len) : NULL;
    uint8_t *idf_app = shared ? load(shared, "idf-v5.1.2-hello_world-esp32.bin", &idf_app_len) : NULL;
    const char *what = "the fixtures";
    if (app == NULL || bl == NULL) {
        free(app);
        free(bl);
        rf_mcuboot_gen_t g = { .payload_size = 149824, .slot_size = 0x100000, .trailer_perm = true, .seed = 3 };
        rf_esp_gen_t e = { .chip_id = 0, .code_size = 27000, .seed = 4 };
        app_len = rf_gen_mcuboot_image(&g, &app);
        bl_len = rf_gen_esp_image(&e, &bl);
        what = "generated images of the fixtures' shape";
    }
    /* a dense 1 MiB MCUboot image: random payload, so every page up to its TLVs holds data */
    uint8_t *dense = NULL;
    rf_mcuboot_gen_t dg = { .payload_size = 0xFE000, .slot_size = 0x100000, .trailer_perm = true, .seed = 9 };
    size_t dense_len = rf_gen_mcuboot_image(&dg, &dense);
    /* the reference examples' partition tables (examples/ of this project) */
    const char *csv = RF_SOURCE_DIR "/examples/boot_swap_download_example/partitions.csv";
    const char *ecsv = RF_SOURCE_DIR "/examples/boot_swap_embedded_example/partitions.csv";
    char path[700];
    snprintf(path, sizeof path, "%s/www", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/www/raw", dir);
    mkdir(path, 0755);
    struct { const char *name; const uint8_t *d; size_t n; bool gz; } files[] = {
        { "raw/app_upd.bin", app, app_len, false }, { "raw/mcuboot-esp32.bin", bl, bl_len, false },
        { "app_upd.bin", app, app_len, false },     { "app_upd.bin.gz", app, app_len, true },
        { "mcuboot-esp32.bin", bl, bl_len, false }, { "mcuboot-esp32.bin.gz", bl, bl_len, true },
        { "raw/dense.bin", dense, dense_len, false },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/www/%s", dir, files[i].name);
        if (write_file(path, files[i].d, files[i].n, files[i].gz) != 0) {
            return 1;
        }
    }
    snprintf(path, sizeof path, "%s/www", dir);
    ths_t srv;
    if (ths_start(path, NULL, &srv) != 0) {
        return 1;
    }

    /* the reference's replays (bench/lib/replay.c) */
    double ref_dl = ms_of(replay_download(app, bl, (uint32_t)bl_len, false).total_ns);
    uint8_t *dense_app = calloc(1, DL_APP_LEN);
    memset(dense_app, 0xFF, DL_APP_LEN);
    memcpy(dense_app, dense, dense_len);
    double ref_dense = ms_of(replay_download(dense_app, bl, (uint32_t)bl_len, false).total_ns);
    uint8_t *merged = malloc(EM_LEN);
    memset(merged, 0xFF, EM_LEN);
    memcpy(merged, bl, bl_len);
    memcpy(merged + EM_APP_OFF, app, app_len);
    double ref_em = ms_of(replay_embedded("", merged, false));

    row_t rows[6];
    int n = 0;
    char err[256];
    rf_device_t dev;

    const struct { const char *name, *app, *bl; bool real; } dls[] = {
        { "download, raw", "/raw/app_upd.bin", "/raw/mcuboot-esp32.bin", false },
        { "download, gzip", "/app_upd.bin", "/mcuboot-esp32.bin", false },
        { "download, gzip, real IDF device", "/app_upd.bin", "/mcuboot-esp32.bin", true },
    };
    for (size_t i = 0; i < sizeof dls / sizeof dls[0]; i++) {
        if (dls[i].real && (idf_bl == NULL || idf_app == NULL)) {
            continue;
        }
        if (new_device(dir, "dev.img", csv, &dev) != 0) {
            return 1;
        }
        if (dls[i].real) {
            /* the real ESP-IDF v5.1.2 bootloader and hello_world app (FACTS.md) */
            memcpy(nor_sim_data(dev.sim) + 0x1000, idf_bl, idf_bl_len);
            memcpy(nor_sim_data(dev.sim) + 0x10000, idf_app, idf_app_len);
        } else if (rf_device_write_old_system(&dev, NULL, NULL, err, sizeof err) != ESP_OK) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        row_t *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->name = dls[i].name;
        r->replay = ref_dl;
        r->log = 11600;
        run_download(&dev, &srv, dls[i].app, dls[i].bl, app, app_len, bl, bl_len, r);
        rf_device_close(&dev);
    }
    if (new_device(dir, "dev.img", ecsv, &dev) == 0 && rf_device_write_old_system(&dev, NULL, NULL, err, sizeof err) == ESP_OK) {
        row_t *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->name = "embedded (merged image shape)";
        r->target = 1230;
        r->replay = ref_em;
        r->log = 12310;
        run_embedded(&dev, merged, r);
        rf_device_close(&dev);
    }
    if (new_device(dir, "dev.img", csv, &dev) == 0 && rf_device_write_old_system(&dev, NULL, NULL, err, sizeof err) == ESP_OK) {
        row_t *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->name = "dense 1 MiB, raw";
        r->replay = ref_dense;
        r->target = 0.5 * ref_dense;
        r->log = -1;
        uint8_t *before = malloc(FLASH);
        memcpy(before, nor_sim_data(dev.sim), FLASH);
        run_download(&dev, &srv, "/raw/dense.bin", "/raw/mcuboot-esp32.bin", dense, dense_len, bl, bl_len, r);
        /* Floor under our rules: every byte over the network (the app's flash
         * work hidden behind it), one request per file, then what cannot
         * start before the bootloader is in and verified: the end-state
         * check hashing the app again (re-verify before every copy), and
         * the bootloader's least flash work. */
        const nor_sim_timing_t *tm = &nor_sim_config(dev.sim)->timing;
        uint64_t bpages = 0;
        double berase = 0;
        limit_for(before, 0x1000, 0xF000, bl, (uint32_t)bl_len, &bpages, &berase);
        r->floor = (double)r->net_b * 1e3 / tm->net_bytes_per_s + 2.0 * tm->request_ns / 1e6 +
                   (double)rf_mcuboot_hashed_end(dense) * 1e3 / tm->sha256_bytes_per_s +
                   (double)bpages * tm->page_program_ns / 1e6 + berase;
        r->floor_why = "network + 2 requests + the app hashed again before the bootloader's copy + its flash work";
        free(before);
        rf_device_close(&dev);
    }
    ths_stop(&srv);

    const nor_sim_timing_t *t = NULL;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, FLASH);
    nor_sim_timing_for_chip("esp32", &cfg.timing);
    t = &cfg.timing;
    printf("Migrations on a simulated ESP32 (4 MB; %s), over HTTP on 127.0.0.1\n", what);
    printf("clock: network %u B/s with a %u-byte TCP window, request %.0f ms; SHA-256 %u B/s; inflate %u B/s "
           "(estimate); flash as device-timings.md\n",
           t->net_bytes_per_s, t->tcp_window, t->request_ns / 1e6, t->sha256_bytes_per_s, t->inflate_bytes_per_s);
    print_table(rows, n);
    printf("\nreference: the reference implementation's operations replayed through the same clock "
           "(bench/lib/replay.c; the download log is 11,600 ms, the embedded log 12,310 ms)\n");
    printf("limit: the network bytes at %u B/s (lim295: at 295,000 B/s) + each page that must change programmed "
           "once + each sector that must lose a 0 erased once (by block where cheaper); no reads, no CPU\n",
           t->net_bytes_per_s);
    printf("window: from the first erase/program touching the bootloader (0x1000..0x8000) to the last\n");

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) {
        return 1;
    }
    free(merged);
    free(dense_app);
    free(dense);
    free(app);
    free(bl);
    free(idf_bl);
    free(idf_app);
    for (int i = 0; i < n; i++) {
        if (!rows[i].ok) {
            return 1;
        }
    }
    return 0;
}
