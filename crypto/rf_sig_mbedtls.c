/*
 * rf_sig.h over mbedTLS (2.28 and 3.x): ECDSA P-256 through mbedTLS's pk
 * layer, and a compact Ed25519 verifier written for this project from
 * RFC 8032 (mbedTLS has no Ed25519), over mbedTLS's SHA-512.
 *
 * The Ed25519 code only ever handles public data when verifying (keys,
 * signatures, hashes), so it is written for clarity, not constant time.
 * The one secret it touches is a private key the user hands to the host
 * tool to derive its public half.
 */
#include <stdlib.h>
#include <string.h>
#include "mbedtls/version.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/base64.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha512.h"
#include "rf_crypto.h"
#include "rf_sig.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define RF_SHA512_STARTS mbedtls_sha512_starts_ret
#define RF_SHA512_UPDATE mbedtls_sha512_update_ret
#define RF_SHA512_FINISH mbedtls_sha512_finish_ret
#else
#define RF_SHA512_STARTS mbedtls_sha512_starts
#define RF_SHA512_UPDATE mbedtls_sha512_update
#define RF_SHA512_FINISH mbedtls_sha512_finish
#endif

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
 * Ed25519 (RFC 8032)
 * ======================================================================== */

/* Field elements mod p = 2^255 - 19: 16 signed limbs of 16 bits. Since
 * 2^256 = 38 (mod p), a carry out of the top limb re-enters limb 0 times 38. */
typedef int64_t fe[16];

typedef struct {
    fe x, y, z, t;   /* extended coordinates: x = X/Z, y = Y/Z, x*y = T/Z */
} ge;

typedef struct {
    fe d, d2, sqrtm1;
    ge base;
} ed_consts;

static int64_t floor_div16(int64_t v)
{
    return v >= 0 ? v / 65536 : -((-v + 65535) / 65536);
}

static void fe_carry(fe o)
{
    for (int i = 0; i < 16; i++) {
        int64_t c = floor_div16(o[i]);
        o[i] -= c * 65536;
        if (i < 15) {
            o[i + 1] += c;
        } else {
            o[0] += 38 * c;
        }
    }
}

static void fe_set(fe o, int64_t small)
{
    memset(o, 0, sizeof(fe));
    o[0] = small;
    fe_carry(o);
}

static void fe_copy(fe o, const fe a)
{
    memcpy(o, a, sizeof(fe));
}

static void fe_add(fe o, const fe a, const fe b)
{
    for (int i = 0; i < 16; i++) {
        o[i] = a[i] + b[i];
    }
}

static void fe_sub(fe o, const fe a, const fe b)
{
    for (int i = 0; i < 16; i++) {
        o[i] = a[i] - b[i];
    }
}

static void fe_mul(fe o, const fe a, const fe b)
{
    int64_t t[31] = { 0 };
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            t[i + j] += a[i] * b[j];
        }
    }
    for (int i = 0; i < 15; i++) {
        t[i] += 38 * t[i + 16];
    }
    for (int i = 0; i < 16; i++) {
        o[i] = t[i];
    }
    fe_carry(o);
    fe_carry(o);
}

static void fe_sq(fe o, const fe a)
{
    fe_mul(o, a, a);
}

/* o = a^e for e = lo + (2^8 - 1) * (2^8 + ... + 2^240) + hi * 2^248:
 * every exponent needed here is 0xff bytes between two special ones. */
static void fe_pow(fe o, const fe a, uint8_t lo, uint8_t hi)
{
    fe r, base;
    fe_copy(base, a);
    fe_set(r, 1);
    for (int bit = 255; bit >= 0; bit--) {
        uint8_t byte = bit >= 248 ? hi : (bit < 8 ? lo : 0xff);
        fe_sq(r, r);
        if ((byte >> (bit & 7)) & 1) {
            fe_mul(r, r, base);
        }
    }
    fe_copy(o, r);
}

static void fe_inv(fe o, const fe a)
{
    fe_pow(o, a, 0xeb, 0x7f);   /* p - 2 */
}

