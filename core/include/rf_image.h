/*
 * Image inspectors: "is this staged image what it claims to be?", asked
 * before a single byte of it reaches its destination.
 *
 *  - ESP image format (second-stage bootloaders and ESP-IDF apps), as the
 *    ESP-IDF "App Image Format" documentation describes it: 8-byte header
 *    (magic 0xE9), 16-byte extended header, segments (8-byte header each),
 *    zero padding to a 16-byte boundary whose last byte is the XOR checksum
 *    (seed 0xEF) of all segment data, then optionally the SHA-256 of
 *    everything before it. Apps start their first segment with
 *    esp_app_desc_t (magic word 0xABCD5432); ESP-IDF >= 5 bootloaders with
 *    esp_bootloader_desc_t (magic byte 0x50).
 *  - MCUboot image format (MCUboot "design.md"): 32-byte header (magic
 *    0x96F3B83D), image, protected TLV area (info magic 0x6908), TLV area
 *    (0x6907) with the SHA-256 of header + image + protected TLVs and an
 *    optional signature over that hash; in a slot, the swap trailer at the
 *    slot's end.
 *
 * Portable core: freestanding C11, no heap, no globals. Every read goes
 * through an rf_reader_t, so the same code inspects a RAM buffer, a file
 * loaded by a tool or a flash region through the flash port. Images are
 * treated as hostile: every length taken from an image is checked against
 * the reader's size (in 64-bit arithmetic) before anything is read with it,
 * and every loop is bounded.
 *
 * The result of an inspection says exactly which check failed: an
 * rf_img_err_t (with a fixed message from rf_img_err_str()) plus the file
 * offset the failing check looked at. Inspection continues to fill in as
 * many fields as it safely can after a failure, so a tool can still print
 * what it saw.
 */
#pragma once
#include "rf_crypto.h"
#include "rf_err.h"
#include "rf_flash.h"
#include "rf_util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- readers ------------------------------------------------------------- */

/** Random-access reader of `size` bytes: read(arg, off, buf, len) fills buf
 *  with bytes [off, off + len). Callers go through rf_reader_read(), which
 *  refuses ranges outside [0, size). */
typedef struct rf_reader {
    rf_read_fn read;
    void *arg;
    uint32_t size;
} rf_reader_t;

/** Context of a reader over a RAM buffer (owned by the caller). */
typedef struct rf_reader_buf {
    const uint8_t *data;
    uint32_t len;
} rf_reader_buf_t;

/** Context of a reader over [base, base + size) of a flash port. */
typedef struct rf_reader_flash {
    const rf_flash_t *flash;
    uint32_t base;
} rf_reader_flash_t;

/** Context of a reader over a window [off, off + size) of another reader. */
typedef struct rf_reader_window {
    const rf_reader_t *parent;
    uint32_t off;
} rf_reader_window_t;

/** A reader over buf[0, len). ESP_ERR_INVALID_ARG: NULL, or len > 4 GiB - 1. */
esp_err_t rf_reader_from_buffer(rf_reader_t *r, rf_reader_buf_t *ctx, const void *buf, size_t len);
/** A reader over [base, base + size) of the flash. ESP_ERR_INVALID_ARG when
 *  the range is not inside the chip. */
esp_err_t rf_reader_from_flash(rf_reader_t *r, rf_reader_flash_t *ctx, const rf_flash_t *flash, uint32_t base,
                               uint32_t size);
/** A reader over [off, off + size) of `parent` (e.g. one partition of a
 *  whole-flash dump). ESP_ERR_INVALID_ARG when the window is not inside. */
esp_err_t rf_reader_window(rf_reader_t *r, rf_reader_window_t *ctx, const rf_reader_t *parent, uint32_t off,
                           uint32_t size);
/** Bounds-checked read: ESP_ERR_INVALID_SIZE when [off, off + len) is not
 *  inside [0, size); otherwise what the reader returns. */
