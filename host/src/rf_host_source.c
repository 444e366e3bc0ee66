/*
 * Host sources over libcurl (http, https) and stdio (files). See
 * rf_host_source.h for the contract.
 *
 * The HTTP source is pull-style: nothing runs between calls. open() and
 * read() drive one easy handle through a private multi handle
 * (curl_multi_perform + curl_multi_poll) until the condition they wait for
 * holds (headers in / some body bytes buffered / transfer over) or the
 * stall timer runs out. The write callback appends into a bounded buffer;
 * when the next chunk does not fit and the buffer still holds unread bytes it
 * returns CURL_WRITEFUNC_PAUSE (curl keeps the chunk), and read() unpauses
 * the transfer once the caller has drained the buffer.
 */
#include "rf_host_source.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define SRC_MAGIC          0x72667372u   /* "rfsr" */
#define DEFAULT_TIMEOUT_MS 10000
#define BODY_BUF_CAP       (64u * 1024u)
#define POLL_SLICE_MS      100
#define MAX_REDIRECTS      10L
#define HEADER_LINE_MAX    1024

typedef enum { KIND_FILE, KIND_HTTP } src_kind_t;

typedef struct src_ctx {
    uint32_t magic;
    src_kind_t kind;
    char *name;          /* as given: log name */
    char *target;        /* URL (http) or file path (file) */
    int timeout_ms;
    char *ca_file;
    char *cert_pem;
    size_t cert_len;
    uint64_t *bytes_counter;
    void (*on_bytes)(void *arg, uint32_t n);
    void *on_bytes_arg;
    rf_source_limits_t limits;
    bool curl_inited;

    /* per open() */
    bool is_open;
    esp_err_t sticky;    /* error already reported by read(); repeated */
    bool range_honoured;
    bool at_end;
    rf_source_meter_t meter;
    rf_source_verdict_t verdict;   /* why the last ESP_ERR_TIMEOUT came, if a limit */

    /* file */
    FILE *fp;
    uint64_t file_remaining;

    /* http: transfer */
    CURLM *multi;
    CURL *easy;
    bool in_multi;
    bool done;
    CURLcode result;
    bool paused;
    struct curl_slist *req_headers;   /* If-Range */
    uint64_t activity;   /* header + body bytes seen: the stall timer's progress */
    char errbuf[CURL_ERROR_SIZE];

    /* http: body buffer, unread bytes in [rd, wr) */
    uint8_t *buf;
    size_t buf_cap, rd, wr;

    /* http: the current response's headers */
    bool headers_done;
    long status;
    bool has_location;
    bool chunked;
    int64_t content_length;   /* -1: none */
    bool has_crange;          /* a Content-Range that parses strictly */
    uint64_t cr_first, cr_last, cr_total;
    char etag[RF_SOURCE_VALIDATOR_MAX + 1];            /* "" none; too long: truncated, refused */
    char last_modified[RF_SOURCE_VALIDATOR_MAX + 1];
    char date[40];
    char content_encoding[16];             /* "" for none (rf_inflate.h decodes gzip) */

    /* http: the verdict on the final response, made when its headers end */
    uint32_t offset;
    bool validated;           /* open_at(): a 206 must continue exactly at offset */
    bool restart;             /* open_at(): the answer does not continue the object: start over */
    esp_err_t accept_err;
    int64_t total;

    /* http: body accounting */
    uint64_t skip;            /* body bytes still to drop (server ignored Range) */
    int64_t body_expected;    /* body bytes announced, -1 unknown */
    uint64_t body_received;   /* body bytes taken from curl, dropped ones included */
} src_ctx_t;

/* ------------------------------------------------------------------------ */

