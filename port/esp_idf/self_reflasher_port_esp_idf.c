/*
 * The ESP-IDF port: esp_self_reflasher_default_platform() over the ESP-IDF
 * APIs (self_reflasher_platform.h says what a port provides).
 *
 *  flash       esp_flash_read / esp_flash_write / esp_flash_erase_region on
 *              esp_flash_default_chip; 4 KiB sectors, 64 KiB blocks, 256-byte
 *              pages; size from esp_flash_get_size(). No cost hints: the copy
 *              engine uses its defaults (device-timings.md).
 *  partitions  esp_partition_find(ANY, ANY, NULL) in table order, main flash
 *              only; the running one from esp_ota_get_running_partition().
 *  sources     esp_http_client, streaming API (open, fetch_headers, read);
 *              validators (ETag, Last-Modified) and If-Range for resumes
 *              (Kconfig SELF_REFLASHER_HTTP_RESUME), gzip responses through
 *              the ROM's tinfl (SELF_REFLASHER_GZIP): a project that turns
 *              either off links none of its code;
 *              the download deadline and minimum rate of Kconfig, timed
 *              with esp_timer.
 *  log         ESP_LOG_LEVEL_LOCAL with the component's tag.
 *
 * The same file builds on the host against the emulation in host/compat
 * (port/esp_idf/host.cmake), which is how the tests run it.
 *
 * State: one platform description, built at the first call and never
 * changed (the port stands for the one chip the firmware runs on); each
 * source owns its own context.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "esp_flash.h"
#include "esp_http_client.h"
#include "esp_image_format.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_timer.h"
#include "sdkconfig.h"
#include "rf_err.h"
#include "self_reflasher_platform.h"
#include "rf_inflate.h"
#ifdef CONFIG_SELF_REFLASHER_GZIP
#include "rf_inflate_tinfl.h"
#endif

/* ESP_ERR_HTTP_* codes older ESP-IDF 5.x releases lack: self_reflasher.h defines them. */

/* The core's own code for a refused image is ESP-IDF's (rf_err.h). */
_Static_assert(RF_ERR_IMAGE_INVALID == ESP_ERR_IMAGE_INVALID, "rf_err.h: RF_ERR_IMAGE_INVALID");

#ifndef CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP
#define CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP 0
#endif
/* Kconfig bools: defined to 1 when on, absent when off (as sdkconfig.h has them). */
#ifdef CONFIG_SELF_REFLASHER_GZIP
#define PORT_GZIP 1
#else
#define PORT_GZIP 0
#endif
#ifdef CONFIG_SELF_REFLASHER_HTTP_RESUME
#define PORT_RESUME 1
#else
#define PORT_RESUME 0
#endif

#define PORT_LOG_LINE 256

/* ---- log ------------------------------------------------------------------ */

static void port_log(void *arg, rf_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    (void)arg;
    char line[PORT_LOG_LINE];
    vsnprintf(line, sizeof line, fmt, ap);
    switch (level) {
    case RF_LOG_ERROR:
        ESP_LOG_LEVEL_LOCAL(ESP_LOG_ERROR, tag, "%s", line);
        break;
    case RF_LOG_WARN:
        ESP_LOG_LEVEL_LOCAL(ESP_LOG_WARN, tag, "%s", line);
        break;
    case RF_LOG_INFO:
        ESP_LOG_LEVEL_LOCAL(ESP_LOG_INFO, tag, "%s", line);
        break;
    case RF_LOG_DEBUG:
        ESP_LOG_LEVEL_LOCAL(ESP_LOG_DEBUG, tag, "%s", line);
        break;
    default:
        ESP_LOG_LEVEL_LOCAL(ESP_LOG_VERBOSE, tag, "%s", line);
        break;
    }
}

/* The port's own lines go the core's way (port_log): one call shape, no
 * ESP_LOGx expansion per line. A line is cut at PORT_LOG_LINE bytes, so the
 * URL comes last. */
static const rf_log_t s_log = { .fn = port_log };

/* An error line "WHAT: URL" (one call shape for the port's many), and the
 * code to return. */
RF_NOINLINE static esp_err_t fail_at(const char *url, esp_err_t err, const char *what)
{
    RF_LOGE(&s_log, "%s: %s", what, url);
    return err;
}

/* ---- flash ---------------------------------------------------------------- */

static esp_err_t flash_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    return esp_flash_read((esp_flash_t *)ctx, buf, addr, len);
}

