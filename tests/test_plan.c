/*
 * The plan (core/src/rf_plan.c): rf_plan_validate() straight, without a
 * device. The reference download scenario (the seed's partition table,
 * ../shared/seeds, skipped when absent), ordering, staging choice, the
 * partitions each destination overwrites, kinds, estimates, and every rule
 * refused with the right rule and the right image.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptable_csv.h"
#include "rf_plan.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define BOOTLOADER_LEN 27376   /* mcuboot-esp32.bin (FACTS.md) */

#define SEED_DOWNLOAD "seeds/boot_swap_download_example-partitions.csv"
#define SEED_EMBEDDED "seeds/boot_swap_embedded_example-partitions.csv"

/* The embedded example's table with its only OTA partition too small for a
 * backup of the 2 MB factory app's first 0x114000 bytes. */
static const char *const EMB_SMALL_OTA_CSV =
    "nvs,      data, nvs,     0x9000,   0x4000,\n"
    "otadata,  data, ota,     0xd000,   0x2000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x200000,\n"
    "ota_0,    app,  ota_0,   0x210000, 0x80000,\n";

/* Two OTA partitions, the first too small, the second large enough; no otadata. */
static const char *const EMB_TWO_OTA_CSV =
    "nvs,      data, nvs,     0x9000,   0x6000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x200000,\n"
    "ota_0,    app,  ota_0,   0x210000, 0x80000,\n"
    "ota_1,    app,  ota_1,   0x290000, 0x160000,\n";

/* The download example's table spelled out (same content as the seed CSV),
 * for the rule tests that must not depend on ../shared. */
static const char *const DOWNLOAD_CSV =
    "nvs,      data, nvs,     0x9000,   0x4000,\n"
    "otadata,  data, ota,     0xd000,   0x2000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x100000,\n"
    "ota_0,    app,  ota_0,   0x110000, 0x100000,\n"
    "ota_1,    app,  ota_1,   0x210000, 0x100000,\n";

/* No OTA partition at all: nothing can stage a download. */
static const char *const NO_OTA_CSV =
    "nvs,      data, nvs,     0x9000,   0x6000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x200000,\n"
    "storage,  data, spiffs,  0x210000, 0x100000,\n";

/* An OTA partition too small for the image. */
static const char *const SMALL_OTA_CSV =
    "nvs,      data, nvs,     0x9000,   0x4000,\n"
    "otadata,  data, ota,     0xd000,   0x2000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x100000,\n"
    "ota_0,    app,  ota_0,   0x110000, 0x100000,\n"
    "ota_1,    app,  ota_1,   0x210000, 0x40000,\n";

typedef struct {
    rf_ptable_t table;
    rf_plan_t plan;
} fx_t;

static fx_t *fx_csv(const char *csv)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256] = "";
    esp_err_t e = ptable_csv_parse(csv, 0, 4 * MIB, &f->table, err, sizeof err);
    if (e != ESP_OK) {
        fail_msg("ptable_csv_parse: %s (%s)", esp_err_to_name(e), err);
    }
    return f;
}

static fx_t *fx_seed_path(const char *rel)
{
    if (tl_shared_dir() == NULL) {
        print_message("../shared is not available: skipping\n");
        skip();
    }
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256] = "";
    esp_err_t e = ptable_csv_load(tl_shared_path(rel), 0, 4 * MIB, &f->table, err, sizeof err);
    if (e != ESP_OK) {
        fail_msg("ptable_csv_load: %s (%s)", esp_err_to_name(e), err);
    }
    return f;
}

static fx_t *fx_seed(void)
{
    if (tl_shared_dir() == NULL) {
        print_message("../shared is not available: skipping\n");
        skip();
    }
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256] = "";
    esp_err_t e = ptable_csv_load(tl_shared_path(SEED_DOWNLOAD), 0, 4 * MIB, &f->table, err, sizeof err);
    if (e != ESP_OK) {
        fail_msg("ptable_csv_load: %s (%s)", esp_err_to_name(e), err);
    }
    return f;
}

/* An ESP32 with 4 MB of flash running `running`; timing left at zero (the
 * defaults of device-timings.md). */
