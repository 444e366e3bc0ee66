/*
 * The rehearsal library (host/src/rf_rehearse.c) and the fault-injecting
 * source (host/src/rf_fault_source.c) used directly, without the CLI: the
 * migration is the seed API's download sequence, as a device runs it.
 *  - the fault wrapper over a file source: a reset, a stall and a 500 at
 *    exact offsets; a source whose name does not match is untouched;
 *  - a power-cut sweep of the reference's download migration on an ESP32
 *    with a real old system: the same window (ops 90-100, 245.8 ms) as
 *    `reflasher rehearse` measures, no BRICK outside it, every rerun NEW;
 *  - network faults in the source layer against the real HTTP test server.
 * Reads ../shared (seeds, fixtures): the tests skip without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_server.h"
#include "rf_device.h"
#include "rf_fault_source.h"
#include "rf_host_source.h"
#include "rf_oldsys.h"
#include "rf_rehearse.h"
#include "self_reflasher_platform.h"
#include "testlib.h"

/* Read a whole source; returns the error that ended it, *n the bytes read. */
static esp_err_t drain(rf_source_t *s, uint32_t offset, uint64_t *n)
{
    int64_t total = -1;
    uint8_t buf[4096];
    *n = 0;
    esp_err_t e = s->open(s->ctx, offset, &total);
    while (e == ESP_OK) {
        uint32_t got = 0;
        e = s->read(s->ctx, buf, sizeof buf, &got);
        if (e == ESP_OK && got == 0) {
            break;
        }
        *n += got;
    }
    s->close(s->ctx);
    return e;
}

static void free_host(void *ctx, rf_source_t *src)
{
    (void)ctx;
    rf_source_destroy(src);
}

static void check_fault(const char *path, rf_fault_kind_t kind, uint64_t at, const char *match, esp_err_t want,
                        uint64_t want_bytes, uint64_t want_delivered)
{
    rf_source_t inner, s;
    assert_int_equal(rf_source_url_new(path, NULL, &inner), ESP_OK);
    rf_fault_t f = { .kind = kind, .match = match, .at = at };
    assert_int_equal(rf_fault_source_wrap(&inner, NULL, &f, &s), ESP_OK);
    uint64_t n = 0;
    assert_int_equal(drain(&s, 0, &n), want);
    assert_int_equal(n, want_bytes);
    assert_int_equal(f.delivered, want_delivered);
    if (kind == RF_FAULT_RESET && match == NULL) {
        /* a resume within the same run meets the same reset */
        assert_int_equal(drain(&s, (uint32_t)at, &n), ESP_ERR_HTTP_INCOMPLETE_DATA);
        assert_int_equal(n, 0);
    }
    rf_fault_source_free(&s, free_host, NULL);
}

static void test_fault_source(void **state)
{
    (void)state;
    size_t len = 0;
    free(tl_read_shared("fixtures/mcuboot-esp32.bin", &len));
    const char *path = tl_shared_path("fixtures/mcuboot-esp32.bin");
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    check_fault(p, RF_FAULT_RESET, 1000, NULL, ESP_ERR_HTTP_INCOMPLETE_DATA, 1000, 1000);
    check_fault(p, RF_FAULT_STALL, 13688, NULL, ESP_ERR_TIMEOUT, 13688, 13688);
    check_fault(p, RF_FAULT_STATUS, 0, NULL, ESP_ERR_INVALID_RESPONSE, 0, 0);
    check_fault(p, RF_FAULT_NONE, 0, NULL, ESP_OK, len, len);                /* counts only */
    check_fault(p, RF_FAULT_RESET, 1000, "http://elsewhere/x.bin", ESP_OK, len, 0); /* not this source */
}

/* ---- the reference's download migration through the seed API ---- */

static void make_device(rf_device_t *dev)
{
    char img[1100], err[256] = "";
    snprintf(img, sizeof img, "%s/dev.img", tl_tmpdir());
    char csv[1024];
    snprintf(csv, sizeof csv, "%s", tl_shared_path("seeds/boot_swap_download_example-partitions.csv"));
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20, .partitions_csv = csv, .running = "factory" };
    assert_int_equal(rf_device_create(img, &spec, err, sizeof err), ESP_OK);
    rf_device_t f;
    assert_int_equal(rf_device_open(img, &f, err, sizeof err), ESP_OK);
    assert_int_equal(rf_device_write_old_system(&f, NULL, NULL, err, sizeof err), ESP_OK);
    assert_int_equal(rf_device_clone(&f, dev), ESP_OK);
    rf_device_close(&f);
    dev->quiet = true;
    dev->log_to_stderr = true;
}

static const rf_rehearse_region_t k_dest[] = { { 0x110000, 0x100000 }, { 0x1000, 0xF000 } };

