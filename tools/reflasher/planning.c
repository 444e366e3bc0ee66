/* Building a validated plan from a simulated device and image arguments (see planning.h). */
#include "planning.h"
#include "rf_gzip_source.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_cost.h"
#include "rf_crypto.h"
#include "rf_engine.h"
#include "rf_region.h"
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
static esp_err_t fetch(const char *url, size_t cap, uint8_t **out, size_t *len, bool *over);

esp_err_t rf_cli_fetch(const char *url, size_t cap, uint8_t **out, size_t *len)
{
    bool over = false;
    esp_err_t e = fetch(url, cap, out, len, &over);
    return e == ESP_OK && over ? ESP_ERR_INVALID_SIZE : e;
}

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

/* What the engine found the image to be, for the plan's text. */
static void describe(const rf_eng_verdict_t *v, uint32_t slot, rf_cli_plan_image_t *ci)
{
    char end[96];
    snprintf(end, sizeof end, "; the device then boots: %s%s%s%s", rf_boot_result_name(v->end.result),
             v->end.result == RF_BOOT_BRICK ? "" : " (", v->end.result == RF_BOOT_BRICK ? "" : rf_boot_loader_name(v->end.bootloader),
             v->end.result == RF_BOOT_BRICK ? "" : ")");
    if (v->before_brick) {
        snprintf(end, sizeof end, "; the device boots nothing before or after this step (off the boot path)");
    }
    switch (v->content) {
    case RF_ENG_CONTENT_ESP_APP:
        ci->content = RF_CLI_CONTENT_ESP_APP;
        snprintf(ci->content_desc, sizeof ci->content_desc, "ESP app '%s' %s for %s, %u segments, checksum ok, "
                 "SHA-256 ok%s", v->app_project, v->app_version, chip_name(v->chip_id), v->segments, end);
        break;
    case RF_ENG_CONTENT_ESP_BOOTLOADER:
        ci->content = RF_CLI_CONTENT_ESP_BOOTLOADER;
        snprintf(ci->content_desc, sizeof ci->content_desc, "ESP bootloader for %s (%s), %u segments, entry 0x%08x, "
                 "checksum ok, SHA-256 ok%s", chip_name(v->chip_id), rf_boot_loader_name(v->bootloader), v->segments,
                 (unsigned)v->entry_addr, end);
        break;
    case RF_ENG_CONTENT_MCUBOOT: {
        ci->content = RF_CLI_CONTENT_MCUBOOT;
        const char *swap = v->mcu_swap_request == RF_SWAP_REQ_PERM   ? ", requests a permanent swap"
                           : v->mcu_swap_request == RF_SWAP_REQ_TEST ? ", requests a test swap"
                                                                     : "";
        snprintf(ci->content_desc, sizeof ci->content_desc,
                 "MCUboot image v%u.%u.%u+%u, %u-byte payload, SHA-256 TLV ok, fits the 0x%x slot, trailer %s%s%s",
                 v->mcu_ver_major, v->mcu_ver_minor, v->mcu_ver_revision, (unsigned)v->mcu_ver_build,
                 (unsigned)v->mcu_img_size, (unsigned)slot, rf_trailer_state_name((rf_trailer_state_t)v->mcu_trailer),
                 swap, end);
        break;
    }
    default:
        snprintf(ci->content_desc, sizeof ci->content_desc, "raw data (no format check for this destination)%s", end);
        break;
    }
}

