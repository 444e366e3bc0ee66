/*
 * idf_emul_demo_image -o FILE [--chip CHIP] [--slot-offset N] [--slot-size N]
 *
 * Writes a demo reflashing image laid out like the embedded example's
 * app_upd.merged.bin: a generated ESP-format bootloader at offset 0, 0xFF up
 * to --slot-offset (default 0xF000), then a generated MCUboot application
 * padded to --slot-size (default 0x100000) with a confirmed swap trailer.
 * The project ships no binaries; the host build of the embedded example
 * embeds this when no real image is configured. Real formats, filler code:
 * well-formed, not runnable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf_imggen.h"

static int usage(void)
{
    fprintf(stderr, "usage: idf_emul_demo_image -o FILE [--chip CHIP] [--slot-offset N] [--slot-size N]\n");
    return 2;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || *end != 0 || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *chip = "esp32";
    uint32_t slot_offset = 0xF000, slot_size = 0x100000;
    for (int i = 1; i < argc; i += 2) {   /* OPTION VALUE pairs */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            return usage();
        }
        if (strcmp(argv[i], "-o") == 0) {
            out = v;
        } else if (strcmp(argv[i], "--chip") == 0) {
            chip = v;
        } else if (strcmp(argv[i], "--slot-offset") == 0) {
            if (!parse_u32(v, &slot_offset)) {
                return usage();
            }
        } else if (strcmp(argv[i], "--slot-size") == 0) {
            if (!parse_u32(v, &slot_size)) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    rf_esp_gen_t bl = { .is_app = false, .code_size = 24000, .seed = 1 };
    if (out == NULL || !rf_chip_id(chip, &bl.chip_id)) {
        return usage();
    }
    uint8_t *boot = NULL, *app = NULL;
    size_t boot_len = rf_gen_esp_image(&bl, &boot);
    rf_mcuboot_gen_t ag = { .payload_size = 150000, .seed = 2, .ver_major = 1, .slot_size = slot_size,
                            .trailer_perm = true };
    size_t app_len = rf_gen_mcuboot_image(&ag, &app);
    if (boot_len == 0 || app_len == 0 || boot_len > slot_offset) {
        fprintf(stderr, "idf_emul_demo_image: cannot generate the images\n");
        free(boot);
        free(app);
        return 1;
    }
    size_t total = (size_t)slot_offset + app_len;
    uint8_t *img = malloc(total);
    int rc = 1;
    if (img != NULL) {
        memset(img, 0xFF, total);
        memcpy(img, boot, boot_len);
        memcpy(img + slot_offset, app, app_len);
        FILE *f = fopen(out, "wb");
        if (f != NULL) {
            bool ok = fwrite(img, 1, total, f) == total;
            ok = fclose(f) == 0 && ok;
            rc = ok ? 0 : 1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "idf_emul_demo_image: cannot write %s\n", out);
    }
    free(img);
    free(boot);
    free(app);
    return rc;
}
