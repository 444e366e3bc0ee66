/*
 * The write engine (core/src/rf_write.c) on the NOR simulator: least flash
 * work (skip, program-only, sector vs block erase), read-back, memmove
 * semantics for overlapping copies, the streaming writer and its rollback.
 */
#include <stdlib.h>
#include <string.h>
#include "nor_sim.h"
#include "rf_write.h"
#include "testlib.h"

#define SZ (1u << 20)
#define S 4096u

typedef struct {
    nor_sim_t *sim;
    rf_flash_t flash;
    uint8_t work[RF_WRITE_WORK_LEN(S)];   /* exactly what the engine asks for: a sector and a chunk */
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, SZ);
    fx->sim = nor_sim_new(&cfg);
    nor_sim_flash_port(fx->sim, &fx->flash);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    nor_sim_free(fx->sim);
    free(fx);
    return 0;
}

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

typedef struct {
    const uint8_t *data;
} buf_reader_t;

static esp_err_t buf_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    memcpy(buf, ((buf_reader_t *)arg)->data + off, len);
    return ESP_OK;
}

typedef struct {
    const uint8_t *data;
    uint64_t bytes;
} counting_reader_t;

static esp_err_t counting_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    counting_reader_t *r = arg;
    memcpy(buf, r->data + off, len);
    r->bytes += len;
    return ESP_OK;
}

static esp_err_t write_buf(fx_t *fx, uint32_t dst, uint32_t dst_size, const uint8_t *img, uint32_t len,
                           rf_write_stats_t *st)
{
    buf_reader_t r = { img };
    rf_region_write_t w = { .flash = &fx->flash, .dst = dst, .dst_size = dst_size, .len = len, .read = buf_read,
                            .read_arg = &r, .work = fx->work, .work_len = sizeof fx->work };
    return rf_region_write(&w, st);
}

/* Region holds image then 0xFF; blank destination needs no erase at all. */
static void test_blank_destination_is_program_only(void **state)
{
    fx_t *fx = *state;
    uint8_t *img = malloc(100000);
    fill_random(img, 100000, 1);
    memset(img + 8192, 0xFF, 8192); /* two blank sectors inside the image */
    rf_write_stats_t st;
    assert_int_equal(write_buf(fx, 0x20000, 0x40000, img, 100000, &st), ESP_OK);
    const uint8_t *d = nor_sim_data(fx->sim);
    assert_memory_equal(d + 0x20000, img, 100000);
    for (uint32_t i = 0x20000 + 100000; i < 0x60000; i++) {
        assert_int_equal(d[i], 0xFF);
    }
    const nor_sim_counters_t *c = nor_sim_counters(fx->sim);
    assert_int_equal(c->sector_erases + c->block_erases, 0);
    assert_int_equal(st.sectors_erased + st.blocks_erased, 0);
    /* 100000 bytes = 391 pages, minus the 32 blank ones inside */
    assert_int_equal(st.pages_programmed, 391 - 32);
    assert_int_equal(c->page_programs, 391 - 32);
    free(img);
}

/* Writing the same thing twice costs no erase and no program the second time. */
static void test_rewrite_same_is_free(void **state)
{
    fx_t *fx = *state;
    uint8_t *img = malloc(70000);
    fill_random(img, 70000, 2);
    rf_write_stats_t st;
    assert_int_equal(write_buf(fx, 0x10000, 0x20000, img, 70000, &st), ESP_OK);
    nor_sim_reset_counters(fx->sim);
    assert_int_equal(write_buf(fx, 0x10000, 0x20000, img, 70000, &st), ESP_OK);
    const nor_sim_counters_t *c = nor_sim_counters(fx->sim);
    assert_int_equal(c->bytes_programmed, 0);
    assert_int_equal(c->bytes_erased, 0);
    assert_int_equal(st.sectors_same, 0x20000 / S);
    free(img);
}

/* A mostly-full block of old data: one block erase beats 16 sector erases;
 * a single changed sector: one sector erase, everything else kept. */
