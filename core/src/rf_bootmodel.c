/* Boot-state model over a reader (see rf_bootmodel.h). Freestanding. */
#include "rf_bootmodel.h"
#include "rf_otadata.h"

const char *rf_boot_result_name(rf_boot_result_t r)
{
    switch (r) {
    case RF_BOOT_OLD: return "OLD";
    case RF_BOOT_NEW: return "NEW";
    case RF_BOOT_BRICK: return "BRICK";
    }
    return "?";
}

const char *rf_boot_loader_name(rf_boot_loader_t b)
{
    switch (b) {
    case RF_BOOT_BL_ESP_IDF: return "ESP-IDF";
    case RF_BOOT_BL_MCUBOOT: return "MCUboot";
    case RF_BOOT_BL_UNKNOWN: return "unknown";
    case RF_BOOT_BL_NONE: break;
    }
    return "none";
}

static inline bool has_recovery(uint16_t chip_id)
{
    return chip_id == 23 || chip_id == 20 || chip_id == 18;   /* ESP32-C5, -C61, -P4 */
}

bool rf_boot_chip_has_recovery(uint16_t chip_id)
{
    return has_recovery(chip_id);
}

/* Flash-mapped windows (external memory through the cache) per chip, from
 * the chips' technical reference manuals' address maps. A ROM loads a
 * bootloader segment only into internal memory; ESP32's map is known well
 * enough to list what is allowed instead. */
bool rf_boot_segment_loadable(uint16_t chip_id, uint32_t addr, uint32_t len)
{
    const uint64_t end = (uint64_t)addr + len;
    /* each window with the chips (a bit per esp_chip_id_t) it applies to */
    struct win { uint32_t lo, hi, chips; };
#define CHIP(id) (1u << (id))
    static const struct win k_win[] = {
        /* ESP32, the windows a segment must lie inside: internal SRAM/ROM data
         * 0x3FF80000..0x40000000, instruction RAM 0x40070000..0x400C2000 (incl.
         * cache RAM), RTC 0x50000000..0x50002000 */
        { 0x3FF80000u, 0x40000000u, CHIP(0) }, { 0x40070000u, 0x400C2000u, CHIP(0) },
        { 0x50000000u, 0x50002000u, CHIP(0) },
        /* the others, the flash-mapped windows a segment must not touch */
        { 0x3F000000u, 0x3FF80000u, CHIP(2) }, { 0x40080000u, 0x40800000u, CHIP(2) },   /* S2 */
        { 0x3C000000u, 0x3E000000u, CHIP(9) | CHIP(5) | CHIP(12) },                      /* S3, C3, C2 */
        { 0x42000000u, 0x44000000u,                            /* S3, C3, C2; C6, H2, C61, C5 */
          CHIP(9) | CHIP(5) | CHIP(12) | CHIP(13) | CHIP(16) | CHIP(20) | CHIP(23) },
        { 0x40000000u, 0x4C000000u, CHIP(18) },                                          /* P4 */
    };
#undef CHIP
    /* ESP32: allowed windows; the others: forbidden ones (a chip not listed has none: true) */
    const bool inside = chip_id == 0;
    for (const struct win *w = k_win; w < k_win + sizeof k_win / sizeof k_win[0]; w++) {
        if (chip_id < 32 && (w->chips >> chip_id & 1u) != 0 &&
            (inside ? (addr >= w->lo && end <= w->hi) : (addr < w->hi && end > w->lo))) {
            return inside;
        }
    }
    return !inside;
}

void rf_boot_app_names(char project[33], char version[33], const rf_esp_image_info_t *i)
{
    rf_str_copy(project, i->app.project_name, 33);
    rf_str_copy(version, i->app.version, 33);
}

int32_t rf_boot_bad_segment(uint16_t chip_id, const rf_esp_image_info_t *i)
{
    for (uint32_t s = 0; s < i->segments_parsed && s < RF_ESP_MAX_SEGMENTS; s++) {
        if (!rf_boot_segment_loadable(chip_id, i->segments[s].load_addr, i->segments[s].len)) {
            return (int32_t)s;
        }
    }
    return -1;
}

/* ---- bootloader identification by content -------------------------------- */

