/*
 * NOR-flash simulator: semantics, counters, timing, wear, file backing,
 * clones and power cuts. Needs nothing from ../shared.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nor_sim.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define MS 1000000ull   /* ns */

static nor_sim_t *new_sim(uint32_t size)
{
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, size);
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    return sim;
}

static void assert_all(const uint8_t *p, uint8_t v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != v) {
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], v);
        }
    }
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t salt)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)((i * 131u + salt) ^ (i >> 8));
    }
}

/* ------------------------------------------------------------------------ */

static void test_default_config(void **state)
{
    (void)state;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 4 * MIB);
    assert_int_equal(cfg.size, 4 * MIB);
    assert_int_equal(cfg.sector_size, 4096);
    assert_int_equal(cfg.block_size, 65536);
    assert_int_equal(cfg.page_size, 256);
    assert_int_equal(cfg.timing.sector_erase_ns, 37000000);
    assert_int_equal(cfg.timing.block_erase_ns, 46000000);
    assert_int_equal(cfg.timing.page_program_ns, 880000);
    assert_int_equal(cfg.timing.page_program_blank_ns, 540000);
    assert_int_equal(cfg.timing.read_bytes_per_s, 20000000);
    assert_int_equal(cfg.timing.net_bytes_per_s, 176500);
    assert_int_equal(cfg.timing.sha256_bytes_per_s, 8000000);
    assert_int_equal(cfg.timing.tcp_window, 5760);
    assert_true(nor_sim_timing_for_chip("esp32s3", &cfg.timing));
    assert_int_equal(cfg.timing.sha256_bytes_per_s, 90000000);
    assert_true(nor_sim_timing_for_chip("esp32c2", &cfg.timing));
    assert_int_equal(cfg.timing.sha256_bytes_per_s, 14000000);
    assert_true(nor_sim_timing_set(&cfg.timing, "tcp_window", 0));
    assert_int_equal(cfg.timing.tcp_window, 0);
    assert_false(nor_sim_timing_set(&cfg.timing, "sector_size", 1));
}

/* The honest clock: CPU work at its rates; the network as a TCP receiver
 * whose window keeps filling while the flash works, never more than one
 * window ahead of the reader. */
static void test_honest_clock(void **state)
{
    (void)state;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 64 * KIB);
    cfg.timing.net_bytes_per_s = 1000000;   /* 1 byte per µs */
    cfg.timing.tcp_window = 4000;
    cfg.timing.request_ns = 5000;
    cfg.timing.tls_handshake_ns = 100000;
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    const nor_sim_counters_t *c = nor_sim_counters(sim);

    /* SHA-256 at 8 MB/s: 8,000 bytes = 1 ms; inflate at 10 MB/s */
    nor_sim_charge(sim, NOR_CPU_SHA256, 8000);
    assert_int_equal(c->time_ns, 1 * MS);
    nor_sim_charge(sim, NOR_CPU_INFLATE, 10000);
    assert_int_equal(c->time_ns, 2 * MS);
    assert_int_equal(c->cpu_ns, 2 * MS);

    /* a request: latency, the window empty */
    nor_sim_net_request(sim, false);
    assert_int_equal(c->time_ns, 2 * MS + 5000);
    uint64_t t = c->time_ns;
    nor_sim_net_consume(sim, 1000);           /* nothing buffered: wait 1 ms */
    assert_int_equal(c->time_ns, t + 1000000);
    /* the flash works for 10 ms: only one window (4,000 bytes) arrives */
    nor_sim_advance_ns(sim, 10 * MS);
    t = c->time_ns;
    nor_sim_net_consume(sim, 4000);           /* all in the window: free */
    assert_int_equal(c->time_ns, t);
    nor_sim_net_consume(sim, 1000);           /* the window is empty again */
    assert_int_equal(c->time_ns, t + 1000000);
    /* 2 ms of flash work: 2,000 bytes arrive; 3,000 wanted: wait 1 ms */
    nor_sim_advance_ns(sim, 2 * MS);
    t = c->time_ns;
    nor_sim_net_consume(sim, 3000);
    assert_int_equal(c->time_ns, t + 1000000);
    assert_int_equal(c->net_bytes, 9000);
    assert_int_equal(c->net_ns, 5000 + 3 * 1000000);

    /* a TLS request, then window 0: no overlap at all */
    nor_sim_net_request(sim, true);
    assert_int_equal(c->requests, 2);
    nor_sim_free(sim);
    cfg.timing.tcp_window = 0;
    sim = nor_sim_new(&cfg);
    c = nor_sim_counters(sim);
    nor_sim_advance_ns(sim, 10 * MS);
    nor_sim_net_consume(sim, 500);
    assert_int_equal(c->time_ns, 10 * MS + 500000);
    nor_sim_free(sim);
}

