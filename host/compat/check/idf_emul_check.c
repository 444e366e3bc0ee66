/*
 * idf_emul_check DEVICE.img BASE_URL [RO_DEVICE.img]
 *
 * Checks, one by one, that the host emulation of ESP-IDF does what the
 * ESP-IDF API reference documents for each function the port uses, and that
 * the port (port/esp_idf, compiled here against the emulation) maps those
 * functions onto the core's ports as specified. Prints one "ok"/"FAIL" line
 * per check; the exit status is the number of failures (capped at 100).
 *
 *  DEVICE.img     a scratch simulated device: esp32, 4 MB, the download
 *                 example's partition table, running "factory" (it is written)
 *  BASE_URL       tests/support/http_server.py serving a directory that holds
 *                 data.bin: 100000 bytes, byte i = (7 * i + i / 251) & 0xFF
 *  RO_DEVICE.img  optional: a device whose partition "ro" is read-only
 *
 * Built twice (port/esp_idf/host.cmake): idf_emul_check with
 * SELF_REFLASHER_ALLOW_PLAIN_HTTP on (the checks talk plain HTTP to the test
 * server), and idf_emul_check_https_only with the component's defaults,
 * which only checks that plain HTTP is refused before anything is written.
 *
 * Run by tests/test_idf_examples.sh.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "esp_flash.h"
#include "esp_http_client.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "idf_emul.h"
#include "rf_device.h"
#include "sdkconfig.h"
#include "self_reflasher.h"
#include "self_reflasher_platform.h"
#include "spi_flash_mmap.h"

#define DATA_LEN 100000u

#ifdef CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP
#define PLAIN_HTTP_ALLOWED 1
#else
#define PLAIN_HTTP_ALLOWED 0
#endif

static int s_failures;
static const char *s_base;

#define CHECK(cond, ...)                                             \
    do {                                                             \
        bool check_ok_ = (cond);                                     \
        printf("%s", check_ok_ ? "ok   - " : "FAIL - ");             \
        printf(__VA_ARGS__);                                         \
        printf("%s\n", check_ok_ ? "" : "  <-- " #cond);             \
        s_failures += check_ok_ ? 0 : 1;                             \
        fflush(stdout);                                              \
    } while (0)

static uint8_t data_byte(uint32_t i)
{
    return (uint8_t)((7u * i + i / 251u) & 0xFFu);
}

static bool data_matches(const uint8_t *buf, uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        if (buf[i] != data_byte(off + i)) {
            return false;
        }
    }
    return true;
}

static void url(char *out, size_t n, const char *path_and_query)
{
    snprintf(out, n, "%s%s", s_base, path_and_query);
}

/* ---- esp_flash ------------------------------------------------------------ */

