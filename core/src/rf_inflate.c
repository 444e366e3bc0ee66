/* Compressed sources: see rf_inflate.h. */
#include <stddef.h>
#include "rf_inflate.h"
#include "rf_crc.h"

/* ESP-IDF defines it in esp_http_client.h, which the core does not include. */
#ifndef ESP_ERR_HTTP_INCOMPLETE_DATA
#define ESP_ERR_HTTP_INCOMPLETE_DATA (0x7000 + 12)
#endif

enum { MODE_IDENTITY = 0, MODE_PENDING, MODE_GZIP, MODE_ZLIB };
enum { PHASE_HEADER = 0, PHASE_BODY, PHASE_DONE };

/* gzip FLG bits (RFC 1952, 2.3.1) */
#define GZ_FHCRC 0x02u
#define GZ_FEXTRA 0x04u
#define GZ_FNAME 0x08u
#define GZ_FCOMMENT 0x10u
#define GZ_FRESERVED 0xE0u

bool rf_inflate_name_is_gz(const char *name)
{
    if (name == NULL) {
        return false;
    }
    /* the last three bytes before the end, '?' or '#' (0 for the missing
     * ones of a shorter name, and '.' is never 0) */
    uint32_t last3 = 0;
    for (; *name != 0 && *name != '?' && *name != '#'; name++) {
        last3 = (last3 << 8) | (uint8_t)*name;
    }
    return (last3 & 0xFFFFFFu) == (('.' << 16) | ('g' << 8) | 'z');
}

static bool encoding_is_compressed(const char *e)
{
    if (e == NULL) {
        return false;
    }
    /* the names, each ended by a NUL, the list by an empty one */
    for (const char *n = "gzip\0x-gzip\0deflate\0"; *n != 0; n++) {
        size_t i = 0;
        while (n[i] != 0 && (e[i] | 0x20) == n[i]) {
            i++;
        }
        if (n[i] == 0 && e[i] == 0) {
            return true;
        }
        while (*n != 0) {
            n++;
        }
    }
    return false;
}

/* Fill the input buffer when it is empty; inner_eof at the end. */
static esp_err_t refill(rf_inflate_source_t *s)
{
    if (s->in_pos < s->in_len || s->inner_eof) {
        return ESP_OK;
    }
    uint32_t got = 0;
    esp_err_t err = s->inner.read(s->inner.ctx, s->in, RF_INFLATE_IN_CHUNK, &got);
    if (err != ESP_OK) {
        return err;
    }
    s->in_pos = 0;
    s->in_len = got;
    s->inner_eof = got == 0;
    return ESP_OK;
}

static esp_err_t take(rf_inflate_source_t *s, uint8_t *b)
{
    esp_err_t err = refill(s);
    if (err != ESP_OK) {
        return err;
    }
    if (s->in_pos == s->in_len) {
        return ESP_ERR_HTTP_INCOMPLETE_DATA;
    }
    *b = s->in[s->in_pos++];
    return ESP_OK;
}

/* Up to a NUL (RFC 1952's zero-terminated strings), as a length for take_n. */
#define TO_NUL UINT32_MAX

/* The next n bytes into b[0, n), or dropped when b is NULL; n == TO_NUL (b
 * NULL): every byte up to and including the next 0. */
static esp_err_t take_n(rf_inflate_source_t *s, uint8_t *b, uint32_t n)
{
    uint8_t c = 1;
    for (uint32_t i = 0; n == TO_NUL ? c != 0 : i < n; i++) {
        esp_err_t err = take(s, b != NULL ? &b[i] : &c);
        if (err != ESP_OK) {
            return err;
        }
    }
    return ESP_OK;
}