static void test_new_is_erased_and_bad_config_rejected(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(256 * KIB);
    assert_all(nor_sim_data(sim), 0xFF, 256 * KIB);
    assert_int_equal(nor_sim_config(sim)->size, 256 * KIB);
    assert_false(nor_sim_is_file_backed(sim));
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    assert_int_equal(c->flash_ops, 0);
    assert_int_equal(c->time_ns, 0);
    nor_sim_free(sim);

    nor_sim_config_t cfg;
    assert_null(nor_sim_new(NULL));
    nor_sim_default_config(&cfg, 0);
    assert_null(nor_sim_new(&cfg));
    nor_sim_default_config(&cfg, 256 * KIB + 100);   /* not whole sectors */
    assert_null(nor_sim_new(&cfg));
    nor_sim_default_config(&cfg, 256 * KIB);
    cfg.sector_size = 0;
    assert_null(nor_sim_new(&cfg));
    nor_sim_free(NULL);   /* allowed */
}

static void test_program_ands(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(64 * KIB);
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    uint8_t b;

    b = 0xF0;   /* over 0xFF: only clears bits, no conflict */
    assert_int_equal(nor_sim_program(sim, 10, &b, 1), ESP_OK);
    assert_int_equal(nor_sim_data(sim)[10], 0xF0);
    assert_int_equal(c->program_conflicts, 0);

    b = 0xF0;   /* the same value again: no conflict */
    assert_int_equal(nor_sim_program(sim, 10, &b, 1), ESP_OK);
    assert_int_equal(c->program_conflicts, 0);

    b = 0x0F;   /* 0x0F over 0xF0 -> 0x00, and 0x0F asks for 1s over 0s */
    assert_int_equal(nor_sim_program(sim, 10, &b, 1), ESP_OK);
    assert_int_equal(nor_sim_data(sim)[10], 0x00);
    assert_int_equal(c->program_conflicts, 1);

    b = 0xFF;   /* a 1 cannot be programmed over a 0 */
    assert_int_equal(nor_sim_program(sim, 10, &b, 1), ESP_OK);
    assert_int_equal(nor_sim_data(sim)[10], 0x00);
    assert_int_equal(c->program_conflicts, 2);

    /* Several bytes, some in conflict. */
    uint8_t w[4] = {0x00, 0xAA, 0x55, 0xFF};
    assert_int_equal(nor_sim_program(sim, 100, w, 4), ESP_OK);
    uint8_t v[4] = {0x01, 0xA0, 0x55, 0x0F};   /* conflicts: 0x01 over 0x00, 0x0F over 0xFF is fine */
    assert_int_equal(nor_sim_program(sim, 100, v, 4), ESP_OK);
    const uint8_t *d = nor_sim_data(sim) + 100;
    assert_int_equal(d[0], 0x00);
    assert_int_equal(d[1], 0xA0);
    assert_int_equal(d[2], 0x55);
    assert_int_equal(d[3], 0x0F);
    assert_int_equal(c->program_conflicts, 3);
    nor_sim_free(sim);
}

static void test_erase_sets_ff(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(256 * KIB);
    uint8_t *buf = malloc(16 * KIB);
    memset(buf, 0x00, 16 * KIB);
    assert_int_equal(nor_sim_program(sim, 0, buf, 16 * KIB), ESP_OK);
    assert_int_equal(nor_sim_erase(sim, 4096, 8192), ESP_OK);
    const uint8_t *d = nor_sim_data(sim);
    assert_all(d, 0x00, 4096);
    assert_all(d + 4096, 0xFF, 8192);
    assert_all(d + 12288, 0x00, 4096);
    /* After an erase, any value can be programmed again without conflict. */
    fill_pattern(buf, 8192, 7);
    assert_int_equal(nor_sim_program(sim, 4096, buf, 8192), ESP_OK);
    assert_memory_equal(d + 4096, buf, 8192);
    assert_int_equal(nor_sim_counters(sim)->program_conflicts, 0);
    /* A zero-length erase is valid and does nothing. */
    assert_int_equal(nor_sim_erase(sim, 0, 0), ESP_OK);
    assert_int_equal(nor_sim_counters(sim)->bytes_erased, 8192);
    free(buf);
    nor_sim_free(sim);
}

static void test_unaligned_erase_rejected(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(256 * KIB);
    uint8_t *buf = malloc(32 * KIB);
    fill_pattern(buf, 32 * KIB, 1);
    assert_int_equal(nor_sim_program(sim, 0, buf, 32 * KIB), ESP_OK);
    nor_sim_reset_counters(sim);

    assert_int_equal(nor_sim_erase(sim, 0x800, 0x1000), ESP_ERR_INVALID_ARG);   /* addr */
    assert_int_equal(nor_sim_erase(sim, 0x1000, 0x800), ESP_ERR_INVALID_ARG);   /* len */
    assert_int_equal(nor_sim_erase(sim, 0x1001, 0x1FFF), ESP_ERR_INVALID_ARG);  /* both */
    assert_int_equal(nor_sim_erase(sim, 0, 1), ESP_ERR_INVALID_ARG);

    assert_memory_equal(nor_sim_data(sim), buf, 32 * KIB);
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    assert_int_equal(c->flash_ops, 0);   /* rejected calls never reach the chip */
    assert_int_equal(c->bytes_erased, 0);
    assert_int_equal(c->time_ns, 0);
    for (uint32_t s = 0; s < 64; s++) {
        assert_int_equal(nor_sim_sector_erase_count(sim, s), 0);
    }
    free(buf);
    nor_sim_free(sim);
}

