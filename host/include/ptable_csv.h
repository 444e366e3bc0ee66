/*
 * Host-only reader of ESP-IDF partitions.csv files (the syntax that
 * ESP-IDF's partition table generator accepts), into an rf_ptable_t.
 *
 * Syntax: one partition per line, "Name, Type, SubType, Offset, Size, Flags";
 * whitespace around fields is ignored, missing trailing fields are empty,
 * blank lines and lines starting with '#' are skipped (CR LF accepted).
 *  - Name: 1..16 characters, unique.
 *  - Type: app, data (any case) or a number 0..0xFE.
 *  - SubType: app: factory, test, ota_0..ota_15; data: ota, phy, nvs,
 *    coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs;
 *    or a number 0..0xFE. Empty means "undefined" (0x06), except for app
 *    partitions where it is an error.
 *  - Offset, Size: decimal, 0x hex (also 0o, 0b), with an optional K (1024)
 *    or M (1024 * 1024) suffix. An empty Offset is assigned: the first
 *    partition starts at table_offset + 0x1000, each next one at the end of
 *    the previous one, rounded up to 0x10000 for app partitions and 0x1000
 *    for the others. A negative Size "-END" means "up to END".
 *  - Flags: "encrypted", "readonly", separated by ':' or spaces.
 * Checks: app offsets 64 KiB aligned, other offsets 4 KiB aligned; no
 * partition before the end of the table's sector or before the end of the
 * previous partition (so partitions are listed in address order and never
 * overlap); non-zero sizes; everything inside flash_size when it is
 * non-zero; unique names; at most RF_PTABLE_MAX_PARTS partitions; at most
 * one data/ota partition, of size 0x2000; no readonly data/ota or
 * data/coredump partition; at least one partition.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "rf_ptable.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Parse the NUL-terminated CSV text. table_offset 0 means
 *  RF_PTABLE_OFFSET_DEFAULT (0x8000); flash_size 0 means "unknown, do not
 *  check". Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL arguments, or a syntax
 *  or rule error in the text), ESP_ERR_INVALID_SIZE (a partition beyond
 *  flash_size, a name longer than 16 characters, more than
 *  RF_PTABLE_MAX_PARTS partitions) or ESP_ERR_NOT_FOUND (no partition at
 *  all). On error `err` (if not NULL) receives a one-line message naming
 *  the line ("line 5: ..."), and out->count is 0. out needs no
 *  initialisation; the MD5 flags are left false. */
esp_err_t ptable_csv_parse(const char *text, uint32_t table_offset, uint32_t flash_size, rf_ptable_t *out,
                           char *err, size_t err_len);

/** Read the file at path and parse it as ptable_csv_parse() does.
 *  ESP_ERR_NOT_FOUND (with a message) if the file cannot be read,
 *  ESP_ERR_NO_MEM if it cannot be held in memory. */
esp_err_t ptable_csv_load(const char *path, uint32_t table_offset, uint32_t flash_size, rf_ptable_t *out,
                          char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
