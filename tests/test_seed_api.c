/*
 * The seed-compatible API end to end on simulated ESP32 devices made from the
 * reference examples' own partition tables (../shared/seeds), with the real
 * fixtures (../shared/fixtures) served over real HTTP on 127.0.0.1.
 * Reads ../shared: the tests skip when it is absent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>
#include "rf_crypto.h"
#include "rf_imggen.h"
#include "http_server.h"
#include "rf_device.h"
#include "self_reflasher_platform.h"
#include "esp_image_format.h"
#include "testlib.h"
#include "rf_otadata.h"
#include "rf_oldsys.h"

#define FLASH_4MB (4u << 20)

static void write_file(const char *path, const uint8_t *d, size_t n);

typedef struct {
    char dir[256];
    char img[512];
    rf_device_t dev;
    uint8_t *before;
    ths_t srv;
    bool srv_up;
} fx_t;

static void make_device(fx_t *fx, const char *csv_rel)
{
    snprintf(fx->dir, sizeof fx->dir, "%s", tl_tmpdir());
    snprintf(fx->img, sizeof fx->img, "%s/dev.img", fx->dir);
    if (tl_shared_dir() == NULL) {
        skip();
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = FLASH_4MB,
                              .partitions_csv = tl_shared_path(csv_rel), .running = "factory" };
    char err[256];
    assert_int_equal(rf_device_create(fx->img, &spec, err, sizeof err), ESP_OK);
    assert_int_equal(rf_device_open(fx->img, &fx->dev, err, sizeof err), ESP_OK);
    fx->dev.quiet = getenv("RF_VERBOSE") == NULL;
    /* An "old system" stand-in: distinct filler everywhere outside the
     * partition table sector and the OTA app partitions (which stay blank, as
     * on a device that never took an OTA update), so that any stray write shows. */
    uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = 0x1000; a < 0x8000; a++) {
        d[a] = (uint8_t)(a * 7 + 3);
    }
    for (uint32_t a = 0x10000; a < 0x110000; a++) {
        d[a] = (uint8_t)(a * 13 + 1);
    }
    fx->before = malloc(FLASH_4MB);
    memcpy(fx->before, d, FLASH_4MB);
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv_up) {
        ths_stop(&fx->srv);
    }
    rf_device_close(&fx->dev);
    free(fx->before);
    free(fx);
    return 0;
}

static int setup_download(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    *state = fx;
    return 0;
}

static void start_server(fx_t *fx, const char *extra)
{
    if (tl_shared_dir() == NULL) {
        skip();
    }
    assert_int_equal(ths_start(tl_shared_path("fixtures"), extra, &fx->srv), 0);
    fx->srv_up = true;
}

/* The journal's declared area: the last two sectors of the 4 MB flash,
 * which no partition of the seed tables covers. */
#define JOURNAL_ADDR 0x3FE000u
#define JOURNAL_LEN 0x2000u

/* Every byte outside [a0,a0+n0), [a1,a1+n1), [a2,a2+n2) (and the journal's
 * area when `journal`) equals fx->before. */
static void assert_unchanged_outside_j(fx_t *fx, bool journal, uint32_t a0, uint32_t n0, uint32_t a1, uint32_t n1,
                                       uint32_t a2, uint32_t n2)
{
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = 0; a < FLASH_4MB; a++) {
        if ((a >= a0 && a < a0 + n0) || (a >= a1 && a < a1 + n1) || (a >= a2 && a < a2 + n2) ||
            (journal && a >= JOURNAL_ADDR && a < JOURNAL_ADDR + JOURNAL_LEN)) {
            continue;
        }
        if (d[a] != fx->before[a]) {
            fail_msg("byte 0x%06x changed: 0x%02x -> 0x%02x", a, fx->before[a], d[a]);
        }
    }
}

static void assert_unchanged_outside(fx_t *fx, uint32_t a0, uint32_t n0, uint32_t a1, uint32_t n1, uint32_t a2,
                                     uint32_t n2)
{
    assert_unchanged_outside_j(fx, true, a0, n0, a1, n1, a2, n2);
}

/* Strict: every byte, the journal's area included. */
static void assert_flash_unchanged(fx_t *fx)
{
    assert_unchanged_outside_j(fx, false, 0, 0, 0, 0, 0, 0);
}

static void assert_region_is(fx_t *fx, uint32_t addr, uint32_t size, const uint8_t *img, size_t len)
{
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    assert_memory_equal(d + addr, img, len);
    for (uint32_t a = addr + (uint32_t)len; a < addr + size; a++) {
        if (d[a] != 0xFF) {
            fail_msg("byte 0x%06x after the image is 0x%02x, not 0xFF", a, d[a]);
        }
    }
}

/* The reference download example: app_upd.bin to the MCUboot secondary slot,
 * then the MCUboot bootloader to 0x1000, staging chosen as ota_1. */
