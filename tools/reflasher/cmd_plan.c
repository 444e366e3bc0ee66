/*
 * reflasher plan --device DEVICE.img --image SOURCE@DEST[:SIZE][#sha256=HEX] ...
 *                [--json] [--svg FILE] [--no-fetch] [--allow-http]
 * reflasher plan --device DEVICE.img --embedded FILE@DEST[:SIZE] [--at ADDR] [--require-backup]
 *                [--json] [--svg FILE]
 *
 * Builds and validates the migration plan for a simulated device without
 * writing anything: the execution order, per image its source, length,
 * SHA-256, destination and kind, staging partition, the checks that run,
 * what the destination overwrites, the estimated device time per step, and
 * the bootloader window. Refused plans: "refused: RULE: description (image
 * N: SOURCE)" on stderr, exit 1. Usage errors exit 2.
 * --svg FILE draws the flash map before and after the migration.
 * --embedded: the library's embedded mode (FILE already inside the running
 * app at ADDR): over the running partition, the backup of the running app to
 * an OTA partition and the otadata switch come first, and the window is the
 * bootloader's sectors; with no room for a backup, a warning and the whole
 * copy is the window (exit 0; 1 with --require-backup).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "json_out.h"
#include "planning.h"
#include "rf_region.h"

#define MAX_ARGS 16

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher plan --device DEVICE.img --image SOURCE@DEST[:SIZE][#sha256=HEX] [--image ...]\n"
            "                      [--json] [--svg FILE] [--no-fetch] [--allow-http]\n"
            "       reflasher plan --device DEVICE.img --embedded FILE@DEST[:SIZE][#sha256=HEX] [--at ADDR]\n"
            "                      [--require-backup] [--json] [--svg FILE]\n"
            "Validates the migration plan without writing anything. SOURCE is an http(s):// URL or a file;\n"
            "DEST and SIZE take 0x.., decimal, K or M; SIZE defaults to the partition that starts at DEST.\n"
            "--no-fetch: check the destinations only (lengths, hashes and formats unknown).\n"
            "--allow-http: accept http:// sources not pinned by #sha256= (refused otherwise, exit 2,\n"
            "as the device refuses them with SELF_REFLASHER_ALLOW_PLAIN_HTTP off, its default).\n"
            "--embedded: the library's embedded mode: FILE lies inside the running app at ADDR (default 0x14294)\n"
            "and is copied to DEST (SIZE defaults to FILE's length); over the running partition the running app\n"
            "is first backed up to a free OTA partition selected in otadata. --require-backup: exit 1 when no\n"
            "partition can hold that backup (the whole copy is then a window).\n");
    return 2;
}

/* ---- shared helpers ------------------------------------------------------ */

typedef struct {
    const char *device;
    const rf_plan_t *plan;
    const rf_cli_plan_extra_t *x;
    const rf_device_t *dev;
    const rf_image_arg_t *imgs;
    bool no_backup_refused;     /**< valid, but --require-backup and no OTA partition can hold the backup */
} view_t;

#define RULE_NO_BACKUP "NO_BACKUP"
#define RULE_NO_BACKUP_TEXT "no OTA partition can hold a backup of the running app (--require-backup)"

static double us_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void hex32(const uint8_t *d, char out[65])
{
    for (int i = 0; i < 32; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    out[64] = 0;
}

static const char *base_name(const char *s)
{
    const char *q = strchr(s, '?');
    size_t n = q ? (size_t)(q - s) : strlen(s);
    static char buf[256];
    size_t st = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/') {
            st = i + 1;
        }
    }
    size_t len = n - st < sizeof buf - 1 ? n - st : sizeof buf - 1;
    memcpy(buf, s + st, len);
    buf[len] = 0;
    return buf;
}

static uint32_t region_end(const rf_plan_image_t *im, uint32_t sector)
{
    return im->dest + rf_align_up(im->dest_size, sector);
}

/* The system areas outside the partition table: the second-stage bootloader
 * [bootloader_offset, ptable_offset) and the table's sector. */
static bool hits_bootloader(const rf_plan_t *p, const rf_plan_image_t *im)
{
    uint32_t end = p->ptable_offset > p->bootloader_offset ? p->ptable_offset : p->bootloader_offset + p->sector_size;
    return rf_overlaps(im->dest, rf_align_up(im->dest_size, p->sector_size), p->bootloader_offset,
                       end - p->bootloader_offset);
}

static bool hits_ptable(const rf_plan_t *p, const rf_plan_image_t *im)
{
    return rf_overlaps(im->dest, rf_align_up(im->dest_size, p->sector_size), p->ptable_offset, RF_PTABLE_SECTOR);
}

static const char *chip_label(uint16_t id)
{
    const char *s = rf_esp_chip_name(id);
    return s ? s : "?";
}

static void size_str(uint32_t v, char *out, size_t n)
{
    if (v >= 1024u * 1024u && v % (1024u * 1024u) == 0) {
        snprintf(out, n, "%u MB", (unsigned)(v / (1024u * 1024u)));
    } else if (v >= 1024u && v % 1024u == 0) {
        snprintf(out, n, "%u KB", (unsigned)(v / 1024u));
    } else {
        snprintf(out, n, "%u bytes", (unsigned)v);
    }
}

/* ---- text ------------------------------------------------------------------ */

static void print_header(const view_t *v)
{
    const rf_plan_t *p = v->plan;
    char fs[32];
    size_str(p->flash_size, fs, sizeof fs);
    printf("plan for %s: %s (%s, chip id 0x%04x), %s flash (0x%x), sector 0x%x, block 0x%x, page 0x%x\n", v->device,
           v->dev->chip, chip_label(p->chip_id), p->chip_id, fs, (unsigned)p->flash_size, (unsigned)p->sector_size,
           (unsigned)p->block_size, (unsigned)p->page_size);
    printf("  bootloader at 0x%x, partition table at 0x%x, running '%s' 0x%x..0x%x\n", (unsigned)p->bootloader_offset,
           (unsigned)p->ptable_offset, p->running.label, (unsigned)p->running.offset,
           (unsigned)(p->running.offset + p->running.size));
    printf("  timing: sector erase %.3f ms, block erase %.3f ms, page program %.3f ms, read %u B/s, network %u B/s\n",
           us_ms(p->cost.sector_erase_us), us_ms(p->cost.block_erase_us), us_ms(p->cost.page_program_us),
           (unsigned)p->cost.read_bytes_per_s, (unsigned)p->cost.net_bytes_per_s);
}

static void print_text_embedded(const view_t *v);

static void print_overwrites(const rf_plan_t *p, const rf_plan_image_t *im);

