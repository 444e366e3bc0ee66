/*
 * Execution of a migration's steps (rf_exec.h): staging downloads, copies,
 * the embedded copy with its backup, the journal. Every write is judged by
 * the engine (rf_eng_check_write) on the flash as it is at that moment,
 * after a download and again before every copy.
 */
#include <string.h>
#include "rf_err.h"
#include "rf_exec.h"
#include "rf_image.h"
#include "rf_otadata.h"
#include "rf_plan.h"
#include "rf_region.h"
#include "rf_sig.h"
#include "rf_write.h"
#include "rf_exec_mem.h"

/* Journal progress every this many staged bytes (one page program each). */
#define RF_JOURNAL_EVERY 0x10000u

typedef struct mem {
    step_state_t *step;
    uint8_t *work;      /* RF_EXEC_WORK_LEN: one user at a time */
    size_t work_len;
} mem_t;

#define STEP_LEN RF_EXEC_STEP_LEN

static size_t work_len_for(uint32_t sector_size)
{
    return RF_EXEC_WORK_LEN(sector_size);
}

size_t rf_exec_mem_len(uint32_t sector_size)
{
    return STEP_LEN + work_len_for(sector_size);
}

static esp_err_t carve(const rf_exec_dev_t *dev, void *mem, size_t mem_len, mem_t *m)
{
    if (dev == NULL || dev->flash == NULL || dev->flash->sector_size == 0 || mem == NULL ||
        ((uintptr_t)mem & 7u) != 0 || mem_len < rf_exec_mem_len(dev->flash->sector_size)) {
        return ESP_ERR_INVALID_ARG;
    }
    m->step = (step_state_t *)mem;
    m->work = (uint8_t *)mem + STEP_LEN;
    m->work_len = mem_len - STEP_LEN;
    return ESP_OK;
}

/* Room after the work area's first RF_BOOT_SCRATCH_LEN bytes, which stay
 * free as scratch (for the otadata work done while a table is in use, or an
 * image inspection's reads): the partition table, an image's inspection, a
 * key. Anything that uses the whole work area (the engine, a region write,
 * the journal) ends its life. Room: RF_EXEC_WORK_LEN. */
static void *in_work(const mem_t *m)
{
    return rf_at16(m->work + RF_BOOT_SCRATCH_LEN);
}

static rf_ptable_t *table_in_work(const mem_t *m)
{
    return in_work(m);
}

/* [a, a + n) does not lie inside [0, end) (one out-of-line copy). */
RF_NOINLINE static bool past_end(uint32_t a, uint32_t n, uint32_t end)
{
    return !rf_contains(0, end, a, n);
}

/* The whole flash as a reader. */
static esp_err_t whole_reader(const rf_exec_dev_t *dev, rf_reader_t *r, rf_reader_flash_t *rc)
{
    return rf_reader_from_flash(r, rc, dev->flash, 0, dev->flash->size);
}

static uint32_t ptable_at(const rf_exec_dev_t *dev)
{
    return dev->ptable_offset ? dev->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
}

static esp_err_t list_table(const rf_exec_dev_t *dev, rf_ptable_t *t)
{
    if (dev->list_partitions == NULL) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    return dev->list_partitions(dev->ctx, t->parts, RF_PTABLE_MAX_PARTS, &t->count);
}

esp_err_t rf_exec_check_dest(const rf_exec_dev_t *dev, uint32_t dst, uint64_t size)
{
    const rf_flash_t *f = dev->flash;
    if (size == 0) {
        RF_LOGE(dev->log, "Dest 0x%08x: size 0", (unsigned)dst);
        return ESP_ERR_INVALID_ARG;
    }
    if (!rf_is_aligned(dst, f->sector_size)) {
        RF_LOGE(dev->log, "Dest 0x%08x: not 0x%x-aligned", (unsigned)dst, (unsigned)f->sector_size);
        return ESP_ERR_INVALID_ARG;
    }
    if (size > f->size || past_end(dst, rf_align_up((uint32_t)size, f->sector_size), f->size)) {
        RF_LOGE(dev->log, "0x%08x+0x%llx: past flash end 0x%x", (unsigned)dst, (unsigned long long)size,
                (unsigned)f->size);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

/* The caller's key into *key (logged when it does not load). */
static esp_err_t load_key(const rf_exec_dev_t *dev, const rf_exec_check_t *chk, rf_sig_key_t *key)
{
    const esp_err_t err = rf_sig_load_key(chk->pubkey, chk->pubkey_len, key);
    if (err != ESP_OK) {
        RF_LOGE(dev->log, "Key not loaded: %s", esp_err_to_name(err));
    }
    return err;
}

esp_err_t rf_exec_check_key(const rf_exec_dev_t *dev, const rf_exec_check_t *chk, void *mem, size_t mem_len)
{
    if (chk == NULL || chk->pubkey == NULL) {
        return ESP_OK;
    }
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK) {
        return err;
    }
    return load_key(dev, chk, in_work(&m)) != ESP_OK ? ESP_ERR_INVALID_ARG : ESP_OK;
}

/* The device as the engine's rules see it. */
static void eng_dev(const rf_exec_dev_t *dev, rf_eng_dev_t *e);

/* The device and its whole flash as the engine reads them. */
static esp_err_t eng_view(const rf_exec_dev_t *dev, rf_eng_dev_t *e, rf_reader_t *r, rf_reader_flash_t *rc)
{
    eng_dev(dev, e);
    return whole_reader(dev, r, rc);
}

static void eng_dev(const rf_exec_dev_t *dev, rf_eng_dev_t *e)
{
    memset(e, 0, sizeof *e);
    e->chip_id = dev->chip_id;
    e->ptable_offset = dev->ptable_offset;
    e->boot.recovery_offset = dev->recovery_bootloader_addr;
    e->boot.primary_slot = dev->mcuboot_primary_slot;
    e->boot.secondary_slot = dev->mcuboot_secondary_slot;
    e->boot.primary_size = dev->mcuboot_slot_size;
    e->boot.secondary_size = dev->mcuboot_slot_size;
}

static bool staging_conflicts(const rf_exec_dev_t *dev, const rf_part_t *st, const rf_part_t *run, uint32_t dst,
                              uint32_t dsize, bool log)
{
    if (rf_overlaps(st->offset, st->size, dst, dsize)) {
        if (log) {
            RF_LOGE(dev->log, "Staging '%s' 0x%08x..0x%08x overlaps dest 0x%08x..0x%08x", st->label,
                    (unsigned)st->offset, (unsigned)(st->offset + st->size), (unsigned)dst, (unsigned)(dst + dsize));
        }
        return true;
    }
    if (rf_overlaps(st->offset, st->size, run->offset, run->size)) {
        if (log) {
            RF_LOGE(dev->log, "Staging '%s' 0x%08x..0x%08x overlaps running '%s'", st->label, (unsigned)st->offset,
                    (unsigned)(st->offset + st->size), run->label);
        }
        return true;
    }
    return false;
}

/* The engine's ranges no staging may overwrite (MCUboot slots that hold an
 * image an earlier step wrote); returns how many. */
static uint32_t staging_keep(const rf_exec_dev_t *dev, uint32_t keep[4])
{
    rf_eng_dev_t e;
    rf_reader_t r;
    rf_reader_flash_t rc;
    if (eng_view(dev, &e, &r, &rc) != ESP_OK) {
        return 0;
    }
    return rf_eng_staging_keep(&e, &r, keep);
}

static bool overlaps_keep(const rf_part_t *st, const uint32_t *keep, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (rf_overlaps(st->offset, st->size, keep[2 * i], keep[2 * i + 1])) {
            return true;
        }
    }
    return false;
}

