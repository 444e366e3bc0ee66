/*
 * MCUboot image inspector (rf_image.h). Layout from MCUboot's design.md:
 *
 *   0                      image_header (32 bytes, ih_hdr_size may be larger)
 *   hdr_size               image (img_size bytes)
 *   hdr_size + img_size    protected TLV area, ih_protect_tlv_size bytes
 *                          (info: magic 0x6908, total length incl. info)
 *   ... + protect_tlv_size TLV area (info: magic 0x6907, total length)
 *   slot end - 48          swap trailer fields (8-byte write alignment)
 *
 * TLV entry: type (LE16; older MCUboot wrote a byte and a pad byte, the
 * same bytes for types below 0x100), length (LE16), value. The SHA-256 TLV
 * holds the hash of [0, hdr_size + img_size + protect_tlv_size).
 */
#include <stddef.h>
#include "rf_image.h"
#include "rf_sig.h"

/* Record the first failing check; later checks still fill in fields. Every
 * offset passed is inside the data (checked before), so 32 bits hold it.
 * Called from every check: one copy (inlined, each call site grows). */
RF_NOINLINE static void note(rf_mcuboot_info_t *out, rf_img_err_t e, uint32_t off)
{
    if (out->err == RF_IMG_OK) {
        out->err = e;
        out->err_offset = off;
    }
}

/* A structural failure: nothing after it can be trusted. */
static esp_err_t fail(rf_mcuboot_info_t *out, rf_img_err_t e, uint32_t off)
{
    note(out, e, off);
    return RF_ERR_IMAGE_INVALID;
}

static esp_err_t read_fail(rf_mcuboot_info_t *out, esp_err_t err, uint32_t off)
{
    out->err = RF_IMG_ERR_READ;   /* replaces any failure noted before */
    out->err_offset = off;
    return err;
}

/* The signature TLVs, one range of types. */
_Static_assert(RF_TLV_ECDSA224 == RF_TLV_RSA2048_PSS + 1 && RF_TLV_ECDSA_SIG == RF_TLV_RSA2048_PSS + 2 &&
                   RF_TLV_RSA3072_PSS == RF_TLV_RSA2048_PSS + 3 && RF_TLV_ED25519 == RF_TLV_RSA2048_PSS + 4,
               "signature TLV types");

/* Walk the entries of one TLV area [off, end) (the info header excluded). */
static esp_err_t walk_tlvs(const rf_reader_t *r, uint32_t off, uint32_t end, bool prot, uint8_t *scratch,
                           rf_mcuboot_info_t *out)
{
    esp_err_t err;
    while (off < end) {   /* each step advances at least 4 bytes: bounded by the area (< 64 KiB) */
        if (end - off < 4) {
            return fail(out, RF_IMG_ERR_TLV_BOUNDS, off);
        }
        if ((err = rf_reader_read(r, off, scratch, 4)) != ESP_OK) {
            return read_fail(out, err, off);
        }
        uint16_t type = rf_le16(scratch);
        uint16_t len = rf_le16(scratch + 2);
        uint32_t val = off + 4;   /* <= end: end - off >= 4 */
        if (len > end - val) {
            return fail(out, RF_IMG_ERR_TLV_BOUNDS, off + 2);
        }
        if (out->tlvs_listed < RF_MCUBOOT_MAX_TLVS) {
            rf_mcuboot_tlv_t *t = &out->tlvs[out->tlvs_listed++];
            t->type = type;
            t->len = len;
            t->offset = val;
            t->is_protected = prot;
        }
        out->tlv_count++;
        /* The TLVs read: the length each must have, where its value goes and
         * its flag. A second SHA-256 or security counter is refused; of key
         * hashes the first counts. */
        uint16_t want = 0;
        uint8_t *dst = NULL;
        bool *have = NULL;
        switch (type) {
        case RF_TLV_SHA256:
            want = RF_SHA256_LEN, dst = out->sha256_tlv, have = &out->has_sha256;
            break;
        case RF_TLV_SEC_CNT:
            want = 4, dst = scratch, have = &out->has_sec_cnt;
            break;
        case RF_TLV_KEYHASH:
            want = RF_SHA256_LEN, dst = out->keyhash, have = &out->has_keyhash;
            break;
        case RF_TLV_ED25519:
            want = 64;
            break;
        default:
            break;
        }
        if (want != 0 && len != want) {
            return fail(out, RF_IMG_ERR_TLV_LEN, off + 2);
        }
        if (have != NULL && *have) {
            if (type != RF_TLV_KEYHASH) {
                return fail(out, RF_IMG_ERR_TLV_DUP, off);
            }
        } else if (have != NULL) {
            if ((err = rf_reader_read(r, val, dst, len)) != ESP_OK) {
                return read_fail(out, err, val);
            }
            *have = true;
            if (type == RF_TLV_SEC_CNT) {
                out->sec_cnt = rf_le32(scratch);
            }
        }
        /* the first signature is the one checked */
        if ((uint16_t)(type - RF_TLV_RSA2048_PSS) <= RF_TLV_ED25519 - RF_TLV_RSA2048_PSS && out->sig_type == 0) {
            out->sig_type = type;
            out->sig_len = len;
            out->sig_offset = val;
        }
        off = val + len;
    }
    return ESP_OK;
}

