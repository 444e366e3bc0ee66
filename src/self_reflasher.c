/*
 * The seed-compatible API (self_reflasher.h): an adapter over the core's
 * execution (core/src/rf_exec.c), which runs every step and asks the engine
 * before every write. Here: the handle, the translation of the seed's
 * configuration and of the platform into core types, one arena per call,
 * and the fail-closed state. See the header for the contract of each
 * function and DESIGN.md for the invariants.
 */
#include <stdlib.h>
#include <string.h>
#include "self_reflasher_platform.h"
#include "rf_exec.h"

#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#endif

#if defined(ESP_ERR_HTTP_INCOMPLETE_DATA)
_Static_assert(RF_ERR_INCOMPLETE_DATA == ESP_ERR_HTTP_INCOMPLETE_DATA, "rf_err.h: RF_ERR_INCOMPLETE_DATA");
#endif

/* Content checks when the caller passes no verify settings (Kconfig
 * SELF_REFLASHER_VERIFY_DEFAULT; always on outside ESP-IDF). */
#if defined(ESP_PLATFORM) && !defined(CONFIG_SELF_REFLASHER_VERIFY_DEFAULT)
#define RF_VERIFY_BY_DEFAULT 0
#else
#define RF_VERIFY_BY_DEFAULT 1
#endif

/* The handle's object; the public handle type is void * (as the reference's),
 * each public function converts it at its top. Nothing else is held between
 * calls: each call takes its arena from the heap and frees it on return. */
typedef struct esp_self_reflasher_ctx rf_ctx_t;

struct esp_self_reflasher_ctx {
    const esp_self_reflasher_platform_t *pf;
    esp_self_reflasher_config_t cfg;
    rf_exec_dl_t dl;
    bool failed;        /* fail closed: a refused call; no download or copy until a valid configuration */
};

