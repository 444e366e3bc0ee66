/*
 * Host stand-in for ESP-IDF's esp_err.h: the same type and the same numeric
 * values as ESP-IDF 5.x documents, so that logs and tests on the host print
 * the codes a device would print. Written from the ESP-IDF API reference.
 * On a real ESP-IDF build this directory is not on the include path.
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int esp_err_t;

#define ESP_OK                      0
#define ESP_FAIL                    (-1)
#define ESP_ERR_NO_MEM              0x101
#define ESP_ERR_INVALID_ARG         0x102
#define ESP_ERR_INVALID_STATE       0x103
#define ESP_ERR_INVALID_SIZE        0x104
#define ESP_ERR_NOT_FOUND           0x105
#define ESP_ERR_NOT_SUPPORTED       0x106
#define ESP_ERR_TIMEOUT             0x107
#define ESP_ERR_INVALID_RESPONSE    0x108
#define ESP_ERR_INVALID_CRC         0x109
#define ESP_ERR_INVALID_VERSION     0x10A
#define ESP_ERR_INVALID_MAC         0x10B
#define ESP_ERR_NOT_FINISHED        0x10C
#define ESP_ERR_NOT_ALLOWED         0x10D

#define ESP_ERR_OTA_BASE                    0x1500
#define ESP_ERR_OTA_PARTITION_CONFLICT      (ESP_ERR_OTA_BASE + 0x01)
#define ESP_ERR_OTA_SELECT_INFO_INVALID     (ESP_ERR_OTA_BASE + 0x02)
#define ESP_ERR_OTA_VALIDATE_FAILED         (ESP_ERR_OTA_BASE + 0x03)

#define ESP_ERR_IMAGE_BASE          0x2000
#define ESP_ERR_IMAGE_FLASH_FAIL    (ESP_ERR_IMAGE_BASE + 1)
#define ESP_ERR_IMAGE_INVALID       (ESP_ERR_IMAGE_BASE + 2)

#define ESP_ERR_FLASH_BASE              0x6000
#define ESP_ERR_FLASH_OP_FAIL           (ESP_ERR_FLASH_BASE + 1)
#define ESP_ERR_FLASH_OP_TIMEOUT        (ESP_ERR_FLASH_BASE + 2)
#define ESP_ERR_FLASH_NOT_INITIALISED   (ESP_ERR_FLASH_BASE + 3)
#define ESP_ERR_FLASH_UNSUPPORTED_HOST  (ESP_ERR_FLASH_BASE + 4)
#define ESP_ERR_FLASH_UNSUPPORTED_CHIP  (ESP_ERR_FLASH_BASE + 5)
#define ESP_ERR_FLASH_PROTECTED         (ESP_ERR_FLASH_BASE + 6)

#define ESP_ERR_HTTP_BASE                   0x7000
#define ESP_ERR_HTTP_MAX_REDIRECT           (ESP_ERR_HTTP_BASE + 1)
#define ESP_ERR_HTTP_CONNECT                (ESP_ERR_HTTP_BASE + 2)
#define ESP_ERR_HTTP_WRITE_DATA             (ESP_ERR_HTTP_BASE + 3)
#define ESP_ERR_HTTP_FETCH_HEADER           (ESP_ERR_HTTP_BASE + 4)
#define ESP_ERR_HTTP_INVALID_TRANSPORT      (ESP_ERR_HTTP_BASE + 5)
#define ESP_ERR_HTTP_CONNECTING             (ESP_ERR_HTTP_BASE + 6)
#define ESP_ERR_HTTP_EAGAIN                 (ESP_ERR_HTTP_BASE + 7)
#define ESP_ERR_HTTP_CONNECTION_CLOSED      (ESP_ERR_HTTP_BASE + 8)
#define ESP_ERR_HTTP_NOT_MODIFIED           (ESP_ERR_HTTP_BASE + 9)
#define ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE  (ESP_ERR_HTTP_BASE + 10)
#define ESP_ERR_HTTP_READ_TIMEOUT           (ESP_ERR_HTTP_BASE + 11)
#define ESP_ERR_HTTP_INCOMPLETE_DATA        (ESP_ERR_HTTP_BASE + 12)

/** Name of an error code, as ESP-IDF prints it ("ESP_ERR_INVALID_SIZE");
 *  "UNKNOWN ERROR" for a code it does not know. */
const char *esp_err_to_name(esp_err_t code);

#ifdef __cplusplus
}
#endif