/* NUL-separated lists, each ended by an empty string */
static const char k_mcuboot_marks[] = "bootutil\0Swap type\0mcuboot\0MCUboot\0";
static const char k_idf_marks[] = "Loaded app from partition\0load partition table error\0"
                                  "ota data partition invalid\0ESP-IDF\0";

static bool find_in(const uint8_t *buf, uint32_t n, const char *marks)
{
    for (const char *m = marks; *m != 0; m += __builtin_strlen(m) + 1) {
        uint32_t k = (uint32_t)__builtin_strlen(m);
        for (uint32_t i = 0; i + k <= n; i++) {
            if (buf[i] == (uint8_t)m[0] && RF_MEMCMP(buf + i, m, k) == 0) {
                return true;
            }
        }
    }
    return false;
}

rf_boot_loader_t rf_boot_identify(const rf_reader_t *r, uint32_t off, uint32_t len, uint8_t *scratch,
                                  size_t scratch_len)
{
    const uint32_t keep = 32;   /* longer than any marker: a marker across two chunks is still found */
    if (scratch_len < 2 * keep) {
        return RF_BOOT_BL_UNKNOWN;
    }
    uint32_t cap = scratch_len > 0x10000u ? 0x10000u : (uint32_t)scratch_len;
    bool idf = false;
    uint32_t pos = 0, held = 0;
    while (pos < len) {
        uint32_t n = len - pos < cap - held ? len - pos : cap - held;
        if (rf_reader_read(r, off + pos, scratch + held, n) != ESP_OK) {
            return RF_BOOT_BL_UNKNOWN;
        }
        uint32_t have = held + n;
        if (find_in(scratch, have, k_mcuboot_marks)) {
            return RF_BOOT_BL_MCUBOOT;
        }
        idf = idf || find_in(scratch, have, k_idf_marks);
        pos += n;
        held = have < keep ? have : keep;
        RF_MEMMOVE(scratch, scratch + have - held, held);   /* the ranges may overlap */
    }
    return idf ? RF_BOOT_BL_ESP_IDF : RF_BOOT_BL_UNKNOWN;
}

/* ---- model ------------------------------------------------------------------ */

typedef struct ctx {
    const rf_reader_t *flash;
    uint32_t size;
    rf_boot_layout_t lay;
    rf_boot_state_t *st;
    const rf_boot_hint_t *hint; /* may be NULL */
    uint8_t *scratch;          /* RF_BOOT_SCRATCH_LEN */
    void *parts;               /* idf_parts_t, in the work area */
    union {
        rf_esp_image_info_t esp;
        rf_mcuboot_info_t mcu;
    } *info;
} ctx_t;

/* The work area: [0, RF_BOOT_SCRATCH_LEN) inspector scratch, then the inspector's result,
 * then (ESP-IDF path) the partitions it boots from: off the stack. */
#define INFO_AT RF_BOOT_SCRATCH_LEN
#define PARTS_AT (INFO_AT + RF_BOOT_INFO_LEN)
_Static_assert(sizeof(rf_esp_image_info_t) + 16u <= PARTS_AT - INFO_AT, "work area");
_Static_assert(sizeof(rf_mcuboot_info_t) + 16u <= PARTS_AT - INFO_AT, "work area");

static rf_boot_result_t brick(ctx_t *c, rf_boot_why_t why)
{
    c->st->why = why;
    return RF_BOOT_BRICK;
}

/* The caller's digest of bytes starting at flash offset off, made relative
 * to a window at off (NULL when none). */
static const rf_sha_known_t *known_at(const ctx_t *c, uint32_t off, rf_sha_known_t *rel)
{
    for (uint32_t i = 0; c->hint != 0 && i < c->hint->known_count; i++) {
        const rf_sha_known_t *k = &c->hint->known[i];
        if (k->off == off && k->len != 0) {
            *rel = *k;
            rel->off = 0;
            return rel;
        }
    }
    return 0;
}

/* A valid image at [off, off + len) of the flash? Result in c->info: an ESP
 * image for the chip (mcu false; no_hash: the appended SHA-256 is not
 * checked, the ESP32 ROM's view of the second-stage bootloader), or an
 * MCUboot image in a slot of len bytes (mcu true; a trailer error still
 * boots). One window and one digest lookup for both inspectors. */
