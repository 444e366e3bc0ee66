/*
 * rf_sig.h over vetted libraries: ECDSA P-256 through mbedTLS's pk layer
 * (2.28 and 3.x), Ed25519 through libsodium (crypto_sign_verify_detached;
 * keys checked with crypto_core_ed25519_is_valid_point). No curve
 * arithmetic is written here: this file parses keys and signature
 * encodings, strictly, and hands the math to the libraries.
 */
#include <stdlib.h>
#include <string.h>
#include "mbedtls/version.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/base64.h"
#include "mbedtls/pk.h"
#include <sodium.h>
#include "rf_crypto.h"
#include "rf_sig.h"

/* SubjectPublicKeyInfo prefixes: SEQUENCE { SEQUENCE { id-ecPublicKey,
 * prime256v1 }, BIT STRING (65 bytes) } and SEQUENCE { SEQUENCE {
 * id-Ed25519 }, BIT STRING (32 bytes) }; PKCS#8 v1 Ed25519 private key. */
static const uint8_t k_p256_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
static const uint8_t k_ed25519_spki_prefix[12] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};
static const uint8_t k_ed25519_pkcs8_prefix[16] = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};

/* ======================================================================== *
 * Ed25519: libsodium
 * ======================================================================== */

static bool sodium_ready(void)
{
    return sodium_init() >= 0;   /* idempotent and thread-safe */
}

esp_err_t rf_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    if (pub == NULL || sig == NULL || (msg == NULL && len != 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!sodium_ready()) {
        return ESP_FAIL;
    }
    static const uint8_t empty[1];
    /* Refuses a non-canonical S, a non-canonical or small-order R or key. */
    return crypto_sign_verify_detached(sig, msg != NULL ? msg : empty, len, pub) == 0 ? ESP_OK
                                                                                      : ESP_ERR_INVALID_CRC;
}

/* Public key of an Ed25519 private seed (RFC 8032 5.1.5). */
static bool ed25519_public_from_seed(const uint8_t seed[32], uint8_t pub[32])
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    bool ok = sodium_ready() && crypto_sign_seed_keypair(pub, sk, seed) == 0;
    sodium_memzero(sk, sizeof sk);
    return ok;
}

/* A key MCUboot could have made: a canonical encoding of a point on the
 * curve, in the prime-order subgroup, not of small order (a small-order key
 * makes "signatures" that verify for many messages). */
static bool ed25519_point_valid(const uint8_t pub[32])
{
    return sodium_ready() && crypto_core_ed25519_is_valid_point(pub) == 1;
}

/* ======================================================================== *
 * Keys
 * ======================================================================== */

static void set_p256(rf_sig_key_t *out, const uint8_t point[65])
{
    out->alg = RF_SIG_ECDSA_P256;
    memcpy(out->spki, k_p256_spki_prefix, sizeof k_p256_spki_prefix);
    memcpy(out->spki + sizeof k_p256_spki_prefix, point, 65);
    out->spki_len = sizeof k_p256_spki_prefix + 65;
    memcpy(out->raw, point, 65);
    out->raw_len = 65;
}

static esp_err_t set_ed25519(rf_sig_key_t *out, const uint8_t pub[32])
{
    if (!ed25519_point_valid(pub)) {
        return ESP_ERR_INVALID_ARG;
    }
    out->alg = RF_SIG_ED25519;
    memcpy(out->spki, k_ed25519_spki_prefix, sizeof k_ed25519_spki_prefix);
    memcpy(out->spki + sizeof k_ed25519_spki_prefix, pub, 32);
    out->spki_len = sizeof k_ed25519_spki_prefix + 32;
    memcpy(out->raw, pub, 32);
    out->raw_len = 32;
    return ESP_OK;
}

static int rng_for_parse(void *arg, unsigned char *buf, size_t len)
{
    return mbedtls_ctr_drbg_random(arg, buf, len);
}

