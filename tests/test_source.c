/*
 * Host sources (rf_host_source.h) against a real HTTP server on 127.0.0.1
 * (tests/support/http_server.py, started by the group setup; its port comes
 * through a pipe) and against local files. Needs python3; nothing from
 * ../shared. No assertion on wall-clock time: timeouts are told apart by
 * their error codes, by which limit rf_source_url_limit_hit() names, and by
 * the bytes that arrived before them.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_server.h"
#include "rf_host_source.h"

#define BIG_SIZE    (300u * 1024u + 123u)   /* not a multiple of any buffer size */
#define RESUME_AT   123457u
#define SMALL_SIZE  2000u

static struct {
    char dir[256];
    char big_path[512];
    char small_path[512];
    uint8_t *big;
    ths_t srv;          /* honours Range */
    ths_t srv_norange;  /* --no-range */
} g;

static int group_setup(void **state)
{
    (void)state;
    /* Nothing here may go through a proxy. */
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    snprintf(g.dir, sizeof g.dir, "%s", tl_tmpdir());
    snprintf(g.big_path, sizeof g.big_path, "%s/big.bin", g.dir);
    g.big = malloc(BIG_SIZE);
    if (g.big == NULL) {
        return -1;
    }
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < BIG_SIZE; i++) {
        x = x * 1664525u + 1013904223u;
        g.big[i] = (uint8_t)(x >> 24);
    }
    FILE *f = fopen(g.big_path, "wb");
    if (f == NULL || fwrite(g.big, 1, BIG_SIZE, f) != BIG_SIZE) {
        return -1;
    }
    fclose(f);
    snprintf(g.small_path, sizeof g.small_path, "%s/small.bin", g.dir);
    f = fopen(g.small_path, "wb");
    if (f == NULL || fwrite(g.big, 1, SMALL_SIZE, f) != SMALL_SIZE) {
        return -1;
    }
    fclose(f);
    if (ths_start(g.dir, "--max-seconds 120 --stall-seconds 5", &g.srv) != 0) {
        return -1;
    }
    if (ths_start(g.dir, "--no-range --max-seconds 120", &g.srv_norange) != 0) {
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ths_stop(&g.srv);
    ths_stop(&g.srv_norange);
    unlink(g.big_path);
    unlink(g.small_path);
    rmdir(g.dir);
    free(g.big);
    return 0;
}

/* ------------------------------------------------------------------------ */

typedef struct {
    esp_err_t open_err;
    esp_err_t read_err;   /* the error that ended the reads (ESP_OK: clean end) */
    int64_t total;
    size_t len;
    uint8_t *data;
    bool range_honoured;
} dl_t;

/* Open at offset and read until the end or an error, `chunk` bytes a call. */
static dl_t dl_source(rf_source_t *src, uint32_t offset, uint32_t chunk)
{
    dl_t d;
    memset(&d, 0, sizeof d);
    d.total = -2;
    size_t cap = BIG_SIZE + 1;
    d.data = malloc(cap);
    uint8_t *buf = malloc(chunk);
    assert_non_null(d.data);
    assert_non_null(buf);
    d.open_err = src->open(src->ctx, offset, &d.total);
    if (d.open_err == ESP_OK) {
        d.range_honoured = rf_source_url_range_honoured(src);
        for (;;) {
            uint32_t got = 0;
            esp_err_t e = src->read(src->ctx, buf, chunk, &got);
            if (e != ESP_OK) {
                assert_int_equal(got, 0);
                d.read_err = e;
                break;
            }
            if (got == 0) {
                break;
            }
            assert_true(got <= chunk);
            if (d.len + got > cap) {
                cap = (d.len + got) * 2;
                d.data = realloc(d.data, cap);
                assert_non_null(d.data);
            }
            memcpy(d.data + d.len, buf, got);
            d.len += got;
        }
    }
    src->close(src->ctx);
    free(buf);
    return d;
}

static dl_t dl(const char *url, const rf_source_opts_t *opts, uint32_t offset, uint32_t chunk)
{
    rf_source_t src;
    assert_int_equal(rf_source_url_new(url, opts, &src), ESP_OK);
    assert_non_null(src.ctx);
    assert_string_equal(src.name, url);
    dl_t d = dl_source(&src, offset, chunk);
    rf_source_destroy(&src);
    assert_null(src.ctx);
    return d;
}

