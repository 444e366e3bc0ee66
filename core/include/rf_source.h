/*
 * The source port: a byte stream (HTTP(S), a flash region, a file).
 *
 * open() starts the stream at byte `offset` (0 for a whole download; a
 * source that cannot seek returns ESP_ERR_NOT_SUPPORTED for more). On
 * success *total_len is the full length of the object (not of the remaining
 * part), or -1 when it is unknown (chunked HTTP).
 * read() returns ESP_OK with *got == 0 at the end of the stream; a stream
 * that ends early is the source's error to report (for example
 * ESP_ERR_HTTP_INCOMPLETE_DATA). close() is always safe to call after open(),
 * whether it succeeded or not.
 *
 * Resuming a download needs more than a seek: proof that the bytes after
 * the cut belong to the same object as the bytes before it. open_at()
 * (optional) gives that proof:
 *   - it reports the object's validator: its strong ETag, else its
 *     Last-Modified date when that is a strong validator
 *     (rf_source_pick_validator: "" when there is none, when the ETag is
 *     weak and no old enough date came, or when it is longer than
 *     RF_SOURCE_VALIDATOR_MAX - 1 bytes);
 *   - asked for offset > 0 with the validator recorded when the bytes before
 *     offset were read (if_range), it sends "Range: bytes=OFFSET-" and
 *     "If-Range: VALIDATOR". The stream starts at offset (io->start ==
 *     offset) only on a 206 whose Content-Range parses strictly as
 *     "bytes OFFSET-(T-1)/T" with a known T and a Content-Length, if any,
 *     of T - OFFSET. A 200 (the object changed, or the server ignores
 *     ranges) restarts: io->start = 0 and the stream is the whole new
 *     object. A 206 that starts elsewhere or whose total does not add up
 *     also restarts: the source drops it and asks again without a range;
 *   - without if_range (NULL or "") it never resumes: offset is ignored and
 *     the stream starts at 0.
 * The caller still compares the reported validator and total with what it
 * recorded (rf_resume_decide()): a server that ignores If-Range answers 206
 * for a changed object too. A source without open_at (open_at == NULL) has
 * no validators; rf_source_open_at() then opens it at 0. A wrapper source
 * (decompression, fault injection) forwards open_at when it can resume.
 *
 * Bounded time: besides the per-read timeout, a source made for downloads
 * enforces an overall deadline and a minimum transfer rate over a window
 * (rf_source_limits_t; curl's CURLOPT_LOW_SPEED_LIMIT/TIME): breaking
 * either ends the transfer with ESP_ERR_TIMEOUT. rf_source_meter_t is the
 * one implementation of those rules the sources share.
 */
#pragma once
#include "rf_util.h"

/** Longest validator kept, NUL included. A longer one counts as none (no
 *  resume: the download restarts from byte 0). */
#define RF_SOURCE_VALIDATOR_MAX 96u

typedef struct rf_source_open {
    uint32_t offset;          /**< in: first byte wanted */
    const char *if_range;     /**< in: validator recorded with bytes [0, offset); NULL or "": none */
    uint32_t start;           /**< out: first byte of the stream: offset, or 0 when the source restarted */
    int64_t total;            /**< out: length of the whole object; -1 unknown */
    char validator[RF_SOURCE_VALIDATOR_MAX];   /**< out: the object's validator now; "" none */
} rf_source_open_t;

typedef struct rf_source {
    void *ctx;
    esp_err_t (*open)(void *ctx, uint32_t offset, int64_t *total_len);
    esp_err_t (*read)(void *ctx, void *buf, uint32_t cap, uint32_t *got);
    void (*close)(void *ctx);
    const char *name;   /**< for log lines: a URL or a path */
    /** Optional (NULL: no validators, never resumes): see above. */
    esp_err_t (*open_at)(void *ctx, rf_source_open_t *io);
    /** Optional (NULL: none): after a successful open(), the response's
     *  Content-Encoding ("gzip", ...), or NULL for none. rf_inflate.h uses it. */
    const char *(*content_encoding)(void *ctx);
} rf_source_t;

