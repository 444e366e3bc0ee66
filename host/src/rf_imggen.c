/* Real-format image generators (see rf_imggen.h). Layouts follow the ESP-IDF
 * "App Image Format" documentation and MCUboot's design documentation. */
#include "rf_imggen.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbedtls/version.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif
#include "rf_crypto.h"
#include "rf_util.h"

static const struct {
    const char *name;
    uint16_t id;
} k_ids[] = {
    { "esp32", 0 },    { "esp32s2", 2 },  { "esp32c3", 5 },  { "esp32s3", 9 },   { "esp32c2", 12 },
    { "esp32c6", 13 }, { "esp32h2", 16 }, { "esp32p4", 18 }, { "esp32c61", 20 }, { "esp32c5", 23 },
};

bool rf_chip_id(const char *chip, uint16_t *id)
{
    for (size_t i = 0; i < sizeof k_ids / sizeof k_ids[0]; i++) {
        if (strcmp(chip, k_ids[i].name) == 0) {
            *id = k_ids[i].id;
            return true;
        }
    }
    return false;
}

static void filler(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

#define ESP_APP_DESC_LEN 256u

/* A NUL-padded text field of `cap` bytes (always NUL-terminated). */
static void put_str(uint8_t *dst, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(dst, s, n);
    memset(dst + n, 0, cap - n);
}

size_t rf_gen_esp_image(const rf_esp_gen_t *g, uint8_t **out)
{
    /* Three segments like a real image: DROM/DRAM data, IRAM code, more code. */
    uint32_t code = (g->code_size + 3u) & ~3u;
    if (code < 48) {
        code = 48;
    }
    uint32_t seg_len[3];
    seg_len[0] = ((code / 4) + 3u) & ~3u;
    seg_len[1] = ((code / 2) + 3u) & ~3u;
    seg_len[2] = code - seg_len[0] - seg_len[1];
    seg_len[2] = (seg_len[2] + 3u) & ~3u;
    if (g->is_app) {
        seg_len[0] += ESP_APP_DESC_LEN;
    }
    /* Apps: DROM, IRAM, IROM (flash-mapped). Bootloaders: internal RAM
     * only, where a ROM can load them (ESP32: as ESP-IDF's own bootloader). */
    uint32_t load[3] = { 0x3F400020u, 0x40080000u, 0x400D0020u };
    if (!g->is_app) {
        static const uint32_t bl_esp32[3] = { 0x3FFF0000u, 0x40078000u, 0x40080400u };
        static const uint32_t bl_s2[3] = { 0x3FFE0000u, 0x40050000u, 0x40060000u };
        static const uint32_t bl_p4[3] = { 0x4FF30000u, 0x4FF40000u, 0x4FF50000u };
        static const uint32_t bl_other[3] = { 0x3FCD0000u, 0x403C8000u, 0x403D0000u };
        const uint32_t *bl = g->chip_id == 0 ? bl_esp32 : g->chip_id == 2 ? bl_s2 : g->chip_id == 18 ? bl_p4 : bl_other;
        memcpy(load, bl, sizeof load);
    }
    static const char mark_mcuboot[] = "[INF] Image index: %d, Swap type: %s (bootutil)";
    static const char mark_idf[] = "I (%lu) %s: Loaded app from partition at offset 0x%x";
    size_t body = 24;
    for (int i = 0; i < 3; i++) {
        body += 8 + seg_len[i];
    }
    size_t with_sum = (body + 1 + 15) & ~(size_t)15;   /* checksum byte ends a 16-byte boundary */
    size_t total = with_sum + RF_SHA256_LEN;
    uint8_t *b = calloc(1, total);
    if (b == NULL) {
        return 0;
    }
    b[0] = 0xE9;
    b[1] = 3;
    b[2] = 2;       /* DIO */
    b[3] = 0x20;    /* 4 MB, 40 MHz */
    rf_put_le32(b + 4, load[1] + 0x400);  /* entry point inside the IRAM segment */
    b[8] = 0xEE;    /* WP pin: not used */
    rf_put_le16(b + 12, g->chip_id);
    b[14] = 0;
    rf_put_le16(b + 15, 0);
    rf_put_le16(b + 17, 0xFFFF);
    b[23] = 1;      /* SHA-256 appended */
    size_t off = 24;
    uint8_t sum = 0xEF;
    for (int i = 0; i < 3; i++) {
        rf_put_le32(b + off, load[i]);
        rf_put_le32(b + off + 4, seg_len[i]);
        off += 8;
        uint8_t *d = b + off;
        filler(d, seg_len[i], g->seed + (uint32_t)i);
        if (i == 0 && !g->is_app) {
            const char *m = g->bl_flavor == RF_GEN_BL_ESP_IDF ? mark_idf : mark_mcuboot;
            size_t ml = strlen(m) + 1;
            if (ml <= seg_len[i]) {
                memcpy(d, m, ml);
            }
        }
        if (i == 0 && g->is_app) {
            memset(d, 0, ESP_APP_DESC_LEN);
            rf_put_le32(d, 0xABCD5432u);                       /* magic_word */
            rf_put_le32(d + 4, 0);                             /* secure_version */
            put_str(d + 16, g->version ? g->version : "1.0.0", 32);
            put_str(d + 48, g->project_name ? g->project_name : "app", 32);
            put_str(d + 80, "00:00:00", 16);           /* time */
            put_str(d + 96, "Jan  1 2026", 16);        /* date */
            put_str(d + 112, g->idf_ver ? g->idf_ver : "v5.1.4", 32);
            filler(d + 144, 32, g->seed ^ 0x5A5A);             /* app_elf_sha256 */
        }
        for (uint32_t k = 0; k < seg_len[i]; k++) {
            sum ^= d[k];
        }
        off += seg_len[i];
    }
    b[with_sum - 1] = sum;
    rf_sha256(b, with_sum, b + with_sum);
    *out = b;
    return total;
}

/* ---- MCUboot signing (mbedTLS 2.28 and 3.x) ------------------------------ */

static _Thread_local char g_err[160];

const char *rf_gen_last_error(void)
{
    return g_err;
}

#define GEN_ERR(...) snprintf(g_err, sizeof g_err, __VA_ARGS__)

/* SubjectPublicKeyInfo prefix of an uncompressed P-256 public key:
 * SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes) }. */
static const uint8_t k_p256_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
#define P256_SPKI_LEN (sizeof k_p256_spki_prefix + 65u)
#define P256_SIG_MAX 72u   /* DER SEQUENCE { INTEGER r, INTEGER s }, each up to 33 bytes */

/* Sign the 32-byte hash with the EC P-256 private key in `path` (ECDSA, DER
 * signature; deterministic RFC 6979 nonces when mbedTLS has them). Also gives
 * the SHA-256 of the public key's SubjectPublicKeyInfo DER. */
static bool sign_hash(const char *path, const uint8_t hash[RF_SHA256_LEN], uint8_t sig[P256_SIG_MAX],
                      size_t *sig_len, uint8_t keyhash[RF_SHA256_LEN])
{
    mbedtls_pk_context pk;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_init(&pk);
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    bool ok = false;
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_PSA_CRYPTO_C)
    /* builds whose pk/md layers go through PSA need it; harmless otherwise */
    if (psa_crypto_init() != PSA_SUCCESS) {
        GEN_ERR("psa_crypto_init failed");
        goto out;
    }
#endif
    int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"rf_imggen", 9);
    if (rc != 0) {
        GEN_ERR("cannot seed the random generator (mbedTLS -0x%04x)", (unsigned)-rc);
        goto out;
    }