esp_err_t rf_reader_read(const rf_reader_t *r, uint32_t off, void *buf, uint32_t len);
/** SHA-256 of [off, off + len) read through read(arg, ...) into buf, at
 *  most `chunk` bytes per call (> 0). The one hashing loop behind
 *  rf_reader_sha256() and rf_flash_sha256() (rf_write.h). A read error is
 *  returned as it is (the context finished all the same). */
esp_err_t rf_sha256_read(rf_read_fn read, void *arg, uint32_t off, uint32_t len, uint8_t *buf, uint32_t chunk,
                         uint8_t digest[RF_SHA256_LEN]);
/** SHA-256 of [off, off + len) of the reader, through scratch. */
esp_err_t rf_reader_sha256(const rf_reader_t *r, uint32_t off, uint32_t len, uint8_t *scratch, size_t scratch_len,
                           uint8_t digest[RF_SHA256_LEN]);

/* ---- results ------------------------------------------------------------- */

/** Which check failed. Shared by both inspectors. */
typedef enum rf_img_err {
    RF_IMG_OK = 0,
    RF_IMG_ERR_ARG,            /**< bad call: NULL, scratch below RF_IMAGE_SCRATCH_MIN */
    RF_IMG_ERR_READ,           /**< the reader failed (flash error) */
    RF_IMG_ERR_MAGIC,          /**< not this format: wrong magic */
    RF_IMG_ERR_TRUNCATED,      /**< the data ends before the image does */
    /* ESP image */
    RF_IMG_ERR_CHIP_ID,        /**< chip id invalid (0xFFFF) or not the expected chip */
    RF_IMG_ERR_SEGMENT_COUNT,  /**< 0 or more than RF_ESP_MAX_SEGMENTS segments */
    RF_IMG_ERR_SEGMENT_BOUNDS, /**< a segment length no ESP image can have (> 16 MiB, address wraps) */
    RF_IMG_ERR_SEGMENT_ALIGN,  /**< a segment length not a multiple of 4 */
    RF_IMG_ERR_CHECKSUM,       /**< XOR checksum of the segment data differs from the stored byte */
    RF_IMG_ERR_SHA256,         /**< computed SHA-256 differs from the appended hash / SHA-256 TLV */
    /* MCUboot image */
    RF_IMG_ERR_HEADER,         /**< header field impossible (ih_hdr_size < 32) */
    RF_IMG_ERR_TLV_MAGIC,      /**< TLV info magic missing (0x6908 protected / 0x6907) */
    RF_IMG_ERR_TLV_BOUNDS,     /**< a TLV area or entry runs outside its area or the data */
    RF_IMG_ERR_TLV_LEN,        /**< a TLV with the wrong length for its type */
    RF_IMG_ERR_TLV_DUP,        /**< a TLV that must be unique appears twice */
    RF_IMG_ERR_NO_HASH,        /**< no SHA-256 TLV in the TLV area */
    RF_IMG_ERR_ENCRYPTED,      /**< encrypted image: its hash covers plaintext we cannot see */
    RF_IMG_ERR_SLOT_SIZE,      /**< header + image + TLVs + trailer do not fit the slot */
    RF_IMG_ERR_TRAILER,        /**< the swap trailer's magic is neither valid nor erased */
    RF_IMG_ERR_UNSIGNED,       /**< a key was given but the image carries no signature */
    RF_IMG_ERR_SIGNATURE,      /**< the signature does not verify with the given key */
    RF_IMG_ERR_SIG_UNSUPPORTED,/**< a key was given but this signature type cannot be checked */
    RF_IMG_ERR__COUNT
} rf_img_err_t;

/** Each error's identifier (the enum's name without RF_IMG_ERR_) and its
 *  one-line message, in rf_img_err_t's order: rf_image_common.c expands the
 *  identifiers, rf_texts.c the messages and the enum names. */
