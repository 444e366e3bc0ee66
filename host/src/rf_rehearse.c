/* Power-cut and network-fault rehearsal of a migration (see rf_rehearse.h). */
#include "rf_rehearse.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "rf_host_source.h"
#include "self_reflasher_platform.h"

#define REASON_LEN RF_REHEARSE_REASON_LEN
#define LIST_CAP 200 /* failing points listed by number in the JSON */

typedef rf_rehearse_point_t point_t;

/* ------------------------------------------------------------------------ */
/* One run                                                                  */
/* ------------------------------------------------------------------------ */

/* The library's log lines, swallowed: the first error line is kept. */
typedef struct logcap {
    char first_err[REASON_LEN];
} logcap_t;

static void log_capture(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    (void)tag;
    logcap_t *c = arg;
    if (level == RF_LOG_ERROR && c->first_err[0] == 0) {
        vsnprintf(c->first_err, sizeof c->first_err, fmt, ap);
    }
}

/* A silent in-memory copy of `base`, counters at zero (so the trace's op
 * numbers are cut-point numbers). */
static esp_err_t clone_dev(const rf_device_t *base, rf_device_t *d, logcap_t *cap)
{
    esp_err_t e = rf_device_clone(base, d);
    if (e != ESP_OK) {
        return e;
    }
    memset(cap, 0, sizeof *cap);
    d->quiet = true;
    d->log_to_stderr = true;
    d->platform.log.fn = log_capture;
    d->platform.log.arg = cap;
    nor_sim_reset_counters(d->sim);
    return ESP_OK;
}

static esp_err_t run_migration(rf_device_t *d, const rf_rehearse_cfg_t *cfg)
{
    return cfg->run(cfg->run_arg, d);
}

/* Every destination region of `d` equals the reference's final content. */
static bool dest_equal(rf_device_t *d, const uint8_t *ref, const rf_rehearse_cfg_t *cfg)
{
    const uint8_t *a = nor_sim_data(d->sim);
    uint32_t size = nor_sim_config(d->sim)->size;
    for (int i = 0; i < cfg->ndest; i++) {
        uint64_t lo = cfg->dest[i].addr, hi = lo + cfg->dest[i].size;
        if (hi > size) {
            hi = size;
        }
        if (lo < hi && memcmp(a + lo, ref + lo, (size_t)(hi - lo)) != 0) {
            return false;
        }
    }
    return true;
}