static esp_err_t check_platform(const esp_self_reflasher_platform_t *pf)
{
    if (pf == NULL || pf->flash == NULL || pf->flash->sector_size == 0) {
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

/* The platform as the core's device. */
static void dev_of(const esp_self_reflasher_platform_t *pf, rf_exec_dev_t *d)
{
    *d = (rf_exec_dev_t){
        .ctx = pf->ctx, .flash = pf->flash, .log = &pf->log, .chip_id = pf->chip_id,
        .ptable_offset = pf->ptable_offset, .journal_addr = pf->journal_addr,
        .recovery_bootloader_addr = pf->recovery_bootloader_addr,
        .mcuboot_primary_slot = pf->mcuboot_primary_slot, .mcuboot_secondary_slot = pf->mcuboot_secondary_slot,
        .mcuboot_slot_size = pf->mcuboot_slot_size,
        .running_partition = pf->running_partition, .list_partitions = pf->list_partitions,
    };
}

static void *arena(const esp_self_reflasher_platform_t *pf, size_t *len)
{
    *len = rf_exec_mem_len(pf->flash->sector_size);
    return malloc(*len);
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

/* The configuration's verify settings as the core's checks. */
static void check_of(const esp_self_reflasher_config_t *cfg, rf_exec_check_t *c)
{
    const esp_self_reflasher_verify_t *v = cfg->verify;
    memset(c, 0, sizeof *c);
    c->skip = (v != NULL && v->skip_content_checks) || (v == NULL && !RF_VERIFY_BY_DEFAULT);
    if (v != NULL) {
        c->expect_sha256 = v->sha256;
        c->pubkey = v->pubkey;
        c->pubkey_len = v->pubkey_len;
        c->declared = declared_kind(v->kind);
        c->declared_raw = v->kind == ESP_SELF_REFLASHER_IMAGE_RAW;
    }
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

/* The download step a configuration names (regions checked by the core). */
RF_NOINLINE static void dl_of(const esp_self_reflasher_platform_t *pf, const esp_self_reflasher_config_t *cfg, rf_exec_dl_t *dl)
{
    dl->name = cfg->http_config->url;
    dl->dst = cfg->dest_region.region_address;
    /* size_t: clamped so a size past the flash stays past it (the core refuses it) */
    dl->dst_size = cfg->dest_region.region_size > pf->flash->size ? pf->flash->size + 1u
                                                                   : (uint32_t)cfg->dest_region.region_size;
}

/* Validate a download-mode configuration and choose its staging partition
 * into h->dl. `current` is the staging in use (NULL at init): kept when still valid. */
static esp_err_t plan_download(rf_ctx_t *h, const esp_self_reflasher_config_t *cfg, const rf_part_t *current)
{
    const esp_self_reflasher_platform_t *pf = h->pf;
    if (cfg->http_config == NULL || cfg->http_config->url == NULL || cfg->http_config->url[0] == 0) {
        RF_LOGE(&pf->log, "No http_config->url");
        return ESP_ERR_INVALID_ARG;
    }
    rf_exec_dev_t dev;
    dev_of(pf, &dev);
    esp_err_t err = rf_exec_check_dest(&dev, cfg->dest_region.region_address, cfg->dest_region.region_size);
    if (err != ESP_OK) {
        return err;
    }
    size_t len;
    void *mem = arena(pf, &len);
    if (mem == NULL) {
        return ESP_ERR_NO_MEM;
    }
    rf_exec_check_t chk;
    check_of(cfg, &chk);
    /* planned into the handle: on failure the handle is closed (or freed) */
    dl_of(pf, cfg, &h->dl);
    rf_part_t forced;
    if (cfg->target_partition != NULL) {
        part_from_esp(cfg->target_partition, &forced);
    }
    if ((err = rf_exec_check_key(&dev, &chk, mem, len)) == ESP_OK) {
        err = rf_exec_plan_download(&dev, &h->dl, cfg->target_partition ? &forced : NULL, current, mem, len);
    }
    free(mem);
    return err;
}

static void log_plan(rf_ctx_t *h)
{
    const rf_exec_dl_t *dl = &h->dl;
    RF_LOGI(&h->pf->log, "src_start 0x%08x src_end 0x%08x dest_start 0x%08x dest_end 0x%08x",
            (unsigned)dl->staging.offset, (unsigned)(dl->staging.offset + dl->staging.size),
            (unsigned)h->cfg.dest_region.region_address,
            (unsigned)(h->cfg.dest_region.region_address + h->cfg.dest_region.region_size));
    if (dl->direct) {
        RF_LOGD(&h->pf->log, "Direct into '%s'", dl->staging.label);
    } else {
        RF_LOGD(&h->pf->log, "Staging '%s'", dl->staging.label);
    }
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
    esp_err_t err = pf->running_partition(pf->ctx, &h->dl.running);
    if (err != ESP_OK && config->http_config != NULL && config->http_config->url != NULL) {
        /* No partition table: an earlier run of this migration may have
         * erased it while writing the new system. Its journal tells where
         * this step staged its image; nothing else can be planned. */
        rf_exec_dev_t dev;
        dev_of(pf, &dev);
        dl_of(pf, config, &h->dl);
        size_t len;
        void *mem = arena(pf, &len);
        esp_err_t je = mem ? rf_exec_dl_from_journal(&dev, &h->dl, mem, len) : ESP_ERR_NO_MEM;
        free(mem);
        if (je == ESP_OK) {
            err = ESP_OK;
        } else {
            RF_LOGE(&pf->log, "Running partition unknown: %s", esp_err_to_name(err));
        }
    } else if (err != ESP_OK) {
        RF_LOGE(&pf->log, "Running partition unknown: %s", esp_err_to_name(err));
    } else {
        err = plan_download(h, config, NULL);
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
    free(handle);
}

size_t esp_self_reflasher_get_downloaded_len(esp_self_reflasher_handle_t handle)
{
    const rf_ctx_t *h = handle;
    return (h != NULL && h->dl.staged) ? h->dl.staged_len : 0;
}

esp_err_t esp_self_reflasher_finish_with(const esp_self_reflasher_platform_t *pf)
{
    if (check_platform(pf) != ESP_OK) {
        return ESP_ERR_INVALID_STATE;
    }
    rf_exec_dev_t dev;
    dev_of(pf, &dev);
    size_t len;
    void *mem = arena(pf, &len);
    esp_err_t err = mem ? rf_exec_finish(&dev, mem, len) : ESP_ERR_NO_MEM;
    free(mem);
    return err;
}

esp_err_t esp_self_reflasher_finish(void)
{
    return esp_self_reflasher_finish_with(esp_self_reflasher_default_platform());
}

/* Fail closed (not the reference's behaviour): after a refused call the
 * handle takes no download or copy until a valid configuration is set, so a
 * caller that ignores a return value never gets a success for a step it did
 * not ask for. The handle holds no buffer between calls: a caller that never
 * calls deinit (the reference frees the handle itself on its failure paths)
 * leaves only the handle's own bytes. */
static void fail_closed(rf_ctx_t *h)
{
    h->failed = true;
    h->dl.staged = false;
}

static esp_err_t usable(rf_ctx_t *h, const char *what)
{
    if (h->failed) {
        RF_LOGE(&h->pf->log, "%s refused: handle failed earlier; set a config", what);
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

/* The platform's source maker as the core's source port (arg: the handle). */
static esp_err_t src_make(void *arg, rf_source_t *out)
{
    const rf_ctx_t *h = arg;
    return h->pf->make_source(h->pf->ctx, h->cfg.http_config, out);
}

static void src_release(void *arg, rf_source_t *src)
{
    const rf_ctx_t *h = arg;
    h->pf->free_source(h->pf->ctx, src);
}

/* What a download or a copy needs: the handle usable, the core's device and
 * checks, an arena. *mem NULL on return: refused (the code says why). */
static esp_err_t step_begin(rf_ctx_t *h, const char *what, rf_exec_dev_t *dev, rf_exec_check_t *chk, void **mem,
                            size_t *len)
{
    *mem = NULL;
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = usable(h, what);
    if (err != ESP_OK) {
        return err;
    }
    dev_of(h->pf, dev);
    check_of(&h->cfg, chk);
    return (*mem = arena(h->pf, len)) != NULL ? ESP_OK : ESP_ERR_NO_MEM;
}

static esp_err_t step_end(rf_ctx_t *h, void *mem, esp_err_t err)
{
    free(mem);
    if (err != ESP_OK) {
        fail_closed(h);
    }
    return err;
}

esp_err_t esp_self_reflasher_download_bin(esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    rf_exec_dev_t dev;
    rf_exec_check_t chk;
    void *mem;
    size_t len;
    esp_err_t err = step_begin(h, "Download", &dev, &chk, &mem, &len);
    if (mem == NULL) {
        return err;
    }
    const rf_exec_source_port_t sp = { .make = src_make, .release = src_release, .arg = h };
    return step_end(h, mem, rf_exec_download(&dev, &h->dl, &chk, &sp, mem, len));
}

esp_err_t esp_self_reflasher_copy_to_region(esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    rf_exec_dev_t dev;
    rf_exec_check_t chk;
    void *mem;
    size_t len;
    esp_err_t err = step_begin(h, "Copy", &dev, &chk, &mem, &len);
    if (mem == NULL) {
        return err;
    }
    return step_end(h, mem, rf_exec_copy(&dev, &h->dl, &chk, mem, len));
}

esp_err_t esp_self_reflasher_upd_next_config(const esp_self_reflasher_config_t *config,
                                             esp_self_reflasher_handle_t handle)
{
    rf_ctx_t *h = handle;
    if (config == NULL || h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_LOGI(&h->pf->log, "Updating configuration for next download");
    const rf_part_t current = h->dl.staging;
    esp_err_t err = plan_download(h, config, &current);
    if (err != ESP_OK) {
        RF_LOGE(&h->pf->log, "Next config refused; handle blocked");
        fail_closed(h);
        return err;
    }
    h->cfg = *config;
    h->dl.staged = false;
    h->failed = false;   /* a valid configuration reopens the handle */
    log_plan(h);
    return ESP_OK;
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
    const uint64_t len = config->src_bin_size ? config->src_bin_size : s->region_size;
    if (len == 0) {
        RF_LOGE(&pf->log, "Embedded image size 0");
        return ESP_ERR_INVALID_ARG;
    }
    if (s->region_size != 0 && len > s->region_size) {
        RF_LOGE(&pf->log, "src_bin_size 0x%llx > src region 0x%x", (unsigned long long)len,
                (unsigned)s->region_size);
        return ESP_ERR_INVALID_SIZE;
    }
    if (s->region_address + len > pf->flash->size) {
        RF_LOGE(&pf->log, "Source 0x%08x+0x%llx outside flash", (unsigned)s->region_address,
                (unsigned long long)len);
        return ESP_ERR_INVALID_ARG;
    }
    rf_exec_dev_t dev;
    dev_of(pf, &dev);
    rf_exec_check_t chk;
    check_of(config, &chk);
    esp_err_t err = rf_exec_check_dest(&dev, d->region_address, d->region_size);
    if (err != ESP_OK) {
        return err;
    }
    if (len > d->region_size) {
        RF_LOGE(&pf->log, "Image %lld B > dest 0x%08x (0x%x)", (long long)len, (unsigned)d->region_address,
                (unsigned)d->region_size);
        return ESP_ERR_INVALID_SIZE;
    }
    size_t mlen;
    void *mem = arena(pf, &mlen);
    if (mem == NULL) {
        return ESP_ERR_NO_MEM;
    }
    if ((err = rf_exec_check_key(&dev, &chk, mem, mlen)) == ESP_OK) {
        err = rf_exec_embedded(&dev, s->region_address, (uint32_t)len, d->region_address,
                               (uint32_t)d->region_size, &chk, mem, mlen);
    }
    free(mem);
    return err;
}

esp_err_t esp_self_reflasher_directly_copy_to_region(const esp_self_reflasher_config_t *config)
{
    return esp_self_reflasher_directly_copy_to_region_with(esp_self_reflasher_default_platform(), config);
}
