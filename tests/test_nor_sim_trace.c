/*
 * NOR-flash simulator: the operation trace (nor_sim_set_trace), used by
 * `reflasher rehearse`. It reports every program/erase call that passed
 * validation (with its number, kind, range, start and end time, result and
 * whether the cut hit it), sees the cut operation before the cut hook, is
 * not copied by clones, and changes nothing else. Needs nothing from
 * ../shared.
 */
#include "testlib.h"

#include <string.h>

#include "nor_sim.h"

#define MS 1000000ull /* ns */

typedef struct {
    nor_sim_op_t ops[64];
    int n;
    int hook_calls;
    int ops_at_hook; /* trace entries already there when the cut hook ran */
} rec_t;

static void record(void *arg, const nor_sim_op_t *op)
{
    rec_t *r = arg;
    assert_true(r->n < 64);
    r->ops[r->n++] = *op;
}

static void hook(void *arg, nor_sim_t *sim, uint64_t op)
{
    (void)sim;
    (void)op;
    rec_t *r = arg;
    r->hook_calls++;
    r->ops_at_hook = r->n;
}

static nor_sim_t *new_sim(void)
{
    nor_sim_config_t cfg;
    nor_sim_default_config(&cfg, 1024 * 1024);
    nor_sim_t *sim = nor_sim_new(&cfg);
    assert_non_null(sim);
    return sim;
}

static void test_trace_reports_writes_only(void **state)
{
    (void)state;
    nor_sim_t *sim = new_sim();
    rec_t r;
    memset(&r, 0, sizeof r);
    uint8_t buf[512];
    memset(buf, 0x5A, sizeof buf);
    nor_sim_set_trace(sim, record, &r);
    assert_int_equal(nor_sim_erase(sim, 0x1000, 0x1000), ESP_OK);
    assert_int_equal(nor_sim_read(sim, 0, buf, 16), ESP_OK);                  /* not reported */
    assert_int_equal(nor_sim_program(sim, 0x1000, buf, sizeof buf), ESP_OK);  /* 2 data pages */
    assert_int_equal(nor_sim_erase(sim, 0x1001, 0x1000), ESP_ERR_INVALID_ARG); /* rejected: not reported */
    assert_int_equal(nor_sim_erase(sim, 0x10000, 0x10000), ESP_OK);           /* one block erase */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ops[0].number, 1);
    assert_int_equal(r.ops[0].kind, NOR_OP_ERASE);
    assert_int_equal(r.ops[0].addr, 0x1000);
    assert_int_equal(r.ops[0].len, 0x1000);
    assert_int_equal(r.ops[0].t_start_ns, 0);
    assert_int_equal(r.ops[0].t_end_ns, 37 * MS);
    assert_int_equal(r.ops[0].result, ESP_OK);
    assert_int_equal(r.ops[0].cut, NOR_CUT_NONE);
    assert_int_equal(r.ops[1].number, 2);
    assert_int_equal(r.ops[1].kind, NOR_OP_PROGRAM);
    assert_int_equal(r.ops[1].len, 512);
    assert_true(r.ops[1].t_start_ns > r.ops[0].t_end_ns); /* the read in between took time */
    assert_int_equal(r.ops[1].t_end_ns - r.ops[1].t_start_ns, 2 * 880000ull);
    assert_int_equal(r.ops[2].number, 3);
    assert_int_equal(r.ops[2].t_end_ns - r.ops[2].t_start_ns, 46 * MS);
    assert_int_equal(r.ops[2].t_end_ns, nor_sim_counters(sim)->time_ns);
    assert_int_equal(nor_sim_write_ops(sim), 3);

    /* numbers restart with the counters */
    nor_sim_reset_counters(sim);
    assert_int_equal(nor_sim_program(sim, 0x2000, buf, 16), ESP_OK);
    assert_int_equal(r.ops[3].number, 1);
    assert_int_equal(r.ops[3].t_start_ns, 0);

    /* NULL removes it; a clone has none */
    nor_sim_t *c = nor_sim_clone(sim);
    assert_non_null(c);
    assert_int_equal(nor_sim_program(c, 0x3000, buf, 16), ESP_OK);
    assert_int_equal(r.n, 4);
    nor_sim_set_trace(sim, NULL, NULL);
    assert_int_equal(nor_sim_program(sim, 0x3000, buf, 16), ESP_OK);
    assert_int_equal(r.n, 4);
    nor_sim_free(c);
    nor_sim_free(sim);
}

static void test_trace_and_cuts(void **state)
{
    (void)state;
    uint8_t buf[256];
    memset(buf, 0, sizeof buf);
    for (int mode = NOR_CUT_BEFORE; mode <= NOR_CUT_MIDDLE; mode++) {
        nor_sim_t *sim = new_sim();
        rec_t r;
        memset(&r, 0, sizeof r);
        nor_sim_set_trace(sim, record, &r);
        nor_sim_set_cut_hook(sim, hook, &r);
        nor_sim_arm_cut(sim, (nor_cut_mode_t)mode, 2, 7);
        assert_int_equal(nor_sim_erase(sim, 0, 0x1000), ESP_OK);
        assert_int_equal(nor_sim_program(sim, 0, buf, sizeof buf), ESP_ERR_FLASH_OP_FAIL); /* the cut */
        assert_int_equal(nor_sim_erase(sim, 0x1000, 0x1000), ESP_ERR_FLASH_OP_FAIL);       /* power gone */
        assert_int_equal(r.n, 3);
        assert_int_equal(r.hook_calls, 1);
        assert_int_equal(r.ops_at_hook, 2); /* the trace saw the cut op before the hook ran */
        assert_int_equal(r.ops[0].cut, NOR_CUT_NONE);
        assert_int_equal(r.ops[1].number, 2);
        assert_int_equal(r.ops[1].cut, mode);
        assert_int_equal(r.ops[1].result, ESP_ERR_FLASH_OP_FAIL);
        assert_int_equal(r.ops[2].number, 3);
        assert_int_equal(r.ops[2].cut, NOR_CUT_NONE);
        assert_int_equal(r.ops[2].result, ESP_ERR_FLASH_OP_FAIL);
        assert_int_equal(r.ops[2].t_end_ns, r.ops[2].t_start_ns);
        nor_sim_free(sim);
    }
}

/* The same operations with and without a trace leave the same device. */
static void test_trace_changes_nothing(void **state)
{
    (void)state;
    nor_sim_t *a = new_sim(), *b = new_sim();
    rec_t r;
    memset(&r, 0, sizeof r);
    nor_sim_set_trace(b, record, &r);
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7);
    }
    nor_sim_t *s[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        nor_sim_arm_cut(s[i], NOR_CUT_MIDDLE, 3, 11);
        assert_int_equal(nor_sim_erase(s[i], 0x4000, 0x2000), ESP_OK);
        assert_int_equal(nor_sim_program(s[i], 0x4010, buf, sizeof buf), ESP_OK);
        assert_int_equal(nor_sim_program(s[i], 0x5000, buf, sizeof buf), ESP_ERR_FLASH_OP_FAIL);
        nor_sim_power_restore(s[i]);
    }
    assert_memory_equal(nor_sim_data(a), nor_sim_data(b), 1024 * 1024);
    assert_memory_equal(nor_sim_counters(a), nor_sim_counters(b), sizeof(nor_sim_counters_t));
    assert_int_equal(r.n, 3);
    nor_sim_free(a);
    nor_sim_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_reports_writes_only),
        cmocka_unit_test(test_trace_and_cuts),
        cmocka_unit_test(test_trace_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
