/*
 * Benchmark: the reference download scenario (ESP32, 4 MB, the download
 * example's partition table, an old ESP-IDF system on it) migrated by this
 * library, against the reference implementation's figures from
 * ../shared/device-timings.md. Simulated device time from the timing model
 * (network at its payload rate), flash work from the simulator's counters,
 * and the brick window from the operations that touch the bootloader's
 * sectors. Prints numbers only.
 *
 * Images: ../shared/fixtures when present (RF_SHARED or argv[1]), else
 * generated ones of the same shape (1 MiB MCUboot slot, 27 KB bootloader).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rf_device.h"
#include "rf_imggen.h"
#include "rf_oldsys.h"
#include "self_reflasher_platform.h"

typedef struct {
    uint64_t first_ns, last_ns;
    bool seen;
    uint32_t bl, pt;
} window_t;

static void on_op(void *arg, const nor_sim_op_t *op)
{
    window_t *w = arg;
    if (op->addr < w->pt && op->addr + op->len > w->bl) {
        if (!w->seen) {
            w->first_ns = op->t_start_ns;
            w->seen = true;
        }
        w->last_ns = op->t_end_ns;
    }
}

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

static int write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(d, 1, n, f) == n;
    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

/* The physical limit for writing `n` bytes of `img` (then 0xFF up to `size`)
 * at `at` over the content `cur`: every page that must change and holds data
 * is programmed once; every sector holding a bit the target needs set is
 * erased, at the cheaper of sector or block erases per 64 KiB block. */
