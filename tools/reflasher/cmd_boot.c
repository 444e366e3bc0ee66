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

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(o, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(o, "\\u%04x", ch);
        } else {
            fputc(ch, o);
        }
    }
    fputc('"', o);
}

static void print_json(const char *dev, const char *chip, const rf_boot_report_t *r)
{
    char hex[65];
    printf("{\"device\":");
    json_str(stdout, dev);
    printf(",\"chip\":");
    json_str(stdout, chip);
    printf(",\"result\":\"%s\",\"reason\":", rf_boot_result_name(r->result));
    json_str(stdout, r->reason);
    printf(",\"bootloader\":{\"valid\":%s,\"offset\":%u,\"recovery\":%s,\"kind\":\"%s\"",
           r->bootloader_valid ? "true" : "false", (unsigned)r->bootloader_offset,
           r->used_recovery ? "true" : "false", rf_boot_loader_name(r->bootloader));
    if (r->bootloader_valid) {
        rf_oldsys_hex(r->bootloader_sha256, 32, hex);
        printf(",\"len\":%u,\"sha256\":\"%s\"", (unsigned)r->bootloader_len, hex);
    }
    printf("}");
    if (r->bootloader == RF_BOOT_BL_ESP_IDF && r->result == RF_BOOT_OLD) {
        printf(",\"app\":{\"partition\":");
        json_str(stdout, r->app_label);
        printf(",\"offset\":%u,\"project\":", (unsigned)r->app_offset);
        json_str(stdout, r->app_project);
        printf(",\"version\":");
        json_str(stdout, r->app_version);
        printf(",\"ota_seq\":%u}", (unsigned)r->ota_seq);
    }
    if (r->bootloader == RF_BOOT_BL_MCUBOOT) {
        printf(",\"mcuboot\":{\"swap_type\":\"%s\"", rf_mcuboot_swap_type_name(r->swap_type));
        if (r->result == RF_BOOT_NEW) {
            rf_oldsys_hex(r->image_sha256, 32, hex);
            printf(",\"slot\":%u,\"image_len\":%u,\"image_sha256\":\"%s\"", (unsigned)r->slot_offset,
                   (unsigned)r->image_len, hex);
        }
        printf("}");
    }
    printf("}\n");
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
    if (json) {
        print_json(path, chip, &rep);
    } else {
        printf("%s: %s\n", rf_boot_result_name(r), rep.reason);
    }
    rf_device_close(dev);
    free(dev);
    free(raw);
    return r == RF_BOOT_BRICK ? 1 : 0;
}
