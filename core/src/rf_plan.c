/* Plan validation (see rf_plan.h). */
#include "rf_plan.h"
#include "rf_otadata.h"
#include "rf_region.h"

#define DEF_SE_US 37000u
#define DEF_BE_US 46000u
#define DEF_PP_US 880u
#define DEF_READ_BPS 20000000u
#define DEF_NET_BPS 295000u

static const struct {
    const char *name;
    const char *text;
} k_rules[RF_RULE__COUNT] = {
    [RF_RULE_OK] = { "OK", "the plan is valid" },
    [RF_RULE_TOO_MANY_IMAGES] = { "TOO_MANY_IMAGES", "more images than a plan can hold" },
    [RF_RULE_DEST_EMPTY] = { "DEST_EMPTY", "the destination region is empty" },
    [RF_RULE_DEST_ALIGN] = { "DEST_ALIGN", "the destination does not start on a flash sector boundary" },
    [RF_RULE_DEST_OUTSIDE_FLASH] = { "DEST_OUTSIDE_FLASH", "the destination does not lie inside the flash" },
    [RF_RULE_DEST_OVERLAPS_RUNNING] = { "DEST_OVERLAPS_RUNNING",
                                        "the destination overlaps the running partition (download mode)" },
    [RF_RULE_DEST_OVERLAPS_DEST] = { "DEST_OVERLAPS_DEST", "two destinations overlap" },
    [RF_RULE_IMAGE_EMPTY] = { "IMAGE_EMPTY", "the image is empty" },
    [RF_RULE_IMAGE_TOO_LARGE] = { "IMAGE_TOO_LARGE", "the image is larger than its destination region" },
    [RF_RULE_NO_STAGING] = { "NO_STAGING",
                             "no OTA app partition can stage the image without overlapping a destination or the "
                             "running partition" },
    [RF_RULE_STAGING_TOO_SMALL] = { "STAGING_TOO_SMALL", "the image is larger than its staging partition" },
    [RF_RULE_STAGING_CONFLICT] = { "STAGING_CONFLICT",
                                   "the staging partition overlaps a destination or the running partition" },
};

const char *rf_plan_rule_str(rf_plan_rule_t r)
{
    return (unsigned)r < RF_RULE__COUNT ? k_rules[r].text : "?";
}

const char *rf_plan_rule_name(rf_plan_rule_t r)
{
    return (unsigned)r < RF_RULE__COUNT ? k_rules[r].name : "?";
}

const char *rf_dest_kind_name(rf_dest_kind_t k)
{
    switch (k) {
    case RF_DEST_BOOTLOADER: return "bootloader";
    case RF_DEST_APP_SLOT: return "app-slot";
    case RF_DEST_MCUBOOT_SLOT: return "mcuboot-slot";
    case RF_DEST_ESP_APP: return "esp-app";
    default: return "raw";
    }
}

static bool is_ota_app(const rf_part_t *p)
{
    return p->type == RF_PART_TYPE_APP && p->subtype >= RF_PART_SUBTYPE_OTA_MIN && p->subtype <= RF_PART_SUBTYPE_OTA_MAX;
}

bool rf_span_overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    return rf_overlaps(a, as, b, bs);
}

static bool part_overlaps(const rf_part_t *p, uint32_t off, uint32_t size)
{
    return rf_span_overlaps(p->offset, p->size, off, size);
}

/* Clear of the destination, of the running partition and of the `avoid`
 * ranges (start, size pairs): what staging and backup partitions must be. */
static bool clear_of(const rf_part_t *p, const rf_part_t *running, uint32_t dest, uint32_t dest_size,
                     const uint32_t *avoid, uint32_t n)
{
    if (part_overlaps(p, dest, dest_size) || part_overlaps(p, running->offset, running->size)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (part_overlaps(p, avoid[2 * i], avoid[2 * i + 1])) {
            return false;
        }
    }
    return true;
}

/* The first OTA app partition (after the running one when after_running, wrapping) of at least
 * `need` bytes that is clear_of() the rest: the staging and the backup rules. */
