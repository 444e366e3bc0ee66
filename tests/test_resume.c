/*
 * Resuming a download only when it is provably the same file, and bounded
 * download time (issue 9, items 5 and 6).
 *
 * Unit part: the source-port rules in the core (strict Content-Range,
 * validator choice, HTTP dates, the deadline / minimum-rate meter), the
 * journal's validator field against hostile records, rf_resume_decide().
 *
 * End to end: the seed API on a simulated ESP32 (partition table of the
 * reference download example, written by this test: nothing from
 * ../shared) downloads a raw image to 0x310000, an address with no content
 * checks, from the test server on 127.0.0.1. The connection is cut, the
 * file on the server is replaced (same length, other length; with an ETag,
 * with only a Last-Modified date, with no validator; a server that ignores
 * If-Range) and the download is run again: the destination must end up
 * holding exactly one version, byte for byte, followed by 0xFF. A 206 whose
 * Content-Range does not continue the object restarts. A trickling server
 * ends with ESP_ERR_TIMEOUT under small limits, and what the journal kept
 * resumes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "http_server.h"
#include "rf_crypto.h"
#include "rf_device.h"
#include "rf_host_source.h"
#include "rf_journal.h"
#include "rf_source.h"
#include "self_reflasher_platform.h"
#include "testlib.h"

#define FLASH_4MB (4u << 20)
#define DEST 0x310000u        /* raw destination: no content checks apply */
#define DEST_SIZE 0x80000u
#define STAGING 0x110000u     /* ota_0: the staging partition init chooses */
#define SLOT 0x100000u
#define JOURNAL_AT 0x3FE000u
#define JOURNAL_LEN 0x2000u
#define LEN_A 300000u
#define LEN_B2 350000u
#define CUT 200000u           /* 3 journaled 64 KiB steps staged before the cut */
#define RESUME_AT 0x30000u

/* ======================================================================== */
/* Unit part                                                                */

static void test_content_range_strict(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool ok;
        uint64_t a, b, t;
    } cases[] = {
        { "bytes 0-99/100", true, 0, 99, 100 },
        { "bytes 65536-299999/300000", true, 65536, 299999, 300000 },
        { "Bytes 1-1/2", true, 1, 1, 2 },
        { "  bytes 5-9/10 ", true, 5, 9, 10 },
        { "bytes */100", false, 0, 0, 0 },
        { "bytes 0-99/*", false, 0, 0, 0 },
        { "bytes 0-100/100", false, 0, 0, 0 },   /* last beyond the total */
        { "bytes 10-9/100", false, 0, 0, 0 },
        { "bytes -1-9/100", false, 0, 0, 0 },
        { "bytes +1-9/100", false, 0, 0, 0 },
        { "bytes 1 -9/100", false, 0, 0, 0 },
        { "bytes 1-9/100x", false, 0, 0, 0 },
        { "bytes 1-9/100/7", false, 0, 0, 0 },
        { "items 1-9/100", false, 0, 0, 0 },
        { "bytes=1-9/100", false, 0, 0, 0 },
        { "bytes 1-9/99999999999999999999999", false, 0, 0, 0 },   /* overflow */
        { "", false, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t a = 7, b = 7, t = 7;
        bool ok = rf_source_parse_content_range(cases[i].v, &a, &b, &t);
        if (ok != cases[i].ok || (ok && (a != cases[i].a || b != cases[i].b || t != cases[i].t))) {
            fail_msg("'%s': %d %llu-%llu/%llu", cases[i].v, ok, (unsigned long long)a, (unsigned long long)b,
                     (unsigned long long)t);
        }
    }
    assert_false(rf_source_parse_content_range(NULL, NULL, NULL, NULL));
    /* a continuation: from the offset to the end of the same total */
    assert_true(rf_source_range_continues(4096, 4096, 9999, 10000, -1));
    assert_true(rf_source_range_continues(4096, 4096, 9999, 10000, 5904));
    assert_false(rf_source_range_continues(4096, 0, 9999, 10000, -1));       /* starts before */
    assert_false(rf_source_range_continues(4096, 8192, 9999, 10000, -1));    /* starts after */
    assert_false(rf_source_range_continues(4096, 4096, 8191, 10000, -1));    /* stops early */
    assert_false(rf_source_range_continues(4096, 4096, 9999, 10000, 5000));  /* body length disagrees */
}