static bool image_at(ctx_t *c, uint32_t off, uint32_t len, bool mcu, bool no_hash)
{
    rf_esp_image_info_t *esp = &c->info->esp;
    rf_mcuboot_info_t *m = &c->info->mcu;
    RF_MEMSET(c->info, 0, mcu ? sizeof *m : sizeof *esp);
    rf_reader_t w;
    rf_reader_window_t wc;
    /* (an MCUboot slot is never empty: rf_boot_slots()) */
    if (off >= c->size || len > c->size - off || rf_reader_window(&w, &wc, c->flash, off, len) != ESP_OK) {
        esp->err = RF_IMG_ERR_TRUNCATED;   /* the first field of both */
        return false;
    }
    rf_sha_known_t rel;
    const rf_sha_known_t *known = known_at(c, off, &rel);
    if (mcu) {
        rf_mcuboot_opts_t o = { .slot_size = len, .trailer_size = c->lay.trailer_size, .key = 0, .known = known };
        esp_err_t e = rf_mcuboot_inspect_ex(&w, &o, c->scratch, RF_BOOT_SCRATCH_LEN, m);
        return e == ESP_OK || (e == RF_ERR_IMAGE_INVALID && m->err == RF_IMG_ERR_TRAILER);
    }
    rf_esp_image_opts_t o = { .expect_chip_id = c->lay.chip_id, .known = known, .no_hash = no_hash };
    esp_err_t e = rf_esp_image_inspect_ex(&w, &o, c->scratch, RF_BOOT_SCRATCH_LEN, esp);
    return e == ESP_OK && esp->err == RF_IMG_OK;
}

/* ---- ESP-IDF second-stage bootloader ------------------------------------- */

#define MAX_OTA 16

typedef struct idf_parts {
    rf_part_t factory, test, otadata;
    rf_part_t ota[MAX_OTA];
    uint32_t ota_count;
} idf_parts_t;

/* esp_partition_table_verify() + load_partition_table() of bootloader_support. */
static rf_boot_result_t idf_table(ctx_t *c, uint32_t pt, idf_parts_t *bs)
{
    rf_boot_state_t *st = c->st;
    if ((uint64_t)pt + RF_PTABLE_ENTRY_LEN > c->size) {
        st->a = pt;
        return brick(c, RF_BOOT_WHY_PT_OFFSET);
    }
    uint32_t len = c->size - pt < RF_PTABLE_MAX_LEN ? c->size - pt : RF_PTABLE_MAX_LEN;
    uint32_t flash = st->bootloader_flash_size ? st->bootloader_flash_size : c->size;
    RF_MEMSET(bs, 0, sizeof *bs);
    /* an entry at a time (no copy of the table): the entry, then the MD5 of
     * the entries read so far and a copy of it, in the scratch (off the stack) */
    _Static_assert(2u * sizeof(rf_md5_ctx_t) + 2u * RF_PTABLE_ENTRY_LEN <= RF_BOOT_SCRATCH_LEN, "scratch");
    rf_md5_ctx_t *const md5 = (rf_md5_ctx_t *)(void *)(c->scratch + RF_PTABLE_ENTRY_LEN);
    rf_md5_ctx_t *const upto = md5 + 1;
    rf_md5_start(md5);
    rf_boot_result_t r = RF_BOOT_OLD;
    for (uint32_t i = 0; (i + 1) * RF_PTABLE_ENTRY_LEN <= len; i++) {
        uint8_t *e = c->scratch;
        if (rf_reader_read(c->flash, pt + i * RF_PTABLE_ENTRY_LEN, e, RF_PTABLE_ENTRY_LEN) != ESP_OK) {
            st->a = pt;
            r = brick(c, RF_BOOT_WHY_PT_NONE);
            break;
        }
        uint16_t magic = rf_le16(e);
        if (magic == RF_PTABLE_MAGIC) {
            rf_md5_update(md5, e, RF_PTABLE_ENTRY_LEN);   /* the MD5 entry covers every entry before it */
            /* decoded straight into its place in bs (a partition the boot
             * does not use: into p); a brick below ends the table's use */
            const uint8_t type = e[2], sub = e[3];
            rf_part_t other, *p = &other;
            if (type == RF_PART_TYPE_APP) {
                if (sub == RF_PART_SUBTYPE_FACTORY) {
                    p = &bs->factory;
                } else if (sub >= RF_PART_SUBTYPE_OTA_MIN && sub <= RF_PART_SUBTYPE_OTA_MAX) {
                    p = &bs->ota[sub & 0x0F];
                    bs->ota_count++;
                } else if (sub == RF_PART_SUBTYPE_TEST) {
                    p = &bs->test;
                }
            } else if (type == RF_PART_TYPE_DATA && sub == RF_PART_SUBTYPE_DATA_OTA) {
                p = &bs->otadata;
            }
            (void)rf_part_decode(e, p);   /* a range past 4 GiB is past `flash` too */
            if ((uint64_t)p->offset + p->size > flash) {
                st->a = i;
                st->b = p->offset;
                st->c = p->size;
                st->d = flash;
                r = brick(c, RF_BOOT_WHY_PT_FLASH_SIZE);
                break;
            }
            continue;
        }
        if (i == 0) {
            st->a = pt;
            r = brick(c, RF_BOOT_WHY_PT_NONE);
            break;
        }
        if (magic == RF_PTABLE_MAGIC_MD5) {
            uint8_t md5v[RF_MD5_LEN];
            *upto = *md5;   /* a plain value (ROM or Mbed TLS software MD5): the digest so far */
            rf_md5_finish(upto, md5v);
            if (RF_MEMCMP(md5v, e + 16, RF_MD5_LEN) != 0) {
                st->a = pt;
                r = brick(c, RF_BOOT_WHY_PT_MD5);
                break;
            }
            rf_md5_update(md5, e, RF_PTABLE_ENTRY_LEN);
            continue;
        }
        if (magic == 0xFFFFu) {
            break;
        }
        st->a = i;
        st->b = pt;
        r = brick(c, RF_BOOT_WHY_PT_MAGIC);
        break;
    }
    uint8_t unused[RF_MD5_LEN];
    rf_md5_finish(md5, unused);
    return r;
}

