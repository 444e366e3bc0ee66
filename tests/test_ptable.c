/*
 * ESP-IDF partition table: binary parse/serialize (core/src/rf_ptable.c) and
 * the partitions.csv reader (host/src/ptable_csv.c). The seed tests read
 * ../shared/seeds (skipped when it is absent); everything else is
 * self-contained.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/md5.h"
#include "mbedtls/version.h"
#include "nor_sim.h"
#include "ptable_csv.h"
#include "rf_crypto.h"
#include "rf_ptable.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

#define SEED_DOWNLOAD "seeds/boot_swap_download_example-partitions.csv"
#define SEED_EMBEDDED "seeds/boot_swap_embedded_example-partitions.csv"

/* The download example's table, written independently of the code under
 * test (same content as the seed CSV, spelled with explicit offsets). */
static const char *const DOWNLOAD_CSV =
    "nvs,      data, nvs,     0x9000,   0x4000,\n"
    "otadata,  data, ota,     0xd000,   0x2000,\n"
    "phy_init, data, phy,     0xf000,   0x1000,\n"
    "factory,  app,  factory, 0x10000,  0x100000,\n"
    "ota_0,    app,  ota_0,   0x110000, 0x100000,\n"
    "ota_1,    app,  ota_1,   0x210000, 0x100000,\n";

/* MD5 of those six entries and SHA-256 of the whole 0xC00-byte image with
 * the MD5 entry, computed outside this project (Python struct + hashlib from
 * the documented entry layout). */
static const char *const DOWNLOAD_ENTRIES_MD5 = "bf25822c0fa6d8641bd930251e06b4c4";
static const char *const DOWNLOAD_IMAGE_SHA256 =
    "d1c0e9d02fa9d26cd2e1984e7b5dd20157204f501ddc83ce82229e5f3175ee8b";

/* ---- helpers --------------------------------------------------------------- */

static rf_ptable_t *new_table(void)
{
    rf_ptable_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    return t;
}

/* A seed file as a NUL-terminated string. */
static char *read_seed(const char *rel)
{
    size_t len = 0;
    uint8_t *raw = tl_read_shared(rel, &len);
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, raw, len);
    s[len] = 0;
    free(raw);
    return s;
}

static void assert_part(const rf_ptable_t *t, const char *label, uint8_t type, uint8_t subtype, uint32_t off,
                        uint32_t size)
{
    const rf_part_t *p = rf_ptable_find_label(t, label);
    if (p == NULL) {
        fail_msg("no partition '%s'", label);
    }
    assert_int_equal(p->type, type);
    assert_int_equal(p->subtype, subtype);
    assert_int_equal(p->offset, off);
    assert_int_equal(p->size, size);
}

static void parse_csv_ok(const char *csv, uint32_t table_offset, uint32_t flash_size, rf_ptable_t *t)
{
    char err[256] = "unset";
    esp_err_t e = ptable_csv_parse(csv, table_offset, flash_size, t, err, sizeof err);
    if (e != ESP_OK) {
        fail_msg("ptable_csv_parse: %s (%s)", esp_err_to_name(e), err);
    }
    assert_string_equal(err, "");
}

/* Expect a CSV error: the code, and a message naming `line` (0: no line)
 * and containing `needle`. */
static void expect_csv_error(const char *csv, uint32_t flash_size, esp_err_t want, unsigned line,
                             const char *needle)
{
    rf_ptable_t *t = new_table();
    char err[256] = "";
    esp_err_t e = ptable_csv_parse(csv, 0, flash_size, t, err, sizeof err);
    if (e != want) {
        fail_msg("expected %s, got %s (%s) for:\n%s", esp_err_to_name(want), esp_err_to_name(e), err, csv);
    }
    assert_int_equal(t->count, 0);
    if (line != 0) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "line %u: ", line);
        if (strncmp(err, prefix, strlen(prefix)) != 0) {
            fail_msg("message '%s' does not start with '%s'", err, prefix);
        }
    }
    if (needle != NULL && strstr(err, needle) == NULL) {
        fail_msg("message '%s' does not mention '%s'", err, needle);
    }
    free(t);
}

/* MD5 straight from mbedTLS, not through rf_crypto. */
static void mbedtls_md5_direct(const uint8_t *data, size_t len, uint8_t out[16])
{
#if MBEDTLS_VERSION_MAJOR < 3
    assert_int_equal(mbedtls_md5_ret(data, len, out), 0);
#else
    assert_int_equal(mbedtls_md5(data, len, out), 0);
#endif
}

/* Serialize `csv` (with the MD5 entry) into a fresh 0xC00 buffer. */
static uint8_t *image_of(const char *csv, bool with_md5, uint32_t *count)
{
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, 0, 0, t);
    uint8_t *img = malloc(RF_PTABLE_MAX_LEN);
    assert_non_null(img);
    assert_int_equal(rf_ptable_serialize(t, with_md5, img, RF_PTABLE_MAX_LEN), ESP_OK);
    if (count) {
        *count = t->count;
    }
    free(t);
    return img;
}

/* A heap copy of exactly len bytes, so that AddressSanitizer catches any
 * read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    return p;
}

static esp_err_t parse_exact(const uint8_t *src, size_t len, rf_ptable_t *t)
{
    uint8_t *p = exact_copy(src, len);
    esp_err_t e = rf_ptable_parse(p, len, t);
    free(p);
    return e;
}

static void put_entry(uint8_t *e, uint8_t type, uint8_t subtype, uint32_t off, uint32_t size, const char *label)
{
    rf_part_t p;
    memset(&p, 0, sizeof p);
    p.type = type;
    p.subtype = subtype;
    p.offset = off;
    p.size = size;
    snprintf(p.label, sizeof p.label, "%s", label);
    rf_part_encode(&p, e);
}

/* ---- the seeds --------------------------------------------------------------- */

