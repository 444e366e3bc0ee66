/*
 * The device build of the component run on an ESP32-C3 (Espressif's QEMU,
 * the chip's real ROM): scripts/qemu_c3_check.sh.
 *
 * The ROM loads this program into internal RAM as a second-stage
 * bootloader; it then runs, over a device that lies at RF_C3_BASE in the
 * chip's flash, through a platform whose flash calls are the ROM's own SPI
 * flash functions, either the reference's embedded call
 * (esp_self_reflasher_directly_copy_to_region_with) or, with
 * RF_C3_DOWNLOAD, the reference download example's sequence (init, download,
 * copy, next config, download, copy) with "downloads" read from the chip's
 * flash outside the device (a source named c3flash:ADDR+LEN). The objects are
 * the ones scripts/footprint.py measures (rv32imc, -Os, function sections,
 * -msave-restore). The script compares the flash afterwards with what the
 * host tool's `reflasher migrate` leaves: the same bytes, or the check fails.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_ptable.h"
#include "self_reflasher_platform.h"

#ifndef RF_C3_BASE
#define RF_C3_BASE 0x400000u   /* where the device's flash lies in the chip's */
#endif
#ifndef RF_C3_FLASH
#define RF_C3_FLASH 0x800000u  /* the chip's flash */
#endif
#define DEV_SIZE (RF_C3_FLASH - RF_C3_BASE)

/* The ROM's (esp32c3.rom.ld; esp_rom_spiflash_result_t: 0 is OK). */
int ets_printf(const char *fmt, ...);
int esp_rom_spiflash_read(uint32_t src, uint32_t *dst, int32_t len);
int esp_rom_spiflash_write(uint32_t dst, const uint32_t *src, int32_t len);
int esp_rom_spiflash_erase_sector(uint32_t sector);
int esp_rom_spiflash_erase_block(uint32_t block);
int esp_rom_spiflash_config_param(uint32_t id, uint32_t size, uint32_t block, uint32_t sector, uint32_t page,
                                  uint32_t status_mask);
int esp_rom_spiflash_unlock(void);
extern uint32_t *rom_spiflash_legacy_data;   /* first field: the chip's device id */

/* ---- heap: the component's allocations, from a fixed area ---------------- */

extern uint8_t _heap_start[], _heap_end[];
static uint8_t *s_brk = _heap_start;
static size_t s_peak;

void *malloc(size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n + 16u > (size_t)(_heap_end - s_brk)) {
        return NULL;
    }
    *(size_t *)(void *)s_brk = n;   /* the size, for realloc */
    void *p = s_brk + 16;
    s_brk += n + 16u;
    if ((size_t)(s_brk - _heap_start) > s_peak) {
        s_peak = (size_t)(s_brk - _heap_start);
    }
    return p;
}

void free(void *p)
{
    /* the last block is given back (the component frees in reverse order) */
    if (p != NULL && (uint8_t *)p - 16 + *(size_t *)(void *)((uint8_t *)p - 16) + 16 == s_brk) {
        s_brk = (uint8_t *)p - 16;
    }
}

void *calloc(size_t a, size_t b)
{
    if (b != 0 && a > SIZE_MAX / b) {
        return NULL;
    }
    void *p = malloc(a * b);
    if (p != NULL) {
        memset(p, 0, a * b);
    }
    return p;
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q != NULL && p != NULL) {
        size_t old = *(size_t *)(void *)((uint8_t *)p - 16);
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}

/* ---- flash: the ROM's functions, word-aligned ---------------------------- */

static uint32_t s_ops[3];   /* reads, programs, erases */

static esp_err_t rom_err(int r, const char *what, uint32_t addr)
{
    if (r != 0) {
        ets_printf("RF-C3 ROM %s at 0x%08x failed: %d\n", what, (unsigned)addr, r);
        return ESP_FAIL;
    }
    return ESP_OK;
}

/* any bytes of the chip's flash */
static esp_err_t chip_read(uint32_t addr, void *buf, uint32_t len)
{
    uint8_t *out = buf;
    uint32_t words[16];
    while (len > 0) {
        const uint32_t a = addr, head = a & 3u;
        uint32_t n = sizeof words - head;
        n = n < len ? n : len;
        const uint32_t span = (head + n + 3u) & ~3u;
        if (rom_err(esp_rom_spiflash_read(a - head, words, (int32_t)span), "read", a) != ESP_OK) {
            return ESP_FAIL;
        }
        memcpy(out, (uint8_t *)words + head, n);
        out += n;
        addr += n;
        len -= n;
    }
    return ESP_OK;
}