static void test_validator_choice(void **state)
{
    (void)state;
    char v[RF_SOURCE_VALIDATOR_MAX];
    const char *old = "Tue, 01 Dec 2026 10:00:00 GMT", *later = "Tue, 01 Dec 2026 10:01:00 GMT",
               *soon = "Tue, 01 Dec 2026 10:00:59 GMT";
    rf_source_pick_validator("\"abc-12\"", old, later, v);
    assert_string_equal(v, "\"abc-12\"");
    rf_source_pick_validator(" \"abc-12\" ", NULL, NULL, v);
    assert_string_equal(v, "\"abc-12\"");
    /* a weak ETag is no If-Range validator: the date is used when strong */
    rf_source_pick_validator("W/\"abc\"", old, later, v);
    assert_string_equal(v, old);
    /* a date is strong only 60 s or more before the response's Date */
    rf_source_pick_validator(NULL, old, soon, v);
    assert_string_equal(v, "");
    rf_source_pick_validator(NULL, old, NULL, v);
    assert_string_equal(v, "");
    rf_source_pick_validator(NULL, "yesterday", later, v);
    assert_string_equal(v, "");
    rf_source_pick_validator(NULL, NULL, NULL, v);
    assert_string_equal(v, "");
    /* too long, or with control bytes: none */
    char lng[200];
    memset(lng, 'a', sizeof lng);
    lng[0] = '"';
    lng[sizeof lng - 2] = '"';
    lng[sizeof lng - 1] = 0;
    rf_source_pick_validator(lng, NULL, NULL, v);
    assert_string_equal(v, "");
    rf_source_pick_validator("\"a\r\nX-Evil: 1\"", NULL, NULL, v);
    assert_string_equal(v, "");
    assert_false(rf_source_validator_ok(""));
    assert_false(rf_source_validator_ok(NULL));
    assert_false(rf_source_validator_ok("\"a\tb\""));
    assert_true(rf_source_validator_ok("\"a b\""));

    int64_t t = 0;
    assert_true(rf_source_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    assert_int_equal(t, 784111777);   /* RFC 9110's example date */
    assert_true(rf_source_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &t));
    assert_int_equal(t, 0);
    assert_true(rf_source_http_date("Tue, 29 Feb 2028 23:59:59 GMT", &t));
    assert_int_equal(t, 1835481599);
    assert_false(rf_source_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));   /* obsolete forms */
    assert_false(rf_source_http_date("Sun Nov  6 08:49:37 1994", &t));
    assert_false(rf_source_http_date("Sun, 06 Nov 1994 08:49:37 UTC", &t));
}

static void test_meter(void **state)
{
    (void)state;
    rf_source_meter_t m;
    rf_source_limits_t lim = { .deadline_ms = 5000, .min_rate_bps = 1000, .rate_window_ms = 1000 };
    rf_source_meter_start(&m, &lim, 100);
    /* 600 ms waited, 300 bytes: the window is not full yet */
    assert_int_equal(rf_source_meter_check(&m, 700, 600, 300), RF_SOURCE_OK);
    /* 1000 ms waited, 1000 bytes: exactly the rate */
    assert_int_equal(rf_source_meter_check(&m, 1100, 400, 700), RF_SOURCE_OK);
    /* next window: 1200 ms waited, 1100 bytes: too slow */
    assert_int_equal(rf_source_meter_check(&m, 1700, 600, 600), RF_SOURCE_OK);
    assert_int_equal(rf_source_meter_check(&m, 2300, 600, 500), RF_SOURCE_TOO_SLOW);
    /* time the caller spends between reads does not count against the rate */
    rf_source_meter_start(&m, &lim, 0);
    assert_int_equal(rf_source_meter_check(&m, 4000, 10, 20), RF_SOURCE_OK);
    /* the deadline counts wall-clock time since open */
    assert_int_equal(rf_source_meter_check(&m, 5000, 0, 0), RF_SOURCE_DEADLINE);
    /* zero fields: that limit is off */
    rf_source_limits_t none = { 0, 0, 0 };
    rf_source_meter_start(&m, &none, 0);
    assert_int_equal(rf_source_meter_check(&m, 1u << 30, 1u << 30, 0), RF_SOURCE_OK);
    rf_source_limits_t d = rf_source_limits_default();
    assert_int_equal(d.deadline_ms, 900000);
    assert_int_equal(d.min_rate_bps, 1024);
    assert_int_equal(d.rate_window_ms, 30000);
}

