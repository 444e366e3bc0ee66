/* Shared helpers for the C tests (cmocka). */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/** $RF_SHARED (../shared beside the project) or NULL when absent. */
const char *tl_shared_dir(void);
/** Read a whole file into a malloc'd buffer; NULL if it cannot be read. */
uint8_t *tl_read_file(const char *path, size_t *len);
/** Read ../shared/<rel>; skips the current test (cmocka skip) when missing. */
uint8_t *tl_read_shared(const char *rel, size_t *len);
/** Path of ../shared/<rel> in a static buffer (valid until the next call). */
const char *tl_shared_path(const char *rel);
/** A fresh temporary directory (removed by nothing: under $TMPDIR). */
const char *tl_tmpdir(void);
struct esp_self_reflasher_platform;

/** The seed API's download sequence for one image: init (on `pf`), download_bin,
 *  copy_to_region, deinit. `target` (const esp_partition_t *) and `verify`
 *  (const esp_self_reflasher_verify_t *) may be NULL. Returns the first error. */
int tl_seed_download(const struct esp_self_reflasher_platform *pf, const char *url, const void *target,
                     const void *verify, uint32_t dest, uint32_t size, int timeout_ms);

/** Lowercase hex of a SHA-256 digest into out[65]. */
void tl_hex(const uint8_t *d, size_t n, char *out);
