/*
 * The small helpers several files of the core call, defined once: as static
 * inline functions in the headers each file kept its own copy (a device
 * linked seven of rf_le32). Not for what the copy loop calls while it may
 * rewrite the running app (rf_overlaps, rf_is_blank: in IRAM with
 * rf_write.c, see port/esp_idf/self_reflasher_archive.lf.in). Freestanding.
 */
#include "rf_log.h"
#include "rf_util.h"

uint32_t rf_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

const char *rf_nth_str(const char *list, unsigned i)
{
    while (i-- > 0) {
        while (*list++ != '\0') {
        }
    }
    return list;
}

void rf_log(const rf_log_t *log, rf_log_level_t level, const char *fmt, ...)
{
    if (log == 0 || log->fn == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    log->fn(log->arg, level, RF_TAG, fmt, ap);
    va_end(ap);
}
