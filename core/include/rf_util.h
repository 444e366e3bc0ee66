/*
 * Small helpers for the portable core. The core is freestanding C11: it may
 * include only <stdint.h>, <stddef.h>, <stdbool.h> and <stdarg.h>, so memory
 * helpers go through the compiler builtins (which resolve to the C library's
 * functions on a hosted build and to the toolchain's on a bare-metal one).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"

#define RF_MEMCPY(d, s, n)  __builtin_memcpy((d), (s), (n))
#define RF_MEMMOVE(d, s, n) __builtin_memmove((d), (s), (n))
#define RF_MEMSET(d, v, n)  __builtin_memset((d), (v), (n))
#define RF_MEMCMP(a, b, n)  __builtin_memcmp((a), (b), (n))

/* One out-of-line copy of a small helper called from several places (where
 * the compiler would otherwise inline it at each). */
#if defined(__GNUC__)
#define RF_NOINLINE __attribute__((noinline))
#else
#define RF_NOINLINE
#endif

/** Random-access read of bytes [off, off + len) into buf: the one shape of
 *  the core's readers (images, tables, the flash). */
typedef esp_err_t (*rf_read_fn)(void *arg, uint32_t off, void *buf, uint32_t len);

#define RF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RF_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline bool rf_is_aligned(uint32_t v, uint32_t align)
{
    return align == 0 || (v % align) == 0;
}

static inline uint32_t rf_align_down(uint32_t v, uint32_t align)
{
    return v - (v % align);
}

/** Round up; saturates at UINT32_MAX rounded down to the alignment. */
static inline uint32_t rf_align_up(uint32_t v, uint32_t align)
{
    uint32_t r = v % align;
    if (r == 0) {
        return v;
    }
    if (v > UINT32_MAX - (align - r)) {
        return rf_align_down(UINT32_MAX, align);
    }
    return v + (align - r);
}

/** p rounded up to a 16-byte boundary (places carved in a work area). */
static inline void *rf_at16(void *p)
{
    return (void *)(((uintptr_t)p + 15u) & ~(uintptr_t)15u);
}

/** True when every byte of buf is 0xFF (the erased state of NOR flash). */
static inline bool rf_is_blank(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/** True when every byte of buf is 0 (an absent digest). */
static inline bool rf_is_zero(const uint8_t *buf, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= buf[i];
    }
    return acc == 0;
}

/** Whether n bytes are equal (every byte looked at). */
static inline bool rf_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++) {
        x |= (uint8_t)(a[i] ^ b[i]);
    }
    return x == 0;
}

/** Copy a NUL-terminated string into cap bytes (cap > 0), always terminated. */
static inline void rf_str_copy(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; i + 1 < cap && src[i] != 0; i++) {
        dst[i] = src[i];
    }
    dst[i] = 0;
}

static inline uint16_t rf_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
/** The i-th string of a NUL-separated list (the caller bounds i). */
const char *rf_nth_str(const char *list, unsigned i);

/** Little-endian 32-bit read (rf_util.c: one copy, not one per file). */
uint32_t rf_le32(const uint8_t *p);
static inline void rf_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void rf_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
