/* The write engine: see rf_write.h for the rules it follows. */
#include "rf_write.h"
#include "rf_region.h"

/* Defaults of device-timings.md, used when a port gives no cost hints. */
#define RF_DEFAULT_SECTOR_ERASE_US 37000u
#define RF_DEFAULT_BLOCK_ERASE_US 46000u
#define RF_DEFAULT_PAGE_PROGRAM_US 880u
#define RF_DEFAULT_PAGE 256u
#define RF_MAX_SECTORS_PER_BLOCK 64u

typedef enum { SEC_SAME, SEC_PROGRAM, SEC_ERASE } sec_state_t;

static uint32_t cost_se(const rf_flash_t *f) { return f->sector_erase_us ? f->sector_erase_us : RF_DEFAULT_SECTOR_ERASE_US; }
static uint32_t cost_be(const rf_flash_t *f) { return f->block_erase_us ? f->block_erase_us : RF_DEFAULT_BLOCK_ERASE_US; }
static uint32_t cost_pp(const rf_flash_t *f) { return f->page_program_us ? f->page_program_us : RF_DEFAULT_PAGE_PROGRAM_US; }
static uint32_t page_of(const rf_flash_t *f)
{
    uint32_t p = f->page_size ? f->page_size : RF_DEFAULT_PAGE;
    return (f->sector_size % p == 0) ? p : f->sector_size;
}

/* The granule of a sector's comparison with its current content: a page,
 * or a larger power of the page when the sector has more than 64 pages (the
 * granules that differ are a 64-bit mask). */
static uint32_t granule_of(const rf_flash_t *f)
{
    uint32_t g = page_of(f);
    while (f->sector_size / g > 64u && f->sector_size % (2u * g) == 0) {
        g *= 2u;
    }
    return g;
}

/* The current content is read in pieces of RF_WRITE_CHUNK bytes at most
 * (the work area holds a sector of target and one such chunk): a divisor of
 * the granule and of the sector. 0: no such piece (geometry refused). */
static uint32_t piece_of(const rf_flash_t *f)
{
    const uint32_t g = granule_of(f);
    uint32_t r = g <= RF_WRITE_CHUNK ? g : RF_WRITE_CHUNK;
    return (g % r == 0 && f->sector_size % r == 0 && f->sector_size / g <= 64u) ? r : 0;
}

/* What one sector needs to hold its target t. */
typedef struct {
    sec_state_t state;
    bool blank;       /* the current content is all 0xFF */
    uint64_t diff;    /* bit i: granule i differs from the target */
    uint32_t dense;   /* pages of t holding data */
} cls_t;

/* Compare the sector at addr with its target t, reading it a piece at a time
 * into chunk (or, known_blank, taking it as all 0xFF without reading). */