static void test_seed_download(void **state)
{
    (void)state;
    char *csv = read_seed(SEED_DOWNLOAD);
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, RF_PTABLE_OFFSET_DEFAULT, 4 * MIB, t);
    assert_int_equal(t->count, 6);
    assert_part(t, "nvs", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_NVS, 0x9000, 0x4000);
    assert_part(t, "otadata", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_OTA, 0xd000, 0x2000);
    assert_part(t, "phy_init", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_PHY, 0xf000, 0x1000);
    assert_part(t, "factory", RF_PART_TYPE_APP, RF_PART_SUBTYPE_FACTORY, 0x10000, 0x100000);
    assert_part(t, "ota_0", RF_PART_TYPE_APP, RF_PART_SUBTYPE_OTA_MIN, 0x110000, 0x100000);
    assert_part(t, "ota_1", RF_PART_TYPE_APP, RF_PART_SUBTYPE_OTA_MIN + 1, 0x210000, 0x100000);
    assert_null(rf_ptable_find_label(t, "storage"));
    assert_null(rf_ptable_find_label(t, "#storage"));
    /* In file order. */
    assert_string_equal(t->parts[0].label, "nvs");
    assert_string_equal(t->parts[5].label, "ota_1");
    for (uint32_t i = 0; i < t->count; i++) {
        assert_int_equal(t->parts[i].flags, 0);
    }
    assert_false(t->has_md5);
    assert_int_equal(rf_ptable_check(t, 0, 4 * MIB, NULL), ESP_OK);

    /* Same table as the independent spelling, and the same image bytes. */
    uint8_t img[RF_PTABLE_MAX_LEN], sha[RF_SHA256_LEN];
    char hex[2 * RF_SHA256_LEN + 1];
    assert_int_equal(rf_ptable_serialize(t, true, img, sizeof img), ESP_OK);
    rf_sha256(img, sizeof img, sha);
    tl_hex(sha, sizeof sha, hex);
    assert_string_equal(hex, DOWNLOAD_IMAGE_SHA256);

    /* The default table offset (0) gives the same result. */
    rf_ptable_t *t2 = new_table();
    parse_csv_ok(csv, 0, 0, t2);
    assert_memory_equal(t->parts, t2->parts, sizeof t->parts);
    free(t2);
    free(t);
    free(csv);
}

static void test_seed_embedded(void **state)
{
    (void)state;
    char *csv = read_seed(SEED_EMBEDDED);
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, RF_PTABLE_OFFSET_DEFAULT, 4 * MIB, t);
    assert_int_equal(t->count, 5);
    assert_part(t, "nvs", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_NVS, 0x9000, 0x4000);
    assert_part(t, "otadata", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_OTA, 0xd000, 0x2000);
    assert_part(t, "phy_init", RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_PHY, 0xf000, 0x1000);
    assert_part(t, "factory", RF_PART_TYPE_APP, RF_PART_SUBTYPE_FACTORY, 0x10000, 0x200000);
    assert_part(t, "ota_0", RF_PART_TYPE_APP, RF_PART_SUBTYPE_OTA_MIN, 0x210000, 0x180000);
    assert_null(rf_ptable_find_label(t, "ota_1"));
    assert_null(rf_ptable_find(t, RF_PART_TYPE_APP, RF_PART_SUBTYPE_OTA_MIN + 1));
    /* The embedded example's reflashing image sits inside factory. */
    const rf_part_t *p = rf_ptable_find_addr(t, 0x14294);
    assert_non_null(p);
    assert_string_equal(p->label, "factory");
    /* 0x390000 is the end: 2 MiB flash is too small. */
    rf_ptable_t *t2 = new_table();
    char err[256];
    assert_int_equal(ptable_csv_parse(csv, 0, 2 * MIB, t2, err, sizeof err), ESP_ERR_INVALID_SIZE);
    assert_non_null(strstr(err, "line 5: "));
    assert_non_null(strstr(err, "factory"));
    free(t2);
    free(t);
    free(csv);
}

static void test_seed_load_file(void **state)
{
    (void)state;
    if (tl_shared_dir() == NULL) {
        skip();
    }
    rf_ptable_t *t = new_table();
    char err[256];
    assert_int_equal(ptable_csv_load(tl_shared_path(SEED_DOWNLOAD), 0, 4 * MIB, t, err, sizeof err), ESP_OK);
    assert_int_equal(t->count, 6);
    assert_part(t, "ota_1", RF_PART_TYPE_APP, 0x11, 0x210000, 0x100000);

    assert_int_equal(ptable_csv_load("/nonexistent/partitions.csv", 0, 0, t, err, sizeof err),
                     ESP_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "/nonexistent/partitions.csv"));
    assert_int_equal(ptable_csv_load(NULL, 0, 0, t, err, sizeof err), ESP_ERR_INVALID_ARG);
    free(t);
}

/* ---- binary format ------------------------------------------------------------ */

static void test_entry_layout(void **state)
{
    (void)state;
    uint8_t e[RF_PTABLE_ENTRY_LEN];
    rf_part_t p;
    memset(&p, 0, sizeof p);
    p.type = 0x01;
    p.subtype = 0x82;
    p.offset = 0x00123000;
    p.size = 0x00045000;
    p.flags = RF_PART_FLAG_ENCRYPTED | RF_PART_FLAG_READONLY;
    strcpy(p.label, "storage");
    rf_part_encode(&p, e);
    static const uint8_t want[RF_PTABLE_ENTRY_LEN] = {
        0xAA, 0x50, 0x01, 0x82, 0x00, 0x30, 0x12, 0x00, 0x00, 0x50, 0x04, 0x00,
        's', 't', 'o', 'r', 'a', 'g', 'e', 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x03, 0x00, 0x00, 0x00,
    };
    assert_memory_equal(e, want, sizeof want);

    /* A 16-character label fills the field with no NUL. */
    strcpy(p.label, "0123456789abcdef");
    rf_part_encode(&p, e);
    assert_memory_equal(e + 12, "0123456789abcdef", 16);
    assert_int_equal(e[28], 0x03);
}

