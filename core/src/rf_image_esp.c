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
        a->magic_word = RF_ESP_APP_DESC_MAGIC;   /* what d holds (checked above) */
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

/* The header's bytes 1..14 (segment count, SPI mode, size/frequency, entry
 * point, WP pin, drive bytes, chip id, legacy min chip rev) are the info's
 * fields from segment_count on, in the same order: on a little-endian host
 * one copy decodes them all. */
#define HDR_FIELD(f, at) ((size_t)offsetof(rf_esp_image_info_t, f) - offsetof(rf_esp_image_info_t, segment_count) + 1u == (at))
_Static_assert(HDR_FIELD(spi_mode, 2) && HDR_FIELD(spi_size_freq, 3) && HDR_FIELD(entry_addr, 4) && HDR_FIELD(wp_pin, 8) &&
                   HDR_FIELD(spi_pin_drv, 9) && HDR_FIELD(chip_id, 12) && HDR_FIELD(min_chip_rev, 14),
               "rf_esp_image_info_t: header fields out of the header's order");

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
    rf_img_err_t e;   /* the failure (and `at`, the offset it looked at) */
    uint32_t at = 0;

    /* Header and extended header. Every offset a failure reports is inside
     * the data (checked before), so 32 bits hold it. */
    if (size < 1) {
        e = RF_IMG_ERR_TRUNCATED;
        goto fail;
    }
    if ((err = rf_reader_read(r, 0, scratch, 1)) != ESP_OK) {
        goto read_fail;
    }
    out->magic = scratch[0];
    e = RF_IMG_ERR_MAGIC;
    if (out->magic != RF_ESP_IMAGE_MAGIC) {
        goto fail;
    }
    e = RF_IMG_ERR_TRUNCATED;
    at = size;
    if (size < RF_ESP_HEADER_LEN) {
        goto fail;
    }
    at = 0;
    if ((err = rf_reader_read(r, 0, scratch, RF_ESP_HEADER_LEN)) != ESP_OK) {
        goto read_fail;
    }
    const uint8_t *h = scratch;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    RF_MEMCPY(&out->segment_count, h + 1, 14);
