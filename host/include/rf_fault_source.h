/*
 * Fault injection in the source layer: a wrapper around the rf_source_t a
 * platform makes, so a rehearsal can break a download against any server
 * (nginx, a CDN, a file) instead of asking a test server to misbehave.
 *
 * Faults, applied to every source whose name (the URL or path the seed API
 * was given) equals `match`:
 *   RF_FAULT_RESET   the stream delivers the object's bytes up to offset
 *                    `at` and then fails as a connection reset does
 *                    (ESP_ERR_HTTP_INCOMPLETE_DATA), whatever offset it was
 *                    opened at: a resume within the same run fails again;
 *   RF_FAULT_STATUS  open() fails as an HTTP 500 answer does
 *                    (ESP_ERR_INVALID_RESPONSE);
 *   RF_FAULT_STALL   the stream delivers up to offset `at` and then no more
 *                    bytes: read() reports what the per-read timeout reports
 *                    (ESP_ERR_TIMEOUT), without waiting for it.
 * `delivered` counts the bytes the matching sources handed to the caller
 * while the fault was installed (what "the server sent" up to the fault);
 * RF_FAULT_NONE only counts (how much a rerun downloads again).
 *
 * rf_fault_platform_install() replaces the platform's make_source and
 * free_source with wrappers and its ctx with the rf_fault_platform_t; every
 * other function is forwarded to the original platform with its own ctx.
 * So only code that calls the platform through platform->ctx (the seed API)
 * is affected. The rf_fault_platform_t must outlive every use of the
 * platform; uninstall restores it.
 */
#pragma once
#include <stdint.h>
#include "self_reflasher_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RF_FAULT_NONE = 0, RF_FAULT_RESET, RF_FAULT_STATUS, RF_FAULT_STALL } rf_fault_kind_t;

typedef struct rf_fault {
    rf_fault_kind_t kind;
    const char *match;   /**< source name to break (NULL: every source) */
    uint64_t at;         /**< object offset of a RESET or STALL */
    /* output */
    uint64_t delivered;  /**< bytes the matching sources delivered */
    uint32_t fired;      /**< times the fault was hit */
} rf_fault_t;

typedef struct rf_fault_platform {
    esp_self_reflasher_platform_t inner; /**< the original platform (restored by uninstall) */
    rf_fault_t *fault;
} rf_fault_platform_t;

/** Wrap `inner` (already made, closed) into `out`; `inner` is owned by the
 *  wrapper from then on (rf_fault_source_free releases both). `name` is what
 *  the fault's `match` is compared with (NULL: inner->name). */
esp_err_t rf_fault_source_wrap(rf_source_t *inner, const char *name, rf_fault_t *fault, rf_source_t *out);
void rf_fault_source_free(rf_source_t *wrapped, void (*free_inner)(void *ctx, rf_source_t *src), void *free_ctx);

void rf_fault_platform_install(esp_self_reflasher_platform_t *p, rf_fault_platform_t *w, rf_fault_t *fault);
void rf_fault_platform_uninstall(esp_self_reflasher_platform_t *p, rf_fault_platform_t *w);

/** "reset", "status500", "stall". */
const char *rf_fault_kind_name(rf_fault_kind_t k);

#ifdef __cplusplus
}
#endif
