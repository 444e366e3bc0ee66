/* The engine's write rules (see rf_engine.h). Freestanding. */
#include "rf_engine.h"
#include "rf_otadata.h"
#include "rf_region.h"
#include "rf_sig.h"

/* The names, one NUL-separated list each (no table of pointers): a name is
 * looked up by walking the list, only when a line is logged. */
#define RF_ENG_RULE_NAME(rule, name, text) name "\0"
static const char k_rule_names[] = RF_ENG_RULES(RF_ENG_RULE_NAME);
/* the list's order is rf_eng_rule_t's */
#define RF_ENG_RULE_POS(rule, name, text) RF_ENG_POS_##rule,
enum { RF_ENG_RULES(RF_ENG_RULE_POS) RF_ENG_POS__COUNT };
#define RF_ENG_RULE_CHECK(rule, name, text) _Static_assert((int)RF_ENG_POS_##rule == (int)(rule), "rule order");
RF_ENG_RULES(RF_ENG_RULE_CHECK)
_Static_assert((int)RF_ENG_POS__COUNT == (int)RF_ENG__COUNT, "one name per rule");

/* rf_eng_rule_str() and rf_eng_pt_why_str(), the sentences, are in
 * rf_texts.c: a device logs these names and links none of the sentences. */
const char *rf_eng_rule_name(rf_eng_rule_t r)
{
    return (unsigned)r < RF_ENG__COUNT ? rf_nth_str(k_rule_names, (unsigned)r) : "?";
}

const char *rf_eng_pt_why_name(rf_eng_pt_why_t w)
{
    /* in rf_eng_pt_why_t's order, RF_ENG_PT_OK (0) to RF_ENG_PT_BOOTLOADER_SIZE */
    static const char k_why[] = "OK\0CORRUPT\0NO_MD5\0MD5\0LAYOUT\0FLASH_SIZE\0BOOTLOADER_SIZE";
    _Static_assert(RF_ENG_PT_OK == 0 && RF_ENG_PT_CORRUPT == 1 && RF_ENG_PT_NO_MD5 == 2 && RF_ENG_PT_MD5 == 3 &&
                       RF_ENG_PT_LAYOUT == 4 && RF_ENG_PT_FLASH_SIZE == 5 && RF_ENG_PT_BOOTLOADER_SIZE == 6,
                   "one name per rf_eng_pt_why_t");
    return (unsigned)w <= RF_ENG_PT_BOOTLOADER_SIZE ? rf_nth_str(k_why, (unsigned)w) : "?";
}

typedef struct eng {
    const rf_eng_dev_t *dev;
    rf_reader_t vr;              /* the would-be flash */
    uint8_t *work;
    rf_eng_verdict_t *out;
    void *info;                  /* an inspector's result: after the scratch, 16-byte aligned */
    uint32_t bl_off, pt_off;
} eng_t;

static esp_err_t refuse(eng_t *e, rf_eng_rule_t rule)
{
    e->out->rule = rule;
    return rule == RF_ENG_SHA256 ? ESP_ERR_INVALID_CRC : RF_ERR_IMAGE_INVALID;
}

static void *aligned_at(uint8_t *base, uint32_t off)
{
    return rf_at16(base + off);
}

/* rf_is_blank() once for the table and otadata checks */
static RF_NOINLINE bool blank(const uint8_t *buf, uint32_t n)
{
    return rf_is_blank(buf, n);
}

static uint32_t table_offset(const rf_eng_dev_t *dev)
{
    return dev->ptable_offset ? dev->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
}

/* The boot model's layout of the device (rule 6, the boot path). */
static RF_NOINLINE void dev_layout(const rf_eng_dev_t *dev, rf_boot_layout_t *lay)
{
    *lay = dev->boot;
    lay->chip_id = dev->chip_id;
    lay->ptable_offset = table_offset(dev);
}

/* Table bytes through a reader, from `base` on (rf_ptable_parse_read); a
 * read error is kept apart from the parse's verdicts. */
typedef struct {
    const rf_reader_t *r;
    uint32_t base;
    esp_err_t err;
} at_reader_t;

