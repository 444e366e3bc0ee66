/*
 * ESP-IDF binary partition table: parse, serialize, look up.
 *
 * Layout (ESP-IDF documentation, "Partition Tables"): at 0x8000 by default,
 * up to 0xC00 bytes of 32-byte entries. Entry: magic 0x50AA (bytes AA 50),
 * type, subtype, offset (LE32), size (LE32), label (16 bytes, NUL padded),
 * flags (LE32). An optional MD5 entry (bytes EB EB, 14 bytes 0xFF, then the
 * MD5 of all preceding entries) follows the last partition; the table ends
 * at the first entry of all 0xFF.
 */
#pragma once
#include "rf_flash.h"

#define RF_PTABLE_OFFSET_DEFAULT 0x8000u
#define RF_PTABLE_MAX_LEN 0xC00u
#define RF_PTABLE_ENTRY_LEN 32u
#define RF_PTABLE_MAX_PARTS 95u   /* 0xC00 / 32 - room for the MD5 entry */
#define RF_PART_LABEL_MAX 16u

enum { RF_PART_TYPE_APP = 0x00, RF_PART_TYPE_DATA = 0x01, RF_PART_TYPE_BOOTLOADER = 0x02,
       RF_PART_TYPE_PARTITION_TABLE = 0x03 };
enum { RF_PART_SUBTYPE_FACTORY = 0x00, RF_PART_SUBTYPE_OTA_MIN = 0x10, RF_PART_SUBTYPE_OTA_MAX = 0x1F,
       RF_PART_SUBTYPE_TEST = 0x20 };
enum { RF_PART_SUBTYPE_DATA_OTA = 0x00, RF_PART_SUBTYPE_DATA_PHY = 0x01, RF_PART_SUBTYPE_DATA_NVS = 0x02,
       RF_PART_SUBTYPE_DATA_COREDUMP = 0x03, RF_PART_SUBTYPE_DATA_NVS_KEYS = 0x04,
       RF_PART_SUBTYPE_DATA_EFUSE = 0x05, RF_PART_SUBTYPE_DATA_UNDEFINED = 0x06,
       RF_PART_SUBTYPE_DATA_FAT = 0x81, RF_PART_SUBTYPE_DATA_SPIFFS = 0x82,
       RF_PART_SUBTYPE_DATA_LITTLEFS = 0x83 };
#define RF_PART_FLAG_ENCRYPTED 0x1u
#define RF_PART_FLAG_READONLY 0x2u

typedef struct rf_part {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t type;
    uint8_t subtype;
    char label[RF_PART_LABEL_MAX + 1];  /**< always NUL-terminated */
} rf_part_t;   /* 32 bytes: a table of them is the largest thing a check holds */

typedef struct rf_ptable {
    rf_part_t parts[RF_PTABLE_MAX_PARTS];
    uint32_t count;
    bool has_md5;   /**< an MD5 entry was present */
    bool md5_ok;    /**< ... and it matched the entries before it */
} rf_ptable_t;

/** Parse a table image of `len` bytes (normally RF_PTABLE_MAX_LEN).
 *  ESP_ERR_NOT_FOUND: the first entry is blank or has no magic (no table);
 *  ESP_ERR_INVALID_CRC: an MD5 entry is present and does not match (the
 *  entries are still returned, md5_ok false); ESP_ERR_INVALID_SIZE: an entry
 *  neither blank, nor a partition, nor MD5 (the table is corrupt). */
esp_err_t rf_ptable_parse(const uint8_t *buf, size_t len, rf_ptable_t *out);

/** rf_ptable_parse() of the `len` bytes a reader gives, read one 32-byte
 *  entry at a time (no copy of the table is held; its MD5 is computed as the
 *  entries pass). A read error is returned as it is, with out->count 0. */
esp_err_t rf_ptable_parse_read(rf_read_fn read, void *arg, size_t len, rf_ptable_t *out);

/** Read and parse the table at `offset` through the flash port, with the
 *  caller's scratch buffer of at least RF_PTABLE_MAX_LEN bytes. */
esp_err_t rf_ptable_read(const rf_flash_t *flash, uint32_t offset, uint8_t *scratch, size_t scratch_len,
                         rf_ptable_t *out);

/** Write the binary image of `t` into buf (len >= RF_PTABLE_MAX_LEN): the
 *  entries, the MD5 entry when with_md5, then 0xFF to the end. */
esp_err_t rf_ptable_serialize(const rf_ptable_t *t, bool with_md5, uint8_t *buf, size_t len);

/** First partition with this label, or NULL. */
const rf_part_t *rf_ptable_find_label(const rf_ptable_t *t, const char *label);

