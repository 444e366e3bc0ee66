/*
 * NOR-flash simulator (see nor_sim.h for the contract).
 *
 * The device is a byte array (malloc'd, or a MAP_SHARED mapping of a file)
 * plus bookkeeping: counters, a simulated clock, one erase count per sector
 * and an optional power cut.
 *
 * Every public operation follows the same order:
 *   1. validate the arguments; a bad call returns ESP_ERR_INVALID_ARG and
 *      leaves no trace (no counter, no time, not a cut point);
 *   2. count the call;
 *   3. (program/erase only) ask the power-cut logic whether this operation
 *      runs in full, in part, or not at all;
 *   4. do the work, charging time and counters unit by unit (page programs,
 *      sector/block erases).
 */
#include "nor_sim.h"
#include "rf_cost.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull

struct nor_sim {
    nor_sim_config_t cfg;
    uint8_t *data;              /* cfg.size bytes: heap or mapping */
    uint32_t *wear;             /* erase count per sector */
    uint32_t sector_count;
    nor_sim_counters_t ctr;
    uint64_t read_rem;          /* carried fraction of read time, in ns * read_bytes_per_s */
    uint64_t net_rem;           /* same for network time, in ns * net_bytes_per_s */
    uint64_t sha_rem, inflate_rem; /* same for CPU work */
    uint64_t net_buf;           /* bytes the TCP window holds, in bytes * 1e9 (fluid model) */
    uint64_t net_at;            /* clock when net_buf was last brought up to date */
    int fd;                     /* backing file, or -1 for an in-memory device */

    /* Power cut. */
    nor_cut_mode_t cut_mode;    /* NOR_CUT_NONE: disarmed */
    uint64_t cut_op;            /* 1-based program/erase number that is cut */
    uint64_t ops_since_arm;     /* program/erase calls since arming */
    uint32_t cut_seed;
    bool cut_done;              /* the cut happened: writes fail until restore */
    nor_sim_cut_hook_t hook;
    void *hook_arg;

    /* Operation trace (nor_sim_set_trace). */
    nor_sim_trace_fn_t trace;
    void *trace_arg;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* A deterministic PRNG: a splitmix-style scrambler turns (seed, op) into a
 * non-zero state, then xorshift64 produces the stream. Quality is
 * irrelevant here; determinism and no global state are what matter. */
typedef struct {
    uint64_t s;
} prng_t;

static void prng_init(prng_t *r, uint32_t seed, uint64_t op)
{
    uint64_t z = ((uint64_t)seed << 32) ^ op ^ 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z != 0 ? z : 0x2545F4914F6CDD1Dull;   /* xorshift must not start at 0 */
}

static uint64_t prng_next(prng_t *r)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return x;
}

static bool config_ok(const nor_sim_config_t *cfg)
{
    if (cfg == NULL || cfg->size == 0 || cfg->sector_size == 0 || cfg->page_size == 0) {
        return false;
    }
    if (cfg->size % cfg->sector_size != 0 || cfg->sector_size % cfg->page_size != 0) {
        return false;
    }
    /* block_size 0 means "no block erase"; otherwise it must be whole sectors. */
    if (cfg->block_size != 0 && cfg->block_size % cfg->sector_size != 0) {
        return false;
    }
    return true;
}

/* [addr, addr + len) inside the chip, in 64 bits so addr + len cannot wrap. */
static bool in_range(const nor_sim_t *sim, uint32_t addr, uint32_t len)
{
    return (uint64_t)addr + len <= sim->cfg.size;
}

/* Time of `bytes` at `rate` bytes per second, carrying the fraction in *rem
 * (units of ns * rate). bytes * 1e9 fits in 64 bits for bytes < 2^34; larger
 * amounts are split so nothing overflows. */
static uint64_t rate_ns(uint64_t bytes, uint32_t rate, uint64_t *rem)
{
    if (rate == 0) {
        return 0;
    }
    uint64_t ns = (bytes / rate) * NS_PER_S;   /* whole seconds first */
    uint64_t acc = *rem + (bytes % rate) * NS_PER_S;  /* < rate * (1e9 + 1) < 2^63 */
    ns += acc / rate;
    *rem = acc % rate;
    return ns;
}