/* Canonical little-endian encoding (fully reduced mod p). */
static void fe_pack(uint8_t out[32], const fe a)
{
    static const int64_t P[16] = { 0xffed, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
                                   0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x7fff };
    fe t;
    fe_copy(t, a);
    for (int pass = 0; pass < 8; pass++) {   /* until every limb is in [0, 2^16) */
        fe_carry(t);
        bool ok = true;
        for (int i = 0; i < 16; i++) {
            ok = ok && t[i] >= 0 && t[i] < 65536;
        }
        if (ok) {
            break;
        }
    }
    for (int round = 0; round < 2; round++) {   /* t < 2^256 < 3p */
        fe m;
        int64_t borrow = 0;
        for (int i = 0; i < 16; i++) {
            int64_t d = t[i] - P[i] - borrow;
            borrow = d < 0;
            m[i] = d + borrow * 65536;
        }
        if (!borrow) {
            fe_copy(t, m);
        }
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = (uint8_t)(t[i] & 0xff);
        out[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
    }
}

static void fe_unpack(fe o, const uint8_t in[32])
{
    for (int i = 0; i < 16; i++) {
        o[i] = (int64_t)in[2 * i] | ((int64_t)in[2 * i + 1] << 8);
    }
    o[15] &= 0x7fff;
}

static bool fe_eq(const fe a, const fe b)
{
    uint8_t x[32], y[32];
    fe_pack(x, a);
    fe_pack(y, b);
    return memcmp(x, y, 32) == 0;
}

static int fe_parity(const fe a)
{
    uint8_t x[32];
    fe_pack(x, a);
    return x[0] & 1;
}

static void ge_identity(ge *p)
{
    fe_set(p->x, 0);
    fe_set(p->y, 1);
    fe_set(p->z, 1);
    fe_set(p->t, 0);
}

/* Unified addition on -x^2 + y^2 = 1 + d x^2 y^2 (complete: also doubles). */
static void ge_add(ge *r, const ge *p, const ge *q, const ed_consts *k)
{
    fe a, b, c, d, e, f, g, h, t1, t2;
    fe_sub(t1, p->y, p->x);
    fe_sub(t2, q->y, q->x);
    fe_mul(a, t1, t2);
    fe_add(t1, p->y, p->x);
    fe_add(t2, q->y, q->x);
    fe_mul(b, t1, t2);
    fe_mul(c, p->t, q->t);
    fe_mul(c, c, k->d2);
    fe_mul(d, p->z, q->z);
    fe_add(d, d, d);
    fe_sub(e, b, a);
    fe_sub(f, d, c);
    fe_add(g, d, c);
    fe_add(h, b, a);
    fe_mul(r->x, e, f);
    fe_mul(r->y, g, h);
    fe_mul(r->t, e, h);
    fe_mul(r->z, f, g);
}

/* r = [s]p for a 32-byte little-endian scalar. */
static void ge_scalarmult(ge *r, const ge *p, const uint8_t s[32], const ed_consts *k)
{
    ge q;
    ge_identity(&q);
    for (int bit = 255; bit >= 0; bit--) {
        ge_add(&q, &q, &q, k);
        if ((s[bit >> 3] >> (bit & 7)) & 1) {
            ge_add(&q, &q, p, k);
        }
    }
    *r = q;
}

static void ge_encode(uint8_t out[32], const ge *p)
{
    fe zi, x, y;
    fe_inv(zi, p->z);
    fe_mul(x, p->x, zi);
    fe_mul(y, p->y, zi);
    fe_pack(out, y);
    out[31] ^= (uint8_t)(fe_parity(x) << 7);
}

/* RFC 8032 5.1.3 decoding; false for a non-canonical y or no square root. */
static bool ge_decode(ge *p, const uint8_t in[32], const ed_consts *k)
{
    uint8_t canon[32];
    int sign = in[31] >> 7;
    fe_unpack(p->y, in);
    fe_pack(canon, p->y);
    uint8_t masked = in[31] & 0x7f;
    if (memcmp(canon, in, 31) != 0 || canon[31] != masked) {
        return false;   /* y >= p */
    }
    fe one, u, v, v3, v7, x, vx2, t;
    fe_set(one, 1);
    fe_sq(u, p->y);
    fe_mul(v, u, k->d);
    fe_sub(u, u, one);        /* u = y^2 - 1 */
    fe_add(v, v, one);        /* v = d y^2 + 1 */
    fe_sq(v3, v);
    fe_mul(v3, v3, v);        /* v^3 */
    fe_sq(v7, v3);
    fe_mul(v7, v7, v);        /* v^7 */
    fe_mul(t, u, v7);
    fe_pow(t, t, 0xfd, 0x0f); /* (u v^7)^((p-5)/8) */
    fe_mul(x, u, v3);
    fe_mul(x, x, t);          /* x = u v^3 (u v^7)^((p-5)/8) */
    fe_sq(vx2, x);
    fe_mul(vx2, vx2, v);
    if (!fe_eq(vx2, u)) {
        fe neg_u, zero;
        fe_set(zero, 0);
        fe_sub(neg_u, zero, u);
        if (!fe_eq(vx2, neg_u)) {
            return false;
        }
        fe_mul(x, x, k->sqrtm1);
    }
    fe zero;
    fe_set(zero, 0);
    if (fe_eq(x, zero) && sign) {
        return false;
    }
    if (fe_parity(x) != sign) {
        fe_sub(x, zero, x);
    }
    fe_copy(p->x, x);
    fe_set(p->z, 1);
    fe_mul(p->t, p->x, p->y);
    return true;
}

/* d = -121665/121666, sqrt(-1) = 2^((p-1)/4), B = the point with y = 4/5, x even. */
static bool ed_consts_init(ed_consts *k)
{
    fe n, m, zero;
    fe_set(zero, 0);
    fe_set(n, 121665);
    fe_sub(n, zero, n);
    fe_set(m, 121666);
    fe_inv(m, m);
    fe_mul(k->d, n, m);
    fe_add(k->d2, k->d, k->d);
    fe_set(n, 2);
    fe_pow(k->sqrtm1, n, 0xfb, 0x1f);
    uint8_t by[32];
    fe_set(n, 4);
    fe_set(m, 5);
    fe_inv(m, m);
    fe_mul(n, n, m);
    fe_pack(by, n);
    return ge_decode(&k->base, by, k);
}

/* The group order L = 2^252 + 27742317777372353535851937790883648493, LE. */
static const uint8_t k_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

/* a >= b for 32-byte little-endian numbers. */
static bool le_ge(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (a[i] != b[i]) {
            return a[i] > b[i];
        }
    }
    return true;
}

