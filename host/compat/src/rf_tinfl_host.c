/* tinfl_decompress() emulated over zlib: see rf_tinfl_host.h. */
#include "rf_tinfl_host.h"

#include <stdlib.h>
#include <zlib.h>

enum { EMU_RUNNING = 1, EMU_DONE = 2 };

tinfl_status tinfl_decompress(tinfl_decompressor *r, const mz_uint8 *pIn_buf_next, size_t *pIn_buf_size,
                              mz_uint8 *pOut_buf_start, mz_uint8 *pOut_buf_next, size_t *pOut_buf_size,
                              const mz_uint32 decomp_flags)
{
    (void)pOut_buf_start;
    int bits = (decomp_flags & TINFL_FLAG_PARSE_ZLIB_HEADER) ? MAX_WBITS : -MAX_WBITS;
    if (r->m_state == 0) {
        rf_tinfl_host_end(r);
        z_stream *z = calloc(1, sizeof *z);
        if (z != NULL && inflateInit2(z, bits) != Z_OK) {
            free(z);
            z = NULL;
        }
        r->impl = z;
        r->m_state = EMU_RUNNING;
    }
    z_stream *z = r->impl;
    if (z == NULL || r->m_state == EMU_DONE) {
        *pIn_buf_size = 0;
        *pOut_buf_size = 0;
        return z != NULL ? TINFL_STATUS_DONE : TINFL_STATUS_FAILED;
    }
    z->next_in = (Bytef *)pIn_buf_next;
    z->avail_in = (uInt)*pIn_buf_size;
    z->next_out = pOut_buf_next;
    z->avail_out = (uInt)*pOut_buf_size;
    int st = inflate(z, Z_NO_FLUSH);
    *pIn_buf_size -= z->avail_in;
    *pOut_buf_size -= z->avail_out;
    if (st == Z_STREAM_END) {
        r->m_state = EMU_DONE;
        return TINFL_STATUS_DONE;
    }
    if (st != Z_OK && st != Z_BUF_ERROR) {
        return TINFL_STATUS_FAILED;
    }
    return z->avail_out == 0 ? TINFL_STATUS_HAS_MORE_OUTPUT : TINFL_STATUS_NEEDS_MORE_INPUT;
}

void rf_tinfl_host_end(tinfl_decompressor *r)
{
    z_stream *z = r->impl;
    if (z != NULL) {
        inflateEnd(z);
        free(z);
        r->impl = NULL;
    }
}
