/*
 * Host stand-in for ESP-IDF's esp_err.h (esp_common), ESP-IDF 5.x: the type,
 * the generic codes and the component bases that this header defines, and
 * nothing else. The codes of a component live in that component's header,
 * as in ESP-IDF: ESP_ERR_IMAGE_* in esp_image_format.h, ESP_ERR_OTA_* in
 * esp_ota_ops.h, ESP_ERR_FLASH_OP_* in spi_flash_mmap.h, the other
 * ESP_ERR_FLASH_* in hal/esp_flash_err.h, ESP_ERR_HTTP_* in esp_http_client.h,
 * ESP_ERR_NVS_* in nvs.h. Like ESP-IDF's, it brings <stdint.h>, <stdio.h>,
 * <assert.h> and <stdlib.h> (programs written for ESP-IDF call abort()
 * with only this header). On a real ESP-IDF build host/compat is not on the
 * include path.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <assert.h>
#include <stdlib.h>
#include "esp_compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int esp_err_t;

#define ESP_OK                      0
#define ESP_FAIL                    -1

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

#define ESP_ERR_WIFI_BASE           0x3000
#define ESP_ERR_MESH_BASE           0x4000
#define ESP_ERR_FLASH_BASE          0x6000
#define ESP_ERR_HW_CRYPTO_BASE      0xc000
#define ESP_ERR_MEMPROT_BASE        0xd000

/** Name of an error code, as ESP-IDF prints it ("ESP_ERR_INVALID_SIZE");
 *  "UNKNOWN ERROR" for a code the host table does not know. */
const char *esp_err_to_name(esp_err_t code);
/** As esp_err_to_name(), into buf; an unknown code falls back to strerror(). */
const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen);

void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression) __attribute__((__noreturn__));
void _esp_error_check_failed_without_abort(esp_err_t rc, const char *file, int line, const char *function,
                                           const char *expression);

#ifndef __ASSERT_FUNC
#ifdef __ASSERT_FUNCTION
#define __ASSERT_FUNC __ASSERT_FUNCTION
#else
#define __ASSERT_FUNC "??"
#endif
#endif

#ifdef NDEBUG
#define ESP_ERROR_CHECK(x) do {                                         \
        esp_err_t err_rc_ = (x);                                        \
        (void) sizeof(err_rc_);                                         \
    } while(0)
#define ESP_ERROR_CHECK_WITHOUT_ABORT(x) ({                             \
        esp_err_t err_rc_ = (x);                                        \
        err_rc_;                                                        \
    })
#else
#define ESP_ERROR_CHECK(x) do {                                         \
        esp_err_t err_rc_ = (x);                                        \
        if (unlikely(err_rc_ != ESP_OK)) {                              \
            _esp_error_check_failed(err_rc_, __FILE__, __LINE__,        \
                                    __ASSERT_FUNC, #x);                 \
        }                                                               \
    } while(0)
#define ESP_ERROR_CHECK_WITHOUT_ABORT(x) ({                                         \
        esp_err_t err_rc_ = (x);                                                    \
        if (unlikely(err_rc_ != ESP_OK)) {                                          \
            _esp_error_check_failed_without_abort(err_rc_, __FILE__, __LINE__,      \
                                                  __ASSERT_FUNC, #x);               \
        }                                                                           \
        err_rc_;                                                                    \
    })
#endif

#ifdef __cplusplus
}
#endif
