/* The old ESP-IDF system of a simulated device (see rf_oldsys.h). */
#include "rf_oldsys.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_crypto.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_util.h"

void rf_oldsys_hex(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool rf_oldsys_unhex32(const char *hex, uint8_t out[32])
{
    if (hex == NULL || strlen(hex) != 64) {
        return false;
    }
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static void seterr(char *err, size_t n, const char *fmt, ...)
{
    if (err == NULL || n == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* Re-close an ESP image after its bytes changed: checksum byte at the end of
 * the 16-byte-aligned padding, then the appended SHA-256. body = bytes of
 * header + segments. Returns the total length (buf must hold it). */
static size_t esp_image_seal(uint8_t *buf, size_t body, const uint32_t *seg_off, const uint32_t *seg_len, int nseg)
{
    size_t with_sum = (body + 1 + 15) & ~(size_t)15;
    memset(buf + body, 0, with_sum - body);
    uint8_t sum = RF_ESP_CHECKSUM_SEED;
    for (int i = 0; i < nseg; i++) {
        for (uint32_t k = 0; k < seg_len[i]; k++) {
            sum ^= buf[seg_off[i] + k];
        }
    }
    buf[with_sum - 1] = sum;
    rf_sha256(buf, with_sum, buf + with_sum);
    return with_sum + RF_SHA256_LEN;
}

/* The app with the embedded bytes inside its first segment, which starts at
 * file offset 32 with the 256-byte esp_app_desc_t. rel: file offset of the
 * embed (>= 32 + 256). A new malloc'd image in *out; its length, 0 on error. */
static size_t app_with_embed(const uint8_t *app, size_t app_len, const uint8_t *embed, size_t embed_len,
                             uint32_t rel, uint8_t **out)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    uint8_t scratch[1024];
    rf_esp_image_info_t info;
    if (rf_reader_from_buffer(&r, &rb, app, app_len) != ESP_OK ||
        rf_esp_image_inspect(&r, scratch, sizeof scratch, &info) != ESP_OK || info.segment_count < 1 ||
        info.segment_count > RF_ESP_MAX_SEGMENTS || info.segments[0].offset != RF_ESP_HEADER_LEN + 8) {
        return 0;
    }
    uint32_t s0 = info.segments[0].offset;
    uint64_t end0 = (uint64_t)rel + embed_len;
    uint64_t len0 = info.segments[0].len;
    if (end0 - s0 > len0) {
        len0 = end0 - s0;
    }
    len0 = (len0 + 3) & ~(uint64_t)3;
    if (len0 >= RF_ESP_MAX_SEGMENT_LEN) {
        return 0;
    }
    size_t body = RF_ESP_HEADER_LEN;
    for (uint32_t i = 0; i < info.segment_count; i++) {
        body += RF_ESP_SEGMENT_HEADER_LEN + (i == 0 ? (size_t)len0 : info.segments[i].len);
    }
    uint8_t *b = calloc(1, body + 16 + RF_SHA256_LEN);
    if (b == NULL) {
        return 0;
    }
    uint32_t seg_off[RF_ESP_MAX_SEGMENTS], seg_len[RF_ESP_MAX_SEGMENTS];
    memcpy(b, app, RF_ESP_HEADER_LEN);
    size_t off = RF_ESP_HEADER_LEN;
    for (uint32_t i = 0; i < info.segment_count; i++) {
        const rf_esp_segment_t *s = &info.segments[i];
        uint32_t len = i == 0 ? (uint32_t)len0 : s->len;
        rf_put_le32(b + off, s->load_addr);
        rf_put_le32(b + off + 4, len);
        off += RF_ESP_SEGMENT_HEADER_LEN;
        memcpy(b + off, app + s->offset, s->len);
        if (i == 0) {
            memcpy(b + rel, embed, embed_len);
        }
        seg_off[i] = (uint32_t)off;
        seg_len[i] = len;
        off += len;
    }
    *out = b;
    return esp_image_seal(b, body, seg_off, seg_len, (int)info.segment_count);
}

static const rf_part_t *find_ota_data(const rf_ptable_t *t)
{
    return rf_ptable_find(t, RF_PART_TYPE_DATA, RF_PART_SUBTYPE_DATA_OTA);
}

esp_err_t rf_device_write_old_system(rf_device_t *dev, const rf_oldsys_opts_t *opts, rf_oldsys_result_t *res,
                                     char *err, size_t err_len)
{
    static const rf_oldsys_opts_t k_defaults;
    rf_oldsys_result_t local;
    if (opts == NULL) {
        opts = &k_defaults;
    }
    if (res == NULL) {
        res = &local;
    }
    memset(res, 0, sizeof *res);
    if (dev == NULL || dev->sim == NULL) {
        seterr(err, err_len, "no device");
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t *flash = nor_sim_data(dev->sim);
    uint32_t size = nor_sim_config(dev->sim)->size;
    uint16_t chip_id;
    uint32_t bl_off;
    if (!rf_chip_id(dev->chip, &chip_id) || !rf_chip_bootloader_offset(dev->chip, &bl_off)) {
        seterr(err, err_len, "unknown chip '%s'", dev->chip);
        return ESP_ERR_INVALID_ARG;
    }
    rf_ptable_t *t = malloc(sizeof *t);
    if (t == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t e = rf_device_ptable(dev, t);
    if (e != ESP_OK) {
        seterr(err, err_len, "no valid partition table at 0x%x (%s)", (unsigned)dev->ptable_offset,
               esp_err_to_name(e));
        free(t);
        return e;
    }
    const rf_part_t *run_p = rf_ptable_find_label(t, dev->running);
    if (run_p == NULL || run_p->type != RF_PART_TYPE_APP ||
        !(run_p->subtype == RF_PART_SUBTYPE_FACTORY ||
          (run_p->subtype >= RF_PART_SUBTYPE_OTA_MIN && run_p->subtype <= RF_PART_SUBTYPE_OTA_MAX))) {
        seterr(err, err_len, "running partition '%s' is not a factory or ota_N app partition", dev->running);
        free(t);
        return ESP_ERR_INVALID_ARG;
    }
    const rf_part_t run = *run_p;
    const rf_part_t *otad = find_ota_data(t);
    rf_part_t ota_data = otad ? *otad : (rf_part_t){ 0 };
    free(t);
    if ((uint64_t)run.offset + run.size > size) {
        seterr(err, err_len, "running partition '%s' ends past the flash", run.label);
        return ESP_ERR_INVALID_SIZE;
    }
    bool is_ota = run.subtype != RF_PART_SUBTYPE_FACTORY;
    bool write_otadata = is_ota || opts->otadata_force;
    if (write_otadata && (ota_data.size < 2 * RF_OTADATA_SECTOR || (uint64_t)ota_data.offset + ota_data.size > size)) {
        seterr(err, err_len, "running '%s' needs a data/ota partition of at least 0x2000 bytes", run.label);
        return ESP_ERR_NOT_FOUND;
    }

    /* 1. The second-stage bootloader, in [bl_off, partition table). */
    rf_esp_gen_t bg = { .chip_id = chip_id, .is_app = false, .project_name = "bootloader",
                        .code_size = opts->bootloader_code_size ? opts->bootloader_code_size : 12 * 1024,
                        .seed = 0xB007u, .bl_flavor = RF_GEN_BL_ESP_IDF };
    uint8_t *bl = NULL;
    size_t bl_len = rf_gen_esp_image(&bg, &bl);
    if (bl_len == 0) {
        return ESP_ERR_NO_MEM;
    }
    if (bl_off + bl_len > dev->ptable_offset) {
        seterr(err, err_len, "bootloader of %zu bytes at 0x%x runs into the partition table at 0x%x", bl_len,
               (unsigned)bl_off, (unsigned)dev->ptable_offset);
        free(bl);
        return ESP_ERR_INVALID_SIZE;
    }

    /* 2. The app (with the embedded file inside it when it lies there). */
    rf_esp_gen_t ag = { .chip_id = chip_id, .is_app = true,
                        .project_name = opts->app_project ? opts->app_project : "old_app",
                        .version = opts->app_version ? opts->app_version : "1.0.0", .idf_ver = "v5.1.4",
                        .code_size = opts->app_code_size ? opts->app_code_size : 192 * 1024, .seed = 0x01DA99u };
    uint8_t *app = NULL;
    size_t app_len = rf_gen_esp_image(&ag, &app);
    if (app_len == 0) {
        free(bl);
        return ESP_ERR_NO_MEM;
    }
    bool embed_raw = false;
    if (opts->embed != NULL) {
        uint64_t eend = (uint64_t)opts->embed_at + opts->embed_len;
        if (opts->embed_at < run.offset || eend > (uint64_t)run.offset + run.size) {
            seterr(err, err_len, "embedded file [0x%x, 0x%llx) is not inside the running partition '%s' [0x%x, 0x%x)",
                   (unsigned)opts->embed_at, (unsigned long long)eend, run.label, (unsigned)run.offset,
                   (unsigned)(run.offset + run.size));
            e = ESP_ERR_INVALID_ARG;
        } else if (opts->embed_at >= run.offset + app_len) {
            embed_raw = true;
        } else if (opts->embed_at < run.offset + RF_ESP_HEADER_LEN + 8 + RF_ESP_APP_DESC_LEN) {
            seterr(err, err_len, "embedded file at 0x%x would overwrite the app's header or esp_app_desc_t "
                   "(put it at 0x%x or above)", (unsigned)opts->embed_at,
                   (unsigned)(run.offset + RF_ESP_HEADER_LEN + 8 + RF_ESP_APP_DESC_LEN));
            e = ESP_ERR_INVALID_ARG;
        } else {
            uint8_t *grown = NULL;
            size_t glen = app_with_embed(app, app_len, opts->embed, opts->embed_len, opts->embed_at - run.offset,
                                         &grown);
            if (glen == 0) {
                seterr(err, err_len, "cannot build the app around the embedded file");
                e = ESP_ERR_NO_MEM;
            } else {
                free(app);
                app = grown;
                app_len = glen;
                res->embedded_in_app = true;
            }
        }
    }
    if (e == ESP_OK && app_len > run.size) {
        seterr(err, err_len, "app of %zu bytes does not fit '%s' (0x%x bytes)", app_len, run.label,
               (unsigned)run.size);
        e = ESP_ERR_INVALID_SIZE;
    }
    if (e != ESP_OK) {
        free(bl);
        free(app);
        return e;
    }

    /* Everything is known to fit: write. */
    memset(flash + bl_off, 0xFF, dev->ptable_offset - bl_off);
    memcpy(flash + bl_off, bl, bl_len);
    res->bootloader_offset = bl_off;
    res->bootloader_len = (uint32_t)bl_len;
    rf_sha256(bl, bl_len, res->bootloader_sha256);
    rf_oldsys_hex(res->bootloader_sha256, 32, res->bootloader_sha256_hex);
    free(bl);

    memset(flash + run.offset, 0xFF, run.size);
    memcpy(flash + run.offset, app, app_len);
    if (embed_raw) {
        memcpy(flash + opts->embed_at, opts->embed, opts->embed_len);
    }
    res->app_offset = run.offset;
    res->app_len = (uint32_t)app_len;
    rf_sha256(app, app_len, res->app_sha256);
    free(app);

    res->otadata_offset = ota_data.size ? ota_data.offset : 0;
    if (ota_data.size != 0 && (uint64_t)ota_data.offset + ota_data.size <= size) {
        memset(flash + ota_data.offset, 0xFF, ota_data.size);
    }
    if (write_otadata) {
        uint32_t seq = opts->ota_seq;
        if (seq == 0) {
            seq = is_ota ? (uint32_t)(run.subtype - RF_PART_SUBTYPE_OTA_MIN) + 1u : 1u;
        }
        uint32_t state = opts->otadata_state_set ? opts->ota_state : RF_OTA_IMG_UNDEFINED;
        rf_otadata_entry_encode(seq, state, flash + ota_data.offset);
        res->otadata_written = true;
        res->ota_seq = seq;
    }

    rf_oldsys_hex(res->bootloader_sha256, 32, dev->old_bootloader_sha256);
    if (dev->path[0] != 0) {
        e = rf_device_meta_set(dev->path, "old_bootloader_sha256", dev->old_bootloader_sha256);
        if (e != ESP_OK) {
            seterr(err, err_len, "cannot record old_bootloader_sha256 in %s.meta", dev->path);
            return e;
        }
    }
    return ESP_OK;
}