static void check_flash(rf_device_t *dev)
{
    uint8_t *img = nor_sim_data(dev->sim);
    uint32_t size = 0;
    CHECK(esp_flash_get_size(NULL, &size) == ESP_OK && size == 4u << 20,
          "esp_flash_get_size(NULL): NULL chip is esp_flash_default_chip, 4 MiB");
    CHECK(esp_flash_get_size(esp_flash_default_chip, NULL) == ESP_ERR_INVALID_ARG,
          "esp_flash_get_size: NULL out_size is ESP_ERR_INVALID_ARG");

    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_ALLOWED);
    const uint32_t a = 0x300000;   /* ota_1 + 0xF0000: a safe area */
    CHECK(esp_flash_erase_region(NULL, a + 0x100, 0x1000) == ESP_ERR_INVALID_ARG,
          "esp_flash_erase_region: start not sector aligned is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_erase_region(NULL, a, 0x800) == ESP_ERR_INVALID_ARG,
          "esp_flash_erase_region: length not sector aligned is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_erase_region(NULL, size - 0x1000, 0x2000) == ESP_ERR_INVALID_ARG,
          "esp_flash_erase_region: range past the end of the chip is ESP_ERR_INVALID_ARG");
    uint8_t buf[16], pat[16];
    memset(pat, 0xF0, sizeof pat);
    CHECK(esp_flash_write(NULL, pat, a, sizeof pat) == ESP_OK && img[a] == 0xF0,
          "esp_flash_write: programs erased cells");
    memset(pat, 0x0F, sizeof pat);
    CHECK(esp_flash_write(NULL, pat, a, sizeof pat) == ESP_OK && img[a] == 0x00,
          "esp_flash_write: NOR semantics, only 1 -> 0 (0xF0 then 0x0F gives 0x00)");
    CHECK(esp_flash_read(NULL, buf, a, sizeof buf) == ESP_OK && buf[0] == 0 && buf[15] == 0,
          "esp_flash_read: reads what was programmed");
    CHECK(esp_flash_write(NULL, pat, a + 3, 5) == ESP_OK, "esp_flash_write: no alignment constraints");
    CHECK(esp_flash_erase_region(NULL, a, 0x1000) == ESP_OK && img[a] == 0xFF && img[a + 0xFFF] == 0xFF,
          "esp_flash_erase_region: an aligned sector becomes 0xFF");
    const nor_sim_counters_t *c = nor_sim_counters(dev->sim);
    uint64_t blocks = c->block_erases, sectors = c->sector_erases;
    CHECK(esp_flash_erase_region(NULL, 0x300000, 0x11000) == ESP_OK && c->block_erases == blocks + 1 &&
              c->sector_erases == sectors + 1,
          "esp_flash_erase_region: a 64 KiB-aligned block by a block erase, the rest by sector erases");
    CHECK(esp_flash_read(NULL, buf, size - 8, 16) == ESP_ERR_INVALID_ARG,
          "esp_flash_read: range past the end of the chip is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_write(NULL, buf, size - 8, 16) == ESP_ERR_INVALID_ARG,
          "esp_flash_write: range past the end of the chip is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_read(NULL, NULL, 0, 16) == ESP_ERR_INVALID_ARG,
          "esp_flash_read: NULL buffer is ESP_ERR_INVALID_ARG");

    /* CONFIG_SPI_FLASH_DANGEROUS_WRITE_*. */
    uint8_t before = img[0x1000];
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_FAILS);
    CHECK(esp_flash_write(NULL, pat, 0x1000, 4) == ESP_ERR_INVALID_ARG && img[0x1000] == before,
          "DANGEROUS_WRITE_FAILS: a write to the bootloader region is ESP_ERR_INVALID_ARG, flash untouched");
    CHECK(esp_flash_erase_region(NULL, 0x8000, 0x1000) == ESP_ERR_INVALID_ARG,
          "DANGEROUS_WRITE_FAILS: erasing the partition table is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_erase_region(NULL, 0x0F000, 0x2000) == ESP_ERR_INVALID_ARG,
          "DANGEROUS_WRITE_FAILS: a range overlapping the running app is ESP_ERR_INVALID_ARG");
    CHECK(esp_flash_erase_region(NULL, 0x110000, 0x1000) == ESP_OK,
          "DANGEROUS_WRITE_FAILS: other partitions are writable");
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_ABORTS);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        esp_flash_erase_region(NULL, 0x1000, 0x1000);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
          "DANGEROUS_WRITE_ABORTS (ESP-IDF's default): erasing the bootloader region aborts");
    idf_emul_set_dangerous_write(IDF_EMUL_DANGEROUS_WRITE_ALLOWED);
    CHECK(esp_flash_erase_region(NULL, 0x1000, 0x1000) == ESP_OK,
          "DANGEROUS_WRITE_ALLOWED: the bootloader region can be erased");
}

/* ---- esp_partition / esp_ota ---------------------------------------------- */

