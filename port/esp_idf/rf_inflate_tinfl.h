/*
 * The ESP-IDF port's DEFLATE backend for rf_inflate.h: miniz's tinfl from
 * the chip's ROM (as esptool's flasher stub uses it), with a 32 KiB
 * wrapping dictionary. RAM: sizeof(rf_tinfl_inflater_t), about 11 KiB of
 * tinfl state + 32 KiB of dictionary, owned by the caller.
 */
#pragma once
#include <stdbool.h>
#include "rf_inflate.h"

#if defined(ESP_PLATFORM)
#include "esp_idf_version.h"
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 1, 0)
/* From 5.1 on: rom/miniz.h is deprecated with a #warning, an error under -Werror. */
#include "miniz.h"
#elif ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(4, 3, 0)
#include "rom/miniz.h"
#else
#include "esp32/rom/miniz.h"
#endif
#else
#include "rf_tinfl_host.h"   /* host check: tinfl's declarations, emulated over zlib */
#endif

typedef struct rf_tinfl_inflater {
    /* the small fields first, at short offsets (the code reaching them is shorter) */
    size_t dict_ofs;   /* where tinfl writes next */
    size_t pend_ofs;   /* inflated bytes not handed out yet: [pend_ofs, pend_ofs + pend_len) */
    size_t pend_len;
    uint32_t done;     /* 0 or 1; a word (compressed access), in what was padding */
    tinfl_decompressor d;
    uint8_t dict[TINFL_LZ_DICT_SIZE];
    uint8_t in[RF_INFLATE_IN_CHUNK];   /* the wrapper's input buffer (rf_inflater_t.in_buf) */
} rf_tinfl_inflater_t;

void rf_tinfl_inflater_init(rf_tinfl_inflater_t *s, rf_inflater_t *out);
