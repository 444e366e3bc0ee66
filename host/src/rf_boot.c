/* Boot-state model for the host tools (see rf_boot.h): the core model with
 * a one-line reason. */
#include "rf_boot.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_imggen.h"

void rf_boot_expect_from_device(const rf_device_t *dev, rf_boot_expect_t *exp)
{
    memset(exp, 0, sizeof *exp);
    exp->ptable_offset = dev->ptable_offset;
    exp->recovery_bootloader_offset = dev->recovery_offset;
}

bool rf_boot_layout_for(const char *chip, const rf_boot_expect_t *exp, rf_boot_layout_t *out)
{
    memset(out, 0, sizeof *out);
    if (chip == NULL || !rf_chip_id(chip, &out->chip_id)) {
        return false;
    }
    if (exp != NULL) {
        out->ptable_offset = exp->ptable_offset;
        out->primary_slot = exp->primary_slot;
        out->primary_size = exp->primary_size;
        out->secondary_slot = exp->secondary_slot;
        out->secondary_size = exp->secondary_size;
        out->trailer_size = exp->mcuboot_trailer_size;
        out->recovery_offset = exp->recovery_bootloader_offset;
    }
    return true;
}

static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t cap, const char *fmt, ...)
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

static const char *sel_text(const rf_boot_state_t *s, char *buf, size_t n)
{
    switch (s->sel) {
    case RF_BOOT_SEL_NO_OTADATA: return "no otadata partition: factory";
    case RF_BOOT_SEL_NO_OTA_APPS: return "no OTA app partitions: factory";
    case RF_BOOT_SEL_BLANK: return "otadata blank: factory";
    case RF_BOOT_SEL_NO_VALID: return "no valid otadata entry: factory";
    case RF_BOOT_SEL_NO_VALID_NO_FACTORY: return "no valid otadata entry and no factory app: ota_0";
    case RF_BOOT_SEL_ENTRY:
        snprintf(buf, n, "otadata[%d] seq %u: ota_%d", s->sel_entry, (unsigned)s->ota_seq, (int)s->ota_start);
        return buf;
    }
    return "?";
}

static void tries_text(const rf_boot_state_t *s, char *buf, size_t cap)
{
    buf[0] = 0;
    for (uint32_t i = 0; i < s->tries_count; i++) {
        const rf_boot_try_t *t = &s->tries[i];
        const char *sep = i ? "; " : "";
        if (t->err == RF_IMG_ERR__COUNT) {
            add(buf, cap, "%s%s@0x%x: partition ends past the flash", sep, t->label, (unsigned)t->offset);
        } else if (t->err == RF_IMG_OK) {
            add(buf, cap, "%s%s@0x%x: an ESP image but not an app (no esp_app_desc_t)", sep, t->label,
                (unsigned)t->offset);
        } else {
            add(buf, cap, "%s%s@0x%x: %s at 0x%x", sep, t->label, (unsigned)t->offset,
                rf_img_err_str((rf_img_err_t)t->err), (unsigned)t->err_at);
        }
    }
}