static esp_err_t classify(const rf_flash_t *f, uint32_t addr, const uint8_t *t, uint8_t *chunk, bool known_blank,
                          cls_t *out)
{
    const uint32_t S = f->sector_size, P = page_of(f), G = granule_of(f), R = piece_of(f);
    bool program_ok = true;
    out->blank = true;
    out->diff = 0;
    out->dense = 0;
    if (R == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    for (uint32_t p = 0; p < S; p += P) {
        out->dense += rf_is_blank(t + p, P) ? 0u : 1u;
    }
    if (known_blank) {
        RF_MEMSET(chunk, 0xFF, R);
    }
    for (uint32_t o = 0; o < S; o += R) {
        if (!known_blank) {
            esp_err_t err = rf_flash_read(f, addr + o, chunk, R);
            if (err != ESP_OK) {
                return err;
            }
            out->blank = out->blank && rf_is_blank(chunk, R);
        }
        if (RF_MEMCMP(t + o, chunk, R) != 0) {
            out->diff |= 1ull << (o / G);
            for (uint32_t i = 0; i < R && program_ok; i++) {
                program_ok = (chunk[i] & t[o + i]) == t[o + i];
            }
        }
    }
    out->state = out->diff == 0 ? SEC_SAME : (program_ok ? SEC_PROGRAM : SEC_ERASE);
    return ESP_OK;
}

/* Program the pages of the sector at addr that need it: after an erase
 * (diff == NULL) the pages holding data, otherwise the pages of the
 * granules that differ from the current content. Consecutive pages go out
 * as one program call. */
static esp_err_t program_pages(const rf_flash_t *f, uint32_t addr, const uint8_t *t, const uint64_t *diff,
                               rf_write_stats_t *st)
{
    const uint32_t S = f->sector_size, P = page_of(f), G = granule_of(f);
    uint32_t p = 0;
    while (p < S) {
        uint32_t q = p;
        while (q < S && (diff ? (*diff >> (q / G) & 1u) != 0 : !rf_is_blank(t + q, P))) {
            q += P;
        }
        if (q == p) {
            p += P;
            continue;
        }
        esp_err_t err = rf_flash_program(f, addr + p, t + p, q - p);
        if (err != ESP_OK) {
            return err;
        }
        st->pages_programmed += (q - p) / P;
        st->bytes_programmed += q - p;
        p = q;
    }
    return ESP_OK;
}

/* Read the sector back a piece at a time and compare it with t. */
static esp_err_t verify_sector(const rf_flash_t *f, uint32_t addr, const uint8_t *t, uint8_t *chunk,
                               const rf_log_t *log)
{
    const uint32_t S = f->sector_size, R = piece_of(f);
    for (uint32_t o = 0; o < S; o += R) {
        esp_err_t err = rf_flash_read(f, addr + o, chunk, R);
        if (err != ESP_OK) {
            return err;
        }
        if (RF_MEMCMP(chunk, t + o, R) != 0) {
            RF_LOGE(log, "Read-back mismatch at 0x%08x", (unsigned)(addr + o));
            return ESP_ERR_INVALID_CRC;
        }
    }
    return ESP_OK;
}

/* Whether the sector at addr is all 0xFF, read a piece at a time. */
static esp_err_t sector_blank(const rf_flash_t *f, uint32_t addr, uint8_t *chunk, bool *blank)
{
    *blank = false;
    esp_err_t err = rf_flash_check_blank(f, addr, f->sector_size, chunk, RF_WRITE_CHUNK);
    if (err == ESP_OK) {
        *blank = true;
    }
    return err == ESP_ERR_INVALID_CRC ? ESP_OK : err;
}

/* Bring one sector to its target t (chunk: RF_WRITE_CHUNK bytes of work
 * space). `known`: the sector's state when the caller already compared it
 * with t (SEC_ERASE needs no look at the current content), or the sector is
 * known blank (blank == true: the current content is not read). Otherwise
 * -1: read the current content and classify it. */
static esp_err_t sector_write_known(const rf_flash_t *f, uint32_t addr, const uint8_t *t, uint8_t *chunk,
                                    rf_write_stats_t *st, const rf_log_t *log, int known, bool blank)
{
    cls_t c = { .state = SEC_ERASE };
    esp_err_t err = known == SEC_ERASE ? ESP_OK : classify(f, addr, t, chunk, blank, &c);
    if (err != ESP_OK) {
        return err;
    }
    switch (c.state) {
    case SEC_SAME:
        st->sectors_same++;
        return ESP_OK;
    case SEC_PROGRAM:
        st->sectors_program_only++;
        err = program_pages(f, addr, t, &c.diff, st);
        break;
    case SEC_ERASE:
        err = rf_flash_erase(f, addr, f->sector_size);
        if (err != ESP_OK) {
            return err;
        }
        st->sectors_erased++;
        st->bytes_erased += f->sector_size;
        err = program_pages(f, addr, t, NULL, st);
        break;
    }
    if (err != ESP_OK) {
        return err;
    }
    return verify_sector(f, addr, t, chunk, log);
}

esp_err_t rf_flash_reader_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_flash_reader_t *r = arg;
    return rf_flash_read(r->flash, r->base + off, buf, len);
}

/* Whether the image bytes [off, off + n) (n > 0) lie on chunks of the
 * blank map that are all 0xFF. */
static bool known_blank(const rf_region_write_t *w, uint32_t off, uint32_t n)
{
    if (w->blank_map == NULL || off < w->blank_map_at || off - w->blank_map_at >= w->blank_map_len ||
        n > w->blank_map_len - (off - w->blank_map_at)) {
        return false;
    }
    const uint32_t S = w->flash->sector_size, lo = off - w->blank_map_at;
    for (uint32_t k = lo / S; k <= (lo + n - 1) / S; k++) {
        if ((w->blank_map[k / 8u] >> (k % 8u) & 1u) == 0) {
            return false;
        }
    }
    return true;
}

