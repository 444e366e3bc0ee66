/*
 * Image inspectors (core/src/rf_image_*.c) and signature checks
 * (crypto/rf_sig_mbedtls.c).
 *
 * Tests named *_fixture_* read ../shared/fixtures (mcuboot-esp32.bin,
 * app_upd.bin) and assert every value of ../shared/fixtures/FACTS.md; they
 * are skipped when ../shared is absent. The others build their own images
 * (the project's generators, or by hand here). The signature tests run the
 * system `openssl` to make keys and signatures (skipped without it), so the
 * signatures come from an implementation independent of the one under test.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nor_sim.h"
#include "rf_crypto.h"
#include "rf_engine.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_sig.h"

#define BOOT_FIXTURE "fixtures/mcuboot-esp32.bin"
#define APP_FIXTURE "fixtures/app_upd.bin"

#define BOOT_SIZE 27376u
#define BOOT_SHA256 "19d179ff098fe4aed7c596e9a12a12594b647591db926a94216b4af2db3c458a"
#define BOOT_APPENDED "307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0"
#define BOOT_CHECKSUM_OFF 27343u
#define BOOT_HASH_OFF 27344u

#define APP_SIZE 0x100000u
#define APP_SHA256 "42ddba478e89d0ab1e3b6168867196387ef2405531feef2f19badd4627b4e337"
#define APP_TLV_SHA "7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8"
#define APP_PROT_OFF 0x24960u
#define APP_TLV_OFF 0x2496Cu
#define APP_END 0x24994u

static uint8_t g_scratch[4096];

/* ---- helpers --------------------------------------------------------------------- */

static rf_img_err_t esp_check(const uint8_t *d, size_t n, int32_t chip, rf_esp_image_info_t *info)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    assert_int_equal(rf_reader_from_buffer(&r, &rb, d, n), ESP_OK);
    rf_esp_image_opts_t o = { .expect_chip_id = chip };
    esp_err_t e = rf_esp_image_inspect_ex(&r, &o, g_scratch, sizeof g_scratch, info);
    assert_int_equal(e, info->err == RF_IMG_OK ? ESP_OK : RF_ERR_IMAGE_INVALID);
    return info->err;
}

static rf_img_err_t esp_err_of(const uint8_t *d, size_t n)
{
    rf_esp_image_info_t info;
    return esp_check(d, n, RF_ESP_CHIP_ANY, &info);
}

static rf_img_err_t mcu_check(const uint8_t *d, size_t n, uint32_t slot, uint32_t trailer, const rf_sig_key_t *key,
                              rf_mcuboot_info_t *info)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    assert_int_equal(rf_reader_from_buffer(&r, &rb, d, n), ESP_OK);
    rf_mcuboot_opts_t o = { .slot_size = slot, .trailer_size = trailer, .key = key };
    esp_err_t e = rf_mcuboot_inspect_ex(&r, &o, g_scratch, sizeof g_scratch, info);
    assert_int_equal(e, info->err == RF_IMG_OK ? ESP_OK : RF_ERR_IMAGE_INVALID);
    return info->err;
}

static rf_img_err_t mcu_err_of(const uint8_t *d, size_t n, uint32_t slot)
{
    static rf_mcuboot_info_t info;
    return mcu_check(d, n, slot, 0, NULL, &info);
}

static uint8_t *dup_buf(const uint8_t *d, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, d, n);
    return c;
}

static void assert_hex(const uint8_t *d, size_t n, const char *expect)
{
    char h[2 * 64 + 1];
    tl_hex(d, n, h);
    assert_string_equal(h, expect);
}

static uint32_t nonblank_pages(const uint8_t *d, size_t n)
{
    uint32_t count = 0;
    for (size_t p = 0; p < n; p += 256) {
        count += !rf_is_blank(d + p, n - p < 256 ? n - p : 256);
    }
    return count;
}

static void put_le16(uint8_t *p, uint16_t v) { rf_put_le16(p, v); }
static void put_le32(uint8_t *p, uint32_t v) { rf_put_le32(p, v); }

/* ---- ESP image: the fixture -------------------------------------------------------- */

static void check_boot_facts(const rf_esp_image_info_t *i)
{
    assert_int_equal(i->err, RF_IMG_OK);
    assert_int_equal(i->file_size, BOOT_SIZE);
    assert_int_equal(i->magic, 0xE9);
    assert_int_equal(i->segment_count, 3);
    assert_int_equal(i->spi_mode, 2);
    assert_string_equal(rf_esp_spi_mode_name(i->spi_mode), "DIO");
    assert_int_equal(i->spi_size_freq, 0x20);
    assert_int_equal(i->spi_size_freq >> 4, 2);
    assert_string_equal(rf_esp_flash_size_name(i->spi_size_freq), "4MB");
    assert_int_equal(rf_esp_flash_size_bytes(i->spi_size_freq), 4u << 20);
    assert_string_equal(rf_esp_flash_freq_name(i->chip_id, i->spi_size_freq), "40MHz");
    assert_int_equal(i->entry_addr, 0x4007B3B0u);
    assert_int_equal(i->wp_pin, 0xEE);
    assert_int_equal(i->chip_id, 0x0000);
    assert_string_equal(rf_esp_chip_name(i->chip_id), "ESP32");
    assert_int_equal(i->min_chip_rev, 3);
    assert_int_equal(i->min_chip_rev_full, 0);
    assert_int_equal(i->max_chip_rev_full, 0xFFFF);
    assert_int_equal(i->hash_appended, 1);
    assert_int_equal(i->segments_parsed, 3);
    const uint32_t load[3] = { 0x3FFF7C98u, 0x40078000u, 0x40090000u };
    const uint32_t len[3] = { 6176, 13312, 7804 };
    uint32_t off = RF_ESP_HEADER_LEN;
    for (int s = 0; s < 3; s++) {
        assert_int_equal(i->segments[s].load_addr, load[s]);
        assert_int_equal(i->segments[s].len, len[s]);
        assert_int_equal(i->segments[s].offset, off + 8);   /* preceded by its 8-byte header */
        off += 8 + len[s];
    }
    assert_true(i->checksum_checked);
    assert_int_equal(i->checksum_offset, BOOT_CHECKSUM_OFF);
    assert_int_equal(i->checksum_stored, 0x99);
    assert_int_equal(i->checksum_calc, 0x99);
    assert_int_equal((i->checksum_offset + 1) % 16, 0);
    assert_true(i->sha256_checked);
    assert_int_equal(i->sha256_offset, BOOT_HASH_OFF);
    assert_hex(i->sha256_stored, 32, BOOT_APPENDED);
    assert_hex(i->sha256_calc, 32, BOOT_APPENDED);
    assert_int_equal(i->image_len, BOOT_SIZE);
    assert_int_equal(i->kind, RF_ESP_KIND_BOOTLOADER);
    assert_false(i->has_app_desc);
}