static void copy_reason(char *dst, const char *src)
{
    size_t n = strnlen(src, REASON_LEN - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void append_reason(char *dst, const char *src)
{
    size_t have = strnlen(dst, REASON_LEN - 1);
    size_t n = strnlen(src, REASON_LEN - 1 - have);
    memcpy(dst + have, src, n);
    dst[have + n] = 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* Traces                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct trace {
    nor_sim_op_t *v;
    size_t n, cap;
    bool oom;
    const rf_rehearse_cfg_t *cfg; /* progress of the reference run */
    uint64_t bytes;
    double t0;
} trace_t;

static void trace_record(void *arg, const nor_sim_op_t *op)
{
    trace_t *t = arg;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        nor_sim_op_t *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL) {
            t->oom = true;
            return;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *op;
    t->bytes += op->len;
    if (t->cfg->progress != NULL && t->n % 16 == 0) {
        rf_rehearse_progress_t p = { .phase = RF_REHEARSE_PHASE_REFERENCE, .done = (uint32_t)t->n,
                                     .device_ms = (double)op->t_end_ns / 1e6, .bytes = t->bytes,
                                     .elapsed_s = now_s() - t->t0 };
        t->cfg->progress(t->cfg->progress_arg, &p);
    }
}

/* A cut run's operations up to the cut must be the reference's: otherwise
 * "cut at op k" would not mean the same state in every run. */
typedef struct trace_check {
    const nor_sim_op_t *ref;
    size_t ref_n;
    uint64_t limit;
    uint32_t mismatches;
} trace_check_t;

static void trace_check(void *arg, const nor_sim_op_t *op)
{
    trace_check_t *c = arg;
    if (op->number > c->limit) {
        return;
    }
    if (op->number == 0 || op->number > c->ref_n) {
        c->mismatches++;
        return;
    }
    const nor_sim_op_t *r = &c->ref[op->number - 1];
    if (r->kind != op->kind || r->addr != op->addr || r->len != op->len) {
        c->mismatches++;
    }
}

/* ------------------------------------------------------------------------ */
/* Cut points                                                               */
/* ------------------------------------------------------------------------ */

/* A rerun must end in the new system with the reference's destinations,
 * except from a state that boots nothing inside the bootloader window: a
 * real device there runs no code, so no rerun can happen (it is still tried
 * and reported). */
bool rf_rehearse_point_rerun_ok(const point_t *p)
{
    return p->done && ((p->rerun_outcome == RF_BOOT_NEW && p->dest_ok) ||
                       (p->outcome == RF_BOOT_BRICK && p->in_window));
}

bool rf_rehearse_point_brick_outside(const point_t *p)
{
    return p->done && p->outcome == RF_BOOT_BRICK && !p->in_window;
}

static bool point_ok(const point_t *p)
{
    return p->done && p->cut_reached && p->trace_mismatches == 0 && !rf_rehearse_point_brick_outside(p) &&
           rf_rehearse_point_rerun_ok(p);
}

static bool in_window(const rf_rehearse_result_t *w, uint32_t k, nor_cut_mode_t mode)
{
    if (w->win_first == 0) {
        return false;
    }
    return mode == NOR_CUT_BEFORE ? (k > w->win_first && k <= w->win_last) : (k >= w->win_first && k <= w->win_last);
}

static void window_from_trace(rf_rehearse_result_t *w)
{
    uint32_t last_prog = 0, last_any = 0;
    w->win_first = 0;
    for (size_t i = 0; i < w->trace_n; i++) {
        const nor_sim_op_t *op = &w->trace[i];
        uint64_t lo = op->addr, hi = (uint64_t)op->addr + op->len;
        if (op->len == 0 || hi <= w->region_lo || lo >= w->region_hi) {
            continue;
        }
        if (w->win_first == 0) {
            w->win_first = (uint32_t)(i + 1);
        }
        last_any = (uint32_t)(i + 1);
        if (op->kind == NOR_OP_PROGRAM) {
            last_prog = (uint32_t)(i + 1);
        }
    }
    w->win_last = last_prog != 0 ? last_prog : last_any;
    if (w->win_first != 0) {
        w->win_start_ms = (double)w->trace[w->win_first - 1].t_start_ns / 1e6;
        w->win_end_ms = (double)w->trace[w->win_last - 1].t_end_ns / 1e6;
        w->win_ms = w->win_end_ms - w->win_start_ms;
    }
}

bool rf_rehearse_write_trace(const char *path, const rf_rehearse_result_t *w)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(f, "op,kind,addr,len,t_start_ms,t_end_ms,bootloader_window\n");
    for (size_t i = 0; i < w->trace_n; i++) {
        const nor_sim_op_t *op = &w->trace[i];
        uint32_t k = (uint32_t)(i + 1);
        fprintf(f, "%u,%s,0x%x,0x%x,%.3f,%.3f,%d\n", (unsigned)k, op->kind == NOR_OP_ERASE ? "erase" : "program",
                (unsigned)op->addr, (unsigned)op->len, (double)op->t_start_ns / 1e6, (double)op->t_end_ns / 1e6,
                w->win_first != 0 && k >= w->win_first && k <= w->win_last);
    }
    return fclose(f) == 0;
}

typedef struct sweep_ctx {
    const rf_device_t *base;
    const rf_rehearse_cfg_t *cfg;
    const rf_rehearse_result_t *res;
} sweep_ctx_t;

static void run_point(const sweep_ctx_t *cx, point_t *p)
{
    rf_device_t d;
    logcap_t cap;
    if (clone_dev(cx->base, &d, &cap) != ESP_OK) {
        copy_reason(p->reason, "out of memory");
        return;
    }
    trace_check_t chk = { .ref = cx->res->trace, .ref_n = cx->res->trace_n, .limit = p->k };
    nor_sim_set_trace(d.sim, trace_check, &chk);
    nor_sim_arm_cut(d.sim, (nor_cut_mode_t)p->mode, p->k, p->k);
    p->cut_err = (int32_t)run_migration(&d, cx->cfg);
    p->cut_reached = nor_sim_cut_happened(d.sim);
    nor_sim_set_trace(d.sim, NULL, NULL);
    nor_sim_power_restore(d.sim);
    p->trace_mismatches = chk.mismatches;

    rf_boot_report_t *rep = calloc(1, sizeof *rep);
    if (rep == NULL) {
        rf_device_close(&d);
        copy_reason(p->reason, "out of memory");
        return;
    }
    p->outcome = (uint8_t)rf_boot_model_device(&d, NULL, rep);
    copy_reason(p->reason, rep->reason);
    p->in_window = in_window(cx->res, p->k, (nor_cut_mode_t)p->mode);

    memset(&cap, 0, sizeof cap);
    p->rerun_err = (int32_t)run_migration(&d, cx->cfg);
    p->rerun_outcome = (uint8_t)rf_boot_model_device(&d, NULL, rep);
    if (p->rerun_err != ESP_OK) {
        copy_reason(p->rerun_reason, esp_err_to_name(p->rerun_err));
        if (cap.first_err[0]) {
            append_reason(p->rerun_reason, ": ");
            append_reason(p->rerun_reason, cap.first_err);
        }
    } else {
        copy_reason(p->rerun_reason, rep->reason);
    }
    p->dest_ok = dest_equal(&d, cx->res->ref_flash, cx->cfg);
    p->flash_same = memcmp(nor_sim_data(d.sim), cx->res->ref_flash, nor_sim_config(d.sim)->size) == 0;
    free(rep);
    rf_device_close(&d);
    p->done = 1;
}

static void progress_points(const rf_rehearse_cfg_t *cfg, rf_rehearse_phase_t ph, uint32_t done, uint32_t total,
                            double t0)
{
    if (cfg->progress != NULL) {
        rf_rehearse_progress_t p = { .phase = ph, .done = done, .total = total, .elapsed_s = now_s() - t0 };
        cfg->progress(cfg->progress_arg, &p);
    }
}

/* Run every point, in `jobs` processes. Returns the number of points a
 * worker never finished (a crash). */
static uint32_t run_points(const sweep_ctx_t *cx, point_t *pts, uint32_t np, int jobs, double t0)
{
    if (jobs <= 1 || np < 2) {
        for (uint32_t i = 0; i < np; i++) {
            run_point(cx, &pts[i]);
            progress_points(cx->cfg, RF_REHEARSE_PHASE_CUTS, i + 1, np, t0);
        }
        return 0;
    }
    if ((uint32_t)jobs > np) {
        jobs = (int)np;
    }
    /* Shared: the points, then one progress counter per worker. */
    size_t bytes = (size_t)np * sizeof *pts + (size_t)jobs * sizeof(uint32_t);
    void *shm = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        fprintf(stderr, "rehearse: no shared memory (%s): running in one process\n", strerror(errno));
        return run_points(cx, pts, np, 1, t0);
    }
    point_t *sp = shm;
    uint32_t *count = (uint32_t *)(sp + np);
    memcpy(sp, pts, (size_t)np * sizeof *pts);
    memset(count, 0, (size_t)jobs * sizeof *count);
    fflush(stdout);
    fflush(stderr);
    pid_t pid[RF_REHEARSE_MAX_JOBS];
    int started = 0;
    for (int w = 0; w < jobs; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            for (uint32_t i = (uint32_t)w; i < np; i += (uint32_t)jobs) {
                run_point(cx, &sp[i]);
                __atomic_store_n(&count[w], __atomic_load_n(&count[w], __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
            }
            fflush(stderr);
            _exit(0);
        }
        if (pid[w] < 0) {
            fprintf(stderr, "rehearse: fork: %s\n", strerror(errno));
            break;
        }
        started++;
    }
    /* Points of workers that could not start run here. */
    for (int w = started; w < jobs; w++) {
        for (uint32_t i = (uint32_t)w; i < np; i += (uint32_t)jobs) {
            run_point(cx, &sp[i]);
            __atomic_store_n(&count[w], __atomic_load_n(&count[w], __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
        }
    }
    int alive = started;
    while (alive > 0) {
        for (int w = 0; w < started; w++) {
            if (pid[w] > 0) {
                int st;
                pid_t r = waitpid(pid[w], &st, WNOHANG);
                if (r == pid[w] || (r < 0 && errno == ECHILD)) {
                    if (r == pid[w] && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                        fprintf(stderr, "rehearse: worker %d died (status 0x%x)\n", w, (unsigned)st);
                    }
                    pid[w] = 0;
                    alive--;
                }
            }
        }
        uint32_t done = 0;
        for (int w = 0; w < jobs; w++) {
            done += __atomic_load_n(&count[w], __ATOMIC_ACQUIRE);
        }
        progress_points(cx->cfg, RF_REHEARSE_PHASE_CUTS, done, np, t0);
        if (alive > 0) {
            usleep(20000); /* progress refresh while the workers run, not a readiness wait */
        }
    }
    memcpy(pts, sp, (size_t)np * sizeof *pts);
    munmap(shm, bytes);
    uint32_t missing = 0;
    for (uint32_t i = 0; i < np; i++) {
        if (!pts[i].done) {
            missing++;
            if (pts[i].reason[0] == 0) {
                copy_reason(pts[i].reason, "not run: its worker died");
            }
        }
    }
    return missing;
}

/* ------------------------------------------------------------------------ */
/* Network faults                                                           */
/* ------------------------------------------------------------------------ */

/* Length of a source (its total_len on open), -1 when unknown. */
static int64_t source_len(const char *src)
{
    rf_source_t s;
    int64_t total = -1;
    if (rf_source_url_new(src, NULL, &s) != ESP_OK) {
        return -1;
    }
    if (s.open(s.ctx, 0, &total) != ESP_OK) {
        total = -1;
    }
    s.close(s.ctx);
    rf_source_destroy(&s);
    return total;
}

/* Run the migration on `d` with `fault` in its source layer. */
static esp_err_t run_with_fault(rf_device_t *d, const rf_rehearse_cfg_t *cfg, rf_fault_t *fault)
{
    rf_fault_platform_t w;
    rf_fault_platform_install(&d->platform, &w, fault);
    esp_err_t e = run_migration(d, cfg);
    rf_fault_platform_uninstall(&d->platform, &w);
    return e;
}

static void run_net_fault(const rf_device_t *base, const rf_rehearse_cfg_t *cfg, const uint8_t *ref_flash,
                          rf_rehearse_netfault_t *f)
{
    rf_device_t d;
    logcap_t cap_log;
    if (clone_dev(base, &d, &cap_log) != ESP_OK) {
        copy_reason(f->reason, "out of memory");
        return;
    }
    const char *src = cfg->sources[f->source];
    rf_fault_t fault = { .kind = f->kind, .match = src, .at = f->at };
    f->err = run_with_fault(&d, cfg, &fault);
    f->served = (long long)fault.delivered;
    copy_reason(f->err_line, cap_log.first_err);
    rf_boot_report_t *rep = calloc(1, sizeof *rep);
    if (rep == NULL) {
        rf_device_close(&d);
        return;
    }
    f->after = rf_boot_model_device(&d, NULL, rep);
    copy_reason(f->reason, rep->reason);
    rf_fault_t count = { .kind = RF_FAULT_NONE, .match = src };
    f->rerun_err = run_with_fault(&d, cfg, &count);
    f->rerun_bytes = (long long)count.delivered;
    f->rerun = rf_boot_model_device(&d, NULL, rep);
    f->dest_ok = dest_equal(&d, ref_flash, cfg);
    f->ok = f->err != ESP_OK && fault.fired > 0 && f->after != RF_BOOT_BRICK && f->rerun_err == ESP_OK &&
            f->rerun == RF_BOOT_NEW && f->dest_ok;
    free(rep);
    rf_device_close(&d);
}

static int run_net_faults(const rf_device_t *base, const rf_rehearse_cfg_t *cfg, rf_rehearse_result_t *res, double t0)
{
    int cap = 5 * cfg->nsources, nf = 0;
    res->nf = calloc(cap > 0 ? (size_t)cap : 1, sizeof *res->nf);
    if (res->nf == NULL) {
        return -1;
    }
    for (int i = 0; i < cfg->nsources; i++) {
        int64_t len = source_len(cfg->sources[i]);
        static const int pct[] = { 10, 50, 90 };
        for (int j = 0; j < 3 && len > 0; j++) {
            rf_rehearse_netfault_t *f = &res->nf[nf++];
            f->source = i;
            f->kind = RF_FAULT_RESET;
            f->at = (uint64_t)(len * pct[j] / 100);
            snprintf(f->fault, sizeof f->fault, "close_at=%llu", (unsigned long long)f->at);
        }
        if (len > 0) {
            rf_rehearse_netfault_t *f = &res->nf[nf++];
            f->source = i;
            f->kind = RF_FAULT_STALL;
            f->at = (uint64_t)(len / 2);
            snprintf(f->fault, sizeof f->fault, "stall_at=%llu", (unsigned long long)f->at);
        }
        rf_rehearse_netfault_t *f = &res->nf[nf++];
        f->source = i;
        f->kind = RF_FAULT_STATUS;
        snprintf(f->fault, sizeof f->fault, "status=500");
    }
    for (int i = 0; i < nf; i++) {
        run_net_fault(base, cfg, res->ref_flash, &res->nf[i]);
        progress_points(cfg, RF_REHEARSE_PHASE_NET, (uint32_t)i + 1, (uint32_t)nf, t0);
    }
    return nf;
}

/* ------------------------------------------------------------------------ */
/* The rehearsal                                                            */
/* ------------------------------------------------------------------------ */

esp_err_t rf_rehearse_run_seed_download(void *arg, rf_device_t *dev)
{
    const rf_rehearse_seed_steps_t *st = arg;
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(dev);
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t e = ESP_OK;
    for (int i = 0; i < st->n && e == ESP_OK; i++) {
        esp_http_client_config_t http = { .url = st->v[i].url, .timeout_ms = st->timeout_ms ? st->timeout_ms : 10000 };
        esp_self_reflasher_config_t c = { .http_config = &http,
                                          .dest_region = { .region_address = st->v[i].dest,
                                                           .region_size = st->v[i].size } };
        e = i == 0 ? esp_self_reflasher_init_with(pf, &c, &h) : esp_self_reflasher_upd_next_config(&c, h);
        e = e == ESP_OK ? esp_self_reflasher_download_bin(h) : e;
        e = e == ESP_OK ? esp_self_reflasher_copy_to_region(h) : e;
    }
    esp_self_reflasher_deinit(h);
    return e;
}

int rf_rehearse_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        n = 1;
    }
    return n > 8 ? 8 : (int)n;
}

static esp_err_t reference_run(const rf_device_t *base, const rf_rehearse_cfg_t *cfg, rf_rehearse_result_t *res,
                               double t0)
{
    rf_device_t ref;
    logcap_t ref_log;
    trace_t tr = { .cfg = cfg, .t0 = t0 };
    esp_err_t e = clone_dev(base, &ref, &ref_log);
    if (e != ESP_OK) {
        return e;
    }
    nor_sim_set_trace(ref.sim, trace_record, &tr);
    res->ref_err = run_migration(&ref, cfg);
    nor_sim_set_trace(ref.sim, NULL, NULL);
    res->trace = tr.v;
    res->trace_n = tr.n;
    res->write_ops = (uint32_t)tr.n;
    res->ref_counters = *nor_sim_counters(ref.sim);
    res->ref_net_bytes = ref.net_bytes;
    copy_reason(res->ref_error_line, ref_log.first_err);
    rf_boot_report_t *rep = calloc(1, sizeof *rep);
    res->flash_size = nor_sim_config(ref.sim)->size;
    res->ref_flash = malloc(res->flash_size);
    if (rep == NULL || res->ref_flash == NULL || tr.oom) {
        free(rep);
        rf_device_close(&ref);
        return ESP_ERR_NO_MEM;
    }
    memcpy(res->ref_flash, nor_sim_data(ref.sim), res->flash_size);
    res->ref_boot = rf_boot_model_device(&ref, NULL, rep);
    copy_reason(res->ref_reason, rep->reason);
    snprintf(res->ref_boot_loader, sizeof res->ref_boot_loader, "%s", rf_boot_loader_name(rep->bootloader));
    free(rep);
    rf_device_close(&ref);
    res->ref_ok = res->ref_err == ESP_OK && res->ref_boot == RF_BOOT_NEW && res->write_ops > 0;
    return ESP_OK;
}

static uint32_t pick_points(rf_rehearse_result_t *res)
{
    uint32_t nops = res->write_ops;
    uint8_t *pick = calloc((size_t)nops + 2, 1);
    if (pick == NULL) {
        return 0;
    }
    for (uint64_t k = 1; k <= nops; k += res->stride) {
        pick[k] = 1;
    }
    pick[nops] = 1;
    if (res->win_first != 0) {
        uint32_t edge[] = { res->win_first - 1, res->win_first, res->win_first + 1,
                            res->win_last - 1,  res->win_last,  res->win_last + 1 };
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
            if (edge[i] >= 1 && edge[i] <= nops) {
                pick[edge[i]] = 1;
            }
        }
    }
    uint32_t per_mode = 0;
    for (uint32_t k = 1; k <= nops; k++) {
        per_mode += pick[k];
    }
    uint32_t np = per_mode * (res->mid_op ? 2u : 1u);
    res->points = calloc(np, sizeof *res->points);
    if (res->points == NULL) {
        free(pick);
        return 0;
    }
    uint32_t ip = 0;
    for (int m = 0; m < (res->mid_op ? 2 : 1); m++) {
        for (uint32_t k = 1; k <= nops; k++) {
            if (pick[k]) {
                res->points[ip].k = k;
                res->points[ip].mode = (uint8_t)(m == 0 ? NOR_CUT_BEFORE : NOR_CUT_MIDDLE);
                ip++;
            }
        }
    }
    free(pick);
    return np;
}

static void tally(rf_rehearse_result_t *res)
{
    for (uint32_t i = 0; i < res->np; i++) {
        const point_t *p = &res->points[i];
        if (!p->done) {
            continue;
        }
        if (p->outcome <= RF_BOOT_BRICK) {
            res->outcomes[p->outcome]++;
        }
        if (p->outcome == RF_BOOT_BRICK) {
            if (p->in_window) {
                res->brick_inside++;
            } else {
                res->brick_outside++;
            }
        }
        res->ended_new += p->rerun_outcome == RF_BOOT_NEW;
        res->rerun_ok += rf_rehearse_point_rerun_ok(p);
        res->flash_same += p->flash_same;
        res->rerun_errors += p->rerun_err != ESP_OK;
        res->not_reached += !p->cut_reached;
        res->mismatched += p->trace_mismatches != 0;
        res->bad_points += !point_ok(p);
    }
    for (int i = 0; i < res->nnf; i++) {
        res->nf_bad += !res->nf[i].ok;
    }
}

esp_err_t rf_rehearse(const rf_device_t *base, const rf_rehearse_cfg_t *cfg, rf_rehearse_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (base == NULL || cfg == NULL || cfg->run == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    snprintf(res->chip, sizeof res->chip, "%s", base->chip);
    res->stride = cfg->stride ? cfg->stride : 1;
    res->mid_op = cfg->mid_op;
    res->jobs = cfg->jobs < 1 ? 1 : cfg->jobs > RF_REHEARSE_MAX_JOBS ? RF_REHEARSE_MAX_JOBS : cfg->jobs;
    res->net_faults = cfg->net_faults;
    if (!rf_chip_bootloader_offset(base->chip, &res->region_lo)) {
        return ESP_ERR_INVALID_ARG;
    }
    res->region_hi = base->ptable_offset;
    double t0 = now_s();

    /* 1. The reference run. */
    esp_err_t e = reference_run(base, cfg, res, t0);
    if (e != ESP_OK) {
        return e;
    }
    window_from_trace(res);
    if (!res->ref_ok) {
        return ESP_ERR_INVALID_STATE;
    }

    /* 2. The cut points. */
    if (cfg->sweep) {
        res->np = pick_points(res);
        if (res->np == 0) {
            return ESP_ERR_NO_MEM;
        }
        res->swept = true;
        sweep_ctx_t cx = { .base = base, .cfg = cfg, .res = res };
        res->missing = run_points(&cx, res->points, res->np, res->jobs, t0);
    }
    res->sweep_s = now_s() - t0;

    /* 3. Network faults. */
    if (cfg->net_faults) {
        res->nnf = run_net_faults(base, cfg, res, t0);
        if (res->nnf < 0) {
            res->nnf = 0;
            return ESP_ERR_NO_MEM;
        }
    }
    res->total_s = now_s() - t0;
    tally(res);
    res->ok = res->bad_points == 0 && res->missing == 0 && res->nf_bad == 0;
    return ESP_OK;
}

void rf_rehearse_result_free(rf_rehearse_result_t *res)
{
    if (res != NULL) {
        free(res->trace);
        free(res->ref_flash);
        free(res->points);
        free(res->nf);
        memset(res, 0, sizeof *res);
    }
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

static const char *mode_name(uint8_t m)
{
    return m == NOR_CUT_MIDDLE ? "middle" : "before";
}

/* Points are grouped into runs of consecutive points (of one cut mode) with
 * the same outcome, window side, rerun result and sanity. */
static bool same_group(const point_t *a, const point_t *b)
{
    return a->mode == b->mode && a->done == b->done && a->outcome == b->outcome &&
           (a->outcome != RF_BOOT_BRICK || a->in_window == b->in_window) &&
           rf_rehearse_point_rerun_ok(a) == rf_rehearse_point_rerun_ok(b) && a->cut_reached == b->cut_reached &&
           (a->trace_mismatches == 0) == (b->trace_mismatches == 0) &&
           (a->rerun_err == ESP_OK) == (b->rerun_err == ESP_OK);
}

static uint32_t group_end(const point_t *pts, uint32_t np, uint32_t i)
{
    uint32_t j = i;
    while (j + 1 < np && same_group(&pts[i], &pts[j + 1])) {
        j++;
    }
    return j;
}

static const char *group_label(const point_t *p, char *buf, size_t n)
{
    if (!p->done) {
        snprintf(buf, n, "NOT RUN");
    } else if (p->outcome == RF_BOOT_BRICK) {
        snprintf(buf, n, "BRICK (%s window)", p->in_window ? "inside" : "OUTSIDE");
    } else {
        snprintf(buf, n, "%s", rf_boot_result_name((rf_boot_result_t)p->outcome));
    }
    return buf;
}

static const char *err_name(esp_err_t e)
{
    return e == ESP_OK ? "" : esp_err_to_name(e);
}

static cJSON *point_list(const rf_rehearse_result_t *res, bool (*pred)(const point_t *))
{
    cJSON *a = cJSON_CreateArray();
    uint32_t listed = 0;
    for (uint32_t i = 0; a != NULL && i < res->np && listed < LIST_CAP; i++) {
        if (pred(&res->points[i])) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "op", res->points[i].k);
            cJSON_AddStringToObject(o, "cut", mode_name(res->points[i].mode));
            cJSON_AddItemToArray(a, o);
            listed++;
        }
    }
    return a;
}

static bool rerun_failed(const point_t *p)
{
    return !rf_rehearse_point_rerun_ok(p);
}

cJSON *rf_rehearse_outcomes_json(const uint32_t outcomes[3])
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "OLD", outcomes[RF_BOOT_OLD]);
    cJSON_AddNumberToObject(o, "NEW", outcomes[RF_BOOT_NEW]);
    cJSON_AddNumberToObject(o, "BRICK", outcomes[RF_BOOT_BRICK]);
    return o;
}

