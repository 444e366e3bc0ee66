/*
 * NOR-flash simulator for the host: a device image you can keep, `cmp` and
 * `dd`, with the semantics of a real SPI NOR part.
 *
 *  - erase sets bytes to 0xFF; the range must be sector-aligned (4 KiB by
 *    default) or the call fails with ESP_ERR_INVALID_ARG like the real
 *    driver; a 64 KiB-aligned run inside the range is erased with block
 *    erases (as esp_flash_erase_region does), the rest with sector erases;
 *  - program ANDs data into the cells: a 1 cannot be programmed over a 0;
 *    it is split into page program operations at page boundaries;
 *  - a timing model (defaults from device-timings.md) advances a simulated
 *    clock; counters record bytes and operations and per-sector erases;
 *  - a power cut can be injected before/after any numbered flash operation
 *    or in the middle of one.
 *
 * The content lives in memory; a file-backed simulator maps its file
 * (MAP_SHARED) so the file is always the device's current content.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"
#include "spi_flash_mmap.h"   /* ESP_ERR_FLASH_OP_FAIL, as on a device */
#include "rf_flash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nor_sim_timing {
    uint32_t sector_erase_ns;       /**< 4 KiB sector erase, default 37 ms */
    uint32_t block_erase_ns;        /**< 64 KiB block erase, default 46 ms */
    uint32_t page_program_ns;       /**< page holding data, default 0.88 ms */
    uint32_t page_program_blank_ns; /**< page whose data is all 0xFF, default 0.54 ms */
    uint32_t read_bytes_per_s;      /**< default 20,000,000 */
    uint32_t net_bytes_per_s;       /**< network payload rate for sources, default 176,500 (nor_sim.c) */
    /* The honest clock (appended): CPU work and the network's overlap with it. */
    uint32_t sha256_bytes_per_s;    /**< SHA-256 rate, default 8,000,000 (ESP32; nor_sim_timing_for_chip) */
    uint32_t inflate_bytes_per_s;   /**< inflate, per output byte: default 10,000,000 (ESTIMATE) */
    uint32_t request_ns;            /**< per HTTP request (connect + first byte): default 10 ms (ESTIMATE) */
    uint32_t tls_handshake_ns;      /**< per TLS handshake: default 1,000 ms (ESTIMATE) */
    uint32_t tcp_window;            /**< bytes the TCP stack receives ahead of the reader: default 5,760 */
} nor_sim_timing_t;

typedef struct nor_sim_config {
    uint32_t size;          /**< bytes; a multiple of block_size */
    uint32_t sector_size;   /**< default 4096 */
    uint32_t block_size;    /**< default 65536 */
    uint32_t page_size;     /**< default 256 */
    nor_sim_timing_t timing;
} nor_sim_config_t;

/** Fill `cfg` with the defaults of device-timings.md for a chip of `size` bytes. */
void nor_sim_default_config(nor_sim_config_t *cfg, uint32_t size);

/* How the counters count (nor_sim.c):
 *  - a call rejected with ESP_ERR_INVALID_ARG (misaligned, out of range, NULL
 *    buffer) never reaches the chip: it counts nowhere and is not a cut point;
 *  - every other read/program/erase call counts once in flash_ops and in its
 *    own *_ops, including calls that fail because of a power cut;
 *  - bytes_* count the bytes an operation actually covered: the whole range
 *    normally, the written prefix of a program cut in the middle, nothing for
 *    an operation that failed because of a cut;
 *  - page_programs counts every page program operation; blank_page_programs
 *    is the subset whose data was all 0xFF (charged page_program_blank_ns);
 *  - sector_erases/block_erases count erase units; a block erase adds one to
 *    the wear of each of its sectors; an interrupted erase adds no unit, no
 *    bytes and no time (its first erase unit is left with arbitrary bytes);
 *  - time_ns: erase units, page programs, reads at read_bytes_per_s (exact:
 *    the fraction of a nanosecond is carried between reads), plus whatever
 *    nor_sim_advance_ns()/nor_sim_advance_net() add. */
typedef struct nor_sim_counters {
    uint64_t bytes_read, bytes_programmed, bytes_erased;
    uint64_t read_ops, program_ops, page_programs, blank_page_programs;
    uint64_t sector_erases, block_erases;
    uint64_t program_conflicts;  /**< bytes where a program tried to turn a 0 into a 1 */
    uint64_t flash_ops;          /**< numbered operations: each read, program and erase call */
    uint64_t time_ns;            /**< simulated clock */
    /* Added after the first version (appended so existing code is unaffected): */
    uint64_t erase_ops;          /**< erase calls (program_ops + erase_ops = nor_sim_write_ops) */
    /* The clock split by what advanced it (appended; the five add up to time_ns
     * but for nor_sim_advance_ns(), which counts in none of them): */
    uint64_t erase_ns, program_ns, read_ns;
    uint64_t cpu_ns;             /**< SHA-256 and inflate (nor_sim_charge) */
    uint64_t net_ns;             /**< waiting for the network: payload the window had not
                                      received yet, request latency, TLS handshakes */
    uint64_t net_bytes;          /**< payload bytes consumed (nor_sim_net_consume, _advance_net) */
    uint64_t sha256_bytes, inflate_bytes, requests;
} nor_sim_counters_t;

