/*
 * Boot-state model in the portable core: "if the power went off now, what
 * would this flash content boot?" It reads the flash only through an
 * rf_reader_t, so the engine asks it about a *would-be* flash (the current
 * content with the planned writes laid over it, rf_vflash_t) before it
 * writes anything, and the host tools ask it about a simulated device.
 *
 * The chain it follows, as the real one runs:
 *
 *  1. ROM: a valid ESP image for this chip at the chip's bootloader offset
 *     (magic, chip id, segments, XOR checksum, appended SHA-256), every
 *     segment loaded into internal RAM (a segment addressed to flash-mapped
 *     space hangs the ROM's loader). Chips with the recovery-bootloader
 *     fallback (ESP32-C5, -C61, -P4) try layout->recovery_offset next.
 *  2. Which bootloader, by its content only: MCUboot (its bootutil strings:
 *     "bootutil", "Swap type", "mcuboot"/"MCUboot") or ESP-IDF's (an
 *     esp_bootloader_desc_t, or the strings of bootloader_support such as
 *     "Loaded app from partition", "partition table"). Neither: BRICK, the
 *     model cannot promise anything about it.
 *  3a. ESP-IDF bootloader: the table at ptable_offset (magic of every entry,
 *     MD5 row when present, every entry inside the flash size written in
 *     the bootloader's own image header: a real bootloader refuses the
 *     table otherwise and reboots forever); otadata picks
 *     ota_{(seq - 1) % ota_count} from the valid entry with the highest
 *     seq, the factory app when no entry is valid (ota_0 without factory);
 *     then the bootloader's fallback order (down to factory, up through the
 *     OTA slots, then test). An app boots when it is a valid ESP image for
 *     the chip with an esp_app_desc_t -> OLD.
 *  3b. MCUboot (swap with scratch, one image): swap type from the slot
 *     trailers; test/perm/revert with a valid image in the secondary slot
 *     -> NEW; else a valid image in the primary slot -> NEW; else BRICK.
 *
 * Not modelled: secure boot, flash encryption, signatures, anti-rollback,
 * MCUboot's interrupted-swap status, GPIO factory reset, deep-sleep wake.
 * Freestanding: no libc, no heap; the caller passes a work area.
 */
#pragma once
#include "rf_image.h"
#include "rf_ptable.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RF_BOOT_OLD = 0, RF_BOOT_NEW = 1, RF_BOOT_BRICK = 2 } rf_boot_result_t;

typedef enum { RF_BOOT_BL_NONE = 0, RF_BOOT_BL_ESP_IDF, RF_BOOT_BL_MCUBOOT, RF_BOOT_BL_UNKNOWN } rf_boot_loader_t;

/* Defaults of the reference's examples (MCUboot slots). */
#define RF_BOOT_PRIMARY_SLOT_DEFAULT 0x10000u
#define RF_BOOT_SECONDARY_SLOT_DEFAULT 0x110000u
#define RF_BOOT_SLOT_SIZE_DEFAULT 0x100000u

/** What the model knows beyond the flash content. Zeros are defaults. */
typedef struct rf_boot_layout {
    uint16_t chip_id;              /**< esp_chip_id_t */
    uint32_t ptable_offset;        /**< 0: 0x8000 */
    uint32_t primary_slot;         /**< 0: 0x10000 */
    uint32_t primary_size;         /**< 0: 0x100000 */
    uint32_t secondary_slot;       /**< 0: 0x110000 */
    uint32_t secondary_size;       /**< 0: 0x100000 */
    uint32_t trailer_size;         /**< 0: RF_MCUBOOT_TRAILER_MIN */
    uint32_t recovery_offset;      /**< 0: none (only chips with the ROM fallback use it) */
} rf_boot_layout_t;

/** Why a boot stops (RF_BOOT_WHY_OK when it does not). */
typedef enum {
    RF_BOOT_WHY_OK = 0,
    RF_BOOT_WHY_ARG,               /**< unknown chip, no flash, work area too small */
    RF_BOOT_WHY_ROM_IMAGE,         /**< no valid bootloader image (img_err at err_at) */
    RF_BOOT_WHY_ROM_SEGMENT,       /**< a bootloader segment not in internal RAM (segment a, load address b) */
    RF_BOOT_WHY_BL_UNKNOWN,        /**< a valid image that is neither ESP-IDF's bootloader nor MCUboot */
    RF_BOOT_WHY_PT_OFFSET,         /**< the table offset is past the flash */
    RF_BOOT_WHY_PT_NONE,           /**< no table (first entry blank or no magic) */
    RF_BOOT_WHY_PT_MAGIC,          /**< entry a has an invalid magic */
    RF_BOOT_WHY_PT_MD5,            /**< MD5 row does not match */
    RF_BOOT_WHY_PT_FLASH_SIZE,     /**< entry a (offset b, size c) exceeds the header's flash size d */
    RF_BOOT_WHY_OTADATA_SMALL,     /**< otadata smaller than two sectors (a = its size) */
    RF_BOOT_WHY_OTADATA_PAST,      /**< otadata past the flash */
    RF_BOOT_WHY_NO_APP,            /**< no bootable app */
    RF_BOOT_WHY_MCUBOOT_NO_IMAGE,  /**< no valid image in the primary slot (img_err at err_at) */
} rf_boot_why_t;