static void test_esp_fixture_facts(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    assert_int_equal(n, BOOT_SIZE);
    uint8_t h[32];
    rf_sha256(d, n, h);
    assert_hex(h, 32, BOOT_SHA256);
    /* the appended hash covers [0, 27344) and sits at [27344, 27376) */
    rf_sha256(d, BOOT_HASH_OFF, h);
    assert_hex(h, 32, BOOT_APPENDED);
    assert_hex(d + BOOT_HASH_OFF, 32, BOOT_APPENDED);
    assert_int_equal(d[BOOT_CHECKSUM_OFF], 0x99);
    assert_int_equal(nonblank_pages(d, n), 107);
    assert_int_equal((n + 255) / 256, 107);
    /* destinations: 0x1000 on ESP32 and -S2, 0x0 on -S3, -C3, -C6, -H2 */
    assert_int_equal(rf_esp_chip_bootloader_offset(0), 0x1000);
    assert_int_equal(rf_esp_chip_bootloader_offset(2), 0x1000);
    assert_int_equal(rf_esp_chip_bootloader_offset(9), 0x0);
    assert_int_equal(rf_esp_chip_bootloader_offset(5), 0x0);
    assert_int_equal(rf_esp_chip_bootloader_offset(13), 0x0);
    assert_int_equal(rf_esp_chip_bootloader_offset(16), 0x0);

    rf_esp_image_info_t info;
    assert_int_equal(esp_check(d, n, RF_ESP_CHIP_ANY, &info), RF_IMG_OK);
    check_boot_facts(&info);
    assert_int_equal(esp_check(d, n, 0 /* ESP32 */, &info), RF_IMG_OK);
    /* the plain entry point gives the same answer */
    rf_reader_t r;
    rf_reader_buf_t rb;
    rf_reader_from_buffer(&r, &rb, d, n);
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, sizeof g_scratch, &info), ESP_OK);
    check_boot_facts(&info);
    /* the smallest scratch works too */
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, RF_IMAGE_SCRATCH_MIN, &info), ESP_OK);
    check_boot_facts(&info);
    free(d);
}

/* The same image read through the flash port, at its real destination. */
static void test_esp_fixture_through_flash(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 4u << 20);
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    assert_int_equal(nor_sim_erase(sim, 0, 0x10000), ESP_OK);
    assert_int_equal(nor_sim_program(sim, 0x1000, d, (uint32_t)n), ESP_OK);
    rf_flash_t flash;
    nor_sim_flash_port(sim, &flash);
    rf_reader_t r;
    rf_reader_flash_t rf;
    assert_int_equal(rf_reader_from_flash(&r, &rf, &flash, 0x1000, 0x7000), ESP_OK);   /* up to the table */
    rf_esp_image_info_t info;
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, sizeof g_scratch, &info), ESP_OK);
    info.file_size = BOOT_SIZE;   /* the region is longer than the image */
    check_boot_facts(&info);
    /* one bit flipped in flash (programming can clear bits) */
    uint8_t z = 0;
    assert_int_equal(nor_sim_program(sim, 0x1000 + 40, &z, 1), ESP_OK);
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, sizeof g_scratch, &info), RF_ERR_IMAGE_INVALID);
    assert_int_equal(info.err, RF_IMG_ERR_CHECKSUM);
    /* a region outside the chip is refused */
    assert_int_equal(rf_reader_from_flash(&r, &rf, &flash, (4u << 20) - 0x1000, 0x2000), ESP_ERR_INVALID_ARG);
    nor_sim_free(sim);
    free(d);
}

/* A flipped byte in each of the three segments: the checksum catches it. */
static void test_esp_fixture_segment_flips(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    rf_esp_image_info_t ref;
    assert_int_equal(esp_check(d, n, RF_ESP_CHIP_ANY, &ref), RF_IMG_OK);
    for (int s = 0; s < 3; s++) {
        const uint32_t at[3] = { ref.segments[s].offset, ref.segments[s].offset + ref.segments[s].len / 2,
                                 ref.segments[s].offset + ref.segments[s].len - 1 };
        for (int k = 0; k < 3; k++) {
            uint8_t *c = dup_buf(d, n);
            c[at[k]] ^= 0x01;
            rf_esp_image_info_t info;
            assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHECKSUM);
            assert_int_equal(info.err_offset, BOOT_CHECKSUM_OFF);
            assert_int_equal(info.checksum_stored, 0x99);
            assert_int_equal(info.checksum_calc, 0x99 ^ 0x01);
            assert_true(info.sha256_checked);   /* both footers were still checked */
            free(c);
        }
    }
    free(d);
}

static void test_esp_fixture_checksum_and_hash_flips(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    rf_esp_image_info_t info;
    /* the checksum byte */
    uint8_t *c = dup_buf(d, n);
    c[BOOT_CHECKSUM_OFF] ^= 0x80;
    assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHECKSUM);
    assert_int_equal(info.err_offset, BOOT_CHECKSUM_OFF);
    free(c);
    /* every byte of the appended hash */
    for (uint32_t k = BOOT_HASH_OFF; k < BOOT_SIZE; k++) {
        c = dup_buf(d, n);
        c[k] ^= 0x10;
        assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_SHA256);
        assert_int_equal(info.err_offset, BOOT_HASH_OFF);
        free(c);
    }
    /* bytes the checksum does not cover: header, a segment header, the padding */
    const uint32_t uncovered[] = { 4 /* entry */, 9 /* drive */, 20 /* reserved */, 24 /* seg 0 addr */,
                                   6208 /* seg 1 header */, 27341 /* padding */ };
    for (size_t k = 0; k < sizeof uncovered / sizeof uncovered[0]; k++) {
        c = dup_buf(d, n);
        c[uncovered[k]] ^= 0x04;
        assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_SHA256);
        free(c);
    }
    free(d);
}

static void test_esp_fixture_chip_id(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    rf_esp_image_info_t info;
    uint8_t *c = dup_buf(d, n);
    put_le16(c + 12, 9);   /* claims ESP32-S3 */
    assert_int_equal(esp_check(c, n, 0, &info), RF_IMG_ERR_CHIP_ID);
    assert_int_equal(info.err_offset, 12);
    assert_int_equal(info.chip_id, 9);
    /* not told which chip: the hash over the header still catches it */
    assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_SHA256);
    put_le16(c + 12, 0xFFFF);   /* ESP_CHIP_ID_INVALID */
    assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHIP_ID);
    /* the right image for another chip */
    assert_int_equal(esp_check(d, n, 9, &info), RF_IMG_ERR_CHIP_ID);
    free(c);
    free(d);
}

static void test_esp_fixture_truncated(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    const uint32_t cuts[] = { 0, 1, 8, 23, 24, 31, 32, 100, 6215, 6216, 6220, 20000, 27339, 27340, 27343, 27344,
                              27375 };
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        rf_esp_image_info_t info;
        assert_int_equal(esp_check(d, cuts[k], RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_TRUNCATED);
        assert_true(info.err_offset <= cuts[k]);
    }
    free(d);
}

static void test_esp_fixture_bad_fields(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    uint8_t *c;
    rf_esp_image_info_t info;

    c = dup_buf(d, n);
    c[0] = 0xEA;
    assert_int_equal(esp_err_of(c, n), RF_IMG_ERR_MAGIC);
    free(c);

    const uint8_t counts[] = { 0, 17, 255 };
    for (size_t k = 0; k < sizeof counts; k++) {
        c = dup_buf(d, n);
        c[1] = counts[k];
        assert_int_equal(esp_err_of(c, n), RF_IMG_ERR_SEGMENT_COUNT);
        free(c);
    }
    /* hostile segment lengths */
    const uint32_t seg1_len_at = 24 + 8 + 6176 + 4;
    const uint32_t bad_lens[] = { 0xFFFFFFFCu, 0x80000000u, RF_ESP_MAX_SEGMENT_LEN + 4 };
    for (size_t k = 0; k < sizeof bad_lens / sizeof bad_lens[0]; k++) {
        c = dup_buf(d, n);
        put_le32(c + seg1_len_at, bad_lens[k]);
        assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_SEGMENT_BOUNDS);
        assert_int_equal(info.err_segment, 1);
        assert_int_equal(info.err_offset, seg1_len_at);
        free(c);
    }
    /* a load address whose segment wraps past 4 GiB */
    c = dup_buf(d, n);
    put_le32(c + 24, 0xFFFFF000u);
    assert_int_equal(esp_err_of(c, n), RF_IMG_ERR_SEGMENT_BOUNDS);
    free(c);
    /* a length not a multiple of 4 */
    c = dup_buf(d, n);
    put_le32(c + seg1_len_at, 13314);
    assert_int_equal(esp_err_of(c, n), RF_IMG_ERR_SEGMENT_ALIGN);
    free(c);
    /* a plausible length running past the end of the data */
    c = dup_buf(d, n);
    put_le32(c + seg1_len_at, 0x10000);
    assert_int_equal(esp_check(c, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_TRUNCATED);
    assert_int_equal(info.err_segment, 1);
    free(c);
    /* a shorter length: the layout shifts, the checksum byte moves */
    c = dup_buf(d, n);
    put_le32(c + seg1_len_at, 13312 - 16);
    assert_int_not_equal(esp_err_of(c, n), RF_IMG_OK);
    free(c);
    free(d);
}

