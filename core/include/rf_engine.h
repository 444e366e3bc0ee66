/*
 * The migration engine's rules: one place that decides whether a write may
 * happen, used by the device (the seed API, before every copy) and by the
 * host tool (`reflasher plan`, `migrate`, `rehearse`, `fleet`, in execution
 * order over the whole plan) alike.
 *
 * A write is judged by what the flash will hold after it, never by its exact
 * start address: the staged bytes are laid over the current flash content
 * (rf_vflash_t, nothing is written) and
 *
 *  1. the expected SHA-256, when given, must be the staged file's;
 *  2. if the write overlaps the chip's bootloader sectors
 *     [bootloader offset, table offset): the would-be flash holds, at the
 *     bootloader offset, a valid ESP bootloader image for this chip whose
 *     segments a ROM can load and that is recognised (ESP-IDF's or MCUboot);
 *  3. if it overlaps the partition-table sector and the would-be
 *     bootloader reads a table (ESP-IDF's; MCUboot reads none, and its image
 *     may run over that sector): the would-be sector is blank, or a valid table: magic on every entry, an MD5 row that
 *     matches, every partition aligned, past the table, inside the flash and
 *     inside the flash size the (would-be) bootloader's header declares, no
 *     two overlapping, labels unique, at most one otadata;
 *  4. if it overlaps the otadata partition: each of its two entries blank or
 *     a well-formed esp_ota_select_entry_t (its CRC matches);
 *  5. if it starts at an app partition (or the caller declared a kind): an
 *     ESP app for this chip or an MCUboot image whose header, TLVs, hash and
 *     trailer fit the region (and a signature that verifies when a key is
 *     given; a key with any other kind is refused);
 *  6. the end state: the boot model (rf_bootmodel.h) on the would-be flash
 *     must boot (OLD or NEW); a write that changes the bootloader must boot
 *     through it (not through the ROM's recovery fallback). The one
 *     exception is "never worse": a write that touches no bootloader, table
 *     or otadata sector, on a flash that boots nothing already (a blank
 *     simulated device), passes with before_brick set.
 *
 * On success the write stays laid on the vflash (so a plan checks its next
 * step against the state this one leaves); on refusal it is removed.
 * Freestanding: no libc, no heap; the caller passes RF_ENG_WORK_LEN bytes.
 */
#pragma once
#include "rf_bootmodel.h"
#include "rf_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rf_sig_key;

typedef enum {
    RF_ENG_OK = 0,
    RF_ENG_SHA256,              /**< not the expected SHA-256 */
    RF_ENG_NOT_ESP_IMAGE,       /**< the destination needs an ESP image; the bytes are not one */
    RF_ENG_CHIP_ID,             /**< an ESP image for another chip */
    RF_ENG_ESP_INVALID,         /**< an ESP image that fails its checks */
    RF_ENG_NOT_BOOTLOADER,      /**< an ESP app where a bootloader must be */
    RF_ENG_BOOTLOADER_SEGMENT,  /**< a bootloader segment the ROM cannot load */
    RF_ENG_BOOTLOADER_UNKNOWN,  /**< neither ESP-IDF's bootloader nor MCUboot */
    RF_ENG_PTABLE,              /**< the table sector would hold an invalid table */
    RF_ENG_OTADATA,             /**< otadata would hold a malformed entry */
    RF_ENG_APP_FORMAT,          /**< an app slot takes an ESP app or an MCUboot image only */
    RF_ENG_MCUBOOT_INVALID,     /**< an MCUboot image that fails its checks, or leaves no room for the trailer */
    RF_ENG_SIGNATURE,           /**< unsigned, or the signature does not verify with the key */
    RF_ENG_KEY_NOT_MCUBOOT,     /**< a key was given for an image that carries no signature we check */
    RF_ENG_END_BRICK,           /**< the flash after this write boots nothing */
    RF_ENG_END_RECOVERY,        /**< the new bootloader itself does not boot (only the ROM's fallback would) */
    RF_ENG_IO,                  /**< the staged bytes or the flash cannot be read */
    RF_ENG__COUNT
} rf_eng_rule_t;

/** Each rule's identifier and one-line sentence, in rf_eng_rule_t's order:
 *  rf_engine.c expands the identifiers, rf_texts.c the sentences, so a
 *  device's link holds no sentence. */
