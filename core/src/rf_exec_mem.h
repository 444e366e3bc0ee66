/*
 * The arena of one rf_exec call, laid out here (private to rf_exec.c) so
 * that scripts/footprint.py can have the cross compiler evaluate its size
 * for the device (RF_EXEC_MEM_LEN) without running device code.
 */
#ifndef RF_EXEC_MEM_H
#define RF_EXEC_MEM_H

#include "rf_engine.h"
#include "rf_journal.h"
#include "rf_ptable.h"
#include "rf_sig.h"
#include "rf_source.h"
#include "rf_util.h"
#include "rf_write.h"

#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#endif

/* Bytes read from the source per call (Kconfig SELF_REFLASHER_BUFFER_SIZE). */
#if defined(CONFIG_SELF_REFLASHER_BUFFER_SIZE)
#define RF_IO_CHUNK ((uint32_t)CONFIG_SELF_REFLASHER_BUFFER_SIZE)
#else
#define RF_IO_CHUNK 4096u
#endif


/* The engine's inputs and verdict for one check: in the work area, after
 * the engine's own RF_ENG_WORK_LEN bytes (not on the stack). */
typedef struct eng_call {
    rf_eng_verdict_t verdict;
    rf_sig_key_t key;
    rf_vflash_t vf;
    rf_reader_t whole, src;
    rf_reader_flash_t whole_c, src_c;
    rf_eng_dev_t dev;
    rf_eng_write_t w;
} eng_call_t;

/* What a step keeps for its whole length (besides the caller's rf_exec_dl_t). */
typedef union step_state {
    struct {
        rf_journal_t journal;   /* the embedded step's (a download step's lives in its rf_exec_dl_t) */
        uint8_t blank_map[256]; /* the image's all-0xFF sectors (rf_flash_digests): up to 8 MiB at 4 KiB */
        uint8_t sparse[32], full[32];   /* its digests (off the stack: the stack budget) */
    } emb;
    struct {
        rf_source_t src;
        rf_source_open_t io;
        rf_stream_t st;
    } dl;                    /* a download's source and stream */
} step_state_t;

#define RF_EXEC_STEP_LEN ((sizeof(step_state_t) + 7u) & ~(size_t)7u)
/* The work area, used by one thing at a time: a sector and a chunk for the
 * write engine (a source reads straight into the sector); or the engine's work
 * area and its call; or, after RF_BOOT_SCRATCH_LEN bytes of scratch, the
 * partition table or an image's inspection (rf_exec.c, in_work). */
#define RF_EXEC_WORK_ONE(S, n) ((size_t)RF_BOOT_SCRATCH_LEN + (size_t)(n) + 16u)
#define RF_EXEC_WORK_LEN(S)                                                                              \
    RF_MAX(RF_MAX(RF_WRITE_WORK_LEN(S), RF_EXEC_WORK_ONE(S, sizeof(rf_ptable_t))),                         \
           RF_MAX((size_t)RF_ENG_WORK_LEN + sizeof(eng_call_t) + 16u,                                    \
                  RF_EXEC_WORK_ONE(S, sizeof(rf_esp_image_info_t) > sizeof(rf_sig_key_t)                 \
                                          ? sizeof(rf_esp_image_info_t) : sizeof(rf_sig_key_t))))
#define RF_EXEC_MEM_LEN(S) (RF_EXEC_STEP_LEN + RF_EXEC_WORK_LEN(S))

#endif