static rf_plan_t *plan_for(fx_t *f, const char *running)
{
    rf_plan_t *p = &f->plan;
    memset(p, 0, sizeof *p);
    p->chip_id = 0;
    p->bootloader_offset = 0x1000;
    p->ptable_offset = 0x8000;
    p->flash_size = 4 * MIB;
    p->sector_size = 0x1000;
    p->block_size = 0x10000;
    p->page_size = 0x100;
    p->table = &f->table;
    const rf_part_t *run = rf_ptable_find_label(&f->table, running);
    assert_non_null(run);
    p->running = *run;
    return p;
}

static void add(rf_plan_t *p, const char *source, uint32_t dest, uint32_t size, int64_t len)
{
    assert_true(p->count < RF_PLAN_MAX_IMAGES);
    rf_plan_image_t *im = &p->img[p->count++];
    memset(im, 0, sizeof *im);
    im->source = source;
    im->dest = dest;
    im->dest_size = size;
    im->len = len;
}

/* The plan is refused with `rule` at the image given first on the list as
 * `input` (its position in the caller's list). */
static void expect_rule(rf_plan_t *p, rf_plan_rule_t rule, int input)
{
    esp_err_t e = rf_plan_validate(p);
    if (p->rule != rule) {
        fail_msg("expected %s, got %s (bad %d)", rf_plan_rule_name(rule), rf_plan_rule_name(p->rule), (int)p->bad);
    }
    assert_int_not_equal(e, ESP_OK);
    if (input < 0) {
        assert_int_equal(p->bad, -1);
    } else {
        assert_true(p->bad >= 0 && p->bad < (int32_t)p->count);
        assert_int_equal(p->img[p->bad].input_index, input);
    }
    assert_string_not_equal(rf_plan_rule_name(rule), "?");
    assert_true(strlen(rf_plan_rule_str(rule)) > 10);
}

static void expect_ok(rf_plan_t *p)
{
    esp_err_t e = rf_plan_validate(p);
    if (e != ESP_OK) {
        fail_msg("refused: %s (%s), bad %d", rf_plan_rule_name(p->rule), esp_err_to_name(e), (int)p->bad);
    }
    assert_int_equal(p->rule, RF_RULE_OK);
    assert_int_equal(p->bad, -1);
}

static const char *label_of(const rf_plan_t *p, uint32_t part_index)
{
    assert_true(part_index < p->table->count);
    return p->table->parts[part_index].label;
}

/* ---- the reference download scenario ---------------------------------------- */

static void test_reference_download(void **state)
{
    (void)state;
    fx_t *f = fx_seed();
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "http://host/app_upd.bin", 0x110000, 0x100000, 1 * MIB);
    add(p, "http://host/mcuboot-esp32.bin", 0x1000, 0xF000, BOOTLOADER_LEN);
    expect_ok(p);
    assert_false(p->reordered);
    assert_int_equal(p->count, 2);

    /* app first, bootloader last */
    const rf_plan_image_t *app = &p->img[0], *bl = &p->img[1];
    assert_int_equal(app->input_index, 0);
    assert_int_equal(bl->input_index, 1);
    assert_string_equal(app->source, "http://host/app_upd.bin");
    assert_false(app->boot_critical);
    assert_true(bl->boot_critical);
    assert_int_equal(app->kind, RF_DEST_APP_SLOT);
    assert_int_equal(bl->kind, RF_DEST_BOOTLOADER);

    /* both staged in ota_1 (ota_0 is the app's destination, factory runs) */
    assert_string_equal(app->staging.label, "ota_1");
    assert_int_equal(app->staging.offset, 0x210000);
    assert_int_equal(app->staging.size, 0x100000);
    assert_string_equal(bl->staging.label, "ota_1");
    assert_int_equal(bl->staging.offset, 0x210000);

    /* what the destinations overwrite: the app ota_0; the bootloader region
     * 0x1000..0x10000 covers nvs 0x9000, otadata 0xd000, phy_init 0xf000
     * (and the table's own sector at 0x8000, which is not a partition) */
    assert_int_equal(app->overwrites_count, 1);
    assert_string_equal(label_of(p, app->overwrites[0]), "ota_0");
    assert_int_equal(bl->overwrites_count, 3);
    assert_string_equal(label_of(p, bl->overwrites[0]), "nvs");
    assert_string_equal(label_of(p, bl->overwrites[1]), "otadata");
    assert_string_equal(label_of(p, bl->overwrites[2]), "phy_init");

    /* estimates: the defaults were filled in; every step costs something;
     * the total is the sum; the window is the bootloader image's */
    assert_int_equal(p->cost.sector_erase_us, 37000);
    assert_int_equal(p->cost.net_bytes_per_s, 295000);
    for (uint32_t i = 0; i < p->count; i++) {
        assert_true(p->img[i].est_download_us > 0);
        assert_true(p->img[i].est_stage_us > 0);
        assert_true(p->img[i].est_copy_us > 0);
    }
    /* 1 MiB at 295,000 B/s of network payload: 3.55 s */
    assert_true(app->est_download_us > 3550000 && app->est_download_us < 3560000);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        sum += p->img[i].est_download_us + p->img[i].est_stage_us + p->img[i].est_copy_us;
    }
    assert_int_equal(p->est_total_us, sum);
    assert_int_equal(p->window_image, 1);
    assert_true(p->window_us > 0);
    assert_true(p->window_us <= bl->est_copy_us);
    free(f);
}