static void check_partitions(void)
{
    static const struct {
        const char *label;
        uint32_t address, size;
        int type, subtype;
    } want[] = {
        { "nvs", 0x9000, 0x4000, 1, 2 },         { "otadata", 0xd000, 0x2000, 1, 0 },
        { "phy_init", 0xf000, 0x1000, 1, 1 },    { "factory", 0x10000, 0x100000, 0, 0 },
        { "ota_0", 0x110000, 0x100000, 0, 0x10 }, { "ota_1", 0x210000, 0x100000, 0, 0x11 },
    };
    unsigned n = 0;
    bool same = true;
    esp_partition_iterator_t it = esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it != NULL; it = esp_partition_next(it), n++) {
        const esp_partition_t *p = esp_partition_get(it);
        if (n >= 6 || strcmp(p->label, want[n].label) != 0 || p->address != want[n].address ||
            p->size != want[n].size || (int)p->type != want[n].type || (int)p->subtype != want[n].subtype ||
            p->flash_chip != esp_flash_default_chip || p->erase_size != SPI_FLASH_SEC_SIZE) {
            same = false;
        }
    }
    esp_partition_iterator_release(it);   /* NULL after the last next(): allowed */
    CHECK(same && n == 6, "esp_partition_find(ANY, ANY, NULL): every partition, in table order (%u)", n);
    CHECK(esp_partition_find(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, "nope") == NULL,
          "esp_partition_find: NULL when nothing matches");
    const esp_partition_t *o1 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1,
                                                         NULL);
    CHECK(o1 != NULL && o1->address == 0x210000, "esp_partition_find_first(APP, OTA_1): ota_1");
    CHECK(esp_partition_find_first(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, "ota_1") == o1,
          "esp_partition_get: the same partition is the same pointer, valid for the app's lifetime");
    esp_partition_iterator_t apps = esp_partition_find(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, NULL);
    unsigned napps = 0;
    for (; apps != NULL; apps = esp_partition_next(apps)) {
        napps++;
    }
    CHECK(napps == 3, "esp_partition_find(APP, ANY): the three app partitions (%u)", napps);
    const esp_partition_t *run = esp_ota_get_running_partition();
    CHECK(run != NULL && strcmp(run->label, "factory") == 0 && run->address == 0x10000,
          "esp_ota_get_running_partition: the device's running partition (factory)");

    uint8_t buf[32];
    CHECK(esp_partition_read(o1, o1->size + 1, buf, 1) == ESP_ERR_INVALID_ARG,
          "esp_partition_read: offset past the partition is ESP_ERR_INVALID_ARG");
    CHECK(esp_partition_read(o1, o1->size - 16, buf, 32) == ESP_ERR_INVALID_SIZE,
          "esp_partition_read: range running past the partition is ESP_ERR_INVALID_SIZE");
    CHECK(esp_partition_erase_range(o1, 0x800, 0x1000) == ESP_ERR_INVALID_ARG,
          "esp_partition_erase_range: offset not a multiple of erase_size is ESP_ERR_INVALID_ARG");
    CHECK(esp_partition_erase_range(o1, 0, 0x1000) == ESP_OK, "esp_partition_erase_range: aligned sector");
    memset(buf, 0x5A, sizeof buf);
    CHECK(esp_partition_write(o1, 0x10, buf, 32) == ESP_OK && esp_partition_read(o1, 0x10, buf, 32) == ESP_OK &&
              buf[0] == 0x5A && buf[31] == 0x5A,
          "esp_partition_write/read: at partition offsets");
}

static void check_readonly(const char *ro_path, rf_device_t *main_dev)
{
    rf_device_t ro;
    char err[256];
    if (rf_device_open(ro_path, &ro, err, sizeof err) != ESP_OK) {
        CHECK(false, "open %s: %s", ro_path, err);
        return;
    }
    idf_emul_bind(&ro);
    const esp_partition_t *p = esp_partition_find_first(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, "ro");
    uint8_t b[4] = { 0, 0, 0, 0 };
    CHECK(p != NULL && p->readonly, "a partition with the readonly flag is esp_partition_t.readonly");
    if (p != NULL) {
        CHECK(esp_flash_write(NULL, b, p->address, 4) == ESP_ERR_NOT_ALLOWED,
              "esp_flash_write: a range in a read-only partition is ESP_ERR_NOT_ALLOWED");
        CHECK(esp_partition_erase_range(p, 0, 0x1000) == ESP_ERR_NOT_ALLOWED,
              "esp_partition_erase_range: read-only partition is ESP_ERR_NOT_ALLOWED");
        CHECK(esp_partition_write(p, 0, b, 4) == ESP_ERR_NOT_ALLOWED,
              "esp_partition_write: read-only partition is ESP_ERR_NOT_ALLOWED");
    }
    rf_device_close(&ro);
    idf_emul_bind(main_dev);
}