cJSON *rf_rehearse_json(const rf_rehearse_result_t *res, const char *device, const char *mode,
                        const char *const *sources)
{
    cJSON *j = cJSON_CreateObject();
    if (j == NULL) {
        return NULL;
    }
    cJSON_AddBoolToObject(j, "ok", res->ok);
    cJSON_AddStringToObject(j, "mode", mode);
    cJSON_AddStringToObject(j, "device", device);
    cJSON_AddStringToObject(j, "chip", res->chip);
    cJSON_AddNumberToObject(j, "write_ops", res->write_ops);
    cJSON_AddNumberToObject(j, "stride", res->stride);
    cJSON_AddBoolToObject(j, "mid_op", res->mid_op);
    cJSON_AddNumberToObject(j, "cut_points", res->np);
    cJSON_AddItemToObject(j, "outcomes", rf_rehearse_outcomes_json(res->outcomes));
    cJSON_AddNumberToObject(j, "brick_inside_window", res->brick_inside);
    cJSON_AddNumberToObject(j, "brick_outside_window", res->brick_outside);
    if (res->win_first != 0) {
        cJSON *w = cJSON_AddArrayToObject(j, "window_ops");
        cJSON_AddItemToArray(w, cJSON_CreateNumber(res->win_first));
        cJSON_AddItemToArray(w, cJSON_CreateNumber(res->win_last));
        cJSON_AddNumberToObject(j, "window_ms", res->win_ms);
        cJSON_AddNumberToObject(j, "window_start_ms", res->win_start_ms);
        cJSON_AddNumberToObject(j, "window_end_ms", res->win_end_ms);
    } else {
        cJSON_AddNullToObject(j, "window_ops");
        cJSON_AddNumberToObject(j, "window_ms", 0);
    }
    cJSON *wr = cJSON_AddArrayToObject(j, "window_region");
    cJSON_AddItemToArray(wr, cJSON_CreateNumber(res->region_lo));
    cJSON_AddItemToArray(wr, cJSON_CreateNumber(res->region_hi));
    cJSON *rw = cJSON_AddObjectToObject(j, "reference_window_ms");
    cJSON_AddNumberToObject(rw, "download_example", 690);
    cJSON_AddNumberToObject(rw, "embedded_example", 12310);
    cJSON_AddNumberToObject(j, "reruns_ended_new", res->ended_new);
    cJSON_AddNumberToObject(j, "reruns_ok", res->rerun_ok);
    cJSON_AddNumberToObject(j, "rerun_failures", res->np - res->rerun_ok);
    cJSON_AddNumberToObject(j, "rerun_errors", res->rerun_errors);
    cJSON_AddNumberToObject(j, "reruns_flash_identical", res->flash_same);
    cJSON_AddNumberToObject(j, "cuts_not_reached", res->not_reached);
    cJSON_AddNumberToObject(j, "trace_mismatches", res->mismatched);
    cJSON_AddNumberToObject(j, "points_not_run", res->missing);
    cJSON *r = cJSON_AddObjectToObject(j, "reference_run");
    const nor_sim_counters_t *c = &res->ref_counters;
    cJSON_AddNumberToObject(r, "device_time_ms", (double)c->time_ns / 1e6);
    cJSON_AddNumberToObject(r, "write_ops", res->write_ops);
    cJSON_AddNumberToObject(r, "program_ops", (double)c->program_ops);
    cJSON_AddNumberToObject(r, "erase_ops", (double)c->erase_ops);
    cJSON_AddNumberToObject(r, "bytes_erased", (double)c->bytes_erased);
    cJSON_AddNumberToObject(r, "bytes_programmed", (double)c->bytes_programmed);
    cJSON_AddNumberToObject(r, "network_bytes", (double)res->ref_net_bytes);
    cJSON_AddStringToObject(r, "boot", rf_boot_result_name(res->ref_boot));
    cJSON_AddStringToObject(r, "boot_reason", res->ref_reason);
    cJSON_AddItemToObject(j, "brick_outside_points", point_list(res, rf_rehearse_point_brick_outside));
    cJSON_AddItemToObject(j, "rerun_failure_points", point_list(res, rerun_failed));
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    char label[64];
    for (uint32_t i = 0; i < res->np;) {
        uint32_t e = group_end(res->points, res->np, i);
        const point_t *p = &res->points[i];
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "cut", mode_name(p->mode));
        cJSON_AddNumberToObject(g, "first", p->k);
        cJSON_AddNumberToObject(g, "last", res->points[e].k);
        cJSON_AddNumberToObject(g, "points", e - i + 1);
        cJSON_AddStringToObject(g, "outcome", rf_boot_result_name((rf_boot_result_t)p->outcome));
        cJSON_AddStringToObject(g, "label", group_label(p, label, sizeof label));
        cJSON_AddBoolToObject(g, "in_window", p->in_window);
        cJSON_AddBoolToObject(g, "rerun_ok", rf_rehearse_point_rerun_ok(p));
        cJSON_AddStringToObject(g, "rerun", rf_boot_result_name((rf_boot_result_t)p->rerun_outcome));
        cJSON_AddStringToObject(g, "rerun_error", err_name(p->rerun_err));
        cJSON_AddBoolToObject(g, "destinations_ok", p->dest_ok);
        cJSON_AddBoolToObject(g, "cut_reached", p->cut_reached);
        cJSON_AddBoolToObject(g, "trace_mismatch", p->trace_mismatches != 0);
        cJSON_AddStringToObject(g, "reason", p->reason);
        cJSON_AddStringToObject(g, "rerun_reason", p->rerun_reason);
        cJSON_AddItemToArray(runs, g);
        i = e + 1;
    }
    if (res->net_faults) {
        cJSON *nf = cJSON_AddArrayToObject(j, "net_faults");
        for (int i = 0; i < res->nnf; i++) {
            const rf_rehearse_netfault_t *f = &res->nf[i];
            cJSON *g = cJSON_CreateObject();
            cJSON_AddStringToObject(g, "image", sources ? sources[f->source] : "");
            cJSON_AddStringToObject(g, "fault", f->fault);
            cJSON_AddStringToObject(g, "kind", rf_fault_kind_name(f->kind));
            cJSON_AddStringToObject(g, "error", err_name(f->err));
            cJSON_AddStringToObject(g, "after", rf_boot_result_name(f->after));
            cJSON_AddStringToObject(g, "reason", f->reason);
            cJSON_AddStringToObject(g, "error_line", f->err_line);
            cJSON_AddStringToObject(g, "rerun", rf_boot_result_name(f->rerun));
            cJSON_AddStringToObject(g, "rerun_error", err_name(f->rerun_err));
            cJSON_AddBoolToObject(g, "destinations_ok", f->dest_ok);
            cJSON_AddNumberToObject(g, "served_bytes", (double)f->served);
            cJSON_AddNumberToObject(g, "rerun_bytes", (double)f->rerun_bytes);
            cJSON_AddBoolToObject(g, "ok", f->ok);
            cJSON_AddItemToArray(nf, g);
        }
        cJSON_AddNumberToObject(j, "net_fault_failures", res->nf_bad);
    }
    cJSON_AddNumberToObject(j, "jobs", res->jobs);
    cJSON_AddNumberToObject(j, "elapsed_s", res->total_s);
    return j;
}

