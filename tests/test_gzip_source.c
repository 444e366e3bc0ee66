/*
 * Compressed sources (core/src/rf_inflate.c with the host's zlib backend and,
 * on the host, the ESP-IDF port's tinfl backend over a tinfl-compatible
 * declaration): gzip and zlib framing, trailers, errors, then the seed API
 * over a real HTTP server on 127.0.0.1 serving the fixtures gzip-compressed
 * (Content-Encoding: gzip, and a .gz URL): the device ends byte for byte as
 * with the raw images, far fewer bytes cross the network, and a transfer
 * cut in the middle is finished by a rerun. Uses ../shared/fixtures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "http_server.h"
#include "rf_device.h"
#include "rf_gzip_source.h"
#include "rf_rehearse.h"
#include "rf_inflate_tinfl.h"
#include "rf_journal.h"
#include "self_reflasher_platform.h"
#include "testlib.h"
#include "rf_journal.h"

/* ---- a memory source ----------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    const char *encoding;
    bool opened;
} mem_t;

static esp_err_t mem_open(void *ctx, uint32_t offset, int64_t *total)
{
    mem_t *m = ctx;
    if (offset > m->len) {
        return ESP_ERR_INVALID_SIZE;
    }
    m->pos = offset;
    m->opened = true;
    *total = (int64_t)m->len;
    return ESP_OK;
}

static esp_err_t mem_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    mem_t *m = ctx;
    size_t n = m->len - m->pos < 333 ? m->len - m->pos : 333;   /* odd pieces */
    n = n < cap ? n : cap;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = (uint32_t)n;
    return ESP_OK;
}

static void mem_close(void *ctx)
{
    ((mem_t *)ctx)->opened = false;
}

static const char *mem_encoding(void *ctx)
{
    return ((mem_t *)ctx)->encoding;
}

static rf_source_t mem_source(mem_t *m, const char *name)
{
    rf_source_t s = { .ctx = m, .open = mem_open, .read = mem_read, .close = mem_close, .name = name,
                      .content_encoding = mem_encoding };
    return s;
}

/* windowBits 31: gzip with a header carrying a name and an extra field; 15: zlib */
static uint8_t *compress_as(const uint8_t *d, size_t n, int bits, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h;
    memset(&h, 0, sizeof h);
    static unsigned char extra[] = "xx";
    h.name = (Bytef *)"image.bin";
    h.extra = extra;
    h.extra_len = 2;
    h.hcrc = 1;
    if (bits > 15) {
        assert_int_equal(deflateSetHeader(&z, &h), Z_OK);
    }
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)d;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static uint8_t *sample(size_t n)
{
    uint8_t *d = malloc(n);
    memset(d, 0xFF, n);
    for (size_t i = 0; i < n / 3; i++) {
        d[i] = (uint8_t)(i * 31 + (i >> 7));
    }
    return d;
}

/* Read the whole stream with reads of `cap` bytes; returns the error that ended it. */
static esp_err_t drain(rf_source_t *s, uint8_t *out, size_t out_cap, size_t *len, uint32_t cap)
{
    *len = 0;
    for (;;) {
        uint32_t got = 0;
        esp_err_t err = s->read(s->ctx, out + *len, RF_MIN(cap, (uint32_t)(out_cap - *len)), &got);
        if (err != ESP_OK || got == 0) {
            return err;
        }
        *len += got;
    }
}

typedef struct {
    rf_inflater_t inf;
    void *state;
    const char *name;
} backend_t;

/* Both DEFLATE backends: zlib (host) and the ESP-IDF port's tinfl one. */
static void backends(backend_t b[2])
{
    b[0].state = calloc(1, rf_zlib_inflater_size());
    rf_zlib_inflater_init(b[0].state, &b[0].inf);
    b[0].name = "zlib";
    b[1].state = calloc(1, sizeof(rf_tinfl_inflater_t));
    rf_tinfl_inflater_init(b[1].state, &b[1].inf);
    b[1].name = "tinfl";
}

static void backends_free(backend_t b[2])
{
    rf_zlib_inflater_end(b[0].state);
    free(b[0].state);
    rf_tinfl_host_end(&((rf_tinfl_inflater_t *)b[1].state)->d);
    free(b[1].state);
}