/* ---- spi_flash_cache2phys ------------------------------------------------- */

static void check_mmap(void)
{
    static const uint8_t blob[64] = { 1, 2, 3, 4 };
    CHECK(spi_flash_cache2phys(blob) == SPI_FLASH_CACHE2PHYS_FAIL,
          "spi_flash_cache2phys: an unmapped address is SPI_FLASH_CACHE2PHYS_FAIL");
    CHECK(idf_emul_map_app_data(blob, sizeof blob, 0x14294) == ESP_OK, "idf_emul_map_app_data at 0x14294");
    CHECK(spi_flash_cache2phys(blob) == 0x14294 && spi_flash_cache2phys(blob + 5) == 0x14299,
          "spi_flash_cache2phys: a mapped address gives its flash offset");
    uint8_t b[4];
    CHECK(esp_flash_read(NULL, b, 0x14294, 4) == ESP_OK && b[0] == 1 && b[3] == 4,
          "the mapped data is in the flash at that offset");
}

/* ---- esp_http_client ------------------------------------------------------ */

typedef struct {
    int connected, headers_sent, header, data, finish, disconnected, error;
    int64_t data_bytes;
    bool saw_length_header;
    void *user_data;
} events_t;

static esp_err_t on_event(esp_http_client_event_t *evt)
{
    events_t *e = evt->user_data;
    e->user_data = evt->user_data;
    switch (evt->event_id) {
    case HTTP_EVENT_ON_CONNECTED: e->connected++; break;
    case HTTP_EVENT_HEADERS_SENT: e->headers_sent++; break;
    case HTTP_EVENT_ON_HEADER:
        e->header++;
        if (evt->header_key && strcasecmp(evt->header_key, "Content-Length") == 0) {
            e->saw_length_header = true;
        }
        break;
    case HTTP_EVENT_ON_DATA: e->data++; e->data_bytes += evt->data_len; break;
    case HTTP_EVENT_ON_FINISH: e->finish++; break;
    case HTTP_EVENT_DISCONNECTED: e->disconnected++; break;
    case HTTP_EVENT_ERROR: e->error++; break;
    default: break;
    }
    return ESP_OK;
}

