/*
 * Host emulation of ESP-IDF's esp_http_client over libcurl: real HTTP(S),
 * with the streaming API's documented behaviour (ESP-IDF API reference,
 * "ESP HTTP Client"):
 *
 *  - esp_http_client_init(): a handle, or NULL for a NULL config or a URL
 *    that does not parse; nothing is sent yet.
 *  - esp_http_client_set_header(): request headers sent by the next open
 *    (a NULL value removes the header).
 *  - esp_http_client_open(client, write_len): connects and sends the request
 *    headers; ESP_ERR_HTTP_CONNECT when the server cannot be reached (within
 *    timeout_ms, default 5000). Only GET and HEAD without a request body are
 *    emulated (ESP_ERR_NOT_SUPPORTED otherwise). Redirects are not followed
 *    (the status is reported, as with the real streaming API).
 *  - esp_http_client_fetch_headers(): reads the response headers; returns
 *    the Content-Length, 0 when there is none or the body is chunked,
 *    -1 (ESP_FAIL) on errors, -ESP_ERR_HTTP_EAGAIN when timeout_ms passes
 *    before the headers arrive.
 *  - esp_http_client_get_status_code(), _get_content_length() (-1 for a
 *    chunked or unannounced length), _is_chunked_response().
 *  - esp_http_client_read(): fills up to len bytes; returns the count, 0 at
 *    the end of the body (also when the server closed the connection early:
 *    then esp_http_client_is_complete_data_received() says false), -1 on a
 *    transport error before any byte, -ESP_ERR_HTTP_EAGAIN when timeout_ms
 *    passes before any data is ready.
 *  - esp_http_client_is_complete_data_received(): the whole body was read
 *    (all Content-Length bytes; for chunked bodies, the final chunk).
 *  - esp_http_client_close() / _cleanup(): close the connection / also free
 *    the handle.
 *  - the config's event_handler gets HTTP_EVENT_ON_CONNECTED,
 *    HTTP_EVENT_HEADERS_SENT, HTTP_EVENT_ON_HEADER (once per response
 *    header, during fetch_headers), HTTP_EVENT_ON_DATA (per read),
 *    HTTP_EVENT_ON_FINISH, HTTP_EVENT_DISCONNECTED and HTTP_EVENT_ERROR
 *    (connection failure), with user_data.
 *
 * TLS: cert_pem is used as the CA; without it libcurl's system CA store
 * verifies the server (ESP-IDF would need a bundle or a certificate);
 * skip_cert_common_name_check skips the host-name check.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "esp_http_client.h"

ESP_EVENT_DEFINE_BASE(ESP_HTTP_CLIENT_EVENT);

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_HEADERS 32

typedef struct {
    char *key;
    char *value;
} header_t;

struct esp_http_client {
    esp_http_client_config_t cfg;
    char *url;
    header_t req[MAX_HEADERS];
    unsigned n_req;
    header_t resp[MAX_HEADERS];
    unsigned n_resp;
    CURLM *multi;
    CURL *easy;
    struct curl_slist *slist;
    bool connected;
    bool headers_done;
    bool finished;
    bool finish_sent;
    CURLcode result;
    int status;
    int64_t content_length;
    bool chunked;
    uint8_t *buf;
    size_t buf_off, buf_len, buf_cap;
    int64_t delivered;
    char errbuf[CURL_ERROR_SIZE];
};

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void dispatch(esp_http_client_handle_t c, esp_http_client_event_id_t id, void *data, int len, char *key,
                     char *value)
{
    if (c->cfg.event_handler == NULL) {
        return;
    }
    esp_http_client_event_t evt = {
        .event_id = id, .client = c, .data = data, .data_len = len, .user_data = c->cfg.user_data,
        .header_key = key, .header_value = value,
    };
    c->cfg.event_handler(&evt);
}

static void free_headers(header_t *h, unsigned *n)
{
    for (unsigned i = 0; i < *n; i++) {
        free(h[i].key);
        free(h[i].value);
    }
    *n = 0;
}

static char *trim(char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == '\r' || s[*len - 1] == '\n' || s[*len - 1] == ' ' || s[*len - 1] == '\t')) {
        (*len)--;
    }
    return s;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *arg)
{
    esp_http_client_handle_t c = arg;
    size_t total = size * nitems, len = total;
    char *s = trim(line, &len);
    if (len >= 5 && strncmp(s, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx, or a proxy's): start over. */
        free_headers(c->resp, &c->n_resp);
        c->content_length = -1;
        c->chunked = false;
        c->connected = true;
        const char *sp = memchr(s, ' ', len);
        c->status = sp ? atoi(sp + 1) : -1;
        return total;
    }
    if (len == 0) {
        if (c->status >= 200) {
            c->headers_done = true;
        }
        return total;
    }
    char *colon = memchr(s, ':', len);
    if (colon == NULL || c->n_resp == MAX_HEADERS) {
        return total;
    }
    size_t klen = (size_t)(colon - s), vlen = len - klen - 1;
    char *v = trim(colon + 1, &vlen);
    header_t *h = &c->resp[c->n_resp];
    h->key = strndup(s, klen);
    h->value = strndup(v, vlen);
    if (h->key == NULL || h->value == NULL) {
        free(h->key);
        free(h->value);
        return 0;   /* out of memory: abort the transfer */
    }
    c->n_resp++;
    if (strcasecmp(h->key, "Content-Length") == 0) {
        c->content_length = strtoll(h->value, NULL, 10);
    } else if (strcasecmp(h->key, "Transfer-Encoding") == 0 && strcasestr(h->value, "chunked") != NULL) {
        c->chunked = true;
    }
    return total;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    esp_http_client_handle_t c = arg;
    size_t n = size * nmemb;
    if (c->buf_off > 0 && c->buf_off == c->buf_len) {
        c->buf_off = c->buf_len = 0;
    }
    if (c->buf_len + n > c->buf_cap) {
        if (c->buf_off > 0) {
            memmove(c->buf, c->buf + c->buf_off, c->buf_len - c->buf_off);
            c->buf_len -= c->buf_off;
            c->buf_off = 0;
        }
        if (c->buf_len + n > c->buf_cap) {
            size_t cap = c->buf_cap ? c->buf_cap : 16384;
            while (cap < c->buf_len + n) {
                cap *= 2;
            }
            uint8_t *b = realloc(c->buf, cap);
            if (b == NULL) {
                return 0;
            }
            c->buf = b;
            c->buf_cap = cap;
        }
    }
    memcpy(c->buf + c->buf_len, data, n);
    c->buf_len += n;
    return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000