/* Any single changed byte of the image makes it invalid. */
static void test_esp_fixture_every_byte(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(BOOT_FIXTURE, &n);
    uint8_t *c = dup_buf(d, n);
    for (size_t k = 0; k < n; k++) {
        c[k] ^= 0x5A;
        assert_int_not_equal(esp_err_of(c, n), RF_IMG_OK);
        c[k] ^= 0x5A;
    }
    assert_int_equal(esp_err_of(c, n), RF_IMG_OK);
    free(c);
    free(d);
}

/* Random hostile headers and lengths: never a crash (ASan), never "valid". */
static void test_esp_random_garbage(void **state)
{
    (void)state;
    rf_esp_gen_t g = { .chip_id = 0, .is_app = false, .code_size = 3000, .seed = 7 };
    uint8_t *img = NULL;
    size_t n = rf_gen_esp_image(&g, &img);
    assert_true(n > 0);
    assert_int_equal(esp_err_of(img, n), RF_IMG_OK);
    uint32_t x = 12345;
    for (int it = 0; it < 3000; it++) {
        uint8_t *c = dup_buf(img, n);
        int flips = 1 + (int)(x % 4);
        for (int f = 0; f < flips; f++) {
            x = x * 1103515245u + 12345u;
            uint32_t pos = (x >> 8) % 64;   /* header and segment headers */
            x = x * 1103515245u + 12345u;
            c[pos] = (uint8_t)(x >> 16);
        }
        x = x * 1103515245u + 12345u;
        size_t len = (x & 3) == 0 ? (x >> 4) % (n + 1) : n;
        rf_esp_image_info_t info;
        rf_img_err_t e = esp_check(c, len, RF_ESP_CHIP_ANY, &info);
        if (len == n && memcmp(c, img, n) == 0) {
            assert_int_equal(e, RF_IMG_OK);
        } else if (e == RF_IMG_OK && info.hash_appended) {
            /* with its hash, only bytes outside the image may have changed
             * (without it, header bytes are covered by nothing: the format) */
            assert_true(info.image_len <= len);
            assert_memory_equal(c, img, info.image_len);
        }
        free(c);
    }
    free(img);
}

/* ESP-IDF apps: the application description. */
static void test_esp_generated_app(void **state)
{
    (void)state;
    rf_esp_gen_t g = { .chip_id = 9, .is_app = true, .project_name = "hello_world", .version = "v2.3.4",
                       .idf_ver = "v5.1.4", .code_size = 50000, .seed = 3 };
    uint8_t *img = NULL;
    size_t n = rf_gen_esp_image(&g, &img);
    assert_true(n > 0);
    rf_esp_image_info_t info;
    assert_int_equal(esp_check(img, n, 9, &info), RF_IMG_OK);
    assert_int_equal(info.kind, RF_ESP_KIND_APP);
    assert_true(info.has_app_desc);
    assert_int_equal(info.app.magic_word, RF_ESP_APP_DESC_MAGIC);
    assert_string_equal(info.app.project_name, "hello_world");
    assert_string_equal(info.app.version, "v2.3.4");
    assert_string_equal(info.app.idf_ver, "v5.1.4");
    assert_int_equal(info.app.secure_version, 0);
    assert_string_equal(rf_esp_chip_name(info.chip_id), "ESP32-S3");
    assert_int_equal(esp_check(img, n, 0, &info), RF_IMG_ERR_CHIP_ID);
    /* secure_version is reported */
    put_le32(img + 32 + 4, 7);
    assert_int_equal(esp_check(img, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHECKSUM);
    assert_int_equal(info.app.secure_version, 7);
    free(img);

    /* a bootloader with an ESP-IDF 5 description (magic byte 0x50) */
    rf_esp_gen_t b = { .chip_id = 5, .is_app = false, .code_size = 4000, .seed = 9 };
    n = rf_gen_esp_image(&b, &img);
    uint8_t *seg0 = img + 32;
    memset(seg0, 0, 80);
    seg0[0] = RF_ESP_BOOTLOADER_DESC_MAGIC;
    put_le32(seg0 + 4, 1);
    strcpy((char *)seg0 + 8, "v5.1.4");
    strcpy((char *)seg0 + 40, "Mar 30 2023 19:14:17");
    assert_int_equal(esp_check(img, n, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHECKSUM);   /* data changed */
    assert_int_equal(info.kind, RF_ESP_KIND_BOOTLOADER);
    assert_true(info.has_bootloader_desc);
    assert_int_equal(info.bootloader.version, 1);
    assert_string_equal(info.bootloader.idf_ver, "v5.1.4");
    assert_string_equal(info.bootloader.date_time, "Mar 30 2023 19:14:17");
    free(img);
}

/* hash_appended 0: the image ends with the checksum byte. */
static void test_esp_without_hash(void **state)
{
    (void)state;
    rf_esp_gen_t g = { .chip_id = 0, .code_size = 2000, .seed = 5 };
    uint8_t *img = NULL;
    size_t n = rf_gen_esp_image(&g, &img);
    img[23] = 0;
    rf_esp_image_info_t info;
    assert_int_equal(esp_check(img, n - 32, RF_ESP_CHIP_ANY, &info), RF_IMG_OK);
    assert_false(info.sha256_checked);
    assert_int_equal(info.image_len, n - 32);
    img[40] ^= 1;
    assert_int_equal(esp_check(img, n - 32, RF_ESP_CHIP_ANY, &info), RF_IMG_ERR_CHECKSUM);
    free(img);
}

/* ---- readers ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *d;
    uint32_t n;
    uint32_t fail_at;
} failing_t;

static esp_err_t failing_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    failing_t *f = arg;
    if ((uint64_t)off + len > f->fail_at) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    memcpy(buf, f->d + off, len);
    return ESP_OK;
}

static void test_readers(void **state)
{
    (void)state;
    uint8_t data[64];
    for (int k = 0; k < 64; k++) {
        data[k] = (uint8_t)k;
    }
    rf_reader_t r, w;
    rf_reader_buf_t rb;
    rf_reader_window_t rw;
    uint8_t out[8];
    assert_int_equal(rf_reader_from_buffer(&r, &rb, data, sizeof data), ESP_OK);
    assert_int_equal(rf_reader_read(&r, 60, out, 4), ESP_OK);
    assert_int_equal(out[3], 63);
    assert_int_equal(rf_reader_read(&r, 61, out, 4), ESP_ERR_INVALID_SIZE);
    assert_int_equal(rf_reader_read(&r, 0xFFFFFFFFu, out, 2), ESP_ERR_INVALID_SIZE);
    assert_int_equal(rf_reader_read(&r, 64, out, 0), ESP_OK);
    assert_int_equal(rf_reader_window(&w, &rw, &r, 16, 32), ESP_OK);
    assert_int_equal(rf_reader_read(&w, 0, out, 2), ESP_OK);
    assert_int_equal(out[0], 16);
    assert_int_equal(rf_reader_read(&w, 31, out, 2), ESP_ERR_INVALID_SIZE);
    assert_int_equal(rf_reader_window(&w, &rw, &r, 60, 8), ESP_ERR_INVALID_ARG);
    uint8_t h1[32], h2[32];
    assert_int_equal(rf_reader_sha256(&r, 3, 50, g_scratch, 7, h1), ESP_OK);   /* odd chunking */
    rf_sha256(data + 3, 50, h2);
    assert_memory_equal(h1, h2, 32);

    /* scratch too small, NULL output */
    rf_esp_image_info_t ei;
    rf_mcuboot_info_t mi;
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, RF_IMAGE_SCRATCH_MIN - 1, &ei), ESP_ERR_INVALID_ARG);
    assert_int_equal(ei.err, RF_IMG_ERR_ARG);
    assert_int_equal(rf_mcuboot_inspect(&r, 0, NULL, NULL, 4096, &mi), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_esp_image_inspect(&r, g_scratch, sizeof g_scratch, NULL), ESP_ERR_INVALID_ARG);
}

