/*
 * The cost port's listener on the host (rf_cost.h): one per process, set by
 * the simulated device that runs the migration. Compiled to nothing inside
 * ESP-IDF, where rf_cost_charge() is an empty inline.
 */
#include "rf_cost.h"

#if !defined(ESP_PLATFORM)
#include <stddef.h>

/* One listener per thread: a rehearsal runs devices side by side in threads,
 * each charging its own simulated clock. */
static _Thread_local rf_cost_fn hook_fn;
static _Thread_local void *hook_arg;

void rf_cost_charge(rf_cost_kind_t kind, uint64_t units)
{
    if (hook_fn != NULL && units != 0) {
        hook_fn(hook_arg, kind, units);
    }
}

void rf_cost_set_hook(rf_cost_fn fn, void *arg)
{
    hook_fn = fn;
    hook_arg = fn != NULL ? arg : NULL;
}

void *rf_cost_hook_arg(void)
{
    return hook_arg;
}
#endif
