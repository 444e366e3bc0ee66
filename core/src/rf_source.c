/* Source-port rules every source shares (see rf_source.h): validators,
 * strict Content-Range, the resume-or-restart rule of a 206, and the
 * deadline / minimum-rate meter. */
#include "rf_source.h"

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n] != 0) {
        n++;
    }
    return n;
}

esp_err_t rf_source_open_at(const rf_source_t *src, rf_source_open_t *io)
{
    if (src == NULL || io == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    io->start = 0;
    io->total = -1;
    io->validator[0] = 0;
    if (src->open_at != NULL) {
        esp_err_t err = src->open_at(src->ctx, io);
        if (err == ESP_OK && !rf_source_validator_ok(io->validator)) {
            io->validator[0] = 0;
        }
        if (err == ESP_OK && io->start != 0 && io->start != io->offset) {
            src->close(src->ctx);
            return ESP_ERR_INVALID_RESPONSE;   /* a source breaking its contract */
        }
        return err;
    }
    return src->open(src->ctx, 0, &io->total);
}

size_t rf_source_validator_len(const char *v)
{
    size_t n = 0;
    for (; v != NULL && v[n] != 0; n++) {
        /* visible ASCII and space: 0x20..0x7E */
        if (n >= RF_SOURCE_VALIDATOR_MAX - 1 || (uint8_t)(v[n] - 0x20) > 0x7E - 0x20) {
            return 0;
        }
    }
    return n;
}

bool rf_source_validator_ok(const char *v)
{
    return rf_source_validator_len(v) != 0;
}

/* ' ', '\t', '\r' or '\n': bits 0 ('\t' - 9), 1 ('\n'), 4 ('\r') and
 * 23 (' ') of a mask indexed from 9; anything below 9 wraps far above. */
static inline bool is_ws_crlf(char c)
{
    const uint32_t i = (uint32_t)(uint8_t)c - 9u;
    return i < 24u && ((0x800013u >> i) & 1u) != 0;
}

/* v past its leading spaces and tabs (HTTP's OWS); NULL stays NULL. */
RF_NOINLINE static const char *skip_ows(const char *v)
{
    while (v != NULL && (*v == ' ' || *v == '\t')) {
        v++;
    }
    return v;
}

static bool copy_validator(const char *v, char out[RF_SOURCE_VALIDATOR_MAX])
{
    v = skip_ows(v);
    if (v == NULL) {
        return false;
    }
    size_t n = str_len(v);
    while (n > 0 && is_ws_crlf(v[n - 1])) {
        n--;
    }
    if (n == 0 || n >= RF_SOURCE_VALIDATOR_MAX) {
        return false;
    }
    RF_MEMCPY(out, v, n);
    out[n] = 0;
    if (!rf_source_validator_ok(out)) {
        out[0] = 0;
        return false;
    }
    return true;
}

/* Which of the n three-letter names packed in `names` starts at *p (0..n-1,
 * *p moved past it), or -1. */
static int32_t name3(const char **p, const char *names, unsigned n)
{
    const char *s = *p;
    for (unsigned i = 0; i < n; i++, names += 3) {
        if (s[0] == names[0] && s[1] == names[1] && s[2] == names[2]) {
            *p = s + 3;
            return (int32_t)i;
        }
    }
    return -1;
}

bool rf_source_http_date(const char *v, int64_t *secs)
{
    v = skip_ows(v);
    if (v == NULL) {
        return false;
    }
    /* IMF-fixdate, the one form taken: 'w' a day name, 'm' a month name,
     * '#' a digit, every other character itself. The numbers go to f[] in
     * order: day, month (1..12), year, hour, minute, second; at most 4
     * digits each, so 32 bits hold every step below. */
    int32_t f[6];
    unsigned k = 0;
    for (const char *p = "w, ## m #### ##:##:## GMT"; *p != 0;) {
        if (*p == '#') {
            int32_t x = 0;
            for (; *p == '#'; p++, v++) {
                if (*v < '0' || *v > '9') {
                    return false;
                }
                x = x * 10 + (*v - '0');
            }
            f[k++] = x;
        } else if (*p == 'w' || *p == 'm') {
            const bool month = *p++ == 'm';
            /* the day names follow the month names */
            static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDecMonTueWedThuFriSatSun";
            int32_t i = name3(&v, month ? names : names + 36, month ? 12u : 7u);
            if (i < 0) {
                return false;
            }
            if (month) {
                f[k++] = i + 1;
            }
        } else if (*v++ != *p++) {
            return false;
        }
    }
    const int32_t d = f[0], mon = f[1], y = f[2], hh = f[3], mm = f[4], ss = f[5];
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) {
        return false;
    }
    /* days since 1970-01-01 of a proleptic Gregorian date (civil-from-days inverse) */
    int32_t yy = y - (mon <= 2) + 400;   /* >= 399: one era (146097 days) ahead, so no negative division */
    int32_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    /* = (yy / 400 - 1) * 146097 + doe(yy % 400) - 719468, with
     * doe(r) = r * 365 + r / 4 - r / 100 + doy: yy = 400 q + r gives
     * yy * 365 + yy / 4 - yy / 100 + yy / 400 = 146097 q + r * 365 + r / 4 - r / 100 */
    int32_t days_since = yy * 365 + yy / 4 - yy / 100 + yy / 400 + doy - (719468 + 146097);
    *secs = (int64_t)days_since * 86400 + (hh * 3600 + mm * 60 + ss);
    return true;
}

