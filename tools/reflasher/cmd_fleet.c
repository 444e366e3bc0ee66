/*
 * reflasher fleet FLEET.json (--image SOURCE@DEST[:SIZE][#sha256=HEX] ... | --embedded FILE@DEST[:SIZE] [--at ADDR])
 *                 [--stride N] [--mid-op] [--no-sweep] [--jobs N] [--json] [--html FILE] [--keep DIR] [--quiet]
 *
 * One migration, every device kind of a fleet. FLEET.json (paths relative to
 * its own directory):
 *
 *   { "kinds": [
 *       { "name": "gen1-download", "chip": "esp32", "flash_size": "4MB",
 *         "partitions": "partitions.csv", "running": "factory",
 *         "old_system": "generated" },
 *       { "name": "idf-5.1.2", "chip": "esp32", "flash_size": "4MB", "partitions": "p.csv", "running": "factory",
 *         "old_system": { "bootloader": "bootloader.bin", "app": "hello_world.bin" } },
 *       { "name": "field-sample", "chip": "esp32", "running": "factory", "dump": "read_flash.bin" } ] }
 *
 * Optional per kind: "ptable_offset", "recovery_offset". A dump gives the
 * whole flash (its size is the flash size; its own partition table is used).
 * For each kind a simulated device is built in a temporary directory (or
 * --keep DIR), then: the boot model before; the plan with every source
 * fetched and checked (valid, or the refusing rule); when valid, the
 * rehearsal (host/src/rf_rehearse.c): the reference run's end state, device
 * time, bytes erased and measured brick window, and the power-cut sweep
 * (every --stride'th write, --mid-op too) with its verdict.
 * Verdict per kind: SAFE (plan valid, ends NEW, sweep passed), REFUSED (the
 * plan refuses it before any write: the device keeps its old system),
 * UNSAFE (the plan accepts it but the migration fails, does not end NEW or a
 * power cut bricks it outside the bootloader window), ERROR (the kind could
 * not be built).
 * Exit status: 0 every kind SAFE, 1 otherwise, 2 usage.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "args.h"
#include "cli.h"
#include "fleet.h"
#include "planning.h"
#include "progress.h"
#include "readfile.h"
#include "rf_device.h"
#include "rf_image.h"
#include "rf_oldsys.h"
#include "rf_rehearse.h"
#include "scenario.h"

#define WHO "reflasher fleet"

typedef struct fleet_opts {
    rf_migration_args_t m;
    uint32_t stride;
    bool mid_op, sweep, json, quiet;
    int jobs;
    const char *html, *keep;
} fleet_opts_t;

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher fleet FLEET.json (--image SOURCE@DEST[:SIZE][#sha256=HEX] ... | --embedded FILE@DEST[:SIZE] [--at ADDR])\n"
            "                       [--stride N] [--mid-op] [--no-sweep] [--jobs N] [--json] [--html FILE] [--keep DIR] [--quiet]\n"
            "FLEET.json: {\"kinds\": [{\"name\", \"chip\", \"flash_size\", \"partitions\": CSV, \"running\",\n"
            "             \"old_system\": \"generated\" | {\"bootloader\": FILE, \"app\": FILE}} | {..., \"dump\": FILE}]}\n"
            "For each kind: plan valid or the refusing rule, end state, brick window, device time, bytes erased,\n"
            "power-cut sweep verdict. Exit 0 when every kind is SAFE, 1 otherwise.\n");
    return 2;
}

const char *fleet_verdict_name(fleet_verdict_t v)
{
    static const char *const n[] = { "SAFE", "REFUSED", "UNSAFE", "ERROR" };
    return v <= FLEET_ERROR ? n[v] : "?";
}

/* ------------------------------------------------------------------------ */
/* Flash maps                                                               */
/* ------------------------------------------------------------------------ */

/* What the bytes of [addr, addr + size) start with, in a few words. */
static void describe(const uint8_t *flash, uint32_t flash_size, uint32_t addr, uint32_t size, char *out, size_t n)
{
    if (addr >= flash_size) {
        snprintf(out, n, "outside the flash");
        return;
    }
    if (size > flash_size - addr) {
        size = flash_size - addr;
    }
    const uint8_t *p = flash + addr;
    if (rf_is_blank(p, size)) {
        snprintf(out, n, "blank");
        return;
    }
    if (size >= 32 && rf_le32(p) == RF_MCUBOOT_MAGIC) {
        snprintf(out, n, "MCUboot image, %u bytes, v%u.%u.%u", (unsigned)(rf_le16(p + 8) + rf_le32(p + 12)),
                 p[20], p[21], (unsigned)rf_le16(p + 22));
        return;
    }
    if (p[0] == RF_ESP_IMAGE_MAGIC) {
        rf_reader_t r;
        rf_reader_buf_t rb;
        uint8_t scratch[1024];
        rf_esp_image_info_t *info = malloc(sizeof *info);
        if (info != NULL && rf_reader_from_buffer(&r, &rb, p, size) == ESP_OK &&
            rf_esp_image_inspect(&r, scratch, sizeof scratch, info) == ESP_OK && info->err == RF_IMG_OK) {
            if (info->has_app_desc) {
                snprintf(out, n, "ESP app '%.32s' %.32s", info->app.project_name, info->app.version);
            } else {
                const char *who = info->has_bootloader_desc ? "ESP-IDF bootloader"
                                  : memmem(p, info->image_len, "MCUboot", 7) != NULL ? "MCUboot bootloader"
                                                                                     : "ESP bootloader";
                snprintf(out, n, "%s%s%.32s, %u bytes, %uMB header", who, info->has_bootloader_desc ? " " : "",
                         info->has_bootloader_desc ? info->bootloader.idf_ver : "", (unsigned)info->image_len,
                         1u << (info->spi_size_freq >> 4));
            }
        } else {
            snprintf(out, n, "ESP image (invalid)");
        }
        free(info);
        return;
    }
    snprintf(out, n, "data");
}