/* Read the whole body; returns bytes read, sets *last to the last return. */
static int64_t read_all(esp_http_client_handle_t c, uint8_t *out, size_t cap, int *last)
{
    int64_t total = 0;
    char buf[3000];
    for (;;) {
        int n = esp_http_client_read(c, buf, sizeof buf);
        *last = n;
        if (n <= 0) {
            return total;
        }
        if (out != NULL && (size_t)total + (size_t)n <= cap) {
            memcpy(out + total, buf, (size_t)n);
        }
        total += n;
    }
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t l = sizeof a;
    int port = 1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static void check_http(void)
{
    char u[512];
    uint8_t *body = malloc(DATA_LEN);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK(esp_http_client_init(NULL) == NULL, "esp_http_client_init(NULL) is NULL");
    esp_http_client_config_t bad = { .url = "not a url" };
    CHECK(esp_http_client_init(&bad) == NULL, "esp_http_client_init: a URL that does not parse is NULL");

    url(u, sizeof u, "/data.bin");
    esp_http_client_config_t cfg = { .url = u, .event_handler = on_event, .user_data = &ev };
    esp_http_client_handle_t c = esp_http_client_init(&cfg);
    CHECK(c != NULL, "esp_http_client_init: a handle");
    CHECK(esp_http_client_open(c, 0) == ESP_OK && ev.connected == 1 && ev.headers_sent == 1,
          "esp_http_client_open: connected, request sent (ON_CONNECTED, HEADERS_SENT)");
    int64_t len = esp_http_client_fetch_headers(c);
    CHECK(len == DATA_LEN, "esp_http_client_fetch_headers: the Content-Length (%" PRId64 ")", len);
    CHECK(ev.header > 0 && ev.saw_length_header && ev.user_data == &ev,
          "HTTP_EVENT_ON_HEADER per response header, with the config's user_data");
    CHECK(esp_http_client_get_status_code(c) == 200, "esp_http_client_get_status_code: 200");
    CHECK(esp_http_client_get_content_length(c) == DATA_LEN && !esp_http_client_is_chunked_response(c),
          "esp_http_client_get_content_length: the length; not chunked");
    int last = 0;
    int64_t got = read_all(c, body, DATA_LEN, &last);
    CHECK(got == DATA_LEN && last == 0 && data_matches(body, 0, DATA_LEN),
          "esp_http_client_read: the whole body, then 0 at its end");
    CHECK(esp_http_client_is_complete_data_received(c), "esp_http_client_is_complete_data_received: true");
    CHECK(ev.data_bytes == DATA_LEN && ev.finish == 1, "HTTP_EVENT_ON_DATA for every byte, one ON_FINISH");
    CHECK(esp_http_client_close(c) == ESP_OK && ev.disconnected == 1,
          "esp_http_client_close: HTTP_EVENT_DISCONNECTED");
    CHECK(esp_http_client_cleanup(c) == ESP_OK, "esp_http_client_cleanup");

    /* Range request, honoured. */
    c = esp_http_client_init(&cfg);
    esp_http_client_set_header(c, "Range", "bytes=1000-");
    esp_http_client_open(c, 0);
    len = esp_http_client_fetch_headers(c);
    got = read_all(c, body, DATA_LEN, &last);
    CHECK(esp_http_client_get_status_code(c) == 206 && len == DATA_LEN - 1000 && got == len &&
              data_matches(body, 1000, (uint32_t)got),
          "esp_http_client_set_header(Range): 206 and the rest of the file");
    esp_http_client_cleanup(c);

    /* Chunked body. */
    url(u, sizeof u, "/data.bin?chunked=1");
    c = esp_http_client_init(&cfg);
    esp_http_client_open(c, 0);
    len = esp_http_client_fetch_headers(c);
    CHECK(len == 0 && esp_http_client_is_chunked_response(c) && esp_http_client_get_content_length(c) == -1,
          "chunked: fetch_headers 0, is_chunked_response, content length -1");
    got = read_all(c, body, DATA_LEN, &last);
    CHECK(got == DATA_LEN && last == 0 && esp_http_client_is_complete_data_received(c) &&
              data_matches(body, 0, DATA_LEN),
          "chunked: the whole body, complete after the final chunk");
    esp_http_client_cleanup(c);

    /* The server closes early. */
    url(u, sizeof u, "/data.bin?close_at=5000");
    c = esp_http_client_init(&cfg);
    esp_http_client_open(c, 0);
    len = esp_http_client_fetch_headers(c);
    got = read_all(c, NULL, 0, &last);
    CHECK(len == DATA_LEN && got == 5000 && last == 0 && !esp_http_client_is_complete_data_received(c),
          "connection closed early: read returns 0 after 5000 bytes, not complete");
    esp_http_client_cleanup(c);

    url(u, sizeof u, "/data.bin?status=404");
    c = esp_http_client_init(&cfg);
    esp_http_client_open(c, 0);
    esp_http_client_fetch_headers(c);
    CHECK(esp_http_client_get_status_code(c) == 404, "a missing file: status 404");
    esp_http_client_cleanup(c);

    /* Timeouts. */
    url(u, sizeof u, "/data.bin?stall_at=100&stall_s=3");
    esp_http_client_config_t slow = { .url = u, .timeout_ms = 1000 };
    c = esp_http_client_init(&slow);
    esp_http_client_open(c, 0);
    esp_http_client_fetch_headers(c);
    char small[200];
    int n1 = esp_http_client_read(c, small, 100);
    int n2 = esp_http_client_read(c, small, 100);
    CHECK(n1 == 100 && n2 == -ESP_ERR_HTTP_EAGAIN,
          "esp_http_client_read: -ESP_ERR_HTTP_EAGAIN when timeout_ms passes with no data (%d, %d)", n1, n2);
    esp_http_client_cleanup(c);

    snprintf(u, sizeof u, "http://127.0.0.1:%d/data.bin", closed_port());
    memset(&ev, 0, sizeof ev);
    c = esp_http_client_init(&cfg);
    CHECK(esp_http_client_open(c, 0) == ESP_ERR_HTTP_CONNECT && ev.error == 1,
          "esp_http_client_open: unreachable server is ESP_ERR_HTTP_CONNECT (HTTP_EVENT_ERROR)");
    esp_http_client_cleanup(c);
    free(body);
}

/* ---- the port ------------------------------------------------------------- */

typedef struct {
    esp_err_t open_err;
    int64_t total;
    esp_err_t read_err;
    uint32_t got;
    bool content_ok;
} fetch_t;

static fetch_t port_fetch(const esp_self_reflasher_platform_t *pf, const char *path, uint32_t offset,
                          int timeout_ms, http_event_handle_cb handler, void *user_data)
{
    char u[512];
    url(u, sizeof u, path);
    esp_http_client_config_t cfg = { .url = u, .timeout_ms = timeout_ms, .event_handler = handler,
                                     .user_data = user_data };
    fetch_t r = { .total = -2, .content_ok = true };
    rf_source_t src;
    if (pf->make_source(pf->ctx, &cfg, &src) != ESP_OK) {
        r.open_err = ESP_FAIL;
        return r;
    }
    r.open_err = src.open(src.ctx, offset, &r.total);
    if (r.open_err == ESP_OK) {
        uint8_t buf[4096];
        for (;;) {
            uint32_t n = 0;
            r.read_err = src.read(src.ctx, buf, sizeof buf, &n);
            if (r.read_err != ESP_OK || n == 0) {
                break;
            }
            if (!data_matches(buf, offset + r.got, n)) {
                r.content_ok = false;
            }
            r.got += n;
        }
    }
    src.close(src.ctx);
    pf->free_source(pf->ctx, &src);
    return r;
}

static void check_port(rf_device_t *dev)
{
    const esp_self_reflasher_platform_t *pf = esp_self_reflasher_default_platform();
    CHECK(pf != NULL && pf->flash != NULL, "esp_self_reflasher_default_platform(): the port, over esp_flash");
    if (pf == NULL) {
        return;
    }
    const rf_flash_t *f = pf->flash;
    CHECK(f->size == 4u << 20 && f->sector_size == 4096 && f->block_size == 65536 && f->page_size == 256,
          "port flash: size from esp_flash_get_size, geometry 4096/65536/256");
    CHECK(rf_flash_erase(f, 0x300800, 0x1000) == ESP_ERR_INVALID_ARG,
          "port flash erase: esp_flash_erase_region's ESP_ERR_INVALID_ARG for a misaligned range");
    uint8_t w[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, r[8];
    CHECK(rf_flash_erase(f, 0x300000, 0x1000) == ESP_OK && rf_flash_program(f, 0x300010, w, 8) == ESP_OK &&
              rf_flash_read(f, 0x300010, r, 8) == ESP_OK && memcmp(r, w, 8) == 0 &&
              memcmp(nor_sim_data(dev->sim) + 0x300010, w, 8) == 0,
          "port flash: erase, program and read reach the device");
    rf_part_t parts[RF_PTABLE_MAX_PARTS];
    uint32_t n = 0;
    CHECK(pf->list_partitions(pf->ctx, parts, RF_PTABLE_MAX_PARTS, &n) == ESP_OK && n == 6 &&
              strcmp(parts[5].label, "ota_1") == 0 && parts[5].offset == 0x210000 && parts[5].subtype == 0x11,
          "port list_partitions: esp_partition_find(ANY, ANY, NULL), in table order");
    rf_part_t run;
    CHECK(pf->running_partition(pf->ctx, &run) == ESP_OK && strcmp(run.label, "factory") == 0,
          "port running_partition: esp_ota_get_running_partition()");

    fetch_t x = port_fetch(pf, "/data.bin", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.total == DATA_LEN && x.read_err == ESP_OK && x.got == DATA_LEN && x.content_ok,
          "port source: the whole file, its length announced");
    x = port_fetch(pf, "/data.bin", 40000, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.total == DATA_LEN && x.got == DATA_LEN - 40000 && x.content_ok,
          "port source, open(40000): Range request answered 206, total is the whole object");
    x = port_fetch(pf, "/data.bin?norange=1", 40000, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.total == DATA_LEN && x.got == DATA_LEN - 40000 && x.content_ok,
          "port source, open(40000): a server that ignores Range (200) has its first bytes skipped");
    x = port_fetch(pf, "/data.bin?chunked=1", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.total == -1 && x.read_err == ESP_OK && x.got == DATA_LEN && x.content_ok,
          "port source: chunked body, length unknown (-1), complete");
    x = port_fetch(pf, "/data.bin?status=404", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_ERR_NOT_FOUND, "port source: HTTP 404 is ESP_ERR_NOT_FOUND");
    x = port_fetch(pf, "/data.bin?status=500", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_ERR_INVALID_RESPONSE, "port source: HTTP 500 is ESP_ERR_INVALID_RESPONSE");
    x = port_fetch(pf, "/data.bin?redirect=/data.bin", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_ERR_INVALID_RESPONSE, "port source: a redirect (302) is ESP_ERR_INVALID_RESPONSE");
    x = port_fetch(pf, "/data.bin?close_at=30000", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.read_err == ESP_ERR_HTTP_INCOMPLETE_DATA && x.got == 30000,
          "port source: fewer bytes than Content-Length is ESP_ERR_HTTP_INCOMPLETE_DATA");
    x = port_fetch(pf, "/data.bin?chunked=1&close_at=30000", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.read_err == ESP_ERR_HTTP_INCOMPLETE_DATA,
          "port source: a chunked body without its final chunk is ESP_ERR_HTTP_INCOMPLETE_DATA");
    x = port_fetch(pf, "/data.bin?stall_at=1000&stall_s=3", 0, 300, NULL, NULL);
    CHECK(x.open_err == ESP_OK && x.read_err == ESP_ERR_HTTP_READ_TIMEOUT,
          "port source: no data within timeout_ms is ESP_ERR_HTTP_READ_TIMEOUT");
    x = port_fetch(pf, "/missing.bin", 0, 0, NULL, NULL);
    CHECK(x.open_err == ESP_ERR_NOT_FOUND, "port source: a file the server does not have is ESP_ERR_NOT_FOUND");
    events_t ev;
    memset(&ev, 0, sizeof ev);
    x = port_fetch(pf, "/data.bin", 0, 0, on_event, &ev);
    CHECK(x.got == DATA_LEN && ev.header > 0 && ev.data_bytes == DATA_LEN && ev.user_data == &ev,
          "port source: the caller's event handler gets every event with its own user_data");

    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/data.bin", closed_port());
    esp_http_client_config_t cfg = { .url = u };
    rf_source_t src;
    int64_t total = 0;
    esp_err_t e = pf->make_source(pf->ctx, &cfg, &src);
    esp_err_t o = e == ESP_OK ? src.open(src.ctx, 0, &total) : e;
    if (e == ESP_OK) {
        src.close(src.ctx);
        pf->free_source(pf->ctx, &src);
    }
    CHECK(o == ESP_ERR_HTTP_CONNECT, "port source: unreachable server is ESP_ERR_HTTP_CONNECT");
}

/* The component's default (SELF_REFLASHER_ALLOW_PLAIN_HTTP off): an http://
 * URL is refused by the port when the download starts, whatever its case,
 * with ESP_ERR_NOT_SUPPORTED, and the flash is not touched at all. */
static void check_plain_http_refused(rf_device_t *dev)
{
    const esp_self_reflasher_platform_t *pf = esp_self_reflasher_default_platform();
    char u[512];
    url(u, sizeof u, "/data.bin");
    esp_http_client_config_t cfg = { .url = u };
    rf_source_t src;
    CHECK(strncmp(u, "http://", 7) == 0 && pf->make_source(pf->ctx, &cfg, &src) == ESP_ERR_NOT_SUPPORTED,
          "port source, plain HTTP off: %s is refused (ESP_ERR_NOT_SUPPORTED)", u);
    char up[512];
    snprintf(up, sizeof up, "HTTP://%s", u + 7);
    esp_http_client_config_t cfg_up = { .url = up };
    CHECK(pf->make_source(pf->ctx, &cfg_up, &src) == ESP_ERR_NOT_SUPPORTED,
          "port source, plain HTTP off: the scheme's case does not matter (HTTP://)");

    uint32_t size = nor_sim_config(dev->sim)->size;
    uint8_t *before = malloc(size);
    if (before == NULL) {
        CHECK(false, "memory for a copy of the flash");
        return;
    }
    memcpy(before, nor_sim_data(dev->sim), size);
    esp_self_reflasher_config_t rc = { .http_config = &cfg,
                                       .dest_region = { .region_address = 0x110000, .region_size = 0x100000 } };
    esp_self_reflasher_handle_t h = NULL;
    esp_err_t e_init = esp_self_reflasher_init(&rc, &h);
    esp_err_t e_dl = e_init == ESP_OK ? esp_self_reflasher_download_bin(h) : e_init;
    CHECK(e_init == ESP_OK && e_dl == ESP_ERR_NOT_SUPPORTED,
          "seed API, plain HTTP off: esp_self_reflasher_download_bin(%s) is ESP_ERR_NOT_SUPPORTED (init %s)", u,
          esp_err_to_name(e_init));
    CHECK(memcmp(before, nor_sim_data(dev->sim), size) == 0 && nor_sim_counters(dev->sim)->erase_ops == 0 &&
              nor_sim_counters(dev->sim)->program_ops == 0,
          "seed API, plain HTTP off: nothing erased or written, the whole flash unchanged");
    esp_self_reflasher_deinit(h);
    free(before);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: idf_emul_check DEVICE.img BASE_URL [RO_DEVICE.img]\n");
        return 100;
    }
    s_base = argv[2];
    rf_device_t dev;
    char err[512];
    if (rf_device_open(argv[1], &dev, err, sizeof err) != ESP_OK) {
        fprintf(stderr, "idf_emul_check: %s\n", err);
        return 100;
    }
    CHECK(esp_flash_read(NULL, err, 0, 1) == ESP_ERR_FLASH_NOT_INITIALISED,
          "esp_flash_read before a chip is bound: ESP_ERR_FLASH_NOT_INITIALISED");
    idf_emul_bind(&dev);
    if (!PLAIN_HTTP_ALLOWED) {
        check_plain_http_refused(&dev);
    } else {
        check_flash(&dev);
        check_partitions();
        if (argc > 3) {
            check_readonly(argv[3], &dev);
        }
        check_mmap();
        check_http();
        check_port(&dev);
    }
    idf_emul_bind(NULL);
    rf_device_close(&dev);
    printf("%d failure(s)\n", s_failures);
    return s_failures > 100 ? 100 : s_failures;
}
