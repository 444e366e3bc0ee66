/*
 * The reference implementation's flash operations replayed through the NOR
 * simulator (its own sequence: whole-region erases, 1 KiB reads and writes,
 * one plain-HTTP request per image, the network as the timing model's TCP
 * receiver). Shared by bench_reference_replay (step by step, against the
 * logs) and bench_migration (the reference column of its table).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "nor_sim.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define CHUNK 1024u   /* the reference's read/write unit */

/* Download example (seed log). */
#define DL_FLASH_SIZE (8u * MIB)
#define DL_STAGING 0x210000u
#define DL_STAGING_SIZE (1u * MIB)
#define DL_APP_DEST 0x110000u
#define DL_APP_LEN (1u * MIB)
#define DL_BOOT_DEST 0x0u
#define DL_BOOT_REGION 0xF000u
#define DL_BOOT_LEN 39776u   /* "Total downloaded binary length: 39776" */

/* Embedded example (seed log). */
#define EM_FLASH_SIZE (4u * MIB)
#define EM_SRC 0x14294u
#define EM_DST 0x1000u
#define EM_LEN 0x10F000u     /* 271 sectors */
#define EM_APP_OFF 0xF000u   /* the app at 0x10000 = image offset 0xF000 */

#define APP_UPD_SIZE (1u * MIB)
#define MCUBOOT_SIZE 27376u

typedef struct {
    uint64_t total_ns, brick_ns, erased, programmed;
} dl_result_t;

/** Dense pseudo-random bytes with no 0xFF, so every page holds data. */
void fill_dense(uint8_t *p, size_t len, uint32_t seed);
/** app_upd.bin's page pattern (FACTS.md): data in 472 of 4096 pages. */
void synth_app_upd(uint8_t *p);
uint32_t count_data_pages(const uint8_t *p, size_t len);
double ms_of(uint64_t ns);
/** The download example on an 8 MB ESP32-S3 (verbose: its steps against the log). */
dl_result_t replay_download(const uint8_t *app, const uint8_t *boot, uint32_t boot_len, bool verbose);
/** The embedded example (ESP32, 4 MB) with this 0x10F000-byte image; returns its time. */
uint64_t replay_embedded(const char *label, const uint8_t *image, bool verbose);
