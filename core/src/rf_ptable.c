/*
 * ESP-IDF binary partition table: see rf_ptable.h for the layout and the
 * rules. Parsing treats the buffer as hostile: every entry is checked to lie
 * entirely inside the window before it is touched, the number of entries is
 * bounded, and labels are copied with an explicit bound and terminated.
 */
#include "rf_ptable.h"
#include "rf_crypto.h"

/* Byte positions inside one 32-byte entry. */
#define ENT_MAGIC 0u
#define ENT_TYPE 2u
#define ENT_SUBTYPE 3u
#define ENT_OFFSET 4u
#define ENT_SIZE 8u
#define ENT_LABEL 12u
#define ENT_FLAGS 28u
#define ENT_MD5_PAD 2u            /* MD5 entry: 14 bytes of 0xFF ... */
#define ENT_MD5_DIGEST 16u        /* ... then the digest */

_Static_assert(ENT_LABEL + RF_PART_LABEL_MAX == ENT_FLAGS, "entry layout");
_Static_assert(ENT_FLAGS + 4u == RF_PTABLE_ENTRY_LEN, "entry layout");
_Static_assert(ENT_MD5_DIGEST + RF_MD5_LEN == RF_PTABLE_ENTRY_LEN, "MD5 entry layout");
_Static_assert((RF_PTABLE_MAX_PARTS + 1u) * RF_PTABLE_ENTRY_LEN <= RF_PTABLE_MAX_LEN, "room for the MD5 entry");

/* ---- small string helpers (no libc) ------------------------------------- */

/* Length of s, looking at no more than max bytes. */
static size_t str_nlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}

/* A bounded writer into a caller's buffer; always keeps it NUL-terminated. */
typedef struct {
    char *buf;
    size_t cap;   /* bytes available including the NUL */
    size_t pos;
} sbuf_t;

static void sb_putc(sbuf_t *sb, char c)
{
    if (sb->pos + 1 < sb->cap) {
        sb->buf[sb->pos++] = c;
        sb->buf[sb->pos] = '\0';
    }
}

static void sb_puts(sbuf_t *sb, const char *s)
{
    while (*s != '\0') {
        sb_putc(sb, *s++);
    }
}

static void sb_hex8(sbuf_t *sb, uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    sb_puts(sb, "0x");
    sb_putc(sb, digits[v >> 4]);
    sb_putc(sb, digits[v & 0xF]);
}

static void sb_dec(sbuf_t *sb, unsigned v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0 && n < sizeof tmp);
    while (n > 0) {
        sb_putc(sb, tmp[--n]);
    }
}

/* ---- names -------------------------------------------------------------- */

static const char *type_name(uint8_t type)
{
    switch (type) {
    case RF_PART_TYPE_APP: return "app";
    case RF_PART_TYPE_DATA: return "data";
    case RF_PART_TYPE_BOOTLOADER: return "bootloader";
    case RF_PART_TYPE_PARTITION_TABLE: return "partition_table";
    default: return NULL;
    }
}

static const char *data_subtype_name(uint8_t subtype)
{
    switch (subtype) {
    case RF_PART_SUBTYPE_DATA_OTA: return "ota";
    case RF_PART_SUBTYPE_DATA_PHY: return "phy";
    case RF_PART_SUBTYPE_DATA_NVS: return "nvs";
    case RF_PART_SUBTYPE_DATA_COREDUMP: return "coredump";
    case RF_PART_SUBTYPE_DATA_NVS_KEYS: return "nvs_keys";
    case RF_PART_SUBTYPE_DATA_EFUSE: return "efuse";
    case RF_PART_SUBTYPE_DATA_UNDEFINED: return "undefined";
    case RF_PART_SUBTYPE_DATA_ESPHTTPD: return "esphttpd";
    case RF_PART_SUBTYPE_DATA_FAT: return "fat";
    case RF_PART_SUBTYPE_DATA_SPIFFS: return "spiffs";
    case RF_PART_SUBTYPE_DATA_LITTLEFS: return "littlefs";
    default: return NULL;
    }
}