/* The flash size an ESP bootloader's header declares at `off` (0: no valid image). */
static uint32_t header_flash_size(const uint8_t *flash, uint32_t size, uint32_t off)
{
    rf_reader_t r;
    rf_reader_buf_t rb;
    uint8_t scratch[1024];
    uint32_t out = 0;
    rf_esp_image_info_t *info = malloc(sizeof *info);
    if (info != NULL && off < size && rf_reader_from_buffer(&r, &rb, flash + off, size - off) == ESP_OK &&
        rf_esp_image_inspect(&r, scratch, sizeof scratch, info) == ESP_OK && info->err == RF_IMG_OK) {
        out = (1u << 20) << (info->spi_size_freq >> 4);
    }
    free(info);
    return out;
}

static void add_region(fleet_map_t *m, uint32_t addr, uint32_t size, fleet_region_kind_t kind, const char *label,
                       const uint8_t *flash)
{
    if (m->n == FLEET_MAX_REGIONS || size == 0) {
        return;
    }
    fleet_region_t *r = &m->r[m->n++];
    r->addr = addr;
    r->size = size;
    r->kind = kind;
    snprintf(r->label, sizeof r->label, "%s", label);
    describe(flash, m->flash_size, addr, size, r->content, sizeof r->content);
}

/* The map of `flash`: bootloader region, partition table, its partitions
 * (or, with no valid table there, `fallback`'s partitions). */
static void map_flash(const uint8_t *flash, uint32_t size, const char *chip, uint32_t pt_off, const rf_ptable_t *fallback,
                      fleet_map_t *m, rf_ptable_t *table_out)
{
    memset(m, 0, sizeof *m);
    m->flash_size = size;
    uint32_t bl = 0;
    rf_chip_bootloader_offset(chip, &bl);
    if (pt_off > bl) {
        add_region(m, bl, pt_off - bl, FLEET_REGION_BOOTLOADER, "bootloader", flash);
    }
    rf_ptable_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return;
    }
    m->table_valid = (uint64_t)pt_off + RF_PTABLE_MAX_LEN <= size &&
                     rf_ptable_parse(flash + pt_off, RF_PTABLE_MAX_LEN, t) == ESP_OK;
    add_region(m, pt_off, 0x1000, FLEET_REGION_PTABLE, "partition table", flash);
    if (!m->table_valid) {
        snprintf(m->r[m->n - 1].content, sizeof m->r[0].content, "%s",
                 rf_is_blank(flash + pt_off, 0x1000) ? "blank (no table)" : "no valid table");
        if (fallback != NULL) {
            *t = *fallback;
        } else {
            t->count = 0;
        }
    } else {
        snprintf(m->r[m->n - 1].content, sizeof m->r[0].content, "%u partitions%s", (unsigned)t->count,
                 t->has_md5 ? ", MD5 ok" : "");
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        fleet_region_kind_t k = p->type == RF_PART_TYPE_APP ? FLEET_REGION_APP
                                : p->subtype == RF_PART_SUBTYPE_DATA_OTA ? FLEET_REGION_OTADATA
                                                                        : FLEET_REGION_DATA;
        if ((uint64_t)p->offset + p->size <= size) {
            add_region(m, p->offset, p->size, k, p->label, flash);
        }
    }
    if (table_out != NULL) {
        *table_out = *t;
    }
    free(t);
    m->nsect = size / 0x1000;
    m->used = malloc(m->nsect ? m->nsect : 1);
    for (uint32_t s = 0; m->used != NULL && s < m->nsect; s++) {
        m->used[s] = !rf_is_blank(flash + (size_t)s * 0x1000, 0x1000);
    }
}

/* ------------------------------------------------------------------------ */
/* Building a kind's device                                                 */
/* ------------------------------------------------------------------------ */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A size given as a string ("4MB", "0x400000") or a number. */
static bool jsize(const cJSON *o, const char *key, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 4294967295.0) {
        *out = (uint32_t)v->valuedouble;
        return true;
    }
    return cJSON_IsString(v) && rf_parse_size(v->valuestring, out);
}

static void resolve(const char *dir, const char *p, char *out, size_t n)
{
    if (p[0] == '/' || dir[0] == 0) {
        snprintf(out, n, "%.1000s", p);
    } else {
        snprintf(out, n, "%.500s/%.500s", dir, p);
    }
}

