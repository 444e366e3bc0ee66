/*
 * libFuzzer target: every parser that reads bytes an attacker controls
 * (a downloaded image, a flash dump, the journal area) on arbitrary input.
 * The first byte picks the parser; the rest is the input. Each must return
 * an error, never read out of bounds or hit undefined behaviour (built with
 * ASan and UBSan by scripts/fuzz.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "rf_image.h"
#include "rf_journal.h"
#include "rf_plan.h"
#include "rf_ptable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t scratch[4096];
    if (size < 1) {
        return 0;
    }
    uint8_t which = data[0] % 5;
    data++;
    size--;
    rf_reader_t r;
    rf_reader_buf_t rb;
    switch (which) {
    case 0: {
        static rf_esp_image_info_t info;
        if (rf_reader_from_buffer(&r, &rb, data, size) == ESP_OK) {
            (void)rf_esp_image_inspect(&r, scratch, sizeof scratch, &info);
        }
        break;
    }
    case 1: {
        static rf_mcuboot_info_t info;
        if (rf_reader_from_buffer(&r, &rb, data, size) == ESP_OK) {
            (void)rf_mcuboot_inspect(&r, 0, NULL, scratch, sizeof scratch, &info);
            (void)rf_mcuboot_inspect(&r, (uint32_t)size, NULL, scratch, sizeof scratch, &info);
        }
        break;
    }
    case 2: {
        static rf_ptable_t t;
        (void)rf_ptable_parse(data, size, &t);
        break;
    }
    case 3: {
        rf_journal_rec_t rec;
        for (size_t off = 0; off + RF_JOURNAL_REC_LEN <= size; off += RF_JOURNAL_REC_LEN) {
            (void)rf_journal_decode(data + off, &rec);
        }
        break;
    }
    case 4: {
        /* a plan from arbitrary numbers: never crashes, never accepts overlapping destinations */
        static rf_plan_t p;
        static rf_ptable_t t;
        memset(&p, 0, sizeof p);
        if (size < 8 || rf_ptable_parse(data, size > 0xC00 ? 0xC00 : size, &t) != ESP_OK) {
            memset(&t, 0, sizeof t);
        }
        p.table = &t;
        p.flash_size = 4u << 20;
        p.bootloader_offset = 0x1000;
        p.ptable_offset = 0x8000;
        p.block_size = 0x10000;
        p.running.offset = 0x10000;
        p.running.size = 0x100000;
        size_t n = size / 12;
        p.count = (uint32_t)(n > RF_PLAN_MAX_IMAGES ? RF_PLAN_MAX_IMAGES : n);
        for (uint32_t i = 0; i < p.count; i++) {
            const uint8_t *q = data + 12 * i;
            p.img[i].dest = rf_le32(q) & 0x3FFFFF;
            p.img[i].dest_size = rf_le32(q + 4) & 0x7FFFFF;
            p.img[i].len = (int64_t)(rf_le32(q + 8) & 0x7FFFFF) - 1;
        }
        if (rf_plan_validate(&p) == ESP_OK) {
            for (uint32_t i = 0; i < p.count; i++) {
                for (uint32_t j = 0; j < i; j++) {
                    if (p.img[i].dest < p.img[j].dest + p.img[j].dest_size &&
                        p.img[j].dest < p.img[i].dest + p.img[i].dest_size) {
                        __builtin_trap();
                    }
                }
            }
        }
        break;
    }
    }
    return 0;
}