static void print_text(const view_t *v)
{
    const rf_plan_t *p = v->plan;
    const rf_cli_plan_extra_t *x = v->x;
    print_header(v);
    if (x->embedded) {
        print_text_embedded(v);
        return;
    }

    printf("\nexecution order:");
    for (uint32_t k = 0; k < p->count; k++) {
        printf(" image %u%s", (unsigned)p->img[k].input_index + 1, k + 1 < p->count ? "," : "");
    }
    printf("\n");
    if (p->reordered) {
        printf("  reordered: images touching the bootloader or partition table sectors (0x%x..0x%x) go last, "
               "so the old boot chain stays intact while anything can still fail:",
               (unsigned)p->bootloader_offset, (unsigned)(p->ptable_offset + RF_PTABLE_MAX_LEN));
        for (uint32_t k = 0; k < p->count; k++) {
            if (p->img[k].boot_critical) {
                printf(" image %u", (unsigned)p->img[k].input_index + 1);
            }
        }
        printf("\n");
    }

    uint64_t t_dl = 0, t_st = 0, t_cp = 0;
    for (uint32_t k = 0; k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        const int i = (int)im->input_index;
        const rf_cli_plan_image_t *ci = &x->img[i];
        printf("\nstep %u of %u: image %d  %s\n", (unsigned)k + 1, (unsigned)p->count, i + 1, im->source);
        if (ci->fetched) {
            char h[65];
            hex32(ci->sha256, h);
            printf("  length       %zu bytes (0x%zx)\n", ci->len, ci->len);
            printf("  sha256       %s%s\n", h, ci->sha256_checked ? " (matches #sha256)" : "");
        } else {
            printf("  length       unknown (--no-fetch)\n");
            if (im->has_sha256) {
                char h[65];
                hex32(im->sha256, h);
                printf("  sha256       expected %s (not checked: --no-fetch)\n", h);
            } else {
                printf("  sha256       unknown (--no-fetch)\n");
            }
        }
        printf("  destination  0x%x..0x%x (0x%x bytes), kind %s%s\n", (unsigned)im->dest,
               (unsigned)region_end(im, p->sector_size), (unsigned)im->dest_size, rf_dest_kind_name(im->kind),
               im->boot_critical ? ", boot-critical" : "");
        if (ci->content_desc[0]) {
            printf("  content      %s\n", ci->content_desc);
        }
        if (im->direct) {
            printf("  staging      none: the destination is in '%s', a spare app partition off the old system's boot "
                   "path; the download goes there directly and is verified in place\n", im->staging.label);
        } else {
            printf("  staging      '%s' 0x%x..0x%x (0x%x bytes; its old content is lost)\n", im->staging.label,
                   (unsigned)im->staging.offset, (unsigned)(im->staging.offset + im->staging.size),
                   (unsigned)im->staging.size);
        }
        print_overwrites(p, im);
        /* checks */
        const char *st = ci->fetched ? "passed" : "pending (--no-fetch)";
        printf("  checks       length fits the destination (0x%x) and the staging partition (0x%x): %s\n",
               (unsigned)im->dest_size, (unsigned)im->staging.size, st);
        switch (im->kind) {
        case RF_DEST_BOOTLOADER:
            printf("               format: ESP bootloader image for %s (magic, chip id, segments, checksum, "
                   "SHA-256): %s\n",
                   chip_label(p->chip_id), ci->fetched ? (ci->content_checked ? "passed" : "failed") : st);
            break;
        case RF_DEST_APP_SLOT:
            printf("               format: ESP app for %s, or MCUboot image (header, TLVs, SHA-256, fits the 0x%x "
                   "slot): %s\n",
                   chip_label(p->chip_id), (unsigned)im->dest_size,
                   ci->fetched ? (ci->content_checked ? "passed" : "failed") : st);
            break;
        case RF_DEST_MCUBOOT_SLOT:
            printf("               format: MCUboot image fitting the 0x%x slot: %s\n", (unsigned)im->dest_size,
                   ci->fetched ? (ci->content_checked ? "passed" : "failed") : st);
            break;
        case RF_DEST_ESP_APP:
            printf("               format: ESP app for %s: %s\n", chip_label(p->chip_id),
                   ci->fetched ? (ci->content_checked ? "passed" : "failed") : st);
            break;
        default:
            printf("               format: none for a raw destination (length and hash only)\n");
            break;
        }
        if (im->has_sha256) {
            printf("               sha256 equals #sha256: %s\n", ci->fetched ? "passed" : st);
        } else {
            printf("               sha256: none expected (add #sha256=HEX to the image argument)\n");
        }
        printf("               signature: not checked (no key given)\n");
        printf("               on the device: every sector read back, the image re-hashed after staging and copy\n");
        uint64_t sum = im->est_download_us + im->est_stage_us + im->est_copy_us;
        printf("  device time  download %.1f ms + staging %.1f ms + copy %.1f ms = %.1f ms%s\n",
               us_ms(im->est_download_us), us_ms(im->est_stage_us), us_ms(im->est_copy_us), us_ms(sum),
               im->len < 0 ? " (length unknown: the whole region assumed)" : "");
        t_dl += im->est_download_us;
        t_st += im->est_stage_us;
        t_cp += im->est_copy_us;
    }
    printf("\ntotal estimated device time: %.1f ms (download %.1f, staging %.1f, copy %.1f)\n", us_ms(p->est_total_us),
           us_ms(t_dl), us_ms(t_st), us_ms(t_cp));
    if (p->window_image >= 0) {
        printf("bootloader window: %.1f ms during step %d (from the first erase of 0x%x to the end of the "
               "bootloader's programming; a power cut then leaves no bootable chain)\n",
               us_ms(p->window_us), (int)p->window_image + 1, (unsigned)p->bootloader_offset);
    } else {
        printf("bootloader window: none (the bootloader is not rewritten)\n");
    }
    if (p->journal_len) {
        printf("journal: 0x%x..0x%x (progress records, so that a rerun after a power cut or a network failure "
               "resumes; declared: these bytes change, and are erased at the end)\n", (unsigned)p->journal_addr,
               (unsigned)(p->journal_addr + p->journal_len));
    } else {
        printf("journal: none (no free flash outside the partitions and destinations): a rerun starts over\n");
    }
    printf("plan valid%s: nothing was written\n", x->fetched ? "" : " (destinations only: --no-fetch)");
}

/* ---- text, embedded mode ---------------------------------------------------- */

/* What the destination overwrites, one line each (lead first). */
static void print_overwrites(const rf_plan_t *p, const rf_plan_image_t *im)
{
    const char *lead = "  overwrites   ";
    const char *cont = "               ";
    bool any = false;
    if (hits_bootloader(p, im)) {
        printf("%sthe second-stage bootloader 0x%x..0x%x: no bootable chain until its image is written\n", lead,
               (unsigned)p->bootloader_offset, (unsigned)p->ptable_offset);
        lead = cont;
        any = true;
    }
    if (hits_ptable(p, im)) {
        printf("%sthe partition table 0x%x..0x%x: erased (the new system must not need it)\n", lead,
               (unsigned)p->ptable_offset, (unsigned)(p->ptable_offset + RF_PTABLE_SECTOR));
        lead = cont;
        any = true;
    }
    for (uint32_t o = 0; o < im->overwrites_count; o++) {
        const rf_part_t *pt = &p->table->parts[im->overwrites[o]];
        char kind[32];
        rf_part_kind_name(pt->type, pt->subtype, kind, sizeof kind);
        bool whole = rf_contains(im->dest, rf_align_up(im->dest_size, p->sector_size), pt->offset, pt->size);
        bool run = pt->offset == p->running.offset && pt->size == p->running.size;
        printf("%s'%s' (%s) 0x%x..0x%x%s%s\n", lead, pt->label, kind, (unsigned)pt->offset,
               (unsigned)(pt->offset + pt->size), whole ? "" : " (partly)", run ? " (the running partition)" : "");
        lead = cont;
        any = true;
    }
    if (!any) {
        printf("%sno partition (free flash)\n", lead);
    }
}

/* Why each OTA app partition cannot take the backup (no-backup case). */
static void print_backup_candidates(const rf_plan_t *p, const rf_plan_image_t *im)
{
    const char *lead = "  candidates   ";
    bool any = false;
    uint32_t dsize = rf_align_up(im->dest_size, p->sector_size);
    for (uint32_t k = 0; k < p->table->count; k++) {
        const rf_part_t *pt = &p->table->parts[k];
        if (pt->type != RF_PART_TYPE_APP || pt->subtype < RF_PART_SUBTYPE_OTA_MIN ||
            pt->subtype > RF_PART_SUBTYPE_OTA_MAX) {
            continue;
        }
        const char *why = rf_overlaps(pt->offset, pt->size, p->running.offset, p->running.size)
                              ? "overlaps the running partition"
                          : rf_overlaps(pt->offset, pt->size, im->dest, dsize) ? "overlaps the destination"
                          : pt->size < im->backup_len                          ? "too small"
                                                                               : "?";
        printf("%s'%s' 0x%x..0x%x (0x%x bytes): %s\n", lead, pt->label, (unsigned)pt->offset,
               (unsigned)(pt->offset + pt->size), (unsigned)pt->size, why);
        lead = "               ";
        any = true;
    }
    if (!any) {
        printf("%snone: the partition table has no OTA app partition\n", lead);
    }
}

