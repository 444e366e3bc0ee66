/*
 * Error codes of the portable core beyond esp_err.h's generic ones.
 *
 * The core includes only esp_err.h, which in ESP-IDF does not define any
 * component's codes, so it names its own. Each has the value of the ESP-IDF
 * code of the same meaning, so that esp_err_to_name() on a device prints
 * that name and a caller comparing with ESP-IDF's constant sees equality:
 *
 *   RF_ERR_IMAGE_INVALID = ESP_ERR_IMAGE_INVALID (bootloader_support's
 *                          esp_image_format.h, ESP_ERR_IMAGE_BASE + 2)
 *   RF_ERR_INCOMPLETE_DATA = ESP_ERR_HTTP_INCOMPLETE_DATA (esp_http_client.h,
 *                          ESP_ERR_HTTP_BASE + 12): a transfer ended before
 *                          the length its source announced
 *
 * The ESP-IDF port (and the seed API, for the HTTP code) checks the
 * equality at compile time against the real header.
 */
#pragma once

#define RF_ERR_IMAGE_INVALID 0x2002
#define RF_ERR_INCOMPLETE_DATA 0x700C
