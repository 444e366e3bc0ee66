/*
 * Host sources: an rf_source_t over HTTP(S) (libcurl) or over a local file.
 *
 * rf_source_url_new() picks the kind from the string:
 *   http://...  https://...   libcurl, pull-style (see below)
 *   file:///abs/path          a local file (percent-escapes are decoded)
 *   anything else             a local file path, as given
 * The source is created closed; the core opens it (at an offset, for a
 * resume), reads until got == 0 and closes it; it may be opened again after
 * close. rf_source_destroy() releases what rf_source_url_new() allocated.
 *
 * HTTP semantics of open(offset, &total_len):
 *   - a GET, with "Range: bytes=OFFSET-" when offset > 0; redirects followed;
 *   - returns once the response headers are in;
 *   - cannot resolve / connect / TLS handshake fails -> ESP_ERR_HTTP_CONNECT,
 *     404 -> ESP_ERR_NOT_FOUND, 416 -> ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE,
 *     any other non-2xx -> ESP_ERR_INVALID_RESPONSE, connection lost before
 *     the headers -> ESP_ERR_HTTP_FETCH_HEADER, no byte for timeout_ms after
 *     connecting -> ESP_ERR_TIMEOUT;
 *   - a server that ignores Range (200 instead of 206) is fine: the source
 *     drops the first OFFSET bytes of the body itself, so the caller still
 *     sees the stream from OFFSET (rf_source_url_range_honoured() is then
 *     false); a 200 body shorter than OFFSET -> ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;
 *   - *total_len is the length of the whole object (Content-Length of a 200,
 *     the TOTAL of "Content-Range: bytes a-b/TOTAL" of a 206), -1 if unknown
 *     (chunked or close-delimited body); Content-Range is parsed strictly
 *     (rf_source_parse_content_range), a 206 without one is
 *     ESP_ERR_INVALID_RESPONSE.
 * open_at(io) is the resume-safe open of rf_source.h: it never skips bytes
 * itself. With io->if_range it sends Range and If-Range; a 206 that is not
 * exactly "bytes OFFSET-(T-1)/T" is dropped and the object asked again
 * without a range (two requests), a 200 and a 416 restart at byte 0
 * (io->start = 0). io->validator: the strong ETag, else Last-Modified.
 * read(buf, cap, &got) drives the transfer (curl multi interface) until some
 * bytes are there; the body is held in a bounded internal buffer (the
 * transfer is paused while it is full), never in memory as a whole.
 * got == 0 with ESP_OK is a clean end; a body that ends before its announced
 * length -> ESP_ERR_HTTP_INCOMPLETE_DATA; no byte for timeout_ms ->
 * ESP_ERR_TIMEOUT. Errors are sticky until close().
 *
 * File semantics: open(offset) seeks; *total_len is the file size; a missing
 * file -> ESP_ERR_NOT_FOUND; offset beyond the end -> ESP_ERR_INVALID_SIZE;
 * a file shorter at read time than at open -> ESP_ERR_HTTP_INCOMPLETE_DATA.
 * Its validator is "INODE-SIZE-MTIME" (hex, hex, seconds.nanoseconds):
 * open_at() resumes only while all three are unchanged.
 *
 * Bounded time (HTTP): besides timeout_ms (no byte for that long), every
 * transfer obeys opts->limits (rf_source.h; NULL: rf_source_limits_default(),
 * 15 min overall and at least 1 KiB/s over 30 s of waiting). Header bytes
 * count as progress for all three. A broken limit -> ESP_ERR_TIMEOUT, and
 * rf_source_url_limit_hit() says which.
 *
 * Counters: bytes_counter and on_bytes see the bytes read() hands to the
 * caller (not the bytes dropped to honour an offset, not headers).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rf_source.h"
#include "esp_http_client.h"   /* ESP_ERR_HTTP_*: the codes these sources return, as the device's */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_source_opts {
    /** Connect timeout and stall timeout (no byte for this long), in ms;
     *  0 means 10 s. */
    int timeout_ms;
    /** https: a CA bundle file to verify the server with (NULL: system CAs). */
    const char *ca_file;
    /** https: CA certificate(s) in PEM, like esp_http_client_config_t.cert_pem
     *  (NULL: not used). Copied by rf_source_url_new(). */
    const char *cert_pem;
    /** Length of cert_pem; 0 means strlen(cert_pem). */
    size_t cert_len;
    /** If not NULL, incremented by every byte read() delivers. */
    uint64_t *bytes_counter;
    /** If not NULL, called after each read() that delivered n > 0 bytes. */
    void (*on_bytes)(void *arg, uint32_t n);
    void *on_bytes_arg;
    /** HTTP: overall deadline and minimum rate (copied; zero fields: that
     *  limit off). NULL: rf_source_limits_default(). */
    const rf_source_limits_t *limits;
} rf_source_opts_t;

/** Create a source (closed) for an http(s) URL, a file:// URL or a path.
 *  opts may be NULL (all defaults). Strings are copied. On success *out is
 *  filled (ctx, open, read, close, name); release it with rf_source_destroy().
 *  ESP_ERR_INVALID_ARG for a NULL/empty/malformed URL or an unsupported
 *  scheme, ESP_ERR_NO_MEM when out of memory. */
esp_err_t rf_source_url_new(const char *url_or_path, const rf_source_opts_t *opts, rf_source_t *out);

/** Close (if open) and free a source made by rf_source_url_new(); *src is
 *  zeroed. Safe on a zeroed rf_source_t. */
void rf_source_destroy(rf_source_t *src);

/** After open(): false when an HTTP server ignored the Range request (the
 *  source skips the head of the body itself); true otherwise (offset 0,
 *  206 answers, files). False for a source not made by rf_source_url_new(). */
bool rf_source_url_range_honoured(const rf_source_t *src);

/** After an ESP_ERR_TIMEOUT: RF_SOURCE_DEADLINE or RF_SOURCE_TOO_SLOW when
 *  one of opts->limits ended the transfer; RF_SOURCE_OK otherwise (the
 *  per-read timeout_ms, or no timeout at all). */
rf_source_verdict_t rf_source_url_limit_hit(const rf_source_t *src);

/** True for an http:// or https:// source. */
bool rf_source_url_is_http(const rf_source_t *src);

#ifdef __cplusplus
}
#endif
