/*
 * Hashes the core needs, behind a tiny interface so the core stays free of
 * any particular crypto library. The host and ESP-IDF builds implement it
 * over mbedTLS (crypto/rf_crypto_mbedtls.c, which handles both the 2.28 and
 * 3.x APIs). Contexts are opaque fixed-size storage so callers need no heap.
 */
#pragma once
#include "rf_util.h"

#define RF_SHA256_LEN 32
#define RF_MD5_LEN 16

typedef struct { uint64_t opaque[32]; } rf_sha256_ctx_t;  /* >= sizeof(mbedtls_sha256_context) */
typedef struct { uint64_t opaque[16]; } rf_md5_ctx_t;     /* >= sizeof(mbedtls_md5_context); a plain value: a copy carries on from the same state */

void rf_sha256_start(rf_sha256_ctx_t *ctx);
void rf_sha256_update(rf_sha256_ctx_t *ctx, const void *data, size_t len);
void rf_sha256_finish(rf_sha256_ctx_t *ctx, uint8_t out[RF_SHA256_LEN]);
void rf_sha256(const void *data, size_t len, uint8_t out[RF_SHA256_LEN]);

void rf_md5_start(rf_md5_ctx_t *ctx);
void rf_md5_update(rf_md5_ctx_t *ctx, const void *data, size_t len);
void rf_md5_finish(rf_md5_ctx_t *ctx, uint8_t out[RF_MD5_LEN]);
void rf_md5(const void *data, size_t len, uint8_t out[RF_MD5_LEN]);
