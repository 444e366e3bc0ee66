/*
 * reflasher rehearse --device DEVICE.img
 *                    (--image SOURCE@DEST[:SIZE] ... | --embedded FILE@DEST[:SIZE] [--at ADDR])
 *                    --power-cut-sweep [--mid-op] [--stride N] [--net-faults] [--jobs N]
 *                    [--json] [--quiet]
 *
 * "Every failure is an outcome": rehearse a migration on in-memory copies of
 * DEVICE.img (never written) with a power cut at every flash write.
 *
 *  1. Reference run: on a copy, the migration runs once (the same functions
 *     as `migrate`: rf_cli_run_download / rf_cli_run_embedded; for
 *     --embedded the image is first placed in the running app, once, as the
 *     linker would) while nor_sim's trace records every program and erase:
 *     N write operations. It must succeed and the boot model must say NEW.
 *  2. For each cut point k (every --stride'th of 1..N, plus the brick
 *     window's edges and op N; --mid-op adds a cut in the middle of op k,
 *     seed k): on a fresh copy, arm the cut, run the migration (it fails at
 *     the cut), restore power, model the boot (OLD / NEW / BRICK + reason);
 *     then run the migration again on that copy (a "rerun": what a device
 *     does when it boots back into the migrating app), which must succeed,
 *     boot NEW and leave every destination region equal to the reference
 *     run's.
 *  3. The brick window, from the reference trace: the write operations that
 *     touch the second-stage bootloader's sectors (the chip's bootloader
 *     offset up to the partition table offset), from the first one to the
 *     last program there, as an op range and in simulated device time. A
 *     BRICK inside it is expected (no second-stage bootloader can be whole
 *     while it is being rewritten); a BRICK anywhere else is a failure.
 *     Inside means: cut before op k with first < k <= last (ops 1..k-1 done,
 *     at least one of them in the window, the last one not yet); cut in the
 *     middle of op k with first <= k <= last.
 *
 * --net-faults (download mode, http sources): for each image, the first run
 * gets a fault from the test server's query-string injection (close_at at
 * 10 %, 50 % and 90 % of the image, then status=500); the device must not be
 * BRICK afterwards and a rerun with the plain URLs must end NEW with the
 * reference's destinations. Bytes the server sent come from its /__stats.
 *
 * Cut points run in --jobs worker processes (fork; default: online CPUs, at
 * most 8), each on its own copies; results come back through shared memory.
 * Exit status: 0 all good, 1 a failure (reference run, BRICK outside the
 * window, a rerun, a network fault), 2 usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "cli.h"
#include "migrate_run.h"
#include "planning.h"
#include "rf_boot.h"
#include "rf_device.h"
#include "rf_host_source.h"
#include "self_reflasher_platform.h"

#define MAX_IMAGES 16
#define MAX_JOBS 64
#define REASON_LEN 240
#define LIST_CAP 200 /* failing points listed by number in the output */

/* ------------------------------------------------------------------------ */
/* The scenario and one run of it                                           */
/* ------------------------------------------------------------------------ */

typedef struct scenario {
    bool embedded;
    rf_image_arg_t *imgs; /* download: in execution order (bootloader region last) */
    int n;
    uint32_t at;          /* embedded: where the image sits in the running app */
    uint32_t emb_len;
} scenario_t;

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

static esp_err_t run_migration(rf_device_t *d, scenario_t *sc)
{
    if (sc->embedded) {
        return rf_cli_run_embedded(d, &sc->imgs[0], sc->at, sc->emb_len);
    }
    int failed_at = 0;
    return rf_cli_run_download(d, sc->imgs, sc->n, &failed_at);
}

