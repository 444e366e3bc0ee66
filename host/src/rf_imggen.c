/* Real-format image generators (see rf_imggen.h). Layouts follow the ESP-IDF
 * "App Image Format" documentation and MCUboot's design documentation. */
#include "rf_imggen.h"
#include <stdlib.h>
#include <string.h>
#include "rf_crypto.h"
#include "rf_util.h"

static const struct {
    const char *name;
    uint16_t id;
} k_ids[] = {
    { "esp32", 0 },    { "esp32s2", 2 },  { "esp32c3", 5 },  { "esp32s3", 9 },   { "esp32c2", 12 },
    { "esp32c6", 13 }, { "esp32h2", 16 }, { "esp32p4", 18 }, { "esp32c61", 20 }, { "esp32c5", 23 },
};

bool rf_chip_id(const char *chip, uint16_t *id)
{
    for (size_t i = 0; i < sizeof k_ids / sizeof k_ids[0]; i++) {
        if (strcmp(chip, k_ids[i].name) == 0) {
            *id = k_ids[i].id;
            return true;
        }
    }
    return false;
}

static void filler(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

#define ESP_APP_DESC_LEN 256u

/* A NUL-padded text field of `cap` bytes (always NUL-terminated). */
static void put_str(uint8_t *dst, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(dst, s, n);
    memset(dst + n, 0, cap - n);
}

size_t rf_gen_esp_image(const rf_esp_gen_t *g, uint8_t **out)
{
    /* Three segments like a real image: DROM/DRAM data, IRAM code, more code. */
    uint32_t code = (g->code_size + 3u) & ~3u;
    if (code < 48) {
        code = 48;
    }
    uint32_t seg_len[3];
    seg_len[0] = ((code / 4) + 3u) & ~3u;
    seg_len[1] = ((code / 2) + 3u) & ~3u;
    seg_len[2] = code - seg_len[0] - seg_len[1];
    seg_len[2] = (seg_len[2] + 3u) & ~3u;
    if (g->is_app) {
        seg_len[0] += ESP_APP_DESC_LEN;
    }
    const uint32_t load[3] = { g->is_app ? 0x3F400020u : 0x3FFF0000u, 0x40080000u, 0x400D0020u };
    size_t body = 24;
    for (int i = 0; i < 3; i++) {
        body += 8 + seg_len[i];
    }
    size_t with_sum = (body + 1 + 15) & ~(size_t)15;   /* checksum byte ends a 16-byte boundary */
    size_t total = with_sum + RF_SHA256_LEN;
    uint8_t *b = calloc(1, total);
    if (b == NULL) {
        return 0;
    }
    b[0] = 0xE9;
    b[1] = 3;
    b[2] = 2;       /* DIO */
    b[3] = 0x20;    /* 4 MB, 40 MHz */
    rf_put_le32(b + 4, load[1] + 0x400);  /* entry point inside the IRAM segment */
    b[8] = 0xEE;    /* WP pin: not used */
    rf_put_le16(b + 12, g->chip_id);
    b[14] = 0;
    rf_put_le16(b + 15, 0);
    rf_put_le16(b + 17, 0xFFFF);
    b[23] = 1;      /* SHA-256 appended */
    size_t off = 24;
    uint8_t sum = 0xEF;
    for (int i = 0; i < 3; i++) {
        rf_put_le32(b + off, load[i]);
        rf_put_le32(b + off + 4, seg_len[i]);
        off += 8;
        uint8_t *d = b + off;
        filler(d, seg_len[i], g->seed + (uint32_t)i);
        if (i == 0 && g->is_app) {
            memset(d, 0, ESP_APP_DESC_LEN);
            rf_put_le32(d, 0xABCD5432u);                       /* magic_word */
            rf_put_le32(d + 4, 0);                             /* secure_version */
            put_str(d + 16, g->version ? g->version : "1.0.0", 32);
            put_str(d + 48, g->project_name ? g->project_name : "app", 32);
            put_str(d + 80, "00:00:00", 16);           /* time */
            put_str(d + 96, "Jan  1 2026", 16);        /* date */
            put_str(d + 112, g->idf_ver ? g->idf_ver : "v5.1.4", 32);
            filler(d + 144, 32, g->seed ^ 0x5A5A);             /* app_elf_sha256 */
        }
        for (uint32_t k = 0; k < seg_len[i]; k++) {
            sum ^= d[k];
        }
        off += seg_len[i];
    }
    b[with_sum - 1] = sum;
    rf_sha256(b, with_sum, b + with_sum);
    *out = b;
    return total;
}

size_t rf_gen_mcuboot_image(const rf_mcuboot_gen_t *g, uint8_t **out)
{
    const uint32_t hdr = 32, prot = 12, unprot = 4 + 4 + RF_SHA256_LEN;
    size_t img_len = hdr + g->payload_size + prot + unprot;
    size_t total = g->slot_size ? g->slot_size : img_len;
    if (total < img_len + (g->slot_size ? 48u : 0u)) {
        return 0;
    }
    uint8_t *b = malloc(total);
    if (b == NULL) {
        return 0;
    }
    memset(b, 0xFF, total);
    memset(b, 0, hdr);
    rf_put_le32(b, 0x96F3B83Du);
    rf_put_le32(b + 4, 0);                 /* load address */
    rf_put_le16(b + 8, (uint16_t)hdr);
    rf_put_le16(b + 10, (uint16_t)prot);
    rf_put_le32(b + 12, g->payload_size);
    rf_put_le32(b + 16, 0);                /* flags */
    b[20] = g->ver_major;
    b[21] = g->ver_minor;
    rf_put_le16(b + 22, g->ver_rev);
    rf_put_le32(b + 24, 0);                /* build number */
    filler(b + hdr, g->payload_size, g->seed);
    uint8_t *p = b + hdr + g->payload_size;
    rf_put_le16(p, 0x6908);                /* protected TLV info */
    rf_put_le16(p + 2, (uint16_t)prot);
    rf_put_le16(p + 4, 0x50);              /* security counter */
    rf_put_le16(p + 6, 4);
    rf_put_le32(p + 8, 0);
    p += prot;
    rf_put_le16(p, 0x6907);                /* TLV info */
    rf_put_le16(p + 2, (uint16_t)unprot);
    rf_put_le16(p + 4, 0x10);              /* SHA-256 */
    rf_put_le16(p + 6, RF_SHA256_LEN);
    rf_sha256(b, hdr + g->payload_size + prot, p + 8);
    if (g->slot_size && g->trailer_perm) {
        static const uint8_t magic[16] = { 0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                           0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80 };
        memcpy(b + total - 16, magic, 16);
        b[total - 24] = 0x01;              /* image_ok */
    }
    *out = b;
    return total;
}
