/*
 * ESP-IDF's otadata: two 4 KiB sectors, each starting with an
 * esp_ota_select_entry_t (ota_seq, seq_label[20], ota_state, crc). The
 * bootloader boots ota_{(seq - 1) % number_of_ota_partitions} from the valid
 * entry with the highest seq, the factory app when neither entry is valid.
 */
#pragma once
#include "rf_crc.h"

#define RF_OTADATA_ENTRY_LEN 32u
#define RF_OTADATA_SECTOR 0x1000u

/* esp_ota_img_states_t */
#define RF_OTA_IMG_NEW 0x0u
#define RF_OTA_IMG_PENDING_VERIFY 0x1u
#define RF_OTA_IMG_VALID 0x2u
#define RF_OTA_IMG_INVALID 0x3u
#define RF_OTA_IMG_ABORTED 0x4u
#define RF_OTA_IMG_UNDEFINED 0xFFFFFFFFu

/** CRC of an otadata entry: crc32_le(UINT32_MAX, ota_seq as 4 LE bytes). */
uint32_t rf_otadata_crc(uint32_t ota_seq);

/** Encode an esp_ota_select_entry_t (seq_label all 0xFF, as after an erase). */
void rf_otadata_entry_encode(uint32_t ota_seq, uint32_t ota_state, uint8_t out[RF_OTADATA_ENTRY_LEN]);

typedef struct rf_otadata_entry {
    uint32_t ota_seq;
    uint32_t ota_state;
    uint32_t crc;
    bool valid;   /**< seq != 0xFFFFFFFF, CRC matches, state neither INVALID nor ABORTED */
} rf_otadata_entry_t;

/** Decode one 32-byte entry. */
void rf_otadata_entry_decode(const uint8_t in[RF_OTADATA_ENTRY_LEN], rf_otadata_entry_t *out);