static int on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    ((esp_http_client_handle_t)arg)->connected = true;
    return CURL_PREREQFUNC_OK;
}
#endif

/* Run the transfer a little: perform, then wait for socket activity for at
 * most slice_ms. */
static void pump(esp_http_client_handle_t c, int slice_ms)
{
    int running = 0;
    curl_multi_perform(c->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy) {
            c->finished = true;
            c->result = msg->data.result;
        }
    }
    if (!c->finished && running > 0) {
        curl_multi_poll(c->multi, NULL, 0, slice_ms, NULL);
    } else if (!c->finished) {
        c->finished = true;   /* nothing running and no message: treat as ended */
        c->result = CURLE_RECV_ERROR;
    }
}

static int timeout_ms(esp_http_client_handle_t c)
{
    return c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms : DEFAULT_TIMEOUT_MS;
}

typedef bool (*cond_fn)(esp_http_client_handle_t c);

static bool is_connected(esp_http_client_handle_t c) { return c->connected; }
static bool has_headers(esp_http_client_handle_t c) { return c->headers_done; }
static bool has_data(esp_http_client_handle_t c) { return c->buf_len > c->buf_off; }

/* true: cond holds; false: the transfer ended or timeout_ms passed. */
static bool wait_for(esp_http_client_handle_t c, cond_fn cond)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms(c);
    while (!cond(c)) {
        if (c->finished || now_ms() >= deadline) {
            return cond(c);
        }
        pump(c, 20);
    }
    return true;
}

static char *build_url(const esp_http_client_config_t *cfg)
{
    if (cfg->url != NULL) {
        return strdup(cfg->url);
    }
    if (cfg->host == NULL) {
        return NULL;
    }
    bool tls = cfg->transport_type == HTTP_TRANSPORT_OVER_SSL;
    char port[16] = "";
    if (cfg->port > 0) {
        snprintf(port, sizeof port, ":%d", cfg->port);
    }
    const char *path = cfg->path ? cfg->path : "/";
    size_t n = strlen(cfg->host) + strlen(path) + (cfg->query ? strlen(cfg->query) : 0) + 32;
    char *u = malloc(n);
    if (u != NULL) {
        snprintf(u, n, "%s://%s%s%s%s%s", tls ? "https" : "http", cfg->host, port, path, cfg->query ? "?" : "",
                 cfg->query ? cfg->query : "");
    }
    return u;
}

