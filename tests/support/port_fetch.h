/*
 * For the tests that compile the ESP-IDF port's source into themselves
 * (tests/port_source.c, tests/port_source_minimal.c; include it after the
 * port's .c): the port's make_source, rf_source_open_at and reads to the
 * end, from the test server.
 */
#pragma once
#include "http_server.h"
#include "testlib.h"

typedef struct {
    esp_err_t make_err, open_err, read_err;
    rf_source_open_t io;
    bool has_open_at, has_encoding;   /* what the port's source offers */
    size_t len;
    uint8_t *data;                    /* malloc'd (cap + 1), NULL when make_source failed */
} got_t;

/* GET path from srv at offset (If-Range if_range); at most cap bytes. */
static got_t port_fetch(ths_t *srv, const char *path, uint32_t offset, const char *if_range, size_t cap)
{
    got_t r;
    memset(&r, 0, sizeof r);
    char url[300];
    ths_url(srv, path, url, sizeof url);
    esp_http_client_config_t cfg = { .url = url, .timeout_ms = 3000 };
    rf_source_t src;
    memset(&src, 0, sizeof src);
    r.make_err = make_source(NULL, &cfg, &src);
    if (r.make_err != ESP_OK) {
        return r;
    }
    r.has_open_at = src.open_at != NULL;
    r.has_encoding = src.content_encoding != NULL;
    r.io.offset = offset;
    r.io.if_range = if_range;
    r.data = malloc(cap + 1);
    assert_non_null(r.data);
    r.open_err = rf_source_open_at(&src, &r.io);
    if (r.open_err == ESP_OK) {
        uint32_t n = 0;
        while ((r.read_err = src.read(src.ctx, r.data + r.len, 4096, &n)) == ESP_OK && n > 0) {
            r.len += n;
            assert_true(r.len <= cap);
        }
    }
    src.close(src.ctx);
    free_source(NULL, &src);
    return r;
}
