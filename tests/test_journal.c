/*
 * The journal (core/src/rf_journal.c) on the NOR simulator: the newest
 * valid record survives a power cut in the middle of writing the next one,
 * in the middle of erasing the other sector, and across wrap-around.
 */
#include <stdlib.h>
#include <string.h>
#include "nor_sim.h"
#include "rf_journal.h"
#include "rf_otadata.h"
#include "testlib.h"

#define J 0x3FE000u

typedef struct {
    nor_sim_t *sim;
    rf_flash_t flash;
    uint8_t scratch[4096];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 4u << 20);
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

static rf_journal_rec_t rec(uint32_t progress)
{
    rf_journal_rec_t r;
    memset(&r, 0, sizeof r);
    r.state = RF_JSTATE_STAGING;
    r.id[0] = 0xAB;
    r.progress = progress;
    r.total = 1000000;
    return r;
}

static void test_crc_values(void **state)
{
    (void)state;
    assert_int_equal(rf_crc32_le(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(rf_otadata_crc(1), 0x4743989Au);   /* what ESP-IDF's otatool computes for seq 1 */
}

static void test_append_and_reopen(void **state)
{
    fx_t *fx = *state;
    rf_journal_t j;
    assert_int_equal(rf_journal_open(&j, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
    assert_false(j.have);
    for (uint32_t i = 1; i <= 40; i++) {   /* 40 records: wraps across both sectors (16 per sector) */
        rf_journal_rec_t r = rec(i * 0x10000);
        assert_int_equal(rf_journal_append(&j, &r), ESP_OK);
    }
    rf_journal_t k;
    assert_int_equal(rf_journal_open(&k, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
    assert_true(k.have);
    assert_int_equal(k.last.progress, 40u * 0x10000);
    assert_int_equal(k.last.seq, 40);
    /* appends are page programs; erases only when a sector fills */
    assert_true(nor_sim_counters(fx->sim)->sector_erases <= 3);
}

/* A cut at every write operation of a run of appends, before and in the
 * middle: reopening always finds a valid record, never an older one than
 * the last append that completed, and appending goes on. */
static void test_cuts_never_lose_the_last_record(void **state)
{
    fx_t *fx = *state;
    for (int mode = NOR_CUT_BEFORE; mode <= NOR_CUT_MIDDLE; mode++) {
        for (uint64_t cut = 1; cut <= 80; cut++) {
            memset(nor_sim_data(fx->sim) + J, 0xFF, 0x2000);
            rf_journal_t j;
            assert_int_equal(rf_journal_open(&j, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
            nor_sim_arm_cut(fx->sim, (nor_cut_mode_t)mode, cut, (uint32_t)cut * 7919u);
            uint32_t done = 0;
            for (uint32_t i = 1; i <= 70; i++) {
                rf_journal_rec_t r = rec(i);
                if (rf_journal_append(&j, &r) != ESP_OK) {
                    break;
                }
                done = i;
            }
            nor_sim_power_restore(fx->sim);
            rf_journal_t k;
            assert_int_equal(rf_journal_open(&k, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
            if (done > 0) {
                assert_true(k.have);
                assert_int_equal(k.last.progress, done);
            }
            rf_journal_rec_t r = rec(999);
            assert_int_equal(rf_journal_append(&k, &r), ESP_OK);
            rf_journal_t m;
            assert_int_equal(rf_journal_open(&m, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
            assert_int_equal(m.last.progress, 999);
        }
    }
}

static void test_garbage_is_an_empty_journal(void **state)
{
    fx_t *fx = *state;
    uint8_t *d = nor_sim_data(fx->sim) + J;
    for (uint32_t i = 0; i < 0x2000; i++) {
        d[i] = (uint8_t)(i * 31 + 7);
    }
    rf_journal_t j;
    assert_int_equal(rf_journal_open(&j, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
    assert_false(j.have);
    rf_journal_rec_t r = rec(5);
    assert_int_equal(rf_journal_append(&j, &r), ESP_OK);
    assert_int_equal(rf_journal_open(&j, &fx->flash, J, fx->scratch, sizeof fx->scratch), ESP_OK);
    assert_int_equal(j.last.progress, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crc_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cuts_never_lose_the_last_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_an_empty_journal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
