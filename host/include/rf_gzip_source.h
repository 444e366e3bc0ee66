/*
 * Host compressed sources: rf_inflate.h's wrapper with zlib as the DEFLATE
 * backend, on the heap. The wrapper also reports each request it opens to
 * the cost port (rf_cost.h: a request's latency, a TLS handshake for https),
 * so the simulated clock charges them.
 */
#pragma once
#include "rf_inflate.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Wrap `inner` (taken over: rf_source_gzip_destroy() hands it back through
 *  *inner_out). ESP_ERR_NO_MEM when out of memory. */
esp_err_t rf_source_gzip_new(const rf_source_t *inner, rf_source_t *out);

/** Free what rf_source_gzip_new() allocated (closing it first); *inner_out
 *  receives the inner source, for the caller to destroy. *src is zeroed. */
void rf_source_gzip_destroy(rf_source_t *src, rf_source_t *inner_out);

/** rf_source_url_new() wrapped by rf_source_gzip_new(): what a device
 *  reads (gzip inflated); release with rf_source_url_inflating_destroy(). */
struct rf_source_opts;
esp_err_t rf_source_url_new_inflating(const char *url_or_path, const struct rf_source_opts *opts, rf_source_t *out);
void rf_source_url_inflating_destroy(rf_source_t *src);

/** After open(): true when the stream is being inflated. */
bool rf_source_gzip_active(const rf_source_t *src);

/** The zlib backend alone (raw DEFLATE), for tests and other wrappers:
 *  storage for one, sized by rf_zlib_inflater_size(). */
size_t rf_zlib_inflater_size(void);
void rf_zlib_inflater_init(void *storage, rf_inflater_t *out);
void rf_zlib_inflater_end(void *storage);

#ifdef __cplusplus
}
#endif