static esp_err_t pick(const rf_ptable_t *t, bool after_running, const rf_part_t *running, uint32_t need, uint32_t dest,
                      uint32_t dest_size, const uint32_t *avoid, uint32_t n_avoid, rf_part_t *out)
{
    uint32_t n = t ? t->count : 0, start = 0;
    for (uint32_t i = 0; after_running && i < n; i++) {
        if (t->parts[i].offset == running->offset) {
            start = i + 1;
        }
    }
    for (uint32_t j = 0; j < n; j++) {
        const rf_part_t *p = &t->parts[(start + j) % n];
        if (is_ota_app(p) && p->size >= need && clear_of(p, running, dest, dest_size, avoid, n_avoid)) {
            *out = *p;
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

bool rf_choose_direct(const rf_ptable_t *t, const rf_part_t *running, uint32_t dest, uint32_t dest_size,
                      const uint32_t *boot_path, int32_t boot_path_count, rf_part_t *out)
{
    if (t == NULL || boot_path_count < 0 || dest_size == 0) {
        return false;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (!is_ota_app(p) || !rf_contains(p->offset, p->size, dest, dest_size)) {
            continue;
        }
        if (part_overlaps(p, running->offset, running->size)) {
            return false;
        }
        for (int32_t k = 0; k < boot_path_count; k++) {
            if (part_overlaps(p, boot_path[k], 1)) {   /* boots or tries an app in it */
                return false;
            }
        }
        *out = *p;
        out->offset = dest;
        out->size = dest_size;
        return true;
    }
    return false;
}

esp_err_t rf_choose_staging(const rf_ptable_t *t, const rf_part_t *running, const rf_part_t *forced, uint32_t dest,
                            uint32_t dest_size, const uint32_t *avoid, uint32_t avoid_count, rf_part_t *out,
                            rf_plan_rule_t *rule)
{
    *rule = RF_RULE_OK;
    if (forced != NULL) {
        if (!clear_of(forced, running, dest, dest_size, avoid, avoid_count)) {
            *rule = RF_RULE_STAGING_CONFLICT;
            return ESP_ERR_INVALID_ARG;
        }
        *out = *forced;
        return ESP_OK;
    }
    esp_err_t err = pick(t, true, running, 0, dest, dest_size, avoid, avoid_count, out);
    if (err != ESP_OK) {
        *rule = RF_RULE_NO_STAGING;
    }
    return err;
}

esp_err_t rf_choose_backup(const rf_ptable_t *t, const rf_part_t *running, uint32_t need, uint32_t dest,
                           uint32_t dest_size, rf_part_t *out)
{
    return pick(t, false, running, need, dest, dest_size, NULL, 0, out);
}

/* The otadata partition the library's otadata_select() would switch: the
 * last data/ota partition, with room for its two sectors. */
static const rf_part_t *find_otadata(const rf_ptable_t *t)
{
    const rf_part_t *od = NULL;
    for (uint32_t i = 0; t != NULL && i < t->count; i++) {
        if (t->parts[i].type == RF_PART_TYPE_DATA && t->parts[i].subtype == RF_PART_SUBTYPE_DATA_OTA) {
            od = &t->parts[i];
        }
    }
    return od != NULL && od->size >= 2u * RF_OTADATA_SECTOR ? od : NULL;
}

static esp_err_t fail(rf_plan_t *p, rf_plan_rule_t rule, int32_t bad, int32_t other, esp_err_t err)
{
    p->rule = rule;
    p->bad = bad;
    p->other = other;
    return err;
}

static uint32_t div_up(uint64_t a, uint32_t b)
{
    return (uint32_t)((a + b - 1) / b);
}

static rf_dest_kind_t derive_kind(const rf_plan_t *p, const rf_plan_image_t *im)
{
    if (im->kind != RF_DEST_RAW) {
        return im->kind;
    }
    if (im->dest == p->bootloader_offset) {
        return RF_DEST_BOOTLOADER;
    }
    for (uint32_t i = 0; p->table && i < p->table->count; i++) {
        if (p->table->parts[i].type == RF_PART_TYPE_APP && p->table->parts[i].offset == im->dest) {
            return RF_DEST_APP_SLOT;
        }
    }
    return RF_DEST_RAW;
}

/* Estimated cost of writing `len` bytes into a region of `size` bytes at
 * `addr` that may hold old data everywhere: erase what the image and the
 * region's tail need (blocks where aligned), program every page of the image. */
static uint64_t est_write_us(const rf_plan_t *p, uint32_t addr, uint32_t size, uint64_t len, uint32_t data_pages)
{
    const rf_plan_cost_t *c = &p->cost;
    uint64_t us = 0;
    uint32_t end = addr + rf_align_up(size, p->sector_size);
    for (uint32_t a = addr; a < end;) {
        if (p->block_size && a % p->block_size == 0 && (uint64_t)a + p->block_size <= end) {
            us += c->block_erase_us;
            a += p->block_size;
        } else {
            us += c->sector_erase_us;
            a += p->sector_size;
        }
    }
    us += (uint64_t)(data_pages ? data_pages : div_up(len, p->page_size)) * c->page_program_us;
    us += (uint64_t)size * 2u * 1000000u / c->read_bytes_per_s; /* compare + read back */
    return us;
}

esp_err_t rf_plan_validate(rf_plan_t *p)
{
    p->rule = RF_RULE_OK;
    p->bad = p->other = p->window_image = -1;
    p->reordered = false;
    p->est_total_us = p->window_us = 0;
    if (p->count > RF_PLAN_MAX_IMAGES) {
        return fail(p, RF_RULE_TOO_MANY_IMAGES, -1, -1, ESP_ERR_INVALID_ARG);
    }
    if (p->sector_size == 0) {
        p->sector_size = 4096;
    }
    if (p->page_size == 0) {
        p->page_size = 256;
    }
    rf_plan_cost_t *c = &p->cost;
    c->sector_erase_us = c->sector_erase_us ? c->sector_erase_us : DEF_SE_US;
    c->block_erase_us = c->block_erase_us ? c->block_erase_us : DEF_BE_US;
    c->page_program_us = c->page_program_us ? c->page_program_us : DEF_PP_US;
    c->read_bytes_per_s = c->read_bytes_per_s ? c->read_bytes_per_s : DEF_READ_BPS;
    c->net_bytes_per_s = c->net_bytes_per_s ? c->net_bytes_per_s : DEF_NET_BPS;

    /* Order: images that leave the old boot chain intact first, then those
     * touching the bootloader or partition-table sectors (stable sort). */
    uint32_t crit_end = p->ptable_offset ? p->ptable_offset + RF_PTABLE_MAX_LEN : p->bootloader_offset + 0x1000;
    if (crit_end <= p->bootloader_offset) {
        crit_end = p->bootloader_offset + 0x1000;
    }
    for (uint32_t i = 0; i < p->count; i++) {
        rf_plan_image_t *im = &p->img[i];
        im->input_index = i;
        im->boot_critical = rf_overlaps(im->dest, im->dest_size, p->bootloader_offset,
                                        crit_end - p->bootloader_offset);
    }
    for (uint32_t i = 1; i < p->count; i++) {
        for (uint32_t j = i; j > 0 && p->img[j - 1].boot_critical && !p->img[j].boot_critical; j--) {
            rf_plan_image_t tmp = p->img[j - 1];
            p->img[j - 1] = p->img[j];
            p->img[j] = tmp;
            p->reordered = true;
        }
    }

    for (uint32_t i = 0; i < p->count; i++) {
        rf_plan_image_t *im = &p->img[i];
        const int32_t b = (int32_t)i;
        if (im->dest_size == 0) {
            return fail(p, RF_RULE_DEST_EMPTY, b, -1, ESP_ERR_INVALID_ARG);
        }
        if (!rf_is_aligned(im->dest, p->sector_size)) {
            return fail(p, RF_RULE_DEST_ALIGN, b, -1, ESP_ERR_INVALID_ARG);
        }
        uint32_t dsize = rf_align_up(im->dest_size, p->sector_size);
        if ((uint64_t)im->dest + dsize > p->flash_size) {
            return fail(p, RF_RULE_DEST_OUTSIDE_FLASH, b, -1, ESP_ERR_INVALID_ARG);
        }
        if (!im->embedded && rf_overlaps(im->dest, dsize, p->running.offset, p->running.size)) {
            return fail(p, RF_RULE_DEST_OVERLAPS_RUNNING, b, -1, ESP_ERR_INVALID_ARG);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (rf_overlaps(im->dest, dsize, p->img[j].dest, rf_align_up(p->img[j].dest_size, p->sector_size))) {
                return fail(p, RF_RULE_DEST_OVERLAPS_DEST, b, (int32_t)j, ESP_ERR_INVALID_ARG);
            }
        }
        if (im->len == 0) {
            return fail(p, RF_RULE_IMAGE_EMPTY, b, -1, ESP_ERR_INVALID_SIZE);
        }
        if (im->len > 0 && (uint64_t)im->len > im->dest_size) {
            return fail(p, RF_RULE_IMAGE_TOO_LARGE, b, -1, ESP_ERR_INVALID_SIZE);
        }
        im->kind = derive_kind(p, im);
        im->overwrites_count = 0;
        for (uint32_t k = 0; p->table && k < p->table->count; k++) {
            const rf_part_t *pt = &p->table->parts[k];
            if (rf_overlaps(im->dest, dsize, pt->offset, pt->size) && im->overwrites_count < RF_PLAN_MAX_OVERWRITES) {
                im->overwrites[im->overwrites_count++] = k;
            }
        }
        uint64_t len = im->len > 0 ? (uint64_t)im->len : im->dest_size;
        im->est_download_us = im->est_stage_us = 0;
        im->direct = !im->embedded && p->forced_staging == NULL && p->boot_path_known &&
                     rf_choose_direct(p->table, &p->running, im->dest, dsize, p->boot_path, p->boot_path_count,
                                      &im->staging);
        if (im->direct) {
            /* Straight into the destination, verified there: the copy
             * only checks the rest of the region is blank. */
            im->est_download_us = len * 1000000u / c->net_bytes_per_s;
            im->est_stage_us = est_write_us(p, im->dest, im->dest_size, len, im->data_pages);
        } else if (!im->embedded) {
            /* Staging: clear of every destination written before this one;
             * prefer one clear of all destinations. */
            uint32_t avoid[2 * RF_PLAN_MAX_IMAGES + 4];
            uint32_t n = 0;
            for (uint32_t k = 0; p->keep != 0 && k < p->keep_count && k < 2; k++, n++) {
                avoid[2 * n] = p->keep[2 * k];
                avoid[2 * n + 1] = p->keep[2 * k + 1];
            }
            const uint32_t n_keep = n;
            for (uint32_t j = 0; j < p->count; j++) {
                if (j != i) {
                    avoid[2 * n] = p->img[j].dest;
                    avoid[2 * n + 1] = rf_align_up(p->img[j].dest_size, p->sector_size);
                    n++;
                }
            }
            rf_plan_rule_t rule;
            esp_err_t err = rf_choose_staging(p->table, &p->running, p->forced_staging, im->dest, dsize, avoid, n,
                                              &im->staging, &rule);
            if (err != ESP_OK) {
                /* only the destinations already written must be avoided */
                n = n_keep;
                for (uint32_t j = 0; j < i; j++) {
                    avoid[2 * n] = p->img[j].dest;
                    avoid[2 * n + 1] = rf_align_up(p->img[j].dest_size, p->sector_size);
                    n++;
                }
                err = rf_choose_staging(p->table, &p->running, p->forced_staging, im->dest, dsize, avoid, n,
                                        &im->staging, &rule);
            }
            if (err != ESP_OK) {
                return fail(p, rule, b, -1, err);
            }
            if (im->len > 0 && (uint64_t)im->len > im->staging.size) {
                return fail(p, RF_RULE_STAGING_TOO_SMALL, b, -1, ESP_ERR_INVALID_SIZE);
            }
            im->est_download_us = len * 1000000u / c->net_bytes_per_s;
            im->est_stage_us = est_write_us(p, im->staging.offset, (uint32_t)len, len, im->data_pages);
        }
        im->est_copy_us = im->direct ? 0 : est_write_us(p, im->dest, im->dest_size, len, im->data_pages);
        /* Embedded over the running partition: the library first backs the
         * running app up to a free OTA partition and selects it in otadata. */
        im->over_running = im->embedded && rf_overlaps(im->dest, dsize, p->running.offset, p->running.size);
        im->has_backup = im->writes_otadata = false;
        im->backup_len = 0;
        im->est_backup_us = 0;
        RF_MEMSET(&im->backup, 0, sizeof im->backup);
        RF_MEMSET(&im->otadata, 0, sizeof im->otadata);
        if (im->over_running) {
            uint32_t need = rf_align_up(im->backup_need ? im->backup_need : p->running.size, p->sector_size);
            im->backup_len = need;
            im->has_backup = rf_choose_backup(p->table, &p->running, need, im->dest, dsize, &im->backup) == ESP_OK;
            const rf_part_t *od = im->has_backup ? find_otadata(p->table) : NULL;
            if (od != NULL) {
                im->writes_otadata = true;
                im->otadata = *od;
            }
            if (im->has_backup) {
                im->est_backup_us = est_write_us(p, im->backup.offset, need, need, im->backup_data_pages);
                if (im->writes_otadata) {
                    im->est_backup_us += c->sector_erase_us + c->page_program_us;
                }
            }
        }
        p->est_total_us += im->est_download_us + im->est_stage_us + im->est_backup_us + im->est_copy_us;
    }
    /* The journal: where the seed API keeps its progress records. */
    p->journal_addr = p->journal_len = 0;
    uint32_t jlen = 2u * p->sector_size;
    if (p->flash_size >= jlen) {
        uint32_t ja = p->flash_size - jlen;
        bool clear = true;
        for (uint32_t k = 0; clear && p->table && k < p->table->count; k++) {
            clear = !rf_overlaps(ja, jlen, p->table->parts[k].offset, p->table->parts[k].size);
        }
        for (uint32_t i = 0; clear && i < p->count; i++) {
            clear = !rf_overlaps(ja, jlen, p->img[i].dest, rf_align_up(p->img[i].dest_size, p->sector_size));
        }
        if (clear) {
            p->journal_addr = ja;
            p->journal_len = jlen;
        }
    }
    /* The bootloader window: from the first erase of the bootloader's sectors
     * to the end of their programming (the image that overlaps them). An
     * embedded copy writes the sectors of [bootloader, partition table) last:
     * only those count. An embedded copy over the running partition without
     * a backup leaves no bootable system for the whole copy. */
    p->no_backup_window = false;
    for (uint32_t i = 0; i < p->count; i++) {
        rf_plan_image_t *im = &p->img[i];
        uint64_t len = im->len > 0 ? (uint64_t)im->len : im->dest_size;
        if (im->over_running && !im->has_backup) {
            if (!p->no_backup_window || im->est_copy_us > p->window_us) {
                p->window_us = im->est_copy_us;
                p->window_image = (int32_t)i;
            }
            p->no_backup_window = true;
        } else if (p->no_backup_window) {
            continue;
        } else if (p->ptable_offset > p->bootloader_offset &&
                   rf_overlaps(im->dest, rf_align_up(im->dest_size, p->sector_size), p->bootloader_offset,
                               p->ptable_offset - p->bootloader_offset)) {
            /* The window, as the write engine opens it (rf_write.c): the
             * bootloader's sectors are written after the rest of the region
             * but for the table and otadata; when its 64 KiB block holds
             * nothing else, one block erase and then the bootloader's pages,
             * else a sector erase per rewritten sector and the pages. */
            uint32_t dsize = rf_align_up(im->dest_size, p->sector_size);
            uint64_t lo = RF_MAX(im->dest, p->bootloader_offset);
            uint64_t hi = RF_MIN((uint64_t)im->dest + dsize, (uint64_t)p->ptable_offset);
            uint64_t data_end = RF_MIN((uint64_t)im->dest + len, hi);
            uint64_t data = data_end > lo ? data_end - lo : 0;
            uint64_t pages = (uint64_t)div_up(data, p->page_size) * c->page_program_us;
            uint64_t by_sector = (uint64_t)div_up(data > 0 ? data : hi - lo, p->sector_size) * c->sector_erase_us;
            bool block = p->boot_block_blank && p->block_size && c->block_erase_us < by_sector;
            p->window_us = (block ? c->block_erase_us : by_sector) + pages;
            p->window_image = (int32_t)i;
        }
    }
    return ESP_OK;
}
