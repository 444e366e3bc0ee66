/* Address intervals [start, start + size): overlap, containment, bounds. */
#pragma once
#include "rf_util.h"

/** True when [a, a+as) and [b, b+bs) share at least one byte. Containment
 *  counts; touching ([0,4) and [4,8)) does not; empty intervals overlap
 *  nothing. Exact in 32 bits (regions ending at 4 GiB do not wrap): the
 *  distance from the lower start is below the lower interval's size. */
static inline bool rf_overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    return as != 0 && bs != 0 && (a >= b ? a - b < bs : b - a < as);
}

/** True when [inner, inner+is) lies wholly inside [outer, outer+os). Exact
 *  in 32 bits, as rf_overlaps(). */
static inline bool rf_contains(uint32_t outer, uint32_t os, uint32_t inner, uint32_t is)
{
    return inner >= outer && is <= os && inner - outer <= os - is;
}