/* Allocate the bookkeeping part of a simulator (not the content). */
static nor_sim_t *sim_alloc(const nor_sim_config_t *cfg)
{
    nor_sim_t *sim = calloc(1, sizeof *sim);
    if (sim == NULL) {
        return NULL;
    }
    sim->cfg = *cfg;
    sim->fd = -1;
    sim->sector_count = cfg->size / cfg->sector_size;
    sim->wear = calloc(sim->sector_count, sizeof *sim->wear);
    if (sim->wear == NULL) {
        free(sim);
        return NULL;
    }
    return sim;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */
/* ------------------------------------------------------------------------ */

/* The honest clock's defaults. Sources: device-timings.md ("CPU work the
 * clock must charge") for SHA-256; ESP-IDF's CONFIG_LWIP_TCP_WND_DEFAULT
 * (5,760) for the window. ESTIMATES, no published figure: inflate with the
 * ROM's tinfl at 10 MB/s of output (~24 cycles per byte at 240 MHz); a
 * request costs two round trips of 5 ms on a LAN (connect, then request
 * to first byte; the log's bootloader step leaves no room for much more);
 * a TLS handshake (ECDHE + RSA-2048 with the MPI
 * accelerator) 1 s.
 *
 * The payload rate: the download log's app step (1 MiB in 1 KiB reads, each
 * followed by a 1 KiB flash write, 5,950 ms) replayed through this model
 * with its 5,760-byte window is network-bound, so the log's rate is
 * 1,048,576 B / (5,950 - 10) ms = 176.5 KB/s; the bootloader step (39,776 B,
 * 230 ms) then replays to 235 ms. device-timings.md's 295 KB/s came from
 * subtracting the flash writes, which assumes no overlap at all. */
static void nor_sim_timing_defaults_cpu(nor_sim_timing_t *t)
{
    t->sha256_bytes_per_s = 8000000u;   /* ESP32; see nor_sim_timing_for_chip */
    t->inflate_bytes_per_s = 10000000u;
    t->request_ns = 10000000u;
    t->tls_handshake_ns = 1000000000u;
    t->tcp_window = 5760u;
}

void nor_sim_default_config(nor_sim_config_t *cfg, uint32_t size)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    cfg->sector_size = 4096;
    cfg->block_size = 65536;
    cfg->page_size = 256;
    cfg->timing.sector_erase_ns = 37000000u;      /* 37 ms */
    cfg->timing.block_erase_ns = 46000000u;       /* 46 ms */
    cfg->timing.page_program_ns = 880000u;        /* 0.88 ms */
    cfg->timing.page_program_blank_ns = 540000u;  /* 0.54 ms */
    cfg->timing.read_bytes_per_s = 20000000u;     /* 20 MB/s */
    cfg->timing.net_bytes_per_s = 176500u;        /* 176.5 KB/s: the download log under the window model */
    nor_sim_timing_defaults_cpu(&cfg->timing);
}

nor_sim_t *nor_sim_new(const nor_sim_config_t *cfg)
{
    if (!config_ok(cfg)) {
        return NULL;
    }
    nor_sim_t *sim = sim_alloc(cfg);
    if (sim == NULL) {
        return NULL;
    }
    sim->data = malloc(cfg->size);
    if (sim->data == NULL) {
        free(sim->wear);
        free(sim);
        return NULL;
    }
    memset(sim->data, 0xFF, cfg->size);
    return sim;
}

nor_sim_t *nor_sim_open_file(const char *path, const nor_sim_config_t *cfg, bool create)
{
    if (path == NULL || !config_ok(cfg)) {
        return NULL;
    }
    int fd = create ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                    : open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    if (create) {
        if (ftruncate(fd, (off_t)cfg->size) != 0) {
            close(fd);
            return NULL;
        }
    } else {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != cfg->size) {
            close(fd);
            return NULL;
        }
    }
    void *map = mmap(NULL, cfg->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return NULL;
    }
    nor_sim_t *sim = sim_alloc(cfg);
    if (sim == NULL) {
        munmap(map, cfg->size);
        close(fd);
        return NULL;
    }
    sim->data = map;
    sim->fd = fd;
    if (create) {
        memset(sim->data, 0xFF, cfg->size);   /* a fresh chip is erased */
    }
    return sim;
}