static esp_err_t c3_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    s_ops[0]++;
    if ((uint64_t)addr + len > DEV_SIZE) {
        return ESP_ERR_INVALID_ARG;
    }
    return chip_read(RF_C3_BASE + addr, buf, len);
}

/* ---- sources: "c3flash:ADDR+LEN", bytes of the chip's flash below the device ---- */

typedef struct {
    uint32_t at, len, pos;
} c3_src_t;
static c3_src_t s_src;

static esp_err_t src_open(void *ctx, uint32_t offset, int64_t *total)
{
    c3_src_t *s = ctx;
    if (offset > s->len) {
        return ESP_ERR_INVALID_ARG;
    }
    s->pos = offset;
    *total = s->len;
    return ESP_OK;
}

static esp_err_t src_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    c3_src_t *s = ctx;
    uint32_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
    *got = 0;
    if (n > 0 && chip_read(s->at + s->pos, buf, n) != ESP_OK) {
        return ESP_FAIL;
    }
    s->pos += n;
    *got = n;
    return ESP_OK;
}

static void src_close(void *ctx)
{
    (void)ctx;
}

static esp_err_t c3_make_source(void *ctx, const esp_http_client_config_t *http, rf_source_t *out)
{
    (void)ctx;
    char *end = NULL;
    if (http == NULL || http->url == NULL || strncmp(http->url, "c3flash:", 8) != 0) {
        return ESP_ERR_INVALID_ARG;
    }
    s_src.at = (uint32_t)strtoul(http->url + 8, &end, 0);
    s_src.len = (uint32_t)strtoul(end + 1, NULL, 0);
    s_src.pos = 0;
    if (s_src.at + s_src.len > RF_C3_BASE) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    out->ctx = &s_src;
    out->open = src_open;
    out->read = src_read;
    out->close = src_close;
    out->name = http->url;
    return ESP_OK;
}

static void c3_free_source(void *ctx, rf_source_t *src)
{
    (void)ctx;
    (void)src;
}

static esp_err_t c3_program(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    (void)ctx;
    s_ops[1]++;
    if ((uint64_t)addr + len > DEV_SIZE || (addr & 3u) != 0 || (len & 3u) != 0) {
        ets_printf("RF-C3 program 0x%08x+%u: not word-aligned\n", (unsigned)addr, (unsigned)len);
        return ESP_ERR_INVALID_ARG;
    }
    const uint8_t *in = buf;
    uint32_t words[16];
    while (len > 0) {
        const uint32_t n = len < sizeof words ? len : sizeof words;
        memcpy(words, in, n);
        if (rom_err(esp_rom_spiflash_write(RF_C3_BASE + addr, words, (int32_t)n), "write", addr) != ESP_OK) {
            return ESP_FAIL;
        }
        in += n;
        addr += n;
        len -= n;
    }
    return ESP_OK;
}

static esp_err_t c3_erase(void *ctx, uint32_t addr, uint32_t len)
{
    (void)ctx;
    s_ops[2]++;
    if ((uint64_t)addr + len > DEV_SIZE || (addr & 0xFFFu) != 0 || (len & 0xFFFu) != 0) {
        return ESP_ERR_INVALID_ARG;
    }
    while (len > 0) {
        const uint32_t a = RF_C3_BASE + addr;
        int r;
        uint32_t n;
        if ((a & 0xFFFFu) == 0 && len >= 0x10000u) {
            r = esp_rom_spiflash_erase_block(a / 0x10000u);
            n = 0x10000u;
        } else {
            r = esp_rom_spiflash_erase_sector(a / 0x1000u);
            n = 0x1000u;
        }
        if (rom_err(r, "erase", a) != ESP_OK) {
            return ESP_FAIL;
        }
        addr += n;
        len -= n;
    }
    return ESP_OK;
}

static const rf_flash_t s_flash = {
    .size = DEV_SIZE, .sector_size = 0x1000, .block_size = 0x10000, .page_size = 256,
    .read = c3_read, .program = c3_program, .erase = c3_erase,
};

/* ---- partitions: the device's own table ----------------------------------- */

static rf_ptable_t s_table;

static esp_err_t c3_list(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count)
{
    (void)ctx;
    static uint8_t raw[RF_PTABLE_MAX_LEN];
    esp_err_t err = c3_read(NULL, 0x8000, raw, sizeof raw);
    if (err == ESP_OK) {
        err = rf_ptable_parse(raw, sizeof raw, &s_table);
    }
    if (err != ESP_OK) {
        return err;
    }
    uint32_t n = s_table.count < max ? s_table.count : max;
    memcpy(out, s_table.parts, n * sizeof *out);
    *count = n;
    return ESP_OK;
}