static rf_journal_rec_t staging_rec(uint32_t progress, uint32_t total, const char *validator)
{
    rf_journal_rec_t r;
    memset(&r, 0, sizeof r);
    r.state = RF_JSTATE_STAGING;
    r.id[0] = 0x5A;
    r.progress = progress;
    r.total = total;
    snprintf(r.validator, sizeof r.validator, "%s", validator);
    return r;
}

/* The validator goes through the journal's slot; a forged one (valid CRC)
 * with control bytes or an impossible length decodes as none. */
static void test_journal_validator(void **state)
{
    (void)state;
    uint8_t slot[RF_JOURNAL_REC_LEN];
    rf_journal_rec_t r = staging_rec(0x30000, LEN_A, "\"0123456789abcdef-493e0\""), back;
    rf_journal_encode(&r, slot);
    assert_true(rf_journal_decode(slot, &back));
    assert_string_equal(back.validator, r.validator);
    assert_int_equal(back.progress, 0x30000);

    /* find the validator's length byte, then forge */
    size_t at = 0;
    while (at < RF_JOURNAL_REC_LEN && !(slot[at] == strlen(r.validator) && slot[at + 1] == '"')) {
        at++;
    }
    assert_true(at < RF_JOURNAL_REC_LEN - 4);
    static const struct {
        uint8_t len;
        const char *text;
    } forged[] = {
        { 12, "\"a\r\nHost: x\"" },   /* header injection */
        { 4, "\"a\0\"" },
        { 200, "\"abc\"" },           /* longer than the field */
        { 0, "" },
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        uint8_t f[RF_JOURNAL_REC_LEN];
        memcpy(f, slot, sizeof f);
        f[at] = forged[i].len;
        memset(f + at + 1, 0xFF, RF_SOURCE_VALIDATOR_MAX);
        memcpy(f + at + 1, forged[i].text, forged[i].len < 20 ? forged[i].len : strlen(forged[i].text));
        rf_put_le32(f + RF_JOURNAL_REC_LEN - 4, rf_crc32_le(0, f, RF_JOURNAL_REC_LEN - 4));
        assert_true(rf_journal_decode(f, &back));
        if (back.validator[0] != 0) {
            fail_msg("forged validator %zu decoded as '%s'", i, back.validator);
        }
        assert_int_equal(rf_resume_offset(&back, 0x1000), 0);   /* nothing to resume with */
    }
}