/* The reason line, from the core's state. */
static void reason(const rf_boot_state_t *s, char *out, size_t cap)
{
    char sel[96], notes[480];
    out[0] = 0;
    switch (s->why) {
    case RF_BOOT_WHY_OK:
        if (s->bootloader == RF_BOOT_BL_ESP_IDF) {
            tries_text(s, notes, sizeof notes);
            add(out, cap, "ESP-IDF bootloader at 0x%x boots %s at 0x%x: '%s' %s (%s%s%s)",
                (unsigned)s->bootloader_offset, s->app_label, (unsigned)s->app_offset, s->app_project, s->app_version,
                sel_text(s, sel, sizeof sel), s->ota_selected != s->ota_start ? "; fell back past: " : "",
                s->ota_selected != s->ota_start ? notes : "");
        } else if (s->slot_offset == s->secondary_slot && s->swap_type != RF_SWAP_TYPE_NONE) {
            add(out, cap, "MCUboot at 0x%x: swap type %s: the image in the secondary slot (0x%x, %u bytes) is "
                "swapped into the primary slot (0x%x) and boots", (unsigned)s->bootloader_offset,
                rf_mcuboot_swap_type_name(s->swap_type), (unsigned)s->secondary_slot, (unsigned)s->image_len,
                (unsigned)s->primary_slot);
        } else {
            add(out, cap, "MCUboot at 0x%x boots the image in the primary slot (0x%x, %u bytes)",
                (unsigned)s->bootloader_offset, (unsigned)s->primary_slot, (unsigned)s->image_len);
        }
        break;
    case RF_BOOT_WHY_ARG:
        add(out, cap, "unknown chip or no flash");
        break;
    case RF_BOOT_WHY_ROM_IMAGE:
        add(out, cap, "ROM: no valid second-stage bootloader at 0x%x: %s at 0x%x", (unsigned)s->bootloader_offset,
            rf_img_err_str((rf_img_err_t)s->img_err), (unsigned)s->err_at);
        break;
    case RF_BOOT_WHY_ROM_SEGMENT:
        add(out, cap, "ROM: the second-stage bootloader at 0x%x loads segment %u to 0x%08x, flash-mapped "
            "space the ROM cannot load (the boot hangs)", (unsigned)s->bootloader_offset, (unsigned)s->a,
            (unsigned)s->b);
        break;
    case RF_BOOT_WHY_BL_UNKNOWN:
        add(out, cap, "ROM boots a bootloader at 0x%x that is neither ESP-IDF's nor MCUboot (by its content): "
            "what it boots is unknown", (unsigned)s->bootloader_offset);
        break;
    case RF_BOOT_WHY_PT_OFFSET:
        add(out, cap, "ESP-IDF bootloader: partition table offset 0x%x is past the flash", (unsigned)s->a);
        break;
    case RF_BOOT_WHY_PT_NONE:
        add(out, cap, "ESP-IDF bootloader: no partition table at 0x%x", (unsigned)s->a);
        break;
    case RF_BOOT_WHY_PT_MAGIC:
        add(out, cap, "ESP-IDF bootloader: partition table at 0x%x is corrupt (entry %u: invalid magic)",
            (unsigned)s->b, (unsigned)s->a);
        break;
    case RF_BOOT_WHY_PT_MD5:
        add(out, cap, "ESP-IDF bootloader: partition table at 0x%x: MD5 mismatch (load_partition_table fails)",
            (unsigned)s->a);
        break;
    case RF_BOOT_WHY_PT_FLASH_SIZE:
        add(out, cap, "ESP-IDF bootloader: partition table entry %u (offset 0x%x size 0x%x) exceeds the flash "
            "chip size 0x%x of its own header (it reboots forever)", (unsigned)s->a, (unsigned)s->b,
            (unsigned)s->c, (unsigned)s->d);
        break;
    case RF_BOOT_WHY_OTADATA_SMALL:
        add(out, cap, "ESP-IDF bootloader: otadata partition at 0x%x is too small (0x%x bytes)", (unsigned)s->b,
            (unsigned)s->a);
        break;
    case RF_BOOT_WHY_OTADATA_PAST:
        add(out, cap, "ESP-IDF bootloader: otadata partition at 0x%x is past the flash", (unsigned)s->b);
        break;
    case RF_BOOT_WHY_NO_APP:
        tries_text(s, notes, sizeof notes);
        add(out, cap, "ESP-IDF bootloader at 0x%x: no bootable app (%s; %s)", (unsigned)s->bootloader_offset,
            sel_text(s, sel, sizeof sel), notes[0] ? notes : "no app partitions");
        break;
    case RF_BOOT_WHY_MCUBOOT_NO_IMAGE:
        add(out, cap, "MCUboot at 0x%x finds no bootable image: primary slot 0x%x: %s at 0x%x",
            (unsigned)s->bootloader_offset, (unsigned)s->primary_slot, rf_img_err_str((rf_img_err_t)s->img_err),
            (unsigned)s->err_at);
        break;
    }
    if (s->swap_refused != 0) {
        add(out, cap, "; swap %s refused, secondary slot 0x%x: %s at 0x%x", rf_mcuboot_swap_type_name(s->swap_refused),
            (unsigned)s->secondary_slot, rf_img_err_str((rf_img_err_t)s->secondary_err),
            (unsigned)s->secondary_err_at);
    }
    if (s->used_recovery) {
        add(out, cap, " [ROM fell back to the recovery bootloader: no valid second-stage bootloader at the primary "
            "offset: %s at 0x%x]", rf_img_err_str((rf_img_err_t)s->primary_err), (unsigned)s->primary_err_at);
    }
}

rf_boot_result_t rf_boot_model(const uint8_t *flash, uint32_t flash_size, const char *chip,
                               const rf_boot_expect_t *exp, rf_boot_report_t *rep)
{
    rf_boot_report_t local;
    if (rep == NULL) {
        rep = &local;
    }
    memset(rep, 0, sizeof *rep);
    rep->ota_selected = RF_BOOT_NONE;
    rep->result = RF_BOOT_BRICK;
    rf_boot_layout_t lay;
    rf_reader_t r;
    rf_reader_buf_t rb;
    if (flash == NULL || !rf_boot_layout_for(chip, exp, &lay) || rf_reader_from_buffer(&r, &rb, flash, flash_size) != ESP_OK) {
        snprintf(rep->reason, sizeof rep->reason, "unknown chip '%s' or no flash", chip ? chip : "(null)");
        return RF_BOOT_BRICK;
    }
    void *work = aligned_alloc(16, RF_BOOT_WORK_LEN);
    if (work == NULL) {
        snprintf(rep->reason, sizeof rep->reason, "out of memory");
        return RF_BOOT_BRICK;
    }
    rf_boot_state_t *s = &rep->state;
    rf_boot_result_t res = rf_boot_eval(&r, &lay, work, RF_BOOT_WORK_LEN, s);
    free(work);
    rep->result = res;
    rep->bootloader_valid = s->bootloader_valid;
    rep->used_recovery = s->used_recovery;
    rep->bootloader_offset = s->bootloader_offset;
    rep->bootloader_len = s->bootloader_len;
    memcpy(rep->bootloader_sha256, s->bootloader_sha256, 32);
    rep->bootloader = s->bootloader;
    rep->ota_selected = s->ota_selected;
    rep->ota_seq = s->ota_seq;
    memcpy(rep->app_label, s->app_label, sizeof rep->app_label);
    rep->app_offset = s->app_offset;
    memcpy(rep->app_project, s->app_project, sizeof rep->app_project);
    memcpy(rep->app_version, s->app_version, sizeof rep->app_version);
    rep->swap_type = s->swap_type;
    rep->slot_offset = s->slot_offset;
    rep->image_len = s->image_len;
    memcpy(rep->image_sha256, s->image_sha256, 32);
    reason(s, rep->reason, sizeof rep->reason);
    return res;
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