static void test_formats(void **state)
{
    (void)state;
    const size_t n = 300000;
    uint8_t *d = sample(n), *out = malloc(n + 16);
    size_t gz_len, zl_len;
    uint8_t *gz = compress_as(d, n, 31, &gz_len), *zl = compress_as(d, n, 15, &zl_len);
    backend_t b[2];
    backends(b);
    for (int k = 0; k < 2; k++) {
        static const uint32_t caps[] = { 1, 7, 4096, 70000 };
        for (size_t c = 0; c < 4; c++) {
            /* gzip by name, zlib by Content-Encoding: deflate, identity passes through */
            struct { const uint8_t *p; size_t len; const char *name, *enc; bool compressed; } cases[] = {
                { gz, gz_len, "http://h/app.bin.gz?x=1", NULL, true },
                { gz, gz_len, "http://h/app.bin", "GZIP", true },
                { zl, zl_len, "app.bin", "deflate", true },
                { d, n, "app.bin", NULL, false },
            };
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                if (caps[c] == 1 && cases[i].p == d) {
                    continue;
                }
                mem_t m = { .data = cases[i].p, .len = cases[i].len, .encoding = cases[i].enc };
                rf_source_t inner = mem_source(&m, cases[i].name), s;
                rf_inflate_source_t st;
                rf_inflate_source_init(&st, &inner, &b[k].inf, &s);
                int64_t total = 0;
                assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
                assert_int_equal(total, cases[i].compressed ? -1 : (int64_t)n);
                assert_int_equal(rf_inflate_source_compressed(&st), cases[i].compressed);
                size_t len;
                assert_int_equal(drain(&s, out, n + 16, &len, caps[c]), ESP_OK);
                if (len != n || memcmp(out, d, n) != 0) {
                    fail_msg("%s, case %zu, reads of %u: %zu bytes, content %s", b[k].name, i, caps[c], len,
                             len == n ? "differs" : "-");
                }
                s.close(s.ctx);
                assert_false(m.opened);
            }
        }
    }
    backends_free(b);
    free(gz);
    free(zl);
    free(out);
    free(d);
}

static void test_errors(void **state)
{
    (void)state;
    const size_t n = 100000;
    uint8_t *d = sample(n), *out = malloc(n + 16);
    size_t gz_len;
    uint8_t *gz = compress_as(d, n, 31, &gz_len);
    backend_t b[2];
    backends(b);
    for (int k = 0; k < 2; k++) {
        int64_t total;
        size_t len;
        rf_inflate_source_t st;
        rf_source_t s, inner;
        /* a trailer whose CRC-32 is wrong */
        uint8_t *bad = malloc(gz_len);
        memcpy(bad, gz, gz_len);
        bad[gz_len - 8] ^= 1;
        mem_t m = { .data = bad, .len = gz_len };
        inner = mem_source(&m, "a.gz");
        rf_inflate_source_init(&st, &inner, &b[k].inf, &s);
        assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
        assert_int_equal(drain(&s, out, n + 16, &len, 4096), ESP_ERR_INVALID_CRC);
        uint32_t got = 1;
        assert_int_equal(s.read(s.ctx, out, 16, &got), ESP_ERR_INVALID_CRC);   /* sticky */
        s.close(s.ctx);
        /* the length in the trailer */
        memcpy(bad, gz, gz_len);
        bad[gz_len - 1] ^= 1;
        assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
        assert_int_equal(drain(&s, out, n + 16, &len, 4096), ESP_ERR_INVALID_CRC);
        s.close(s.ctx);
        /* corrupt DEFLATE data: a reserved block type (BTYPE 11) */
        memcpy(bad, gz, gz_len);
        bad[10 + 10 + 2 + 4 + 2] |= 0x06;   /* first block header, after the gzip header (name, extra, hcrc) */
        assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
        assert_int_equal(drain(&s, out, n + 16, &len, 4096), ESP_ERR_INVALID_RESPONSE);
        s.close(s.ctx);
        /* cut short */
        m.len = gz_len / 2;
        memcpy(bad, gz, gz_len);
        assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
        assert_int_equal(drain(&s, out, n + 16, &len, 4096), ESP_ERR_HTTP_INCOMPLETE_DATA);
        s.close(s.ctx);
        /* not gzip, not zlib */
        m.len = gz_len;
        memset(bad, 0x41, 16);
        assert_int_equal(s.open(s.ctx, 0, &total), ESP_OK);
        assert_int_equal(drain(&s, out, n + 16, &len, 4096), ESP_ERR_INVALID_RESPONSE);
        s.close(s.ctx);
        /* a compressed stream cannot start at an offset: the caller restarts it */
        assert_int_equal(s.open(s.ctx, 4096, &total), ESP_ERR_NOT_SUPPORTED);
        s.close(s.ctx);
        mem_t m2 = { .data = gz, .len = gz_len, .encoding = "gzip" };
        inner = mem_source(&m2, "app.bin");
        rf_inflate_source_init(&st, &inner, &b[k].inf, &s);
        assert_int_equal(s.open(s.ctx, 16, &total), ESP_ERR_NOT_SUPPORTED);
        assert_false(m2.opened);
        s.close(s.ctx);
        free(bad);
    }
    assert_true(rf_inflate_name_is_gz("/x/app.bin.gz"));
    assert_true(rf_inflate_name_is_gz("http://h/a.gz#frag"));
    assert_false(rf_inflate_name_is_gz("http://h/a.gz.bin"));
    assert_false(rf_inflate_name_is_gz("gz"));
    backends_free(b);
    free(gz);
    free(out);
    free(d);
}