/** How the ESP-IDF bootloader picked its first candidate. */
typedef enum {
    RF_BOOT_SEL_NO_OTADATA = 0,    /**< no otadata partition: factory */
    RF_BOOT_SEL_NO_OTA_APPS,       /**< no OTA app partitions: factory */
    RF_BOOT_SEL_BLANK,             /**< otadata blank: factory */
    RF_BOOT_SEL_NO_VALID,          /**< no valid entry: factory */
    RF_BOOT_SEL_NO_VALID_NO_FACTORY, /**< no valid entry, no factory: ota_0 */
    RF_BOOT_SEL_ENTRY,             /**< otadata[sel_entry] seq ota_seq */
} rf_boot_sel_t;

#define RF_BOOT_FACTORY (-1)
#define RF_BOOT_TEST (-2)
#define RF_BOOT_NONE (-3)
#define RF_BOOT_MAX_TRIES 6u

/** One app the ESP-IDF bootloader tried and refused. */
typedef struct rf_boot_try {
    int8_t index;                  /**< RF_BOOT_FACTORY, RF_BOOT_TEST or N (ota_N) */
    uint8_t err;                   /**< rf_img_err_t; RF_IMG_OK = valid image but no esp_app_desc_t;
                                        RF_IMG_ERR__COUNT = partition ends past the flash */
    uint32_t offset;
    uint32_t err_at;               /**< absolute flash address */
    char label[RF_PART_LABEL_MAX + 1];
} rf_boot_try_t;

typedef struct rf_boot_state {
    rf_boot_result_t result;
    rf_boot_why_t why;
    uint8_t img_err;               /**< rf_img_err_t of ROM_IMAGE / MCUBOOT_NO_IMAGE */
    uint32_t err_at;               /**< absolute address of that error */
    uint32_t a, b, c, d;           /**< details of `why` (see rf_boot_why_t) */
    /* ROM */
    bool bootloader_valid;
    bool used_recovery;
    uint8_t primary_err;           /**< rf_img_err_t of the primary when the recovery one ran */
    uint32_t primary_err_at;
    uint32_t bootloader_offset;
    uint32_t bootloader_len;
    uint32_t bootloader_flash_size;/**< from its header (0: unknown code) */
    uint8_t bootloader_sha256[32];
    rf_boot_loader_t bootloader;
    /* ESP-IDF */
    rf_boot_sel_t sel;
    int8_t sel_entry;
    uint32_t ota_seq;
    int32_t ota_start;             /**< first candidate */
    int32_t ota_selected;          /**< the app that boots, RF_BOOT_NONE if none */
    char app_label[RF_PART_LABEL_MAX + 1];
    uint32_t app_offset;
    char app_project[33];
    char app_version[33];
    rf_boot_try_t tries[RF_BOOT_MAX_TRIES];
    uint32_t tries_count;
    /* MCUboot */
    uint32_t primary_slot, secondary_slot;
    uint8_t swap_type;             /**< RF_SWAP_TYPE_*: the swap MCUboot performs (NONE when refused) */
    uint8_t swap_refused;          /**< the swap type the trailers asked for, when the secondary was refused */
    uint8_t secondary_err;
    uint32_t secondary_err_at;
    uint32_t slot_offset;          /**< slot whose image boots */
    uint32_t image_len;
    uint8_t image_sha256[32];
} rf_boot_state_t;

/* The work area's parts (each rounded up to 16 bytes, with room to align
 * its start): the image inspectors' scratch, one inspector's result, the
 * partitions ESP-IDF's bootloader boots from (factory, test, otadata and
 * 16 OTA slots). */
#define RF_BOOT_R16(n) ((((size_t)(n)) + 15u) & ~(size_t)15u)
#define RF_BOOT_SCRATCH_LEN 1024u   /* reads for the inspectors, hashes and compares: a chunk at a time */
#define RF_BOOT_INFO_LEN \
    RF_BOOT_R16((sizeof(rf_esp_image_info_t) > sizeof(rf_mcuboot_info_t) ? sizeof(rf_esp_image_info_t) \
                                                                          : sizeof(rf_mcuboot_info_t)) + 16u)
#define RF_BOOT_PARTS_LEN RF_BOOT_R16(19u * sizeof(rf_part_t) + 8u + 16u)

/** Bytes of work area rf_boot_eval() needs. */
#define RF_BOOT_WORK_LEN (RF_BOOT_SCRATCH_LEN + RF_BOOT_INFO_LEN + RF_BOOT_PARTS_LEN)