static void limit_for(const uint8_t *cur, uint32_t at, uint32_t size, const uint8_t *img, uint32_t n, bool scratch,
                      uint64_t *pages, double *erase_ms)
{
    for (uint32_t blk = at - at % 0x10000; blk < at + size; blk += 0x10000) {
        uint32_t dirty = 0, in_region = 0;
        for (uint32_t sec = blk; sec < blk + 0x10000; sec += 0x1000) {
            if (sec < at || sec >= at + size) {
                continue;
            }
            in_region++;
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
        /* a whole block may go when it lies in the region, or in scratch space (staging) */
        bool block_ok = in_region == 16 || scratch;
        *erase_ms += (dirty == 0) ? 0.0 : (block_ok && block < sectors ? block : sectors);
    }
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : getenv("RF_SHARED");
    char dir[] = "/tmp/rf-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    size_t app_len = 0, bl_len = 0;
    uint8_t *app = shared ? load(shared, "app_upd.bin", &app_len) : NULL;
    uint8_t *bl = shared ? load(shared, "mcuboot-esp32.bin", &bl_len) : NULL;
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
    char csv[300], img[300], app_path[300], bl_path[300];
    snprintf(csv, sizeof csv, "%s/partitions.csv", dir);
    snprintf(img, sizeof img, "%s/dev.img", dir);
    snprintf(app_path, sizeof app_path, "%s/app_upd.bin", dir);
    snprintf(bl_path, sizeof bl_path, "%s/bootloader.bin", dir);
    FILE *f = fopen(csv, "w");
    fputs("nvs,data,nvs,,0x4000,\notadata,data,ota,,0x2000,\nphy_init,data,phy,,0x1000,\n"
          "factory,app,factory,0x10000,1M,\nota_0,app,ota_0,0x110000,1M,\nota_1,app,ota_1,0x210000,1M,\n", f);
    fclose(f);
    if (write_file(app_path, app, app_len) || write_file(bl_path, bl, bl_len)) {
        return 1;
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20, .partitions_csv = csv, .running = "factory" };
    char err[256];
    rf_device_t dev;
    if (rf_device_create(img, &spec, err, sizeof err) != ESP_OK || rf_device_open(img, &dev, err, sizeof err) != ESP_OK ||
        rf_device_write_old_system(&dev, NULL, NULL, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    dev.quiet = true;
    uint8_t *before = malloc(4u << 20);
    memcpy(before, nor_sim_data(dev.sim), 4u << 20);
    window_t w = { .bl = 0x1000, .pt = 0x8000 };
    nor_sim_set_trace(dev.sim, on_op, &w);
    nor_sim_reset_counters(dev.sim);
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&dev);
    esp_http_client_config_t h1 = { .url = app_path }, h2 = { .url = bl_path };
    esp_self_reflasher_config_t c1 = { .http_config = &h1, .dest_region = { 0x110000, 0x100000 } };
    esp_self_reflasher_config_t c2 = { .http_config = &h2, .dest_region = { 0x1000, 0xF000 } };
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t e = esp_self_reflasher_init_with(pf, &c1, &h);
    if (e == ESP_OK) e = esp_self_reflasher_download_bin(h);
    if (e == ESP_OK) e = esp_self_reflasher_copy_to_region(h);
    if (e == ESP_OK) e = esp_self_reflasher_upd_next_config(&c2, h);
    if (e == ESP_OK) e = esp_self_reflasher_download_bin(h);
    if (e == ESP_OK) e = esp_self_reflasher_copy_to_region(h);
    esp_self_reflasher_deinit(h);
    if (e != ESP_OK) {
        fprintf(stderr, "bench: migration failed: %s\n", esp_err_to_name(e));
        return 1;
    }
    /* the network share: payload bytes at the model's rate */
    const nor_sim_counters_t *c = nor_sim_counters(dev.sim);
    double net_ms = (double)dev.net_bytes * 1000.0 / nor_sim_config(dev.sim)->timing.net_bytes_per_s;
    printf("reference download scenario on a simulated ESP32 (old ESP-IDF system, %s)\n", what);
    printf("%-34s %14s %14s\n", "", "this library", "reference");
    printf("%-34s %14.1f %14s\n", "device time, ms", (double)c->time_ns / 1e6, "11,600 (log)");
    printf("%-34s %14.1f %14s\n", "  of which network, ms", net_ms, "~3,550");
    printf("%-34s %14.1f %14s\n", "  flash work (time - network), ms", (double)c->time_ns / 1e6 - net_ms, "~8,050");
    printf("%-34s %14llu %14s\n", "bytes erased", (unsigned long long)c->bytes_erased, "3,207,168");
    printf("%-34s %14llu %14s\n", "bytes programmed", (unsigned long long)c->bytes_programmed, "2,151,904");
    printf("%-34s %14llu %14s\n", "sector + block erases", (unsigned long long)(c->sector_erases + c->block_erases), "63");
    printf("%-34s %14llu %14s\n", "page programs", (unsigned long long)c->page_programs, "8,504");
    printf("%-34s %14llu %14s\n", "bytes read", (unsigned long long)c->bytes_read, "-");
    printf("%-34s %14.1f %14s\n", "brick window, ms", w.seen ? (double)(w.last_ns - w.first_ns) / 1e6 : 0.0, "690");
    /* The physical limit: the two destinations from the old content, and the
     * image staged once (the staging partition starts blank here). */
    uint64_t lim_pages = 0;
    double lim_erase = 0;
    limit_for(before, 0x110000, 0x100000, app, (uint32_t)app_len, false, &lim_pages, &lim_erase);
    limit_for(before, 0x1000, 0xF000, bl, (uint32_t)bl_len, false, &lim_pages, &lim_erase);
    uint64_t stage_pages = 0;
    double stage_erase = 0;
    limit_for(before, 0x210000, 0x100000, app, (uint32_t)app_len, true, &stage_pages, &stage_erase);
    /* the bootloader is staged over the app staged before it: its pages, and
     * erasing what the app left there */
    uint8_t *after_app = malloc(4u << 20);
    memcpy(after_app, before, 4u << 20);
    memcpy(after_app + 0x210000, app, app_len);
    limit_for(after_app, 0x210000, (uint32_t)((bl_len + 0xFFF) & ~0xFFFu), bl, (uint32_t)bl_len, true, &stage_pages,
              &stage_erase);
    free(after_app);
    const nor_sim_timing_t *tm = &nor_sim_config(dev.sim)->timing;
    double lim_ms = (double)(lim_pages + stage_pages) * tm->page_program_ns / 1e6 + lim_erase + stage_erase;
    double ours_ms = (double)c->time_ns / 1e6 - net_ms;
    printf("\nleast flash work (physical limit: each page that must change programmed once, each sector that\n"
           "must lose a 0 erased once, by block where cheaper; no reads, no verification):\n");
    printf("%-34s %14llu %14llu\n", "page programs: limit / this", (unsigned long long)(lim_pages + stage_pages),
           (unsigned long long)c->page_programs);
    printf("%-34s %14.1f %14.1f\n", "erase ms: limit / this", lim_erase + stage_erase,
           (double)(c->sector_erases * tm->sector_erase_ns + c->block_erases * tm->block_erase_ns) / 1e6);
    printf("%-34s %14.1f %14.1f\n", "flash ms: limit / this", lim_ms, ours_ms);
    printf("%-34s %14s %14.1f\n", "  of which reads (compare, verify)", "0", (double)c->bytes_read * 1000.0 / tm->read_bytes_per_s);
    printf("%-34s %14.2f\n", "this / limit", ours_ms / lim_ms);
    free(before);
    rf_device_close(&dev);
    unlink(img);
    char meta[320];
    snprintf(meta, sizeof meta, "%s.meta", img);
    unlink(meta);
    unlink(csv);
    unlink(app_path);
    unlink(bl_path);
    rmdir(dir);
    free(app);
    free(bl);
    return 0;
}