static void test_roundtrip(void **state)
{
    (void)state;
    static const char *const csv =
        "# every kind of field\n"
        "nvs,              data, nvs,      ,        24K,\n"
        "otadata,          data, ota,      ,        8K,    encrypted\n"
        "factory,          app,  factory,  ,        1M,\n"
        "ota_15,           app,  ota_15,   ,        0x100000, encrypted:readonly\n"
        "tst,              app,  test,     ,        64K,\n"
        "custom,           0x40, 0x01,     ,        4K,    readonly\n"
        "0123456789abcdef, data, littlefs, ,        0x20000,\n"
        "fat,              data, fat,      ,        128K,\n";
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, 0, 0, t);
    assert_int_equal(t->count, 8);

    for (int md5 = 0; md5 <= 1; md5++) {
        uint8_t img[RF_PTABLE_MAX_LEN + 64];
        memset(img, 0x5A, sizeof img);
        assert_int_equal(rf_ptable_serialize(t, md5 != 0, img, sizeof img), ESP_OK);
        /* 0xFF after the entries (and the MD5 entry), to the end of buf. */
        size_t used = (t->count + (md5 ? 1u : 0u)) * RF_PTABLE_ENTRY_LEN;
        for (size_t i = used; i < sizeof img; i++) {
            assert_int_equal(img[i], 0xFF);
        }
        rf_ptable_t *back = new_table();
        assert_int_equal(parse_exact(img, RF_PTABLE_MAX_LEN, back), ESP_OK);
        assert_int_equal(back->count, t->count);
        assert_int_equal(back->has_md5, md5 != 0);
        assert_int_equal(back->md5_ok, md5 != 0);
        for (uint32_t i = 0; i < t->count; i++) {
            const rf_part_t *a = &t->parts[i], *b = &back->parts[i];
            assert_int_equal(a->type, b->type);
            assert_int_equal(a->subtype, b->subtype);
            assert_int_equal(a->offset, b->offset);
            assert_int_equal(a->size, b->size);
            assert_int_equal(a->flags, b->flags);
            assert_string_equal(a->label, b->label);
        }
        /* Serializing the parsed table gives the same bytes. */
        uint8_t img2[RF_PTABLE_MAX_LEN];
        assert_int_equal(rf_ptable_serialize(back, md5 != 0, img2, sizeof img2), ESP_OK);
        assert_memory_equal(img, img2, sizeof img2);
        free(back);
    }
    assert_int_equal(rf_ptable_check(t, 0, 4 * MIB, NULL), ESP_OK);
    free(t);
}

static void test_serialize_args(void **state)
{
    (void)state;
    rf_ptable_t *t = new_table();
    parse_csv_ok(DOWNLOAD_CSV, 0, 0, t);
    uint8_t img[RF_PTABLE_MAX_LEN];
    assert_int_equal(rf_ptable_serialize(t, true, img, sizeof img - 1), ESP_ERR_INVALID_SIZE);
    assert_int_equal(rf_ptable_serialize(NULL, true, img, sizeof img), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_ptable_serialize(t, true, NULL, sizeof img), ESP_ERR_INVALID_ARG);
    t->count = RF_PTABLE_MAX_PARTS + 1;
    assert_int_equal(rf_ptable_serialize(t, true, img, sizeof img), ESP_ERR_INVALID_ARG);

    /* A full table (95 partitions) still has room for its MD5 entry. */
    t->count = RF_PTABLE_MAX_PARTS;
    for (uint32_t i = 0; i < t->count; i++) {
        rf_part_t *p = &t->parts[i];
        memset(p, 0, sizeof *p);
        p->type = RF_PART_TYPE_DATA;
        p->subtype = RF_PART_SUBTYPE_DATA_NVS;
        p->offset = 0x10000 + i * 0x1000;
        p->size = 0x1000;
        snprintf(p->label, sizeof p->label, "p%u", (unsigned)i);
    }
    assert_int_equal(rf_ptable_serialize(t, true, img, sizeof img), ESP_OK);
    assert_int_equal(img[RF_PTABLE_MAX_PARTS * 32], 0xEB);
    rf_ptable_t *back = new_table();
    assert_int_equal(parse_exact(img, sizeof img, back), ESP_OK);
    assert_int_equal(back->count, RF_PTABLE_MAX_PARTS);
    assert_true(back->has_md5 && back->md5_ok);
    assert_string_equal(back->parts[94].label, "p94");
    free(back);
    free(t);
}