#define RF_IMG_ERRORS(X) \
    X(RF_IMG_OK, "OK", "valid") \
    X(RF_IMG_ERR_ARG, "ARG", "bad arguments (NULL or scratch buffer too small)") \
    X(RF_IMG_ERR_READ, "READ", "reading the image failed") \
    X(RF_IMG_ERR_MAGIC, "MAGIC", "wrong magic: not an image of this format") \
    X(RF_IMG_ERR_TRUNCATED, "TRUNCATED", "truncated: the data ends before the image does") \
    X(RF_IMG_ERR_CHIP_ID, "CHIP_ID", "chip id invalid or not the expected chip") \
    X(RF_IMG_ERR_SEGMENT_COUNT, "SEGMENT_COUNT", "segment count is 0 or above 16") \
    X(RF_IMG_ERR_SEGMENT_BOUNDS, "SEGMENT_BOUNDS", "segment length out of bounds") \
    X(RF_IMG_ERR_SEGMENT_ALIGN, "SEGMENT_ALIGN", "segment length not a multiple of 4") \
    X(RF_IMG_ERR_CHECKSUM, "CHECKSUM", "XOR checksum of the segment data does not match the stored byte") \
    X(RF_IMG_ERR_SHA256, "SHA256", "SHA-256 of the image does not match the stored hash") \
    X(RF_IMG_ERR_HEADER, "HEADER", "impossible header field") \
    X(RF_IMG_ERR_TLV_MAGIC, "TLV_MAGIC", "TLV area magic missing or wrong") \
    X(RF_IMG_ERR_TLV_BOUNDS, "TLV_BOUNDS", "TLV area or TLV entry runs outside its area or the data") \
    X(RF_IMG_ERR_TLV_LEN, "TLV_LEN", "TLV has the wrong length for its type") \
    X(RF_IMG_ERR_TLV_DUP, "TLV_DUP", "TLV that must be unique appears more than once") \
    X(RF_IMG_ERR_NO_HASH, "NO_HASH", "no SHA-256 TLV") \
    X(RF_IMG_ERR_ENCRYPTED, "ENCRYPTED", "encrypted image: its hash covers plaintext that cannot be checked") \
    X(RF_IMG_ERR_SLOT_SIZE, "SLOT_SIZE", "image and trailer do not fit in the slot") \
    X(RF_IMG_ERR_TRAILER, "TRAILER", "swap trailer magic is neither valid nor erased") \
    X(RF_IMG_ERR_UNSIGNED, "UNSIGNED", "a key was given but the image has no signature") \
    X(RF_IMG_ERR_SIGNATURE, "SIGNATURE", "signature does not verify with the given key") \
    X(RF_IMG_ERR_SIG_UNSUPPORTED, "SIG_UNSUPPORTED", "signature type or key cannot be checked by this build")

/** Fixed one-line message for an error ("XOR checksum mismatch", ...; rf_texts.c). */
const char *rf_img_err_str(rf_img_err_t e);
/** Short identifier ("RF_IMG_ERR_CHECKSUM"; rf_texts.c). */
const char *rf_img_err_name(rf_img_err_t e);
/** The same without its prefix ("CHECKSUM"): what a device logs. */
const char *rf_img_err_id(rf_img_err_t e);

/** Scratch every inspector needs at least; 4096 reads flash efficiently. */
#define RF_IMAGE_SCRATCH_MIN 256u

/* ---- ESP image ----------------------------------------------------------- */

#define RF_ESP_IMAGE_MAGIC 0xE9u
#define RF_ESP_HEADER_LEN 24u          /**< 8-byte header + 16-byte extended header */
#define RF_ESP_SEGMENT_HEADER_LEN 8u
#define RF_ESP_MAX_SEGMENTS 16u
#define RF_ESP_MAX_SEGMENT_LEN 0x1000000u
#define RF_ESP_CHECKSUM_SEED 0xEFu
#define RF_ESP_APP_DESC_MAGIC 0xABCD5432u
#define RF_ESP_APP_DESC_LEN 256u
#define RF_ESP_BOOTLOADER_DESC_MAGIC 0x50u
#define RF_ESP_BOOTLOADER_DESC_LEN 80u
#define RF_ESP_CHIP_ID_INVALID 0xFFFFu
#define RF_ESP_CHIP_ANY (-1)