static char *dup_str(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void deliver(src_ctx_t *c, uint32_t n)
{
    if (n == 0) {
        return;
    }
    if (c->bytes_counter != NULL) {
        *c->bytes_counter += n;
    }
    if (c->on_bytes != NULL) {
        c->on_bytes(c->on_bytes_arg, n);
    }
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* "scheme://..." (RFC 3986 scheme characters before "://"). */
static bool has_other_scheme(const char *s)
{
    const char *sep = strstr(s, "://");
    if (sep == NULL || sep == s || !isalpha((unsigned char)s[0])) {
        return false;
    }
    for (const char *p = s; p < sep; p++) {
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.') {
            return false;
        }
    }
    return true;
}

/* file://[localhost]/path -> /path, percent-decoded; NULL if not local. */
static char *file_url_path(const char *url)
{
    const char *p = url + strlen("file://");
    if (has_prefix_ci(p, "localhost/")) {
        p += strlen("localhost");
    }
    if (*p != '/') {
        return NULL;
    }
    char *out = malloc(strlen(p) + 1);
    if (out == NULL) {
        return NULL;
    }
    char *o = out;
    while (*p != 0 && *p != '?' && *p != '#') {
        int hi, lo;
        if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi | lo) != 0) {
            *o++ = (char)(hi * 16 + lo);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

/* ------------------------------------------------------------------------ */
/* File source                                                              */

static esp_err_t file_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    src_ctx_t *c = ctx;
    if (c->is_open) {
        return ESP_ERR_INVALID_STATE;
    }
    c->sticky = ESP_OK;
    c->range_honoured = true;
    c->at_end = false;
    FILE *f = fopen(c->target, "rb");
    if (f == NULL) {
        return (errno == ENOENT || errno == ENOTDIR) ? ESP_ERR_NOT_FOUND : ESP_FAIL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return ESP_FAIL;
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return ESP_ERR_INVALID_ARG;
    }
    if ((uint64_t)offset > (uint64_t)st.st_size) {
        fclose(f);
        return ESP_ERR_INVALID_SIZE;
    }
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        fclose(f);
        return ESP_FAIL;
    }
    c->fp = f;
    c->file_remaining = (uint64_t)st.st_size - offset;
    c->is_open = true;
    if (total_len != NULL) {
        *total_len = (int64_t)st.st_size;
    }
    return ESP_OK;
}

