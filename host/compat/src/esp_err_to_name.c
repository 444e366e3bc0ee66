/*
 * Host implementation of esp_err_to_name(), esp_err_to_name_r() and the
 * ESP_ERROR_CHECK failure handlers. Like ESP-IDF's generated table, it knows
 * the codes of every component header of the emulation, each included from
 * the header ESP-IDF defines it in.
 */
#include <string.h>
#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_image_format.h"
#include "esp_ota_ops.h"
#include "esp_flash.h"
#include "nvs.h"
#include "spi_flash_mmap.h"

#define ERR(x) { x, #x }
static const struct { esp_err_t code; const char *name; } k_names[] = {
    ERR(ESP_OK), ERR(ESP_FAIL), ERR(ESP_ERR_NO_MEM), ERR(ESP_ERR_INVALID_ARG),
    ERR(ESP_ERR_INVALID_STATE), ERR(ESP_ERR_INVALID_SIZE), ERR(ESP_ERR_NOT_FOUND),
    ERR(ESP_ERR_NOT_SUPPORTED), ERR(ESP_ERR_TIMEOUT), ERR(ESP_ERR_INVALID_RESPONSE),
    ERR(ESP_ERR_INVALID_CRC), ERR(ESP_ERR_INVALID_VERSION), ERR(ESP_ERR_INVALID_MAC),
    ERR(ESP_ERR_NOT_FINISHED), ERR(ESP_ERR_NOT_ALLOWED),
    ERR(ESP_ERR_NVS_NO_FREE_PAGES), ERR(ESP_ERR_NVS_NEW_VERSION_FOUND),
    ERR(ESP_ERR_OTA_PARTITION_CONFLICT), ERR(ESP_ERR_OTA_SELECT_INFO_INVALID),
    ERR(ESP_ERR_OTA_VALIDATE_FAILED), ERR(ESP_ERR_OTA_SMALL_SEC_VER), ERR(ESP_ERR_OTA_ROLLBACK_FAILED),
    ERR(ESP_ERR_OTA_ROLLBACK_INVALID_STATE),
    ERR(ESP_ERR_IMAGE_FLASH_FAIL), ERR(ESP_ERR_IMAGE_INVALID),
    ERR(ESP_ERR_FLASH_OP_FAIL), ERR(ESP_ERR_FLASH_OP_TIMEOUT), ERR(ESP_ERR_FLASH_NOT_INITIALISED),
    ERR(ESP_ERR_FLASH_UNSUPPORTED_HOST), ERR(ESP_ERR_FLASH_UNSUPPORTED_CHIP),
    ERR(ESP_ERR_FLASH_PROTECTED),
    ERR(ESP_ERR_HTTP_MAX_REDIRECT), ERR(ESP_ERR_HTTP_CONNECT), ERR(ESP_ERR_HTTP_WRITE_DATA),
    ERR(ESP_ERR_HTTP_FETCH_HEADER), ERR(ESP_ERR_HTTP_INVALID_TRANSPORT),
    ERR(ESP_ERR_HTTP_CONNECTING), ERR(ESP_ERR_HTTP_EAGAIN), ERR(ESP_ERR_HTTP_CONNECTION_CLOSED),
    ERR(ESP_ERR_HTTP_NOT_MODIFIED), ERR(ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE),
    ERR(ESP_ERR_HTTP_READ_TIMEOUT), ERR(ESP_ERR_HTTP_INCOMPLETE_DATA),
};

static const char *lookup(esp_err_t code)
{
    for (unsigned i = 0; i < sizeof k_names / sizeof k_names[0]; i++) {
        if (k_names[i].code == code) {
            return k_names[i].name;
        }
    }
    return NULL;
}

const char *esp_err_to_name(esp_err_t code)
{
    const char *n = lookup(code);
    return n != NULL ? n : "UNKNOWN ERROR";
}

const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen)
{
    const char *n = lookup(code);
    if (buf != NULL && buflen > 0) {
        snprintf(buf, buflen, "%s", n != NULL ? n : (code > 0 ? strerror(code) : "Unknown error"));
    }
    return buf;
}

static void print_failure(esp_err_t rc, const char *file, int line, const char *function, const char *expression,
                          const char *what)
{
    fflush(stdout);
    fprintf(stderr, "%s failed: esp_err_t 0x%x (%s)\nfile: \"%s\" line %d\nfunc: %s\nexpression: %s\n", what,
            (unsigned)rc, esp_err_to_name(rc), file, line, function, expression);
}

void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function, const char *expression)
{
    print_failure(rc, file, line, function, expression, "ESP_ERROR_CHECK");
    abort();
}

void _esp_error_check_failed_without_abort(esp_err_t rc, const char *file, int line, const char *function,
                                           const char *expression)
{
    print_failure(rc, file, line, function, expression, "ESP_ERROR_CHECK_WITHOUT_ABORT");
}
