/*
 * rf_crypto.h over Mbed TLS, for the 2.28 API (Debian 12, ESP-IDF 4.x), the
 * 3.x API (ESP-IDF 5.x: 2.28 spells the returning calls *_ret()) and Mbed TLS
 * 4 (ESP-IDF 6), whose legacy hash modules are private: there the hashes go
 * through PSA Crypto (psa_hash_*; ESP-IDF 6 calls psa_crypto_init() at start-up,
 * and it may be called again). A hash that fails in PSA yields an all-zero
 * digest, which matches no expected digest: the caller refuses the image.
 */
#include <string.h>
#include "mbedtls/version.h"
#include "rf_cost.h"
#include "rf_crypto.h"

#if MBEDTLS_VERSION_MAJOR >= 4
#include "psa/crypto.h"

_Static_assert(sizeof(rf_sha256_ctx_t) >= sizeof(psa_hash_operation_t), "rf_sha256_ctx_t too small");

static void psa_start(void *ctx, psa_algorithm_t alg)
{
    psa_hash_operation_t *op = (psa_hash_operation_t *)ctx;
    *op = psa_hash_operation_init();
    if (psa_crypto_init() != PSA_SUCCESS || psa_hash_setup(op, alg) != PSA_SUCCESS) {
        psa_hash_abort(op);
    }
}

static void psa_finish(void *ctx, uint8_t *out, size_t len)
{
    size_t n = 0;
    if (psa_hash_finish((psa_hash_operation_t *)ctx, out, len, &n) != PSA_SUCCESS || n != len) {
        memset(out, 0, len);
        psa_hash_abort((psa_hash_operation_t *)ctx);
    }
}

void rf_sha256_start(rf_sha256_ctx_t *ctx)
{
    psa_start(ctx, PSA_ALG_SHA_256);
}

void rf_sha256_update(rf_sha256_ctx_t *ctx, const void *data, size_t len)
{
    rf_cost_charge(RF_COST_SHA256, len);
    (void)psa_hash_update((psa_hash_operation_t *)ctx, data, len);
}

void rf_sha256_finish(rf_sha256_ctx_t *ctx, uint8_t out[RF_SHA256_LEN])
{
    psa_finish(ctx, out, RF_SHA256_LEN);
}

#if defined(ESP_PLATFORM)
/* MD5 (the partition table's checksum) from the ROM, as ESP-IDF's own
 * partition code does: a PSA operation does not fit rf_md5_ctx_t. */
#include "esp_rom_md5.h"

_Static_assert(sizeof(rf_md5_ctx_t) >= sizeof(md5_context_t), "rf_md5_ctx_t too small");

void rf_md5_start(rf_md5_ctx_t *ctx)
{
    esp_rom_md5_init((md5_context_t *)ctx);
}

void rf_md5_update(rf_md5_ctx_t *ctx, const void *data, size_t len)
{
    esp_rom_md5_update((md5_context_t *)ctx, data, (uint32_t)len);
}

void rf_md5_finish(rf_md5_ctx_t *ctx, uint8_t out[RF_MD5_LEN])
{
    esp_rom_md5_final(out, (md5_context_t *)ctx);
}
#else
#error "Mbed TLS 4 outside ESP-IDF: no MD5 for rf_md5_*"
#endif

#else /* Mbed TLS 2.28 and 3.x: the hash modules */
#include "mbedtls/md5.h"
#include "mbedtls/sha256.h"

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
#endif

void rf_sha256(const void *data, size_t len, uint8_t out[RF_SHA256_LEN])
{
    rf_sha256_ctx_t c;
    rf_sha256_start(&c);
    rf_sha256_update(&c, data, len);
    rf_sha256_finish(&c, out);
}

void rf_md5(const void *data, size_t len, uint8_t out[RF_MD5_LEN])
{
    rf_md5_ctx_t c;
    rf_md5_start(&c);
    rf_md5_update(&c, data, len);
    rf_md5_finish(&c, out);
}
