/*
 * Host stand-in for ESP-IDF's freertos/FreeRTOS.h: the types and tick
 * macros the examples use. The tick rate is CONFIG_FREERTOS_HZ (ESP-IDF's
 * default, 100 Hz, when the generated sdkconfig.h does not set it).
 */
#pragma once
#include <stdint.h>
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif

typedef int32_t BaseType_t;
typedef uint32_t UBaseType_t;
typedef uint32_t TickType_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define pdPASS (pdTRUE)
#define pdFAIL (pdFALSE)

#ifdef CONFIG_FREERTOS_HZ
#define configTICK_RATE_HZ CONFIG_FREERTOS_HZ
#else
#define configTICK_RATE_HZ 100
#endif
#define configSTACK_DEPTH_TYPE uint32_t
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define portTICK_PERIOD_MS ((TickType_t)1000 / configTICK_RATE_HZ)
#define pdMS_TO_TICKS(ms) ((TickType_t)(((uint64_t)(ms) * (uint64_t)configTICK_RATE_HZ) / 1000u))