static void test_reordered_bootloader_last(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "boot", 0x1000, 0xF000, BOOTLOADER_LEN);
    add(p, "app", 0x110000, 0x100000, 1 * MIB);
    expect_ok(p);
    assert_true(p->reordered);
    assert_int_equal(p->img[0].input_index, 1);
    assert_string_equal(p->img[0].source, "app");
    assert_int_equal(p->img[1].input_index, 0);
    assert_string_equal(p->img[1].source, "boot");
    assert_int_equal(p->window_image, 1);
    assert_true(p->window_us > 0);

    /* stable otherwise: two non-critical images keep their order */
    p = plan_for(f, "factory");
    add(p, "boot", 0x1000, 0xF000, BOOTLOADER_LEN);
    add(p, "app", 0x110000, 0x100000, 1 * MIB);
    add(p, "raw", 0x310000, 0x10000, 0x8000);
    expect_ok(p);
    assert_true(p->reordered);
    assert_string_equal(p->img[0].source, "app");
    assert_string_equal(p->img[1].source, "raw");
    assert_string_equal(p->img[2].source, "boot");

    /* already in order: not reordered; no bootloader image: no window */
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 1 * MIB);
    add(p, "raw", 0x310000, 0x10000, 0x8000);
    expect_ok(p);
    assert_false(p->reordered);
    assert_int_equal(p->window_image, -1);
    assert_int_equal(p->window_us, 0);
    free(f);
}

static void test_kinds(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "boot", 0x1000, 0xF000, -1);
    add(p, "app", 0x110000, 0x100000, -1);
    add(p, "raw", 0x310000, 0x10000, -1);
    expect_ok(p);
    for (uint32_t i = 0; i < p->count; i++) {
        const rf_plan_image_t *im = &p->img[i];
        rf_dest_kind_t want = im->dest == 0x1000 ? RF_DEST_BOOTLOADER
                              : im->dest == 0x110000 ? RF_DEST_APP_SLOT
                                                     : RF_DEST_RAW;
        assert_int_equal(im->kind, want);
    }
    assert_string_equal(rf_dest_kind_name(RF_DEST_BOOTLOADER), "bootloader");
    assert_string_equal(rf_dest_kind_name(RF_DEST_APP_SLOT), "app-slot");
    assert_string_equal(rf_dest_kind_name(RF_DEST_RAW), "raw");

    /* the start of the other OTA slot is an app slot too */
    p = plan_for(f, "factory");
    add(p, "app", 0x210000, 0x100000, -1);
    expect_ok(p);
    assert_int_equal(p->img[0].kind, RF_DEST_APP_SLOT);
    assert_string_equal(p->img[0].staging.label, "ota_0");

    /* inside an app partition but not at its start: raw */
    p = plan_for(f, "factory");
    add(p, "raw", 0x120000, 0x10000, -1);
    expect_ok(p);
    assert_int_equal(p->img[0].kind, RF_DEST_RAW);

    /* on a chip whose bootloader is at 0x0 (ESP32-S3), 0x0 is the bootloader */
    p = plan_for(f, "factory");
    p->chip_id = 9;
    p->bootloader_offset = 0;
    add(p, "boot", 0x0, 0x8000, -1);
    add(p, "raw", 0x1000, 0x1000, -1);
    expect_rule(p, RF_RULE_DEST_OVERLAPS_DEST, 1);
    p = plan_for(f, "factory");
    p->chip_id = 9;
    p->bootloader_offset = 0;
    add(p, "boot", 0x0, 0x8000, -1);
    expect_ok(p);
    assert_int_equal(p->img[0].kind, RF_DEST_BOOTLOADER);
    assert_true(p->img[0].boot_critical);
    /* a declared kind is kept */
    p = plan_for(f, "factory");
    add(p, "mcuboot", 0x110000, 0x100000, -1);
    p->img[0].kind = RF_DEST_MCUBOOT_SLOT;
    expect_ok(p);
    assert_int_equal(p->img[0].kind, RF_DEST_MCUBOOT_SLOT);
    free(f);
}