static void print_text_embedded(const view_t *v)
{
    const rf_plan_t *p = v->plan;
    const rf_cli_plan_extra_t *x = v->x;
    const rf_plan_image_t *im = &p->img[0];
    const rf_cli_plan_image_t *ci = &x->img[0];
    const rf_part_t *run = &p->running;
    const uint32_t S = p->sector_size;
    printf("  mode: embedded: %s is already in flash inside the running app at 0x%x..0x%x (nothing is "
           "downloaded)\n", base_name(im->source), (unsigned)x->at, (unsigned)(x->at + ci->len));
    if (p->no_backup_window) {
        printf("\nwarning: no OTA partition can hold a backup of the running app (%u bytes): the device has no "
               "bootable system for the whole copy, about %.1f ms\n", (unsigned)im->backup_len, us_ms(p->window_us));
    }

    const uint32_t nsteps = im->has_backup ? (im->writes_otadata ? 3u : 2u) : 1u;
    uint32_t step = 0;
    uint32_t img_src = x->at;
    if (im->over_running && im->has_backup) {
        img_src = im->backup.offset + (x->at - run->offset);
        step++;
        printf("\nstep %u of %u: back up the running app '%s' to '%s' 0x%x..0x%x (0x%x of its 0x%x bytes)\n",
               (unsigned)step, (unsigned)nsteps, run->label, im->backup.label, (unsigned)im->backup.offset,
               (unsigned)(im->backup.offset + im->backup_len), (unsigned)im->backup_len, (unsigned)im->backup.size);
        printf("  why          the copy overwrites '%s' 0x%x..0x%x, the partition the device runs from: the backup "
               "keeps an old system bootable\n", run->label, (unsigned)run->offset,
               (unsigned)(run->offset + run->size));
        if (x->app_len) {
            printf("  size         the running app's ESP image is %u bytes (0x%x); the embedded image ends 0x%x "
                   "bytes into '%s'; rounded up to 0x%x\n", (unsigned)x->app_len, (unsigned)x->app_len,
                   (unsigned)(x->at + ci->len - run->offset), run->label, (unsigned)S);
        } else {
            printf("  size         no ESP app image at 0x%x on the device: up to the embedded image's end 0x%x, "
                   "rounded up to 0x%x\n", (unsigned)run->offset, (unsigned)(x->at + ci->len), (unsigned)S);
        }
        printf("  overwrites   '%s' 0x%x..0x%x (its old content is lost)\n", im->backup.label,
               (unsigned)im->backup.offset, (unsigned)(im->backup.offset + im->backup_len));
        printf("  checks       every sector read back; the embedded image re-hashed in the backup at 0x%x\n",
               (unsigned)img_src);
        printf("  device time  %.1f ms\n",
               us_ms(im->est_backup_us - (im->writes_otadata ? p->cost.sector_erase_us + p->cost.page_program_us : 0)));
        if (im->writes_otadata) {
            step++;
            printf("\nstep %u of %u: switch otadata '%s' 0x%x..0x%x to select '%s'\n", (unsigned)step,
                   (unsigned)nsteps, im->otadata.label, (unsigned)im->otadata.offset,
                   (unsigned)(im->otadata.offset + im->otadata.size), im->backup.label);
            printf("  effect       from here on the old bootloader boots the backup; one of otadata's two sectors "
                   "is rewritten (a cut keeps the old choice)\n");
            printf("  device time  %.1f ms\n", us_ms(p->cost.sector_erase_us + p->cost.page_program_us));
        } else {
            printf("  warning      no otadata partition to select the backup: the old bootloader keeps booting '%s' "
                   "while it is rewritten\n", run->label);
        }
    }
    step++;
    char h[65];
    hex32(ci->sha256, h);
    printf("\nstep %u of %u: image 1  %s (embedded), copied from %s at 0x%x\n", (unsigned)step, (unsigned)nsteps,
           im->source, im->over_running && im->has_backup ? "the backup" : "the running app", (unsigned)img_src);
    printf("  length       %zu bytes (0x%zx)\n", ci->len, ci->len);
    printf("  sha256       %s%s\n", h, ci->sha256_checked ? " (matches #sha256)" : "");
    printf("  destination  0x%x..0x%x (0x%x bytes), kind %s%s\n", (unsigned)im->dest,
           (unsigned)region_end(im, S), (unsigned)im->dest_size, rf_dest_kind_name(im->kind),
           im->boot_critical ? ", boot-critical" : "");
    if (ci->content_desc[0]) {
        printf("  content      %s\n", ci->content_desc);
    }
    if (im->over_running && im->has_backup) {
        printf("  source       the backup in '%s' 0x%x..0x%x (the running partition is overwritten)\n",
               im->backup.label, (unsigned)img_src, (unsigned)(img_src + ci->len));
    } else if (im->over_running) {
        printf("  source       the running app '%s' 0x%x..0x%x itself: the copy overwrites the partition it reads "
               "(a memmove) and the one the old bootloader boots\n", run->label, (unsigned)x->at,
               (unsigned)(x->at + ci->len));
        print_backup_candidates(p, im);
    } else {
        printf("  source       the running app '%s' 0x%x..0x%x (the copy does not touch it)\n", run->label,
               (unsigned)x->at, (unsigned)(x->at + ci->len));
    }
    if (p->no_backup_window) {
        printf("  order        the whole copy is the window (see the warning above)\n");
    } else if (hits_bootloader(p, im)) {
        uint32_t lo = im->dest > p->bootloader_offset ? im->dest : p->bootloader_offset;
        printf("  order        everything else first, the bootloader's sectors 0x%x..0x%x last (then the partition "
               "table and otadata)%s\n", (unsigned)lo, (unsigned)p->ptable_offset,
               im->has_backup ? ": until then the old bootloader boots the backup" : "");
    }
    print_overwrites(p, im);
    printf("  checks       length fits the destination (0x%x) and lies inside '%s': passed\n",
           (unsigned)im->dest_size, run->label);
    switch (im->kind) {
    case RF_DEST_BOOTLOADER:
        printf("               format: ESP bootloader image for %s (magic, chip id, segments, checksum, SHA-256): "
               "%s\n", chip_label(p->chip_id), ci->content_checked ? "passed" : "failed");
        break;
    case RF_DEST_APP_SLOT:
        printf("               format: ESP app for %s, or MCUboot image (header, TLVs, SHA-256, fits the 0x%x "
               "slot): %s\n", chip_label(p->chip_id), (unsigned)im->dest_size,
               ci->content_checked ? "passed" : "failed");
        break;
    default:
        printf("               format: none for a raw destination (length and hash only)\n");
        break;
    }
    if (im->has_sha256) {
        printf("               sha256 equals #sha256: passed\n");
    } else {
        printf("               sha256: none expected (add #sha256=HEX to the image argument)\n");
    }
    printf("               on the device: the same checks on the image in flash before the copy; every sector "
           "read back, the image re-hashed after the copy\n");
    printf("  device time  copy %.1f ms\n", us_ms(im->est_copy_us));

    printf("\ntotal estimated device time: %.1f ms (backup %.1f, copy %.1f)\n", us_ms(p->est_total_us),
           us_ms(im->est_backup_us), us_ms(im->est_copy_us));
    if (p->no_backup_window) {
        printf("window: %.1f ms, the whole copy (step %u): no OTA partition can hold a backup of the running app, so "
               "a power cut during the copy leaves no bootable system\n", us_ms(p->window_us), (unsigned)step);
    } else if (p->window_image >= 0) {
        printf("bootloader window: %.1f ms during step %u (from the first erase of 0x%x to the end of the "
               "bootloader's programming; a power cut then leaves no bootable chain)\n",
               us_ms(p->window_us), (unsigned)step, (unsigned)p->bootloader_offset);
    } else {
        printf("bootloader window: none (the bootloader is not rewritten)\n");
    }
    if (p->journal_len) {
        printf("journal: 0x%x..0x%x (progress records, so that a rerun after a power cut %s; declared: these bytes "
               "change, and are erased at the end)\n", (unsigned)p->journal_addr, (unsigned)(p->journal_addr + p->journal_len),
               im->has_backup ? "resumes from the backup" : "knows where it stopped");
    } else {
        printf("journal: none (no free flash outside the partitions and destinations): a rerun starts over\n");
    }
    printf("plan valid%s: nothing was written\n", p->no_backup_window ? " but risky (no backup)" : "");
}

/* ---- JSON ------------------------------------------------------------------ */

static cJSON *json_part(cJSON *parent, const char *key, const rf_part_t *pt)
{
    char kind[32];
    rf_part_kind_name(pt->type, pt->subtype, kind, sizeof kind);
    cJSON *o = key != NULL ? cJSON_AddObjectToObject(parent, key) : rf_json_push_object(parent);
    rf_json_str(o, "label", pt->label);
    rf_json_str(o, "kind", kind);
    rf_json_num(o, "offset", pt->offset);
    rf_json_num(o, "size", pt->size);
    return o;
}

static void json_check(cJSON *checks, const char *name, const char *status)
{
    cJSON *o = rf_json_push_object(checks);
    rf_json_str(o, "name", name);
    rf_json_str(o, "status", status);
}