static void test_block_vs_sector_erase(void **state)
{
    fx_t *fx = *state;
    uint8_t *old = malloc(0x10000), *img = malloc(0x10000);
    fill_random(old, 0x10000, 3);
    fill_random(img, 0x10000, 4);
    memcpy(nor_sim_data(fx->sim) + 0x30000, old, 0x10000);
    rf_write_stats_t st;
    assert_int_equal(write_buf(fx, 0x30000, 0x10000, img, 0x10000, &st), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x30000, img, 0x10000);
    assert_int_equal(st.blocks_erased, 1);
    assert_int_equal(st.sectors_erased, 0);
    assert_int_equal(nor_sim_counters(fx->sim)->block_erases, 1);

    nor_sim_reset_counters(fx->sim);
    /* Turn one programmed byte of sector 5 back to 0xFF: only an erase of
     * that sector can do it. */
    uint32_t i = 5 * S;
    while (img[i] == 0xFF) {
        i++;
    }
    img[i] = 0xFF;
    assert_int_equal(write_buf(fx, 0x30000, 0x10000, img, 0x10000, &st), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x30000, img, 0x10000);
    assert_int_equal(st.blocks_erased, 0);
    assert_int_equal(st.sectors_erased, 1);
    assert_int_equal(st.sectors_same, 15);
    assert_int_equal(nor_sim_counters(fx->sim)->sector_erases, 1);
    assert_int_equal(nor_sim_sector_erase_count(fx->sim, 0x30000 / S + 5), 2);
    assert_int_equal(nor_sim_sector_erase_count(fx->sim, 0x30000 / S + 4), 1);
    free(old);
    free(img);
}

/* Only clearing bits: programmed in place, no erase. */
static void test_program_only_when_bits_clear(void **state)
{
    fx_t *fx = *state;
    uint8_t img[S];
    memset(nor_sim_data(fx->sim) + 0x5000, 0xF0, S);
    memset(img, 0xF0, S);
    img[300] = 0x10;
    rf_write_stats_t st;
    assert_int_equal(write_buf(fx, 0x5000, S, img, S, &st), ESP_OK);
    assert_int_equal(st.sectors_program_only, 1);
    assert_int_equal(st.pages_programmed, 1);
    assert_int_equal(nor_sim_counters(fx->sim)->bytes_erased, 0);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x5000, img, S);
}

/* The current content is read in chunks of RF_WRITE_CHUNK: a work area one
 * byte short is refused before any flash operation; on a part with 32-byte
 * pages (128 a sector: compared in granules of 64 bytes) a program-only
 * change still programs only the granule that differs, and the result is
 * the image. */
static void test_one_sector_and_a_chunk(void **state)
{
    fx_t *fx = *state;
    uint8_t img[S];
    rf_write_stats_t st;
    memset(img, 0x5A, S);
    buf_reader_t r = { img };
    rf_region_write_t w = { .flash = &fx->flash, .dst = 0x6000, .dst_size = S, .len = S, .read = buf_read,
                            .read_arg = &r, .work = fx->work, .work_len = RF_WRITE_WORK_LEN(S) - 1 };
    assert_int_equal(rf_region_write(&w, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_counters(fx->sim)->flash_ops, 0);

    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, SZ);
    cfg.page_size = 32;
    nor_sim_t *sim = nor_sim_new(&cfg);
    rf_flash_t f;
    nor_sim_flash_port(sim, &f);
    memset(nor_sim_data(sim) + 0x5000, 0xF0, S);
    memset(img, 0xF0, S);
    img[1000] = 0x10;   /* granule 15 (bytes 960..1023) */
    w.flash = &f;
    w.dst = 0x5000;
    w.work_len = RF_WRITE_WORK_LEN(S);
    assert_int_equal(rf_region_write(&w, &st), ESP_OK);
    assert_int_equal(st.sectors_program_only, 1);
    assert_int_equal(st.pages_programmed, 2);   /* the granule's two pages */
    assert_int_equal(nor_sim_counters(sim)->bytes_erased, 0);
    assert_memory_equal(nor_sim_data(sim) + 0x5000, img, S);
    /* a change that needs an erase: the sector is erased and rewritten */
    img[2000] = 0xFF;
    assert_int_equal(rf_region_write(&w, &st), ESP_OK);
    assert_int_equal(st.sectors_erased, 1);
    assert_memory_equal(nor_sim_data(sim) + 0x5000, img, S);
    nor_sim_free(sim);
}