static esp_err_t read_at(void *arg, uint32_t off, void *buf, uint32_t len)
{
    at_reader_t *a = arg;
    esp_err_t err = rf_reader_read(a->r, a->base + off, buf, len);
    if (err != ESP_OK) {
        a->err = err;
    }
    return err;
}

/* The partitions of the table as it is before the write: where an app
 * partition starts, where otadata is. Reads the table an entry at a time. */
static void table_before(const eng_t *e, const rf_reader_t *before, uint32_t dst, rf_part_t *otadata,
                         bool *app_start)
{
    RF_MEMSET(otadata, 0, sizeof *otadata);
    *app_start = false;
    if ((uint64_t)e->pt_off + RF_PTABLE_MAX_LEN > before->size) {
        return;
    }
    for (uint32_t i = 0; i < RF_PTABLE_MAX_LEN / RF_PTABLE_ENTRY_LEN; i++) {
        uint8_t en[RF_PTABLE_ENTRY_LEN];
        if (rf_reader_read(before, e->pt_off + i * RF_PTABLE_ENTRY_LEN, en, sizeof en) != ESP_OK ||
            rf_le16(en) != RF_PTABLE_MAGIC) {
            break;
        }
        uint8_t type = en[2], sub = en[3];
        uint32_t off = rf_le32(en + 4), len = rf_le32(en + 8);
        if (type == RF_PART_TYPE_APP && off == dst) {
            *app_start = true;
        }
        if (type == RF_PART_TYPE_DATA && sub == RF_PART_SUBTYPE_DATA_OTA && otadata->size == 0) {
            otadata->offset = off;
            otadata->size = len;
        }
    }
}

/* An ESP image of kind `want` for this chip at [off, off + len) of rd. */
static esp_err_t check_esp(eng_t *e, const rf_reader_t *rd, uint32_t off, uint32_t len, rf_esp_kind_t want,
                           const rf_sha_known_t *known)
{
    rf_eng_verdict_t *out = e->out;
    rf_reader_t w;
    rf_reader_window_t wc;
    out->at = off;
    if (rf_reader_window(&w, &wc, rd, off, len) != ESP_OK) {
        out->img_err = RF_IMG_ERR_TRUNCATED;
        return refuse(e, RF_ENG_NOT_ESP_IMAGE);
    }
    uint8_t head[4];
    if (len >= 4 && rf_reader_read(&w, 0, head, 4) == ESP_OK) {
        out->magic = rf_le32(head);
    }
    rf_esp_image_info_t *info = e->info;
    rf_esp_image_opts_t o = { .expect_chip_id = e->dev->chip_id, .known = known };
    esp_err_t err = rf_esp_image_inspect_ex(&w, &o, e->work, RF_BOOT_SCRATCH_LEN, info);
    out->content = want == RF_ESP_KIND_BOOTLOADER ? RF_ENG_CONTENT_ESP_BOOTLOADER : RF_ENG_CONTENT_ESP_APP;
    out->chip_id = info->chip_id;
    out->segments = info->segment_count;
    out->entry_addr = info->entry_addr;
    out->img_err = (uint8_t)info->err;
    out->err_offset = info->err_offset;
    if (err != ESP_OK && err != RF_ERR_IMAGE_INVALID) {
        return refuse(e, RF_ENG_IO);
    }
    if (err != ESP_OK) {
        out->content = RF_ENG_CONTENT_NONE;
        return refuse(e, info->err == RF_IMG_ERR_MAGIC     ? (want == RF_ESP_KIND_APP ? RF_ENG_APP_FORMAT : RF_ENG_NOT_ESP_IMAGE)
                         : info->err == RF_IMG_ERR_CHIP_ID ? RF_ENG_CHIP_ID
                                                           : RF_ENG_ESP_INVALID);
    }
    if (info->has_app_desc) {
        rf_boot_app_names(out->app_project, out->app_version, info);
    }
    if (info->kind != want) {
        out->content = info->kind == RF_ESP_KIND_APP ? RF_ENG_CONTENT_ESP_APP : RF_ENG_CONTENT_ESP_BOOTLOADER;
        return refuse(e, want == RF_ESP_KIND_BOOTLOADER ? RF_ENG_NOT_BOOTLOADER : RF_ENG_APP_FORMAT);
    }
    if (want == RF_ESP_KIND_BOOTLOADER) {
        int32_t s = rf_boot_bad_segment(e->dev->chip_id, info);
        if (s >= 0) {
            out->detail = (uint32_t)s;
            out->err_offset = info->segments[s].offset - 8;
            return refuse(e, RF_ENG_BOOTLOADER_SEGMENT);
        }
        uint32_t bl_len = info->image_len;
        out->bootloader = rf_boot_identify(&w, 0, bl_len, e->work, RF_BOOT_SCRATCH_LEN);
        if (out->bootloader == RF_BOOT_BL_UNKNOWN) {
            return refuse(e, RF_ENG_BOOTLOADER_UNKNOWN);
        }
    }
    return ESP_OK;
}