static esp_err_t flash_program(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    return esp_flash_write((esp_flash_t *)ctx, buf, addr, len);
}

static esp_err_t flash_erase(void *ctx, uint32_t addr, uint32_t len)
{
    return esp_flash_erase_region((esp_flash_t *)ctx, addr, len);
}

/* ---- partitions ----------------------------------------------------------- */

static void part_to_rf(const esp_partition_t *p, rf_part_t *out)
{
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)p->type;
    out->subtype = (uint8_t)p->subtype;
    out->offset = (uint32_t)p->address;
    out->size = (uint32_t)p->size;
    size_t n = strnlen(p->label, RF_PART_LABEL_MAX);
    memcpy(out->label, p->label, n);   /* NUL-terminated: zeroed above, n <= RF_PART_LABEL_MAX */
    out->flags = p->encrypted ? RF_PART_FLAG_ENCRYPTED : 0;
}

static esp_err_t list_partitions(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count)
{
    (void)ctx;
    uint32_t n = 0;
    esp_partition_iterator_t it = esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it != NULL; it = esp_partition_next(it)) {
        const esp_partition_t *p = esp_partition_get(it);
        /* Partitions of external chips are not in the main flash's address space. */
        if (p->flash_chip != esp_flash_default_chip && p->flash_chip != NULL) {
            continue;
        }
        if (n < max) {
            part_to_rf(p, &out[n]);
        }
        n++;
    }
    esp_partition_iterator_release(it);
    if (n == 0) {
        return ESP_ERR_NOT_FOUND;
    }
    *count = n < max ? n : max;
    return ESP_OK;
}

static esp_err_t running_partition(void *ctx, rf_part_t *out)
{
    (void)ctx;
    const esp_partition_t *p = esp_ota_get_running_partition();
    if (p == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    part_to_rf(p, out);
    return ESP_OK;
}

/* ---- HTTP source ---------------------------------------------------------- */

/* Bounded time (rf_source.h): Kconfig's deadline and minimum rate, measured
 * with esp_timer. */
#ifndef CONFIG_SELF_REFLASHER_DOWNLOAD_DEADLINE_S
#define CONFIG_SELF_REFLASHER_DOWNLOAD_DEADLINE_S (RF_SOURCE_DEFAULT_DEADLINE_MS / 1000)
#endif
#ifndef CONFIG_SELF_REFLASHER_MIN_RATE_BPS
#define CONFIG_SELF_REFLASHER_MIN_RATE_BPS RF_SOURCE_DEFAULT_MIN_RATE_BPS
#endif
#ifndef CONFIG_SELF_REFLASHER_MIN_RATE_WINDOW_S
#define CONFIG_SELF_REFLASHER_MIN_RATE_WINDOW_S (RF_SOURCE_DEFAULT_RATE_WINDOW_MS / 1000)
#endif

RF_NOINLINE static uint64_t port_now_ms(void)
{
    return (uint64_t)esp_timer_get_time() / 1000u;
}

typedef struct {
    /* the fields the code touches most first: short offsets, compressed
     * instructions */
    esp_http_client_handle_t client;
    uint32_t skip;          /* bytes to drop: a server that ignored our Range (open() only) */
    int64_t remaining;      /* body bytes still expected from this response, -1: unknown */
    uint64_t event_ms;      /* the meter's clock: last event, or the start of the call waiting for one */
    rf_source_verdict_t verdict;
    uint32_t expired;       /* 1: a limit broke: the connection was closed (a word: compressed access) */
#if PORT_RESUME
    uint32_t has_range;     /* 1: a Content-Range header that parses strictly ... */
#endif
    http_event_handle_cb user_handler;   /* here: no padding before the 64-bit fields */
#if PORT_RESUME
    uint64_t range_first, range_last, range_total;   /* ... with these values */
#endif
    rf_source_meter_t meter;
    esp_http_client_config_t cfg;   /* the caller's, with our event handler in front of theirs */
    void *user_data;
#if PORT_RESUME
    char etag[RF_SOURCE_VALIDATOR_MAX + 1];
    char last_modified[RF_SOURCE_VALIDATOR_MAX + 1];
    char date[40];
#endif
    char content_encoding[16]; /* the response's, "" for none (rf_inflate.h inflates gzip) */
} http_src_t;

static void note(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v);
}