static void test_md5_entry(void **state)
{
    (void)state;
    uint32_t n = 0;
    uint8_t *img = image_of(DOWNLOAD_CSV, true, &n);
    assert_int_equal(n, 6);
    const uint8_t *e = img + n * RF_PTABLE_ENTRY_LEN;
    assert_int_equal(e[0], 0xEB);
    assert_int_equal(e[1], 0xEB);
    for (int i = 2; i < 16; i++) {
        assert_int_equal(e[i], 0xFF);
    }
    /* Against mbedTLS called directly ... */
    uint8_t want[16];
    mbedtls_md5_direct(img, n * RF_PTABLE_ENTRY_LEN, want);
    assert_memory_equal(e + 16, want, 16);
    /* ... and against a digest computed outside the project. */
    char hex[33];
    tl_hex(e + 16, 16, hex);
    assert_string_equal(hex, DOWNLOAD_ENTRIES_MD5);
    /* The entry after the MD5 entry is the blank end marker. */
    for (int i = 0; i < 32; i++) {
        assert_int_equal(e[32 + i], 0xFF);
    }
    /* Known MD5 vector through rf_md5 (RFC 1321: "abc"). */
    uint8_t d[16];
    rf_md5("abc", 3, d);
    tl_hex(d, 16, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    free(img);
}

static void test_md5_corruption(void **state)
{
    (void)state;
    uint32_t n = 0;
    uint8_t *img = image_of(DOWNLOAD_CSV, true, &n);
    rf_ptable_t *t = new_table();

    /* A flipped bit in a partition's size: entries returned, md5_ok false. */
    uint8_t *bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    bad[3 * 32 + 10] ^= 0x01;   /* factory's size, byte 2 */
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_CRC);
    assert_int_equal(t->count, 6);
    assert_true(t->has_md5);
    assert_false(t->md5_ok);
    assert_int_equal(t->parts[3].size, 0x110000);
    free(bad);

    /* A changed label byte. */
    bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    bad[0 * 32 + 12] = 'N';
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_CRC);
    assert_string_equal(t->parts[0].label, "Nvs");
    free(bad);

    /* A corrupted digest. */
    bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    bad[n * 32 + 31] ^= 0x80;
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_CRC);
    assert_int_equal(t->count, 6);
    free(bad);

    /* Corrupted MD5 padding: not a valid MD5 entry at all. */
    bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    bad[n * 32 + 5] = 0x00;
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_SIZE);
    assert_int_equal(t->count, 0);
    free(bad);

    /* A partition after the MD5 entry. */
    bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    put_entry(bad + (n + 1) * 32, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_FAT, 0x310000, 0x10000, "late");
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_SIZE);
    free(bad);

    /* Two MD5 entries. */
    bad = exact_copy(img, RF_PTABLE_MAX_LEN);
    memcpy(bad + (n + 1) * 32, img + n * 32, 32);
    assert_int_equal(rf_ptable_parse(bad, RF_PTABLE_MAX_LEN, t), ESP_ERR_INVALID_SIZE);
    free(bad);

    /* Unchanged: fine. */
    assert_int_equal(parse_exact(img, RF_PTABLE_MAX_LEN, t), ESP_OK);
    assert_true(t->has_md5 && t->md5_ok);
    free(t);
    free(img);
}

static void test_truncated_and_garbage(void **state)
{
    (void)state;
    uint32_t n = 0;
    uint8_t *img = image_of(DOWNLOAD_CSV, true, &n);
    rf_ptable_t *t = new_table();

    assert_int_equal(rf_ptable_parse(NULL, 100, t), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_ptable_parse(img, RF_PTABLE_MAX_LEN, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(parse_exact(img, 0, t), ESP_ERR_INVALID_SIZE);
    assert_int_equal(parse_exact(img, 31, t), ESP_ERR_INVALID_SIZE);

    /* Every truncation: never a crash or an over-read (ASan), and an
     * answer that fits what is left. */
    for (size_t len = 32; len <= RF_PTABLE_MAX_LEN; len++) {
        esp_err_t e = parse_exact(img, len, t);
        size_t whole = len / 32, part = len % 32;
        if (part != 0 && whole <= n) {
            /* A cut inside an entry (partition or MD5): corrupt. */
            assert_int_equal(e, ESP_ERR_INVALID_SIZE);
            assert_int_equal(t->count, 0);
        } else if (whole <= n) {
            assert_int_equal(e, ESP_OK);
            assert_int_equal(t->count, whole);
            assert_false(t->has_md5);
        } else {
            assert_int_equal(e, ESP_OK);
            assert_int_equal(t->count, n);
            assert_true(t->has_md5 && t->md5_ok);
        }
    }

    /* Erased flash, zeroes, random bytes: no table. */
    uint8_t buf[RF_PTABLE_MAX_LEN];
    memset(buf, 0xFF, sizeof buf);
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_NOT_FOUND);
    memset(buf, 0x00, sizeof buf);
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_NOT_FOUND);
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    buf[0] = 0x12;
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_NOT_FOUND);
    /* An MD5 entry first is no table either. */
    memcpy(buf, img + n * 32, 32);
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_NOT_FOUND);

    /* Good entries, then garbage: corrupt, nothing returned. */
    memcpy(buf, img, sizeof buf);
    buf[2 * 32 + 0] = 0x12;
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_INVALID_SIZE);
    assert_int_equal(t->count, 0);
    /* Magic FF FF but not blank. */
    memcpy(buf, img, sizeof buf);
    memset(buf + 2 * 32, 0xFF, 32);
    buf[2 * 32 + 20] = 0x00;
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_INVALID_SIZE);
    /* Garbage in the tail that follows the end marker is not looked at. */
    memcpy(buf, img, sizeof buf);
    memset(buf + (n + 2) * 32, 0x42, sizeof buf - (n + 2) * 32);
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_OK);
    assert_int_equal(t->count, n);
    /* A range that wraps past 4 GiB. */
    memcpy(buf, img, sizeof buf);
    put_entry(buf + 32, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_FAT, 0xFFFF0000u, 0x20000, "wrap");
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_INVALID_SIZE);
    /* Up to 4 GiB exactly is fine. */
    memset(buf, 0xFF, sizeof buf);
    put_entry(buf, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_FAT, 0xFFFF0000u, 0x10000, "top");
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_OK);

    free(t);
    free(img);
}