/* Overlapping copies inside one flash, both directions, offsets smaller and
 * larger than a sector and a block: the result equals memmove. */
static void check_overlap(fx_t *fx, uint32_t src, uint32_t dst, uint32_t len, uint32_t dst_size)
{
    uint8_t *d = nor_sim_data(fx->sim);
    memset(d, 0xFF, SZ);
    uint8_t *img = malloc(len);
    fill_random(img, len, src ^ dst);
    memcpy(d + src, img, len);
    rf_flash_reader_t rd = { &fx->flash, src };
    rf_region_write_t w = { .flash = &fx->flash, .dst = dst, .dst_size = dst_size, .len = len,
                            .read = rf_flash_reader_read, .read_arg = &rd, .src_addr = src, .src_in_flash = 1,
                            .work = fx->work, .work_len = sizeof fx->work };
    rf_write_stats_t st;
    assert_int_equal(rf_region_write(&w, &st), ESP_OK);
    assert_memory_equal(d + dst, img, len);
    for (uint32_t i = dst + len; i < dst + dst_size; i++) {
        assert_int_equal(d[i], 0xFF);
    }
    free(img);
}

static void test_memmove_overlaps(void **state)
{
    fx_t *fx = *state;
    check_overlap(fx, 0x1800, 0x1000, 0x30000, 0x31000);    /* dst below src by half a sector */
    check_overlap(fx, 0x14294, 0x1000, 0x40000, 0x41000);   /* the reference's embedded layout, scaled */
    check_overlap(fx, 0x1000, 0x3000, 0x30000, 0x30000);    /* dst above src by two sectors */
    check_overlap(fx, 0x10800, 0x20000, 0x40000, 0x40000);  /* dst above src, block-aligned dst */
    check_overlap(fx, 0x20000, 0x20000, 0x8000, 0x8000);    /* in place */
}

