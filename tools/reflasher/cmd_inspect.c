/*
 * reflasher inspect FILE [--json] [--key KEY] [--slot-size N] [--trailer-size N] [--chip CHIP]
 *
 * Identifies FILE and checks it with the core's inspectors:
 *  - ESP image (second-stage bootloader or ESP-IDF app),
 *  - MCUboot image (optionally padded to its slot, with the swap trailer),
 *  - ESP-IDF binary partition table,
 *  - whole flash dump (2/4/8/16 MiB with a partition table at 0x8000, or
 *    with a bootloader at 0x1000/0x0): the bootloader, the table, and the
 *    content of every partition.
 * Prints every field it read and "valid" or exactly what is wrong.
 * Exit status: 0 valid, 1 invalid, 2 usage error or unreadable file/key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "args.h"
#include "cli.h"
#include "json_out.h"
#include "rf_crypto.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_ptable.h"
#include "rf_region.h"
#include "rf_sig.h"

#define SCRATCH_LEN 4096u
#define MIB (1024u * 1024u)

#define SECTOR 0x1000u
#define MAX_COMPONENTS 128u
#define RF_INSPECT_MAX (256u * MIB)

/* One component found: an image or a partition table, at an offset of the
 * content (the file, or what it decompresses to). */
typedef struct {
    uint32_t off, len;
    const char *kind;
    char label[17];
    bool valid;
} comp_t;

typedef struct {
    bool json;
    uint32_t slot_size;
    uint32_t trailer_size;
    int32_t expect_chip;
    const rf_sig_key_t *key;
    int64_t base;               /**< flash address of content offset 0; -1 unknown */
    cJSON *jcomps;              /**< JSON mode: the "components" array */
    comp_t comps[MAX_COMPONENTS];
    uint32_t ncomps;
    uint8_t scratch[SCRATCH_LEN];
} ctx_t;

static void hex_str(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    out[2 * n] = 0;
}

/* JSON: cJSON objects (json_out.h); `o` NULL in text mode. */
static void json_error(cJSON *o, rf_img_err_t e, uint32_t off)
{
    if (e == RF_IMG_OK) {
        cJSON_AddNullToObject(o, "error");
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, "error");
    rf_json_str(x, "code", rf_img_err_name(e));
    rf_json_str(x, "message", rf_img_err_str(e));
    rf_json_num(x, "offset", off);
}

/* ---- text output ---------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void line(int indent, const char *fmt, ...)
{
    printf("%*s", indent * 2, "");
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static const char *okbad(bool ok)
{
    return ok ? "ok" : "MISMATCH";
}

static void print_result(int indent, rf_img_err_t e, uint32_t off)
{
    if (e == RF_IMG_OK) {
        line(indent, "result: valid");
    } else {
        line(indent, "result: INVALID: %s (%s at offset %u = 0x%x)", rf_img_err_str(e), rf_img_err_name(e),
             (unsigned)off, (unsigned)off);
    }
}

static void rev_str(uint16_t full, char *out, size_t len)
{
    snprintf(out, len, "v%u.%u", (unsigned)(full / 100), (unsigned)(full % 100));
}

/* ---- ESP images ------------------------------------------------------------------ */

static const char *esp_kind_str(const rf_esp_image_info_t *i)
{
    return i->kind == RF_ESP_KIND_APP ? "esp-app" : i->kind == RF_ESP_KIND_BOOTLOADER ? "esp-bootloader" : "esp-image";
}

static void esp_text(int in, const rf_esp_image_info_t *i)
{
    const char *chip = rf_esp_chip_name(i->chip_id);
    char rmin[16], rmax[16];
    rev_str(i->min_chip_rev_full, rmin, sizeof rmin);
    rev_str(i->max_chip_rev_full, rmax, sizeof rmax);
    line(in, "type: ESP image (%s)", i->kind == RF_ESP_KIND_APP ? "app" : i->kind == RF_ESP_KIND_BOOTLOADER ? "bootloader" : "?");
    line(in, "header:");
    line(in + 1, "magic: 0x%02x", i->magic);
    line(in + 1, "segment count: %u", i->segment_count);
    line(in + 1, "spi mode: %u (%s)", i->spi_mode, rf_esp_spi_mode_name(i->spi_mode));
    line(in + 1, "size/freq: 0x%02x (flash size %s, frequency %s)", i->spi_size_freq,
         rf_esp_flash_size_name(i->spi_size_freq), rf_esp_flash_freq_name(i->chip_id, i->spi_size_freq));
    line(in + 1, "entry point: 0x%08x", (unsigned)i->entry_addr);
    if (i->file_size < RF_ESP_HEADER_LEN) {
        return;
    }
    line(in, "extended header:");
    line(in + 1, "wp pin: 0x%02x", i->wp_pin);
    line(in + 1, "spi pin drive: 0x%02x 0x%02x 0x%02x", i->spi_pin_drv[0], i->spi_pin_drv[1], i->spi_pin_drv[2]);
    line(in + 1, "chip id: 0x%04x (%s)", i->chip_id, chip ? chip : "unknown");
    line(in + 1, "min chip rev (legacy): %u", i->min_chip_rev);
    line(in + 1, "min chip rev full: %u (%s)", i->min_chip_rev_full, rmin);
    line(in + 1, "max chip rev full: 0x%04x (%s)", i->max_chip_rev_full, rmax);
    line(in + 1, "hash appended: %u", i->hash_appended);
    if (i->segments_parsed) {
        line(in, "segments:");
        line(in + 1, "%-3s %-12s %-16s %s", "#", "load addr", "length", "file offset");
        for (uint32_t s = 0; s < i->segments_parsed; s++) {
            const rf_esp_segment_t *g = &i->segments[s];
            char len[32];
            snprintf(len, sizeof len, "%u (0x%x)", (unsigned)g->len, (unsigned)g->len);
            line(in + 1, "%-3u 0x%08x   %-16s 0x%x", (unsigned)s, (unsigned)g->load_addr, len, (unsigned)g->offset);
        }
    }
    if (i->has_app_desc) {
        line(in, "app description (esp_app_desc_t):");
        line(in + 1, "magic word: 0x%08x", (unsigned)i->app.magic_word);
        line(in + 1, "project name: %s", i->app.project_name);
        line(in + 1, "version: %s", i->app.version);
        line(in + 1, "esp-idf: %s", i->app.idf_ver);
        line(in + 1, "compiled: %s %s", i->app.date, i->app.time);
        line(in + 1, "secure version: %u", (unsigned)i->app.secure_version);
        char h[65];
        hex_str(i->app.app_elf_sha256, 32, h);
        line(in + 1, "elf sha256: %s", h);
    } else if (i->kind == RF_ESP_KIND_APP) {
        line(in, "app description: magic found, first segment too short for the fields");
    }
    if (i->has_bootloader_desc) {
        line(in, "bootloader description (esp_bootloader_desc_t):");
        line(in + 1, "version: %u", (unsigned)i->bootloader.version);
        line(in + 1, "esp-idf: %s", i->bootloader.idf_ver);
        line(in + 1, "compiled: %s", i->bootloader.date_time);
    }
    if (i->checksum_checked) {
        line(in, "checksum: 0x%02x at offset %u (0x%x), computed 0x%02x: %s", i->checksum_stored,
             (unsigned)i->checksum_offset, (unsigned)i->checksum_offset, i->checksum_calc,
             okbad(i->checksum_stored == i->checksum_calc));
    }
    if (i->sha256_checked) {
        char a[65], b[65];
        hex_str(i->sha256_stored, 32, a);
        hex_str(i->sha256_calc, 32, b);
        line(in, "appended sha256 at offset %u (0x%x) over [0, %u): %s", (unsigned)i->sha256_offset,
             (unsigned)i->sha256_offset, (unsigned)i->sha256_offset, a);
        line(in + 1, "computed: %s: %s", b, okbad(memcmp(i->sha256_stored, i->sha256_calc, 32) == 0));
    } else if (i->checksum_checked && !i->hash_appended) {
        line(in, "appended sha256: none (hash appended 0)");
    }
    if (i->image_len) {
        line(in, "image length: %u bytes (0x%x)", (unsigned)i->image_len, (unsigned)i->image_len);
        if (i->file_size > i->image_len) {
            line(in, "after the image: %u more bytes", (unsigned)(i->file_size - i->image_len));
        }
    }
    print_result(in, i->err, i->err_offset);
}

