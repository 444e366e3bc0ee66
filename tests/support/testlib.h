/* Shared helpers for the C tests (cmocka). */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/** ctest's skip code (SKIP_RETURN_CODE in tests/CMakeLists.txt). */
#define TL_SKIP_CODE 77

/** Skip the current test for a missing input (../shared, a tool): cmocka's
 *  skip(), remembered so that tl_exit() reports ctest's skip code instead of
 *  a silent pass. */
#define tl_skip(why) do { tl_note_skip(why); skip(); } while (0)
void tl_note_skip(const char *why);

/** main()'s return value: the number of failed tests when there are any,
 *  else TL_SKIP_CODE when a test was skipped with tl_skip(), else 0. */
int tl_exit(int failed);

/** $RF_SHARED (../shared beside the project) or NULL when absent. */
const char *tl_shared_dir(void);
/** Read a whole file into a malloc'd buffer; NULL if it cannot be read. */
uint8_t *tl_read_file(const char *path, size_t *len);
/** Read ../shared/<rel>; skips the current test (tl_skip) when missing. */
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
