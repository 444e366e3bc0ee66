/*
 * reflasher boot DEVICE.img [--json] [--chip CHIP] [--recovery-offset ADDR]
 *                [--old-bootloader-sha256 HEX] [--new-bootloader-sha256 HEX]
 *                [--primary ADDR[:SIZE]] [--secondary ADDR[:SIZE]]
 *
 * What the device would boot if it were reset now (the boot-state model,
 * host/include/rf_boot.h): OLD, NEW or BRICK and why. Exit 0 for OLD and
 * NEW, 1 for BRICK, 2 for a usage or I/O error. Without DEVICE.img.meta, a
 * raw flash dump can be modelled by giving --chip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "json_out.h"
#include "rf_boot.h"
#include "rf_device.h"
#include "rf_image.h"
#include "rf_oldsys.h"

static int usage(void)
{
    fprintf(stderr, "usage: reflasher boot DEVICE.img [--json] [--chip CHIP] [--recovery-offset ADDR]\n"
                    "                      [--old-bootloader-sha256 HEX] [--new-bootloader-sha256 HEX]\n"
                    "                      [--primary ADDR[:SIZE]] [--secondary ADDR[:SIZE]]\n");
    return 2;
}

static bool parse_slot(const char *v, uint32_t *addr, uint32_t *size)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    char *colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon = 0;
        if (!rf_parse_size(colon + 1, size) || *size == 0) {
            return false;
        }
    }
    return rf_parse_size(buf, addr);
}

static bool print_json(const char *dev, const char *chip, const rf_boot_report_t *r)
{
    cJSON *o = cJSON_CreateObject();
    rf_json_str(o, "device", dev);
    rf_json_str(o, "chip", chip);
    rf_json_str(o, "result", rf_boot_result_name(r->result));
    rf_json_str(o, "reason", r->reason);
    cJSON *bl = cJSON_AddObjectToObject(o, "bootloader");
    cJSON_AddBoolToObject(bl, "valid", r->bootloader_valid);
    rf_json_num(bl, "offset", r->bootloader_offset);
    cJSON_AddBoolToObject(bl, "recovery", r->used_recovery);
    rf_json_str(bl, "kind", rf_boot_loader_name(r->bootloader));
    if (r->bootloader_valid) {
        rf_json_num(bl, "len", r->bootloader_len);
        rf_json_hex(bl, "sha256", r->bootloader_sha256, 32);
    }
    if (r->bootloader == RF_BOOT_BL_ESP_IDF && r->result == RF_BOOT_OLD) {
        cJSON *app = cJSON_AddObjectToObject(o, "app");
        rf_json_str(app, "partition", r->app_label);
        rf_json_num(app, "offset", r->app_offset);
        rf_json_str(app, "project", r->app_project);
        rf_json_str(app, "version", r->app_version);
        rf_json_num(app, "ota_seq", r->ota_seq);
    }
    if (r->bootloader == RF_BOOT_BL_MCUBOOT) {
        cJSON *m = cJSON_AddObjectToObject(o, "mcuboot");
        rf_json_str(m, "swap_type", rf_mcuboot_swap_type_name(r->swap_type));
        if (r->result == RF_BOOT_NEW) {
            rf_json_num(m, "slot", r->slot_offset);
            rf_json_num(m, "image_len", r->image_len);
            rf_json_hex(m, "image_sha256", r->image_sha256, 32);
        }
    }
    return rf_json_print(o, "reflasher boot");
}

int cmd_boot(int argc, char **argv)
{
    const char *path = NULL, *chip = NULL;
    bool json = false;
    rf_boot_expect_t ov;
    memset(&ov, 0, sizeof ov);
    bool have_rec = false, have_p = false, have_s = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (a[0] != '-') {
            if (path != NULL) {
                return usage();
            }
            path = a;
            continue;
        }
        if (v == NULL) {
            return usage();
        }
        i++;
        if (strcmp(a, "--chip") == 0) {
            chip = v;
        } else if (strcmp(a, "--recovery-offset") == 0) {
            if (!rf_parse_size(v, &ov.recovery_bootloader_offset)) {
                return usage();
            }
            have_rec = true;
        } else if (strcmp(a, "--old-bootloader-sha256") == 0) {
            uint8_t ignored[32];
            if (!rf_oldsys_unhex32(v, ignored)) {
                fprintf(stderr, "reflasher boot: --old-bootloader-sha256 wants 64 hex digits\n");
                return 2;
            }
            fprintf(stderr, "reflasher boot: --old-bootloader-sha256 is ignored: bootloaders are recognised by "
                    "their content\n");
        } else if (strcmp(a, "--new-bootloader-sha256") == 0) {
            uint8_t ignored[32];
            if (!rf_oldsys_unhex32(v, ignored)) {
                fprintf(stderr, "reflasher boot: --new-bootloader-sha256 wants 64 hex digits\n");
                return 2;
            }
            fprintf(stderr, "reflasher boot: --new-bootloader-sha256 is ignored: bootloaders are recognised by "
                    "their content\n");
        } else if (strcmp(a, "--primary") == 0) {
            if (!parse_slot(v, &ov.primary_slot, &ov.primary_size)) {
                return usage();
            }
            have_p = true;
        } else if (strcmp(a, "--secondary") == 0) {
            if (!parse_slot(v, &ov.secondary_slot, &ov.secondary_size)) {
                return usage();
            }
            have_s = true;
        } else {
            return usage();
        }
    }
    if (path == NULL) {
        return usage();
    }

    rf_device_t *dev = calloc(1, sizeof *dev);
    uint8_t *raw = NULL;
    const uint8_t *flash = NULL;
    uint32_t size = 0;
    rf_boot_expect_t exp;
    memset(&exp, 0, sizeof exp);
    char err[512] = "";
    if (dev == NULL) {
        return 2;
    }
    esp_err_t e = rf_device_open(path, dev, err, sizeof err);
    if (e == ESP_OK) {
        rf_boot_expect_from_device(dev, &exp);
        flash = nor_sim_data(dev->sim);
        size = nor_sim_config(dev->sim)->size;
        if (chip == NULL) {
            chip = dev->chip;
        }
    } else if (chip != NULL) {
        FILE *f = fopen(path, "rb");
        long n = -1;
        if (f != NULL && fseek(f, 0, SEEK_END) == 0) {
            n = ftell(f);
            rewind(f);
        }
        if (n > 0 && n <= 0x4000000L) {   /* up to 64 MiB of flash */
            raw = malloc((size_t)n);
            if (raw != NULL && fread(raw, 1, (size_t)n, f) == (size_t)n) {
                flash = raw;
                size = (uint32_t)n;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
        if (flash == NULL) {
            fprintf(stderr, "reflasher boot: cannot read %s\n", path);
            free(raw);
            free(dev);
            return 2;
        }
    } else {
        fprintf(stderr, "reflasher boot: %s (%s); give --chip to model a raw flash dump\n", err, esp_err_to_name(e));
        free(dev);
        return 2;
    }
    if (have_rec) {
        exp.recovery_bootloader_offset = ov.recovery_bootloader_offset;
    }
    if (have_p) {
        exp.primary_slot = ov.primary_slot;
        exp.primary_size = ov.primary_size;
    }
    if (have_s) {
        exp.secondary_slot = ov.secondary_slot;
        exp.secondary_size = ov.secondary_size;
    }

    rf_boot_report_t rep;
    rf_boot_result_t r = rf_boot_model(flash, size, chip, &exp, &rep);
    bool printed = true;
    if (json) {
        printed = print_json(path, chip, &rep);
    } else {
        printf("%s: %s\n", rf_boot_result_name(r), rep.reason);
    }
    rf_device_close(dev);
    free(dev);
    free(raw);
    return !printed ? 2 : r == RF_BOOT_BRICK ? 1 : 0;
}