static esp_err_t check_mcuboot(eng_t *e, const rf_eng_write_t *wr)
{
    rf_eng_verdict_t *out = e->out;
    rf_mcuboot_info_t *info = e->info;
    const uint32_t slot = wr->slot_size ? wr->slot_size : wr->dst_size;
    rf_mcuboot_opts_t o = { .slot_size = wr->len == slot ? slot : 0, .key = wr->key, .known = wr->src_known };
    esp_err_t err = rf_mcuboot_inspect_ex(wr->src, &o, e->work, RF_BOOT_SCRATCH_LEN, info);
    out->at = wr->dst;
    out->content = RF_ENG_CONTENT_MCUBOOT;
    out->img_err = (uint8_t)info->err;
    out->err_offset = info->err_offset;
    out->mcu_ver_major = info->ver_major;
    out->mcu_ver_minor = info->ver_minor;
    out->mcu_ver_revision = info->ver_revision;
    out->mcu_ver_build = info->ver_build;
    out->mcu_img_size = info->img_size;
    out->mcu_trailer = (uint8_t)info->trailer;
    out->mcu_swap_request = (uint8_t)info->swap_request;
    if (err != ESP_OK && err != RF_ERR_IMAGE_INVALID) {
        return refuse(e, RF_ENG_IO);
    }
    if (err != ESP_OK) {
        return refuse(e, info->err == RF_IMG_ERR_UNSIGNED || info->err == RF_IMG_ERR_SIGNATURE ||
                                 info->err == RF_IMG_ERR_SIG_UNSUPPORTED
                             ? RF_ENG_SIGNATURE
                             : RF_ENG_MCUBOOT_INVALID);
    }
    if ((uint64_t)info->image_end + RF_MCUBOOT_TRAILER_MIN > slot) {
        out->img_err = RF_IMG_ERR_SLOT_SIZE;
        out->err_offset = info->image_end;
        return refuse(e, RF_ENG_MCUBOOT_INVALID);
    }
    if (wr->key != 0 && info->sig_state != RF_SIG_STATE_OK) {
        return refuse(e, RF_ENG_SIGNATURE);
    }
    out->signature_ok = wr->key != 0;
    out->img_sha.len = info->hashed_len;
    RF_MEMCPY(out->img_sha.sha256, info->sha256_calc, RF_SHA256_LEN);
    return ESP_OK;
}