static void test_out_of_range_rejected(void **state)
{
    (void)state;
    const uint32_t size = 256 * KIB;
    nor_sim_t *sim = new_sim(size);
    uint8_t buf[8] = {0};

    assert_int_equal(nor_sim_read(sim, size - 1, buf, 2), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_read(sim, size, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_program(sim, size - 1, buf, 2), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_erase(sim, size, 4096), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_erase(sim, size - 4096, 8192), ESP_ERR_INVALID_ARG);
    /* addr + len wraps in 32 bits: must still be rejected. */
    assert_int_equal(nor_sim_read(sim, 0xFFFFFFF0u, buf, 0x20), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_program(sim, 0xFFFFFFF8u, buf, 8), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_erase(sim, 0xFFFFF000u, 0x2000), ESP_ERR_INVALID_ARG);
    /* NULL buffers. */
    assert_int_equal(nor_sim_read(sim, 0, NULL, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_program(sim, 0, NULL, 1), ESP_ERR_INVALID_ARG);

    assert_all(nor_sim_data(sim), 0xFF, size);
    assert_int_equal(nor_sim_counters(sim)->flash_ops, 0);
    assert_int_equal(nor_sim_write_ops(sim), 0);

    /* The last bytes are reachable. */
    assert_int_equal(nor_sim_read(sim, size - 8, buf, 8), ESP_OK);
    assert_int_equal(nor_sim_program(sim, size - 8, buf, 8), ESP_OK);
    assert_int_equal(nor_sim_erase(sim, size - 4096, 4096), ESP_OK);
    nor_sim_free(sim);
}

static void test_block_sector_decomposition(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(1 * MIB);
    const nor_sim_counters_t *c = nor_sim_counters(sim);

    /* [0x1000, 0x21000): sectors 0x1000..0xF000 (15), block 0x10000, sector 0x20000. */
    assert_int_equal(nor_sim_erase(sim, 0x1000, 0x20000), ESP_OK);
    assert_int_equal(c->sector_erases, 16);
    assert_int_equal(c->block_erases, 1);
    assert_int_equal(c->bytes_erased, 0x20000);
    assert_int_equal(c->erase_ops, 1);
    assert_int_equal(c->flash_ops, 1);
    assert_int_equal(c->time_ns, 16 * 37 * MS + 46 * MS);
    assert_int_equal(nor_sim_sector_erase_count(sim, 0), 0);
    for (uint32_t s = 1; s <= 0x20; s++) {
        assert_int_equal(nor_sim_sector_erase_count(sim, s), 1);
    }
    assert_int_equal(nor_sim_sector_erase_count(sim, 0x21), 0);

    /* A block-aligned run of whole blocks: block erases only. */
    nor_sim_reset_counters(sim);
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x30000), ESP_OK);
    assert_int_equal(c->sector_erases, 0);
    assert_int_equal(c->block_erases, 3);
    assert_int_equal(c->time_ns, 3 * 46 * MS);

    /* 0xF000 from 0: no whole block inside, 15 sector erases (the bootloader
     * erase of the download log). */
    nor_sim_reset_counters(sim);
    assert_int_equal(nor_sim_erase(sim, 0, 0xF000), ESP_OK);
    assert_int_equal(c->sector_erases, 15);
    assert_int_equal(c->block_erases, 0);
    assert_int_equal(c->time_ns, 15 * 37 * MS);

    /* Aligned start but shorter than a block: sectors. */
    nor_sim_reset_counters(sim);
    assert_int_equal(nor_sim_erase(sim, 0x40000, 0x18000), ESP_OK);
    assert_int_equal(c->block_erases, 1);
    assert_int_equal(c->sector_erases, 8);

    /* The whole chip: 16 blocks. */
    nor_sim_reset_counters(sim);
    assert_int_equal(nor_sim_erase(sim, 0, 1 * MIB), ESP_OK);
    assert_int_equal(c->block_erases, 16);
    assert_int_equal(c->sector_erases, 0);
    assert_int_equal(c->bytes_erased, 1 * MIB);
    nor_sim_free(sim);
}

static void test_no_block_size_means_sectors_only(void **state)
{
    (void)state;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 256 * KIB);
    cfg.block_size = 0;
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    assert_int_equal(nor_sim_erase(sim, 0, 128 * KIB), ESP_OK);
    assert_int_equal(nor_sim_counters(sim)->sector_erases, 32);
    assert_int_equal(nor_sim_counters(sim)->block_erases, 0);
    nor_sim_free(sim);
}