#define RF_ENG_RULES(X) \
    X(RF_ENG_OK, "OK", "the write is allowed") \
    X(RF_ENG_SHA256, "CONTENT_SHA256", "the image's SHA-256 is not the expected one") \
    X(RF_ENG_NOT_ESP_IMAGE, "CONTENT_NOT_ESP_IMAGE", "the bootloader sectors take only an ESP bootloader image") \
    X(RF_ENG_CHIP_ID, "CONTENT_CHIP_ID", "the image is built for another chip") \
    X(RF_ENG_ESP_INVALID, "CONTENT_ESP_IMAGE_INVALID", "the ESP image does not pass its format checks") \
    X(RF_ENG_NOT_BOOTLOADER, "CONTENT_NOT_BOOTLOADER", "the bootloader sectors take only an ESP bootloader image") \
    X(RF_ENG_BOOTLOADER_SEGMENT, "CONTENT_BOOTLOADER_SEGMENT", \
      "a bootloader segment is addressed where the ROM cannot load it") \
    X(RF_ENG_BOOTLOADER_UNKNOWN, "CONTENT_BOOTLOADER_UNKNOWN", \
      "the bootloader is neither ESP-IDF's nor MCUboot: its behaviour is unknown") \
    X(RF_ENG_PTABLE, "CONTENT_PARTITION_TABLE", "the partition-table sector would not hold a valid table") \
    X(RF_ENG_OTADATA, "CONTENT_OTADATA", "otadata would not hold valid entries") \
    X(RF_ENG_APP_FORMAT, "CONTENT_APP_FORMAT", \
      "an app slot takes only an ESP app for this chip or an MCUboot image") \
    X(RF_ENG_MCUBOOT_INVALID, "CONTENT_MCUBOOT_INVALID", "the MCUboot image does not pass its format checks") \
    X(RF_ENG_SIGNATURE, "CONTENT_SIGNATURE", "the image's signature does not verify with the given key") \
    X(RF_ENG_KEY_NOT_MCUBOOT, "CONTENT_KEY_NOT_MCUBOOT", \
      "a key was given, but the image carries no signature that can be checked") \
    X(RF_ENG_END_BRICK, "END_STATE_BRICK", "the flash after this write boots nothing") \
    X(RF_ENG_END_RECOVERY, "END_STATE_RECOVERY_ONLY", \
      "the new bootloader does not boot; only the ROM's recovery fallback would") \
    X(RF_ENG_IO, "IO", "the staged image or the flash cannot be read")

/** Why a table is refused (rule RF_ENG_PTABLE, verdict.detail). */
typedef enum {
    RF_ENG_PT_OK = 0, RF_ENG_PT_CORRUPT, RF_ENG_PT_NO_MD5, RF_ENG_PT_MD5, RF_ENG_PT_LAYOUT, RF_ENG_PT_FLASH_SIZE,
    RF_ENG_PT_BOOTLOADER_SIZE,
} rf_eng_pt_why_t;

typedef enum {
    RF_ENG_CONTENT_NONE = 0, RF_ENG_CONTENT_ESP_BOOTLOADER, RF_ENG_CONTENT_ESP_APP, RF_ENG_CONTENT_MCUBOOT,
} rf_eng_content_t;

/** The device as the rules see it. */
typedef struct rf_eng_dev {
    uint16_t chip_id;           /**< esp_chip_id_t; 0xFFFF: unknown (bootloader rules cannot apply: refused) */
    uint32_t ptable_offset;     /**< 0: 0x8000 */
    rf_boot_layout_t boot;      /**< slots and recovery offset for the end-state model (chip_id is set from above) */
} rf_eng_dev_t;

/** One write: [dst, dst + dst_size) takes src[0, len) then 0xFF. */
typedef struct rf_eng_write {
    uint32_t dst, dst_size, len;
    uint32_t slot_size;               /**< the region as the caller named it (0: dst_size): an MCUboot image
                                           with room for its trailer must fit it */
    const rf_reader_t *src;
    const uint8_t *src_sha256;        /**< SHA-256 of src[0, len) (hashed once, on the way in) */
    const uint8_t *expect_sha256;     /**< NULL: none */
    rf_dest_kind_t declared;          /**< RF_DEST_RAW: derived from the destination */
    bool declared_raw;                /**< the caller declared "raw": no format check at an app slot */
    const struct rf_sig_key *key;     /**< NULL: none */
    /** Optional (issue 11, one verification pass): the image's own digest
     *  from an earlier verdict (verdict.img_sha) on the same bytes, i.e. on a
     *  src whose whole-file SHA-256 was then and is now src_sha256, with the
     *  same kind, slot and key. Rule 5 still parses the image and compares
     *  its stored hash, TLVs and signature, but does not hash it again. */
    const rf_sha_known_t *src_known;
} rf_eng_write_t;