static const rf_part_t *index_part(const idf_parts_t *bs, int index)
{
    if (index == RF_BOOT_FACTORY) {
        return &bs->factory;
    }
    if (index == RF_BOOT_TEST) {
        return &bs->test;
    }
    return index >= 0 && index < MAX_OTA ? &bs->ota[index] : 0;
}

/* The app at `index` (ota_N, factory, test): does it boot? One that does
 * not is listed in st->tries while there is room. */
static bool try_app(ctx_t *c, int index)
{
    rf_boot_state_t *st = c->st;
    const rf_part_t *p = index_part(c->parts, index);
    if (p == 0 || p->size == 0) {
        return false;
    }
    /* the next entry, still zero (st starts zeroed; an entry is kept only
     * when counted), or a throwaway one when the list is full */
    rf_boot_try_t spare, *tr = st->tries_count < RF_BOOT_MAX_TRIES ? &st->tries[st->tries_count] : &spare;
    tr->index = (int8_t)index;
    tr->offset = p->offset;
    rf_str_copy(tr->label, p->label, sizeof tr->label);
    const rf_esp_image_info_t *i = &c->info->esp;
    if ((uint64_t)p->offset + p->size > c->size) {
        tr->err = RF_IMG_ERR__COUNT;
    } else if (!image_at(c, p->offset, p->size, false, false)) {
        tr->err = (uint8_t)i->err;
        tr->err_at = p->offset + i->err_offset;
    } else if (!i->has_app_desc) {
        tr->err = RF_IMG_OK;
    } else {
        RF_MEMSET(tr, 0, sizeof *tr);   /* boots: not a try to list */
        rf_str_copy(st->app_label, p->label, sizeof st->app_label);
        st->app_offset = p->offset;
        rf_boot_app_names(st->app_project, st->app_version, i);
        return true;
    }
    if (tr != &spare) {
        st->tries_count++;
    }
    return false;
}

