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