static void test_reference_download_scenario(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    size_t app_len, bl_len;
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    uint8_t *bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &bl_len);
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);

    char url_app[256], url_bl[256];
    ths_url(&fx->srv, "/app_upd.bin", url_app, sizeof url_app);
    ths_url(&fx->srv, "/mcuboot-esp32.bin", url_bl, sizeof url_bl);
    esp_http_client_config_t http_app = { .url = url_app, .buffer_size = 1024, .keep_alive_enable = true };
    esp_self_reflasher_config_t cfg_app = { .http_config = &http_app,
                                            .dest_region = { .region_address = 0x110000, .region_size = 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg_app, &h), ESP_OK);
    assert_non_null(h);
    /* init erases nothing */
    assert_int_equal(nor_sim_counters(fx->dev.sim)->bytes_erased + nor_sim_counters(fx->dev.sim)->bytes_programmed, 0);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_get_downloaded_len(h), app_len);
    /* staged in ota_1, as the reference's log shows (src_start 0x00210000) */
    assert_memory_equal(nor_sim_data(fx->dev.sim) + 0x210000, app, app_len);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);

    esp_http_client_config_t http_bl = { .url = url_bl };
    esp_self_reflasher_config_t cfg_bl = { .http_config = &http_bl,
                                           .dest_region = { .region_address = 0x1000, .region_size = 0xF000 } };
    assert_int_equal(esp_self_reflasher_upd_next_config(&cfg_bl, h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);

    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    assert_region_is(fx, 0x1000, 0xF000, bl, bl_len);
    assert_unchanged_outside(fx, 0x1000, 0xF000, 0x110000, 0x100000, 0x210000, 0x100000);
    free(app);
    free(bl);
}

/* The reference embedded example: a merged image (bootloader at 0, app at
 * 0xF000) inside the running factory app at 0x14294, copied to 0x1000. */
static void test_reference_embedded_scenario(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_embedded_example-partitions.csv");
    size_t app_len, bl_len;
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    uint8_t *bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &bl_len);
    const uint32_t merged_len = 0x10F000, at = 0x14294;
    assert_int_equal(0xF000 + app_len, merged_len);
    uint8_t *merged = malloc(merged_len);
    memset(merged, 0xFF, merged_len);
    memcpy(merged, bl, bl_len);
    memcpy(merged + 0xF000, app, app_len);
    /* the linker's job: the image is part of the running app */
    uint8_t *d = nor_sim_data(fx->dev.sim);
    memcpy(d + at, merged, merged_len);
    memcpy(fx->before + at, merged, merged_len);

    esp_self_reflasher_config_t cfg = { .src_region = { .region_address = at, .region_size = merged_len },
                                        .src_bin_size = merged_len,
                                        .dest_region = { .region_address = 0x1000, .region_size = 0x110000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(rf_device_get_platform(&fx->dev), &cfg), ESP_OK);
    assert_memory_equal(d + 0x1000, merged, merged_len);
    assert_region_is(fx, 0x1000, 0x110000, merged, merged_len);
    /* declared areas: the destination, the backup of the running app in
     * ota_0 (0x210000..0x390000) that kept the old system bootable, the journal */
    assert_unchanged_outside(fx, 0x1000, 0x110000, 0x210000, 0x180000, 0, 0);
    /* the backup holds the running app as it was, embedded image included */
    assert_memory_equal(nor_sim_data(fx->dev.sim) + 0x210000 + (at - 0x10000), merged, merged_len);
    free(merged);
    free(app);
    free(bl);
}

/* The seed entry points without _with use the bound default platform. */
static void test_default_platform_binding(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_embedded_example-partitions.csv");
    uint8_t img[5000];
    memset(img, 0x42, sizeof img);
    memcpy(nor_sim_data(fx->dev.sim) + 0x300000, img, sizeof img);
    esp_self_reflasher_config_t cfg = { .src_region = { .region_address = 0x300000, .region_size = sizeof img },
                                        .dest_region = { .region_address = 0x380000, .region_size = 0x2000 } };
    rf_device_bind_default(NULL);
    assert_int_equal(esp_self_reflasher_directly_copy_to_region(&cfg), ESP_ERR_INVALID_STATE);
    rf_device_bind_default(&fx->dev);
    assert_int_equal(esp_self_reflasher_directly_copy_to_region(&cfg), ESP_OK);
    rf_device_bind_default(NULL);
    assert_memory_equal(nor_sim_data(fx->dev.sim) + 0x380000, img, sizeof img);
}

/* ---- bad inputs: a clear error and the whole flash unchanged ------------ */

