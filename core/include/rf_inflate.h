/*
 * Compressed sources: an rf_source_t wrapper that inflates a gzip (RFC 1952)
 * or zlib (RFC 1950) stream on the fly, over any rf_source_t.
 *
 * The stream is compressed when the inner source's name ends in ".gz" (before
 * any '?' or '#'), or when the inner source reports a Content-Encoding of
 * gzip, x-gzip or deflate (rf_source_t.content_encoding); the format (gzip or
 * zlib) is then told by the first byte. Anything else passes through
 * unchanged. Digests and image checks downstream see the inflated bytes.
 *
 * The wrapper parses the gzip/zlib framing and checks the trailer (CRC-32
 * and length, or Adler-32) itself; the DEFLATE data (RFC 1951) goes to an
 * inflater backend: zlib on the host (host/src/rf_gzip_source.c), the ROM's
 * miniz tinfl on ESP-IDF (port/esp_idf/rf_inflate_tinfl.c).
 *
 * open(offset):
 *  - identity stream: the inner source is opened at `offset` (HTTP Range);
 *  - compressed stream: *total_len = -1 (the inflated length is known only
 *    at the end); offset > 0 returns ESP_ERR_NOT_SUPPORTED (a range of the
 *    compressed bytes is not a range of the image): a resume restarts the
 *    compressed stream from its first byte, and the write engine skips the
 *    sectors that already hold the right bytes.
 * read() errors: ESP_ERR_INVALID_RESPONSE for a bad header or corrupt
 * DEFLATE data, ESP_ERR_INVALID_CRC for a trailer that does not match,
 * ESP_ERR_HTTP_INCOMPLETE_DATA when the compressed stream ends early, and
 * whatever the inner source reports. Errors are sticky until close().
 *
 * RAM: this struct (1 KiB of input buffer + ~100 bytes) plus the backend's
 * state: zlib ~7 KiB + its 32 KiB window; tinfl 11 KiB + a 32 KiB dictionary.
 * No heap in the core: the caller owns every byte.
 */
#pragma once
#include "rf_source.h"

#define RF_INFLATE_IN_CHUNK 1024u

/** Raw DEFLATE backend. run() inflates from in[0, *in_len) into
 *  out[0, *out_len) and sets both to what it consumed and produced; it
 *  returns 0 (more to come), 1 (the DEFLATE stream ended and every byte of
 *  it was produced) or -1 (corrupt data). */
typedef struct rf_inflater {
    void *ctx;
    esp_err_t (*reset)(void *ctx);
    int (*run)(void *ctx, const uint8_t *in, size_t *in_len, uint8_t *out, size_t *out_len);
    /** The wrapper's input buffer (RF_INFLATE_IN_CHUNK bytes), which the
     *  backend holds with its state: set by init, or by reset for a backend
     *  that allocates its state then; an identity response never needs it. */
    uint8_t *in_buf;
} rf_inflater_t;

typedef struct rf_inflate_source {
    rf_source_t inner;
    const rf_inflater_t *inflater;
    uint8_t *in;     /* the backend's in_buf, once a response is compressed */
    uint32_t in_pos, in_len;
    /* words, not bytes: a word at a short offset has compressed loads and stores */
    uint32_t inner_open, inner_eof;   /* 0 or 1 */
    uint32_t mode;   /* 0 identity, 1 compressed: format not seen yet, 2 gzip, 3 zlib */
    uint32_t phase;  /* 0 header, 1 body, 2 trailer checked (done) */
    uint32_t crc, adler_a, adler_b, out_len;
    esp_err_t err;   /* sticky */
} rf_inflate_source_t;

/** Make `out` a source reading `inner` through `s` (which must outlive it)
 *  with the backend `inf`. Neither is opened. */
void rf_inflate_source_init(rf_inflate_source_t *s, const rf_source_t *inner, const rf_inflater_t *inf,
                            rf_source_t *out);

/** After open(): true when the stream is inflated. */
static inline bool rf_inflate_source_compressed(const rf_inflate_source_t *s)
{
    return s->mode != 0;
}

/** True when `name` (a URL or a path) ends in ".gz" before any '?' or '#'. */
bool rf_inflate_name_is_gz(const char *name);