esp_err_t rf_exec_plan_download(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_part_t *forced,
                                const rf_part_t *current, void *mem, size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK || (err = rf_exec_check_dest(dev, dl->dst, dl->dst_size)) != ESP_OK) {
        return err;
    }
    const uint32_t dsize = rf_align_up(dl->dst_size, dev->flash->sector_size);
    const rf_part_t *run = &dl->running;
    /* the staging in use was the previous step's destination: it now holds
     * that step's image, never a staging area for this one */
    const bool was_direct = dl->direct;
    if (rf_overlaps(dl->dst, dsize, run->offset, run->size)) {
        RF_LOGE(dev->log, "Dest 0x%08x..0x%08x overlaps running '%s' 0x%08x..0x%08x", (unsigned)dl->dst,
                (unsigned)(dl->dst + dsize), run->label, (unsigned)run->offset, (unsigned)(run->offset + run->size));
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t keep[4];
    const uint32_t n_keep = staging_keep(dev, keep);
    if (forced != NULL) {
        if (forced->size == 0 || !rf_is_aligned(forced->offset, dev->flash->sector_size) ||
            past_end(forced->offset, forced->size, dev->flash->size)) {
            RF_LOGE(dev->log, "Target '%s' 0x%08x+0x%x: bad range", forced->label, (unsigned)forced->offset,
                    (unsigned)forced->size);
            return ESP_ERR_INVALID_ARG;
        }
        if (staging_conflicts(dev, forced, run, dl->dst, dsize, true)) {
            return ESP_ERR_INVALID_ARG;
        }
        if (overlaps_keep(forced, keep, n_keep)) {
            RF_LOGE(dev->log, "Target '%s' holds an MCUboot image in use", forced->label);
            return ESP_ERR_INVALID_ARG;
        }
        dl->staging = *forced;
        dl->direct = false;
        return ESP_OK;
    }
    rf_ptable_t *table = table_in_work(&m);   /* read on demand, not held */
    esp_err_t table_err = list_table(dev, table);
    /* The destination as its own staging (the plan's direct rule): a spare
     * app partition the old system neither runs, boots nor tries. The boot
     * model runs only when the destination lies in such a partition. */
    dl->direct = false;
    rf_part_t direct;
    if (table_err == ESP_OK && rf_choose_direct(table, run, dl->dst, dsize, NULL, 0, &direct)) {
        rf_eng_dev_t e;
        rf_reader_t r;
        rf_reader_flash_t rc;
        uint32_t path[RF_ENG_BOOT_PATH_MAX];
        const int32_t n_path = eng_view(dev, &e, &r, &rc) == ESP_OK
                                   ? rf_eng_boot_path(&e, &r, m.work, m.work_len, path) : -1;
        table_err = list_table(dev, table);   /* the boot model used the whole work area */
        if (table_err == ESP_OK && rf_choose_direct(table, run, dl->dst, dsize, path, n_path, &dl->staging)) {
            dl->direct = true;
            return ESP_OK;
        }
    }
    if (current != NULL && !staging_conflicts(dev, current, run, dl->dst, dsize, false) &&
        !overlaps_keep(current, keep, n_keep) && !was_direct) {
        dl->staging = *current;
        return ESP_OK;
    }
    /* As the reference does: an OTA app partition after the running one
     * (then the ones before it), the first that conflicts with nothing: the
     * plan's rule (rf_choose_staging), so the host tool predicts this choice. */
    if (table_err != ESP_OK) {
        RF_LOGE(dev->log, "Partition table: %s", esp_err_to_name(table_err));
        return table_err;
    }
    rf_plan_rule_t rule;
    if (rf_choose_staging(table, run, NULL, dl->dst, dsize, keep, n_keep, &dl->staging, &rule) == ESP_OK) {
        return ESP_OK;
    }
    RF_LOGE(dev->log, "No staging partition for 0x%08x..0x%08x", (unsigned)dl->dst,
            (unsigned)(dl->dst + dsize));
    return ESP_ERR_NOT_FOUND;
}

/* ---- journal ---- */

static uint32_t journal_at(const rf_exec_dev_t *dev)
{
    const uint32_t len = RF_JOURNAL_SECTORS * dev->flash->sector_size;
    return dev->journal_addr ? dev->journal_addr : dev->flash->size - len;
}

static bool journal_possible(const rf_exec_dev_t *dev)
{
    return dev->journal_addr != RF_EXEC_NO_JOURNAL &&
           dev->flash->size >= RF_JOURNAL_SECTORS * dev->flash->sector_size;
}

/* Open the journal for a step whose regions are given (pairs), if the
 * device has one and it overlaps none of them. */
static bool journal_open(const rf_exec_dev_t *dev, rf_journal_t *j, const uint32_t *avoid, uint32_t n_avoid,
                         const mem_t *m)
{
    if (!journal_possible(dev)) {
        return false;
    }
    const uint32_t at = journal_at(dev), len = RF_JOURNAL_SECTORS * dev->flash->sector_size;
    bool need_have = false;
    for (uint32_t i = 0; i < n_avoid; i++) {
        if (rf_overlaps(at, len, avoid[2 * i], avoid[2 * i + 1])) {
            RF_LOGW(dev->log, "Journal 0x%08x overlaps step: no resume", (unsigned)at);
            return false;
        }
    }
    if (dev->journal_addr == 0) {
        /* automatic place: only where no partition lies */
        rf_ptable_t *t = table_in_work(m);   /* dead before rf_journal_open uses the work area */
        const bool table = list_table(dev, t) == ESP_OK;
        bool clear = table;
        for (uint32_t i = 0; clear && i < t->count; i++) {
            clear = !rf_overlaps(at, len, t->parts[i].offset, t->parts[i].size);
        }
        if (table && !clear) {
            return false;
        }
        /* No readable table (an interrupted run erased it on its way to
         * the new system): the journal is used only if it is there. */
        need_have = !table;
    }
    return rf_journal_open(j, dev->flash, at, m->work, m->work_len) == ESP_OK && (!need_have || j->have);
}

/* Make n sectors from a blank: a sector that already reads all 0xFF is not
 * erased (read a chunk at a time, up to the first byte that is not 0xFF).
 * *erased counts the sectors erased. */
static esp_err_t blank_sectors(const rf_exec_dev_t *dev, uint32_t a, uint32_t n, const mem_t *m, uint32_t *erased)
{
    const uint32_t S = dev->flash->sector_size;
    esp_err_t err = ESP_OK;
    for (; n > 0 && err == ESP_OK; n--, a += S) {
        err = rf_flash_check_blank(dev->flash, a, S, m->work, m->work_len);
        if (err == ESP_ERR_INVALID_CRC && (err = rf_flash_erase(dev->flash, a, S)) == ESP_OK) {
            (*erased)++;
        }
    }
    return err;
}