typedef enum { RF_ESP_KIND_UNKNOWN = 0, RF_ESP_KIND_BOOTLOADER, RF_ESP_KIND_APP } rf_esp_kind_t;

typedef struct rf_esp_segment {
    uint32_t load_addr;
    uint32_t len;
    uint32_t offset;   /**< file offset of the segment's data (its header is 8 bytes before) */
} rf_esp_segment_t;

/** esp_app_desc_t, strings NUL-terminated. */
typedef struct rf_esp_app_desc {
    uint32_t magic_word;
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;   /**< log2 of the MMU page size; 0 = not recorded */
} rf_esp_app_desc_t;

/** esp_bootloader_desc_t (ESP-IDF >= 5.1), strings NUL-terminated. */
typedef struct rf_esp_bootloader_desc {
    uint32_t version;
    char idf_ver[33];
    char date_time[25];
} rf_esp_bootloader_desc_t;

typedef struct rf_esp_image_info {
    rf_img_err_t err;          /**< RF_IMG_OK: every check passed */
    uint32_t err_offset;       /**< file offset the failing check looked at */
    int32_t err_segment;       /**< segment of a segment error, else -1 */
    uint32_t file_size;        /**< reader size */
    rf_esp_kind_t kind;
    /* header */
    uint8_t magic;
    uint8_t segment_count;
    uint8_t spi_mode;          /**< 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, 4 FAST_READ, 5 SLOW_READ */
    uint8_t spi_size_freq;     /**< upper nibble: flash size code, lower: frequency code */
    uint32_t entry_addr;
    /* extended header */
    uint8_t wp_pin;
    uint8_t spi_pin_drv[3];
    uint16_t chip_id;
    uint8_t min_chip_rev;      /**< legacy */
    uint16_t min_chip_rev_full;
    uint16_t max_chip_rev_full;
    uint8_t hash_appended;
    /* segments */
    uint32_t segments_parsed;  /**< segments whose header was read */
    rf_esp_segment_t segments[RF_ESP_MAX_SEGMENTS];
    /* footer */
    bool checksum_checked;
    uint32_t checksum_offset;
    uint8_t checksum_stored;
    uint8_t checksum_calc;
    bool sha256_checked;
    uint32_t sha256_offset;
    uint8_t sha256_stored[RF_SHA256_LEN];
    uint8_t sha256_calc[RF_SHA256_LEN];
    uint32_t image_len;        /**< bytes of the image (through the hash); 0 if unknown */
    /* descriptions */
    bool has_app_desc;
    rf_esp_app_desc_t app;
    bool has_bootloader_desc;
    rf_esp_bootloader_desc_t bootloader;
} rf_esp_image_info_t;

/** A digest the caller already holds: the SHA-256 of bytes [off, off + len)
 *  of a reader (or of the flash), computed over the same bytes, nothing
 *  written there since. An inspector given one uses it instead of hashing
 *  those bytes again when its own hashed range is exactly that one (issue
 *  11: each byte hashed once); any other range is hashed as usual. */
typedef struct rf_sha_known {
    uint32_t off, len;
    uint8_t sha256[RF_SHA256_LEN];
} rf_sha_known_t;

typedef struct rf_esp_image_opts {
    int32_t expect_chip_id;    /**< RF_ESP_CHIP_ANY or an esp_chip_id_t value */
    /** Optional: the SHA-256 of the reader's [0, checksum_offset + 1) (off 0),
     *  e.g. from an earlier inspection of the same bytes. The XOR checksum and
     *  the stored hash are still read and compared; only the hashing is saved. */
    const rf_sha_known_t *known;
    /** The appended SHA-256 is neither computed nor compared (sha256_calc
     *  stays zero): the header, segments and XOR checksum are what the
     *  ESP32's ROM checks of the second-stage bootloader (seen with the real
     *  ROM in Espressif's QEMU: scripts/qemu_boot_check.sh). */
    bool no_hash;
} rf_esp_image_opts_t;