static void esp_json(cJSON *parent, const char *key, const rf_esp_image_info_t *i)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    rf_json_str(o, "kind", esp_kind_str(i));
    cJSON_AddBoolToObject(o, "valid", i->err == RF_IMG_OK);
    json_error(o, i->err, i->err_offset);
    rf_json_num(o, "magic", i->magic);
    rf_json_num(o, "segment_count", i->segment_count);
    rf_json_num(o, "spi_mode", i->spi_mode);
    rf_json_str(o, "spi_mode_name", rf_esp_spi_mode_name(i->spi_mode));
    rf_json_num(o, "spi_size_freq", i->spi_size_freq);
    rf_json_str(o, "flash_size", rf_esp_flash_size_name(i->spi_size_freq));
    rf_json_str(o, "flash_freq", rf_esp_flash_freq_name(i->chip_id, i->spi_size_freq));
    rf_json_num(o, "entry_addr", i->entry_addr);
    rf_json_num(o, "wp_pin", i->wp_pin);
    rf_json_num(o, "chip_id", i->chip_id);
    rf_json_str(o, "chip", rf_esp_chip_name(i->chip_id));
    rf_json_num(o, "min_chip_rev", i->min_chip_rev);
    rf_json_num(o, "min_chip_rev_full", i->min_chip_rev_full);
    rf_json_num(o, "max_chip_rev_full", i->max_chip_rev_full);
    rf_json_num(o, "hash_appended", i->hash_appended);
    cJSON *segs = cJSON_AddArrayToObject(o, "segments");
    for (uint32_t s = 0; s < i->segments_parsed; s++) {
        cJSON *g = rf_json_push_object(segs);
        rf_json_num(g, "load_addr", i->segments[s].load_addr);
        rf_json_num(g, "length", i->segments[s].len);
        rf_json_num(g, "offset", i->segments[s].offset);
    }
    if (i->checksum_checked) {
        rf_json_num(o, "checksum_offset", i->checksum_offset);
        rf_json_num(o, "checksum_stored", i->checksum_stored);
        rf_json_num(o, "checksum_calc", i->checksum_calc);
    }
    if (i->sha256_checked) {
        rf_json_num(o, "sha256_offset", i->sha256_offset);
        rf_json_hex(o, "sha256_stored", i->sha256_stored, 32);
        rf_json_hex(o, "sha256_calc", i->sha256_calc, 32);
    }
    rf_json_num(o, "image_len", i->image_len);
    if (i->has_app_desc) {
        cJSON *a = cJSON_AddObjectToObject(o, "app_desc");
        rf_json_str(a, "project_name", i->app.project_name);
        rf_json_str(a, "version", i->app.version);
        rf_json_str(a, "idf_ver", i->app.idf_ver);
        rf_json_str(a, "date", i->app.date);
        rf_json_str(a, "time", i->app.time);
        rf_json_num(a, "secure_version", i->app.secure_version);
        rf_json_hex(a, "app_elf_sha256", i->app.app_elf_sha256, 32);
    }
    if (i->has_bootloader_desc) {
        cJSON *b = cJSON_AddObjectToObject(o, "bootloader_desc");
        rf_json_num(b, "version", i->bootloader.version);
        rf_json_str(b, "idf_ver", i->bootloader.idf_ver);
        rf_json_str(b, "date_time", i->bootloader.date_time);
    }
}

/* ---- MCUboot images ----------------------------------------------------------------- */

static void tlv_value_text(const rf_reader_t *r, const rf_mcuboot_tlv_t *t, char *out, size_t len)
{
    uint8_t v[64];
    uint32_t n = t->len < sizeof v ? t->len : (uint32_t)sizeof v;
    if (rf_reader_read(r, t->offset, v, n) != ESP_OK) {
        snprintf(out, len, "?");
        return;
    }
    char h[2 * sizeof v + 1];
    hex_str(v, n, h);
    if (t->type == RF_TLV_SEC_CNT && t->len == 4) {
        snprintf(out, len, "%s (security counter %u)", h, (unsigned)rf_le32(v));
    } else {
        snprintf(out, len, "%s%s", h, t->len > n ? "..." : "");
    }
}

