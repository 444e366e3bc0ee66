/*
 * The ESP-IDF port's HTTP source (port/esp_idf/self_reflasher_port_esp_idf.c,
 * compiled into this test unchanged) over the host emulation of
 * esp_http_client, against the test server on 127.0.0.1: validators and
 * If-Range, restarts on a changed file or a lying Content-Range, and the
 * Kconfig time limits (tests/support/port_config/sdkconfig.h: deadline 4 s,
 * at least 1000 B/s over 1 s). No assertion on elapsed time.
 */
#include "../port/esp_idf/self_reflasher_port_esp_idf.c"

#include <sys/stat.h>
#include <unistd.h>
#include "port_fetch.h"

#define FILE_LEN 200000u
#define RESUME_AT 65536u

static struct {
    char dir[256];
    uint8_t *data;
    ths_t srv;
} g;

static int group_setup(void **state)
{
    (void)state;
    tl_local_only();
    snprintf(g.dir, sizeof g.dir, "%s", tl_tmpdir());
    g.data = tl_random_bytes(FILE_LEN, 9);
    if (g.data == NULL) {
        return -1;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/f.bin", g.dir);
    if (tl_write_file(path, g.data, FILE_LEN) != 0) {
        return -1;
    }
    return ths_start(g.dir, "--max-seconds 120", &g.srv);
}

static int group_teardown(void **state)
{
    (void)state;
    ths_stop(&g.srv);
    free(g.data);
    return 0;
}

/* The port's make_source (which must offer open_at) + rf_source_open_at + reads to the end. */
static got_t fetch(const char *path, uint32_t offset, const char *if_range)
{
    got_t r = port_fetch(&g.srv, path, offset, if_range, FILE_LEN);
    assert_int_equal(r.make_err, ESP_OK);
    assert_true(r.has_open_at);
    return r;
}

static void test_validator_and_if_range(void **state)
{
    (void)state;
    got_t a = fetch("/f.bin", 0, NULL);
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.read_err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.io.total, FILE_LEN);
    assert_int_equal(a.len, FILE_LEN);
    assert_memory_equal(a.data, g.data, FILE_LEN);
    assert_true(a.io.validator[0] == '"');
    char etag[RF_SOURCE_VALIDATOR_MAX];
    snprintf(etag, sizeof etag, "%s", a.io.validator);
    free(a.data);

    /* same validator: the tail, from where it was asked */
    assert_int_equal(ths_reset(&g.srv), 0);
    a = fetch("/f.bin", RESUME_AT, etag);
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.read_err, ESP_OK);
    assert_int_equal(a.io.start, RESUME_AT);
    assert_int_equal(a.io.total, FILE_LEN);
    assert_string_equal(a.io.validator, etag);
    assert_int_equal(a.len, FILE_LEN - RESUME_AT);
    assert_memory_equal(a.data, g.data + RESUME_AT, a.len);
    assert_int_equal(ths_bytes_sent(&g.srv, "/f.bin"), FILE_LEN - RESUME_AT);
    free(a.data);

    /* another validator: the server's 200, from byte 0, nothing skipped */
    a = fetch("/f.bin", RESUME_AT, "\"changed\"");
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, FILE_LEN);
    assert_memory_equal(a.data, g.data, FILE_LEN);
    free(a.data);

    /* a server that ignores Range: from byte 0 too */
    a = fetch("/f.bin?norange=1", RESUME_AT, etag);
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.len, FILE_LEN);
    free(a.data);
}

static void test_lying_content_range_restarts(void **state)
{
    (void)state;
    got_t a = fetch("/f.bin", 0, NULL);
    char etag[RF_SOURCE_VALIDATOR_MAX];
    snprintf(etag, sizeof etag, "%s", a.io.validator);
    free(a.data);
    static const char *const lies[] = { "crange_lie=4096", "crange_total=999999" };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ths_reset(&g.srv), 0);
        assert_int_equal(ths_fault_once(&g.srv, "/f.bin", lies[i]), 0);
        a = fetch("/f.bin", RESUME_AT, etag);
        assert_int_equal(a.open_err, ESP_OK);
        assert_int_equal(a.read_err, ESP_OK);
        assert_int_equal(a.io.start, 0);
        assert_int_equal(a.len, FILE_LEN);
        assert_memory_equal(a.data, g.data, FILE_LEN);
        assert_int_equal(ths_requests(&g.srv, "/f.bin"), 2);
        free(a.data);
    }
}

/* One byte every 0.3 s after all but 30 bytes (the per-read timeout, 3 s,
 * never fires; without limits it ends with ESP_OK after 9 s): the minimum
 * rate ends it with ESP_ERR_TIMEOUT. */
static void test_trickle_times_out(void **state)
{
    (void)state;
    char path[120];
    snprintf(path, sizeof path, "/f.bin?trickle_s=0.3&trickle_after=%u", FILE_LEN - 30);
    got_t a = fetch(path, 0, NULL);
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.read_err, ESP_ERR_TIMEOUT);
    if (a.len < FILE_LEN - 30 || a.len >= FILE_LEN) {
        fail_msg("%zu bytes before the timeout", a.len);
    }
    assert_memory_equal(a.data, g.data, a.len);
    free(a.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_and_if_range),
        cmocka_unit_test(test_lying_content_range_restarts),
        cmocka_unit_test(test_trickle_times_out),
    };
    return tl_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