static void test_hostile_magic_fill(void **state)
{
    (void)state;
    rf_ptable_t *t = new_table();
    /* Every entry a partition with magic AA 50 and no NUL in its label. */
    static const size_t lens[] = { 32, 33, 0xBFF, RF_PTABLE_MAX_LEN, RF_PTABLE_MAX_LEN + 1, 64 * KIB };
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        uint8_t *buf = malloc(len);
        assert_non_null(buf);
        for (size_t i = 0; i < len; i++) {
            buf[i] = (i & 1) ? 0x50 : 0xAA;
        }
        esp_err_t e = rf_ptable_parse(buf, len, t);
        if (len / 32 > RF_PTABLE_MAX_PARTS) {
            /* 96 partitions (no room for them): too many. */
            assert_int_equal(e, ESP_ERR_INVALID_SIZE);
            assert_int_equal(t->count, 0);
        } else if (len % 32 != 0) {
            assert_int_equal(e, ESP_ERR_INVALID_SIZE);   /* partial non-blank entry */
        } else {
            assert_int_equal(e, ESP_OK);
            assert_int_equal(t->count, len / 32);
        }
        free(buf);
    }

    /* 95 of them and the end marker: accepted, labels cut at 16 and
     * terminated. */
    uint8_t buf[RF_PTABLE_MAX_LEN];
    memset(buf, 0xFF, sizeof buf);
    for (size_t i = 0; i < RF_PTABLE_MAX_PARTS * 32; i++) {
        buf[i] = (i & 1) ? 0x50 : 0xAA;
    }
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_OK);
    assert_int_equal(t->count, RF_PTABLE_MAX_PARTS);
    for (uint32_t i = 0; i < t->count; i++) {
        assert_int_equal(strlen(t->parts[i].label), 16);
        assert_int_equal(t->parts[i].label[16], 0);
        assert_int_equal(t->parts[i].offset, 0x50AA50AAu);
    }
    /* ... and 96: one too many even though it fills the buffer exactly. */
    for (size_t i = RF_PTABLE_MAX_PARTS * 32; i < sizeof buf; i++) {
        buf[i] = (i & 1) ? 0x50 : 0xAA;
    }
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_ERR_INVALID_SIZE);

    /* Labels of 0xFF and non-printable bytes are still terminated. */
    memset(buf, 0xFF, sizeof buf);
    put_entry(buf, RF_PART_TYPE_APP, 0, 0x10000, 0x10000, "x");
    memset(buf + 12, 0xFF, 16);
    assert_int_equal(parse_exact(buf, sizeof buf, t), ESP_OK);
    assert_int_equal(strlen(t->parts[0].label), 16);
    free(t);
}

static void test_read_from_flash(void **state)
{
    (void)state;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 4 * MIB);
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    rf_flash_t f;
    nor_sim_flash_port(sim, &f);
    uint8_t scratch[RF_PTABLE_MAX_LEN];
    rf_ptable_t *t = new_table();

    assert_int_equal(rf_ptable_read(&f, 0x8000, scratch, sizeof scratch, t), ESP_ERR_NOT_FOUND);

    uint8_t *img = image_of(DOWNLOAD_CSV, true, NULL);
    assert_int_equal(rf_flash_program(&f, 0x8000, img, RF_PTABLE_MAX_LEN), ESP_OK);
    assert_int_equal(rf_ptable_read(&f, 0x8000, scratch, sizeof scratch, t), ESP_OK);
    assert_int_equal(t->count, 6);
    assert_true(t->md5_ok);
    assert_part(t, "ota_1", RF_PART_TYPE_APP, 0x11, 0x210000, 0x100000);

    assert_int_equal(rf_ptable_read(&f, 0x8000, scratch, sizeof scratch - 1, t), ESP_ERR_INVALID_SIZE);
    assert_int_equal(rf_ptable_read(&f, 4 * MIB - 0x100, scratch, sizeof scratch, t), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_ptable_read(NULL, 0x8000, scratch, sizeof scratch, t), ESP_ERR_INVALID_ARG);
    free(img);
    free(t);
    nor_sim_free(sim);
}

/* A reader over a table image that counts its calls and fails at one offset. */
typedef struct {
    const uint8_t *img;
    uint32_t calls, max_len, fail_at;
} counting_reader_t;

static esp_err_t counting_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    counting_reader_t *r = arg;
    r->calls++;
    r->max_len = len > r->max_len ? len : r->max_len;
    if (off == r->fail_at) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    memcpy(buf, r->img + off, len);
    return ESP_OK;
}

/* rf_ptable_parse_read holds no copy of the table: it reads one entry at a
 * time, stops at the end marker, gives what rf_ptable_parse gives, and
 * returns a read error as it is. */