static void test_counters(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(256 * KIB);
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    uint8_t buf[1000];
    fill_pattern(buf, sizeof buf, 3);

    assert_int_equal(nor_sim_read(sim, 5, buf, 1000), ESP_OK);
    assert_all(buf, 0xFF, 1000);
    fill_pattern(buf, sizeof buf, 3);
    /* 300 bytes at 0x1F0 cross two page boundaries: 16 + 256 + 28 -> 3 pages. */
    assert_int_equal(nor_sim_program(sim, 0x1F0, buf, 300), ESP_OK);
    /* One whole page of 0xFF: a blank page program. */
    uint8_t ff[256];
    memset(ff, 0xFF, sizeof ff);
    assert_int_equal(nor_sim_program(sim, 0x1000, ff, 256), ESP_OK);
    /* A zero-length program is a call but no page. */
    assert_int_equal(nor_sim_program(sim, 0x2000, buf, 0), ESP_OK);
    assert_int_equal(nor_sim_erase(sim, 0x3000, 0x1000), ESP_OK);
    assert_int_equal(nor_sim_read(sim, 0x1F0, buf, 300), ESP_OK);

    assert_int_equal(c->bytes_read, 1300);
    assert_int_equal(c->bytes_programmed, 556);
    assert_int_equal(c->bytes_erased, 4096);
    assert_int_equal(c->read_ops, 2);
    assert_int_equal(c->program_ops, 3);
    assert_int_equal(c->erase_ops, 1);
    assert_int_equal(c->page_programs, 4);
    assert_int_equal(c->blank_page_programs, 1);
    assert_int_equal(c->sector_erases, 1);
    assert_int_equal(c->block_erases, 0);
    assert_int_equal(c->program_conflicts, 0);
    assert_int_equal(c->flash_ops, 6);
    assert_int_equal(nor_sim_write_ops(sim), 4);

    nor_sim_reset_counters(sim);
    assert_int_equal(c->flash_ops, 0);
    assert_int_equal(c->bytes_read, 0);
    assert_int_equal(c->time_ns, 0);
    assert_int_equal(nor_sim_write_ops(sim), 0);
    assert_int_equal(nor_sim_sector_erase_count(sim, 3), 1);   /* wear kept */
    nor_sim_free(sim);
}

static void test_timing_exact(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(2 * MIB);
    const nor_sim_counters_t *c = nor_sim_counters(sim);
    uint8_t *buf = malloc(MIB);
    uint64_t expect = 0;

    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);            /* 1 sector */
    expect += 37 * MS;
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x20000), ESP_OK);     /* 2 blocks */
    expect += 2 * 46 * MS;
    memset(buf, 0xFF, 1024);
    buf[0] = 0x12;      /* page 0 data */
    buf[700] = 0x00;    /* page 2 data; pages 1 and 3 blank */
    assert_int_equal(nor_sim_program(sim, 0x10000, buf, 1024), ESP_OK);
    expect += 2 * 880000 + 2 * 540000;
    /* A partial page with one data byte costs a whole page program. */
    assert_int_equal(nor_sim_program(sim, 0x10400, buf, 1), ESP_OK);
    expect += 880000;
    assert_int_equal(c->time_ns, expect);

    /* Reads: 1 MiB at 20 MB/s = 52,428,800 ns exactly. */
    assert_int_equal(nor_sim_read(sim, 0, buf, MIB), ESP_OK);
    expect += 52428800;
    assert_int_equal(c->time_ns, expect);
    /* 1 byte = 50 ns. */
    assert_int_equal(nor_sim_read(sim, 0, buf, 1), ESP_OK);
    expect += 50;
    assert_int_equal(c->time_ns, expect);

    nor_sim_advance_ns(sim, 12345);
    expect += 12345;
    nor_sim_advance_net(sim, 176500);   /* one second of network at the default rate */
    expect += 1000000000ull;
    assert_int_equal(c->time_ns, expect);
    free(buf);
    nor_sim_free(sim);

    /* Fractions carry: at 3 MB/s a byte is 333.3 ns; three one-byte reads
     * add up to exactly 1000 ns, 3000 of them to exactly 1 ms. */
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 64 * KIB);
    cfg.timing.read_bytes_per_s = 3000000;
    cfg.timing.net_bytes_per_s = 3;
    sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    c = nor_sim_counters(sim);
    uint8_t b;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nor_sim_read(sim, 0, &b, 1), ESP_OK);
    }
    assert_int_equal(c->time_ns, 1000);
    for (int i = 0; i < 2997; i++) {
        assert_int_equal(nor_sim_read(sim, 0, &b, 1), ESP_OK);
    }
    assert_int_equal(c->time_ns, 1 * MS);
    nor_sim_advance_net(sim, 1);
    nor_sim_advance_net(sim, 1);
    nor_sim_advance_net(sim, 1);
    assert_int_equal(c->time_ns, 1 * MS + 1000000000ull);
    nor_sim_free(sim);
}