#else
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
#endif
    out->min_chip_rev_full = rf_le16(h + 15);
    out->max_chip_rev_full = rf_le16(h + 17);
    out->hash_appended = h[23];

    e = RF_IMG_ERR_CHIP_ID;
    at = 12;
    if (out->chip_id == RF_ESP_CHIP_ID_INVALID ||
        (expect_chip != RF_ESP_CHIP_ANY && (int32_t)out->chip_id != expect_chip)) {
        goto fail;
    }
    e = RF_IMG_ERR_SEGMENT_COUNT;
    at = 1;
    if (out->segment_count == 0 || out->segment_count > RF_ESP_MAX_SEGMENTS) {
        goto fail;
    }

    /* Segment headers: every length is checked before it is used. pos <= size
     * throughout, so the checks below are differences, in 32 bits. */
    uint32_t pos = RF_ESP_HEADER_LEN;
    for (uint32_t i = 0; i < out->segment_count; i++) {
        out->err_segment = (int32_t)i;
        e = RF_IMG_ERR_TRUNCATED;
        at = size;
        if (size - pos < RF_ESP_SEGMENT_HEADER_LEN) {
            goto fail;
        }
        at = pos;
        if ((err = rf_reader_read(r, pos, scratch, RF_ESP_SEGMENT_HEADER_LEN)) != ESP_OK) {
            goto read_fail;
        }
        rf_esp_segment_t *s = &out->segments[i];
        s->load_addr = rf_le32(scratch);
        s->len = rf_le32(scratch + 4);
        s->offset = pos + RF_ESP_SEGMENT_HEADER_LEN;
        out->segments_parsed = i + 1;
        /* load_addr + len > 4 GiB: the 32-bit sum wraps past 0 (len <= 16 MiB) */
        uint32_t seg_end = s->load_addr + s->len;
        e = RF_IMG_ERR_SEGMENT_BOUNDS;
        at = pos + 4;
        if (s->len > RF_ESP_MAX_SEGMENT_LEN || (seg_end < s->load_addr && seg_end != 0)) {
            goto fail;
        }
        e = RF_IMG_ERR_SEGMENT_ALIGN;
        if (s->len % 4 != 0) {
            goto fail;
        }
        e = RF_IMG_ERR_TRUNCATED;
        at = size;
        if (s->len > size - s->offset) {
            goto fail;
        }
        if (i == 0) {
            uint32_t n = RF_MIN(s->len, RF_ESP_APP_DESC_LEN);
            at = s->offset;
            if ((err = rf_reader_read(r, s->offset, scratch, n)) != ESP_OK) {
                goto read_fail;
            }
            parse_descriptions(scratch, n, out);
        }
        pos = s->offset + s->len;
    }
    out->err_segment = -1;

    /* Checksum byte ends a 16-byte boundary (the next byte at or after pos
     * whose offset is 15 mod 16); the hash follows it. */
    const uint32_t cs_off = pos | 15u;
    e = RF_IMG_ERR_TRUNCATED;
    at = size;
    if (cs_off >= size) {
        goto fail;
    }
    out->checksum_offset = cs_off;
    const uint32_t end = cs_off + 1;   /* <= size */
    if (out->hash_appended) {
        out->sha256_offset = end;
        if (size - end < RF_SHA256_LEN) {
            goto fail;
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
            at = c;
            goto read_fail;
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
    } else if (!no_hash) {
        RF_MEMCPY(out->sha256_calc, opts->known->sha256, RF_SHA256_LEN);
    }   /* no_hash: sha256_calc stays zero (the memset above) */
    out->checksum_calc = sum;

    at = cs_off;
    if ((err = rf_reader_read(r, cs_off, scratch, 1)) != ESP_OK) {
        goto read_fail;
    }
    out->checksum_stored = scratch[0];
    out->checksum_checked = true;
    /* Both footers are checked; the first mismatch is the one reported. */
    e = RF_IMG_OK;
    if (out->checksum_stored != out->checksum_calc) {
        e = RF_IMG_ERR_CHECKSUM;
    }
    if (out->hash_appended && !no_hash) {
        if ((err = rf_reader_read(r, end, out->sha256_stored, RF_SHA256_LEN)) != ESP_OK) {
            at = end;
            goto read_fail;
        }
        out->sha256_checked = true;
        if (RF_MEMCMP(out->sha256_stored, out->sha256_calc, RF_SHA256_LEN) != 0 && e == RF_IMG_OK) {
            e = RF_IMG_ERR_SHA256;
            at = end;
        }
    }
    if (e == RF_IMG_OK) {
        return ESP_OK;   /* out->err: RF_IMG_OK since the memset */
    }
fail:
    out->err = e;
    out->err_offset = at;
    return RF_ERR_IMAGE_INVALID;
read_fail:
    out->err = RF_IMG_ERR_READ;
    out->err_offset = at;
    return err;
}

/* The chip ids this code knows, one bit each, and their names in id order:
 * a name is found by counting the known ids below it. */
#define KNOWN_CHIPS ((1u << 0) | (1u << 2) | (1u << 5) | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 16) | \
                     (1u << 18) | (1u << 20) | (1u << 23))
static const char k_chip_names[] = "ESP32\0ESP32-S2\0ESP32-C3\0ESP32-S3\0ESP32-C2\0ESP32-C6\0ESP32-H2\0ESP32-P4\0"
                                   "ESP32-C61\0ESP32-C5";

const char *rf_esp_chip_name(uint16_t chip_id)
{
    if (chip_id >= 32 || (KNOWN_CHIPS >> chip_id & 1u) == 0) {
        return NULL;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < chip_id; i++) {
        n += KNOWN_CHIPS >> i & 1u;
    }
    return rf_nth_str(k_chip_names, n);
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
