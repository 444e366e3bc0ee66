/*
 * The write engine: every byte the library puts into flash goes through here.
 *
 * Least flash work, sector by sector (sector_size, normally 4 KiB):
 *  - a sector that already holds the target bytes is left alone;
 *  - a sector whose change only clears bits ((current & target) == target)
 *    is programmed without an erase, only in the pages that differ;
 *  - any other sector is erased and only its pages that hold data (not all
 *    0xFF) are programmed;
 *  - inside a block-aligned run (block_size, normally 64 KiB) one block
 *    erase replaces several sector erases when the port's cost hints say it
 *    is cheaper, counting the pages a block erase forces to be rewritten;
 *  - every sector written is read back and compared before moving on.
 *
 * Two front ends share that sector logic:
 *  - rf_region_write(): the target is known up front (an image readable at
 *    random offsets, followed by 0xFF to the end of the region). Source and
 *    destination may overlap in the same flash (memmove semantics).
 *  - rf_stream_*: the target arrives as a stream (a download into staging).
 *
 * The caller owns all memory: `work` must hold RF_WRITE_WORK_LEN(sector_size)
 * bytes: a sector of target bytes and a chunk through which the current
 * content is read, compared and read back (RF_WRITE_CHUNK bytes at a time:
 * the same bytes are read as with a whole sector, in more calls).
 */
#pragma once
#include "rf_crypto.h"
#include "rf_flash.h"
#include "rf_image.h"
#include "rf_log.h"

#define RF_WRITE_CHUNK 256u
#define RF_WRITE_WORK_LEN(S) ((size_t)(S) + RF_WRITE_CHUNK)

typedef struct rf_write_stats {
    uint32_t sectors_same;          /**< already right: not touched */
    uint32_t sectors_program_only;  /**< programmed without an erase */
    uint32_t sectors_erased;        /**< erased with a sector erase */
    uint32_t blocks_erased;         /**< block erases */
    uint32_t pages_programmed;      /**< page program operations */
    uint64_t bytes_programmed;
    uint64_t bytes_erased;
} rf_write_stats_t;


typedef void (*rf_progress_fn)(void *arg, uint32_t done, uint32_t total);

typedef struct rf_region_write {
    const rf_flash_t *flash;
    uint32_t dst;           /**< sector-aligned start of the region */
    uint32_t dst_size;      /**< region size; rounded up to whole sectors */
    uint32_t len;           /**< image bytes at the start of the region (<= dst_size) */
    rf_read_fn read;        /**< the image */
    void *read_arg;
    /** When the image is read from the same flash: its absolute address, so
     *  the engine can order the copy like memmove. 0 length: not in flash. */
    uint32_t src_addr;
    uint32_t src_in_flash;  /**< non-zero when src_addr is meaningful */
    uint8_t *work;          /**< >= RF_WRITE_WORK_LEN(sector_size) bytes */
    size_t work_len;
    const rf_log_t *log;
    rf_progress_fn progress;
    void *progress_arg;
    /** Ranges (address, size pairs) whose sectors are written last, in this
     *  order: every other sector first, then the sectors overlapping
     *  deferred[0], then deferred[1]... This keeps the old boot chain alive
     *  as long as possible (the second-stage bootloader's sectors, then the
     *  partition table and otadata). Ignored when the image overlaps the
     *  destination in flash (memmove order wins). At most RF_WRITE_MAX_DEFERRED. */
    const uint32_t *deferred;
    uint32_t deferred_count;
    /** Optional (NULL: none): a map of sector-sized chunks of the bytes
     *  [blank_map_at, blank_map_at + blank_map_len) of the image, bit k set
     *  when chunk k is all 0xFF, found by reading them in this same call
     *  (rf_flash_digests, from the same bytes or a copy of them compared
     *  sector by sector): a target sector lying on such chunks only is not
     *  read again. */
    const uint8_t *blank_map;
    uint32_t blank_map_at;
    uint32_t blank_map_len;
} rf_region_write_t;

#define RF_WRITE_MAX_DEFERRED 4u

/** Make [dst, dst + dst_size) hold the image followed by 0xFF.
 *  ESP_ERR_INVALID_ARG: misaligned dst, len > dst_size, region outside the
 *  flash, work too small. ESP_ERR_INVALID_CRC: a sector read back differs. */
esp_err_t rf_region_write(const rf_region_write_t *w, rf_write_stats_t *stats);

/** A reader over the flash port (for flash-to-flash copies): arg is an
 *  rf_flash_reader_t (the context rf_reader_from_flash() fills too: one
 *  read function for both). */
typedef rf_reader_flash_t rf_flash_reader_t;
esp_err_t rf_flash_reader_read(void *arg, uint32_t off, void *buf, uint32_t len);

