/*
 * Host stand-in for ESP-IDF's freertos/task.h, written from the FreeRTOS
 * API reference. A task is a host thread: xTaskCreate() starts it (stack
 * depth and priority are accepted and ignored) and returns pdPASS, or
 * pdFAIL (errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY in FreeRTOS) when the thread
 * cannot be made; vTaskDelete(NULL) ends the calling task (deleting another
 * task is not emulated); vTaskDelay() sleeps for that many ticks. The
 * startup code waits for every task to end before the program ends.
 * As in FreeRTOS, freertos/FreeRTOS.h must be included first.
 */
#pragma once
#ifndef INC_FREERTOS_H
#error "include FreeRTOS.h must appear in source files before include task.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*TaskFunction_t)(void *);
typedef struct tskTaskControlBlock *TaskHandle_t;

BaseType_t xTaskCreate(TaskFunction_t code, const char *name, configSTACK_DEPTH_TYPE stack_depth, void *params,
                       UBaseType_t priority, TaskHandle_t *created);
void vTaskDelete(TaskHandle_t task);
void vTaskDelay(const TickType_t ticks);

#ifdef __cplusplus
}
#endif