static const char *fixed_subtype_name(uint8_t type, uint8_t subtype)
{
    switch (type) {
    case RF_PART_TYPE_APP:
        if (subtype == RF_PART_SUBTYPE_FACTORY) {
            return "factory";
        }
        if (subtype == RF_PART_SUBTYPE_TEST) {
            return "test";
        }
        return NULL;   /* ota_N is built by the caller */
    case RF_PART_TYPE_DATA:
        return data_subtype_name(subtype);
    case RF_PART_TYPE_BOOTLOADER:
        switch (subtype) {
        case RF_PART_SUBTYPE_BOOTLOADER_PRIMARY: return "primary";
        case RF_PART_SUBTYPE_BOOTLOADER_OTA: return "ota";
        case RF_PART_SUBTYPE_BOOTLOADER_RECOVERY: return "recovery";
        default: return NULL;
        }
    case RF_PART_TYPE_PARTITION_TABLE:
        switch (subtype) {
        case RF_PART_SUBTYPE_PARTITION_TABLE_PRIMARY: return "primary";
        case RF_PART_SUBTYPE_PARTITION_TABLE_OTA: return "ota";
        default: return NULL;
        }
    default:
        return NULL;
    }
}

void rf_part_kind_name(uint8_t type, uint8_t subtype, char *out, size_t len)
{
    if (out == NULL || len == 0) {
        return;
    }
    sbuf_t sb = { out, len, 0 };
    out[0] = '\0';

    const char *tn = type_name(type);
    if (tn != NULL) {
        sb_puts(&sb, tn);
    } else {
        sb_hex8(&sb, type);
    }
    sb_putc(&sb, '/');

    const char *sn = fixed_subtype_name(type, subtype);
    if (sn != NULL) {
        sb_puts(&sb, sn);
    } else if (type == RF_PART_TYPE_APP && subtype >= RF_PART_SUBTYPE_OTA_MIN && subtype <= RF_PART_SUBTYPE_OTA_MAX) {
        sb_puts(&sb, "ota_");
        sb_dec(&sb, (unsigned)(subtype - RF_PART_SUBTYPE_OTA_MIN));
    } else {
        sb_hex8(&sb, subtype);
    }
}

/* ---- entries ------------------------------------------------------------ */

void rf_part_encode(const rf_part_t *p, uint8_t out[RF_PTABLE_ENTRY_LEN])
{
    RF_MEMSET(out, 0, RF_PTABLE_ENTRY_LEN);
    rf_put_le16(out + ENT_MAGIC, (uint16_t)RF_PTABLE_MAGIC);
    out[ENT_TYPE] = p->type;
    out[ENT_SUBTYPE] = p->subtype;
    rf_put_le32(out + ENT_OFFSET, p->offset);
    rf_put_le32(out + ENT_SIZE, p->size);
    RF_MEMCPY(out + ENT_LABEL, p->label, str_nlen(p->label, RF_PART_LABEL_MAX));
    rf_put_le32(out + ENT_FLAGS, p->flags);
}

/* Decode a partition entry (magic already checked). False if its range
 * wraps past 4 GiB. */
bool rf_part_decode(const uint8_t e[RF_PTABLE_ENTRY_LEN], rf_part_t *p)
{
    p->type = e[ENT_TYPE];
    p->subtype = e[ENT_SUBTYPE];
    p->offset = rf_le32(e + ENT_OFFSET);
    p->size = rf_le32(e + ENT_SIZE);
    p->flags = rf_le32(e + ENT_FLAGS);
    /* up to the first NUL, then NULs to the end (the terminator included) */
    char c = 1;
    for (size_t k = 0; k < sizeof p->label; k++) {
        c = (c != 0 && k < RF_PART_LABEL_MAX) ? (char)e[ENT_LABEL + k] : 0;
        p->label[k] = c;
    }
    return (uint64_t)p->offset + p->size <= (uint64_t)UINT32_MAX + 1u;
}

/* ---- parse / read / serialize ------------------------------------------- */