/** Human name of a type/subtype pair ("app/factory", "data/nvs", "app/ota_1");
 *  writes at most `len` bytes including the NUL. */
void rf_part_kind_name(uint8_t type, uint8_t subtype, char *out, size_t len);

/* ---- additions ---------------------------------------------------------- *
 * Details of rf_ptable_parse() (hostile input is expected):
 *  - only the first RF_PTABLE_MAX_LEN bytes of buf are ever looked at, and
 *    never more than len; the table also ends at the end of that window;
 *  - ESP_ERR_INVALID_ARG for NULL buf/out; ESP_ERR_INVALID_SIZE when
 *    len < RF_PTABLE_ENTRY_LEN (not even one entry);
 *  - ESP_ERR_NOT_FOUND whenever the first entry is not a partition entry
 *    (an MD5 entry first is no table either);
 *  - ESP_ERR_INVALID_SIZE (corrupt) also for: a partition entry whose
 *    offset + size passes 4 GiB, more than RF_PTABLE_MAX_PARTS partitions, an
 *    MD5 entry whose padding is not 0xFF, a second MD5 entry or a partition
 *    after the MD5 entry, a blank entry that is not all 0xFF (magic FF FF
 *    with other bytes), and a trailing partial entry that is not all 0xFF;
 *  - on every error but ESP_ERR_INVALID_CRC, out->count is 0;
 *  - labels are copied up to their first NUL (at most 16 bytes) and always
 *    NUL-terminated; the rest of the label field is ignored.
 * rf_ptable_serialize(): ESP_ERR_INVALID_ARG for NULL or count >
 * RF_PTABLE_MAX_PARTS, ESP_ERR_INVALID_SIZE for len < RF_PTABLE_MAX_LEN;
 * labels are written NUL padded (a 16-character label fills the field). */

#define RF_PTABLE_MAGIC 0x50AAu       /**< partition entry, bytes AA 50 */
#define RF_PTABLE_MAGIC_MD5 0xEBEBu   /**< MD5 entry, bytes EB EB */
#define RF_PTABLE_SECTOR 0x1000u      /**< the table occupies one sector */
#define RF_PART_ALIGN_APP 0x10000u    /**< app partitions start 64 KiB aligned */
#define RF_PART_ALIGN_DATA 0x1000u    /**< every other partition 4 KiB aligned */

enum { RF_PART_SUBTYPE_DATA_ESPHTTPD = 0x80 };
enum { RF_PART_SUBTYPE_BOOTLOADER_PRIMARY = 0x00, RF_PART_SUBTYPE_BOOTLOADER_OTA = 0x01,
       RF_PART_SUBTYPE_BOOTLOADER_RECOVERY = 0x02 };
enum { RF_PART_SUBTYPE_PARTITION_TABLE_PRIMARY = 0x00, RF_PART_SUBTYPE_PARTITION_TABLE_OTA = 0x01 };

/** Encode one partition as its 32-byte entry. */
void rf_part_encode(const rf_part_t *p, uint8_t out[RF_PTABLE_ENTRY_LEN]);

/** Decode one entry whose magic the caller checked (the label bounded and
 *  NUL-filled). False when its range wraps past 4 GiB. The core's one copy
 *  (the table parser and the boot model's entry-at-a-time reader). */
bool rf_part_decode(const uint8_t e[RF_PTABLE_ENTRY_LEN], rf_part_t *p);

/** First partition of this type and subtype, or NULL. */
const rf_part_t *rf_ptable_find(const rf_ptable_t *t, uint8_t type, uint8_t subtype);

/** Partition containing the flash address, or NULL. */
const rf_part_t *rf_ptable_find_addr(const rf_ptable_t *t, uint32_t addr);

/** Sanity rules a table must follow before it is written to a device:
 *  non-empty; every partition non-empty, aligned (app RF_PART_ALIGN_APP,
 *  others RF_PART_ALIGN_DATA), past the table's sector
 *  (table_offset + RF_PTABLE_SECTOR; table_offset 0 means the default),
 *  inside flash_size when flash_size is non-zero; no two partitions overlap;
 *  labels unique and non-empty; at most one data/ota partition.
 *  ESP_OK, or ESP_ERR_INVALID_ARG (NULL, count 0 or > RF_PTABLE_MAX_PARTS),
 *  or ESP_ERR_INVALID_SIZE with *bad (if not NULL) the index of the first
 *  offending partition. */
esp_err_t rf_ptable_check(const rf_ptable_t *t, uint32_t table_offset, uint32_t flash_size, uint32_t *bad);