/** open_at() when the source has one; otherwise open(0) with start = 0 and
 *  no validator. io->start and io->validator are always set on success. */
esp_err_t rf_source_open_at(const rf_source_t *src, rf_source_open_t *io);

/** A validator that can be sent as a header value and compared: 1 to
 *  RF_SOURCE_VALIDATOR_MAX - 1 bytes, visible ASCII and spaces only (no
 *  CR, LF or other control byte: a forged journal cannot inject headers). */
bool rf_source_validator_ok(const char *v);

/** The length of v when rf_source_validator_ok(v), else 0. */
size_t rf_source_validator_len(const char *v);

/** The validator of a response: a strong ETag (not W/...) when there is one,
 *  else Last-Modified when it is a strong validator (RFC 9110 8.8.2.2: the
 *  response's Date is at least 60 s later, both IMF-fixdate; a file changed
 *  within the same second keeps its date, so a fresh date proves nothing);
 *  "" otherwise. Arguments: the header values, NULL when absent. */
void rf_source_pick_validator(const char *etag, const char *last_modified, const char *date,
                              char out[RF_SOURCE_VALIDATOR_MAX]);

/** An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in seconds since 1970;
 *  false for anything else. */
bool rf_source_http_date(const char *v, int64_t *secs);

/** Strict "Content-Range: bytes FIRST-LAST/TOTAL" (decimal digits, no sign,
 *  no spaces inside the numbers, FIRST <= LAST < TOTAL, TOTAL known):
 *  true and the three values, else false ("bytes * /T", garbage, overflow). */
bool rf_source_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total);

/** The 206 answer to "Range: bytes=OFFSET-" continues the object exactly at
 *  offset: Content-Range FIRST == offset, LAST == TOTAL - 1, and the body
 *  length, when announced (content_length >= 0), is TOTAL - offset. */
bool rf_source_range_continues(uint32_t offset, uint64_t first, uint64_t last, uint64_t total,
                               int64_t content_length);

/* ---- bounded time -------------------------------------------------------- */

/** Defaults of rf_source_limits_t (also the ESP-IDF Kconfig defaults). */
#define RF_SOURCE_DEFAULT_DEADLINE_MS    (15u * 60u * 1000u)   /**< a transfer ends within 15 min */
#define RF_SOURCE_DEFAULT_MIN_RATE_BPS   1024u                 /**< at least 1 KiB/s ... */
#define RF_SOURCE_DEFAULT_RATE_WINDOW_MS 30000u                /**< ... averaged over 30 s */

typedef struct rf_source_limits {
    /** Overall deadline of one transfer, from open() until its last byte,
     *  wall-clock (the caller's time between reads included); 0: none. */
    uint32_t deadline_ms;
    /** Minimum rate in bytes per second (headers and body), measured over
     *  windows of rate_window_ms of time spent waiting for the network
     *  (time the caller spends between reads does not count); 0: none. */
    uint32_t min_rate_bps;
    uint32_t rate_window_ms;
} rf_source_limits_t;

/** The defaults above. */
rf_source_limits_t rf_source_limits_default(void);

typedef enum { RF_SOURCE_OK = 0, RF_SOURCE_DEADLINE, RF_SOURCE_TOO_SLOW } rf_source_verdict_t;

typedef struct rf_source_meter {
    rf_source_limits_t lim;
    uint64_t opened_ms;
    uint64_t win_waited_ms;   /**< network wait time in the current window */
    uint64_t win_bytes;       /**< bytes received in the current window */
} rf_source_meter_t;

/** Start measuring a transfer (at open()). */
void rf_source_meter_start(rf_source_meter_t *m, const rf_source_limits_t *lim, uint64_t now_ms);

/** Account waited_ms spent waiting for the network and `bytes` that arrived
 *  meanwhile; say whether the transfer may go on. */
rf_source_verdict_t rf_source_meter_check(rf_source_meter_t *m, uint64_t now_ms, uint64_t waited_ms, uint64_t bytes);

/** "deadline", "minimum rate" or "" for log lines. */
const char *rf_source_verdict_name(rf_source_verdict_t v);
