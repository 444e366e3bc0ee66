/*
 * The seed-compatible API (self_reflasher.h) over the portable core.
 * Every function validates first and writes last; see the header for the
 * contract of each one and DESIGN.md for the invariants.
 */
#include <stdlib.h>
#include <string.h>
#include "self_reflasher_platform.h"
#include "rf_engine.h"
#include "rf_image.h"
#include "rf_journal.h"
#include "rf_otadata.h"
#include "rf_plan.h"
#include "rf_region.h"
#include "rf_sig.h"
#include "rf_write.h"

#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#endif

/* Bytes read from the source per call (Kconfig SELF_REFLASHER_BUFFER_SIZE). */
#if defined(CONFIG_SELF_REFLASHER_BUFFER_SIZE)
#define RF_IO_CHUNK ((uint32_t)CONFIG_SELF_REFLASHER_BUFFER_SIZE)
#else
#define RF_IO_CHUNK 4096u
#endif

/* Content checks when the caller passes no verify settings (Kconfig
 * SELF_REFLASHER_VERIFY_DEFAULT; always on outside ESP-IDF). */
#if defined(ESP_PLATFORM) && !defined(CONFIG_SELF_REFLASHER_VERIFY_DEFAULT)
#define RF_VERIFY_BY_DEFAULT 0
#else
#define RF_VERIFY_BY_DEFAULT 1
#endif

/* The handle's object; the public handle type is void * (as the reference's),
 * each public function converts it at its top. */
typedef struct esp_self_reflasher_ctx rf_ctx_t;

struct esp_self_reflasher_ctx {
    const esp_self_reflasher_platform_t *pf;
    esp_self_reflasher_config_t cfg;
    rf_part_t running;
    rf_part_t staging;
    bool staged;
    uint32_t staged_len;
    uint8_t staged_sha[RF_SHA256_LEN];
    size_t work_len;
    uint8_t *work;      /* 2 sectors for the write engine + an I/O chunk */
    rf_journal_t journal;
    bool journal_on;
    char src_validator[RF_SOURCE_VALIDATOR_MAX];   /* of the download being staged: journaled with STAGING */
    bool failed;        /* fail closed: a refused call; no download or copy until a valid configuration */
};

static esp_err_t verify_image(const esp_self_reflasher_platform_t *pf, const esp_self_reflasher_config_t *cfg,
                              uint32_t addr, uint32_t len, const uint8_t sha[RF_SHA256_LEN], uint8_t *scratch,
                              size_t scratch_len);

static bool journal_open(const esp_self_reflasher_platform_t *pf, rf_journal_t *j, const uint32_t *avoid,
                         uint32_t n_avoid, uint8_t *scratch, size_t scratch_len);
static void step_id(const char *what, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint8_t id[RF_JOURNAL_ID_LEN]);

static const rf_log_t *LOG(const esp_self_reflasher_platform_t *pf)
{
    return &pf->log;
}

