/*
 * The flash port: the only way the core touches flash.
 *
 * Addresses are absolute offsets in the flash chip. The port promises NOR
 * semantics: erase sets bytes to 0xFF, program can only clear bits (the
 * result is old AND new), erase ranges must be aligned to sector_size.
 * A port may carry out an erase of a 64 KiB-aligned range with block
 * erases, as esp_flash_erase_region() does.
 *
 * The cost hints let the copy engine choose between sector and block erases
 * and are what the host simulator charges; zero means "unknown" and the
 * engine falls back to the defaults of device-timings.md.
 */
#pragma once
#include "rf_util.h"

typedef struct rf_flash {
    void *ctx;
    uint32_t size;          /**< bytes in the chip */
    uint32_t sector_size;   /**< smallest erase unit, 4096 on ESP32 parts */
    uint32_t block_size;    /**< large erase unit, 65536; 0 if none */
    uint32_t page_size;     /**< program page, 256 */
    uint32_t sector_erase_us;   /**< cost hint: one sector erase */
    uint32_t block_erase_us;    /**< cost hint: one block erase */
    uint32_t page_program_us;   /**< cost hint: programming one page with data */
    esp_err_t (*read)(void *ctx, uint32_t addr, void *buf, uint32_t len);
    esp_err_t (*program)(void *ctx, uint32_t addr, const void *buf, uint32_t len);
    esp_err_t (*erase)(void *ctx, uint32_t addr, uint32_t len);
} rf_flash_t;

static inline esp_err_t rf_flash_read(const rf_flash_t *f, uint32_t addr, void *buf, uint32_t len)
{
    return f->read(f->ctx, addr, buf, len);
}
static inline esp_err_t rf_flash_program(const rf_flash_t *f, uint32_t addr, const void *buf, uint32_t len)
{
    return f->program(f->ctx, addr, buf, len);
}
static inline esp_err_t rf_flash_erase(const rf_flash_t *f, uint32_t addr, uint32_t len)
{
    return f->erase(f->ctx, addr, len);
}