esp_err_t rf_ptable_parse_read(rf_read_fn read, void *arg, size_t len, rf_ptable_t *out)
{
    if (read == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    RF_MEMSET(out, 0, sizeof *out);
    if (len < RF_PTABLE_ENTRY_LEN) {
        return ESP_ERR_INVALID_SIZE;
    }

    const size_t win = RF_MIN(len, (size_t)RF_PTABLE_MAX_LEN);
    esp_err_t err = ESP_ERR_INVALID_SIZE;
    uint8_t e[RF_PTABLE_ENTRY_LEN];
    rf_md5_ctx_t md5;   /* of the entries before the current one */
    rf_md5_start(&md5);
    size_t pos = 0;
    while (pos < win) {
        const size_t n = RF_MIN(win - pos, (size_t)RF_PTABLE_ENTRY_LEN);
        esp_err_t rerr = read(arg, (uint32_t)pos, e, (uint32_t)n);
        if (rerr != ESP_OK) {
            err = rerr;
            goto corrupt;
        }
        if (n < RF_PTABLE_ENTRY_LEN) {
            /* A partial entry at the end of the window: only an erased
             * tail is acceptable. */
            if (!rf_is_blank(e, n)) {
                goto corrupt;
            }
            break;
        }
        if (rf_is_blank(e, RF_PTABLE_ENTRY_LEN)) {
            break;   /* the end marker */
        }
        const uint16_t magic = rf_le16(e + ENT_MAGIC);
        if (pos == 0 && magic != RF_PTABLE_MAGIC) {
            err = ESP_ERR_NOT_FOUND;
            goto corrupt;
        }
        if (magic == RF_PTABLE_MAGIC) {
            if (out->has_md5 || out->count >= RF_PTABLE_MAX_PARTS) {
                goto corrupt;
            }
            if (!rf_part_decode(e, &out->parts[out->count])) {
                goto corrupt;
            }
            out->count++;
        } else if (magic == RF_PTABLE_MAGIC_MD5) {
            if (out->has_md5 || !rf_is_blank(e + ENT_MD5_PAD, ENT_MD5_DIGEST - ENT_MD5_PAD)) {
                goto corrupt;
            }
            uint8_t digest[RF_MD5_LEN];
            rf_md5_finish(&md5, digest);
            out->has_md5 = true;
            out->md5_ok = RF_MEMCMP(digest, e + ENT_MD5_DIGEST, RF_MD5_LEN) == 0;
        } else {
            goto corrupt;
        }
        if (!out->has_md5) {
            rf_md5_update(&md5, e, RF_PTABLE_ENTRY_LEN);
        }
        pos += RF_PTABLE_ENTRY_LEN;
    }

    if (out->count == 0) {
        err = ESP_ERR_NOT_FOUND;
        goto corrupt;
    }
    if (!out->has_md5) {
        uint8_t unused[RF_MD5_LEN];
        rf_md5_finish(&md5, unused);   /* a context is finished exactly once (its backend may hold resources) */
    }
    return (out->has_md5 && !out->md5_ok) ? ESP_ERR_INVALID_CRC : ESP_OK;

corrupt:
    if (!out->has_md5) {
        uint8_t unused[RF_MD5_LEN];
        rf_md5_finish(&md5, unused);
    }
    RF_MEMSET(out, 0, sizeof *out);
    return err;
}

static esp_err_t mem_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    RF_MEMCPY(buf, (const uint8_t *)arg + off, len);
    return ESP_OK;
}

