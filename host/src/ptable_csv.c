/* ESP-IDF partitions.csv reader: see ptable_csv.h for the syntax and rules. */
#include "ptable_csv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_FIELDS 6
#define CSV_NUM_MAX 64            /* longest number field we accept */
#define CSV_FILE_MAX (1u << 20)   /* a partitions.csv is a few hundred bytes */
#define OTADATA_SIZE 0x2000u

typedef struct {
    const char *p;
    size_t n;
} span_t;

static void seterr(char *err, size_t err_len, unsigned line, const char *fmt, ...)
{
    if (err == NULL || err_len == 0) {
        return;
    }
    int k = line ? snprintf(err, err_len, "line %u: ", line) : 0;
    if (k < 0 || (size_t)k >= err_len) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, err_len - (size_t)k, fmt, ap);
    va_end(ap);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static span_t trim(span_t s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

static bool span_ieq(span_t s, const char *word)
{
    size_t n = strlen(word);
    if (n != s.n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)s.p[i]) != tolower((unsigned char)word[i])) {
            return false;
        }
    }
    return true;
}

/* A printable copy of a field for messages (truncated to fit). */
static const char *show(span_t s, char *buf, size_t len)
{
    size_t n = s.n < len - 1 ? s.n : len - 1;
    memcpy(buf, s.p, n);
    buf[n] = 0;
    return buf;
}

/* Digits of one base into v; false on a bad digit, no digit or overflow
 * past 32 bits. */
static bool parse_digits(const char *s, size_t n, unsigned base, uint64_t *v)
{
    if (n == 0) {
        return false;
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int c = tolower((unsigned char)s[i]);
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else {
            return false;
        }
        if (d >= base) {
            return false;
        }
        acc = acc * base + d;
        if (acc > UINT32_MAX) {
            return false;
        }
    }
    *v = acc;
    return true;
}

/* A number as ESP-IDF writes them: decimal, 0x/0o/0b prefixed, optional
 * K or M suffix, optional leading '-' when allow_neg. False if it is not
 * one or does not fit 32 bits. */
