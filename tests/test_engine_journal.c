/*
 * The journal is a hint, never proof (engine rule: staged or backed-up bytes
 * are verified again before every copy), and a refused download leaves
 * nothing behind. Hostile journal records with valid CRCs are written on an
 * old-system device (download example layout) before the seed API runs;
 * whatever they claim, the destinations end up holding the real images (or
 * nothing changes), never bytes that were not verified. Reads ../shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "http_server.h"
#include "rf_boot.h"
#include "rf_crypto.h"
#include "rf_device.h"
#include "rf_journal.h"
#include "rf_oldsys.h"
#include "self_reflasher_platform.h"
#include "testlib.h"

#define FLASH_4MB (4u << 20)
#define JOURNAL_AT (FLASH_4MB - 2 * 0x1000u)

typedef struct {
    char dir[256], img[300], www[300];
    rf_device_t dev;
    ths_t srv;
    bool srv_up;
    uint8_t *app, *bl;
    size_t app_len, bl_len;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    *state = fx;
    if (tl_shared_dir() == NULL) {
        return 0;
    }
    snprintf(fx->dir, sizeof fx->dir, "%s", tl_tmpdir());
    snprintf(fx->img, sizeof fx->img, "%s/dev.img", fx->dir);
    snprintf(fx->www, sizeof fx->www, "%s/www", fx->dir);
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = FLASH_4MB,
                              .partitions_csv = tl_shared_path("seeds/boot_swap_download_example-partitions.csv"),
                              .running = "factory" };
    char err[256];
    if (rf_device_create(fx->img, &spec, err, sizeof err) != ESP_OK ||
        rf_device_open(fx->img, &fx->dev, err, sizeof err) != ESP_OK) {
        return -1;
    }
    fx->dev.quiet = getenv("RF_VERBOSE") == NULL;
    rf_oldsys_result_t res;
    if (rf_device_write_old_system(&fx->dev, NULL, &res, err, sizeof err) != ESP_OK) {
        return -1;
    }
    fx->app = tl_read_file(tl_shared_path("fixtures/app_upd.bin"), &fx->app_len);
    fx->bl = tl_read_file(tl_shared_path("fixtures/mcuboot-esp32.bin"), &fx->bl_len);
    mkdir(fx->www, 0755);
    char p[400];
    FILE *f;
    snprintf(p, sizeof p, "%s/app_upd.bin", fx->www);
    f = fopen(p, "wb");
    fwrite(fx->app, 1, fx->app_len, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/mcuboot-esp32.bin", fx->www);
    f = fopen(p, "wb");
    fwrite(fx->bl, 1, fx->bl_len, f);
    fclose(f);
    /* an endless body: 3 MiB served chunked (no length) */
    snprintf(p, sizeof p, "%s/endless.bin", fx->www);
    f = fopen(p, "wb");
    for (int i = 0; i < 3 * 1024; i++) {
        uint8_t k[1024];
        memset(k, 0x5A, sizeof k);
        fwrite(k, 1, sizeof k, f);
    }
    fclose(f);
    if (ths_start(fx->www, NULL, &fx->srv) != 0) {
        return -1;
    }
    fx->srv_up = true;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv_up) {
        ths_stop(&fx->srv);
    }
    rf_device_close(&fx->dev);   /* NULL-safe: setup may have stopped before opening it */
    free(fx->app);
    free(fx->bl);
    free(fx);
    return 0;
}

/* The seed API's step id (src/self_reflasher.c): SHA-256 of the URL and four
 * little-endian words, first 16 bytes. */
static void step_id(const char *url, uint32_t a, uint32_t b, uint8_t id[RF_JOURNAL_ID_LEN])
{
    uint8_t buf[2048 + 16], d[32];
    size_t n = strlen(url);
    memcpy(buf, url, n);
    memset(buf + n, 0, 16);
    rf_put_le32(buf + n, a);
    rf_put_le32(buf + n + 4, b);
    rf_sha256(buf, n + 16, d);
    memcpy(id, d, RF_JOURNAL_ID_LEN);
}

static void forge(fx_t *fx, const rf_journal_rec_t *r)
{
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    rf_journal_t j;
    uint8_t scratch[4096];
    assert_int_equal(rf_journal_open(&j, pf->flash, JOURNAL_AT, scratch, sizeof scratch), ESP_OK);
    assert_int_equal(rf_journal_append(&j, r), ESP_OK);
}

static int run_step(fx_t *fx, const char *name, uint32_t dest, uint32_t size, char *url_out, size_t n)
{
    ths_url(&fx->srv, name, url_out, n);
    return tl_seed_download(rf_device_get_platform(&fx->dev), url_out, NULL, NULL, dest, size, 10000);
}

static bool region_is(fx_t *fx, uint32_t at, uint32_t size, const uint8_t *img, size_t len)
{
    const uint8_t *f = nor_sim_data(fx->dev.sim) + at;
    return memcmp(f, img, len) == 0 && rf_is_blank(f + len, size - len);
}

/* Hostile records for the app step (dest 0x110000, staging ota_1 at
 * 0x210000, blank): each claims something untrue with a valid CRC. */