static void test_wear(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(256 * KIB);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nor_sim_erase(sim, 3 * 4096, 4096), ESP_OK);
    }
    assert_int_equal(nor_sim_erase(sim, 0, 64 * KIB), ESP_OK);       /* block: sectors 0..15 */
    assert_int_equal(nor_sim_erase(sim, 15 * 4096, 2 * 4096), ESP_OK); /* sectors 15, 16 */
    assert_int_equal(nor_sim_sector_erase_count(sim, 3), 4);
    assert_int_equal(nor_sim_sector_erase_count(sim, 0), 1);
    assert_int_equal(nor_sim_sector_erase_count(sim, 14), 1);
    assert_int_equal(nor_sim_sector_erase_count(sim, 15), 2);
    assert_int_equal(nor_sim_sector_erase_count(sim, 16), 1);
    assert_int_equal(nor_sim_sector_erase_count(sim, 17), 0);
    assert_int_equal(nor_sim_sector_erase_count(sim, 1000), 0);   /* outside: 0 */
    nor_sim_free(sim);
}

static void test_file_backed(void **state)
{
    (void)state;
    const char *dir = tl_tmpdir();
    char path[512], other[512], saved[512];
    snprintf(path, sizeof path, "%s/dev.img", dir);
    snprintf(other, sizeof other, "%s/missing.img", dir);
    snprintf(saved, sizeof saved, "%s/saved.img", dir);
    const uint32_t size = 256 * KIB;
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, size);

    nor_sim_t *sim = nor_sim_open_file(path, &cfg, true);
    assert_non_null(sim);
    assert_true(nor_sim_is_file_backed(sim));
    assert_all(nor_sim_data(sim), 0xFF, size);
    uint8_t *pat = malloc(8 * KIB);
    fill_pattern(pat, 8 * KIB, 9);
    assert_int_equal(nor_sim_program(sim, 0x2000, pat, 8 * KIB), ESP_OK);

    /* MAP_SHARED: the file shows the content while the device is open. */
    size_t flen = 0;
    uint8_t *file = tl_read_file(path, &flen);
    assert_non_null(file);
    assert_int_equal(flen, size);
    assert_memory_equal(file + 0x2000, pat, 8 * KIB);
    free(file);

    /* nor_sim_save to a new file, and onto its own file (must not wipe it). */
    assert_int_equal(nor_sim_save(sim, saved), ESP_OK);
    assert_int_equal(nor_sim_save(sim, path), ESP_OK);
    nor_sim_free(sim);

    file = tl_read_file(path, &flen);
    assert_non_null(file);
    assert_int_equal(flen, size);
    assert_all(file, 0xFF, 0x2000);
    assert_memory_equal(file + 0x2000, pat, 8 * KIB);
    assert_all(file + 0x4000, 0xFF, size - 0x4000);
    uint8_t *copy = tl_read_file(saved, &flen);
    assert_non_null(copy);
    assert_int_equal(flen, size);
    assert_memory_equal(copy, file, size);
    free(copy);

    /* Reopen: content kept; further writes land in the file. */
    sim = nor_sim_open_file(path, &cfg, false);
    assert_non_null(sim);
    assert_memory_equal(nor_sim_data(sim), file, size);
    assert_int_equal(nor_sim_erase(sim, 0x2000, 0x1000), ESP_OK);
    nor_sim_free(sim);
    free(file);
    file = tl_read_file(path, &flen);
    assert_all(file + 0x2000, 0xFF, 0x1000);
    assert_memory_equal(file + 0x3000, pat + 0x1000, 0x1000);
    free(file);

    /* Missing file, wrong size. */
    assert_null(nor_sim_open_file(other, &cfg, false));
    nor_sim_config_t big = cfg;
    big.size = 2 * size;
    assert_null(nor_sim_open_file(path, &big, false));

    /* create=true truncates an existing file to a fresh erased chip. */
    sim = nor_sim_open_file(path, &cfg, true);
    assert_non_null(sim);
    assert_all(nor_sim_data(sim), 0xFF, size);
    nor_sim_free(sim);

    free(pat);
    unlink(path);
    unlink(saved);
    rmdir(dir);
}