/* ---- the seed API over HTTP --------------------------------------------- */

/* The journal (the last two sectors) names each step by its URL: compared up to it. */
#define JOURNAL_AT ((4u << 20) - 0x2000u)

typedef struct {
    char dir[256];
    ths_t srv;
    uint8_t *app, *bl;
    size_t app_len, bl_len;
} web_t;

static void write_all(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static void gzip_file(const char *dir, const char *name, const uint8_t *d, size_t n)
{
    char path[512];
    size_t len;
    uint8_t *gz = compress_as(d, n, 31, &len);
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    write_all(path, gz, len);
    free(gz);
}

static void open_device(const char *dir, const char *name, rf_device_t *dev)
{
    char img[512], err[256];
    snprintf(img, sizeof img, "%s/%s", dir, name);
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20,
                              .partitions_csv = tl_shared_path("seeds/boot_swap_download_example-partitions.csv"),
                              .running = "factory" };
    assert_int_equal(rf_device_create(img, &spec, err, sizeof err), ESP_OK);
    assert_int_equal(rf_device_open(img, dev, err, sizeof err), ESP_OK);
    dev->quiet = getenv("RF_VERBOSE") == NULL;
}

/* The reference download scenario from `app` and `bl` (URL paths). */
static int migrate(rf_device_t *dev, const ths_t *srv, const char *app, const char *bl)
{
    char u1[256], u2[256];
    ths_url(srv, app, u1, sizeof u1);
    ths_url(srv, bl, u2, sizeof u2);
    /* one handle, as the reference example does (staging stays ota_1) */
    const rf_rehearse_step_t steps[] = { { u1, 0x110000, 0x100000 }, { u2, 0x1000, 0xF000 } };
    rf_rehearse_seed_steps_t seq = { steps, 2, 5000 };
    return rf_rehearse_run_seed_download(&seq, dev);
}

