/* Simulated devices on the host (see rf_device.h). */
#include "rf_device.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ptable_csv.h"
#include "rf_gzip_source.h"
#include "rf_host_source.h"
#include "rf_imggen.h"

static const struct {
    const char *chip;
    uint32_t bootloader_offset;
} k_chips[] = {
    { "esp32", 0x1000 },   { "esp32s2", 0x1000 }, { "esp32s3", 0x0 },    { "esp32c2", 0x0 },
    { "esp32c3", 0x0 },    { "esp32c6", 0x0 },    { "esp32h2", 0x0 },    { "esp32c61", 0x0 },
    { "esp32c5", 0x2000 }, { "esp32p4", 0x2000 },
};

bool rf_chip_bootloader_offset(const char *chip, uint32_t *offset)
{
    for (size_t i = 0; i < sizeof k_chips / sizeof k_chips[0]; i++) {
        if (strcmp(chip, k_chips[i].chip) == 0) {
            if (offset) {
                *offset = k_chips[i].bootloader_offset;
            }
            return true;
        }
    }
    return false;
}

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

static void meta_path(const char *img, char *out, size_t n)
{
    snprintf(out, n, "%s.meta", img);
}

static esp_err_t write_meta(const char *img, const char *chip, const char *running, uint32_t ptable_offset,
                            const nor_sim_config_t *cfg)
{
    char path[RF_DEVICE_PATH_MAX + 8];
    meta_path(img, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return ESP_FAIL;
    }
    fprintf(f, "# reflasher simulated device: the flash content is %s, byte for byte\n", img);
    fprintf(f, "chip=%s\nflash_size=0x%" PRIx32 "\nrunning=%s\nptable_offset=0x%" PRIx32 "\n", chip, cfg->size,
            running, ptable_offset);
    fprintf(f, "sector_size=%" PRIu32 "\nblock_size=%" PRIu32 "\npage_size=%" PRIu32 "\n", cfg->sector_size,
            cfg->block_size, cfg->page_size);
    const nor_sim_timing_t *t = &cfg->timing;
    fprintf(f, "sector_erase_ns=%" PRIu32 "\nblock_erase_ns=%" PRIu32 "\npage_program_ns=%" PRIu32
            "\npage_program_blank_ns=%" PRIu32 "\nread_bytes_per_s=%" PRIu32 "\nnet_bytes_per_s=%" PRIu32 "\n",
            t->sector_erase_ns, t->block_erase_ns, t->page_program_ns, t->page_program_blank_ns,
            t->read_bytes_per_s, t->net_bytes_per_s);
    return fclose(f) == 0 ? ESP_OK : ESP_FAIL;
}

esp_err_t rf_device_create(const char *img_path, const rf_device_spec_t *spec, char *err, size_t err_len)
{
    if (img_path == NULL || spec == NULL || spec->chip == NULL || spec->partitions_csv == NULL ||
        spec->running == NULL) {
        seterr(err, err_len, "missing argument");
        return ESP_ERR_INVALID_ARG;
    }
    if (!rf_chip_bootloader_offset(spec->chip, NULL)) {
        seterr(err, err_len, "unknown chip '%s'", spec->chip);
        return ESP_ERR_INVALID_ARG;
    }
    if (spec->flash_size == 0 || spec->flash_size % 0x10000 != 0) {
        seterr(err, err_len, "flash size 0x%x is not a multiple of 64 KiB", (unsigned)spec->flash_size);
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t pt_off = spec->ptable_offset ? spec->ptable_offset : RF_PTABLE_OFFSET_DEFAULT;
    FILE *csv = fopen(spec->partitions_csv, "r");
    if (csv == NULL) {
        seterr(err, err_len, "cannot read %s", spec->partitions_csv);
        return ESP_ERR_NOT_FOUND;
    }
    char *text = calloc(1, 1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, csv) : 0;
    fclose(csv);
    if (text == NULL) {
        return ESP_ERR_NO_MEM;
    }
    text[n] = 0;
    rf_ptable_t *t = calloc(1, sizeof *t);
    char msg[256] = "";
    esp_err_t e = t ? ptable_csv_parse(text, pt_off, spec->flash_size, t, msg, sizeof msg) : ESP_ERR_NO_MEM;
    free(text);
    if (e != ESP_OK) {
        seterr(err, err_len, "%s: %s", spec->partitions_csv, msg);
        free(t);
        return e;
    }
    if (rf_ptable_find_label(t, spec->running) == NULL) {
        seterr(err, err_len, "no partition named '%s' in %s", spec->running, spec->partitions_csv);
        free(t);
        return ESP_ERR_NOT_FOUND;
    }
    uint8_t bin[RF_PTABLE_MAX_LEN];
    e = rf_ptable_serialize(t, true, bin, sizeof bin);
    free(t);
    if (e != ESP_OK) {
        seterr(err, err_len, "cannot serialize the partition table");
        return e;
    }
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, spec->flash_size);
    nor_sim_t *sim = nor_sim_open_file(img_path, &cfg, true);
    if (sim == NULL) {
        seterr(err, err_len, "cannot create %s", img_path);
        return ESP_FAIL;
    }
    memcpy(nor_sim_data(sim) + pt_off, bin, sizeof bin);
    nor_sim_free(sim);
    if (write_meta(img_path, spec->chip, spec->running, pt_off, &cfg) != ESP_OK) {
        seterr(err, err_len, "cannot write %s.meta", img_path);
        return ESP_FAIL;
    }
    return ESP_OK;
}