static bool print_json(const view_t *v, bool ok, const char *errmsg)
{
    const rf_plan_t *p = v->plan;
    const rf_cli_plan_extra_t *x = v->x;
    cJSON *o = cJSON_CreateObject();
    if (ok && v->no_backup_refused) {
        /* a valid plan refused by --require-backup: the plan is still shown */
        cJSON_AddBoolToObject(o, "ok", false);
        rf_json_str(o, "rule", RULE_NO_BACKUP);
        rf_json_str(o, "rule_text", RULE_NO_BACKUP_TEXT);
        rf_json_str(o, "detail", "");
        rf_json_str(o, "message", errmsg);
        rf_json_num(o, "image", 1);
        rf_json_str(o, "source", v->imgs[0].source);
    } else {
        cJSON_AddBoolToObject(o, "ok", ok);
        rf_json_str(o, "rule", ok ? "OK" : (x->rule_name ? x->rule_name : "ERROR"));
        rf_json_str(o, "rule_text", ok ? "" : x->rule_text);
        rf_json_str(o, "detail", ok ? "" : x->detail);
        rf_json_str(o, "message", ok ? "" : errmsg);
        if (!ok && x->bad_input >= 0) {
            rf_json_num(o, "image", (uint64_t)x->bad_input + 1);
            rf_json_str(o, "source", v->imgs[x->bad_input].source);
        } else {
            cJSON_AddNullToObject(o, "image");
        }
    }
    cJSON *d = cJSON_AddObjectToObject(o, "device");
    rf_json_str(d, "path", v->device);
    rf_json_str(d, "chip", v->dev->chip);
    rf_json_num(d, "chip_id", p->chip_id);
    rf_json_num(d, "flash_size", p->flash_size);
    rf_json_num(d, "sector_size", p->sector_size);
    rf_json_num(d, "block_size", p->block_size);
    rf_json_num(d, "page_size", p->page_size);
    rf_json_num(d, "bootloader_offset", p->bootloader_offset);
    rf_json_num(d, "ptable_offset", p->ptable_offset);
    json_part(d, "running", &p->running);
    cJSON_AddBoolToObject(o, "fetched", x->fetched);
    cJSON_AddBoolToObject(o, "reordered", ok && p->reordered);
    cJSON *order = cJSON_AddArrayToObject(o, "order");
    cJSON *images = cJSON_AddArrayToObject(o, "images");
    for (uint32_t k = 0; ok && k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        const int i = (int)im->input_index;
        const rf_cli_plan_image_t *ci = &x->img[i];
        cJSON_AddItemToArray(order, cJSON_CreateNumber((double)i + 1));
        cJSON *j = rf_json_push_object(images);
        rf_json_num(j, "step", (uint64_t)k + 1);
        rf_json_num(j, "input", (uint64_t)i + 1);
        rf_json_str(j, "source", im->source);
        if (ci->fetched) {
            rf_json_num(j, "length", ci->len);
            rf_json_hex(j, "sha256", ci->sha256, 32);
        } else {
            cJSON_AddNullToObject(j, "length");
            cJSON_AddNullToObject(j, "sha256");
        }
        if (im->has_sha256) {
            rf_json_hex(j, "expected_sha256", im->sha256, 32);
        } else {
            cJSON_AddNullToObject(j, "expected_sha256");
        }
        cJSON_AddBoolToObject(j, "sha256_checked", im->has_sha256 && ci->sha256_checked);
        rf_json_num(j, "dest", im->dest);
        rf_json_num(j, "dest_size", im->dest_size);
        rf_json_num(j, "dest_end", region_end(im, p->sector_size));
        rf_json_str(j, "kind", rf_dest_kind_name(im->kind));
        cJSON_AddBoolToObject(j, "boot_critical", im->boot_critical);
        cJSON_AddBoolToObject(j, "content_checked", ci->content_checked);
        rf_json_str(j, "content", ci->content_desc);
        if (im->embedded) {
            cJSON_AddNullToObject(j, "staging");
        } else {
            json_part(j, "staging", &im->staging);
        }
        cJSON_AddBoolToObject(j, "direct", im->direct);
        cJSON_AddBoolToObject(j, "overwrites_bootloader", hits_bootloader(p, im));
        cJSON_AddBoolToObject(j, "overwrites_ptable", hits_ptable(p, im));
        cJSON *ow = cJSON_AddArrayToObject(j, "overwrites");
        for (uint32_t q = 0; q < im->overwrites_count; q++) {
            json_part(ow, NULL, &p->table->parts[im->overwrites[q]]);
        }
        const char *st = ci->fetched ? "passed" : "pending";
        cJSON *checks = cJSON_AddArrayToObject(j, "checks");
        json_check(checks, "length", st);
        json_check(checks, "format", im->kind == RF_DEST_RAW ? "not-applicable"
                                     : ci->fetched           ? (ci->content_checked ? "passed" : "failed")
                                                             : st);
        json_check(checks, "sha256", im->has_sha256 ? st : "not-requested");
        json_check(checks, "signature", "not-checked (no key)");
        cJSON_AddNumberToObject(j, "est_download_ms", us_ms(im->est_download_us));
        cJSON_AddNumberToObject(j, "est_stage_ms", us_ms(im->est_stage_us));
        cJSON_AddNumberToObject(j, "est_backup_ms", us_ms(im->est_backup_us));
        cJSON_AddNumberToObject(j, "est_copy_ms", us_ms(im->est_copy_us));
        cJSON_AddNumberToObject(j, "est_ms",
                                us_ms(im->est_download_us + im->est_stage_us + im->est_backup_us + im->est_copy_us));
    }
    if (ok && p->journal_len) {
        cJSON *jr = cJSON_AddObjectToObject(o, "journal");
        rf_json_num(jr, "addr", p->journal_addr);
        rf_json_num(jr, "len", p->journal_len);
        cJSON_AddBoolToObject(jr, "erased_at_end", true);
    } else {
        cJSON_AddNullToObject(o, "journal");
    }
    cJSON_AddNumberToObject(o, "est_total_ms", ok ? us_ms(p->est_total_us) : 0.0);
    cJSON_AddNumberToObject(o, "window_ms", ok ? us_ms(p->window_us) : 0.0);
    if (ok && p->window_image >= 0) {
        rf_json_num(o, "window_step", (uint64_t)p->window_image + 1);
    } else {
        cJSON_AddNullToObject(o, "window_step");
    }
    /* embedded mode: the backup of the running app and the otadata switch */
    const rf_plan_image_t *im0 = ok && p->count ? &p->img[0] : NULL;
    rf_json_str(o, "mode", x->embedded ? "embedded" : "download");
    if (x->embedded) {
        rf_json_num(o, "embedded_at", x->at);
        rf_json_num(o, "backup_need", im0 ? im0->backup_len : 0u);
    } else {
        cJSON_AddNullToObject(o, "embedded_at");
        cJSON_AddNullToObject(o, "backup_need");
    }
    if (im0 && im0->has_backup) {
        cJSON *bk = cJSON_AddObjectToObject(o, "backup");
        rf_json_str(bk, "label", im0->backup.label);
        rf_json_num(bk, "addr", im0->backup.offset);
        rf_json_num(bk, "len", im0->backup_len);
        rf_json_num(bk, "size", im0->backup.size);
    } else {
        cJSON_AddNullToObject(o, "backup");
    }
    if (im0 && im0->writes_otadata) {
        cJSON *od = cJSON_AddObjectToObject(o, "otadata");
        rf_json_str(od, "label", im0->otadata.label);
        rf_json_num(od, "addr", im0->otadata.offset);
        rf_json_num(od, "len", im0->otadata.size);
    } else {
        cJSON_AddNullToObject(o, "otadata");
    }
    cJSON_AddBoolToObject(o, "no_backup_window", ok && p->no_backup_window);
    return rf_json_print(o, "reflasher plan");
}

/* ---- SVG ------------------------------------------------------------------- */

#define SVG_W 1240
#define SVG_L 150
#define SVG_R 30
#define SVG_BW (SVG_W - SVG_L - SVG_R)
#define BAR_H 46
#define FONT_W 6.6   /* average glyph width at 12 px, a little generous */

typedef struct {
    FILE *f;
    double y, h;
    uint32_t base, span;
} bar_t;

static void xesc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

static double bx(const bar_t *b, uint64_t a)
{
    if (a < b->base) {
        a = b->base;
    }
    if (a > (uint64_t)b->base + b->span) {
        a = (uint64_t)b->base + b->span;
    }
    return SVG_L + (double)(a - b->base) * SVG_BW / b->span;
}

static bool visible(const bar_t *b, uint64_t a0, uint64_t a1)
{
    return a1 > b->base && a0 < (uint64_t)b->base + b->span && a1 > a0;
}

/* A rectangle over [a0, a1) of the bar (clipped); style is raw attributes. */
static void brect(const bar_t *b, uint64_t a0, uint64_t a1, double dy, double h, const char *style)
{
    if (!visible(b, a0, a1)) {
        return;
    }
    double x0 = bx(b, a0), x1 = bx(b, a1);
    fprintf(b->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" %s/>\n", x0, b->y + dy,
            x1 - x0 < 0.8 ? 0.8 : x1 - x0, h, style);
}

/* Centred text inside [a0, a1): the first of the alternatives that fits. */
static bool blabel(const bar_t *b, uint64_t a0, uint64_t a1, double dy, const char *cls, const char *const *alts,
                   int n)
{
    if (!visible(b, a0, a1)) {
        return false;
    }
    double x0 = bx(b, a0), x1 = bx(b, a1), w = x1 - x0;
    double fw = strstr(cls, "small") ? FONT_W * 10.0 / 12.0 : FONT_W;
    for (int i = 0; i < n; i++) {
        if (alts[i] == NULL || alts[i][0] == 0) {
            continue;
        }
        if ((double)strlen(alts[i]) * fw + 6 <= w) {
            fprintf(b->f, "<text class=\"%s\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cls, (x0 + x1) / 2,
                    b->y + dy);
            xesc(b->f, alts[i]);
            fprintf(b->f, "</text>\n");
            return true;
        }
    }
    return false;
}

static const char *part_fill(const rf_part_t *pt)
{
    if (pt->type == RF_PART_TYPE_APP) {
        return "#9fc5e8";
    }
    if (pt->type == RF_PART_TYPE_DATA) {
        return "#b6d7a8";
    }
    return "#ffe599";
}

static void axis(const bar_t *b, uint32_t max_ticks)
{
    /* ticks: a power of two such that there are at most max_ticks of them,
     * and the end; a label that would touch its neighbour is left out
     * (the start and the end are always labelled) */
    uint32_t step = 0x1000;
    while ((uint64_t)b->span / step > max_ticks) {
        step *= 2;
    }
    const uint64_t end = (uint64_t)b->base + b->span;
    const double fw = FONT_W * 10.0 / 12.0;
    char t[24];
    snprintf(t, sizeof t, "0x%llx", (unsigned long long)end);
    const double end_left = bx(b, end) - (double)strlen(t) * fw;
    double last_right = -1e9;
    for (uint64_t a = b->base;; a += step) {
        if (a > end) {
            a = end;
        }
        double x = bx(b, a);
        snprintf(t, sizeof t, "0x%llx", (unsigned long long)a);
        double w = (double)strlen(t) * fw;
        const char *anchor = a == b->base ? "start" : (a == end ? "end" : "middle");
        double left = a == b->base ? x : (a == end ? x - w : x - w / 2);
        fprintf(b->f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" class=\"tick\"/>\n", x, b->y - 5, x,
                b->y);
        if (a == end || (left >= last_right + 6 && left + w <= end_left - 6)) {
            fprintf(b->f, "<text class=\"axis\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">%s</text>\n", x,
                    b->y - 8, anchor, t);
            last_right = left + w;
        }
        if (a == end) {
            break;
        }
    }
}

