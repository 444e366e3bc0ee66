/*
 * The journal: what a migration has done so far, kept in flash so that a
 * rerun after a power cut or a network failure resumes instead of starting
 * over.
 *
 * Layout: two flash sectors, used as one append-only log. A record is a
 * fixed-size slot (RF_JOURNAL_REC_LEN bytes) with a magic, a sequence
 * number and a CRC-32; appending programs one blank slot (no erase). When a
 * sector is full the other one is erased and the log continues there, so
 * the newest valid record always survives: a cut while programming a slot
 * leaves a record whose CRC fails (ignored: the previous one stands); a cut
 * while erasing the other sector leaves garbage there and every record of
 * the full sector intact. The newest valid record (highest sequence) is the
 * journal's state.
 */
#pragma once
#include "rf_crc.h"
#include "rf_flash.h"
#include "rf_source.h"

#define RF_JOURNAL_SECTORS 2u
#define RF_JOURNAL_REC_LEN 256u   /* one flash page */
#define RF_JOURNAL_ID_LEN 16u

typedef enum {
    RF_JSTATE_NONE = 0,     /**< nothing to resume (a refused image, a restart) */
    RF_JSTATE_STAGING,      /**< progress bytes of the image are staged and read back */
    RF_JSTATE_STAGED,       /**< the whole image is staged and verified: sha256, total */
    RF_JSTATE_COPIED,       /**< the image is at its destination, verified */
    RF_JSTATE_BACKUP,       /**< embedded mode: the running app is backed up and selected; aux = image copy */
    RF_JSTATE_DONE,         /**< the step is complete */
} rf_jstate_t;

typedef struct rf_journal_rec {
    uint32_t seq;                     /**< set by rf_journal_append */
    uint8_t state;                    /**< rf_jstate_t */
    uint8_t id[RF_JOURNAL_ID_LEN];    /**< which step: a digest of its configuration */
    uint32_t progress;                /**< bytes staged (STAGING) */
    uint32_t total;                   /**< image length; 0 unknown */
    uint8_t sha256[32];               /**< image SHA-256 (STAGED, COPIED, BACKUP) */
    uint32_t aux_addr;                /**< staging or backup address of the image */
    uint32_t aux_len;
    /** STAGING: the source's validator (ETag / Last-Modified) of the bytes
     *  staged so far; "" none (then the download cannot be resumed). */
    char validator[RF_SOURCE_VALIDATOR_MAX];
} rf_journal_rec_t;

typedef struct rf_journal {
    const rf_flash_t *flash;
    uint32_t addr;            /**< first of the two sectors */
    uint32_t sector;          /**< 0 or 1: the sector appended to */
    uint32_t next_slot;       /**< next blank slot there (slots per sector when full) */
    uint32_t seq;             /**< highest sequence seen */
    bool have;                /**< `last` holds a valid record */
    rf_journal_rec_t last;
} rf_journal_t;

/** Read the journal at addr (two sectors, sector-aligned) through scratch
 *  (>= one sector). A blank or garbage area is an empty journal. */
esp_err_t rf_journal_open(rf_journal_t *j, const rf_flash_t *flash, uint32_t addr, uint8_t *scratch,
                          size_t scratch_len);

/** Append a record (its seq is assigned); on success it is j->last. */
esp_err_t rf_journal_append(rf_journal_t *j, const rf_journal_rec_t *rec);

/** Encode/decode one slot (exposed for tests). decode: false when the magic
 *  or the CRC does not match. A validator that rf_source_validator_ok()
 *  refuses decodes as "" (never sent, never matches). */
void rf_journal_encode(const rf_journal_rec_t *rec, uint8_t out[RF_JOURNAL_REC_LEN]);
bool rf_journal_decode(const uint8_t in[RF_JOURNAL_REC_LEN], rf_journal_rec_t *out);


/* ---- resuming a download ---------------------------------------------------
 * The decision to keep staged bytes, in one place (download mode calls it;
 * any engine that stages downloads should too). A journal record is a hint:
 * staged bytes are kept only when the source proves that what follows them
 * belongs to the same object (rf_source.h, open_at). */

/** Where to ask the source to start, from the STAGING record of this step
 *  (NULL: none): its progress when it can be resumed (a validator recorded,
 *  progress a positive multiple of sector_size, below the recorded total
 *  when one is known), else 0 (download from byte 0). */
uint32_t rf_resume_offset(const rf_journal_rec_t *rec, uint32_t sector_size);

typedef enum {
    RF_RESUME_CONTINUE,    /**< the stream continues the staged bytes at io->offset */
    RF_RESUME_RESTARTED,   /**< the stream starts at byte 0: stage it from there */
    RF_RESUME_REOPEN,      /**< the stream starts at io->offset but is not provably the same object:
                                close it, open again at 0 */
} rf_resume_t;

/** After rf_source_open_at(src, io) with io->offset = rf_resume_offset(rec)
 *  and io->if_range = rec->validator: CONTINUE only when the stream starts
 *  at offset > 0 with the validator recorded (byte for byte) and the total
 *  recorded (when one was). */
rf_resume_t rf_resume_decide(const rf_journal_rec_t *rec, const rf_source_open_t *io);

/** Whether a later run could resume this opened transfer (rf_resume_decide
 *  would ever say CONTINUE): the source announced the object's length and
 *  gave a usable validator. When not (a compressed stream, a server without
 *  ETag or Last-Modified), progress records are not worth writing and a cut
 *  leaves nothing to keep. */
bool rf_resume_possible(const rf_source_open_t *io);