typedef struct rf_eng_verdict {
    rf_eng_rule_t rule;
    uint8_t img_err;                  /**< rf_img_err_t behind an image rule */
    uint32_t err_offset;              /**< offset in the image (or in the table) of that error */
    uint32_t detail;                  /**< rf_eng_pt_why_t for RF_ENG_PTABLE; entry index for others */
    uint32_t at;                      /**< flash address the rule looked at */
    bool touches_bootloader, touches_ptable, touches_otadata, app_slot;
    /* what the bytes are (for messages) */
    rf_eng_content_t content;
    uint16_t chip_id;
    uint8_t segments;
    uint32_t entry_addr;
    uint32_t magic;                   /**< first 4 bytes of the image (LE) */
    char app_project[33], app_version[33];
    uint8_t mcu_ver_major, mcu_ver_minor;
    uint16_t mcu_ver_revision;
    uint32_t mcu_ver_build, mcu_img_size;
    uint8_t mcu_trailer, mcu_swap_request;
    bool signature_ok;
    rf_boot_loader_t bootloader;      /**< what sits at the bootloader offset after the write */
    rf_boot_state_t end;              /**< the boot model on the would-be flash */
    bool before_brick;                /**< the flash booted nothing before either: a write off the boot path
                                           (no bootloader, table or otadata sector) was let through */
    /** The image's own digest as rule 5 computed it (ESP image: SHA-256 of
     *  [0, checksum + 1); MCUboot: of the TLV-protected bytes), relative to
     *  the image (off 0); len 0 when rule 5 did not hash it. For
     *  rf_eng_write_t.src_known on the next check of the same bytes. */
    rf_sha_known_t img_sha;
} rf_eng_verdict_t;

/* The engine's work area: the boot model's, where the inspectors and the
 * table check also run (the parsed table, read an entry at a time), then
 * the state before the write (rule 6's rare path), then the digests in hand,
 * past both (they live through the table check and the boot model). */
#define RF_ENG_STATE_AT RF_BOOT_WORK_LEN
#define RF_ENG_PTABLE_END (sizeof(rf_ptable_t) + 15u)
#define RF_ENG_KNOWN_AT                                                                                   \
    RF_BOOT_R16(RF_ENG_STATE_AT + sizeof(rf_boot_state_t) + 16u > RF_ENG_PTABLE_END                        \
                    ? RF_ENG_STATE_AT + sizeof(rf_boot_state_t) + 16u                                      \
                    : RF_ENG_PTABLE_END)
#define RF_ENG_WORK_LEN RF_BOOT_R16(RF_ENG_KNOWN_AT + 2u * sizeof(rf_sha_known_t) + 16u)

/** ESP_OK, or ESP_ERR_INVALID_CRC (RF_ENG_SHA256) / RF_ERR_IMAGE_INVALID
 *  (every other rule) / a reader error, with out->rule saying which. */
esp_err_t rf_eng_check_write(const rf_eng_dev_t *dev, rf_vflash_t *vf, const rf_eng_write_t *w, void *work,
                             size_t work_len, rf_eng_verdict_t *out);

/** Ranges (start, size pairs) that a staging download must never overwrite:
 *  the MCUboot slots of dev->boot while they hold an MCUboot image header
 *  (an earlier step's output that the end state depends on). Returns how
 *  many ranges (at most 2) were written to out. Shared by the seed API's
 *  staging choice and the plan's (rf_plan_t.keep). */
uint32_t rf_eng_staging_keep(const rf_eng_dev_t *dev, const rf_reader_t *flash, uint32_t out[4]);

#define RF_ENG_BOOT_PATH_MAX 8u

/** The apps the current flash's boot goes through: the one the old
 *  (ESP-IDF) bootloader boots and every one it tries on the way (their
 *  offsets; the boot model on `flash`). Returns how many, or -1 when that
 *  cannot be said (no chip, or a bootloader other than ESP-IDF's, e.g.
 *  MCUboot, which may swap from any slot): then no destination is written
 *  directly (rf_choose_direct). work: RF_ENG_WORK_LEN bytes, 8-byte aligned. */
int32_t rf_eng_boot_path(const rf_eng_dev_t *dev, const rf_reader_t *flash, void *work, size_t work_len,
                         uint32_t out[RF_ENG_BOOT_PATH_MAX]);

/** One-line description of a rule (rf_texts.c); short identifier ("CONTENT_CHIP_ID"). */
const char *rf_eng_rule_str(rf_eng_rule_t r);
const char *rf_eng_rule_name(rf_eng_rule_t r);
/** Why a table is refused: a sentence (rf_texts.c); the enum's suffix ("MD5"). */
const char *rf_eng_pt_why_str(rf_eng_pt_why_t w);
const char *rf_eng_pt_why_name(rf_eng_pt_why_t w);

#ifdef __cplusplus
}
#endif