/* The file's identity and version: inode, size, modification time. */
static void file_validator(const struct stat *st, char out[RF_SOURCE_VALIDATOR_MAX])
{
    snprintf(out, RF_SOURCE_VALIDATOR_MAX, "\"%llx-%llx-%lld.%09ld\"", (unsigned long long)st->st_ino,
             (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

/* open_at (rf_source.h): resumes only while the file is the one recorded. */
static esp_err_t file_open_at(void *ctx, rf_source_open_t *io)
{
    src_ctx_t *c = ctx;
    struct stat st;
    char now[RF_SOURCE_VALIDATOR_MAX] = "";
    if (stat(c->target, &st) == 0) {
        file_validator(&st, now);
    }
    bool same = io->offset > 0 && rf_source_validator_ok(io->if_range) && strcmp(io->if_range, now) == 0;
    uint32_t offset = same ? io->offset : 0;
    esp_err_t err = file_open(ctx, offset, &io->total);
    if (err == ESP_OK) {
        io->start = offset;
        snprintf(io->validator, sizeof io->validator, "%s", now);
    }
    return err;
}

static esp_err_t file_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    src_ctx_t *c = ctx;
    *got = 0;
    if (!c->is_open) {
        return ESP_ERR_INVALID_STATE;
    }
    if (c->sticky != ESP_OK) {
        return c->sticky;
    }
    if (cap == 0 || buf == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (c->file_remaining == 0) {
        return ESP_OK;
    }
    size_t want = (size_t)RF_MIN((uint64_t)cap, c->file_remaining);
    size_t n = fread(buf, 1, want, c->fp);
    if (n == 0) {
        c->sticky = ferror(c->fp) ? ESP_FAIL : ESP_ERR_HTTP_INCOMPLETE_DATA;
        return c->sticky;
    }
    c->file_remaining -= n;
    *got = (uint32_t)n;
    deliver(c, (uint32_t)n);
    return ESP_OK;
}

static void file_close(void *ctx)
{
    src_ctx_t *c = ctx;
    if (c->fp != NULL) {
        fclose(c->fp);
        c->fp = NULL;
    }
    c->is_open = false;
}

/* ------------------------------------------------------------------------ */
/* HTTP source: curl callbacks                                              */

static void reset_response(src_ctx_t *c)
{
    c->status = 0;
    c->has_location = false;
    c->chunked = false;
    c->content_length = -1;
    c->has_crange = false;
    c->cr_first = c->cr_last = c->cr_total = 0;
    c->etag[0] = c->last_modified[0] = c->date[0] = 0;
    c->content_encoding[0] = 0;
}

/* Check the final response's headers; set skip / body_expected / total. */
static esp_err_t http_accept_response(src_ctx_t *c, uint32_t offset, int64_t *total)
{
    long st = c->status;
    if (st == 404) {
        return ESP_ERR_NOT_FOUND;
    }
    if (st == 416) {
        c->restart = c->validated && offset > 0;   /* open_at(): the object shrank; start over */
        return ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;
    }
    if (st < 200 || st >= 300) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    int64_t cl = c->chunked ? -1 : c->content_length;
    if (st == 206 && c->validated) {
        /* Only an exact continuation of the same object's total resumes. */
        if (!c->has_crange || !rf_source_range_continues(offset, c->cr_first, c->cr_last, c->cr_total, cl)) {
            c->restart = true;
            return ESP_ERR_INVALID_RESPONSE;
        }
        c->skip = 0;
        c->body_expected = (int64_t)(c->cr_last - c->cr_first + 1);
        *total = (int64_t)c->cr_total;
        return ESP_OK;
    }
    if (st == 206) {
        if (!c->has_crange || c->cr_first > offset) {
            return ESP_ERR_INVALID_RESPONSE;
        }
        c->skip = (uint64_t)offset - c->cr_first;
        c->body_expected = (int64_t)(c->cr_last - c->cr_first + 1);
        *total = (int64_t)c->cr_total;
        c->range_honoured = c->skip == 0;
        return ESP_OK;
    }
    if (st == 204 || st == 205) {
        cl = 0;
    }
    if (c->validated) {
        /* A 200: the whole (new or changed) object, from byte 0. */
        c->skip = 0;
        c->body_expected = cl;
        *total = cl;
        c->restart = offset > 0;
        return ESP_OK;
    }
    c->skip = offset;
    c->body_expected = cl;
    *total = cl;
    c->range_honoured = offset == 0;
    if (cl >= 0 && cl < (int64_t)offset) {
        return ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;
    }
    return ESP_OK;
}

/* The final response's headers are in (called before its first body byte). */
static void finish_headers(src_ctx_t *c)
{
    if (c->headers_done) {
        return;
    }
    c->headers_done = true;
    c->total = -1;
    c->accept_err = http_accept_response(c, c->offset, &c->total);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    src_ctx_t *c = arg;
    size_t len = size * nmemb;
    c->activity += len;
    if (c->headers_done) {
        return len;     /* trailers */
    }
    char line[HEADER_LINE_MAX];
    size_t n = RF_MIN(len, sizeof line - 1);
    memcpy(line, data, n);
    line[n] = 0;
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n')) {
        line[--n] = 0;
    }
    if (n == 0) {
        /* End of one response's headers. 1xx and followed redirects are
         * followed by another response; anything else is final. */
        if (c->status >= 200 && !(c->status >= 300 && c->status < 400 && c->has_location)) {
            finish_headers(c);
        }
        return len;
    }
    if (strncmp(line, "HTTP/", 5) == 0) {
        reset_response(c);
        const char *sp = strchr(line, ' ');
        if (sp != NULL) {
            c->status = strtol(sp + 1, NULL, 10);
        }
        return len;
    }
    char *colon = strchr(line, ':');
    if (colon == NULL) {
        return len;
    }
    *colon = 0;
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (strcasecmp(line, "Content-Length") == 0) {
        char *end;
        long long cl = strtoll(v, &end, 10);
        if (end != v && cl >= 0) {
            c->content_length = cl;
        }
    } else if (strcasecmp(line, "Content-Range") == 0) {
        c->has_crange = rf_source_parse_content_range(v, &c->cr_first, &c->cr_last, &c->cr_total);
    } else if (strcasecmp(line, "ETag") == 0) {
        snprintf(c->etag, sizeof c->etag, "%s", v);
    } else if (strcasecmp(line, "Last-Modified") == 0) {
        snprintf(c->last_modified, sizeof c->last_modified, "%s", v);
    } else if (strcasecmp(line, "Date") == 0) {
        snprintf(c->date, sizeof c->date, "%s", v);
    } else if (strcasecmp(line, "Content-Encoding") == 0) {
        snprintf(c->content_encoding, sizeof c->content_encoding, "%s", v);
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        if (strcasestr(v, "chunked") != NULL) {
            c->chunked = true;
        }
    } else if (strcasecmp(line, "Location") == 0) {
        c->has_location = true;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    src_ctx_t *c = arg;
    size_t len = size * nmemb;
    finish_headers(c);
    if (c->accept_err != ESP_OK) {
        c->activity += len;     /* an error page, or a body we refuse */
        return len;
    }
    size_t drop = (size_t)RF_MIN((uint64_t)len, c->skip);
    size_t keep = len - drop;
    if (keep > c->buf_cap - c->wr) {
        if (c->rd > 0) {
            memmove(c->buf, c->buf + c->rd, c->wr - c->rd);
            c->wr -= c->rd;
            c->rd = 0;
        }
        if (keep > c->buf_cap - c->wr) {
            if (c->wr > 0) {
                /* Full: curl keeps this chunk and hands it again on unpause. */
                c->paused = true;
                return CURL_WRITEFUNC_PAUSE;
            }
            /* Empty but too small for one chunk (never with curl's default
             * chunk size): grow to fit this chunk. */
            uint8_t *nb = realloc(c->buf, keep);
            if (nb == NULL) {
                return 0;   /* CURLE_WRITE_ERROR */
            }
            c->buf = nb;
            c->buf_cap = keep;
        }
    }
    memcpy(c->buf + c->wr, data + drop, keep);
    c->wr += keep;
    c->skip -= drop;
    c->body_received += len;
    c->activity += len;
    return len;
}

/* ------------------------------------------------------------------------ */
/* HTTP source: driving the transfer                                        */

static bool connected(src_ctx_t *c)
{
    curl_off_t t = 0;
    if (curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME_T, &t) != CURLE_OK) {
        return false;
    }
    return t > 0;
}

static esp_err_t map_curl(src_ctx_t *c, CURLcode r)
{
    switch (r) {
    case CURLE_OK:
        return ESP_OK;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return ESP_ERR_INVALID_ARG;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return ESP_ERR_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return (c->headers_done || connected(c)) ? ESP_ERR_TIMEOUT : ESP_ERR_HTTP_CONNECT;
    case CURLE_TOO_MANY_REDIRECTS:
        return ESP_ERR_HTTP_MAX_REDIRECT;
    case CURLE_OUT_OF_MEMORY:
        return ESP_ERR_NO_MEM;
    case CURLE_WRITE_ERROR:
        return ESP_ERR_NO_MEM;   /* our write callback only fails on realloc */
    default:
        return c->headers_done ? ESP_ERR_HTTP_INCOMPLETE_DATA : ESP_ERR_HTTP_FETCH_HEADER;
    }
}

static void collect_done(src_ctx_t *c)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy) {
            c->done = true;
            c->result = m->data.result;
        }
    }
}

