/*
 * The ESP-IDF port's HTTP source built with Kconfig SELF_REFLASHER_GZIP and
 * SELF_REFLASHER_HTTP_RESUME off (port/esp_idf/self_reflasher_port_esp_idf.c,
 * compiled into this test unchanged), against the test server on 127.0.0.1:
 * no resume and no validator (every run starts at byte 0), identity bytes
 * asked for, and a coded response or a .gz URL refused before a byte is read.
 */
#define RF_TEST_PORT_MINIMAL 1   /* tests/support/port_config/sdkconfig.h: both options off */
#include "../port/esp_idf/self_reflasher_port_esp_idf.c"

#include <zlib.h>
#include "rf_journal.h"
#include "port_fetch.h"

#define FILE_LEN 150000u
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
    g.data = tl_random_bytes(FILE_LEN, 11);
    if (g.data == NULL) {
        return -1;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/f.bin", g.dir);
    if (tl_write_file(path, g.data, FILE_LEN) != 0) {
        return -1;
    }
    /* its gzip sibling: a server that codes answers with this */
    snprintf(path, sizeof path, "%s/f.bin.gz", g.dir);
    gzFile z = gzopen(path, "wb");
    if (z == NULL || gzwrite(z, g.data, FILE_LEN) != (int)FILE_LEN || gzclose(z) != Z_OK) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/g.bin.gz", g.dir);
    if (tl_write_file(path, g.data, 1000) != 0) {
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

static got_t fetch(const char *path, uint32_t offset, const char *if_range)
{
    return port_fetch(&g.srv, path, offset, if_range, FILE_LEN);
}

/* A resume point and a validator from an earlier run are ignored: the
 * whole file from byte 0, no Range asked (the server sent every byte), and
 * no validator handed back (so the core writes no resume records). */
static void test_no_resume(void **state)
{
    (void)state;
    assert_int_equal(ths_reset(&g.srv), 0);
    got_t a = fetch("/f.bin", RESUME_AT, "\"some-etag\"");
    assert_int_equal(a.make_err, ESP_OK);
    assert_false(a.has_open_at);
    assert_int_equal(a.open_err, ESP_OK);
    assert_int_equal(a.read_err, ESP_OK);
    assert_int_equal(a.io.start, 0);
    assert_int_equal(a.io.total, FILE_LEN);
    assert_string_equal(a.io.validator, "");
    assert_false(rf_resume_possible(&a.io));
    assert_int_equal(a.len, FILE_LEN);
    assert_memory_equal(a.data, g.data, FILE_LEN);
    assert_int_equal(ths_bytes_sent(&g.srv, "/f.bin"), FILE_LEN);
    free(a.data);
}

/* Identity bytes are asked for: a server that would send f.bin.gz to a
 * client accepting gzip sends f.bin itself. */
static void test_identity_asked(void **state)
{
    (void)state;
    got_t a = fetch("/f.bin", 0, NULL);
    assert_int_equal(a.open_err, ESP_OK);
    assert_false(a.has_encoding);
    assert_int_equal(a.len, FILE_LEN);
    assert_memory_equal(a.data, g.data, FILE_LEN);
    free(a.data);
}

/* A coded response nobody asked for, and a .gz URL, are refused before
 * anything is read (nothing would be staged). */
static void test_coded_refused(void **state)
{
    (void)state;
    got_t a = fetch("/f.bin?force_gzip=1", 0, NULL);
    assert_int_equal(a.make_err, ESP_OK);
    assert_int_equal(a.open_err, ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(a.len, 0);
    free(a.data);
    got_t b = fetch("/g.bin.gz", 0, NULL);
    assert_int_equal(b.make_err, ESP_ERR_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_resume),
        cmocka_unit_test(test_identity_asked),
        cmocka_unit_test(test_coded_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