/* A read error is reported as such, with the reader's own code. */
static void test_read_errors(void **state)
{
    (void)state;
    rf_esp_gen_t g = { .chip_id = 0, .code_size = 2000, .seed = 5 };
    uint8_t *img = NULL;
    size_t n = rf_gen_esp_image(&g, &img);
    uint8_t *mimg = NULL;
    rf_mcuboot_gen_t mg = { .payload_size = 3000, .seed = 1, .slot_size = 0x2000, .trailer_perm = true };
    size_t mn = rf_gen_mcuboot_image(&mg, &mimg);
    assert_true(mn == 0x2000);
    for (uint32_t at = 0; at < n; at += 97) {
        failing_t f = { img, (uint32_t)n, at };
        rf_reader_t r = { .read = failing_read, .arg = &f, .size = (uint32_t)n };
        rf_esp_image_info_t info;
        assert_int_equal(rf_esp_image_inspect(&r, g_scratch, sizeof g_scratch, &info), ESP_ERR_FLASH_OP_FAIL);
        assert_int_equal(info.err, RF_IMG_ERR_READ);
    }
    for (uint32_t at = 0; at < mn; at += 101) {
        failing_t f = { mimg, (uint32_t)mn, at };
        rf_reader_t r = { .read = failing_read, .arg = &f, .size = (uint32_t)mn };
        rf_mcuboot_info_t info;
        assert_int_equal(rf_mcuboot_inspect(&r, 0, NULL, g_scratch, sizeof g_scratch, &info), ESP_ERR_FLASH_OP_FAIL);
        assert_int_equal(info.err, RF_IMG_ERR_READ);
    }
    free(img);
    free(mimg);
}

static void test_error_strings(void **state)
{
    (void)state;
    for (int e = 0; e < RF_IMG_ERR__COUNT; e++) {
        assert_string_not_equal(rf_img_err_str((rf_img_err_t)e), "unknown error");
        assert_string_not_equal(rf_img_err_name((rf_img_err_t)e), "RF_IMG_ERR_UNKNOWN");
        assert_string_not_equal(rf_img_err_id((rf_img_err_t)e), "UNKNOWN");
        if (e != RF_IMG_OK) {   /* the name is "RF_IMG_ERR_" + the identifier */
            assert_string_equal(rf_img_err_name((rf_img_err_t)e) + 11, rf_img_err_id((rf_img_err_t)e));
        }
        for (int f = 0; f < e; f++) {
            assert_string_not_equal(rf_img_err_str((rf_img_err_t)e), rf_img_err_str((rf_img_err_t)f));
        }
    }
    assert_string_equal(rf_img_err_str(RF_IMG_OK), "valid");
    assert_string_equal(rf_img_err_name(RF_IMG_OK), "RF_IMG_OK");
    assert_string_equal(rf_img_err_name(RF_IMG_ERR__COUNT), "RF_IMG_ERR_UNKNOWN");
    assert_string_equal(rf_img_err_str(RF_IMG_ERR__COUNT), "unknown error");
}

/* The engine's verdicts: a name (what a device logs) and a sentence (what the
 * host tools print, rf_texts.c) for every rule and every table reason, kept
 * in two tables: one missing an entry fails here. */
static void test_verdict_strings(void **state)
{
    (void)state;
    for (int r = 0; r < RF_ENG__COUNT; r++) {
        assert_non_null(rf_eng_rule_name((rf_eng_rule_t)r));
        assert_non_null(rf_eng_rule_str((rf_eng_rule_t)r));
        assert_string_not_equal(rf_eng_rule_name((rf_eng_rule_t)r), "?");
        assert_string_not_equal(rf_eng_rule_str((rf_eng_rule_t)r), "?");
        for (int s = 0; s < r; s++) {
            assert_string_not_equal(rf_eng_rule_name((rf_eng_rule_t)r), rf_eng_rule_name((rf_eng_rule_t)s));
        }
    }
    assert_string_equal(rf_eng_rule_name(RF_ENG_END_BRICK), "END_STATE_BRICK");
    for (int w = RF_ENG_PT_OK; w <= RF_ENG_PT_BOOTLOADER_SIZE; w++) {
        assert_string_not_equal(rf_eng_pt_why_name((rf_eng_pt_why_t)w), "?");
        assert_string_not_equal(rf_eng_pt_why_str((rf_eng_pt_why_t)w), "?");
    }
    assert_string_equal(rf_eng_pt_why_name(RF_ENG_PT_MD5), "MD5");
}

/* ---- MCUboot: the fixture ------------------------------------------------------------ */

static void check_app_facts(const rf_mcuboot_info_t *i)
{
    assert_int_equal(i->err, RF_IMG_OK);
    assert_int_equal(i->magic, 0x96F3B83Du);
    assert_int_equal(i->load_addr, 0);
    assert_int_equal(i->hdr_size, 32);
    assert_int_equal(i->protect_tlv_size, 12);
    assert_int_equal(i->img_size, 0x24940);
    assert_int_equal(i->img_size, 149824);
    assert_int_equal(i->flags, 0);
    assert_int_equal(i->ver_major, 0);
    assert_int_equal(i->ver_minor, 0);
    assert_int_equal(i->ver_revision, 0);
    assert_int_equal(i->ver_build, 0);
    assert_true(i->has_prot_area);
    assert_int_equal(i->prot_off, APP_PROT_OFF);
    assert_int_equal(i->prot_magic, 0x6908);
    assert_int_equal(i->prot_tot, 12);
    assert_true(i->has_tlv_area);
    assert_int_equal(i->tlv_off, APP_TLV_OFF);
    assert_int_equal(i->tlv_magic, 0x6907);
    assert_int_equal(i->tlv_tot, 40);
    assert_int_equal(i->image_end, APP_END);
    assert_int_equal(i->tlv_count, 2);
    assert_int_equal(i->tlvs_listed, 2);
    assert_int_equal(i->tlvs[0].type, 0x50);
    assert_int_equal(i->tlvs[0].len, 4);
    assert_int_equal(i->tlvs[0].offset, APP_PROT_OFF + 8);
    assert_true(i->tlvs[0].is_protected);
    assert_true(i->has_sec_cnt);
    assert_int_equal(i->sec_cnt, 0);
    assert_int_equal(i->tlvs[1].type, 0x10);
    assert_int_equal(i->tlvs[1].len, 32);
    assert_int_equal(i->tlvs[1].offset, APP_TLV_OFF + 8);
    assert_false(i->tlvs[1].is_protected);
    assert_string_equal(rf_mcuboot_tlv_name(i->tlvs[0].type), "SEC_CNT");
    assert_string_equal(rf_mcuboot_tlv_name(i->tlvs[1].type), "SHA256");
    assert_true(i->has_sha256);
    assert_true(i->sha256_checked);
    assert_int_equal(i->hashed_len, APP_TLV_OFF);
    assert_hex(i->sha256_tlv, 32, APP_TLV_SHA);
    assert_hex(i->sha256_calc, 32, APP_TLV_SHA);
    assert_int_equal(i->sig_type, 0);
    assert_int_equal(i->sig_state, RF_SIG_STATE_ABSENT);
    assert_false(i->has_keyhash);
    assert_int_equal(i->slot_size, APP_SIZE);
    assert_int_equal(i->trailer, RF_TRAILER_MAGIC_GOOD);
    assert_int_equal(i->trailer_magic_off, 0xFFFF0);
    assert_hex(i->trailer_magic, 16, "77c295f360d2ef7f3552500f2cb67980");
    assert_int_equal(i->image_ok, 0x01);
    assert_int_equal(i->copy_done, 0xFF);
    assert_int_equal(i->swap_info, 0xFF);
    assert_int_equal(i->swap_request, RF_SWAP_REQ_PERM);
}