/* Rule 5: what the destination's own kind asks of the image itself. */
static esp_err_t check_kind(eng_t *e, const rf_eng_write_t *wr, bool app_start)
{
    rf_eng_verdict_t *out = e->out;
    rf_dest_kind_t kind = wr->declared;
    uint8_t head[4] = { 0xFF, 0xFF, 0xFF, 0xFF };
    if (wr->len >= 4 && rf_reader_read(wr->src, 0, head, 4) != ESP_OK) {
        return refuse(e, RF_ENG_IO);
    }
    out->magic = rf_le32(head);
    if (kind == RF_DEST_RAW && !wr->declared_raw && app_start) {
        kind = RF_DEST_APP_SLOT;
    }
    if (kind == RF_DEST_APP_SLOT) {
        if (head[0] == RF_ESP_IMAGE_MAGIC) {
            kind = RF_DEST_ESP_APP;
        } else if (out->magic == RF_MCUBOOT_MAGIC) {
            kind = RF_DEST_MCUBOOT_SLOT;
        } else {
            out->at = wr->dst;
            return refuse(e, RF_ENG_APP_FORMAT);
        }
    }
    if (wr->key != 0 && kind != RF_DEST_MCUBOOT_SLOT) {
        return refuse(e, RF_ENG_KEY_NOT_MCUBOOT);
    }
    switch (kind) {
    case RF_DEST_BOOTLOADER:
    case RF_DEST_ESP_APP: {
        esp_err_t err = check_esp(e, wr->src, 0, wr->len,
                                  kind == RF_DEST_BOOTLOADER ? RF_ESP_KIND_BOOTLOADER : RF_ESP_KIND_APP, wr->src_known);
        if (err == ESP_OK) {
            const rf_esp_image_info_t *info = e->info;
            out->img_sha.len = info->checksum_offset + 1;
            RF_MEMCPY(out->img_sha.sha256, info->sha256_calc, RF_SHA256_LEN);
        }
        return err;
    }
    case RF_DEST_MCUBOOT_SLOT:
        return check_mcuboot(e, wr);
    default:
        return ESP_OK;
    }
}

/* Which bootloader the would-be flash holds at the bootloader offset. */
static rf_boot_loader_t would_be_bootloader(eng_t *e)
{
    if (e->out->touches_bootloader) {
        return e->out->bootloader;   /* check_esp identified it */
    }
    rf_reader_t w;
    rf_reader_window_t wc;
    rf_esp_image_info_t *info = e->info;
    if (rf_reader_window(&w, &wc, &e->vr, e->bl_off, e->vr.size - e->bl_off) != ESP_OK ||
        rf_esp_image_inspect(&w, e->work, RF_BOOT_SCRATCH_LEN, info) != ESP_OK) {
        return RF_BOOT_BL_NONE;
    }
    return rf_boot_identify(&w, 0, info->image_len, e->work, RF_BOOT_SCRATCH_LEN);
}

/* Whether [off, off + n) reads the same through a and b: a compare, not
 * two digests, stopping at the first chunk that differs. Uses the work
 * area's first RF_BOOT_SCRATCH_LEN bytes. */
static bool same_bytes(eng_t *e, const rf_reader_t *a, const rf_reader_t *b, uint32_t off, uint32_t n)
{
    const uint32_t half = RF_BOOT_SCRATCH_LEN / 2u;
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < half ? n - done : half;
        if (rf_reader_read(a, off + done, e->work, k) != ESP_OK ||
            rf_reader_read(b, off + done, e->work + half, k) != ESP_OK || RF_MEMCMP(e->work, e->work + half, k) != 0) {
            return false;
        }
        done += k;
    }
    return true;
}