static bool parse_number(span_t s, bool allow_neg, bool *neg, uint32_t *out)
{
    s = trim(s);
    uint64_t mult = 1;
    if (s.n > 0) {
        char last = (char)tolower((unsigned char)s.p[s.n - 1]);
        if (last == 'k') {
            mult = 1024u;
            s.n--;
        } else if (last == 'm') {
            mult = 1024u * 1024u;
            s.n--;
        }
        s = trim(s);
    }
    *neg = false;
    if (s.n > 0 && s.p[0] == '-') {
        if (!allow_neg) {
            return false;
        }
        *neg = true;
        s.p++;
        s.n--;
    }
    if (s.n == 0 || s.n > CSV_NUM_MAX) {
        return false;
    }
    unsigned base = 10;
    if (s.n > 2 && s.p[0] == '0') {
        char x = (char)tolower((unsigned char)s.p[1]);
        if (x == 'x') {
            base = 16;
        } else if (x == 'o') {
            base = 8;
        } else if (x == 'b') {
            base = 2;
        }
        if (base != 10) {
            s.p += 2;
            s.n -= 2;
        }
    }
    if (base == 10 && s.n > 1 && s.p[0] == '0') {
        return false;   /* "010": ambiguous, as in ESP-IDF's tool */
    }
    uint64_t v;
    if (!parse_digits(s.p, s.n, base, &v)) {
        return false;
    }
    v *= mult;
    if (v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A type or subtype: a keyword or a number 0..0xFE. */
static bool parse_byte(span_t s, uint8_t *out)
{
    bool neg;
    uint32_t v;
    if (!parse_number(s, false, &neg, &v) || v > 0xFEu) {
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

static bool parse_type(span_t s, uint8_t *out)
{
    if (span_ieq(s, "app")) {
        *out = RF_PART_TYPE_APP;
        return true;
    }
    if (span_ieq(s, "data")) {
        *out = RF_PART_TYPE_DATA;
        return true;
    }
    return parse_byte(s, out);
}

/* Subtype keywords are the names rf_part_kind_name() gives (for app and
 * data only, as in ESP-IDF's tool), so the two can never disagree. */
static bool parse_subtype(span_t s, uint8_t type, uint8_t *out)
{
    if (type == RF_PART_TYPE_APP || type == RF_PART_TYPE_DATA) {
        for (unsigned st = 0; st <= 0xFEu; st++) {
            char name[48];
            rf_part_kind_name(type, (uint8_t)st, name, sizeof name);
            const char *slash = strchr(name, '/');
            const char *sub = slash ? slash + 1 : name;
            if (strncmp(sub, "0x", 2) != 0 && span_ieq(s, sub)) {
                *out = (uint8_t)st;
                return true;
            }
        }
    }
    return parse_byte(s, out);
}

static bool parse_flags(span_t s, uint32_t *flags, span_t *bad)
{
    *flags = 0;
    size_t i = 0;
    while (i < s.n) {
        while (i < s.n && (s.p[i] == ':' || is_space(s.p[i]))) {
            i++;
        }
        size_t start = i;
        while (i < s.n && s.p[i] != ':' && !is_space(s.p[i])) {
            i++;
        }
        if (i == start) {
            break;
        }
        span_t tok = { s.p + start, i - start };
        if (span_ieq(tok, "encrypted")) {
            *flags |= RF_PART_FLAG_ENCRYPTED;
        } else if (span_ieq(tok, "readonly")) {
            *flags |= RF_PART_FLAG_READONLY;
        } else {
            *bad = tok;
            return false;
        }
    }
    return true;
}

/* Split one line into trimmed fields; false if a seventh non-empty field
 * is present. */
static bool split_fields(span_t line, span_t f[CSV_FIELDS])
{
    for (int i = 0; i < CSV_FIELDS; i++) {
        f[i].p = line.p + line.n;
        f[i].n = 0;
    }
    size_t i = 0;
    int k = 0;
    while (true) {
        size_t start = i;
        while (i < line.n && line.p[i] != ',') {
            i++;
        }
        span_t field = trim((span_t){ line.p + start, i - start });
        if (k < CSV_FIELDS) {
            f[k] = field;
        } else if (field.n != 0) {
            return false;
        }
        k++;
        if (i >= line.n) {
            return true;
        }
        i++;   /* skip the comma */
    }
}

typedef struct {
    rf_ptable_t *t;
    unsigned lines[RF_PTABLE_MAX_PARTS];   /* line of each partition */
    uint64_t last_end;                     /* end of the previous partition */
    uint32_t table_offset;
    uint32_t flash_size;
} csv_state_t;

static esp_err_t parse_line(csv_state_t *st, span_t line, unsigned ln, char *err, size_t err_len)
{
    span_t f[CSV_FIELDS];
    char tmp[CSV_NUM_MAX + 8];
    if (!split_fields(line, f)) {
        seterr(err, err_len, ln, "too many columns (Name, Type, SubType, Offset, Size, Flags)");
        return ESP_ERR_INVALID_ARG;
    }
    rf_ptable_t *t = st->t;
    if (t->count >= RF_PTABLE_MAX_PARTS) {
        seterr(err, err_len, ln, "too many partitions (at most %u)", (unsigned)RF_PTABLE_MAX_PARTS);
        return ESP_ERR_INVALID_SIZE;
    }
    rf_part_t p;
    memset(&p, 0, sizeof p);

    /* Name */
    if (f[0].n == 0) {
        seterr(err, err_len, ln, "empty partition name");
        return ESP_ERR_INVALID_ARG;
    }
    if (f[0].n > RF_PART_LABEL_MAX) {
        seterr(err, err_len, ln, "name '%s' is longer than %u characters", show(f[0], tmp, sizeof tmp),
               (unsigned)RF_PART_LABEL_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    memcpy(p.label, f[0].p, f[0].n);

    /* Type, SubType */
    if (f[1].n == 0) {
        seterr(err, err_len, ln, "partition '%s': empty type", p.label);
        return ESP_ERR_INVALID_ARG;
    }
    if (!parse_type(f[1], &p.type)) {
        seterr(err, err_len, ln, "partition '%s': unknown type '%s' (app, data or 0x00..0xfe)", p.label,
               show(f[1], tmp, sizeof tmp));
        return ESP_ERR_INVALID_ARG;
    }
    if (f[2].n == 0) {
        if (p.type == RF_PART_TYPE_APP) {
            seterr(err, err_len, ln, "partition '%s': an app partition needs a subtype", p.label);
            return ESP_ERR_INVALID_ARG;
        }
        p.subtype = RF_PART_SUBTYPE_DATA_UNDEFINED;
    } else if (!parse_subtype(f[2], p.type, &p.subtype)) {
        char tn[24];
        rf_part_kind_name(p.type, 0, tn, sizeof tn);
        char *slash = strchr(tn, '/');
        if (slash) {
            *slash = 0;
        }
        seterr(err, err_len, ln, "partition '%s': unknown subtype '%s' for type %s", p.label,
               show(f[2], tmp, sizeof tmp), tn);
        return ESP_ERR_INVALID_ARG;
    }
    const uint32_t align = p.type == RF_PART_TYPE_APP ? RF_PART_ALIGN_APP : RF_PART_ALIGN_DATA;

    /* Offset */
    bool neg;
    uint64_t offset;
    if (f[3].n == 0) {
        offset = (st->last_end + align - 1) / align * align;
        if (offset > UINT32_MAX) {
            seterr(err, err_len, ln, "partition '%s': no room left for it in 4 GiB", p.label);
            return ESP_ERR_INVALID_SIZE;
        }
    } else {
        uint32_t v;
        if (!parse_number(f[3], false, &neg, &v)) {
            seterr(err, err_len, ln, "partition '%s': bad offset '%s'", p.label, show(f[3], tmp, sizeof tmp));
            return ESP_ERR_INVALID_ARG;
        }
        offset = v;
        if (offset < st->last_end) {
            if (t->count == 0) {
                seterr(err, err_len, ln,
                       "partition '%s' at 0x%llx overlaps the partition table (0x%x..0x%llx); use 0x%llx or above",
                       p.label, (unsigned long long)offset, (unsigned)st->table_offset,
                       (unsigned long long)st->last_end, (unsigned long long)st->last_end);
            } else {
                seterr(err, err_len, ln, "partition '%s' at 0x%llx overlaps '%s' (line %u) which ends at 0x%llx",
                       p.label, (unsigned long long)offset, t->parts[t->count - 1].label,
                       st->lines[t->count - 1], (unsigned long long)st->last_end);
            }
            return ESP_ERR_INVALID_ARG;
        }
        if (offset % align != 0) {
            seterr(err, err_len, ln, "%spartition '%s': offset 0x%llx is not aligned to 0x%x",
                   p.type == RF_PART_TYPE_APP ? "app " : "", p.label, (unsigned long long)offset,
                   (unsigned)align);
            return ESP_ERR_INVALID_ARG;
        }
    }
    p.offset = (uint32_t)offset;

    /* Size */
    uint32_t sz;
    if (f[4].n == 0) {
        seterr(err, err_len, ln, "partition '%s': empty size", p.label);
        return ESP_ERR_INVALID_ARG;
    }
    if (!parse_number(f[4], true, &neg, &sz)) {
        seterr(err, err_len, ln, "partition '%s': bad size '%s'", p.label, show(f[4], tmp, sizeof tmp));
        return ESP_ERR_INVALID_ARG;
    }
    if (neg) {
        /* "-END": the partition runs up to END. */
        if (sz <= p.offset) {
            seterr(err, err_len, ln, "partition '%s': end 0x%x is not after its offset 0x%x", p.label,
                   (unsigned)sz, (unsigned)p.offset);
            return ESP_ERR_INVALID_ARG;
        }
        sz -= p.offset;
    }
    if (sz == 0) {
        seterr(err, err_len, ln, "partition '%s': size is zero", p.label);
        return ESP_ERR_INVALID_ARG;
    }
    p.size = sz;
    const uint64_t end = (uint64_t)p.offset + p.size;
    if (end > (uint64_t)UINT32_MAX + 1u) {
        seterr(err, err_len, ln, "partition '%s' ends beyond 4 GiB", p.label);
        return ESP_ERR_INVALID_SIZE;
    }
    if (st->flash_size != 0 && end > st->flash_size) {
        seterr(err, err_len, ln, "partition '%s' (0x%x..0x%llx) is beyond the flash size 0x%x", p.label,
               (unsigned)p.offset, (unsigned long long)end, (unsigned)st->flash_size);
        return ESP_ERR_INVALID_SIZE;
    }

    /* Flags */
    span_t bad;
    if (!parse_flags(f[5], &p.flags, &bad)) {
        seterr(err, err_len, ln, "partition '%s': unknown flag '%s' (encrypted, readonly)", p.label,
               show(bad, tmp, sizeof tmp));
        return ESP_ERR_INVALID_ARG;
    }

    /* Rules across partitions */
    const bool otadata = p.type == RF_PART_TYPE_DATA && p.subtype == RF_PART_SUBTYPE_DATA_OTA;
    const bool coredump = p.type == RF_PART_TYPE_DATA && p.subtype == RF_PART_SUBTYPE_DATA_COREDUMP;
    if ((p.flags & RF_PART_FLAG_READONLY) && (otadata || coredump)) {
        seterr(err, err_len, ln, "partition '%s': the readonly flag is not allowed for %s partitions", p.label,
               otadata ? "data/ota" : "data/coredump");
        return ESP_ERR_INVALID_ARG;
    }
    if (otadata && p.size != OTADATA_SIZE) {
        seterr(err, err_len, ln, "partition '%s': an otadata partition must be 0x%x bytes, not 0x%x", p.label,
               OTADATA_SIZE, (unsigned)p.size);
        return ESP_ERR_INVALID_ARG;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const rf_part_t *q = &t->parts[i];
        if (strcmp(q->label, p.label) == 0) {
            seterr(err, err_len, ln, "duplicate partition name '%s' (first on line %u)", p.label, st->lines[i]);
            return ESP_ERR_INVALID_ARG;
        }
        if (otadata && q->type == RF_PART_TYPE_DATA && q->subtype == RF_PART_SUBTYPE_DATA_OTA) {
            seterr(err, err_len, ln, "partition '%s': a second otadata partition (the first is '%s', line %u)",
                   p.label, q->label, st->lines[i]);
            return ESP_ERR_INVALID_ARG;
        }
    }

    st->lines[t->count] = ln;
    t->parts[t->count++] = p;
    st->last_end = end;
    return ESP_OK;
}

esp_err_t ptable_csv_parse(const char *text, uint32_t table_offset, uint32_t flash_size, rf_ptable_t *out,
                           char *err, size_t err_len)
{
    if (err != NULL && err_len > 0) {
        err[0] = 0;
    }
    if (text == NULL || out == NULL) {
        seterr(err, err_len, 0, "no text or no output");
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    if (table_offset == 0) {
        table_offset = RF_PTABLE_OFFSET_DEFAULT;
    }
    if (table_offset % RF_PTABLE_SECTOR != 0) {
        seterr(err, err_len, 0, "partition table offset 0x%x is not aligned to 0x%x", (unsigned)table_offset,
               (unsigned)RF_PTABLE_SECTOR);
        return ESP_ERR_INVALID_ARG;
    }
    if (flash_size != 0 && (uint64_t)table_offset + RF_PTABLE_SECTOR > flash_size) {
        seterr(err, err_len, 0, "partition table at 0x%x does not fit in flash of 0x%x bytes",
               (unsigned)table_offset, (unsigned)flash_size);
        return ESP_ERR_INVALID_SIZE;
    }

    csv_state_t st;
    memset(&st, 0, sizeof st);
    st.t = out;
    st.last_end = (uint64_t)table_offset + RF_PTABLE_SECTOR;
    st.table_offset = table_offset;
    st.flash_size = flash_size;

    unsigned ln = 0;
    const char *p = text;
    while (*p != 0) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        ln++;
        span_t line = trim((span_t){ p, n });
        p += n + (nl ? 1 : 0);
        if (line.n == 0 || line.p[0] == '#') {
            continue;
        }
        esp_err_t e = parse_line(&st, line, ln, err, err_len);
        if (e != ESP_OK) {
            memset(out, 0, sizeof *out);
            return e;
        }
    }
    if (out->count == 0) {
        seterr(err, err_len, 0, "no partitions defined");
        return ESP_ERR_NOT_FOUND;
    }
    return ESP_OK;
}

esp_err_t ptable_csv_load(const char *path, uint32_t table_offset, uint32_t flash_size, rf_ptable_t *out,
                          char *err, size_t err_len)
{
    if (err != NULL && err_len > 0) {
        err[0] = 0;
    }
    if (path == NULL || out == NULL) {
        seterr(err, err_len, 0, "no path or no output");
        return ESP_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        seterr(err, err_len, 0, "cannot open %s", path);
        return ESP_ERR_NOT_FOUND;
    }
    char *text = malloc(CSV_FILE_MAX + 1);
    if (text == NULL) {
        fclose(f);
        seterr(err, err_len, 0, "out of memory");
        return ESP_ERR_NO_MEM;
    }
    size_t n = fread(text, 1, CSV_FILE_MAX + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(text);
        seterr(err, err_len, 0, "cannot read %s", path);
        return ESP_ERR_NOT_FOUND;
    }
    if (n > CSV_FILE_MAX) {
        free(text);
        seterr(err, err_len, 0, "%s is larger than %u bytes", path, CSV_FILE_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    text[n] = 0;
    if (memchr(text, 0, n) != NULL) {
        free(text);
        seterr(err, err_len, 0, "%s contains NUL bytes: not a CSV file", path);
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t e = ptable_csv_parse(text, table_offset, flash_size, out, err, err_len);
    free(text);
    return e;
}