/* Target bytes of the region at offset off: the image, then 0xFF. */
static esp_err_t read_target(const rf_region_write_t *w, uint32_t off, uint8_t *buf, uint32_t n)
{
    uint32_t img = off < w->len ? RF_MIN(n, w->len - off) : 0;
    if (img && known_blank(w, off, img)) {
        img = 0;   /* known all 0xFF (read in this call): not read again */
    }
    if (img) {
        esp_err_t err = w->read(w->read_arg, off, buf, img);
        if (err != ESP_OK) {
            return err;
        }
    }
    RF_MEMSET(buf + img, 0xFF, n - img);
    return ESP_OK;
}

/* Would erasing the block [a, a + block) destroy image bytes not read yet?
 * Only the block's own image bytes can be (see DESIGN.md, "memmove"). */
static bool block_erase_safe(const rf_region_write_t *w, uint32_t a, uint32_t block)
{
    if (!w->src_in_flash) {
        return true;
    }
    uint32_t lo = RF_MAX(a, w->dst), hi = RF_MIN(a + block, w->dst + w->len);
    if (lo >= hi) {
        return true;
    }
    return !rf_overlaps(w->src_addr + (lo - w->dst), hi - lo, a, block);
}

/* 0 for a sector written in the first pass, k + 1 when it overlaps deferred[k]. */
static uint32_t sector_phase(const rf_region_write_t *w, uint32_t n_def, uint32_t a, uint32_t S)
{
    for (uint32_t k = 0; k < n_def; k++) {
        if (rf_overlaps(a, S, w->deferred[2 * k], w->deferred[2 * k + 1])) {
            return k + 1;
        }
    }
    return 0;
}

/* A unit of the walk: the region's sectors [a, a + k * S) inside one erase
 * block [ba, ba + B) (k == 1 and ba == a when there are no blocks). */
typedef struct {
    uint32_t a, k, ba;
    uint32_t n_def;      /* deferred ranges in force */
    uint32_t first;      /* the phase the unit runs in when block-erased: its
                            smallest deferred phase, or 0 when it has none */
    bool mixed;          /* its sectors are in more than one phase */
} unit_t;

/* A unit's classification, kept across the walk's phases: a unit holding
 * sectors of several phases (the bootloader's block) is read and classified
 * once, not once per phase. Its sectors of a later phase are not written
 * before that phase, so their classification still holds then. */
typedef struct {
    uint32_t a, k;          /* the unit it describes (k == 0: none yet) */
    bool use_block;
    uint64_t blank;         /* bit i: sector i read all 0xFF (not read again before programming) */
    uint8_t state[RF_MAX_SECTORS_PER_BLOCK];
} decision_t;

/* Whether the unit should go with one block erase: the cost hints say it is
 * cheaper than its sector erases (counting the data pages it forces to be
 * written again), memmove allows it, and the block's bytes outside the
 * region are blank (they survive the erase unchanged). state[] receives
 * each sector's classification. */
static esp_err_t block_decision(const rf_region_write_t *w, const unit_t *u, decision_t *d)
{
    uint8_t *state = d->state;
    bool *use_block = &d->use_block;
    const rf_flash_t *f = w->flash;
    const uint32_t S = f->sector_size, B = f->block_size;
    uint8_t *t = w->work, *c = w->work + S;
    uint32_t n_erase = 0;
    uint64_t rewrite_us = 0;
    esp_err_t err;
    *use_block = false;
    d->a = u->a;
    d->k = 0;   /* valid only once every sector is classified */
    d->blank = 0;
    for (uint32_t i = 0; i < u->k; i++) {
        cls_t cl;
        if ((err = read_target(w, u->a + i * S - w->dst, t, S)) != ESP_OK ||
            (err = classify(f, u->a + i * S, t, c, false, &cl)) != ESP_OK) {
            return err;
        }
        state[i] = (uint8_t)cl.state;
        if (cl.state == SEC_PROGRAM && cl.blank) {
            d->blank |= 1ull << i;
        }
        if (cl.state == SEC_ERASE) {
            n_erase++;
        } else {
            rewrite_us += (uint64_t)cl.dense * cost_pp(f);
        }
    }
    d->k = u->k;
    if (n_erase == 0 || (uint64_t)cost_be(f) + rewrite_us >= (uint64_t)n_erase * cost_se(f) ||
        !block_erase_safe(w, u->ba, B)) {
        return ESP_OK;
    }
    /* the block's sectors outside the region: blank, or no block erase */
    for (uint32_t o = u->ba; o < u->ba + B; o += S) {
        if (o >= u->a && o < u->a + u->k * S) {
            continue;
        }
        bool blank;
        if ((err = sector_blank(f, o, c, &blank)) != ESP_OK) {
            return err;
        }
        if (!blank) {
            return ESP_OK;
        }
    }
    *use_block = true;
    return ESP_OK;
}