/* ---- the rules -------------------------------------------------------------- */

static void test_rule_dest_empty(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 1 * MIB);
    add(p, "empty", 0x310000, 0, -1);
    expect_rule(p, RF_RULE_DEST_EMPTY, 1);
    free(f);
}

static void test_rule_dest_align(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "app", 0x110800, 0x10000, -1);
    expect_rule(p, RF_RULE_DEST_ALIGN, 0);
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, -1);
    add(p, "raw", 0x310001, 0x1000, -1);
    expect_rule(p, RF_RULE_DEST_ALIGN, 1);
    free(f);
}

static void test_rule_dest_outside_flash(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "raw", 0x3F0000, 0x20000, -1);
    expect_rule(p, RF_RULE_DEST_OUTSIDE_FLASH, 0);
    p = plan_for(f, "factory");
    add(p, "raw", 0x400000, 0x1000, -1);
    expect_rule(p, RF_RULE_DEST_OUTSIDE_FLASH, 0);
    /* no 32-bit wrap: a size that would wrap past 4 GiB is outside too */
    p = plan_for(f, "factory");
    add(p, "raw", 0x310000, 0xFFFFF000u, -1);
    expect_rule(p, RF_RULE_DEST_OUTSIDE_FLASH, 0);
    /* the very end of the flash is fine */
    p = plan_for(f, "factory");
    add(p, "raw", 0x3F0000, 0x10000, -1);
    expect_ok(p);
    free(f);
}

static void test_rule_dest_overlaps_running(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    /* the running partition itself, its tail, a region containing it */
    const uint32_t cases[][2] = { { 0x10000, 0x100000 }, { 0x100000, 0x20000 }, { 0x1000, 0x200000 },
                                  { 0x20000, 0x1000 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rf_plan_t *p = plan_for(f, "factory");
        add(p, "x", cases[i][0], cases[i][1], -1);
        expect_rule(p, RF_RULE_DEST_OVERLAPS_RUNNING, 0);
    }
    /* touching is not overlapping: right before it and right after it */
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "boot", 0x1000, 0xF000, -1);
    add(p, "app", 0x110000, 0x100000, -1);
    expect_ok(p);
    /* running from ota_0 the rule follows the running partition */
    p = plan_for(f, "ota_0");
    add(p, "app", 0x110000, 0x100000, -1);
    expect_rule(p, RF_RULE_DEST_OVERLAPS_RUNNING, 0);
    free(f);
}

static void test_rule_dest_overlaps_dest(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    /* partial */
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "a", 0x110000, 0x100000, -1);
    add(p, "b", 0x200000, 0x20000, -1);
    expect_rule(p, RF_RULE_DEST_OVERLAPS_DEST, 1);
    assert_int_equal(p->img[p->other].input_index, 0);
    /* containment, both ways */
    p = plan_for(f, "factory");
    add(p, "a", 0x110000, 0x100000, -1);
    add(p, "b", 0x120000, 0x10000, -1);
    expect_rule(p, RF_RULE_DEST_OVERLAPS_DEST, 1);
    p = plan_for(f, "factory");
    add(p, "b", 0x120000, 0x10000, -1);
    add(p, "a", 0x110000, 0x100000, -1);
    expect_rule(p, RF_RULE_DEST_OVERLAPS_DEST, 1);
    assert_int_equal(p->img[p->other].input_index, 0);
    /* touching is not overlapping (a's 0x800 bytes end inside its sector) */
    p = plan_for(f, "factory");
    add(p, "a", 0x310000, 0x800, -1);
    add(p, "b", 0x311000, 0x1000, -1);
    expect_ok(p);
    free(f);
}

