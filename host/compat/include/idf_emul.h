/*
 * Control of the host emulation of the ESP-IDF subset (host/compat).
 *
 * The emulation lets code written for ESP-IDF (port/esp_idf and the two
 * examples) run unchanged on the host against a simulated device
 * (rf_device.h). It is deliberately small: each emulated function does what
 * the ESP-IDF API reference documents for it, for one chip, in one process:
 *
 *   esp_flash_*        over the bound device's NOR simulator (idf_emul_flash.c)
 *   esp_partition_*    over the device's partition table     (idf_emul_flash.c)
 *   esp_ota_get_running_partition, spi_flash_cache2phys      (idf_emul_flash.c)
 *   esp_http_client_*  over libcurl, real HTTP(S)            (idf_emul_http.c)
 *   ESP_LOGx, esp_restart, FreeRTOS tasks, NVS/netif/event/
 *   example_connect no-ops, CONFIG_ values at run time       (idf_emul_sys.c)
 *
 * The functions below are the emulation's own (not ESP-IDF's): the startup
 * code (host/compat/startup/idf_emul_main.c) and the checks use them. The
 * emulation keeps process-wide state (the bound device, the partition list,
 * the flash mappings, the CONFIG_ overrides): it stands for one chip.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rf_device;

/** Bind the simulated device that esp_flash_default_chip, esp_partition_*
 *  and esp_ota_get_running_partition() work on. The partition list is read
 *  at the first esp_partition_* call after binding (ESP-IDF reads the table
 *  once per boot, so a table rewritten later is not seen). NULL unbinds. */
void idf_emul_bind(struct rf_device *dev);

/** The bound device, or NULL. */
struct rf_device *idf_emul_device(void);

/** CONFIG_SPI_FLASH_DANGEROUS_WRITE_*: what esp_flash_write() and
 *  esp_flash_erase_region() do with a range that starts at or below the end
 *  of the partition table, or that overlaps the running app partition. */
typedef enum {
    IDF_EMUL_DANGEROUS_WRITE_ABORTS = 0,  /**< ESP-IDF's default: abort() */
    IDF_EMUL_DANGEROUS_WRITE_FAILS,       /**< return ESP_ERR_INVALID_ARG, flash untouched */
    IDF_EMUL_DANGEROUS_WRITE_ALLOWED,     /**< no check (what this component requires) */
} idf_emul_dangerous_write_t;

void idf_emul_set_dangerous_write(idf_emul_dangerous_write_t policy);

/** Put `len` bytes of the app's read-only data (an embedded image) into the
 *  simulated flash at `flash_addr` and map them there: what flashing the app
 *  image and the cache MMU do on a chip. Afterwards spi_flash_cache2phys(p)
 *  returns flash_addr + (p - data) for p in [data, data + len). The bytes are
 *  copied straight into the content (not flash operations: the app was
 *  flashed before it booted). ESP_ERR_INVALID_STATE: no device bound;
 *  ESP_ERR_INVALID_SIZE: the range is not inside the flash; ESP_ERR_NO_MEM:
 *  too many mappings. */
esp_err_t idf_emul_map_app_data(const void *data, size_t len, uint32_t flash_addr);

/** Override a CONFIG_ value for this run (the startup's NAME=VALUE
 *  arguments). Values set here win over the environment variable of the same
 *  name, which wins over the built-in default. */
esp_err_t idf_emul_config_set(const char *name, const char *value);

/** The value of a string CONFIG_ option (generated sdkconfig.h of the host
 *  builds expands run-time options to these calls). */
const char *idf_emul_config_str(const char *name, const char *dflt);
/** The value of an int/hex CONFIG_ option (0x.. hex or decimal). A value
 *  that does not parse is reported once and the default is used. */
uint32_t idf_emul_config_u32(const char *name, uint32_t dflt);

/** Read-only data an app embeds, as the host build of an app that embeds a
 *  file generates it: a table `idf_emul_app_data` of
 *  `idf_emul_app_data_count` entries, which the startup maps into the flash
 *  with idf_emul_map_app_data() before app_main() runs. */
typedef struct {
    const void *start;
    const void *end;
    const char *name;
} idf_emul_app_data_t;

/** Wait until every task made with xTaskCreate() has ended. */
void idf_emul_join_tasks(void);

/** True once esp_restart() has been called. */
bool idf_emul_restart_requested(void);

#ifdef __cplusplus
}
#endif