static void test_sweep_through_seed_api(void **state)
{
    (void)state;
    size_t len = 0;
    free(tl_read_shared("fixtures/app_upd.bin", &len));
    char app[1024], bl[1024];
    snprintf(app, sizeof app, "%s", tl_shared_path("fixtures/app_upd.bin"));
    snprintf(bl, sizeof bl, "%s", tl_shared_path("fixtures/mcuboot-esp32.bin"));
    rf_rehearse_step_t steps[] = { { app, 0x110000, 0x100000 }, { bl, 0x1000, 0xF000 } };
    rf_rehearse_seed_steps_t m = { steps, 2, 5000 };
    rf_device_t dev;
    make_device(&dev);
    rf_rehearse_cfg_t cfg = { .run = rf_rehearse_run_seed_download, .run_arg = &m, .dest = k_dest, .ndest = 2, .sweep = true,
                              .stride = 1, .jobs = 2 };
    rf_rehearse_result_t res;
    assert_int_equal(rf_rehearse(&dev, &cfg, &res), ESP_OK);
    /* the figures `reflasher rehearse` prints for the same migration (DESIGN.md, Measured) */
    assert_true(res.ref_ok);
    /* 67 + the journal's two sectors erased at the end; the app goes
     * straight into ota_0 (a spare partition off the old boot path) */
    assert_int_equal(res.write_ops, 69);
    assert_int_equal(res.win_first, 59);
    assert_int_equal(res.win_last, 66);
    assert_true(res.win_ms > 141.4 && res.win_ms < 141.6);   /* one block erase, then the bootloader's pages */
    assert_int_equal(res.np, 69);
    assert_int_equal(res.brick_outside, 0);
    assert_int_equal(res.outcomes[RF_BOOT_BRICK], res.brick_inside);
    assert_true(res.outcomes[RF_BOOT_OLD] > 0 && res.outcomes[RF_BOOT_NEW] > 0 && res.outcomes[RF_BOOT_BRICK] > 0);
    assert_int_equal(res.rerun_ok, res.np);
    assert_int_equal(res.not_reached + res.mismatched + res.missing, 0);
    assert_true(res.ok);
    rf_rehearse_result_free(&res);
    rf_device_close(&dev);
}

static void test_net_faults_any_server(void **state)
{
    (void)state;
    size_t len = 0;
    free(tl_read_shared("fixtures/app_upd.bin", &len));
    ths_t srv;
    char root[1024];
    snprintf(root, sizeof root, "%s", tl_shared_path("fixtures"));
    assert_int_equal(ths_start(root, NULL, &srv), 0);
    char app[256], bl[256];
    ths_url(&srv, "/app_upd.bin", app, sizeof app);
    ths_url(&srv, "/mcuboot-esp32.bin", bl, sizeof bl);
    rf_rehearse_step_t steps[] = { { app, 0x110000, 0x100000 }, { bl, 0x1000, 0xF000 } };
    rf_rehearse_seed_steps_t m = { steps, 2, 5000 };
    const char *sources[] = { app, bl };
    rf_device_t dev;
    make_device(&dev);
    rf_rehearse_cfg_t cfg = { .run = rf_rehearse_run_seed_download, .run_arg = &m, .dest = k_dest, .ndest = 2, .sources = sources,
                              .nsources = 2, .net_faults = true, .jobs = 1 };
    rf_rehearse_result_t res;
    assert_int_equal(rf_rehearse(&dev, &cfg, &res), ESP_OK);
    assert_int_equal(res.nnf, 10);
    for (int i = 0; i < res.nnf; i++) {
        const rf_rehearse_netfault_t *f = &res.nf[i];
        assert_true(f->ok);
        assert_int_not_equal(f->after, RF_BOOT_BRICK);
        assert_int_equal(f->rerun, RF_BOOT_NEW);
        assert_int_equal(f->served, f->kind == RF_FAULT_STATUS ? 0 : (long long)f->at);
        assert_int_equal(f->err, f->kind == RF_FAULT_RESET    ? ESP_ERR_HTTP_INCOMPLETE_DATA
                                 : f->kind == RF_FAULT_STALL ? ESP_ERR_TIMEOUT
                                                             : ESP_ERR_INVALID_RESPONSE);
    }
    /* the server really served the resumed part: a reset at 90 % of the app is resumed, not restarted */
    assert_true(res.nf[2].rerun_bytes < (long long)len / 2);
    assert_true(res.ok);
    rf_rehearse_result_free(&res);
    rf_device_close(&dev);
    ths_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_source),
        cmocka_unit_test(test_sweep_through_seed_api),
        cmocka_unit_test(test_net_faults_any_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
