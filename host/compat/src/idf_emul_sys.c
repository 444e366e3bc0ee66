/*
 * Host emulation of the system side of ESP-IDF the examples use (see
 * idf_emul.h): logging, esp_restart, FreeRTOS tasks as threads, the
 * NVS/netif/event-loop/example_connect bring-up as no-ops, and CONFIG_
 * values that a host run can set on its command line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/task.h"
#include "idf_emul.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"
#include "rf_device.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- logging -------------------------------------------------------------- */

#define MAX_TAG_LEVELS 16

static esp_log_level_t s_default_level = ESP_LOG_INFO;   /* CONFIG_LOG_DEFAULT_LEVEL_INFO */
static struct {
    char tag[32];
    esp_log_level_t level;
} s_tag_levels[MAX_TAG_LEVELS];
static unsigned s_n_tag_levels;

/* esp_log_level_set: "*" sets the level of every tag (and forgets the
 * per-tag settings); any other tag gets its own level. */
void esp_log_level_set(const char *tag, esp_log_level_t level)
{
    pthread_mutex_lock(&s_lock);
    if (tag == NULL || strcmp(tag, "*") == 0) {
        s_default_level = level;
        s_n_tag_levels = 0;
    } else {
        unsigned i;
        for (i = 0; i < s_n_tag_levels; i++) {
            if (strcmp(s_tag_levels[i].tag, tag) == 0) {
                break;
            }
        }
        if (i == s_n_tag_levels && i < MAX_TAG_LEVELS) {
            snprintf(s_tag_levels[i].tag, sizeof s_tag_levels[i].tag, "%s", tag);
            s_n_tag_levels++;
        }
        if (i < MAX_TAG_LEVELS) {
            s_tag_levels[i].level = level;
        }
    }
    pthread_mutex_unlock(&s_lock);
}

esp_log_level_t esp_log_level_get(const char *tag)
{
    esp_log_level_t level;
    pthread_mutex_lock(&s_lock);
    level = s_default_level;
    for (unsigned i = 0; tag != NULL && i < s_n_tag_levels; i++) {
        if (strcmp(s_tag_levels[i].tag, tag) == 0) {
            level = s_tag_levels[i].level;
            break;
        }
    }
    pthread_mutex_unlock(&s_lock);
    return level;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t s_boot_ms;

static void boot_clock_init(void)
{
    s_boot_ms = now_ms();
}

/* esp_log_timestamp: milliseconds since boot (here: since the program's
 * first use of the clock). */
uint32_t esp_log_timestamp(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, boot_clock_init);
    return (uint32_t)(now_ms() - s_boot_ms);
}

void esp_log_writev(esp_log_level_t level, const char *tag, const char *format, va_list args)
{
    if (level == ESP_LOG_NONE || level > esp_log_level_get(tag)) {
        return;
    }
    flockfile(stdout);
    vfprintf(stdout, format, args);
    fflush(stdout);
    funlockfile(stdout);
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    esp_log_writev(level, tag, format, ap);
    va_end(ap);
}

/* ---- restart -------------------------------------------------------------- */

static volatile int s_restart;

bool idf_emul_restart_requested(void)
{
    return s_restart != 0;
}

/* esp_restart: does not return. The host program ends with status 0 after
 * flushing its streams; atexit handlers (the startup's) close the device. */
void esp_restart(void)
{
    s_restart = 1;
    ESP_LOGI("idf_emul", "esp_restart(): the chip would reboot now; the host program ends");
    fflush(stdout);
    fflush(stderr);
    exit(0);
}

/* ---- FreeRTOS tasks ------------------------------------------------------- */

#define MAX_TASKS 16

typedef struct {
    TaskFunction_t code;
    void *params;
} task_start_t;

static pthread_t s_tasks[MAX_TASKS];
static unsigned s_ntasks;

static void *task_trampoline(void *arg)
{
    task_start_t start = *(task_start_t *)arg;
    free(arg);
    start.code(start.params);
    /* A FreeRTOS task must not return; on the host ending the thread is the
     * closest harmless equivalent. */
    return NULL;
}