/* Every destination region of `d` equals the reference's final content. */
static bool dest_equal(rf_device_t *d, const uint8_t *ref, const scenario_t *sc)
{
    const uint8_t *a = nor_sim_data(d->sim);
    uint32_t size = nor_sim_config(d->sim)->size;
    for (int i = 0; i < sc->n; i++) {
        uint64_t lo = sc->imgs[i].dest, hi = lo + sc->imgs[i].size;
        if (hi > size) {
            hi = size;
        }
        if (lo < hi && memcmp(a + lo, ref + lo, (size_t)(hi - lo)) != 0) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Traces                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct trace {
    nor_sim_op_t *v;
    size_t n, cap;
    bool oom;
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
}

/* A cut run's operations up to the cut must be the reference's: otherwise
 * "cut at op k" would not mean the same state in every run. */
typedef struct trace_check {
    const trace_t *ref;
    uint64_t limit;
    uint32_t mismatches;
} trace_check_t;

static void trace_check(void *arg, const nor_sim_op_t *op)
{
    trace_check_t *c = arg;
    if (op->number > c->limit) {
        return;
    }
    if (op->number == 0 || op->number > c->ref->n) {
        c->mismatches++;
        return;
    }
    const nor_sim_op_t *r = &c->ref->v[op->number - 1];
    if (r->kind != op->kind || r->addr != op->addr || r->len != op->len) {
        c->mismatches++;
    }
}

/* ------------------------------------------------------------------------ */
/* Cut points                                                               */
/* ------------------------------------------------------------------------ */

typedef struct point {
    uint32_t k;             /* op number */
    uint8_t mode;           /* NOR_CUT_BEFORE / NOR_CUT_MIDDLE */
    uint8_t done;
    uint8_t cut_reached;    /* the armed cut happened */
    uint8_t outcome;        /* rf_boot_result_t after the cut */
    uint8_t in_window;
    uint8_t rerun_outcome;
    uint8_t dest_ok;
    uint8_t flash_same;     /* whole flash equal to the reference's after the rerun */
    int32_t cut_err;        /* what the cut run returned */
    int32_t rerun_err;
    uint32_t trace_mismatches;
    char reason[REASON_LEN];
    char rerun_reason[REASON_LEN];
} point_t;

/* The rerun's verdict is the device's: it must boot NEW with every
 * destination equal to the reference's. An error the rerun returns on the
 * way (e.g. a plan it refuses because the cut run already erased the
 * partition table) is reported, but is not a failure by itself when the
 * device is right anyway. */
static bool point_rerun_ok(const point_t *p)
{
    return p->done && p->rerun_outcome == RF_BOOT_NEW && p->dest_ok;
}

static bool point_brick_outside(const point_t *p)
{
    return p->done && p->outcome == RF_BOOT_BRICK && !p->in_window;
}

static bool point_ok(const point_t *p)
{
    return p->done && p->cut_reached && p->trace_mismatches == 0 && !point_brick_outside(p) && point_rerun_ok(p);
}

typedef struct window {
    uint32_t region_lo, region_hi; /* [bootloader offset, partition table offset) */
    uint32_t first, last;          /* op numbers, 0 = none */
    double ms;
    double t_start_ms, t_end_ms;
} window_t;

static bool in_window(const window_t *w, uint32_t k, nor_cut_mode_t mode)
{
    if (w->first == 0) {
        return false;
    }
    return mode == NOR_CUT_BEFORE ? (k > w->first && k <= w->last) : (k >= w->first && k <= w->last);
}

static void window_from_trace(const trace_t *t, window_t *w)
{
    uint32_t last_prog = 0, last_any = 0;
    w->first = 0;
    for (size_t i = 0; i < t->n; i++) {
        const nor_sim_op_t *op = &t->v[i];
        uint64_t lo = op->addr, hi = (uint64_t)op->addr + op->len;
        if (op->len == 0 || hi <= w->region_lo || lo >= w->region_hi) {
            continue;
        }
        if (w->first == 0) {
            w->first = (uint32_t)(i + 1);
        }
        last_any = (uint32_t)(i + 1);
        if (op->kind == NOR_OP_PROGRAM) {
            last_prog = (uint32_t)(i + 1);
        }
    }
    w->last = last_prog != 0 ? last_prog : last_any;
    if (w->first != 0) {
        w->t_start_ms = (double)t->v[w->first - 1].t_start_ns / 1e6;
        w->t_end_ms = (double)t->v[w->last - 1].t_end_ns / 1e6;
        w->ms = w->t_end_ms - w->t_start_ms;
    }
}

/* The reference run's write operations as CSV (--trace FILE). */
static bool write_trace(const char *path, const trace_t *t, const window_t *w)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(f, "op,kind,addr,len,t_start_ms,t_end_ms,bootloader_window\n");
    for (size_t i = 0; i < t->n; i++) {
        const nor_sim_op_t *op = &t->v[i];
        uint32_t k = (uint32_t)(i + 1);
        fprintf(f, "%u,%s,0x%x,0x%x,%.3f,%.3f,%d\n", (unsigned)k, op->kind == NOR_OP_ERASE ? "erase" : "program",
                (unsigned)op->addr, (unsigned)op->len, (double)op->t_start_ns / 1e6, (double)op->t_end_ns / 1e6,
                w->first != 0 && k >= w->first && k <= w->last);
    }
    return fclose(f) == 0;
}

typedef struct sweep_ctx {
    const rf_device_t *base;
    scenario_t *sc;
    const trace_t *ref_trace;
    const uint8_t *ref_flash;
    const window_t *win;
} sweep_ctx_t;

/* Copy a reason line, cut to REASON_LEN - 1 characters. */
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

static void run_point(const sweep_ctx_t *cx, point_t *p)
{
    rf_device_t d;
    logcap_t cap;
    if (clone_dev(cx->base, &d, &cap) != ESP_OK) {
        copy_reason(p->reason, "out of memory");
        return;
    }
    trace_check_t chk = { .ref = cx->ref_trace, .limit = p->k };
    nor_sim_set_trace(d.sim, trace_check, &chk);
    nor_sim_arm_cut(d.sim, (nor_cut_mode_t)p->mode, p->k, p->k);
    p->cut_err = (int32_t)run_migration(&d, cx->sc);
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
    p->in_window = in_window(cx->win, p->k, (nor_cut_mode_t)p->mode);

    memset(&cap, 0, sizeof cap);
    p->rerun_err = (int32_t)run_migration(&d, cx->sc);
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
    p->dest_ok = dest_equal(&d, cx->ref_flash, cx->sc);
    p->flash_same = memcmp(nor_sim_data(d.sim), cx->ref_flash, nor_sim_config(d.sim)->size) == 0;
    free(rep);
    rf_device_close(&d);
    p->done = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct progress {
    bool on;
    uint32_t total;
    int next_pct;
    double t0;
} progress_t;

static void progress_show(progress_t *pr, uint32_t done)
{
    if (!pr->on || pr->total == 0) {
        return;
    }
    while (pr->next_pct <= 100 && (uint64_t)done * 100 >= (uint64_t)pr->next_pct * pr->total) {
        fprintf(stderr, "rehearse: %3d%% (%u/%u cut points, %.1f s)\n", pr->next_pct, (unsigned)done,
                (unsigned)pr->total, now_s() - pr->t0);
        pr->next_pct += 10;
    }
}

/* Run every point, in `jobs` processes. Returns the number of points a
 * worker never finished (a crash). */
static uint32_t run_points(const sweep_ctx_t *cx, point_t *pts, uint32_t np, int jobs, progress_t *pr)
{
    if (jobs <= 1 || np < 2) {
        for (uint32_t i = 0; i < np; i++) {
            run_point(cx, &pts[i]);
            progress_show(pr, i + 1);
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
        fprintf(stderr, "reflasher rehearse: no shared memory (%s): running in one process\n", strerror(errno));
        return run_points(cx, pts, np, 1, pr);
    }
    point_t *sp = shm;
    uint32_t *count = (uint32_t *)(sp + np);
    memcpy(sp, pts, (size_t)np * sizeof *pts);
    memset(count, 0, (size_t)jobs * sizeof *count);
    fflush(stdout);
    fflush(stderr);
    pid_t pid[MAX_JOBS];
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
            fprintf(stderr, "reflasher rehearse: fork: %s\n", strerror(errno));
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
                        fprintf(stderr, "reflasher rehearse: worker %d died (status 0x%x)\n", w, (unsigned)st);
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
        progress_show(pr, done);
        if (alive > 0) {
            usleep(20000);
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
/* Network faults (download mode)                                           */
/* ------------------------------------------------------------------------ */

typedef struct netfault {
    int img;                /* index in execution order */
    char fault[64];         /* "close_at=104857" */
    esp_err_t err;          /* what the faulty run returned */
    rf_boot_result_t after; /* boot model after it */
    char reason[REASON_LEN];
    char err_line[REASON_LEN];
    esp_err_t rerun_err;
    rf_boot_result_t rerun;
    bool dest_ok;
    long long served;       /* body bytes the server sent for that path, -1 unknown */
    bool ok;
} netfault_t;

static bool is_http(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* "http://h:p/a/b.bin?x" -> base "http://h:p", path "/a/b.bin". */
static bool split_url(const char *url, char *base, size_t nb, char *path, size_t np)
{
    const char *s = strstr(url, "://");
    if (s == NULL) {
        return false;
    }
    const char *slash = strchr(s + 3, '/');
    if (slash == NULL) {
        return false;
    }
    snprintf(base, nb, "%.*s", (int)(slash - url), url);
    size_t plen = strcspn(slash, "?#");
    snprintf(path, np, "%.*s", (int)plen, slash);
    return true;
}

typedef struct membuf {
    char buf[65536];
    size_t n;
} membuf_t;

static size_t membuf_write(char *p, size_t size, size_t nmemb, void *arg)
{
    membuf_t *m = arg;
    size_t n = size * nmemb;
    size_t room = sizeof m->buf - 1 - m->n;
    size_t take = n < room ? n : room;
    memcpy(m->buf + m->n, p, take);
    m->n += take;
    m->buf[m->n] = 0;
    return n;
}

/* Body bytes the test server (tests/support/http_server.py) has sent for
 * `path`, from its /__stats; -1 when the server has no such page. */
static long long served_bytes(const char *base, const char *path)
{
    char url[2200];
    snprintf(url, sizeof url, "%s/__stats", base);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return -1;
    }
    membuf_t *m = calloc(1, sizeof *m);
    long code = 0;
    long long r = -1;
    if (m != NULL) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, membuf_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
            code == 200 && m->buf[0] == '{') {
            char key[1100];
            snprintf(key, sizeof key, "\"%s\":{\"bytes\":", path);
            const char *k = strstr(m->buf, key);
            r = k != NULL ? strtoll(k + strlen(key), NULL, 10) : 0;
        }
    }
    free(m);
    curl_easy_cleanup(c);
    return r;
}

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

static int run_net_faults(const rf_device_t *base, scenario_t *sc, const uint8_t *ref_flash, netfault_t *out,
                          int cap, bool progress)
{
    int nf = 0;
    rf_image_arg_t *faulty = calloc((size_t)sc->n, sizeof *faulty);
    if (faulty == NULL) {
        return 0;
    }
    for (int i = 0; i < sc->n; i++) {
        if (!is_http(sc->imgs[i].source)) {
            continue;
        }
        int64_t len = source_len(sc->imgs[i].source);
        char base_url[2100], path[1024];
        bool have_stats = split_url(sc->imgs[i].source, base_url, sizeof base_url, path, sizeof path);
        char faults[4][64];
        int nfaults = 0;
        static const int pct[] = { 10, 50, 90 };
        for (int j = 0; j < 3 && len > 0; j++) {
            snprintf(faults[nfaults++], sizeof faults[0], "close_at=%lld", (long long)(len * pct[j] / 100));
        }
        snprintf(faults[nfaults++], sizeof faults[0], "status=500");
        for (int j = 0; j < nfaults && nf < cap; j++) {
            netfault_t *f = &out[nf++];
            memset(f, 0, sizeof *f);
            f->img = i;
            snprintf(f->fault, sizeof f->fault, "%s", faults[j]);
            memcpy(faulty, sc->imgs, (size_t)sc->n * sizeof *faulty);
            size_t sl = strlen(faulty[i].source);
            snprintf(faulty[i].source + sl, sizeof faulty[i].source - sl, "%s%s",
                     strchr(sc->imgs[i].source, '?') ? "&" : "?", faults[j]);
            scenario_t fsc = *sc;
            fsc.imgs = faulty;

            rf_device_t d;
            logcap_t cap_log;
            if (clone_dev(base, &d, &cap_log) != ESP_OK) {
                snprintf(f->reason, sizeof f->reason, "out of memory");
                continue;
            }
            long long before = have_stats ? served_bytes(base_url, path) : -1;
            f->err = run_migration(&d, &fsc);
            long long after = before >= 0 ? served_bytes(base_url, path) : -1;
            f->served = (before >= 0 && after >= 0) ? after - before : -1;
            copy_reason(f->err_line, cap_log.first_err);
            rf_boot_report_t *rep = calloc(1, sizeof *rep);
            if (rep == NULL) {
                rf_device_close(&d);
                continue;
            }
            f->after = rf_boot_model_device(&d, NULL, rep);
            copy_reason(f->reason, rep->reason);
            f->rerun_err = run_migration(&d, sc);
            f->rerun = rf_boot_model_device(&d, NULL, rep);
            f->dest_ok = dest_equal(&d, ref_flash, sc);
            f->ok = f->err != ESP_OK && f->after != RF_BOOT_BRICK && f->rerun_err == ESP_OK && f->rerun == RF_BOOT_NEW &&
                    f->dest_ok;
            free(rep);
            rf_device_close(&d);
            if (progress) {
                fprintf(stderr, "rehearse: network fault %d: %s?%s: %s, then %s; rerun %s\n", nf, path, f->fault,
                        esp_err_to_name(f->err), rf_boot_result_name(f->after), rf_boot_result_name(f->rerun));
            }
        }
    }
    free(faulty);
    return nf;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(o, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(o, "\\u%04x", ch);
        } else {
            fputc(ch, o);
        }
    }
    fputc('"', o);
}

static const char *mode_name(uint8_t m)
{
    return m == NOR_CUT_MIDDLE ? "middle" : "before";
}

/* Points are grouped into runs of consecutive points (of one cut mode) with
 * the same outcome, window side, rerun result and sanity. */
static bool same_group(const point_t *a, const point_t *b)
{
    return a->mode == b->mode && a->done == b->done && a->outcome == b->outcome &&
           (a->outcome != RF_BOOT_BRICK || a->in_window == b->in_window) && point_rerun_ok(a) == point_rerun_ok(b) &&
           a->cut_reached == b->cut_reached && (a->trace_mismatches == 0) == (b->trace_mismatches == 0) &&
           (a->rerun_err == ESP_OK) == (b->rerun_err == ESP_OK);
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

static void print_table(const point_t *pts, uint32_t np)
{
    char label[64];
    uint32_t i = 0;
    while (i < np) {
        uint32_t j = i;
        while (j + 1 < np && same_group(&pts[i], &pts[j + 1])) {
            j++;
        }
        const point_t *p = &pts[i];
        char ops[48];
        if (p->k == pts[j].k) {
            snprintf(ops, sizeof ops, "%u", (unsigned)p->k);
        } else {
            snprintf(ops, sizeof ops, "%u-%u", (unsigned)p->k, (unsigned)pts[j].k);
        }
        printf("  %-6s %-11s %6u  %-22s %s%s%s%s\n", mode_name(p->mode), ops, (unsigned)(j - i + 1),
               group_label(p, label, sizeof label), point_rerun_ok(p) ? "NEW, destinations ok" : "FAILED",
               p->rerun_err != ESP_OK ? " (rerun returned an error)" : "",
               p->cut_reached ? "" : "  [cut never reached]", p->trace_mismatches ? "  [ops differ from the reference]" : "");
        printf("  %-6s %-11s %6s    %.110s\n", "", "", "", p->reason);
        if (!point_rerun_ok(p) || p->rerun_err != ESP_OK) {
            printf("  %-6s %-11s %6s    rerun: %s%s: %.100s\n", "", "", "",
                   rf_boot_result_name((rf_boot_result_t)p->rerun_outcome), p->dest_ok ? "" : ", destinations differ",
                   p->rerun_reason);
        }
        i = j + 1;
    }
}

static void print_json_groups(const point_t *pts, uint32_t np)
{
    char label[64];
    uint32_t i = 0;
    bool first = true;
    printf("[");
    while (i < np) {
        uint32_t j = i;
        while (j + 1 < np && same_group(&pts[i], &pts[j + 1])) {
            j++;
        }
        const point_t *p = &pts[i];
        printf("%s{\"cut\":\"%s\",\"first\":%u,\"last\":%u,\"points\":%u,\"outcome\":\"%s\",\"label\":\"%s\","
               "\"in_window\":%s,\"rerun_ok\":%s,\"rerun\":\"%s\",\"rerun_error\":\"%s\",\"destinations_ok\":%s,\"cut_reached\":%s,\"trace_mismatch\":%s,\"reason\":",
               first ? "" : ",", mode_name(p->mode), (unsigned)p->k, (unsigned)pts[j].k, (unsigned)(j - i + 1),
               rf_boot_result_name((rf_boot_result_t)p->outcome), group_label(p, label, sizeof label),
               p->in_window ? "true" : "false", point_rerun_ok(p) ? "true" : "false",
               rf_boot_result_name((rf_boot_result_t)p->rerun_outcome),
               p->rerun_err == ESP_OK ? "" : esp_err_to_name(p->rerun_err), p->dest_ok ? "true" : "false",
               p->cut_reached ? "true" : "false",
               p->trace_mismatches ? "true" : "false");
        json_str(stdout, p->reason);
        printf(",\"rerun_reason\":");
        json_str(stdout, p->rerun_reason);
        printf("}");
        first = false;
        i = j + 1;
    }
    printf("]");
}

/* ------------------------------------------------------------------------ */
/* The command                                                              */
/* ------------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher rehearse --device DEVICE.img --image SOURCE@DEST[:SIZE] [--image ...]\n"
            "                          --power-cut-sweep [--mid-op] [--stride N] [--net-faults] [--jobs N] [--trace OPS.csv]\n"
            "                          [--json] [--quiet]\n"
            "       reflasher rehearse --device DEVICE.img --embedded FILE@DEST[:SIZE] [--at ADDR]\n"
            "                          --power-cut-sweep [--mid-op] [--stride N] [--jobs N] [--trace OPS.csv] [--json] [--quiet]\n"
            "Runs the migration on in-memory copies of DEVICE.img (never written) with a power cut before\n"
            "(and with --mid-op, in the middle of) every Nth flash write, models each boot, reruns it to the\n"
            "end; exit 1 if a cut bricks the device outside the bootloader window or a rerun does not boot NEW.\n");
    return 2;
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        n = 1;
    }
    return n > 8 ? 8 : (int)n;
}

int cmd_rehearse(int argc, char **argv)
{
    const char *device = NULL, *trace_path = NULL;
    rf_image_arg_t *imgs = calloc(MAX_IMAGES, sizeof *imgs);
    int n_img = 0, jobs = default_jobs();
    bool embedded = false, json = false, quiet = false, sweep = false, mid_op = false, net_faults = false;
    bool at_given = false;
    uint32_t at = 0x14294, stride = 1;
    char err[512];
    int rc = 2;
    if (imgs == NULL) {
        return 1;
    }
    rf_migration_args_t margs;
    rf_migration_args_init(&margs, imgs, MAX_IMAGES);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (strcmp(a, "--power-cut-sweep") == 0) {
            sweep = true;
            continue;
        }
        if (strcmp(a, "--mid-op") == 0) {
            mid_op = true;
            continue;
        }
        if (strcmp(a, "--net-faults") == 0) {
            net_faults = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            rc = 0;
            goto out;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            goto out_usage;
        }
        int r = rf_migration_arg(&margs, "reflasher rehearse", a, v);
        if (r < 0) {
            goto out;
        }
        if (r > 0) {
            device = margs.device;
            n_img = margs.n;
            embedded = margs.embedded;
            at = margs.at;
            at_given = margs.at_given;
        } else if (strcmp(a, "--stride") == 0) {
            if (!rf_parse_size(v, &stride) || stride == 0) {
                goto out_usage;
            }
        } else if (strcmp(a, "--trace") == 0) {
            trace_path = v;
        } else if (strcmp(a, "--jobs") == 0) {
            uint32_t j;
            if (!rf_parse_size(v, &j) || j == 0 || j > MAX_JOBS) {
                goto out_usage;
            }
            jobs = (int)j;
        } else {
            goto out_usage;
        }
    }
    if (device == NULL || n_img == 0 || !sweep || (embedded && n_img != 1) || (at_given && !embedded)) {
        goto out_usage;
    }
    if (net_faults && embedded) {
        fprintf(stderr, "reflasher rehearse: --net-faults needs download mode (--image URL@DEST)\n");
        goto out_usage;
    }
    rc = 1;

    /* The device: read once, never written (the file is mapped shared, so
     * everything happens on in-memory copies). */
    rf_device_t orig, base;
    if (rf_device_open(device, &orig, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: %s\n", err);
        goto out;
    }
    esp_err_t e = rf_device_clone(&orig, &base);
    rf_device_close(&orig);
    if (e != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: no memory for a copy of %s\n", device);
        goto out;
    }
    base.quiet = true;
    base.log_to_stderr = true;
    scenario_t sc = { .embedded = embedded, .imgs = imgs, .n = n_img, .at = at };
    window_t win;
    memset(&win, 0, sizeof win);
    if (!rf_chip_bootloader_offset(base.chip, &win.region_lo)) {
        fprintf(stderr, "reflasher rehearse: unknown chip '%s'\n", base.chip);
        goto out_base;
    }
    win.region_hi = base.ptable_offset;
    if (embedded) {
        /* The linker's job, once, before everything: every copy starts from it. */
        if (rf_cli_embed_place(&base, &imgs[0], at, &sc.emb_len) != ESP_OK) {
            goto out_base;
        }
    } else {
        for (int i = 0; i < n_img; i++) {
            if (!rf_cli_default_size(&base, &imgs[i])) {
                goto out_base;
            }
        }
        /* Execution order once (bootloader region last), so every run is the
         * plan's without announcing the reordering each time. */
        rf_plan_t *plan = calloc(1, sizeof *plan);
        rf_cli_plan_extra_t x;
        memset(&x, 0, sizeof x);
        char msg[512] = "";
        if (plan == NULL) {
            goto out_base;
        }
        if (rf_cli_build_plan(&base, imgs, n_img, false, plan, &x, msg, sizeof msg) != 0) {
            fprintf(stderr, "reflasher rehearse: plan refused: %s: %s%s%s\n", x.rule_name ? x.rule_name : "?",
                    x.rule_text[0] ? x.rule_text : msg, x.detail[0] ? ": " : "", x.detail);
            rf_cli_plan_extra_free(&x);
            free(plan);
            goto out_base;
        }
        rf_image_arg_t *ordered = calloc((size_t)n_img, sizeof *ordered);
        if (ordered == NULL) {
            rf_cli_plan_extra_free(&x);
            free(plan);
            goto out_base;
        }
        for (uint32_t k = 0; k < plan->count; k++) {
            ordered[k] = imgs[plan->img[k].input_index];
        }
        memcpy(imgs, ordered, (size_t)n_img * sizeof *imgs);
        free(ordered);
        rf_cli_plan_extra_free(&x);
        free(plan);
    }
    double t0 = now_s();

    /* 1. The reference run. */
    rf_device_t ref;
    logcap_t ref_log;
    trace_t tr;
    memset(&tr, 0, sizeof tr);
    if (clone_dev(&base, &ref, &ref_log) != ESP_OK) {
        fprintf(stderr, "reflasher rehearse: no memory\n");
        goto out_base;
    }
    nor_sim_set_trace(ref.sim, trace_record, &tr);
    e = run_migration(&ref, &sc);
    nor_sim_set_trace(ref.sim, NULL, NULL);
    rf_boot_report_t *rep = calloc(1, sizeof *rep);
    rf_boot_result_t ref_out = rep ? rf_boot_model_device(&ref, NULL, rep) : RF_BOOT_BRICK;
    nor_sim_counters_t ref_ctr = *nor_sim_counters(ref.sim);
    uint32_t nops = (uint32_t)tr.n;
    point_t *pts = NULL;
    netfault_t *nfs = NULL;
    if (e != ESP_OK || ref_out != RF_BOOT_NEW || tr.oom || rep == NULL || nops == 0) {
        fprintf(stderr, "reflasher rehearse: the reference run (no power cut) %s: %s%s%s\n",
                e != ESP_OK ? "failed" : "does not end NEW", e != ESP_OK ? esp_err_to_name(e) : rf_boot_result_name(ref_out),
                e != ESP_OK && ref_log.first_err[0] ? ": " : (rep ? ": " : ""),
                e != ESP_OK && ref_log.first_err[0] ? ref_log.first_err : (rep ? rep->reason : ""));
        goto out_ref;
    }
    window_from_trace(&tr, &win);
    if (trace_path != NULL && !write_trace(trace_path, &tr, &win)) {
        fprintf(stderr, "reflasher rehearse: cannot write %s\n", trace_path);
        goto out_ref;
    }

    /* 2. The cut points. */
    uint8_t *pick = calloc((size_t)nops + 2, 1);
    if (pick == NULL) {
        goto out_ref;
    }
    for (uint64_t k = 1; k <= nops; k += stride) {
        pick[k] = 1;
    }
    pick[nops] = 1;
    if (win.first != 0) {
        uint32_t edge[] = { win.first - 1, win.first, win.first + 1, win.last - 1, win.last, win.last + 1 };
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
    uint32_t np = per_mode * (mid_op ? 2u : 1u);
    pts = calloc(np, sizeof *pts);
    if (pts == NULL) {
        free(pick);
        goto out_ref;
    }
    uint32_t ip = 0;
    for (int m = 0; m < (mid_op ? 2 : 1); m++) {
        for (uint32_t k = 1; k <= nops; k++) {
            if (pick[k]) {
                pts[ip].k = k;
                pts[ip].mode = (uint8_t)(m == 0 ? NOR_CUT_BEFORE : NOR_CUT_MIDDLE);
                ip++;
            }
        }
    }
    free(pick);
    if (!quiet) {
        fprintf(stderr, "rehearse: reference run: %u write ops, %.1f ms of device time; %u cut points, %d job%s\n",
                (unsigned)nops, (double)ref_ctr.time_ns / 1e6, (unsigned)np, jobs, jobs == 1 ? "" : "s");
    }
    sweep_ctx_t cx = { .base = &base, .sc = &sc, .ref_trace = &tr, .ref_flash = nor_sim_data(ref.sim), .win = &win };
    progress_t pr = { .on = !quiet, .total = np, .next_pct = 10, .t0 = t0 };
    uint32_t missing = run_points(&cx, pts, np, jobs, &pr);
    double sweep_s = now_s() - t0;

    /* 3. Network faults. */
    int nnf = 0;
    if (net_faults) {
        nfs = calloc(4 * MAX_IMAGES, sizeof *nfs);
        if (nfs == NULL) {
            goto out_ref;
        }
        nnf = run_net_faults(&base, &sc, nor_sim_data(ref.sim), nfs, 4 * MAX_IMAGES, !quiet);
    }
    double total_s = now_s() - t0;

    /* Tally. */
    uint32_t cnt[3] = { 0, 0, 0 }, inside = 0, outside = 0, ended_new = 0, rerun_ok = 0, flash_same = 0;
    uint32_t not_reached = 0, mismatched = 0, bad_points = 0, rerun_errors = 0;
    for (uint32_t i = 0; i < np; i++) {
        const point_t *p = &pts[i];
        if (!p->done) {
            continue;
        }
        if (p->outcome <= RF_BOOT_BRICK) {
            cnt[p->outcome]++;
        }
        if (p->outcome == RF_BOOT_BRICK) {
            if (p->in_window) {
                inside++;
            } else {
                outside++;
            }
        }
        ended_new += p->rerun_outcome == RF_BOOT_NEW;
        rerun_ok += point_rerun_ok(p);
        flash_same += p->flash_same;
        rerun_errors += p->rerun_err != ESP_OK;
        not_reached += !p->cut_reached;
        mismatched += p->trace_mismatches != 0;
        bad_points += !point_ok(p);
    }
    int nf_bad = 0;
    for (int i = 0; i < nnf; i++) {
        nf_bad += !nfs[i].ok;
    }
    bool ok = bad_points == 0 && missing == 0 && nf_bad == 0;

    if (json) {
        printf("{\"ok\":%s,\"mode\":\"%s\",\"device\":", ok ? "true" : "false", embedded ? "embedded" : "download");
        json_str(stdout, device);
        printf(",\"chip\":\"%s\",\"write_ops\":%u,\"stride\":%u,\"mid_op\":%s,\"cut_points\":%u,"
               "\"outcomes\":{\"OLD\":%u,\"NEW\":%u,\"BRICK\":%u},"
               "\"brick_inside_window\":%u,\"brick_outside_window\":%u,",
               base.chip, (unsigned)nops, (unsigned)stride, mid_op ? "true" : "false", (unsigned)np, (unsigned)cnt[0],
               (unsigned)cnt[1], (unsigned)cnt[2], (unsigned)inside, (unsigned)outside);
        if (win.first != 0) {
            printf("\"window_ops\":[%u,%u],\"window_ms\":%.3f,\"window_start_ms\":%.3f,\"window_end_ms\":%.3f,",
                   (unsigned)win.first, (unsigned)win.last, win.ms, win.t_start_ms, win.t_end_ms);
        } else {
            printf("\"window_ops\":null,\"window_ms\":0,");
        }
        printf("\"window_region\":[%u,%u],\"reference_window_ms\":{\"download_example\":690,\"embedded_example\":12310},"
               "\"reruns_ended_new\":%u,\"reruns_ok\":%u,\"rerun_failures\":%u,\"rerun_errors\":%u,\"reruns_flash_identical\":%u,"
               "\"cuts_not_reached\":%u,\"trace_mismatches\":%u,\"points_not_run\":%u,",
               (unsigned)win.region_lo, (unsigned)win.region_hi, (unsigned)ended_new, (unsigned)rerun_ok,
               (unsigned)(np - rerun_ok), (unsigned)rerun_errors, (unsigned)flash_same, (unsigned)not_reached, (unsigned)mismatched,
               (unsigned)missing);
        printf("\"reference_run\":{\"device_time_ms\":%.3f,\"write_ops\":%u,\"program_ops\":%llu,\"erase_ops\":%llu,"
               "\"bytes_erased\":%llu,\"bytes_programmed\":%llu},",
               (double)ref_ctr.time_ns / 1e6, (unsigned)nops, (unsigned long long)ref_ctr.program_ops,
               (unsigned long long)ref_ctr.erase_ops, (unsigned long long)ref_ctr.bytes_erased,
               (unsigned long long)ref_ctr.bytes_programmed);
        printf("\"brick_outside_points\":[");
        uint32_t listed = 0;
        for (uint32_t i = 0; i < np && listed < LIST_CAP; i++) {
            if (point_brick_outside(&pts[i])) {
                printf("%s{\"op\":%u,\"cut\":\"%s\"}", listed ? "," : "", (unsigned)pts[i].k, mode_name(pts[i].mode));
                listed++;
            }
        }
        printf("],\"rerun_failure_points\":[");
        listed = 0;
        for (uint32_t i = 0; i < np && listed < LIST_CAP; i++) {
            if (!point_rerun_ok(&pts[i])) {
                printf("%s{\"op\":%u,\"cut\":\"%s\"}", listed ? "," : "", (unsigned)pts[i].k, mode_name(pts[i].mode));
                listed++;
            }
        }
        printf("],\"runs\":");
        print_json_groups(pts, np);
        if (net_faults) {
            printf(",\"net_faults\":[");
            for (int i = 0; i < nnf; i++) {
                const netfault_t *f = &nfs[i];
                printf("%s{\"image\":", i ? "," : "");
                json_str(stdout, sc.imgs[f->img].source);
                printf(",\"fault\":\"%s\",\"error\":\"%s\",\"after\":\"%s\",\"reason\":", f->fault,
                       f->err == ESP_OK ? "" : esp_err_to_name(f->err), rf_boot_result_name(f->after));
                json_str(stdout, f->reason);
                printf(",\"error_line\":");
                json_str(stdout, f->err_line);
                printf(",\"rerun\":\"%s\",\"rerun_error\":\"%s\",\"destinations_ok\":%s,\"served_bytes\":%lld,\"ok\":%s}",
                       rf_boot_result_name(f->rerun), f->rerun_err == ESP_OK ? "" : esp_err_to_name(f->rerun_err),
                       f->dest_ok ? "true" : "false", f->served, f->ok ? "true" : "false");
            }
            printf("],\"net_fault_failures\":%d", nf_bad);
        }
        printf(",\"jobs\":%d,\"elapsed_s\":%.2f}\n", jobs, total_s);
    } else {
        if (!quiet) {
            printf("power-cut sweep of %s (%s mode, %s): %u write ops in the reference run (%.1f ms of device time)\n",
                   device, embedded ? "embedded" : "download", base.chip, (unsigned)nops, (double)ref_ctr.time_ns / 1e6);
            printf("cut points: %u (stride %u%s%s)\n\n", (unsigned)np, (unsigned)stride,
                   stride > 1 ? ", plus the window's edges and the last op" : "", mid_op ? ", before and mid-op" : "");
            printf("  %-6s %-11s %6s  %-22s %s\n", "cut", "op", "points", "boots after the cut", "rerun");
            print_table(pts, np);
            printf("\n");
        }
        if (win.first != 0) {
            printf("brick window: ops %u-%u (writes to 0x%x-0x%x, the second-stage bootloader), %.1f ms of simulated "
                   "device time (%.1f .. %.1f ms)\n",
                   (unsigned)win.first, (unsigned)win.last, (unsigned)win.region_lo, (unsigned)win.region_hi, win.ms,
                   win.t_start_ms, win.t_end_ms);
        } else {
            printf("brick window: none (no write touches 0x%x-0x%x)\n", (unsigned)win.region_lo, (unsigned)win.region_hi);
        }
        printf("reference component (device-timings.md): download example 690 ms (bootloader erase + copy); "
               "embedded example 12,310 ms (the whole copy)\n");
        printf("outcomes: OLD %u, NEW %u, BRICK %u (inside the window %u, OUTSIDE %u)\n", (unsigned)cnt[0],
               (unsigned)cnt[1], (unsigned)cnt[2], (unsigned)inside, (unsigned)outside);
        printf("reruns: %u/%u ended NEW with the reference's destinations (%u with the whole flash identical; "
               "%u rerun(s) returned an error)\n",
               (unsigned)rerun_ok, (unsigned)np, (unsigned)flash_same, (unsigned)rerun_errors);
        if (rerun_ok != np) {
            printf("rerun failures at:");
            uint32_t listed = 0;
            for (uint32_t i = 0; i < np && listed < 20; i++) {
                if (pts[i].done && !point_rerun_ok(&pts[i])) {
                    printf(" %s%u", pts[i].mode == NOR_CUT_MIDDLE ? "mid-" : "", (unsigned)pts[i].k);
                    listed++;
                }
            }
            printf("%s\n", np - rerun_ok > listed ? " ..." : "");
        }
        if (not_reached || mismatched || missing) {
            printf("sanity: %u cut(s) never reached, %u run(s) whose ops differ from the reference, %u not run\n",
                   (unsigned)not_reached, (unsigned)mismatched, (unsigned)missing);
        }
        if (outside) {
            printf("BRICK outside the window at:");
            uint32_t listed = 0;
            for (uint32_t i = 0; i < np && listed < 20; i++) {
                if (point_brick_outside(&pts[i])) {
                    printf(" %s%u", pts[i].mode == NOR_CUT_MIDDLE ? "mid-" : "", (unsigned)pts[i].k);
                    listed++;
                }
            }
            printf("%s\n", outside > listed ? " ..." : "");
        }
        for (int i = 0; i < nnf; i++) {
            const netfault_t *f = &nfs[i];
            printf("network fault: %s?%s: %s, device %s; rerun %s%s; server sent %lld bytes: %s\n",
                   sc.imgs[f->img].source, f->fault, f->err == ESP_OK ? "NOT DETECTED" : esp_err_to_name(f->err),
                   rf_boot_result_name(f->after), rf_boot_result_name(f->rerun), f->dest_ok ? "" : " (destinations differ)",
                   f->served, f->ok ? "ok" : "FAILED");
        }
        printf("%s (%.1f s; sweep %.1f s, %d job%s)\n", ok ? "PASS" : "FAIL", total_s, sweep_s, jobs, jobs == 1 ? "" : "s");
    }
    rc = ok ? 0 : 1;

out_ref:
    free(nfs);
    free(pts);
    free(rep);
    free(tr.v);
    rf_device_close(&ref);
out_base:
    rf_device_close(&base);
    goto out;
out_usage:
    rc = usage();
out:
    free(imgs);
    return rc;
}