/* What exactly a refused write failed on. */
static void refusal_detail(const rf_eng_verdict_t *v, uint16_t chip, char *detail, size_t dlen)
{
    switch (v->rule) {
    case RF_ENG_CHIP_ID:
        snprintf(detail, dlen, "ESP image chip id 0x%04X (%s) but the device is %s (0x%04X)", v->chip_id,
                 v->chip_id == RF_ESP_CHIP_ID_INVALID ? "invalid" : chip_name(v->chip_id), chip_name(chip), chip);
        break;
    case RF_ENG_PTABLE:
        snprintf(detail, dlen, "table at 0x%x: %s", (unsigned)v->at, rf_eng_pt_why_str((rf_eng_pt_why_t)v->detail));
        break;
    case RF_ENG_OTADATA:
        snprintf(detail, dlen, "otadata entry %u at 0x%x is neither blank nor a valid entry", (unsigned)v->detail,
                 (unsigned)v->at);
        break;
    case RF_ENG_BOOTLOADER_SEGMENT:
        snprintf(detail, dlen, "segment %u (header at offset 0x%x)", (unsigned)v->detail, (unsigned)v->err_offset);
        break;
    case RF_ENG_END_BRICK:
    case RF_ENG_END_RECOVERY: {
        char why[48];
        snprintf(why, sizeof why, "%s", v->end.img_err ? rf_img_err_str((rf_img_err_t)v->end.img_err) : "");
        snprintf(detail, dlen, "boot model on the flash after this step: %s bootloader, stops (reason %d) at 0x%x%s%s",
                 rf_boot_loader_name(v->end.bootloader), (int)v->end.why, (unsigned)v->end.err_at,
                 why[0] ? ": " : "", why);
        break;
    }
    case RF_ENG_NOT_ESP_IMAGE:
        if (v->magic == RF_MCUBOOT_MAGIC) {
            snprintf(detail, dlen, "an MCUboot image (magic 0x%08X) lands at 0x%x, not an ESP bootloader (an ESP image "
                     "starts with 0xE9)", (unsigned)v->magic, (unsigned)v->at);
        } else {
            snprintf(detail, dlen, "first byte 0x%02X lands at 0x%x, an ESP bootloader starts with 0xE9",
                     (unsigned)(v->magic & 0xFF), (unsigned)v->at);
        }
        break;
    case RF_ENG_APP_FORMAT:
        snprintf(detail, dlen, "neither an ESP app (first byte 0xE9) nor an MCUboot image (magic 0x%08X): starts "
                 "with 0x%08X", RF_MCUBOOT_MAGIC, (unsigned)v->magic);
        break;
    default:
        if (v->img_err != RF_IMG_OK) {
            snprintf(detail, dlen, "%s (%s at offset 0x%x of what lands at 0x%x)", rf_img_err_str((rf_img_err_t)v->img_err),
                     rf_img_err_name((rf_img_err_t)v->img_err), (unsigned)v->err_offset, (unsigned)v->at);
        } else {
            snprintf(detail, dlen, "at 0x%x", (unsigned)v->at);
        }
    }
}

/* The engine's rules over the whole plan, in execution order: each image is
 * laid over the device's flash as it will be after the steps before it. */
static int check_plan_content(rf_device_t *dev, const rf_plan_t *plan, const rf_image_arg_t *imgs,
                              rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    rf_reader_t base;
    rf_reader_buf_t base_c;
    rf_reader_buf_t src_c[RF_PLAN_MAX_IMAGES];
    rf_reader_t src[RF_PLAN_MAX_IMAGES];
    if (rf_reader_from_buffer(&base, &base_c, nor_sim_data(dev->sim), plan->flash_size) != ESP_OK) {
        seterr(err, err_len, "device flash unreadable");
        return 2;
    }
    rf_vflash_t vf = { .base = &base };
    rf_eng_dev_t ed;
    memset(&ed, 0, sizeof ed);
    ed.chip_id = plan->chip_id;
    ed.ptable_offset = plan->ptable_offset;
    ed.boot.recovery_offset = dev->recovery_offset;
    void *work = aligned_alloc(16, RF_ENG_WORK_LEN);
    rf_eng_verdict_t *v = calloc(1, sizeof *v);
    int r = 0;
    for (uint32_t k = 0; work != NULL && v != NULL && k < plan->count && r == 0; k++) {
        const rf_plan_image_t *im = &plan->img[k];
        int i = (int)im->input_index;
        rf_cli_plan_image_t *ci = &x->img[i];
        (void)rf_reader_from_buffer(&src[k], &src_c[k], ci->data, ci->len);
        rf_eng_write_t w = {
            .dst = im->dest, .dst_size = rf_align_up(im->dest_size, plan->sector_size), .len = (uint32_t)ci->len,
            .slot_size = im->dest_size, .src = &src[k], .src_sha256 = ci->sha256,
            .expect_sha256 = imgs[i].has_sha256 ? imgs[i].sha256 : NULL,
        };
        ci->sha256_checked = imgs[i].has_sha256;
        esp_err_t e = rf_eng_check_write(&ed, &vf, &w, work, RF_ENG_WORK_LEN, v);
        if (e == ESP_OK) {
            ci->content_checked = true;
            describe(v, im->dest_size, ci);
            continue;
        }
        char detail[320];
        if (v->rule == RF_ENG_SHA256) {
            char got[65], want[65];
            hex(ci->sha256, 32, got);
            hex(imgs[i].sha256, 32, want);
            snprintf(detail, sizeof detail, "sha256 %s, expected %s", got, want);
        } else {
            refusal_detail(v, plan->chip_id, detail, sizeof detail);
        }
        if (e != RF_ERR_IMAGE_INVALID && e != ESP_ERR_INVALID_CRC) {
            snprintf(detail, sizeof detail, "%s", esp_err_to_name(e));
        }
        r = refuse(x, imgs, i, rf_eng_rule_name(v->rule), rf_eng_rule_str(v->rule), detail, err, err_len);
    }
    if ((work == NULL || v == NULL) && r == 0) {
        seterr(err, err_len, "out of memory");
        r = 2;
    }
    free(work);
    free(v);
    return r;
}