esp_http_client_handle_t esp_http_client_init(const esp_http_client_config_t *config)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    if (config == NULL) {
        return NULL;
    }
    esp_http_client_handle_t c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->cfg = *config;
    c->url = build_url(config);
    c->status = -1;
    c->content_length = -1;
    CURLU *u = curl_url();
    bool ok = c->url != NULL && u != NULL && curl_url_set(u, CURLUPART_URL, c->url, 0) == CURLUE_OK;
    char *scheme = NULL;
    if (ok && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        ok = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
    } else {
        ok = false;
    }
    curl_free(scheme);
    curl_url_cleanup(u);
    c->multi = ok ? curl_multi_init() : NULL;
    if (c->multi == NULL) {
        free(c->url);
        free(c);
        return NULL;
    }
    return c;
}

esp_err_t esp_http_client_set_header(esp_http_client_handle_t c, const char *key, const char *value)
{
    if (c == NULL || key == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    unsigned i;
    for (i = 0; i < c->n_req; i++) {
        if (strcasecmp(c->req[i].key, key) == 0) {
            break;
        }
    }
    if (value == NULL) {
        if (i < c->n_req) {
            free(c->req[i].key);
            free(c->req[i].value);
            c->req[i] = c->req[--c->n_req];
        }
        return ESP_OK;
    }
    char *v = strdup(value);
    if (v == NULL) {
        return ESP_ERR_NO_MEM;
    }
    if (i < c->n_req) {
        free(c->req[i].value);
        c->req[i].value = v;
        return ESP_OK;
    }
    if (c->n_req == MAX_HEADERS || (c->req[i].key = strdup(key)) == NULL) {
        free(v);
        return ESP_ERR_NO_MEM;
    }
    c->req[i].value = v;
    c->n_req++;
    return ESP_OK;
}

static void reset_response(esp_http_client_handle_t c)
{
    free_headers(c->resp, &c->n_resp);
    c->connected = c->headers_done = c->finished = c->finish_sent = false;
    c->result = CURLE_OK;
    c->status = -1;
    c->content_length = -1;
    c->chunked = false;
    c->buf_off = c->buf_len = 0;
    c->delivered = 0;
    c->errbuf[0] = 0;
}

esp_err_t esp_http_client_close(esp_http_client_handle_t c)
{
    if (c == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (c->easy != NULL) {
        curl_multi_remove_handle(c->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
        curl_slist_free_all(c->slist);
        c->slist = NULL;
        if (c->connected) {
            dispatch(c, HTTP_EVENT_DISCONNECTED, NULL, 0, NULL, NULL);
        }
        c->connected = false;
    }
    return ESP_OK;
}

esp_err_t esp_http_client_open(esp_http_client_handle_t c, int write_len)
{
    if (c == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (write_len != 0 || (c->cfg.method != HTTP_METHOD_GET && c->cfg.method != HTTP_METHOD_HEAD)) {
        return ESP_ERR_NOT_SUPPORTED;   /* the emulation only downloads */
    }
    esp_http_client_close(c);
    reset_response(c);
    c->easy = curl_easy_init();
    if (c->easy == NULL) {
        return ESP_ERR_NO_MEM;
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms(c));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ESP32 HTTP Client/1.0");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
#if LIBCURL_VERSION_NUM >= 0x075000
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
#endif
    if (c->cfg.method == HTTP_METHOD_HEAD) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    if (c->cfg.keep_alive_enable) {
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    if (c->cfg.username != NULL) {
        curl_easy_setopt(e, CURLOPT_USERNAME, c->cfg.username);
    }
    if (c->cfg.password != NULL) {
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->cfg.password);
    }
    if (c->cfg.cert_pem != NULL) {
        struct curl_blob ca = {
            .data = (void *)c->cfg.cert_pem,
            .len = c->cfg.cert_len ? c->cfg.cert_len : strlen(c->cfg.cert_pem),
            .flags = CURL_BLOB_COPY,
        };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (c->cfg.skip_cert_common_name_check) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    for (unsigned i = 0; i < c->n_req; i++) {
        size_t n = strlen(c->req[i].key) + strlen(c->req[i].value) + 3;
        char *line = malloc(n);
        if (line == NULL) {
            return ESP_ERR_NO_MEM;
        }
        snprintf(line, n, "%s: %s", c->req[i].key, c->req[i].value);
        struct curl_slist *l = curl_slist_append(c->slist, line);
        free(line);
        if (l == NULL) {
            return ESP_ERR_NO_MEM;
        }
        c->slist = l;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        return ESP_FAIL;
    }
    bool up = wait_for(c, is_connected);
    if (!up && !(c->finished && c->result == CURLE_OK)) {
        dispatch(c, HTTP_EVENT_ERROR, NULL, 0, NULL, NULL);
        return ESP_ERR_HTTP_CONNECT;
    }
    c->connected = true;
    dispatch(c, HTTP_EVENT_ON_CONNECTED, NULL, 0, NULL, NULL);
    dispatch(c, HTTP_EVENT_HEADERS_SENT, NULL, 0, NULL, NULL);
    return ESP_OK;
}

int64_t esp_http_client_fetch_headers(esp_http_client_handle_t c)
{
    if (c == NULL || c->easy == NULL) {
        return ESP_FAIL;
    }
    if (!wait_for(c, has_headers)) {
        return c->finished ? ESP_FAIL : -ESP_ERR_HTTP_EAGAIN;
    }
    for (unsigned i = 0; i < c->n_resp; i++) {
        dispatch(c, HTTP_EVENT_ON_HEADER, NULL, 0, c->resp[i].key, c->resp[i].value);
    }
    return (!c->chunked && c->content_length > 0) ? c->content_length : 0;
}

int esp_http_client_get_status_code(esp_http_client_handle_t c)
{
    return c != NULL ? c->status : -1;
}

int64_t esp_http_client_get_content_length(esp_http_client_handle_t c)
{
    if (c == NULL || c->chunked) {
        return -1;
    }
    return c->content_length;
}

bool esp_http_client_is_chunked_response(esp_http_client_handle_t c)
{
    return c != NULL && c->chunked;
}

bool esp_http_client_is_complete_data_received(esp_http_client_handle_t c)
{
    if (c == NULL || !c->headers_done || has_data(c)) {
        return false;
    }
    if (!c->chunked && c->content_length >= 0) {
        return c->delivered == c->content_length;
    }
    return c->finished && c->result == CURLE_OK;
}

int esp_http_client_read(esp_http_client_handle_t c, char *buffer, int len)
{
    if (c == NULL || c->easy == NULL || buffer == NULL || len < 0 || !c->headers_done) {
        return ESP_FAIL;
    }
    int got = 0;
    while (got < len) {
        if (has_data(c)) {
            size_t n = c->buf_len - c->buf_off;
            if (n > (size_t)(len - got)) {
                n = (size_t)(len - got);
            }
            memcpy(buffer + got, c->buf + c->buf_off, n);
            dispatch(c, HTTP_EVENT_ON_DATA, buffer + got, (int)n, NULL, NULL);
            c->buf_off += n;
            c->delivered += (int64_t)n;
            got += (int)n;
            continue;
        }
        if (c->finished) {
            break;
        }
        if (!wait_for(c, has_data) && !c->finished) {
            return got > 0 ? got : -ESP_ERR_HTTP_EAGAIN;
        }
    }
    if (got == 0 && c->finished && !has_data(c)) {
        /* End of the body. A server that closed early (CURLE_PARTIAL_FILE)
         * looks like an end too: is_complete_data_received() tells them
         * apart. Other transport failures are errors. */
        if (c->result != CURLE_OK && c->result != CURLE_PARTIAL_FILE) {
            return ESP_FAIL;
        }
        if (!c->finish_sent && esp_http_client_is_complete_data_received(c)) {
            c->finish_sent = true;
            dispatch(c, HTTP_EVENT_ON_FINISH, NULL, 0, NULL, NULL);
        }
    }
    return got;
}

esp_err_t esp_http_client_cleanup(esp_http_client_handle_t c)
{
    if (c == NULL) {
        return ESP_FAIL;
    }
    esp_http_client_close(c);
    curl_multi_cleanup(c->multi);
    free_headers(c->req, &c->n_req);
    free_headers(c->resp, &c->n_resp);
    free(c->buf);
    free(c->url);
    free(c);
    return ESP_OK;
}
