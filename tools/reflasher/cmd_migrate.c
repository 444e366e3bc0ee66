/*
 * reflasher migrate --device DEVICE.img --image SOURCE@DEST[:SIZE][#sha256=HEX] ... [--allow-http] [--json] [--quiet]
 * reflasher migrate --device DEVICE.img --embedded FILE@DEST[:SIZE] [--at ADDR] [--json] [--quiet]
 *
 * Runs the seed API's download mode for each image in order (init,
 * download_bin, copy_to_region, upd_next_config for the next), or its
 * embedded mode, on a simulated device, and prints what it cost the device.
 * An http:// source not pinned by #sha256= is refused (exit 2) without
 * --allow-http, as the device refuses it by default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "json_out.h"
#include "migrate_run.h"
#include "planning.h"
#include "progress.h"
#include "rf_cost.h"
#include "rf_crypto.h"
#include "rf_device.h"
#include "self_reflasher_platform.h"

#define MAX_IMAGES 16

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher migrate --device DEVICE.img --image SOURCE@DEST[:SIZE][#sha256=HEX] [--image ...]\n"
            "                         [--allow-http] [--json] [--quiet]\n"
            "       reflasher migrate --device DEVICE.img --embedded FILE@DEST[:SIZE] [--at ADDR] [--allow-no-backup]\n"
            "                         [--json] [--quiet]\n"
            "The whole plan (every image read and checked on the flash it leaves) is validated before anything is\n"
            "written. Embedded mode without room for a backup of the running app is refused unless --allow-no-backup.\n"
            "SOURCE is an http(s):// URL or a file; DEST and SIZE take 0x.., decimal, K or M.\n"
            "SIZE defaults to the size of the partition that starts at DEST. An http:// SOURCE needs #sha256=HEX\n"
            "or --allow-http (the device's default refuses plain HTTP).\n");
    return 2;
}

/* SIZE omitted: the partition that starts at DEST. */
bool rf_cli_default_size(rf_device_t *dev, rf_image_arg_t *img)
{
    if (img->has_size) {
        return true;
    }
    rf_ptable_t *t = malloc(sizeof *t);
    bool ok = false;
    if (t != NULL && rf_device_ptable(dev, t) == ESP_OK) {
        for (uint32_t i = 0; i < t->count; i++) {
            if (t->parts[i].offset == img->dest) {
                img->size = t->parts[i].size;
                ok = true;
                break;
            }
        }
    }
    free(t);
    if (!ok) {
        fprintf(stderr, "reflasher migrate: no partition starts at 0x%x: give the region size as %s@0x%x:SIZE\n",
                (unsigned)img->dest, img->source, (unsigned)img->dest);
    }
    return ok;
}

