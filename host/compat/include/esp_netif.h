/* Host stand-in for ESP-IDF's esp_netif.h: the host's own network stack is
 * used, so esp_netif_init() has nothing to do and returns ESP_OK. */
#pragma once
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t esp_netif_init(void);

#ifdef __cplusplus
}
#endif