static void test_parse_read_entry_by_entry(void **state)
{
    (void)state;
    uint32_t n = 0;
    uint8_t *img = image_of(DOWNLOAD_CSV, true, &n);
    rf_ptable_t *a = new_table(), *b = new_table();
    assert_int_equal(rf_ptable_parse(img, RF_PTABLE_MAX_LEN, a), ESP_OK);
    counting_reader_t r = { .img = img, .fail_at = UINT32_MAX };
    assert_int_equal(rf_ptable_parse_read(counting_read, &r, RF_PTABLE_MAX_LEN, b), ESP_OK);
    assert_memory_equal(a, b, sizeof *a);
    assert_true(b->has_md5 && b->md5_ok);
    assert_int_equal(r.max_len, RF_PTABLE_ENTRY_LEN);
    assert_int_equal(r.calls, n + 2);   /* the partitions, the MD5 entry, the end marker */

    /* a flipped label byte: the MD5 computed entry by entry no longer matches */
    img[12] ^= 0x01;
    assert_int_equal(rf_ptable_parse_read(counting_read, &r, RF_PTABLE_MAX_LEN, b), ESP_ERR_INVALID_CRC);
    assert_false(b->md5_ok);
    img[12] ^= 0x01;

    /* a read error on the third entry: returned as it is, nothing parsed */
    r.fail_at = 2 * RF_PTABLE_ENTRY_LEN;
    assert_int_equal(rf_ptable_parse_read(counting_read, &r, RF_PTABLE_MAX_LEN, b), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(b->count, 0);
    assert_int_equal(rf_ptable_parse_read(NULL, &r, RF_PTABLE_MAX_LEN, b), ESP_ERR_INVALID_ARG);
    free(img);
    free(a);
    free(b);
}

static void test_kind_names(void **state)
{
    (void)state;
    static const struct {
        uint8_t type, subtype;
        const char *name;
    } cases[] = {
        { 0x00, 0x00, "app/factory" },   { 0x00, 0x10, "app/ota_0" },       { 0x00, 0x11, "app/ota_1" },
        { 0x00, 0x19, "app/ota_9" },     { 0x00, 0x1A, "app/ota_10" },      { 0x00, 0x1F, "app/ota_15" },
        { 0x00, 0x20, "app/test" },      { 0x00, 0x05, "app/0x05" },        { 0x01, 0x00, "data/ota" },
        { 0x01, 0x01, "data/phy" },      { 0x01, 0x02, "data/nvs" },        { 0x01, 0x03, "data/coredump" },
        { 0x01, 0x04, "data/nvs_keys" }, { 0x01, 0x05, "data/efuse" },      { 0x01, 0x06, "data/undefined" },
        { 0x01, 0x80, "data/esphttpd" }, { 0x01, 0x81, "data/fat" },        { 0x01, 0x82, "data/spiffs" },
        { 0x01, 0x83, "data/littlefs" }, { 0x01, 0x99, "data/0x99" },       { 0x40, 0x01, "0x40/0x01" },
        { 0xFE, 0xFE, "0xfe/0xfe" },     { 0x02, 0x00, "bootloader/primary" },
        { 0x03, 0x01, "partition_table/ota" },
    };
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0x7E, sizeof buf);
        rf_part_kind_name(cases[i].type, cases[i].subtype, buf, sizeof buf);
        assert_string_equal(buf, cases[i].name);
    }
    /* Truncation: never more than len bytes, always terminated. */
    memset(buf, 0x7E, sizeof buf);
    rf_part_kind_name(0x01, 0x83, buf, 6);
    assert_string_equal(buf, "data/");
    assert_int_equal((uint8_t)buf[6], 0x7E);
    rf_part_kind_name(0x01, 0x83, buf, 1);
    assert_string_equal(buf, "");
    buf[0] = 'z';
    rf_part_kind_name(0x01, 0x83, buf, 0);
    assert_int_equal(buf[0], 'z');
    rf_part_kind_name(0x01, 0x83, NULL, 10);
}

static void test_find_and_check(void **state)
{
    (void)state;
    rf_ptable_t *t = new_table();
    parse_csv_ok(DOWNLOAD_CSV, 0, 0, t);
    assert_ptr_equal(rf_ptable_find_label(t, "factory"), &t->parts[3]);
    assert_null(rf_ptable_find_label(t, "factor"));
    assert_null(rf_ptable_find_label(t, "factoryy"));
    assert_null(rf_ptable_find_label(t, "a_label_longer_than_16"));
    assert_null(rf_ptable_find_label(NULL, "factory"));
    assert_null(rf_ptable_find_label(t, NULL));
    assert_ptr_equal(rf_ptable_find(t, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_OTA), &t->parts[1]);
    assert_null(rf_ptable_find(t, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_SPIFFS));
    assert_ptr_equal(rf_ptable_find_addr(t, 0x10000), &t->parts[3]);
    assert_ptr_equal(rf_ptable_find_addr(t, 0x10FFFF), &t->parts[3]);
    assert_ptr_equal(rf_ptable_find_addr(t, 0x110000), &t->parts[4]);
    assert_null(rf_ptable_find_addr(t, 0x8000));
    assert_null(rf_ptable_find_addr(t, 0x310000));

    uint32_t bad = 99;
    assert_int_equal(rf_ptable_check(t, 0, 4 * MIB, &bad), ESP_OK);
    assert_int_equal(rf_ptable_check(t, 0, 2 * MIB, &bad), ESP_ERR_INVALID_SIZE);
    assert_int_equal(bad, 4);   /* ota_0 ends at 0x210000 */
    t->parts[4].offset = 0x100000;   /* overlaps factory */
    assert_int_equal(rf_ptable_check(t, 0, 0, &bad), ESP_ERR_INVALID_SIZE);
    assert_int_equal(bad, 4);
    t->parts[4].offset = 0x118000;   /* app not 64 KiB aligned */
    assert_int_equal(rf_ptable_check(t, 0, 0, &bad), ESP_ERR_INVALID_SIZE);
    assert_int_equal(bad, 4);
    t->parts[4].offset = 0x110000;
    strcpy(t->parts[5].label, "nvs");   /* duplicate */
    assert_int_equal(rf_ptable_check(t, 0, 0, &bad), ESP_ERR_INVALID_SIZE);
    assert_int_equal(bad, 5);
    strcpy(t->parts[5].label, "ota_1");
    assert_int_equal(rf_ptable_check(t, 0xA000, 0, &bad), ESP_ERR_INVALID_SIZE);   /* nvs under the table */
    assert_int_equal(bad, 0);
    t->count = 0;
    assert_int_equal(rf_ptable_check(t, 0, 0, &bad), ESP_ERR_INVALID_ARG);
    free(t);
}

/* ---- CSV syntax ----------------------------------------------------------- */