#if MBEDTLS_VERSION_MAJOR < 3
    rc = mbedtls_pk_parse_keyfile(&pk, path, NULL);
#else
    rc = mbedtls_pk_parse_keyfile(&pk, path, NULL, mbedtls_ctr_drbg_random, &drbg);
#endif
    if (rc != 0) {
        GEN_ERR("cannot read a private key from %s (mbedTLS -0x%04x)", path, (unsigned)-rc);
        goto out;
    }
    uint8_t spki[160];
    int n = mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA) ? mbedtls_pk_write_pubkey_der(&pk, spki, sizeof spki) : -1;
    /* written at the end of the buffer */
    if (n != (int)P256_SPKI_LEN ||
        memcmp(spki + sizeof spki - P256_SPKI_LEN, k_p256_spki_prefix, sizeof k_p256_spki_prefix) != 0) {
        GEN_ERR("%s is not an EC P-256 private key (only ECDSA P-256 signing is supported)", path);
        goto out;
    }
    rf_sha256(spki + sizeof spki - P256_SPKI_LEN, P256_SPKI_LEN, keyhash);
    uint8_t buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE > P256_SIG_MAX ? MBEDTLS_PK_SIGNATURE_MAX_SIZE : P256_SIG_MAX];
    size_t len = 0;
#if MBEDTLS_VERSION_MAJOR < 3
    rc = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, hash, RF_SHA256_LEN, buf, &len, mbedtls_ctr_drbg_random, &drbg);
#else
    rc = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, hash, RF_SHA256_LEN, buf, sizeof buf, &len, mbedtls_ctr_drbg_random,
                         &drbg);