/* A local port with no listener (bound, read, closed). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static esp_err_t try_download(fx_t *fx, const char *path, const esp_partition_t *target, uint32_t dest,
                              uint32_t size)
{
    char url[512];
    if (strncmp(path, "http", 4) == 0) {
        snprintf(url, sizeof url, "%s", path);
    } else {
        ths_url(&fx->srv, path, url, sizeof url);
    }
    return tl_seed_download(rf_device_get_platform(&fx->dev), url, target, NULL, dest, size, 3000);
}

static void test_null_arguments(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    esp_self_reflasher_handle_t h = (esp_self_reflasher_handle_t)0x1;
    esp_self_reflasher_config_t cfg = { .dest_region = { 0x110000, 0x100000 } };
    assert_int_equal(esp_self_reflasher_init_with(pf, NULL, &h), ESP_ERR_INVALID_ARG);
    assert_null(h);
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg, &h), ESP_ERR_INVALID_ARG); /* no http_config */
    assert_null(h);
    esp_http_client_config_t http = { .url = NULL };
    cfg.http_config = &http;
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg, &h), ESP_ERR_INVALID_ARG); /* no url */
    assert_int_equal(esp_self_reflasher_download_bin(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_copy_to_region(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_upd_next_config(NULL, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_upd_next_config(&cfg, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, NULL), ESP_ERR_INVALID_ARG);
    esp_self_reflasher_deinit(NULL);
    /* a key that cannot be loaded is refused before anything happens */
    static const uint8_t junk[] = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
    esp_self_reflasher_verify_t bad_key = { .pubkey = junk, .pubkey_len = sizeof junk };
    esp_http_client_config_t http2 = { .url = "http://127.0.0.1:9/x.bin" };
    esp_self_reflasher_config_t kc = { .http_config = &http2, .verify = &bad_key, .dest_region = { 0x110000, 0x100000 } };
    assert_int_equal(esp_self_reflasher_init_with(pf, &kc, &h), ESP_ERR_INVALID_ARG);
    esp_self_reflasher_config_t ke = { .src_region = { 0x14294, 0x1000 }, .verify = &bad_key,
                                       .dest_region = { 0x300000, 0x1000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &ke), ESP_ERR_INVALID_ARG);
    assert_flash_unchanged(fx);
}

static void test_staging_overlaps_destination(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    esp_partition_t ota1 = { .type = ESP_PARTITION_TYPE_APP, .subtype = ESP_PARTITION_SUBTYPE_APP_OTA_1,
                             .address = 0x210000, .size = 0x100000, .label = "ota_1" };
    /* staging contains the destination: the reference's end-point check misses this */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", &ota1, 0x220000, 0x10000), ESP_ERR_INVALID_ARG);
    /* destination contains staging */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", &ota1, 0x200000, 0x200000), ESP_ERR_INVALID_ARG);
    /* partial overlap at the start */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", &ota1, 0x200000, 0x11000), ESP_ERR_INVALID_ARG);
    assert_flash_unchanged(fx);
    /* touching is fine: destination ends where staging starts */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", &ota1, 0x200000, 0x10000), ESP_OK);
}

static void test_destination_overlaps_running(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", NULL, 0x10000, 0x10000), ESP_ERR_INVALID_ARG);
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", NULL, 0x0, 0x20000), ESP_ERR_INVALID_ARG);
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", NULL, 0x100000, 0x20000), ESP_ERR_INVALID_ARG);
    /* misaligned and out-of-flash destinations */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", NULL, 0x110800, 0x10000), ESP_ERR_INVALID_ARG);
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", NULL, 0x3F0000, 0x20000), ESP_ERR_INVALID_ARG);
    assert_flash_unchanged(fx);
}

static void test_image_larger_than_staging_or_destination(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    esp_partition_t small = { .type = ESP_PARTITION_TYPE_APP, .subtype = ESP_PARTITION_SUBTYPE_APP_OTA_1,
                              .address = 0x210000, .size = 0x4000, .label = "small" };
    /* 27,376 bytes into a 16 KiB staging partition */
    assert_int_equal(try_download(fx, "/mcuboot-esp32.bin", &small, 0x110000, 0x100000), ESP_ERR_INVALID_SIZE);
    /* 1 MiB into a 64 KiB destination */
    assert_int_equal(try_download(fx, "/app_upd.bin", NULL, 0x110000, 0x10000), ESP_ERR_INVALID_SIZE);
    assert_int_equal(nor_sim_counters(fx->dev.sim)->bytes_erased, 0);
    assert_flash_unchanged(fx);
}

static void test_http_failures_change_nothing(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    assert_int_equal(try_download(fx, "/no-such-file.bin", NULL, 0x110000, 0x100000), ESP_ERR_NOT_FOUND);
    assert_int_equal(try_download(fx, "/app_upd.bin?status=404", NULL, 0x110000, 0x100000), ESP_ERR_NOT_FOUND);
    assert_int_equal(try_download(fx, "/app_upd.bin?status=500", NULL, 0x110000, 0x100000), ESP_ERR_INVALID_RESPONSE);
    /* the server sends half the image, then closes: nothing but the staging
     * partition (the part kept for a resume) and the journal changed */
    assert_int_equal(try_download(fx, "/app_upd.bin?close_at=524288", NULL, 0x110000, 0x100000),
                     ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_true(nor_sim_counters(fx->dev.sim)->bytes_programmed > 0);
    assert_unchanged_outside(fx, 0x210000, 0x100000, 0, 0, 0, 0);
    memcpy(fx->before, nor_sim_data(fx->dev.sim), FLASH_4MB);
    /* a port nobody listens on */
    int port = free_port();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/app_upd.bin", port);
    assert_int_equal(try_download(fx, url, NULL, 0x110000, 0x100000), ESP_ERR_HTTP_CONNECT);
    assert_flash_unchanged(fx);
}

/* Resume over HTTP: the server resets the connection at several offsets;
 * each retry of the same URL asks only for what is missing (Range), and the
 * server's own count stays below 1.1 x the image. */
static void test_resume_after_connection_resets(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    size_t app_len;
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    /* close_at counts the bytes of each response, so each reset lands further in */
    static const char *resets[] = { "close_at=150000", "close_at=300000", "close_at=200000" };
    esp_err_t err = ESP_FAIL;
    for (size_t i = 0; i <= sizeof resets / sizeof resets[0]; i++) {
        if (i < sizeof resets / sizeof resets[0]) {
            assert_int_equal(ths_fault_once(&fx->srv, "/app_upd.bin", resets[i]), 0);
        }
        err = try_download(fx, "/app_upd.bin", NULL, 0x110000, 0x100000);
        if (i < sizeof resets / sizeof resets[0]) {
            assert_int_equal(err, ESP_ERR_HTTP_INCOMPLETE_DATA);
        }
    }
    assert_int_equal(err, ESP_OK);
    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    long sent = ths_bytes_sent(&fx->srv, "/app_upd.bin");
    print_message("server sent %ld bytes for a %zu-byte image over 4 attempts\n", sent, app_len);
    assert_true(sent > 0);
    assert_true((double)sent < 1.1 * (double)app_len);
    /* a rerun of a finished step downloads nothing and writes nothing */
    nor_sim_reset_counters(fx->dev.sim);
    assert_int_equal(ths_reset(&fx->srv), 0);
    assert_int_equal(try_download(fx, "/app_upd.bin", NULL, 0x110000, 0x100000), ESP_OK);
    assert_int_equal(ths_bytes_sent(&fx->srv, "/app_upd.bin"), 0);
    assert_int_equal(nor_sim_counters(fx->dev.sim)->bytes_erased, 0);
    assert_true(nor_sim_counters(fx->dev.sim)->bytes_programmed <= 2 * 128);   /* journal records only */
    free(app);
}

/* A changed image (other length) between attempts restarts cleanly. */
static void test_resume_with_changed_image_restarts(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", fx->dir);
    assert_int_equal(mkdir(www, 0755), 0);
    uint8_t *a = NULL, *b = NULL;
    rf_mcuboot_gen_t ga = { .payload_size = 400000, .seed = 1, .slot_size = 0x100000, .trailer_perm = true };
    rf_mcuboot_gen_t gb = { .payload_size = 300000, .seed = 2 };
    size_t la = rf_gen_mcuboot_image(&ga, &a), lb = rf_gen_mcuboot_image(&gb, &b);
    snprintf(path, sizeof path, "%s/img.bin", www);
    write_file(path, a, la);
    assert_int_equal(ths_start(www, NULL, &fx->srv), 0);
    fx->srv_up = true;
    assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "close_at=200000"), 0);
    assert_int_equal(try_download(fx, "/img.bin", NULL, 0x110000, 0x100000), ESP_ERR_HTTP_INCOMPLETE_DATA);
    write_file(path, b, lb);   /* the server now has another image */
    assert_int_equal(try_download(fx, "/img.bin", NULL, 0x110000, 0x100000), ESP_OK);
    assert_region_is(fx, 0x110000, 0x100000, b, lb);
    free(a);
    free(b);
}

/* The reference download scenario over HTTPS: the server's certificate is
 * given as esp_http_client_config_t.cert_pem, as on a device; a client
 * without it refuses the server before anything is written. */
static void test_https_download(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    char cert[400], key[400], cmd[1400], args[1000];
    snprintf(cert, sizeof cert, "%s/cert.pem", fx->dir);
    snprintf(key, sizeof key, "%s/key.pem", fx->dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' -out '%s' "
             "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", key, cert);
    if (system(cmd) != 0) {
        print_message("openssl cannot make a test certificate: skipping\n");
        skip();
    }
    snprintf(args, sizeof args, "--tls-cert %s --tls-key %s", cert, key);
    start_server(fx, args);
    size_t pem_len = 0, app_len = 0;
    char *raw = (char *)tl_read_file(cert, &pem_len);
    assert_non_null(raw);
    char *pem = calloc(1, pem_len + 1);   /* PEM text with its NUL, as ESP-IDF expects */
    memcpy(pem, raw, pem_len);
    free(raw);
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    char url[256];
    ths_url(&fx->srv, "/app_upd.bin", url, sizeof url);
    assert_memory_equal(url, "https://", 8);
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);

    esp_http_client_config_t untrusted = { .url = url, .timeout_ms = 5000 };
    esp_self_reflasher_config_t cu = { .http_config = &untrusted, .dest_region = { 0x110000, 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(pf, &cu, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_ERR_HTTP_CONNECT);
    esp_self_reflasher_deinit(h);
    assert_flash_unchanged(fx);

    esp_http_client_config_t trusted = { .url = url, .cert_pem = pem, .cert_len = pem_len + 1, .timeout_ms = 5000 };
    esp_self_reflasher_config_t ct = { .http_config = &trusted, .dest_region = { 0x110000, 0x100000 } };
    assert_int_equal(esp_self_reflasher_init_with(pf, &ct, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    free(pem);
    free(app);
}

/* upd_next_config refusing a configuration keeps the handle usable. */
/* Fail closed: after any refused call the handle takes no download or copy
 * (ESP_ERR_INVALID_STATE, nothing written) until a valid configuration is
 * set; a caller that ignores return values (as the reference's example
 * does) never gets a success for a step it did not ask for. */
static void test_failed_calls_fail_closed(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    start_server(fx, NULL);
    char url[256], missing[256];
    ths_url(&fx->srv, "/app_upd.bin", url, sizeof url);
    ths_url(&fx->srv, "/no_such_file.bin", missing, sizeof missing);
    esp_http_client_config_t http = { .url = url }, http404 = { .url = missing };
    esp_self_reflasher_config_t cfg = { .http_config = &http, .dest_region = { 0x110000, 0x100000 } };
    esp_self_reflasher_config_t bad = { .http_config = &http, .dest_region = { 0x10000, 0x1000 } };
    esp_self_reflasher_config_t gone = { .http_config = &http404, .dest_region = { 0x110000, 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(rf_device_get_platform(&fx->dev), &cfg, &h), ESP_OK);
    /* a refused configuration: the previous one is NOT downloaded by mistake */
    assert_int_equal(esp_self_reflasher_upd_next_config(&bad, h), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_ERR_INVALID_STATE);
    assert_flash_unchanged(fx);
    /* a failed download: no copy, no second download until a configuration */
    assert_int_equal(esp_self_reflasher_upd_next_config(&gone, h), ESP_OK);
    assert_int_not_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_ERR_INVALID_STATE);
    assert_unchanged_outside(fx, 0, 0, 0, 0, 0, 0);   /* only the journal may note the failure */
    /* a valid configuration reopens the handle */
    assert_int_equal(esp_self_reflasher_upd_next_config(&cfg, h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    size_t app_len;
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    free(app);
}

/* ---- verify before destroy: every check refuses before any write -------- */

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* Serve a directory of mutated fixtures; each must be refused with `want`,
 * and the whole flash must stay as it was (the staged copy is erased again). */
static void expect_refused(fx_t *fx, const char *name, const esp_self_reflasher_verify_t *v, uint32_t dest,
                           uint32_t size, esp_err_t want)
{
    char url[512];
    ths_url(&fx->srv, name, url, sizeof url);
    esp_http_client_config_t http = { .url = url };
    esp_self_reflasher_config_t cfg = { .http_config = &http, .verify = v,
                                        .dest_region = { .region_address = dest, .region_size = size } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(rf_device_get_platform(&fx->dev), &cfg, &h), ESP_OK);
    esp_err_t err = esp_self_reflasher_download_bin(h);
    if (err != want) {
        fail_msg("%s: got %s, want %s", name, esp_err_to_name(err), esp_err_to_name(want));
    }
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_ERR_INVALID_STATE);
    esp_self_reflasher_deinit(h);
    assert_unchanged_outside(fx, 0, 0, 0, 0, 0, 0);   /* the journal notes the refusal; nothing else */
}

static void test_verification_refuses_bad_images(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    size_t bl_len, app_len;
    uint8_t *bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &bl_len);
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", fx->dir);
    assert_int_equal(mkdir(www, 0755), 0);
    /* ESP bootloader: one flipped byte in each segment (data at 32, 6216,
     * 19536 per FACTS.md), in the checksum byte, in the appended hash; the
     * chip id changed; the file truncated. */
    static const struct { const char *name; uint32_t off; uint8_t xor_; } bl_cases[] = {
        { "bl_seg0.bin", 32 + 100, 0x01 }, { "bl_seg1.bin", 6216 + 100, 0x80 }, { "bl_seg2.bin", 19536 + 7000, 0x10 },
        { "bl_checksum.bin", 27343, 0xFF }, { "bl_hash.bin", 27344 + 5, 0x01 }, { "bl_chip.bin", 12, 0x09 },
    };
    for (size_t i = 0; i < sizeof bl_cases / sizeof bl_cases[0]; i++) {
        bl[bl_cases[i].off] ^= bl_cases[i].xor_;
        snprintf(path, sizeof path, "%s/%s", www, bl_cases[i].name);
        write_file(path, bl, bl_len);
        bl[bl_cases[i].off] ^= bl_cases[i].xor_;
    }
    snprintf(path, sizeof path, "%s/bl_truncated.bin", www);
    write_file(path, bl, 20000);
    /* MCUboot app: a flipped byte in the image, in the TLV area, in the trailer magic */
    static const struct { const char *name; uint32_t off; } app_cases[] = {
        { "app_body.bin", 0x1000 }, { "app_tlv.bin", 0x24980 }, { "app_trailer.bin", 0xFFFF3 },
    };
    for (size_t i = 0; i < sizeof app_cases / sizeof app_cases[0]; i++) {
        app[app_cases[i].off] ^= 0x04;
        snprintf(path, sizeof path, "%s/%s", www, app_cases[i].name);
        write_file(path, app, app_len);
        app[app_cases[i].off] ^= 0x04;
    }
    /* an unpadded MCUboot image whose TLVs fit the region but its trailer does not */
    snprintf(path, sizeof path, "%s/app_nopad.bin", www);
    write_file(path, app, 0x24994);
    snprintf(path, sizeof path, "%s/app.bin", www);
    write_file(path, app, app_len);
    snprintf(path, sizeof path, "%s/bl.bin", www);
    write_file(path, bl, bl_len);
    uint8_t *small = NULL;
    rf_mcuboot_gen_t g = { .payload_size = 20000, .seed = 7 };
    size_t small_len = rf_gen_mcuboot_image(&g, &small);
    assert_true(small_len > 0);
    snprintf(path, sizeof path, "%s/small_mcuboot.bin", www);
    write_file(path, small, small_len);
    free(small);
    assert_int_equal(ths_start(www, NULL, &fx->srv), 0);
    fx->srv_up = true;

    for (size_t i = 0; i < sizeof bl_cases / sizeof bl_cases[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "/%s", bl_cases[i].name);
        expect_refused(fx, n, NULL, 0x1000, 0xF000, ESP_ERR_IMAGE_INVALID);
    }
    expect_refused(fx, "/bl_truncated.bin", NULL, 0x1000, 0xF000, ESP_ERR_IMAGE_INVALID);
    for (size_t i = 0; i < sizeof app_cases / sizeof app_cases[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "/%s", app_cases[i].name);
        expect_refused(fx, n, NULL, 0x110000, 0x100000, ESP_ERR_IMAGE_INVALID);
    }
    expect_refused(fx, "/app_nopad.bin", NULL, 0x110000, 0x249A0, ESP_ERR_IMAGE_INVALID);
    /* the right images for the wrong destination kind */
    expect_refused(fx, "/small_mcuboot.bin", NULL, 0x1000, 0xF000, ESP_ERR_IMAGE_INVALID);
    expect_refused(fx, "/bl.bin", NULL, 0x110000, 0x100000, ESP_ERR_IMAGE_INVALID);
    /* a wrong expected digest */
    uint8_t wrong[32] = { 0x42 };
    esp_self_reflasher_verify_t v = { .sha256 = wrong };
    expect_refused(fx, "/bl.bin", &v, 0x1000, 0xF000, ESP_ERR_INVALID_CRC);
    /* declared kind that does not match */
    esp_self_reflasher_verify_t vk = { .kind = ESP_SELF_REFLASHER_IMAGE_MCUBOOT };
    expect_refused(fx, "/bl.bin", &vk, 0x300000, 0x10000, ESP_ERR_IMAGE_INVALID);
    /* the intact bootloader alone: MCUboot would find no image in either
     * slot of this device, so the end state is refused before any write */
    uint8_t good[32];
    rf_sha256(bl, bl_len, good);
    esp_self_reflasher_verify_t vg = { .sha256 = good };
    expect_refused(fx, "/bl.bin", &vg, 0x1000, 0xF000, ESP_ERR_IMAGE_INVALID);
    /* with the new app in the secondary slot first, the same bootloader passes */
    char url[512];
    ths_url(&fx->srv, "/app.bin", url, sizeof url);
    esp_http_client_config_t http = { .url = url };
    esp_self_reflasher_config_t cfg = { .http_config = &http, .dest_region = { 0x110000, 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(rf_device_get_platform(&fx->dev), &cfg, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    /* the next step on the same handle keeps its staging partition (ota_1),
     * as the reference's example does: ota_0 holds the new app now */
    ths_url(&fx->srv, "/bl.bin", url, sizeof url);
    cfg.verify = &vg;
    cfg.dest_region = (addr_region_t){ 0x1000, 0xF000 };
    assert_int_equal(esp_self_reflasher_upd_next_config(&cfg, h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    assert_region_is(fx, 0x1000, 0xF000, bl, bl_len);
    free(bl);
    free(app);
}

/* Turning the checks off is explicit: the same bad image then goes through. */
typedef struct {
    int warnings_off;   /* warnings that say the checks are turned off */
} logcap_t;

static void capture_log(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    (void)tag;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    if (level == RF_LOG_WARN && strstr(line, "turned OFF") != NULL) {
        ((logcap_t *)arg)->warnings_off++;
    }
}

/* A device holding a real boot chain (ESP-IDF bootloader, table, factory
 * app: rf_device_write_old_system), so the boot model can say which apps
 * the old system boots and tries. */
static void make_old_system(fx_t *fx)
{
    make_device(fx, "seeds/boot_swap_download_example-partitions.csv");
    char err[256] = "";
    assert_int_equal(rf_device_write_old_system(&fx->dev, NULL, NULL, err, sizeof err), ESP_OK);
    memcpy(fx->before, nor_sim_data(fx->dev.sim), FLASH_4MB);
}

/* Issue 11 item 3: ota_0 is a spare app partition the old system neither
 * runs, boots nor tries: the download goes straight there (ota_1, the
 * staging partition otherwise, is never written) and is verified in place.
 * With otadata selecting ota_0 (the old bootloader tries it first) the same
 * step stages in ota_1 as before. A refused image written directly is
 * erased again. */
static void test_direct_download_off_boot_path(void **state)
{
    fx_t *fx = *state;
    make_old_system(fx);
    size_t app_len;
    uint8_t *app = tl_read_shared("fixtures/app_upd.bin", &app_len);
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", fx->dir);
    assert_int_equal(mkdir(www, 0755), 0);
    snprintf(path, sizeof path, "%s/app.bin", www);
    write_file(path, app, app_len);
    app[0x1000] ^= 0x04;   /* one flipped byte in the image: its SHA-256 TLV fails */
    snprintf(path, sizeof path, "%s/bad.bin", www);
    write_file(path, app, app_len);
    app[0x1000] ^= 0x04;
    uint8_t *small = NULL;
    rf_mcuboot_gen_t g = { .payload_size = 20000, .seed = 7 };
    size_t small_len = rf_gen_mcuboot_image(&g, &small);
    assert_true(small_len > 0 && small_len % 0x1000 != 0);
    snprintf(path, sizeof path, "%s/small.bin", www);
    write_file(path, small, small_len);
    size_t bl_len;
    uint8_t *bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &bl_len);
    snprintf(path, sizeof path, "%s/bl.bin", www);
    write_file(path, bl, bl_len);
    free(bl);
    assert_int_equal(ths_start(www, NULL, &fx->srv), 0);
    fx->srv_up = true;
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    char url[256], bad[256], url_small[256];
    ths_url(&fx->srv, "/app.bin", url, sizeof url);
    ths_url(&fx->srv, "/bad.bin", bad, sizeof bad);
    ths_url(&fx->srv, "/small.bin", url_small, sizeof url_small);
    char url_bl[256];
    ths_url(&fx->srv, "/bl.bin", url_bl, sizeof url_bl);
    esp_http_client_config_t http_small = { .url = url_small };
    esp_self_reflasher_config_t cfg_small = { .http_config = &http_small,
                                              .dest_region = { .region_address = 0x110000, .region_size = 0x100000 } };

    /* refused: the destination is blank again, nothing else changed */
    esp_http_client_config_t http_bad = { .url = bad };
    esp_self_reflasher_config_t cfg_bad = { .http_config = &http_bad,
                                            .dest_region = { .region_address = 0x110000, .region_size = 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg_bad, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_ERR_IMAGE_INVALID);
    esp_self_reflasher_deinit(h);
    assert_unchanged_outside(fx, 0, 0, 0, 0, 0, 0);

    /* direct: after the download the image is at its destination and ota_1 untouched */
    esp_http_client_config_t http = { .url = url };
    esp_self_reflasher_config_t cfg = { .http_config = &http,
                                        .dest_region = { .region_address = 0x110000, .region_size = 0x100000 } };
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->dev.sim) + 0x110000, app, app_len);
    assert_unchanged_outside(fx, 0x110000, 0x100000, 0, 0, 0, 0);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    assert_unchanged_outside(fx, 0x110000, 0x100000, 0, 0, 0, 0);

    /* The direct image changed after its copy (another writer; the copy
     * did not hash it again): the step that makes it reachable, MCUboot at
     * 0x1000, reads it from the flash, finds no image to boot and is
     * refused before anything is written. */
    uint8_t *d = nor_sim_data(fx->dev.sim);
    d[0x110000 + 0x1000] ^= 0x04;
    memcpy(fx->before, d, FLASH_4MB);
    esp_http_client_config_t http_bl = { .url = url_bl };
    esp_self_reflasher_config_t cfg_bl = { .http_config = &http_bl,
                                           .dest_region = { .region_address = 0x1000, .region_size = 0xF000 } };
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg_bl, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_ERR_IMAGE_INVALID);
    esp_self_reflasher_deinit(h);
    assert_unchanged_outside(fx, 0, 0, 0, 0, 0, 0);
    d[0x110000 + 0x1000] ^= 0x04;

    /* a small image over old bytes: the rest of the region ends blank */
    for (uint32_t a = 0x110000; a < 0x210000; a++) {
        d[a] = (uint8_t)(a * 5 + 1);
    }
    memcpy(fx->before, d, FLASH_4MB);
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg_small, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_unchanged_outside(fx, 0x110000, 0x100000, 0, 0, 0, 0);
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    assert_region_is(fx, 0x110000, 0x100000, small, small_len);
    assert_unchanged_outside(fx, 0x110000, 0x100000, 0, 0, 0, 0);

    /* on the boot path (otadata selects ota_0): staged in ota_1 */
    memcpy(d, fx->before, FLASH_4MB);
    rf_otadata_entry_encode(1, RF_OTA_IMG_UNDEFINED, d + 0xD000);   /* sequence 1: ota_0 */
    memcpy(fx->before, d, FLASH_4MB);
    assert_int_equal(esp_self_reflasher_init_with(pf, &cfg, &h), ESP_OK);
    assert_int_equal(esp_self_reflasher_download_bin(h), ESP_OK);
    assert_memory_equal(d + 0x210000, app, app_len);
    assert_memory_equal(d + 0x110000, fx->before + 0x110000, 0x100000);   /* nothing there before the copy */
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_OK);
    esp_self_reflasher_deinit(h);
    assert_region_is(fx, 0x110000, 0x100000, app, app_len);
    free(app);
    free(small);
}

static void test_verification_opt_out(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_embedded_example-partitions.csv");
    size_t bl_len;
    uint8_t *bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &bl_len);
    bl[12] = 0x09; /* ESP32-S3 chip id on an ESP32 */
    memcpy(nor_sim_data(fx->dev.sim) + 0x14294, bl, bl_len);
    memcpy(fx->before + 0x14294, bl, bl_len);
    esp_self_reflasher_config_t cfg = { .src_region = { 0x14294, (uint32_t)bl_len }, .dest_region = { 0x1000, 0xF000 } };
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &cfg), ESP_ERR_IMAGE_INVALID);
    assert_flash_unchanged(fx);
    esp_self_reflasher_verify_t off = { .skip_content_checks = true };
    cfg.verify = &off;
    /* the opt-out is logged as a warning, every time (invariant 11) */
    logcap_t cap = { 0 };
    esp_self_reflasher_platform_t logged = *pf;
    logged.log = (rf_log_t){ .fn = capture_log, .arg = &cap };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(&logged, &cfg), ESP_OK);
    assert_int_equal(cap.warnings_off, 1);
    assert_region_is(fx, 0x1000, 0xF000, bl, bl_len);
    free(bl);
}

static void test_embedded_bad_inputs(void **state)
{
    fx_t *fx = *state;
    make_device(fx, "seeds/boot_swap_embedded_example-partitions.csv");
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    esp_self_reflasher_config_t c1 = { .src_region = { 0x14294, 0x1000 }, .dest_region = { 0x1800, 0x2000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &c1), ESP_ERR_INVALID_ARG); /* unaligned */
    esp_self_reflasher_config_t c2 = { .src_region = { 0x14294, 0x3000 }, .dest_region = { 0x1000, 0x2000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &c2), ESP_ERR_INVALID_SIZE); /* too big */
    esp_self_reflasher_config_t c3 = { .src_region = { 0x3FF000, 0x2000 }, .dest_region = { 0x1000, 0x2000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &c3), ESP_ERR_INVALID_ARG); /* outside */
    esp_self_reflasher_config_t c4 = { .src_region = { 0x14294, 0x1000 }, .src_bin_size = 0x1001,
                                       .dest_region = { 0x1000, 0x2000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &c4), ESP_ERR_INVALID_SIZE);
    esp_self_reflasher_config_t c5 = { .src_region = { 0x14294, 0 }, .dest_region = { 0x1000, 0x2000 } };
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &c5), ESP_ERR_INVALID_ARG); /* empty */
    assert_flash_unchanged(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reference_download_scenario, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_reference_embedded_scenario, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_default_platform_binding, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_staging_overlaps_destination, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_destination_overlaps_running, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_image_larger_than_staging_or_destination, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_http_failures_change_nothing, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_failed_calls_fail_closed, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_connection_resets, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_https_download, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_resume_with_changed_image_restarts, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_embedded_bad_inputs, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_verification_refuses_bad_images, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_verification_opt_out, setup_download, teardown),
        cmocka_unit_test_setup_teardown(test_direct_download_off_boot_path, setup_download, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
