/*
 * Host stand-in for ESP-IDF's esp_attr.h (component esp_common): the
 * placement attributes. On the host there is one memory, so each one only
 * keeps its meaning for the compiler (FORCE_INLINE_ATTR, NOINLINE_ATTR) or is
 * empty (the IRAM/DRAM/RTC/PSRAM section attributes).
 */
#pragma once
#include <stdint.h>

#define IRAM_ATTR
#define DRAM_ATTR
#define IRAM_DATA_ATTR
#define IRAM_BSS_ATTR
#define DRAM_STR(str) (str)
#define RTC_IRAM_ATTR
#define RTC_DATA_ATTR
#define RTC_RODATA_ATTR
#define RTC_NOINIT_ATTR
#define RTC_FAST_ATTR
#define RTC_SLOW_ATTR
#define EXT_RAM_BSS_ATTR
#define EXT_RAM_NOINIT_ATTR
#define NOINIT_ATTR
#define WORD_ALIGNED_ATTR __attribute__((aligned(4)))
#define FORCE_INLINE_ATTR static inline __attribute__((always_inline))
#define NOINLINE_ATTR __attribute__((noinline))
#define IDF_DEPRECATED(REASON) __attribute__((deprecated(REASON)))
#define FLAG_ATTR(TYPE)
#define PACKED_ATTR __attribute__((packed))