#endif
    if (rc != 0 || len == 0 || len > P256_SIG_MAX) {
        GEN_ERR("signing with %s failed (mbedTLS -0x%04x)", path, (unsigned)(rc < 0 ? -rc : rc));
        goto out;
    }
    memcpy(sig, buf, len);
    *sig_len = len;
    ok = true;
out:
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return ok;
}

size_t rf_gen_mcuboot_image(const rf_mcuboot_gen_t *g, uint8_t **out)
{
    g_err[0] = 0;
    const bool sign = g->sign_key_pem != NULL, keyhash = sign && g->sign_keyhash;
    const uint32_t hdr = 32, prot = 12;
    const size_t hashed = (size_t)hdr + g->payload_size + prot;
    /* Unprotected TLVs: info, SHA-256, [KEYHASH], [ECDSA_SIG]. The signature's
     * length is known once it is made: size for the longest first. */
    const size_t unprot_min = 4 + 4 + RF_SHA256_LEN + (keyhash ? 4 + RF_SHA256_LEN : 0) + (sign ? 4 + 8 : 0);
    const size_t unprot_max = unprot_min + (sign ? P256_SIG_MAX - 8 : 0);
    if (g->slot_size && g->slot_size < hashed + unprot_min + 48u) {
        GEN_ERR("the image does not fit a 0x%x-byte slot with its trailer", (unsigned)g->slot_size);
        return 0;
    }
    const size_t cap = g->slot_size && g->slot_size > hashed + unprot_max ? g->slot_size : hashed + unprot_max;
    uint8_t *b = malloc(cap);
    if (b == NULL) {
        GEN_ERR("out of memory");
        return 0;
    }
    memset(b, 0xFF, cap);
    memset(b, 0, hdr);
    rf_put_le32(b, 0x96F3B83Du);
    rf_put_le32(b + 4, 0);                 /* load address */
    rf_put_le16(b + 8, (uint16_t)hdr);
    rf_put_le16(b + 10, (uint16_t)prot);
    rf_put_le32(b + 12, g->payload_size);
    rf_put_le32(b + 16, 0);                /* flags */
    b[20] = g->ver_major;
    b[21] = g->ver_minor;
    rf_put_le16(b + 22, g->ver_rev);
    rf_put_le32(b + 24, 0);                /* build number */
    filler(b + hdr, g->payload_size, g->seed);
    uint8_t *p = b + hdr + g->payload_size;
    rf_put_le16(p, 0x6908);                /* protected TLV info */
    rf_put_le16(p + 2, (uint16_t)prot);
    rf_put_le16(p + 4, 0x50);              /* security counter */
    rf_put_le16(p + 6, 4);
    rf_put_le32(p + 8, 0);
    p += prot;
    uint8_t hash[RF_SHA256_LEN], sig[P256_SIG_MAX], kh[RF_SHA256_LEN];
    size_t sig_len = 0;
    rf_sha256(b, hashed, hash);
    if (sign && !sign_hash(g->sign_key_pem, hash, sig, &sig_len, kh)) {
        free(b);
        return 0;
    }
    const size_t unprot = 4 + 4 + RF_SHA256_LEN + (keyhash ? 4 + RF_SHA256_LEN : 0) + (sign ? 4 + sig_len : 0);
    const size_t img_len = hashed + unprot;
    const size_t total = g->slot_size ? g->slot_size : img_len;
    if (total < img_len + (g->slot_size ? 48u : 0u)) {
        GEN_ERR("the image does not fit a 0x%x-byte slot with its trailer", (unsigned)g->slot_size);
        free(b);
        return 0;
    }
    rf_put_le16(p, 0x6907);                /* TLV info */
    rf_put_le16(p + 2, (uint16_t)unprot);
    rf_put_le16(p + 4, 0x10);              /* SHA-256 */
    rf_put_le16(p + 6, RF_SHA256_LEN);
    memcpy(p + 8, hash, RF_SHA256_LEN);
    p += 8 + RF_SHA256_LEN;
    if (keyhash) {
        rf_put_le16(p, 0x01);              /* KEYHASH */
        rf_put_le16(p + 2, RF_SHA256_LEN);
        memcpy(p + 4, kh, RF_SHA256_LEN);
        p += 4 + RF_SHA256_LEN;
    }
    if (sign) {
        rf_put_le16(p, 0x22);              /* ECDSA_SIG */
        rf_put_le16(p + 2, (uint16_t)sig_len);
        memcpy(p + 4, sig, sig_len);
    }
    if (g->slot_size && g->trailer_perm) {
        static const uint8_t magic[16] = { 0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                           0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80 };
        memcpy(b + total - 16, magic, 16);
        b[total - 24] = 0x01;              /* image_ok */
    }
    *out = b;
    return total;
}
