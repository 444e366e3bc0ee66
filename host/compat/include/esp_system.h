/*
 * Host stand-in for ESP-IDF's esp_system.h: esp_restart() ("Restart PRO and
 * APP CPUs"; it does not return). On the host a restart ends the program
 * cleanly: standard streams are flushed, the bound device is closed (its
 * image file holds everything written) and the process exits with status 0,
 * which is how a test knows the firmware asked for a reboot.
 */
#pragma once
#include "esp_err.h"
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

void esp_restart(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