static void test_mcuboot_fixture_facts(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(APP_FIXTURE, &n);
    assert_int_equal(n, APP_SIZE);
    uint8_t h[32];
    rf_sha256(d, n, h);
    assert_hex(h, 32, APP_SHA256);
    /* raw bytes at the documented offsets */
    assert_int_equal(rf_le32(d), 0x96F3B83Du);
    assert_int_equal(rf_le16(d + APP_PROT_OFF), 0x6908);
    assert_int_equal(rf_le16(d + APP_TLV_OFF), 0x6907);
    rf_sha256(d, APP_TLV_OFF, h);
    assert_hex(h, 32, APP_TLV_SHA);
    assert_hex(d + APP_TLV_OFF + 8, 32, APP_TLV_SHA);
    assert_int_equal(d[0xFFFE8], 0x01);
    assert_hex(d + 0xFFFF0, 16, "77c295f360d2ef7f3552500f2cb67980");
    for (uint32_t k = APP_END; k < APP_SIZE; k++) {
        if (k == 0xFFFE8 || k >= 0xFFFF0) {
            continue;
        }
        if (d[k] != 0xFF) {
            fail_msg("byte 0x%x is 0x%02x, expected 0xFF", (unsigned)k, d[k]);
        }
    }
    assert_int_equal(nonblank_pages(d, n), 472);

    rf_mcuboot_info_t info;
    /* the slot size given (the download example's secondary slot, 0x100000) */
    assert_int_equal(mcu_check(d, n, 0x100000, 0, NULL, &info), RF_IMG_OK);
    check_app_facts(&info);
    assert_int_equal(info.file_size, APP_SIZE);
    /* or taken from the padded file */
    assert_int_equal(mcu_check(d, n, 0, 0, NULL, &info), RF_IMG_OK);
    check_app_facts(&info);
    /* the plain entry point */
    rf_reader_t r;
    rf_reader_buf_t rb;
    rf_reader_from_buffer(&r, &rb, d, n);
    assert_int_equal(rf_mcuboot_inspect(&r, 0x100000, NULL, g_scratch, RF_IMAGE_SCRATCH_MIN, &info), ESP_OK);
    check_app_facts(&info);
    /* the image alone (not padded): no trailer */
    assert_int_equal(mcu_check(d, APP_END, 0, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.trailer, RF_TRAILER_NOT_PRESENT);
    assert_int_equal(info.slot_size, 0);
    /* ... or with a slot larger than the data: the trailer is not in the data */
    assert_int_equal(mcu_check(d, APP_END, 0x100000, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.trailer, RF_TRAILER_NOT_PRESENT);
    free(d);
}

static void test_mcuboot_fixture_through_flash(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(APP_FIXTURE, &n);
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 4u << 20);
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    assert_int_equal(nor_sim_erase(sim, 0x110000, 0x100000), ESP_OK);
    assert_int_equal(nor_sim_program(sim, 0x110000, d, (uint32_t)n), ESP_OK);
    rf_flash_t flash;
    nor_sim_flash_port(sim, &flash);
    rf_reader_t r;
    rf_reader_flash_t rf;
    assert_int_equal(rf_reader_from_flash(&r, &rf, &flash, 0x110000, 0x100000), ESP_OK);
    rf_mcuboot_info_t info;
    assert_int_equal(rf_mcuboot_inspect(&r, 0x100000, NULL, g_scratch, sizeof g_scratch, &info), ESP_OK);
    check_app_facts(&info);
    nor_sim_free(sim);
    free(d);
}

static void test_mcuboot_fixture_flips(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(APP_FIXTURE, &n);
    rf_mcuboot_info_t info;
    struct {
        uint32_t at;
        rf_img_err_t expect;
    } cases[] = {
        { 0x20, RF_IMG_ERR_SHA256 },              /* first image byte */
        { 0x10000, RF_IMG_ERR_SHA256 },           /* image body */
        { APP_PROT_OFF - 1, RF_IMG_ERR_SHA256 },  /* last image byte */
        { 20, RF_IMG_ERR_SHA256 },                /* version in the header */
        { 28, RF_IMG_ERR_SHA256 },                /* header padding */
        { APP_PROT_OFF + 8, RF_IMG_ERR_SHA256 },  /* security counter value (protected) */
        { APP_TLV_OFF + 8, RF_IMG_ERR_SHA256 },   /* SHA-256 TLV value, first byte */
        { APP_END - 1, RF_IMG_ERR_SHA256 },       /* SHA-256 TLV value, last byte */
        { 0, RF_IMG_ERR_MAGIC },
        { APP_PROT_OFF, RF_IMG_ERR_TLV_MAGIC },   /* protected info magic */
        { APP_TLV_OFF + 1, RF_IMG_ERR_TLV_MAGIC },/* TLV info magic */
        { APP_PROT_OFF + 2, RF_IMG_ERR_TLV_BOUNDS },  /* protected total != ih_protect_tlv_size */
        { APP_PROT_OFF + 4, RF_IMG_ERR_SHA256 },  /* SEC_CNT type byte: an unknown TLV, hashed */
        { APP_TLV_OFF + 4, RF_IMG_ERR_NO_HASH },  /* SHA-256 TLV type byte: no hash TLV left */
        { APP_TLV_OFF + 6, RF_IMG_ERR_TLV_BOUNDS },   /* SHA-256 TLV length 33 runs past the area */
        { APP_PROT_OFF + 6, RF_IMG_ERR_TLV_BOUNDS },  /* SEC_CNT length 5 runs past the area */
        { 0xFFFF0, RF_IMG_ERR_TRAILER },          /* trailer magic, first byte */
        { 0xFFFF7, RF_IMG_ERR_TRAILER },
        { 0xFFFFF, RF_IMG_ERR_TRAILER },          /* trailer magic, last byte */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *c = dup_buf(d, n);
        c[cases[k].at] ^= 0x01;
        rf_img_err_t e = mcu_check(c, n, 0x100000, 0, NULL, &info);
        if (e != cases[k].expect) {
            fail_msg("flip at 0x%x: %s, expected %s", (unsigned)cases[k].at, rf_img_err_name(e),
                     rf_img_err_name(cases[k].expect));
        }
        if (cases[k].expect == RF_IMG_ERR_TRAILER) {
            assert_int_equal(info.trailer, RF_TRAILER_MAGIC_BAD);
            assert_int_equal(info.err_offset, 0xFFFF0);
            assert_true(info.sha256_checked);   /* everything else still checked */
        }
        free(c);
    }
    /* the trailer's other states are valid: erased magic (no swap), image_ok unset (test swap) */
    uint8_t *c = dup_buf(d, n);
    c[0xFFFE8] = 0xFF;
    assert_int_equal(mcu_check(c, n, 0x100000, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.swap_request, RF_SWAP_REQ_TEST);
    memset(c + 0xFFFF0, 0xFF, 16);
    assert_int_equal(mcu_check(c, n, 0x100000, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.trailer, RF_TRAILER_MAGIC_UNSET);
    assert_int_equal(info.swap_request, RF_SWAP_REQ_NONE);
    free(c);
    free(d);
}

/* Lengths that point outside the data or the area. */
static void test_mcuboot_fixture_hostile_lengths(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(APP_FIXTURE, &n);
    rf_mcuboot_info_t info;
    uint8_t *c;
    const size_t sizes[2] = { n, APP_END };   /* padded slot, and the image alone */
    for (int s = 0; s < 2; s++) {
        size_t len = sizes[s];
        c = dup_buf(d, n);
        put_le16(c + APP_TLV_OFF + 6, 0xFFFF);   /* SHA-256 TLV length */
        assert_int_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
        free(c);
        c = dup_buf(d, n);
        put_le16(c + APP_TLV_OFF + 2, 0xFFFF);   /* TLV area total */
        assert_int_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
        free(c);
        c = dup_buf(d, n);
        put_le16(c + APP_TLV_OFF + 2, 2);        /* TLV area total below its own header */
        assert_int_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
        free(c);
        c = dup_buf(d, n);
        put_le16(c + APP_PROT_OFF + 6, 0xFFFF);  /* SEC_CNT length */
        assert_int_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
        free(c);
        c = dup_buf(d, n);
        put_le32(c + 12, 0xFFFFFFF0u);           /* image size */
        assert_int_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_ERR_TRUNCATED);
        free(c);
        c = dup_buf(d, n);
        put_le16(c + 8, 0xFFFF);                 /* header size */
        assert_int_not_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_OK);
        free(c);
        c = dup_buf(d, n);
        put_le16(c + 10, 0xFFFF);                /* protected TLV size */
        assert_int_not_equal(mcu_check(c, len, 0, 0, NULL, &info), RF_IMG_OK);
        free(c);
    }
    c = dup_buf(d, n);
    put_le16(c + 8, 16);   /* header smaller than the header */
    assert_int_equal(mcu_check(c, n, 0, 0, NULL, &info), RF_IMG_ERR_HEADER);
    free(c);
    c = dup_buf(d, n);
    put_le16(c + 10, 2);   /* protected area smaller than its info header */
    assert_int_equal(mcu_check(c, n, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
    free(c);
    c = dup_buf(d, n);
    put_le16(c + APP_TLV_OFF + 6, 31);   /* SHA-256 TLV of the wrong length */
    assert_int_equal(mcu_check(c, n, 0, 0, NULL, &info), RF_IMG_ERR_TLV_LEN);
    free(c);
    c = dup_buf(d, n);
    put_le32(c + 16, RF_MCUBOOT_F_ENCRYPTED_AES128);
    assert_int_equal(mcu_check(c, n, 0, 0, NULL, &info), RF_IMG_ERR_ENCRYPTED);
    free(c);
    free(d);
}

static void test_mcuboot_fixture_slot_and_truncation(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *d = tl_read_shared(APP_FIXTURE, &n);
    rf_mcuboot_info_t info;
    /* too big for its slot */
    assert_int_equal(mcu_check(d, APP_END, 0x20000, 0, NULL, &info), RF_IMG_ERR_SLOT_SIZE);
    assert_int_equal(info.err_offset, APP_END);
    assert_int_equal(mcu_check(d, APP_END, APP_END + 47, 0, NULL, &info), RF_IMG_ERR_SLOT_SIZE);
    assert_int_equal(mcu_check(d, APP_END, APP_END + 48, 0, NULL, &info), RF_IMG_OK);   /* exactly fits */
    /* the padded file is larger than the slot */
    assert_int_equal(mcu_check(d, n, 0x80000, 0, NULL, &info), RF_IMG_ERR_SLOT_SIZE);
    /* a trailer reserve (swap status area) that leaves no room */
    assert_int_equal(mcu_check(d, n, 0x100000, 0x100000 - APP_END + 1, NULL, &info), RF_IMG_ERR_SLOT_SIZE);
    assert_int_equal(mcu_check(d, n, 0x100000, 0x100000 - APP_END, NULL, &info), RF_IMG_OK);
    assert_int_equal(mcu_check(d, n, 0x100000, 24 * 256 + 48, NULL, &info), RF_IMG_OK);

    /* truncated */
    const uint32_t cuts[] = { 0, 3, 4, 31, 0x100, 0x24000, APP_PROT_OFF, APP_PROT_OFF + 2, APP_TLV_OFF,
                              APP_TLV_OFF + 3 };
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        assert_int_equal(mcu_check(d, cuts[k], 0, 0, NULL, &info), RF_IMG_ERR_TRUNCATED);
    }
    /* cut inside the TLV area: its length points past the data */
    assert_int_equal(mcu_check(d, APP_END - 1, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
    assert_int_equal(mcu_check(d, APP_TLV_OFF + 10, 0, 0, NULL, &info), RF_IMG_ERR_TLV_BOUNDS);
    free(d);
}

/* Every single changed byte of a (small, generated) image is caught. */
static void test_mcuboot_every_byte(void **state)
{
    (void)state;
    rf_mcuboot_gen_t g = { .payload_size = 1500, .seed = 4, .ver_major = 1, .ver_minor = 2, .ver_rev = 3 };
    uint8_t *img = NULL;
    size_t n = rf_gen_mcuboot_image(&g, &img);
    assert_true(n > 0);
    rf_mcuboot_info_t info;
    assert_int_equal(mcu_check(img, n, 0, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.ver_major, 1);
    assert_int_equal(info.ver_minor, 2);
    assert_int_equal(info.ver_revision, 3);
    for (size_t k = 0; k < n; k++) {
        for (int bit = 0; bit < 8; bit += 3) {
            img[k] ^= (uint8_t)(1u << bit);
            if (mcu_err_of(img, n, 0) == RF_IMG_OK) {
                fail_msg("flip of bit %d at 0x%zx not detected", bit, k);
            }
            img[k] ^= (uint8_t)(1u << bit);
        }
    }
    /* random hostile headers and TLV info: no crash (ASan) */
    uint32_t x = 99;
    for (int it = 0; it < 3000; it++) {
        uint8_t *c = dup_buf(img, n);
        for (int f = 0; f < 3; f++) {
            x = x * 1103515245u + 12345u;
            uint32_t pos = (x >> 8) % 32;
            if (x & 0x80000000u) {
                pos = 32 + 1500 + ((x >> 8) % 60);   /* the TLV areas */
            }
            x = x * 1103515245u + 12345u;
            if (pos < n) {
                c[pos] = (uint8_t)(x >> 16);
            }
        }
        x = x * 1103515245u + 12345u;
        size_t len = (x & 3) == 0 ? (x >> 4) % (n + 1) : n;
        (void)mcu_err_of(c, len, (x & 4) ? (uint32_t)len : 0);
        free(c);
    }
    free(img);
}

/* ---- signatures ------------------------------------------------------------------------ */

static char g_dir[512];

static void need_openssl(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        print_message("openssl is not available: skipping\n");
        skip();
    }
}

static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fail_msg("command failed: %s", cmd);
    }
}

static uint8_t *read_in_dir(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    uint8_t *b = tl_read_file(path, len);
    assert_non_null(b);
    return b;
}

static void write_in_dir(const char *name, const void *d, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static rf_sig_key_t load_key_file(const char *name)
{
    size_t n = 0;
    uint8_t *b = read_in_dir(name, &n);
    rf_sig_key_t k;
    esp_err_t e = rf_sig_load_key(b, n, &k);
    if (e != ESP_OK) {
        fail_msg("cannot load key %s: 0x%x", name, e);
    }
    free(b);
    return k;
}

/* An MCUboot image built here: header, payload, protected SEC_CNT, then the
 * TLV area with SHA-256, optional KEYHASH and optional signature. */
typedef struct {
    uint8_t *b;
    size_t len;
    uint32_t hashed;
    uint8_t hash[32];
} built_t;

static built_t build_body(uint32_t payload)
{
    built_t m = { 0 };
    m.hashed = 32 + payload + 12;
    m.b = calloc(1, m.hashed + 1024);
    assert_non_null(m.b);
    put_le32(m.b, RF_MCUBOOT_MAGIC);
    put_le16(m.b + 8, 32);
    put_le16(m.b + 10, 12);
    put_le32(m.b + 12, payload);
    m.b[20] = 2;   /* version 2.1.7+9 */
    m.b[21] = 1;
    put_le16(m.b + 22, 7);
    put_le32(m.b + 24, 9);
    for (uint32_t k = 0; k < payload; k++) {
        m.b[32 + k] = (uint8_t)(k * 7 + 3);
    }
    uint8_t *p = m.b + 32 + payload;
    put_le16(p, 0x6908);
    put_le16(p + 2, 12);
    put_le16(p + 4, RF_TLV_SEC_CNT);
    put_le16(p + 6, 4);
    put_le32(p + 8, 5);
    rf_sha256(m.b, m.hashed, m.hash);
    return m;
}

static void build_finish(built_t *m, const uint8_t *keyhash, uint16_t sig_type, const uint8_t *sig, size_t sig_len)
{
    uint8_t *p = m->b + m->hashed;
    size_t off = 4;
    put_le16(p + off, RF_TLV_SHA256);
    put_le16(p + off + 2, 32);
    memcpy(p + off + 4, m->hash, 32);
    off += 36;
    if (keyhash != NULL) {
        put_le16(p + off, RF_TLV_KEYHASH);
        put_le16(p + off + 2, 32);
        memcpy(p + off + 4, keyhash, 32);
        off += 36;
    }
    if (sig_type != 0) {
        put_le16(p + off, sig_type);
        put_le16(p + off + 2, (uint16_t)sig_len);
        memcpy(p + off + 4, sig, sig_len);
        off += 4 + sig_len;
    }
    put_le16(p, 0x6907);
    put_le16(p + 2, (uint16_t)off);
    m->len = m->hashed + off;
}

static uint8_t *sign_with(const char *key, const char *hash_file, const char *out, bool rawin, size_t *len)
{
    run("openssl pkeyutl -sign %s -inkey %s/%s -in %s/%s -out %s/%s 2>/dev/null", rawin ? "-rawin" : "", g_dir, key,
        g_dir, hash_file, g_dir, out);
    return read_in_dir(out, len);
}

static void test_sig_ecdsa_p256(void **state)
{
    (void)state;
    need_openssl();
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    run("cd %s && openssl ecparam -name prime256v1 -genkey -noout -out a.pem 2>/dev/null"
        " && openssl ec -in a.pem -pubout -out a.pub.pem 2>/dev/null"
        " && openssl ec -in a.pem -pubout -outform DER -out a.pub.der 2>/dev/null"
        " && openssl pkcs8 -topk8 -nocrypt -in a.pem -out a.p8.pem 2>/dev/null"
        " && openssl ecparam -name prime256v1 -genkey -noout -out b.pem 2>/dev/null"
        " && openssl ec -in b.pem -pubout -out b.pub.pem 2>/dev/null",
        g_dir);
    rf_sig_key_t ka = load_key_file("a.pub.pem");
    rf_sig_key_t kb = load_key_file("b.pub.pem");
    assert_int_equal(ka.alg, RF_SIG_ECDSA_P256);
    size_t dn = 0;
    uint8_t *der = read_in_dir("a.pub.der", &dn);
    assert_int_equal(dn, ka.spki_len);
    assert_memory_equal(der, ka.spki, dn);   /* what MCUboot embeds and hashes */
    /* the same key as DER, as a raw point, and from the private key (SEC1 and PKCS#8) */
    rf_sig_key_t k2;
    assert_int_equal(rf_sig_load_key(der, dn, &k2), ESP_OK);
    assert_memory_equal(k2.spki, ka.spki, ka.spki_len);
    assert_int_equal(rf_sig_load_key(der + dn - 65, 65, &k2), ESP_OK);
    assert_memory_equal(k2.spki, ka.spki, ka.spki_len);
    k2 = load_key_file("a.pem");
    assert_memory_equal(k2.spki, ka.spki, ka.spki_len);
    k2 = load_key_file("a.p8.pem");
    assert_memory_equal(k2.spki, ka.spki, ka.spki_len);
    /* not keys */
    assert_int_equal(rf_sig_load_key((const uint8_t *)"hello", 5, &k2), ESP_ERR_INVALID_ARG);
    uint8_t bad_point[65];
    memset(bad_point, 0x11, sizeof bad_point);
    bad_point[0] = 0x04;
    assert_int_equal(rf_sig_load_key(bad_point, sizeof bad_point, &k2), ESP_ERR_INVALID_ARG);

    /* the image, signed by a (openssl signs the 32 bytes as a digest) */
    built_t m = build_body(3000);
    write_in_dir("hash.bin", m.hash, 32);
    size_t sl = 0;
    uint8_t *sig = sign_with("a.pem", "hash.bin", "sig.der", false, &sl);
    assert_true(sl >= 8 && sl <= 72 && sig[0] == 0x30);
    uint8_t keyhash[32];
    rf_sha256(der, dn, keyhash);
    build_finish(&m, keyhash, RF_TLV_ECDSA_SIG, sig, sl);

    rf_mcuboot_info_t info;
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.sig_type, 0x22);
    assert_int_equal(info.sig_len, sl);
    assert_int_equal(info.sig_state, RF_SIG_STATE_NOT_CHECKED);
    assert_true(info.has_keyhash);
    assert_int_equal(info.keyhash_state, RF_KEYHASH_NOT_CHECKED);
    assert_int_equal(info.sec_cnt, 5);
    assert_int_equal(info.ver_build, 9);
    /* the right key: OK */
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ka, &info), RF_IMG_OK);
    assert_int_equal(info.sig_state, RF_SIG_STATE_OK);
    assert_int_equal(info.keyhash_state, RF_KEYHASH_MATCH);
    /* another key: BAD */
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &kb, &info), RF_IMG_ERR_SIGNATURE);
    assert_int_equal(info.sig_state, RF_SIG_STATE_BAD);
    assert_int_equal(info.keyhash_state, RF_KEYHASH_MISMATCH);
    /* a flipped signature byte (the last byte of s): BAD */
    uint32_t sig_off = info.sig_offset;
    m.b[sig_off + sl - 1] ^= 1;
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ka, &info), RF_IMG_ERR_SIGNATURE);
    m.b[sig_off + sl - 1] ^= 1;
    /* a flipped payload byte: the hash fails first, and the signature with it */
    m.b[100] ^= 1;
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ka, &info), RF_IMG_ERR_SHA256);
    assert_int_equal(info.sig_state, RF_SIG_STATE_BAD);
    m.b[100] ^= 1;
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ka, &info), RF_IMG_OK);

    /* the direct API; a zero-padded DER signature; a raw r || s signature */
    assert_int_equal(rf_sig_verify(RF_SIG_ECDSA_P256, der, dn, m.hash, sig, sl), ESP_OK);
    uint8_t padded[72] = { 0 };
    memcpy(padded, sig, sl);
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, m.hash, padded, sizeof padded), ESP_OK);
    uint8_t rs[64] = { 0 };
    {
        const uint8_t *p = sig + 2;   /* SEQUENCE { INTEGER r, INTEGER s } */
        for (int k = 0; k < 2; k++) {
            assert_int_equal(p[0], 0x02);
            size_t il = p[1];
            const uint8_t *v = p + 2;
            while (il > 32) {
                v++;
                il--;
            }
            memcpy(rs + 32 * k + (32 - il), v, il);
            p += 2 + p[1];
        }
    }
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, m.hash, rs, 64), ESP_OK);
    assert_int_equal(rf_sig_verify_key(&kb, RF_SIG_ECDSA_P256, m.hash, rs, 64), ESP_ERR_INVALID_CRC);
    uint8_t other_hash[32];
    memcpy(other_hash, m.hash, 32);
    other_hash[0] ^= 1;
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, other_hash, sig, sl), ESP_ERR_INVALID_CRC);
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, m.hash, sig, 3), ESP_ERR_INVALID_CRC);
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ED25519, m.hash, sig, sl), ESP_ERR_INVALID_ARG);

    /* an unsigned image when a key is required */
    built_t u = build_body(500);
    build_finish(&u, NULL, 0, NULL, 0);
    assert_int_equal(mcu_check(u.b, u.len, 0, 0, NULL, &info), RF_IMG_OK);
    assert_int_equal(info.sig_state, RF_SIG_STATE_ABSENT);
    assert_int_equal(mcu_check(u.b, u.len, 0, 0, &ka, &info), RF_IMG_ERR_UNSIGNED);

    /* two SHA-256 TLVs */
    built_t t = build_body(100);
    build_finish(&t, NULL, RF_TLV_SHA256, t.hash, 32);
    assert_int_equal(mcu_check(t.b, t.len, 0, 0, NULL, &info), RF_IMG_ERR_TLV_DUP);

    free(m.b);
    free(u.b);
    free(t.b);
    free(sig);
    free(der);
}