static void test_seed_api_gzip_over_http(void **state)
{
    (void)state;
    web_t w;
    memset(&w, 0, sizeof w);
    w.app = tl_read_shared("fixtures/app_upd.bin", &w.app_len);
    w.bl = tl_read_shared("fixtures/mcuboot-esp32.bin", &w.bl_len);
    snprintf(w.dir, sizeof w.dir, "%s", tl_tmpdir());
    char path[512];
    snprintf(path, sizeof path, "%s/app_upd.bin", w.dir);
    write_all(path, w.app, w.app_len);
    snprintf(path, sizeof path, "%s/mcuboot-esp32.bin", w.dir);
    write_all(path, w.bl, w.bl_len);
    snprintf(path, sizeof path, "%s/raw", w.dir);   /* the same images, no .gz siblings */
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/raw/app_upd.bin", w.dir);
    write_all(path, w.app, w.app_len);
    snprintf(path, sizeof path, "%s/raw/mcuboot-esp32.bin", w.dir);
    write_all(path, w.bl, w.bl_len);
    gzip_file(w.dir, "app_upd.bin", w.app, w.app_len);
    gzip_file(w.dir, "mcuboot-esp32.bin", w.bl, w.bl_len);
    assert_int_equal(ths_start(w.dir, NULL, &w.srv), 0);

    rf_device_t raw, enc, named;
    open_device(w.dir, "raw.img", &raw);
    open_device(w.dir, "enc.img", &enc);
    open_device(w.dir, "named.img", &named);
    assert_int_equal(migrate(&raw, &w.srv, "/raw/app_upd.bin", "/raw/mcuboot-esp32.bin"), ESP_OK);
    long raw_bytes = ths_bytes_sent(&w.srv, "/raw/app_upd.bin");
    assert_int_equal(raw_bytes, (long)w.app_len);
    /* Content-Encoding: gzip (the server's gzip_static) */
    assert_int_equal(migrate(&enc, &w.srv, "/app_upd.bin", "/mcuboot-esp32.bin"), ESP_OK);
    long gz_bytes = ths_bytes_sent(&w.srv, "/app_upd.bin");
    assert_true(gz_bytes > 0 && gz_bytes * 10 < raw_bytes);   /* 77 KB against 1 MiB */
    /* a .gz URL */
    assert_int_equal(migrate(&named, &w.srv, "/app_upd.bin.gz", "/mcuboot-esp32.bin.gz"), ESP_OK);
    assert_memory_equal(nor_sim_data(enc.sim), nor_sim_data(raw.sim), JOURNAL_AT);
    assert_memory_equal(nor_sim_data(named.sim), nor_sim_data(raw.sim), JOURNAL_AT);
    assert_memory_equal(nor_sim_data(raw.sim) + 0x110000, w.app, w.app_len);
    assert_memory_equal(nor_sim_data(raw.sim) + 0x1000, w.bl, w.bl_len);
    /* the clock charged the inflate and far less network */
    assert_true(nor_sim_counters(enc.sim)->inflate_bytes >= w.app_len + w.bl_len);
    assert_true(nor_sim_counters(enc.sim)->net_bytes * 10 < nor_sim_counters(raw.sim)->net_bytes);

    /* A cut: the compressed transfer ends after 40,000 bytes. A compressed
     * stream announces no length and cannot be resumed (rf_resume_possible),
     * so no progress record is written and the staged part is erased again
     * (staging, ota_1, blank); a rerun restarts the compressed stream and
     * ends with the same flash. */
    rf_device_t cut;
    open_device(w.dir, "cut.img", &cut);
    assert_int_equal(ths_fault_once(&w.srv, "/app_upd.bin", "close_at=40000"), 0);
    assert_int_not_equal(migrate(&cut, &w.srv, "/app_upd.bin", "/mcuboot-esp32.bin"), ESP_OK);
    for (uint32_t a = 0x210000; a < 0x310000; a++) {
        if (nor_sim_data(cut.sim)[a] != 0xFF) {
            fail_msg("staging byte 0x%06x kept after a cut compressed transfer", a);
        }
    }
    rf_journal_t j;
    uint8_t jbuf[4096];
    assert_int_equal(rf_journal_open(&j, rf_device_get_platform(&cut)->flash, JOURNAL_AT, jbuf, sizeof jbuf), ESP_OK);
    assert_false(j.have && j.last.state == RF_JSTATE_STAGING);   /* no progress record: nothing to resume */
    assert_int_equal(migrate(&cut, &w.srv, "/app_upd.bin", "/mcuboot-esp32.bin"), ESP_OK);
    assert_memory_equal(nor_sim_data(cut.sim), nor_sim_data(raw.sim), JOURNAL_AT);

    /* A corrupt compressed image is refused and the destination untouched. */
    rf_device_t bad;
    open_device(w.dir, "bad.img", &bad);
    snprintf(path, sizeof path, "%s/app_upd.bin.gz", w.dir);
    size_t len;
    uint8_t *gz = tl_read_file(path, &len);
    gz[len - 8] ^= 0x10;   /* CRC-32 */
    snprintf(path, sizeof path, "%s/bad.bin.gz", w.dir);
    write_all(path, gz, len);
    free(gz);
    uint8_t *before = malloc(4u << 20);
    memcpy(before, nor_sim_data(bad.sim), 4u << 20);
    char u[256];
    ths_url(&w.srv, "/bad.bin.gz", u, sizeof u);
    assert_int_equal(tl_seed_download(rf_device_get_platform(&bad), u, NULL, NULL, 0x110000, 0x100000, 5000),
                     ESP_ERR_INVALID_CRC);
    assert_memory_equal(nor_sim_data(bad.sim) + 0x110000, before + 0x110000, 0x100000);
    free(before);

    rf_device_close(&bad);
    rf_device_close(&cut);
    rf_device_close(&named);
    rf_device_close(&enc);
    rf_device_close(&raw);
    ths_stop(&w.srv);
    free(w.app);
    free(w.bl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_seed_api_gzip_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