/* One TLV area at `at` (protected or not): its info header (magic, total
 * length with the header), checked against the data, then its entries. */
static esp_err_t tlv_area(const rf_reader_t *r, uint64_t at, bool prot, uint8_t *scratch, rf_mcuboot_info_t *out)
{
    const uint32_t size = out->file_size;
    esp_err_t err;
    if (at + 4 > size) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    if ((err = rf_reader_read(r, (uint32_t)at, scratch, 4)) != ESP_OK) {
        return read_fail(out, err, (uint32_t)at);
    }
    uint16_t magic = rf_le16(scratch), tot = rf_le16(scratch + 2);
    if (prot) {
        out->has_prot_area = true;
        out->prot_magic = magic;
        out->prot_tot = tot;
    } else {
        out->has_tlv_area = true;
        out->tlv_magic = magic;
        out->tlv_tot = tot;
    }
    if (magic != (prot ? RF_MCUBOOT_TLV_PROT_INFO_MAGIC : RF_MCUBOOT_TLV_INFO_MAGIC)) {
        return fail(out, RF_IMG_ERR_TLV_MAGIC, (uint32_t)at);
    }
    /* the protected area is exactly ih_protect_tlv_size (>= 4) bytes */
    if (tot < 4 || (prot && tot != out->protect_tlv_size) || at + tot > size) {
        return fail(out, RF_IMG_ERR_TLV_BOUNDS, (uint32_t)at + 2);
    }
    if (!prot) {
        out->image_end = (uint32_t)at + tot;
    }
    return walk_tlvs(r, (uint32_t)at + 4, (uint32_t)at + tot, prot, scratch, out);
}

/* The swap trailer's magic (MCUboot's boot_img_magic). */
static const uint8_t k_trailer_magic[16] = { 0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                             0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80 };

static esp_err_t check_signature(const rf_reader_t *r, const rf_mcuboot_opts_t *opts, uint8_t *scratch,
                                 rf_mcuboot_info_t *out)
{
    out->sig_state = out->sig_type != 0 ? RF_SIG_STATE_NOT_CHECKED : RF_SIG_STATE_ABSENT;
    out->keyhash_state = out->has_keyhash ? RF_KEYHASH_NOT_CHECKED : RF_KEYHASH_ABSENT;
    const rf_sig_key_t *key = opts->key;
    if (key == NULL) {
        return ESP_OK;
    }
    if (out->has_keyhash && key->spki_len > 0 && key->spki_len <= sizeof key->spki) {
        uint8_t kh[RF_SHA256_LEN];
        rf_sha256(key->spki, key->spki_len, kh);
        out->keyhash_state = RF_MEMCMP(kh, out->keyhash, RF_SHA256_LEN) == 0 ? RF_KEYHASH_MATCH : RF_KEYHASH_MISMATCH;
    }
    if (out->sig_type == 0) {
        note(out, RF_IMG_ERR_UNSIGNED, out->tlv_off);
        return ESP_OK;
    }
    rf_sig_alg_t alg = rf_sig_alg_of_tlv(out->sig_type);
    if (alg == RF_SIG_ALG_NONE || alg != key->alg || out->sig_len > RF_MCUBOOT_SIG_MAX || !rf_sig_supported(alg)) {
        out->sig_state = RF_SIG_STATE_UNSUPPORTED;
        note(out, RF_IMG_ERR_SIG_UNSUPPORTED, out->sig_offset);
        return ESP_OK;
    }
    esp_err_t err = rf_reader_read(r, out->sig_offset, scratch, out->sig_len);
    if (err != ESP_OK) {
        return read_fail(out, err, out->sig_offset);
    }
    /* Over the hash the bootloader computes, not the one the image claims. */
    err = rf_sig_verify_key(key, alg, out->sha256_calc, scratch, out->sig_len);
    if (err == ESP_OK) {
        out->sig_state = RF_SIG_STATE_OK;
    } else if (err == ESP_ERR_INVALID_CRC) {
        out->sig_state = RF_SIG_STATE_BAD;
        note(out, RF_IMG_ERR_SIGNATURE, out->sig_offset);
    } else {
        out->sig_state = RF_SIG_STATE_UNSUPPORTED;
        note(out, RF_IMG_ERR_SIG_UNSUPPORTED, out->sig_offset);
    }
    return ESP_OK;
}