/* ---- the native host platform ------------------------------------------ */

static void host_log(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    rf_device_t *dev = arg;
    if (dev->quiet && level > RF_LOG_ERROR) {
        return;
    }
    static const char letters[] = "?EWIDV";
    const nor_sim_counters_t *c = nor_sim_counters(dev->sim);
    FILE *out = (level == RF_LOG_ERROR || dev->log_to_stderr) ? stderr : stdout;
    fprintf(out, "%c (%llu) %s: ", letters[level <= RF_LOG_VERBOSE ? level : 0],
            (unsigned long long)(c->time_ns / 1000000u), tag);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
}

esp_err_t rf_device_ptable(rf_device_t *dev, rf_ptable_t *out)
{
    uint8_t buf[RF_PTABLE_MAX_LEN];
    /* Read the table straight from the content: looking is not a flash
     * operation the migration pays for. */
    if ((uint64_t)dev->ptable_offset + sizeof buf > nor_sim_config(dev->sim)->size) {
        return ESP_ERR_NOT_FOUND;
    }
    memcpy(buf, nor_sim_data(dev->sim) + dev->ptable_offset, sizeof buf);
    return rf_ptable_parse(buf, sizeof buf, out);
}

static esp_err_t host_list_partitions(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count)
{
    rf_device_t *dev = ctx;
    rf_ptable_t *t = malloc(sizeof *t);
    if (t == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = rf_device_ptable(dev, t);
    if (err == ESP_OK) {
        *count = t->count < max ? t->count : max;
        memcpy(out, t->parts, *count * sizeof *out);
    }
    free(t);
    return err;
}

static esp_err_t host_running_partition(void *ctx, rf_part_t *out)
{
    rf_device_t *dev = ctx;
    rf_ptable_t *t = malloc(sizeof *t);
    if (t == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = rf_device_ptable(dev, t);
    if (err == ESP_OK) {
        const rf_part_t *p = rf_ptable_find_label(t, dev->running);
        if (p != NULL) {
            *out = *p;
        } else {
            err = ESP_ERR_NOT_FOUND;
        }
    }
    free(t);
    return err;
}

/* Network time: the timing model's TCP receiver (nor_sim_net_consume)
 * charges the bytes as the reader takes them. */
static void host_on_bytes(void *arg, uint32_t n)
{
    rf_device_t *dev = arg;
    dev->net_bytes += n;
    nor_sim_net_consume(dev->sim, n);
}

static esp_err_t host_make_source(void *ctx, const esp_http_client_config_t *http, rf_source_t *out)
{
    rf_device_t *dev = ctx;
    rf_source_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = http->timeout_ms;
    opts.cert_pem = http->cert_pem;
    opts.cert_len = http->cert_len;
    opts.on_bytes = host_on_bytes;
    opts.on_bytes_arg = dev;
    return rf_source_url_new_inflating(http->url, &opts, out);   /* gzip inflated on the fly: rf_inflate.h */
}

static void host_free_source(void *ctx, rf_source_t *src)
{
    (void)ctx;
    rf_source_url_inflating_destroy(src);
}

static void bind_platform(rf_device_t *dev)
{
    nor_sim_flash_port(dev->sim, &dev->flash);
    esp_self_reflasher_platform_t *p = &dev->platform;
    memset(p, 0, sizeof *p);
    p->ctx = dev;
    p->flash = &dev->flash;
    p->ptable_offset = dev->ptable_offset;
    p->recovery_bootloader_addr = dev->recovery_offset;
    if (!rf_chip_id(dev->chip, &p->chip_id)) {
        p->chip_id = 0xFFFF;
    }
    p->running_partition = host_running_partition;
    p->list_partitions = host_list_partitions;
    p->make_source = host_make_source;
    p->free_source = host_free_source;
    p->log.fn = host_log;
    p->log.arg = dev;
    nor_sim_attach_cost(dev->sim);   /* CPU work (hashing, inflate, requests) on this device's clock */
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
        *--e = 0;
    }
    return s;
}

esp_err_t rf_device_open(const char *img_path, rf_device_t *dev, char *err, size_t err_len)
{
    memset(dev, 0, sizeof *dev);
    char path[RF_DEVICE_PATH_MAX + 8];
    meta_path(img_path, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        seterr(err, err_len, "cannot read %s (make the device with 'reflasher device create')", path);
        return ESP_ERR_NOT_FOUND;
    }
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 0);
    dev->ptable_offset = RF_PTABLE_OFFSET_DEFAULT;
    char line[512];
    esp_err_t e = ESP_OK;
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (*s == '#' || *s == 0) {
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            seterr(err, err_len, "%s: bad line '%s'", path, s);
            e = ESP_ERR_INVALID_ARG;
            break;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        uint32_t num = (uint32_t)strtoul(v, NULL, 0);
        if (strcmp(k, "chip") == 0) {
            snprintf(dev->chip, sizeof dev->chip, "%s", v);
            nor_sim_timing_for_chip(dev->chip, &cfg.timing);   /* SHA-256 rate of the chip */
        } else if (strcmp(k, "running") == 0) {
            snprintf(dev->running, sizeof dev->running, "%s", v);
        } else if (strcmp(k, "flash_size") == 0) {
            cfg.size = num;
        } else if (strcmp(k, "ptable_offset") == 0) {
            dev->ptable_offset = num;
        } else if (strcmp(k, "sector_size") == 0) {
            cfg.sector_size = num;
        } else if (strcmp(k, "block_size") == 0) {
            cfg.block_size = num;
        } else if (strcmp(k, "page_size") == 0) {
            cfg.page_size = num;
        } else if (strcmp(k, "sector_erase_ns") == 0) {
            cfg.timing.sector_erase_ns = num;
        } else if (strcmp(k, "block_erase_ns") == 0) {
            cfg.timing.block_erase_ns = num;
        } else if (strcmp(k, "page_program_ns") == 0) {
            cfg.timing.page_program_ns = num;
        } else if (strcmp(k, "page_program_blank_ns") == 0) {
            cfg.timing.page_program_blank_ns = num;
        } else if (strcmp(k, "read_bytes_per_s") == 0) {
            cfg.timing.read_bytes_per_s = num;
        } else if (strcmp(k, "net_bytes_per_s") == 0) {
            cfg.timing.net_bytes_per_s = num;
        } else if (strcmp(k, "recovery_bootloader_offset") == 0) {
            dev->recovery_offset = num;
        } else if (strcmp(k, "old_bootloader_sha256") == 0) {
            snprintf(dev->old_bootloader_sha256, sizeof dev->old_bootloader_sha256, "%s", v);
        } else {
            nor_sim_timing_set(&cfg.timing, k, num);   /* honest-clock keys; others are ignored */
        }
    }
    fclose(f);
    if (e != ESP_OK) {
        return e;
    }
    if (dev->chip[0] == 0 || dev->running[0] == 0 || cfg.size == 0) {
        seterr(err, err_len, "%s lacks chip, running or flash_size", path);
        return ESP_ERR_INVALID_ARG;
    }
    dev->sim = nor_sim_open_file(img_path, &cfg, false);
    if (dev->sim == NULL) {
        seterr(err, err_len, "cannot open %s as a 0x%x-byte flash image", img_path, (unsigned)cfg.size);
        return ESP_ERR_NOT_FOUND;
    }
    snprintf(dev->path, sizeof dev->path, "%s", img_path);
    bind_platform(dev);
    return ESP_OK;
}

