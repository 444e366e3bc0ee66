/* Boot-state model (see rf_boot.h). */
#include "rf_boot.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_crypto.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_oldsys.h"
#include "rf_ptable.h"
#include "rf_util.h"

#define SCRATCH_LEN 4096u

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
    case RF_BOOT_BL_NONE: break;
    }
    return "none";
}

bool rf_boot_chip_has_recovery(const char *chip)
{
    return chip != NULL && (strcmp(chip, "esp32c5") == 0 || strcmp(chip, "esp32c61") == 0 ||
                            strcmp(chip, "esp32p4") == 0);
}

void rf_boot_expect_from_device(const rf_device_t *dev, rf_boot_expect_t *exp)
{
    memset(exp, 0, sizeof *exp);
    exp->ptable_offset = dev->ptable_offset;
    exp->recovery_bootloader_offset = dev->recovery_offset;
    if (rf_oldsys_unhex32(dev->old_bootloader_sha256, exp->old_bootloader_sha256)) {
        exp->has_old_bootloader_sha256 = true;
    }
}

/* ---- helpers ------------------------------------------------------------- */

typedef struct ctx {
    const uint8_t *flash;
    uint32_t size;
    const char *chip;
    uint16_t chip_id;
    rf_boot_expect_t exp;
    rf_boot_report_t *rep;
    uint8_t scratch[SCRATCH_LEN];
} ctx_t;

static void say(rf_boot_report_t *rep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
    va_end(ap);
}

/* Append to a bounded note buffer. */
static void note_add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

/* A reader over flash[off, off + len) (clipped to the flash). */
static bool window(const ctx_t *c, uint32_t off, uint32_t len, rf_reader_t *r, rf_reader_buf_t *rb)
{
    if (off >= c->size) {
        return false;
    }
    if (len > c->size - off) {
        len = c->size - off;
    }
    return rf_reader_from_buffer(r, rb, c->flash + off, len) == ESP_OK;
}

/* Is there a valid ESP image for this chip at flash[off, off + len)? */
static bool esp_image_at(ctx_t *c, uint32_t off, uint32_t len, rf_esp_image_info_t *info)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    memset(info, 0, sizeof *info);
    if (!window(c, off, len, &r, &rb)) {
        info->err = RF_IMG_ERR_TRUNCATED;
        info->err_offset = 0;
        return false;
    }
    rf_esp_image_opts_t o = { .expect_chip_id = c->chip_id };
    esp_err_t e = rf_esp_image_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, info);
    return e == ESP_OK && info->err == RF_IMG_OK;
}

/* Is there a valid MCUboot image in the slot? (A bad trailer magic does not count.) */
static bool mcuboot_image_at(ctx_t *c, uint32_t off, uint32_t size, rf_mcuboot_info_t *info)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    memset(info, 0, sizeof *info);
    if ((uint64_t)off + size > c->size || !window(c, off, size, &r, &rb)) {
        info->err = RF_IMG_ERR_TRUNCATED;
        return false;
    }
    rf_mcuboot_opts_t o = { .slot_size = size, .trailer_size = c->exp.mcuboot_trailer_size, .key = NULL };
    esp_err_t e = rf_mcuboot_inspect_ex(&r, &o, c->scratch, sizeof c->scratch, info);
    return e == ESP_OK || (e == RF_ERR_IMAGE_INVALID && info->err == RF_IMG_ERR_TRAILER);
}

/* ---- ESP-IDF second-stage bootloader ------------------------------------- */

#define FACTORY_INDEX (-1)
#define TEST_INDEX (-2)
#define MAX_OTA 16

typedef struct idf_state {
    rf_part_t factory, test, ota_info;
    rf_part_t ota[MAX_OTA];
    uint32_t app_count;
} idf_state_t;

static const rf_part_t *index_part(const idf_state_t *bs, int index)
{
    if (index == FACTORY_INDEX) {
        return &bs->factory;
    }
    if (index == TEST_INDEX) {
        return &bs->test;
    }
    if (index >= 0 && index < MAX_OTA) {
        return &bs->ota[index];
    }
    return NULL;
}