static esp_err_t check_trailer(const rf_reader_t *r, uint8_t *scratch, rf_mcuboot_info_t *out)
{
    uint32_t slot = out->slot_size;   /* the caller's: non-zero, inside the data */
    if (slot < RF_MCUBOOT_TRAILER_MIN) {
        out->trailer = RF_TRAILER_NOT_PRESENT;
        return ESP_OK;
    }
    uint32_t base = slot - RF_MCUBOOT_TRAILER_MIN;
    esp_err_t err = rf_reader_read(r, base, scratch, RF_MCUBOOT_TRAILER_MIN);
    if (err != ESP_OK) {
        return read_fail(out, err, base);
    }
    const uint8_t *t = scratch;   /* t[i] is the byte at slot - 48 + i */
    out->swap_size = rf_le32(t + (RF_MCUBOOT_TRAILER_MIN - RF_MCUBOOT_TRAILER_SWAP_SIZE_END));
    out->swap_info = t[RF_MCUBOOT_TRAILER_MIN - RF_MCUBOOT_TRAILER_SWAP_INFO_END];
    out->copy_done = t[RF_MCUBOOT_TRAILER_MIN - RF_MCUBOOT_TRAILER_COPY_DONE_END];
    out->image_ok = t[RF_MCUBOOT_TRAILER_MIN - RF_MCUBOOT_TRAILER_IMAGE_OK_END];
    out->trailer_magic_off = slot - RF_MCUBOOT_TRAILER_MAGIC_END;
    RF_MEMCPY(out->trailer_magic, t + (RF_MCUBOOT_TRAILER_MIN - RF_MCUBOOT_TRAILER_MAGIC_END), 16);
    if (RF_MEMCMP(out->trailer_magic, k_trailer_magic, 16) == 0) {
        out->trailer = RF_TRAILER_MAGIC_GOOD;
        if (out->image_ok == RF_MCUBOOT_FLAG_SET) {
            out->swap_request = RF_SWAP_REQ_PERM;
        } else if (out->image_ok == 0xFF) {
            out->swap_request = RF_SWAP_REQ_TEST;
        }
    } else if (rf_is_blank(out->trailer_magic, 16)) {
        out->trailer = RF_TRAILER_MAGIC_UNSET;
    } else {
        out->trailer = RF_TRAILER_MAGIC_BAD;
        note(out, RF_IMG_ERR_TRAILER, out->trailer_magic_off);
    }
    return ESP_OK;
}

esp_err_t rf_mcuboot_inspect(const rf_reader_t *r, uint32_t slot_size, const struct rf_sig_key *key,
                             uint8_t *scratch, size_t scratch_len, rf_mcuboot_info_t *out)
{
    rf_mcuboot_opts_t o = { .slot_size = slot_size, .trailer_size = 0, .key = key };
    return rf_mcuboot_inspect_ex(r, &o, scratch, scratch_len, out);
}

uint64_t rf_mcuboot_hashed_end(const uint8_t hdr[16])
{
    if (rf_le32(hdr) != RF_MCUBOOT_MAGIC || rf_le16(hdr + 8) < RF_MCUBOOT_HEADER_LEN) {
        return 0;
    }
    return (uint64_t)rf_le16(hdr + 8) + rf_le32(hdr + 12) + rf_le16(hdr + 10);
}

/* The header's bytes 4..27 (load address, header size, protected TLV size,
 * image size, flags, version) are the info's fields from load_addr on, at
 * the same distances: on a little-endian host one copy decodes them all. */
