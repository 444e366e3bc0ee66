/*
 * rf_sig.h for a build without signature support (Kconfig
 * SELF_REFLASHER_SIGNATURES off; port/esp_idf/component.cmake compiles this
 * file instead of the verifier): no algorithm is supported, a verification
 * key is refused with ESP_ERR_NOT_SUPPORTED (init, upd_next_config and the
 * embedded copy refuse a configuration that carries one, before anything is
 * written), so no image is ever accepted as signed.
 */
#include "rf_sig.h"

esp_err_t rf_sig_load_key(const uint8_t *key, size_t key_len, rf_sig_key_t *out)
{
    (void)key;
    (void)key_len;
    (void)out;
    return ESP_ERR_NOT_SUPPORTED;
}

esp_err_t rf_sig_verify_key(const rf_sig_key_t *key, rf_sig_alg_t alg, const uint8_t hash[32], const uint8_t *sig,
                            size_t sig_len)
{
    (void)key;
    return rf_sig_verify(alg, NULL, 0, hash, sig, sig_len);
}

esp_err_t rf_sig_verify(rf_sig_alg_t alg, const uint8_t *key, size_t key_len, const uint8_t hash[32],
                        const uint8_t *sig, size_t sig_len)
{
    (void)alg;
    (void)key;
    (void)key_len;
    (void)hash;
    (void)sig;
    (void)sig_len;
    return ESP_ERR_NOT_SUPPORTED;
}

rf_sig_alg_t rf_sig_alg_of_tlv(uint16_t tlv_type)
{
    (void)tlv_type;
    return RF_SIG_ALG_NONE;
}

const char *rf_sig_alg_name(rf_sig_alg_t alg)
{
    (void)alg;
    return "none";
}

bool rf_sig_supported(rf_sig_alg_t alg)
{
    (void)alg;
    return false;
}

esp_err_t rf_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    return rf_sig_verify(RF_SIG_ED25519, pub, 32, NULL, sig ? msg : NULL, len);
}