/** Where a power cut hits. The operation numbers are those of
 *  nor_sim_counters_t.flash_ops counting programs and erases only (reads do
 *  not change the device, so they are not cut points): op 1 is the first
 *  program or erase after the cut was armed. */
typedef enum {
    NOR_CUT_NONE = 0,
    NOR_CUT_BEFORE,     /**< op N is not performed at all */
    NOR_CUT_MIDDLE,     /**< op N is partly performed: a program writes a prefix of its
                             bytes; an erase leaves its first erase unit (the 64 KiB block of
                             a block erase, else the sector) with arbitrary bytes */
} nor_cut_mode_t;

typedef struct nor_sim nor_sim_t;

/** A new in-memory device, all 0xFF. NULL on bad config or no memory. */
nor_sim_t *nor_sim_new(const nor_sim_config_t *cfg);
/** Open (create=false) or create (create=true: sized cfg->size, filled 0xFF) a
 *  file-backed device. An existing file must be exactly cfg->size bytes. */
nor_sim_t *nor_sim_open_file(const char *path, const nor_sim_config_t *cfg, bool create);
/** An in-memory copy of a device (content, config, counters, wear); cheap
 *  enough to take at every cut point of a sweep. */
nor_sim_t *nor_sim_clone(const nor_sim_t *src);
/** Flush a file-backed device and free it. NULL is allowed. */
void nor_sim_free(nor_sim_t *sim);
/** Write the current content to `path` (a new file). */
esp_err_t nor_sim_save(const nor_sim_t *sim, const char *path);

esp_err_t nor_sim_read(nor_sim_t *sim, uint32_t addr, void *buf, uint32_t len);
esp_err_t nor_sim_program(nor_sim_t *sim, uint32_t addr, const void *buf, uint32_t len);
esp_err_t nor_sim_erase(nor_sim_t *sim, uint32_t addr, uint32_t len);

/** Direct access to the content, for tests and tools (no counters, no time). */
uint8_t *nor_sim_data(nor_sim_t *sim);
const nor_sim_config_t *nor_sim_config(const nor_sim_t *sim);

const nor_sim_counters_t *nor_sim_counters(const nor_sim_t *sim);
void nor_sim_reset_counters(nor_sim_t *sim);   /**< zeroes counters and clock, keeps wear */
/** Erase count of sector `index` (addr / sector_size); a block erase counts
 *  once for each of its sectors. */
uint32_t nor_sim_sector_erase_count(const nor_sim_t *sim, uint32_t index);
/** Advance the simulated clock (network time, CPU time charged by a caller). */
void nor_sim_advance_ns(nor_sim_t *sim, uint64_t ns);

/** Arm a power cut at program/erase operation `op` (1-based, counted from
 *  now). For NOR_CUT_MIDDLE, `seed` picks how many bytes a program writes and
 *  what an interrupted erase leaves. After the cut every program and erase
 *  fails with ESP_ERR_FLASH_OP_FAIL and changes nothing (reads still work),
 *  until nor_sim_power_restore(). */
void nor_sim_arm_cut(nor_sim_t *sim, nor_cut_mode_t mode, uint64_t op, uint32_t seed);
bool nor_sim_cut_happened(const nor_sim_t *sim);
void nor_sim_power_restore(nor_sim_t *sim);    /**< disarms and clears the cut */
/** Program/erase operations performed since creation (or last counter reset). */
uint64_t nor_sim_write_ops(const nor_sim_t *sim);

/** A flash port over the simulator (cost hints from its timing config). */
void nor_sim_flash_port(nor_sim_t *sim, rf_flash_t *out);

/* ---- Additions (nor_sim.c) ---- */

/** Advance the simulated clock by the time `bytes` of network payload take at
 *  timing.net_bytes_per_s (nothing when that rate is 0). The fraction of a
 *  nanosecond is carried, so many small calls add up to one big one. */
void nor_sim_advance_net(nor_sim_t *sim, uint64_t bytes);

/** Called once, at the moment an armed cut happens (after the partial work of
 *  a NOR_CUT_MIDDLE), with the cut operation's number (the `op` that was
 *  armed). The simulator's state is final when it runs: a sweep may snapshot
 *  it (nor_sim_clone) or longjmp out. Not copied by nor_sim_clone. */
typedef void (*nor_sim_cut_hook_t)(void *arg, nor_sim_t *sim, uint64_t op);
void nor_sim_set_cut_hook(nor_sim_t *sim, nor_sim_cut_hook_t hook, void *arg);