/* Rule 3 on the would-be table sector. */
static esp_err_t check_ptable(eng_t *e)
{
    rf_eng_verdict_t *out = e->out;
    out->at = e->pt_off;
    rf_ptable_t *t = aligned_at(e->work, 0);
    at_reader_t ar = { .r = &e->vr, .base = e->pt_off, .err = ESP_OK };
    esp_err_t err = rf_ptable_parse_read(read_at, &ar, RF_PTABLE_MAX_LEN, t);
    if (ar.err != ESP_OK) {
        return refuse(e, RF_ENG_IO);
    }
    if (err == ESP_ERR_NOT_FOUND) {
        /* no table at all (every byte 0xFF): only a bootloader that needs
         * none boots (rule 6); anything else there is a corrupt table */
        uint8_t *buf = (uint8_t *)t;
        bool is_blank = true;
        for (uint32_t o = 0; is_blank && o < RF_PTABLE_MAX_LEN; o += RF_BOOT_SCRATCH_LEN) {
            uint32_t n = RF_MIN(RF_BOOT_SCRATCH_LEN, RF_PTABLE_MAX_LEN - o);
            if (rf_reader_read(&e->vr, e->pt_off + o, buf, n) != ESP_OK) {
                return refuse(e, RF_ENG_IO);
            }
            is_blank = blank(buf, n);
        }
        if (is_blank) {
            return ESP_OK;
        }
    }
    rf_eng_pt_why_t why = RF_ENG_PT_OK;
    uint32_t bad = 0;
    if (err == ESP_ERR_INVALID_CRC) {
        why = RF_ENG_PT_MD5;
    } else if (err != ESP_OK) {
        why = RF_ENG_PT_CORRUPT;
    } else if (!t->has_md5) {
        why = RF_ENG_PT_NO_MD5;
    } else if (rf_ptable_check(t, e->pt_off, e->vr.size, &bad) != ESP_OK) {
        bool past = t->count > 0 && bad < t->count && (uint64_t)t->parts[bad].offset + t->parts[bad].size > e->vr.size;
        why = past ? RF_ENG_PT_FLASH_SIZE : RF_ENG_PT_LAYOUT;
    } else {
        /* the bootloader that will read it: its header's flash size */
        uint8_t hdr[4];
        if (rf_reader_read(&e->vr, e->bl_off, hdr, sizeof hdr) == ESP_OK && hdr[0] == RF_ESP_IMAGE_MAGIC) {
            uint32_t fs = rf_esp_flash_size_bytes(hdr[3]);
            for (uint32_t i = 0; fs != 0 && i < t->count; i++) {
                if ((uint64_t)t->parts[i].offset + t->parts[i].size > fs) {
                    why = RF_ENG_PT_BOOTLOADER_SIZE;
                    bad = i;
                    break;
                }
            }
        }
    }
    if (why != RF_ENG_PT_OK) {
        out->detail = why;
        out->err_offset = bad;
        return refuse(e, RF_ENG_PTABLE);
    }
    return ESP_OK;
}

/* Rule 4 on the would-be otadata. */
static esp_err_t check_otadata(eng_t *e, const rf_part_t *od)
{
    for (uint32_t k = 0; k < 2; k++) {
        uint8_t raw[RF_OTADATA_ENTRY_LEN];
        uint32_t at = od->offset + k * RF_OTADATA_SECTOR;
        if ((uint64_t)at + sizeof raw > e->vr.size || rf_reader_read(&e->vr, at, raw, sizeof raw) != ESP_OK) {
            return refuse(e, RF_ENG_IO);
        }
        uint32_t seq = rf_le32(raw);
        if (blank(raw, sizeof raw)) {
            continue;
        }
        if (seq == UINT32_MAX || rf_le32(raw + 28) != rf_otadata_crc(seq)) {
            e->out->at = at;
            e->out->detail = k;
            return refuse(e, RF_ENG_OTADATA);
        }
    }
    return ESP_OK;
}