static void srv_url(const ths_t *s, const char *path, char *out, size_t n)
{
    ths_url(s, path, out, n);
}

static void assert_bytes(const uint8_t *got, const uint8_t *want, size_t len)
{
    if (memcmp(got, want, len) != 0) {
        for (size_t i = 0; i < len; i++) {
            if (got[i] != want[i]) {
                fail_msg("byte %zu differs: 0x%02x, expected 0x%02x", i, got[i], want[i]);
            }
        }
    }
}

typedef struct {
    uint64_t sum;
    unsigned calls;
} cb_count_t;

static void count_bytes(void *arg, uint32_t n)
{
    cb_count_t *c = arg;
    assert_true(n > 0);
    c->sum += n;
    c->calls++;
}

/* ------------------------------------------------------------------------ */

static void test_http_full_download(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    assert_int_equal(ths_reset(&g.srv), 0);
    uint64_t counter = 0;
    cb_count_t cb = { 0, 0 };
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.bytes_counter = &counter;
    opts.on_bytes = count_bytes;
    opts.on_bytes_arg = &cb;
    /* A read size that is neither the internal buffer's nor curl's. */
    dl_t d = dl(url, &opts, 0, 7777);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    assert_true(d.range_honoured);
    assert_int_equal(counter, BIG_SIZE);
    assert_int_equal(cb.sum, BIG_SIZE);
    assert_true(cb.calls >= BIG_SIZE / 7777);
    assert_int_equal(ths_bytes_sent(&g.srv, "/big.bin"), BIG_SIZE);
    assert_int_equal(ths_requests(&g.srv, "/big.bin"), 1);
    free(d.data);
}

static void test_http_big_reads(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    dl_t d = dl(url, NULL, 0, BIG_SIZE + 1000);   /* larger than the whole body */
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    free(d.data);
}

static void test_http_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        esp_err_t want;
    } cases[] = {
        { "/missing.bin", ESP_ERR_NOT_FOUND },
        { "/big.bin?status=404", ESP_ERR_NOT_FOUND },
        { "/big.bin?status=500", ESP_ERR_INVALID_RESPONSE },
        { "/big.bin?status=403", ESP_ERR_INVALID_RESPONSE },
        { "/big.bin?status=503", ESP_ERR_INVALID_RESPONSE },
        { "/big.bin?status=416", ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[256];
        srv_url(&g.srv, cases[i].path, url, sizeof url);
        dl_t d = dl(url, NULL, 0, 4096);
        if (d.open_err != cases[i].want) {
            fail_msg("%s: %s, expected %s", cases[i].path, esp_err_to_name(d.open_err),
                     esp_err_to_name(cases[i].want));
        }
        free(d.data);
    }
}

