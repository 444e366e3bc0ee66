/* See replay.h. */
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    double sim_ms;
    double log_ms;   /* < 0: no log figure */
} step_t;

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */
/* ------------------------------------------------------------------------ */

/* Dense pseudo-random bytes with no 0xFF, so every page holds data. */
void fill_dense(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x % 255u);   /* 0..254 */
    }
}

/* app_upd.bin's page pattern (FACTS.md): data in pages 0-140, 256-585 and
 * the swap trailer page 4095; 472 of 4096 pages. */
void synth_app_upd(uint8_t *p)
{
    memset(p, 0xFF, APP_UPD_SIZE);
    fill_dense(p, 141 * 256, 1);
    fill_dense(p + 256 * 256, (586 - 256) * 256, 2);
    fill_dense(p + 4095 * 256, 256, 3);
}

uint32_t count_data_pages(const uint8_t *p, size_t len)
{
    uint32_t n = 0;
    for (size_t off = 0; off < len; off += 256) {
        size_t l = len - off < 256 ? len - off : 256;
        for (size_t i = 0; i < l; i++) {
            if (p[off + i] != 0xFF) {
                n++;
                break;
            }
        }
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Replay helpers                                                           */
/* ------------------------------------------------------------------------ */

double ms_of(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void check(esp_err_t err, const char *what)
{
    if (err != ESP_OK) {
        fprintf(stderr, "bench: %s failed: 0x%x\n", what, err);
        exit(2);
    }
}

/* "Download" len bytes into the sim at dst in 1 KiB writes, charging the
 * network time of each chunk. */
static void download(nor_sim_t *sim, uint32_t dst, const uint8_t *data, uint32_t len)
{
    nor_sim_net_request(sim, false);   /* one plain-HTTP GET per image */
    for (uint32_t off = 0; off < len; off += CHUNK) {
        uint32_t n = len - off < CHUNK ? len - off : CHUNK;
        nor_sim_net_consume(sim, n);   /* the TCP window keeps receiving while the flash works */
        check(nor_sim_program(sim, dst + off, data + off, n), "program");
    }
}

/* Copy in 1 KiB read+write pairs. */
static void copy_pairs(nor_sim_t *sim, uint32_t src, uint32_t dst, uint32_t len)
{
    uint8_t buf[CHUNK];
    for (uint32_t off = 0; off < len; off += CHUNK) {
        uint32_t n = len - off < CHUNK ? len - off : CHUNK;
        check(nor_sim_read(sim, src + off, buf, n), "read");
        check(nor_sim_program(sim, dst + off, buf, n), "program");
    }
}

static void print_steps(const step_t *steps, size_t n)
{
    printf("  %-46s %12s %12s %8s\n", "step", "sim ms", "log ms", "sim/log");
    for (size_t i = 0; i < n; i++) {
        if (steps[i].log_ms >= 0) {
            printf("  %-46s %12.1f %12.0f %8.3f\n", steps[i].name, steps[i].sim_ms, steps[i].log_ms,
                   steps[i].sim_ms / steps[i].log_ms);
        } else {
            printf("  %-46s %12.1f %12s %8s\n", steps[i].name, steps[i].sim_ms, "-", "-");
        }
    }
}

static void print_counters(const nor_sim_t *sim)
{
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    printf("  bytes erased %" PRIu64 ", programmed %" PRIu64 ", read %" PRIu64 "\n", c->bytes_erased,
           c->bytes_programmed, c->bytes_read);
    printf("  sector erases %" PRIu64 ", block erases %" PRIu64 ", page programs %" PRIu64
           " (%" PRIu64 " blank), flash ops %" PRIu64 "\n",
           c->sector_erases, c->block_erases, c->page_programs, c->blank_page_programs, c->flash_ops);
}

/* ------------------------------------------------------------------------ */
/* Scenario 1: download example                                             */
/* ------------------------------------------------------------------------ */


dl_result_t replay_download(const uint8_t *app, const uint8_t *boot, uint32_t boot_len, bool verbose)
{
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, DL_FLASH_SIZE);
    nor_sim_t *sim = nor_sim_new(&cfg);
    if (sim == NULL) {
        fprintf(stderr, "bench: no memory\n");
        exit(2);
    }
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    step_t steps[8];
    size_t n = 0;
    uint64_t t0 = 0, t_brick = 0;

#define STEP(label, log, body)                                   \
    do {                                                         \
        uint64_t before_ = c->time_ns;                           \
        body;                                                    \
        steps[n++] = (step_t){(label), ms_of(c->time_ns - before_), (log)}; \
    } while (0)

    STEP("erase staging 0x210000, 1 MiB", 700, check(nor_sim_erase(sim, DL_STAGING, DL_STAGING_SIZE), "erase"));
    STEP("download app 1 MiB (1 KiB writes + network)", 5950, download(sim, DL_STAGING, app, DL_APP_LEN));
    STEP("erase destination 0x110000, 1 MiB", 740, check(nor_sim_erase(sim, DL_APP_DEST, DL_APP_LEN), "erase"));
    STEP("copy staging -> 0x110000 (1 KiB pairs)", 2410, copy_pairs(sim, DL_STAGING, DL_APP_DEST, DL_APP_LEN));
    STEP("erase staging again", 840, check(nor_sim_erase(sim, DL_STAGING, DL_STAGING_SIZE), "erase"));
    STEP("download bootloader (1 KiB writes + network)", boot_len == DL_BOOT_LEN ? 230 : -1,
         download(sim, DL_STAGING, boot, boot_len));
    t_brick = c->time_ns;
    STEP("erase bootloader region 0x0, 0xF000", 550, check(nor_sim_erase(sim, DL_BOOT_DEST, DL_BOOT_REGION), "erase"));
    STEP("copy bootloader (1 KiB pairs)", boot_len == DL_BOOT_LEN ? 140 : -1,
         copy_pairs(sim, DL_STAGING, DL_BOOT_DEST, boot_len));
#undef STEP

    dl_result_t r = {c->time_ns - t0, c->time_ns - t_brick, c->bytes_erased, c->bytes_programmed};
    if (verbose) {
        print_steps(steps, n);
        printf("  %-46s %12.1f %12.0f %8.3f\n", "total", ms_of(r.total_ns), 11600.0, ms_of(r.total_ns) / 11600.0);
        print_counters(sim);
        printf("  network: %u bytes at %u B/s, window %u B: %.1f ms of the total spent waiting for it\n",
               DL_APP_LEN + boot_len, cfg.timing.net_bytes_per_s, cfg.timing.tcp_window, ms_of(c->net_ns));
        printf("  brick window (bootloader erase -> end of its copy): sim %.1f ms, log 690 ms\n",
               ms_of(r.brick_ns));
        bool ok = memcmp(nor_sim_data(sim) + DL_APP_DEST, app, DL_APP_LEN) == 0 &&
                  memcmp(nor_sim_data(sim) + DL_BOOT_DEST, boot, boot_len) == 0;
        printf("  destination content equals the images: %s\n", ok ? "yes" : "NO");
    }
    nor_sim_free(sim);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Scenario 2: embedded example                                             */
/* ------------------------------------------------------------------------ */

uint64_t replay_embedded(const char *label, const uint8_t *image, bool verbose)
{
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, EM_FLASH_SIZE);
    nor_sim_t *sim = nor_sim_new(&cfg);
    if (sim == NULL) {
        fprintf(stderr, "bench: no memory\n");
        exit(2);
    }
    /* The image sits inside the running app; put it there directly (the
     * factory flashing is not part of the replay). */
    memcpy(nor_sim_data(sim) + EM_SRC, image, EM_LEN);
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    const uint32_t sector = cfg.sector_size, sectors = EM_LEN / sector;

    /* Destination is below the source by more than a sector, so the forward
     * per-sector copy never erases bytes it has yet to read. */
    uint64_t erase_ns = 0;
    for (uint32_t s = 0; s < sectors; s++) {
        uint64_t before = c->time_ns;
        check(nor_sim_erase(sim, EM_DST + s * sector, sector), "erase");
        erase_ns += c->time_ns - before;
        copy_pairs(sim, EM_SRC + s * sector, EM_DST + s * sector, sector);
    }
    uint64_t total = c->time_ns;
    if (!verbose) {
        nor_sim_free(sim);
        return total;
    }
    uint32_t data_pages = count_data_pages(image, EM_LEN);
    printf("  [%s] image pages with data: %u of %u\n", label, data_pages, EM_LEN / 256);
    printf("  %-46s %12s %12s %8s\n", "step", "sim ms", "log ms", "sim/log");
    printf("  %-46s %12.1f %12s %8s\n", "  of which sector erases", ms_of(erase_ns), "-", "-");
    printf("  %-46s %12.1f %12s %8s\n", "  of which reads + page programs", ms_of(c->time_ns - erase_ns), "-", "-");
    printf("  %-46s %12.1f %12.0f %8.3f\n", "copy 0x10F000 bytes, 271 sectors (total)", ms_of(c->time_ns), 12310.0,
           ms_of(c->time_ns) / 12310.0);
    printf("  %-46s %12.2f %12.1f\n", "per sector", ms_of(c->time_ns) / sectors, 12310.0 / sectors);
    print_counters(sim);
    printf("  brick window (bootloader erased first -> end of copy): sim %.1f ms, log 12310 ms\n",
           ms_of(c->time_ns));
    printf("  destination content equals the image: %s\n",
           memcmp(nor_sim_data(sim) + EM_DST, image, EM_LEN) == 0 ? "yes" : "NO");
    nor_sim_free(sim);
    return total;
}