/** Inspect an ESP image at offset 0 of the reader (the reader may be
 *  longer: a whole partition). Returns ESP_OK when the image is valid,
 *  RF_ERR_IMAGE_INVALID when a check failed (see out->err),
 *  ESP_ERR_INVALID_ARG for a bad call, or the reader's error. */
esp_err_t rf_esp_image_inspect(const rf_reader_t *r, uint8_t *scratch, size_t scratch_len, rf_esp_image_info_t *out);
esp_err_t rf_esp_image_inspect_ex(const rf_reader_t *r, const rf_esp_image_opts_t *opts, uint8_t *scratch,
                                  size_t scratch_len, rf_esp_image_info_t *out);

/** "ESP32", "ESP32-S3", ... or NULL for an id this code does not know. */
const char *rf_esp_chip_name(uint16_t chip_id);
/** Second-stage bootloader flash offset of a chip (0x1000 for ESP32 and
 *  ESP32-S2, 0x2000 for ESP32-C5 and ESP32-P4, else 0x0). */
uint32_t rf_esp_chip_bootloader_offset(uint16_t chip_id);
/** "QIO", "DIO", ... or "?". */
const char *rf_esp_spi_mode_name(uint8_t mode);
/** "4MB", ... from the upper nibble of spi_size_freq; "?" if unknown. */
const char *rf_esp_flash_size_name(uint8_t spi_size_freq);
/** Flash size in bytes from the upper nibble of spi_size_freq (0 if unknown). */
uint32_t rf_esp_flash_size_bytes(uint8_t spi_size_freq);
/** "40MHz", ... from the lower nibble (known for ESP32, -S2, -S3, -C3); "?" otherwise. */
const char *rf_esp_flash_freq_name(uint16_t chip_id, uint8_t spi_size_freq);

/* ---- MCUboot image ------------------------------------------------------- */

#define RF_MCUBOOT_MAGIC 0x96F3B83Du
#define RF_MCUBOOT_HEADER_LEN 32u
#define RF_MCUBOOT_TLV_INFO_MAGIC 0x6907u
#define RF_MCUBOOT_TLV_PROT_INFO_MAGIC 0x6908u
#define RF_MCUBOOT_MAX_TLVS 24u

enum {
    RF_TLV_KEYHASH = 0x01, RF_TLV_PUBKEY = 0x02,
    RF_TLV_SHA256 = 0x10, RF_TLV_SHA384 = 0x11, RF_TLV_SHA512 = 0x12,
    RF_TLV_RSA2048_PSS = 0x20, RF_TLV_ECDSA224 = 0x21, RF_TLV_ECDSA_SIG = 0x22, RF_TLV_RSA3072_PSS = 0x23,
    RF_TLV_ED25519 = 0x24, RF_TLV_SIG_PURE = 0x25,
    RF_TLV_ENC_RSA2048 = 0x30, RF_TLV_ENC_KW = 0x31, RF_TLV_ENC_EC256 = 0x32, RF_TLV_ENC_X25519 = 0x33,
    RF_TLV_DEPENDENCY = 0x40, RF_TLV_SEC_CNT = 0x50, RF_TLV_BOOT_RECORD = 0x60,
};

#define RF_MCUBOOT_F_PIC 0x00000001u
#define RF_MCUBOOT_F_ENCRYPTED_AES128 0x00000004u
#define RF_MCUBOOT_F_ENCRYPTED_AES256 0x00000008u
#define RF_MCUBOOT_F_NON_BOOTABLE 0x00000010u
#define RF_MCUBOOT_F_RAM_LOAD 0x00000020u
#define RF_MCUBOOT_F_ROM_FIXED 0x00000100u