/* out = in (64 bytes LE) mod L, by shift-and-subtract (public data only). */
static void reduce_mod_order(uint8_t out[32], const uint8_t in[64])
{
    uint8_t r[33] = { 0 };
    uint8_t l33[33];
    memcpy(l33, k_order, 32);
    l33[32] = 0;
    for (int bit = 511; bit >= 0; bit--) {
        unsigned carry = (in[bit >> 3] >> (bit & 7)) & 1;
        for (int i = 0; i < 33; i++) {   /* r = 2r + bit */
            unsigned v = ((unsigned)r[i] << 1) | carry;
            r[i] = (uint8_t)v;
            carry = v >> 8;
        }
        if (le_ge(r, l33, 33)) {   /* r < 2L < 2^254 before, so one subtraction is enough */
            int borrow = 0;
            for (int i = 0; i < 33; i++) {
                int d = (int)r[i] - (int)l33[i] - borrow;
                borrow = d < 0;
                r[i] = (uint8_t)(d + borrow * 256);
            }
        }
    }
    memcpy(out, r, 32);
}

static void sha512_3(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, const uint8_t *c, size_t cl,
                     uint8_t out[64])
{
    mbedtls_sha512_context ctx;
    mbedtls_sha512_init(&ctx);
    (void)RF_SHA512_STARTS(&ctx, 0);
    (void)RF_SHA512_UPDATE(&ctx, a, al);
    (void)RF_SHA512_UPDATE(&ctx, b, bl);
    if (cl) {
        (void)RF_SHA512_UPDATE(&ctx, c, cl);
    }
    (void)RF_SHA512_FINISH(&ctx, out);
    mbedtls_sha512_free(&ctx);
}