static void test_hostile_records_never_reach_a_destination(void **state)
{
    fx_t *fx = *state;
    if (tl_shared_dir() == NULL) {
        skip();
    }
    char url[512];
    ths_url(&fx->srv, "/app_upd.bin", url, sizeof url);
    uint8_t blank_sha[32];
    uint8_t *ff = malloc(fx->app_len);
    memset(ff, 0xFF, fx->app_len);
    rf_sha256(ff, fx->app_len, blank_sha);
    free(ff);
    uint8_t real_sha[32];
    rf_sha256(fx->app, fx->app_len, real_sha);
    struct { const char *what; uint8_t state; uint32_t aux, total; const uint8_t *sha; uint32_t progress; } cases[] = {
        { "STAGED over blank staging", RF_JSTATE_STAGED, 0x210000, (uint32_t)fx->app_len, blank_sha, 0 },
        { "COPIED over blank staging", RF_JSTATE_COPIED, 0x210000, (uint32_t)fx->app_len, blank_sha, 0 },
        { "STAGED with the real digest, blank staging", RF_JSTATE_STAGED, 0x210000, (uint32_t)fx->app_len, real_sha, 0 },
        { "STAGING past the end", RF_JSTATE_STAGING, 0x210000, (uint32_t)fx->app_len, NULL, 0x7FFFF000u },
        { "STAGING unaligned", RF_JSTATE_STAGING, 0x210000, (uint32_t)fx->app_len, NULL, 0x12345 },
        { "STAGED at the bootloader", RF_JSTATE_STAGED, 0x1000, 0x6000, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rf_journal_rec_t r;
        memset(&r, 0, sizeof r);
        r.state = cases[i].state;
        step_id(url, 0x110000, 0x100000, r.id);
        r.total = cases[i].total;
        r.progress = cases[i].progress;
        if (cases[i].sha) {
            memcpy(r.sha256, cases[i].sha, 32);
        }
        r.aux_addr = cases[i].aux;
        r.aux_len = 0x100000;
        snprintf(r.validator, sizeof r.validator, "\"forged\"");
        /* blank the destination and staging, so only a real download fills them */
        memset(nor_sim_data(fx->dev.sim) + 0x110000, 0xFF, 0x200000);
        forge(fx, &r);
        char u[512];
        int rc = run_step(fx, "/app_upd.bin", 0x110000, 0x100000, u, sizeof u);
        if (rc != ESP_OK || !region_is(fx, 0x110000, 0x100000, fx->app, fx->app_len)) {
            fail_msg("%s: rc %s, destination %s", cases[i].what, esp_err_to_name(rc),
                     region_is(fx, 0x110000, 0x100000, fx->app, fx->app_len) ? "right" : "WRONG");
        }
        rf_boot_report_t rep;
        assert_int_equal(rf_boot_model_device(&fx->dev, NULL, &rep), RF_BOOT_OLD);
    }
    /* the case: a record pointing at blank staging for the bootloader
     * step; the app is in place, so the real MCUboot may go in; the
     * bootloader sectors end up holding it, never the blank bytes */
    uint8_t bl_blank[32];
    ff = malloc(fx->bl_len);
    memset(ff, 0xFF, fx->bl_len);
    rf_sha256(ff, fx->bl_len, bl_blank);
    free(ff);
    rf_journal_rec_t r;
    memset(&r, 0, sizeof r);
    r.state = RF_JSTATE_STAGED;
    ths_url(&fx->srv, "/mcuboot-esp32.bin", url, sizeof url);
    step_id(url, 0x1000, 0xF000, r.id);
    r.total = (uint32_t)fx->bl_len;
    memcpy(r.sha256, bl_blank, 32);
    r.aux_addr = 0x210000;
    r.aux_len = 0x100000;
    memset(nor_sim_data(fx->dev.sim) + 0x210000, 0xFF, 0x100000);
    forge(fx, &r);
    char u[512];
    assert_int_equal(run_step(fx, "/mcuboot-esp32.bin", 0x1000, 0xF000, u, sizeof u), ESP_OK);
    assert_true(region_is(fx, 0x1000, 0xF000, fx->bl, fx->bl_len));
    rf_boot_report_t rep;
    assert_int_equal(rf_boot_model_device(&fx->dev, NULL, &rep), RF_BOOT_NEW);
}

/* An endless body is refused (too long for the region) and erased again:
 * the whole flash but the journal's declared area is as before. */
static void test_endless_body_leaves_nothing(void **state)
{
    fx_t *fx = *state;
    if (tl_shared_dir() == NULL) {
        skip();
    }
    uint8_t *before = malloc(FLASH_4MB);
    memcpy(before, nor_sim_data(fx->dev.sim), FLASH_4MB);
    char u[512];
    int rc = run_step(fx, "/endless.bin?chunked=1", 0x320000, 0x80000, u, sizeof u);
    assert_int_equal(rc, ESP_ERR_INVALID_SIZE);
    const uint8_t *now = nor_sim_data(fx->dev.sim);
    for (uint32_t a = 0; a < JOURNAL_AT; a++) {
        if (now[a] != before[a]) {
            free(before);
            fail_msg("a refused endless body changed 0x%x", (unsigned)a);
        }
    }
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_records_never_reach_a_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endless_body_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