#define HDR_FIELD(f, at) ((size_t)offsetof(rf_mcuboot_info_t, f) - offsetof(rf_mcuboot_info_t, load_addr) + 4u == (at))
_Static_assert(HDR_FIELD(hdr_size, 8) && HDR_FIELD(protect_tlv_size, 10) && HDR_FIELD(img_size, 12) &&
                   HDR_FIELD(flags, 16) && HDR_FIELD(ver_major, 20) && HDR_FIELD(ver_minor, 21) &&
                   HDR_FIELD(ver_revision, 22) && HDR_FIELD(ver_build, 24) &&
                   sizeof(((rf_mcuboot_info_t *)0)->ver_build) == 4,
               "rf_mcuboot_info_t: header fields out of the header's layout");

esp_err_t rf_mcuboot_inspect_ex(const rf_reader_t *r, const rf_mcuboot_opts_t *opts, uint8_t *scratch,
                                size_t scratch_len, rf_mcuboot_info_t *out)
{
    if (out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(out, 0, sizeof *out);
    if (r == NULL || r->read == NULL || scratch == NULL || scratch_len < RF_IMAGE_SCRATCH_MIN) {
        out->err = RF_IMG_ERR_ARG;
        return ESP_ERR_INVALID_ARG;
    }
    rf_mcuboot_opts_t none = { 0 };
    if (opts == NULL) {
        opts = &none;
    }
    const uint32_t size = r->size;
    out->file_size = size;
    esp_err_t err;

    /* Header. */
    if (size < 4) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    if ((err = rf_reader_read(r, 0, scratch, 4)) != ESP_OK) {
        return read_fail(out, err, 0);
    }
    out->magic = rf_le32(scratch);
    if (out->magic != RF_MCUBOOT_MAGIC) {
        return fail(out, RF_IMG_ERR_MAGIC, 0);
    }
    if (size < RF_MCUBOOT_HEADER_LEN) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    if ((err = rf_reader_read(r, 0, scratch, RF_MCUBOOT_HEADER_LEN)) != ESP_OK) {
        return read_fail(out, err, 0);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    RF_MEMCPY(&out->load_addr, scratch + 4, 24);   /* the same layout (HDR_FIELD) */
#else
    out->load_addr = rf_le32(scratch + 4);
    out->hdr_size = rf_le16(scratch + 8);
    out->protect_tlv_size = rf_le16(scratch + 10);
    out->img_size = rf_le32(scratch + 12);
    out->flags = rf_le32(scratch + 16);
    out->ver_major = scratch[20];
    out->ver_minor = scratch[21];
    out->ver_revision = rf_le16(scratch + 22);
    out->ver_build = rf_le32(scratch + 24);
#endif
    if (out->hdr_size < RF_MCUBOOT_HEADER_LEN) {
        return fail(out, RF_IMG_ERR_HEADER, 8);
    }
    uint64_t prot_off = (uint64_t)out->hdr_size + out->img_size;
    if (prot_off > size) {
        return fail(out, RF_IMG_ERR_TRUNCATED, size);
    }
    out->prot_off = (uint32_t)prot_off;
    uint64_t tlv_off = rf_mcuboot_hashed_end(scratch);   /* prot_off + protect_tlv_size */
    out->tlv_off = tlv_off > UINT32_MAX ? UINT32_MAX : (uint32_t)tlv_off;
    out->hashed_len = out->tlv_off;

    /* Protected TLV area: exactly ih_protect_tlv_size bytes. */
    if (out->protect_tlv_size != 0) {
        if (out->protect_tlv_size < 4) {
            return fail(out, RF_IMG_ERR_TLV_BOUNDS, 10);
        }
        if ((err = tlv_area(r, prot_off, true, scratch, out)) != ESP_OK) {
            return err;
        }
    }

    /* TLV area. */
    if ((err = tlv_area(r, tlv_off, false, scratch, out)) != ESP_OK) {
        return err;
    }

    /* From here on the structure is sound: record failures and go on. */
    if (out->flags & (RF_MCUBOOT_F_ENCRYPTED_AES128 | RF_MCUBOOT_F_ENCRYPTED_AES256)) {
        note(out, RF_IMG_ERR_ENCRYPTED, 16);
    }

    /* Slot: given, or the data when it extends a trailer's worth past the image. */
    /* (0, the default, is below the minimum) */
    out->trailer_size = RF_MAX(opts->trailer_size, RF_MCUBOOT_TRAILER_MIN);
    /* image_end <= size: the sums below are compared as differences */
    if (opts->slot_size != 0) {
        out->slot_size = opts->slot_size;
    } else if (out->trailer_size <= size - out->image_end) {
        out->slot_size = size;
    }
    if (out->slot_size != 0) {
        if (out->image_end > out->slot_size || out->trailer_size > out->slot_size - out->image_end) {
            note(out, RF_IMG_ERR_SLOT_SIZE, out->image_end);
        } else if (size > out->slot_size) {
            note(out, RF_IMG_ERR_SLOT_SIZE, out->slot_size);
        }
    }

    /* Hash of header + image + protected TLVs. */
    if (!out->has_sha256) {
        note(out, RF_IMG_ERR_NO_HASH, out->tlv_off);
    }
    if (opts->known != NULL && opts->known->off == 0 && opts->known->len == out->hashed_len) {
        RF_MEMCPY(out->sha256_calc, opts->known->sha256, RF_SHA256_LEN);   /* hashed once already */
    } else if ((err = rf_reader_sha256(r, 0, out->hashed_len, scratch, scratch_len, out->sha256_calc)) != ESP_OK) {
        return read_fail(out, err, 0);
    }
    if (out->has_sha256) {
        out->sha256_checked = true;
        if (RF_MEMCMP(out->sha256_calc, out->sha256_tlv, RF_SHA256_LEN) != 0) {
            uint32_t at = out->tlv_off;
            for (uint32_t i = 0; i < out->tlvs_listed; i++) {
                if (out->tlvs[i].type == RF_TLV_SHA256) {
                    at = out->tlvs[i].offset;
                }
            }
            note(out, RF_IMG_ERR_SHA256, at);
        }
    }

    if ((err = check_signature(r, opts, scratch, out)) != ESP_OK) {
        return err;
    }
    if (out->slot_size != 0 && out->slot_size <= size) {
        if ((err = check_trailer(r, scratch, out)) != ESP_OK) {
            return err;
        }
    }
    return out->err == RF_IMG_OK ? ESP_OK : RF_ERR_IMAGE_INVALID;
}

const char *rf_mcuboot_tlv_name(uint16_t type)
{
    switch (type) {
    case RF_TLV_KEYHASH: return "KEYHASH";
    case RF_TLV_PUBKEY: return "PUBKEY";
    case RF_TLV_SHA256: return "SHA256";
    case RF_TLV_SHA384: return "SHA384";
    case RF_TLV_SHA512: return "SHA512";
    case RF_TLV_RSA2048_PSS: return "RSA2048_PSS";
    case RF_TLV_ECDSA224: return "ECDSA224";
    case RF_TLV_ECDSA_SIG: return "ECDSA_SIG";
    case RF_TLV_RSA3072_PSS: return "RSA3072_PSS";
    case RF_TLV_ED25519: return "ED25519";
    case RF_TLV_SIG_PURE: return "SIG_PURE";
    case RF_TLV_ENC_RSA2048: return "ENC_RSA2048";
    case RF_TLV_ENC_KW: return "ENC_KW";
    case RF_TLV_ENC_EC256: return "ENC_EC256";
    case RF_TLV_ENC_X25519: return "ENC_X25519";
    case RF_TLV_DEPENDENCY: return "DEPENDENCY";
    case RF_TLV_SEC_CNT: return "SEC_CNT";
    case RF_TLV_BOOT_RECORD: return "BOOT_RECORD";
    default: return NULL;
    }
}

const char *rf_mcuboot_swap_type_name(uint8_t swap_type)
{
    switch (swap_type) {
    case RF_SWAP_TYPE_NONE: return "none";
    case RF_SWAP_TYPE_TEST: return "test";
    case RF_SWAP_TYPE_PERM: return "perm";
    case RF_SWAP_TYPE_REVERT: return "revert";
    case RF_SWAP_TYPE_FAIL: return "fail";
    case 0xF: return "unset";
    default: return "?";
    }
}

const char *rf_sig_state_name(rf_sig_state_t s)
{
    switch (s) {
    case RF_SIG_STATE_ABSENT: return "absent";
    case RF_SIG_STATE_NOT_CHECKED: return "not checked";
    case RF_SIG_STATE_OK: return "OK";
    case RF_SIG_STATE_BAD: return "BAD";
    case RF_SIG_STATE_UNSUPPORTED: return "unsupported";
    }
    return "?";
}

const char *rf_trailer_state_name(rf_trailer_state_t s)
{
    switch (s) {
    case RF_TRAILER_NOT_PRESENT: return "not present";
    case RF_TRAILER_MAGIC_UNSET: return "unset";
    case RF_TRAILER_MAGIC_GOOD: return "good";
    case RF_TRAILER_MAGIC_BAD: return "bad";
    }
    return "?";
}