esp_err_t rf_device_clone(const rf_device_t *src, rf_device_t *dst)
{
    *dst = *src;
    dst->sim = nor_sim_clone(src->sim);
    if (dst->sim == NULL) {
        return ESP_ERR_NO_MEM;
    }
    dst->path[0] = 0;
    bind_platform(dst);
    return ESP_OK;
}

void rf_device_close(rf_device_t *dev)
{
    if (dev != NULL && dev->sim != NULL) {
        nor_sim_free(dev->sim);
        dev->sim = NULL;
    }
}

const esp_self_reflasher_platform_t *rf_device_get_platform(rf_device_t *dev)
{
    nor_sim_attach_cost(dev->sim);
    return &dev->platform;
}

esp_err_t rf_device_meta_set(const char *img_path, const char *key, const char *value)
{
    if (img_path == NULL || key == NULL || value == NULL || *key == 0 || strpbrk(key, "=\n\r") != NULL ||
        strpbrk(value, "\n\r") != NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    char path[RF_DEVICE_PATH_MAX + 8];
    meta_path(img_path, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    size_t cap = 1 << 16, len = 0, klen = strlen(key);
    char *text = malloc(cap);
    char line[512];
    esp_err_t e = text ? ESP_OK : ESP_ERR_NO_MEM;
    while (e == ESP_OK && fgets(line, sizeof line, f)) {
        const char *s = line;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        const char *after = s + klen;
        if (strncmp(s, key, klen) == 0) {
            while (*after == ' ' || *after == '\t') {
                after++;
            }
            if (*after == '=') {
                continue;   /* the key's old value: dropped */
            }
        }
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            e = ESP_ERR_NO_MEM;
            break;
        }
        memcpy(text + len, line, n);
        len += n;
    }
    fclose(f);
    if (e != ESP_OK) {
        free(text);
        return e;
    }
    f = fopen(path, "w");
    if (f == NULL) {
        free(text);
        return ESP_FAIL;
    }
    fwrite(text, 1, len, f);
    if (len > 0 && text[len - 1] != '\n') {
        fputc('\n', f);
    }
    fprintf(f, "%s=%s\n", key, value);
    free(text);
    return fclose(f) == 0 ? ESP_OK : ESP_FAIL;
}