/* Leave no trace: when the migration is complete its journal is erased, so
 * the flash outside the destinations is what the plan declared. Only an area
 * that holds this component's journal records is erased (never data that
 * merely lies where a journal could be). */
static esp_err_t journal_clear(const rf_exec_dev_t *dev, const mem_t *m)
{
    if (!journal_possible(dev)) {
        return ESP_OK;
    }
    const uint32_t S = dev->flash->sector_size, at = journal_at(dev), len = RF_JOURNAL_SECTORS * S;
    rf_journal_t j;
    if (rf_journal_open(&j, dev->flash, at, m->work, m->work_len) != ESP_OK || !j.have) {
        return ESP_OK;
    }
    uint32_t erased = 0;
    const esp_err_t err = blank_sectors(dev, at, RF_JOURNAL_SECTORS, m, &erased);
    if (err == ESP_OK) {
        RF_LOGD(dev->log, "Journal 0x%08x..0x%08x erased", (unsigned)at, (unsigned)(at + len));
    } else {
        RF_LOGW(dev->log, "Journal 0x%08x not erased: %s", (unsigned)at, esp_err_to_name(err));
    }
    return err;
}

esp_err_t rf_exec_finish(const rf_exec_dev_t *dev, void *mem, size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    return err != ESP_OK ? err : journal_clear(dev, &m);
}

static void step_id(const char *what, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint8_t id[RF_JOURNAL_ID_LEN])
{
    uint8_t nums[16], dig[RF_SHA256_LEN];
    rf_put_le32(nums, a);
    rf_put_le32(nums + 4, b);
    rf_put_le32(nums + 8, c);
    rf_put_le32(nums + 12, d);
    rf_sha256_ctx_t ctx;
    rf_sha256_start(&ctx);
    rf_sha256_update(&ctx, what, strlen(what));
    rf_sha256_update(&ctx, nums, sizeof nums);
    rf_sha256_finish(&ctx, dig);
    memcpy(id, dig, RF_JOURNAL_ID_LEN);
}

static void dl_id(const rf_exec_dl_t *dl, uint8_t id[RF_JOURNAL_ID_LEN])
{
    step_id(dl->name, dl->dst, dl->dst_size, 0, 0, id);
}

static void journal_note(const rf_exec_dev_t *dev, rf_journal_t *j, bool *on, rf_jstate_t state,
                         const uint8_t id[RF_JOURNAL_ID_LEN], uint32_t progress, uint32_t total, const uint8_t *sha,
                         uint32_t aux, uint32_t aux_len, const char *validator)
{
    if (!*on) {
        return;
    }
    rf_journal_rec_t r;
    memset(&r, 0, sizeof r);
    r.state = (uint8_t)state;
    memcpy(r.id, id, RF_JOURNAL_ID_LEN);
    r.progress = progress;
    r.total = total;
    if (sha) {
        memcpy(r.sha256, sha, RF_SHA256_LEN);
    }
    r.aux_addr = aux;
    r.aux_len = aux_len;
    if (validator != NULL) {
        memcpy(r.validator, validator, sizeof r.validator);
    }
    esp_err_t err = rf_journal_append(j, &r);
    if (err != ESP_OK) {
        RF_LOGW(dev->log, "Journal write: %s; no resume", esp_err_to_name(err));
        *on = false;
    }
}

static void dl_note(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, rf_jstate_t state, const uint8_t *id,
                    uint32_t progress, uint32_t total, const uint8_t *sha)
{
    const bool none = state == RF_JSTATE_NONE;
    journal_note(dev, &dl->journal, &dl->journal_on, state, id, progress, total, sha, none ? 0 : dl->staging.offset,
                 none ? 0 : dl->staging.size, state == RF_JSTATE_STAGING ? dl->validator : NULL);
}

esp_err_t rf_exec_dl_from_journal(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, void *mem, size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK) {
        return err;
    }
    uint8_t id[RF_JOURNAL_ID_LEN];
    dl_id(dl, id);
    rf_journal_t *j = &dl->journal;
    const rf_journal_rec_t *last = &j->last;
    if (rf_exec_check_dest(dev, dl->dst, dl->dst_size) == ESP_OK && journal_open(dev, j, NULL, 0, &m) && j->have &&
        memcmp(last->id, id, sizeof id) == 0 && last->state >= RF_JSTATE_STAGING &&
        last->state <= RF_JSTATE_COPIED && last->aux_len > 0 &&
        !past_end(last->aux_addr, last->aux_len, dev->flash->size) &&
        !rf_overlaps(last->aux_addr, last->aux_len, dl->dst, dl->dst_size)) {
        memset(&dl->running, 0, sizeof dl->running);
        memset(&dl->staging, 0, sizeof dl->staging);
        dl->staging.offset = last->aux_addr;
        dl->staging.size = last->aux_len;
        memcpy(dl->staging.label, "(journal)", 10);
        RF_LOGW(dev->log, "No partition table: journal's staging 0x%08x",
                (unsigned)dl->staging.offset);
        return ESP_OK;
    }
    return ESP_ERR_NOT_FOUND;
}

/* ---- the engine's verdict ---- */

/* The verdict as one log line: what was refused, and where. */
static void log_verdict(const rf_exec_dev_t *dev, uint32_t dst, const rf_eng_verdict_t *v)
{
    if (v->rule == RF_ENG_OK && v->before_brick) {
        RF_LOGW(dev->log, "0x%08x off boot path; flash boots nothing", (unsigned)dst);
    }
    if (v->rule == RF_ENG_OK) {
        if (v->content == RF_ENG_CONTENT_MCUBOOT) {
            RF_LOGD(dev->log, "0x%08x: MCUboot %u.%u.%u verified%s; boots %s", (unsigned)dst, v->mcu_ver_major,
                    v->mcu_ver_minor, v->mcu_ver_revision, v->signature_ok ? ", signed" : "",
                    rf_boot_result_name(v->end.result));
        } else if (v->content != RF_ENG_CONTENT_NONE) {
            RF_LOGD(dev->log, "0x%08x: ESP %s, chip %u, %u segments verified; boots %s", (unsigned)dst,
                    v->content == RF_ENG_CONTENT_ESP_APP ? "app" : "bootloader", (unsigned)v->chip_id,
                    (unsigned)v->segments, rf_boot_result_name(v->end.result));
        } else {
            RF_LOGD(dev->log, "0x%08x: verified; boots %s", (unsigned)dst, rf_boot_result_name(v->end.result));
        }
        return;
    }
    const char *what = "checked";   /* and where: an address, or an offset into the image (+) */
    const char *rel = "";
    uint32_t at = v->at;
    if (v->rule == RF_ENG_PTABLE) {
        what = rf_eng_pt_why_name((rf_eng_pt_why_t)v->detail);
    } else if (v->rule == RF_ENG_END_BRICK || v->rule == RF_ENG_END_RECOVERY) {
        what = rf_boot_loader_name(v->end.bootloader);
        at = v->end.err_at;
    } else if (v->img_err != RF_IMG_OK) {
        what = rf_img_err_id((rf_img_err_t)v->img_err);
        rel = "+";
        at = v->err_offset;
    }
    RF_LOGE(dev->log, "0x%08x refused: %s (%s at %s0x%x)", (unsigned)dst, rf_eng_rule_name(v->rule), what, rel,
            (unsigned)at);
}