static void test_rule_image_sizes(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 0x100001);
    expect_rule(p, RF_RULE_IMAGE_TOO_LARGE, 0);
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 1 * MIB);
    add(p, "boot", 0x1000, 0xF000, 0xF001);
    expect_rule(p, RF_RULE_IMAGE_TOO_LARGE, 1);
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 0);
    expect_rule(p, RF_RULE_IMAGE_EMPTY, 0);
    /* exactly the destination's size is fine */
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 0x100000);
    expect_ok(p);
    free(f);
}

static void test_rule_no_staging(void **state)
{
    (void)state;
    /* a table without OTA partitions */
    fx_t *f = fx_csv(NO_OTA_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "data", 0x210000, 0x100000, 0x1000);
    expect_rule(p, RF_RULE_NO_STAGING, 0);
    free(f);

    f = fx_csv(DOWNLOAD_CSV);
    /* both OTA slots as destinations: the second has nowhere to stage (ota_0
     * already holds the first image) */
    p = plan_for(f, "factory");
    add(p, "a", 0x110000, 0x100000, -1);
    add(p, "b", 0x210000, 0x100000, -1);
    expect_rule(p, RF_RULE_NO_STAGING, 1);
    /* a destination across both OTA slots */
    p = plan_for(f, "factory");
    add(p, "a", 0x200000, 0x20000, -1);
    expect_rule(p, RF_RULE_NO_STAGING, 0);
    /* the only other OTA slot is the running one */
    p = plan_for(f, "ota_1");
    add(p, "a", 0x110000, 0x100000, -1);
    expect_rule(p, RF_RULE_NO_STAGING, 0);
    free(f);
}

static void test_staging_choice(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    /* running ota_0: the first OTA slot after it is ota_1 */
    rf_plan_t *p = plan_for(f, "ota_0");
    add(p, "raw", 0x310000, 0x10000, 0x1000);
    expect_ok(p);
    assert_string_equal(p->img[0].staging.label, "ota_1");
    /* running ota_1: wraps to ota_0 */
    p = plan_for(f, "ota_1");
    add(p, "raw", 0x310000, 0x10000, 0x1000);
    expect_ok(p);
    assert_string_equal(p->img[0].staging.label, "ota_0");
    /* a later destination in ota_1: the earlier image stages elsewhere when it can */
    p = plan_for(f, "factory");
    add(p, "raw", 0x310000, 0x10000, 0x1000);
    add(p, "app", 0x210000, 0x100000, -1);
    expect_ok(p);
    assert_string_equal(p->img[0].staging.label, "ota_0");
    assert_string_equal(p->img[1].staging.label, "ota_0");
    free(f);
}

static void test_rule_staging_too_small(void **state)
{
    (void)state;
    /* the table's only free OTA slot is small */
    fx_t *f = fx_csv(SMALL_OTA_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 0x40001);
    expect_rule(p, RF_RULE_STAGING_TOO_SMALL, 0);
    p = plan_for(f, "factory");
    add(p, "app", 0x110000, 0x100000, 0x40000);
    expect_ok(p);
    free(f);

    /* a forced (the caller's) small staging partition */
    f = fx_csv(DOWNLOAD_CSV);
    rf_part_t small = { .type = RF_PART_TYPE_APP, .subtype = 0x11, .offset = 0x310000, .size = 0x10000 };
    strcpy(small.label, "small");
    p = plan_for(f, "factory");
    p->forced_staging = &small;
    add(p, "app", 0x110000, 0x100000, 0x20000);
    expect_rule(p, RF_RULE_STAGING_TOO_SMALL, 0);
    p = plan_for(f, "factory");
    p->forced_staging = &small;
    add(p, "app", 0x110000, 0x100000, 0x10000);
    expect_ok(p);
    assert_string_equal(p->img[0].staging.label, "small");
    free(f);
}