static rf_boot_result_t idf_boot(ctx_t *c)
{
    rf_boot_state_t *st = c->st;
    uint32_t pt = c->lay.ptable_offset ? c->lay.ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    _Static_assert(PARTS_AT + sizeof(idf_parts_t) + 16u <= RF_BOOT_WORK_LEN, "work area");
    idf_parts_t *const parts = c->parts;
    if (idf_table(c, pt, parts) == RF_BOOT_BRICK) {
        return RF_BOOT_BRICK;
    }
    int start = RF_BOOT_FACTORY;
    st->sel = RF_BOOT_SEL_NO_OTADATA;
    if (parts->otadata.size != 0) {
        if (parts->otadata.size < 2 * RF_OTADATA_SECTOR) {
            st->a = parts->otadata.size;
            st->b = parts->otadata.offset;
            return brick(c, RF_BOOT_WHY_OTADATA_SMALL);
        }
        if ((uint64_t)parts->otadata.offset + 2 * RF_OTADATA_SECTOR > c->size) {
            st->b = parts->otadata.offset;
            return brick(c, RF_BOOT_WHY_OTADATA_PAST);
        }
        rf_otadata_entry_t ent[2];
        for (uint32_t i = 0; i < 2; i++) {
            uint8_t raw[RF_OTADATA_ENTRY_LEN];
            if (rf_reader_read(c->flash, parts->otadata.offset + i * RF_OTADATA_SECTOR, raw, sizeof raw) != ESP_OK) {
                return brick(c, RF_BOOT_WHY_OTADATA_PAST);
            }
            rf_otadata_entry_decode(raw, &ent[i]);
        }
        int active = -1;
        if (ent[0].valid && ent[1].valid) {
            active = ent[0].ota_seq >= ent[1].ota_seq ? 0 : 1;
        } else if (ent[0].valid) {
            active = 0;
        } else if (ent[1].valid) {
            active = 1;
        }
        if (parts->ota_count == 0 || active < 0) {
            if (parts->factory.size != 0) {
                bool blank = ent[0].ota_seq == UINT32_MAX && ent[1].ota_seq == UINT32_MAX;
                st->sel = parts->ota_count == 0 ? RF_BOOT_SEL_NO_OTA_APPS : blank ? RF_BOOT_SEL_BLANK : RF_BOOT_SEL_NO_VALID;
            } else {
                start = 0;
                st->sel = RF_BOOT_SEL_NO_VALID_NO_FACTORY;
            }
        } else {
            st->sel = RF_BOOT_SEL_ENTRY;
            st->sel_entry = (int8_t)active;
            st->ota_seq = ent[active].ota_seq;
            start = (int)((ent[active].ota_seq - 1u) % parts->ota_count);
        }
    }
    st->ota_start = start;
    /* bootloader_utility_load_boot_image(): the selected one, downwards to
     * the factory app, upwards through the OTA slots, then the test app. */
    int booted = RF_BOOT_NONE;
    for (int i = start; i >= RF_BOOT_FACTORY && booted == RF_BOOT_NONE; i--) {
        if (try_app(c, i)) {
            booted = i;
        }
    }
    for (int i = start + 1; i < (int)parts->ota_count && booted == RF_BOOT_NONE; i++) {
        if (try_app(c, i)) {
            booted = i;
        }
    }
    if (booted == RF_BOOT_NONE && try_app(c, RF_BOOT_TEST)) {
        booted = RF_BOOT_TEST;
    }
    st->ota_selected = booted;
    return booted == RF_BOOT_NONE ? brick(c, RF_BOOT_WHY_NO_APP) : RF_BOOT_OLD;
}

/* ---- MCUboot ------------------------------------------------------------- */

enum { MAGIC_UNSET = 0, MAGIC_GOOD, MAGIC_BAD };
enum { FLAG_UNSET = 0, FLAG_SET, FLAG_BAD };

typedef struct swap_state {
    int magic, image_ok, copy_done;
} swap_state_t;

static RF_NOINLINE int flag_decode(uint8_t b)
{
    return b == 0xFF ? FLAG_UNSET : b == RF_MCUBOOT_FLAG_SET ? FLAG_SET : FLAG_BAD;
}

