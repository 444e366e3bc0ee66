/*
 * Host stand-in for ESP-IDF's protocol_examples_common.h (the examples'
 * Wi-Fi/Ethernet helper). The host is already on the network:
 * example_connect() logs that and returns ESP_OK; example_disconnect() too.
 */
#pragma once
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif
#include "esp_err.h"
#include "esp_netif.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t example_connect(void);
esp_err_t example_disconnect(void);

#ifdef __cplusplus
}
#endif
