/*
 * Boot swap, embedded mode: replace this ESP-IDF system with MCUboot and an
 * MCUboot application carried inside this very app.
 *
 * The reflashing image (the bootloader followed, at the slot offset, by the
 * application) is embedded in this app's read-only data, so it sits in
 * flash inside the running partition. One call copies it to the bootloader
 * address: the copy may overlap the image itself (it runs in the direction
 * that never erases a byte before it has been read), and it is checked
 * before the restart.
 *
 * On failure this app logs the error and stops instead of restarting.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_log.h"
#include "esp_system.h"
#include "spi_flash_mmap.h"
#include "self_reflasher.h"

static const char *TAG = "boot_swap_embedded_example";

/* The embedded image (main/CMakeLists.txt names the symbols). */
extern const uint8_t reflash_image_start[] __asm__(EXAMPLE_TARGET_BIN_START);
extern const uint8_t reflash_image_end[] __asm__(EXAMPLE_TARGET_BIN_END);

void app_main(void)
{
    ESP_LOGI(TAG, "Boot swap embedded bin example start");

    /* Where the build placed the image in flash: its address in the memory
     * map translated to a physical flash offset. */
    size_t image_addr = spi_flash_cache2phys(reflash_image_start);
    if (image_addr == SPI_FLASH_CACHE2PHYS_FAIL) {
        ESP_LOGE(TAG, "The embedded image is not in memory-mapped flash");
        return;
    }
    uint32_t image_len = (uint32_t)(reflash_image_end - reflash_image_start);

    esp_self_reflasher_config_t config = {
        .src_region = { .region_address = (uint32_t)image_addr, .region_size = image_len },
        .src_bin_size = image_len,
        .dest_region = { .region_address = CONFIG_EXAMPLE_BIN_DEST_ADDRESS,
                         .region_size = CONFIG_EXAMPLE_BIN_DEST_MAX_SIZE },
    };
    ESP_LOGI(TAG, "Image of 0x%" PRIx32 " bytes at 0x%08" PRIx32 " -> 0x%08" PRIx32 " (region of 0x%zx"
             " bytes)", image_len, config.src_region.region_address, config.dest_region.region_address,
             config.dest_region.region_size);

    esp_err_t err = esp_self_reflasher_directly_copy_to_region(&config);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "Copying to region failed: %s", esp_err_to_name(err));
        return;
    }
    ESP_LOGI(TAG, "Overwriting succeeded, rebooting...");
    esp_restart();
}