static bool write_meta_for_dump(const char *img, const fleet_kind_t *k, uint32_t pt_off)
{
    char path[RF_DEVICE_PATH_MAX + 200];
    snprintf(path, sizeof path, "%.1100s.meta", img);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(f, "# reflasher simulated device from a flash dump\nchip=%s\nflash_size=0x%x\nrunning=%s\nptable_offset=0x%x\n",
            k->chip, (unsigned)k->flash_size, k->running, (unsigned)pt_off);
    return fclose(f) == 0;
}

static bool build_from_dump(const char *img, const char *dump, fleet_kind_t *k, uint32_t pt_off)
{
    size_t len = 0;
    uint8_t *d = rf_cli_read_file(WHO, dump, &len);
    if (d == NULL) {
        snprintf(k->error, sizeof k->error, "cannot read the dump %.400s", dump);
        return false;
    }
    bool ok = false;
    if (len % 0x10000 != 0 || (k->flash_size != 0 && k->flash_size != len)) {
        snprintf(k->error, sizeof k->error, "the dump %.400s has %zu bytes: not a whole flash%s", dump, len,
                 k->flash_size ? " of the kind's flash_size" : " (a multiple of 64 KiB)");
    } else {
        k->flash_size = (uint32_t)len;
        FILE *f = fopen(img, "wb");
        ok = f != NULL && fwrite(d, 1, len, f) == len;
        ok = (f != NULL && fclose(f) == 0) && ok && write_meta_for_dump(img, k, pt_off);
        if (!ok) {
            snprintf(k->error, sizeof k->error, "cannot write %.400s", img);
        }
    }
    free(d);
    return ok;
}

/* An embedded migration's image lives inside the old firmware: a generated
 * old system carries it at --at when it fits in the running partition (as
 * `device create --embed` does; otherwise the plan refuses the kind). */
static uint8_t *embed_for(rf_device_t *dev, const fleet_opts_t *o, rf_oldsys_opts_t *opts)
{
    rf_ptable_t *t = malloc(sizeof *t);
    uint8_t *buf = NULL;
    size_t len = 0;
    const rf_part_t *run = NULL;
    if (t != NULL && rf_device_ptable(dev, t) == ESP_OK) {
        run = rf_ptable_find_label(t, dev->running);
    }
    if (run != NULL && (buf = rf_cli_read_file(WHO, o->m.imgs[0].source, &len)) != NULL &&
        o->m.at >= run->offset && (uint64_t)o->m.at + len <= (uint64_t)run->offset + run->size) {
        opts->embed = buf;
        opts->embed_len = len;
        opts->embed_at = o->m.at;
    } else {
        free(buf);
        buf = NULL;
    }
    free(t);
    return buf;
}