/* The gzip member header (RFC 1952 2.3) or the zlib header (RFC 1950 2.2). */
static esp_err_t parse_header(rf_inflate_source_t *s)
{
    uint8_t h[10];
    esp_err_t err = take_n(s, h, 2);
    if (err != ESP_OK) {
        return err;
    }
    if (h[0] == 0x1F && h[1] == 0x8B) {
        s->mode = MODE_GZIP;
        if ((err = take_n(s, h + 2, 8)) != ESP_OK) {
            return err;
        }
        const uint8_t flg = h[3];
        if (h[2] != 8 || (flg & GZ_FRESERVED) != 0) {
            return ESP_ERR_INVALID_RESPONSE;
        }
        if ((flg & GZ_FEXTRA) && (err = take_n(s, h, 2)) != ESP_OK) {
            return err;
        }
        /* the optional parts, in the order they come: FEXTRA's XLEN bytes,
         * FNAME, FCOMMENT (zero-terminated), FHCRC's CRC16 */
        static const uint8_t parts[] = { GZ_FEXTRA, GZ_FNAME, GZ_FCOMMENT, GZ_FHCRC };
        for (size_t i = 0; i < sizeof parts; i++) {
            const uint8_t f = parts[i];
            if ((flg & f) &&
                (err = take_n(s, NULL, f == GZ_FEXTRA ? rf_le16(h) : f == GZ_FHCRC ? 2u : TO_NUL)) != ESP_OK) {
                return err;
            }
        }
        return ESP_OK;
    }
    /* zlib: CM 8, window <= 32 KiB, check bits, no preset dictionary */
    if ((h[0] & 0x0F) != 8 || (h[0] >> 4) > 7 || ((uint32_t)h[0] * 256u + h[1]) % 31u != 0 || (h[1] & 0x20)) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    s->mode = MODE_ZLIB;
    return ESP_OK;
}

static void sum_output(rf_inflate_source_t *s, const uint8_t *p, size_t n)
{
    s->out_len += (uint32_t)n;
    if (s->mode == MODE_GZIP) {
        s->crc = rf_crc32_le(s->crc, p, n);
        return;
    }
    uint32_t a = s->adler_a, b = s->adler_b;
    for (size_t i = 0; i < n; i++) {
        a += p[i];
        if (a >= 65521u) {
            a -= 65521u;
        }
        b += a;
        if (b >= 65521u) {
            b -= 65521u;
        }
    }
    s->adler_a = a;
    s->adler_b = b;
}

static esp_err_t check_trailer(rf_inflate_source_t *s)
{
    uint8_t t[8];
    const bool gz = s->mode == MODE_GZIP;
    esp_err_t err = take_n(s, t, gz ? 8u : 4u);
    if (err != ESP_OK) {
        return err;
    }
    /* gzip: CRC-32 and ISIZE, little-endian; zlib: Adler-32, big-endian */
    const uint32_t first = rf_le32(t);
    const bool ok = gz ? first == s->crc && rf_le32(t + 4) == s->out_len
                       : __builtin_bswap32(first) == ((s->adler_b << 16) | s->adler_a);
    return ok ? ESP_OK : ESP_ERR_INVALID_CRC;
}

static void inner_close(rf_inflate_source_t *s)
{
    if (s->inner_open) {
        s->inner.close(s->inner.ctx);
        s->inner_open = false;
    }
}

/* A fresh start for an open; true when the name says the stream is gzip. */
RF_NOINLINE static bool begin(rf_inflate_source_t *s)
{
    inner_close(s);
    /* in_pos through err to 0 (inner_open is 0 already; MODE_IDENTITY,
     * PHASE_HEADER, ESP_OK are 0), then Adler-32's a starts at 1 */
    _Static_assert(MODE_IDENTITY == 0 && PHASE_HEADER == 0 && ESP_OK == 0, "begin() zeroes them");
    RF_MEMSET(&s->in_pos, 0, offsetof(rf_inflate_source_t, err) + sizeof s->err - offsetof(rf_inflate_source_t, in_pos));
    s->adler_a = 1;
    return rf_inflate_name_is_gz(s->inner.name);
}

/* The inner source answered from byte `start`: identity bytes pass as they
 * come; a compressed response (or a .gz name) is inflated, from its start only. */