/* The time limits, fed from the client's events: esp_http_client_read()
 * and _fetch_headers() keep reading until their buffer is full, so a
 * trickle (one byte or one header line at a time, each within timeout_ms)
 * would hold them for hours. On a broken limit the connection is closed:
 * the client's next transport read fails and the call returns. */
static void meter_event(http_src_t *s, esp_http_client_handle_t client, uint32_t bytes)   /* bytes < 2 GiB */
{
    uint64_t now = port_now_ms();
    rf_source_verdict_t v = rf_source_meter_check(&s->meter, now, now - s->event_ms, bytes);
    s->event_ms = now;
    if (v != RF_SOURCE_OK && !s->expired) {
        s->expired = true;
        s->verdict = v;
        esp_http_client_close(client);
    }
}

/* The response headers kept as text: where each goes and its room. */
#define KEPT(name, field) { name, offsetof(http_src_t, field), sizeof ((http_src_t *)0)->field }
static const struct {
    const char *name;
    uint16_t at, cap;
} k_kept[] = {
#if PORT_RESUME
    KEPT("ETag", etag), KEPT("Last-Modified", last_modified), KEPT("Date", date),
#endif
    KEPT("Content-Encoding", content_encoding),
};
#undef KEPT

/* Response headers are only visible to the event handler: note
 * Content-Range and the validators, hold the time limits over header lines
 * and body data, then hand the event to the caller's handler unchanged. */
static esp_err_t http_event(esp_http_client_event_t *evt)
{
    http_src_t *s = evt->user_data;
    if (evt->event_id == HTTP_EVENT_ON_DATA && evt->data_len > 0) {
        meter_event(s, evt->client, (uint32_t)evt->data_len);   /* > 0 */
    }
    if (evt->event_id == HTTP_EVENT_ON_HEADER && evt->header_key != NULL && evt->header_value != NULL) {
        const char *k = evt->header_key, *v = evt->header_value;
#if PORT_RESUME
        if (strcasecmp(k, "Content-Range") == 0) {
            s->has_range = rf_source_parse_content_range(v, &s->range_first, &s->range_last, &s->range_total);
        }
#endif
        for (size_t i = 0; i < sizeof k_kept / sizeof k_kept[0]; i++) {
            if (strcasecmp(k, k_kept[i].name) == 0) {
                note((char *)s + k_kept[i].at, k_kept[i].cap, v);
                break;
            }
        }
        meter_event(s, evt->client, strnlen(k, 256) + strnlen(v, 1024) + 4);   /* "key: value\r\n" */
    }
    if (s->user_handler == NULL) {
        return ESP_OK;
    }
    evt->user_data = s->user_data;
    esp_err_t err = s->user_handler(evt);
    evt->user_data = s;
    return err;
}

/* A time limit broke (the connection is closed): say which. */
RF_NOINLINE static esp_err_t http_expired(const http_src_t *s)
{
    RF_LOGE(&s_log, "%s exceeded: %s", rf_source_verdict_name(s->verdict), s->cfg.url);
    return ESP_ERR_TIMEOUT;
}

static void http_close(void *ctx)
{
    http_src_t *s = ctx;
    if (s->client != NULL) {
        esp_http_client_close(s->client);
        esp_http_client_cleanup(s->client);
        s->client = NULL;
    }
}

/* One GET (with Range from `offset`, and If-Range when given) up to its
 * response headers. *status and *length describe the response. */