static void test_clone_independent(void **state)
{
    (void)state;
    nor_sim_t *a = new_sim(256 * KIB);
    uint8_t pat[512];
    fill_pattern(pat, sizeof pat, 5);
    assert_int_equal(nor_sim_program(a, 0, pat, sizeof pat), ESP_OK);
    assert_int_equal(nor_sim_erase(a, 0x4000, 0x1000), ESP_OK);
    nor_sim_arm_cut(a, NOR_CUT_BEFORE, 1, 0);

    nor_sim_t *b = nor_sim_clone(a);
    assert_non_null(b);
    assert_false(nor_sim_is_file_backed(b));
    assert_memory_equal(nor_sim_data(a), nor_sim_data(b), 256 * KIB);
    assert_memory_equal(nor_sim_counters(a), nor_sim_counters(b), sizeof(nor_sim_counters_t));
    assert_memory_equal(nor_sim_config(a), nor_sim_config(b), sizeof(nor_sim_config_t));
    assert_int_equal(nor_sim_sector_erase_count(b, 4), 1);

    /* The clone has no cut armed: it writes; the original still has its cut. */
    uint8_t z[16] = {0};
    assert_int_equal(nor_sim_program(b, 0x1000, z, sizeof z), ESP_OK);
    assert_int_equal(nor_sim_erase(b, 0x4000, 0x1000), ESP_OK);
    assert_int_equal(nor_sim_program(a, 0x1000, z, sizeof z), ESP_ERR_FLASH_OP_FAIL);
    assert_true(nor_sim_cut_happened(a));
    assert_false(nor_sim_cut_happened(b));

    /* Independence both ways. */
    assert_all(nor_sim_data(a) + 0x1000, 0xFF, 16);
    assert_all(nor_sim_data(b) + 0x1000, 0x00, 16);
    assert_int_equal(nor_sim_sector_erase_count(a, 4), 1);
    assert_int_equal(nor_sim_sector_erase_count(b, 4), 2);
    nor_sim_power_restore(a);
    assert_int_equal(nor_sim_erase(a, 0, 0x1000), ESP_OK);
    assert_all(nor_sim_data(a), 0xFF, 512);
    assert_memory_equal(nor_sim_data(b), pat, sizeof pat);
    nor_sim_free(a);
    nor_sim_free(b);

    /* A clone of a file-backed device lives in memory. */
    const char *dir = tl_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/dev.img", dir);
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 64 * KIB);
    a = nor_sim_open_file(path, &cfg, true);
    assert_non_null(a);
    b = nor_sim_clone(a);
    assert_non_null(b);
    assert_false(nor_sim_is_file_backed(b));
    assert_int_equal(nor_sim_program(b, 0, z, sizeof z), ESP_OK);
    assert_all(nor_sim_data(a), 0xFF, 16);
    nor_sim_free(b);
    nor_sim_free(a);
    size_t flen;
    uint8_t *file = tl_read_file(path, &flen);
    assert_non_null(file);
    assert_all(file, 0xFF, flen);
    free(file);
    unlink(path);
    rmdir(dir);
}

/* After a cut: every write fails and changes nothing, reads work. */
static void assert_dead(nor_sim_t *sim)
{
    const uint32_t size = nor_sim_config(sim)->size;
    uint8_t *before = malloc(size);
    memcpy(before, nor_sim_data(sim), size);
    uint8_t z[64] = {0};
    assert_int_equal(nor_sim_program(sim, 0x8000, z, sizeof z), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(nor_sim_erase(sim, 0, 0x10000), ESP_ERR_FLASH_OP_FAIL);
    assert_memory_equal(nor_sim_data(sim), before, size);
    uint8_t r[64];
    assert_int_equal(nor_sim_read(sim, 0, r, sizeof r), ESP_OK);
    assert_memory_equal(r, before, sizeof r);
    assert_true(nor_sim_cut_happened(sim));
    free(before);
}

static void test_cut_before_program(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(64 * KIB);
    uint8_t z[100];
    memset(z, 0, sizeof z);
    /* Operations before arming do not count. */
    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);
    assert_int_equal(nor_sim_program(sim, 0x3000, z, 1), ESP_OK);

    nor_sim_arm_cut(sim, NOR_CUT_BEFORE, 2, 0);
    assert_false(nor_sim_cut_happened(sim));
    uint8_t r[4];
    assert_int_equal(nor_sim_read(sim, 0, r, 4), ESP_OK);                  /* not a cut point */
    assert_int_equal(nor_sim_erase(sim, 0x800, 0x1000), ESP_ERR_INVALID_ARG); /* not a cut point */
    assert_int_equal(nor_sim_program(sim, 0, z, 10), ESP_OK);              /* op 1 */
    uint64_t t = nor_sim_counters(sim)->time_ns;
    assert_int_equal(nor_sim_program(sim, 0x100, z, 100), ESP_ERR_FLASH_OP_FAIL);  /* op 2: cut */
    assert_true(nor_sim_cut_happened(sim));
    assert_all(nor_sim_data(sim) + 0x100, 0xFF, 100);
    assert_int_equal(nor_sim_counters(sim)->time_ns, t);
    assert_dead(sim);

    nor_sim_power_restore(sim);
    assert_false(nor_sim_cut_happened(sim));
    assert_int_equal(nor_sim_program(sim, 0x100, z, 100), ESP_OK);
    assert_all(nor_sim_data(sim) + 0x100, 0x00, 100);
    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);
    nor_sim_free(sim);
}

static void test_cut_before_erase(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(128 * KIB);
    uint8_t *z = calloc(1, 0x10000);
    assert_int_equal(nor_sim_program(sim, 0x10000, z, 0x10000), ESP_OK);

    nor_sim_arm_cut(sim, NOR_CUT_BEFORE, 1, 0);
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x10000), ESP_ERR_FLASH_OP_FAIL);
    assert_all(nor_sim_data(sim) + 0x10000, 0x00, 0x10000);
    assert_int_equal(nor_sim_counters(sim)->block_erases, 0);
    assert_int_equal(nor_sim_counters(sim)->bytes_erased, 0);
    assert_int_equal(nor_sim_sector_erase_count(sim, 16), 0);
    assert_dead(sim);

    nor_sim_power_restore(sim);
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x10000), ESP_OK);
    assert_all(nor_sim_data(sim) + 0x10000, 0xFF, 0x10000);
    free(z);
    nor_sim_free(sim);
}