void rf_source_pick_validator(const char *etag, const char *last_modified, const char *date,
                              char out[RF_SOURCE_VALIDATOR_MAX])
{
    out[0] = 0;
    /* If-Range takes only a strong entity tag (RFC 9110 13.1.5): one that,
     * trimmed, starts with a quote. copy_validator leaves out "" when it
     * refuses a value. */
    if (copy_validator(etag, out)) {
        if (out[0] == '"') {
            return;
        }
        out[0] = 0;
    }
    int64_t lm, now;
    if (rf_source_http_date(last_modified, &lm) && rf_source_http_date(date, &now) && now - lm >= 60) {
        (void)copy_validator(last_modified, out);
    }
}

/* Decimal digits at *p into *v (no sign, no overflow); false if none. */
static bool parse_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        uint64_t d = (uint64_t)(s[n] - '0');
        /* x * 10 + d > UINT64_MAX, without a 64-bit division */
        if (x > UINT64_MAX / 10u || (x == UINT64_MAX / 10u && d > UINT64_MAX % 10u)) {
            return false;
        }
        x = x * 10u + d;
        n++;
    }
    if (n == 0) {
        return false;
    }
    *p = s + n;
    *v = x;
    return true;
}

bool rf_source_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total)
{
    v = skip_ows(v);
    if (v == NULL) {
        return false;
    }
    /* "bytes" in any case (a byte ORed with 0x20 equals a lower-case letter
     * only when it is that letter in either case), then one space */
    for (size_t i = 0; i < 5; i++) {
        if ((v[i] | 0x20) != "bytes"[i]) {
            return false;
        }
    }
    if (v[5] != ' ') {
        return false;
    }
    v += 6;
    /* FIRST '-' LAST '/' TOTAL */
    uint64_t n[3];
    for (size_t i = 0; i < 3; i++) {
        if ((i > 0 && *v++ != "-/"[i - 1]) || !parse_u64(&v, &n[i])) {
            return false;
        }
    }
    while (is_ws_crlf(*v)) {
        v++;
    }
    if (*v != 0 || n[0] > n[1] || n[1] >= n[2]) {
        return false;
    }
    *first = n[0];
    *last = n[1];
    *total = n[2];
    return true;
}

bool rf_source_range_continues(uint32_t offset, uint64_t first, uint64_t last, uint64_t total,
                               int64_t content_length)
{
    return first == offset && last + 1u == total &&
           (content_length < 0 || (uint64_t)content_length == total - first);
}

/* ---- bounded time --------------------------------------------------------- */

rf_source_limits_t rf_source_limits_default(void)
{
    rf_source_limits_t l = { RF_SOURCE_DEFAULT_DEADLINE_MS, RF_SOURCE_DEFAULT_MIN_RATE_BPS,
                             RF_SOURCE_DEFAULT_RATE_WINDOW_MS };
    return l;
}

void rf_source_meter_start(rf_source_meter_t *m, const rf_source_limits_t *lim, uint64_t now_ms)
{
    RF_MEMSET(m, 0, sizeof *m);
    if (lim != NULL) {
        m->lim = *lim;
    }
    if (m->lim.rate_window_ms == 0) {
        m->lim.min_rate_bps = 0;
    }
    m->opened_ms = now_ms;
}

rf_source_verdict_t rf_source_meter_check(rf_source_meter_t *m, uint64_t now_ms, uint64_t waited_ms, uint64_t bytes)
{
    if (m->lim.deadline_ms != 0 && now_ms - m->opened_ms >= m->lim.deadline_ms) {
        return RF_SOURCE_DEADLINE;
    }
    if (m->lim.min_rate_bps == 0) {
        return RF_SOURCE_OK;
    }
    m->win_waited_ms += waited_ms;
    m->win_bytes += bytes;
    if (m->win_waited_ms < m->lim.rate_window_ms) {
        return RF_SOURCE_OK;
    }
    /* A full window of waiting: the bytes it brought must reach the rate. */
    if (m->win_bytes * 1000u < (uint64_t)m->lim.min_rate_bps * m->win_waited_ms) {
        return RF_SOURCE_TOO_SLOW;
    }
    m->win_waited_ms = 0;
    m->win_bytes = 0;
    return RF_SOURCE_OK;
}

const char *rf_source_verdict_name(rf_source_verdict_t v)
{
    switch (v) {
    case RF_SOURCE_DEADLINE: return "deadline";
    case RF_SOURCE_TOO_SLOW: return "minimum rate";
    default: return "";
    }
}