static void test_rejects_bad_arguments(void **state)
{
    fx_t *fx = *state;
    uint8_t img[16] = { 0 };
    rf_write_stats_t st;
    assert_int_equal(write_buf(fx, 0x1001, S, img, 16, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(write_buf(fx, 0x1000, 8, img, 16, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(write_buf(fx, SZ - S, 2 * S, img, 16, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(nor_sim_counters(fx->sim)->flash_ops, 0);
}

/* The streaming writer: stage a stream over old data, then roll back. */
static void test_stream_and_rollback(void **state)
{
    fx_t *fx = *state;
    uint8_t *d = nor_sim_data(fx->sim);
    uint8_t *img = malloc(150000);
    fill_random(img, 150000, 9);
    fill_random(d + 0x40000, 0x30000, 10); /* old content in the staging area */
    rf_stream_t s;
    assert_int_equal(rf_stream_init(&s, &fx->flash, 0x40000, 0x40000, 0, 150000, fx->work, sizeof fx->work, NULL),
                     ESP_OK);
    for (uint32_t off = 0; off < 150000; off += 1000) {
        assert_int_equal(rf_stream_write(&s, img + off, 1000), ESP_OK);
    }
    uint8_t dig[32], want[32];
    assert_int_equal(rf_stream_finish(&s, dig), ESP_OK);
    rf_sha256(img, 150000, want);
    assert_memory_equal(dig, want, 32);
    assert_memory_equal(d + 0x40000, img, 150000);
    /* 150000 bytes span 3 blocks: the first two full of old data -> block erases */
    assert_true(s.stats.blocks_erased >= 2);
    assert_int_equal(rf_stream_write(&s, img, 0x40000), ESP_ERR_INVALID_SIZE);

    /* A fresh stream into blank space that fails part-way leaves it blank. */
    rf_stream_t s2;
    assert_int_equal(rf_stream_init(&s2, &fx->flash, 0x90000, 0x40000, 0, 0, fx->work, sizeof fx->work, NULL), ESP_OK);
    assert_int_equal(rf_stream_write(&s2, img, 50000), ESP_OK);
    assert_int_equal(rf_stream_rollback(&s2), ESP_OK);
    for (uint32_t i = 0x90000; i < 0xD0000; i++) {
        assert_int_equal(d[i], 0xFF);
    }
    free(img);
}

/* A flash port that logs every erase/program address, over the simulator. */
typedef struct {
    rf_flash_t inner;
    uint32_t addrs[4096];
    uint32_t n;
} logflash_t;

static esp_err_t lf_read(void *c, uint32_t a, void *b, uint32_t n)
{
    return rf_flash_read(&((logflash_t *)c)->inner, a, b, n);
}
static esp_err_t lf_program(void *c, uint32_t a, const void *b, uint32_t n)
{
    logflash_t *l = c;
    l->addrs[l->n++] = a;
    return rf_flash_program(&l->inner, a, b, n);
}
static esp_err_t lf_erase(void *c, uint32_t a, uint32_t n)
{
    logflash_t *l = c;
    l->addrs[l->n++] = a;
    return rf_flash_erase(&l->inner, a, n);
}

static int phase_of(uint32_t a)
{
    return (a >= 0x1000 && a < 0x8000) ? 1 : (a >= 0x8000 && a < 0x9000) ? 2 : 0;
}

/* Deferred ranges are written last, in their order: the bootloader's
 * sectors after everything else, the partition table after those. When the
 * bootloader's whole 64 KiB block is rewritten (its bytes outside the region
 * blank), one block erase replaces the sector erases and the bootloader's
 * pages are programmed right after it, before anything else in the block:
 * the shortest window the flash allows. */
static void test_deferred_ranges_written_last(void **state)
{
    fx_t *fx = *state;
    static logflash_t lf;
    for (int blank0 = 0; blank0 < 2; blank0++) {
        memset(&lf, 0, sizeof lf);
        lf.inner = fx->flash;
        rf_flash_t f = fx->flash;
        f.ctx = &lf;
        f.read = lf_read;
        f.program = lf_program;
        f.erase = lf_erase;
        uint8_t *d = nor_sim_data(fx->sim);
        memset(d, 0xFF, 0x1000);
        if (!blank0) {
            d[0x10] = 0x00;                           /* sector 0 in use: no block erase */
        }
        fill_random(d + 0x1000, 0xF000, 11);          /* old content everywhere: every sector changes */
        uint8_t *img = malloc(0xF000);
        fill_random(img, 0xF000, 12);
        const uint32_t deferred[] = { 0x1000, 0x7000, 0x8000, 0x1000 };  /* bootloader, then the table */
        buf_reader_t r = { img };
        rf_region_write_t w = { .flash = &f, .dst = 0x1000, .dst_size = 0xF000, .len = 0xF000, .read = buf_read,
                                .read_arg = &r, .work = fx->work, .work_len = sizeof fx->work,
                                .deferred = deferred, .deferred_count = 2 };
        rf_write_stats_t st;
        nor_sim_reset_counters(fx->sim);
        assert_int_equal(rf_region_write(&w, &st), ESP_OK);
        assert_memory_equal(d + 0x1000, img, 0xF000);
        assert_int_equal(d[0x10], blank0 ? 0xFF : 0x00);   /* outside the region: unchanged */
        /* the block holds sectors of three phases, but it is read and
         * classified once (issue 11): its 15 sectors, the one outside the
         * region, and each sector read back once after writing */
        assert_true(nor_sim_counters(fx->sim)->bytes_read <= (15u + 1u + 15u) * 0x1000u);
        if (!blank0) {
            /* sector by sector: the phase of each logged op never goes down */
            assert_int_equal(st.blocks_erased, 0);
            int last = 0;
            for (uint32_t i = 0; i < lf.n; i++) {
                int ph = phase_of(lf.addrs[i]);
                if (ph < last) {
                    fail_msg("op %u at 0x%x (phase %d) after phase %d", i, lf.addrs[i], ph, last);
                }
                last = ph;
            }
            assert_int_equal(last, 2);
        } else {
            /* one block erase of 0x0..0x10000, then the bootloader's pages, then
             * the table's, then the rest of the block */
            assert_int_equal(st.blocks_erased, 1);
            assert_int_equal(st.sectors_erased, 0);
            assert_int_equal(lf.addrs[0], 0);
            int order[] = { 1, 2, 0 }, k = 0;
            for (uint32_t i = 1; i < lf.n; i++) {
                int ph = phase_of(lf.addrs[i]);
                while (k < 3 && order[k] != ph) {
                    k++;
                }
                if (k == 3) {
                    fail_msg("op %u at 0x%x (phase %d) out of order", i, lf.addrs[i], ph);
                }
            }
        }
        free(img);
    }
}

/* One verification pass: a stream reads each staging sector once before
 * writing (to know it is blank or must be erased) and once after (the
 * read-back compare of the sectors it programmed); a sector known blank is
 * not read a second time, and one that stays blank is not read back. */
static void test_stream_reads_each_sector_once(void **state)
{
    fx_t *fx = *state;
    const uint32_t n = 0x20000;                 /* two blocks: half data, half padding */
    uint8_t *img = malloc(n);
    memset(img, 0xFF, n);
    fill_random(img, n / 2, 21);
    rf_stream_t s;
    assert_int_equal(rf_stream_init(&s, &fx->flash, 0x80000, 0x40000, 0, n, fx->work, sizeof fx->work, NULL), ESP_OK);
    nor_sim_reset_counters(fx->sim);
    for (uint32_t off = 0; off < n; off += 4000) {
        assert_int_equal(rf_stream_write(&s, img + off, RF_MIN(4000u, n - off)), ESP_OK);
    }
    uint8_t dig[32];
    assert_int_equal(rf_stream_finish(&s, dig), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x80000, img, n);
    /* blank area: n bytes read to prepare, n / 2 read back (the data sectors) */
    assert_int_equal(nor_sim_counters(fx->sim)->bytes_read, n + n / 2);
    assert_int_equal(nor_sim_counters(fx->sim)->bytes_erased, 0);
    free(img);
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static esp_err_t stream_all(fx_t *fx, rf_stream_t *s, uint32_t base, const uint8_t *img, uint32_t n, uint32_t from,
                            uint8_t dig[32])
{
    assert_int_equal(rf_stream_init(s, &fx->flash, base, 0x40000, 0, n, fx->work, sizeof fx->work, NULL), ESP_OK);
    s->image_only = 1;
    if (from > 0) {
        assert_int_equal(rf_stream_resume(s, from), ESP_OK);
    }
    for (uint32_t off = from; off < n; off += 3000) {
        assert_int_equal(rf_stream_write(s, img + off, RF_MIN(3000u, n - off)), ESP_OK);
    }
    return rf_stream_finish(s, dig);
}

/* image_only (issue 11, one verification pass): an MCUboot image's own
 * hashed range [0, hdr + img + protected TLVs) is hashed on the way in and
 * nothing after it; the digest is exact, also when the stream resumes
 * inside that range; a stream that is not such an image (or whose header
 * claims more than the stream may hold) is hashed whole as before. */
static void test_stream_image_only_hashes_the_image_range(void **state)
{
    fx_t *fx = *state;
    const uint32_t n = 0x30000, img_size = 100000, prot = 24, L = 64 + img_size + prot;
    uint8_t *img = malloc(n);
    memset(img, 0xFF, n);
    fill_random(img, L + 40, 5);   /* unprotected TLVs after the range */
    put_le(img, 0x96F3B83Du, 4);
    put_le(img + 8, 64, 2);
    put_le(img + 10, prot, 2);
    put_le(img + 12, img_size, 4);
    uint8_t want[32], dig[32], zero[32] = { 0 };
    rf_sha256(img, L, want);

    rf_stream_t s;
    assert_int_equal(stream_all(fx, &s, 0x40000, img, n, 0, dig), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x40000, img, n);
    assert_int_equal(s.img.len, L);
    assert_int_equal(s.img.off, 0);
    assert_memory_equal(s.img.sha256, want, 32);
    assert_int_equal(s.hashed, L);
    assert_false(rf_stream_hashed_whole(&s));
    assert_memory_equal(dig, zero, 32);   /* no whole-stream digest: none claimed */

    /* resumed at a sector boundary inside the range: the same digest */
    rf_stream_t r;
    assert_int_equal(stream_all(fx, &r, 0x40000, img, n, 0x18000, dig), ESP_OK);
    assert_int_equal(r.img.len, L);
    assert_memory_equal(r.img.sha256, want, 32);

    /* a header claiming more than the stream may hold: hashed whole */
    put_le(img + 12, 0x80000, 4);
    assert_int_equal(stream_all(fx, &r, 0x80000, img, n, 0, dig), ESP_OK);
    assert_int_equal(r.img.len, 0);
    assert_true(rf_stream_hashed_whole(&r));
    rf_sha256(img, n, want);
    assert_memory_equal(dig, want, 32);

    /* not an MCUboot image (an ESP image's 0xE9): hashed whole */
    img[0] = 0xE9;
    assert_int_equal(stream_all(fx, &r, 0x80000, img, n, 0, dig), ESP_OK);
    assert_int_equal(r.img.len, 0);
    assert_true(rf_stream_hashed_whole(&r));
    rf_sha256(img, n, want);
    assert_memory_equal(dig, want, 32);
    free(img);
}

/* rf_flash_digests: one read gives the whole SHA-256, the sparse digest
 * (the data sectors hashed with their index, the 0xFF ones only compared)
 * and the map of 0xFF sectors; the sparse digest tells apart contents that
 * hold the same data at other places; a region write given the map does
 * not read those target sectors again and still writes the image. */
static void test_flash_digests_and_blank_map(void **state)
{
    fx_t *fx = *state;
    const uint32_t n = 5 * S + 100;
    uint8_t *img = malloc(n);
    memset(img, 0xFF, n);
    fill_random(img + S, S, 3);           /* chunk 1: data */
    fill_random(img + 4 * S, S + 100, 4); /* chunks 4 and 5 (partial) */
    uint8_t *d = nor_sim_data(fx->sim);
    memcpy(d + 0x10000, img, n);
    uint8_t full[32], sp[32], sp2[32], want[32], map[2] = { 0xAA, 0xAA };
    assert_int_equal(rf_flash_digests(&fx->flash, 0x10000, n, fx->work, S, full, sp, map, sizeof map), ESP_OK);
    rf_sha256(img, n, want);
    assert_memory_equal(full, want, 32);
    assert_int_equal(map[0], 0x0D);       /* chunks 0, 2, 3 blank; 1, 4, 5 not */
    /* the same data one sector later (chunk 1 blank, chunk 2 data): another sparse digest */
    memset(d + 0x20000, 0xFF, n);
    memcpy(d + 0x20000 + 2 * S, img + S, S);
    memcpy(d + 0x20000 + 4 * S, img + 4 * S, S + 100);
    assert_int_equal(rf_flash_digests(&fx->flash, 0x20000, n, fx->work, S, NULL, sp2, NULL, 0), ESP_OK);
    assert_memory_not_equal(sp, sp2, 32);
    /* the same bytes again: the same sparse digest; one byte changed in a 0xFF sector: another */
    memcpy(d + 0x20000, img, n);
    assert_int_equal(rf_flash_digests(&fx->flash, 0x20000, n, fx->work, S, NULL, sp2, NULL, 0), ESP_OK);
    assert_memory_equal(sp, sp2, 32);
    d[0x20000 + 3 * S + 7] = 0x7F;
    assert_int_equal(rf_flash_digests(&fx->flash, 0x20000, n, fx->work, S, NULL, sp2, NULL, 0), ESP_OK);
    assert_memory_not_equal(sp, sp2, 32);

    /* the map spares the reads of the 0xFF target sectors (source bytes asked for) */
    counting_reader_t cr = { img, 0 };
    rf_write_stats_t st;
    rf_region_write_t w = { .flash = &fx->flash, .dst = 0x40000, .dst_size = 6 * S, .len = n,
                            .read = counting_read, .read_arg = &cr, .work = fx->work, .work_len = sizeof fx->work };
    assert_int_equal(rf_region_write(&w, &st), ESP_OK);
    const uint64_t plain = cr.bytes;
    assert_true(plain >= n);
    cr.bytes = 0;
    w.dst = 0x50000;
    w.blank_map = map;
    w.blank_map_len = n;
    assert_int_equal(rf_region_write(&w, &st), ESP_OK);
    assert_memory_equal(d + 0x50000, img, n);
    assert_true(rf_is_blank(d + 0x50000 + n, 6 * S - n));
    /* the data (2 * S + 100 bytes) read at least once; the three 0xFF chunks never */
    assert_true(cr.bytes >= 2 * S + 100);
    assert_true(cr.bytes + 3 * S <= plain);

    /* a map that starts inside the image, off the sector grid (the
     * embedded image inside the running app, for the backup): a target
     * sector is spared only when every chunk under it is 0xFF (here the
     * sector over chunks 2 and 3), and the bytes come out right */
    uint8_t *big = malloc(100 + n);
    fill_random(big, 100, 9);
    memcpy(big + 100, img, n);
    counting_reader_t cb = { big, 0 };
    rf_region_write_t wb = { .flash = &fx->flash, .dst = 0x60000, .dst_size = 6 * S, .len = 100 + n,
                             .read = counting_read, .read_arg = &cb, .work = fx->work, .work_len = sizeof fx->work };
    assert_int_equal(rf_region_write(&wb, &st), ESP_OK);
    const uint64_t plain_b = cb.bytes;
    cb.bytes = 0;
    wb.dst = 0x70000;
    wb.blank_map = map;
    wb.blank_map_at = 100;
    wb.blank_map_len = n;
    assert_int_equal(rf_region_write(&wb, &st), ESP_OK);
    assert_memory_equal(d + 0x70000, big, 100 + n);
    assert_true(cb.bytes + S <= plain_b);
    assert_true(cb.bytes + 2 * S > plain_b);   /* one sector spared, no more */
    free(big);
    free(img);
}

/* Zero-copy: a source fills the sector buffer's free part (rf_stream_room)
 * and commits what it wrote; more than the room, or past max_len, is
 * refused and changes nothing; the bytes land and hash as rf_stream_write's. */
static void test_stream_room_and_commit(void **state)
{
    fx_t *fx = *state;
    const uint32_t n = 3 * S + 123;
    uint8_t *img = malloc(n);
    fill_random(img, n, 77);
    rf_stream_t s;
    assert_int_equal(rf_stream_init(&s, &fx->flash, 0x40000, 0x10000, n, n, fx->work, sizeof fx->work, NULL), ESP_OK);
    uint32_t off = 0, room = 0;
    while (off < n) {
        uint8_t *into = rf_stream_room(&s, &room);
        assert_true(room > 0 && room <= S);
        assert_int_equal(rf_stream_commit(&s, room + 1), ESP_ERR_INVALID_ARG);   /* more than the room */
        const uint32_t k = RF_MIN(RF_MIN(room, 1000u), n - off);
        memcpy(into, img + off, k);
        assert_int_equal(rf_stream_commit(&s, k), ESP_OK);
        off += k;
        assert_int_equal(s.offset, off);
    }
    (void)rf_stream_room(&s, &room);
    assert_int_equal(rf_stream_commit(&s, 1), ESP_ERR_INVALID_SIZE);   /* past max_len */
    assert_int_equal(s.offset, n);
    uint8_t dig[32], want[32];
    assert_int_equal(rf_stream_finish(&s, dig), ESP_OK);
    rf_sha256(img, n, want);
    assert_memory_equal(dig, want, 32);
    assert_memory_equal(nor_sim_data(fx->sim) + 0x40000, img, n);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blank_destination_is_program_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_same_is_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_vs_sector_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_only_when_bits_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_sector_and_a_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memmove_overlaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_ranges_written_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_reads_each_sector_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_image_only_hashes_the_image_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flash_digests_and_blank_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_room_and_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