static void test_http_close_halfway(void **state)
{
    (void)state;
    char path[64], url[256];
    snprintf(path, sizeof path, "/big.bin?close_at=%u", BIG_SIZE / 2);
    srv_url(&g.srv, path, url, sizeof url);
    uint64_t counter = 0;
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.bytes_counter = &counter;
    rf_source_t src;
    assert_int_equal(rf_source_url_new(url, &opts, &src), ESP_OK);
    dl_t d = dl_source(&src, 0, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);   /* the headers announced everything */
    assert_int_equal(d.read_err, ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_int_equal(d.len, BIG_SIZE / 2);
    assert_bytes(d.data, g.big, d.len);
    assert_int_equal(counter, BIG_SIZE / 2);
    free(d.data);

    /* Chunked, cut at a third. */
    rf_source_destroy(&src);
    snprintf(path, sizeof path, "/big.bin?chunked=1&close_at=%u", BIG_SIZE / 3);
    srv_url(&g.srv, path, url, sizeof url);
    d = dl(url, NULL, 0, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.total, -1);
    assert_int_equal(d.read_err, ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_int_equal(d.len, BIG_SIZE / 3);
    assert_bytes(d.data, g.big, d.len);
    free(d.data);
}

static void test_http_error_is_sticky(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin?close_at=1000", url, sizeof url);
    rf_source_t src;
    assert_int_equal(rf_source_url_new(url, NULL, &src), ESP_OK);
    int64_t total = 0;
    assert_int_equal(src.open(src.ctx, 0, &total), ESP_OK);
    uint8_t buf[4096];
    uint32_t got = 0, sum = 0;
    esp_err_t e;
    while ((e = src.read(src.ctx, buf, sizeof buf, &got)) == ESP_OK && got > 0) {
        sum += got;
    }
    assert_int_equal(e, ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_int_equal(sum, 1000);
    assert_int_equal(src.read(src.ctx, buf, sizeof buf, &got), ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_int_equal(got, 0);
    src.close(src.ctx);
    src.close(src.ctx);   /* twice is harmless */
    rf_source_destroy(&src);
}

static void test_http_unreachable(void **state)
{
    (void)state;
    /* A local port nobody listens on: bind one, then close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/big.bin", (unsigned)ntohs(a.sin_port));
    dl_t d = dl(url, NULL, 0, 4096);
    assert_int_equal(d.open_err, ESP_ERR_HTTP_CONNECT);
    free(d.data);
}

static void test_http_resume_with_range(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    assert_int_equal(ths_reset(&g.srv), 0);
    uint64_t counter = 0;
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.bytes_counter = &counter;
    dl_t d = dl(url, &opts, RESUME_AT, 5000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);   /* the whole object, not the tail */
    assert_true(d.range_honoured);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    assert_int_equal(counter, BIG_SIZE - RESUME_AT);
    /* Only the tail crossed the wire. */
    assert_int_equal(ths_bytes_sent(&g.srv, "/big.bin"), BIG_SIZE - RESUME_AT);
    free(d.data);
}

static void test_http_reopen_after_close(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    rf_source_t src;
    assert_int_equal(rf_source_url_new(url, NULL, &src), ESP_OK);
    uint8_t *out = malloc(BIG_SIZE);
    assert_non_null(out);
    int64_t total = 0;
    assert_int_equal(src.open(src.ctx, 0, &total), ESP_OK);
    assert_int_equal(total, BIG_SIZE);
    uint32_t pos = 0, got = 0;
    while (pos < 100000) {
        assert_int_equal(src.read(src.ctx, out + pos, 1000, &got), ESP_OK);
        assert_true(got > 0);
        pos += got;
    }
    src.close(src.ctx);   /* in the middle of the body: drops the connection */
    assert_int_equal(src.open(src.ctx, pos, &total), ESP_OK);
    assert_int_equal(total, BIG_SIZE);
    for (;;) {
        assert_int_equal(src.read(src.ctx, out + pos, RF_MIN(65536u, BIG_SIZE - pos + 1), &got), ESP_OK);
        if (got == 0) {
            break;
        }
        pos += got;
        assert_true(pos <= BIG_SIZE);
    }
    assert_int_equal(pos, BIG_SIZE);
    assert_bytes(out, g.big, BIG_SIZE);
    /* Open twice without close is refused. */
    src.close(src.ctx);
    assert_int_equal(src.open(src.ctx, 0, &total), ESP_OK);
    assert_int_equal(src.open(src.ctx, 0, &total), ESP_ERR_INVALID_STATE);
    rf_source_destroy(&src);   /* destroy while open: closes */
    free(out);
}

static void test_http_range_beyond_end(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    dl_t d = dl(url, NULL, BIG_SIZE + 10, 4096);
    assert_int_equal(d.open_err, ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE);
    free(d.data);
    srv_url(&g.srv_norange, "/big.bin", url, sizeof url);
    d = dl(url, NULL, BIG_SIZE + 10, 4096);
    assert_int_equal(d.open_err, ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE);
    free(d.data);
}

static void test_http_server_without_range(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv_norange, "/big.bin", url, sizeof url);
    assert_int_equal(ths_reset(&g.srv_norange), 0);
    uint64_t counter = 0;
    cb_count_t cb = { 0, 0 };
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.bytes_counter = &counter;
    opts.on_bytes = count_bytes;
    opts.on_bytes_arg = &cb;
    dl_t d = dl(url, &opts, RESUME_AT, 3000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_false(d.range_honoured);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    /* Counters see what the caller got, not what was dropped. */
    assert_int_equal(counter, BIG_SIZE - RESUME_AT);
    assert_int_equal(cb.sum, BIG_SIZE - RESUME_AT);
    /* The server did send everything. */
    assert_int_equal(ths_bytes_sent(&g.srv_norange, "/big.bin"), BIG_SIZE);
    free(d.data);

    /* Offset 0 on the same server: nothing to skip, "honoured". */
    d = dl(url, NULL, 0, 65536);
    assert_int_equal(d.open_err, ESP_OK);
    assert_true(d.range_honoured);
    assert_int_equal(d.len, BIG_SIZE);
    free(d.data);
}

static void test_http_chunked(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin?chunked=1", url, sizeof url);
    dl_t d = dl(url, NULL, 0, 10000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, -1);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    free(d.data);

    /* Chunked 206: the total comes from Content-Range. */
    d = dl(url, NULL, RESUME_AT, 10000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    free(d.data);

    /* Chunked 200 to a Range request: unknown total, skipped head. */
    srv_url(&g.srv, "/big.bin?chunked=1&norange=1", url, sizeof url);
    d = dl(url, NULL, RESUME_AT, 10000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_false(d.range_honoured);
    assert_int_equal(d.total, -1);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    free(d.data);

    /* ... with a body shorter than the offset. */
    d = dl(url, NULL, BIG_SIZE + 5, 10000);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE);
    assert_int_equal(d.len, 0);
    free(d.data);
}

static void test_http_stall_times_out(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin?stall_at=50000", url, sizeof url);
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = 500;
    dl_t d = dl(url, &opts, 0, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_ERR_TIMEOUT);   /* the server would close after 5 s: INCOMPLETE_DATA */
    assert_int_equal(d.len, 50000);
    assert_bytes(d.data, g.big, d.len);
    free(d.data);

    /* Connected, but no headers for longer than the timeout (the server
     * answers after 2 s): a timeout, not a connection failure. */
    srv_url(&g.srv, "/big.bin?delay_ms=2000", url, sizeof url);
    d = dl(url, &opts, 0, 4096);
    assert_int_equal(d.open_err, ESP_ERR_TIMEOUT);
    free(d.data);

    /* A slow but steady server is not a stall. */
    srv_url(&g.srv, "/big.bin?rate=200000", url, sizeof url);
    d = dl(url, &opts, BIG_SIZE - 150000, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.len, 150000);
    free(d.data);
}

static void test_http_redirect(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/old.bin?redirect=/big.bin", url, sizeof url);
    dl_t d = dl(url, NULL, 0, 65536);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    free(d.data);
    /* The Range survives the redirect. */
    d = dl(url, NULL, RESUME_AT, 65536);
    assert_int_equal(d.open_err, ESP_OK);
    assert_true(d.range_honoured);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    free(d.data);
    /* A redirect to a missing file is a 404. */
    srv_url(&g.srv, "/old.bin?redirect=/gone.bin", url, sizeof url);
    d = dl(url, NULL, 0, 65536);
    assert_int_equal(d.open_err, ESP_ERR_NOT_FOUND);
    free(d.data);
}

/* HTTPS with a self-signed certificate for 127.0.0.1 (needs the openssl
 * command; skipped without it). */
static void test_https(void **state)
{
    (void)state;
    char cert[600], key[600], cmd[2048];
    snprintf(cert, sizeof cert, "%s/cert.pem", g.dir);
    snprintf(key, sizeof key, "%s/key.pem", g.dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", key, cert);
    if (system(cmd) != 0) {
        tl_skip("openssl cannot make a test certificate");
    }
    char args[1400];
    snprintf(args, sizeof args, "--max-seconds 60 --tls-cert %s --tls-key %s", cert, key);
    ths_t tls;
    assert_int_equal(ths_start(g.dir, args, &tls), 0);
    char url[256];
    ths_url(&tls, "/big.bin", url, sizeof url);
    assert_memory_equal(url, "https://", 8);

    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.ca_file = cert;
    dl_t d = dl(url, &opts, 0, 8192);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    free(d.data);

    /* The certificate as PEM text, as esp_http_client_config_t.cert_pem. */
    size_t pem_len = 0;
    char *pem = (char *)tl_read_file(cert, &pem_len);
    assert_non_null(pem);
    memset(&opts, 0, sizeof opts);
    opts.cert_pem = pem;
    opts.cert_len = pem_len;
    d = dl(url, &opts, RESUME_AT, 8192);
    free(pem);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    free(d.data);
    assert_int_equal(ths_bytes_sent(&tls, "/big.bin"), BIG_SIZE + BIG_SIZE - RESUME_AT);

    /* Default: the system CAs, which do not know this certificate. */
    d = dl(url, NULL, 0, 8192);
    assert_int_equal(d.open_err, ESP_ERR_HTTP_CONNECT);
    free(d.data);

    ths_stop(&tls);
    unlink(cert);
    unlink(key);
}

/* ---- open_at: resume only the same object ---------------------------------- */

typedef struct {
    esp_err_t err;
    rf_source_open_t io;
    size_t len;
    uint8_t *data;
} at_t;

/* open_at(offset, if_range) and read to the end. */
static at_t dl_at(const char *url, const rf_source_opts_t *opts, uint32_t offset, const char *if_range)
{
    at_t r;
    memset(&r, 0, sizeof r);
    rf_source_t src;
    assert_int_equal(rf_source_url_new(url, opts, &src), ESP_OK);
    assert_non_null(src.open_at);
    r.io.offset = offset;
    r.io.if_range = if_range;
    r.err = rf_source_open_at(&src, &r.io);
    r.data = malloc(BIG_SIZE + 1);
    assert_non_null(r.data);
    if (r.err == ESP_OK) {
        uint32_t got = 0;
        while ((r.err = src.read(src.ctx, r.data + r.len, 8192, &got)) == ESP_OK && got > 0) {
            r.len += got;
            assert_true(r.len <= BIG_SIZE);
        }
    }
    rf_source_destroy(&src);
    return r;
}

static void test_http_open_at_validators(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    /* offset 0: the validator (the server's strong ETag) */
    at_t a = dl_at(url, NULL, 0, NULL);
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.io.total, BIG_SIZE);
    assert_int_equal(a.len, BIG_SIZE);
    assert_true(a.io.validator[0] == '"');
    char etag[RF_SOURCE_VALIDATOR_MAX];
    snprintf(etag, sizeof etag, "%s", a.io.validator);
    free(a.data);

    /* the same validator: a 206 from the offset, only the tail on the wire */
    assert_int_equal(ths_reset(&g.srv), 0);
    a = dl_at(url, NULL, RESUME_AT, etag);
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, RESUME_AT);
    assert_int_equal(a.io.total, BIG_SIZE);
    assert_string_equal(a.io.validator, etag);
    assert_int_equal(a.len, BIG_SIZE - RESUME_AT);
    assert_bytes(a.data, g.big + RESUME_AT, a.len);
    assert_int_equal(ths_bytes_sent(&g.srv, "/big.bin"), BIG_SIZE - RESUME_AT);
    free(a.data);

    /* another validator (the object changed): If-Range gets a 200, from byte 0 */
    a = dl_at(url, NULL, RESUME_AT, "\"something-else\"");
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, BIG_SIZE);
    assert_bytes(a.data, g.big, BIG_SIZE);
    free(a.data);

    /* no validator to offer: never a range */
    a = dl_at(url, NULL, RESUME_AT, "");
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, BIG_SIZE);
    free(a.data);

    /* a server ignoring Range answers 200: restart, never a skipped head */
    srv_url(&g.srv_norange, "/big.bin", url, sizeof url);
    a = dl_at(url, NULL, RESUME_AT, etag);
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, BIG_SIZE);
    assert_bytes(a.data, g.big, BIG_SIZE);
    free(a.data);

    /* no ETag and a fresh Last-Modified: no validator */
    srv_url(&g.srv, "/big.bin?etag=0", url, sizeof url);
    a = dl_at(url, NULL, 0, NULL);
    assert_int_equal(a.err, ESP_OK);
    assert_string_equal(a.io.validator, "");
    free(a.data);
}

/* A 206 whose Content-Range does not continue the object exactly is dropped
 * and the object asked again without a range. */
static void test_http_open_at_bad_content_range(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/big.bin", url, sizeof url);
    at_t a = dl_at(url, NULL, 0, NULL);
    char etag[RF_SOURCE_VALIDATOR_MAX];
    snprintf(etag, sizeof etag, "%s", a.io.validator);
    free(a.data);
    static const char *const lies[] = { "crange_lie=4096", "crange_total=999999", "crange_lie=-4096" };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        assert_int_equal(ths_reset(&g.srv), 0);
        assert_int_equal(ths_fault_once(&g.srv, "/big.bin", lies[i]), 0);
        a = dl_at(url, NULL, RESUME_AT, etag);
        if (a.err != ESP_OK || a.io.start != 0 || a.len != BIG_SIZE) {
            fail_msg("%s: %s, start %u, %zu bytes", lies[i], esp_err_to_name(a.err), (unsigned)a.io.start, a.len);
        }
        assert_bytes(a.data, g.big, BIG_SIZE);
        assert_int_equal(ths_requests(&g.srv, "/big.bin"), 2);
        free(a.data);
    }
}

