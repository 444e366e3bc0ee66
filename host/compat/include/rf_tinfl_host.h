/*
 * Host check of the ESP-IDF port's inflater (port/esp_idf/rf_inflate_tinfl.c):
 * the part of miniz's tinfl interface that the chips' ROMs export (types,
 * flags, status codes, tinfl_init, tinfl_decompress), declared from its
 * documented API, with tinfl_decompress() emulated over zlib
 * (host/compat/src/rf_tinfl_host.c). No miniz code is copied. Emulation
 * limits: the output buffer is treated as the next bytes of a wrapping
 * dictionary (the port's only use); back-references come from zlib's own window.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef unsigned char mz_uint8;
typedef uint32_t mz_uint32;

#define TINFL_LZ_DICT_SIZE 32768

enum {
    TINFL_FLAG_PARSE_ZLIB_HEADER = 1,
    TINFL_FLAG_HAS_MORE_INPUT = 2,
    TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF = 4,
    TINFL_FLAG_COMPUTE_ADLER32 = 8,
};

typedef enum {
    TINFL_STATUS_BAD_PARAM = -3,
    TINFL_STATUS_ADLER32_MISMATCH = -2,
    TINFL_STATUS_FAILED = -1,
    TINFL_STATUS_DONE = 0,
    TINFL_STATUS_NEEDS_MORE_INPUT = 1,
    TINFL_STATUS_HAS_MORE_OUTPUT = 2,
} tinfl_status;

typedef struct {
    mz_uint32 m_state;   /* 0: start a new stream (tinfl_init) */
    void *impl;          /* emulation: zlib's z_stream, allocated on first use */
} tinfl_decompressor;

#define tinfl_init(r) do { (r)->m_state = 0; } while (0)

tinfl_status tinfl_decompress(tinfl_decompressor *r, const mz_uint8 *pIn_buf_next, size_t *pIn_buf_size,
                              mz_uint8 *pOut_buf_start, mz_uint8 *pOut_buf_next, size_t *pOut_buf_size,
                              const mz_uint32 decomp_flags);

/** Emulation only: release zlib's state (the ROM's tinfl holds none). */
void rf_tinfl_host_end(tinfl_decompressor *r);