/* Whether the bootloader's 64 KiB block holds nothing (0xFF) outside the
 * destination of the image that rewrites the bootloader: then the write
 * engine opens the window with one block erase (the plan's estimate). */
static void boot_block(rf_device_t *dev, rf_plan_t *plan)
{
    plan->boot_block_blank = false;
    const uint32_t B = plan->block_size, S = plan->sector_size;
    if (B == 0 || S == 0 || plan->ptable_offset <= plan->bootloader_offset) {
        return;
    }
    const uint8_t *flash = nor_sim_data(dev->sim);
    uint32_t blk = plan->bootloader_offset / B * B;
    for (uint32_t i = 0; i < plan->count; i++) {
        const rf_plan_image_t *im = &plan->img[i];
        uint32_t dsize = rf_align_up(im->dest_size, S);
        if (!rf_overlaps(im->dest, dsize, plan->bootloader_offset, plan->ptable_offset - plan->bootloader_offset)) {
            continue;
        }
        bool blank = (uint64_t)blk + B <= plan->flash_size;
        for (uint32_t a = blk; blank && a < blk + B; a += S) {
            if (!rf_overlaps(a, S, im->dest, dsize)) {
                blank = rf_is_blank(flash + a, S);
            }
        }
        plan->boot_block_blank = blank;
    }
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
    /* the engine's ranges no staging may overwrite (the same rule as the device's) */
    rf_reader_t fr;
    rf_reader_buf_t frc;
    rf_eng_dev_t ed;
    memset(&ed, 0, sizeof ed);
    ed.chip_id = plan->chip_id;
    ed.ptable_offset = dev->ptable_offset;
    if (rf_reader_from_buffer(&fr, &frc, nor_sim_data(dev->sim), cfg->size) == ESP_OK) {
        plan->keep_count = rf_eng_staging_keep(&ed, &fr, x->keep);
        plan->keep = x->keep;
        /* what the old system's boot goes through: a destination off it may
         * take its download directly (rf_choose_direct, the device's rule) */
        void *work = aligned_alloc(8, RF_ENG_WORK_LEN);
        if (work != NULL) {
            plan->boot_path_count = rf_eng_boot_path(&ed, &fr, work, RF_ENG_WORK_LEN, x->boot_path);
            plan->boot_path = x->boot_path;
            plan->boot_path_known = true;
            free(work);
        }
    }
    return 0;
}

static int build_plan(rf_device_t *dev, rf_image_arg_t *imgs, int n, bool do_fetch, rf_plan_t *plan,
                      rf_cli_plan_extra_t *x, char *err, size_t err_len);
static int build_embedded_plan(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, rf_plan_t *plan,
                               rf_cli_plan_extra_t *x, char *err, size_t err_len);

/* Planning is the host tool's work, not the device's: its fetches and
 * hashes are kept off the simulated device's clock. */
int rf_cli_build_plan(rf_device_t *dev, rf_image_arg_t *imgs, int n, bool do_fetch, rf_plan_t *plan,
                      rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    rf_cost_set_hook(NULL, NULL);
    int r = build_plan(dev, imgs, n, do_fetch, plan, x, err, err_len);
    nor_sim_attach_cost(dev->sim);
    return r;
}

int rf_cli_build_embedded_plan(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, rf_plan_t *plan,
                               rf_cli_plan_extra_t *x, char *err, size_t err_len)
{
    rf_cost_set_hook(NULL, NULL);
    int r = build_embedded_plan(dev, img, at, plan, x, err, err_len);
    nor_sim_attach_cost(dev->sim);
    return r;
}

static int build_plan(rf_device_t *dev, rf_image_arg_t *imgs, int n, bool do_fetch, rf_plan_t *plan,
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
    boot_block(dev, plan);
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
            x->fetch_err = e;
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
    boot_block(dev, plan);
    if (rf_plan_validate(plan) != ESP_OK) {
        return refuse_rule(x, plan, imgs, err, err_len);
    }

    /* Digest, content and end state for each image, in execution order (the engine's rules). */
    return check_plan_content(dev, plan, imgs, x, err, err_len);
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

static int build_embedded_plan(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, rf_plan_t *plan,
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
        x->fetch_err = e;
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
    boot_block(dev, plan);
    if (rf_plan_validate(plan) != ESP_OK) {
        return refuse_rule(x, plan, img, err, err_len);
    }

    /* Digest, content and end state (the engine's rules, as in download mode). */
    return check_plan_content(dev, plan, img, x, err, err_len);
}