/* Block-erase the unit's block and write its sectors: those of the unit's
 * first phase (the bootloader's, when the unit holds it) first, programmed
 * back to back and verified after, so the window the erase opens closes as
 * early as the flash allows; then the other deferred phases; then phase 0. */
static esp_err_t write_block(const rf_region_write_t *w, const unit_t *u, bool backward, rf_write_stats_t *st)
{
    const rf_flash_t *f = w->flash;
    const uint32_t S = f->sector_size, B = f->block_size;
    uint8_t *t = w->work, *c = w->work + S;
    esp_err_t err = rf_flash_erase(f, u->ba, B);
    if (err != ESP_OK) {
        return err;
    }
    st->blocks_erased++;
    st->bytes_erased += B;
    for (uint32_t round = 0; round <= u->n_def + 1; round++) {
        /* round 0: the first phase, programmed then verified; round r >= 1:
         * phase r when it is not the first (round n_def + 1: phase 0) */
        uint32_t phase = round == 0 ? u->first : (round == u->n_def + 1 ? 0 : round);
        if (round > 0 && phase == u->first) {
            continue;
        }
        for (uint32_t pass = 0; pass < (round == 0 ? 2u : 1u); pass++) {
            for (uint32_t j = 0; j < u->k; j++) {
                uint32_t i = backward ? u->k - 1 - j : j;
                uint32_t sa = u->a + i * S;
                if (sector_phase(w, u->n_def, sa, S) != phase) {
                    continue;
                }
                if ((err = read_target(w, sa - w->dst, t, S)) != ESP_OK) {
                    return err;
                }
                bool program = round > 0 || pass == 0, verify = round > 0 || pass == 1;
                if (program && (err = program_pages(f, sa, t, NULL, st)) != ESP_OK) {
                    return err;
                }
                if (verify && (err = verify_sector(f, sa, t, c, w->log)) != ESP_OK) {
                    return err;
                }
            }
        }
    }
    return ESP_OK;
}

/* The unit's sectors of `phase`, one by one (state: their classification,
 * or NULL to classify each now). */
static esp_err_t write_sectors(const rf_region_write_t *w, const unit_t *u, uint32_t phase, const decision_t *d,
                               bool backward, rf_write_stats_t *st)
{
    const uint8_t *state = d != NULL ? d->state : NULL;
    const uint32_t S = w->flash->sector_size;
    uint8_t *t = w->work, *c = w->work + S;
    for (uint32_t j = 0; j < u->k; j++) {
        uint32_t i = backward ? u->k - 1 - j : j;
        uint32_t sa = u->a + i * S;
        if (sector_phase(w, u->n_def, sa, S) != phase) {
            continue;
        }
        if (state != NULL && state[i] == SEC_SAME) {
            st->sectors_same++;
            continue;
        }
        esp_err_t err = read_target(w, sa - w->dst, t, S);
        if (err == ESP_OK) {
            /* a sector found blank when classified is not read again (only
             * this walk writes it, and the read-back still compares it) */
            err = sector_write_known(w->flash, sa, t, c, st, w->log, state != NULL ? state[i] : -1,
                                     d != NULL && (d->blank >> i & 1u) != 0);
        }
        if (err != ESP_OK) {
            return err;
        }
    }
    return ESP_OK;
}

/* One unit, in the walk's pass for `phase`. A unit that goes with one block
 * erase is written whole in its first phase's pass (a unit holding the
 * bootloader's sectors and others: after every other unit's phase-0 sectors,
 * as the deferral wants, but with one erase for the whole block); otherwise
 * each of its sectors is written in its own phase's pass. */
