/* CRC-32 for the core. */
#pragma once
#include "rf_util.h"

/** The ESP32 ROM's crc32_le(crc, buf, len): reflected CRC-32 (0xEDB88320),
 *  ~crc on entry, ~ on exit. rf_crc32_le(0, "123456789", 9) == 0xCBF43926;
 *  ESP-IDF's otadata uses rf_crc32_le(UINT32_MAX, &ota_seq, 4). */
uint32_t rf_crc32_le(uint32_t crc, const void *buf, size_t len);