/* Try one partition as the bootloader's try_load_partition does. */
static bool try_app(ctx_t *c, const rf_part_t *p, char *notes, size_t cap)
{
    if (p == NULL || p->size == 0) {
        return false;
    }
    rf_esp_image_info_t info;
    if ((uint64_t)p->offset + p->size > c->size) {
        note_add(notes, cap, "%s%s@0x%x: partition ends past the flash", notes[0] ? "; " : "", p->label,
                 (unsigned)p->offset);
        return false;
    }
    if (!esp_image_at(c, p->offset, p->size, &info)) {
        note_add(notes, cap, "%s%s@0x%x: %s at 0x%x", notes[0] ? "; " : "", p->label, (unsigned)p->offset,
                 rf_img_err_str(info.err), (unsigned)(p->offset + info.err_offset));
        return false;
    }
    if (!info.has_app_desc) {
        note_add(notes, cap, "%s%s@0x%x: an ESP image but not an app (no esp_app_desc_t)", notes[0] ? "; " : "",
                 p->label, (unsigned)p->offset);
        return false;
    }
    rf_boot_report_t *rep = c->rep;
    snprintf(rep->app_label, sizeof rep->app_label, "%s", p->label);
    rep->app_offset = p->offset;
    snprintf(rep->app_project, sizeof rep->app_project, "%s", info.app.project_name);
    snprintf(rep->app_version, sizeof rep->app_version, "%s", info.app.version);
    return true;
}