/* nor_sim_arm_cut() details: arming first does what nor_sim_power_restore()
 * does (one cut at a time); NOR_CUT_NONE or op 0 just disarms. For
 * NOR_CUT_MIDDLE the outcome is a pure function of (seed, op): a program of
 * len bytes writes a prefix of seeded length in [0, len) (a program of 0
 * bytes writes nothing), an erase fills the first erase unit of its range
 * (the whole 64 KiB block when the range starts with one, else the first
 * sector) with seeded pseudo-random bytes and leaves the rest as it was.
 * The cut operation returns ESP_ERR_FLASH_OP_FAIL. */

/** True when the content is a mapped file (nor_sim_open_file). */
bool nor_sim_is_file_backed(const nor_sim_t *sim);

/* ---- Operation trace (additive; used by `reflasher rehearse`) ---- */

typedef enum { NOR_OP_PROGRAM = 1, NOR_OP_ERASE = 2 } nor_sim_op_kind_t;

/** One program or erase call, as the trace sees it. */
typedef struct nor_sim_op {
    /** nor_sim_write_ops() counting this call: 1-based since creation or the
     *  last nor_sim_reset_counters(). On a device whose counters were reset
     *  (or that had done no write) when a cut was armed, this is the cut-point
     *  number nor_sim_arm_cut() takes. */
    uint64_t number;
    nor_sim_op_kind_t kind;
    uint32_t addr;
    uint32_t len;
    uint64_t t_start_ns;   /**< simulated clock when the call started */
    uint64_t t_end_ns;     /**< ... and when it returned (== start for a call that did nothing) */
    esp_err_t result;      /**< ESP_OK, or ESP_ERR_FLASH_OP_FAIL (the cut operation, or power already gone) */
    nor_cut_mode_t cut;    /**< NOR_CUT_BEFORE/NOR_CUT_MIDDLE for the operation the cut hit, else NOR_CUT_NONE */
} nor_sim_op_t;

typedef void (*nor_sim_trace_fn_t)(void *arg, const nor_sim_op_t *op);

/** Call `fn` after every program and erase call that passed validation (the
 *  calls nor_sim_write_ops() counts, including those that fail because of a
 *  power cut; reads are not reported). For the cut operation it runs before
 *  the cut hook (nor_sim_set_cut_hook). NULL removes it. Not copied by
 *  nor_sim_clone. Adds no time and changes no counter. */
void nor_sim_set_trace(nor_sim_t *sim, nor_sim_trace_fn_t fn, void *arg);

/* ---- The honest clock (nor_sim.c) ----------------------------------------
 *
 * CPU work a device does is charged at the rates of nor_sim_timing_t
 * (../shared/device-timings.md): SHA-256 per byte at the chip's accelerator
 * floor, inflate per output byte, a latency per request and a TLS
 * handshake per https request.
 *
 * The network is a fluid model of a TCP receiver: the payload arrives at
 * net_bytes_per_s while fewer than tcp_window bytes wait in the stack, so
 * it keeps arriving while the CPU waits on the flash or hashes, but never
 * more than one window ahead of the reader. Consuming n bytes takes no time
 * when the window already holds them; otherwise the clock waits for the
 * rest. tcp_window 0 means no overlap at all (every byte waits). */

/** Set the SHA-256 rate of `chip` ("esp32", "esp32s3", ...): ESP-IDF's
 *  performance floors (crypto_performance.h): ESP32 8 MB/s; S2, S3, C3, H2
 *  90 MB/s; C2 14 MB/s; any other chip 8 MB/s (the lowest floor: an upper
 *  bound on the time). False (rate unchanged) for a NULL chip. */
bool nor_sim_timing_for_chip(const char *chip, nor_sim_timing_t *t);

/** Set the honest-clock field named `key` (sha256_bytes_per_s,
 *  inflate_bytes_per_s, request_ns, tls_handshake_ns, tcp_window); false for
 *  another key. For a device's .meta file. */
bool nor_sim_timing_set(nor_sim_timing_t *t, const char *key, uint32_t value);

typedef enum {
    NOR_CPU_SHA256 = 1,   /**< units: bytes hashed */
    NOR_CPU_INFLATE,      /**< units: bytes inflated (output) */
} nor_sim_cpu_t;

/** Charge CPU work to the clock (and cpu_ns). */
void nor_sim_charge(nor_sim_t *sim, nor_sim_cpu_t what, uint64_t units);

/** A new request: its latency (and a TLS handshake when tls) on the clock
 *  (net_ns); the window starts empty. */
void nor_sim_net_request(nor_sim_t *sim, bool tls);

/** The reader takes `bytes` of payload now (see the model above). */
void nor_sim_net_consume(nor_sim_t *sim, uint64_t bytes);

/** Route the CPU work the host's crypto glue and sources report (rf_cost.h)
 *  to this simulator's clock, until another simulator is attached or this one
 *  is freed. The host runs one migration at a time per process. */
void nor_sim_attach_cost(nor_sim_t *sim);

#ifdef __cplusplus
}
#endif