static esp_err_t http_request(http_src_t *s, uint32_t offset, const char *if_range, int *status, int64_t *length)
{
    http_close(s);
    *status = 0;      /* what the callers started from before they left it to this */
    *length = -1;
    s->skip = 0;
    s->remaining = -1;
#if PORT_RESUME
    s->has_range = false;
    s->etag[0] = s->last_modified[0] = s->date[0] = 0;
#endif
    s->content_encoding[0] = 0;
    s->client = esp_http_client_init(&s->cfg);
    if (s->client == NULL) {
        return fail_at(s->cfg.url, ESP_ERR_INVALID_ARG, "No HTTP client");
    }
    /* a whole transfer may come gzip-compressed (inflated by rf_inflate.h);
     * a Range request asks for identity bytes, and so does a build without
     * gzip (no Accept-Encoding would accept any coding) */
    esp_err_t err = esp_http_client_set_header(s->client, "Accept-Encoding",
                                               PORT_GZIP && offset == 0 ? "gzip" : "identity");
#if PORT_RESUME
    if (err == ESP_OK && offset > 0) {
        char range[32];
        snprintf(range, sizeof range, "bytes=%" PRIu32 "-", offset);
        err = esp_http_client_set_header(s->client, "Range", range);
        if (err == ESP_OK && if_range != NULL) {
            err = esp_http_client_set_header(s->client, "If-Range", if_range);
        }
    }
#else
    (void)if_range;
#endif
    if (err != ESP_OK) {
        return err;
    }
    s->event_ms = port_now_ms();
    err = esp_http_client_open(s->client, 0);
    if (err != ESP_OK) {
        RF_LOGE(&s_log, "Connect: %s: %s", esp_err_to_name(err), s->cfg.url);
        return ESP_ERR_HTTP_CONNECT;
    }
    int64_t announced = esp_http_client_fetch_headers(s->client);
    if (s->expired) {
        return http_expired(s);
    }
    if (announced < 0) {
        return fail_at(s->cfg.url, announced == -ESP_ERR_HTTP_EAGAIN ? ESP_ERR_HTTP_READ_TIMEOUT : ESP_ERR_HTTP_FETCH_HEADER,
                         "No headers");
    }
    *status = esp_http_client_get_status_code(s->client);
    *length = esp_http_client_is_chunked_response(s->client) ? -1 : esp_http_client_get_content_length(s->client);
    if (*status == 416 && offset > 0) {
        RF_LOGE(&s_log, "HTTP 416 at %" PRIu32 ": %s", offset, s->cfg.url);
        return ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;
    }
    if (*status < 200 || *status > 299) {   /* 404 has its own code */
        RF_LOGE(&s_log, "HTTP %d: %s", *status, s->cfg.url);
        return *status == 404 ? ESP_ERR_NOT_FOUND : ESP_ERR_INVALID_RESPONSE;
    }
#if !PORT_GZIP
    /* a coding asked for by nobody: refused before a byte is staged */
    if (s->content_encoding[0] != 0 && strcasecmp(s->content_encoding, "identity") != 0) {
        RF_LOGE(&s_log, "Content-Encoding %s, gzip off: %s", s->content_encoding, s->cfg.url);
        return ESP_ERR_NOT_SUPPORTED;
    }
#endif
    return ESP_OK;
}

static void start_meter(http_src_t *s)
{
    static const rf_source_limits_t lim = {
        .deadline_ms = (uint32_t)CONFIG_SELF_REFLASHER_DOWNLOAD_DEADLINE_S * 1000u,
        .min_rate_bps = (uint32_t)CONFIG_SELF_REFLASHER_MIN_RATE_BPS,
        .rate_window_ms = (uint32_t)CONFIG_SELF_REFLASHER_MIN_RATE_WINDOW_S * 1000u,
    };
    rf_source_meter_start(&s->meter, &lim, port_now_ms());
    s->expired = false;
    s->verdict = RF_SOURCE_OK;
}

/* open(offset): a GET, with "Range: bytes=offset-" when resuming. A server
 * that answers 206 sends the rest; one that ignores Range answers 200 with
 * the whole object, and the first `offset` bytes are dropped. */
static esp_err_t http_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    http_src_t *s = ctx;
    int status;       /* http_request sets both */
    int64_t length;
    start_meter(s);
    esp_err_t err = http_request(s, offset, NULL, &status, &length);
    if (err != ESP_OK) {
        return err;
    }
#if PORT_RESUME
    if (status == 206 && offset > 0) {
        if (!s->has_range || s->range_first != offset) {
            RF_LOGE(&s_log, "Wrong range for %" PRIu32 ": %s", offset, s->cfg.url);
            return ESP_ERR_INVALID_RESPONSE;
        }
        s->remaining = length;
        *total_len = (int64_t)s->range_total;
    } else
#endif
    {
        /* 200 (or a 206 of the whole object): the body starts at byte 0. */
        if (length >= 0 && length < (int64_t)offset) {
            RF_LOGE(&s_log, "%" PRId64 " B < offset %" PRIu32 ": %s", length, offset, s->cfg.url);
            return ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;
        }
        s->skip = offset;
        s->remaining = length;
        *total_len = length;
    }
    return ESP_OK;
}

#if PORT_RESUME
/* open_at (rf_source.h): a resume only on a 206 that continues the object
 * exactly (Range + If-Range sent); a 200 is the new object from byte 0; a
 * 416 or any other 206 is dropped and the object asked again without a
 * range. Never skips bytes. */