esp_err_t rf_eng_check_write(const rf_eng_dev_t *dev, rf_vflash_t *vf, const rf_eng_write_t *w, void *work,
                             size_t work_len, rf_eng_verdict_t *out)
{
    if (dev == 0 || vf == 0 || w == 0 || out == 0 || work == 0 || work_len < RF_ENG_WORK_LEN || w->src == 0 ||
        w->len > w->dst_size || vf->base == 0 || (uint64_t)w->dst + w->dst_size > vf->base->size) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(out, 0, sizeof *out);
    eng_t e = { .dev = dev, .work = work, .out = out,
                .info = aligned_at(work, RF_BOOT_SCRATCH_LEN) };
    e.pt_off = table_offset(dev);
    bool chip_known = rf_esp_chip_name(dev->chip_id) != 0;
    e.bl_off = chip_known ? rf_esp_chip_bootloader_offset(dev->chip_id) : 0;

    /* 1. The digest of the whole staged file. */
    if (w->expect_sha256 != 0 && (w->src_sha256 == 0 || RF_MEMCMP(w->expect_sha256, w->src_sha256, 32) != 0)) {
        out->at = w->dst;
        return refuse(&e, RF_ENG_SHA256);
    }

    /* What the write overlaps, by the layout before it. */
    /* The flash as it is before this write: a view of the laid writes so
     * far, so that it still reads the old bytes once the write is pushed
     * (rule 2's "did the bootloader change", rule 6's "never worse"). */
    rf_reader_t before;
    rf_vflash_view_t before_view;
    rf_vflash_reader_upto(vf, vf->count, &before_view, &before);
    rf_part_t od;
    bool app_start;
    table_before(&e, &before, w->dst, &od, &app_start);
    out->app_slot = app_start;
    out->touches_bootloader = chip_known && e.pt_off > e.bl_off && rf_span_overlaps(w->dst, w->dst_size, e.bl_off, e.pt_off - e.bl_off);
    out->touches_ptable = rf_span_overlaps(w->dst, w->dst_size, e.pt_off, RF_PTABLE_SECTOR);
    out->touches_otadata = od.size >= 2 * RF_OTADATA_SECTOR && rf_span_overlaps(w->dst, w->dst_size, od.offset, od.size);

    /* 5. The image's own kind (read from the staged bytes). */
    esp_err_t err = ESP_OK;
    if (!out->touches_bootloader || w->declared != RF_DEST_RAW) {
        if ((err = check_kind(&e, w, app_start)) != ESP_OK) {
            return err;
        }
    } else if (w->key != 0) {
        return refuse(&e, RF_ENG_KEY_NOT_MCUBOOT);
    }

    /* Lay the write over the flash; everything below judges the result. */
    if (rf_vflash_push(vf, w->dst, w->dst_size, w->len, w->src) != ESP_OK) {
        return ESP_ERR_NO_MEM;
    }
    /* Digests of the would-be flash already in hand (each byte hashed once
     * per check): the image's own (rule 5; it lies at dst now), then rule
     * 2's bootloader. Nothing a caller remembers is taken as proof. */
    /* in the work area's last part, which the boot model leaves alone (not the stack: budget) */
    _Static_assert(RF_ENG_KNOWN_AT + 2u * sizeof(rf_sha_known_t) + 16u <= RF_ENG_WORK_LEN, "work area");
    _Static_assert(RF_ENG_KNOWN_AT >= RF_ENG_PTABLE_END && RF_ENG_KNOWN_AT >= RF_BOOT_WORK_LEN, "work area");
    rf_sha_known_t *known = aligned_at(e.work, RF_ENG_KNOWN_AT);
    uint32_t n_known = 0;
    rf_boot_hint_t hint = { .known = known, .no_bootloader_sha256 = true };
    if (out->img_sha.len != 0 && out->img_sha.len <= w->len) {
        known[n_known] = out->img_sha;
        known[n_known].off = w->dst;
        n_known++;
    }
    rf_vflash_reader(vf, &e.vr);
    bool bl_changed = false;

    /* 2. The bootloader sectors. */
    if (out->touches_bootloader) {
        /* the ROM reads the image wherever it ends (an MCUboot bootloader may
         * run over the table sector: it reads no table) */
        /* the image's own digest (relative to it: off 0), when it starts there */
        const rf_sha_known_t *kb = n_known != 0 && w->dst == e.bl_off ? &out->img_sha : 0;
        err = check_esp(&e, &e.vr, e.bl_off, e.vr.size - e.bl_off, RF_ESP_KIND_BOOTLOADER, kb);
        if (err == ESP_OK) {
            const rf_esp_image_info_t *bl = e.info;   /* check_esp's result */
            /* n_known <= 1 here: room for this one */
            known[n_known].off = e.bl_off;
            known[n_known].len = bl->checksum_offset + 1;
            RF_MEMCPY(known[n_known].sha256, bl->sha256_calc, RF_SHA256_LEN);
            n_known++;
            hint.bl_known = out->bootloader;   /* check_esp identified it */
            hint.bl_known_off = e.bl_off;
            bl_changed = !same_bytes(&e, &before, &e.vr, e.bl_off, bl->image_len);
        }
    }
    /* 3. The table sector, when the bootloader after the write reads one
     * (ESP-IDF's, or one that is not recognised): MCUboot reads none. */
    if (err == ESP_OK && out->touches_ptable && would_be_bootloader(&e) != RF_BOOT_BL_MCUBOOT) {
        err = check_ptable(&e);
    }
    /* 4. otadata. */
    if (err == ESP_OK && out->touches_otadata) {
        err = check_otadata(&e, &od);
    }
    /* 6. The end state. */
    if (err == ESP_OK && chip_known) {
        rf_boot_layout_t lay;
        dev_layout(dev, &lay);
        hint.known_count = n_known;
        rf_boot_result_t r = rf_boot_eval_ex(&e.vr, &lay, &hint, work, RF_BOOT_WORK_LEN, &out->end);
        if (r == RF_BOOT_BRICK && !out->touches_bootloader && !out->touches_ptable && !out->touches_otadata) {
            /* Never worse than before: a flash that boots nothing already
             * (a blank simulated device, say) may take writes off the boot
             * path; the state before is modelled only on this rare path. */
            rf_boot_state_t *prev = aligned_at(e.work, RF_ENG_STATE_AT);   /* ends before `known` */
            if ((uint8_t *)prev + sizeof *prev <= e.work + work_len &&
                rf_boot_eval(&before, &lay, work, RF_BOOT_WORK_LEN, prev) == RF_BOOT_BRICK) {
                out->before_brick = true;
                r = RF_BOOT_OLD;
            }
        }
        if (r == RF_BOOT_BRICK) {
            err = refuse(&e, RF_ENG_END_BRICK);
        } else if (bl_changed && out->end.used_recovery) {
            err = refuse(&e, RF_ENG_END_RECOVERY);
        }
        out->bootloader = out->end.bootloader;
    } else if (err == ESP_OK) {
        err = refuse(&e, RF_ENG_END_BRICK);   /* no chip: nothing can be promised */
    }
    if (err != ESP_OK) {
        vf->count--;
        return err;
    }
    out->rule = RF_ENG_OK;
    return ESP_OK;
}