/* Files: the validator is the inode, size and mtime; a touched file restarts. */
static void test_file_open_at(void **state)
{
    (void)state;
    at_t a = dl_at(g.big_path, NULL, 0, NULL);
    assert_int_equal(a.err, ESP_OK);
    char v[RF_SOURCE_VALIDATOR_MAX];
    snprintf(v, sizeof v, "%s", a.io.validator);
    assert_true(rf_source_validator_ok(v));
    free(a.data);
    a = dl_at(g.big_path, NULL, RESUME_AT, v);
    assert_int_equal(a.io.start, RESUME_AT);
    assert_int_equal(a.len, BIG_SIZE - RESUME_AT);
    assert_bytes(a.data, g.big + RESUME_AT, a.len);
    free(a.data);
    struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };   /* another mtime */
    assert_int_equal(utimes(g.big_path, tv), 0);
    a = dl_at(g.big_path, NULL, RESUME_AT, v);
    assert_int_equal(a.err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, BIG_SIZE);
    assert_true(strcmp(a.io.validator, v) != 0);
    free(a.data);
}

/* ---- bounded time ------------------------------------------------------------ */

/* The body trickles one byte every 0.25 s after SMALL_SIZE - 20 bytes: done
 * in 5 s without limits; the minimum rate (1000 B/s over 1 s of waiting)
 * ends it with ESP_ERR_TIMEOUT, the per-read timeout (5 s) never fires. */