static bool pump_goal(const src_ctx_t *c, bool want_data)
{
    return want_data ? c->wr > c->rd : c->headers_done;
}

/* Drive the transfer until the goal holds or the transfer is over. ESP_OK
 * then; ESP_ERR_TIMEOUT / ESP_ERR_HTTP_CONNECT when nothing moved for
 * timeout_ms; ESP_FAIL on a curl multi error. */
static esp_err_t pump(src_ctx_t *c, bool want_data)
{
    uint64_t seen = c->activity;
    uint64_t since = now_ms();
    uint64_t t_prev = since, metered = c->activity;
    for (;;) {
        if (pump_goal(c, want_data) || c->done) {
            return ESP_OK;
        }
        if (c->paused) {
            /* The buffer has room (the goal would hold otherwise). Unpausing
             * may call on_body() right away. */
            c->paused = false;
            if (curl_easy_pause(c->easy, CURLPAUSE_CONT) != CURLE_OK) {
                return ESP_FAIL;
            }
            continue;
        }
        int running = 0;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            return ESP_FAIL;
        }
        collect_done(c);
        if (pump_goal(c, want_data) || c->done) {
            return ESP_OK;
        }
        uint64_t now = now_ms();
        if (c->activity != seen) {
            seen = c->activity;
            since = now;
        }
        /* The overall deadline and the minimum rate (time spent here only). */
        c->verdict = rf_source_meter_check(&c->meter, now, now - t_prev, c->activity - metered);
        t_prev = now;
        metered = c->activity;
        if (c->verdict != RF_SOURCE_OK) {
            return ESP_ERR_TIMEOUT;
        }
        uint64_t idle = now - since;
        if (idle >= (uint64_t)c->timeout_ms) {
            return (c->headers_done || connected(c)) ? ESP_ERR_TIMEOUT : ESP_ERR_HTTP_CONNECT;
        }
        int wait = (int)RF_MIN((uint64_t)POLL_SLICE_MS, (uint64_t)c->timeout_ms - idle);
        if (curl_multi_poll(c->multi, NULL, 0, wait, NULL) != CURLM_OK) {
            return ESP_FAIL;
        }
    }
}