static rf_boot_result_t idf_boot(ctx_t *c)
{
    rf_boot_report_t *rep = c->rep;
    uint32_t pt = c->exp.ptable_offset ? c->exp.ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    if ((uint64_t)pt + RF_PTABLE_ENTRY_LEN > c->size) {
        say(rep, "ESP-IDF bootloader: partition table offset 0x%x is past the flash", (unsigned)pt);
        return RF_BOOT_BRICK;
    }
    uint32_t len = c->size - pt < RF_PTABLE_MAX_LEN ? c->size - pt : RF_PTABLE_MAX_LEN;
    rf_ptable_t *t = malloc(sizeof *t);
    if (t == NULL) {
        say(rep, "out of memory");
        return RF_BOOT_BRICK;
    }
    esp_err_t e = rf_ptable_parse(c->flash + pt, len, t);
    if (e != ESP_OK) {
        free(t);
        if (e == ESP_ERR_INVALID_CRC) {
            say(rep, "ESP-IDF bootloader: partition table at 0x%x: MD5 mismatch (load_partition_table fails)",
                (unsigned)pt);
        } else if (e == ESP_ERR_NOT_FOUND) {
            say(rep, "ESP-IDF bootloader: no partition table at 0x%x", (unsigned)pt);
        } else {
            say(rep, "ESP-IDF bootloader: partition table at 0x%x is corrupt (%s)", (unsigned)pt,
                esp_err_to_name(e));
        }
        return RF_BOOT_BRICK;
    }
    idf_state_t bs;
    memset(&bs, 0, sizeof bs);
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (p->type == RF_PART_TYPE_APP) {
            if (p->subtype == RF_PART_SUBTYPE_FACTORY) {
                bs.factory = *p;
            } else if (p->subtype >= RF_PART_SUBTYPE_OTA_MIN && p->subtype <= RF_PART_SUBTYPE_OTA_MAX) {
                bs.ota[p->subtype & 0x0F] = *p;
                bs.app_count++;
            } else if (p->subtype == RF_PART_SUBTYPE_TEST) {
                bs.test = *p;
            }
        } else if (p->type == RF_PART_TYPE_DATA && p->subtype == RF_PART_SUBTYPE_DATA_OTA) {
            bs.ota_info = *p;
        }
    }
    free(t);

    /* Which app: bootloader_utility_get_selected_boot_partition(). */
    int start = FACTORY_INDEX;
    char sel[96];
    snprintf(sel, sizeof sel, "no otadata partition: factory");
    if (bs.ota_info.size != 0) {
        if (bs.ota_info.size < 2 * RF_OTADATA_SECTOR) {
            say(rep, "ESP-IDF bootloader: otadata partition at 0x%x is too small (0x%x bytes)",
                (unsigned)bs.ota_info.offset, (unsigned)bs.ota_info.size);
            return RF_BOOT_BRICK;
        }
        if ((uint64_t)bs.ota_info.offset + 2 * RF_OTADATA_SECTOR > c->size) {
            say(rep, "ESP-IDF bootloader: otadata partition at 0x%x is past the flash", (unsigned)bs.ota_info.offset);
            return RF_BOOT_BRICK;
        }
        rf_otadata_entry_t ent[2];
        for (int i = 0; i < 2; i++) {
            rf_otadata_entry_decode(c->flash + bs.ota_info.offset + (uint32_t)i * RF_OTADATA_SECTOR, &ent[i]);
        }
        int active = -1;
        if (ent[0].valid && ent[1].valid) {
            active = ent[0].ota_seq >= ent[1].ota_seq ? 0 : 1;
        } else if (ent[0].valid) {
            active = 0;
        } else if (ent[1].valid) {
            active = 1;
        }
        if (bs.app_count == 0 || active < 0) {
            if (bs.factory.size != 0) {
                start = FACTORY_INDEX;
                bool blank = ent[0].ota_seq == UINT32_MAX && ent[1].ota_seq == UINT32_MAX;
                snprintf(sel, sizeof sel, "%s: factory",
                         bs.app_count == 0 ? "no OTA app partitions"
                         : blank           ? "otadata blank"
                                           : "no valid otadata entry");
            } else {
                start = 0;
                snprintf(sel, sizeof sel, "no valid otadata entry and no factory app: ota_0");
            }
        } else {
            rep->ota_seq = ent[active].ota_seq;
            start = (int)((ent[active].ota_seq - 1u) % bs.app_count);
            snprintf(sel, sizeof sel, "otadata[%d] seq %u: ota_%d", active, (unsigned)ent[active].ota_seq, start);
        }
    }
    rep->ota_selected = start;

    /* bootloader_utility_load_boot_image(): the selected one, downwards to
     * the factory app, upwards through the OTA slots, then the test app. */
    char notes[480] = "";
    bool ok = false;
    int booted = -3;
    for (int i = start; i >= FACTORY_INDEX && !ok; i--) {
        if (try_app(c, index_part(&bs, i), notes, sizeof notes)) {
            ok = true;
            booted = i;
        }
    }
    for (int i = start + 1; i < (int)bs.app_count && !ok; i++) {
        if (try_app(c, index_part(&bs, i), notes, sizeof notes)) {
            ok = true;
            booted = i;
        }
    }
    if (!ok && try_app(c, &bs.test, notes, sizeof notes)) {
        ok = true;
        booted = TEST_INDEX;
    }
    rep->ota_selected = booted;
    if (!ok) {
        say(rep, "ESP-IDF bootloader at 0x%x: no bootable app (%s; %s)", (unsigned)rep->bootloader_offset, sel,
            notes[0] ? notes : "no app partitions");
        return RF_BOOT_BRICK;
    }
    say(rep, "ESP-IDF bootloader at 0x%x boots %s at 0x%x: '%s' %s (%s%s%s)", (unsigned)rep->bootloader_offset,
        rep->app_label, (unsigned)rep->app_offset, rep->app_project, rep->app_version, sel,
        booted != start ? "; fell back past: " : "", booted != start ? notes : "");
    return RF_BOOT_OLD;
}

/* ---- MCUboot ------------------------------------------------------------- */

enum { MAGIC_UNSET = 0, MAGIC_GOOD, MAGIC_BAD };
enum { FLAG_UNSET = 0, FLAG_SET, FLAG_BAD };

typedef struct swap_state {
    int magic, image_ok, copy_done;
} swap_state_t;

static int flag_decode(uint8_t b)
{
    return b == 0xFF ? FLAG_UNSET : b == RF_MCUBOOT_FLAG_SET ? FLAG_SET : FLAG_BAD;
}

