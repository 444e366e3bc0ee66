/* reflasher device create --chip CHIP --flash-size SIZE --partitions CSV --running LABEL -o DEVICE.img */
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "cli.h"
#include "rf_device.h"

static int usage(void)
{
    fprintf(stderr, "usage: reflasher device create --chip CHIP --flash-size SIZE --partitions FILE.csv "
                    "--running LABEL -o DEVICE.img [--ptable-offset ADDR]\n");
    return 2;
}

int cmd_device(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        return usage();
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = 4u << 20 };
    const char *out = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
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
        } else {
            return usage();
        }
        i++;
    }
    if (out == NULL || spec.partitions_csv == NULL || spec.running == NULL) {
        return usage();
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
    return 0;
}
