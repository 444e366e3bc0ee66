/*
 * esp_self_reflasher_default_platform() for the native host port: the
 * device bound with rf_device_bind_default(). Kept in its own file so a
 * build that links the ESP-IDF port (over the host emulation) can leave it out.
 */
#include "rf_device.h"

static rf_device_t *s_default_device;

void rf_device_bind_default(rf_device_t *dev)
{
    s_default_device = dev;
}

const esp_self_reflasher_platform_t *esp_self_reflasher_default_platform(void)
{
    return s_default_device ? &s_default_device->platform : NULL;
}