static void mcuboot_text(int in, const rf_reader_t *r, const rf_mcuboot_info_t *i)
{
    line(in, "type: MCUboot image");
    line(in, "header:");
    line(in + 1, "magic: 0x%08x", (unsigned)i->magic);
    if (i->file_size >= RF_MCUBOOT_HEADER_LEN) {
        line(in + 1, "load address: 0x%08x", (unsigned)i->load_addr);
        line(in + 1, "header size: %u", i->hdr_size);
        line(in + 1, "protected TLV size: %u", i->protect_tlv_size);
        line(in + 1, "image size: %u (0x%x)", (unsigned)i->img_size, (unsigned)i->img_size);
        line(in + 1, "flags: 0x%08x", (unsigned)i->flags);
        line(in + 1, "version: %u.%u.%u build %u", i->ver_major, i->ver_minor, i->ver_revision,
             (unsigned)i->ver_build);
    }
    for (int area = 0; area < 2; area++) {
        bool prot = area == 0;
        if (prot && !i->has_prot_area) {
            if (i->has_tlv_area) {
                line(in, "protected TLV area: none");
            }
            continue;
        }
        if (!prot && !i->has_tlv_area) {
            continue;
        }
        line(in, "%s at 0x%x: magic 0x%04x, total length %u", prot ? "protected TLV area" : "TLV area",
             (unsigned)(prot ? i->prot_off : i->tlv_off), prot ? i->prot_magic : i->tlv_magic,
             prot ? i->prot_tot : i->tlv_tot);
        for (uint32_t k = 0; k < i->tlvs_listed; k++) {
            const rf_mcuboot_tlv_t *t = &i->tlvs[k];
            if (t->is_protected != prot) {
                continue;
            }
            const char *name = rf_mcuboot_tlv_name(t->type);
            char v[200];
            tlv_value_text(r, t, v, sizeof v);
            line(in + 1, "TLV type 0x%02x (%s) length %u at 0x%x: %s", t->type, name ? name : "unknown", t->len,
                 (unsigned)t->offset, v);
        }
    }
    if (i->tlv_count > i->tlvs_listed) {
        line(in + 1, "(%u more TLVs not listed)", (unsigned)(i->tlv_count - i->tlvs_listed));
    }
    if (i->image_end) {
        line(in, "image end: 0x%x (%u bytes: header + image + TLVs)", (unsigned)i->image_end, (unsigned)i->image_end);
    }
    if (i->sha256_checked) {
        char a[65], b[65];
        hex_str(i->sha256_tlv, 32, a);
        hex_str(i->sha256_calc, 32, b);
        line(in, "sha256 TLV: %s", a);
        line(in + 1, "computed over [0, 0x%x): %s: %s", (unsigned)i->hashed_len, b,
             okbad(memcmp(a, b, 64) == 0));
    } else if (i->has_tlv_area && !i->has_sha256 && i->image_end) {
        line(in, "sha256 TLV: none");
    }
    if (i->image_end) {
        if (i->sig_type) {
            const char *name = rf_mcuboot_tlv_name(i->sig_type);
            line(in, "signature: %s (TLV 0x%02x, %u bytes at 0x%x): %s", name ? name : "?", i->sig_type, i->sig_len,
                 (unsigned)i->sig_offset, rf_sig_state_name(i->sig_state));
        } else {
            line(in, "signature: absent");
        }
        if (i->has_keyhash) {
            char h[65];
            hex_str(i->keyhash, 32, h);
            line(in + 1, "key hash: %s (%s)", h,
                 i->keyhash_state == RF_KEYHASH_MATCH      ? "matches the key"
                 : i->keyhash_state == RF_KEYHASH_MISMATCH ? "DIFFERS from the key's hash"
                                                           : "no key given");
        }
    }
    if (i->slot_size) {
        line(in, "slot: %u bytes (0x%x)%s, trailer reserve %u bytes, room before the trailer: %s", (unsigned)i->slot_size,
             (unsigned)i->slot_size, i->slot_size == i->file_size ? " = all the data" : "", (unsigned)i->trailer_size,
             (uint64_t)i->image_end + i->trailer_size <= i->slot_size ? "fits" : "DOES NOT FIT");
    }
    if (i->trailer != RF_TRAILER_NOT_PRESENT) {
        char m[33];
        hex_str(i->trailer_magic, 16, m);
        line(in, "trailer:");
        line(in + 1, "magic at 0x%x: %s (%s)", (unsigned)i->trailer_magic_off, m, rf_trailer_state_name(i->trailer));
        uint32_t s = i->slot_size;
        line(in + 1, "image_ok at 0x%x: 0x%02x", (unsigned)(s - RF_MCUBOOT_TRAILER_IMAGE_OK_END), i->image_ok);
        line(in + 1, "copy_done at 0x%x: 0x%02x", (unsigned)(s - RF_MCUBOOT_TRAILER_COPY_DONE_END), i->copy_done);
        if (i->swap_info == 0xFF) {
            line(in + 1, "swap_info at 0x%x: 0xff (unset)", (unsigned)(s - RF_MCUBOOT_TRAILER_SWAP_INFO_END));
        } else {
            line(in + 1, "swap_info at 0x%x: 0x%02x (swap type %s, image %u)",
                 (unsigned)(s - RF_MCUBOOT_TRAILER_SWAP_INFO_END), i->swap_info,
                 rf_mcuboot_swap_type_name(i->swap_info & 0x0F), (unsigned)(i->swap_info >> 4));
        }
        line(in + 1, "swap_size at 0x%x: 0x%08x", (unsigned)(s - RF_MCUBOOT_TRAILER_SWAP_SIZE_END), (unsigned)i->swap_size);
        line(in + 1, "as the secondary slot: %s",
             i->swap_request == RF_SWAP_REQ_PERM   ? "permanent swap requested (perm)"
             : i->swap_request == RF_SWAP_REQ_TEST ? "test swap requested (test)"
                                                   : "no swap requested");
    }
    print_result(in, i->err, i->err_offset);
}

static void mcuboot_json(cJSON *parent, const char *key, const rf_mcuboot_info_t *i)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    cJSON_AddBoolToObject(o, "valid", i->err == RF_IMG_OK);
    json_error(o, i->err, i->err_offset);
    rf_json_num(o, "magic", i->magic);
    rf_json_num(o, "load_addr", i->load_addr);
    rf_json_num(o, "hdr_size", i->hdr_size);
    rf_json_num(o, "protect_tlv_size", i->protect_tlv_size);
    rf_json_num(o, "img_size", i->img_size);
    rf_json_num(o, "flags", i->flags);
    cJSON *v = cJSON_AddObjectToObject(o, "version");
    rf_json_num(v, "major", i->ver_major);
    rf_json_num(v, "minor", i->ver_minor);
    rf_json_num(v, "revision", i->ver_revision);
    rf_json_num(v, "build", i->ver_build);
    if (i->has_prot_area) {
        cJSON *a = cJSON_AddObjectToObject(o, "protected_tlv_area");
        rf_json_num(a, "offset", i->prot_off);
        rf_json_num(a, "magic", i->prot_magic);
        rf_json_num(a, "total", i->prot_tot);
    }
    if (i->has_tlv_area) {
        cJSON *a = cJSON_AddObjectToObject(o, "tlv_area");
        rf_json_num(a, "offset", i->tlv_off);
        rf_json_num(a, "magic", i->tlv_magic);
        rf_json_num(a, "total", i->tlv_tot);
    }
    cJSON *tlvs = cJSON_AddArrayToObject(o, "tlvs");
    for (uint32_t k = 0; k < i->tlvs_listed; k++) {
        cJSON *t = rf_json_push_object(tlvs);
        rf_json_num(t, "type", i->tlvs[k].type);
        rf_json_str(t, "name", rf_mcuboot_tlv_name(i->tlvs[k].type));
        rf_json_num(t, "len", i->tlvs[k].len);
        rf_json_num(t, "offset", i->tlvs[k].offset);
        cJSON_AddBoolToObject(t, "protected", i->tlvs[k].is_protected);
    }
    rf_json_num(o, "image_end", i->image_end);
    rf_json_num(o, "hashed_len", i->hashed_len);
    if (i->has_sha256) {
        rf_json_hex(o, "sha256_tlv", i->sha256_tlv, 32);
    }
    if (i->sha256_checked) {
        rf_json_hex(o, "sha256_calc", i->sha256_calc, 32);
    }
    if (i->has_sec_cnt) {
        rf_json_num(o, "security_counter", i->sec_cnt);
    }
    rf_json_num(o, "sig_type", i->sig_type);
    rf_json_str(o, "signature", rf_sig_state_name(i->sig_state));
    if (i->has_keyhash) {
        rf_json_hex(o, "keyhash", i->keyhash, 32);
    }
    rf_json_num(o, "slot_size", i->slot_size);
    rf_json_num(o, "trailer_size", i->trailer_size);
    rf_json_str(o, "trailer", rf_trailer_state_name(i->trailer));
    if (i->trailer != RF_TRAILER_NOT_PRESENT) {
        rf_json_num(o, "trailer_magic_offset", i->trailer_magic_off);
        rf_json_hex(o, "trailer_magic", i->trailer_magic, 16);
        rf_json_num(o, "image_ok", i->image_ok);
        rf_json_num(o, "copy_done", i->copy_done);
        rf_json_num(o, "swap_info", i->swap_info);
        rf_json_num(o, "swap_size", i->swap_size);
        rf_json_str(o, "swap_request", i->swap_request == RF_SWAP_REQ_PERM   ? "perm"
                                       : i->swap_request == RF_SWAP_REQ_TEST ? "test"
                                                                             : "none");
    }
}