static void http_close(void *ctx)
{
    src_ctx_t *c = ctx;
    if (c->multi != NULL && c->easy != NULL && c->in_multi) {
        curl_multi_remove_handle(c->multi, c->easy);
    }
    c->in_multi = false;
    if (c->easy != NULL) {
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    if (c->multi != NULL) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
    }
    curl_slist_free_all(c->req_headers);
    c->req_headers = NULL;
    free(c->buf);
    c->buf = NULL;
    c->buf_cap = c->rd = c->wr = 0;
    c->is_open = false;
}

static const char *http_content_encoding(void *ctx)
{
    const src_ctx_t *c = ctx;
    return c->content_encoding[0] ? c->content_encoding : NULL;
}

static esp_err_t http_setup(src_ctx_t *c, uint32_t offset, const char *if_range)
{
    c->buf = malloc(BODY_BUF_CAP);
    c->easy = curl_easy_init();
    c->multi = curl_multi_init();
    if (c->buf == NULL || c->easy == NULL || c->multi == NULL) {
        return ESP_ERR_NO_MEM;
    }
    c->buf_cap = BODY_BUF_CAP;
    CURL *e = c->easy;
    CURLcode r = CURLE_OK;
#define SETOPT(opt, val) do { if (r == CURLE_OK) { r = curl_easy_setopt(e, opt, val); } } while (0)
    SETOPT(CURLOPT_URL, c->target);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    SETOPT(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SETOPT(CURLOPT_USERAGENT, "self-reflasher-host");
    SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, c);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, c);
    if (c->ca_file != NULL) {
        SETOPT(CURLOPT_CAINFO, c->ca_file);
    }
    if (c->cert_pem != NULL) {
        struct curl_blob blob = { .data = c->cert_pem, .len = c->cert_len, .flags = CURL_BLOB_COPY };
        SETOPT(CURLOPT_CAINFO_BLOB, &blob);
    }
    if (offset == 0) {
        /* a whole transfer may come gzip-compressed: curl passes the bytes
         * through undecoded and rf_inflate.h inflates them (a Range request
         * asks for identity bytes) */
        SETOPT(CURLOPT_ACCEPT_ENCODING, "gzip");
        SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
    }
    char range[32];
    if (offset > 0) {
        snprintf(range, sizeof range, "%lu-", (unsigned long)offset);
        SETOPT(CURLOPT_RANGE, range);   /* copied by curl */
    }
    if (offset > 0 && if_range != NULL) {
        char line[32 + RF_SOURCE_VALIDATOR_MAX];
        snprintf(line, sizeof line, "If-Range: %s", if_range);
        c->req_headers = curl_slist_append(NULL, line);
        if (c->req_headers == NULL) {
            return ESP_ERR_NO_MEM;
        }
        SETOPT(CURLOPT_HTTPHEADER, c->req_headers);
    }
#undef SETOPT
    if (r != CURLE_OK) {
        return r == CURLE_OUT_OF_MEMORY ? ESP_ERR_NO_MEM : ESP_ERR_NOT_SUPPORTED;
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        return ESP_FAIL;
    }
    c->in_multi = true;
    return ESP_OK;
}

/* One request: GET (at offset, with If-Range when given) until the final
 * response's headers are in and accepted. Leaves the source open on ESP_OK
 * and closed otherwise. */