/* A key mbedTLS can parse, reduced to its public SubjectPublicKeyInfo.
 * mbedTLS's contexts (the key, and for a private key the entropy and DRBG
 * its parser wants) live on the heap for the call: on the stack they would
 * be several KiB (tens with some configurations), above a main task's. */
static esp_err_t load_with_pk(const uint8_t *der, size_t len, rf_sig_key_t *out)
{
    struct pk_parse {
        mbedtls_pk_context pk;
        mbedtls_entropy_context ent;
        mbedtls_ctr_drbg_context drbg;
        uint8_t buf[256];
    } *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ESP_ERR_NO_MEM;
    }
    mbedtls_pk_init(&c->pk);
    int rc = mbedtls_pk_parse_public_key(&c->pk, der, len);
    if (rc != 0) {
        mbedtls_pk_free(&c->pk);
        mbedtls_pk_init(&c->pk);
        mbedtls_entropy_init(&c->ent);
        mbedtls_ctr_drbg_init(&c->drbg);
        rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, (const unsigned char *)"rf_sig", 6);
        if (rc == 0) {
#if MBEDTLS_VERSION_MAJOR < 3
            (void)rng_for_parse;
            rc = mbedtls_pk_parse_key(&c->pk, der, len, NULL, 0);
#else
            rc = mbedtls_pk_parse_key(&c->pk, der, len, NULL, 0, rng_for_parse, &c->drbg);
#endif
        }
        mbedtls_ctr_drbg_free(&c->drbg);
        mbedtls_entropy_free(&c->ent);
    }
    esp_err_t err = rc != 0 ? ESP_ERR_INVALID_ARG : ESP_ERR_NOT_SUPPORTED;
    if (rc == 0 && mbedtls_pk_can_do(&c->pk, MBEDTLS_PK_ECDSA)) {
        const size_t cap = sizeof c->buf;
        int n = mbedtls_pk_write_pubkey_der(&c->pk, c->buf, cap);   /* written at the end of buf */
        if (n == (int)(sizeof k_p256_spki_prefix + 65) &&
            memcmp(c->buf + cap - n, k_p256_spki_prefix, sizeof k_p256_spki_prefix) == 0) {
            set_p256(out, c->buf + cap - 65);
            err = ESP_OK;
        }
    }
    mbedtls_pk_free(&c->pk);
    free(c);
    return err;
}

static esp_err_t load_der(const uint8_t *d, size_t len, rf_sig_key_t *out)
{
    if (len == 65 && d[0] == 0x04) {
        set_p256(out, d);
        /* let mbedTLS check that the point is on the curve */
        rf_sig_key_t chk;
        memset(&chk, 0, sizeof chk);
        esp_err_t err = load_with_pk(out->spki, out->spki_len, &chk);
        return err == ESP_OK ? ESP_OK : ESP_ERR_INVALID_ARG;
    }
    if (len == 32) {
        return set_ed25519(out, d);
    }
    if (len == sizeof k_ed25519_spki_prefix + 32 && memcmp(d, k_ed25519_spki_prefix, sizeof k_ed25519_spki_prefix) == 0) {
        return set_ed25519(out, d + sizeof k_ed25519_spki_prefix);
    }
    if (len == sizeof k_ed25519_pkcs8_prefix + 32 &&
        memcmp(d, k_ed25519_pkcs8_prefix, sizeof k_ed25519_pkcs8_prefix) == 0) {
        uint8_t pub[32];
        if (!ed25519_public_from_seed(d + sizeof k_ed25519_pkcs8_prefix, pub)) {
            return ESP_FAIL;
        }
        return set_ed25519(out, pub);
    }
    return load_with_pk(d, len, out);
}