/* ---- one image anywhere (a file or a partition of a dump) -------------------------- */

typedef enum { CONTENT_BLANK, CONTENT_ESP, CONTENT_MCUBOOT, CONTENT_DATA } content_t;

static content_t classify(const uint8_t *d, uint32_t len)
{
    if (len >= 1 && d[0] == RF_ESP_IMAGE_MAGIC) {
        return CONTENT_ESP;
    }
    if (len >= 4 && rf_le32(d) == RF_MCUBOOT_MAGIC) {
        return CONTENT_MCUBOOT;
    }
    return rf_is_blank(d, len) ? CONTENT_BLANK : CONTENT_DATA;
}

/* Record a component for the summary; in JSON mode, its entry of the
 * "components" array (the caller may add facts to it). */
static cJSON *add_comp(ctx_t *c, uint32_t off, uint32_t len, const char *kind, const char *label, bool valid)
{
    if (c->ncomps < MAX_COMPONENTS) {
        comp_t *k = &c->comps[c->ncomps++];
        k->off = off;
        k->len = len;
        k->kind = kind;
        snprintf(k->label, sizeof k->label, "%s", label ? label : "");
        k->valid = valid;
    }
    if (!c->json) {
        return NULL;
    }
    cJSON *e = rf_json_push_object(c->jcomps);
    rf_json_num(e, "offset", off);
    if (c->base >= 0) {
        rf_json_num(e, "flash_addr", (uint64_t)c->base + off);
    } else {
        cJSON_AddNullToObject(e, "flash_addr");
    }
    rf_json_num(e, "length", len);
    rf_json_str(e, "kind", kind);
    if (label != NULL) {
        rf_json_str(e, "label", label);
    }
    cJSON_AddBoolToObject(e, "valid", valid);
    return e;
}

static void print_comps(const ctx_t *c)
{
    if (c->json || c->ncomps == 0) {
        return;
    }
    line(0, "components: %u", (unsigned)c->ncomps);
    line(1, "%-10s %-10s %-10s %-16s %-17s %s", "offset", "flash", "length", "kind", "partition", "result");
    for (uint32_t k = 0; k < c->ncomps; k++) {
        const comp_t *x = &c->comps[k];
        char off[16], fl[24];
        snprintf(off, sizeof off, "0x%x", (unsigned)x->off);
        if (c->base >= 0) {
            snprintf(fl, sizeof fl, "0x%llx", (unsigned long long)(c->base + x->off));
        } else {
            snprintf(fl, sizeof fl, "?");
        }
        line(1, "%-10s %-10s %-10u %-16s %-17s %s", off, fl, (unsigned)x->len, x->kind, x->label[0] ? x->label : "-",
             x->valid ? "valid" : "INVALID");
    }
}

/* The end of a listing of several components: the summary and the verdict. */
static bool conclude(ctx_t *c, cJSON *root, bool ok)
{
    if (c->json) {
        cJSON_AddBoolToObject(root, "valid", ok);
    } else {
        print_comps(c);
        line(0, "result: %s", ok ? "valid" : "INVALID (see above)");
    }
    return ok;
}

typedef struct {
    bool ok;
    const char *kind;   /**< "esp-bootloader", "esp-app", "esp-image" or "mcuboot" */
    uint32_t len;       /**< the image's own length (0: unknown, the header is broken) */
    uint16_t chip;      /**< ESP images: the chip id of the header, else RF_ESP_CHIP_ID_INVALID */
    bool bootloader;
} img_res_t;

/* Inspect an image in d[0, len): prints its facts (text mode) or adds them
 * as parent[jkey] (JSON); `quiet` only inspects. */
static img_res_t inspect_image_ex(ctx_t *c, cJSON *parent, const char *jkey, int indent, const uint8_t *d,
                                  uint32_t len, content_t kind, uint32_t slot_size, int32_t chip, bool quiet)
{
    img_res_t res = { .ok = false, .kind = "mcuboot", .chip = RF_ESP_CHIP_ID_INVALID };
    rf_reader_t r;
    rf_reader_buf_t rb;
    (void)rf_reader_from_buffer(&r, &rb, d, len);
    if (kind == CONTENT_ESP) {
        rf_esp_image_info_t *i = calloc(1, sizeof *i);
        if (i == NULL) {
            return res;
        }
        rf_esp_image_opts_t o = { .expect_chip_id = chip };
        (void)rf_esp_image_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, i);
        if (quiet) {
        } else if (c->json) {
            esp_json(parent, jkey, i);
        } else {
            esp_text(indent, i);
        }
        res.ok = i->err == RF_IMG_OK;
        res.kind = esp_kind_str(i);
        res.len = i->image_len;
        res.bootloader = i->kind == RF_ESP_KIND_BOOTLOADER;
        if (i->file_size >= RF_ESP_HEADER_LEN) {
            res.chip = i->chip_id;
        }
        free(i);
        return res;
    }
    rf_mcuboot_info_t *i = calloc(1, sizeof *i);
    if (i == NULL) {
        return res;
    }
    rf_mcuboot_opts_t o = { .slot_size = slot_size, .trailer_size = c->trailer_size, .key = c->key };
    (void)rf_mcuboot_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, i);
    if (quiet) {
    } else if (c->json) {
        mcuboot_json(parent, jkey, i);
    } else {
        mcuboot_text(indent, &r, i);
    }
    res.ok = i->err == RF_IMG_OK;
    res.len = i->image_end;
    free(i);
    return res;
}

static img_res_t inspect_image(ctx_t *c, cJSON *parent, const char *jkey, int indent, const uint8_t *d, uint32_t len,
                               content_t kind, uint32_t slot_size, int32_t chip)
{
    return inspect_image_ex(c, parent, jkey, indent, d, len, kind, slot_size, chip, false);
}

/* ---- partition tables -------------------------------------------------------------- */

static const char *ptable_err(esp_err_t e)
{
    switch (e) {
    case ESP_OK: return NULL;
    case ESP_ERR_INVALID_CRC: return "MD5 entry does not match the entries";
    case ESP_ERR_NOT_FOUND: return "no partition table";
    case ESP_ERR_INVALID_SIZE: return "corrupt partition table";
    default: return "cannot parse the partition table";
    }
}

