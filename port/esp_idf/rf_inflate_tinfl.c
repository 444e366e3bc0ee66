/* rf_inflate.h's DEFLATE backend over the ROM's tinfl: see rf_inflate_tinfl.h. */
#include "rf_inflate_tinfl.h"

static esp_err_t tinfl_reset(void *ctx)
{
    rf_tinfl_inflater_t *s = ctx;
    tinfl_init(&s->d);
    s->dict_ofs = s->pend_ofs = s->pend_len = 0;
    s->done = false;
    return ESP_OK;
}

/* Hand out what tinfl already put into the dictionary. */
RF_NOINLINE static size_t give(rf_tinfl_inflater_t *s, uint8_t *out, size_t cap)
{
    size_t n = RF_MIN(cap, s->pend_len);
    RF_MEMCPY(out, s->dict + s->pend_ofs, n);
    s->pend_ofs += n;
    s->pend_len -= n;
    return n;
}

static int tinfl_run(void *ctx, const uint8_t *in, size_t *in_len, uint8_t *out, size_t *out_len)
{
    rf_tinfl_inflater_t *s = ctx;
    const size_t cap = *out_len;
    *out_len = give(s, out, cap);
    if (s->pend_len > 0 || s->done) {
        *in_len = 0;
        return (s->done && s->pend_len == 0 && *out_len == 0) ? 1 : 0;
    }
    /* tinfl writes up to the end of the dictionary; the next call wraps to 0 */
    size_t avail = TINFL_LZ_DICT_SIZE - s->dict_ofs;
    tinfl_status st = tinfl_decompress(&s->d, in, in_len, s->dict, s->dict + s->dict_ofs, &avail,
                                       TINFL_FLAG_HAS_MORE_INPUT);
    if (st < TINFL_STATUS_DONE) {
        return -1;
    }
    s->pend_ofs = s->dict_ofs;
    s->pend_len = avail;
    s->dict_ofs = (s->dict_ofs + avail) & (TINFL_LZ_DICT_SIZE - 1);
    s->done = st == TINFL_STATUS_DONE;
    *out_len += give(s, out + *out_len, cap - *out_len);
    return 0;
}

void rf_tinfl_inflater_init(rf_tinfl_inflater_t *s, rf_inflater_t *out)
{
    RF_MEMSET(s, 0, sizeof *s);
    out->ctx = s;
    out->reset = tinfl_reset;
    out->run = tinfl_run;
    out->in_buf = s->in;
}