static void test_rule_staging_conflict(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    /* the forced staging contains the destination */
    const rf_part_t *ota0 = rf_ptable_find_label(&f->table, "ota_0");
    rf_plan_t *p = plan_for(f, "factory");
    p->forced_staging = ota0;
    add(p, "raw", 0x120000, 0x10000, -1);
    expect_rule(p, RF_RULE_STAGING_CONFLICT, 0);
    /* the destination contains the forced staging */
    rf_part_t inner = { .type = RF_PART_TYPE_APP, .subtype = 0x10, .offset = 0x120000, .size = 0x10000 };
    strcpy(inner.label, "inner");
    p = plan_for(f, "factory");
    p->forced_staging = &inner;
    add(p, "app", 0x110000, 0x100000, -1);
    expect_rule(p, RF_RULE_STAGING_CONFLICT, 0);
    /* the forced staging overlaps another image's destination */
    const rf_part_t *ota1 = rf_ptable_find_label(&f->table, "ota_1");
    p = plan_for(f, "factory");
    p->forced_staging = ota1;
    add(p, "app", 0x110000, 0x100000, -1);
    add(p, "raw", 0x300000, 0x10000, -1);
    expect_rule(p, RF_RULE_STAGING_CONFLICT, 1);
    /* the forced staging is the running partition */
    const rf_part_t *factory = rf_ptable_find_label(&f->table, "factory");
    p = plan_for(f, "factory");
    p->forced_staging = factory;
    add(p, "app", 0x110000, 0x100000, -1);
    expect_rule(p, RF_RULE_STAGING_CONFLICT, 0);
    /* clear of everything: fine */
    p = plan_for(f, "factory");
    p->forced_staging = ota1;
    add(p, "app", 0x110000, 0x100000, -1);
    add(p, "boot", 0x1000, 0xF000, -1);
    expect_ok(p);
    assert_string_equal(p->img[0].staging.label, "ota_1");
    assert_string_equal(p->img[1].staging.label, "ota_1");
    free(f);
}

static void test_rule_too_many_images(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    for (uint32_t i = 0; i < RF_PLAN_MAX_IMAGES; i++) {
        add(p, "raw", 0x310000 + i * 0x1000, 0x1000, 0x100);
    }
    expect_ok(p);
    p->count = RF_PLAN_MAX_IMAGES + 1;
    expect_rule(p, RF_RULE_TOO_MANY_IMAGES, -1);
    free(f);
}

static void test_overwrites_partial(void **state)
{
    (void)state;
    fx_t *f = fx_csv(DOWNLOAD_CSV);
    /* 0xc000..0x10000 touches nvs's last sector, otadata, phy_init */
    rf_plan_t *p = plan_for(f, "factory");
    add(p, "x", 0xC000, 0x4000, -1);
    expect_ok(p);
    assert_int_equal(p->img[0].overwrites_count, 3);
    assert_string_equal(label_of(p, p->img[0].overwrites[0]), "nvs");
    assert_string_equal(label_of(p, p->img[0].overwrites[1]), "otadata");
    assert_string_equal(label_of(p, p->img[0].overwrites[2]), "phy_init");
    assert_true(p->img[0].boot_critical == false);
    /* free flash: nothing */
    p = plan_for(f, "factory");
    add(p, "x", 0x310000, 0x10000, -1);
    expect_ok(p);
    assert_int_equal(p->img[0].overwrites_count, 0);
    /* the partition table's sector is boot-critical */
    p = plan_for(f, "factory");
    add(p, "pt", 0x8000, 0x1000, -1);
    expect_ok(p);
    assert_true(p->img[0].boot_critical);
    assert_int_equal(p->window_image, -1);
    free(f);
}


/* ---- embedded mode: the backup of the running app -------------------------------- */