/* The running app: the factory partition (the embedded example's). */
static esp_err_t c3_running(void *ctx, rf_part_t *out)
{
    rf_part_t parts[RF_PTABLE_MAX_PARTS];
    uint32_t n = 0;
    esp_err_t err = c3_list(ctx, parts, RF_PTABLE_MAX_PARTS, &n);
    for (uint32_t i = 0; err == ESP_OK && i < n; i++) {
        if (parts[i].type == RF_PART_TYPE_APP && parts[i].subtype == 0x00) {
            *out = parts[i];
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

static void c3_log(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    (void)arg;
    static char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    ets_printf("%c (%s) %s\n", "?EWIDV"[level <= RF_LOG_VERBOSE ? level : 0], tag, line);
}

/* The watchdogs the ROM leaves running (RTC WDT, both timer groups' and
 * the super watchdog): a long copy must not reset the chip. */
static void watchdogs_off(void)
{
    volatile uint32_t *const rtc = (volatile uint32_t *)0x60008000u;
    rtc[0xA8 / 4] = 0x50D83AA1u;   /* RTC_CNTL_WDTWPROTECT_REG */
    rtc[0x90 / 4] = 0;             /* RTC_CNTL_WDTCONFIG0_REG */
    rtc[0xA8 / 4] = 0;
    rtc[0xB0 / 4] = 0x8F1D312Au;   /* RTC_CNTL_SWD_WPROTECT_REG */
    rtc[0xAC / 4] |= 1u << 31;     /* RTC_CNTL_SWD_CONF_REG: SWD_AUTO_FEED_EN */
    rtc[0xB0 / 4] = 0;
    for (uint32_t base = 0x6001F000u; base <= 0x60020000u; base += 0x1000u) {
        volatile uint32_t *const timg = (volatile uint32_t *)base;
        timg[0x64 / 4] = 0x50D83AA1u;   /* TIMG_WDTWPROTECT_REG */
        timg[0x48 / 4] = 0;             /* TIMG_WDTCONFIG0_REG */
        timg[0x64 / 4] = 0;
    }
}

int rf_c3_main(void)
{
    watchdogs_off();
    ets_printf("\nRF-C3 START base 0x%08x\n", (unsigned)RF_C3_BASE);
    /* the ROM's driver addresses the whole chip (the loader set it up for 0x0 only) */
    int r = esp_rom_spiflash_config_param(rom_spiflash_legacy_data[0], RF_C3_FLASH, 0x10000, 0x1000, 0x100, 0xFFFF);
    r = r == 0 ? esp_rom_spiflash_unlock() : r;
    if (r != 0) {
        ets_printf("RF-C3 RESULT flash setup %d\n", r);
        return 1;
    }
    esp_self_reflasher_platform_t pf = {
        .flash = &s_flash, .chip_id = RF_C3_DEVICE_CHIP, .ptable_offset = 0x8000,
        .running_partition = c3_running, .list_partitions = c3_list,
        .make_source = c3_make_source, .free_source = c3_free_source,
        .log = { .fn = c3_log },
    };
#ifdef RF_C3_DOWNLOAD
    /* the reference download example's calls, its Kconfig defaults for the ESP32 */
    esp_http_client_config_t app_http = { .url = RF_C3_APP_URL };
    esp_self_reflasher_config_t app_cfg = { .http_config = &app_http, .dest_region = { 0x110000, 0x100000 } };
    esp_http_client_config_t bl_http = { .url = RF_C3_BL_URL };
    esp_self_reflasher_config_t bl_cfg = { .http_config = &bl_http, .dest_region = { 0x1000, 0xF000 } };
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t err = esp_self_reflasher_init_with(&pf, &app_cfg, &h);
    err = err == ESP_OK ? esp_self_reflasher_download_bin(h) : err;
    err = err == ESP_OK ? esp_self_reflasher_copy_to_region(h) : err;
    err = err == ESP_OK ? esp_self_reflasher_upd_next_config(&bl_cfg, h) : err;
    err = err == ESP_OK ? esp_self_reflasher_download_bin(h) : err;
    err = err == ESP_OK ? esp_self_reflasher_copy_to_region(h) : err;
    esp_self_reflasher_deinit(h);
#else
    esp_self_reflasher_config_t cfg = {
        .src_region = { RF_C3_SRC, RF_C3_LEN },
        .dest_region = { RF_C3_DST, RF_C3_LEN },
        .src_bin_size = RF_C3_LEN,
    };
    esp_err_t err = esp_self_reflasher_directly_copy_to_region_with(&pf, &cfg);
#endif
    ets_printf("RF-C3 RESULT %d reads %u programs %u erases %u heap %u\n", (int)err, (unsigned)s_ops[0],
               (unsigned)s_ops[1], (unsigned)s_ops[2], (unsigned)s_peak);
    return 0;
}