static void print_table(FILE *out, const rf_rehearse_result_t *res)
{
    char label[64];
    const point_t *pts = res->points;
    for (uint32_t i = 0; i < res->np;) {
        uint32_t j = group_end(pts, res->np, i);
        const point_t *p = &pts[i];
        char ops[48];
        if (p->k == pts[j].k) {
            snprintf(ops, sizeof ops, "%u", (unsigned)p->k);
        } else {
            snprintf(ops, sizeof ops, "%u-%u", (unsigned)p->k, (unsigned)pts[j].k);
        }
        fprintf(out, "  %-6s %-11s %6u  %-22s %s%s%s%s\n", mode_name(p->mode), ops, (unsigned)(j - i + 1),
                group_label(p, label, sizeof label), rf_rehearse_point_rerun_ok(p) ? "NEW, destinations ok" : "FAILED",
                p->rerun_err != ESP_OK ? " (rerun returned an error)" : "",
                p->cut_reached ? "" : "  [cut never reached]",
                p->trace_mismatches ? "  [ops differ from the reference]" : "");
        fprintf(out, "  %-6s %-11s %6s    %.110s\n", "", "", "", p->reason);
        if (!rf_rehearse_point_rerun_ok(p) || p->rerun_err != ESP_OK) {
            fprintf(out, "  %-6s %-11s %6s    rerun: %s%s: %.100s\n", "", "", "",
                    rf_boot_result_name((rf_boot_result_t)p->rerun_outcome), p->dest_ok ? "" : ", destinations differ",
                    p->rerun_reason);
        }
        i = j + 1;
    }
}