static void ptable_list(ctx_t *c, cJSON *o, int in, const rf_ptable_t *t)
{
    if (c->json) {
        rf_json_num(o, "count", t->count);
        cJSON_AddBoolToObject(o, "has_md5", t->has_md5);
        cJSON_AddBoolToObject(o, "md5_ok", t->md5_ok);
        return;
    }
    line(in, "%u partitions, MD5 entry: %s", (unsigned)t->count,
         t->has_md5 ? (t->md5_ok ? "present, matches" : "present, DOES NOT MATCH") : "absent");
    line(in + 1, "%-16s %-18s %-10s %-10s %s", "label", "type/subtype", "offset", "size", "flags");
    for (uint32_t k = 0; k < t->count; k++) {
        const rf_part_t *p = &t->parts[k];
        char kind[40];
        rf_part_kind_name(p->type, p->subtype, kind, sizeof kind);
        line(in + 1, "%-16s %-18s 0x%-8x 0x%-8x 0x%x", p->label, kind, (unsigned)p->offset, (unsigned)p->size,
             (unsigned)p->flags);
    }
}

static void part_json(cJSON *o, const rf_part_t *p)
{
    char kind[40];
    rf_part_kind_name(p->type, p->subtype, kind, sizeof kind);
    rf_json_str(o, "label", p->label);
    rf_json_num(o, "type", p->type);
    rf_json_num(o, "subtype", p->subtype);
    rf_json_str(o, "kind", kind);
    rf_json_num(o, "offset", p->offset);
    rf_json_num(o, "size", p->size);
    rf_json_num(o, "flags", p->flags);
}

/* Parse a table that starts at d (len bytes left, padded with 0xFF when short of
 * a whole table). */
static esp_err_t ptable_parse_at(const uint8_t *d, uint32_t len, rf_ptable_t *t)
{
    uint8_t buf[RF_PTABLE_MAX_LEN];
    uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
    memset(buf, 0xFF, sizeof buf);
    memcpy(buf, d, n);
    return rf_ptable_parse(buf, sizeof buf, t);
}

/* A table as a file or as a component: parent["partition_table"] or text at `in`. */
static bool ptable_view(ctx_t *c, cJSON *parent, int in, const uint8_t *d, uint32_t len)
{
    rf_ptable_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return false;
    }
    esp_err_t e = ptable_parse_at(d, len, t);
    uint32_t bad = 0;
    esp_err_t chk = (e == ESP_OK) ? rf_ptable_check(t, 0, 0, &bad) : ESP_OK;
    bool ok = e == ESP_OK && chk == ESP_OK;
    if (c->json) {
        cJSON *o = cJSON_AddObjectToObject(parent, "partition_table");
        ptable_list(c, o, 0, t);
        rf_json_str(o, "error", e != ESP_OK ? ptable_err(e) : chk != ESP_OK ? "partition layout check failed" : NULL);
        cJSON *parts = cJSON_AddArrayToObject(o, "partitions");
        for (uint32_t k = 0; k < t->count; k++) {
            part_json(rf_json_push_object(parts), &t->parts[k]);
        }
    } else {
        line(in, "type: ESP-IDF partition table");
        ptable_list(c, NULL, in, t);
        if (e != ESP_OK) {
            line(in, "result: INVALID: %s (%s)", ptable_err(e), esp_err_to_name(e));
        } else if (chk != ESP_OK) {
            line(in, "result: INVALID: partition '%s' breaks the layout rules (alignment, overlap, labels)",
                 bad < t->count ? t->parts[bad].label : "?");
        } else {
            line(in, "result: valid");
        }
    }
    free(t);
    return ok;
}

/* ---- whole flash dumps ------------------------------------------------------------- */

static bool is_flash_size(uint32_t n)
{
    return n == 2 * MIB || n == 4 * MIB || n == 8 * MIB || n == 16 * MIB;
}

static bool dump_has_table(const uint8_t *d, uint32_t len, rf_ptable_t *t)
{
    if (!is_flash_size(len)) {
        return false;
    }
    esp_err_t e = rf_ptable_parse(d + RF_PTABLE_OFFSET_DEFAULT, RF_PTABLE_MAX_LEN, t);
    return e == ESP_OK || e == ESP_ERR_INVALID_CRC;
}