static void test_resume_decide(void **state)
{
    (void)state;
    const char *v = "\"v1\"";
    rf_journal_rec_t r = staging_rec(RESUME_AT, LEN_A, v);
    assert_int_equal(rf_resume_offset(&r, 0x1000), RESUME_AT);
    assert_int_equal(rf_resume_offset(NULL, 0x1000), 0);
    rf_journal_rec_t x = staging_rec(RESUME_AT, LEN_A, "");
    assert_int_equal(rf_resume_offset(&x, 0x1000), 0);              /* no validator */
    x = staging_rec(RESUME_AT + 1, LEN_A, v);
    assert_int_equal(rf_resume_offset(&x, 0x1000), 0);              /* not on a sector */
    x = staging_rec(LEN_A + 0x1000 - LEN_A % 0x1000, LEN_A, v);
    assert_int_equal(rf_resume_offset(&x, 0x1000), 0);              /* past the end */
    x = staging_rec(RESUME_AT, LEN_A, v);
    x.state = RF_JSTATE_STAGED;
    assert_int_equal(rf_resume_offset(&x, 0x1000), 0);              /* not a staging record */
    x = staging_rec(RESUME_AT, 0, v);
    assert_int_equal(rf_resume_offset(&x, 0x1000), RESUME_AT);      /* total unknown (chunked) */

    rf_source_open_t io;
    memset(&io, 0, sizeof io);
    io.offset = RESUME_AT;
    io.if_range = r.validator;
    io.start = RESUME_AT;
    io.total = LEN_A;
    snprintf(io.validator, sizeof io.validator, "%s", v);
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_CONTINUE);
    snprintf(io.validator, sizeof io.validator, "\"v2\"");          /* a server ignoring If-Range */
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_REOPEN);
    snprintf(io.validator, sizeof io.validator, "\"v1");            /* a prefix is not the same */
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_REOPEN);
    snprintf(io.validator, sizeof io.validator, "%s", v);
    io.total = LEN_A + 1;                                            /* another total */
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_REOPEN);
    io.total = -1;                                                   /* unknown total */
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_REOPEN);
    io.total = LEN_A;
    io.start = 0;                                                    /* the source restarted */
    assert_int_equal(rf_resume_decide(&r, &io), RF_RESUME_RESTARTED);
    io.start = RESUME_AT;
    assert_int_equal(rf_resume_decide(NULL, &io), RF_RESUME_REOPEN);
    io.offset = io.start = 0;
    assert_int_equal(rf_resume_decide(NULL, &io), RF_RESUME_RESTARTED);
}

/* ======================================================================== */
/* End to end                                                               */

typedef struct {
    char dir[256];
    char www[300];
    char file[400];
    rf_device_t dev;
    uint8_t *before;
    ths_t srv;
    bool srv_up;
    uint8_t *a, *b, *b2;
    esp_self_reflasher_platform_t limited;   /* the device's platform with small time limits */
    rf_source_limits_t limits;
} fx_t;

static const char k_csv[] =
    "# Name,   Type, SubType, Offset,   Size\n"
    "nvs,      data, nvs,     ,         0x4000\n"
    "otadata,  data, ota,     ,         0x2000\n"
    "phy_init, data, phy,     ,         0x1000\n"
    "factory,  app,  factory, 0x10000,  1M\n"
    "ota_0,    app,  ota_0,   0x110000, 1M\n"
    "ota_1,    app,  ota_1,   0x210000, 1M\n";

static void write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static uint8_t *random_bytes(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
    return b;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL) {
        return -1;
    }
    *state = fx;
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    snprintf(fx->dir, sizeof fx->dir, "%s", tl_tmpdir());
    char csv[400], img[400];
    snprintf(csv, sizeof csv, "%s/partitions.csv", fx->dir);
    snprintf(img, sizeof img, "%s/dev.img", fx->dir);
    write_file(csv, k_csv, sizeof k_csv - 1);
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = FLASH_4MB, .partitions_csv = csv,
                              .running = "factory" };
    char err[256];
    if (rf_device_create(img, &spec, err, sizeof err) != ESP_OK ||
        rf_device_open(img, &fx->dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "device: %s\n", err);
        return -1;
    }
    fx->dev.quiet = getenv("RF_VERBOSE") == NULL;
    /* old content in the destination, so that any leftover shows */
    uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = DEST; a < DEST + DEST_SIZE; a++) {
        d[a] = (uint8_t)(a * 13 + 1);
    }
    fx->before = malloc(FLASH_4MB);
    memcpy(fx->before, d, FLASH_4MB);
    fx->a = random_bytes(LEN_A, 1);
    fx->b = random_bytes(LEN_A, 2);
    fx->b2 = random_bytes(LEN_B2, 3);
    snprintf(fx->www, sizeof fx->www, "%s/www", fx->dir);
    snprintf(fx->file, sizeof fx->file, "%s/img.bin", fx->www);
    if (mkdir(fx->www, 0755) != 0 || ths_start(fx->www, "--max-seconds 200", &fx->srv) != 0) {
        return -1;
    }
    fx->srv_up = true;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv_up) {
        ths_stop(&fx->srv);
    }
    rf_device_close(&fx->dev);
    uint8_t *bufs[] = { fx->before, fx->a, fx->b, fx->b2, (uint8_t *)fx };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(bufs[i]);
    }
    return 0;
}