static void svg_defs(FILE *f)
{
    fprintf(f,
            "<defs>\n"
            "<pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"7\" height=\"7\" "
            "patternTransform=\"rotate(45)\"><rect width=\"7\" height=\"7\" fill=\"#ffffff\" fill-opacity=\"0.35\"/>"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"7\" stroke=\"#d62728\" stroke-width=\"3\"/></pattern>\n"
            "<pattern id=\"stage\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\" "
            "patternTransform=\"rotate(-45)\"><rect width=\"8\" height=\"8\" fill=\"#fce5cd\"/>"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#e69138\" stroke-width=\"2\"/></pattern>\n"
            "<pattern id=\"backup\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\" "
            "patternTransform=\"rotate(-45)\"><rect width=\"8\" height=\"8\" fill=\"#d4eef1\"/>"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#00838f\" stroke-width=\"2.5\"/></pattern>\n"
            "</defs>\n"
            "<style>\n"
            "text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; font-size: 12px; fill: #222; }\n"
            ".title { font-size: 17px; font-weight: bold; }\n"
            ".sub { font-size: 13px; fill: #444; }\n"
            ".row { font-size: 14px; font-weight: bold; }\n"
            ".rowsub { font-size: 11px; fill: #555; }\n"
            ".lbl { font-size: 12px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; "
            "stroke-linejoin: round; }\n"
            ".small { font-size: 10px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; "
            "stroke-linejoin: round; }\n"
            ".axis { font-size: 10px; fill: #666; }\n"
            ".tick { stroke: #999; stroke-width: 1; }\n"
            ".warn { fill: #c00000; font-weight: bold; }\n"
            ".step { font-size: 12.5px; }\n"
            "</style>\n");
}

/* The largest part of [*a0, *a1) that no destination covers (after the
 * migration, the label of a partly overwritten partition goes there). */
static void largest_gap(const rf_plan_t *p, uint64_t *a0, uint64_t *a1)
{
    uint64_t best0 = *a0, best1 = *a0, pos = *a0;
    while (pos < *a1) {
        /* the first destination covering pos, else the next one starting after it */
        uint64_t next = *a1, skip_to = 0;
        for (uint32_t k = 0; k < p->count; k++) {
            uint64_t d0 = p->img[k].dest, d1 = d0 + rf_align_up(p->img[k].dest_size, p->sector_size);
            if (d0 <= pos && pos < d1) {
                skip_to = d1 > skip_to ? d1 : skip_to;
            } else if (d0 > pos && d0 < next) {
                next = d0;
            }
        }
        if (skip_to) {
            pos = skip_to;
            continue;
        }
        if (next - pos > best1 - best0) {
            best0 = pos;
            best1 = next;
        }
        pos = next;
    }
    *a0 = best0;
    *a1 = best1;
}

/* One map: the full flash bar and its zoom on the boot area below it. */
typedef enum { MAP_BEFORE, MAP_AFTER } map_kind_t;

static void draw_bar_content(const view_t *v, const bar_t *b, map_kind_t kind, bool ok)
{
    const rf_plan_t *p = v->plan;
    FILE *f = b->f;
    /* free flash */
    brect(b, b->base, (uint64_t)b->base + b->span, 0, b->h, "fill=\"#f4f4f4\" stroke=\"#bbb\"");
    const char *fade = kind == MAP_AFTER ? " fill-opacity=\"0.45\"" : "";
    char style[200];
    uint32_t bl_end = p->ptable_offset > p->bootloader_offset ? p->ptable_offset : p->bootloader_offset + 0x1000;
    snprintf(style, sizeof style, "fill=\"#c9c9c9\" stroke=\"#777\"%s", fade);
    brect(b, p->bootloader_offset, bl_end, 0, b->h, style);
    snprintf(style, sizeof style, "fill=\"#d5a6e6\" stroke=\"#777\"%s", fade);
    brect(b, p->ptable_offset, (uint64_t)p->ptable_offset + RF_PTABLE_SECTOR, 0, b->h, style);
    for (uint32_t k = 0; k < p->table->count; k++) {
        const rf_part_t *pt = &p->table->parts[k];
        bool run = pt->offset == p->running.offset && pt->size == p->running.size;
        snprintf(style, sizeof style, "fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"%s", part_fill(pt),
                 run ? "#1f4e79" : "#777", run ? "2.5" : "1", fade);
        brect(b, pt->offset, (uint64_t)pt->offset + pt->size, 0, b->h, style);
    }
    if (kind == MAP_BEFORE) {
        /* what the plan destroys: destinations (red hatch), staging (orange) */
        for (uint32_t k = 0; ok && k < p->count; k++) {
            const rf_plan_image_t *im = &p->img[k];
            brect(b, im->staging.offset, (uint64_t)im->staging.offset + im->staging.size, 0, b->h,
                  "fill=\"url(#stage)\" fill-opacity=\"0.55\" stroke=\"#e69138\" stroke-width=\"2\" "
                  "stroke-dasharray=\"6,3\"");
        }
        for (uint32_t k = 0; k < p->count && k < RF_PLAN_MAX_IMAGES; k++) {
            const rf_plan_image_t *im = &p->img[k];
            brect(b, im->dest, (uint64_t)im->dest + rf_align_up(im->dest_size, p->sector_size), 0, b->h,
                  "fill=\"url(#hatch)\" stroke=\"#d62728\" stroke-width=\"2\"");
        }
    } else {
        for (uint32_t k = 0; k < p->count; k++) {
            const rf_plan_image_t *im = &p->img[k];
            brect(b, im->staging.offset, (uint64_t)im->staging.offset + im->staging.size, 0, b->h,
                  "fill=\"#fce5cd\" stroke=\"#e69138\" stroke-width=\"2\" stroke-dasharray=\"6,3\"");
        }
        for (uint32_t k = 0; k < p->count; k++) {
            const rf_plan_image_t *im = &p->img[k];
            uint64_t end = (uint64_t)im->dest + rf_align_up(im->dest_size, p->sector_size);
            uint64_t img_end = im->len >= 0 ? (uint64_t)im->dest + (uint64_t)im->len : end;
            brect(b, im->dest, end, 0, b->h, "fill=\"#d0f0ea\" stroke=\"#1b7f6b\" stroke-width=\"2\"");
            brect(b, im->dest, img_end, 0, b->h, "fill=\"#45b39d\" stroke=\"none\"");
            brect(b, im->dest, end, 0, b->h, "fill=\"none\" stroke=\"#1b7f6b\" stroke-width=\"2\"");
        }
    }
    /* embedded mode: the backup of the running app (teal hatch; declared:
     * those bytes change) and the otadata partition switched to select it */
    for (uint32_t k = 0; ok && k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        if (!im->has_backup) {
            continue;
        }
        uint64_t b0 = im->backup.offset, b1 = b0 + im->backup_len, pend = b0 + im->backup.size;
        brect(b, b0, pend, 0, b->h, "fill=\"none\" stroke=\"#00838f\" stroke-width=\"2\" stroke-dasharray=\"6,3\"");
        brect(b, b0, b1, 0, b->h, "fill=\"url(#backup)\" stroke=\"#00838f\" stroke-width=\"2\"");
        if (kind == MAP_BEFORE && im->writes_otadata) {
            brect(b, im->otadata.offset, (uint64_t)im->otadata.offset + im->otadata.size, -3, b->h + 6,
                  "fill=\"none\" stroke=\"#00838f\" stroke-width=\"3\"");
        }
    }
    /* labels */
    char a[96], c[64], d[32];
    const char *alts[4];
    alts[0] = "second-stage bootloader";
    alts[1] = "bootloader";
    alts[2] = "boot";
    bool bl_rewritten = false, pt_rewritten = false;
    for (uint32_t k = 0; ok && k < p->count; k++) {
        bl_rewritten |= hits_bootloader(p, &p->img[k]);
        pt_rewritten |= hits_ptable(p, &p->img[k]);
    }
    if (!(kind == MAP_AFTER && bl_rewritten)) {
        blabel(b, p->bootloader_offset, bl_end, b->h / 2 + 4, "lbl", alts, 3);
    }
    if (!(kind == MAP_AFTER && pt_rewritten)) {
        alts[0] = "partition table";
        alts[1] = "ptable";
        alts[2] = "pt";
        blabel(b, p->ptable_offset, (uint64_t)p->ptable_offset + RF_PTABLE_SECTOR, b->h / 2 + 4, "small", alts, 3);
    }
    for (uint32_t k = 0; k < p->table->count; k++) {
        const rf_part_t *pt = &p->table->parts[k];
        bool covered = false;
        for (uint32_t j = 0; ok && j < p->count; j++) {
            const rf_plan_image_t *im = &p->img[j];
            covered |= (kind == MAP_AFTER &&
                        rf_contains(im->dest, rf_align_up(im->dest_size, p->sector_size), pt->offset, pt->size)) ||
                       (im->staging.offset == pt->offset && im->staging.size == pt->size && im->staging.size) ||
                       (im->has_backup && im->backup.offset == pt->offset);
        }
        if (covered) {
            continue;
        }
        const rf_plan_image_t *im0 = ok && p->count ? &p->img[0] : NULL;
        if (kind == MAP_BEFORE && im0 && im0->writes_otadata && pt->offset == im0->otadata.offset) {
            snprintf(a, sizeof a, "%s: switched to %s", pt->label, im0->backup.label);
            snprintf(c, sizeof c, "%s \xe2\x86\x92 %s", pt->label, im0->backup.label);
            alts[0] = a;
            alts[1] = c;
            alts[2] = pt->label;
            blabel(b, pt->offset, (uint64_t)pt->offset + pt->size, b->h / 2 + 4, "lbl", alts, 3);
            continue;
        }
        bool run = pt->offset == p->running.offset && pt->size == p->running.size;
        snprintf(a, sizeof a, "%s%s", pt->label, run ? " (running)" : "");
        snprintf(c, sizeof c, "%s", pt->label);
        alts[0] = a;
        alts[1] = c;
        uint64_t g0 = pt->offset, g1 = (uint64_t)pt->offset + pt->size;
        if (kind == MAP_AFTER && ok) {
            largest_gap(p, &g0, &g1);
        }
        blabel(b, g0, g1, b->h / 2 + 4, "lbl", alts, 2);
    }
    if (!ok) {
        return;
    }
    /* the backup of the running app */
    for (uint32_t k = 0; k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        if (!im->has_backup) {
            continue;
        }
        snprintf(a, sizeof a, "%s: backup of the %s app (0x%x bytes)", im->backup.label,
                 kind == MAP_AFTER ? "old" : "running", (unsigned)im->backup_len);
        snprintf(c, sizeof c, "%s: backup", im->backup.label);
        alts[0] = a;
        alts[1] = c;
        alts[2] = im->backup.label;
        blabel(b, im->backup.offset, (uint64_t)im->backup.offset + im->backup.size, b->h / 2 + 4, "lbl", alts, 3);
    }
    /* staging partitions, labelled once */
    for (uint32_t k = 0; k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        if (im->embedded) {
            continue;
        }
        bool first = true;
        for (uint32_t j = 0; j < k; j++) {
            first &= p->img[j].staging.offset != im->staging.offset;
        }
        if (!first) {
            continue;
        }
        snprintf(a, sizeof a, "%s%s", im->staging.label,
                 kind == MAP_AFTER ? ": staging scratch (holds the last staged image)" : " (staging: content lost)");
        snprintf(c, sizeof c, "%s%s", im->staging.label, kind == MAP_AFTER ? ": staging scratch" : " (staging)");
        alts[0] = a;
        alts[1] = c;
        alts[2] = im->staging.label;
        blabel(b, im->staging.offset, (uint64_t)im->staging.offset + im->staging.size, b->h / 2 + 4, "lbl", alts, 3);
    }
    if (kind != MAP_AFTER) {
        return;
    }
    for (uint32_t k = 0; k < p->count; k++) {
        const rf_plan_image_t *im = &p->img[k];
        uint64_t end = (uint64_t)im->dest + rf_align_up(im->dest_size, p->sector_size);
        uint64_t img_end = im->len >= 0 ? (uint64_t)im->dest + (uint64_t)im->len : end;
        /* labels inside the drawing: a long file name is cut (the steps below the map give it whole) */
        snprintf(a, sizeof a, "%u. %.60s (%s)", (unsigned)k + 1, base_name(im->source), rf_dest_kind_name(im->kind));
        snprintf(c, sizeof c, "%u. %.48s", (unsigned)k + 1, base_name(im->source));
        snprintf(d, sizeof d, "%u", (unsigned)k + 1);
        alts[0] = a;
        alts[1] = c;
        alts[2] = d;
        if (!blabel(b, im->dest, img_end, b->h / 2 + 4, "lbl", alts, 3)) {
            blabel(b, im->dest, end, b->h / 2 + 4, "lbl", alts, 3);
            continue;
        }
        if (img_end < end) {
            /* the tail: erased, and what used to be there */
            char was[200];
            size_t n = 0;
            was[0] = 0;
            if (hits_ptable(p, im) && p->ptable_offset >= img_end) {
                n += (size_t)snprintf(was + n, sizeof was - n, "partition table");
            }
            for (uint32_t o = 0; o < im->overwrites_count && n < sizeof was; o++) {
                const rf_part_t *pt = &p->table->parts[im->overwrites[o]];
                if ((uint64_t)pt->offset + pt->size > img_end) {
                    n += (size_t)snprintf(was + n, sizeof was - n, "%s%s", n ? ", " : "", pt->label);
                }
            }
            char e1[260];
            snprintf(e1, sizeof e1, "erased to 0xFF (was %s)", was);
            alts[0] = was[0] ? e1 : "erased to 0xFF";
            alts[1] = "erased to 0xFF";
            alts[2] = "0xFF";
            blabel(b, img_end, end, b->h / 2 + 4, "small", alts, 3);
        }
    }
    /* the journal's declared area: a purple strip under it */
    if (p->journal_len && visible(b, p->journal_addr, (uint64_t)p->journal_addr + p->journal_len)) {
        double x0 = bx(b, p->journal_addr), x1 = bx(b, (uint64_t)p->journal_addr + p->journal_len);
        if (x1 - x0 < 6) {
            x0 = x1 - 6;
        }
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"6\" fill=\"#7030a0\"><title>journal "
                "0x%x..0x%x</title></rect>\n", x0, b->y + b->h + 3, x1 - x0, (unsigned)p->journal_addr,
                (unsigned)(p->journal_addr + p->journal_len));
    }
    /* the bootloader window: a red strip under the bootloader's sectors */
    if (p->window_image >= 0) {
        const rf_plan_image_t *im = &p->img[p->window_image];
        uint64_t len = im->len > 0 ? (uint64_t)im->len : im->dest_size;
        uint64_t w_end = (uint64_t)im->dest + rf_align_up((uint32_t)len, p->sector_size);
        uint64_t w0 = im->dest > p->bootloader_offset ? im->dest : p->bootloader_offset;
        if (p->no_backup_window) {   /* the whole copy: the whole destination */
            w0 = im->dest;
            w_end = (uint64_t)im->dest + rf_align_up(im->dest_size, p->sector_size);
        } else if (im->embedded && p->ptable_offset > p->bootloader_offset && w_end > p->ptable_offset) {
            w_end = p->ptable_offset;   /* an embedded copy writes the bootloader's sectors last */
        }
        if (visible(b, w0, w_end)) {
            double x0 = bx(b, w0), x1 = bx(b, w_end);
            if (x1 - x0 < 6) {
                x1 = x0 + 6;
            }
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"6\" fill=\"#c00000\"/>\n", x0,
                    b->y + b->h + 3, x1 - x0);
        }
    }
}