static void read_swap_state(const ctx_t *c, uint32_t slot, uint32_t size, swap_state_t *s)
{
    static const uint8_t good[16] = { 0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                      0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80 };
    uint8_t t[RF_MCUBOOT_TRAILER_COPY_DONE_END];
    s->magic = MAGIC_UNSET;
    s->image_ok = s->copy_done = FLAG_UNSET;
    if (size < RF_MCUBOOT_TRAILER_MIN || (uint64_t)slot + size > c->size ||
        rf_reader_read(c->flash, slot + size - sizeof t, t, sizeof t) != ESP_OK) {
        s->magic = MAGIC_BAD;
        s->image_ok = s->copy_done = FLAG_BAD;
        return;
    }
    const uint8_t *end = t + sizeof t;
    const uint8_t *m = end - RF_MCUBOOT_TRAILER_MAGIC_END;
    if (RF_MEMCMP(m, good, 16) == 0) {
        s->magic = MAGIC_GOOD;
    } else if (!rf_is_blank(m, 16)) {
        s->magic = MAGIC_BAD;
    }
    s->image_ok = flag_decode(end[-(int)RF_MCUBOOT_TRAILER_IMAGE_OK_END]);
    s->copy_done = flag_decode(end[-(int)RF_MCUBOOT_TRAILER_COPY_DONE_END]);
}

static rf_boot_result_t mcuboot_booted(ctx_t *c, uint32_t slot)
{
    c->st->slot_offset = slot;
    c->st->image_len = c->info->mcu.image_end;
    RF_MEMCPY(c->st->image_sha256, c->info->mcu.sha256_tlv, 32);
    return RF_BOOT_NEW;
}

void rf_boot_slots(const rf_boot_layout_t *lay, uint32_t out[4])
{
    out[0] = lay->primary_slot ? lay->primary_slot : RF_BOOT_PRIMARY_SLOT_DEFAULT;
    out[1] = lay->primary_size ? lay->primary_size : RF_BOOT_SLOT_SIZE_DEFAULT;
    out[2] = lay->secondary_slot ? lay->secondary_slot : RF_BOOT_SECONDARY_SLOT_DEFAULT;
    out[3] = lay->secondary_size ? lay->secondary_size : RF_BOOT_SLOT_SIZE_DEFAULT;
}

static rf_boot_result_t mcuboot_boot(ctx_t *c)
{
    rf_boot_state_t *st = c->st;
    uint32_t sl[4];
    rf_boot_slots(&c->lay, sl);
    const uint32_t p_off = sl[0], p_size = sl[1], s_off = sl[2], s_size = sl[3];
    st->primary_slot = p_off;
    st->secondary_slot = s_off;
    swap_state_t ps, ss;
    read_swap_state(c, p_off, p_size, &ps);
    read_swap_state(c, s_off, s_size, &ss);
    uint8_t swap = RF_SWAP_TYPE_NONE;
    if (ss.magic == MAGIC_GOOD && ss.image_ok == FLAG_UNSET) {
        swap = RF_SWAP_TYPE_TEST;
    } else if (ss.magic == MAGIC_GOOD && ss.image_ok == FLAG_SET) {
        swap = RF_SWAP_TYPE_PERM;
    } else if (ps.magic == MAGIC_GOOD && ss.magic == MAGIC_UNSET && ps.image_ok == FLAG_UNSET &&
               ps.copy_done == FLAG_SET) {
        swap = RF_SWAP_TYPE_REVERT;
    }
    st->swap_type = swap;
    if (swap != RF_SWAP_TYPE_NONE) {
        if (image_at(c, s_off, s_size, true, false)) {
            return mcuboot_booted(c, s_off);
        }
        /* MCUboot refuses the swap (and erases the bad secondary image). */
        st->swap_refused = swap;
        st->secondary_err = (uint8_t)c->info->mcu.err;
        st->secondary_err_at = s_off + c->info->mcu.err_offset;
        st->swap_type = RF_SWAP_TYPE_NONE;
    }
    if (image_at(c, p_off, p_size, true, false)) {
        return mcuboot_booted(c, p_off);
    }
    st->img_err = (uint8_t)c->info->mcu.err;
    st->err_at = p_off + c->info->mcu.err_offset;
    return brick(c, RF_BOOT_WHY_MCUBOOT_NO_IMAGE);
}

/* ---- the chain ------------------------------------------------------------ */

/* The ROM stage at `off`: a valid image whose segments a ROM can load
 * (RF_BOOT_WHY_OK), else why not; the primary's error is kept in st. */
