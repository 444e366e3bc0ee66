/* The journal (see rf_journal.h). */
#include <stddef.h>
#include "rf_journal.h"

#define RF_JOURNAL_MAGIC 0x324A4652u   /* "RFJ2" (256-byte slots with a validator) */
#define VALIDATOR_AT 76u

/* Slot layout (little-endian): magic, seq, state, pad[3], id[16], progress,
 * total, sha256[32], aux_addr, aux_len, validator length (1 byte) and
 * characters (no NUL), 0xFF padding, crc32 of all the bytes before it in
 * the last 4 bytes. */
_Static_assert(VALIDATOR_AT + 1 + RF_SOURCE_VALIDATOR_MAX <= RF_JOURNAL_REC_LEN - 4, "journal slot too small");

/* The fixed fields: where each lies in the record and in the slot, and its
 * length (4: a little-endian number; otherwise bytes). One table for both
 * directions, so the layout is written once. */
/* A little-endian host keeps a uint32_t as the slot does: its fields are
 * plain bytes both ways. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

#define FIELD(f, at) { (uint8_t)offsetof(rf_journal_rec_t, f), at, (uint8_t)sizeof(((rf_journal_rec_t *)0)->f) }
static const struct {
    uint8_t rec, slot, len;
} k_fields[] = {
    FIELD(seq, 4), FIELD(state, 8), FIELD(id, 12),
#if HOST_LE
    /* progress, total, sha256, aux_addr, aux_len: one run of bytes in both */
    { (uint8_t)offsetof(rf_journal_rec_t, progress), 28,
      (uint8_t)(offsetof(rf_journal_rec_t, aux_len) + 4 - offsetof(rf_journal_rec_t, progress)) },
#else
    FIELD(progress, 28), FIELD(total, 32), FIELD(sha256, 36), FIELD(aux_addr, 68), FIELD(aux_len, 72),
#endif
};
_Static_assert(offsetof(rf_journal_rec_t, total) == offsetof(rf_journal_rec_t, progress) + 4 &&
                   offsetof(rf_journal_rec_t, sha256) == offsetof(rf_journal_rec_t, progress) + 8 &&
                   offsetof(rf_journal_rec_t, aux_addr) == offsetof(rf_journal_rec_t, progress) + 40 &&
                   offsetof(rf_journal_rec_t, aux_len) == offsetof(rf_journal_rec_t, progress) + 44,
               "progress .. aux_len lie as in the slot (28 .. 76)");
#undef FIELD

/* to_slot: record -> slot, else slot -> record */
RF_NOINLINE static void fields(rf_journal_rec_t *r, uint8_t *slot, bool to_slot)
{
    for (size_t i = 0; i < sizeof k_fields / sizeof k_fields[0]; i++) {
        uint8_t *in_rec = (uint8_t *)r + k_fields[i].rec, *in_slot = slot + k_fields[i].slot;
        const uint8_t n = k_fields[i].len;
        if (!HOST_LE && n == 4) {
            if (to_slot) {
                rf_put_le32(in_slot, *(uint32_t *)(void *)in_rec);
            } else {
                *(uint32_t *)(void *)in_rec = rf_le32(in_slot);
            }
        } else {
            RF_MEMCPY(to_slot ? in_slot : in_rec, to_slot ? in_rec : in_slot, n);
        }
    }
}

void rf_journal_encode(const rf_journal_rec_t *r, uint8_t out[RF_JOURNAL_REC_LEN])
{
    /* the magic (little-endian) and zeros up to the id; seq and state are
     * written over by fields() */
    static const uint8_t k_head[12] = { (uint8_t)RF_JOURNAL_MAGIC, (uint8_t)(RF_JOURNAL_MAGIC >> 8),
                                        (uint8_t)(RF_JOURNAL_MAGIC >> 16), (uint8_t)(RF_JOURNAL_MAGIC >> 24) };
    RF_MEMSET(out, 0xFF, RF_JOURNAL_REC_LEN);
    RF_MEMCPY(out, k_head, sizeof k_head);
    fields((rf_journal_rec_t *)r, out, true);
    const uint8_t n = (uint8_t)rf_source_validator_len(r->validator);   /* < RF_SOURCE_VALIDATOR_MAX */
    out[VALIDATOR_AT] = n;
    RF_MEMCPY(out + VALIDATOR_AT + 1, r->validator, n);
    rf_put_le32(out + RF_JOURNAL_REC_LEN - 4, rf_crc32_le(0, out, RF_JOURNAL_REC_LEN - 4));
}

bool rf_journal_decode(const uint8_t in[RF_JOURNAL_REC_LEN], rf_journal_rec_t *r)
{
    if (rf_le32(in) != RF_JOURNAL_MAGIC ||
        rf_le32(in + RF_JOURNAL_REC_LEN - 4) != rf_crc32_le(0, in, RF_JOURNAL_REC_LEN - 4)) {
        return false;
    }
    fields(r, (uint8_t *)in, false);
    uint8_t n = in[VALIDATOR_AT];
    RF_MEMSET(r->validator, 0, sizeof r->validator);
    if (n < RF_SOURCE_VALIDATOR_MAX) {
        RF_MEMCPY(r->validator, in + VALIDATOR_AT + 1, n);
    }
    /* exactly n bytes (no NUL among them) that make a validator; n == 0
     * leaves "" too */
    if (rf_source_validator_len(r->validator) != n) {
        r->validator[0] = 0;   /* forged or torn: no validator, no resume */
    }
    return true;
}