/* The server's file, with its mtime `age_s` seconds in the past. */
static void serve(fx_t *fx, const uint8_t *img, size_t len, int age_s)
{
    write_file(fx->file, img, len);
    struct timeval now;
    gettimeofday(&now, NULL);
    struct timeval tv[2] = { now, now };
    tv[0].tv_sec -= age_s;
    tv[1].tv_sec -= age_s;
    assert_int_equal(utimes(fx->file, tv), 0);
}

static esp_err_t run_verified(fx_t *fx, const esp_self_reflasher_platform_t *pf, const char *query,
                              const esp_self_reflasher_verify_t *v)
{
    char path[200], url[300];
    snprintf(path, sizeof path, "/img.bin%s", query);
    ths_url(&fx->srv, path, url, sizeof url);
    return tl_seed_download(pf, url, NULL, v, DEST, DEST_SIZE, 3000);
}

static esp_err_t run(fx_t *fx, const esp_self_reflasher_platform_t *pf, const char *query)
{
    return run_verified(fx, pf, query, NULL);
}

/* The destination holds exactly img followed by 0xFF; nothing changed outside
 * the destination, the staging partition and the journal. */
static void assert_dest_is(fx_t *fx, const uint8_t *img, size_t len)
{
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t i = 0; i < DEST_SIZE; i++) {
        uint8_t want = i < len ? img[i] : 0xFF;
        if (d[DEST + i] != want) {
            fail_msg("destination byte 0x%06x is 0x%02x, want 0x%02x (a spliced or shifted image?)", DEST + i,
                     d[DEST + i], want);
        }
    }
    for (uint32_t a = 0; a < FLASH_4MB; a++) {
        bool may = (a >= DEST && a < DEST + DEST_SIZE) || (a >= STAGING && a < STAGING + SLOT) ||
                   (a >= JOURNAL_AT && a < JOURNAL_AT + JOURNAL_LEN);
        if (!may && d[a] != fx->before[a]) {
            fail_msg("byte 0x%06x outside the declared areas changed", a);
        }
    }
}

static bool staging_blank(fx_t *fx)
{
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = STAGING; a < STAGING + SLOT; a++) {
        if (d[a] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* Cut the first download of `first` (mtime age_s ago) at CUT, put `second`
 * on the server (replaced now, as a deployment would: a fresh mtime, unless
 * it is the same file, then left alone), download again: the destination
 * holds `second` exactly. The second run must cost want_requests requests
 * and want_bytes body bytes (-1: not checked). */
static void cut_change_resume(fx_t *fx, const char *query, const uint8_t *first, size_t first_len,
                              const uint8_t *second, size_t second_len, int age_s, long want_requests,
                              long want_bytes)
{
    serve(fx, first, first_len, age_s);
    assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "close_at=200000"), 0);
    assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), query), ESP_ERR_HTTP_INCOMPLETE_DATA);
    if (second != first) {
        serve(fx, second, second_len, 0);
    }
    assert_int_equal(ths_reset(&fx->srv), 0);
    assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), query), ESP_OK);
    assert_dest_is(fx, second, second_len);
    if (want_requests >= 0) {
        assert_int_equal(ths_requests(&fx->srv, "/img.bin"), want_requests);
    }
    if (want_bytes >= 0) {
        assert_int_equal(ths_bytes_sent(&fx->srv, "/img.bin"), want_bytes);
    }
}

/* With an ETag: If-Range makes the server answer 200 with the new file,
 * which crosses the wire once. */
static void test_changed_same_length_etag(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "", fx->a, LEN_A, fx->b, LEN_A, 0, 1, LEN_A);
}

static void test_changed_other_length_etag(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "", fx->a, LEN_A, fx->b2, LEN_B2, 0, 1, LEN_B2);
}

/* No ETag, but a Last-Modified two hours old (a strong validator): the
 * replaced file has a new date, If-Range fails, 200. */
static void test_changed_same_length_date(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "?etag=0", fx->a, LEN_A, fx->b, LEN_A, 7200, 1, LEN_A);
}