esp_err_t rf_ptable_parse(const uint8_t *buf, size_t len, rf_ptable_t *out)
{
    if (buf == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return rf_ptable_parse_read(mem_read, (void *)(uintptr_t)buf, len, out);
}

esp_err_t rf_ptable_read(const rf_flash_t *flash, uint32_t offset, uint8_t *scratch, size_t scratch_len,
                         rf_ptable_t *out)
{
    if (flash == NULL || flash->read == NULL || scratch == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (scratch_len < RF_PTABLE_MAX_LEN) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (flash->size != 0 && (uint64_t)offset + RF_PTABLE_MAX_LEN > flash->size) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = rf_flash_read(flash, offset, scratch, RF_PTABLE_MAX_LEN);
    if (err != ESP_OK) {
        RF_MEMSET(out, 0, sizeof *out);
        return err;
    }
    return rf_ptable_parse(scratch, RF_PTABLE_MAX_LEN, out);
}

esp_err_t rf_ptable_serialize(const rf_ptable_t *t, bool with_md5, uint8_t *buf, size_t len)
{
    if (t == NULL || buf == NULL || t->count > RF_PTABLE_MAX_PARTS) {
        return ESP_ERR_INVALID_ARG;
    }
    if (len < RF_PTABLE_MAX_LEN) {
        return ESP_ERR_INVALID_SIZE;
    }
    RF_MEMSET(buf, 0xFF, len);
    for (uint32_t i = 0; i < t->count; i++) {
        rf_part_encode(&t->parts[i], buf + (size_t)i * RF_PTABLE_ENTRY_LEN);
    }
    if (with_md5) {
        const size_t used = (size_t)t->count * RF_PTABLE_ENTRY_LEN;
        uint8_t *e = buf + used;   /* still 0xFF: the padding is already right */
        rf_put_le16(e + ENT_MAGIC, (uint16_t)RF_PTABLE_MAGIC_MD5);
        rf_md5(buf, used, e + ENT_MD5_DIGEST);
    }
    return ESP_OK;
}

/* ---- look-ups ------------------------------------------------------------ */

const rf_part_t *rf_ptable_find_label(const rf_ptable_t *t, const char *label)
{
    if (t == NULL || label == NULL) {
        return NULL;
    }
    const size_t n = str_nlen(label, RF_PART_LABEL_MAX + 1);
    if (n > RF_PART_LABEL_MAX) {
        return NULL;   /* no stored label can be that long */
    }
    const uint32_t count = RF_MIN(t->count, RF_PTABLE_MAX_PARTS);
    for (uint32_t i = 0; i < count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (str_nlen(p->label, RF_PART_LABEL_MAX) == n && RF_MEMCMP(p->label, label, n) == 0) {
            return p;
        }
    }
    return NULL;
}

const rf_part_t *rf_ptable_find(const rf_ptable_t *t, uint8_t type, uint8_t subtype)
{
    if (t == NULL) {
        return NULL;
    }
    const uint32_t count = RF_MIN(t->count, RF_PTABLE_MAX_PARTS);
    for (uint32_t i = 0; i < count; i++) {
        if (t->parts[i].type == type && t->parts[i].subtype == subtype) {
            return &t->parts[i];
        }
    }
    return NULL;
}

const rf_part_t *rf_ptable_find_addr(const rf_ptable_t *t, uint32_t addr)
{
    if (t == NULL) {
        return NULL;
    }
    const uint32_t count = RF_MIN(t->count, RF_PTABLE_MAX_PARTS);
    for (uint32_t i = 0; i < count; i++) {
        const rf_part_t *p = &t->parts[i];
        if (addr >= p->offset && (uint64_t)addr < (uint64_t)p->offset + p->size) {
            return p;
        }
    }
    return NULL;
}

/* ---- sanity rules -------------------------------------------------------- */

/* The labels as strings of at most RF_PART_LABEL_MAX characters. */
static bool labels_equal(const rf_part_t *a, const rf_part_t *b)
{
    for (size_t k = 0; k < RF_PART_LABEL_MAX; k++) {
        if (a->label[k] != b->label[k]) {
            return false;
        }
        if (a->label[k] == '\0') {
            return true;
        }
    }
    return true;
}

esp_err_t rf_ptable_check(const rf_ptable_t *t, uint32_t table_offset, uint32_t flash_size, uint32_t *bad)
{
    if (t == NULL || t->count == 0 || t->count > RF_PTABLE_MAX_PARTS) {
        return ESP_ERR_INVALID_ARG;
    }
    if (table_offset == 0) {
        table_offset = RF_PTABLE_OFFSET_DEFAULT;
    }
    const uint64_t first_free = (uint64_t)table_offset + RF_PTABLE_SECTOR;
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *p = &t->parts[i];
        const uint64_t end = (uint64_t)p->offset + p->size;
        const uint32_t align = p->type == RF_PART_TYPE_APP ? RF_PART_ALIGN_APP : RF_PART_ALIGN_DATA;
        bool ok = p->size != 0 && p->label[0] != '\0' && rf_is_aligned(p->offset, align) &&
                  p->offset >= first_free && end <= (uint64_t)UINT32_MAX + 1u &&
                  (flash_size == 0 || end <= flash_size);
        for (uint32_t j = 0; ok && j < i; j++) {
            const rf_part_t *q = &t->parts[j];
            const uint64_t qend = (uint64_t)q->offset + q->size;
            if ((uint64_t)p->offset < qend && (uint64_t)q->offset < end) {
                ok = false;   /* overlap */
            } else if (labels_equal(p, q)) {
                ok = false;
            } else if (p->type == RF_PART_TYPE_DATA && p->subtype == RF_PART_SUBTYPE_DATA_OTA &&
                       q->type == RF_PART_TYPE_DATA && q->subtype == RF_PART_SUBTYPE_DATA_OTA) {
                ok = false;
            }
        }
        if (!ok) {
            if (bad != NULL) {
                *bad = i;
            }
            return ESP_ERR_INVALID_SIZE;
        }
    }
    return ESP_OK;
}
