/* sdkconfig.h for tests/port_source.c: the ESP-IDF port's source with small
 * download limits, so that a trickle ends within a second or two. */
#pragma once
#define CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP 1
#define CONFIG_SELF_REFLASHER_DOWNLOAD_DEADLINE_S 4
#define CONFIG_SELF_REFLASHER_MIN_RATE_BPS 1000
#define CONFIG_SELF_REFLASHER_MIN_RATE_WINDOW_S 1
#define CONFIG_SPI_FLASH_DANGEROUS_WRITE_ALLOWED 1
#ifndef RF_TEST_PORT_MINIMAL
#define CONFIG_SELF_REFLASHER_GZIP 1
#define CONFIG_SELF_REFLASHER_HTTP_RESUME 1
#endif
