/* Host compressed sources: see rf_gzip_source.h and rf_inflate.h. */
#include "rf_gzip_source.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "rf_cost.h"
#include "rf_host_source.h"

/* ---- zlib as a raw DEFLATE backend ---------------------------------------- */

typedef struct {
    z_stream z;
    bool live;   /* inflateInit2 done */
    bool done;   /* Z_STREAM_END seen */
    uint8_t in[RF_INFLATE_IN_CHUNK];   /* the wrapper's input buffer (rf_inflater_t.in_buf) */
} zinf_t;

static esp_err_t zinf_reset(void *ctx)
{
    zinf_t *s = ctx;
    int r = s->live ? inflateReset(&s->z) : inflateInit2(&s->z, -MAX_WBITS);
    s->live = s->live || r == Z_OK;
    s->done = false;
    return r == Z_OK ? ESP_OK : ESP_ERR_NO_MEM;
}

static int zinf_run(void *ctx, const uint8_t *in, size_t *in_len, uint8_t *out, size_t *out_len)
{
    zinf_t *s = ctx;
    if (s->done) {
        *in_len = 0;
        *out_len = 0;
        return 1;
    }
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = (uInt)*in_len;
    s->z.next_out = out;
    s->z.avail_out = (uInt)*out_len;
    int r = inflate(&s->z, Z_NO_FLUSH);
    *in_len -= s->z.avail_in;
    *out_len -= s->z.avail_out;
    rf_cost_charge(RF_COST_INFLATE, *out_len);   /* the device's inflate, per output byte */
    if (r == Z_STREAM_END) {
        s->done = true;
        return 1;
    }
    /* Z_BUF_ERROR: no progress possible with what was given (more input needed) */
    return (r == Z_OK || r == Z_BUF_ERROR) ? 0 : -1;
}

size_t rf_zlib_inflater_size(void)
{
    return sizeof(zinf_t);
}

void rf_zlib_inflater_init(void *storage, rf_inflater_t *out)
{
    memset(storage, 0, sizeof(zinf_t));
    out->ctx = storage;
    out->reset = zinf_reset;
    out->run = zinf_run;
    out->in_buf = ((zinf_t *)storage)->in;
}

void rf_zlib_inflater_end(void *storage)
{
    zinf_t *s = storage;
    if (s->live) {
        inflateEnd(&s->z);
        s->live = false;
    }
}

/* ---- the heap wrapper ------------------------------------------------------ */

typedef struct {
    rf_inflate_source_t src;   /* first: the core's functions get g itself */
    rf_source_t core;   /* the wrapper's own functions */
    rf_inflater_t inf;
    zinf_t z;
} host_gz_t;

/* Each open of an http(s) source is a request: its latency (and a TLS
 * handshake) goes to the cost port before the wrapper's own open. */
static esp_err_t host_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    host_gz_t *g = ctx;
    const char *n = g->src.inner.name;
    if (n != NULL && strncmp(n, "https://", 8) == 0) {
        rf_cost_charge(RF_COST_REQUEST_TLS, 1);
    } else if (n != NULL && strncmp(n, "http://", 7) == 0) {
        rf_cost_charge(RF_COST_REQUEST, 1);
    }
    return g->core.open(g->core.ctx, offset, total_len);
}

esp_err_t rf_source_gzip_new(const rf_source_t *inner, rf_source_t *out)
{
    host_gz_t *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return ESP_ERR_NO_MEM;
    }
    rf_zlib_inflater_init(&g->z, &g->inf);
    rf_inflate_source_init(&g->src, inner, &g->inf, &g->core);
    *out = g->core;
    out->ctx = g;   /* &g->src == g: the core's functions take it as theirs */
    out->open = host_open;
    return ESP_OK;
}

void rf_source_gzip_destroy(rf_source_t *src, rf_source_t *inner_out)
{
    if (src == NULL || src->ctx == NULL) {
        return;
    }
    host_gz_t *g = src->ctx;
    src->close(src->ctx);
    if (inner_out != NULL) {
        *inner_out = g->src.inner;
    }
    rf_zlib_inflater_end(&g->z);
    free(g);
    memset(src, 0, sizeof *src);
}

bool rf_source_gzip_active(const rf_source_t *src)
{
    return src != NULL && src->ctx != NULL && src->open == host_open &&
           rf_inflate_source_compressed(&((const host_gz_t *)src->ctx)->src);
}

esp_err_t rf_source_url_new_inflating(const char *url_or_path, const struct rf_source_opts *opts, rf_source_t *out)
{
    rf_source_t inner;
    esp_err_t err = rf_source_url_new(url_or_path, opts, &inner);
    if (err == ESP_OK && (err = rf_source_gzip_new(&inner, out)) != ESP_OK) {
        rf_source_destroy(&inner);
    }
    return err;
}

void rf_source_url_inflating_destroy(rf_source_t *src)
{
    rf_source_t inner;
    memset(&inner, 0, sizeof inner);
    rf_source_gzip_destroy(src, &inner);
    rf_source_destroy(&inner);
}