/* Swap trailer for the default 8-byte flash write alignment, offsets from
 * the end of the slot (MCUboot design.md, "Image trailer"): magic (16),
 * image_ok (1, padded to 8), copy_done (1, padded to 8), swap_info
 * (1, padded to 8: low nibble swap type, high nibble image number),
 * swap_size (4, padded to 8). The swap status area and encryption keys
 * precede them; their size depends on the bootloader's configuration. */
#define RF_MCUBOOT_TRAILER_MAGIC_END 16u
#define RF_MCUBOOT_TRAILER_IMAGE_OK_END 24u
#define RF_MCUBOOT_TRAILER_COPY_DONE_END 32u
#define RF_MCUBOOT_TRAILER_SWAP_INFO_END 40u
#define RF_MCUBOOT_TRAILER_SWAP_SIZE_END 48u
#define RF_MCUBOOT_TRAILER_MIN 48u
#define RF_MCUBOOT_FLAG_SET 0x01u

enum { RF_SWAP_TYPE_NONE = 1, RF_SWAP_TYPE_TEST = 2, RF_SWAP_TYPE_PERM = 3, RF_SWAP_TYPE_REVERT = 4,
       RF_SWAP_TYPE_FAIL = 5 };

typedef enum {
    RF_TRAILER_NOT_PRESENT = 0,  /**< no slot: the data ends with the image */
    RF_TRAILER_MAGIC_UNSET,      /**< all 0xFF: no swap requested */
    RF_TRAILER_MAGIC_GOOD,
    RF_TRAILER_MAGIC_BAD,
} rf_trailer_state_t;

/** The swap MCUboot would start with this image in the secondary slot. */
typedef enum { RF_SWAP_REQ_NONE = 0, RF_SWAP_REQ_TEST, RF_SWAP_REQ_PERM } rf_swap_req_t;

typedef enum {
    RF_SIG_STATE_ABSENT = 0,     /**< no signature TLV */
    RF_SIG_STATE_NOT_CHECKED,    /**< signature present, no key given (or the hash did not match) */
    RF_SIG_STATE_OK,
    RF_SIG_STATE_BAD,
    RF_SIG_STATE_UNSUPPORTED,    /**< this signature type, or this key for it, cannot be checked */
} rf_sig_state_t;

typedef enum { RF_KEYHASH_ABSENT = 0, RF_KEYHASH_NOT_CHECKED, RF_KEYHASH_MATCH, RF_KEYHASH_MISMATCH } rf_keyhash_state_t;

typedef struct rf_mcuboot_tlv {
    uint16_t type;
    uint16_t len;
    uint32_t offset;      /**< file offset of the value (its 4-byte header is before it) */
    bool is_protected;    /**< in the protected area (covered by the hash) */
} rf_mcuboot_tlv_t;

#define RF_MCUBOOT_SIG_MAX 80u   /**< ECDSA P-256 DER (<= 72) and Ed25519 (64) */

struct rf_sig_key;