static esp_err_t write_unit(const rf_region_write_t *w, const unit_t *u, uint32_t phase, bool backward,
                            rf_write_stats_t *st, decision_t *d)
{
    if (u->k > 1 || u->ba != u->a) {
        /* a unit of one phase: its first sector's; else any sector's */
        const uint32_t S = w->flash->sector_size, look = u->mixed ? u->k : 1u;
        bool present = false;
        for (uint32_t i = 0; i < look && !present; i++) {
            present = sector_phase(w, u->n_def, u->a + i * S, S) == phase;
        }
        if (!present) {
            return ESP_OK;
        }
        if (d->k != u->k || d->a != u->a) {   /* not classified in an earlier phase */
            esp_err_t err = block_decision(w, u, d);
            if (err != ESP_OK) {
                return err;
            }
        }
        if (d->use_block) {
            return phase == u->first ? write_block(w, u, backward, st) : ESP_OK;
        }
        return write_sectors(w, u, phase, d, backward, st);
    }
    return write_sectors(w, u, phase, NULL, backward, st);
}

esp_err_t rf_region_write(const rf_region_write_t *w, rf_write_stats_t *stats)
{
    if (w == NULL || w->flash == NULL || w->read == NULL || stats == NULL || w->work == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    const rf_flash_t *f = w->flash;
    const uint32_t S = f->sector_size;
    if (S == 0 || w->work_len < RF_WRITE_WORK_LEN(S) || piece_of(f) == 0 || !rf_is_aligned(w->dst, S) ||
        w->dst_size == 0 ||
        w->len > w->dst_size) {
        RF_LOGE(w->log, "Region 0x%08x+0x%x len 0x%x: bad args", (unsigned)w->dst, (unsigned)w->dst_size,
                (unsigned)w->len);
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t size = rf_align_up(w->dst_size, S);
    if ((uint64_t)w->dst + size > f->size) {
        RF_LOGE(w->log, "Region 0x%08x+0x%x: past flash end 0x%x", (unsigned)w->dst, (unsigned)size,
                (unsigned)f->size);
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(stats, 0, sizeof *stats);
    const uint32_t B = (f->block_size >= 2u * S && f->block_size % S == 0 &&
                        f->block_size / S <= RF_MAX_SECTORS_PER_BLOCK && f->size % f->block_size == 0)
                           ? f->block_size : 0;
    /* memmove: when the image sits in flash below the destination, copy from
     * the end so that no image byte is erased before it has been read. */
    const bool backward = w->src_in_flash && w->src_addr < w->dst;
    const uint32_t end = w->dst + size;
    /* Deferred ranges give each sector a phase; the walk is repeated once
     * per phase. Memmove order wins when the image overlaps its destination. */
    uint32_t n_def = RF_MIN(w->deferred_count, RF_WRITE_MAX_DEFERRED);
    if (w->deferred == NULL || (w->src_in_flash && rf_overlaps(w->src_addr, w->len, w->dst, size))) {
        n_def = 0;
    }
    decision_t d;
    d.a = 0;
    d.k = 0;
    for (uint32_t phase = 0; phase <= n_def; phase++) {
        uint32_t done = 0;
        while (done < size) {
            /* the unit: the region's part of one erase block (a partial block
             * at either end of the region too), or one sector without blocks */
            unit_t u = { .n_def = n_def };
            if (!backward) {
                u.a = w->dst + done;
                uint32_t e = B ? RF_MIN(end, (u.a / B + 1) * B) : u.a + S;
                u.k = (e - u.a) / S;
            } else {
                uint32_t e = end - done;
                uint32_t a = B ? RF_MAX(w->dst, (e - 1) / B * B) : e - S;
                u.a = a;
                u.k = (e - a) / S;
            }
            u.ba = B ? u.a / B * B : u.a;
            uint32_t p0 = sector_phase(w, n_def, u.a, S);
            u.first = p0;
            for (uint32_t j = 1; j < u.k; j++) {
                uint32_t pj = sector_phase(w, n_def, u.a + j * S, S);
                u.mixed |= pj != p0;
                if (pj != 0 && (u.first == 0 || pj < u.first)) {
                    u.first = pj;
                }
            }
            esp_err_t err = write_unit(w, &u, phase, backward, stats, &d);
            if (err != ESP_OK) {
                RF_LOGE(w->log, "Write 0x%08x..0x%08x: %s (0x%x)", (unsigned)u.a, (unsigned)(u.a + u.k * S),
                        esp_err_to_name(err), (unsigned)err);
                return err;
            }
            done += u.k * S;
            if (w->progress) {   /* the passes share the scale: monotonic, `size` at the end */
                w->progress(w->progress_arg, (uint32_t)(((uint64_t)phase * size + done) / (n_def + 1)), size);
            }
        }
    }
    return ESP_OK;
}

/* ---- streaming writer ---------------------------------------------------- */

esp_err_t rf_stream_init(rf_stream_t *s, const rf_flash_t *flash, uint32_t base, uint32_t size, uint32_t max_len,
                         uint32_t expected, uint8_t *work, size_t work_len, const rf_log_t *log)
{
    if (s == NULL || flash == NULL || work == NULL || flash->sector_size == 0 || max_len > size ||
        work_len < RF_WRITE_WORK_LEN(flash->sector_size) || piece_of(flash) == 0 ||
        !rf_is_aligned(base, flash->sector_size) ||
        (uint64_t)base + size > flash->size) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(s, 0, sizeof *s);
    s->flash = flash;
    s->base = base;
    s->size = size;
    s->max_len = max_len ? max_len : size;
    s->expected = expected;
    s->sector = work;
    s->scratch = work + flash->sector_size;
    s->touched_lo = UINT32_MAX;
    s->blank_block = UINT32_MAX;
    s->log = log;
    rf_sha256_start(&s->sha);
    return ESP_OK;
}

/* Entering a block-aligned block that lies inside the area: if the sectors
 * the stream will write there hold enough old data, one block erase is
 * cheaper than erasing them one by one. The area is scratch space, so the
 * rest of the block may go too. */
static esp_err_t stream_prepare_block(rf_stream_t *s, uint32_t addr)
{
    const rf_flash_t *f = s->flash;
    const uint32_t S = f->sector_size, B = f->block_size;
    if (B < 2u * S || B % S != 0 || addr % B != 0 || (uint64_t)addr + B > (uint64_t)s->base + s->size) {
        return ESP_OK;
    }
    uint32_t idx = addr / B;
    if (idx < s->block_prepared) {
        return ESP_OK;
    }
    s->block_prepared = idx + 1;
    uint32_t k = B / S;
    if (s->expected > s->offset) {
        k = RF_MIN(k, (s->expected - s->offset + S - 1) / S);
    }
    uint32_t dirty = 0;
    s->blank_block = idx;
    s->blank_mask = 0;
    for (uint32_t i = 0; i < k; i++) {
        bool blank;
        esp_err_t err = sector_blank(f, addr + i * S, s->scratch, &blank);
        if (err != ESP_OK) {
            return err;
        }
        if (blank) {
            s->blank_mask |= 1ull << i;   /* the stream is this area's only writer: still blank when reached */
        } else {
            dirty++;
        }
    }
    if ((uint64_t)dirty * cost_se(f) > cost_be(f)) {
        esp_err_t err = rf_flash_erase(f, addr, B);
        if (err != ESP_OK) {
            return err;
        }
        s->stats.blocks_erased++;
        s->stats.bytes_erased += B;
        s->blank_mask = ~0ull;
    }
    return ESP_OK;
}

static esp_err_t stream_flush(rf_stream_t *s)
{
    const uint32_t S = s->flash->sector_size;
    uint32_t sector_off = (s->offset - 1) / S * S;   /* the sector holding the last byte */
    RF_MEMSET(s->sector + s->fill, 0xFF, S - s->fill);
    uint32_t idx = sector_off / S;
    s->touched_lo = RF_MIN(s->touched_lo, idx);
    s->touched_hi = RF_MAX(s->touched_hi, idx + 1);
    /* a sector known blank since its block was prepared is not read again */
    const uint32_t addr = s->base + sector_off, B = s->flash->block_size;
    bool blank = false;
    if (B >= 2u * S && B % S == 0 && B / S <= 64u && addr / B == s->blank_block) {
        uint64_t bit = 1ull << ((addr % B) / S);
        blank = (s->blank_mask & bit) != 0;
        s->blank_mask &= ~bit;
    }
    esp_err_t err = sector_write_known(s->flash, addr, s->sector, s->scratch, &s->stats, s->log, -1, blank);
    s->fill = 0;
    return err;
}

/* image_only: the first 16 bytes are in: an MCUboot header gives the
 * image's own hashed range (the inspector's, rf_mcuboot_hashed_end). */
static void stream_header(rf_stream_t *s, const uint8_t *b)
{
    s->hdr_seen = 1;
    const uint64_t end = rf_mcuboot_hashed_end(b);
    if (end != 0 && end <= s->max_len) {
        s->img_len = (uint32_t)end;
    }
}

/* Hash bytes on their way in: all of them, or (image_only, an MCUboot
 * image) its own range only, finished when the stream passes its end. */
static void stream_hash(rf_stream_t *s, const uint8_t *p, uint32_t n)
{
    if (s->img.len != 0) {
        return;
    }
    if (s->img_len != 0) {
        n = RF_MIN(n, s->img_len - s->hashed);
    }
    rf_sha256_update(&s->sha, p, n);
    s->hashed += n;
    if (s->img_len != 0 && s->hashed == s->img_len) {
        rf_sha256_finish(&s->sha, s->img.sha256);
        s->img.off = 0;
        s->img.len = s->img_len;
    }
}

uint8_t *rf_stream_room(rf_stream_t *s, uint32_t *room)
{
    *room = s->flash->sector_size - s->fill;
    return s->sector + s->fill;
}

static esp_err_t too_long(const rf_stream_t *s)
{
    RF_LOGE(s->log, "Data past 0x%x B at 0x%08x", (unsigned)s->max_len, (unsigned)s->base);
    return ESP_ERR_INVALID_SIZE;
}

esp_err_t rf_stream_commit(rf_stream_t *s, uint32_t n)
{
    const uint32_t S = s->flash->sector_size;
    if (n > S - s->fill) {
        return ESP_ERR_INVALID_ARG;   /* more than rf_stream_room gave: the caller's error */
    }
    if ((uint64_t)s->offset + n > s->max_len) {
        return too_long(s);
    }
    if (n == 0) {
        return ESP_OK;
    }
    if (s->fill == 0) {
        esp_err_t err = stream_prepare_block(s, s->base + s->offset);   /* reads into scratch only */
        if (err != ESP_OK) {
            return err;
        }
    }
    const uint8_t *p = s->sector + s->fill;
    s->fill += n;
    s->offset += n;
    if (s->image_only && !s->hdr_seen && s->offset >= 16u) {
        stream_header(s, s->sector);   /* offset < 16 before: the first sector */
    }
    stream_hash(s, p, n);
    return s->fill == S ? stream_flush(s) : ESP_OK;
}

esp_err_t rf_stream_write(rf_stream_t *s, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    if ((uint64_t)s->offset + len > s->max_len) {
        return too_long(s);   /* refused before any byte is taken */
    }
    while (len > 0) {
        uint32_t room;
        uint8_t *dst = rf_stream_room(s, &room);
        uint32_t n = RF_MIN(room, len);
        RF_MEMCPY(dst, p, n);
        esp_err_t err = rf_stream_commit(s, n);
        if (err != ESP_OK) {
            return err;
        }
        p += n;
        len -= n;
    }
    return ESP_OK;
}

esp_err_t rf_stream_resume(rf_stream_t *s, uint32_t n)
{
    const uint32_t S = s->flash->sector_size;
    if (s->offset != 0 || s->fill != 0 || n % S != 0 || n > s->max_len) {
        return ESP_ERR_INVALID_ARG;
    }
    for (uint32_t off = 0; off < n; off += S) {   /* the sector buffer is free: nothing is filled yet */
        esp_err_t err = rf_flash_read(s->flash, s->base + off, s->sector, S);
        if (err != ESP_OK) {
            return err;
        }
        if (off == 0 && s->image_only) {
            stream_header(s, s->sector);
        }
        stream_hash(s, s->sector, S);
    }
    s->offset = n;
    /* blocks before the resume point hold staged data: never block-erase them */
    if (s->flash->block_size) {
        s->block_prepared = (s->base + n + s->flash->block_size - 1) / s->flash->block_size;
        if ((s->base + n) % s->flash->block_size == 0) {
            s->block_prepared = (s->base + n) / s->flash->block_size;
        }
    }
    return ESP_OK;
}

esp_err_t rf_stream_finish(rf_stream_t *s, uint8_t digest[RF_SHA256_LEN])
{
    esp_err_t err = ESP_OK;
    if (s->fill > 0) {
        err = stream_flush(s);
    }
    if (s->img.len == 0) {
        rf_sha256_finish(&s->sha, digest);
    } else if (s->hashed == s->offset) {
        RF_MEMCPY(digest, s->img.sha256, RF_SHA256_LEN);   /* the image is the whole stream */
    } else {
        RF_MEMSET(digest, 0, RF_SHA256_LEN);
    }
    return err;
}

esp_err_t rf_stream_rollback(rf_stream_t *s)
{
    if (s->touched_lo >= s->touched_hi) {
        return ESP_OK;
    }
    const uint32_t S = s->flash->sector_size;
    uint32_t a = s->base + s->touched_lo * S, n = (s->touched_hi - s->touched_lo) * S;
    esp_err_t err = rf_flash_erase(s->flash, a, n);
    if (err == ESP_OK) {
        s->stats.bytes_erased += n;
        RF_LOGW(s->log, "Partial data erased 0x%08x..0x%08x", (unsigned)a, (unsigned)(a + n));
        s->touched_lo = UINT32_MAX;
        s->touched_hi = 0;
    }
    return err;
}

esp_err_t rf_flash_sha256(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len,
                          uint8_t digest[RF_SHA256_LEN])
{
    rf_flash_reader_t whole = { flash, 0 };
    return rf_sha256_read(rf_flash_reader_read, &whole, addr, len, buf,
                          (uint32_t)RF_MIN(buf_len, (size_t)UINT32_MAX), digest);
}

esp_err_t rf_flash_digests(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len,
                           uint8_t full[RF_SHA256_LEN], uint8_t sparse[RF_SHA256_LEN], uint8_t *map,
                           size_t map_len)
{
    const uint32_t S = flash->sector_size;
    if (S == 0 || buf_len < S) {
        return ESP_ERR_INVALID_ARG;
    }
    const uint32_t chunks = len / S + (len % S != 0u);   /* rounded up, no wrap */
    if (map != NULL && (size_t)chunks > map_len * 8u) {
        map = NULL;
    }
    if (map != NULL) {
        RF_MEMSET(map, 0, (chunks + 7u) / 8u);
    }
    rf_sha256_ctx_t f, sp;
    if (full != NULL) {
        rf_sha256_start(&f);
    }
    rf_sha256_start(&sp);
    esp_err_t err = ESP_OK;
    for (uint32_t k = 0; k < chunks && err == ESP_OK; k++) {
        const uint32_t n = RF_MIN(S, len - k * S);
        if ((err = rf_flash_read(flash, addr + k * S, buf, n)) != ESP_OK) {
            break;
        }
        if (full != NULL) {
            rf_sha256_update(&f, buf, n);
        }
        if (rf_is_blank(buf, n)) {
            if (map != NULL) {
                map[k / 8u] |= (uint8_t)(1u << (k % 8u));
            }
            continue;
        }
        uint8_t idx[4];
        rf_put_le32(idx, k);
        rf_sha256_update(&sp, idx, sizeof idx);
        rf_sha256_update(&sp, buf, n);
    }
    uint8_t tail[4];
    rf_put_le32(tail, len);
    rf_sha256_update(&sp, tail, sizeof tail);
    if (full != NULL) {
        rf_sha256_finish(&f, full);
    }
    rf_sha256_finish(&sp, sparse);
    return err;
}

esp_err_t rf_flash_check_blank(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len)
{
    uint32_t done = 0;
    while (done < len) {
        uint32_t n = (uint32_t)RF_MIN((size_t)(len - done), buf_len);
        esp_err_t err = rf_flash_read(flash, addr + done, buf, n);
        if (err != ESP_OK) {
            return err;
        }
        if (!rf_is_blank(buf, n)) {
            return ESP_ERR_INVALID_CRC;
        }
        done += n;
    }
    return ESP_OK;
}