esp_err_t rf_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    if (pub == NULL || sig == NULL || (msg == NULL && len != 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    ed_consts k;
    if (!ed_consts_init(&k)) {
        return ESP_FAIL;
    }
    const uint8_t *rb = sig, *s = sig + 32;
    if (le_ge(s, k_order, 32)) {
        return ESP_ERR_INVALID_CRC;   /* S must be < L (malleability) */
    }
    ge a;
    if (!ge_decode(&a, pub, &k)) {
        return ESP_ERR_INVALID_CRC;
    }
    uint8_t h64[64], h[32];
    sha512_3(rb, 32, pub, 32, msg, len, h64);
    reduce_mod_order(h, h64);
    /* R' = [S]B - [h]A; valid when R' encodes to R. */
    ge sb, ha;
    ge_scalarmult(&sb, &k.base, s, &k);
    fe zero;
    fe_set(zero, 0);
    fe_sub(a.x, zero, a.x);
    fe_sub(a.t, zero, a.t);
    ge_scalarmult(&ha, &a, h, &k);
    ge_add(&sb, &sb, &ha, &k);
    uint8_t enc[32];
    ge_encode(enc, &sb);
    return memcmp(enc, rb, 32) == 0 ? ESP_OK : ESP_ERR_INVALID_CRC;
}

/* Public key of an Ed25519 private seed (RFC 8032 5.1.5). */
static bool ed25519_public_from_seed(const uint8_t seed[32], uint8_t pub[32])
{
    ed_consts k;
    if (!ed_consts_init(&k)) {
        return false;
    }
    uint8_t h[64];
    sha512_3(seed, 32, NULL, 0, NULL, 0, h);
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    ge a;
    ge_scalarmult(&a, &k.base, h, &k);
    ge_encode(pub, &a);
    memset(h, 0, sizeof h);
    return true;
}

static bool ed25519_point_valid(const uint8_t pub[32])
{
    ed_consts k;
    ge a;
    return ed_consts_init(&k) && ge_decode(&a, pub, &k);
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

/* A key mbedTLS can parse, reduced to its public SubjectPublicKeyInfo. */
static esp_err_t load_with_pk(const uint8_t *der, size_t len, rf_sig_key_t *out)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int rc = mbedtls_pk_parse_public_key(&pk, der, len);
    if (rc != 0) {
        mbedtls_pk_free(&pk);
        mbedtls_pk_init(&pk);
        mbedtls_entropy_context ent;
        mbedtls_ctr_drbg_context drbg;
        mbedtls_entropy_init(&ent);
        mbedtls_ctr_drbg_init(&drbg);
        rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"rf_sig", 6);
        if (rc == 0) {
#if MBEDTLS_VERSION_MAJOR < 3
            (void)rng_for_parse;
            rc = mbedtls_pk_parse_key(&pk, der, len, NULL, 0);
#else
            rc = mbedtls_pk_parse_key(&pk, der, len, NULL, 0, rng_for_parse, &drbg);
#endif
        }
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&ent);
    }
    if (rc != 0) {
        mbedtls_pk_free(&pk);
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_ERR_NOT_SUPPORTED;
    if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA)) {
        uint8_t buf[256];
        int n = mbedtls_pk_write_pubkey_der(&pk, buf, sizeof buf);   /* written at the end of buf */
        if (n == (int)(sizeof k_p256_spki_prefix + 65) &&
            memcmp(buf + sizeof buf - n, k_p256_spki_prefix, sizeof k_p256_spki_prefix) == 0) {
            set_p256(out, buf + sizeof buf - 65);
            err = ESP_OK;
        }
    }
    mbedtls_pk_free(&pk);
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

static esp_err_t verify_p256(const rf_sig_key_t *key, const uint8_t hash[32], const uint8_t *sig, size_t sig_len)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, key->spki, key->spki_len) != 0) {
        mbedtls_pk_free(&pk);
        return ESP_ERR_INVALID_ARG;
    }
    bool ok = false;
    /* DER, possibly zero-padded by imgtool's fixed-size signature option. */
    if (sig_len >= 8 && sig[0] == 0x30 && sig[1] < 0x80 && (size_t)sig[1] + 2 <= sig_len) {
        size_t der_len = (size_t)sig[1] + 2;
        bool zero_tail = true;
        for (size_t i = der_len; i < sig_len; i++) {
            zero_tail = zero_tail && sig[i] == 0;
        }
        ok = zero_tail && pk_verify(&pk, hash, sig, der_len) == 0;
    }
    /* Raw r || s. */
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