static esp_err_t opened(rf_inflate_source_t *s, bool by_name, uint32_t start, int64_t *total_len)
{
    bool enc = s->inner.content_encoding != NULL &&
               encoding_is_compressed(s->inner.content_encoding(s->inner.ctx));
    if (!by_name && !enc) {
        return ESP_OK;   /* identity */
    }
    if (start > 0) {
        inner_close(s);
        return ESP_ERR_NOT_SUPPORTED;
    }
    s->mode = MODE_PENDING;
    *total_len = -1;
    esp_err_t err = s->inflater->reset(s->inflater->ctx);
    s->in = s->inflater->in_buf;   /* the backend's, allocated with its state */
    return err == ESP_OK && s->in == NULL ? ESP_ERR_NO_MEM : err;
}

static esp_err_t src_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    rf_inflate_source_t *s = ctx;
    const bool by_name = begin(s);
    if (by_name && offset > 0) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    /* from here by_name means offset == 0 */
    esp_err_t err = s->inner.open(s->inner.ctx, offset, total_len);
    s->inner_open = true;
    return err != ESP_OK ? err : opened(s, by_name, offset, total_len);
}

/* With validators (rf_source.h): an identity response resumes as the inner
 * source proves it; a compressed one is only ever a whole transfer from byte
 * 0 of its decompressed bytes, with no validator (a rerun restarts it). */
static esp_err_t src_open_at(void *ctx, rf_source_open_t *io)
{
    rf_inflate_source_t *s = ctx;
    const bool by_name = begin(s);
    if (by_name) {
        io->offset = 0;
        io->if_range = NULL;
    }
    esp_err_t err = s->inner.open_at(s->inner.ctx, io);
    s->inner_open = true;
    err = err != ESP_OK ? err : opened(s, by_name, io->start, &io->total);
    if (err == ESP_OK && s->mode == MODE_PENDING) {
        io->validator[0] = 0;   /* a compressed transfer never resumes */
    }
    return err;
}

/* *got is 0 on entry (src_read) and stays so unless bytes come. */
static esp_err_t inflate_some(rf_inflate_source_t *s, uint8_t *buf, uint32_t cap, uint32_t *got)
{
    esp_err_t err;
    if (s->phase == PHASE_HEADER) {
        if ((err = parse_header(s)) != ESP_OK) {
            return err;
        }
        s->phase = PHASE_BODY;
    }
    while (s->phase == PHASE_BODY) {
        if ((err = refill(s)) != ESP_OK) {
            return err;
        }
        size_t in_n = s->in_len - s->in_pos, out_n = cap;
        int r = s->inflater->run(s->inflater->ctx, s->in + s->in_pos, &in_n, buf, &out_n);
        if (r < 0) {
            return ESP_ERR_INVALID_RESPONSE;
        }
        s->in_pos += (uint32_t)in_n;
        sum_output(s, buf, out_n);
        if (r == 1 && out_n == 0) {
            if ((err = check_trailer(s)) != ESP_OK) {
                return err;
            }
            s->phase = PHASE_DONE;
            break;
        }
        if (out_n > 0) {
            *got = (uint32_t)out_n;
            return ESP_OK;
        }
        if (in_n == 0 && s->inner_eof) {
            return ESP_ERR_HTTP_INCOMPLETE_DATA;
        }
    }
    return ESP_OK;   /* the end (*got is 0); bytes after the trailer are ignored */
}

static esp_err_t src_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    rf_inflate_source_t *s = ctx;
    *got = 0;
    if (s->err != ESP_OK) {
        return s->err;
    }
    if (s->mode == MODE_IDENTITY) {
        return s->inner.read(s->inner.ctx, buf, cap, got);
    }
    if (s->phase == PHASE_DONE || cap == 0) {
        return ESP_OK;
    }
    s->err = inflate_some(s, buf, cap, got);
    return s->err;
}

static void src_close(void *ctx)
{
    inner_close(ctx);
}

void rf_inflate_source_init(rf_inflate_source_t *s, const rf_source_t *inner, const rf_inflater_t *inf,
                            rf_source_t *out)
{
    RF_MEMSET(s, 0, sizeof *s);
    s->inner = *inner;
    s->inflater = inf;
    RF_MEMSET(out, 0, sizeof *out);
    out->ctx = s;
    out->open = src_open;
    out->read = src_read;
    out->close = src_close;
    out->name = inner->name;
    out->open_at = inner->open_at != NULL ? src_open_at : NULL;
}