/* Verify the image at [addr, addr + len) of the flash for the destination
 * [dst, dst + dst_size) with the engine's rules, before anything is written
 * there: the write is laid over the current flash and judged by what the
 * flash would hold (rf_engine.h). sha is the image's SHA-256 (hashed once,
 * on its way in). Uses the whole arena. */
/* img_sha (optional): in, when len > 0, the image's own digest from an
 * earlier verdict on these same bytes (their whole-file SHA-256 `sha` was
 * checked again just before): the engine does not hash them again; out,
 * this verdict's (len 0 when none). */
static esp_err_t verify_image(const rf_exec_dev_t *dev, const rf_exec_check_t *chk, uint32_t dst, uint32_t dst_size,
                              uint32_t addr, uint32_t len, const uint8_t sha[RF_SHA256_LEN], const mem_t *m,
                              rf_sha_known_t *img_sha)
{
    if (chk->skip) {
        RF_LOGW(dev->log, "Content checks turned OFF: 0x%08x unverified", (unsigned)dst);
        return ESP_OK;
    }
    if (m->work_len < RF_ENG_WORK_LEN + sizeof(eng_call_t) + 16u) {
        return ESP_ERR_NO_MEM;
    }
    /* after the engine's own work area */
    eng_call_t *c = rf_at16(m->work + RF_ENG_WORK_LEN);
    memset(c, 0, sizeof *c);
    esp_err_t err = ESP_OK;
    const rf_sig_key_t *key = NULL;
    if (chk->pubkey != NULL) {
        err = load_key(dev, chk, &c->key);
        key = &c->key;
    }
    if (err == ESP_OK) {
        err = whole_reader(dev, &c->whole, &c->whole_c);
    }
    if (err == ESP_OK) {
        err = rf_reader_from_flash(&c->src, &c->src_c, dev->flash, addr, len);
    }
    if (err == ESP_OK) {
        eng_dev(dev, &c->dev);
        c->vf.base = &c->whole;
        c->w = (rf_eng_write_t){
            .dst = dst, .dst_size = rf_align_up(dst_size, dev->flash->sector_size), .len = len,
            .slot_size = dst_size, .src = &c->src, .src_sha256 = sha, .expect_sha256 = chk->expect_sha256,
            .declared = chk->declared, .declared_raw = chk->declared_raw, .key = key,
            .src_known = img_sha != NULL && img_sha->len > 0 ? img_sha : NULL,
        };
        err = rf_eng_check_write(&c->dev, &c->vf, &c->w, m->work, RF_ENG_WORK_LEN, &c->verdict);
        if (img_sha != NULL) {
            *img_sha = c->verdict.img_sha;
        }
        if (err == ESP_OK || err == RF_ERR_IMAGE_INVALID || err == ESP_ERR_INVALID_CRC) {
            log_verdict(dev, dst, &c->verdict);
        }
    }
    return err;
}

/* ---- download into staging ---- */

/* The source reads straight into the stream's sector buffer (no I/O chunk:
 * RF_IO_CHUNK only bounds one read). */
