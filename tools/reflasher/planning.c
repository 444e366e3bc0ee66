/* Building a validated plan from a simulated device and image arguments (see planning.h). */
#include "planning.h"
#include "rf_gzip_source.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_crypto.h"
#include "rf_host_source.h"
#include "rf_imggen.h"

#define SCRATCH_LEN 4096u
#define FETCH_TIMEOUT_MS 10000

static void seterr(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t n, const char *fmt, ...)
{
    if (err == NULL || n == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

void rf_cli_plan_extra_free(rf_cli_plan_extra_t *x)
{
    if (x == NULL) {
        return;
    }
    free(x->table);
    x->table = NULL;
    for (unsigned i = 0; i < RF_PLAN_MAX_IMAGES; i++) {
        free(x->img[i].data);
        x->img[i].data = NULL;
    }
}

/* A refusal: the rule, its text, what exactly, which image; err gets
 * "RULE: text[: detail] (image N: SOURCE)". */
static int refuse(rf_cli_plan_extra_t *x, const rf_image_arg_t *imgs, int input, const char *rule, const char *text,
                  const char *detail, char *err, size_t err_len)
{
    x->rule_name = rule;
    snprintf(x->rule_text, sizeof x->rule_text, "%s", text);
    snprintf(x->detail, sizeof x->detail, "%s", detail ? detail : "");
    x->bad_input = input;
    if (input >= 0) {
        seterr(err, err_len, "%s: %s%s%s (image %d: %s)", rule, text, detail ? ": " : "", detail ? detail : "",
               input + 1, imgs[input].source);
    } else {
        seterr(err, err_len, "%s: %s", rule, text);
    }
    return 1;
}

static int refuse_rule(rf_cli_plan_extra_t *x, const rf_plan_t *plan, const rf_image_arg_t *imgs, char *err,
                       size_t err_len)
{
    int input = plan->bad >= 0 ? (int)plan->img[plan->bad].input_index : -1;
    char detail[256];
    const char *d = NULL;
    if (plan->rule == RF_RULE_DEST_OVERLAPS_DEST && plan->other >= 0) {
        int o = (int)plan->img[plan->other].input_index;
        snprintf(detail, sizeof detail, "0x%x+0x%x overlaps image %d's 0x%x+0x%x", (unsigned)imgs[input].dest,
                 (unsigned)imgs[input].size, o + 1, (unsigned)imgs[o].dest, (unsigned)imgs[o].size);
        d = detail;
    } else if (plan->rule == RF_RULE_DEST_OVERLAPS_RUNNING && input >= 0) {
        snprintf(detail, sizeof detail, "0x%x+0x%x overlaps '%s' 0x%x+0x%x", (unsigned)imgs[input].dest,
                 (unsigned)imgs[input].size, plan->running.label, (unsigned)plan->running.offset,
                 (unsigned)plan->running.size);
        d = detail;
    } else if ((plan->rule == RF_RULE_IMAGE_TOO_LARGE) && input >= 0) {
        snprintf(detail, sizeof detail, "%lld bytes > 0x%x", (long long)plan->img[plan->bad].len,
                 (unsigned)imgs[input].size);
        d = detail;
    } else if (plan->rule == RF_RULE_STAGING_TOO_SMALL && input >= 0) {
        snprintf(detail, sizeof detail, "%lld bytes > '%s' 0x%x", (long long)plan->img[plan->bad].len,
                 plan->img[plan->bad].staging.label, (unsigned)plan->img[plan->bad].staging.size);
        d = detail;
    } else if (plan->rule == RF_RULE_DEST_OUTSIDE_FLASH && input >= 0) {
        snprintf(detail, sizeof detail, "0x%x+0x%x, flash 0x%x", (unsigned)imgs[input].dest,
                 (unsigned)imgs[input].size, (unsigned)plan->flash_size);
        d = detail;
    } else if (plan->rule == RF_RULE_TOO_MANY_IMAGES) {
        snprintf(detail, sizeof detail, "%u images, at most %u", (unsigned)plan->count, (unsigned)RF_PLAN_MAX_IMAGES);
        d = detail;
    } else if (plan->rule == RF_RULE_DEST_ALIGN && input >= 0) {
        snprintf(detail, sizeof detail, "0x%x is not a multiple of 0x%x", (unsigned)imgs[input].dest,
                 (unsigned)plan->sector_size);
        d = detail;
    }
    return refuse(x, imgs, input, rf_plan_rule_name(plan->rule), rf_plan_rule_str(plan->rule), d, err, err_len);
}

/* The plan's input part, fresh (rf_plan_validate() reorders the images in place). */
static void fill_images(rf_plan_t *plan, const rf_image_arg_t *imgs, int n, const rf_cli_plan_extra_t *x)
{
    RF_MEMSET(plan->img, 0, sizeof plan->img);
    plan->count = (uint32_t)n;
    for (int i = 0; i < n && i < (int)RF_PLAN_MAX_IMAGES; i++) {
        rf_plan_image_t *im = &plan->img[i];
        im->source = imgs[i].source;
        im->dest = imgs[i].dest;
        im->dest_size = imgs[i].size;
        im->len = x->img[i].fetched ? (int64_t)x->img[i].len : -1;
        im->data_pages = 0;
        for (uint32_t off = 0; x->img[i].fetched && off < x->img[i].len; off += 256) {
            uint32_t cnt = x->img[i].len - off < 256 ? x->img[i].len - off : 256;
            bool blank = true;
            for (uint32_t k = 0; k < cnt && blank; k++) {
                blank = x->img[i].data[off + k] == 0xFF;
            }
            im->data_pages += !blank;
        }
        im->kind = RF_DEST_RAW;
        im->has_sha256 = imgs[i].has_sha256;
        memcpy(im->sha256, imgs[i].sha256, sizeof im->sha256);
    }
}

static uint32_t ns_to_us(uint32_t ns)
{
    return ns == 0 ? 0 : (ns < 1000 ? 1 : ns / 1000);
}

/* Read a whole source into memory; at most cap bytes (more: *over = true). */
static esp_err_t fetch(const char *url, size_t cap, uint8_t **out, size_t *len, bool *over)
{
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = FETCH_TIMEOUT_MS;
    rf_source_t src;
    memset(&src, 0, sizeof src);
    *out = NULL;
    *len = 0;
    *over = false;
    esp_err_t e = rf_source_url_new_inflating(url, &opts, &src);   /* what the device reads: gzip inflated */
    if (e != ESP_OK) {
        return e;
    }
    int64_t total = -1;
    e = src.open(src.ctx, 0, &total);
    size_t have = 0, size = total > 0 && (uint64_t)total <= cap ? (size_t)total + 1 : 65536;
    uint8_t *buf = e == ESP_OK ? malloc(size) : NULL;
    if (e == ESP_OK && buf == NULL) {
        e = ESP_ERR_NO_MEM;
    }
    while (e == ESP_OK) {
        if (have == size) {
            size_t ns = size * 2;
            uint8_t *nb = realloc(buf, ns);
            if (nb == NULL) {
                e = ESP_ERR_NO_MEM;
                break;
            }
            buf = nb;
            size = ns;
        }
        uint32_t got = 0;
        e = src.read(src.ctx, buf + have, (uint32_t)RF_MIN(size - have, (size_t)0x100000), &got);
        if (e != ESP_OK || got == 0) {
            break;
        }
        have += got;
        if (have > cap) {
            *over = true;
            break;
        }
    }
    src.close(src.ctx);
    rf_source_url_inflating_destroy(&src);
    if (e != ESP_OK) {
        free(buf);
        return e;
    }
    *out = buf;
    *len = have;
    return ESP_OK;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    out[2 * n] = 0;
}

static const char *chip_name(uint16_t id)
{
    const char *s = rf_esp_chip_name(id);
    return s ? s : "unknown chip";
}

/* Check an ESP image for this device; want: RF_ESP_KIND_BOOTLOADER or _APP.
 * Returns NULL when it passes (desc filled) or the failed rule (detail filled). */
static const char *check_esp(const rf_reader_t *r, uint16_t chip, rf_esp_kind_t want, uint8_t *scratch,
                             rf_cli_plan_image_t *ci, char *detail, size_t dlen)
{
    rf_esp_image_info_t *info = calloc(1, sizeof *info);
    if (info == NULL) {
        snprintf(detail, dlen, "out of memory");
        return RF_CLI_RULE_ESP_INVALID;
    }
    rf_esp_image_opts_t opts = { .expect_chip_id = chip };
    esp_err_t e = rf_esp_image_inspect_ex(r, &opts, scratch, SCRATCH_LEN, info);
    const char *rule = NULL;
    const char *what = want == RF_ESP_KIND_BOOTLOADER ? "bootloader" : "app";
    if (e != ESP_OK && info->err == RF_IMG_ERR_MAGIC) {
        uint32_t m = 0;
        if (r->size >= 4) {
            uint8_t b[4];
            (void)rf_reader_read(r, 0, b, 4);
            m = rf_le32(b);
        }
        if (m == RF_MCUBOOT_MAGIC) {
            snprintf(detail, dlen, "an MCUboot image (magic 0x%08X), not an ESP %s (an ESP image starts with 0xE9)",
                     (unsigned)m, what);
        } else {
            snprintf(detail, dlen, "first byte 0x%02X, an ESP %s starts with 0xE9", info->magic, what);
        }
        rule = RF_CLI_RULE_NOT_ESP_IMAGE;
    } else if (e != ESP_OK && info->err == RF_IMG_ERR_CHIP_ID) {
        snprintf(detail, dlen, "ESP image chip id 0x%04X (%s) but the device is %s (0x%04X)", info->chip_id,
                 info->chip_id == RF_ESP_CHIP_ID_INVALID ? "invalid" : chip_name(info->chip_id), chip_name(chip),
                 chip);
        rule = RF_CLI_RULE_CHIP_ID;
    } else if (e != ESP_OK) {
        snprintf(detail, dlen, "ESP image invalid: %s (%s at offset 0x%x)", rf_img_err_str(info->err),
                 rf_img_err_name(info->err), (unsigned)info->err_offset);
        rule = RF_CLI_RULE_ESP_INVALID;
    } else if (info->kind != want) {
        if (info->kind == RF_ESP_KIND_APP) {
            snprintf(detail, dlen, "an ESP app ('%s' %s), not a bootloader", info->app.project_name,
                     info->app.version);
            rule = RF_CLI_RULE_NOT_BOOTLOADER;
        } else {
            snprintf(detail, dlen, "an ESP bootloader (no esp_app_desc_t), not an app");
            rule = RF_CLI_RULE_APP_FORMAT;
        }
    } else {
        ci->content = want == RF_ESP_KIND_BOOTLOADER ? RF_CLI_CONTENT_ESP_BOOTLOADER : RF_CLI_CONTENT_ESP_APP;
        if (want == RF_ESP_KIND_APP) {
            snprintf(ci->content_desc, sizeof ci->content_desc,
                     "ESP app '%s' %s for %s, %u segments, checksum ok%s", info->app.project_name, info->app.version,
                     chip_name(info->chip_id), info->segment_count, info->sha256_checked ? ", SHA-256 ok" : "");
        } else {
            snprintf(ci->content_desc, sizeof ci->content_desc,
                     "ESP bootloader for %s, %u segments, entry 0x%08x, checksum ok%s", chip_name(info->chip_id),
                     info->segment_count, (unsigned)info->entry_addr, info->sha256_checked ? ", SHA-256 ok" : "");
        }
    }
    free(info);
    return rule;
}

static const char *check_mcuboot(const rf_reader_t *r, uint32_t slot, uint8_t *scratch, rf_cli_plan_image_t *ci,
                                 char *detail, size_t dlen)
{
    rf_mcuboot_info_t *info = calloc(1, sizeof *info);
    if (info == NULL) {
        snprintf(detail, dlen, "out of memory");
        return RF_CLI_RULE_MCUBOOT_INVALID;
    }
    const char *rule = NULL;
    esp_err_t e = rf_mcuboot_inspect(r, slot, NULL, scratch, SCRATCH_LEN, info);
    if (e != ESP_OK) {
        snprintf(detail, dlen, "MCUboot image invalid for a 0x%x-byte slot: %s (%s at offset 0x%x)", (unsigned)slot,
                 rf_img_err_str(info->err), rf_img_err_name(info->err), (unsigned)info->err_offset);
        rule = RF_CLI_RULE_MCUBOOT_INVALID;
    } else {
        ci->content = RF_CLI_CONTENT_MCUBOOT;
        const char *swap = info->swap_request == RF_SWAP_REQ_PERM   ? ", requests a permanent swap"
                           : info->swap_request == RF_SWAP_REQ_TEST ? ", requests a test swap"
                                                                    : "";
        snprintf(ci->content_desc, sizeof ci->content_desc,
                 "MCUboot image v%u.%u.%u+%u, %u-byte payload, SHA-256 TLV ok, fits the 0x%x slot, trailer %s%s",
                 info->ver_major, info->ver_minor, info->ver_revision, (unsigned)info->ver_build,
                 (unsigned)info->img_size, (unsigned)slot, rf_trailer_state_name(info->trailer), swap);
    }
    free(info);
    return rule;
}

/* The content check for the destination kind. NULL: passed (or nothing to check). */
static const char *check_content(const rf_plan_t *plan, const rf_plan_image_t *im, rf_cli_plan_image_t *ci,
                                 char *detail, size_t dlen)
{
    if (im->kind == RF_DEST_RAW) {
        snprintf(ci->content_desc, sizeof ci->content_desc, "raw data (no format check for this destination)");
        return NULL;
    }
    uint8_t *scratch = malloc(SCRATCH_LEN);
    if (scratch == NULL) {
        snprintf(detail, dlen, "out of memory");
        return RF_CLI_RULE_ESP_INVALID;
    }
    rf_reader_t r;
    rf_reader_buf_t ctx;
    const char *rule = NULL;
    if (rf_reader_from_buffer(&r, &ctx, ci->data, ci->len) != ESP_OK) {
        snprintf(detail, dlen, "the image cannot be read");
        rule = RF_CLI_RULE_ESP_INVALID;
    } else if (im->kind == RF_DEST_BOOTLOADER) {
        rule = check_esp(&r, plan->chip_id, RF_ESP_KIND_BOOTLOADER, scratch, ci, detail, dlen);
    } else if (im->kind == RF_DEST_ESP_APP) {
        rule = check_esp(&r, plan->chip_id, RF_ESP_KIND_APP, scratch, ci, detail, dlen);
    } else if (im->kind == RF_DEST_MCUBOOT_SLOT) {
        rule = check_mcuboot(&r, im->dest_size, scratch, ci, detail, dlen);
    } else { /* app slot: an ESP app for this chip or an MCUboot image */
        uint32_t m = ci->len >= 4 ? rf_le32(ci->data) : 0;
        if (ci->len >= 1 && ci->data[0] == RF_ESP_IMAGE_MAGIC) {
            rule = check_esp(&r, plan->chip_id, RF_ESP_KIND_APP, scratch, ci, detail, dlen);
        } else if (m == RF_MCUBOOT_MAGIC) {
            rule = check_mcuboot(&r, im->dest_size, scratch, ci, detail, dlen);
        } else {
            snprintf(detail, dlen,
                     "neither an ESP app (first byte 0xE9) nor an MCUboot image (magic 0x%08X): starts with 0x%08X",
                     RF_MCUBOOT_MAGIC, (unsigned)m);
            rule = RF_CLI_RULE_APP_FORMAT;
        }
    }
    free(scratch);
    ci->content_checked = rule == NULL;
    return rule;
}

static const char *content_rule_text(const char *rule)
{
    if (strcmp(rule, RF_CLI_RULE_CHIP_ID) == 0) {
        return "the image is built for another chip";
    }
    if (strcmp(rule, RF_CLI_RULE_NOT_ESP_IMAGE) == 0) {
        return "the bootloader destination takes only an ESP bootloader image";
    }
    if (strcmp(rule, RF_CLI_RULE_NOT_BOOTLOADER) == 0) {
        return "the bootloader destination takes only an ESP bootloader image";
    }
    if (strcmp(rule, RF_CLI_RULE_ESP_INVALID) == 0) {
        return "the ESP image does not pass its format checks";
    }
    if (strcmp(rule, RF_CLI_RULE_MCUBOOT_INVALID) == 0) {
        return "the MCUboot image does not pass its format checks";
    }
    return "an app slot takes only an ESP app for this chip or an MCUboot image";
}

/* The plan's device part (chip, geometry, timing, table, running partition). */
static int fill_device(rf_device_t *dev, rf_plan_t *plan, rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    if (!rf_chip_id(dev->chip, &plan->chip_id) || !rf_chip_bootloader_offset(dev->chip, &plan->bootloader_offset)) {
        seterr(err, err_len, "unknown chip '%s' in %s.meta", dev->chip, dev->path);
        return 2;
    }
    const nor_sim_config_t *cfg = nor_sim_config(dev->sim);
    plan->ptable_offset = dev->ptable_offset;
    plan->flash_size = cfg->size;
    plan->sector_size = cfg->sector_size;
    plan->block_size = cfg->block_size;
    plan->page_size = cfg->page_size;
    plan->cost.sector_erase_us = ns_to_us(cfg->timing.sector_erase_ns);
    plan->cost.block_erase_us = ns_to_us(cfg->timing.block_erase_ns);
    plan->cost.page_program_us = ns_to_us(cfg->timing.page_program_ns);
    plan->cost.read_bytes_per_s = cfg->timing.read_bytes_per_s;
    plan->cost.net_bytes_per_s = cfg->timing.net_bytes_per_s;
    x->table = calloc(1, sizeof *x->table);
    if (x->table == NULL) {
        seterr(err, err_len, "out of memory");
        return 2;
    }
    esp_err_t e = rf_device_ptable(dev, x->table);
    if (e != ESP_OK && e != ESP_ERR_INVALID_CRC) {
        seterr(err, err_len, "no readable partition table at 0x%x in %s (%s)", (unsigned)dev->ptable_offset,
               dev->path, esp_err_to_name(e));
        return 2;
    }
    plan->table = x->table;
    const rf_part_t *run = rf_ptable_find_label(x->table, dev->running);
    if (run == NULL) {
        seterr(err, err_len, "the running partition '%s' is not in the device's partition table", dev->running);
        return 2;
    }
    plan->running = *run;
    return 0;
}

int rf_cli_build_plan(rf_device_t *dev, rf_image_arg_t *imgs, int n, bool do_fetch, rf_plan_t *plan,
                      rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    memset(plan, 0, sizeof *plan);
    memset(x, 0, sizeof *x);
    x->bad_input = -1;
    x->count = n;
    if (err && err_len) {
        err[0] = 0;
    }
    int r = fill_device(dev, plan, x, err, err_len);
    if (r != 0) {
        return r;
    }
    esp_err_t e;

    /* The images: SIZE defaults to the partition that starts at DEST. */
    for (int i = 0; i < n; i++) {
        if (imgs[i].has_size) {
            continue;
        }
        const rf_part_t *p = NULL;
        for (uint32_t k = 0; k < x->table->count; k++) {
            if (x->table->parts[k].offset == imgs[i].dest) {
                p = &x->table->parts[k];
                break;
            }
        }
        if (p == NULL) {
            seterr(err, err_len, "image %d: no partition starts at 0x%x: give the region size as %s@0x%x:SIZE", i + 1,
                   (unsigned)imgs[i].dest, imgs[i].source, (unsigned)imgs[i].dest);
            return 2;
        }
        imgs[i].size = p->size;
        imgs[i].has_size = true;
    }

    /* Destinations first: nothing is fetched for a plan refused anyway. */
    fill_images(plan, imgs, n, x);
    if (rf_plan_validate(plan) != ESP_OK) {
        return refuse_rule(x, plan, imgs, err, err_len);
    }
    if (!do_fetch) {
        return 0;
    }

    /* Fetch every source: its length, its hash. */
    for (int i = 0; i < n; i++) {
        rf_cli_plan_image_t *ci = &x->img[i];
        bool over = false;
        e = fetch(imgs[i].source, (size_t)plan->flash_size, &ci->data, &ci->len, &over);
        if (e != ESP_OK) {
            char d[96];
            snprintf(d, sizeof d, "%s (0x%x)", esp_err_to_name(e), (unsigned)e);
            return refuse(x, imgs, i, RF_CLI_RULE_SOURCE_FETCH, "the source cannot be read completely", d, err,
                          err_len);
        }
        ci->fetched = true;
        rf_sha256(ci->data, ci->len, ci->sha256);
        (void)over; /* longer than the whole flash: IMAGE_TOO_LARGE below */
    }
    x->fetched = true;

    fill_images(plan, imgs, n, x);
    if (rf_plan_validate(plan) != ESP_OK) {
        return refuse_rule(x, plan, imgs, err, err_len);
    }

    /* Hash, then content for the kind, in execution order. */
    for (uint32_t k = 0; k < plan->count; k++) {
        const rf_plan_image_t *im = &plan->img[k];
        int i = (int)im->input_index;
        rf_cli_plan_image_t *ci = &x->img[i];
        char detail[320];
        if (imgs[i].has_sha256) {
            ci->sha256_checked = true;
            if (memcmp(ci->sha256, imgs[i].sha256, 32) != 0) {
                char got[65], want[65];
                hex(ci->sha256, 32, got);
                hex(imgs[i].sha256, 32, want);
                snprintf(detail, sizeof detail, "sha256 %s, expected %s", got, want);
                return refuse(x, imgs, i, RF_CLI_RULE_SHA256, "the image's SHA-256 is not the expected one", detail,
                              err, err_len);
            }
        }
        const char *rule = check_content(plan, im, ci, detail, sizeof detail);
        if (rule != NULL) {
            return refuse(x, imgs, i, rule, content_rule_text(rule), detail, err, err_len);
        }
    }
    return 0;
}

/* The running app's ESP image length on the device (0: not an ESP image). */
static uint32_t running_app_len(rf_device_t *dev, const rf_part_t *run)
{
    const nor_sim_config_t *cfg = nor_sim_config(dev->sim);
    if ((uint64_t)run->offset + run->size > cfg->size) {
        return 0;
    }
    rf_esp_image_info_t *info = calloc(1, sizeof *info);
    uint8_t *scratch = malloc(SCRATCH_LEN);
    uint32_t len = 0;
    rf_reader_t r;
    rf_reader_buf_t ctx;
    if (info != NULL && scratch != NULL &&
        rf_reader_from_buffer(&r, &ctx, nor_sim_data(dev->sim) + run->offset, run->size) == ESP_OK &&
        rf_esp_image_inspect(&r, scratch, SCRATCH_LEN, info) == ESP_OK) {
        len = info->image_len;
    }
    free(info);
    free(scratch);
    return len;
}

int rf_cli_build_embedded_plan(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, rf_plan_t *plan,
                               rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    memset(plan, 0, sizeof *plan);
    memset(x, 0, sizeof *x);
    x->bad_input = -1;
    x->count = 1;
    x->embedded = true;
    x->at = at;
    if (err && err_len) {
        err[0] = 0;
    }
    int r = fill_device(dev, plan, x, err, err_len);
    if (r != 0) {
        return r;
    }

    /* The file, read locally: its length, its hash. */
    rf_cli_plan_image_t *ci = &x->img[0];
    bool over = false;
    esp_err_t e = fetch(img->source, (size_t)plan->flash_size, &ci->data, &ci->len, &over);
    if (e != ESP_OK) {
        char d[96];
        snprintf(d, sizeof d, "%s (0x%x)", esp_err_to_name(e), (unsigned)e);
        return refuse(x, img, 0, RF_CLI_RULE_SOURCE_FETCH, "the source cannot be read completely", d, err, err_len);
    }
    ci->fetched = true;
    x->fetched = true;
    rf_sha256(ci->data, ci->len, ci->sha256);
    if (!img->has_size) {   /* as `migrate --embedded`: the region is the image */
        img->size = (uint32_t)RF_MIN(ci->len, (size_t)UINT32_MAX);
        img->has_size = true;
    }

    /* Where the image lies: inside the running partition (the linker put it there). */
    const rf_part_t *run = &plan->running;
    if (ci->len == 0 || (uint64_t)at < run->offset || (uint64_t)at + ci->len > (uint64_t)run->offset + run->size) {
        char d[200];
        snprintf(d, sizeof d, "%zu bytes at 0x%x, '%s' is 0x%x..0x%x", ci->len, (unsigned)at, run->label,
                 (unsigned)run->offset, (unsigned)(run->offset + run->size));
        return refuse(x, img, 0, RF_CLI_RULE_EMBED_PLACE, "the embedded image does not lie inside the running partition",
                      d, err, err_len);
    }

    /* What the backup needs (the library's rule): the running app's image
     * or the embedded image's end, whichever is further. */
    x->app_len = running_app_len(dev, run);
    uint64_t img_end = (uint64_t)at + ci->len - run->offset;
    x->backup_need = (uint32_t)RF_MAX((uint64_t)x->app_len, img_end);

    fill_images(plan, img, 1, x);
    rf_plan_image_t *im = &plan->img[0];
    im->embedded = true;
    im->src_addr = at;
    im->backup_need = x->backup_need;
    /* the pages the backup programs (the engine skips blank ones) */
    uint32_t bneed = rf_align_up(x->backup_need, plan->sector_size);
    const uint8_t *flash = nor_sim_data(dev->sim);
    for (uint32_t off = 0; off < bneed && (uint64_t)run->offset + off + plan->page_size <= plan->flash_size;
         off += plan->page_size) {
        im->backup_data_pages += !rf_is_blank(flash + run->offset + off, plan->page_size);
    }
    if (rf_plan_validate(plan) != ESP_OK) {
        return refuse_rule(x, plan, img, err, err_len);
    }

    /* Hash, then content for the kind (as in download mode). */
    char detail[320];
    if (img->has_sha256) {
        ci->sha256_checked = true;
        if (memcmp(ci->sha256, img->sha256, 32) != 0) {
            char got[65], want[65];
            hex(ci->sha256, 32, got);
            hex(img->sha256, 32, want);
            snprintf(detail, sizeof detail, "sha256 %s, expected %s", got, want);
            return refuse(x, img, 0, RF_CLI_RULE_SHA256, "the image's SHA-256 is not the expected one", detail, err,
                          err_len);
        }
    }
    const char *rule = check_content(plan, im, ci, detail, sizeof detail);
    if (rule != NULL) {
        return refuse(x, img, 0, rule, content_rule_text(rule), detail, err, err_len);
    }
    return 0;
}