static void test_csv_suffixes_and_numbers(void **state)
{
    (void)state;
    static const char *const good =
        "\t# comment with leading whitespace\r\n"
        "\r\n"
        "  nvs , data , nvs , 36K , 24k \r\n"
        "phy,DATA,PHY,0xf000,4096\n"
        "factory, APP, Factory, 64K, 1M\n"
        "big, app, ota_0, 0x110000, 0x10K\n"
        "two, app, ota_1, 1152K, 2m, \n"
        "custom, 0x40, 0x01, , 8K, readonly encrypted\n"
        "dec, 64, 17, , 4096,\n"
        "fs, data, 0x82, , 0x1000\n"
        "undef, data, , , 4K,\n"
        "upto, data, spiffs, 0x400000, -0x480000,";   /* no final newline */
    rf_ptable_t *t = new_table();
    parse_csv_ok(good, 0, 8 * MIB, t);
    assert_int_equal(t->count, 10);
    assert_part(t, "nvs", 1, 0x02, 0x9000, 0x6000);
    assert_part(t, "phy", 1, 0x01, 0xf000, 0x1000);
    assert_part(t, "factory", 0, 0x00, 0x10000, 0x100000);
    assert_part(t, "big", 0, 0x10, 0x110000, 0x4000);
    assert_part(t, "two", 0, 0x11, 0x120000, 0x200000);
    assert_part(t, "custom", 0x40, 0x01, 0x320000, 0x2000);
    assert_int_equal(rf_ptable_find_label(t, "custom")->flags, RF_PART_FLAG_READONLY | RF_PART_FLAG_ENCRYPTED);
    assert_part(t, "dec", 64, 17, 0x322000, 0x1000);
    assert_part(t, "fs", 1, 0x82, 0x323000, 0x1000);
    assert_part(t, "undef", 1, RF_PART_SUBTYPE_DATA_UNDEFINED, 0x324000, 0x1000);
    assert_part(t, "upto", 1, 0x82, 0x400000, 0x80000);
    free(t);
}

static void test_csv_auto_offsets(void **state)
{
    (void)state;
    /* Data packed at 4 KiB, apps rounded up to 64 KiB. */
    static const char *const csv =
        "nvs,      data, nvs,      , 0x5000\n"
        "app0,     app,  factory,  , 0x18000\n"
        "d1,       data, fat,      , 0x800\n"
        "d2,       data, spiffs,   , 4K\n"
        "app1,     app,  ota_0,    , 64K, encrypted\n";
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, 0, 0, t);
    assert_part(t, "nvs", 1, 2, 0x9000, 0x5000);
    assert_part(t, "app0", 0, 0, 0x10000, 0x18000);
    assert_part(t, "d1", 1, 0x81, 0x28000, 0x800);
    assert_part(t, "d2", 1, 0x82, 0x29000, 0x1000);
    assert_part(t, "app1", 0, 0x10, 0x30000, 0x10000);
    assert_int_equal(rf_ptable_find_label(t, "app1")->flags, RF_PART_FLAG_ENCRYPTED);

    /* A moved partition table moves the first partition. */
    parse_csv_ok(csv, 0x10000, 0, t);
    assert_part(t, "nvs", 1, 2, 0x11000, 0x5000);
    assert_part(t, "app0", 0, 0, 0x20000, 0x18000);
    free(t);
}

