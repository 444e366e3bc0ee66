/*
 * Generators of real-format images for simulated devices, demos and tests
 * (the project ships no binaries): ESP images (bootloaders and apps, with
 * extended header, segments, checksum, appended SHA-256 and, for apps, the
 * application description) and MCUboot images (header, payload, protected
 * TLVs, SHA-256 TLV, optional KEYHASH and ECDSA signature TLVs, optional
 * swap trailer). Code bytes are deterministic filler: these images are
 * well-formed, not runnable.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ESP image chip ids (esp_chip_id_t), by chip name; false if unknown. */
bool rf_chip_id(const char *chip, uint16_t *id);

typedef struct rf_esp_gen {
    uint16_t chip_id;
    bool is_app;                /**< app: the first segment starts with esp_app_desc_t */
    const char *project_name;   /**< apps */
    const char *version;        /**< apps */
    const char *idf_ver;        /**< apps */
    uint32_t code_size;         /**< filler bytes spread over the segments (multiple of 4 enforced) */
    uint32_t seed;              /**< filler pattern */
    /** Bootloaders: whose bootloader the image stands for. The boot model
     *  recognises a bootloader by content, so the stand-in carries a text
     *  that the real one also holds (MCUboot's "Swap type" and "bootutil";
     *  ESP-IDF's "Loaded app from partition"). */
    enum { RF_GEN_BL_MCUBOOT = 0, RF_GEN_BL_ESP_IDF } bl_flavor;
} rf_esp_gen_t;

/** Build an ESP image into a malloc'd buffer; returns its length (0 on failure). */
size_t rf_gen_esp_image(const rf_esp_gen_t *g, uint8_t **out);

typedef struct rf_mcuboot_gen {
    uint32_t payload_size;
    uint32_t seed;
    uint8_t ver_major, ver_minor;
    uint16_t ver_rev;
    uint32_t slot_size;         /**< 0: no padding; else pad with 0xFF to slot_size */
    bool trailer_perm;          /**< with slot_size: write magic + image_ok = 1 (a confirmed, permanent swap) */
    /** Optional signing (mbedTLS, host only). Path to an EC P-256 private key
     *  (PEM or DER; SEC1 or PKCS#8, unencrypted). The image's SHA-256 (the
     *  value of its SHA-256 TLV) is signed with ECDSA and the ASN.1 DER
     *  signature is appended as an ECDSA_SIG TLV (0x22) at the end of the
     *  unprotected TLV area, as imgtool does. NULL: unsigned (the output is
     *  then byte-identical to what it was before signing existed). Other key
     *  types (RSA, Ed25519, other curves) make the generator fail. */
    const char *sign_key_pem;
    /** With sign_key_pem: also a KEYHASH TLV (0x01: SHA-256 of the public
     *  key's SubjectPublicKeyInfo DER, what MCUboot embeds) right after the
     *  SHA-256 TLV, before the signature. Ignored without sign_key_pem. */
    bool sign_keyhash;
} rf_mcuboot_gen_t;

/** Build an MCUboot image (padded to slot_size when given); returns its
 *  length, or 0 on failure (see rf_gen_last_error()). */
size_t rf_gen_mcuboot_image(const rf_mcuboot_gen_t *g, uint8_t **out);

/** Why the last rf_gen_mcuboot_image() call of this thread failed ("" after
 *  a success). */
const char *rf_gen_last_error(void);

#ifdef __cplusplus
}
#endif