/* RFC 8032 section 7.1, tests 1 and 2. */
static void hex_to(const char *h, uint8_t *out)
{
    for (size_t k = 0; h[2 * k]; k++) {
        unsigned v;
        sscanf(h + 2 * k, "%2x", &v);
        out[k] = (uint8_t)v;
    }
}

static void test_sig_ed25519_rfc8032(void **state)
{
    (void)state;
    uint8_t pub[32], sig[64], msg[1];
    hex_to("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub);
    hex_to("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
           sig);
    assert_int_equal(rf_ed25519_verify(pub, NULL, 0, sig), ESP_OK);
    sig[63] ^= 0x01;
    assert_int_equal(rf_ed25519_verify(pub, NULL, 0, sig), ESP_ERR_INVALID_CRC);
    hex_to("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", pub);
    hex_to("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
           sig);
    msg[0] = 0x72;
    assert_int_equal(rf_ed25519_verify(pub, msg, 1, sig), ESP_OK);
    msg[0] = 0x73;
    assert_int_equal(rf_ed25519_verify(pub, msg, 1, sig), ESP_ERR_INVALID_CRC);
    msg[0] = 0x72;
    sig[10] ^= 0x40;   /* R changed */
    assert_int_equal(rf_ed25519_verify(pub, msg, 1, sig), ESP_ERR_INVALID_CRC);
    sig[10] ^= 0x40;
    sig[63] |= 0xF0;   /* S >= L */
    assert_int_equal(rf_ed25519_verify(pub, msg, 1, sig), ESP_ERR_INVALID_CRC);
    /* the public key derived from test 1's private seed (PKCS#8 DER) */
    uint8_t p8[48] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
    hex_to("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", p8 + 16);
    rf_sig_key_t k;
    assert_int_equal(rf_sig_load_key(p8, sizeof p8, &k), ESP_OK);
    assert_int_equal(k.alg, RF_SIG_ED25519);
    assert_hex(k.raw, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

static void test_sig_ed25519_mcuboot(void **state)
{
    (void)state;
    need_openssl();
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    run("cd %s && openssl genpkey -algorithm ed25519 -out e.pem 2>/dev/null"
        " && openssl pkey -in e.pem -pubout -out e.pub.pem 2>/dev/null"
        " && openssl genpkey -algorithm ed25519 -out f.pem 2>/dev/null"
        " && openssl pkey -in f.pem -pubout -out f.pub.pem 2>/dev/null"
        " && openssl ecparam -name prime256v1 -genkey -noout -out a.pem 2>/dev/null",
        g_dir);
    rf_sig_key_t ke = load_key_file("e.pub.pem");
    rf_sig_key_t kf = load_key_file("f.pub.pem");
    rf_sig_key_t ke_priv = load_key_file("e.pem");
    rf_sig_key_t ka = load_key_file("a.pem");
    assert_int_equal(ke.alg, RF_SIG_ED25519);
    assert_memory_equal(ke_priv.spki, ke.spki, ke.spki_len);

    built_t m = build_body(2000);
    write_in_dir("hash.bin", m.hash, 32);
    size_t sl = 0;
    uint8_t *sig = sign_with("e.pem", "hash.bin", "sig.bin", true, &sl);
    assert_int_equal(sl, 64);
    assert_int_equal(rf_ed25519_verify(ke.raw, m.hash, 32, sig), ESP_OK);
    build_finish(&m, NULL, RF_TLV_ED25519, sig, sl);
    rf_mcuboot_info_t info;
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ke, &info), RF_IMG_OK);
    assert_int_equal(info.sig_state, RF_SIG_STATE_OK);
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &kf, &info), RF_IMG_ERR_SIGNATURE);
    assert_int_equal(info.sig_state, RF_SIG_STATE_BAD);
    /* a key of the other algorithm cannot check this signature */
    assert_int_equal(mcu_check(m.b, m.len, 0, 0, &ka, &info), RF_IMG_ERR_SIG_UNSUPPORTED);
    assert_int_equal(info.sig_state, RF_SIG_STATE_UNSUPPORTED);
    /* more openssl signatures over other messages */
    for (int k = 0; k < 8; k++) {
        uint8_t msg[32];
        for (int j = 0; j < 32; j++) {
            msg[j] = (uint8_t)(k * 31 + j * 7);
        }
        write_in_dir("m.bin", msg, 32);
        size_t l2 = 0;
        uint8_t *s2 = sign_with("e.pem", "m.bin", "s2.bin", true, &l2);
        assert_int_equal(rf_sig_verify(RF_SIG_ED25519, ke.raw, 32, msg, s2, l2), ESP_OK);
        assert_int_equal(rf_sig_verify_key(&kf, RF_SIG_ED25519, msg, s2, l2), ESP_ERR_INVALID_CRC);
        free(s2);
    }
    free(sig);
    free(m.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_esp_fixture_facts),
        cmocka_unit_test(test_esp_fixture_through_flash),
        cmocka_unit_test(test_esp_fixture_segment_flips),
        cmocka_unit_test(test_esp_fixture_checksum_and_hash_flips),
        cmocka_unit_test(test_esp_fixture_chip_id),
        cmocka_unit_test(test_esp_fixture_truncated),
        cmocka_unit_test(test_esp_fixture_bad_fields),
        cmocka_unit_test(test_esp_fixture_every_byte),
        cmocka_unit_test(test_esp_random_garbage),
        cmocka_unit_test(test_esp_generated_app),
        cmocka_unit_test(test_esp_without_hash),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_verdict_strings),
        cmocka_unit_test(test_mcuboot_fixture_facts),
        cmocka_unit_test(test_mcuboot_fixture_through_flash),
        cmocka_unit_test(test_mcuboot_fixture_flips),
        cmocka_unit_test(test_mcuboot_fixture_hostile_lengths),
        cmocka_unit_test(test_mcuboot_fixture_slot_and_truncation),
        cmocka_unit_test(test_mcuboot_every_byte),
        cmocka_unit_test(test_sig_ecdsa_p256),
        cmocka_unit_test(test_sig_ed25519_rfc8032),
        cmocka_unit_test(test_sig_ed25519_mcuboot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
