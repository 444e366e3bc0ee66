/* reflasher device create --chip CHIP --flash-size SIZE --partitions CSV --running LABEL -o DEVICE.img
 *                         [--old-system [--bootloader FILE] [--app FILE] [--embed FILE --embed-at ADDR]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "rf_device.h"
#include "rf_oldsys.h"
#include "readfile.h"

static int usage(void)
{
    fprintf(stderr, "usage: reflasher device create --chip CHIP --flash-size SIZE --partitions FILE.csv "
                    "--running LABEL -o DEVICE.img [--ptable-offset ADDR]\n"
                    "       [--old-system [--bootloader FILE] [--app FILE] [--embed FILE --embed-at ADDR]]\n"
                    "       [--recovery-offset ADDR]\n"
                    "  --old-system: also write what a real ESP-IDF device holds: bootloader, otadata and an\n"
                    "                app (old_app 1.0.0) in the running partition; --embed puts FILE at ADDR\n"
                    "                inside the running partition (the embedded mode's image)\n"
                    "  --bootloader, --app: real images (an ESP-IDF build's bootloader.bin and app .bin) instead\n"
                    "                of the generated ones; the bootloader's header gets the device's flash size\n"
                    "                and its appended SHA-256 is recomputed, as esptool does\n");
    return 2;
}

typedef struct oldsys_files {
    const char *embed, *bootloader, *app;
    uint32_t embed_at;
} oldsys_files_t;

static int write_old_system(const char *img, const oldsys_files_t *in)
{
    rf_oldsys_opts_t o;
    memset(&o, 0, sizeof o);
    uint8_t *embed = NULL, *bl = NULL, *app = NULL;
    int rc = 1;
    if ((in->embed && (embed = rf_cli_read_file("reflasher device create --embed", in->embed, &o.embed_len)) == NULL) ||
        (in->bootloader && (bl = rf_cli_read_file("reflasher device create --bootloader", in->bootloader, &o.bootloader_len)) == NULL) ||
        (in->app && (app = rf_cli_read_file("reflasher device create --app", in->app, &o.app_len)) == NULL)) {
        goto out;
    }
    o.embed = embed;
    o.embed_at = in->embed_at;
    o.bootloader = bl;
    o.app = app;
    rf_device_t *dev = calloc(1, sizeof *dev);
    char err[512] = "";
    esp_err_t e = dev ? rf_device_open(img, dev, err, sizeof err) : ESP_ERR_NO_MEM;
    rf_oldsys_result_t res;
    if (e == ESP_OK) {
        e = rf_device_write_old_system(dev, &o, &res, err, sizeof err);
        rf_device_close(dev);
    }
    free(dev);
    if (e != ESP_OK) {
        fprintf(stderr, "reflasher device create --old-system: %s (%s)\n", err, esp_err_to_name(e));
        goto out;
    }
    printf("old system: ESP-IDF bootloader at 0x%x (%u bytes, %s, sha256 %s), app at 0x%x (%u bytes, %s), otadata %s",
           (unsigned)res.bootloader_offset, (unsigned)res.bootloader_len,
           in->bootloader ? "real, flash size set" : "generated", res.bootloader_sha256_hex, (unsigned)res.app_offset,
           (unsigned)res.app_len, in->app ? "real" : "generated",
           res.otadata_offset == 0 ? "(none)" : res.otadata_written ? "selecting the running OTA slot" : "erased");
    if (in->embed != NULL) {
        printf(", %s at 0x%x%s", in->embed, (unsigned)in->embed_at, res.embedded_in_app ? " (inside the app)" : "");
    }
    printf("\n");
    rc = 0;
out:
    free(embed);
    free(bl);
    free(app);
    return rc;
}

int cmd_device(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        return usage();
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20 };
    const char *out = NULL;
    bool old_system = false;
    oldsys_files_t files = { 0 };
    bool has_embed_at = false;
    uint32_t recovery = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--old-system") == 0) {
            old_system = true;
            continue;
        }
        if (v == NULL) {
            return usage();
        }
        if (strcmp(a, "--chip") == 0) {
            spec.chip = v;
        } else if (strcmp(a, "--flash-size") == 0) {
            if (!rf_parse_size(v, &spec.flash_size)) {
                fprintf(stderr, "reflasher device: bad --flash-size '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--partitions") == 0) {
            spec.partitions_csv = v;
        } else if (strcmp(a, "--running") == 0) {
            spec.running = v;
        } else if (strcmp(a, "--ptable-offset") == 0) {
            if (!rf_parse_size(v, &spec.ptable_offset)) {
                return usage();
            }
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            out = v;
        } else if (strcmp(a, "--recovery-offset") == 0) {
            /* the eFuse RECOVERY_BOOTLOADER_FLASH_SECTOR of ESP32-C5/-C61/-P4, as an address */
            if (!rf_parse_size(v, &recovery) || recovery % 0x1000 != 0) {
                return usage();
            }
        } else if (strcmp(a, "--embed") == 0) {
            files.embed = v;
        } else if (strcmp(a, "--bootloader") == 0) {
            files.bootloader = v;
        } else if (strcmp(a, "--app") == 0) {
            files.app = v;
        } else if (strcmp(a, "--embed-at") == 0) {
            if (!rf_parse_size(v, &files.embed_at)) {
                return usage();
            }
            has_embed_at = true;
        } else {
            return usage();
        }
        i++;
    }
    if (out == NULL || spec.partitions_csv == NULL || spec.running == NULL) {
        return usage();
    }
    if ((files.embed != NULL) != has_embed_at || (files.embed != NULL && !old_system)) {
        fprintf(stderr, "reflasher device create: --embed FILE and --embed-at ADDR go together, with --old-system\n");
        return 2;
    }
    if ((files.bootloader != NULL || files.app != NULL) && !old_system) {
        fprintf(stderr, "reflasher device create: --bootloader and --app go with --old-system\n");
        return 2;
    }
    char err[512] = "";
    esp_err_t e = rf_device_create(out, &spec, err, sizeof err);
    if (e != ESP_OK) {
        fprintf(stderr, "reflasher device create: %s (%s)\n", err, esp_err_to_name(e));
        return 1;
    }
    printf("created %s: %s, %u bytes of flash, running '%s', partition table at 0x%x (meta in %s.meta)\n", out,
           spec.chip, (unsigned)spec.flash_size, spec.running,
           (unsigned)(spec.ptable_offset ? spec.ptable_offset : RF_PTABLE_OFFSET_DEFAULT), out);
    if (recovery != 0) {
        char v[32];
        snprintf(v, sizeof v, "0x%x", (unsigned)recovery);
        if (rf_device_meta_set(out, "recovery_bootloader_offset", v) != ESP_OK) {
            fprintf(stderr, "reflasher device create: cannot record the recovery offset\n");
            return 1;
        }
    }
    return old_system ? write_old_system(out, &files) : 0;
}
