/*
 * Signature checks for MCUboot images, behind a small interface so the
 * portable core stays free of any crypto library (the host and ESP-IDF
 * builds implement it in crypto/rf_sig_mbedtls.c, mbedTLS 2.28 and 3.x).
 *
 * MCUboot signs the image's SHA-256 (the value of its SHA-256 TLV):
 *  - ECDSA P-256 (TLV 0x22): an ASN.1 DER signature (r, s) of the hash, in
 *    strict DER (re-encoded and compared: long-form lengths, superfluous
 *    leading zeros, negative integers, bytes after s are refused), followed
 *    only by the zeros imgtool's --pad-sig adds (up to RF_SIG_ECDSA_PAD_MAX
 *    bytes in all); some tools write raw r || s (64 bytes): accepted too;
 *  - Ed25519 (TLV 0x24): the 64-byte RFC 8032 signature whose message is the
 *    32-byte hash, verified by libsodium (crypto_sign_verify_detached:
 *    canonical S, no small-order R or key).
 *
 * Keys are accepted as PEM or DER, public (SubjectPublicKeyInfo) or private
 * (SEC1 / PKCS#8: the public part is derived), or raw (65-byte uncompressed
 * P-256 point 04||X||Y, 32-byte Ed25519 public key). An Ed25519 key must
 * be a canonical point of the prime-order subgroup: keys of small order (or
 * with a small-order component) are refused at load (ESP_ERR_INVALID_ARG).
 *
 * Only <stdint.h>/<stddef.h>/<stdbool.h> here, so the core may include it.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RF_SIG_ALG_NONE = 0, RF_SIG_ECDSA_P256 = 1, RF_SIG_ED25519 = 2 } rf_sig_alg_t;

#define RF_SIG_SPKI_MAX 96u
/** Longest ECDSA P-256 signature TLV accepted: the longest DER (72 bytes),
 *  which is also the size imgtool pads to. */
#define RF_SIG_ECDSA_PAD_MAX 72u

/** A public key as MCUboot embeds it: SubjectPublicKeyInfo DER. */
typedef struct rf_sig_key {
    rf_sig_alg_t alg;
    uint8_t spki[RF_SIG_SPKI_MAX];
    size_t spki_len;
    uint8_t raw[65];           /**< 04||X||Y for P-256, the 32-byte key for Ed25519 */
    size_t raw_len;
} rf_sig_key_t;

/** Load a key from PEM, DER or raw bytes (see above).
 *  ESP_ERR_INVALID_ARG: not a key this code understands;
 *  ESP_ERR_NOT_SUPPORTED: a key of another algorithm (RSA, other curves). */
esp_err_t rf_sig_load_key(const uint8_t *key, size_t key_len, rf_sig_key_t *out);

/** Verify sig over the 32-byte hash with a loaded key.
 *  ESP_OK: valid; ESP_ERR_INVALID_CRC: the signature does not verify
 *  (including a malformed signature); ESP_ERR_INVALID_ARG: alg differs from
 *  the key's or NULL arguments; ESP_ERR_NOT_SUPPORTED: unknown alg. */
esp_err_t rf_sig_verify_key(const rf_sig_key_t *key, rf_sig_alg_t alg, const uint8_t hash[32], const uint8_t *sig,
                            size_t sig_len);

/** rf_sig_load_key() then rf_sig_verify_key(). */
esp_err_t rf_sig_verify(rf_sig_alg_t alg, const uint8_t *key, size_t key_len, const uint8_t hash[32],
                        const uint8_t *sig, size_t sig_len);

/** The algorithm of an MCUboot signature TLV type (0x22, 0x24), else NONE. */
rf_sig_alg_t rf_sig_alg_of_tlv(uint16_t tlv_type);
/** "ECDSA-P256", "Ed25519", "none". */
const char *rf_sig_alg_name(rf_sig_alg_t alg);
/** True when this build can verify alg. */
bool rf_sig_supported(rf_sig_alg_t alg);

/** Plain RFC 8032 Ed25519 verification of (msg, len) by libsodium. ESP_OK or
 *  ESP_ERR_INVALID_CRC (also for a non-canonical S, an undecodable point, a
 *  small-order R or key). */
esp_err_t rf_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64]);

#ifdef __cplusplus
}
#endif
