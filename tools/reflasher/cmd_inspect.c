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
#include "args.h"
#include "cli.h"
#include "rf_crypto.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_ptable.h"
#include "rf_region.h"
#include "rf_sig.h"

#define SCRATCH_LEN 4096u
#define MIB (1024u * 1024u)

typedef struct {
    bool json;
    uint32_t slot_size;
    uint32_t trailer_size;
    int32_t expect_chip;
    const rf_sig_key_t *key;
    uint8_t scratch[SCRATCH_LEN];
} ctx_t;

/* ---- a small JSON writer ---------------------------------------------------- */

typedef struct {
    FILE *f;
    int depth;
    bool comma[32];
} jw_t;

static void jw_escape(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20 || *p >= 0x7F) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void jw_key(jw_t *w, const char *k)
{
    if (w->comma[w->depth]) {
        fputc(',', w->f);
    }
    w->comma[w->depth] = true;
    if (k != NULL) {
        jw_escape(w->f, k);
        fputc(':', w->f);
    }
}

static void jw_open(jw_t *w, const char *k, char c)
{
    jw_key(w, k);
    fputc(c, w->f);
    w->depth++;
    w->comma[w->depth] = false;
}

static void jw_close(jw_t *w, char c)
{
    w->depth--;
    fputc(c, w->f);
}

static void jw_str(jw_t *w, const char *k, const char *v)
{
    jw_key(w, k);
    if (v == NULL) {
        fputs("null", w->f);
    } else {
        jw_escape(w->f, v);
    }
}

static void jw_num(jw_t *w, const char *k, uint64_t v)
{
    jw_key(w, k);
    fprintf(w->f, "%llu", (unsigned long long)v);
}

static void jw_bool(jw_t *w, const char *k, bool v)
{
    jw_key(w, k);
    fputs(v ? "true" : "false", w->f);
}

static void hex_str(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    out[2 * n] = 0;
}

static void jw_hex(jw_t *w, const char *k, const uint8_t *d, size_t n)
{
    char buf[2 * 64 + 1];
    hex_str(d, n > 64 ? 64 : n, buf);
    jw_str(w, k, buf);
}

