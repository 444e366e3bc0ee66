/*
 * The source port: a byte stream (HTTP(S), a flash region, a file).
 *
 * open() starts the stream at byte `offset` (0 for a whole download; a
 * resume asks for more, and a source that cannot seek returns
 * ESP_ERR_NOT_SUPPORTED). On success *total_len is the full length of the
 * object (not of the remaining part), or -1 when it is unknown (chunked HTTP).
 * read() returns ESP_OK with *got == 0 at the end of the stream; a stream
 * that ends early is the source's error to report (for example
 * ESP_ERR_HTTP_INCOMPLETE_DATA). close() is always safe to call after open(),
 * whether it succeeded or not.
 */
#pragma once
#include "rf_util.h"

typedef struct rf_source {
    void *ctx;
    esp_err_t (*open)(void *ctx, uint32_t offset, int64_t *total_len);
    esp_err_t (*read)(void *ctx, void *buf, uint32_t cap, uint32_t *got);
    void (*close)(void *ctx);
    const char *name;   /**< for log lines: a URL or a path */
    /** Optional (NULL: none): after a successful open(), the response's
     *  Content-Encoding ("gzip", ...), or NULL for none. rf_inflate.h uses it. */
    const char *(*content_encoding)(void *ctx);
} rf_source_t;