BaseType_t xTaskCreate(TaskFunction_t code, const char *name, configSTACK_DEPTH_TYPE stack_depth, void *params,
                       UBaseType_t priority, TaskHandle_t *created)
{
    (void)name;
    (void)stack_depth;
    (void)priority;
    task_start_t *start = malloc(sizeof *start);
    if (code == NULL || start == NULL) {
        free(start);
        return pdFAIL;
    }
    start->code = code;
    start->params = params;
    pthread_mutex_lock(&s_lock);
    unsigned index = s_ntasks;
    int rc = index < MAX_TASKS ? pthread_create(&s_tasks[index], NULL, task_trampoline, start) : EAGAIN;
    if (rc == 0) {
        s_ntasks++;
    }
    pthread_mutex_unlock(&s_lock);
    if (rc != 0) {
        free(start);
        return pdFAIL;
    }
    if (created != NULL) {
        *created = (TaskHandle_t)(uintptr_t)(index + 1);   /* opaque, non-NULL */
    }
    return pdPASS;
}

void vTaskDelete(TaskHandle_t task)
{
    if (task == NULL) {
        pthread_exit(NULL);
    }
    ESP_LOGW("idf_emul", "vTaskDelete() of another task is not emulated");
}

void vTaskDelay(const TickType_t ticks)
{
    uint64_t ms = (uint64_t)ticks * 1000u / configTICK_RATE_HZ;
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000u), .tv_nsec = (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void idf_emul_join_tasks(void)
{
    for (;;) {
        pthread_mutex_lock(&s_lock);
        unsigned n = s_ntasks;
        pthread_t t = n ? s_tasks[n - 1] : (pthread_t)0;
        if (n) {
            s_ntasks--;
        }
        pthread_mutex_unlock(&s_lock);
        if (n == 0) {
            return;
        }
        pthread_join(t, NULL);
    }
}

/* ---- bring-up no-ops ------------------------------------------------------ */

esp_err_t nvs_flash_init(void)
{
    return ESP_OK;
}

esp_err_t nvs_flash_erase(void)
{
    return ESP_OK;
}

esp_err_t esp_netif_init(void)
{
    return ESP_OK;
}

esp_err_t esp_event_loop_create_default(void)
{
    return ESP_OK;
}

esp_err_t example_connect(void)
{
    ESP_LOGI("example_connect", "Host emulation: using the host's network as it is");
    return ESP_OK;
}

esp_err_t example_disconnect(void)
{
    return ESP_OK;
}

/* ---- CONFIG_ values at run time ------------------------------------------- */

#define MAX_CONFIG 32

static struct {
    char *name;
    char *value;
} s_config[MAX_CONFIG];
static unsigned s_nconfig;

esp_err_t idf_emul_config_set(const char *name, const char *value)
{
    if (name == NULL || value == NULL || name[0] == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    pthread_mutex_lock(&s_lock);
    unsigned i;
    for (i = 0; i < s_nconfig; i++) {
        if (strcmp(s_config[i].name, name) == 0) {
            break;
        }
    }
    char *v = strdup(value);
    if (v == NULL || (i == s_nconfig && i == MAX_CONFIG)) {
        free(v);
        err = ESP_ERR_NO_MEM;
    } else if (i == s_nconfig) {
        s_config[i].name = strdup(name);
        if (s_config[i].name == NULL) {
            free(v);
            err = ESP_ERR_NO_MEM;
        } else {
            s_config[i].value = v;
            s_nconfig++;
        }
    } else {
        s_config[i].value = v;   /* the old string stays valid: a caller may hold it */
    }
    pthread_mutex_unlock(&s_lock);
    return err;
}

/* Command line, then environment, then the built-in default. The strings
 * live until the program ends, so callers may keep them. */
const char *idf_emul_config_str(const char *name, const char *dflt)
{
    const char *v = NULL;
    pthread_mutex_lock(&s_lock);
    for (unsigned i = 0; i < s_nconfig; i++) {
        if (strcmp(s_config[i].name, name) == 0) {
            v = s_config[i].value;
            break;
        }
    }
    pthread_mutex_unlock(&s_lock);
    if (v == NULL) {
        v = getenv(name);
    }
    return v != NULL ? v : dflt;
}

uint32_t idf_emul_config_u32(const char *name, uint32_t dflt)
{
    const char *v = idf_emul_config_str(name, NULL);
    if (v == NULL) {
        return dflt;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    if (errno != 0 || end == v || *end != 0 || n > UINT32_MAX) {
        ESP_LOGE("idf_emul", "%s=%s is not a number; using the default 0x%" PRIx32, name, v, dflt);
        return dflt;
    }
    return (uint32_t)n;
}

/* esp_timer.h: microseconds since an arbitrary start (boot, on a device). */
int64_t esp_timer_get_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
