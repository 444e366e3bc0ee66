/* Address intervals [start, start + size): overlap, containment, bounds. */
#pragma once
#include "rf_util.h"

/** True when [a, a+as) and [b, b+bs) share at least one byte. Containment
 *  counts; touching ([0,4) and [4,8)) does not; empty intervals overlap
 *  nothing. Computed in 64 bits so regions ending at 4 GiB do not wrap. */
static inline bool rf_overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    if (as == 0 || bs == 0) {
        return false;
    }
    uint64_t a_end = (uint64_t)a + as, b_end = (uint64_t)b + bs;
    return (uint64_t)a < b_end && (uint64_t)b < a_end;
}

/** True when [inner, inner+is) lies wholly inside [outer, outer+os). */
static inline bool rf_contains(uint32_t outer, uint32_t os, uint32_t inner, uint32_t is)
{
    return inner >= outer && (uint64_t)inner + is <= (uint64_t)outer + os;
}
