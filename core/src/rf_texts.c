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

const char *rf_img_err_str(rf_img_err_t e)
{
    switch (e) {
    case RF_IMG_OK: return "valid";
    case RF_IMG_ERR_ARG: return "bad arguments (NULL or scratch buffer too small)";
    case RF_IMG_ERR_READ: return "reading the image failed";
    case RF_IMG_ERR_MAGIC: return "wrong magic: not an image of this format";
    case RF_IMG_ERR_TRUNCATED: return "truncated: the data ends before the image does";
    case RF_IMG_ERR_CHIP_ID: return "chip id invalid or not the expected chip";
    case RF_IMG_ERR_SEGMENT_COUNT: return "segment count is 0 or above 16";
    case RF_IMG_ERR_SEGMENT_BOUNDS: return "segment length out of bounds";
    case RF_IMG_ERR_SEGMENT_ALIGN: return "segment length not a multiple of 4";
    case RF_IMG_ERR_CHECKSUM: return "XOR checksum of the segment data does not match the stored byte";
    case RF_IMG_ERR_SHA256: return "SHA-256 of the image does not match the stored hash";
    case RF_IMG_ERR_HEADER: return "impossible header field";
    case RF_IMG_ERR_TLV_MAGIC: return "TLV area magic missing or wrong";
    case RF_IMG_ERR_TLV_BOUNDS: return "TLV area or TLV entry runs outside its area or the data";
    case RF_IMG_ERR_TLV_LEN: return "TLV has the wrong length for its type";
    case RF_IMG_ERR_TLV_DUP: return "TLV that must be unique appears more than once";
    case RF_IMG_ERR_NO_HASH: return "no SHA-256 TLV";
    case RF_IMG_ERR_ENCRYPTED: return "encrypted image: its hash covers plaintext that cannot be checked";
    case RF_IMG_ERR_SLOT_SIZE: return "image and trailer do not fit in the slot";
    case RF_IMG_ERR_TRAILER: return "swap trailer magic is neither valid nor erased";
    case RF_IMG_ERR_UNSIGNED: return "a key was given but the image has no signature";
    case RF_IMG_ERR_SIGNATURE: return "signature does not verify with the given key";
    case RF_IMG_ERR_SIG_UNSUPPORTED: return "signature type or key cannot be checked by this build";
    case RF_IMG_ERR__COUNT: break;
    }
    return "unknown error";
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
