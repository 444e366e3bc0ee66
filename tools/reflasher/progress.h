/*
 * Progress on a terminal (migrate, rehearse, fleet): one line on stderr,
 * redrawn in place ("\r" + erase to end of line), at most ten times a second,
 * and only when stderr is a TTY; nothing at all otherwise (pipes, files, CI
 * logs stay clean). RF_PROGRESS=0 turns it off on a terminal too.
 */
#pragma once
#include <stdbool.h>
#include "rf_device.h"
#include "rf_rehearse.h"

/** Whether progress is shown (stderr is a TTY and RF_PROGRESS is not "0"). */
bool rf_progress_on(void);
/** Redraw the line (printf format); `force` ignores the rate limit. */
void rf_progress_show(bool force, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Erase the line (before other output). */
void rf_progress_clear(void);
/** Keep the line as it is (a newline after it): the last state stays on the
 *  terminal above what follows. */
void rf_progress_finish(void);

/** Show a migration's progress on `dev`: the current step (the library's
 *  last info line), bytes programmed and erased, network bytes and the
 *  simulated device clock. Uses the device's nor_sim trace slot and wraps its
 *  log function (log lines clear the progress line first). No-op when
 *  progress is off. Detach leaves the final state on its own line. */
void rf_progress_attach(rf_device_t *dev, const char *what);
void rf_progress_detach(rf_device_t *dev);

/** rf_rehearse_cfg_t.progress for a label ("rehearse", "fleet: kind 2/6 x"):
 *  arg is the label string. */
void rf_progress_rehearse(void *arg, const rf_rehearse_progress_t *p);