static void test_http_trickle_body_min_rate(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "/small.bin?trickle_s=0.25&trickle_after=%u", SMALL_SIZE - 20);
    char full[300];
    srv_url(&g.srv, url, full, sizeof full);
    rf_source_limits_t lim = { .deadline_ms = 0, .min_rate_bps = 1000, .rate_window_ms = 1000 };
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = 5000;
    opts.limits = &lim;
    rf_source_t src;
    assert_int_equal(rf_source_url_new(full, &opts, &src), ESP_OK);
    dl_t d = dl_source(&src, 0, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_ERR_TIMEOUT);
    assert_int_equal(rf_source_url_limit_hit(&src), RF_SOURCE_TOO_SLOW);
    assert_true(d.len >= SMALL_SIZE - 20 && d.len < SMALL_SIZE);
    assert_bytes(d.data, g.big, d.len);
    free(d.data);
    rf_source_destroy(&src);

    /* The same limits do not stop a fast transfer. */
    srv_url(&g.srv, "/big.bin?rate=200000", full, sizeof full);
    d = dl(full, &opts, 0, 4096);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.len, BIG_SIZE);
    free(d.data);
}

/* Header lines trickle, one every 0.3 s for 6 s (each within the per-read
 * timeout): the deadline (1.5 s) ends it at open; so does the minimum rate. */
