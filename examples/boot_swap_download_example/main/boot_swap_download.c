/*
 * Boot swap, download mode: replace this ESP-IDF system with MCUboot and an
 * MCUboot application, downloaded over HTTP.
 *
 * Two images, in this order, each downloaded into a staging partition and
 * then copied to its destination:
 *   1. the application, to MCUboot's secondary slot (it cannot go to the
 *      primary slot: this firmware runs from there);
 *   2. the bootloader, to the second-stage bootloader address.
 * After a restart MCUboot finds the application in its secondary slot and
 * swaps it into the primary one.
 *
 * The first failure stops everything: nothing after it is attempted, the
 * component's handle is freed, and the firmware keeps running. The
 * component never leaves a half-downloaded image in flash and checks every
 * write; a failure while the bootloader itself is being written is the one
 * case that still needs a serial reflash.
 */
#include <inttypes.h>
#include <stddef.h>
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_partition.h"
#include "esp_system.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"
#include "self_reflasher.h"
#if CONFIG_EXAMPLE_CONNECT_WIFI
#include "esp_wifi.h"
#endif

static const char *TAG = "boot_swap_download_example";

#define HTTP_BUFFER_SIZE 1024

static esp_err_t http_event_handler(esp_http_client_event_t *evt)
{
    switch (evt->event_id) {
    case HTTP_EVENT_ERROR:
        ESP_LOGD(TAG, "HTTP_EVENT_ERROR");
        break;
    case HTTP_EVENT_ON_CONNECTED:
        ESP_LOGD(TAG, "HTTP_EVENT_ON_CONNECTED");
        break;
    case HTTP_EVENT_HEADERS_SENT:
        ESP_LOGD(TAG, "HTTP_EVENT_HEADERS_SENT");
        break;
    case HTTP_EVENT_ON_HEADER:
        ESP_LOGD(TAG, "HTTP_EVENT_ON_HEADER %s: %s", evt->header_key, evt->header_value);
        break;
    case HTTP_EVENT_ON_DATA:
        ESP_LOGV(TAG, "HTTP_EVENT_ON_DATA, %d bytes", evt->data_len);
        break;
    case HTTP_EVENT_ON_FINISH:
        ESP_LOGD(TAG, "HTTP_EVENT_ON_FINISH");
        break;
    case HTTP_EVENT_DISCONNECTED:
        ESP_LOGD(TAG, "HTTP_EVENT_DISCONNECTED");
        break;
    default:
        break;
    }
    return ESP_OK;
}

typedef struct {
    const char *what;
    const char *url;
    uint32_t address;
    uint32_t size;
} reflash_step_t;

/* Download and write every image; stops at the first error and returns it. */
static esp_err_t reflash_all(void)
{
    const reflash_step_t steps[] = {
        { "application", CONFIG_EXAMPLE_APP_UPGRADE_URL, CONFIG_EXAMPLE_APP_DEST_ADDRESS,
          CONFIG_EXAMPLE_APP_DEST_MAX_SIZE },
        { "bootloader", CONFIG_EXAMPLE_BOOTLOADER_UPGRADE_URL, CONFIG_EXAMPLE_BOOTLOADER_DEST_ADDRESS,
          CONFIG_EXAMPLE_BOOTLOADER_DEST_MAX_SIZE },
    };
    const size_t n_steps = sizeof steps / sizeof steps[0];
    /* The component keeps a pointer to the HTTP configuration until the next
     * step replaces it: each step has its own. */
    esp_http_client_config_t http[sizeof steps / sizeof steps[0]];
    esp_self_reflasher_handle_t handle = NULL;
    esp_err_t err = ESP_OK;

    for (size_t i = 0; i < n_steps; i++) {
        const reflash_step_t *s = &steps[i];
        http[i] = (esp_http_client_config_t){
            .url = s->url,
            .event_handler = http_event_handler,
            .buffer_size = HTTP_BUFFER_SIZE,
            .buffer_size_tx = HTTP_BUFFER_SIZE,
            .keep_alive_enable = true,
        };
#ifdef CONFIG_EXAMPLE_SKIP_COMMON_NAME_CHECK
        http[i].skip_cert_common_name_check = true;
#endif
        esp_self_reflasher_config_t config = {
            .http_config = &http[i],
            .dest_region = { .region_address = s->address, .region_size = s->size },
        };
#if CONFIG_EXAMPLE_TARGET_PARTITION
        config.target_partition = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY,
                                                           CONFIG_EXAMPLE_TARGET_PARTITION_LABEL);
        if (config.target_partition == NULL) {
            ESP_LOGE(TAG, "No data partition labelled '%s' to stage the downloads in",
                     CONFIG_EXAMPLE_TARGET_PARTITION_LABEL);
            err = ESP_ERR_NOT_FOUND;
            break;
        }
#endif
        ESP_LOGI(TAG, "%s: %s -> 0x%08" PRIx32 " (region of 0x%" PRIx32 " bytes)", s->what, s->url, s->address,
                 s->size);
        err = (i == 0) ? esp_self_reflasher_init(&config, &handle)
                       : esp_self_reflasher_upd_next_config(&config, handle);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "%s: configuration refused: %s", s->what, esp_err_to_name(err));
            break;
        }
        err = esp_self_reflasher_download_bin(handle);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "%s: download failed: %s", s->what, esp_err_to_name(err));
            break;
        }
        err = esp_self_reflasher_copy_to_region(handle);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "%s: copy to 0x%08" PRIx32 " failed: %s", s->what, s->address, esp_err_to_name(err));
            break;
        }
        ESP_LOGI(TAG, "%s: %u bytes written at 0x%08" PRIx32, s->what,
                 (unsigned)esp_self_reflasher_get_downloaded_len(handle), s->address);
    }
    esp_self_reflasher_deinit(handle);
    return err;
}

static void boot_swap_download_task(void *arg)
{
    (void)arg;
    ESP_LOGI(TAG, "Starting Self Reflasher example task");
    if (reflash_all() == ESP_OK) {
        ESP_LOGI(TAG, "MCUboot and the application are in place, rebooting...");
        vTaskDelay(pdMS_TO_TICKS(1000));
        esp_restart();
    }
    ESP_LOGE(TAG, "Migration stopped; this firmware keeps running");
    vTaskDelete(NULL);
}

void app_main(void)
{
    ESP_LOGI(TAG, "Self Reflasher example app_main start");

    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* An NVS partition from another layout or version: start it afresh. */
        err = nvs_flash_erase();
        if (err == ESP_OK) {
            err = nvs_flash_init();
        }
    }
    if (err == ESP_OK) {
        err = esp_netif_init();
    }
    if (err == ESP_OK) {
        err = esp_event_loop_create_default();
    }
    if (err == ESP_OK) {
        /* Wi-Fi or Ethernet, as chosen in menuconfig. */
        err = example_connect();
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "Network bring-up failed: %s", esp_err_to_name(err));
        return;
    }
#if CONFIG_EXAMPLE_CONNECT_WIFI
    /* No power saving: the downloads go faster. */
    esp_wifi_set_ps(WIFI_PS_NONE);
#endif
    if (xTaskCreate(&boot_swap_download_task, "boot_swap_download", 8192, NULL, 5, NULL) != pdPASS) {
        ESP_LOGE(TAG, "Cannot start the reflash task");
    }
}