/* PEM armour to DER: the base64 between the first BEGIN and END lines. */
static esp_err_t pem_to_der(const uint8_t *pem, size_t len, uint8_t **der, size_t *der_len)
{
    const char *s = (const char *)pem;
    const char *begin = NULL, *end = NULL;
    for (size_t i = 0; i + 10 <= len; i++) {
        if (begin == NULL && memcmp(s + i, "-----BEGIN", 10) == 0) {
            size_t j = i;
            while (j < len && s[j] != '\n') {
                j++;
            }
            begin = s + j;
            i = j;
        } else if (begin != NULL && i + 8 <= len && memcmp(s + i, "-----END", 8) == 0) {
            end = s + i;
            break;
        }
    }
    if (begin == NULL || end == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t n = (size_t)(end - begin);
    unsigned char *b64 = malloc(n + 1);
    unsigned char *out = malloc(n + 1);
    if (b64 == NULL || out == NULL) {
        free(b64);
        free(out);
        return ESP_ERR_NO_MEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char c = begin[i];
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
            b64[m++] = (unsigned char)c;
        }
    }
    size_t olen = 0;
    int rc = mbedtls_base64_decode(out, n + 1, &olen, b64, m);
    free(b64);
    if (rc != 0 || olen == 0) {
        free(out);
        return ESP_ERR_INVALID_ARG;
    }
    *der = out;
    *der_len = olen;
    return ESP_OK;
}

esp_err_t rf_sig_load_key(const uint8_t *key, size_t key_len, rf_sig_key_t *out)
{
    if (key == NULL || out == NULL || key_len == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    bool pem = false;
    for (size_t i = 0; i + 10 <= key_len && !pem; i++) {
        pem = memcmp(key + i, "-----BEGIN", 10) == 0;
    }
    if (!pem) {
        return load_der(key, key_len, out);
    }
    uint8_t *der = NULL;
    size_t der_len = 0;
    esp_err_t err = pem_to_der(key, key_len, &der, &der_len);
    if (err == ESP_OK) {
        err = load_der(der, der_len, out);
        memset(der, 0, der_len);
        free(der);
    }
    return err;
}

/* ======================================================================== *
 * Verification
 * ======================================================================== */

/* DER INTEGER of a 32-byte big-endian unsigned value. */
static size_t der_int(uint8_t *o, const uint8_t v[32])
{
    size_t i = 0;
    while (i < 31 && v[i] == 0) {
        i++;
    }
    size_t n = 32 - i;
    bool pad = (v[i] & 0x80) != 0;
    o[0] = 0x02;
    o[1] = (uint8_t)(n + pad);
    size_t k = 2;
    if (pad) {
        o[k++] = 0;
    }
    memcpy(o + k, v + i, n);
    return k + n;
}

static int pk_verify(mbedtls_pk_context *pk, const uint8_t hash[32], const uint8_t *sig, size_t len)
{
    return mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, hash, 32, sig, len);
}

/* One DER INTEGER at p[0..avail): its value right-aligned into v[32] (an
 * ECDSA P-256 scalar); the bytes it took, 0 if it is no such INTEGER. The
 * encoding's strictness is checked by the caller's re-encoding. */
static size_t der_int_parse(const uint8_t *p, size_t avail, uint8_t v[32])
{
    if (avail < 3 || p[0] != 0x02 || p[1] == 0 || p[1] >= 0x80 || (size_t)p[1] + 2 > avail) {
        return 0;
    }
    size_t n = p[1];
    const uint8_t *d = p + 2;
    while (n > 32 && *d == 0) {
        d++;
        n--;
    }
    if (n > 32) {
        return 0;
    }
    memset(v, 0, 32);
    memcpy(v + 32 - n, d, n);
    return (size_t)p[1] + 2;
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } in strict DER:
 * parsed, re-encoded minimally and compared byte for byte, so a long-form
 * length, a superfluous leading zero, a missing sign byte or bytes inside
 * the SEQUENCE after s are all refused. After the SEQUENCE only zeros may
 * follow, up to RF_SIG_ECDSA_PAD_MAX bytes in all: imgtool's --pad-sig
 * pads the DER signature with zeros to that fixed size. On success the
 * DER's length (without the padding). */