static rf_boot_why_t rom_image_at(ctx_t *c, uint32_t off, bool primary)
{
    const rf_esp_image_info_t *i = &c->info->esp;
    rf_boot_why_t why = RF_BOOT_WHY_ROM_IMAGE;
    uint8_t err;
    uint32_t err_at;
    /* The ESP32's and the ESP32-C3's ROMs load the second-stage bootloader
     * on its header, segments and XOR checksum: a wrong appended SHA-256 is
     * booted anyway (their real ROMs in Espressif's QEMU: the ESP32's says
     * nothing, the C3's "SHA-256 comparison failed ... Attempting to boot
     * anyway"; DESIGN.md). The other chips' ROMs are not verified here: for
     * them the hash is still required (the safe side). */
    if (!image_at(c, off, c->size > off ? c->size - off : 0, false, c->lay.chip_id == 0 || c->lay.chip_id == 5)) {
        err = (uint8_t)i->err;
        err_at = off + i->err_offset;
    } else {
        int32_t s = rf_boot_bad_segment(c->lay.chip_id, i);
        if (s < 0) {
            return RF_BOOT_WHY_OK;
        }
        why = RF_BOOT_WHY_ROM_SEGMENT;
        c->st->a = (uint32_t)s;
        c->st->b = i->segments[s].load_addr;
        err = RF_IMG_OK;
        err_at = off + i->segments[s].offset - 8;
    }
    if (primary) {
        c->st->primary_err = err;
        c->st->primary_err_at = err_at;
    }
    return why;
}

rf_boot_result_t rf_boot_eval(const rf_reader_t *flash, const rf_boot_layout_t *layout, void *work, size_t work_len,
                              rf_boot_state_t *st)
{
    return rf_boot_eval_ex(flash, layout, 0, work, work_len, st);
}

rf_boot_result_t rf_boot_eval_ex(const rf_reader_t *flash, const rf_boot_layout_t *layout, const rf_boot_hint_t *hint,
                                 void *work, size_t work_len, rf_boot_state_t *st)
{
    RF_MEMSET(st, 0, sizeof *st);
    st->ota_selected = RF_BOOT_NONE;
    st->ota_start = RF_BOOT_NONE;
    st->result = RF_BOOT_BRICK;
    if (flash == 0 || layout == 0 || work == 0 || work_len < RF_BOOT_WORK_LEN ||
        rf_esp_chip_name(layout->chip_id) == 0) {
        st->why = RF_BOOT_WHY_ARG;
        return RF_BOOT_BRICK;
    }
    ctx_t c = { .flash = flash, .size = flash->size, .lay = *layout, .st = st, .hint = hint, .scratch = work };
    c.info = rf_at16((uint8_t *)work + INFO_AT);
    c.parts = rf_at16((uint8_t *)work + PARTS_AT);

    /* 1. ROM. */
    uint32_t bl_off = rf_esp_chip_bootloader_offset(layout->chip_id);
    st->bootloader_offset = bl_off;
    rf_boot_why_t why = rom_image_at(&c, bl_off, true);
    if (why != RF_BOOT_WHY_OK) {
        uint32_t rec = layout->recovery_offset;
        if (rec != 0 && rec != 0xFFFu * 0x1000u && has_recovery(layout->chip_id) && rec < c.size &&
            rom_image_at(&c, rec, false) == RF_BOOT_WHY_OK) {
            st->used_recovery = true;
            st->bootloader_offset = rec;
        } else {
            st->img_err = st->primary_err;
            st->err_at = st->primary_err_at;
            st->why = why;
            return RF_BOOT_BRICK;
        }
    }
    st->bootloader_valid = true;
    st->bootloader_len = c.info->esp.image_len;
    st->bootloader_flash_size = rf_esp_flash_size_bytes(c.info->esp.spi_size_freq);
    bool has_desc = c.info->esp.has_bootloader_desc;
    if ((hint == 0 || !hint->no_bootloader_sha256) &&
        rf_reader_sha256(flash, st->bootloader_offset, st->bootloader_len, c.scratch, RF_BOOT_SCRATCH_LEN,
                         st->bootloader_sha256) != ESP_OK) {
        st->why = RF_BOOT_WHY_ROM_IMAGE;
        st->img_err = RF_IMG_ERR_READ;
        return RF_BOOT_BRICK;
    }

    /* 2. Which bootloader, by content (the caller may have scanned this very image). */
    st->bootloader = hint != 0 && hint->bl_known != RF_BOOT_BL_NONE && hint->bl_known_off == st->bootloader_offset
                         ? hint->bl_known
                         : rf_boot_identify(flash, st->bootloader_offset, st->bootloader_len, c.scratch, RF_BOOT_SCRATCH_LEN);
    if (st->bootloader == RF_BOOT_BL_UNKNOWN && has_desc) {
        st->bootloader = RF_BOOT_BL_ESP_IDF;
    }
    rf_boot_result_t r;
    if (st->bootloader == RF_BOOT_BL_ESP_IDF) {
        r = idf_boot(&c);
    } else if (st->bootloader == RF_BOOT_BL_MCUBOOT) {
        r = mcuboot_boot(&c);
    } else {
        r = brick(&c, RF_BOOT_WHY_BL_UNKNOWN);
    }
    st->result = r;
    return r;
}