static void test_csv_errors(void **state)
{
    (void)state;
    /* Misaligned app offset. */
    expect_csv_error("nvs, data, nvs, , 0x4000\n"
                     "factory, app, factory, 0x18000, 1M\n",
                     0, ESP_ERR_INVALID_ARG, 2, "not aligned");
    /* Misaligned data offset. */
    expect_csv_error("nvs, data, nvs, 0x9800, 0x4000\n", 0, ESP_ERR_INVALID_ARG, 1, "not aligned");
    /* Overlap with the previous partition. */
    expect_csv_error("# header\n"
                     "factory, app, factory, 0x10000, 1M\n"
                     "ota_0, app, ota_0, 0x100000, 1M\n",
                     0, ESP_ERR_INVALID_ARG, 3, "overlaps 'factory'");
    /* Overlap with the partition table. */
    expect_csv_error("nvs, data, nvs, 0x8000, 0x4000\n", 0, ESP_ERR_INVALID_ARG, 1, "partition table");
    /* Unknown subtype, unknown type. */
    expect_csv_error("nvs, data, nvs, , 0x4000\n"
                     "\n"
                     "factory, app, ota_16, , 1M\n",
                     0, ESP_ERR_INVALID_ARG, 3, "unknown subtype 'ota_16'");
    expect_csv_error("fs, data, ext4, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown subtype 'ext4'");
    expect_csv_error("fs, app, nvs, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown subtype 'nvs'");
    expect_csv_error("fs, filesystem, fat, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown type 'filesystem'");
    expect_csv_error("fs, 0xFF, 0x00, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown type");
    expect_csv_error("fs, 0x40, 256, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown subtype");
    expect_csv_error("fs, 0x40, spiffs, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown subtype");
    expect_csv_error("factory, app, , , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "subtype");
    expect_csv_error("factory, , factory, , 1M\n", 0, ESP_ERR_INVALID_ARG, 1, "type");
    /* Beyond the flash. */
    expect_csv_error("nvs, data, nvs, , 0x4000\n"
                     "factory, app, factory, , 4M\n",
                     4 * MIB, ESP_ERR_INVALID_SIZE, 2, "flash size");
    expect_csv_error("huge, data, fat, 0xFFFFF000, 0x2000\n", 0, ESP_ERR_INVALID_SIZE, 1, "4 GiB");
    /* Duplicate names. */
    expect_csv_error("nvs, data, nvs, , 0x4000\n"
                     "nvs, data, fat, , 0x4000\n",
                     0, ESP_ERR_INVALID_ARG, 2, "duplicate");
    /* Labels. */
    expect_csv_error("0123456789abcdefg, data, nvs, , 0x4000\n", 0, ESP_ERR_INVALID_SIZE, 1, "16");
    expect_csv_error(", data, nvs, , 0x4000\n", 0, ESP_ERR_INVALID_ARG, 1, "name");
    /* Numbers, sizes, flags, columns. */
    expect_csv_error("nvs, data, nvs, 0x9000, 0x4G\n", 0, ESP_ERR_INVALID_ARG, 1, "bad size '0x4G'");
    expect_csv_error("nvs, data, nvs, 0x9000\n", 0, ESP_ERR_INVALID_ARG, 1, "empty size");
    expect_csv_error("nvs, data, nvs, 0x9000, 0\n", 0, ESP_ERR_INVALID_ARG, 1, "zero");
    expect_csv_error("nvs, data, nvs, 0x9000, 010\n", 0, ESP_ERR_INVALID_ARG, 1, "bad size");
    expect_csv_error("nvs, data, nvs, 0x9000, 5000M\n", 0, ESP_ERR_INVALID_ARG, 1, "bad size");
    expect_csv_error("nvs, data, nvs, -0x9000, 4K\n", 0, ESP_ERR_INVALID_ARG, 1, "bad offset");
    expect_csv_error("nvs, data, nvs, 0x9000, -0x9000\n", 0, ESP_ERR_INVALID_ARG, 1, "not after");
    expect_csv_error("nvs, data, nvs, , 4K, secret\n", 0, ESP_ERR_INVALID_ARG, 1, "unknown flag 'secret'");
    expect_csv_error("nvs, data, nvs, , 4K, , extra\n", 0, ESP_ERR_INVALID_ARG, 1, "columns");
    /* otadata rules. */
    expect_csv_error("otadata, data, ota, , 0x1000\n", 0, ESP_ERR_INVALID_ARG, 1, "0x2000");
    expect_csv_error("otadata, data, ota, , 0x2000\n"
                     "otadata2, data, ota, , 0x2000\n",
                     0, ESP_ERR_INVALID_ARG, 2, "otadata");
    expect_csv_error("otadata, data, ota, , 0x2000, readonly\n", 0, ESP_ERR_INVALID_ARG, 1, "readonly");
    expect_csv_error("core, data, coredump, , 64K, readonly\n", 0, ESP_ERR_INVALID_ARG, 1, "readonly");
    /* Nothing at all. */
    expect_csv_error("# only comments\n\n   \n", 0, ESP_ERR_NOT_FOUND, 0, "no partitions");
    expect_csv_error("", 0, ESP_ERR_NOT_FOUND, 0, NULL);

    rf_ptable_t *t = new_table();
    char err[64];
    assert_int_equal(ptable_csv_parse(NULL, 0, 0, t, err, sizeof err), ESP_ERR_INVALID_ARG);
    assert_int_equal(ptable_csv_parse("nvs, data, nvs, , 4K\n", 0x8800, 0, t, err, sizeof err),
                     ESP_ERR_INVALID_ARG);
    /* A tiny message buffer is filled, terminated, and nothing overflows. */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    assert_int_equal(ptable_csv_parse("nvs, data, bogus, , 4K\n", 0, 0, t, tiny, sizeof tiny),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(ptable_csv_parse("nvs, data, bogus, , 4K\n", 0, 0, t, NULL, 0), ESP_ERR_INVALID_ARG);
    free(t);
}

static void test_csv_too_many(void **state)
{
    (void)state;
    size_t cap = 64 * 100;
    char *csv = malloc(cap);
    assert_non_null(csv);
    size_t pos = 0;
    for (unsigned i = 0; i < RF_PTABLE_MAX_PARTS + 1; i++) {
        pos += (size_t)snprintf(csv + pos, cap - pos, "p%u, data, nvs, , 4K\n", i);
    }
    /* 95 is the limit ... */
    char *cut = strstr(csv, "p95,");
    assert_non_null(cut);
    *cut = 0;
    rf_ptable_t *t = new_table();
    parse_csv_ok(csv, 0, 0, t);
    assert_int_equal(t->count, RF_PTABLE_MAX_PARTS);
    uint8_t img[RF_PTABLE_MAX_LEN];
    assert_int_equal(rf_ptable_serialize(t, true, img, sizeof img), ESP_OK);
    assert_int_equal(parse_exact(img, sizeof img, t), ESP_OK);
    assert_int_equal(t->count, RF_PTABLE_MAX_PARTS);
    free(t);
    /* ... 96 is an error on line 96. */
    *cut = 'p';
    expect_csv_error(csv, 0, ESP_ERR_INVALID_SIZE, 96, "too many");
    free(csv);
}

/* The CSV reader and the binary names agree on every known keyword. */
static void test_csv_names_match_kind_names(void **state)
{
    (void)state;
    for (unsigned type = 0; type <= 1; type++) {
        for (unsigned st = 0; st <= 0xFE; st++) {
            char kind[40];
            rf_part_kind_name((uint8_t)type, (uint8_t)st, kind, sizeof kind);
            const char *sub = strchr(kind, '/') + 1;
            if (strncmp(sub, "0x", 2) == 0) {
                continue;
            }
            char csv[128];
            snprintf(csv, sizeof csv, "p, %s, %s, 0x10000, %s\n", type ? "data" : "app", sub,
                     (type == 1 && st == 0) ? "0x2000" : "64K");
            rf_ptable_t *t = new_table();
            parse_csv_ok(csv, 0, 0, t);
            assert_int_equal(t->parts[0].type, type);
            assert_int_equal(t->parts[0].subtype, st);
            free(t);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_download),
        cmocka_unit_test(test_seed_embedded),
        cmocka_unit_test(test_seed_load_file),
        cmocka_unit_test(test_entry_layout),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_serialize_args),
        cmocka_unit_test(test_md5_entry),
        cmocka_unit_test(test_md5_corruption),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_hostile_magic_fill),
        cmocka_unit_test(test_read_from_flash),
        cmocka_unit_test(test_parse_read_entry_by_entry),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_find_and_check),
        cmocka_unit_test(test_csv_suffixes_and_numbers),
        cmocka_unit_test(test_csv_auto_offsets),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_too_many),
        cmocka_unit_test(test_csv_names_match_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