static bool build_device(const cJSON *jk, const char *dir, const char *img, const fleet_opts_t *fo, fleet_kind_t *k)
{
    const char *name = jstr(jk, "name"), *chip = jstr(jk, "chip"), *running = jstr(jk, "running");
    const char *csv = jstr(jk, "partitions"), *dump = jstr(jk, "dump");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(jk, "old_system");
    snprintf(k->chip, sizeof k->chip, "%s", chip ? chip : "esp32");
    snprintf(k->running, sizeof k->running, "%s", running ? running : "");
    uint32_t pt_off = 0, recovery = 0;
    if (cJSON_GetObjectItemCaseSensitive(jk, "flash_size") != NULL && !jsize(jk, "flash_size", &k->flash_size)) {
        snprintf(k->error, sizeof k->error, "bad flash_size");
        return false;
    }
    if ((cJSON_GetObjectItemCaseSensitive(jk, "ptable_offset") && !jsize(jk, "ptable_offset", &pt_off)) ||
        (cJSON_GetObjectItemCaseSensitive(jk, "recovery_offset") && !jsize(jk, "recovery_offset", &recovery))) {
        snprintf(k->error, sizeof k->error, "bad ptable_offset or recovery_offset");
        return false;
    }
    if (name == NULL || running == NULL) {
        snprintf(k->error, sizeof k->error, "a kind needs \"name\" and \"running\"");
        return false;
    }
    char path_a[1024], path_b[1024];
    if (dump != NULL) {
        if (old != NULL || csv != NULL) {
            snprintf(k->error, sizeof k->error, "\"dump\" replaces \"partitions\" and \"old_system\"");
            return false;
        }
        resolve(dir, dump, path_a, sizeof path_a);
        snprintf(k->old_system, sizeof k->old_system, "flash dump: %s", dump);
        if (!build_from_dump(img, path_a, k, pt_off ? pt_off : RF_PTABLE_OFFSET_DEFAULT)) {
            return false;
        }
    } else {
        if (csv == NULL || k->flash_size == 0) {
            snprintf(k->error, sizeof k->error, "a kind needs \"partitions\" and \"flash_size\" (or a \"dump\")");
            return false;
        }
        resolve(dir, csv, path_a, sizeof path_a);
        snprintf(k->partitions, sizeof k->partitions, "%s", csv);
        rf_device_spec_t spec = { .chip = k->chip, .flash_size = k->flash_size, .partitions_csv = path_a,
                                  .running = k->running, .ptable_offset = pt_off };
        char err[512] = "";
        if (rf_device_create(img, &spec, err, sizeof err) != ESP_OK) {
            snprintf(k->error, sizeof k->error, "device: %.*s", (int)sizeof k->error - 16, err);
            return false;
        }
        rf_oldsys_opts_t o;
        memset(&o, 0, sizeof o);
        uint8_t *bl = NULL, *app = NULL;
        const char *blp = old ? jstr(old, "bootloader") : NULL, *appp = old ? jstr(old, "app") : NULL;
        if (old != NULL && !(cJSON_IsString(old) && strcmp(old->valuestring, "generated") == 0) &&
            !(cJSON_IsObject(old) && blp && appp)) {
            snprintf(k->error, sizeof k->error, "\"old_system\" is \"generated\" or {\"bootloader\": FILE, \"app\": FILE}");
            return false;
        }
        if (blp != NULL) {
            resolve(dir, blp, path_a, sizeof path_a);
            resolve(dir, appp, path_b, sizeof path_b);
            bl = rf_cli_read_file(WHO, path_a, &o.bootloader_len);
            app = bl ? rf_cli_read_file(WHO, path_b, &o.app_len) : NULL;
            if (app == NULL) {
                free(bl);
                snprintf(k->error, sizeof k->error, "cannot read the old system's images");
                return false;
            }
            o.bootloader = bl;
            o.app = app;
            snprintf(k->old_system, sizeof k->old_system, "real images: %s + %s", blp, appp);
        } else {
            snprintf(k->old_system, sizeof k->old_system, "generated ESP-IDF system");
        }
        rf_device_t dev;
        uint8_t *embed = NULL;
        esp_err_t e = rf_device_open(img, &dev, err, sizeof err);
        if (e == ESP_OK) {
            if (fo->m.embedded && blp == NULL && (embed = embed_for(&dev, fo, &o)) != NULL) {
                snprintf(k->old_system, sizeof k->old_system, "generated ESP-IDF system, the image embedded in its app");
            }
            e = rf_device_write_old_system(&dev, &o, NULL, err, sizeof err);
            rf_device_close(&dev);
        }
        free(bl);
        free(app);
        free(embed);
        if (e != ESP_OK) {
            snprintf(k->error, sizeof k->error, "old system: %.*s", (int)sizeof k->error - 16, err);
            return false;
        }
    }
    if (recovery != 0) {
        char v[32];
        snprintf(v, sizeof v, "0x%x", (unsigned)recovery);
        rf_device_meta_set(img, "recovery_bootloader_offset", v);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Analysing a kind                                                         */
/* ------------------------------------------------------------------------ */

static void copy_plan_verdict(fleet_kind_t *k, int rc, const rf_plan_t *plan, const rf_cli_plan_extra_t *x,
                              const char *msg)
{
    k->plan_ran = true;
    k->plan_valid = rc == 0;
    if (rc == 0) {
        k->est_ms = (double)plan->est_total_us / 1e3;
        k->est_window_ms = (double)plan->window_us / 1e3;
        k->no_backup_window = plan->no_backup_window;
        return;
    }
    snprintf(k->rule, sizeof k->rule, "%s", x->rule_name ? x->rule_name : "PLAN_INPUT");
    snprintf(k->rule_text, sizeof k->rule_text, "%s", x->rule_text[0] ? x->rule_text : msg);
    snprintf(k->detail, sizeof k->detail, "%s", x->detail);
}

static void analyse(fleet_kind_t *k, const char *img, const fleet_opts_t *o, int index, int total)
{
    rf_device_t orig, base;
    char err[512];
    if (rf_device_open(img, &orig, err, sizeof err) != ESP_OK) {
        snprintf(k->error, sizeof k->error, "%s", err);
        return;
    }
    esp_err_t e = rf_device_clone(&orig, &base);
    rf_device_close(&orig);
    if (e != ESP_OK) {
        snprintf(k->error, sizeof k->error, "out of memory");
        return;
    }
    base.quiet = true;
    base.log_to_stderr = true;
    rf_boot_report_t *rep = calloc(1, sizeof *rep);
    rf_plan_t *plan = calloc(1, sizeof *plan);
    rf_image_arg_t *imgs = calloc(RF_SCENARIO_MAX, sizeof *imgs);
    rf_ptable_t *table = calloc(1, sizeof *table);
    rf_cli_plan_extra_t x;
    memset(&x, 0, sizeof x);
    if (rep == NULL || plan == NULL || imgs == NULL || table == NULL) {
        snprintf(k->error, sizeof k->error, "out of memory");
        goto out;
    }
    k->before = rf_boot_model_device(&base, NULL, rep);
    snprintf(k->before_reason, sizeof k->before_reason, "%.239s", rep->reason);
    map_flash(nor_sim_data(base.sim), k->flash_size, k->chip, base.ptable_offset, NULL, &k->before_map, table);

    /* The plan, every source fetched and checked for its destination. */
    memcpy(imgs, o->m.imgs, (size_t)o->m.n * sizeof *imgs);
    rf_cli_scenario_t sc = { .embedded = o->m.embedded, .imgs = imgs, .n = o->m.n, .at = o->m.at };
    char msg[512] = "";
    int rc;
    if (sc.embedded) {
        rc = rf_cli_build_embedded_plan(&base, &imgs[0], sc.at, plan, &x, msg, sizeof msg);
        if (rc == 0 && (rc = rf_cli_scenario_prepare(&base, &sc)) != 0) { /* places the image, as the linker */
            snprintf(msg, sizeof msg, "%.500s", sc.msg);
        }
    } else {
        rc = rf_cli_build_plan(&base, imgs, sc.n, true, plan, &x, msg, sizeof msg);
        if (rc == 0 && (rc = rf_cli_scenario_prepare(&base, &sc)) != 0) {
            snprintf(msg, sizeof msg, "%.500s", sc.msg);
        }
    }
    copy_plan_verdict(k, rc, plan, &x, msg);
    if (rc != 0) {
        k->verdict = FLEET_REFUSED;
        goto out;
    }

    /* The rehearsal. */
    char label[120];
    snprintf(label, sizeof label, "fleet: kind %d/%d '%.60s'", index + 1, total, k->name);
    rf_rehearse_cfg_t cfg = { .sweep = o->sweep, .stride = o->stride, .mid_op = o->mid_op, .jobs = o->jobs };
    rf_cli_scenario_cfg(&sc, &cfg);
    if (!o->quiet) {
        cfg.progress = rf_progress_rehearse;
        cfg.progress_arg = label;
    }
    rf_rehearse_result_t res;
    e = rf_rehearse(&base, &cfg, &res);
    k->ran = e == ESP_OK || e == ESP_ERR_INVALID_STATE;
    k->ref_ok = res.ref_ok;
    k->end = res.ref_boot;
    snprintf(k->end_loader, sizeof k->end_loader, "%s", res.ref_boot_loader);
    snprintf(k->end_reason, sizeof k->end_reason, "%s", res.ref_reason);
    if (res.ref_err != ESP_OK) {
        snprintf(k->mig_error, sizeof k->mig_error, "%s%s%s", esp_err_to_name(res.ref_err),
                 res.ref_error_line[0] ? ": " : "", res.ref_error_line);
    } else if (!k->ran) {
        snprintf(k->mig_error, sizeof k->mig_error, "rehearsal: %s", esp_err_to_name(e));
    }
    k->device_ms = (double)res.ref_counters.time_ns / 1e6;
    k->bytes_erased = res.ref_counters.bytes_erased;
    k->bytes_programmed = res.ref_counters.bytes_programmed;
    k->net_bytes = res.ref_net_bytes;
    k->write_ops = res.write_ops;
    k->win_first = res.win_first;
    k->win_last = res.win_last;
    k->win_ms = res.win_ms;
    k->swept = res.swept;
    k->sweep_ok = res.swept && res.ok;
    k->cut_points = res.np;
    memcpy(k->outcomes, res.outcomes, sizeof k->outcomes);
    k->brick_outside = res.brick_outside;
    k->rerun_failures = res.np - res.rerun_ok;
    k->stride = res.stride;
    if (res.ref_flash != NULL) {
        map_flash(res.ref_flash, res.flash_size, k->chip, base.ptable_offset, table, &k->after_map, NULL);
        for (int i = 0; i < sc.n && i < 16; i++) {
            k->after_map.written[i][0] = sc.dest[i].addr;
            k->after_map.written[i][1] = sc.dest[i].size;
            k->after_map.nwritten = i + 1;
        }
    }
    k->verdict = k->ref_ok && (!o->sweep || k->sweep_ok) ? FLEET_SAFE : FLEET_UNSAFE;
    uint32_t bl_off = 0, declared = 0;
    if (k->ref_ok && rf_chip_bootloader_offset(k->chip, &bl_off) &&
        (declared = header_flash_size(res.ref_flash, res.flash_size, bl_off)) != 0 && declared != k->flash_size) {
        /* the bootloader configures the flash from its header: the rest of the chip is out of its reach */
        snprintf(k->warning, sizeof k->warning,
                 "the new bootloader's header declares %u MB of flash, the device has %u MB", (unsigned)(declared >> 20),
                 (unsigned)(k->flash_size >> 20));
    }
    rf_rehearse_result_free(&res);
out:
    rf_cli_plan_extra_free(&x);
    free(rep);
    free(plan);
    free(imgs);
    free(table);
    rf_device_close(&base);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static void fmt_bytes(uint64_t b, char *out, size_t n)
{
    if (b >= 1u << 20) {
        snprintf(out, n, "%.2f MiB", (double)b / (1u << 20));
    } else if (b >= 1024) {
        snprintf(out, n, "%.1f KiB", (double)b / 1024);
    } else {
        snprintf(out, n, "%llu B", (unsigned long long)b);
    }
}

static void print_text(const fleet_report_t *r)
{
    printf("fleet %s: %s migration of %d image%s, %d device kind%s\n\n", r->fleet_file, r->mode, r->nimages,
           r->nimages == 1 ? "" : "s", r->n, r->n == 1 ? "" : "s");
    printf("%-22s %-8s %-5s %-8s %-34s %-18s %-14s %-10s %-10s %s\n", "KIND", "CHIP", "FLASH", "VERDICT", "PLAN",
           "END STATE", "BRICK WINDOW", "DEV TIME", "ERASED", "POWER-CUT SWEEP");
    for (int i = 0; i < r->n; i++) {
        const fleet_kind_t *k = &r->k[i];
        char plan[64], end[40] = "-", win[40] = "-", t[24] = "-", er[24] = "-", sw[64] = "-";
        if (k->error[0]) {
            snprintf(plan, sizeof plan, "-");
        } else if (k->plan_valid) {
            snprintf(plan, sizeof plan, "valid");
        } else {
            snprintf(plan, sizeof plan, "refused: %.25s", k->rule);
        }
        if (k->ran) {
            if (k->mig_error[0]) {
                snprintf(end, sizeof end, "FAILED");
            } else {
                snprintf(end, sizeof end, "%s (%s)", rf_boot_result_name(k->end), k->end_loader);
            }
            if (!k->ref_ok) {
                snprintf(win, sizeof win, "n/a");
            } else if (k->win_first) {
                snprintf(win, sizeof win, "%.1f ms", k->win_ms);
            } else {
                snprintf(win, sizeof win, "none");
            }
            snprintf(t, sizeof t, "%.2f s", k->device_ms / 1e3);
            fmt_bytes(k->bytes_erased, er, sizeof er);
            if (k->swept) {
                snprintf(sw, sizeof sw, "%s %u cuts, %u BRICK, %u outside", k->sweep_ok ? "PASS" : "FAIL",
                         (unsigned)k->cut_points, (unsigned)k->outcomes[RF_BOOT_BRICK], (unsigned)k->brick_outside);
            } else {
                snprintf(sw, sizeof sw, k->ref_ok ? "not run" : "not run: does not end NEW");
            }
        }
        char fl[16];
        snprintf(fl, sizeof fl, "%uMB", (unsigned)(k->flash_size >> 20));
        printf("%-22.22s %-8s %-5s %-8s %-34s %-18s %-14s %-10s %-10s %s\n", k->name, k->chip, fl,
               fleet_verdict_name(k->verdict), plan, end, win, t, er, sw);
    }
    printf("\n");
    for (int i = 0; i < r->n; i++) {
        const fleet_kind_t *k = &r->k[i];
        printf("%s: %s; before: %s: %s\n", k->name, k->old_system, rf_boot_result_name(k->before), k->before_reason);
        if (k->error[0]) {
            printf("  error: %s\n", k->error);
        } else if (!k->plan_valid) {
            printf("  refused before any write: %s: %s%s%s\n", k->rule, k->rule_text, k->detail[0] ? ": " : "", k->detail);
        } else {
            printf("  plan: estimated %.1f ms, bootloader window %.1f ms%s\n", k->est_ms, k->est_window_ms,
                   k->no_backup_window ? " (no room for a backup: the whole copy is the window)" : "");
            if (k->mig_error[0]) {
                printf("  migration failed: %s\n", k->mig_error);
            }
            if (k->ran) {
                printf("  after: %s: %s\n", rf_boot_result_name(k->end), k->end_reason);
            }
            if (k->win_first && k->ref_ok) {
                printf("  brick window: ops %u-%u of %u, %.1f ms\n", (unsigned)k->win_first, (unsigned)k->win_last,
                       (unsigned)k->write_ops, k->win_ms);
            }
            if (k->warning[0]) {
                printf("  warning: %s\n", k->warning);
            }
            if (k->brick_outside || k->rerun_failures) {
                printf("  power-cut sweep: %u cut(s) brick the device outside the bootloader's sectors, %u rerun(s) "
                       "do not end NEW\n", (unsigned)k->brick_outside, (unsigned)k->rerun_failures);
            }
        }
    }
}

static cJSON *map_json(const fleet_map_t *m)
{
    cJSON *a = cJSON_CreateArray();
    static const char *const kinds[] = { "bootloader", "partition_table", "app", "data", "otadata" };
    for (int i = 0; a != NULL && i < m->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "offset", m->r[i].addr);
        cJSON_AddNumberToObject(o, "size", m->r[i].size);
        cJSON_AddStringToObject(o, "kind", kinds[m->r[i].kind]);
        cJSON_AddStringToObject(o, "label", m->r[i].label);
        cJSON_AddStringToObject(o, "content", m->r[i].content);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *report_json(const fleet_report_t *r)
{
    cJSON *j = cJSON_CreateObject();
    bool all = true;
    for (int i = 0; i < r->n; i++) {
        all &= r->k[i].verdict == FLEET_SAFE;
    }
    cJSON_AddBoolToObject(j, "ok", all);
    cJSON_AddStringToObject(j, "fleet", r->fleet_file);
    cJSON *mig = cJSON_AddObjectToObject(j, "migration");
    cJSON_AddStringToObject(mig, "mode", r->mode);
    cJSON *im = cJSON_AddArrayToObject(mig, "images");
    for (int i = 0; i < r->nimages; i++) {
        cJSON_AddItemToArray(im, cJSON_CreateString(r->images[i]));
    }
    cJSON *ks = cJSON_AddArrayToObject(j, "kinds");
    for (int i = 0; i < r->n; i++) {
        const fleet_kind_t *k = &r->k[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "chip", k->chip);
        cJSON_AddNumberToObject(o, "flash_size", k->flash_size);
        cJSON_AddStringToObject(o, "partitions", k->partitions);
        cJSON_AddStringToObject(o, "running", k->running);
        cJSON_AddStringToObject(o, "old_system", k->old_system);
        cJSON_AddStringToObject(o, "verdict", fleet_verdict_name(k->verdict));
        cJSON *warn = cJSON_AddArrayToObject(o, "warnings");
        if (k->warning[0]) {
            cJSON_AddItemToArray(warn, cJSON_CreateString(k->warning));
        }
        if (k->error[0]) {
            cJSON_AddStringToObject(o, "error", k->error);
            cJSON_AddItemToArray(ks, o);
            continue;
        }
        cJSON *b = cJSON_AddObjectToObject(o, "before");
        cJSON_AddStringToObject(b, "boot", rf_boot_result_name(k->before));
        cJSON_AddStringToObject(b, "reason", k->before_reason);
        cJSON *p = cJSON_AddObjectToObject(o, "plan");
        cJSON_AddBoolToObject(p, "valid", k->plan_valid);
        if (k->plan_valid) {
            cJSON_AddNumberToObject(p, "estimated_device_time_ms", k->est_ms);
            cJSON_AddNumberToObject(p, "estimated_window_ms", k->est_window_ms);
            cJSON_AddBoolToObject(p, "no_backup_window", k->no_backup_window);
        } else {
            cJSON_AddStringToObject(p, "rule", k->rule);
            cJSON_AddStringToObject(p, "rule_text", k->rule_text);
            cJSON_AddStringToObject(p, "detail", k->detail);
        }
        if (k->ran) {
            cJSON *e = cJSON_AddObjectToObject(o, "end_state");
            cJSON_AddStringToObject(e, "boot", rf_boot_result_name(k->end));
            cJSON_AddStringToObject(e, "bootloader", k->end_loader);
            cJSON_AddStringToObject(e, "reason", k->end_reason);
            if (k->mig_error[0]) {
                cJSON_AddStringToObject(o, "migration_error", k->mig_error);
            }
            cJSON *w = cJSON_AddObjectToObject(o, "brick_window");
            if (k->win_first) {
                cJSON *ops = cJSON_AddArrayToObject(w, "ops");
                cJSON_AddItemToArray(ops, cJSON_CreateNumber(k->win_first));
                cJSON_AddItemToArray(ops, cJSON_CreateNumber(k->win_last));
            } else {
                cJSON_AddNullToObject(w, "ops");
            }
            cJSON_AddNumberToObject(w, "ms", k->win_ms);
            cJSON_AddNumberToObject(o, "device_time_ms", k->device_ms);
            cJSON_AddNumberToObject(o, "bytes_erased", (double)k->bytes_erased);
            cJSON_AddNumberToObject(o, "bytes_programmed", (double)k->bytes_programmed);
            cJSON_AddNumberToObject(o, "network_bytes", (double)k->net_bytes);
            cJSON_AddNumberToObject(o, "write_ops", k->write_ops);
            cJSON *s = cJSON_AddObjectToObject(o, "sweep");
            cJSON_AddStringToObject(s, "verdict", k->swept ? (k->sweep_ok ? "PASS" : "FAIL") : "not run");
            cJSON_AddNumberToObject(s, "stride", k->stride);
            cJSON_AddNumberToObject(s, "cut_points", k->cut_points);
            cJSON_AddItemToObject(s, "outcomes", rf_rehearse_outcomes_json(k->outcomes));
            cJSON_AddNumberToObject(s, "brick_outside_window", k->brick_outside);
            cJSON_AddNumberToObject(s, "rerun_failures", k->rerun_failures);
        }
        cJSON *maps = cJSON_AddObjectToObject(o, "maps");
        cJSON_AddItemToObject(maps, "before", map_json(&k->before_map));
        if (k->ran && k->after_map.n > 0) {
            cJSON_AddItemToObject(maps, "after", map_json(&k->after_map));
        }
        cJSON_AddItemToArray(ks, o);
    }
    return j;
}

/* ------------------------------------------------------------------------ */
/* The command                                                              */
/* ------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, fleet_opts_t *o, const char **fleet_file)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool *flag = strcmp(a, "--json") == 0 ? &o->json
                     : strcmp(a, "--quiet") == 0 ? &o->quiet
                     : strcmp(a, "--mid-op") == 0 ? &o->mid_op : NULL;
        if (flag != NULL) {
            *flag = true;
            continue;
        }
        if (rf_migration_flag(&o->m, a)) {
            continue;
        }
        if (strcmp(a, "--no-sweep") == 0) {
            o->sweep = false;
            continue;
        }
        if (a[0] != '-') {
            if (*fleet_file != NULL) {
                return 2;
            }
            *fleet_file = a;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL || strcmp(a, "--device") == 0) {
            return 2;
        }
        int r = rf_migration_arg(&o->m, WHO, a, v);
        if (r < 0) {
            return 2;
        }
        uint32_t n;
        if (r > 0) {
            continue;
        } else if (strcmp(a, "--stride") == 0 && rf_parse_size(v, &n) && n > 0) {
            o->stride = n;
        } else if (strcmp(a, "--jobs") == 0 && rf_parse_size(v, &n) && n > 0 && n <= RF_REHEARSE_MAX_JOBS) {
            o->jobs = (int)n;
        } else if (strcmp(a, "--html") == 0) {
            o->html = v;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = v;
        } else {
            return 2;
        }
    }
    if (*fleet_file == NULL || o->m.n == 0 || (o->m.embedded && o->m.n != 1) || (o->m.at_given && !o->m.embedded)) {
        return 2;
    }
    return rf_migration_check_http(&o->m, WHO) ? 0 : 2;
}

static cJSON *load_fleet(const char *path)
{
    size_t len = 0;
    uint8_t *buf = rf_cli_read_file(WHO, path, &len);
    if (buf == NULL) {
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    const cJSON *kinds = j ? cJSON_GetObjectItemCaseSensitive(j, "kinds") : NULL;
    if (!cJSON_IsArray(kinds) || cJSON_GetArraySize(kinds) < 1 || cJSON_GetArraySize(kinds) > FLEET_MAX_KINDS) {
        fprintf(stderr, "%s: %s: %s\n", WHO, path,
                j == NULL ? "not JSON" : "no \"kinds\" array of 1 to 64 entries");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int cmd_fleet(int argc, char **argv)
{
    rf_image_arg_t *imgs = calloc(RF_SCENARIO_MAX, sizeof *imgs);
    fleet_opts_t o = { .stride = 1, .sweep = true, .jobs = rf_rehearse_default_jobs() };
    const char *fleet_file = NULL;
    if (imgs == NULL) {
        return 1;
    }
    rf_migration_args_init(&o.m, imgs, RF_SCENARIO_MAX);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        free(imgs);
        usage();
        return 0;
    }
    if (parse_args(argc, argv, &o, &fleet_file) != 0) {
        free(imgs);
        return usage();
    }
    int rc = 1;
    cJSON *fleet = load_fleet(fleet_file);
    char tmpl[] = "/tmp/reflasher-fleet-XXXXXX";
    const char *work = o.keep;
    fleet_report_t rep = { .fleet_file = fleet_file, .mode = o.m.embedded ? "embedded" : "download",
                           .nimages = o.m.n };
    if (fleet == NULL) {
        goto out;
    }
    if (work == NULL && (work = mkdtemp(tmpl)) == NULL) {
        fprintf(stderr, "%s: mkdtemp: %s\n", WHO, strerror(errno));
        goto out;
    }
    if (o.keep != NULL && mkdir(o.keep, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot make %s: %s\n", WHO, o.keep, strerror(errno));
        goto out;
    }
    for (int i = 0; i < o.m.n; i++) {
        rep.images[i] = imgs[i].source;
    }
    char fdir[1024];
    snprintf(fdir, sizeof fdir, "%s", fleet_file);
    char *dir = dirname(fdir);
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(fleet, "kinds");
    rep.n = cJSON_GetArraySize(kinds);
    rep.k = calloc((size_t)rep.n, sizeof *rep.k);
    if (rep.k == NULL) {
        goto out;
    }
    int i = 0;
    const cJSON *jk;
    cJSON_ArrayForEach(jk, kinds)
    {
        fleet_kind_t *k = &rep.k[i];
        const char *name = jstr(jk, "name");
        snprintf(k->name, sizeof k->name, "%s", name ? name : "?");
        char img[1200];
        snprintf(img, sizeof img, "%s/kind%02d.img", work, i + 1);
        if (!o.quiet) {
            rf_progress_show(true, "fleet: kind %d/%d '%.60s': building the device", i + 1, rep.n, k->name);
        }
        if (build_device(jk, dir, img, &o, k)) {
            analyse(k, img, &o, i, rep.n);
        }
        if (k->error[0]) {
            k->verdict = FLEET_ERROR;
        }
        if (!o.quiet) {
            rf_progress_show(true, "fleet: kind %d/%d '%.60s': %s", i + 1, rep.n, k->name, fleet_verdict_name(k->verdict));
            rf_progress_finish();
        }
        if (o.keep == NULL) {
            char meta[1300];
            snprintf(meta, sizeof meta, "%s.meta", img);
            unlink(img);
            unlink(meta);
        }
        i++;
    }
    if (o.keep == NULL) {
        rmdir(work);
    }
    rc = 0;
    for (int j = 0; j < rep.n; j++) {
        rc |= rep.k[j].verdict != FLEET_SAFE;
    }
    if (o.json) {
        cJSON *j = report_json(&rep);
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        if (s == NULL) {
            rc = 1;
        } else {
            printf("%s\n", s);
        }
        cJSON_free(s);
        cJSON_Delete(j);
    } else {
        print_text(&rep);
    }
    if (o.html != NULL && !fleet_write_html(o.html, &rep)) {
        fprintf(stderr, "%s: cannot write %s\n", WHO, o.html);
        rc = 1;
    }
out:
    for (int j = 0; rep.k != NULL && j < rep.n; j++) {
        free(rep.k[j].before_map.used);
        free(rep.k[j].after_map.used);
    }
    free(rep.k);
    cJSON_Delete(fleet);
    free(imgs);
    return rc;
}