static int write_svg(const view_t *v, const char *path, bool ok, const char *errmsg)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "reflasher plan: cannot write %s\n", path);
        return 2;
    }
    const rf_plan_t *p = v->plan;
    /* zoom on the boot area: up to the first partition at or past 64 KiB */
    uint32_t zoom = 0x10000;
    for (uint32_t k = 0; k < p->table->count; k++) {
        const rf_part_t *pt = &p->table->parts[k];
        if (pt->type == RF_PART_TYPE_APP) {
            zoom = pt->offset;
            break;
        }
    }
    if (zoom < p->ptable_offset + RF_PTABLE_SECTOR) {
        zoom = p->ptable_offset + RF_PTABLE_SECTOR;
    }
    if (zoom > p->flash_size) {
        zoom = p->flash_size;
    }

    const double sec_h = 205;   /* one map: header, full bar, trapezoid, zoom bar, axes */
    const double top = ok ? 70 : 86;
    const rf_plan_image_t *em = ok && v->x->embedded && p->count ? &p->img[0] : NULL;
    uint32_t nsteps = em != NULL ? (em->has_backup ? (em->writes_otadata ? 3u : 2u) : 1u) : ok ? p->count : 0;
    double legend_y = top + (ok ? 2 : 1) * sec_h + 10;
    double steps_y = legend_y + 60;
    double H = ok ? steps_y + 22 + 18.0 * (nsteps + 1) + 4 : legend_y + 30;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\">\n",
            SVG_W, H, SVG_W, H);
    svg_defs(f);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%.0f\" fill=\"#ffffff\"/>\n", SVG_W, H);

    /* title */
    char fs[32];
    size_str(p->flash_size, fs, sizeof fs);
    fprintf(f, "<text class=\"title\" x=\"20\" y=\"28\">reflasher plan: ");
    xesc(f, v->device);
    fprintf(f, " (%s, %s flash, running '", chip_label(p->chip_id), fs);
    xesc(f, p->running.label);
    fprintf(f, "')</text>\n");
    if (em != NULL && p->no_backup_window) {
        fprintf(f,
                "<text class=\"sub warn\" x=\"20\" y=\"50\">embedded image at 0x%x; NO BACKUP (no OTA partition holds "
                "0x%x bytes): no bootable system for the whole copy, &#8776; %.0f ms</text>\n",
                (unsigned)v->x->at, (unsigned)em->backup_len, us_ms(p->window_us));
    } else if (em != NULL) {
        fprintf(f,
                "<text class=\"sub\" x=\"20\" y=\"50\">embedded image at 0x%x; %s'%s'; estimated device time %.2f s; "
                "bootloader window %.0f ms; nothing written yet</text>\n",
                (unsigned)v->x->at, em->has_backup ? "running app backed up to " : "the running partition is not "
                "overwritten: no backup; running ", em->has_backup ? em->backup.label : p->running.label,
                us_ms(p->est_total_us) / 1000.0, us_ms(p->window_us));
    } else if (ok) {
        fprintf(f,
                "<text class=\"sub\" x=\"20\" y=\"50\">%u image%s; estimated device time %.2f s; bootloader window "
                "%.0f ms%s; nothing written yet</text>\n",
                (unsigned)p->count, p->count == 1 ? "" : "s", us_ms(p->est_total_us) / 1000.0, us_ms(p->window_us),
                p->reordered ? "; reordered: boot-critical images last" : "");
    } else {
        const rf_cli_plan_extra_t *x = v->x;
        fprintf(f, "<text class=\"sub warn\" x=\"20\" y=\"50\">REFUSED: ");
        xesc(f, x->rule_name ? x->rule_name : "ERROR");
        fprintf(f, ": ");
        xesc(f, x->rule_name ? x->rule_text : errmsg);
        fprintf(f, "</text>\n<text class=\"sub\" x=\"20\" y=\"68\">");
        if (x->detail[0]) {
            xesc(f, x->detail);
            fprintf(f, " ");
        }
        if (x->bad_input >= 0) {
            fprintf(f, "(image %d: ", x->bad_input + 1);
            xesc(f, v->imgs[x->bad_input].source);
            fprintf(f, ")");
        }
        fprintf(f, "; red hatch: the requested destinations; nothing will be written</text>\n");
    }

    for (int m = 0; m < (ok ? 2 : 1); m++) {
        map_kind_t kind = m == 0 ? MAP_BEFORE : MAP_AFTER;
        double y0 = top + m * sec_h;
        bar_t full = { .f = f, .y = y0 + 26, .h = BAR_H, .base = 0, .span = p->flash_size };
        bar_t zb = { .f = f, .y = y0 + 26 + BAR_H + 52, .h = BAR_H, .base = 0, .span = zoom };
        fprintf(f, "<text class=\"row\" x=\"20\" y=\"%.2f\">%s</text>\n", full.y + 20,
                kind == MAP_BEFORE ? "BEFORE" : "AFTER");
        fprintf(f, "<text class=\"rowsub\" x=\"20\" y=\"%.2f\">whole flash</text>\n", full.y + 36);
        fprintf(f, "<text class=\"row\" x=\"20\" y=\"%.2f\">%s</text>\n", zb.y + 20, "boot area");
        fprintf(f, "<text class=\"rowsub\" x=\"20\" y=\"%.2f\">0x0..0x%x (zoom)</text>\n", zb.y + 36,
                (unsigned)zoom);
        /* the trapezoid from the boot area of the full bar to the zoom bar */
        fprintf(f,
                "<path d=\"M %.2f %.2f L %.2f %.2f L %.2f %.2f L %.2f %.2f Z\" fill=\"#eef3fb\" stroke=\"#9aa9c2\" "
                "stroke-dasharray=\"4,3\"/>\n",
                bx(&full, 0), full.y + full.h, bx(&full, zoom), full.y + full.h, (double)SVG_L + SVG_BW, zb.y - 16,
                (double)SVG_L, zb.y - 16);
        axis(&full, 8);
        draw_bar_content(v, &full, kind, ok);
        axis(&zb, 16);
        draw_bar_content(v, &zb, kind, ok);
        if (kind == MAP_AFTER && p->no_backup_window) {
            const rf_plan_image_t *im = &p->img[p->window_image];
            fprintf(f, "<text class=\"warn\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"start\">", bx(&zb, im->dest),
                    zb.y + zb.h + 24);
            fprintf(f, "&#9650; window &#8776; %.0f ms: the whole copy (step %d; no backup of the running app, so "
                       "no bootable system until the copy ends)</text>\n",
                    us_ms(p->window_us), (int)p->window_image + 1);
        } else if (kind == MAP_AFTER && em != NULL && p->window_image >= 0) {
            const rf_plan_image_t *im = &p->img[p->window_image];
            fprintf(f, "<text class=\"warn\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"start\">", bx(&zb, im->dest),
                    zb.y + zb.h + 24);
            fprintf(f, "&#9650; bootloader window &#8776; %.0f ms (0x%x..0x%x, written last: until then the old "
                       "bootloader boots the backup in '",
                    us_ms(p->window_us), (unsigned)(im->dest > p->bootloader_offset ? im->dest : p->bootloader_offset),
                    (unsigned)p->ptable_offset);
            xesc(f, im->backup.label);
            fprintf(f, "')</text>\n");
        } else if (kind == MAP_AFTER && p->window_image >= 0) {
            const rf_plan_image_t *im = &p->img[p->window_image];
            fprintf(f, "<text class=\"warn\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"start\">", bx(&zb, im->dest),
                    zb.y + zb.h + 24);
            fprintf(f, "&#9650; bootloader window &#8776; %.0f ms (step %d: from the first erase of 0x%x until the new "
                       "bootloader is fully programmed)</text>\n",
                    us_ms(p->window_us), (int)p->window_image + 1, (unsigned)p->bootloader_offset);
        }
        if (kind == MAP_BEFORE && ok) {
            /* what gets destroyed, in words, under the zoom bar */
            char line[600];
            size_t n = 0;
            line[0] = 0;
            for (uint32_t k = 0; k < p->count; k++) {
                const rf_plan_image_t *im = &p->img[k];
                if (hits_bootloader(p, im)) {
                    n += (size_t)snprintf(line + n, sizeof line - n, "%sbootloader", n ? ", " : "");
                }
                if (hits_ptable(p, im) && n < sizeof line) {
                    n += (size_t)snprintf(line + n, sizeof line - n, "%spartition table", n ? ", " : "");
                }
                for (uint32_t o = 0; o < im->overwrites_count && n < sizeof line; o++) {
                    n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", n ? ", " : "",
                                          p->table->parts[im->overwrites[o]].label);
                }
            }
            fprintf(f, "<text class=\"warn\" x=\"%d\" y=\"%.2f\">destroyed (red hatch): ", SVG_L, zb.y + zb.h + 20);
            xesc(f, line);
            n = 0;
            line[0] = 0;
            for (uint32_t k = 0; k < p->count; k++) {
                bool first = true;
                for (uint32_t j = 0; j < k; j++) {
                    first &= p->img[j].staging.offset != p->img[k].staging.offset;
                }
                if (first && n < sizeof line) {
                    n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", n ? ", " : "", p->img[k].staging.label);
                }
            }
            if (em != NULL && em->has_backup) {
                fprintf(f, "</text>\n<text class=\"warn\" x=\"%d\" y=\"%.2f\">first, a backup of the running app "
                           "(teal hatch; old content lost): ", SVG_L, zb.y + zb.h + 36);
                xesc(f, em->backup.label);
                fprintf(f, " 0x%x..0x%x", (unsigned)em->backup.offset, (unsigned)(em->backup.offset + em->backup_len));
                if (em->writes_otadata) {
                    fprintf(f, "; then otadata (teal frame) selects it");
                }
            } else if (em != NULL && em->over_running) {
                fprintf(f, "</text>\n<text class=\"warn\" x=\"%d\" y=\"%.2f\">no backup: no OTA partition can hold "
                           "the running app (0x%x bytes), so the whole copy is a window", SVG_L, zb.y + zb.h + 36,
                        (unsigned)em->backup_len);
            } else if (em == NULL) {
                fprintf(f, "; used as staging, content lost (orange): ");
                xesc(f, line);
            }
            fprintf(f, "</text>\n");
        }
    }

    /* legend */
    static const struct {
        const char *fill, *stroke, *text;
    } k_leg[] = {
        { "#c9c9c9", "#777", "bootloader" },      { "#d5a6e6", "#777", "partition table" },
        { "#9fc5e8", "#777", "app partition" },   { "#b6d7a8", "#777", "data partition" },
        { "#f4f4f4", "#bbb", "free" },            { "url(#hatch)", "#d62728", "destroyed" },
        { "url(#stage)", "#e69138", "staging" },  { "#45b39d", "#1b7f6b", "new image" },
        { "#d0f0ea", "#1b7f6b", "erased (0xFF)" },
    };
    double lx = 20;
    for (size_t i = 0; i < sizeof k_leg / sizeof k_leg[0]; i++) {
        if (em != NULL && strcmp(k_leg[i].text, "staging") == 0) {
            continue;   /* an embedded copy stages nothing */
        }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"14\" fill=\"%s\" stroke=\"%s\"/>\n", lx,
                legend_y, k_leg[i].fill, k_leg[i].stroke);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx + 23, legend_y + 11.5, k_leg[i].text);
        lx += 23 + strlen(k_leg[i].text) * FONT_W + 16;
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"14\" fill=\"#9fc5e8\" stroke=\"#1f4e79\" "
               "stroke-width=\"2.5\"/>\n",
            lx, legend_y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">running</text>\n", lx + 23, legend_y + 11.5);
    lx += 23 + 7 * FONT_W + 16;
    /* second legend row: the backup, the strips under the bars */
    double ly2 = legend_y + 24, lx2 = 20;
    if (em != NULL && em->has_backup) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"14\" fill=\"url(#backup)\" "
                   "stroke=\"#00838f\"/>\n", lx2, ly2);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">backup of the running app (declared)</text>\n", lx2 + 23, ly2 + 11.5);
        lx2 += 23 + 36 * FONT_W + 16;
    }
    if (ok && p->window_image >= 0) {
        const char *wt = p->no_backup_window ? "window: the whole copy (no backup)" : "bootloader window";
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"6\" fill=\"#c00000\"/>\n", lx2, ly2 + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx2 + 23, ly2 + 11.5, wt);
        lx2 += 23 + strlen(wt) * FONT_W + 16;
    }
    if (ok && p->journal_len) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"6\" fill=\"#7030a0\"/>\n", lx2, ly2 + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">journal 0x%x..0x%x (declared)</text>\n", lx2 + 23, ly2 + 11.5,
                (unsigned)p->journal_addr, (unsigned)(p->journal_addr + p->journal_len));
    }

    /* steps */
    if (em != NULL) {
        const rf_cli_plan_image_t *ci = &v->x->img[0];
        uint32_t k = 0;
        uint32_t src = v->x->at;
        fprintf(f, "<text class=\"row\" x=\"20\" y=\"%.1f\">Steps (execution order)</text>\n", steps_y);
        if (em->has_backup) {
            src = em->backup.offset + (v->x->at - p->running.offset);
            fprintf(f, "<text class=\"step\" x=\"30\" y=\"%.1f\">%u. back up the running app '", steps_y + 22 + 18.0 * k,
                    (unsigned)k + 1);
            xesc(f, p->running.label);
            fprintf(f, "' (0x%x bytes) &#8594; '", (unsigned)em->backup_len);
            xesc(f, em->backup.label);
            fprintf(f, "' 0x%x..0x%x, read back and re-hashed: %.0f ms</text>\n", (unsigned)em->backup.offset,
                    (unsigned)(em->backup.offset + em->backup_len),
                    us_ms(em->est_backup_us - (em->writes_otadata ? p->cost.sector_erase_us + p->cost.page_program_us
                                                                   : 0)));
            k++;
            if (em->writes_otadata) {
                fprintf(f, "<text class=\"step\" x=\"30\" y=\"%.1f\">%u. otadata 0x%x..0x%x switched to select '",
                        steps_y + 22 + 18.0 * k, (unsigned)k + 1, (unsigned)em->otadata.offset,
                        (unsigned)(em->otadata.offset + em->otadata.size));
                xesc(f, em->backup.label);
                fprintf(f, "': the old bootloader now boots the backup: %.0f ms</text>\n",
                        us_ms(p->cost.sector_erase_us + p->cost.page_program_us));
                k++;
            }
        }
        fprintf(f, "<text class=\"step%s\" x=\"30\" y=\"%.1f\">%u. ", p->no_backup_window ? " warn" : "",
                steps_y + 22 + 18.0 * k, (unsigned)k + 1);
        xesc(f, base_name(em->source));
        fprintf(f, " (%zu bytes, embedded) from 0x%x &#8594; 0x%x..0x%x %s, %s: copy %.0f ms</text>\n", ci->len,
                (unsigned)src, (unsigned)em->dest, (unsigned)region_end(em, p->sector_size),
                rf_dest_kind_name(em->kind),
                p->no_backup_window ? "in place, no backup: the whole copy is a window"
                                    : "the bootloader's sectors last",
                us_ms(em->est_copy_us));
        k++;
        fprintf(f, "<text class=\"step\" x=\"30\" y=\"%.1f\">total %.0f ms; %s %.0f ms</text>\n",
                steps_y + 22 + 18.0 * k, us_ms(p->est_total_us),
                p->no_backup_window ? "window (the whole copy)" : "bootloader window", us_ms(p->window_us));
    } else if (ok) {
        fprintf(f, "<text class=\"row\" x=\"20\" y=\"%.1f\">Steps (execution order)</text>\n", steps_y);
        for (uint32_t k = 0; k < p->count; k++) {
            const rf_plan_image_t *im = &p->img[k];
            const rf_cli_plan_image_t *ci = &v->x->img[im->input_index];
            char len[48];
            if (ci->fetched) {
                snprintf(len, sizeof len, "%zu bytes", ci->len);
            } else {
                snprintf(len, sizeof len, "length unknown");
            }
            fprintf(f, "<text class=\"step\" x=\"30\" y=\"%.1f\">%u. image %u, ", steps_y + 22 + 18.0 * k,
                    (unsigned)k + 1, (unsigned)im->input_index + 1);
            xesc(f, base_name(im->source));
            fprintf(f, " (%s) &#8594; 0x%x..0x%x %s via staging '", len, (unsigned)im->dest,
                    (unsigned)region_end(im, p->sector_size), rf_dest_kind_name(im->kind));
            xesc(f, im->staging.label);
            fprintf(f, "': download %.0f + staging %.0f + copy %.0f = %.0f ms</text>\n", us_ms(im->est_download_us),
                    us_ms(im->est_stage_us), us_ms(im->est_copy_us),
                    us_ms(im->est_download_us + im->est_stage_us + im->est_copy_us));
        }
        fprintf(f, "<text class=\"step\" x=\"30\" y=\"%.1f\">total %.0f ms; bootloader window %.0f ms</text>\n",
                steps_y + 22 + 18.0 * p->count, us_ms(p->est_total_us), us_ms(p->window_us));
    }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "reflasher plan: cannot write %s\n", path);
        return 2;
    }
    return 0;
}