static esp_err_t http_open_at(void *ctx, rf_source_open_t *io)
{
    http_src_t *s = ctx;
    int status;       /* http_request sets both */
    int64_t length;
    bool resume = io->offset > 0 && rf_source_validator_ok(io->if_range);
    start_meter(s);
    esp_err_t err = http_request(s, resume ? io->offset : 0, resume ? io->if_range : NULL, &status, &length);
    bool continues = err == ESP_OK && status == 206 && s->has_range &&
                     rf_source_range_continues(io->offset, s->range_first, s->range_last, s->range_total, length);
    if (resume && (err == ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE || (err == ESP_OK && status == 206 && !continues))) {
        RF_LOGW(&s_log, "No resume at %" PRIu32 ", from 0: %s", io->offset, s->cfg.url);
        resume = false;
        err = http_request(s, 0, NULL, &status, &length);
    }
    if (err != ESP_OK) {
        return err;
    }
    io->start = (resume && continues) ? io->offset : 0;
    io->total = continues ? (int64_t)s->range_total : length;
    s->remaining = length;
    /* "" (header absent) counts as NULL there: no ETag, no date */
    rf_source_pick_validator(s->etag, s->last_modified, s->date, io->validator);
    return ESP_OK;
}
#endif

static esp_err_t http_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    http_src_t *s = ctx;
    *got = 0;
    if (s->client == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    for (;;) {
        uint32_t want = cap;
        if (s->skip > 0 && s->skip < want) {
            want = s->skip;
        }
        if (want > INT32_MAX) {
            want = INT32_MAX;
        }
        s->event_ms = port_now_ms();   /* time spent between reads does not count against the rate */
        int n = s->expired ? -1 : esp_http_client_read(s->client, buf, (int)want);
        if (!s->expired) {
            meter_event(s, s->client, 0);   /* the wait since the last data, and the deadline */
        }
        if (s->expired && n <= 0) {   /* bytes that did arrive are handed out first */
            return http_expired(s);
        }
        if (n == -ESP_ERR_HTTP_EAGAIN) {
            return fail_at(s->cfg.url, ESP_ERR_HTTP_READ_TIMEOUT, "Read timeout");
        }
        if (n < 0) {
            return fail_at(s->cfg.url, ESP_ERR_HTTP_INCOMPLETE_DATA, "Read failed");
        }
        if (n == 0) {
            /* End of the body: complete, or the server stopped early. With a
             * known length, fewer bytes than announced; chunked, no final
             * chunk. A body delimited by the connection's close (no length,
             * not chunked) cannot be told from a truncated one. */
            if (s->skip > 0 ||
                ((s->remaining >= 0 ? s->remaining > 0 : esp_http_client_is_chunked_response(s->client)) &&
                 !esp_http_client_is_complete_data_received(s->client))) {
                return fail_at(s->cfg.url, ESP_ERR_HTTP_INCOMPLETE_DATA, "Closed early");
            }
            return ESP_OK;
        }
        if (s->remaining > 0) {
            s->remaining -= n;
        }
        if (s->skip > 0) {
            s->skip -= (uint32_t)n;
            continue;
        }
        *got = (uint32_t)n;
        return ESP_OK;
    }
}

#if PORT_GZIP
static const char *http_content_encoding(void *ctx)
{
    const http_src_t *s = ctx;
    return s->content_encoding[0] ? s->content_encoding : NULL;
}

/* The source the core reads: the HTTP source through rf_inflate.h, whose
 * DEFLATE backend is the ROM's tinfl (43 KiB of state, allocated only when a
 * response is compressed, freed with the source). */
typedef struct {
    rf_inflate_source_t infl;   /* first: the wrapper's functions take the struct */
    http_src_t http;
    rf_inflater_t inf;          /* lazy: its first reset allocates the tinfl state ... */
    rf_tinfl_inflater_t *tinfl;
} port_src_t;

static esp_err_t lazy_reset(void *ctx)
{
    port_src_t *p = ctx;
    p->tinfl = calloc(1, sizeof *p->tinfl);
    if (p->tinfl == NULL) {
        return ESP_ERR_NO_MEM;
    }
    /* ... and makes inf tinfl's own (its ctx, functions and the input
     * buffer that comes with the state): later calls go straight there */
    rf_tinfl_inflater_init(p->tinfl, &p->inf);
    return p->inf.reset(p->inf.ctx);
}
#else
/* Without gzip the core reads the HTTP source itself. */
typedef struct {
    http_src_t http;
} port_src_t;
#endif