/* No ETag and a Last-Modified of the same second as both versions (proves
 * nothing): never resumed; the first attempt's staged bytes are erased. */
static void test_changed_same_length_fresh_date(void **state)
{
    fx_t *fx = *state;
    serve(fx, fx->a, LEN_A, 0);
    assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "close_at=200000"), 0);
    assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), "?etag=0"), ESP_ERR_HTTP_INCOMPLETE_DATA);
    assert_true(staging_blank(fx));   /* nothing kept that could not be resumed */
    serve(fx, fx->b, LEN_A, 0);
    assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), "?etag=0"), ESP_OK);
    assert_dest_is(fx, fx->b, LEN_A);
}

/* No validator at all, same and other length. */
static void test_changed_no_validator(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "?etag=0&lm=0", fx->a, LEN_A, fx->b, LEN_A, 7200, 1, LEN_A);
    cut_change_resume(fx, "?etag=0&lm=0&step=2", fx->b, LEN_A, fx->b2, LEN_B2, 7200, 1, LEN_B2);
}

/* A server that ignores If-Range sends a 206 of the new file: its ETag
 * differs from the recorded one, so the download starts over. */
static void test_changed_server_ignores_if_range(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "?ignore_if_range=1", fx->a, LEN_A, fx->b, LEN_A, 0, 2, -1);   /* 206 dropped, then 200 */
}

/* Unchanged file: the resume happens (only the tail crosses the wire), with
 * an ETag and with a strong date. */
static void test_unchanged_resumes(void **state)
{
    fx_t *fx = *state;
    cut_change_resume(fx, "", fx->a, LEN_A, fx->a, LEN_A, 0, 1, LEN_A - RESUME_AT);
    cut_change_resume(fx, "?etag=0&step=2", fx->b, LEN_A, fx->b, LEN_A, 7200, 1, LEN_A - RESUME_AT);
}

/* An expected digest covers the whole file after a resume: the staged head
 * is hashed again with the tail. The right digest passes; a wrong one
 * refuses the resumed image and erases all of it from staging. */
static void test_digest_checked_after_resume(void **state)
{
    fx_t *fx = *state;
    uint8_t sha_a[32], sha_b[32];
    rf_sha256_ctx_t c;
    rf_sha256_start(&c);
    rf_sha256_update(&c, fx->a, LEN_A);
    rf_sha256_finish(&c, sha_a);
    rf_sha256_start(&c);
    rf_sha256_update(&c, fx->b, LEN_A);
    rf_sha256_finish(&c, sha_b);
    esp_self_reflasher_verify_t va = { .sha256 = sha_a }, vb = { .sha256 = sha_b };
    serve(fx, fx->a, LEN_A, 0);
    for (int i = 0; i < 2; i++) {
        const char *q = i ? "?step=2" : "";
        assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "close_at=200000"), 0);
        assert_int_equal(run_verified(fx, rf_device_get_platform(&fx->dev), q, i ? &vb : &va),
                         ESP_ERR_HTTP_INCOMPLETE_DATA);
        assert_int_equal(ths_reset(&fx->srv), 0);
        esp_err_t err = run_verified(fx, rf_device_get_platform(&fx->dev), q, i ? &vb : &va);
        assert_int_equal(ths_bytes_sent(&fx->srv, "/img.bin"), LEN_A - RESUME_AT);   /* it did resume */
        if (i == 0) {
            assert_int_equal(err, ESP_OK);
            assert_dest_is(fx, fx->a, LEN_A);
        } else {
            assert_true(err != ESP_OK);
            assert_true(staging_blank(fx));   /* the head too: a resumed image may mix two versions */
            assert_dest_is(fx, fx->a, LEN_A);   /* unchanged since the first run */
        }
    }
}

/* A 206 whose Content-Range does not continue the object (claims to start
 * earlier than its data does; claims another total): restart, same file. */