static void jw_error(jw_t *w, rf_img_err_t e, uint32_t off)
{
    if (e == RF_IMG_OK) {
        jw_key(w, "error");
        fputs("null", w->f);
        return;
    }
    jw_open(w, "error", '{');
    jw_str(w, "code", rf_img_err_name(e));
    jw_str(w, "message", rf_img_err_str(e));
    jw_num(w, "offset", off);
    jw_close(w, '}');
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

static void esp_json(jw_t *w, const char *key, const rf_esp_image_info_t *i)
{
    jw_open(w, key, '{');
    jw_str(w, "kind", esp_kind_str(i));
    jw_bool(w, "valid", i->err == RF_IMG_OK);
    jw_error(w, i->err, i->err_offset);
    jw_num(w, "magic", i->magic);
    jw_num(w, "segment_count", i->segment_count);
    jw_num(w, "spi_mode", i->spi_mode);
    jw_str(w, "spi_mode_name", rf_esp_spi_mode_name(i->spi_mode));
    jw_num(w, "spi_size_freq", i->spi_size_freq);
    jw_str(w, "flash_size", rf_esp_flash_size_name(i->spi_size_freq));
    jw_str(w, "flash_freq", rf_esp_flash_freq_name(i->chip_id, i->spi_size_freq));
    jw_num(w, "entry_addr", i->entry_addr);
    jw_num(w, "wp_pin", i->wp_pin);
    jw_num(w, "chip_id", i->chip_id);
    jw_str(w, "chip", rf_esp_chip_name(i->chip_id));
    jw_num(w, "min_chip_rev", i->min_chip_rev);
    jw_num(w, "min_chip_rev_full", i->min_chip_rev_full);
    jw_num(w, "max_chip_rev_full", i->max_chip_rev_full);
    jw_num(w, "hash_appended", i->hash_appended);
    jw_open(w, "segments", '[');
    for (uint32_t s = 0; s < i->segments_parsed; s++) {
        jw_open(w, NULL, '{');
        jw_num(w, "load_addr", i->segments[s].load_addr);
        jw_num(w, "length", i->segments[s].len);
        jw_num(w, "offset", i->segments[s].offset);
        jw_close(w, '}');
    }
    jw_close(w, ']');
    if (i->checksum_checked) {
        jw_num(w, "checksum_offset", i->checksum_offset);
        jw_num(w, "checksum_stored", i->checksum_stored);
        jw_num(w, "checksum_calc", i->checksum_calc);
    }
    if (i->sha256_checked) {
        jw_num(w, "sha256_offset", i->sha256_offset);
        jw_hex(w, "sha256_stored", i->sha256_stored, 32);
        jw_hex(w, "sha256_calc", i->sha256_calc, 32);
    }
    jw_num(w, "image_len", i->image_len);
    if (i->has_app_desc) {
        jw_open(w, "app_desc", '{');
        jw_str(w, "project_name", i->app.project_name);
        jw_str(w, "version", i->app.version);
        jw_str(w, "idf_ver", i->app.idf_ver);
        jw_str(w, "date", i->app.date);
        jw_str(w, "time", i->app.time);
        jw_num(w, "secure_version", i->app.secure_version);
        jw_hex(w, "app_elf_sha256", i->app.app_elf_sha256, 32);
        jw_close(w, '}');
    }
    if (i->has_bootloader_desc) {
        jw_open(w, "bootloader_desc", '{');
        jw_num(w, "version", i->bootloader.version);
        jw_str(w, "idf_ver", i->bootloader.idf_ver);
        jw_str(w, "date_time", i->bootloader.date_time);
        jw_close(w, '}');
    }
    jw_close(w, '}');
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

static void mcuboot_json(jw_t *w, const char *key, const rf_mcuboot_info_t *i)
{
    jw_open(w, key, '{');
    jw_bool(w, "valid", i->err == RF_IMG_OK);
    jw_error(w, i->err, i->err_offset);
    jw_num(w, "magic", i->magic);
    jw_num(w, "load_addr", i->load_addr);
    jw_num(w, "hdr_size", i->hdr_size);
    jw_num(w, "protect_tlv_size", i->protect_tlv_size);
    jw_num(w, "img_size", i->img_size);
    jw_num(w, "flags", i->flags);
    jw_open(w, "version", '{');
    jw_num(w, "major", i->ver_major);
    jw_num(w, "minor", i->ver_minor);
    jw_num(w, "revision", i->ver_revision);
    jw_num(w, "build", i->ver_build);
    jw_close(w, '}');
    if (i->has_prot_area) {
        jw_open(w, "protected_tlv_area", '{');
        jw_num(w, "offset", i->prot_off);
        jw_num(w, "magic", i->prot_magic);
        jw_num(w, "total", i->prot_tot);
        jw_close(w, '}');
    }
    if (i->has_tlv_area) {
        jw_open(w, "tlv_area", '{');
        jw_num(w, "offset", i->tlv_off);
        jw_num(w, "magic", i->tlv_magic);
        jw_num(w, "total", i->tlv_tot);
        jw_close(w, '}');
    }
    jw_open(w, "tlvs", '[');
    for (uint32_t k = 0; k < i->tlvs_listed; k++) {
        jw_open(w, NULL, '{');
        jw_num(w, "type", i->tlvs[k].type);
        jw_str(w, "name", rf_mcuboot_tlv_name(i->tlvs[k].type));
        jw_num(w, "len", i->tlvs[k].len);
        jw_num(w, "offset", i->tlvs[k].offset);
        jw_bool(w, "protected", i->tlvs[k].is_protected);
        jw_close(w, '}');
    }
    jw_close(w, ']');
    jw_num(w, "image_end", i->image_end);
    jw_num(w, "hashed_len", i->hashed_len);
    if (i->has_sha256) {
        jw_hex(w, "sha256_tlv", i->sha256_tlv, 32);
    }
    if (i->sha256_checked) {
        jw_hex(w, "sha256_calc", i->sha256_calc, 32);
    }
    if (i->has_sec_cnt) {
        jw_num(w, "security_counter", i->sec_cnt);
    }
    jw_num(w, "sig_type", i->sig_type);
    jw_str(w, "signature", rf_sig_state_name(i->sig_state));
    if (i->has_keyhash) {
        jw_hex(w, "keyhash", i->keyhash, 32);
    }
    jw_num(w, "slot_size", i->slot_size);
    jw_num(w, "trailer_size", i->trailer_size);
    jw_str(w, "trailer", rf_trailer_state_name(i->trailer));
    if (i->trailer != RF_TRAILER_NOT_PRESENT) {
        jw_num(w, "trailer_magic_offset", i->trailer_magic_off);
        jw_hex(w, "trailer_magic", i->trailer_magic, 16);
        jw_num(w, "image_ok", i->image_ok);
        jw_num(w, "copy_done", i->copy_done);
        jw_num(w, "swap_info", i->swap_info);
        jw_num(w, "swap_size", i->swap_size);
        jw_str(w, "swap_request", i->swap_request == RF_SWAP_REQ_PERM   ? "perm"
                                  : i->swap_request == RF_SWAP_REQ_TEST ? "test"
                                                                        : "none");
    }
    jw_close(w, '}');
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

/* Inspect an image in d[0, len); prints it; returns true when valid. */
static bool inspect_image(ctx_t *c, jw_t *w, const char *jkey, int indent, const uint8_t *d, uint32_t len,
                          content_t kind, uint32_t slot_size, int32_t chip, uint16_t *chip_out)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    (void)rf_reader_from_buffer(&r, &rb, d, len);
    if (kind == CONTENT_ESP) {
        rf_esp_image_info_t *i = calloc(1, sizeof *i);
        if (i == NULL) {
            return false;
        }
        rf_esp_image_opts_t o = { .expect_chip_id = chip };
        (void)rf_esp_image_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, i);
        if (c->json) {
            esp_json(w, jkey, i);
        } else {
            esp_text(indent, i);
        }
        if (chip_out != NULL && i->file_size >= RF_ESP_HEADER_LEN) {
            *chip_out = i->chip_id;
        }
        bool ok = i->err == RF_IMG_OK;
        free(i);
        return ok;
    }
    rf_mcuboot_info_t *i = calloc(1, sizeof *i);
    if (i == NULL) {
        return false;
    }
    rf_mcuboot_opts_t o = { .slot_size = slot_size, .trailer_size = c->trailer_size, .key = c->key };
    (void)rf_mcuboot_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, i);
    if (c->json) {
        mcuboot_json(w, jkey, i);
    } else {
        mcuboot_text(indent, &r, i);
    }
    bool ok = i->err == RF_IMG_OK;
    free(i);
    return ok;
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

static void ptable_list(ctx_t *c, jw_t *w, int in, const rf_ptable_t *t)
{
    if (c->json) {
        jw_num(w, "count", t->count);
        jw_bool(w, "has_md5", t->has_md5);
        jw_bool(w, "md5_ok", t->md5_ok);
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

static void part_json(jw_t *w, const rf_part_t *p)
{
    char kind[40];
    rf_part_kind_name(p->type, p->subtype, kind, sizeof kind);
    jw_str(w, "label", p->label);
    jw_num(w, "type", p->type);
    jw_num(w, "subtype", p->subtype);
    jw_str(w, "kind", kind);
    jw_num(w, "offset", p->offset);
    jw_num(w, "size", p->size);
    jw_num(w, "flags", p->flags);
}

static bool inspect_ptable_file(ctx_t *c, jw_t *w, const uint8_t *d, uint32_t len)
{
    rf_ptable_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return false;
    }
    esp_err_t e = rf_ptable_parse(d, len, t);
    uint32_t bad = 0;
    esp_err_t chk = (e == ESP_OK) ? rf_ptable_check(t, 0, 0, &bad) : ESP_OK;
    bool ok = e == ESP_OK && chk == ESP_OK;
    if (c->json) {
        jw_str(w, "type", "partition-table");
        jw_bool(w, "valid", ok);
        jw_open(w, "partition_table", '{');
        ptable_list(c, w, 0, t);
        jw_str(w, "error", e != ESP_OK ? ptable_err(e) : chk != ESP_OK ? "partition layout check failed" : NULL);
        jw_open(w, "partitions", '[');
        for (uint32_t k = 0; k < t->count; k++) {
            jw_open(w, NULL, '{');
            part_json(w, &t->parts[k]);
            jw_close(w, '}');
        }
        jw_close(w, ']');
        jw_close(w, '}');
    } else {
        line(0, "type: ESP-IDF partition table");
        ptable_list(c, w, 0, t);
        if (e != ESP_OK) {
            line(0, "result: INVALID: %s (%s)", ptable_err(e), esp_err_to_name(e));
        } else if (chk != ESP_OK) {
            line(0, "result: INVALID: partition '%s' breaks the layout rules (alignment, overlap, labels)",
                 bad < t->count ? t->parts[bad].label : "?");
        } else {
            line(0, "result: valid");
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

static bool inspect_dump(ctx_t *c, jw_t *w, const uint8_t *d, uint32_t len, rf_ptable_t *t, bool has_table)
{
    bool ok = true;
    if (c->json) {
        jw_str(w, "type", "flash-dump");
        jw_num(w, "flash_size", len);
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
            jw_key(w, "bootloader");
            fputs("null", w->f);
        } else {
            line(0, "bootloader: NONE at 0x1000, 0x0 or 0x2000");
        }
    } else {
        if (!c->json) {
            line(0, "bootloader at 0x%x:", (unsigned)bl);
        } else {
            jw_num(w, "bootloader_offset", bl);
        }
        uint32_t room = RF_PTABLE_OFFSET_DEFAULT - bl;   /* up to the partition table */
        ok &= inspect_image(c, w, "bootloader", 1, d + bl, room, CONTENT_ESP, 0, c->expect_chip, &chip);
        if (chip != RF_ESP_CHIP_ID_INVALID && rf_esp_chip_bootloader_offset(chip) != bl) {
            ok = false;
            if (c->json) {
                jw_str(w, "bootloader_offset_error", "the bootloader's chip boots from another offset");
            } else {
                line(1, "WRONG OFFSET: a %s boots its bootloader from 0x%x, not 0x%x",
                     rf_esp_chip_name(chip) ? rf_esp_chip_name(chip) : "chip", (unsigned)rf_esp_chip_bootloader_offset(chip),
                     (unsigned)bl);
            }
        }
    }

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
        if (c->json) {
            jw_key(w, "partition_table");
            fputs("null", w->f);
            jw_open(w, "images", '[');
        } else {
            line(0, "partition table at 0x8000: none; images found at 64 KiB boundaries: %u", (unsigned)n);
        }
        if (n == 0) {
            ok = false;
        }
        for (uint32_t k = 0; k < n; k++) {
            uint32_t a = found[k], end = k + 1 < n ? found[k + 1] : len;
            content_t ct = classify(d + a, end - a);
            if (c->json) {
                jw_open(w, NULL, '{');
                jw_num(w, "offset", a);
                jw_num(w, "slot_size", end - a);
            } else {
                line(0, "image at 0x%x (slot up to 0x%x, 0x%x bytes):", (unsigned)a, (unsigned)end, (unsigned)(end - a));
            }
            ok &= inspect_image(c, w, "image", 1, d + a, end - a, ct, ct == CONTENT_MCUBOOT ? end - a : 0,
                                chip != RF_ESP_CHIP_ID_INVALID ? chip : c->expect_chip, NULL);
            if (c->json) {
                jw_close(w, '}');
            }
        }
        if (c->json) {
            jw_close(w, ']');
        }
    } else {
        uint32_t bad = 0;
        esp_err_t chk = rf_ptable_check(t, RF_PTABLE_OFFSET_DEFAULT, len, &bad);
        bool tok = (!t->has_md5 || t->md5_ok) && chk == ESP_OK;
        ok &= tok;
        if (c->json) {
            jw_open(w, "partition_table", '{');
            jw_num(w, "offset", RF_PTABLE_OFFSET_DEFAULT);
            ptable_list(c, w, 0, t);
            jw_bool(w, "layout_ok", chk == ESP_OK);
            jw_open(w, "partitions", '[');
        } else {
            line(0, "partition table at 0x8000:");
            ptable_list(c, w, 1, t);
            if (chk != ESP_OK) {
                line(1, "LAYOUT ERROR at partition '%s' (alignment, overlap, bounds or labels)",
                     bad < t->count ? t->parts[bad].label : "?");
            }
            if (t->has_md5 && !t->md5_ok) {
                line(1, "MD5 MISMATCH");
            }
        }
        for (uint32_t k = 0; k < t->count; k++) {
            const rf_part_t *p = &t->parts[k];
            char kind[40];
            rf_part_kind_name(p->type, p->subtype, kind, sizeof kind);
            if (c->json) {
                jw_open(w, NULL, '{');
                part_json(w, p);
            } else {
                line(0, "partition '%s' (%s) at 0x%x, 0x%x bytes:", p->label, kind, (unsigned)p->offset,
                     (unsigned)p->size);
            }
            if (!rf_contains(0, len, p->offset, p->size)) {
                ok = false;
                if (c->json) {
                    jw_str(w, "content", "outside-the-dump");
                    jw_close(w, '}');
                } else {
                    line(1, "OUTSIDE the dump");
                }
                continue;
            }
            content_t ct = classify(d + p->offset, p->size);
            const char *name = ct == CONTENT_BLANK ? "blank" : ct == CONTENT_ESP ? "esp-image"
                               : ct == CONTENT_MCUBOOT ? "mcuboot" : "data";
            if (c->json) {
                jw_str(w, "content", name);
            }
            if (ct == CONTENT_ESP || ct == CONTENT_MCUBOOT) {
                ok &= inspect_image(c, w, "image", 1, d + p->offset, p->size, ct, p->size,
                                    chip != RF_ESP_CHIP_ID_INVALID ? chip : c->expect_chip, NULL);
            } else if (!c->json) {
                line(1, ct == CONTENT_BLANK ? "blank (all 0xFF)"
                        : p->type == RF_PART_TYPE_APP ? "not an image (unrecognized content)"
                                                      : "data");
            }
            if (c->json) {
                jw_close(w, '}');
            }
        }
        if (c->json) {
            jw_close(w, ']');
            jw_close(w, '}');
        }
    }
    if (c->json) {
        jw_bool(w, "valid", ok);
    } else {
        line(0, "result: %s", ok ? "valid" : "INVALID (see above)");
    }
    return ok;
}

/* ---- the command ----------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher inspect FILE [--json] [--key KEY] [--slot-size N] [--trailer-size N] [--chip CHIP]\n"
            "  FILE: ESP image (bootloader/app), MCUboot image, partition table, or whole flash dump\n"
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
            if (cap >= 256u * MIB) {
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

    jw_t w = { .f = stdout };
    if (c->json) {
        jw_open(&w, NULL, '{');
        jw_str(&w, "file", path);
        jw_num(&w, "size", n);
        jw_str(&w, "sha256", hex);
        if (c->key != NULL) {
            jw_str(&w, "key_alg", rf_sig_alg_name(c->key->alg));
        }
    } else {
        line(0, "file: %s", path);
        line(0, "size: %u bytes (0x%x)", (unsigned)n, (unsigned)n);
        line(0, "sha256: %s", hex);
        if (c->key != NULL) {
            line(0, "key: %s (%s)", key_path, rf_sig_alg_name(c->key->alg));
        }
    }

    rf_ptable_t *t = calloc(1, sizeof *t);
    bool ok = false;
    if (t == NULL) {
        rc = 2;
    } else if (dump_has_table(d, n, t)) {
        ok = inspect_dump(c, &w, d, n, t, true);
    } else if (n >= 1 && d[0] == RF_ESP_IMAGE_MAGIC) {
        if (c->json) {
            jw_str(&w, "type", "esp-image");
        }
        ok = inspect_image(c, &w, "esp", 0, d, n, CONTENT_ESP, 0, c->expect_chip, NULL);
        if (c->json) {
            jw_bool(&w, "valid", ok);
        }
    } else if (n >= 4 && rf_le32(d) == RF_MCUBOOT_MAGIC) {
        if (c->json) {
            jw_str(&w, "type", "mcuboot");
        }
        ok = inspect_image(c, &w, "mcuboot", 0, d, n, CONTENT_MCUBOOT, c->slot_size, c->expect_chip, NULL);
        if (c->json) {
            jw_bool(&w, "valid", ok);
        }
    } else if (n >= 2 && d[0] == 0xAA && d[1] == 0x50) {
        ok = inspect_ptable_file(c, &w, d, n);
    } else if (is_flash_size(n) && (d[0x1000] == RF_ESP_IMAGE_MAGIC || d[0x2000] == RF_ESP_IMAGE_MAGIC)) {
        ok = inspect_dump(c, &w, d, n, t, false);
    } else {
        if (c->json) {
            jw_str(&w, "type", "unknown");
            jw_bool(&w, "valid", false);
            jw_str(&w, "error", "unrecognized content: not an ESP image, MCUboot image, partition table or flash dump");
        } else {
            line(0, "type: unknown");
            line(0, "result: INVALID: unrecognized content (not an ESP image, MCUboot image, partition table or "
                    "flash dump)");
        }
    }
    if (t != NULL) {
        rc = ok ? 0 : 1;
    }
    if (c->json) {
        jw_close(&w, '}');
        putchar('\n');
    }
    free(t);
    free(d);
    free(c);
    return rc;
}