static bool inspect_dump(ctx_t *c, cJSON *root, const uint8_t *d, uint32_t len, rf_ptable_t *t, bool has_table)
{
    bool ok = true;
    c->base = 0;
    if (c->json) {
        rf_json_str(root, "type", "flash-dump");
        rf_json_num(root, "flash_size", len);
    } else {
        line(0, "type: whole flash dump (%u MiB)", (unsigned)(len / MIB));
    }

    /* Bootloader: 0x1000 (ESP32, -S2), 0x0 (most others), 0x2000 (-C5, -P4). */
    static const uint32_t offs[] = { 0x1000, 0x0, 0x2000 };
    uint32_t bl = UINT32_MAX;
    for (size_t k = 0; k < sizeof offs / sizeof offs[0] && bl == UINT32_MAX; k++) {
        if (d[offs[k]] == RF_ESP_IMAGE_MAGIC) {
            bl = offs[k];
        }
    }
    uint16_t chip = RF_ESP_CHIP_ID_INVALID;
    if (bl == UINT32_MAX) {
        ok = false;
        if (c->json) {
            cJSON_AddNullToObject(root, "bootloader");
        } else {
            line(0, "bootloader: NONE at 0x1000, 0x0 or 0x2000");
        }
    } else {
        if (!c->json) {
            line(0, "bootloader at 0x%x:", (unsigned)bl);
        } else {
            rf_json_num(root, "bootloader_offset", bl);
        }
        uint32_t room = RF_PTABLE_OFFSET_DEFAULT - bl;   /* up to the partition table */
        img_res_t r = inspect_image(c, root, "bootloader", 1, d + bl, room, CONTENT_ESP, 0, c->expect_chip);
        ok &= r.ok;
        chip = r.chip;
        if (chip != RF_ESP_CHIP_ID_INVALID && rf_esp_chip_bootloader_offset(chip) != bl) {
            ok = false;
            r.ok = false;
            if (c->json) {
                rf_json_str(root, "bootloader_offset_error", "the bootloader's chip boots from another offset");
            } else {
                line(1, "WRONG OFFSET: a %s boots its bootloader from 0x%x, not 0x%x",
                     rf_esp_chip_name(chip) ? rf_esp_chip_name(chip) : "chip", (unsigned)rf_esp_chip_bootloader_offset(chip),
                     (unsigned)bl);
            }
        }
        add_comp(c, bl, r.len, r.kind, NULL, r.ok);
    }
    int32_t img_chip = chip != RF_ESP_CHIP_ID_INVALID ? chip : c->expect_chip;

    if (!has_table) {
        /* No ESP-IDF table: a system like MCUboot's keeps its slots at fixed
         * offsets. Report every image found at a 64 KiB boundary; each one's
         * slot runs to the next image (or the end of the flash). */
        uint32_t found[64], n = 0;
        for (uint32_t a = 0x10000; a + 32 <= len && n < 64; a += 0x10000) {
            content_t ct = classify(d + a, 32);
            if (ct == CONTENT_ESP || ct == CONTENT_MCUBOOT) {
                found[n++] = a;
            }
        }
        cJSON *images = NULL;
        if (c->json) {
            cJSON_AddNullToObject(root, "partition_table");
            images = cJSON_AddArrayToObject(root, "images");
        } else {
            line(0, "partition table at 0x8000: none; images found at 64 KiB boundaries: %u", (unsigned)n);
        }
        if (n == 0) {
            ok = false;
        }
        for (uint32_t k = 0; k < n; k++) {
            uint32_t a = found[k], end = k + 1 < n ? found[k + 1] : len;
            content_t ct = classify(d + a, end - a);
            cJSON *e = NULL;
            if (c->json) {
                e = rf_json_push_object(images);
                rf_json_num(e, "offset", a);
                rf_json_num(e, "slot_size", end - a);
            } else {
                line(0, "image at 0x%x (slot up to 0x%x, 0x%x bytes):", (unsigned)a, (unsigned)end, (unsigned)(end - a));
            }
            img_res_t r = inspect_image(c, e, "image", 1, d + a, end - a, ct, ct == CONTENT_MCUBOOT ? end - a : 0,
                                        img_chip);
            ok &= r.ok;
            add_comp(c, a, r.len, r.kind, NULL, r.ok);
        }
    } else {
        uint32_t bad = 0;
        esp_err_t chk = rf_ptable_check(t, RF_PTABLE_OFFSET_DEFAULT, len, &bad);
        bool tok = (!t->has_md5 || t->md5_ok) && chk == ESP_OK;
        ok &= tok;
        cJSON *pt = NULL, *parts = NULL;
        if (c->json) {
            pt = cJSON_AddObjectToObject(root, "partition_table");
            rf_json_num(pt, "offset", RF_PTABLE_OFFSET_DEFAULT);
            ptable_list(c, pt, 0, t);
            cJSON_AddBoolToObject(pt, "layout_ok", chk == ESP_OK);
            parts = cJSON_AddArrayToObject(pt, "partitions");
        } else {
            line(0, "partition table at 0x8000:");
            ptable_list(c, NULL, 1, t);
            if (chk != ESP_OK) {
                line(1, "LAYOUT ERROR at partition '%s' (alignment, overlap, bounds or labels)",
                     bad < t->count ? t->parts[bad].label : "?");
            }
            if (t->has_md5 && !t->md5_ok) {
                line(1, "MD5 MISMATCH");
            }
        }
        add_comp(c, RF_PTABLE_OFFSET_DEFAULT, RF_PTABLE_MAX_LEN, "partition-table", NULL, tok);
        for (uint32_t k = 0; k < t->count; k++) {
            const rf_part_t *p = &t->parts[k];
            char kind[40];
            rf_part_kind_name(p->type, p->subtype, kind, sizeof kind);
            cJSON *e = NULL;
            if (c->json) {
                e = rf_json_push_object(parts);
                part_json(e, p);
            } else {
                line(0, "partition '%s' (%s) at 0x%x, 0x%x bytes:", p->label, kind, (unsigned)p->offset,
                     (unsigned)p->size);
            }
            if (!rf_contains(0, len, p->offset, p->size)) {
                ok = false;
                if (c->json) {
                    rf_json_str(e, "content", "outside-the-dump");
                } else {
                    line(1, "OUTSIDE the dump");
                }
                continue;
            }
            content_t ct = classify(d + p->offset, p->size);
            const char *name = ct == CONTENT_BLANK ? "blank" : ct == CONTENT_ESP ? "esp-image"
                               : ct == CONTENT_MCUBOOT ? "mcuboot" : "data";
            if (c->json) {
                rf_json_str(e, "content", name);
            }
            if (ct == CONTENT_ESP || ct == CONTENT_MCUBOOT) {
                img_res_t r = inspect_image(c, e, "image", 1, d + p->offset, p->size, ct, p->size, img_chip);
                ok &= r.ok;
                add_comp(c, p->offset, r.len, r.kind, p->label, r.ok);
            } else if (!c->json) {
                line(1, ct == CONTENT_BLANK ? "blank (all 0xFF)"
                        : p->type == RF_PART_TYPE_APP ? "not an image (unrecognized content)"
                                                      : "data");
            }
        }
    }
    return conclude(c, root, ok);
}

/* ---- merged binaries (esptool merge-bin) and anything else: a scan -------------- */

typedef struct {
    uint32_t off;
    content_t ct;       /**< CONTENT_ESP, CONTENT_MCUBOOT or CONTENT_DATA for a partition table */
    img_res_t probe;
} found_t;

static bool plausible_esp(const uint8_t *d, uint32_t len)
{
    /* magic, 1..16 segments, a known SPI mode (QIO .. SLOW_READ) */
    return len >= RF_ESP_HEADER_LEN && d[0] == RF_ESP_IMAGE_MAGIC && d[1] >= 1 && d[1] <= RF_ESP_MAX_SEGMENTS &&
           d[2] <= 5;
}

static bool plausible_ptable(const uint8_t *d, uint32_t len)
{
    if (len < RF_PTABLE_ENTRY_LEN || d[0] != 0xAA || d[1] != 0x50) {
        return false;
    }
    rf_ptable_t *t = calloc(1, sizeof *t);
    esp_err_t e = t != NULL ? ptable_parse_at(d, len, t) : ESP_ERR_NO_MEM;
    free(t);
    return e == ESP_OK || e == ESP_ERR_INVALID_CRC;
}

/* Every image and partition table that starts on a sector boundary: after
 * each one the scan goes on at the first sector past its end (what
 * esptool merge-bin writes: each input at its own flash offset, 0xFF between). */
static uint32_t scan(ctx_t *c, const uint8_t *d, uint32_t n, found_t *f, uint32_t max)
{
    uint32_t nf = 0;
    for (uint32_t off = 0; off < n && nf < max;) {
        const uint8_t *p = d + off;
        uint32_t left = n - off, used = 0;
        found_t x = { .off = off };
        /* at offset 0 the magic is enough (a broken header is then reported
         * as such); further on the header must look right too */
        bool at0 = off == 0;
        bool esp = at0 ? p[0] == RF_ESP_IMAGE_MAGIC : plausible_esp(p, left);
        bool mcu = left >= (at0 ? 4u : RF_MCUBOOT_HEADER_LEN) && rf_le32(p) == RF_MCUBOOT_MAGIC;
        if (esp || mcu) {
            x.ct = esp ? CONTENT_ESP : CONTENT_MCUBOOT;
            x.probe = inspect_image_ex(c, NULL, NULL, 0, p, left, x.ct, 0, RF_ESP_CHIP_ANY, true);
            used = x.probe.len ? x.probe.len : 1;
        } else if (at0 ? left >= 2 && p[0] == 0xAA && p[1] == 0x50 : plausible_ptable(p, left)) {
            x.ct = CONTENT_DATA;
            used = RF_PTABLE_MAX_LEN;
        }
        if (used == 0) {
            off = left > SECTOR ? off + SECTOR : n;
            continue;
        }
        f[nf++] = x;
        uint64_t next = ((uint64_t)off + used + SECTOR - 1) / SECTOR * SECTOR;
        off = next < n ? (uint32_t)next : n;
    }
    return nf;
}