static esp_err_t http_request(src_ctx_t *c, uint32_t offset, const char *if_range)
{
    c->is_open = true;      /* close() is safe from here on, whatever happens */
    c->sticky = ESP_OK;
    c->range_honoured = true;
    c->at_end = false;
    c->done = false;
    c->result = CURLE_OK;
    c->paused = false;
    c->activity = 0;
    c->errbuf[0] = 0;
    c->headers_done = false;
    reset_response(c);
    c->skip = 0;
    c->body_expected = -1;
    c->body_received = 0;
    c->offset = offset;
    c->restart = false;
    c->accept_err = ESP_OK;
    c->total = -1;

    esp_err_t err = http_setup(c, offset, if_range);
    if (err == ESP_OK) {
        err = pump(c, false);
    }
    if (err == ESP_OK && !c->headers_done) {
        err = c->result != CURLE_OK ? map_curl(c, c->result) : ESP_ERR_HTTP_FETCH_HEADER;
    }
    if (err == ESP_OK) {
        err = c->accept_err;
    }
    if (err != ESP_OK) {
        http_close(c);
    }
    return err;
}

static esp_err_t http_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    src_ctx_t *c = ctx;
    if (c->is_open) {
        return ESP_ERR_INVALID_STATE;
    }
    rf_source_meter_start(&c->meter, &c->limits, now_ms());
    c->verdict = RF_SOURCE_OK;
    c->validated = false;
    esp_err_t err = http_request(c, offset, NULL);
    if (err == ESP_OK && total_len != NULL) {
        *total_len = c->total;
    }
    return err;
}

/* open_at (rf_source.h): a resume only on an exact 206 of the same object;
 * a 200 is used from byte 0; any other 206 is dropped and asked again
 * without a range. */
static esp_err_t http_open_at(void *ctx, rf_source_open_t *io)
{
    src_ctx_t *c = ctx;
    if (c->is_open) {
        return ESP_ERR_INVALID_STATE;
    }
    rf_source_meter_start(&c->meter, &c->limits, now_ms());
    c->verdict = RF_SOURCE_OK;
    c->validated = true;
    bool resume = io->offset > 0 && rf_source_validator_ok(io->if_range);
    uint32_t offset = resume ? io->offset : 0;
    esp_err_t err = http_request(c, offset, resume ? io->if_range : NULL);
    if (err != ESP_OK && c->restart) {
        err = http_request(c, 0, NULL);   /* a 206 that does not continue the object */
        offset = 0;
    }
    if (err != ESP_OK) {
        return err;
    }
    io->start = c->restart ? 0 : offset;
    io->total = c->total;
    rf_source_pick_validator(c->etag[0] ? c->etag : NULL, c->last_modified[0] ? c->last_modified : NULL,
                             c->date[0] ? c->date : NULL, io->validator);
    return ESP_OK;
}