static esp_err_t stream_source(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, rf_source_t *src, rf_stream_t *st,
                               int64_t total, bool resumable, const uint8_t id[RF_JOURNAL_ID_LEN])
{
    uint32_t journaled = rf_stream_flushed(st);
    for (;;) {
        uint32_t got = 0, room;
        uint8_t *into = rf_stream_room(st, &room);
        esp_err_t err = src->read(src->ctx, into, RF_MIN(room, RF_IO_CHUNK), &got);
        if (err != ESP_OK) {
            RF_LOGE(dev->log, "%s: failed at byte %u: %s", src->name ? src->name : "source", (unsigned)st->offset,
                    esp_err_to_name(err));
            return err;
        }
        if (got == 0) {
            break;
        }
        if ((err = rf_stream_commit(st, got)) != ESP_OK) {
            return err;
        }
        uint32_t flushed = rf_stream_flushed(st) / RF_JOURNAL_EVERY * RF_JOURNAL_EVERY;
        if (resumable && flushed > journaled) {
            journaled = flushed;
            dl_note(dev, dl, RF_JSTATE_STAGING, id, flushed, total > 0 ? (uint32_t)total : 0, NULL);
        }
    }
    /* total <= the limit open_checked enforced: it fits 32 bits */
    if (total >= 0 && st->offset != (uint32_t)total) {
        RF_LOGE(dev->log, "Download short: %u of %u bytes", (unsigned)st->offset, (unsigned)total);
        return RF_ERR_INCOMPLETE_DATA;
    }
    if (st->offset == 0) {
        RF_LOGE(dev->log, "Download empty");
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* An image longer than the step's destination. */
RF_NOINLINE static void log_over_dest(const rf_exec_dev_t *dev, const rf_exec_dl_t *dl, int64_t len)
{
    RF_LOGE(dev->log, "Image %lld B > dest 0x%08x (0x%x)", (long long)len, (unsigned)dl->dst, (unsigned)dl->dst_size);
}

/* Open the source (at io->offset when it proves the same object) and check
 * the announced length: it decides before anything is erased. */
static esp_err_t open_checked(const rf_exec_dev_t *dev, const rf_exec_dl_t *dl, rf_source_t *src,
                              rf_source_open_t *io)
{
    esp_err_t err = rf_source_open_at(src, io);
    if (err != ESP_OK) {
        RF_LOGE(dev->log, "%s: %s", dl->name, esp_err_to_name(err));
        return err;
    }
    const int64_t total = io->total;
    const uint32_t limit = RF_MIN(dl->staging.size, dl->dst_size);
    if (total == 0) {
        RF_LOGE(dev->log, "%s: length 0", dl->name);
        return ESP_ERR_INVALID_SIZE;
    }
    if (total > 0 && (uint64_t)total > limit) {
        if ((uint64_t)total > dl->staging.size) {
            RF_LOGE(dev->log, "Image %lld B > staging '%s' (0x%x)", (long long)total, dl->staging.label,
                    (unsigned)dl->staging.size);
        } else {
            log_over_dest(dev, dl, total);
        }
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* The step's image is staged (sha: its whole-file digest, zero: none). */
static void set_staged(rf_exec_dl_t *dl, uint32_t len, const uint8_t sha[RF_SHA256_LEN])
{
    dl->staged = true;
    dl->staged_len = len;
    memcpy(dl->staged_sha, sha, RF_SHA256_LEN);
}

/* The journal says this step's image is staged: it is a hint. The staged
 * bytes must still hash to what it recorded AND pass this step's checks
 * (its expected digest, key and destination rules) on the flash as it is
 * now; anything else is downloaded again. */
static bool staged_by_journal(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk,
                              const rf_journal_rec_t *last, const mem_t *m)
{
    uint8_t sha[RF_SHA256_LEN];
    /* a record with no digest (a direct download hashed image_only) proves
     * nothing about the file: download again */
    if (last->total == 0 || last->total > dl->staging.size || rf_is_zero(last->sha256, sizeof last->sha256) ||
        rf_flash_sha256(dev->flash, dl->staging.offset, last->total, m->work, m->work_len, sha) != ESP_OK ||
        memcmp(sha, last->sha256, sizeof sha) != 0 ||
        (dl->img_sha.len = 0,
         verify_image(dev, chk, dl->dst, dl->dst_size, dl->staging.offset, last->total, sha, m, &dl->img_sha)) !=
            ESP_OK) {
        return false;
    }
    RF_LOGD(dev->log, "'%s': already staged (journal)", dl->staging.label);
    set_staged(dl, last->total, sha);
    return true;
}

esp_err_t rf_exec_download(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk,
                           const rf_exec_source_port_t *sp, void *mem, size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK) {
        return err;
    }
    const uint32_t S = dev->flash->sector_size;
    dl->staged = false;

    /* The journal says what an earlier run of this same step achieved. */
    uint8_t id[RF_JOURNAL_ID_LEN];
    dl_id(dl, id);
    const uint32_t avoid[] = { dl->dst, rf_align_up(dl->dst_size, S), dl->staging.offset, dl->staging.size,
                               dl->running.offset, dl->running.size };
    dl->journal_on = journal_open(dev, &dl->journal, avoid, 3, &m);
    /* this step's STAGING record, if any: the journal's last record, read
     * only before anything is appended to the journal */
    const rf_journal_rec_t *srec = NULL;
    const rf_journal_rec_t *last = &dl->journal.last;
    if (dl->journal_on && dl->journal.have && memcmp(last->id, id, sizeof id) == 0 &&
        last->aux_addr == dl->staging.offset) {   /* another staging partition than before: start over */
        if (last->state == RF_JSTATE_STAGED || last->state == RF_JSTATE_COPIED) {
            if (staged_by_journal(dev, dl, chk, last, &m)) {
                return ESP_OK;
            }
        } else if (last->state == RF_JSTATE_STAGING) {
            srec = last;
        }
    }

    rf_source_t *src = &m.step->dl.src;
    rf_source_open_t *io = &m.step->dl.io;
    rf_stream_t *st = &m.step->dl.st;
    memset(src, 0, sizeof *src);
    if ((err = sp->make(sp->arg, src)) != ESP_OK) {
        RF_LOGE(dev->log, "%s: no client: %s", dl->name, esp_err_to_name(err));
        return err;
    }
    /* Resume only what the source proves to be the same file (rf_resume_decide). */
    memset(io, 0, sizeof *io);
    io->offset = rf_resume_offset(srec, S);
    io->if_range = io->offset > 0 ? srec->validator : NULL;
    err = open_checked(dev, dl, src, io);
    /* A failed resume request is retried from byte 0, unless time ran out
     * (the staged part then stays for the next run). */
    rf_resume_t how = err == ESP_OK ? rf_resume_decide(srec, io)
                      : (io->offset > 0 && err != ESP_ERR_TIMEOUT) ? RF_RESUME_REOPEN : RF_RESUME_RESTARTED;
    if (io->offset > 0 && how != RF_RESUME_CONTINUE && (err == ESP_OK || how == RF_RESUME_REOPEN)) {
        RF_LOGW(dev->log, "No resume at byte %u: from 0", (unsigned)io->offset);
    }
    if (how == RF_RESUME_REOPEN) {
        src->close(src->ctx);
        memset(io, 0, sizeof *io);
        err = open_checked(dev, dl, src, io);
    }
    if (err != ESP_OK) {
        src->close(src->ctx);
        sp->release(sp->arg, src);
        return err;
    }
    const int64_t total = io->total;
    /* progress records only where a later run could resume from them */
    const bool resumable = rf_resume_possible(io);
    uint32_t resume_at = 0;
    memcpy(dl->validator, io->validator, sizeof dl->validator);
    if (how == RF_RESUME_CONTINUE) {
        resume_at = io->offset;
        RF_LOGD(dev->log, "Resume at byte %u (%s)", (unsigned)resume_at, io->validator);
    } else if (srec != NULL && srec->progress > 0) {
        dl_note(dev, dl, RF_JSTATE_NONE, id, 0, 0, NULL);   /* the staged bytes are no longer a resume point */
    }
    const uint32_t limit = RF_MIN(dl->staging.size, dl->dst_size);
    err = rf_stream_init(st, dev->flash, dl->staging.offset, dl->staging.size, limit,
                         total > 0 ? (uint32_t)total : 0, m.work, RF_WRITE_WORK_LEN(S), dev->log);
    /* A direct download with no expected digest needs no digest of the
     * whole file (no staged copy to check again; a rerun downloads again):
     * an MCUboot image's own range is hashed on its way in, once, and the
     * engine takes that digest (src_known); the rest (padding, trailer) is
     * read back and compared as it is written, and judged by the engine. */
    st->image_only = dl->direct && chk->expect_sha256 == NULL && !chk->skip;
    if (err == ESP_OK && resume_at > 0) {
        err = rf_stream_resume(st, resume_at);
    }
    if (err == ESP_OK) {
        err = stream_source(dev, dl, src, st, total, resumable, id);
    }
    uint8_t sha[RF_SHA256_LEN];
    if (err == ESP_OK) {
        err = rf_stream_finish(st, sha);
    }
    src->close(src->ctx);
    sp->release(sp->arg, src);
    RF_LOGI(dev->log, "Connection closed");
    if (err != ESP_OK) {
        /* Only a transfer that failed (the network, a timeout) leaves a
         * resumable part; an image refused for what it is (too long, an
         * endless body, a wrong digest) is erased again. */
        const bool transfer_failed = err != ESP_ERR_INVALID_SIZE && err != ESP_ERR_INVALID_CRC &&
                                     err != RF_ERR_IMAGE_INVALID && err != ESP_ERR_INVALID_ARG;
        if (transfer_failed && dl->journal_on && resumable && rf_stream_flushed(st) >= RF_JOURNAL_EVERY) {
            RF_LOGW(dev->log, "Incomplete: %u bytes kept for resume",
                    (unsigned)(rf_stream_flushed(st) / RF_JOURNAL_EVERY * RF_JOURNAL_EVERY));
        } else {
            rf_stream_rollback(st);
        }
        return err;
    }
    RF_LOGD(dev->log, "Staging: %u sectors, %u blocks erased, %u kept, %u pages", (unsigned)st->stats.sectors_erased,
            (unsigned)st->stats.blocks_erased, (unsigned)st->stats.sectors_same, (unsigned)st->stats.pages_programmed);
    RF_LOGI(dev->log, "Total downloaded binary length: %u (0x%x)", (unsigned)st->offset, (unsigned)st->offset);
    const uint8_t *file_sha = rf_stream_hashed_whole(st) ? sha : NULL;
    dl->img_sha = st->img;   /* len 0 unless hashed on the way in (image_only) */
    err = verify_image(dev, chk, dl->dst, dl->dst_size, dl->staging.offset, st->offset, file_sha, &m, &dl->img_sha);
    if (err != ESP_OK) {
        RF_LOGE(dev->log, "Image refused; %s", dl->direct ? "erased from dest" : "staged copy erased, dest untouched");
        if (resume_at > 0) {
            st->touched_lo = 0;   /* a resumed image that fails may mix two versions: erase it all */
        }
        rf_stream_rollback(st);
        dl_note(dev, dl, RF_JSTATE_NONE, id, 0, 0, NULL);
        return err;
    }
    dl_note(dev, dl, RF_JSTATE_STAGED, id, st->offset, st->offset, file_sha);
    set_staged(dl, st->offset, sha);   /* all zero without a whole-file digest */
    RF_LOGI(dev->log, "File downloaded successfully");
    return ESP_OK;
}

/* ---- copies ---- */

/* The second-stage bootloader's sectors [*bl, *bl + *n): false when the chip
 * is unknown or the partition table does not lie after the bootloader. */
static bool boot_window(const rf_exec_dev_t *dev, uint32_t *bl, uint32_t *n)
{
    if (dev->chip_id == 0xFFFF) {
        return false;
    }
    const uint32_t b = rf_esp_chip_bootloader_offset(dev->chip_id), pt = ptable_at(dev);
    *bl = b;
    *n = pt - b;
    return pt > b;
}

/* The ranges a copy writes last, to keep the old boot chain alive as long as
 * possible: the second-stage bootloader's sectors (the only unavoidable
 * window), then the partition table and otadata (the old bootloader needs
 * them; a new bootloader does not). Returns the number of ranges. */
static uint32_t boot_deferred(const rf_exec_dev_t *dev, const mem_t *m, uint32_t out[2 * RF_WRITE_MAX_DEFERRED])
{
    uint32_t n = 0;
    const uint32_t pt = ptable_at(dev);
    if (boot_window(dev, &out[0], &out[1])) {
        n++;
    }
    out[2 * n] = pt;
    out[2 * n + 1] = 0x1000;
    n++;
    rf_ptable_t *t = table_in_work(m);   /* dead before the write uses the work area */
    if (list_table(dev, t) == ESP_OK) {
        for (uint32_t i = 0; i < t->count && n < RF_WRITE_MAX_DEFERRED; i++) {
            if (t->parts[i].type == RF_PART_TYPE_DATA && t->parts[i].subtype == RF_PART_SUBTYPE_DATA_OTA) {
                out[2 * n] = t->parts[i].offset;
                out[2 * n + 1] = t->parts[i].size;
                n++;
            }
        }
    }
    return n;
}

/* Write [dst, dst + dst_size) from len bytes already in flash at src
 * (rf_region_write: memmove-safe, every sector read back), the deferred
 * ranges last. */
/* map (NULL: none): the 0xFF chunks of the image bytes [map_at, map_at +
 * map_len) of this copy's source, read in this call (rf_region_write_t). */
static esp_err_t flash_copy(const rf_exec_dev_t *dev, uint32_t src, uint32_t len, uint32_t dst, uint32_t dst_size,
                            const mem_t *m, const uint32_t *deferred, uint32_t n_def, const uint8_t *map,
                            uint32_t map_at, uint32_t map_len, rf_write_stats_t *ws)
{
    rf_flash_reader_t rd = { .flash = dev->flash, .base = src };
    rf_region_write_t w = {
        .flash = dev->flash, .dst = dst, .dst_size = dst_size, .len = len, .read = rf_flash_reader_read,
        .read_arg = &rd, .src_addr = src, .src_in_flash = 1, .work = m->work, .work_len = m->work_len,
        .log = dev->log, .deferred = deferred, .deferred_count = n_def, .blank_map = map, .blank_map_at = map_at,
        .blank_map_len = map_len,
    };
    return rf_region_write(&w, ws);
}

/* The ESP image at [addr, addr + len) inspected into the work area (after
 * its scratch); NULL when it is none. */
static const rf_esp_image_info_t *inspect_at(const rf_exec_dev_t *dev, const mem_t *m, uint32_t addr, uint32_t len)
{
    rf_esp_image_info_t *info = in_work(m);
    rf_reader_t r;
    rf_reader_flash_t rctx;
    return rf_reader_from_flash(&r, &rctx, dev->flash, addr, len) == ESP_OK &&
                   rf_esp_image_inspect(&r, m->work, RF_BOOT_SCRATCH_LEN, info) == ESP_OK
               ? info
               : NULL;
}

/* On chips whose ROM falls back to a recovery bootloader: when the copy
 * rewrites the second-stage bootloader's sectors, write the new bootloader
 * (the ESP image the copy puts at the bootloader offset) at the recovery
 * address first, and verify it. The ROM then boots it whenever the primary
 * is half-written: no window at all. */
static esp_err_t write_recovery_copy(const rf_exec_dev_t *dev, uint32_t src, uint32_t len, uint32_t dst,
                                     uint32_t dst_size, const mem_t *m)
{
    const uint32_t rec = dev->recovery_bootloader_addr, S = dev->flash->sector_size;
    uint32_t bl, bl_n;
    if (rec == 0 || !boot_window(dev, &bl, &bl_n) || !rf_overlaps(dst, dst_size, bl, bl_n) || dst > bl ||
        bl - dst >= len) {
        return ESP_OK;
    }
    const uint32_t off = bl - dst;
    const rf_esp_image_info_t *info = inspect_at(dev, m, src + off, len - off);
    const uint32_t bl_len = info != NULL && info->kind == RF_ESP_KIND_BOOTLOADER ? info->image_len : 0;
    const uint32_t size = rf_align_up(bl_len, S);
    if (bl_len == 0 || !rf_is_aligned(rec, S) || past_end(rec, size, dev->flash->size) ||
        rf_overlaps(rec, size, dst, dst_size) || rf_overlaps(rec, size, src, len) ||
        rf_overlaps(rec, size, dev->flash->size - RF_JOURNAL_SECTORS * S, RF_JOURNAL_SECTORS * S)) {
        RF_LOGW(dev->log, "No recovery copy at 0x%08x: bootloader window", (unsigned)rec);
        return ESP_OK;
    }
    RF_LOGD(dev->log, "Bootloader 0x%x B to recovery 0x%08x, then 0x%08x", (unsigned)bl_len, (unsigned)rec,
            (unsigned)bl);
    rf_write_stats_t ws;
    return flash_copy(dev, src + off, bl_len, rec, size, m, NULL, 0, NULL, 0, 0, &ws);
}

/* Write [dst, dst + dst_size) from an image already in flash at src
 * (memmove-safe), announced by the reference's "Starting copy" line. Every
 * sector written is read back and compared with the bytes it was written
 * from (rf_region_write), and the source was hashed and verified just
 * before: the destination is not hashed a second time. */
static esp_err_t copy_verified(const rf_exec_dev_t *dev, uint32_t src, uint32_t len, uint32_t dst, uint32_t dst_size,
                               const mem_t *m, const uint8_t *blank_map)
{
    RF_LOGI(dev->log, "Starting copy 0x%08x bytes from address 0x%08x to address 0x%08x", (unsigned)len,
            (unsigned)src, (unsigned)dst);
    esp_err_t err = write_recovery_copy(dev, src, len, dst, dst_size, m);
    if (err != ESP_OK) {
        return err;
    }
    uint32_t deferred[2 * RF_WRITE_MAX_DEFERRED];
    const uint32_t n_def = boot_deferred(dev, m, deferred);
    rf_write_stats_t ws;
    if ((err = flash_copy(dev, src, len, dst, dst_size, m, deferred, n_def, blank_map, 0, len, &ws)) != ESP_OK) {
        return err;
    }
    RF_LOGD(dev->log, "Dest 0x%08x..0x%08x: %u same, %u program-only, %u erased, %u blocks, %u pages", (unsigned)dst,
            (unsigned)(dst + rf_align_up(dst_size, dev->flash->sector_size)), (unsigned)ws.sectors_same,
            (unsigned)ws.sectors_program_only, (unsigned)ws.sectors_erased, (unsigned)ws.blocks_erased,
            (unsigned)ws.pages_programmed);
    return ESP_OK;
}

static bool touches_bootloader(const rf_exec_dev_t *dev, uint32_t dst, uint32_t dst_size)
{
    uint32_t bl, n;
    return boot_window(dev, &bl, &n) && rf_overlaps(dst, rf_align_up(dst_size, dev->flash->sector_size), bl, n);
}

/* A direct download is at its destination, verified there after the
 * download by this handle: the copy writes nothing of the image, so nothing
 * is re-hashed here (one verification pass). What makes those bytes
 * reachable later (the bootloader or otadata step) is judged by the engine's
 * end-state check on the flash as it is then, which reads and checks them
 * by their own digests; a rerun from the journal hashes them again. What is
 * left of the region after the image is made blank, as a copy leaves it.
 * The caller journals the step as copied. */
static esp_err_t direct_in_place(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const mem_t *m)
{
    const uint32_t S = dev->flash->sector_size, from = rf_align_up(dl->staged_len, S),
                   to = rf_align_up(dl->dst_size, S);
    uint32_t erased = 0;
    const esp_err_t err = blank_sectors(dev, dl->dst + from, to > from ? (to - from) / S : 0, m, &erased);
    if (err != ESP_OK) {
        return err;
    }
    RF_LOGD(dev->log, "Image in place at 0x%08x; %u sectors after it erased", (unsigned)dl->dst, (unsigned)erased);
    return ESP_OK;
}

/* A staged image: hashed again, judged again on the flash as it is now, then
 * copied (memmove-safe, every sector read back). */
static esp_err_t copy_staged(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk, const mem_t *m)
{
    uint8_t sha[RF_SHA256_LEN];
    esp_err_t err = rf_flash_sha256(dev->flash, dl->staging.offset, dl->staged_len, m->work, m->work_len, sha);
    if (err != ESP_OK) {
        return err;
    }
    if (memcmp(sha, dl->staged_sha, sizeof sha) != 0) {
        RF_LOGE(dev->log, "Staged '%s' changed; dest untouched", dl->staging.label);
        return ESP_ERR_INVALID_CRC;
    }
    /* Re-verify before every copy: the flash may have changed since the
     * download (other steps ran), and the end state is judged on it now. */
    /* the image's own digest from the download's verdict: the bytes are the
     * same (their whole-file hash was just checked), rule 5 need not hash
     * them again; everything else is judged anew */
    err = verify_image(dev, chk, dl->dst, dl->dst_size, dl->staging.offset, dl->staged_len, sha, m, &dl->img_sha);
    if (err != ESP_OK) {
        RF_LOGE(dev->log, "Staged image refused; dest untouched");
        return err;
    }
    if ((err = copy_verified(dev, dl->staging.offset, dl->staged_len, dl->dst, dl->dst_size, m, NULL)) != ESP_OK) {
        return err;
    }
    RF_LOGI(dev->log, "Data copied from partition address 0x%08x offset 0x%08x to region: 0x%08x",
            (unsigned)dl->staging.offset, 0u, (unsigned)dl->dst);
    return ESP_OK;
}

esp_err_t rf_exec_copy(const rf_exec_dev_t *dev, rf_exec_dl_t *dl, const rf_exec_check_t *chk, void *mem,
                       size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK) {
        return err;
    }
    if (!dl->staged) {
        RF_LOGE(dev->log, "Nothing staged");
        return ESP_ERR_INVALID_STATE;
    }
    if (dl->staged_len > dl->dst_size) {
        log_over_dest(dev, dl, dl->staged_len);
        return ESP_ERR_INVALID_SIZE;
    }
    if (dl->direct) {
        err = direct_in_place(dev, dl, &m);
    } else {
        err = copy_staged(dev, dl, chk, &m);
    }
    if (err != ESP_OK) {
        return err;
    }
    uint8_t id[RF_JOURNAL_ID_LEN];
    dl_id(dl, id);
    dl_note(dev, dl, RF_JSTATE_COPIED, id, dl->staged_len, dl->staged_len, dl->staged_sha);   /* zero: none */
    /* The bootloader step runs last (the plan's order): after it the device
     * boots the new system, and the journal has nothing left to resume. */
    if (!dl->direct && touches_bootloader(dev, dl->dst, dl->dst_size)) {
        (void)journal_clear(dev, &m);
    }
    return ESP_OK;
}

/* ---- the embedded copy ---- */

/* Make otadata select the OTA partition `sel` (so the old bootloader boots
 * it): a new entry with the next fitting sequence number, written into the
 * sector that does not hold the newest entry (a cut leaves the old choice). */
static esp_err_t otadata_select(const rf_exec_dev_t *dev, const rf_ptable_t *t, const rf_part_t *sel, uint8_t *work,
                                size_t work_len)
{
    const rf_part_t *od = NULL;
    uint32_t n_ota = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (p->type == RF_PART_TYPE_DATA && p->subtype == RF_PART_SUBTYPE_DATA_OTA) {
            od = p;
        }
        if (p->type == RF_PART_TYPE_APP && p->subtype >= RF_PART_SUBTYPE_OTA_MIN &&
            p->subtype <= RF_PART_SUBTYPE_OTA_MAX) {
            n_ota++;
        }
    }
    if (od == NULL || od->size < 2 * RF_OTADATA_SECTOR || n_ota == 0 || work_len < RF_OTADATA_ENTRY_LEN) {
        return ESP_ERR_NOT_FOUND;
    }
    const uint32_t idx = sel->subtype - RF_PART_SUBTYPE_OTA_MIN;
    /* both entries read (in order), the newest valid one kept */
    uint32_t max_seq = 0;
    int newest = -1;
    for (int k = 0; k < 2; k++) {
        rf_otadata_entry_t e;
        esp_err_t err = rf_flash_read(dev->flash, od->offset + (uint32_t)k * RF_OTADATA_SECTOR, work,
                                      RF_OTADATA_ENTRY_LEN);
        if (err != ESP_OK) {
            return err;
        }
        rf_otadata_entry_decode(work, &e);
        if (e.valid && (newest < 0 || e.ota_seq > max_seq)) {
            max_seq = e.ota_seq;
            newest = k;
        }
    }
    if (newest >= 0 && (max_seq - 1) % n_ota == idx) {
        return ESP_OK;   /* already selected */
    }
    uint32_t seq = max_seq + 1;
    while ((seq - 1) % n_ota != idx) {
        seq++;
    }
    const uint32_t at = od->offset + (newest == 0 ? RF_OTADATA_SECTOR : 0);
    uint8_t entry[RF_OTADATA_ENTRY_LEN];
    rf_otadata_entry_encode(seq, RF_OTA_IMG_UNDEFINED, entry);
    esp_err_t err = rf_flash_erase(dev->flash, at, RF_OTADATA_SECTOR);
    if (err == ESP_OK) {
        err = rf_flash_program(dev->flash, at, entry, sizeof entry);
    }
    if (err == ESP_OK) {
        err = rf_flash_read(dev->flash, at, work, sizeof entry);
    }
    if (err == ESP_OK && memcmp(work, entry, sizeof entry) != 0) {
        err = ESP_ERR_INVALID_CRC;
    }
    if (err == ESP_OK) {
        /* Info, like the backup: writes outside the destination show in a device's default log */
        RF_LOGI(dev->log, "otadata: '%s' (seq %u)", sel->label, (unsigned)seq);
    }
    return err;
}

/* Embedded mode over the running app: keep an old bootable system while the
 * app's own region is overwritten. Copy the running app (with the embedded
 * image inside) to a free OTA partition, verify it, select it in otadata:
 * the old bootloader then boots that copy, and the copy is the source.
 * *img_addr receives where the embedded image lies in the backup. */
static esp_err_t backup_running_app(const rf_exec_dev_t *dev, const rf_part_t *run, uint32_t src, uint32_t len,
                                    uint32_t dst, uint32_t dsize, const mem_t *m, const uint8_t *blank_map,
                                    uint32_t *img_addr)
{
    esp_err_t err;
    const rf_esp_image_info_t *info = inspect_at(dev, m, run->offset, run->size);
    const uint32_t app_len = info != NULL ? info->image_len : 0;
    if (src < run->offset || past_end(src - run->offset, len, run->size)) {
        RF_LOGW(dev->log, "Image outside running app: no backup for 0x%08x", (unsigned)dst);
        return ESP_ERR_NOT_FOUND;
    }
    const uint32_t need = rf_align_up(RF_MAX(app_len, src + len - run->offset), dev->flash->sector_size);
    rf_ptable_t *t = table_in_work(m);
    err = list_table(dev, t);
    /* the plan's rule (rf_plan.c): the first OTA app partition in table
     * order that is large enough and clear of the running partition and of
     * the destination */
    rf_part_t bk;
    if (err == ESP_OK && rf_choose_backup(t, run, need, dst, dsize, &bk) != ESP_OK) {
        RF_LOGW(dev->log, "No backup partition for 0x%x B: no boot until 0x%08x copied", (unsigned)need,
                (unsigned)dst);
        err = ESP_ERR_NOT_FOUND;
    }
    if (err == ESP_OK) {
        RF_LOGI(dev->log, "Backup '%s' (0x%x B) to '%s' 0x%08x", run->label, (unsigned)need, bk.label,
                (unsigned)bk.offset);
        rf_write_stats_t ws;
        err = flash_copy(dev, run->offset, need, bk.offset, need, m, NULL, 0, blank_map, src - run->offset, len, &ws);
    }
    if (err == ESP_OK) {
        /* One verification pass: every backup sector was read back and
         * compared with the source bytes it was written from, and those
         * were hashed (sha) and judged by the engine just before; the
         * backup is not hashed again here (a resume from it is: it is
         * then the journal's word only). */
        *img_addr = bk.offset + (src - run->offset);
    }
    if (err == ESP_OK && (err = list_table(dev, t)) == ESP_OK) {   /* the write used the work area */
        err = otadata_select(dev, t, &bk, m->work, RF_BOOT_SCRATCH_LEN);
        if (err == ESP_ERR_NOT_FOUND) {
            RF_LOGW(dev->log, "No otadata: old bootloader still boots '%s'", run->label);
        }
    }
    return err;
}

esp_err_t rf_exec_embedded(const rf_exec_dev_t *dev, uint32_t src, uint32_t len, uint32_t dst, uint32_t dst_size,
                           const rf_exec_check_t *chk, void *mem, size_t mem_len)
{
    mem_t m;
    esp_err_t err = carve(dev, mem, mem_len, &m);
    if (err != ESP_OK) {
        return err;
    }
    const uint32_t dsize = rf_align_up(dst_size, dev->flash->sector_size);
    const uint32_t avoid[] = { dst, dsize, src, len };
    rf_journal_t *journal = &m.step->emb.journal;
    uint8_t *map = m.step->emb.blank_map;
    bool journal_on = journal_open(dev, journal, avoid, 2, &m);
    uint8_t id[RF_JOURNAL_ID_LEN];
    step_id("embedded", src, len, dst, dst_size, id);

    /* One read of the image: its sparse digest (the journal's proof of a
     * backup: each byte compared, the data hashed, the 0xFF sectors not),
     * its whole SHA-256 only when the caller expects one, and the map of its
     * 0xFF sectors, which the copy then does not read again. */
    uint8_t *sha = m.step->emb.sparse;
    uint8_t *want_full = chk->expect_sha256 != NULL ? m.step->emb.full : NULL;
    /* len <= 8 * sizeof blank_map * S, in 32 bits: rounded-up sectors per map bit */
    const uint32_t per_map = 8u * sizeof m.step->emb.blank_map;
    const bool mapped = len / per_map + (len % per_map != 0) <= dev->flash->sector_size;
    const rf_journal_rec_t *last = &journal->last;
    /* an earlier run backed the image up (and maybe began the copy): its
     * backup is the source, if it still hashes right and passes the checks;
     * otherwise (or with no such record) the image itself, read and judged
     * the same way */
    bool from_backup = journal_on && journal->have && memcmp(last->id, id, sizeof id) == 0 &&
                       (last->state == RF_JSTATE_BACKUP || last->state == RF_JSTATE_DONE) && last->aux_len == len;
    uint32_t img;
    for (;;) {
        img = from_backup ? last->aux_addr : src;
        err = rf_flash_digests(dev->flash, img, len, m.work, m.work_len, want_full, sha, map,
                               sizeof m.step->emb.blank_map);
        if (err == ESP_OK && from_backup && memcmp(sha, last->sha256, RF_SHA256_LEN) != 0) {
            err = ESP_ERR_INVALID_CRC;
        }
        if (err == ESP_OK) {
            err = verify_image(dev, chk, dst, dst_size, img, len, want_full, &m, NULL);
        }
        if (err == ESP_OK || !from_backup) {
            break;
        }
        from_backup = false;
    }
    if (from_backup) {
        RF_LOGD(dev->log, "Resume: source is backup 0x%08x", (unsigned)img);
    } else {
        rf_part_t run;
        if (err == ESP_OK && dev->running_partition != NULL && dev->running_partition(dev->ctx, &run) == ESP_OK &&
            rf_overlaps(dst, dsize, run.offset, run.size)) {
            uint32_t at = 0;   /* the backup must survive the copy: clear of the destination */
            esp_err_t be = backup_running_app(dev, &run, src, len, dst, dsize, &m, mapped ? map : NULL, &at);
            if (be == ESP_OK) {
                img = at;
                journal_note(dev, journal, &journal_on, RF_JSTATE_BACKUP, id, 0, len, sha, img, len, NULL);
            } else if (be != ESP_ERR_NOT_FOUND) {
                err = be;
            }
        }
    }
    if (err == ESP_OK) {
        /* the backup was compared sector by sector with the image: the map holds for it too */
        err = copy_verified(dev, img, len, dst, dst_size, &m, mapped ? map : NULL);
    }
    if (err == ESP_OK) {
        RF_LOGI(dev->log, "Data copied from address 0x%08x to region: 0x%08x", (unsigned)src, (unsigned)dst);
        (void)journal_clear(dev, &m);   /* the embedded copy is the whole migration */
    }
    return err;
}