nor_sim_t *nor_sim_clone(const nor_sim_t *src)
{
    if (src == NULL) {
        return NULL;
    }
    nor_sim_t *sim = nor_sim_new(&src->cfg);
    if (sim == NULL) {
        return NULL;
    }
    memcpy(sim->data, src->data, src->cfg.size);
    memcpy(sim->wear, src->wear, (size_t)src->sector_count * sizeof *src->wear);
    sim->ctr = src->ctr;
    sim->read_rem = src->read_rem;
    sim->net_rem = src->net_rem;
    sim->sha_rem = src->sha_rem;
    sim->inflate_rem = src->inflate_rem;
    sim->net_buf = src->net_buf;
    sim->net_at = src->net_at;
    /* Not file-backed, no cut armed or pending, no hook: a fresh, powered copy. */
    return sim;
}

void nor_sim_free(nor_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }
    if (sim->fd >= 0) {
        msync(sim->data, sim->cfg.size, MS_SYNC);
        munmap(sim->data, sim->cfg.size);
        close(sim->fd);
    } else {
        free(sim->data);
    }
    if (rf_cost_hook_arg() == sim) {
        rf_cost_set_hook(NULL, NULL);   /* no charge may reach a freed simulator */
    }
    free(sim->wear);
    free(sim);
}