static void test_choose_backup(void **state)
{
    (void)state;
    fx_t *f = fx_seed_path(SEED_EMBEDDED);
    const rf_part_t *run = rf_ptable_find_label(&f->table, "factory");
    assert_non_null(run);
    rf_part_t out;
    memset(&out, 0, sizeof out);
    /* the reference: 0x114000 bytes fit ota_0 (0x180000), clear of factory and of 0x1000..0x111000 */
    assert_int_equal(rf_choose_backup(&f->table, run, 0x114000, 0x1000, 0x110000, &out), ESP_OK);
    assert_string_equal(out.label, "ota_0");
    assert_int_equal(out.offset, 0x210000);
    assert_int_equal(out.size, 0x180000);
    /* exactly the partition's size fits; one sector more does not */
    assert_int_equal(rf_choose_backup(&f->table, run, 0x180000, 0x1000, 0x110000, &out), ESP_OK);
    assert_int_equal(rf_choose_backup(&f->table, run, 0x181000, 0x1000, 0x110000, &out), ESP_ERR_NOT_FOUND);
    /* a destination overlapping ota_0 (even by a sector) rules it out; touching does not */
    assert_int_equal(rf_choose_backup(&f->table, run, 0x1000, 0x1000, 0x210000 + 0x1000, &out), ESP_ERR_NOT_FOUND);
    assert_int_equal(rf_choose_backup(&f->table, run, 0x1000, 0x1000, 0x210000 - 0x1000, &out), ESP_OK);
    /* running from ota_0: the only OTA partition is the running one */
    const rf_part_t *ota0 = rf_ptable_find_label(&f->table, "ota_0");
    assert_int_equal(rf_choose_backup(&f->table, ota0, 0x1000, 0x1000, 0xF000, &out), ESP_ERR_NOT_FOUND);
    /* no table */
    assert_int_equal(rf_choose_backup(NULL, run, 0x1000, 0x1000, 0xF000, &out), ESP_ERR_NOT_FOUND);
    free(f);

    /* table order: the first OTA partition large enough */
    f = fx_csv(EMB_TWO_OTA_CSV);
    run = rf_ptable_find_label(&f->table, "factory");
    assert_int_equal(rf_choose_backup(&f->table, run, 0x80000, 0x1000, 0x110000, &out), ESP_OK);
    assert_string_equal(out.label, "ota_0");
    assert_int_equal(rf_choose_backup(&f->table, run, 0x114000, 0x1000, 0x110000, &out), ESP_OK);
    assert_string_equal(out.label, "ota_1");
    /* the factory app is not an OTA partition: never a backup, even when it is not running */
    const rf_part_t *ota1 = rf_ptable_find_label(&f->table, "ota_1");
    assert_int_equal(rf_choose_backup(&f->table, ota1, 0x114000, 0x1000, 0xF000, &out), ESP_ERR_NOT_FOUND);
    free(f);
}

/* The reference embedded example: MCUboot + NuttX merged (0x10F000 bytes)
 * inside the factory app at 0x14294, copied to 0x1000..0x111000. */
static void add_embedded(rf_plan_t *p, uint32_t backup_need)
{
    add(p, "merged.bin", 0x1000, 0x110000, 0x10F000);
    rf_plan_image_t *im = &p->img[p->count - 1];
    im->embedded = true;
    im->src_addr = 0x14294;
    im->backup_need = backup_need;
}

static void test_embedded_with_backup(void **state)
{
    (void)state;
    fx_t *f = fx_seed_path(SEED_EMBEDDED);
    rf_plan_t *p = plan_for(f, "factory");
    add_embedded(p, 0x14294 + 0x10F000 - 0x10000);   /* 0x113294: the embedded image's end */
    expect_ok(p);
    const rf_plan_image_t *im = &p->img[0];
    assert_true(im->over_running);
    assert_true(im->has_backup);
    assert_string_equal(im->backup.label, "ota_0");
    assert_int_equal(im->backup.offset, 0x210000);
    assert_int_equal(im->backup_len, 0x114000);
    assert_true(im->writes_otadata);
    assert_string_equal(im->otadata.label, "otadata");
    assert_int_equal(im->otadata.offset, 0xd000);
    assert_int_equal(im->otadata.size, 0x2000);
    /* no staging for an embedded image */
    assert_int_equal(im->staging.size, 0);
    assert_int_equal(im->est_download_us, 0);
    assert_int_equal(im->est_stage_us, 0);
    /* the backup costs something and counts in the total */
    assert_true(im->est_backup_us > 0);
    assert_int_equal(p->est_total_us, im->est_backup_us + im->est_copy_us);
    /* the window: the bootloader's sectors 0x1000..0x8000 only (written
     * last), 7 sector erases and the 0x7000 bytes' 112 pages */
    assert_false(p->no_backup_window);
    assert_int_equal(p->window_image, 0);
    assert_int_equal(p->window_us, 7u * 37000u + 112u * 880u);
    assert_true(p->window_us < im->est_copy_us);
    /* the journal: the last two sectors, past every partition */
    assert_int_equal(p->journal_addr, 0x3FE000);
    assert_int_equal(p->journal_len, 0x2000);

    /* backup_need unknown: the running partition's size (2 MB) fits no OTA partition */
    p = plan_for(f, "factory");
    add_embedded(p, 0);
    expect_ok(p);
    assert_false(p->img[0].has_backup);
    assert_int_equal(p->img[0].backup_len, 0x200000);
    assert_true(p->no_backup_window);

    /* an embedded destination clear of the running partition needs no backup */
    p = plan_for(f, "factory");
    add(p, "boot.bin", 0x1000, 0xF000, 0x7000);
    p->img[0].embedded = true;
    p->img[0].src_addr = 0x14294;
    expect_ok(p);
    assert_false(p->img[0].over_running);
    assert_false(p->img[0].has_backup);
    assert_false(p->img[0].writes_otadata);
    assert_false(p->no_backup_window);
    assert_int_equal(p->window_us, 7u * 37000u + 112u * 880u);
    free(f);

    /* no otadata partition: a backup, nothing to switch */
    f = fx_csv(EMB_TWO_OTA_CSV);
    p = plan_for(f, "factory");
    add_embedded(p, 0x113294);
    expect_ok(p);
    assert_true(p->img[0].has_backup);
    assert_string_equal(p->img[0].backup.label, "ota_1");
    assert_false(p->img[0].writes_otadata);
    assert_false(p->no_backup_window);
    free(f);
}