static esp_err_t http_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    src_ctx_t *c = ctx;
    *got = 0;
    if (!c->is_open || c->easy == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    if (c->sticky != ESP_OK) {
        return c->sticky;
    }
    if (cap == 0 || buf == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (c->at_end) {
        return ESP_OK;
    }
    esp_err_t err = pump(c, true);
    if (err != ESP_OK) {
        c->sticky = err;
        return err;
    }
    if (c->wr > c->rd) {
        uint32_t n = (uint32_t)RF_MIN((size_t)cap, c->wr - c->rd);
        memcpy(buf, c->buf + c->rd, n);
        c->rd += n;
        if (c->rd == c->wr) {
            c->rd = c->wr = 0;
        }
        *got = n;
        deliver(c, n);
        return ESP_OK;
    }
    /* The transfer is over and everything it brought was read. */
    if (c->result != CURLE_OK) {
        err = map_curl(c, c->result);
    } else if (c->skip > 0) {
        err = ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE;     /* body shorter than the offset */
    } else if (c->body_expected >= 0 && c->body_received < (uint64_t)c->body_expected) {
        err = ESP_ERR_HTTP_INCOMPLETE_DATA;
    }
    if (err != ESP_OK) {
        c->sticky = err;
        return err;
    }
    c->at_end = true;
    return ESP_OK;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                             */

static void ctx_free(src_ctx_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->curl_inited) {
        curl_global_cleanup();
    }
    free(c->name);
    free(c->target);
    free(c->ca_file);
    free(c->cert_pem);
    c->magic = 0;
    free(c);
}

static bool is_ours(const rf_source_t *src)
{
    return src != NULL && src->ctx != NULL &&
           (src->open == file_open || src->open == http_open) &&
           ((const src_ctx_t *)src->ctx)->magic == SRC_MAGIC;
}

esp_err_t rf_source_url_new(const char *url_or_path, const rf_source_opts_t *opts, rf_source_t *out)
{
    if (url_or_path == NULL || *url_or_path == 0 || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    src_ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ESP_ERR_NO_MEM;
    }
    c->magic = SRC_MAGIC;
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (opts != NULL) {
        if (opts->timeout_ms > 0) {
            c->timeout_ms = opts->timeout_ms;
        }
        c->bytes_counter = opts->bytes_counter;
        c->on_bytes = opts->on_bytes;
        c->on_bytes_arg = opts->on_bytes_arg;
    }
    c->limits = (opts != NULL && opts->limits != NULL) ? *opts->limits : rf_source_limits_default();
    esp_err_t err = ESP_OK;
    c->name = dup_str(url_or_path);
    if (c->name == NULL) {
        err = ESP_ERR_NO_MEM;
    } else if (has_prefix_ci(url_or_path, "http://") || has_prefix_ci(url_or_path, "https://")) {
        c->kind = KIND_HTTP;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            err = ESP_FAIL;
        } else {
            c->curl_inited = true;
            CURLU *u = curl_url();
            if (u == NULL) {
                err = ESP_ERR_NO_MEM;
            } else {
                if (curl_url_set(u, CURLUPART_URL, url_or_path, 0) != CURLUE_OK) {
                    err = ESP_ERR_INVALID_ARG;
                }
                curl_url_cleanup(u);
            }
        }
        if (err == ESP_OK) {
            c->target = dup_str(url_or_path);
            if (opts != NULL && opts->ca_file != NULL) {
                c->ca_file = dup_str(opts->ca_file);
                if (c->ca_file == NULL) {
                    err = ESP_ERR_NO_MEM;
                }
            }
            if (opts != NULL && opts->cert_pem != NULL) {
                size_t n = opts->cert_len ? opts->cert_len : strlen(opts->cert_pem);
                c->cert_pem = malloc(n + 1);
                if (c->cert_pem != NULL) {
                    memcpy(c->cert_pem, opts->cert_pem, n);
                    c->cert_pem[n] = 0;
                    c->cert_len = n;
                } else {
                    err = ESP_ERR_NO_MEM;
                }
            }
            if (c->target == NULL) {
                err = ESP_ERR_NO_MEM;
            }
        }
        out->open = http_open;
        out->open_at = http_open_at;
        out->read = http_read;
        out->close = http_close;
        out->content_encoding = http_content_encoding;
    } else {
        c->kind = KIND_FILE;
        if (has_prefix_ci(url_or_path, "file://")) {
            c->target = file_url_path(url_or_path);
            if (c->target == NULL) {
                err = ESP_ERR_INVALID_ARG;
            }
        } else if (has_other_scheme(url_or_path)) {
            err = ESP_ERR_INVALID_ARG;   /* ftp://, mqtt://, ...: not ours */
        } else {
            c->target = dup_str(url_or_path);
            if (c->target == NULL) {
                err = ESP_ERR_NO_MEM;
            }
        }
        out->open = file_open;
        out->open_at = file_open_at;
        out->read = file_read;
        out->close = file_close;
    }
    if (err != ESP_OK) {
        ctx_free(c);
        memset(out, 0, sizeof *out);
        return err;
    }
    out->ctx = c;
    out->name = c->name;
    return ESP_OK;
}

void rf_source_destroy(rf_source_t *src)
{
    if (src == NULL) {
        return;
    }
    if (is_ours(src)) {
        src_ctx_t *c = src->ctx;
        if (c->kind == KIND_HTTP) {
            http_close(c);
        } else {
            file_close(c);
        }
        ctx_free(c);
    }
    memset(src, 0, sizeof *src);
}

bool rf_source_url_range_honoured(const rf_source_t *src)
{
    return is_ours(src) && ((const src_ctx_t *)src->ctx)->range_honoured;
}

bool rf_source_url_is_http(const rf_source_t *src)
{
    return is_ours(src) && ((const src_ctx_t *)src->ctx)->kind == KIND_HTTP;
}

rf_source_verdict_t rf_source_url_limit_hit(const rf_source_t *src)
{
    return is_ours(src) ? ((const src_ctx_t *)src->ctx)->verdict : RF_SOURCE_OK;
}
