/*
 * The human sentences and names of the core's verdicts, for the host tools,
 * reports and tests. A device logs the short identifiers instead
 * (rf_eng_rule_name(), rf_eng_pt_why_name(), rf_img_err_name()): its link
 * keeps none of this file. A string literal lands in its file's one string
 * section, which the linker keeps whole when any of it is used, so these
 * texts live apart from the code a device runs. Freestanding.
 */
#include "rf_engine.h"
#include "rf_image.h"

#define RF_ENG_RULE_TEXT(rule, name, text) [rule] = text,
static const char *const k_rule_texts[RF_ENG__COUNT] = { RF_ENG_RULES(RF_ENG_RULE_TEXT) };

const char *rf_eng_rule_str(rf_eng_rule_t r)
{
    return (unsigned)r < RF_ENG__COUNT ? k_rule_texts[r] : "?";
}

const char *rf_eng_pt_why_str(rf_eng_pt_why_t w)
{
    switch (w) {
    case RF_ENG_PT_OK: return "valid";
    case RF_ENG_PT_CORRUPT: return "not a table: an entry is neither a partition, the MD5 row nor the end";
    case RF_ENG_PT_NO_MD5: return "no MD5 row";
    case RF_ENG_PT_MD5: return "the MD5 row does not match the entries";
    case RF_ENG_PT_LAYOUT: return "a partition is empty, misaligned, over the bootloader or the table, overlaps "
                                  "another, or repeats a label or otadata";
    case RF_ENG_PT_FLASH_SIZE: return "a partition ends past the flash";
    case RF_ENG_PT_BOOTLOADER_SIZE: return "a partition ends past the flash size in the bootloader's header";
    }
    return "?";
}

#define RF_IMG_ERR_TEXT(err, id, text) [err] = text,
static const char *const k_img_err_texts[RF_IMG_ERR__COUNT] = { RF_IMG_ERRORS(RF_IMG_ERR_TEXT) };
#define RF_IMG_ERR_ENUM_NAME(err, id, text) [err] = #err,
static const char *const k_img_err_names[RF_IMG_ERR__COUNT] = { RF_IMG_ERRORS(RF_IMG_ERR_ENUM_NAME) };

const char *rf_img_err_str(rf_img_err_t e)
{
    return (unsigned)e < RF_IMG_ERR__COUNT ? k_img_err_texts[e] : "unknown error";
}

const char *rf_img_err_name(rf_img_err_t e)
{
    return (unsigned)e < RF_IMG_ERR__COUNT ? k_img_err_names[e] : "RF_IMG_ERR_UNKNOWN";
}

const char *rf_esp_spi_mode_name(uint8_t mode)
{
    switch (mode) {
    case 0: return "QIO";
    case 1: return "QOUT";
    case 2: return "DIO";
    case 3: return "DOUT";
    case 4: return "FAST_READ";
    case 5: return "SLOW_READ";
    default: return "?";
    }
}

const char *rf_esp_flash_size_name(uint8_t spi_size_freq)
{
    switch (spi_size_freq >> 4) {
    case 0: return "1MB";
    case 1: return "2MB";
    case 2: return "4MB";
    case 3: return "8MB";
    case 4: return "16MB";
    case 5: return "32MB";
    case 6: return "64MB";
    case 7: return "128MB";
    default: return "?";
    }
}

const char *rf_esp_flash_freq_name(uint16_t chip_id, uint8_t spi_size_freq)
{
    if (chip_id != 0 && chip_id != 2 && chip_id != 5 && chip_id != 9) {
        return "?";
    }
    switch (spi_size_freq & 0x0F) {
    case 0x0: return "40MHz";
    case 0x1: return "26MHz";
    case 0x2: return "20MHz";
    case 0xF: return "80MHz";
    default: return "?";
    }
}
