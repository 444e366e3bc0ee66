/* tinfl_decompress() emulated over zlib: see rf_tinfl_host.h. */
#include "rf_tinfl_host.h"

tinfl_status tinfl_decompress(tinfl_decompressor *r, const mz_uint8 *pIn_buf_next, size_t *pIn_buf_size,
                              mz_uint8 *pOut_buf_start, mz_uint8 *pOut_buf_next, size_t *pOut_buf_size,
                              const mz_uint32 decomp_flags)
{
    (void)pOut_buf_start;
    int bits = (decomp_flags & TINFL_FLAG_PARSE_ZLIB_HEADER) ? MAX_WBITS : -MAX_WBITS;
    if (r->m_state == 0) {
        if (r->live) {
            inflateEnd(&r->z);
        }
        r->live = inflateInit2(&r->z, bits) == Z_OK;
        r->m_state = 1;
    }
    if (!r->live || r->m_state == 2) {
        *pIn_buf_size = 0;
        *pOut_buf_size = 0;
        return r->live ? TINFL_STATUS_DONE : TINFL_STATUS_FAILED;
    }
    r->z.next_in = (Bytef *)pIn_buf_next;
    r->z.avail_in = (uInt)*pIn_buf_size;
    r->z.next_out = pOut_buf_next;
    r->z.avail_out = (uInt)*pOut_buf_size;
    int z = inflate(&r->z, Z_NO_FLUSH);
    *pIn_buf_size -= r->z.avail_in;
    *pOut_buf_size -= r->z.avail_out;
    if (z == Z_STREAM_END) {
        r->m_state = 2;
        return TINFL_STATUS_DONE;
    }
    if (z != Z_OK && z != Z_BUF_ERROR) {
        return TINFL_STATUS_FAILED;
    }
    return r->z.avail_out == 0 ? TINFL_STATUS_HAS_MORE_OUTPUT : TINFL_STATUS_NEEDS_MORE_INPUT;
}

void rf_tinfl_host_end(tinfl_decompressor *r)
{
    if (r->live) {
        inflateEnd(&r->z);
        r->live = 0;
    }
}
