/*
 * rf_crypto.h over mbedTLS, for both the 2.28 API (Debian 12, ESP-IDF 4.x)
 * and the 3.x API (ESP-IDF 5.x): 2.28 spells the returning calls *_ret().
 */
#include <string.h>
#include "mbedtls/version.h"
#include "mbedtls/md5.h"
#include "mbedtls/sha256.h"
#include "rf_cost.h"
#include "rf_crypto.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define RF_SHA256_STARTS mbedtls_sha256_starts_ret
#define RF_SHA256_UPDATE mbedtls_sha256_update_ret
#define RF_SHA256_FINISH mbedtls_sha256_finish_ret
#define RF_MD5_STARTS mbedtls_md5_starts_ret
#define RF_MD5_UPDATE mbedtls_md5_update_ret
#define RF_MD5_FINISH mbedtls_md5_finish_ret
#else
#define RF_SHA256_STARTS mbedtls_sha256_starts
#define RF_SHA256_UPDATE mbedtls_sha256_update
#define RF_SHA256_FINISH mbedtls_sha256_finish
#define RF_MD5_STARTS mbedtls_md5_starts
#define RF_MD5_UPDATE mbedtls_md5_update
#define RF_MD5_FINISH mbedtls_md5_finish
#endif

_Static_assert(sizeof(rf_sha256_ctx_t) >= sizeof(mbedtls_sha256_context), "rf_sha256_ctx_t too small");
_Static_assert(sizeof(rf_md5_ctx_t) >= sizeof(mbedtls_md5_context), "rf_md5_ctx_t too small");

void rf_sha256_start(rf_sha256_ctx_t *ctx)
{
    mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx;
    mbedtls_sha256_init(c);
    (void)RF_SHA256_STARTS(c, 0);
}

void rf_sha256_update(rf_sha256_ctx_t *ctx, const void *data, size_t len)
{
    rf_cost_charge(RF_COST_SHA256, len);   /* the host's clock charges the device's hashing */
    (void)RF_SHA256_UPDATE((mbedtls_sha256_context *)ctx, data, len);
}

void rf_sha256_finish(rf_sha256_ctx_t *ctx, uint8_t out[RF_SHA256_LEN])
{
    mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx;
    (void)RF_SHA256_FINISH(c, out);
    mbedtls_sha256_free(c);
}

void rf_sha256(const void *data, size_t len, uint8_t out[RF_SHA256_LEN])
{
    rf_sha256_ctx_t c;
    rf_sha256_start(&c);
    rf_sha256_update(&c, data, len);
    rf_sha256_finish(&c, out);
}

void rf_md5_start(rf_md5_ctx_t *ctx)
{
    mbedtls_md5_context *c = (mbedtls_md5_context *)ctx;
    mbedtls_md5_init(c);
    (void)RF_MD5_STARTS(c);
}

void rf_md5_update(rf_md5_ctx_t *ctx, const void *data, size_t len)
{
    (void)RF_MD5_UPDATE((mbedtls_md5_context *)ctx, data, len);
}

void rf_md5_finish(rf_md5_ctx_t *ctx, uint8_t out[RF_MD5_LEN])
{
    mbedtls_md5_context *c = (mbedtls_md5_context *)ctx;
    (void)RF_MD5_FINISH(c, out);
    mbedtls_md5_free(c);
}

void rf_md5(const void *data, size_t len, uint8_t out[RF_MD5_LEN])
{
    rf_md5_ctx_t c;
    rf_md5_start(&c);
    rf_md5_update(&c, data, len);
    rf_md5_finish(&c, out);
}
