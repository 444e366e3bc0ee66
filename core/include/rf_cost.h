/*
 * The cost port: CPU and network work a device does that the host's
 * simulated clock must charge (SHA-256 per byte, inflate per output byte, a
 * request, a TLS handshake). The crypto glue and the sources report into it;
 * on the host a simulated device's clock listens (nor_sim_attach_cost); on
 * a device nothing listens and the calls compile to nothing.
 */
#pragma once
#include <stdint.h>

typedef enum {
    RF_COST_SHA256 = 1,   /**< units: bytes hashed */
    RF_COST_INFLATE,      /**< units: bytes inflated (output) */
    RF_COST_REQUEST,      /**< units: requests made over plain TCP */
    RF_COST_REQUEST_TLS,  /**< units: requests that needed a TLS handshake */
} rf_cost_kind_t;

typedef void (*rf_cost_fn)(void *arg, rf_cost_kind_t kind, uint64_t units);

#if defined(ESP_PLATFORM)
static inline void rf_cost_charge(rf_cost_kind_t kind, uint64_t units)
{
    (void)kind;
    (void)units;
}
#else
/** Report work; nothing happens when no hook is set. */
void rf_cost_charge(rf_cost_kind_t kind, uint64_t units);
/** Set (fn != NULL) or clear the one listener of this process. */
void rf_cost_set_hook(rf_cost_fn fn, void *arg);
/** The listener's arg (NULL when none). */
void *rf_cost_hook_arg(void);
#endif
