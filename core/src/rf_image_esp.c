/*
 * ESP image format inspector (rf_image.h). Layout from the ESP-IDF "App
 * Image Format" documentation:
 *
 *   0  magic 0xE9 | segment count | SPI mode | size (hi nibble) / freq (lo)
 *   4  entry point
 *   8  extended header: WP pin, 3 drive bytes, chip id (LE16, offset 12),
 *      legacy min chip rev (14), min full rev (LE16, 15), max full rev
 *      (LE16, 17), 4 reserved bytes, hash appended (23)
 *  24  segments: load address (LE32), length (LE32), data
 *      zero padding so that the checksum byte ends a 16-byte boundary
 *      (XOR of all segment data, seed 0xEF)
 *      SHA-256 of all the bytes before it, when hash appended
 */
#include <stddef.h>
#include "rf_image.h"

/* Every offset passed is inside the data (checked before), so 32 bits hold it. */
static esp_err_t fail(rf_esp_image_info_t *out, rf_img_err_t e, uint32_t off)
{
    out->err = e;
    out->err_offset = off;
    return RF_ERR_IMAGE_INVALID;
}

static esp_err_t read_fail(rf_esp_image_info_t *out, esp_err_t err, uint32_t off)
{
    (void)fail(out, RF_IMG_ERR_READ, off);
    return err;
}

/* Copy a fixed-size field up to its first NUL; dst has room for n + 1. */
static void copy_field(char *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i] != 0; i++) {
        dst[i] = (char)src[i];
    }
    dst[i] = 0;
}

/* A NUL-terminated printable string inside the field (plausibility only). */
RF_NOINLINE static bool printable_field(const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (src[i] == 0) {
            return i > 0;
        }
        if (src[i] < 0x20 || src[i] > 0x7E) {
            return false;
        }
    }
    return false;
}

/* Descriptions at the start of the first segment. d holds n bytes. */
static void parse_descriptions(const uint8_t *d, uint32_t n, rf_esp_image_info_t *out)
{
    if (n >= 4 && rf_le32(d) == RF_ESP_APP_DESC_MAGIC) {
        out->kind = RF_ESP_KIND_APP;
        if (n < 144) {
            return;   /* magic without room for the description: app, no fields */
        }
        rf_esp_app_desc_t *a = &out->app;
        a->magic_word = rf_le32(d);
        a->secure_version = rf_le32(d + 4);
        /* version, project_name, time, date, idf_ver: back to back from d + 16 */
        static const struct {
            uint8_t at, len;
        } k_str[] = {
            { offsetof(rf_esp_app_desc_t, version), 32 }, { offsetof(rf_esp_app_desc_t, project_name), 32 },
            { offsetof(rf_esp_app_desc_t, time), 16 }, { offsetof(rf_esp_app_desc_t, date), 16 },
            { offsetof(rf_esp_app_desc_t, idf_ver), 32 },
        };
        const uint8_t *src = d + 16;
        for (size_t i = 0; i < sizeof k_str / sizeof k_str[0]; i++) {
            copy_field((char *)a + k_str[i].at, src, k_str[i].len);
            src += k_str[i].len;
        }
        if (n >= 181) {
            RF_MEMCPY(a->app_elf_sha256, d + 144, 32);
            a->min_efuse_blk_rev_full = rf_le16(d + 176);
            a->max_efuse_blk_rev_full = rf_le16(d + 178);
            a->mmu_page_size = d[180];
        }
        out->has_app_desc = true;
        return;
    }
    out->kind = RF_ESP_KIND_BOOTLOADER;
    if (n >= RF_ESP_BOOTLOADER_DESC_LEN && d[0] == RF_ESP_BOOTLOADER_DESC_MAGIC && printable_field(d + 8, 32) &&
        printable_field(d + 40, 24)) {
        out->has_bootloader_desc = true;
        out->bootloader.version = rf_le32(d + 4);
        copy_field(out->bootloader.idf_ver, d + 8, 32);
        copy_field(out->bootloader.date_time, d + 40, 24);
    }
}

esp_err_t rf_esp_image_inspect(const rf_reader_t *r, uint8_t *scratch, size_t scratch_len, rf_esp_image_info_t *out)
{
    return rf_esp_image_inspect_ex(r, NULL, scratch, scratch_len, out);
}