/* Run a program of `len` zero bytes over erased flash with a MIDDLE cut;
 * return how many bytes landed (they must form a prefix). */
static uint32_t middle_program_prefix(uint32_t len, uint32_t seed)
{
    nor_sim_t *sim = new_sim(64 * KIB);
    uint8_t *z = calloc(1, len + 1);
    nor_sim_arm_cut(sim, NOR_CUT_MIDDLE, 1, seed);
    assert_int_equal(nor_sim_program(sim, 0x80, z, len), ESP_ERR_FLASH_OP_FAIL);
    const uint8_t *d = nor_sim_data(sim);
    uint32_t n = 0;
    while (n < len && d[0x80 + n] == 0x00) {
        n++;
    }
    assert_true(n < len || len == 0);
    assert_all(d + 0x80 + n, 0xFF, 64 * KIB - 0x80 - n);   /* nothing after the prefix */
    assert_all(d, 0xFF, 0x80);
    assert_int_equal(nor_sim_counters(sim)->bytes_programmed, n);
    assert_dead(sim);
    free(z);
    nor_sim_free(sim);
    return n;
}

static void test_cut_middle_program(void **state)
{
    (void)state;
    /* Deterministic for a seed, strictly shorter than the program, and
     * varied across seeds. */
    uint32_t lens[64];
    bool varied = false;
    for (uint32_t seed = 0; seed < 64; seed++) {
        lens[seed] = middle_program_prefix(4000, seed);
        assert_int_equal(middle_program_prefix(4000, seed), lens[seed]);
        if (lens[seed] != lens[0]) {
            varied = true;
        }
    }
    assert_true(varied);
    assert_int_equal(middle_program_prefix(1, 1234), 0);   /* 1 byte: nothing lands */
    assert_int_equal(middle_program_prefix(0, 99), 0);

    /* The cut op counts from arming; earlier ops are done in full. */
    nor_sim_t *sim = new_sim(64 * KIB);
    uint8_t z[300] = {0};
    nor_sim_arm_cut(sim, NOR_CUT_MIDDLE, 3, 7);
    assert_int_equal(nor_sim_program(sim, 0, z, 10), ESP_OK);
    assert_int_equal(nor_sim_erase(sim, 0x1000, 0x1000), ESP_OK);
    assert_false(nor_sim_cut_happened(sim));
    assert_int_equal(nor_sim_program(sim, 0x2000, z, 300), ESP_ERR_FLASH_OP_FAIL);
    assert_true(nor_sim_cut_happened(sim));
    assert_int_not_equal(nor_sim_data(sim)[0x2000 + 299], 0x00);   /* last byte never lands */
    assert_dead(sim);
    nor_sim_power_restore(sim);
    assert_int_equal(nor_sim_program(sim, 0x2000, z, 300), ESP_OK);
    assert_all(nor_sim_data(sim) + 0x2000, 0x00, 300);
    nor_sim_free(sim);
}

static void test_cut_middle_erase(void **state)
{
    (void)state;
    uint8_t first[2][4096];
    for (int run = 0; run < 2; run++) {
        nor_sim_t *sim = new_sim(128 * KIB);
        uint8_t *z = calloc(1, 0x3000);
        assert_int_equal(nor_sim_program(sim, 0x5000, z, 0x3000), ESP_OK);
        nor_sim_arm_cut(sim, NOR_CUT_MIDDLE, 1, 42);
        assert_int_equal(nor_sim_erase(sim, 0x5000, 0x3000), ESP_ERR_FLASH_OP_FAIL);
        const uint8_t *d = nor_sim_data(sim);
        /* The rest of the range and everything around it are untouched. */
        assert_all(d + 0x6000, 0x00, 0x2000);
        assert_all(d, 0xFF, 0x5000);
        assert_all(d + 0x8000, 0xFF, 128 * KIB - 0x8000);
        /* The first sector holds arbitrary bytes: neither the old zeros nor
         * a clean erase. */
        bool all_zero = true, all_ff = true;
        for (int i = 0; i < 4096; i++) {
            all_zero = all_zero && d[0x5000 + i] == 0x00;
            all_ff = all_ff && d[0x5000 + i] == 0xFF;
        }
        assert_false(all_zero);
        assert_false(all_ff);
        memcpy(first[run], d + 0x5000, 4096);
        assert_int_equal(nor_sim_counters(sim)->bytes_erased, 0);
        assert_dead(sim);
        nor_sim_power_restore(sim);
        assert_int_equal(nor_sim_erase(sim, 0x5000, 0x3000), ESP_OK);
        assert_all(nor_sim_data(sim) + 0x5000, 0xFF, 0x3000);
        free(z);
        nor_sim_free(sim);
    }
    assert_memory_equal(first[0], first[1], 4096);   /* same seed, same garbage */

    /* An erase that starts with a block: the chip erases a block in one
     * operation, so a cut may leave any of its sectors undefined: the whole
     * first block holds arbitrary bytes (every sector of it neither the old
     * zeros nor erased); the next block of the range is untouched. */
    nor_sim_t *sim = new_sim(256 * KIB);
    uint8_t *z = calloc(1, 0x20000);
    assert_int_equal(nor_sim_program(sim, 0x10000, z, 0x20000), ESP_OK);
    nor_sim_arm_cut(sim, NOR_CUT_MIDDLE, 1, 1);
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x20000), ESP_ERR_FLASH_OP_FAIL);
    const uint8_t *d = nor_sim_data(sim);
    for (uint32_t sec = 0x10000; sec < 0x20000; sec += 0x1000) {
        bool all_zero = true, all_ff = true;
        for (uint32_t i = 0; i < 0x1000; i++) {
            all_zero = all_zero && d[sec + i] == 0x00;
            all_ff = all_ff && d[sec + i] == 0xFF;
        }
        assert_false(all_zero);
        assert_false(all_ff);
    }
    assert_all(d + 0x20000, 0x00, 0x10000);
    assert_int_equal(nor_sim_counters(sim)->block_erases, 0);
    free(z);
    nor_sim_free(sim);
}

