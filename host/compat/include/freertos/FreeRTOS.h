/*
 * Host stand-in for ESP-IDF's freertos/FreeRTOS.h: the types and tick
 * macros the examples use, typed as ESP-IDF 5.x's RISC-V port types them
 * (portmacro.h: BaseType_t int, UBaseType_t unsigned int, StackType_t
 * uint8_t, TickType_t uint32_t; FreeRTOSConfig.h: configSTACK_DEPTH_TYPE
 * uint32_t). The tick rate is CONFIG_FREERTOS_HZ (ESP-IDF's default, 100 Hz,
 * when the generated sdkconfig.h does not set it).
 */
#pragma once
#define INC_FREERTOS_H
#include <stdint.h>
#if defined(__has_include)
#if __has_include("sdkconfig.h")
#include "sdkconfig.h"
#endif
#endif

#define portSTACK_TYPE uint8_t
#define portBASE_TYPE int
typedef portSTACK_TYPE StackType_t;
typedef portBASE_TYPE BaseType_t;
typedef unsigned portBASE_TYPE UBaseType_t;
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
#define portTICK_PERIOD_MS ((TickType_t) (1000 / configTICK_RATE_HZ))
#define pdMS_TO_TICKS(xTimeInMs) ((TickType_t) (((TickType_t) (xTimeInMs) * (TickType_t) configTICK_RATE_HZ) / (TickType_t) 1000U))