/** Streaming writer into an area [base, base + size) (the staging partition). */
typedef struct rf_stream {
    const rf_flash_t *flash;
    uint32_t base;
    uint32_t size;          /**< the area: block erases may use all of it */
    uint32_t max_len;       /**< bytes the stream may hold (<= size) */
    uint32_t expected;      /**< announced length (0: unknown), for the block-erase choice */
    uint8_t *sector;        /**< target of the sector being filled */
    uint8_t *scratch;       /**< RF_WRITE_CHUNK bytes: current content, read back */
    uint32_t fill;          /**< bytes in `sector` */
    uint32_t offset;        /**< bytes accepted so far */
    uint32_t touched_lo;    /**< first/last+1 sector index programmed (for rollback) */
    uint32_t touched_hi;
    uint32_t block_prepared; /**< next block index not yet considered for a block erase */
    uint32_t blank_block;   /**< the block blank_mask describes (index) */
    uint64_t blank_mask;    /**< sectors of that block known blank (read blank or block-erased): not read again */
    rf_sha256_ctx_t sha;    /**< SHA-256 of the bytes accepted */
    /** In (set after rf_stream_init): hash only an MCUboot image's own range
     *  [0, hdr_size + img_size + protect_tlv_size), as its header gives it,
     *  and no whole-stream digest (a direct download with no expected
     *  digest: nothing needs one; the bytes after the range are still read
     *  back and compared). Other streams are hashed whole. */
    uint8_t image_only;
    uint8_t hdr_seen;
    uint32_t img_len;       /**< image_only: that range's length (0: not an MCUboot image) */
    uint32_t hashed;        /**< bytes fed to `sha` */
    /** Out: the digest of [0, img_len), hashed on the way in, once the stream
     *  passed it (len 0: none), for rf_eng_write_t.src_known. */
    rf_sha_known_t img;
    rf_write_stats_t stats;
    const rf_log_t *log;
} rf_stream_t;

/** A stream into the area [base, base + size) (all of it scratch space the
 *  stream may erase) that accepts at most max_len bytes (0: size). */
esp_err_t rf_stream_init(rf_stream_t *s, const rf_flash_t *flash, uint32_t base, uint32_t size, uint32_t max_len,
                         uint32_t expected, uint8_t *work, size_t work_len, const rf_log_t *log);
/** ESP_ERR_INVALID_SIZE when the data would run past max_len. */
esp_err_t rf_stream_write(rf_stream_t *s, const void *data, uint32_t len);
/** Zero-copy: where the next bytes go (the sector buffer's free part) and
 *  how many fit there (*room > 0); a source reads straight into it, then
 *  rf_stream_commit(n) takes them (n > *room: ESP_ERR_INVALID_ARG;
 *  ESP_ERR_INVALID_SIZE past max_len, as rf_stream_write). */
uint8_t *rf_stream_room(rf_stream_t *s, uint32_t *room);
esp_err_t rf_stream_commit(rf_stream_t *s, uint32_t n);
/** Resume: take the first n bytes (a multiple of sector_size) as already
 *  staged and read back by an earlier stream: hash them from flash and go on
 *  from there. Only on a fresh stream. */
esp_err_t rf_stream_resume(rf_stream_t *s, uint32_t n);
/** Bytes written to flash and read back so far (whole sectors). */
static inline uint32_t rf_stream_flushed(const rf_stream_t *s)
{
    return s->offset - s->fill;
}
/** Write the last partial sector; digest receives the SHA-256 of the stream
 *  (all zero when an image_only stream did not hash it all: see
 *  rf_stream_hashed_whole). */
esp_err_t rf_stream_finish(rf_stream_t *s, uint8_t digest[RF_SHA256_LEN]);
/** Whether rf_stream_finish's digest covers every byte of the stream. */
static inline bool rf_stream_hashed_whole(const rf_stream_t *s)
{
    return s->hashed == s->offset;
}
/** Erase every sector this stream programmed, so no partial image stays. */
esp_err_t rf_stream_rollback(rf_stream_t *s);

/** SHA-256 of [addr, addr + len) of the flash, reading through buf. */
esp_err_t rf_flash_sha256(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len,
                          uint8_t digest[RF_SHA256_LEN]);
/** One read of [addr, addr + len) in sectors (buf_len >= sector_size):
 *  - full (NULL: not wanted): its SHA-256;
 *  - sparse: the SHA-256 of, for each sector-sized chunk k that is not all
 *    0xFF, k (4 bytes, little endian) then the chunk, and at the end len:
 *    it tells apart any two contents of that length (the all-0xFF chunks
 *    are only compared, not hashed);
 *  - map (NULL: not wanted; ignored when map_len * 8 is too small): bit k
 *    set for an all-0xFF chunk (rf_region_write_t.blank_map). */
esp_err_t rf_flash_digests(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len,
                           uint8_t full[RF_SHA256_LEN], uint8_t sparse[RF_SHA256_LEN], uint8_t *map,
                           size_t map_len);
/** ESP_OK when [addr, addr + len) is all 0xFF, ESP_ERR_INVALID_CRC when not. */
esp_err_t rf_flash_check_blank(const rf_flash_t *flash, uint32_t addr, uint32_t len, uint8_t *buf, size_t buf_len);