typedef struct {
    int calls;
    uint64_t op;
    nor_sim_t *sim;
} hook_log_t;

static void record_hook(void *arg, nor_sim_t *sim, uint64_t op)
{
    hook_log_t *h = arg;
    h->calls++;
    h->op = op;
    h->sim = sim;
}

static void test_cut_hook_and_rearm(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(64 * KIB);
    hook_log_t h = {0};
    nor_sim_set_cut_hook(sim, record_hook, &h);
    uint8_t z[8] = {0};

    nor_sim_arm_cut(sim, NOR_CUT_BEFORE, 2, 0);
    assert_int_equal(nor_sim_program(sim, 0, z, 8), ESP_OK);
    assert_int_equal(h.calls, 0);
    assert_int_equal(nor_sim_program(sim, 8, z, 8), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.op, 2);
    assert_ptr_equal(h.sim, sim);
    assert_int_equal(nor_sim_program(sim, 8, z, 8), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(h.calls, 1);   /* once per cut */
    /* Calls that fail after the cut still count as operations. */
    assert_int_equal(nor_sim_write_ops(sim), 3);

    /* Re-arming restores the power first and counts from the new arming. */
    nor_sim_arm_cut(sim, NOR_CUT_MIDDLE, 1, 3);
    assert_false(nor_sim_cut_happened(sim));
    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(h.calls, 2);
    assert_int_equal(h.op, 1);

    /* NOR_CUT_NONE / op 0 disarm. */
    nor_sim_arm_cut(sim, NOR_CUT_BEFORE, 0, 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);
    }
    nor_sim_arm_cut(sim, NOR_CUT_NONE, 1, 0);
    assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);
    assert_int_equal(h.calls, 2);
    nor_sim_free(sim);
}

static void test_flash_port(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim(4 * MIB);
    rf_flash_t f;
    nor_sim_flash_port(sim, &f);
    assert_ptr_equal(f.ctx, sim);
    assert_int_equal(f.size, 4 * MIB);
    assert_int_equal(f.sector_size, 4096);
    assert_int_equal(f.block_size, 65536);
    assert_int_equal(f.page_size, 256);
    assert_int_equal(f.sector_erase_us, 37000);
    assert_int_equal(f.block_erase_us, 46000);
    assert_int_equal(f.page_program_us, 880);

    uint8_t w[32], r[32];
    fill_pattern(w, sizeof w, 11);
    assert_int_equal(rf_flash_program(&f, 0x1234, w, sizeof w), ESP_OK);
    assert_int_equal(rf_flash_read(&f, 0x1234, r, sizeof r), ESP_OK);
    assert_memory_equal(r, w, sizeof w);
    assert_int_equal(rf_flash_erase(&f, 0x1000, 0x1000), ESP_OK);
    assert_int_equal(rf_flash_read(&f, 0x1234, r, sizeof r), ESP_OK);
    assert_all(r, 0xFF, sizeof r);
    assert_int_equal(rf_flash_erase(&f, 0x1001, 0x1000), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_counters(sim)->flash_ops, 4);
    nor_sim_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_new_is_erased_and_bad_config_rejected),
        cmocka_unit_test(test_program_ands),
        cmocka_unit_test(test_erase_sets_ff),
        cmocka_unit_test(test_unaligned_erase_rejected),
        cmocka_unit_test(test_out_of_range_rejected),
        cmocka_unit_test(test_block_sector_decomposition),
        cmocka_unit_test(test_no_block_size_means_sectors_only),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_timing_exact),
        cmocka_unit_test(test_wear),
        cmocka_unit_test(test_file_backed),
        cmocka_unit_test(test_clone_independent),
        cmocka_unit_test(test_cut_before_program),
        cmocka_unit_test(test_cut_before_erase),
        cmocka_unit_test(test_cut_middle_program),
        cmocka_unit_test(test_cut_middle_erase),
        cmocka_unit_test(test_cut_hook_and_rearm),
        cmocka_unit_test(test_flash_port),
        cmocka_unit_test(test_honest_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