uint32_t rf_eng_staging_keep(const rf_eng_dev_t *dev, const rf_reader_t *flash, uint32_t out[4])
{
    uint32_t slots[4];   /* offset, size; offset, size */
    rf_boot_slots(&dev->boot, slots);
    uint32_t n = 0;
    for (uint32_t i = 0; i < 4; i += 2) {
        uint8_t head[4];
        if ((uint64_t)slots[i] + 4 <= flash->size && rf_reader_read(flash, slots[i], head, 4) == ESP_OK &&
            rf_le32(head) == RF_MCUBOOT_MAGIC) {
            out[2 * n] = slots[i];
            out[2 * n + 1] = slots[i + 1];
            n++;
        }
    }
    return n;
}

int32_t rf_eng_boot_path(const rf_eng_dev_t *dev, const rf_reader_t *flash, void *work, size_t work_len,
                         uint32_t out[RF_ENG_BOOT_PATH_MAX])
{
    if (dev->chip_id == 0xFFFF || work_len < RF_ENG_WORK_LEN) {
        return -1;
    }
    rf_boot_state_t *st = aligned_at(work, RF_BOOT_WORK_LEN);
    if ((uint8_t *)st + sizeof *st > (uint8_t *)work + work_len) {
        return -1;
    }
    rf_boot_layout_t lay;
    dev_layout(dev, &lay);
    (void)rf_boot_eval(flash, &lay, work, RF_BOOT_WORK_LEN, st);
    /* Only ESP-IDF's bootloader is understood well enough: it boots one app
     * chosen by otadata and tries others in a known order. MCUboot (which
     * may swap from any slot) or a bootloader not recognised: unknown. */
    if (!st->bootloader_valid || st->bootloader != RF_BOOT_BL_ESP_IDF) {
        return -1;
    }
    int32_t n = 0;
    if (st->result != RF_BOOT_BRICK) {
        out[n++] = st->app_offset;
    }
    for (uint32_t i = 0; i < st->tries_count && i < RF_BOOT_MAX_TRIES && n < (int32_t)RF_ENG_BOOT_PATH_MAX; i++) {
        out[n++] = st->tries[i].offset;
    }
    return n;
}