/** Model the boot of the flash behind `flash` (its size is the flash size).
 *  work: RF_BOOT_WORK_LEN bytes, 8-byte aligned. Never fails otherwise:
 *  every problem is a BRICK with its reason in st. */
rf_boot_result_t rf_boot_eval(const rf_reader_t *flash, const rf_boot_layout_t *layout, void *work, size_t work_len,
                              rf_boot_state_t *st);

/** What the caller of rf_boot_eval_ex() already established about the same
 *  flash content, so the model does not hash or scan the same bytes again
 *  (issue 11). Every entry must describe the bytes the reader returns now. */
typedef struct rf_boot_hint {
    /** Digests of flash ranges [off, off + len) (absolute): an image the
     *  model inspects at `off` whose hashed range is exactly `len` bytes
     *  uses the digest instead of hashing; headers, TLVs, checksums and
     *  stored hashes are still read and compared. */
    const rf_sha_known_t *known;
    uint32_t known_count;
    /** rf_boot_identify()'s answer for the bootloader image at
     *  bl_known_off (RF_BOOT_BL_NONE: not known, the model scans it). */
    rf_boot_loader_t bl_known;
    uint32_t bl_known_off;
    /** Leave st->bootloader_sha256 zero: the caller does not use it (it is a
     *  digest of the whole bootloader for reports, a second pass over it). */
    bool no_bootloader_sha256;
} rf_boot_hint_t;

/** rf_boot_eval() with what the caller already knows (hint may be NULL). */
rf_boot_result_t rf_boot_eval_ex(const rf_reader_t *flash, const rf_boot_layout_t *layout, const rf_boot_hint_t *hint,
                                 void *work, size_t work_len, rf_boot_state_t *st);

/** The MCUboot slots of a layout, defaults applied: primary offset, size,
 *  secondary offset, size (the model's and the engine's one reading). */
void rf_boot_slots(const rf_boot_layout_t *lay, uint32_t out[4]);

/** Whether the ROM of this chip has the recovery-bootloader fallback (C5, C61, P4). */
bool rf_boot_chip_has_recovery(uint16_t chip_id);

/** Whether a segment loaded at `addr` (len bytes) lies in memory the chip's
 *  ROM can load a bootloader into (internal RAM; not flash-mapped space). */
bool rf_boot_segment_loadable(uint16_t chip_id, uint32_t addr, uint32_t len);

/** The first segment of an inspected ESP image (rf_esp_image_inspect())
 *  that the chip's ROM cannot load (rf_boot_segment_loadable()), or -1:
 *  the model's and the engine's one reading of the segments. */
int32_t rf_boot_bad_segment(uint16_t chip_id, const rf_esp_image_info_t *i);

/** An inspected ESP app's project name and version (esp_app_desc_t) into
 *  33-byte strings: the model's and the engine's one copy. */
void rf_boot_app_names(char project[33], char version[33], const rf_esp_image_info_t *i);

/** Which bootloader the image [off, off + len) of the reader is, by content. */
rf_boot_loader_t rf_boot_identify(const rf_reader_t *r, uint32_t off, uint32_t len, uint8_t *scratch,
                                  size_t scratch_len);

const char *rf_boot_result_name(rf_boot_result_t r);
const char *rf_boot_loader_name(rf_boot_loader_t b);

/* ---- would-be flash ------------------------------------------------------ */

#define RF_VFLASH_MAX 12u

/** A planned write: [dst, dst + len) takes src's bytes [0, len), and
 *  [dst + len, dst + dst_size) is left erased (0xFF); src NULL: all erased. */
typedef struct rf_vflash_write {
    uint32_t dst, dst_size, len;
    const rf_reader_t *src;
} rf_vflash_write_t;

/** The current flash (base) with planned writes laid over it, later ones
 *  winning; read through rf_vflash_reader(). */
typedef struct rf_vflash {
    const rf_reader_t *base;
    rf_vflash_write_t w[RF_VFLASH_MAX];
    uint32_t count;
} rf_vflash_t;

/** ESP_ERR_NO_MEM when RF_VFLASH_MAX writes are already laid. */
esp_err_t rf_vflash_push(rf_vflash_t *v, uint32_t dst, uint32_t dst_size, uint32_t len, const rf_reader_t *src);
/** A reader over the would-be flash (same size as base). It reads the
 *  writes laid when it reads, including those pushed after this call. */
void rf_vflash_reader(rf_vflash_t *v, rf_reader_t *out);

/** A reader over the flash with only the first `count` writes laid (e.g.
 *  the flash as it is before a write pushed later): ctx is its state. */
typedef struct rf_vflash_view {
    const rf_vflash_t *v;
    uint32_t count;
} rf_vflash_view_t;
void rf_vflash_reader_upto(const rf_vflash_t *v, uint32_t count, rf_vflash_view_t *ctx, rf_reader_t *out);

#ifdef __cplusplus
}
#endif