esp_err_t nor_sim_save(const nor_sim_t *sim, const char *path)
{
    if (sim == NULL || path == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    /* Saving a file-backed device onto its own file: truncating it would wipe
     * the mapping, and the file already holds the content; just flush. */
    if (sim->fd >= 0) {
        struct stat mine, theirs;
        if (fstat(sim->fd, &mine) == 0 && stat(path, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
            mine.st_ino == theirs.st_ino) {
            return msync(sim->data, sim->cfg.size, MS_SYNC) == 0 ? ESP_OK : ESP_FAIL;
        }
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ESP_FAIL;
    }
    size_t done = 0;
    while (done < sim->cfg.size) {
        ssize_t n = write(fd, sim->data + done, sim->cfg.size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return ESP_FAIL;
        }
        done += (size_t)n;
    }
    return close(fd) == 0 ? ESP_OK : ESP_FAIL;
}

/* ------------------------------------------------------------------------ */
/* Power cut                                                                */
/* ------------------------------------------------------------------------ */

typedef enum {
    RUN_FULL,           /* no cut: do the whole operation */
    RUN_DEAD,           /* the power is already gone: do nothing, fail */
    RUN_CUT_BEFORE,     /* this is the cut operation, cut before it starts */
    RUN_CUT_MIDDLE,     /* this is the cut operation, cut half-way */
} run_t;

/* Called once per program/erase call that passed validation. */
static run_t cut_check(nor_sim_t *sim)
{
    if (sim->cut_done) {
        return RUN_DEAD;
    }
    if (sim->cut_mode == NOR_CUT_NONE) {
        return RUN_FULL;
    }
    sim->ops_since_arm++;
    if (sim->ops_since_arm != sim->cut_op) {
        return RUN_FULL;
    }
    return sim->cut_mode == NOR_CUT_BEFORE ? RUN_CUT_BEFORE : RUN_CUT_MIDDLE;
}

/* Report one program/erase call to the trace, if any. `t0` is the clock
 * when the call started (after validation). */
static void trace_op(nor_sim_t *sim, nor_sim_op_kind_t kind, uint32_t addr, uint32_t len, uint64_t t0,
                     esp_err_t result, nor_cut_mode_t cut)
{
    if (sim->trace == NULL) {
        return;
    }
    nor_sim_op_t op = {
        .number = sim->ctr.program_ops + sim->ctr.erase_ops,
        .kind = kind,
        .addr = addr,
        .len = len,
        .t_start_ns = t0,
        .t_end_ns = sim->ctr.time_ns,
        .result = result,
        .cut = cut,
    };
    sim->trace(sim->trace_arg, &op);
}

/* The cut operation has done whatever it does: the power is now gone. The
 * trace sees the cut operation before the hook runs (the hook may longjmp). */
static esp_err_t cut_fire(nor_sim_t *sim, nor_sim_op_kind_t kind, uint32_t addr, uint32_t len, uint64_t t0)
{
    uint64_t op = sim->cut_op;
    nor_cut_mode_t mode = sim->cut_mode;
    sim->cut_done = true;
    sim->cut_mode = NOR_CUT_NONE;
    trace_op(sim, kind, addr, len, t0, ESP_ERR_FLASH_OP_FAIL, mode);
    if (sim->hook != NULL) {
        sim->hook(sim->hook_arg, sim, op);
    }
    return ESP_ERR_FLASH_OP_FAIL;
}

void nor_sim_arm_cut(nor_sim_t *sim, nor_cut_mode_t mode, uint64_t op, uint32_t seed)
{
    if (sim == NULL) {
        return;
    }
    nor_sim_power_restore(sim);
    if (mode == NOR_CUT_NONE || op == 0) {
        return;
    }
    sim->cut_mode = mode;
    sim->cut_op = op;
    sim->cut_seed = seed;
}

bool nor_sim_cut_happened(const nor_sim_t *sim)
{
    return sim != NULL && sim->cut_done;
}

void nor_sim_power_restore(nor_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }
    sim->cut_mode = NOR_CUT_NONE;
    sim->cut_op = 0;
    sim->ops_since_arm = 0;
    sim->cut_seed = 0;
    sim->cut_done = false;
}

void nor_sim_set_cut_hook(nor_sim_t *sim, nor_sim_cut_hook_t hook, void *arg)
{
    if (sim != NULL) {
        sim->hook = hook;
        sim->hook_arg = arg;
    }
}

void nor_sim_set_trace(nor_sim_t *sim, nor_sim_trace_fn_t fn, void *arg)
{
    if (sim != NULL) {
        sim->trace = fn;
        sim->trace_arg = arg;
    }
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

esp_err_t nor_sim_read(nor_sim_t *sim, uint32_t addr, void *buf, uint32_t len)
{
    if (sim == NULL || (buf == NULL && len != 0) || !in_range(sim, addr, len)) {
        return ESP_ERR_INVALID_ARG;
    }
    sim->ctr.flash_ops++;
    sim->ctr.read_ops++;
    if (len != 0) {
        memcpy(buf, sim->data + addr, len);
    }
    sim->ctr.bytes_read += len;
    uint64_t ns = rate_ns(len, sim->cfg.timing.read_bytes_per_s, &sim->read_rem);
    sim->ctr.time_ns += ns;
    sim->ctr.read_ns += ns;
    return ESP_OK;
}

/* Program [addr, addr + len) page by page: each byte becomes old AND new. */
static void program_pages(nor_sim_t *sim, uint32_t addr, const uint8_t *src, uint32_t len)
{
    const uint32_t page = sim->cfg.page_size;
    while (len > 0) {
        uint32_t chunk = page - addr % page;   /* up to the next page boundary */
        if (chunk > len) {
            chunk = len;
        }
        uint8_t *dst = sim->data + addr;
        bool has_data = false;
        for (uint32_t i = 0; i < chunk; i++) {
            uint8_t old = dst[i], v = src[i];
            if (v != 0xFF) {
                has_data = true;
            }
            if ((uint8_t)(v & (uint8_t)~old) != 0) {
                sim->ctr.program_conflicts++;   /* tried to raise a 0 bit to 1 */
            }
            dst[i] = (uint8_t)(old & v);
        }
        sim->ctr.page_programs++;
        uint64_t ns = has_data ? sim->cfg.timing.page_program_ns : sim->cfg.timing.page_program_blank_ns;
        if (!has_data) {
            sim->ctr.blank_page_programs++;
        }
        sim->ctr.time_ns += ns;
        sim->ctr.program_ns += ns;
        sim->ctr.bytes_programmed += chunk;
        addr += chunk;
        src += chunk;
        len -= chunk;
    }
}

esp_err_t nor_sim_program(nor_sim_t *sim, uint32_t addr, const void *buf, uint32_t len)
{
    if (sim == NULL || (buf == NULL && len != 0) || !in_range(sim, addr, len)) {
        return ESP_ERR_INVALID_ARG;
    }
    sim->ctr.flash_ops++;
    sim->ctr.program_ops++;
    const uint64_t t0 = sim->ctr.time_ns;
    switch (cut_check(sim)) {
    case RUN_FULL:
        program_pages(sim, addr, buf, len);
        trace_op(sim, NOR_OP_PROGRAM, addr, len, t0, ESP_OK, NOR_CUT_NONE);
        return ESP_OK;
    case RUN_DEAD:
        trace_op(sim, NOR_OP_PROGRAM, addr, len, t0, ESP_ERR_FLASH_OP_FAIL, NOR_CUT_NONE);
        return ESP_ERR_FLASH_OP_FAIL;
    case RUN_CUT_BEFORE:
        return cut_fire(sim, NOR_OP_PROGRAM, addr, len, t0);
    case RUN_CUT_MIDDLE:
    default: {
        /* A prefix of seeded length in [0, len) lands, then the power goes. */
        uint32_t prefix = 0;
        if (len > 0) {
            prng_t r;
            prng_init(&r, sim->cut_seed, sim->cut_op);
            prefix = (uint32_t)(prng_next(&r) % len);
        }
        program_pages(sim, addr, buf, prefix);
        return cut_fire(sim, NOR_OP_PROGRAM, addr, len, t0);
    }
    }
}

/* Erase one unit (a sector or a block) at addr: 0xFF, time, counters, wear. */
static void erase_unit(nor_sim_t *sim, uint32_t addr, uint32_t unit, bool block)
{
    memset(sim->data + addr, 0xFF, unit);
    uint64_t ns = block ? sim->cfg.timing.block_erase_ns : sim->cfg.timing.sector_erase_ns;
    if (block) {
        sim->ctr.block_erases++;
    } else {
        sim->ctr.sector_erases++;
    }
    sim->ctr.time_ns += ns;
    sim->ctr.erase_ns += ns;
    sim->ctr.bytes_erased += unit;
    for (uint32_t s = addr / sim->cfg.sector_size; s < (addr + unit) / sim->cfg.sector_size; s++) {
        sim->wear[s]++;
    }
}

esp_err_t nor_sim_erase(nor_sim_t *sim, uint32_t addr, uint32_t len)
{
    if (sim == NULL || !in_range(sim, addr, len)) {
        return ESP_ERR_INVALID_ARG;
    }
    const uint32_t sector = sim->cfg.sector_size, block = sim->cfg.block_size;
    if (addr % sector != 0 || len % sector != 0) {
        return ESP_ERR_INVALID_ARG;
    }
    sim->ctr.flash_ops++;
    sim->ctr.erase_ops++;
    const uint64_t t0 = sim->ctr.time_ns;
    switch (cut_check(sim)) {
    case RUN_FULL:
        break;
    case RUN_DEAD:
        trace_op(sim, NOR_OP_ERASE, addr, len, t0, ESP_ERR_FLASH_OP_FAIL, NOR_CUT_NONE);
        return ESP_ERR_FLASH_OP_FAIL;
    case RUN_CUT_BEFORE:
        return cut_fire(sim, NOR_OP_ERASE, addr, len, t0);
    case RUN_CUT_MIDDLE:
    default:
        /* The first erase unit is left half-erased: arbitrary bytes over all
         * of it (a block erase is one operation of the chip: a cut may leave
         * any of its sectors undefined, not only the first). */
        if (len > 0) {
            const uint32_t unit = (block != 0 && addr % block == 0 && len >= block) ? block : sector;
            prng_t r;
            prng_init(&r, sim->cut_seed, sim->cut_op);
            uint8_t *p = sim->data + addr;
            for (uint32_t i = 0; i < unit; i += 8) {
                uint64_t x = prng_next(&r);
                for (uint32_t k = 0; k < 8 && i + k < unit; k++) {
                    p[i + k] = (uint8_t)(x >> (8 * k));
                }
            }
        }
        return cut_fire(sim, NOR_OP_ERASE, addr, len, t0);
    }

    /* Block erases for every whole, block-aligned block inside the range,
     * sector erases for the rest (as esp_flash_erase_region does). In 64 bits:
     * the range may end exactly at 4 GiB. */
    uint64_t cur = addr;
    const uint64_t end = (uint64_t)addr + len;
    while (cur < end) {
        if (block != 0 && cur % block == 0 && cur + block <= end) {
            erase_unit(sim, (uint32_t)cur, block, true);
            cur += block;
        } else {
            erase_unit(sim, (uint32_t)cur, sector, false);
            cur += sector;
        }
    }
    trace_op(sim, NOR_OP_ERASE, addr, len, t0, ESP_OK, NOR_CUT_NONE);
    return ESP_OK;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */
/* ------------------------------------------------------------------------ */

uint8_t *nor_sim_data(nor_sim_t *sim)
{
    return sim != NULL ? sim->data : NULL;
}

const nor_sim_config_t *nor_sim_config(const nor_sim_t *sim)
{
    return sim != NULL ? &sim->cfg : NULL;
}

const nor_sim_counters_t *nor_sim_counters(const nor_sim_t *sim)
{
    return sim != NULL ? &sim->ctr : NULL;
}

void nor_sim_reset_counters(nor_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }
    memset(&sim->ctr, 0, sizeof sim->ctr);
    sim->read_rem = 0;
    sim->net_rem = 0;
    sim->sha_rem = 0;
    sim->inflate_rem = 0;
    sim->net_buf = 0;
    sim->net_at = 0;
}

uint32_t nor_sim_sector_erase_count(const nor_sim_t *sim, uint32_t index)
{
    if (sim == NULL || index >= sim->sector_count) {
        return 0;
    }
    return sim->wear[index];
}

void nor_sim_advance_ns(nor_sim_t *sim, uint64_t ns)
{
    if (sim != NULL) {
        sim->ctr.time_ns += ns;
    }
}

void nor_sim_advance_net(nor_sim_t *sim, uint64_t bytes)
{
    if (sim != NULL) {
        uint64_t ns = rate_ns(bytes, sim->cfg.timing.net_bytes_per_s, &sim->net_rem);
        sim->ctr.time_ns += ns;
        sim->ctr.net_ns += ns;
        sim->ctr.net_bytes += bytes;
    }
}

/* ---- the honest clock ---------------------------------------------------- */

bool nor_sim_timing_for_chip(const char *chip, nor_sim_timing_t *t)
{
    if (chip == NULL || t == NULL) {
        return false;
    }
    static const struct {
        const char *chip;
        uint32_t sha;
    } floors[] = {
        /* ESP-IDF components/mbedtls/test_apps/mbedtls_ut/include/crypto_performance.h,
         * IDF_PERFORMANCE_MIN_SHA256_THROUGHPUT_MBSEC (device-timings.md) */
        { "esp32", 8000000u },  { "esp32s2", 90000000u }, { "esp32s3", 90000000u },
        { "esp32c3", 90000000u }, { "esp32h2", 90000000u }, { "esp32c2", 14000000u },
    };
    t->sha256_bytes_per_s = 8000000u;
    for (size_t i = 0; i < sizeof floors / sizeof floors[0]; i++) {
        if (strcmp(chip, floors[i].chip) == 0) {
            t->sha256_bytes_per_s = floors[i].sha;
        }
    }
    return true;
}

bool nor_sim_timing_set(nor_sim_timing_t *t, const char *key, uint32_t value)
{
    if (t == NULL || key == NULL) {
        return false;
    }
    if (strcmp(key, "sha256_bytes_per_s") == 0) {
        t->sha256_bytes_per_s = value;
    } else if (strcmp(key, "inflate_bytes_per_s") == 0) {
        t->inflate_bytes_per_s = value;
    } else if (strcmp(key, "request_ns") == 0) {
        t->request_ns = value;
    } else if (strcmp(key, "tls_handshake_ns") == 0) {
        t->tls_handshake_ns = value;
    } else if (strcmp(key, "tcp_window") == 0) {
        t->tcp_window = value;
    } else {
        return false;
    }
    return true;
}

void nor_sim_charge(nor_sim_t *sim, nor_sim_cpu_t what, uint64_t units)
{
    if (sim == NULL) {
        return;
    }
    uint64_t ns = 0;
    if (what == NOR_CPU_SHA256) {
        ns = rate_ns(units, sim->cfg.timing.sha256_bytes_per_s, &sim->sha_rem);
        sim->ctr.sha256_bytes += units;
    } else if (what == NOR_CPU_INFLATE) {
        ns = rate_ns(units, sim->cfg.timing.inflate_bytes_per_s, &sim->inflate_rem);
        sim->ctr.inflate_bytes += units;
    }
    sim->ctr.time_ns += ns;
    sim->ctr.cpu_ns += ns;
}

void nor_sim_net_request(nor_sim_t *sim, bool tls)
{
    if (sim == NULL) {
        return;
    }
    uint64_t ns = sim->cfg.timing.request_ns + (tls ? (uint64_t)sim->cfg.timing.tls_handshake_ns : 0);
    sim->ctr.time_ns += ns;
    sim->ctr.net_ns += ns;
    sim->ctr.requests++;
    sim->net_buf = 0;
    sim->net_at = sim->ctr.time_ns;
}

void nor_sim_net_consume(nor_sim_t *sim, uint64_t bytes)
{
    if (sim == NULL || bytes == 0) {
        return;
    }
    const uint64_t rate = sim->cfg.timing.net_bytes_per_s;
    sim->ctr.net_bytes += bytes;
    if (rate == 0) {
        return;
    }
    /* What arrived since the last look, up to a full window (units: bytes * 1e9,
     * so that ns * rate adds exactly). */
    const uint64_t cap = (uint64_t)sim->cfg.timing.tcp_window * NS_PER_S;
    uint64_t idle = sim->ctr.time_ns - sim->net_at;
    uint64_t in = idle >= cap / rate + 1 ? cap : idle * rate;
    sim->net_buf = sim->net_buf + in > cap ? cap : sim->net_buf + in;
    uint64_t want = bytes * NS_PER_S;
    if (want <= sim->net_buf) {
        sim->net_buf -= want;
    } else {
        uint64_t wait = (want - sim->net_buf + rate - 1) / rate;   /* ns until the rest is in */
        sim->ctr.time_ns += wait;
        sim->ctr.net_ns += wait;
        sim->net_buf = 0;
    }
    sim->net_at = sim->ctr.time_ns;
}

static void cost_hook(void *arg, rf_cost_kind_t kind, uint64_t units)
{
    nor_sim_t *sim = arg;
    switch (kind) {
    case RF_COST_SHA256:
        nor_sim_charge(sim, NOR_CPU_SHA256, units);
        break;
    case RF_COST_INFLATE:
        nor_sim_charge(sim, NOR_CPU_INFLATE, units);
        break;
    case RF_COST_REQUEST:
    case RF_COST_REQUEST_TLS:
        for (uint64_t i = 0; i < units; i++) {
            nor_sim_net_request(sim, kind == RF_COST_REQUEST_TLS);
        }
        break;
    }
}

void nor_sim_attach_cost(nor_sim_t *sim)
{
    rf_cost_set_hook(sim != NULL ? cost_hook : NULL, sim);
}

uint64_t nor_sim_write_ops(const nor_sim_t *sim)
{
    return sim != NULL ? sim->ctr.program_ops + sim->ctr.erase_ops : 0;
}

bool nor_sim_is_file_backed(const nor_sim_t *sim)
{
    return sim != NULL && sim->fd >= 0;
}

/* ------------------------------------------------------------------------ */
/* Flash port                                                               */
/* ------------------------------------------------------------------------ */

static esp_err_t port_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    return nor_sim_read(ctx, addr, buf, len);
}

static esp_err_t port_program(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    return nor_sim_program(ctx, addr, buf, len);
}

static esp_err_t port_erase(void *ctx, uint32_t addr, uint32_t len)
{
    return nor_sim_erase(ctx, addr, len);
}

/* ns -> µs, rounded to nearest; a non-zero cost never becomes 0 ("unknown"). */
static uint32_t ns_to_us(uint32_t ns)
{
    uint32_t us = (uint32_t)(((uint64_t)ns + 500) / 1000);
    return (us == 0 && ns != 0) ? 1 : us;
}

void nor_sim_flash_port(nor_sim_t *sim, rf_flash_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (sim == NULL) {
        return;
    }
    out->ctx = sim;
    out->size = sim->cfg.size;
    out->sector_size = sim->cfg.sector_size;
    out->block_size = sim->cfg.block_size;
    out->page_size = sim->cfg.page_size;
    out->sector_erase_us = ns_to_us(sim->cfg.timing.sector_erase_ns);
    out->block_erase_us = ns_to_us(sim->cfg.timing.block_erase_ns);
    out->page_program_us = ns_to_us(sim->cfg.timing.page_program_ns);
    out->read = port_read;
    out->program = port_program;
    out->erase = port_erase;
}