/* ---- would-be flash -------------------------------------------------------- */

esp_err_t rf_vflash_push(rf_vflash_t *v, uint32_t dst, uint32_t dst_size, uint32_t len, const rf_reader_t *src)
{
    if (v->count >= RF_VFLASH_MAX) {
        return ESP_ERR_NO_MEM;
    }
    rf_vflash_write_t *w = &v->w[v->count++];
    w->dst = dst;
    w->dst_size = dst_size;
    w->len = src ? (len < dst_size ? len : dst_size) : 0;
    w->src = src;
    return ESP_OK;
}

/* Each byte is read once, from the layer that holds it: the latest write
 * covering it (its source, or 0xFF past its data), else the base flash. The
 * base is not read under a write (issue 11: no read whose bytes are thrown
 * away). Walks the range in pieces, each served by one layer. */
static esp_err_t vflash_read_n(const rf_vflash_t *v, uint32_t count, uint32_t off, void *buf, uint32_t len)
{
    /* 32-bit offsets: rf_reader_read() bounds every read by the base's size
     * (off + len fits), and a write's extent is taken relative to its start. */
    uint8_t *out = buf;
    while (len > 0) {
        /* the latest write covering off; the piece (n bytes) ends where it
         * ends or where a later write starts */
        const rf_vflash_write_t *top = 0;
        uint32_t n = len;
        for (uint32_t k = count; k-- > 0;) {
            const rf_vflash_write_t *w = &v->w[k];
            if (off >= w->dst && off - w->dst < w->dst_size) {
                top = w;
                n = RF_MIN(n, w->dst_size - (off - w->dst));
                break;
            }
            if (w->dst > off && w->dst - off < n) {
                n = w->dst - off;   /* a later write than what serves off starts inside the piece */
            }
        }
        esp_err_t err = ESP_OK;
        if (top == 0) {
            err = rf_reader_read(v->base, off, out, n);
        } else if (off - top->dst < top->len) {
            n = RF_MIN(n, top->len - (off - top->dst));
            err = rf_reader_read(top->src, off - top->dst, out, n);
        } else {
            RF_MEMSET(out, 0xFF, n);
        }
        if (err != ESP_OK) {
            return err;
        }
        off += n;
        out += n;
        len -= n;
    }
    return ESP_OK;
}

static esp_err_t vflash_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_vflash_t *v = arg;
    return vflash_read_n(v, v->count, off, buf, len);
}

static esp_err_t vflash_view_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_vflash_view_t *w = arg;
    return vflash_read_n(w->v, w->count < w->v->count ? w->count : w->v->count, off, buf, len);
}

void rf_vflash_reader_upto(const rf_vflash_t *v, uint32_t count, rf_vflash_view_t *ctx, rf_reader_t *out)
{
    ctx->v = v;
    ctx->count = count;
    out->read = vflash_view_read;
    out->arg = ctx;
    out->size = v->base->size;
}

void rf_vflash_reader(rf_vflash_t *v, rf_reader_t *out)
{
    out->read = vflash_read;
    out->arg = v;
    out->size = v->base->size;
}