esp_err_t rf_esp_image_inspect_ex(const rf_reader_t *r, const rf_esp_image_opts_t *opts, uint8_t *scratch,
                                  size_t scratch_len, rf_esp_image_info_t *out)
{
    if (out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(out, 0, sizeof *out);
    out->err_segment = -1;
    if (r == NULL || r->read == NULL || scratch == NULL || scratch_len < RF_IMAGE_SCRATCH_MIN) {
        out->err = RF_IMG_ERR_ARG;
        return ESP_ERR_INVALID_ARG;
    }
    const uint32_t size = r->size;
    const uint32_t chunk_max = scratch_len > 0x10000u ? 0x10000u : (uint32_t)scratch_len;
    const int32_t expect_chip = opts != NULL ? opts->expect_chip_id : RF_ESP_CHIP_ANY;
    out->file_size = size;
    esp_err_t err;

    /* Header and extended header. */
    if (size < 1) {
        return fail(out, RF_IMG_ERR_TRUNCATED, 0);
    }
    if ((err = rf_reader_read(r, 0, scratch, 1)) != ESP_OK) {
        return read_fail(out, err, 0);
    }
    out->magic = scratch[0];
    if (out->magic != RF_ESP_IMAGE_MAGIC) {
        return fail(out, RF_IMG_ERR_MAGIC, 0);
    }
    if (size < RF_ESP_HEADER_LEN) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    if ((err = rf_reader_read(r, 0, scratch, RF_ESP_HEADER_LEN)) != ESP_OK) {
        return read_fail(out, err, 0);
    }
    const uint8_t *h = scratch;
    out->segment_count = h[1];
    out->spi_mode = h[2];
    out->spi_size_freq = h[3];
    out->entry_addr = rf_le32(h + 4);
    out->wp_pin = h[8];
    out->spi_pin_drv[0] = h[9];
    out->spi_pin_drv[1] = h[10];
    out->spi_pin_drv[2] = h[11];
    out->chip_id = rf_le16(h + 12);
    out->min_chip_rev = h[14];
    out->min_chip_rev_full = rf_le16(h + 15);
    out->max_chip_rev_full = rf_le16(h + 17);
    out->hash_appended = h[23];

    if (out->chip_id == RF_ESP_CHIP_ID_INVALID ||
        (expect_chip != RF_ESP_CHIP_ANY && (int32_t)out->chip_id != expect_chip)) {
        return fail(out, RF_IMG_ERR_CHIP_ID, 12);
    }
    if (out->segment_count == 0 || out->segment_count > RF_ESP_MAX_SEGMENTS) {
        return fail(out, RF_IMG_ERR_SEGMENT_COUNT, 1);
    }

    /* Segment headers: every length is checked before it is used. pos <= size
     * throughout, so the checks below are differences, in 32 bits. */
    uint32_t pos = RF_ESP_HEADER_LEN;
    for (uint32_t i = 0; i < out->segment_count; i++) {
        out->err_segment = (int32_t)i;
        if (size - pos < RF_ESP_SEGMENT_HEADER_LEN) {
            return fail(out, RF_IMG_ERR_TRUNCATED, size);
        }
        if ((err = rf_reader_read(r, pos, scratch, RF_ESP_SEGMENT_HEADER_LEN)) != ESP_OK) {
            return read_fail(out, err, pos);
        }
        rf_esp_segment_t *s = &out->segments[i];
        s->load_addr = rf_le32(scratch);
        s->len = rf_le32(scratch + 4);
        s->offset = pos + RF_ESP_SEGMENT_HEADER_LEN;
        out->segments_parsed = i + 1;
        /* load_addr + len > 4 GiB: the 32-bit sum wraps past 0 (len <= 16 MiB) */
        uint32_t seg_end = s->load_addr + s->len;
        if (s->len > RF_ESP_MAX_SEGMENT_LEN || (seg_end < s->load_addr && seg_end != 0)) {
            return fail(out, RF_IMG_ERR_SEGMENT_BOUNDS, pos + 4);
        }
        if (s->len % 4 != 0) {
            return fail(out, RF_IMG_ERR_SEGMENT_ALIGN, pos + 4);
        }
        if (s->len > size - s->offset) {
            return fail(out, RF_IMG_ERR_TRUNCATED, size);
        }
        if (i == 0) {
            uint32_t n = RF_MIN(s->len, RF_ESP_APP_DESC_LEN);
            if ((err = rf_reader_read(r, s->offset, scratch, n)) != ESP_OK) {
                return read_fail(out, err, s->offset);
            }
            parse_descriptions(scratch, n, out);
        }
        pos = s->offset + s->len;
    }
    out->err_segment = -1;

    /* Checksum byte ends a 16-byte boundary (the next byte at or after pos
     * whose offset is 15 mod 16); the hash follows it. */
    const uint32_t cs_off = pos | 15u;
    if (cs_off >= size) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    out->checksum_offset = cs_off;
    const uint32_t end = cs_off + 1;   /* <= size */
    if (out->hash_appended) {
        out->sha256_offset = end;
        if (size - end < RF_SHA256_LEN) {
            return fail(out, RF_IMG_ERR_TRUNCATED, size);
        }
        out->image_len = end + RF_SHA256_LEN;
    } else {
        out->image_len = end;
    }

    /* One pass over [0, checksum]: XOR of the segment data and SHA-256
     * (unless the caller holds the digest of exactly these bytes). */
    const bool no_hash = opts != NULL && opts->no_hash;
    const bool known = no_hash ||
                       (opts != NULL && opts->known != NULL && opts->known->off == 0 && opts->known->len == end);
    rf_sha256_ctx_t sha;
    if (!known) {
        rf_sha256_start(&sha);   /* nothing to start when the digest is known or not wanted */
    }
    uint8_t sum = RF_ESP_CHECKSUM_SEED;
    for (uint32_t c = 0; c < end;) {
        uint32_t n = RF_MIN(chunk_max, end - c);
        if ((err = rf_reader_read(r, c, scratch, n)) != ESP_OK) {
            if (!known) {
                uint8_t dummy[RF_SHA256_LEN];
                rf_sha256_finish(&sha, dummy);
            }
            return read_fail(out, err, c);
        }
        if (!known) {
            rf_sha256_update(&sha, scratch, n);
        }
        for (uint32_t i = 0; i < out->segment_count; i++) {
            /* 32 bits hold these: every segment ends inside the file (checked
             * above), and c + n <= end <= size */
            const rf_esp_segment_t *s = &out->segments[i];
            uint32_t lo = RF_MAX(c, s->offset);
            uint32_t hi = RF_MIN(c + n, s->offset + s->len);
            for (uint32_t k = lo; k < hi; k++) {
                sum ^= scratch[k - c];
            }
        }
        c += n;
    }
    if (!known) {
        rf_sha256_finish(&sha, out->sha256_calc);
    } else if (no_hash) {
        RF_MEMSET(out->sha256_calc, 0, RF_SHA256_LEN);
    } else {
        RF_MEMCPY(out->sha256_calc, opts->known->sha256, RF_SHA256_LEN);
    }
    out->checksum_calc = sum;

    if ((err = rf_reader_read(r, cs_off, scratch, 1)) != ESP_OK) {
        return read_fail(out, err, cs_off);
    }
    out->checksum_stored = scratch[0];
    out->checksum_checked = true;
    /* Both footers are checked; the first mismatch is the one reported. */
    rf_img_err_t first = RF_IMG_OK;
    uint32_t first_off = 0;
    if (out->checksum_stored != out->checksum_calc) {
        first = RF_IMG_ERR_CHECKSUM;
        first_off = cs_off;
    }
    if (out->hash_appended && !no_hash) {
        if ((err = rf_reader_read(r, end, out->sha256_stored, RF_SHA256_LEN)) != ESP_OK) {
            return read_fail(out, err, end);
        }
        out->sha256_checked = true;
        if (RF_MEMCMP(out->sha256_stored, out->sha256_calc, RF_SHA256_LEN) != 0 && first == RF_IMG_OK) {
            first = RF_IMG_ERR_SHA256;
            first_off = end;
        }
    }
    if (first != RF_IMG_OK) {
        return fail(out, first, first_off);
    }
    out->err = RF_IMG_OK;
    return ESP_OK;
}

const char *rf_esp_chip_name(uint16_t chip_id)
{
    switch (chip_id) {
    case 0: return "ESP32";
    case 2: return "ESP32-S2";
    case 5: return "ESP32-C3";
    case 9: return "ESP32-S3";
    case 12: return "ESP32-C2";
    case 13: return "ESP32-C6";
    case 16: return "ESP32-H2";
    case 18: return "ESP32-P4";
    case 20: return "ESP32-C61";
    case 23: return "ESP32-C5";
    default: return NULL;
    }
}

uint32_t rf_esp_chip_bootloader_offset(uint16_t chip_id)
{
    switch (chip_id) {
    case 0:
    case 2: return 0x1000;
    case 18:
    case 23: return 0x2000;
    default: return 0x0;
    }
}

uint32_t rf_esp_flash_size_bytes(uint8_t spi_size_freq)
{
    uint32_t code = (uint32_t)spi_size_freq >> 4;
    return code <= 7 ? (0x100000u << code) : 0;
}
