/*
 * Host stand-in for ESP-IDF's protocol_examples_common.h (the examples'
 * Wi-Fi/Ethernet helper). The host is already on the network:
 * example_connect() logs that and returns ESP_OK; example_disconnect() too.
 */
#pragma once
#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t example_connect(void);
esp_err_t example_disconnect(void);

#ifdef __cplusplus
}
#endif