esp_err_t rf_journal_open(rf_journal_t *j, const rf_flash_t *flash, uint32_t addr, uint8_t *scratch,
                          size_t scratch_len)
{
    const uint32_t S = flash ? flash->sector_size : 0;
    if (j == NULL || flash == NULL || S < RF_JOURNAL_REC_LEN || scratch == NULL || scratch_len < S ||
        !rf_is_aligned(addr, S) || (uint64_t)addr + RF_JOURNAL_SECTORS * S > flash->size) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(j, 0, sizeof *j);
    j->flash = flash;
    j->addr = addr;
    const uint32_t slots = S / RF_JOURNAL_REC_LEN;
    uint32_t last_used[RF_JOURNAL_SECTORS] = { 0, 0 };   /* 1 + index of the last non-blank slot */
    uint32_t best_sector = 0;
    for (uint32_t s = 0; s < RF_JOURNAL_SECTORS; s++) {
        esp_err_t err = rf_flash_read(flash, addr + s * S, scratch, S);
        if (err != ESP_OK) {
            return err;
        }
        for (uint32_t i = 0; i < slots; i++) {
            const uint8_t *slot = scratch + i * RF_JOURNAL_REC_LEN;
            if (!rf_is_blank(slot, RF_JOURNAL_REC_LEN)) {
                last_used[s] = i + 1;
            }
            rf_journal_rec_t r;
            if (rf_journal_decode(slot, &r) && (!j->have || r.seq > j->seq)) {
                j->have = true;
                j->seq = r.seq;
                j->last = r;
                best_sector = s;
            }
        }
    }
    /* Append after the newest record's sector's last used slot. */
    j->sector = j->have ? best_sector : 0;
    j->next_slot = last_used[j->sector];
    if (!j->have && last_used[0] > 0) {
        j->next_slot = slots;   /* garbage and no record: start afresh in sector 1 (erasing it) */
    }
    return ESP_OK;
}

esp_err_t rf_journal_append(rf_journal_t *j, const rf_journal_rec_t *rec)
{
    const uint32_t S = j->flash->sector_size, slots = S / RF_JOURNAL_REC_LEN;
    esp_err_t err;
    if (j->next_slot >= slots) {
        uint32_t other = (j->sector + 1) % RF_JOURNAL_SECTORS;
        if ((err = rf_flash_erase(j->flash, j->addr + other * S, S)) != ESP_OK) {
            return err;
        }
        j->sector = other;
        j->next_slot = 0;
    }
    rf_journal_rec_t r = *rec;
    r.seq = j->seq + 1;
    uint8_t buf[RF_JOURNAL_REC_LEN];
    rf_journal_encode(&r, buf);
    uint32_t at = j->addr + j->sector * S + j->next_slot * RF_JOURNAL_REC_LEN;
    j->next_slot++;   /* a torn slot is never reused */
    if ((err = rf_flash_program(j->flash, at, buf, RF_JOURNAL_REC_LEN)) != ESP_OK) {
        return err;
    }
    uint8_t back[RF_JOURNAL_REC_LEN];
    if ((err = rf_flash_read(j->flash, at, back, RF_JOURNAL_REC_LEN)) != ESP_OK) {
        return err;
    }
    if (RF_MEMCMP(back, buf, RF_JOURNAL_REC_LEN) != 0) {
        return ESP_ERR_INVALID_CRC;
    }
    j->seq = r.seq;
    j->last = r;
    j->have = true;
    return ESP_OK;
}

/* ---- resuming a download --------------------------------------------------- */

uint32_t rf_resume_offset(const rf_journal_rec_t *rec, uint32_t sector_size)
{
    /* (progress 0 returns 0 as it is) */
    if (rec == NULL || rec->state != RF_JSTATE_STAGING || !rf_source_validator_ok(rec->validator) ||
        sector_size == 0 || rec->progress % sector_size != 0 ||
        (rec->total != 0 && rec->progress >= rec->total)) {
        return 0;
    }
    return rec->progress;
}

rf_resume_t rf_resume_decide(const rf_journal_rec_t *rec, const rf_source_open_t *io)
{
    if (io->start == 0) {
        return RF_RESUME_RESTARTED;
    }
    /* io->start != 0 here, so io->start == io->offset also means offset > 0 */
    if (rec == NULL || io->offset != rec->progress || io->start != io->offset ||
        !rf_source_validator_ok(rec->validator)) {
        return RF_RESUME_REOPEN;
    }
    size_t n = 0;
    while (rec->validator[n] != 0 && rec->validator[n] == io->validator[n]) {
        n++;
    }
    bool same_validator = rec->validator[n] == io->validator[n];
    bool same_total = io->total >= 0 && (rec->total == 0 || (uint64_t)io->total == rec->total);
    return same_validator && same_total ? RF_RESUME_CONTINUE : RF_RESUME_REOPEN;
}

bool rf_resume_possible(const rf_source_open_t *io)
{
    return io->total >= 0 && rf_source_validator_ok(io->validator);
}