static void read_swap_state(const ctx_t *c, uint32_t slot, uint32_t size, swap_state_t *s)
{
    static const uint8_t good[16] = { 0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                      0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80 };
    s->magic = MAGIC_UNSET;
    s->image_ok = s->copy_done = FLAG_UNSET;
    if (size < RF_MCUBOOT_TRAILER_MIN || (uint64_t)slot + size > c->size) {
        s->magic = MAGIC_BAD;
        s->image_ok = s->copy_done = FLAG_BAD;
        return;
    }
    const uint8_t *end = c->flash + slot + size;
    const uint8_t *m = end - RF_MCUBOOT_TRAILER_MAGIC_END;
    if (memcmp(m, good, 16) == 0) {
        s->magic = MAGIC_GOOD;
    } else if (!rf_is_blank(m, 16)) {
        s->magic = MAGIC_BAD;
    }
    s->image_ok = flag_decode(end[-(int)RF_MCUBOOT_TRAILER_IMAGE_OK_END]);
    s->copy_done = flag_decode(end[-(int)RF_MCUBOOT_TRAILER_COPY_DONE_END]);
}

static void mcuboot_booted(ctx_t *c, uint32_t slot, const rf_mcuboot_info_t *info)
{
    c->rep->slot_offset = slot;
    c->rep->image_len = info->image_end;
    memcpy(c->rep->image_sha256, info->sha256_tlv, 32);
}

static rf_boot_result_t mcuboot_boot(ctx_t *c)
{
    rf_boot_report_t *rep = c->rep;
    uint32_t p_off = c->exp.primary_slot ? c->exp.primary_slot : RF_BOOT_PRIMARY_SLOT_DEFAULT;
    uint32_t p_size = c->exp.primary_size ? c->exp.primary_size : RF_BOOT_SLOT_SIZE_DEFAULT;
    uint32_t s_off = c->exp.secondary_slot ? c->exp.secondary_slot : RF_BOOT_SECONDARY_SLOT_DEFAULT;
    uint32_t s_size = c->exp.secondary_size ? c->exp.secondary_size : RF_BOOT_SLOT_SIZE_DEFAULT;
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
    rep->swap_type = swap;
    rf_mcuboot_info_t *info = malloc(sizeof *info);
    if (info == NULL) {
        say(rep, "out of memory");
        return RF_BOOT_BRICK;
    }
    char why_sec[120] = "";
    if (swap != RF_SWAP_TYPE_NONE) {
        if (mcuboot_image_at(c, s_off, s_size, info)) {
            mcuboot_booted(c, s_off, info);
            say(rep, "MCUboot at 0x%x: swap type %s: the image in the secondary slot (0x%x, %u bytes) is swapped "
                "into the primary slot (0x%x) and boots", (unsigned)rep->bootloader_offset,
                rf_mcuboot_swap_type_name(swap), (unsigned)s_off, (unsigned)info->image_end, (unsigned)p_off);
            free(info);
            return RF_BOOT_NEW;
        }
        /* MCUboot refuses the swap (and erases the bad secondary image). */
        snprintf(why_sec, sizeof why_sec, "; swap %s refused, secondary slot 0x%x: %s at 0x%x",
                 rf_mcuboot_swap_type_name(swap), (unsigned)s_off, rf_img_err_str(info->err),
                 (unsigned)(s_off + info->err_offset));
        rep->swap_type = RF_SWAP_TYPE_NONE;
    }
    if (mcuboot_image_at(c, p_off, p_size, info)) {
        mcuboot_booted(c, p_off, info);
        say(rep, "MCUboot at 0x%x boots the image in the primary slot (0x%x, %u bytes)%s",
            (unsigned)rep->bootloader_offset, (unsigned)p_off, (unsigned)info->image_end, why_sec);
        free(info);
        return RF_BOOT_NEW;
    }
    say(rep, "MCUboot at 0x%x finds no bootable image: primary slot 0x%x: %s at 0x%x%s",
        (unsigned)rep->bootloader_offset, (unsigned)p_off, rf_img_err_str(info->err),
        (unsigned)(p_off + info->err_offset), why_sec);
    free(info);
    return RF_BOOT_BRICK;
}

/* ---- the chain ------------------------------------------------------------ */

static rf_boot_result_t finish(rf_boot_report_t *rep, rf_boot_result_t r)
{
    rep->result = r;
    return r;
}