static size_t ecdsa_der_strict(const uint8_t *sig, size_t sig_len)
{
    if (sig_len < 8 || sig_len > RF_SIG_ECDSA_PAD_MAX || sig[0] != 0x30 || sig[1] >= 0x80 ||
        (size_t)sig[1] + 2 > sig_len) {
        return 0;
    }
    const size_t der_len = (size_t)sig[1] + 2;
    uint8_t r[32], s[32];
    size_t a = der_int_parse(sig + 2, der_len - 2, r);
    size_t b = a ? der_int_parse(sig + 2 + a, der_len - 2 - a, s) : 0;
    if (a == 0 || b == 0 || 2 + a + b != der_len) {
        return 0;
    }
    uint8_t re[RF_SIG_ECDSA_PAD_MAX];
    size_t n = der_int(re + 2, r);
    n += der_int(re + 2 + n, s);
    re[0] = 0x30;
    re[1] = (uint8_t)n;
    if (n + 2 != der_len || memcmp(re, sig, der_len) != 0) {
        return 0;
    }
    for (size_t i = der_len; i < sig_len; i++) {
        if (sig[i] != 0) {
            return 0;
        }
    }
    return der_len;
}

static esp_err_t verify_p256(const rf_sig_key_t *key, const uint8_t hash[32], const uint8_t *sig, size_t sig_len)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, key->spki, key->spki_len) != 0) {
        mbedtls_pk_free(&pk);
        return ESP_ERR_INVALID_ARG;
    }
    bool ok = false;
    size_t der_len = ecdsa_der_strict(sig, sig_len);
    if (der_len > 0) {
        ok = pk_verify(&pk, hash, sig, der_len) == 0;
    }
    /* Raw r || s (64 bytes, no encoding to be lax about). */
    if (!ok && sig_len == 64) {
        uint8_t der[72];
        size_t n = der_int(der + 2, sig);
        n += der_int(der + 2 + n, sig + 32);
        der[0] = 0x30;
        der[1] = (uint8_t)n;
        ok = pk_verify(&pk, hash, der, n + 2) == 0;
    }
    mbedtls_pk_free(&pk);
    return ok ? ESP_OK : ESP_ERR_INVALID_CRC;
}

esp_err_t rf_sig_verify_key(const rf_sig_key_t *key, rf_sig_alg_t alg, const uint8_t hash[32], const uint8_t *sig,
                            size_t sig_len)
{
    if (key == NULL || hash == NULL || (sig == NULL && sig_len != 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (alg != RF_SIG_ECDSA_P256 && alg != RF_SIG_ED25519) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (alg != key->alg) {
        return ESP_ERR_INVALID_ARG;
    }
    if (alg == RF_SIG_ECDSA_P256) {
        return verify_p256(key, hash, sig, sig_len);
    }
    if (sig_len != 64 || key->raw_len != 32) {
        return ESP_ERR_INVALID_CRC;
    }
    return rf_ed25519_verify(key->raw, hash, 32, sig);
}

esp_err_t rf_sig_verify(rf_sig_alg_t alg, const uint8_t *key, size_t key_len, const uint8_t hash[32],
                        const uint8_t *sig, size_t sig_len)
{
    rf_sig_key_t k;
    esp_err_t err = rf_sig_load_key(key, key_len, &k);
    if (err != ESP_OK) {
        return err == ESP_ERR_NOT_SUPPORTED ? ESP_ERR_INVALID_ARG : err;
    }
    return rf_sig_verify_key(&k, alg, hash, sig, sig_len);
}

rf_sig_alg_t rf_sig_alg_of_tlv(uint16_t tlv_type)
{
    switch (tlv_type) {
    case 0x22: return RF_SIG_ECDSA_P256;
    case 0x24: return RF_SIG_ED25519;
    default: return RF_SIG_ALG_NONE;
    }
}

const char *rf_sig_alg_name(rf_sig_alg_t alg)
{
    switch (alg) {
    case RF_SIG_ECDSA_P256: return "ECDSA-P256";
    case RF_SIG_ED25519: return "Ed25519";
    default: return "none";
    }
}

bool rf_sig_supported(rf_sig_alg_t alg)
{
    return alg == RF_SIG_ECDSA_P256 || alg == RF_SIG_ED25519;
}