static void test_bad_content_range_restarts(void **state)
{
    fx_t *fx = *state;
    static const char *const lies[] = { "crange_lie=4096", "crange_total=300001" };
    static const char *const steps[] = { "?step=1", "?step=2" };   /* two steps: two journal ids */
    for (int i = 0; i < 2; i++) {
        serve(fx, i ? fx->b : fx->a, LEN_A, 0);
        assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "close_at=200000"), 0);
        assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), steps[i]), ESP_ERR_HTTP_INCOMPLETE_DATA);
        assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", lies[i]), 0);
        assert_int_equal(ths_reset(&fx->srv), 0);
        assert_int_equal(run(fx, rf_device_get_platform(&fx->dev), steps[i]), ESP_OK);
        assert_dest_is(fx, i ? fx->b : fx->a, LEN_A);
        assert_int_equal(ths_requests(&fx->srv, "/img.bin"), 2);   /* the bad 206, then from byte 0 */
    }
}

/* ---- bounded time through the seed API ------------------------------------ */

static rf_source_limits_t g_limits;

static esp_err_t limited_make_source(void *ctx, const esp_http_client_config_t *http, rf_source_t *out)
{
    (void)ctx;
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = http->timeout_ms;
    opts.limits = &g_limits;
    return rf_source_url_new(http->url, &opts, out);
}

static void limited_free_source(void *ctx, rf_source_t *src)
{
    (void)ctx;
    rf_source_destroy(src);
}

/* One byte every 0.4 s after CUT bytes (and a per-read timeout of 3 s that
 * never fires): the minimum rate (1000 B/s over 1 s) ends it with
 * ESP_ERR_TIMEOUT; the journaled part stays staged and a rerun resumes. */
static void test_trickle_times_out_and_resumes(void **state)
{
    fx_t *fx = *state;
    fx->limited = *rf_device_get_platform(&fx->dev);
    fx->limited.make_source = limited_make_source;
    fx->limited.free_source = limited_free_source;
    g_limits = (rf_source_limits_t){ .deadline_ms = 0, .min_rate_bps = 1000, .rate_window_ms = 1000 };
    serve(fx, fx->a, LEN_A, 0);
    /* 20 bytes short of the end: without limits it would end after 8 s, with ESP_OK */
    char fault[80];
    snprintf(fault, sizeof fault, "trickle_s=0.4&trickle_after=%u", LEN_A - 20);
    assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", fault), 0);
    assert_int_equal(run(fx, &fx->limited, ""), ESP_ERR_TIMEOUT);
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    uint32_t kept = (LEN_A - 20) / 0x10000 * 0x10000;
    assert_memory_equal(d + STAGING, fx->a, kept);   /* what the journal allows to resume */
    assert_memory_equal(d + DEST, fx->before + DEST, DEST_SIZE);   /* destination untouched */
    assert_int_equal(ths_reset(&fx->srv), 0);
    assert_int_equal(run(fx, &fx->limited, ""), ESP_OK);
    assert_dest_is(fx, fx->a, LEN_A);
    assert_int_equal(ths_bytes_sent(&fx->srv, "/img.bin"), LEN_A - kept);

    /* Header lines trickling (one every 0.4 s): the deadline (2 s) ends it. */
    g_limits = (rf_source_limits_t){ .deadline_ms = 2000, .min_rate_bps = 0, .rate_window_ms = 0 };
    serve(fx, fx->b, LEN_A, 0);
    assert_int_equal(ths_fault_once(&fx->srv, "/img.bin", "trickle_headers_s=0.4&trickle_headers_n=25"), 0);
    assert_int_equal(run(fx, &fx->limited, "?step=2"), ESP_ERR_TIMEOUT);   /* another step than the one done */
    assert_dest_is(fx, fx->a, LEN_A);   /* the destination still holds the last good image */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_range_strict),
        cmocka_unit_test(test_validator_choice),
        cmocka_unit_test(test_meter),
        cmocka_unit_test(test_journal_validator),
        cmocka_unit_test(test_resume_decide),
        cmocka_unit_test_setup_teardown(test_changed_same_length_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_other_length_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_same_length_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_same_length_fresh_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_no_validator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_server_ignores_if_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_content_range_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_checked_after_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trickle_times_out_and_resumes, setup, teardown),
    };
    return tl_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