static bool inspect_merged(ctx_t *c, cJSON *root, const uint8_t *d, uint32_t n, const found_t *f, uint32_t nf)
{
    /* The flash address of offset 0: from a bootloader for a known chip,
     * which belongs at that chip's bootloader offset (esptool merge-bin's
     * base offset: 0x1000 when the first input was the ESP32 bootloader). */
    const found_t *blf = NULL;
    for (uint32_t k = 0; k < nf && blf == NULL; k++) {
        if (f[k].ct == CONTENT_ESP && f[k].probe.bootloader && rf_esp_chip_name(f[k].probe.chip) != NULL &&
            rf_esp_chip_bootloader_offset(f[k].probe.chip) >= f[k].off) {
            blf = &f[k];
        }
    }
    c->base = blf ? (int64_t)rf_esp_chip_bootloader_offset(blf->probe.chip) - blf->off : -1;
    if (c->json) {
        rf_json_str(root, "type", "merged");
        if (c->base >= 0) {
            rf_json_num(root, "base_offset", (uint64_t)c->base);
        } else {
            cJSON_AddNullToObject(root, "base_offset");
        }
    } else {
        line(0, "type: merged binary (%u components at sector offsets, as esptool merge-bin writes them; offsets "
                "inside a component are from its start)", (unsigned)nf);
        if (blf != NULL) {
            line(0, "flash base: 0x%llx (the %s bootloader at offset 0x%x belongs at 0x%x)",
                 (unsigned long long)c->base, rf_esp_chip_name(blf->probe.chip), (unsigned)blf->off,
                 (unsigned)rf_esp_chip_bootloader_offset(blf->probe.chip));
        } else {
            line(0, "flash base: unknown (no bootloader for a known chip)");
        }
    }
    bool ok = true;
    for (uint32_t k = 0; k < nf; k++) {
        uint32_t off = f[k].off, end = k + 1 < nf ? f[k + 1].off : n;
        if (!c->json) {
            char fl[32] = "";
            if (c->base >= 0) {
                snprintf(fl, sizeof fl, " (flash 0x%llx)", (unsigned long long)(c->base + off));
            }
            line(0, "component %u at 0x%x%s, up to 0x%x:", (unsigned)k + 1, (unsigned)off, fl, (unsigned)end);
        }
        /* the facts go into the component's own entry: inspect into a holder, then move them */
        cJSON *holder = c->json ? cJSON_CreateObject() : NULL;
        img_res_t r;
        if (f[k].ct == CONTENT_DATA) {
            r = (img_res_t){ .ok = ptable_view(c, holder, 1, d + off, end - off), .kind = "partition-table",
                             .len = RF_PTABLE_MAX_LEN, .chip = RF_ESP_CHIP_ID_INVALID };
        } else {
            r = inspect_image(c, holder, f[k].ct == CONTENT_ESP ? "esp" : "mcuboot", 1, d + off, end - off, f[k].ct,
                              c->slot_size, c->expect_chip);
        }
        ok &= r.ok;
        cJSON *e = add_comp(c, off, r.len, r.kind, NULL, r.ok);
        if (holder != NULL) {
            cJSON *facts = holder->child;
            if (facts != NULL && e != NULL) {
                cJSON_AddItemToObject(e, facts->string, cJSON_DetachItemViaPointer(holder, facts));
            }
            cJSON_Delete(holder);
        }
    }
    return conclude(c, root, ok);
}

/* ---- gzip / zlib ------------------------------------------------------------------- */

static bool is_gzip(const uint8_t *d, size_t n)
{
    return n >= 3 && d[0] == 0x1F && d[1] == 0x8B && d[2] == 8;
}

static bool is_zlib(const uint8_t *d, size_t n)
{
    return n >= 2 && (d[0] & 0x0F) == 8 && (d[0] >> 4) <= 7 && ((d[0] << 8) | d[1]) % 31 == 0;
}

/* Inflate a gzip file (every member) or a zlib stream: the content, or NULL
 * with *err set. */
static uint8_t *inflate_all(const uint8_t *in, size_t n, size_t *out_len, const char **err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) {   /* 15 + 32: a gzip or a zlib header */
        *err = "zlib cannot start";
        return NULL;
    }
    size_t cap = n * 4 > 65536 ? n * 4 : 65536, len = 0;
    uint8_t *out = NULL;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int zr = Z_OK;
    for (;;) {
        if (out == NULL || len == cap) {
            if (out != NULL) {
                cap *= 2;
            }
            if (cap > RF_INSPECT_MAX) {
                cap = RF_INSPECT_MAX;
            }
            if (len == cap) {
                *err = "more than 256 MiB once decompressed";
                break;
            }
            uint8_t *nb = realloc(out, cap);
            if (nb == NULL) {
                *err = "out of memory";
                break;
            }
            out = nb;
        }
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        zr = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in > 0 && is_gzip(z.next_in, z.avail_in) && inflateReset(&z) == Z_OK) {
                continue;   /* the next member of a gzip file */
            }
            inflateEnd(&z);
            *out_len = len;
            return out;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            *err = z.msg ? z.msg : "corrupt compressed data";
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            *err = "truncated compressed data";
            break;
        }
    }
    inflateEnd(&z);
    free(out);
    return NULL;
}

