#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "self_reflasher_platform.h"

const char *tl_shared_dir(void)
{
    const char *s = getenv("RF_SHARED");
    if (s == NULL || access(s, R_OK) != 0) {
        return NULL;
    }
    return s;
}

uint8_t *tl_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL && len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

const char *tl_shared_path(const char *rel)
{
    static char path[4096];
    const char *dir = tl_shared_dir();
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared", rel);
    return path;
}

static int g_skipped;

void tl_note_skip(const char *why)
{
    print_message("skipping: %s\n", why);
    g_skipped++;
}

int tl_exit(int failed)
{
    if (failed != 0) {
        return failed;
    }
    return g_skipped > 0 ? TL_SKIP_CODE : 0;
}

uint8_t *tl_read_shared(const char *rel, size_t *len)
{
    if (tl_shared_dir() == NULL) {
        tl_skip("../shared is not available");
    }
    uint8_t *b = tl_read_file(tl_shared_path(rel), len);
    assert_non_null(b);
    return b;
}

const char *tl_tmpdir(void)
{
    static char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/rf-test-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

void tl_hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    out[2 * n] = 0;
}

int tl_seed_download(const esp_self_reflasher_platform_t *pf, const char *url, const void *target,
                     const void *verify, uint32_t dest, uint32_t size, int timeout_ms)
{
    esp_http_client_config_t http = { .url = url, .timeout_ms = timeout_ms };
    esp_self_reflasher_config_t cfg = { .http_config = &http, .target_partition = target, .verify = verify,
                                        .dest_region = { .region_address = dest, .region_size = size } };
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t err = esp_self_reflasher_init_with(pf, &cfg, &h);
    if (err == ESP_OK) {
        err = esp_self_reflasher_download_bin(h);
    }
    if (err == ESP_OK) {
        err = esp_self_reflasher_copy_to_region(h);
    }
    esp_self_reflasher_deinit(h);
    return err;
}