static esp_err_t check_platform(const esp_self_reflasher_platform_t *pf)
{
    if (pf == NULL || pf->flash == NULL || pf->flash->sector_size == 0) {
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

/* The destination must be a non-empty, sector-aligned range inside the flash. */
static esp_err_t check_dest(const esp_self_reflasher_platform_t *pf, const addr_region_t *d)
{
    const rf_flash_t *f = pf->flash;
    if (d->region_size == 0) {
        RF_LOGE(LOG(pf), "Destination region at 0x%08x is empty", (unsigned)d->region_address);
        return ESP_ERR_INVALID_ARG;
    }
    if (!rf_is_aligned(d->region_address, f->sector_size)) {
        RF_LOGE(LOG(pf), "Destination 0x%08x is not aligned to the 0x%x-byte flash sector",
                (unsigned)d->region_address, (unsigned)f->sector_size);
        return ESP_ERR_INVALID_ARG;
    }
    if (d->region_size > f->size ||   /* size_t: no truncation below */
        (uint64_t)d->region_address + rf_align_up((uint32_t)d->region_size, f->sector_size) > f->size) {
        RF_LOGE(LOG(pf), "Destination 0x%08x+0x%x ends past the end of the 0x%x-byte flash",
                (unsigned)d->region_address, (unsigned)d->region_size, (unsigned)f->size);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

/* A verification key that cannot be loaded is refused before anything is
 * downloaded or written. */
static esp_err_t check_key(const esp_self_reflasher_platform_t *pf, const esp_self_reflasher_config_t *cfg)
{
    if (cfg->verify == NULL || cfg->verify->pubkey == NULL) {
        return ESP_OK;
    }
    rf_sig_key_t *key = malloc(sizeof *key);
    esp_err_t err = key ? rf_sig_load_key(cfg->verify->pubkey, cfg->verify->pubkey_len, key) : ESP_ERR_NO_MEM;
    free(key);
    if (err != ESP_OK && err != ESP_ERR_NO_MEM) {
        RF_LOGE(LOG(pf), "The verification key cannot be loaded (%s): PEM or DER SubjectPublicKeyInfo expected",
                esp_err_to_name(err));
        return ESP_ERR_INVALID_ARG;
    }
    return err;
}

static void part_from_esp(const esp_partition_t *p, rf_part_t *out)
{
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)p->type;
    out->subtype = (uint8_t)p->subtype;
    out->offset = p->address;
    out->size = p->size;
    size_t n = strnlen(p->label, RF_PART_LABEL_MAX);
    memcpy(out->label, p->label, n);
    out->label[n] = 0;
}

static bool staging_conflicts(const esp_self_reflasher_platform_t *pf, const rf_part_t *st, const rf_part_t *run,
                              const addr_region_t *d, bool log)
{
    uint32_t dsize = rf_align_up(d->region_size, pf->flash->sector_size);
    if (rf_overlaps(st->offset, st->size, d->region_address, dsize)) {
        if (log) {
            RF_LOGE(LOG(pf), "Staging partition '%s' (0x%08x..0x%08x) overlaps the destination 0x%08x..0x%08x",
                    st->label, (unsigned)st->offset, (unsigned)(st->offset + st->size),
                    (unsigned)d->region_address, (unsigned)(d->region_address + dsize));
        }
        return true;
    }
    if (rf_overlaps(st->offset, st->size, run->offset, run->size)) {
        if (log) {
            RF_LOGE(LOG(pf), "Staging partition '%s' (0x%08x..0x%08x) overlaps the running partition '%s'",
                    st->label, (unsigned)st->offset, (unsigned)(st->offset + st->size), run->label);
        }
        return true;
    }
    return false;
}

static void eng_dev(const esp_self_reflasher_platform_t *pf, rf_eng_dev_t *dev);

/* The engine's ranges no staging may overwrite (MCUboot slots that hold an
 * image an earlier step wrote); returns how many. */
static uint32_t staging_keep(const esp_self_reflasher_platform_t *pf, uint32_t keep[4])
{
    rf_eng_dev_t dev;
    eng_dev(pf, &dev);
    rf_reader_t r;
    rf_reader_flash_t rc;
    if (rf_reader_from_flash(&r, &rc, pf->flash, 0, pf->flash->size) != ESP_OK) {
        return 0;
    }
    return rf_eng_staging_keep(&dev, &r, keep);
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

/* Validate a download-mode configuration and choose its staging partition.
 * `current` is the staging in use (NULL at init): kept when still valid. */
static esp_err_t plan_download(rf_ctx_t *h, const esp_self_reflasher_config_t *cfg,
                               const rf_part_t *current, rf_part_t *staging)
{
    const esp_self_reflasher_platform_t *pf = h->pf;
    if (cfg->http_config == NULL || cfg->http_config->url == NULL || cfg->http_config->url[0] == 0) {
        RF_LOGE(LOG(pf), "No download URL in the configuration (http_config->url)");
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = check_dest(pf, &cfg->dest_region);
    if (err != ESP_OK) {
        return err;
    }
    if ((err = check_key(pf, cfg)) != ESP_OK) {
        return err;
    }
    uint32_t dsize = rf_align_up(cfg->dest_region.region_size, pf->flash->sector_size);
    if (rf_overlaps(cfg->dest_region.region_address, dsize, h->running.offset, h->running.size)) {
        RF_LOGE(LOG(pf), "Destination 0x%08x..0x%08x overlaps the running partition '%s' (0x%08x..0x%08x): "
                "download mode cannot overwrite the code it runs from",
                (unsigned)cfg->dest_region.region_address, (unsigned)(cfg->dest_region.region_address + dsize),
                h->running.label, (unsigned)h->running.offset, (unsigned)(h->running.offset + h->running.size));
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t keep[4];
    const uint32_t n_keep = staging_keep(pf, keep);
    if (cfg->target_partition != NULL) {
        part_from_esp(cfg->target_partition, staging);
        if (staging->size == 0 || !rf_is_aligned(staging->offset, pf->flash->sector_size) ||
            (uint64_t)staging->offset + staging->size > pf->flash->size) {
            RF_LOGE(LOG(pf), "Target partition '%s' (0x%08x+0x%x) is not a usable flash range", staging->label,
                    (unsigned)staging->offset, (unsigned)staging->size);
            return ESP_ERR_INVALID_ARG;
        }
        if (staging_conflicts(pf, staging, &h->running, &cfg->dest_region, true)) {
            return ESP_ERR_INVALID_ARG;
        }
        if (overlaps_keep(staging, keep, n_keep)) {
            RF_LOGE(LOG(pf), "Target partition '%s' holds an MCUboot image in a slot the new system boots from: "
                    "staging there would destroy it", staging->label);
            return ESP_ERR_INVALID_ARG;
        }
        return ESP_OK;
    }
    if (current != NULL && !staging_conflicts(pf, current, &h->running, &cfg->dest_region, false) &&
        !overlaps_keep(current, keep, n_keep)) {
        *staging = *current;
        return ESP_OK;
    }
    /* As the reference does: an OTA app partition after the running one
     * (then the ones before it), the first that conflicts with nothing: the
     * plan's rule (rf_choose_staging), so the host tool predicts this choice. */
    rf_ptable_t *table = malloc(sizeof *table);   /* read on demand, not held by the handle */
    if (table == NULL) {
        return ESP_ERR_NO_MEM;
    }
    err = pf->list_partitions(pf->ctx, table->parts, RF_PTABLE_MAX_PARTS, &table->count);
    if (err != ESP_OK) {
        free(table);
        RF_LOGE(LOG(pf), "Cannot read the partition table: %s", esp_err_to_name(err));
        return err;
    }
    rf_plan_rule_t rule;
    esp_err_t chosen = rf_choose_staging(table, &h->running, NULL, cfg->dest_region.region_address, dsize, keep,
                                         n_keep, staging, &rule);
    free(table);
    if (chosen == ESP_OK) {
        return ESP_OK;
    }
    RF_LOGE(LOG(pf), "No OTA app partition can stage a download for 0x%08x..0x%08x without overlapping it "
            "or the running partition", (unsigned)cfg->dest_region.region_address,
            (unsigned)(cfg->dest_region.region_address + dsize));
    return ESP_ERR_NOT_FOUND;
}

static void log_plan(rf_ctx_t *h)
{
    RF_LOGI(LOG(h->pf), "src_start 0x%08x src_end 0x%08x dest_start 0x%08x dest_end 0x%08x",
            (unsigned)h->staging.offset, (unsigned)(h->staging.offset + h->staging.size),
            (unsigned)h->cfg.dest_region.region_address,
            (unsigned)(h->cfg.dest_region.region_address + h->cfg.dest_region.region_size));
    RF_LOGI(LOG(h->pf), "Staging partition '%s'; nothing is erased until the download's length is known",
            h->staging.label);
}

esp_err_t esp_self_reflasher_init_with(const esp_self_reflasher_platform_t *pf,
                                       const esp_self_reflasher_config_t *config,
                                       esp_self_reflasher_handle_t *handle)
{
    if (handle != NULL) {
        *handle = NULL;
    }
    if (config == NULL || handle == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (check_platform(pf) != ESP_OK) {
        return ESP_ERR_INVALID_STATE;
    }
    rf_ctx_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return ESP_ERR_NO_MEM;
    }
    h->pf = pf;
    h->work_len = RF_MAX(2u * pf->flash->sector_size + RF_IO_CHUNK, RF_ENG_WORK_LEN);
    h->work = malloc(h->work_len);
    if (h->work == NULL) {
        free(h);
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = pf->running_partition(pf->ctx, &h->running);
    if (err != ESP_OK && config->http_config != NULL && config->http_config->url != NULL) {
        /* No partition table: an earlier run of this migration may have
         * erased it while writing the new system. Its journal tells where
         * this step staged its image; nothing else can be planned. */
        uint8_t id[RF_JOURNAL_ID_LEN];
        step_id(config->http_config->url, config->dest_region.region_address, config->dest_region.region_size, 0, 0,
                id);
        rf_journal_t *j = &h->journal;
        if (check_dest(pf, &config->dest_region) == ESP_OK && journal_open(pf, j, NULL, 0, h->work, h->work_len) &&
            j->have && memcmp(j->last.id, id, sizeof id) == 0 && j->last.state >= RF_JSTATE_STAGING &&
            j->last.state <= RF_JSTATE_COPIED && j->last.aux_len > 0 &&
            (uint64_t)j->last.aux_addr + j->last.aux_len <= pf->flash->size &&
            !rf_overlaps(j->last.aux_addr, j->last.aux_len, config->dest_region.region_address,
                         config->dest_region.region_size)) {
            memset(&h->running, 0, sizeof h->running);
            memset(&h->staging, 0, sizeof h->staging);
            h->staging.offset = j->last.aux_addr;
            h->staging.size = j->last.aux_len;
            memcpy(h->staging.label, "(journal)", 10);
            RF_LOGW(LOG(pf), "No partition table (an interrupted run erased it): resuming this step from the "
                    "journal, staging at 0x%08x", (unsigned)h->staging.offset);
            err = ESP_OK;
        } else {
            RF_LOGE(LOG(pf), "Cannot tell which partition is running: %s", esp_err_to_name(err));
        }
    } else if (err != ESP_OK) {
        RF_LOGE(LOG(pf), "Cannot tell which partition is running: %s", esp_err_to_name(err));
    } else {
        err = plan_download(h, config, NULL, &h->staging);
    }
    if (err != ESP_OK) {
        esp_self_reflasher_deinit(h);
        return err;
    }
    h->cfg = *config;
    log_plan(h);
    *handle = h;
    return ESP_OK;
}

esp_err_t esp_self_reflasher_init(const esp_self_reflasher_config_t *config, esp_self_reflasher_handle_t *handle)
{
    return esp_self_reflasher_init_with(esp_self_reflasher_default_platform(), config, handle);
}

void esp_self_reflasher_deinit(esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    if (h != NULL) {
        free(h->work);
        free(h);
    }
}

size_t esp_self_reflasher_get_downloaded_len(esp_self_reflasher_handle_t handle)
{
    const rf_ctx_t *h = handle;
    return (h != NULL && h->staged) ? h->staged_len : 0;
}


/* Journal progress every this many staged bytes (one page program each). */
#define RF_JOURNAL_EVERY 0x10000u

/* Open the journal for a step whose regions are given (pairs), if the
 * platform has one and it overlaps none of them. */
static bool journal_open(const esp_self_reflasher_platform_t *pf, rf_journal_t *j, const uint32_t *avoid,
                         uint32_t n_avoid, uint8_t *scratch, size_t scratch_len)
{
    const uint32_t S = pf->flash->sector_size, len = RF_JOURNAL_SECTORS * S;
    if (pf->journal_addr == ESP_SELF_REFLASHER_NO_JOURNAL || pf->flash->size < len) {
        return false;
    }
    uint32_t at = pf->journal_addr ? pf->journal_addr : pf->flash->size - len;
    for (uint32_t i = 0; i < n_avoid; i++) {
        if (rf_overlaps(at, len, avoid[2 * i], avoid[2 * i + 1])) {
            RF_LOGW(LOG(pf), "Journal 0x%08x..0x%08x overlaps a region of this step: no resume for it",
                    (unsigned)at, (unsigned)(at + len));
            return false;
        }
    }
    if (pf->journal_addr == 0) {
        /* automatic place: only where no partition lies */
        rf_ptable_t *t = malloc(sizeof *t);
        bool table = t != NULL && pf->list_partitions(pf->ctx, t->parts, RF_PTABLE_MAX_PARTS, &t->count) == ESP_OK;
        bool clear = table;
        for (uint32_t i = 0; clear && i < t->count; i++) {
            clear = !rf_overlaps(at, len, t->parts[i].offset, t->parts[i].size);
        }
        free(t);
        if (!table) {
            /* No readable table (an interrupted run erased it on its way to
             * the new system): the journal is used only if it is there. */
            return rf_journal_open(j, pf->flash, at, scratch, scratch_len) == ESP_OK && j->have;
        }
        if (!clear) {
            return false;
        }
    }
    return rf_journal_open(j, pf->flash, at, scratch, scratch_len) == ESP_OK;
}

/* Leave no trace: when the migration is complete its journal is erased, so
 * the flash outside the destinations is what the plan declared. Only an area
 * that holds this component's journal records is erased (never data that
 * merely lies where a journal could be). */
static esp_err_t journal_clear(const esp_self_reflasher_platform_t *pf, uint8_t *scratch, size_t scratch_len)
{
    const uint32_t S = pf->flash->sector_size, len = RF_JOURNAL_SECTORS * S;
    if (pf->journal_addr == ESP_SELF_REFLASHER_NO_JOURNAL || pf->flash->size < len) {
        return ESP_OK;
    }
    uint32_t at = pf->journal_addr ? pf->journal_addr : pf->flash->size - len;
    rf_journal_t j;
    if (rf_journal_open(&j, pf->flash, at, scratch, scratch_len) != ESP_OK || !j.have) {
        return ESP_OK;
    }
    esp_err_t err = ESP_OK;
    for (uint32_t k = 0; k < RF_JOURNAL_SECTORS && err == ESP_OK; k++) {
        if ((err = rf_flash_read(pf->flash, at + k * S, scratch, S)) == ESP_OK && !rf_is_blank(scratch, S)) {
            err = rf_flash_erase(pf->flash, at + k * S, S);
        }
    }
    if (err == ESP_OK) {
        RF_LOGI(LOG(pf), "Migration complete: journal 0x%08x..0x%08x erased", (unsigned)at, (unsigned)(at + len));
    } else {
        RF_LOGW(LOG(pf), "Journal 0x%08x could not be erased: %s", (unsigned)at, esp_err_to_name(err));
    }
    return err;
}

esp_err_t esp_self_reflasher_finish_with(const esp_self_reflasher_platform_t *pf)
{
    if (check_platform(pf) != ESP_OK) {
        return ESP_ERR_INVALID_STATE;
    }
    uint8_t *scratch = malloc(pf->flash->sector_size);
    if (scratch == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = journal_clear(pf, scratch, pf->flash->sector_size);
    free(scratch);
    return err;
}

esp_err_t esp_self_reflasher_finish(void)
{
    return esp_self_reflasher_finish_with(esp_self_reflasher_default_platform());
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

static void journal_note(rf_ctx_t *h, rf_jstate_t state, const uint8_t id[RF_JOURNAL_ID_LEN],
                         uint32_t progress, uint32_t total, const uint8_t *sha, uint32_t aux, uint32_t aux_len)
{
    if (!h->journal_on) {
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
    if (state == RF_JSTATE_STAGING) {
        memcpy(r.validator, h->src_validator, sizeof r.validator);
    }
    esp_err_t err = rf_journal_append(&h->journal, &r);
    if (err != ESP_OK) {
        RF_LOGW(LOG(h->pf), "Journal write failed (%s): continuing without resume", esp_err_to_name(err));
        h->journal_on = false;
    }
}

static esp_err_t stream_source(rf_ctx_t *h, rf_source_t *src, rf_stream_t *st, int64_t total,
                               const uint8_t id[RF_JOURNAL_ID_LEN])
{
    uint32_t journaled = rf_stream_flushed(st);
    const size_t S = h->pf->flash->sector_size;
    uint8_t *io = h->work + 2 * S;
    for (;;) {
        uint32_t got = 0;
        esp_err_t err = src->read(src->ctx, io, RF_IO_CHUNK, &got);
        if (err != ESP_OK) {
            RF_LOGE(LOG(h->pf), "Download from %s failed after %u bytes: %s", src->name ? src->name : "source",
                    (unsigned)st->offset, esp_err_to_name(err));
            return err;
        }
        if (got == 0) {
            break;
        }
        if ((err = rf_stream_write(st, io, got)) != ESP_OK) {
            return err;
        }
        uint32_t flushed = rf_stream_flushed(st) / RF_JOURNAL_EVERY * RF_JOURNAL_EVERY;
        if (flushed > journaled) {
            journaled = flushed;
            journal_note(h, RF_JSTATE_STAGING, id, flushed, total > 0 ? (uint32_t)total : 0, NULL,
                         h->staging.offset, h->staging.size);
        }
    }
    if (total >= 0 && st->offset != (uint64_t)total) {
        RF_LOGE(LOG(h->pf), "Download ended after %llu of %lld bytes", (unsigned long long)st->offset, (long long)total);
        return ESP_ERR_HTTP_INCOMPLETE_DATA;
    }
    if (st->offset == 0) {
        RF_LOGE(LOG(h->pf), "Downloaded image is empty");
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* Open the source (at io->offset when it proves the same object) and check
 * the announced length. */
static esp_err_t open_checked(rf_ctx_t *h, rf_source_t *src, rf_source_open_t *io)
{
    const esp_self_reflasher_platform_t *pf = h->pf;
    int64_t *total = &io->total;
    esp_err_t err = rf_source_open_at(src, io);
    if (err != ESP_OK) {
        RF_LOGE(LOG(pf), "Cannot fetch %s: %s", h->cfg.http_config->url, esp_err_to_name(err));
        return err;
    }
    /* The length decides before anything is erased. */
    uint32_t limit = RF_MIN(h->staging.size, h->cfg.dest_region.region_size);
    if (*total == 0 || (*total > 0 && (uint64_t)*total > limit)) {
        if (*total == 0) {
            RF_LOGE(LOG(pf), "%s announces an empty image", h->cfg.http_config->url);
        } else if ((uint64_t)*total > h->staging.size) {
            RF_LOGE(LOG(pf), "Image of %lld bytes does not fit the staging partition '%s' (0x%x bytes); nothing erased",
                    (long long)*total, h->staging.label, (unsigned)h->staging.size);
        } else {
            RF_LOGE(LOG(pf), "Image of %lld bytes does not fit the destination region 0x%08x (0x%x bytes); nothing erased",
                    (long long)*total, (unsigned)h->cfg.dest_region.region_address,
                    (unsigned)h->cfg.dest_region.region_size);
        }
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* Fail closed (not the reference's behaviour): after a refused call the
 * handle takes no download or copy until a valid configuration is set, so a
 * caller that ignores a return value never gets a success for a step it did
 * not ask for. The work buffer is freed at once: a caller that never calls
 * deinit (the reference frees the handle itself on its failure paths) then
 * leaves only the handle's own bytes. */
static void fail_closed(rf_ctx_t *h)
{
    h->failed = true;
    h->staged = false;
    free(h->work);
    h->work = NULL;
}

static esp_err_t usable(rf_ctx_t *h, const char *what)
{
    if (h->failed) {
        RF_LOGE(LOG(h->pf), "%s refused: an earlier call on this handle failed; set a valid configuration first "
                "(esp_self_reflasher_upd_next_config)", what);
        return ESP_ERR_INVALID_STATE;
    }
    if (h->work == NULL && (h->work = malloc(h->work_len)) == NULL) {
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}

static esp_err_t download_bin(rf_ctx_t *h);
static esp_err_t copy_to_region(rf_ctx_t *h);

esp_err_t esp_self_reflasher_download_bin(esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = usable(h, "Download");
    if (err == ESP_OK && (err = download_bin(h)) != ESP_OK) {
        fail_closed(h);
    }
    return err;
}

esp_err_t esp_self_reflasher_copy_to_region(esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = usable(h, "Copy");
    if (err == ESP_OK && (err = copy_to_region(h)) != ESP_OK) {
        fail_closed(h);
    }
    return err;
}

static esp_err_t download_bin(rf_ctx_t *h)
{
    const esp_self_reflasher_platform_t *pf = h->pf;
    const uint32_t S = pf->flash->sector_size;
    h->staged = false;

    /* The journal says what an earlier run of this same step achieved. */
    uint8_t id[RF_JOURNAL_ID_LEN];
    step_id(h->cfg.http_config->url, h->cfg.dest_region.region_address, h->cfg.dest_region.region_size, 0, 0, id);
    const uint32_t avoid[] = { h->cfg.dest_region.region_address, rf_align_up(h->cfg.dest_region.region_size, S),
                               h->staging.offset, h->staging.size, h->running.offset, h->running.size };
    h->journal_on = journal_open(pf, &h->journal, avoid, 3, h->work, h->work_len);
    uint32_t resume_at = 0;
    rf_journal_rec_t staging_rec;   /* this step's STAGING record, if any */
    bool have_staging = false;
    const rf_journal_rec_t *last = &h->journal.last;
    if (h->journal_on && h->journal.have && memcmp(last->id, id, sizeof id) == 0) {
        bool same_staging = last->aux_addr == h->staging.offset;
        if (!same_staging) {
            /* another staging partition than before: start over */
        } else if ((last->state == RF_JSTATE_STAGED || last->state == RF_JSTATE_COPIED) && last->total > 0 &&
            last->total <= h->staging.size) {
            uint8_t sha[RF_SHA256_LEN];
            /* The journal is a hint: the staged bytes must still hash to
             * what it recorded AND pass this configuration's checks (its
             * expected digest, key and destination rules) on the flash as
             * it is now; anything else is downloaded again. */
            if (rf_flash_sha256(pf->flash, h->staging.offset, last->total, h->work, h->work_len, sha) == ESP_OK &&
                memcmp(sha, last->sha256, sizeof sha) == 0 &&
                verify_image(pf, &h->cfg, h->staging.offset, last->total, sha, h->work, h->work_len) == ESP_OK) {
                RF_LOGI(LOG(pf), "Image already staged in '%s' (journal) and verified again: not downloaded again",
                        h->staging.label);
                h->staged = true;
                h->staged_len = last->total;
                memcpy(h->staged_sha, sha, sizeof sha);
                return ESP_OK;
            }
        } else if (last->state == RF_JSTATE_STAGING) {
            staging_rec = *last;
            have_staging = true;
        }
    }

    rf_source_t src;
    memset(&src, 0, sizeof src);
    esp_err_t err = pf->make_source(pf->ctx, h->cfg.http_config, &src);
    if (err != ESP_OK) {
        RF_LOGE(LOG(pf), "Cannot create a client for %s: %s", h->cfg.http_config->url, esp_err_to_name(err));
        return err;
    }
    /* Resume only what the source proves to be the same file (rf_resume_decide). */
    rf_source_open_t io;
    memset(&io, 0, sizeof io);
    io.offset = rf_resume_offset(have_staging ? &staging_rec : NULL, S);
    io.if_range = io.offset > 0 ? staging_rec.validator : NULL;
    err = open_checked(h, &src, &io);
    /* A failed resume request is retried from byte 0, unless time ran out
     * (the staged part then stays for the next run). */
    rf_resume_t how = err == ESP_OK ? rf_resume_decide(have_staging ? &staging_rec : NULL, &io)
                      : (io.offset > 0 && err != ESP_ERR_TIMEOUT) ? RF_RESUME_REOPEN : RF_RESUME_RESTARTED;
    if (io.offset > 0 && how != RF_RESUME_CONTINUE && (err == ESP_OK || how == RF_RESUME_REOPEN)) {
        RF_LOGW(LOG(pf), "Cannot resume at byte %u (the file changed, has no validator or the range was wrong): "
                "starting over", (unsigned)io.offset);
    }
    if (how == RF_RESUME_REOPEN) {
        src.close(src.ctx);
        memset(&io, 0, sizeof io);
        err = open_checked(h, &src, &io);
    }
    if (err != ESP_OK) {
        src.close(src.ctx);
        pf->free_source(pf->ctx, &src);
        return err;
    }
    int64_t total = io.total;
    memcpy(h->src_validator, io.validator, sizeof h->src_validator);
    if (how == RF_RESUME_CONTINUE) {
        resume_at = io.offset;
        RF_LOGI(LOG(pf), "Resuming the download at byte %u of %lld (journal, validator %s)", (unsigned)resume_at,
                (long long)total, io.validator);
    } else if (have_staging && staging_rec.progress > 0) {
        journal_note(h, RF_JSTATE_NONE, id, 0, 0, NULL, 0, 0);   /* the staged bytes are no longer a resume point */
    }
    uint32_t limit = RF_MIN(h->staging.size, h->cfg.dest_region.region_size);
    rf_stream_t st;
    err = rf_stream_init(&st, pf->flash, h->staging.offset, h->staging.size, limit, total > 0 ? (uint32_t)total : 0,
                         h->work, 2u * S, LOG(pf));
    if (err == ESP_OK && resume_at > 0) {
        err = rf_stream_resume(&st, resume_at);
    }
    if (err == ESP_OK) {
        err = stream_source(h, &src, &st, total, id);
    }
    uint8_t sha[RF_SHA256_LEN];
    if (err == ESP_OK) {
        err = rf_stream_finish(&st, sha);
    }
    src.close(src.ctx);
    pf->free_source(pf->ctx, &src);
    RF_LOGI(LOG(pf), "Connection closed");
    if (err != ESP_OK) {
        /* Only a transfer that failed (the network, a timeout) leaves a
         * resumable part; an image refused for what it is (too long, an
         * endless body, a wrong digest) is erased again. */
        bool transfer_failed = err != ESP_ERR_INVALID_SIZE && err != ESP_ERR_INVALID_CRC &&
                               err != RF_ERR_IMAGE_INVALID && err != ESP_ERR_INVALID_ARG;
        if (transfer_failed && h->journal_on && h->src_validator[0] != 0 &&
            rf_stream_flushed(&st) >= RF_JOURNAL_EVERY) {
            RF_LOGW(LOG(pf), "Download incomplete: %u bytes stay staged for a resume (journal)",
                    (unsigned)(rf_stream_flushed(&st) / RF_JOURNAL_EVERY * RF_JOURNAL_EVERY));
        } else {
            rf_stream_rollback(&st);
        }
        return err;
    }
    RF_LOGI(LOG(pf), "Staging writes: %u sectors erased, %u blocks erased, %u sectors kept, %u pages programmed",
            (unsigned)st.stats.sectors_erased, (unsigned)st.stats.blocks_erased, (unsigned)st.stats.sectors_same,
            (unsigned)st.stats.pages_programmed);
    RF_LOGI(LOG(pf), "Total downloaded binary length: %u (0x%x)", (unsigned)st.offset, (unsigned)st.offset);
    err = verify_image(pf, &h->cfg, h->staging.offset, st.offset, sha, h->work, h->work_len);
    if (err != ESP_OK) {
        RF_LOGE(LOG(pf), "Downloaded image refused; the destination was not touched and the staged copy is erased");
        if (resume_at > 0) {
            /* a resumed image that fails may mix two versions: erase it all */
            st.touched_lo = 0;
        }
        rf_stream_rollback(&st);
        journal_note(h, RF_JSTATE_NONE, id, 0, 0, NULL, 0, 0);
        return err;
    }
    journal_note(h, RF_JSTATE_STAGED, id, st.offset, st.offset, sha, h->staging.offset, h->staging.size);
    h->staged = true;
    h->staged_len = st.offset;
    memcpy(h->staged_sha, sha, sizeof sha);
    RF_LOGI(LOG(pf), "File downloaded successfully");
    return ESP_OK;
}


/* The engine's verdict as one log line: what was refused, and where. */
static void log_verdict(const esp_self_reflasher_platform_t *pf, const addr_region_t *d, const rf_eng_verdict_t *v)
{
    if (v->rule == RF_ENG_OK && v->before_brick) {
        RF_LOGW(LOG(pf), "The flash boots nothing now (boot model); the write to 0x%08x is off the boot path and "
                "allowed", (unsigned)d->region_address);
    }
    if (v->rule == RF_ENG_OK) {
        if (v->content == RF_ENG_CONTENT_MCUBOOT) {
            RF_LOGI(LOG(pf), "Verified MCUboot image %u.%u.%u for 0x%08x: SHA-256 TLV good%s; the flash after it boots "
                    "(%s)", v->mcu_ver_major, v->mcu_ver_minor, v->mcu_ver_revision, (unsigned)d->region_address,
                    v->signature_ok ? ", signature good" : "", rf_boot_result_name(v->end.result));
        } else if (v->content != RF_ENG_CONTENT_NONE) {
            RF_LOGI(LOG(pf), "Verified ESP %s for chip id %u for 0x%08x: %u segments, checksum and SHA-256 good; the "
                    "flash after it boots (%s)", v->content == RF_ENG_CONTENT_ESP_APP ? "app" : "bootloader",
                    (unsigned)v->chip_id, (unsigned)d->region_address, (unsigned)v->segments,
                    rf_boot_result_name(v->end.result));
        } else {
            RF_LOGI(LOG(pf), "Verified the write to 0x%08x: the flash after it boots (%s)", (unsigned)d->region_address,
                    rf_boot_result_name(v->end.result));
        }
        return;
    }
    if (v->rule == RF_ENG_PTABLE) {
        RF_LOGE(LOG(pf), "Image for 0x%08x refused: %s: %s", (unsigned)d->region_address, rf_eng_rule_str(v->rule),
                rf_eng_pt_why_str((rf_eng_pt_why_t)v->detail));
    } else if (v->rule == RF_ENG_END_BRICK || v->rule == RF_ENG_END_RECOVERY) {
        RF_LOGE(LOG(pf), "Image for 0x%08x refused: %s (boot model: %s, stops at 0x%x)", (unsigned)d->region_address,
                rf_eng_rule_str(v->rule), rf_boot_loader_name(v->end.bootloader), (unsigned)v->end.err_at);
    } else if (v->img_err != RF_IMG_OK) {
        RF_LOGE(LOG(pf), "Image for 0x%08x refused: %s: %s (at offset 0x%x)", (unsigned)d->region_address,
                rf_eng_rule_str(v->rule), rf_img_err_str((rf_img_err_t)v->img_err), (unsigned)v->err_offset);
    } else {
        RF_LOGE(LOG(pf), "Image for 0x%08x refused: %s (checked at 0x%08x)", (unsigned)d->region_address,
                rf_eng_rule_str(v->rule), (unsigned)v->at);
    }
}

static rf_dest_kind_t declared_kind(esp_self_reflasher_image_kind_t k)
{
    switch (k) {
    case ESP_SELF_REFLASHER_IMAGE_ESP_BOOTLOADER: return RF_DEST_BOOTLOADER;
    case ESP_SELF_REFLASHER_IMAGE_ESP_APP: return RF_DEST_ESP_APP;
    case ESP_SELF_REFLASHER_IMAGE_MCUBOOT: return RF_DEST_MCUBOOT_SLOT;
    default: return RF_DEST_RAW;
    }
}

/* The device as the engine's rules see it. */
static void eng_dev(const esp_self_reflasher_platform_t *pf, rf_eng_dev_t *dev)
{
    memset(dev, 0, sizeof *dev);
    dev->chip_id = pf->chip_id;
    dev->ptable_offset = pf->ptable_offset;
    dev->boot.recovery_offset = pf->recovery_bootloader_addr;
    dev->boot.primary_slot = pf->mcuboot_primary_slot;
    dev->boot.secondary_slot = pf->mcuboot_secondary_slot;
    dev->boot.primary_size = pf->mcuboot_slot_size;
    dev->boot.secondary_size = pf->mcuboot_slot_size;
}

/* Verify the image at [addr, addr + len) of the flash for its destination,
 * with the engine's rules, before anything is written there: the write is
 * laid over the current flash and judged by what the flash would hold
 * (rf_engine.h). sha is the image's SHA-256 (hashed once, on its way in). */
static esp_err_t verify_image(const esp_self_reflasher_platform_t *pf, const esp_self_reflasher_config_t *cfg,
                              uint32_t addr, uint32_t len, const uint8_t sha[RF_SHA256_LEN], uint8_t *scratch,
                              size_t scratch_len)
{
    const esp_self_reflasher_verify_t *v = cfg->verify;
    const addr_region_t *d = &cfg->dest_region;
    if ((v != NULL && v->skip_content_checks) || (v == NULL && !RF_VERIFY_BY_DEFAULT)) {
        RF_LOGW(LOG(pf), "Content checks turned OFF by the caller for 0x%08x: the image is written unverified",
                (unsigned)d->region_address);
        return ESP_OK;
    }
    if (scratch_len < RF_ENG_WORK_LEN) {
        return ESP_ERR_NO_MEM;
    }
    /* The engine's inputs and verdict on the heap, not the stack (budget). */
    struct eng_call {
        rf_eng_verdict_t verdict;
        rf_sig_key_t key;
        rf_vflash_t vf;
        rf_reader_t whole, src;
        rf_reader_flash_t whole_c, src_c;
        rf_eng_dev_t dev;
        rf_eng_write_t w;
    } *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = ESP_OK;
    const rf_sig_key_t *key = NULL;
    if (v != NULL && v->pubkey != NULL) {
        err = rf_sig_load_key(v->pubkey, v->pubkey_len, &c->key);
        key = &c->key;
        if (err != ESP_OK) {
            RF_LOGE(LOG(pf), "The verification key cannot be loaded: %s", esp_err_to_name(err));
        }
    }
    if (err == ESP_OK) {
        err = rf_reader_from_flash(&c->whole, &c->whole_c, pf->flash, 0, pf->flash->size);
    }
    if (err == ESP_OK) {
        err = rf_reader_from_flash(&c->src, &c->src_c, pf->flash, addr, len);
    }
    if (err == ESP_OK) {
        eng_dev(pf, &c->dev);
        c->vf.base = &c->whole;
        esp_self_reflasher_image_kind_t k = v ? v->kind : ESP_SELF_REFLASHER_IMAGE_AUTO;
        c->w = (rf_eng_write_t){
            .dst = d->region_address, .dst_size = rf_align_up(d->region_size, pf->flash->sector_size), .len = len,
            .slot_size = (uint32_t)d->region_size,
            .src = &c->src, .src_sha256 = sha, .expect_sha256 = v ? v->sha256 : NULL, .declared = declared_kind(k),
            .declared_raw = k == ESP_SELF_REFLASHER_IMAGE_RAW, .key = key,
        };
        err = rf_eng_check_write(&c->dev, &c->vf, &c->w, scratch, scratch_len, &c->verdict);
        if (err == ESP_OK || err == RF_ERR_IMAGE_INVALID || err == ESP_ERR_INVALID_CRC) {
            log_verdict(pf, d, &c->verdict);
        }
    }
    free(c);
    return err;
}

/* The ranges a copy writes last, to keep the old boot chain alive as long as
 * possible: the second-stage bootloader's sectors (the only unavoidable
 * window), then the partition table and otadata (the old bootloader needs
 * them; a new bootloader does not). Returns the number of ranges. */
static uint32_t boot_deferred(const esp_self_reflasher_platform_t *pf, uint32_t out[2 * RF_WRITE_MAX_DEFERRED])
{
    uint32_t n = 0;
    uint32_t pt = pf->ptable_offset ? pf->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    if (pf->chip_id != 0xFFFF) {
        uint32_t bl = rf_esp_chip_bootloader_offset(pf->chip_id);
        if (pt > bl) {
            out[2 * n] = bl;
            out[2 * n + 1] = pt - bl;
            n++;
        }
    }
    out[2 * n] = pt;
    out[2 * n + 1] = 0x1000;
    n++;
    rf_ptable_t *t = malloc(sizeof *t);
    if (t != NULL && pf->list_partitions(pf->ctx, t->parts, RF_PTABLE_MAX_PARTS, &t->count) == ESP_OK) {
        for (uint32_t i = 0; i < t->count && n < RF_WRITE_MAX_DEFERRED; i++) {
            if (t->parts[i].type == RF_PART_TYPE_DATA && t->parts[i].subtype == RF_PART_SUBTYPE_DATA_OTA) {
                out[2 * n] = t->parts[i].offset;
                out[2 * n + 1] = t->parts[i].size;
                n++;
            }
        }
    }
    free(t);
    return n;
}

/* On chips whose ROM falls back to a recovery bootloader: when the copy
 * rewrites the second-stage bootloader's sectors, write the new bootloader
 * (the ESP image the copy puts at the bootloader offset) at the recovery
 * address first, and verify it. The ROM then boots it whenever the primary
 * is half-written: no window at all. */
static esp_err_t write_recovery_copy(const esp_self_reflasher_platform_t *pf, uint32_t src, uint32_t len,
                                     const addr_region_t *dest, uint8_t *work, size_t work_len)
{
    const uint32_t rec = pf->recovery_bootloader_addr, S = pf->flash->sector_size;
    if (rec == 0 || pf->chip_id == 0xFFFF) {
        return ESP_OK;
    }
    uint32_t bl = rf_esp_chip_bootloader_offset(pf->chip_id);
    uint32_t pt = pf->ptable_offset ? pf->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    if (pt <= bl || !rf_overlaps(dest->region_address, dest->region_size, bl, pt - bl) ||
        dest->region_address > bl || bl - dest->region_address >= len) {
        return ESP_OK;
    }
    uint32_t off = bl - dest->region_address;
    rf_esp_image_info_t *info = malloc(sizeof *info);
    if (info == NULL) {
        return ESP_ERR_NO_MEM;
    }
    rf_reader_t r;
    rf_reader_flash_t rctx;
    uint32_t bl_len = 0;
    if (rf_reader_from_flash(&r, &rctx, pf->flash, src + off, len - off) == ESP_OK &&
        rf_esp_image_inspect(&r, work, work_len, info) == ESP_OK && info->kind == RF_ESP_KIND_BOOTLOADER) {
        bl_len = info->image_len;
    }
    free(info);
    uint32_t size = rf_align_up(bl_len, S);
    if (bl_len == 0 || !rf_is_aligned(rec, S) || (uint64_t)rec + size > pf->flash->size ||
        rf_overlaps(rec, size, dest->region_address, dest->region_size) || rf_overlaps(rec, size, src, len) ||
        rf_overlaps(rec, size, pf->flash->size - RF_JOURNAL_SECTORS * S, RF_JOURNAL_SECTORS * S)) {
        RF_LOGW(LOG(pf), "No recovery copy of the new bootloader at 0x%08x (no bootloader image, or the area is in "
                "use): the bootloader's sectors are a window", (unsigned)rec);
        return ESP_OK;
    }
    RF_LOGI(LOG(pf), "Writing the new bootloader (0x%x bytes) at the recovery address 0x%08x first: the ROM boots it "
            "while 0x%08x is rewritten", (unsigned)bl_len, (unsigned)rec, (unsigned)bl);
    rf_flash_reader_t rd = { .flash = pf->flash, .base = src + off };
    rf_region_write_t w = { .flash = pf->flash, .dst = rec, .dst_size = size, .len = bl_len,
                            .read = rf_flash_reader_read, .read_arg = &rd, .src_addr = src + off, .src_in_flash = 1,
                            .work = work, .work_len = work_len, .log = LOG(pf) };
    rf_write_stats_t ws;
    return rf_region_write(&w, &ws);
}

/* Write dest_region from an image already in flash at src (memmove-safe),
 * then read the image back and compare its SHA-256 with `sha`. */
static esp_err_t copy_verified(const esp_self_reflasher_platform_t *pf, uint32_t src, uint32_t len,
                               const addr_region_t *dest, const uint8_t sha[RF_SHA256_LEN], uint8_t *work,
                               size_t work_len)
{
    esp_err_t err = write_recovery_copy(pf, src, len, dest, work, work_len);
    if (err != ESP_OK) {
        return err;
    }
    rf_flash_reader_t rd = { .flash = pf->flash, .base = src };
    uint32_t deferred[2 * RF_WRITE_MAX_DEFERRED];
    uint32_t n_def = boot_deferred(pf, deferred);
    rf_region_write_t w = {
        .flash = pf->flash, .dst = dest->region_address, .dst_size = dest->region_size, .len = len,
        .read = rf_flash_reader_read, .read_arg = &rd, .src_addr = src, .src_in_flash = 1,
        .work = work, .work_len = work_len, .log = LOG(pf), .deferred = deferred, .deferred_count = n_def,
    };
    rf_write_stats_t ws;
    err = rf_region_write(&w, &ws);
    if (err != ESP_OK) {
        return err;
    }
    RF_LOGI(LOG(pf), "Destination 0x%08x..0x%08x: %u sectors already right, %u programmed without erase, "
            "%u sector erases, %u block erases, %u pages programmed",
            (unsigned)dest->region_address, (unsigned)(dest->region_address + rf_align_up(dest->region_size, pf->flash->sector_size)),
            (unsigned)ws.sectors_same, (unsigned)ws.sectors_program_only, (unsigned)ws.sectors_erased,
            (unsigned)ws.blocks_erased, (unsigned)ws.pages_programmed);
    /* One verification pass (issue 11): every sector written was read back
     * and compared with the bytes it was written from (rf_region_write), and
     * the source was hashed against `sha` just before the copy; the
     * destination is not hashed a second time. */
    (void)sha;
    return ESP_OK;
}

static esp_err_t copy_to_region(rf_ctx_t *h)
{
    const esp_self_reflasher_platform_t *pf = h->pf;
    if (!h->staged) {
        RF_LOGE(LOG(pf), "Nothing staged: call esp_self_reflasher_download_bin() first");
        return ESP_ERR_INVALID_STATE;
    }
    const addr_region_t *d = &h->cfg.dest_region;
    if (h->staged_len > d->region_size) {
        RF_LOGE(LOG(pf), "Image of %u bytes does not fit the destination region 0x%08x (0x%x bytes)",
                (unsigned)h->staged_len, (unsigned)d->region_address, (unsigned)d->region_size);
        return ESP_ERR_INVALID_SIZE;
    }
    uint8_t sha[RF_SHA256_LEN];
    esp_err_t err = rf_flash_sha256(pf->flash, h->staging.offset, h->staged_len, h->work, h->work_len, sha);
    if (err != ESP_OK) {
        return err;
    }
    if (memcmp(sha, h->staged_sha, sizeof sha) != 0) {
        RF_LOGE(LOG(pf), "Staged image in '%s' no longer matches what was downloaded; destination untouched",
                h->staging.label);
        return ESP_ERR_INVALID_CRC;
    }
    /* Re-verify before every copy: the flash may have changed since the
     * download (other steps ran), and the end state is judged on it now. */
    if ((err = verify_image(pf, &h->cfg, h->staging.offset, h->staged_len, sha, h->work, h->work_len)) != ESP_OK) {
        RF_LOGE(LOG(pf), "Staged image refused before the copy; destination untouched");
        return err;
    }
    RF_LOGI(LOG(pf), "Starting copy 0x%08x bytes from address 0x%08x to address 0x%08x", (unsigned)h->staged_len,
            (unsigned)h->staging.offset, (unsigned)d->region_address);
    err = copy_verified(pf, h->staging.offset, h->staged_len, d, h->staged_sha, h->work, h->work_len);
    if (err != ESP_OK) {
        return err;
    }
    RF_LOGI(LOG(pf), "Data copied from partition address 0x%08x offset 0x%08x to region: 0x%08x",
            (unsigned)h->staging.offset, 0u, (unsigned)d->region_address);
    if (h->journal_on) {
        uint8_t id[RF_JOURNAL_ID_LEN];
        step_id(h->cfg.http_config->url, d->region_address, d->region_size, 0, 0, id);
        journal_note(h, RF_JSTATE_COPIED, id, h->staged_len, h->staged_len, h->staged_sha, h->staging.offset,
                     h->staging.size);
    }
    /* The bootloader step runs last (the plan's order): after it the device
     * boots the new system, and the journal has nothing left to resume. */
    const uint32_t pt = pf->ptable_offset ? pf->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    if (pf->chip_id != 0xFFFF &&
        rf_overlaps(d->region_address, rf_align_up(d->region_size, pf->flash->sector_size),
                    rf_esp_chip_bootloader_offset(pf->chip_id), pt - rf_esp_chip_bootloader_offset(pf->chip_id))) {
        (void)journal_clear(pf, h->work, h->work_len);
    }
    return ESP_OK;
}

esp_err_t esp_self_reflasher_upd_next_config(const esp_self_reflasher_config_t *config,
                                             esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    if (config == NULL || h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_LOGI(LOG(h->pf), "Updating configuration for next download");
    rf_part_t staging;
    esp_err_t err = plan_download(h, config, &h->staging, &staging);
    if (err != ESP_OK) {
        RF_LOGE(LOG(h->pf), "Next configuration refused: no download or copy until a valid one is set");
        fail_closed(h);
        return err;
    }
    h->cfg = *config;
    h->staging = staging;
    h->staged = false;
    h->failed = false;   /* a valid configuration reopens the handle */
    log_plan(h);
    return ESP_OK;
}

/* Make otadata select the OTA partition `sel` (so the old bootloader boots
 * it): a new entry with the next fitting sequence number, written into the
 * sector that does not hold the newest entry (a cut leaves the old choice). */
static esp_err_t otadata_select(const esp_self_reflasher_platform_t *pf, const rf_ptable_t *t, const rf_part_t *sel,
                                uint8_t *work, size_t work_len)
{
    const rf_part_t *od = NULL;
    uint32_t n_ota = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (p->type == RF_PART_TYPE_DATA && p->subtype == RF_PART_SUBTYPE_DATA_OTA) {
            od = p;
        }
        if (p->type == RF_PART_TYPE_APP && p->subtype >= RF_PART_SUBTYPE_OTA_MIN && p->subtype <= RF_PART_SUBTYPE_OTA_MAX) {
            n_ota++;
        }
    }
    if (od == NULL || od->size < 2 * RF_OTADATA_SECTOR || n_ota == 0 || work_len < RF_OTADATA_ENTRY_LEN) {
        return ESP_ERR_NOT_FOUND;
    }
    const uint32_t idx = sel->subtype - RF_PART_SUBTYPE_OTA_MIN;
    rf_otadata_entry_t e[2];
    for (int k = 0; k < 2; k++) {
        esp_err_t err = rf_flash_read(pf->flash, od->offset + (uint32_t)k * RF_OTADATA_SECTOR, work, RF_OTADATA_ENTRY_LEN);
        if (err != ESP_OK) {
            return err;
        }
        rf_otadata_entry_decode(work, &e[k]);
    }
    uint32_t max_seq = 0;
    int newest = -1;
    for (int k = 0; k < 2; k++) {
        if (e[k].valid && (newest < 0 || e[k].ota_seq > max_seq)) {
            max_seq = e[k].ota_seq;
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
    uint32_t at = od->offset + (newest == 0 ? RF_OTADATA_SECTOR : 0);
    uint8_t entry[RF_OTADATA_ENTRY_LEN];
    rf_otadata_entry_encode(seq, RF_OTA_IMG_UNDEFINED, entry);
    esp_err_t err = rf_flash_erase(pf->flash, at, RF_OTADATA_SECTOR);
    if (err == ESP_OK) {
        err = rf_flash_program(pf->flash, at, entry, sizeof entry);
    }
    if (err == ESP_OK) {
        err = rf_flash_read(pf->flash, at, work, sizeof entry);
    }
    if (err == ESP_OK && memcmp(work, entry, sizeof entry) != 0) {
        err = ESP_ERR_INVALID_CRC;
    }
    if (err == ESP_OK) {
        RF_LOGI(LOG(pf), "otadata now selects '%s' (sequence %u)", sel->label, (unsigned)seq);
    }
    return err;
}

/* Embedded mode over the running app: keep an old bootable system while the
 * app's own region is overwritten. Copy the running app (with the embedded
 * image inside) to a free OTA partition, verify it, select it in otadata:
 * the old bootloader then boots that copy, and the copy is the source.
 * *img_addr receives where the embedded image lies in the backup. */
static esp_err_t backup_running_app(const esp_self_reflasher_platform_t *pf, const esp_self_reflasher_config_t *c,
                                    uint32_t len, const uint8_t sha[RF_SHA256_LEN], const uint32_t *avoid,
                                    uint32_t n_avoid, uint8_t *work, size_t work_len, uint32_t *img_addr)
{
    rf_part_t run;
    esp_err_t err = pf->running_partition(pf->ctx, &run);
    if (err != ESP_OK) {
        return err;
    }
    rf_esp_image_info_t *info = malloc(sizeof *info);
    rf_ptable_t *t = malloc(sizeof *t);
    if (info == NULL || t == NULL) {
        free(info);
        free(t);
        return ESP_ERR_NO_MEM;
    }
    uint32_t app_len = 0;
    rf_reader_t r;
    rf_reader_flash_t rctx;
    if (rf_reader_from_flash(&r, &rctx, pf->flash, run.offset, run.size) == ESP_OK &&
        rf_esp_image_inspect(&r, work, work_len, info) == ESP_OK) {
        app_len = info->image_len;
    }
    free(info);
    uint32_t src = c->src_region.region_address;
    if (src < run.offset || (uint64_t)src + len > (uint64_t)run.offset + run.size) {
        RF_LOGW(LOG(pf), "The image is not inside the running app: no backup copy, the device has no bootable "
                "system while 0x%08x is rewritten", (unsigned)c->dest_region.region_address);
        free(t);
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t need = RF_MAX(app_len, src + len - run.offset);
    need = rf_align_up(need, pf->flash->sector_size);
    err = pf->list_partitions(pf->ctx, t->parts, RF_PTABLE_MAX_PARTS, &t->count);
    /* the plan's rule (rf_plan.c): the first OTA app partition in table
     * order that is large enough and clear of the running partition and of
     * the destination (avoid[0..1]; the only range callers pass) */
    rf_part_t bk_part;
    const rf_part_t *bk = NULL;
    if (err == ESP_OK && rf_choose_backup(t, &run, need, n_avoid ? avoid[0] : 0, n_avoid ? avoid[1] : 0,
                                          &bk_part) == ESP_OK) {
        bk = &bk_part;
    }
    if (err == ESP_OK && bk == NULL) {
        RF_LOGW(LOG(pf), "No OTA partition outside the destination can hold a copy of the running app (0x%x bytes): "
                "the device has no bootable system from the first write into 0x%08x until the copy ends",
                (unsigned)need, (unsigned)c->dest_region.region_address);
        err = ESP_ERR_NOT_FOUND;
    }
    if (err == ESP_OK) {
        RF_LOGI(LOG(pf), "Backing up the running app '%s' (0x%x bytes) to '%s' at 0x%08x, which keeps the old "
                "system bootable while 0x%08x..0x%08x is rewritten", run.label, (unsigned)need, bk->label,
                (unsigned)bk->offset, (unsigned)c->dest_region.region_address,
                (unsigned)(c->dest_region.region_address + c->dest_region.region_size));
        rf_flash_reader_t rd = { .flash = pf->flash, .base = run.offset };
        rf_region_write_t w = { .flash = pf->flash, .dst = bk->offset, .dst_size = need, .len = need,
                                .read = rf_flash_reader_read, .read_arg = &rd, .src_addr = run.offset,
                                .src_in_flash = 1, .work = work, .work_len = work_len, .log = LOG(pf) };
        rf_write_stats_t ws;
        err = rf_region_write(&w, &ws);
    }
    uint8_t got[RF_SHA256_LEN];
    if (err == ESP_OK) {
        *img_addr = bk->offset + (src - run.offset);
        err = rf_flash_sha256(pf->flash, *img_addr, len, work, work_len, got);
        if (err == ESP_OK && memcmp(got, sha, RF_SHA256_LEN) != 0) {
            RF_LOGE(LOG(pf), "The backup copy at 0x%08x does not read back right", (unsigned)bk->offset);
            err = ESP_ERR_INVALID_CRC;
        }
    }
    if (err == ESP_OK) {
        err = otadata_select(pf, t, bk, work, work_len);
        if (err == ESP_ERR_NOT_FOUND) {
            RF_LOGW(LOG(pf), "No otadata partition to select the backup: the old bootloader keeps booting '%s'",
                    run.label);
        }
    }
    free(t);
    return err;
}

esp_err_t esp_self_reflasher_directly_copy_to_region_with(const esp_self_reflasher_platform_t *pf,
                                                          const esp_self_reflasher_config_t *config)
{
    if (config == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (check_platform(pf) != ESP_OK) {
        return ESP_ERR_INVALID_STATE;
    }
    const addr_region_t *s = &config->src_region, *d = &config->dest_region;
    uint64_t len = config->src_bin_size ? config->src_bin_size : s->region_size;
    if (len == 0) {
        RF_LOGE(LOG(pf), "Embedded image size is 0 (src_bin_size and src_region.region_size)");
        return ESP_ERR_INVALID_ARG;
    }
    if (s->region_size != 0 && len > s->region_size) {
        RF_LOGE(LOG(pf), "src_bin_size 0x%llx is larger than the source region (0x%x bytes)",
                (unsigned long long)len, (unsigned)s->region_size);
        return ESP_ERR_INVALID_SIZE;
    }
    if (s->region_address + len > pf->flash->size) {
        RF_LOGE(LOG(pf), "Source 0x%08x+0x%llx is not inside the flash", (unsigned)s->region_address,
                (unsigned long long)len);
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = check_dest(pf, d);
    if (err == ESP_OK) {
        err = check_key(pf, config);
    }
    if (err != ESP_OK) {
        return err;
    }
    if (len > d->region_size) {
        RF_LOGE(LOG(pf), "Image of 0x%llx bytes does not fit the destination region 0x%08x (0x%x bytes)",
                (unsigned long long)len, (unsigned)d->region_address, (unsigned)d->region_size);
        return ESP_ERR_INVALID_SIZE;
    }
    const uint32_t S = pf->flash->sector_size;
    size_t work_len = RF_MAX(2u * S, RF_ENG_WORK_LEN);
    uint8_t *work = malloc(work_len);
    rf_ctx_t *jh = calloc(1, sizeof *jh);   /* journal state only */
    if (work == NULL || jh == NULL) {
        free(work);
        free(jh);
        return ESP_ERR_NO_MEM;
    }
    jh->pf = pf;
    const uint32_t dsize = rf_align_up(d->region_size, S);
    const uint32_t avoid[] = { d->region_address, dsize, s->region_address, (uint32_t)len };
    jh->journal_on = journal_open(pf, &jh->journal, avoid, 2, work, work_len);
    uint8_t id[RF_JOURNAL_ID_LEN];
    step_id("embedded", s->region_address, (uint32_t)len, d->region_address, d->region_size, id);

    uint8_t sha[RF_SHA256_LEN];
    uint32_t img = s->region_address;
    bool have_source = false;
    const rf_journal_rec_t *last = &jh->journal.last;
    if (jh->journal_on && jh->journal.have && memcmp(last->id, id, sizeof id) == 0 &&
        (last->state == RF_JSTATE_BACKUP || last->state == RF_JSTATE_DONE) && last->aux_len == len) {
        /* an earlier run backed the image up (and maybe began the copy): its
         * backup is the source, if it still hashes right */
        uint8_t got[RF_SHA256_LEN];
        if (rf_flash_sha256(pf->flash, last->aux_addr, (uint32_t)len, work, work_len, got) == ESP_OK &&
            memcmp(got, last->sha256, sizeof got) == 0 &&
            verify_image(pf, config, last->aux_addr, (uint32_t)len, got, work, work_len) == ESP_OK) {
            memcpy(sha, got, sizeof sha);
            img = last->aux_addr;
            have_source = true;
            RF_LOGI(LOG(pf), "Resuming (journal): the embedded image's backup at 0x%08x is the source",
                    (unsigned)img);
        }
    }
    if (!have_source) {
        err = rf_flash_sha256(pf->flash, s->region_address, (uint32_t)len, work, work_len, sha);
        if (err == ESP_OK) {
            err = verify_image(pf, config, s->region_address, (uint32_t)len, sha, work, work_len);
        }
        rf_part_t run;
        if (err == ESP_OK && pf->running_partition(pf->ctx, &run) == ESP_OK &&
            rf_overlaps(d->region_address, dsize, run.offset, run.size)) {
            const uint32_t keep_clear[2] = { d->region_address, dsize };   /* the backup must survive the copy */
            uint32_t at = 0;
            esp_err_t be = backup_running_app(pf, config, (uint32_t)len, sha, keep_clear, 1, work, work_len, &at);
            if (be == ESP_OK) {
                img = at;
                journal_note(jh, RF_JSTATE_BACKUP, id, 0, (uint32_t)len, sha, img, (uint32_t)len);
            } else if (be != ESP_ERR_NOT_FOUND) {
                err = be;
            }
        }
    }
    if (err == ESP_OK) {
        RF_LOGI(LOG(pf), "Starting copy 0x%08x bytes from address 0x%08x to address 0x%08x", (unsigned)len,
                (unsigned)img, (unsigned)d->region_address);
        err = copy_verified(pf, img, (uint32_t)len, d, sha, work, work_len);
    }
    if (err == ESP_OK) {
        RF_LOGI(LOG(pf), "Data copied from address 0x%08x to region: 0x%08x", (unsigned)s->region_address,
                (unsigned)d->region_address);
        (void)journal_clear(pf, work, work_len);   /* the embedded copy is the whole migration */
    }
    free(work);
    free(jh);
    return err;
}

esp_err_t esp_self_reflasher_directly_copy_to_region(const esp_self_reflasher_config_t *config)
{
    return esp_self_reflasher_directly_copy_to_region_with(esp_self_reflasher_default_platform(), config);
}