static void test_embedded_no_backup(void **state)
{
    (void)state;
    fx_t *f = fx_csv(EMB_SMALL_OTA_CSV);
    rf_plan_t *p = plan_for(f, "factory");
    add_embedded(p, 0x113294);
    expect_ok(p);   /* valid, but risky */
    const rf_plan_image_t *im = &p->img[0];
    assert_true(im->over_running);
    assert_false(im->has_backup);
    assert_false(im->writes_otadata);
    assert_int_equal(im->backup_len, 0x114000);
    assert_int_equal(im->est_backup_us, 0);
    assert_true(p->no_backup_window);
    assert_int_equal(p->window_image, 0);
    assert_int_equal(p->window_us, im->est_copy_us);
    assert_int_equal(p->est_total_us, im->est_copy_us);
    free(f);
}

static void test_rule_names(void **state)
{
    (void)state;
    static const char *const names[] = { "OK", "TOO_MANY_IMAGES", "DEST_EMPTY", "DEST_ALIGN", "DEST_OUTSIDE_FLASH",
                                         "DEST_OVERLAPS_RUNNING", "DEST_OVERLAPS_DEST", "IMAGE_EMPTY",
                                         "IMAGE_TOO_LARGE", "NO_STAGING", "STAGING_TOO_SMALL", "STAGING_CONFLICT" };
    assert_int_equal(sizeof names / sizeof names[0], RF_RULE__COUNT);
    for (int r = 0; r < RF_RULE__COUNT; r++) {
        assert_string_equal(rf_plan_rule_name((rf_plan_rule_t)r), names[r]);
        assert_non_null(rf_plan_rule_str((rf_plan_rule_t)r));
    }
    assert_string_equal(rf_plan_rule_name(RF_RULE__COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_download),
        cmocka_unit_test(test_reordered_bootloader_last),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_rule_dest_empty),
        cmocka_unit_test(test_rule_dest_align),
        cmocka_unit_test(test_rule_dest_outside_flash),
        cmocka_unit_test(test_rule_dest_overlaps_running),
        cmocka_unit_test(test_rule_dest_overlaps_dest),
        cmocka_unit_test(test_rule_image_sizes),
        cmocka_unit_test(test_rule_no_staging),
        cmocka_unit_test(test_staging_choice),
        cmocka_unit_test(test_rule_staging_too_small),
        cmocka_unit_test(test_rule_staging_conflict),
        cmocka_unit_test(test_rule_too_many_images),
        cmocka_unit_test(test_overwrites_partial),
        cmocka_unit_test(test_choose_backup),
        cmocka_unit_test(test_embedded_with_backup),
        cmocka_unit_test(test_embedded_no_backup),
        cmocka_unit_test(test_rule_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
