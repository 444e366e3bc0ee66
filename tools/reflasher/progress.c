/* Progress on a terminal (see progress.h). */
#include "progress.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_on = -1;
static bool g_drawn;
static double g_last;

bool rf_progress_on(void)
{
    if (g_on < 0) {
        const char *env = getenv("RF_PROGRESS");
        g_on = isatty(STDERR_FILENO) && !(env != NULL && strcmp(env, "0") == 0);
    }
    return g_on == 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rf_progress_show(bool force, const char *fmt, ...)
{
    if (!rf_progress_on()) {
        return;
    }
    double t = mono_s();
    if (!force && g_drawn && t - g_last < 0.1) {
        return;
    }
    g_last = t;
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    g_drawn = true;
}

void rf_progress_clear(void)
{
    if (g_drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_drawn = false;
    }
}

void rf_progress_finish(void)
{
    if (g_drawn) {
        fputc('\n', stderr);
        fflush(stderr);
        g_drawn = false;
    }
}

/* ---- a migration on a device ---- */

typedef struct mig_progress {
    rf_device_t *dev;
    const char *what;
    char step[96];
    rf_log_t inner;
    uint64_t ops;
} mig_progress_t;

static mig_progress_t g_mig;

static void draw_mig(bool force)
{
    const nor_sim_counters_t *c = nor_sim_counters(g_mig.dev->sim);
    rf_progress_show(force, "%s: %s | programmed %llu B, erased %llu B, network %llu B | device time %.1f ms",
                     g_mig.what, g_mig.step[0] ? g_mig.step : "starting", (unsigned long long)c->bytes_programmed,
                     (unsigned long long)c->bytes_erased, (unsigned long long)g_mig.dev->net_bytes,
                     (double)c->time_ns / 1e6);
}

static void mig_trace(void *arg, const nor_sim_op_t *op)
{
    (void)arg;
    (void)op;
    draw_mig(false);
}

static void mig_log(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    (void)arg;
    if (level <= RF_LOG_INFO) {
        va_list cp;
        va_copy(cp, ap);
        vsnprintf(g_mig.step, sizeof g_mig.step, fmt, cp);
        va_end(cp);
    }
    rf_progress_clear();
    if (g_mig.inner.fn != NULL) {
        g_mig.inner.fn(g_mig.inner.arg, level, tag, fmt, ap);
    }
    draw_mig(true);
}

void rf_progress_attach(rf_device_t *dev, const char *what)
{
    if (!rf_progress_on() || dev == NULL) {
        return;
    }
    memset(&g_mig, 0, sizeof g_mig);
    g_mig.dev = dev;
    g_mig.what = what;
    g_mig.inner = dev->platform.log;
    dev->platform.log.fn = mig_log;
    dev->platform.log.arg = &g_mig;
    nor_sim_set_trace(dev->sim, mig_trace, &g_mig);
    draw_mig(true);
}

void rf_progress_detach(rf_device_t *dev)
{
    if (g_mig.dev == NULL || g_mig.dev != dev) {
        return;
    }
    snprintf(g_mig.step, sizeof g_mig.step, "done");
    draw_mig(true);
    nor_sim_set_trace(dev->sim, NULL, NULL);
    dev->platform.log = g_mig.inner;
    g_mig.dev = NULL;
    rf_progress_finish();
}

/* ---- a rehearsal ---- */

void rf_progress_rehearse(void *arg, const rf_rehearse_progress_t *p)
{
    const char *label = arg;
    switch (p->phase) {
    case RF_REHEARSE_PHASE_REFERENCE:
        rf_progress_show(false, "%s: reference run: %u write ops, %llu B written or erased, device time %.1f ms", label,
                         (unsigned)p->done, (unsigned long long)p->bytes, p->device_ms);
        break;
    case RF_REHEARSE_PHASE_CUTS:
        rf_progress_show(p->done == p->total, "%s: power cuts %u/%u (%u%%), %.1f s", label, (unsigned)p->done,
                         (unsigned)p->total, p->total ? (unsigned)(100ull * p->done / p->total) : 100u, p->elapsed_s);
        break;
    case RF_REHEARSE_PHASE_NET:
        rf_progress_show(p->done == p->total, "%s: network faults %u/%u, %.1f s", label, (unsigned)p->done,
                         (unsigned)p->total, p->elapsed_s);
        break;
    }
}