static esp_err_t rule_err(const char *rule, esp_err_t fetch_err)
{
    if (rule == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (strcmp(rule, RF_CLI_RULE_SOURCE_FETCH) == 0) {
        return fetch_err != ESP_OK ? fetch_err : ESP_FAIL;
    }
    if (strcmp(rule, "CONTENT_SHA256") == 0) {
        return ESP_ERR_INVALID_CRC;
    }
    if (strncmp(rule, "CONTENT_", 8) == 0 || strncmp(rule, "END_STATE_", 10) == 0) {
        return RF_ERR_IMAGE_INVALID;
    }
    if (strcmp(rule, "IMAGE_TOO_LARGE") == 0 || strcmp(rule, "STAGING_TOO_SMALL") == 0 ||
        strcmp(rule, "IMAGE_EMPTY") == 0) {
        return ESP_ERR_INVALID_SIZE;
    }
    return strcmp(rule, "NO_STAGING") == 0 ? ESP_ERR_NOT_FOUND : ESP_ERR_INVALID_ARG;
}

/* The destination already holds exactly this image, then 0xFF to the end of
 * its region (what the migration leaves there), and its digest is the
 * expected one when one is given. */
static bool image_in_place(rf_device_t *dev, const rf_image_arg_t *img, const uint8_t *data, size_t len)
{
    const nor_sim_config_t *nc = nor_sim_config(dev->sim);
    const uint8_t *fl = nor_sim_data(dev->sim);
    if (data == NULL || len > img->size || (uint64_t)img->dest + img->size > nc->size ||
        memcmp(fl + img->dest, data, len) != 0 || !rf_is_blank(fl + img->dest + len, img->size - len)) {
        return false;
    }
    uint8_t sha[32];
    rf_sha256(data, len, sha);
    return !img->has_sha256 || memcmp(sha, img->sha256, 32) == 0;
}

/* The whole migration is validated as a plan first (the same rules the
 * device applies step by step), then run in the plan's order: images that
 * touch the bootloader or the partition table go last. */
esp_err_t rf_cli_run_download(rf_device_t *dev, rf_image_arg_t *imgs, int n, int *failed_at)
{
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(dev);
    rf_plan_t *plan = calloc(1, sizeof *plan);
    rf_cli_plan_extra_t x;
    memset(&x, 0, sizeof x);
    char msg[512] = "";
    if (plan == NULL) {
        return ESP_ERR_NO_MEM;
    }
    int order[RF_PLAN_MAX_IMAGES];
    bool in_place[RF_PLAN_MAX_IMAGES] = { false };
    int n_run = 0;
    rf_ptable_t *table = malloc(sizeof *table);
    bool no_table = table != NULL && rf_device_ptable(dev, table) != ESP_OK;
    free(table);
    uint32_t bl_off = 0;
    if (no_table && rf_chip_bootloader_offset(dev->chip, &bl_off)) {
        /* No partition table: an earlier run was cut while writing the new
         * system's boot region, the only step that rewrites the table, and
         * it runs after every other step: those are done. Resume the
         * boot-region steps from the journal (the library checks it). */
        rf_cost_set_hook(NULL, NULL);   /* the tool's own checks: not on the device's clock */
        for (int i = 0; i < n && n_run < (int)RF_PLAN_MAX_IMAGES; i++) {
            uint32_t pt_end = dev->ptable_offset + RF_PTABLE_MAX_LEN;
            /* "ran before" is a claim: the destination must hold this image
             * (then 0xFF to the region's end); a boot-region step not yet in
             * place resumes (from the journal), any other stops everything */
            uint8_t *data = NULL;
            size_t len = 0;
            esp_err_t fe = rf_cli_fetch(imgs[i].source, nor_sim_config(dev->sim)->size, &data, &len);
            bool there = fe == ESP_OK && image_in_place(dev, &imgs[i], data, len);
            free(data);
            if ((uint64_t)imgs[i].dest < pt_end && (uint64_t)imgs[i].dest + imgs[i].size > bl_off) {
                if (!there) {
                    order[n_run++] = i;
                }
                continue;
            }
            if (!there) {
                *failed_at = i;
                fprintf(stderr, "reflasher migrate: no partition table on the device, and image %d is not in place at "
                        "0x%x (%s): the device is not in a state this migration left; nothing written\n", i + 1,
                        (unsigned)imgs[i].dest, fe == ESP_OK ? "its content differs" : esp_err_to_name(fe));
                free(plan);
                nor_sim_attach_cost(dev->sim);
                return fe == ESP_OK ? ESP_ERR_INVALID_STATE : fe;
            }
        }
        if (!dev->quiet) {
            fprintf(dev->log_to_stderr ? stderr : stdout,
                    "reflasher migrate: no partition table on the device: resuming the %d step(s) that rewrite the "
                    "boot region (every other step ran before them)\n", n_run);
        }
        free(plan);
        goto run;
    }
    /* The whole plan with its content: every source read, every image
     * checked by the engine's rules on the flash it will leave, in order. */
    if (rf_cli_build_plan(dev, imgs, n, true, plan, &x, msg, sizeof msg) != 0) {
        esp_err_t e = rule_err(x.rule_name, x.fetch_err);
        *failed_at = x.bad_input >= 0 ? x.bad_input : 0;
        fprintf(stderr, "reflasher migrate: plan refused before anything was written: %s: %s%s%s\n",
                x.rule_name ? x.rule_name : "?", x.rule_text[0] ? x.rule_text : msg, x.detail[0] ? ": " : "",
                x.detail);
        rf_cli_plan_extra_free(&x);
        free(plan);
        return e;
    }
    for (uint32_t k = 0; k < plan->count; k++) {
        order[k] = (int)plan->img[k].input_index;
    }
    n_run = (int)plan->count;
    if (plan->reordered && !dev->quiet) {
        fprintf(dev->log_to_stderr ? stderr : stdout,
                "reflasher migrate: reordered so that the bootloader region is written last\n");
    }
    /* A rerun after completion finds its work done from the destinations'
     * content (the fetched images), not from a journal: nothing is written. */
    rf_cost_set_hook(NULL, NULL);   /* the tool's own checks: not on the device's clock */
    for (int i = 0; i < n && i < (int)RF_PLAN_MAX_IMAGES; i++) {
        in_place[i] = image_in_place(dev, &imgs[i], x.img[i].data, x.img[i].len);
    }
    rf_cli_plan_extra_free(&x);
    free(plan);

run:;
    nor_sim_attach_cost(dev->sim);
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t err = ESP_OK;
    int skipped = 0;
    for (int k = 0; k < n_run && err == ESP_OK; k++) {
        int i = order[k];
        *failed_at = i;
        if (in_place[i]) {
            skipped++;
            if (!dev->quiet) {
                fprintf(dev->log_to_stderr ? stderr : stdout, "reflasher migrate: image %d is already in place at "
                        "0x%x: nothing to do for it\n", i + 1, (unsigned)imgs[i].dest);
            }
            continue;
        }
        esp_http_client_config_t http = { .url = imgs[i].source, .timeout_ms = 10000 };
        esp_self_reflasher_verify_t verify = { .sha256 = imgs[i].has_sha256 ? imgs[i].sha256 : NULL };
        esp_self_reflasher_config_t cfg = {
            .http_config = &http,
            .dest_region = { .region_address = imgs[i].dest, .region_size = imgs[i].size },
            .verify = &verify,
        };
        err = h == NULL ? esp_self_reflasher_init_with(pf, &cfg, &h) : esp_self_reflasher_upd_next_config(&cfg, h);
        if (err == ESP_OK) {
            err = esp_self_reflasher_download_bin(h);
        }
        if (err == ESP_OK) {
            err = esp_self_reflasher_copy_to_region(h);
        }
    }
    esp_self_reflasher_deinit(h);
    if (err == ESP_OK && skipped < n_run) {
        /* the last step is done: the journal goes (the plan declares it "erased at the end") */
        err = esp_self_reflasher_finish_with(pf);
    }
    return err;
}

esp_err_t rf_cli_embed_place(rf_device_t *dev, rf_image_arg_t *img, uint32_t at, uint32_t *out_len)
{
    FILE *f = fopen(img->source, "rb");
    if (f == NULL) {
        fprintf(stderr, "reflasher migrate: cannot read %s\n", img->source);
        return ESP_ERR_NOT_FOUND;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    bool ok = buf != NULL && len > 0 && fread(buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!ok) {
        free(buf);
        fprintf(stderr, "reflasher migrate: %s is empty or unreadable\n", img->source);
        return ESP_ERR_INVALID_SIZE;
    }
    rf_part_t run;
    esp_err_t err = dev->platform.running_partition(dev, &run);
    if (err != ESP_OK || (uint64_t)at < run.offset || (uint64_t)at + (uint64_t)len > (uint64_t)run.offset + run.size) {
        fprintf(stderr, "reflasher migrate: %ld bytes at 0x%x do not fit inside the running partition '%s'\n", len,
                (unsigned)at, dev->running);
        free(buf);
        return err != ESP_OK ? err : ESP_ERR_INVALID_SIZE;
    }
    /* What the linker does when it embeds the image in the running app: not
     * a step of the migration, so it is not counted (and a no-op when the
     * device was made with the image already in place). */
    memcpy(nor_sim_data(dev->sim) + at, buf, (size_t)len);
    free(buf);
    if (!img->has_size) {
        img->size = (uint32_t)len;
    }
    *out_len = (uint32_t)len;
    return ESP_OK;
}

esp_err_t rf_cli_check_embedded(rf_device_t *dev, const rf_image_arg_t *img, uint32_t at, bool allow_no_backup)
{
    rf_plan_t *plan = calloc(1, sizeof *plan);
    rf_cli_plan_extra_t x;
    memset(&x, 0, sizeof x);
    char msg[512] = "";
    if (plan == NULL) {
        return ESP_ERR_NO_MEM;
    }
    rf_image_arg_t copy = *img;
    esp_err_t e = ESP_OK;
    if (rf_cli_build_embedded_plan(dev, &copy, at, plan, &x, msg, sizeof msg) != 0) {
        e = rule_err(x.rule_name, x.fetch_err);
        fprintf(stderr, "reflasher migrate: plan refused before anything was written: %s: %s%s%s\n",
                x.rule_name ? x.rule_name : "?", x.rule_text[0] ? x.rule_text : msg, x.detail[0] ? ": " : "",
                x.detail);
    } else if (plan->no_backup_window && !allow_no_backup) {
        fprintf(stderr, "reflasher migrate: plan refused before anything was written: NO_BACKUP: no OTA partition "
                "can hold a backup of the running app: the device would have no bootable system for the whole copy "
                "(%.1f ms); --allow-no-backup accepts that\n", (double)plan->window_us / 1000.0);
        e = ESP_ERR_NOT_FOUND;
    }
    rf_cli_plan_extra_free(&x);
    free(plan);
    return e;
}

esp_err_t rf_cli_run_embedded(rf_device_t *dev, const rf_image_arg_t *img, uint32_t at, uint32_t len)
{
    esp_self_reflasher_config_t cfg = {
        .src_region = { .region_address = at, .region_size = len },
        .src_bin_size = len,
        .dest_region = { .region_address = img->dest, .region_size = img->size },
    };
    return esp_self_reflasher_directly_copy_to_region_with(&dev->platform, &cfg);
}

int cmd_migrate(int argc, char **argv)
{
    const char *device = NULL;
    rf_image_arg_t *imgs = calloc(MAX_IMAGES, sizeof *imgs);
    int n_img = 0;
    bool embedded = false, json = false, quiet = false, allow_no_backup = false;
    uint32_t at = 0x14294;   /* where the reference's embedded example has its image */
    char err[512];
    int rc = 2;
    if (imgs == NULL) {
        return 1;
    }
    rf_migration_args_t m;
    rf_migration_args_init(&m, imgs, MAX_IMAGES);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--allow-no-backup") == 0) {
            allow_no_backup = true;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (rf_migration_flag(&m, a)) {
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            goto out_usage;
        }
        int r = rf_migration_arg(&m, "reflasher migrate", a, v);
        if (r < 0) {
            goto out;
        }
        if (r == 0) {
            goto out_usage;
        }
    }
    device = m.device;
    n_img = m.n;
    embedded = m.embedded;
    at = m.at;
    if (device == NULL || n_img == 0 || (embedded && n_img != 1)) {
        goto out_usage;
    }
    if (!rf_migration_check_http(&m, "reflasher migrate")) {
        goto out;
    }
    rf_device_t dev;
    if (rf_device_open(device, &dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "reflasher migrate: %s\n", err);
        rc = 1;
        goto out;
    }
    dev.quiet = quiet;
    dev.log_to_stderr = json;
    esp_err_t e = ESP_OK;
    int failed_at = 0;
    for (int i = 0; i < n_img && !embedded; i++) {
        if (!rf_cli_default_size(&dev, &imgs[i])) {
            e = ESP_ERR_INVALID_ARG;
        }
    }
    uint32_t emb_len = 0;
    if (e == ESP_OK && embedded) {
        /* The whole plan first: the image and where it lies are checked
         * before the file is placed inside the running app. */
        e = rf_cli_check_embedded(&dev, &imgs[0], at, allow_no_backup);
    }
    if (e == ESP_OK && embedded) {
        e = rf_cli_embed_place(&dev, &imgs[0], at, &emb_len);
    }
    nor_sim_reset_counters(dev.sim);
    if (!quiet) {
        rf_progress_attach(&dev, "migrate"); /* a terminal only (progress.h) */
    }
    if (e == ESP_OK) {
        e = embedded ? rf_cli_run_embedded(&dev, &imgs[0], at, emb_len) : rf_cli_run_download(&dev, imgs, n_img, &failed_at);
    }
    rf_progress_detach(&dev);
    const nor_sim_counters_t *c = nor_sim_counters(dev.sim);
    bool printed = true;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", e == ESP_OK);
        rf_json_str(o, "error", e == ESP_OK ? "" : esp_err_to_name(e));
        rf_json_str(o, "mode", embedded ? "embedded" : "download");
        rf_json_num(o, "images", (uint64_t)n_img);
        cJSON_AddNumberToObject(o, "device_time_ms", (double)c->time_ns / 1e6);
        rf_json_num(o, "bytes_erased", c->bytes_erased);
        rf_json_num(o, "bytes_programmed", c->bytes_programmed);
        rf_json_num(o, "bytes_read", c->bytes_read);
        rf_json_num(o, "sector_erases", c->sector_erases);
        rf_json_num(o, "block_erases", c->block_erases);
        rf_json_num(o, "page_programs", c->page_programs);
        rf_json_num(o, "network_bytes", dev.net_bytes);
        printed = rf_json_print(o, "reflasher migrate");
    } else {
        printf("summary: %s; device time %.1f ms; erased %llu bytes (%llu sector + %llu block erases); "
               "programmed %llu bytes (%llu pages); read %llu bytes; network %llu bytes\n",
               e == ESP_OK ? "ok" : esp_err_to_name(e), (double)c->time_ns / 1e6,
               (unsigned long long)c->bytes_erased, (unsigned long long)c->sector_erases,
               (unsigned long long)c->block_erases, (unsigned long long)c->bytes_programmed,
               (unsigned long long)c->page_programs, (unsigned long long)c->bytes_read,
               (unsigned long long)dev.net_bytes);
    }
    if (e != ESP_OK) {
        fprintf(stderr, "reflasher migrate: failed%s%s: %s (0x%x)\n", embedded ? "" : " at image ",
                embedded ? "" : imgs[failed_at].source, esp_err_to_name(e), (unsigned)e);
    }
    rf_device_close(&dev);
    rc = e == ESP_OK && printed ? 0 : 1;
    goto out;
out_usage:
    rc = usage();
out:
    free(imgs);
    return rc;
}
