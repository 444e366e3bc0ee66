/*
 * main() of the host builds of ESP-IDF apps (port/esp_idf/host.cmake links
 * it into example_download_host and example_embedded_host). It plays the
 * part of the chip's boot: opens the simulated device, binds it to the
 * emulation, prints the partition table the way the bootloader does, maps
 * the app's embedded data into the flash, then calls app_main() and waits
 * for the app's tasks.
 *
 *   APP --device DEVICE.img [--app-data-at ADDR] [--verbose] [CONFIG_NAME=VALUE ...]
 *
 * Exit status: 0 when the app called esp_restart() (the chip reboots into
 * whatever it wrote), 1 when app_main() and every task ended without a
 * restart (on a chip: the firmware idles), 2 for a bad command line or a
 * device that cannot be opened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_flash.h"
#include "esp_partition.h"
#include "idf_emul.h"
#include "rf_device.h"
#include "sdkconfig.h"

void app_main(void);

/* Defined by the generated file of an app that embeds data (weak: apps
 * without embedded data have none). */
extern const idf_emul_app_data_t idf_emul_app_data[] __attribute__((weak));
extern const size_t idf_emul_app_data_count __attribute__((weak));

static const char *TAG = "boot";
static rf_device_t s_dev;

static void close_device(void)
{
    idf_emul_bind(NULL);
    rf_device_close(&s_dev);
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --device DEVICE.img [--app-data-at ADDR] [--verbose] [CONFIG_NAME=VALUE ...]\n"
            "Runs this ESP-IDF app's app_main() on a simulated device (make one with\n"
            "'reflasher device create'). DEVICE.img may also come from $IDF_EMUL_DEVICE.\n"
            "--app-data-at: flash address of the app's embedded data (default: 0x20 into\n"
            "the running partition, where the first segment's data of an app image starts).\n"
            "Exit status: 0 if the app restarted the chip, 1 if it stopped without, 2 on usage errors.\n",
            prog);
#ifdef IDF_EMUL_RUNTIME_CONFIG
    fprintf(out, "Options that can be set for this run (NAME=VALUE here, or in the environment):\n%s",
            IDF_EMUL_RUNTIME_CONFIG);
#endif
}

static void print_partitions(void)
{
    ESP_LOGI(TAG, "Partition Table:");
    ESP_LOGI(TAG, "## Label            Usage            Type ST Offset   Length");
    int i = 0;
    esp_partition_iterator_t it = esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it != NULL; it = esp_partition_next(it), i++) {
        const esp_partition_t *p = esp_partition_get(it);
        char kind[32];
        rf_part_kind_name((uint8_t)p->type, (uint8_t)p->subtype, kind, sizeof kind);
        ESP_LOGI(TAG, "%2d %-16s %-16s %02x %02x %08" PRIx32 " %08" PRIx32, i, p->label, kind, (unsigned)p->type,
                 (unsigned)p->subtype, p->address, p->size);
    }
    esp_partition_iterator_release(it);
    ESP_LOGI(TAG, "End of partition table");
}

/* Put the app's embedded data where an app image would hold it. */
static int map_app_data(uint32_t at, bool at_given)
{
    if (&idf_emul_app_data_count == NULL || idf_emul_app_data == NULL) {
        return 0;
    }
    const esp_partition_t *run = esp_ota_get_running_partition();
    if (run == NULL) {
        ESP_LOGE(TAG, "No running partition '%s' in the partition table", s_dev.running);
        return 1;
    }
    if (!at_given) {
        at = run->address + 0x20;
    }
    for (size_t i = 0; i < idf_emul_app_data_count; i++) {
        const idf_emul_app_data_t *d = &idf_emul_app_data[i];
        size_t len = (size_t)((const uint8_t *)d->end - (const uint8_t *)d->start);
        if ((uint64_t)at < run->address || (uint64_t)at + len > (uint64_t)run->address + run->size) {
            ESP_LOGE(TAG, "Embedded '%s' (%zu bytes) at 0x%08" PRIx32 " does not fit inside the running "
                          "partition '%s' (0x%08" PRIx32 "+0x%" PRIx32 ")",
                     d->name, len, at, run->label, run->address, run->size);
            return 1;
        }
        esp_err_t err = idf_emul_map_app_data(d->start, len, at);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "Cannot map '%s': %s", d->name, esp_err_to_name(err));
            return 1;
        }
        ESP_LOGI(TAG, "App data '%s': %zu bytes (0x%zx) at flash 0x%08" PRIx32, d->name, len, len, at);
        at += (uint32_t)((len + 3u) & ~(size_t)3u);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *device = getenv("IDF_EMUL_DEVICE");
    uint32_t at = 0;
    bool at_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if ((strcmp(a, "--device") == 0 || strcmp(a, "-d") == 0) && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(a, "--app-data-at") == 0 && i + 1 < argc) {
            char *end = NULL;
            unsigned long long v = strtoull(argv[++i], &end, 0);
            if (end == argv[i] || *end != 0 || v > UINT32_MAX) {
                fprintf(stderr, "%s: bad address '%s'\n", argv[0], argv[i]);
                return 2;
            }
            at = (uint32_t)v;
            at_given = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            esp_log_level_set("*", ESP_LOG_DEBUG);
        } else if (strncmp(a, "CONFIG_", 7) == 0 && strchr(a, '=') != NULL) {
            const char *eq = strchr(a, '=');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            if (idf_emul_config_set(name, eq + 1) != ESP_OK) {
                fprintf(stderr, "%s: cannot set %s\n", argv[0], name);
                return 2;
            }
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (device == NULL) {
        usage(stderr, argv[0]);
        return 2;
    }
    char err[512] = "";
    if (rf_device_open(device, &s_dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    idf_emul_bind(&s_dev);
    atexit(close_device);
#if defined(CONFIG_SPI_FLASH_DANGEROUS_WRITE_ALLOWED)
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_ALLOWED);
#elif defined(CONFIG_SPI_FLASH_DANGEROUS_WRITE_FAILS)
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_FAILS);
#else
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_ABORTS);
#endif

    uint32_t size = 0;
    esp_flash_get_size(NULL, &size);
    ESP_LOGI(TAG, "Host emulation of an %s with %" PRIu32 " KiB of flash: %s", s_dev.chip, size / 1024u, device);
    print_partitions();
    const esp_partition_t *run = esp_ota_get_running_partition();
    if (run != NULL) {
        ESP_LOGI(TAG, "Running partition '%s' at 0x%" PRIx32, run->label, run->address);
    }
    if (map_app_data(at, at_given) != 0) {
        return 2;
    }

    ESP_LOGI("main_task", "Calling app_main()");
    app_main();
    ESP_LOGI("main_task", "Returned from app_main()");
    idf_emul_join_tasks();
    ESP_LOGW("idf_emul", "Every task ended without esp_restart(): on a chip the firmware would idle here");
    return 1;
}