static void print_points(FILE *out, const char *head, const rf_rehearse_result_t *res, uint32_t total,
                         bool (*pred)(const point_t *))
{
    fprintf(out, "%s", head);
    uint32_t listed = 0;
    for (uint32_t i = 0; i < res->np && listed < 20; i++) {
        if (res->points[i].done && pred(&res->points[i])) {
            fprintf(out, " %s%u", res->points[i].mode == NOR_CUT_MIDDLE ? "mid-" : "", (unsigned)res->points[i].k);
            listed++;
        }
    }
    fprintf(out, "%s\n", total > listed ? " ..." : "");
}

void rf_rehearse_print(FILE *out, const rf_rehearse_result_t *res, const char *device, const char *mode,
                       const char *const *sources, bool table)
{
    if (table) {
        fprintf(out, "power-cut sweep of %s (%s mode, %s): %u write ops in the reference run (%.1f ms of device time)\n",
                device, mode, res->chip, (unsigned)res->write_ops, (double)res->ref_counters.time_ns / 1e6);
        fprintf(out, "cut points: %u (stride %u%s%s), %d job%s\n\n", (unsigned)res->np, (unsigned)res->stride,
                res->stride > 1 ? ", plus the window's edges and the last op" : "",
                res->mid_op ? ", before and mid-op" : "", res->jobs, res->jobs == 1 ? "" : "s");
        fprintf(out, "  %-6s %-11s %6s  %-22s %s\n", "cut", "op", "points", "boots after the cut", "rerun");
        print_table(out, res);
        fprintf(out, "\n");
    }
    if (res->win_first != 0) {
        fprintf(out, "brick window: ops %u-%u (writes to 0x%x-0x%x, the second-stage bootloader), %.1f ms of simulated "
                     "device time (%.1f .. %.1f ms)\n",
                (unsigned)res->win_first, (unsigned)res->win_last, (unsigned)res->region_lo, (unsigned)res->region_hi,
                res->win_ms, res->win_start_ms, res->win_end_ms);
    } else {
        fprintf(out, "brick window: none (no write touches 0x%x-0x%x)\n", (unsigned)res->region_lo,
                (unsigned)res->region_hi);
    }
    fprintf(out, "reference component (device-timings.md): download example 690 ms (bootloader erase + copy); "
                 "embedded example 12,310 ms (the whole copy)\n");
    fprintf(out, "outcomes: OLD %u, NEW %u, BRICK %u (inside the window %u, OUTSIDE %u)\n",
            (unsigned)res->outcomes[0], (unsigned)res->outcomes[1], (unsigned)res->outcomes[2],
            (unsigned)res->brick_inside, (unsigned)res->brick_outside);
    fprintf(out, "reruns: %u/%u ended NEW with the reference's destinations (%u with the whole flash identical; "
                 "%u rerun(s) returned an error)\n",
            (unsigned)res->rerun_ok, (unsigned)res->np, (unsigned)res->flash_same, (unsigned)res->rerun_errors);
    if (res->rerun_ok != res->np) {
        print_points(out, "rerun failures at:", res, res->np - res->rerun_ok, rerun_failed);
    }
    if (res->not_reached || res->mismatched || res->missing) {
        fprintf(out, "sanity: %u cut(s) never reached, %u run(s) whose ops differ from the reference, %u not run\n",
                (unsigned)res->not_reached, (unsigned)res->mismatched, (unsigned)res->missing);
    }
    if (res->brick_outside) {
        print_points(out, "BRICK outside the window at:", res, res->brick_outside, rf_rehearse_point_brick_outside);
    }
    for (int i = 0; i < res->nnf; i++) {
        const rf_rehearse_netfault_t *f = &res->nf[i];
        fprintf(out, "network fault: %s %s: %s, device %s; rerun %s%s (read %lld bytes again); source delivered %lld "
                     "bytes: %s\n",
                sources ? sources[f->source] : "?", f->fault, f->err == ESP_OK ? "NOT DETECTED" : esp_err_to_name(f->err),
                rf_boot_result_name(f->after), rf_boot_result_name(f->rerun), f->dest_ok ? "" : " (destinations differ)",
                f->rerun_bytes, f->served, f->ok ? "ok" : "FAILED");
    }
    fprintf(out, "%s (%.1f s; sweep %.1f s, %d job%s)\n", res->ok ? "PASS" : "FAIL", res->total_s, res->sweep_s,
            res->jobs, res->jobs == 1 ? "" : "s");
}