/* ---- command --------------------------------------------------------------- */

int cmd_plan(int argc, char **argv)
{
    const char *device = NULL, *svg = NULL;
    bool json = false, fetch = true, embedded = false, require_backup = false, have_at = false;
    uint32_t at = 0x14294;   /* where the reference's embedded example has its image (as migrate) */
    rf_image_arg_t *imgs = calloc(MAX_ARGS, sizeof *imgs);
    int n = 0, rc = 2;
    char err[1024];
    if (imgs == NULL) {
        return 2;
    }
    rf_migration_args_t m;
    rf_migration_args_init(&m, imgs, MAX_ARGS);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--no-fetch") == 0) {
            fetch = false;
            continue;
        }
        if (strcmp(a, "--require-backup") == 0) {
            require_backup = true;
            continue;
        }
        if (rf_migration_flag(&m, a)) {
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            free(imgs);
            return 0;
        }
        const char *val = i + 1 < argc ? argv[++i] : NULL;
        if (val == NULL) {
            goto out_usage;
        }
        int r = rf_migration_arg(&m, "reflasher plan", a, val);
        if (r < 0) {
            if (strcmp(a, "--at") == 0) {
                goto out_usage;
            }
            goto out;
        }
        if (r == 0 && strcmp(a, "--svg") == 0) {
            svg = val;
        } else if (r == 0) {
            goto out_usage;
        }
    }
    device = m.device;
    n = m.n;
    embedded = m.embedded;
    at = m.at;
    have_at = m.at_given;
    if (device == NULL || n == 0) {
        goto out_usage;
    }
    if (embedded && n != 1) {
        fprintf(stderr, "reflasher plan: --embedded takes exactly one image, without --image\n");
        goto out_usage;
    }
    if (!embedded && (have_at || require_backup)) {
        fprintf(stderr, "reflasher plan: --at and --require-backup go with --embedded\n");
        goto out_usage;
    }
    if (embedded && !fetch) {
        fprintf(stderr, "reflasher plan: --no-fetch does not apply to --embedded (the file is read locally)\n");
        goto out_usage;
    }
    if (!rf_migration_check_http(&m, "reflasher plan")) {
        goto out;
    }
    rf_device_t dev;
    if (rf_device_open(device, &dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "reflasher plan: %s\n", err);
        goto out;
    }
    rf_plan_t *plan = calloc(1, sizeof *plan);
    rf_cli_plan_extra_t *x = calloc(1, sizeof *x);
    if (plan == NULL || x == NULL) {
        free(plan);
        free(x);
        rf_device_close(&dev);
        goto out;
    }
    int r = embedded ? rf_cli_build_embedded_plan(&dev, &imgs[0], at, plan, x, err, sizeof err)
                     : rf_cli_build_plan(&dev, imgs, n, fetch, plan, x, err, sizeof err);
    view_t v = { .device = device, .plan = plan, .x = x, .dev = &dev, .imgs = imgs };
    if (r == 0 && plan->no_backup_window) {
        const rf_plan_image_t *im = &plan->img[0];
        snprintf(err, sizeof err,
                 "no OTA partition can hold a backup of the running app (%u bytes): the device has no bootable "
                 "system for the whole copy, about %.1f ms", (unsigned)im->backup_len, us_ms(plan->window_us));
        v.no_backup_refused = require_backup;
        if (json) {
            fprintf(stderr, "warning: %s\n", err);
        }
    }
    if (r == 2) {
        fprintf(stderr, "reflasher plan: %s\n", err);
        rc = 2;
    } else {
        bool ok = r == 0, printed = true;
        if (json) {
            printed = print_json(&v, ok, err);
        } else if (ok) {
            print_text(&v);
        }
        if (!ok) {
            fprintf(stderr, "refused: %s\n", err);
        }
        rc = !printed ? 2 : ok ? 0 : 1;
        if (ok && v.no_backup_refused) {
            fprintf(stderr, "refused: %s: %s (--require-backup)\n", RULE_NO_BACKUP, err);
            rc = 1;
        }
        if (svg != NULL && plan->table != NULL) {
            int s = write_svg(&v, svg, ok, err);
            if (s != 0 && rc == 0) {
                rc = s;
            }
        }
    }
    rf_cli_plan_extra_free(x);
    free(x);
    free(plan);
    rf_device_close(&dev);
    goto out;
out_usage:
    rc = usage();
out:
    free(imgs);
    return rc;
}