typedef struct rf_mcuboot_info {
    rf_img_err_t err;
    uint32_t err_offset;
    uint32_t file_size;
    /* header */
    uint32_t magic;
    uint32_t load_addr;
    uint16_t hdr_size;
    uint16_t protect_tlv_size;
    uint32_t img_size;
    uint32_t flags;
    uint8_t ver_major;
    uint8_t ver_minor;
    uint16_t ver_revision;
    uint32_t ver_build;
    /* TLV areas */
    bool has_prot_area;
    uint32_t prot_off;         /**< hdr_size + img_size */
    uint16_t prot_magic;
    uint16_t prot_tot;
    bool has_tlv_area;
    uint32_t tlv_off;          /**< prot_off + protect_tlv_size */
    uint16_t tlv_magic;
    uint16_t tlv_tot;
    uint32_t image_end;        /**< tlv_off + tlv_tot: bytes the image occupies */
    uint32_t tlv_count;        /**< TLVs walked (both areas) */
    uint32_t tlvs_listed;      /**< of which in tlvs[] (at most RF_MCUBOOT_MAX_TLVS) */
    rf_mcuboot_tlv_t tlvs[RF_MCUBOOT_MAX_TLVS];
    /* hash */
    uint32_t hashed_len;       /**< hdr_size + img_size + protect_tlv_size */
    bool has_sha256;
    bool sha256_checked;
    uint8_t sha256_tlv[RF_SHA256_LEN];
    uint8_t sha256_calc[RF_SHA256_LEN];
    bool has_sec_cnt;
    uint32_t sec_cnt;
    /* signature */
    bool has_keyhash;
    uint8_t keyhash[RF_SHA256_LEN];
    rf_keyhash_state_t keyhash_state;
    uint16_t sig_type;         /**< 0: none */
    uint16_t sig_len;
    uint32_t sig_offset;
    rf_sig_state_t sig_state;
    /* slot and trailer */
    uint32_t slot_size;        /**< given, or the data size when that looks like a padded slot; 0 none */
    uint32_t trailer_size;     /**< bytes reserved at the slot's end for the trailer */
    rf_trailer_state_t trailer;
    uint32_t trailer_magic_off;
    uint8_t trailer_magic[16];
    uint8_t image_ok;
    uint8_t copy_done;
    uint8_t swap_info;
    uint32_t swap_size;
    rf_swap_req_t swap_request;
} rf_mcuboot_info_t;

typedef struct rf_mcuboot_opts {
    /** Slot size. 0: when the data extends at least trailer_size past the
     *  image, the data is taken to be a padded slot (its size the slot
     *  size) and the trailer is read at its end; else there is no trailer. */
    uint32_t slot_size;
    /** Bytes the trailer needs at the slot's end; 0 = RF_MCUBOOT_TRAILER_MIN
     *  (the fixed fields only: add the swap status area for swap-scratch). */
    uint32_t trailer_size;
    /** Optional public key (rf_sig.h): the signature must verify with it. */
    const struct rf_sig_key *key;
    /** Optional: the SHA-256 of the reader's [0, hashed_len) (off 0), e.g.
     *  from an earlier inspection of the same bytes: the TLV and the
     *  signature are checked against it without hashing again. */
    const rf_sha_known_t *known;
} rf_mcuboot_opts_t;

/** From an MCUboot image's first 16 bytes: the end of the range its SHA-256
 *  TLV covers (header + image + protected TLVs), or 0 when they are not an
 *  MCUboot header (magic, header size >= 32). Nothing else is checked. */
uint64_t rf_mcuboot_hashed_end(const uint8_t hdr[16]);

/** Inspect an MCUboot image at offset 0 of the reader. Returns ESP_OK when
 *  valid, RF_ERR_IMAGE_INVALID when a check failed (see out->err),
 *  ESP_ERR_INVALID_ARG for a bad call, or the reader's error. */
esp_err_t rf_mcuboot_inspect(const rf_reader_t *r, uint32_t slot_size, const struct rf_sig_key *key,
                             uint8_t *scratch, size_t scratch_len, rf_mcuboot_info_t *out);
esp_err_t rf_mcuboot_inspect_ex(const rf_reader_t *r, const rf_mcuboot_opts_t *opts, uint8_t *scratch,
                                size_t scratch_len, rf_mcuboot_info_t *out);

/** "SHA256", "ECDSA_SIG", ... or NULL for an unknown TLV type. */
const char *rf_mcuboot_tlv_name(uint16_t type);
/** "none", "test", "perm", "revert", "fail" or "?" for a swap type nibble. */
const char *rf_mcuboot_swap_type_name(uint8_t swap_type);
const char *rf_sig_state_name(rf_sig_state_t s);
const char *rf_trailer_state_name(rf_trailer_state_t s);

#ifdef __cplusplus
}
#endif