rf_boot_result_t rf_boot_model(const uint8_t *flash, uint32_t flash_size, const char *chip,
                               const rf_boot_expect_t *exp, rf_boot_report_t *rep)
{
    rf_boot_report_t local;
    if (rep == NULL) {
        rep = &local;
    }
    memset(rep, 0, sizeof *rep);
    rep->ota_selected = -3;
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        say(rep, "out of memory");
        return finish(rep, RF_BOOT_BRICK);
    }
    c->flash = flash;
    c->size = flash_size;
    c->chip = chip;
    c->rep = rep;
    if (exp != NULL) {
        c->exp = *exp;
    }
    uint32_t bl_off;
    if (flash == NULL || chip == NULL || !rf_chip_id(chip, &c->chip_id) || !rf_chip_bootloader_offset(chip, &bl_off)) {
        say(rep, "unknown chip '%s' or no flash", chip ? chip : "(null)");
        free(c);
        return finish(rep, RF_BOOT_BRICK);
    }

    /* 1. ROM. */
    rf_esp_image_info_t info;
    rep->bootloader_offset = bl_off;
    bool valid = esp_image_at(c, bl_off, flash_size > bl_off ? flash_size - bl_off : 0, &info);
    char rom_fail[160];
    snprintf(rom_fail, sizeof rom_fail, "ROM: no valid second-stage bootloader at 0x%x: %s at 0x%x", (unsigned)bl_off,
             rf_img_err_str(info.err), (unsigned)(bl_off + info.err_offset));
    if (!valid) {
        uint32_t rec = c->exp.recovery_bootloader_offset;
        if (rec != 0 && rec != 0xFFFu * 0x1000u && rf_boot_chip_has_recovery(chip) && rec < flash_size) {
            rf_esp_image_info_t rinfo;
            if (esp_image_at(c, rec, flash_size - rec, &rinfo)) {
                info = rinfo;
                valid = true;
                rep->used_recovery = true;
                rep->bootloader_offset = rec;
            } else {
                size_t n = strlen(rom_fail);
                snprintf(rom_fail + n, sizeof rom_fail - n, "; recovery bootloader at 0x%x: %s", (unsigned)rec,
                         rf_img_err_str(rinfo.err));
            }
        }
    }
    if (!valid) {
        say(rep, "%s", rom_fail);
        free(c);
        return finish(rep, RF_BOOT_BRICK);
    }
    rep->bootloader_valid = true;
    rep->bootloader_len = info.image_len;
    const uint8_t *img = flash + rep->bootloader_offset;
    rf_sha256(img, info.image_len, rep->bootloader_sha256);

    /* 2. Which bootloader. */
    if (c->exp.has_old_bootloader_sha256) {
        rep->bootloader = memcmp(rep->bootloader_sha256, c->exp.old_bootloader_sha256, 32) == 0 ? RF_BOOT_BL_ESP_IDF
                                                                                                  : RF_BOOT_BL_MCUBOOT;
    } else if (c->exp.has_new_bootloader_sha256) {
        rep->bootloader = memcmp(rep->bootloader_sha256, c->exp.new_bootloader_sha256, 32) == 0 ? RF_BOOT_BL_MCUBOOT
                                                                                                  : RF_BOOT_BL_ESP_IDF;
    } else {
        rep->bootloader = memmem(img, info.image_len, "MCUboot", 7) != NULL ? RF_BOOT_BL_MCUBOOT : RF_BOOT_BL_ESP_IDF;
    }

    /* 3. The bootloader's own choice. */
    rf_boot_result_t r = rep->bootloader == RF_BOOT_BL_ESP_IDF ? idf_boot(c) : mcuboot_boot(c);
    if (rep->used_recovery) {
        size_t n = strlen(rep->reason);
        snprintf(rep->reason + n, sizeof rep->reason - n, " [ROM fell back to the recovery bootloader: %s]",
                 rom_fail + 5);
    }
    free(c);
    return finish(rep, r);
}

rf_boot_result_t rf_boot_model_device(rf_device_t *dev, const rf_boot_expect_t *exp_override, rf_boot_report_t *rep)
{
    rf_boot_expect_t exp;
    if (exp_override != NULL) {
        exp = *exp_override;
    } else {
        rf_boot_expect_from_device(dev, &exp);
    }
    return rf_boot_model(nor_sim_data(dev->sim), nor_sim_config(dev->sim)->size, dev->chip, &exp, rep);
}