/* ---- the command ----------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher inspect FILE [--json] [--key KEY] [--slot-size N] [--trailer-size N] [--chip CHIP]\n"
            "  FILE: ESP image (bootloader/app), MCUboot image, partition table, merged binary (esptool\n"
            "        merge-bin), whole flash dump (esptool read_flash), or any of them gzip/zlib-compressed\n"
            "  --key KEY         public (or private) key, PEM/DER/raw: MCUboot signatures must verify\n"
            "  --slot-size N     MCUboot slot size (default: the file, when padded past the image)\n"
            "  --trailer-size N  bytes the swap trailer needs at the slot's end (default 48)\n"
            "  --chip CHIP       the ESP image must be for this chip (esp32, esp32s3, ...)\n"
            "exit status: 0 valid, 1 invalid, 2 usage error or unreadable input\n");
    return 2;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= RF_INSPECT_MAX) {
                free(buf);
                fclose(f);
                return NULL;
            }
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf ? buf : malloc(1);
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL, *key_path = NULL, *chip_name = NULL;
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return 2;
    }
    c->expect_chip = RF_ESP_CHIP_ANY;
    int rc = 2;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--key") == 0 || strcmp(a, "--slot-size") == 0 || strcmp(a, "--trailer-size") == 0 ||
                   strcmp(a, "--chip") == 0) {
            if (k + 1 >= argc) {
                free(c);
                return usage();
            }
            const char *v = argv[++k];
            bool ok = true;
            if (strcmp(a, "--key") == 0) {
                key_path = v;
            } else if (strcmp(a, "--chip") == 0) {
                chip_name = v;
            } else if (strcmp(a, "--slot-size") == 0) {
                ok = rf_parse_size(v, &c->slot_size) && c->slot_size != 0;
            } else {
                ok = rf_parse_size(v, &c->trailer_size);
            }
            if (!ok) {
                fprintf(stderr, "reflasher inspect: bad value '%s' for %s\n", v, a);
                free(c);
                return usage();
            }
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "reflasher inspect: unknown option '%s'\n", a);
            free(c);
            return usage();
        } else if (path == NULL) {
            path = a;
        } else {
            free(c);
            return usage();
        }
    }
    if (path == NULL) {
        free(c);
        return usage();
    }
    if (chip_name != NULL) {
        uint16_t id;
        if (!rf_chip_id(chip_name, &id)) {
            fprintf(stderr, "reflasher inspect: unknown chip '%s'\n", chip_name);
            free(c);
            return 2;
        }
        c->expect_chip = id;
    }
    rf_sig_key_t key;
    if (key_path != NULL) {
        size_t klen = 0;
        uint8_t *kb = read_all(key_path, &klen);
        esp_err_t e = kb ? rf_sig_load_key(kb, klen, &key) : ESP_FAIL;
        free(kb);
        if (e != ESP_OK) {
            fprintf(stderr, "reflasher inspect: cannot use key %s: %s\n", key_path,
                    kb == NULL ? "cannot read it" : e == ESP_ERR_NOT_SUPPORTED ? "unsupported key type (ECDSA P-256 and Ed25519 only)" : "not a key");
            free(c);
            return 2;
        }
        c->key = &key;
    }
    size_t len = 0;
    uint8_t *d = read_all(path, &len);
    if (d == NULL || len > UINT32_MAX) {
        fprintf(stderr, "reflasher inspect: cannot read %s\n", path);
        free(d);
        free(c);
        return 2;
    }
    uint32_t n = (uint32_t)len;
    uint8_t digest[RF_SHA256_LEN];
    char hex[65];
    rf_sha256(d, n, digest);
    hex_str(digest, 32, hex);

    /* a compressed file: everything below looks at what it decompresses to */
    const char *zerr = NULL, *zfmt = is_gzip(d, len) ? "gzip" : is_zlib(d, len) ? "zlib" : NULL;
    size_t zlen = 0;
    uint8_t *z = zfmt ? inflate_all(d, len, &zlen, &zerr) : NULL;
    if (z == NULL && zfmt != NULL && strcmp(zfmt, "zlib") == 0) {
        zfmt = NULL;   /* two bytes that only looked like a zlib header */
    }
    char zhex[65] = "";
    if (z != NULL) {
        free(d);
        d = z;
        n = (uint32_t)zlen;
        rf_sha256(d, n, digest);
        hex_str(digest, 32, zhex);
    }

    cJSON *root = NULL;
    if (c->json) {
        root = cJSON_CreateObject();
        rf_json_str(root, "file", path);
        rf_json_num(root, "size", len);
        rf_json_str(root, "sha256", hex);
        if (zfmt != NULL) {
            cJSON *zo = cJSON_AddObjectToObject(root, "compression");
            rf_json_str(zo, "format", zfmt);
            rf_json_str(zo, "error", zerr);
            if (z != NULL) {
                rf_json_num(zo, "content_size", n);
                rf_json_str(zo, "content_sha256", zhex);
            }
        } else {
            cJSON_AddNullToObject(root, "compression");
        }
        if (c->key != NULL) {
            rf_json_str(root, "key_alg", rf_sig_alg_name(c->key->alg));
        }
        c->jcomps = cJSON_AddArrayToObject(root, "components");
    } else {
        line(0, "file: %s", path);
        line(0, "size: %u bytes (0x%x)", (unsigned)len, (unsigned)len);
        line(0, "sha256: %s", hex);
        if (z != NULL) {
            line(0, "compressed: %s, %u bytes once decompressed (0x%x), sha256 %s; offsets below are in that content",
                 zfmt, (unsigned)n, (unsigned)n, zhex);
        }
        if (c->key != NULL) {
            line(0, "key: %s (%s)", key_path, rf_sig_alg_name(c->key->alg));
        }
    }

    rf_ptable_t *t = calloc(1, sizeof *t);
    found_t *f = calloc(MAX_COMPONENTS, sizeof *f);
    uint32_t nf = 0;
    bool ok = false;
    c->base = -1;
    if (t == NULL || f == NULL) {
        rc = 2;
    } else if (zerr != NULL) {
        if (c->json) {
            rf_json_str(root, "type", zfmt);
            cJSON_AddBoolToObject(root, "valid", false);
        } else {
            line(0, "type: %s-compressed", zfmt);
            line(0, "result: INVALID: cannot decompress: %s", zerr);
        }
    } else if (dump_has_table(d, n, t)) {
        ok = inspect_dump(c, root, d, n, t, true);
    } else if (is_flash_size(n) && (d[0x1000] == RF_ESP_IMAGE_MAGIC || d[0x2000] == RF_ESP_IMAGE_MAGIC)) {
        ok = inspect_dump(c, root, d, n, t, false);
    } else if ((nf = scan(c, d, n, f, MAX_COMPONENTS)) == 1 && f[0].off == 0) {
        /* one image or table, the whole file */
        if (f[0].ct == CONTENT_DATA) {
            if (c->json) {
                rf_json_str(root, "type", "partition-table");
            }
            ok = ptable_view(c, root, 0, d, n);
            add_comp(c, 0, RF_PTABLE_MAX_LEN, "partition-table", NULL, ok);
        } else {
            bool esp = f[0].ct == CONTENT_ESP;
            if (c->json) {
                rf_json_str(root, "type", esp ? "esp-image" : "mcuboot");
            }
            img_res_t r = inspect_image(c, root, esp ? "esp" : "mcuboot", 0, d, n, f[0].ct, esp ? 0 : c->slot_size,
                                        c->expect_chip);
            ok = r.ok;
            add_comp(c, 0, r.len, r.kind, NULL, r.ok);
        }
        if (c->json) {
            cJSON_AddBoolToObject(root, "valid", ok);
        } else {
            print_comps(c);
        }
    } else if (nf > 0) {
        ok = inspect_merged(c, root, d, n, f, nf);
    } else {
        const char *what = "unrecognized content: no ESP image, MCUboot image or partition table at any sector "
                           "offset, and not a flash dump";
        if (c->json) {
            rf_json_str(root, "type", "unknown");
            cJSON_AddBoolToObject(root, "valid", false);
            rf_json_str(root, "error", what);
        } else {
            line(0, "type: unknown");
            line(0, "result: INVALID: %s", what);
        }
    }
    if (t != NULL && f != NULL) {
        rc = ok ? 0 : 1;
    }
    if (c->json && !rf_json_print(root, "reflasher inspect")) {
        rc = 2;
    }
    free(f);
    free(t);
    free(d);
    free(c);
    return rc;
}