static esp_err_t make_source(void *ctx, const esp_http_client_config_t *http, rf_source_t *out)
{
    (void)ctx;
    if (http == NULL || http->url == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    /* Refused here, before anything is erased: download_bin makes the source first. */
    if (!CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP && strncasecmp(http->url, "http://", 7) == 0) {
        return fail_at(http->url, ESP_ERR_NOT_SUPPORTED, "Plain HTTP off (SELF_REFLASHER_ALLOW_PLAIN_HTTP)");
    }
#if !PORT_GZIP
    if (rf_inflate_name_is_gz(http->url)) {
        return fail_at(http->url, ESP_ERR_NOT_SUPPORTED, "gzip off");
    }
#endif
    port_src_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ESP_ERR_NO_MEM;
    }
    http_src_t *s = &p->http;
    s->cfg = *http;
    s->user_handler = http->event_handler;
    s->user_data = http->user_data;
    s->cfg.event_handler = http_event;
    s->cfg.user_data = s;
    rf_source_t inner = { .ctx = s, .open = http_open, .read = http_read, .close = http_close, .name = http->url };
#if PORT_RESUME
    inner.open_at = http_open_at;
#endif
#if PORT_GZIP
    inner.content_encoding = http_content_encoding;
    p->inf = (rf_inflater_t){ .ctx = p, .reset = lazy_reset };   /* no run before a reset */
    rf_inflate_source_init(&p->infl, &inner, &p->inf, out);
#else
    *out = inner;   /* ctx: &p->http, which is p */
#endif
    return ESP_OK;
}

static void free_source(void *ctx, rf_source_t *src)
{
    (void)ctx;
    if (src != NULL && src->ctx != NULL) {
        port_src_t *p = src->ctx;
        http_close(&p->http);
#if PORT_GZIP
#if !defined(ESP_PLATFORM)
        if (p->tinfl != NULL) {
            rf_tinfl_host_end(&p->tinfl->d);   /* the host's tinfl stand-in holds zlib state */
        }
#endif
        free(p->tinfl);
#endif
        free(p);
        src->ctx = NULL;
    }
}

/* ---- the platform --------------------------------------------------------- */

/* The chip's description (ctx, size) is filled in at the first call; the
 * platform itself is constant (it points at s_flash). */
static rf_flash_t s_flash;
static bool s_ready;

static const esp_self_reflasher_platform_t s_platform = {
    .ctx = NULL, .flash = &s_flash,
#ifdef CONFIG_IDF_FIRMWARE_CHIP_ID
    .chip_id = CONFIG_IDF_FIRMWARE_CHIP_ID,
#else
    .chip_id = 0xFFFF,
#endif
#ifdef CONFIG_PARTITION_TABLE_OFFSET
    .ptable_offset = CONFIG_PARTITION_TABLE_OFFSET,
#else
    .ptable_offset = 0x8000,
#endif
#ifdef CONFIG_SELF_REFLASHER_RECOVERY_BOOTLOADER_ADDR
    .recovery_bootloader_addr = CONFIG_SELF_REFLASHER_RECOVERY_BOOTLOADER_ADDR,
#endif
    .running_partition = running_partition,
    .list_partitions = list_partitions, .make_source = make_source, .free_source = free_source,
    .log = { .fn = port_log, .arg = NULL },
};

const esp_self_reflasher_platform_t *esp_self_reflasher_default_platform(void)
{
    if (s_ready) {
        return &s_platform;
    }
    esp_flash_t *chip = esp_flash_default_chip;
    uint32_t size = 0;
    if (chip == NULL || esp_flash_get_size(chip, &size) != ESP_OK || size == 0) {
        RF_LOGE(&s_log, "No flash chip");
        return NULL;
    }
    /* field by field: the cost hints stay 0 as s_flash starts (static) and
     * nothing else writes it */
    s_flash.ctx = chip;
    s_flash.size = size;
    s_flash.sector_size = 4096;
    s_flash.block_size = 65536;
    s_flash.page_size = 256;
    s_flash.read = flash_read;
    s_flash.program = flash_program;
    s_flash.erase = flash_erase;
#if !CONFIG_SPI_FLASH_DANGEROUS_WRITE_ALLOWED
    RF_LOGW(&s_log, "SPI_FLASH_DANGEROUS_WRITE_ALLOWED off: boot area writes fail");
#endif
    s_ready = true;
    return &s_platform;
}