static void test_http_trickle_headers(void **state)
{
    (void)state;
    char url[256];
    srv_url(&g.srv, "/small.bin?trickle_headers_s=0.3&trickle_headers_n=20", url, sizeof url);
    static const rf_source_limits_t lims[2] = { { .deadline_ms = 1500 },
                                                { .min_rate_bps = 1000, .rate_window_ms = 1000 } };
    static const rf_source_verdict_t want[2] = { RF_SOURCE_DEADLINE, RF_SOURCE_TOO_SLOW };
    for (int i = 0; i < 2; i++) {
        rf_source_opts_t opts;
        memset(&opts, 0, sizeof opts);
        opts.timeout_ms = 5000;
        opts.limits = &lims[i];
        rf_source_t src;
        assert_int_equal(rf_source_url_new(url, &opts, &src), ESP_OK);
        dl_t d = dl_source(&src, 0, 4096);
        assert_int_equal(d.open_err, ESP_ERR_TIMEOUT);
        assert_int_equal(rf_source_url_limit_hit(&src), want[i]);
        free(d.data);
        rf_source_destroy(&src);
    }
}

static void test_file_source(void **state)
{
    (void)state;
    uint64_t counter = 0;
    cb_count_t cb = { 0, 0 };
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.bytes_counter = &counter;
    opts.on_bytes = count_bytes;
    opts.on_bytes_arg = &cb;

    dl_t d = dl(g.big_path, &opts, 0, 9999);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_true(d.range_honoured);
    assert_int_equal(d.len, BIG_SIZE);
    assert_bytes(d.data, g.big, BIG_SIZE);
    assert_int_equal(counter, BIG_SIZE);
    assert_int_equal(cb.sum, BIG_SIZE);
    free(d.data);

    char url[700];
    snprintf(url, sizeof url, "file://%s", g.big_path);
    d = dl(url, NULL, RESUME_AT, 4096);
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.total, BIG_SIZE);
    assert_int_equal(d.len, BIG_SIZE - RESUME_AT);
    assert_bytes(d.data, g.big + RESUME_AT, d.len);
    free(d.data);

    d = dl(g.big_path, NULL, BIG_SIZE, 4096);   /* at the very end: empty */
    assert_int_equal(d.open_err, ESP_OK);
    assert_int_equal(d.read_err, ESP_OK);
    assert_int_equal(d.len, 0);
    free(d.data);

    d = dl(g.big_path, NULL, BIG_SIZE + 1, 4096);
    assert_int_equal(d.open_err, ESP_ERR_INVALID_SIZE);
    free(d.data);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-file.bin", g.dir);
    d = dl(missing, NULL, 0, 4096);
    assert_int_equal(d.open_err, ESP_ERR_NOT_FOUND);
    free(d.data);
    snprintf(url, sizeof url, "file://%s", missing);
    d = dl(url, NULL, 0, 4096);
    assert_int_equal(d.open_err, ESP_ERR_NOT_FOUND);
    free(d.data);

    rf_source_t src;
    assert_int_equal(rf_source_url_new(g.big_path, NULL, &src), ESP_OK);
    assert_false(rf_source_url_is_http(&src));
    rf_source_destroy(&src);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    rf_source_t src;
    assert_int_equal(rf_source_url_new(NULL, NULL, &src), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_source_url_new("", NULL, &src), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_source_url_new("ftp://example.com/x.bin", NULL, &src), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_source_url_new("http://", NULL, &src), ESP_ERR_INVALID_ARG);
    assert_int_equal(rf_source_url_new("file://otherhost/x.bin", NULL, &src), ESP_ERR_INVALID_ARG);

    assert_int_equal(rf_source_url_new("http://127.0.0.1:1/x.bin", NULL, &src), ESP_OK);
    assert_true(rf_source_url_is_http(&src));
    uint8_t b[4];
    uint32_t got = 7;
    assert_int_equal(src.read(src.ctx, b, sizeof b, &got), ESP_ERR_INVALID_STATE);
    assert_int_equal(got, 0);
    src.close(src.ctx);   /* never opened: harmless */
    rf_source_destroy(&src);
    rf_source_destroy(&src);   /* zeroed: harmless */

    rf_source_t foreign;
    memset(&foreign, 0, sizeof foreign);
    assert_false(rf_source_url_range_honoured(&foreign));
    assert_false(rf_source_url_range_honoured(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_full_download),
        cmocka_unit_test(test_http_big_reads),
        cmocka_unit_test(test_http_status_mapping),
        cmocka_unit_test(test_http_close_halfway),
        cmocka_unit_test(test_http_error_is_sticky),
        cmocka_unit_test(test_http_unreachable),
        cmocka_unit_test(test_http_resume_with_range),
        cmocka_unit_test(test_http_reopen_after_close),
        cmocka_unit_test(test_http_range_beyond_end),
        cmocka_unit_test(test_http_server_without_range),
        cmocka_unit_test(test_http_chunked),
        cmocka_unit_test(test_http_stall_times_out),
        cmocka_unit_test(test_http_redirect),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_http_open_at_validators),
        cmocka_unit_test(test_http_open_at_bad_content_range),
        cmocka_unit_test(test_http_trickle_body_min_rate),
        cmocka_unit_test(test_http_trickle_headers),
        cmocka_unit_test(test_file_open_at),
        cmocka_unit_test(test_file_source),
        cmocka_unit_test(test_bad_arguments),
    };
    return tl_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
