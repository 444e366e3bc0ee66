#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "args.h"

bool rf_parse_size(const char *s, uint32_t *out)
{
    if (s == NULL || *s == 0) {
        return false;
    }
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s) {
        return false;
    }
    unsigned long long mul = 1;
    if (*end != 0) {
        if (strcasecmp(end, "K") == 0 || strcasecmp(end, "KB") == 0 || strcasecmp(end, "KiB") == 0) {
            mul = 1024;
        } else if (strcasecmp(end, "M") == 0 || strcasecmp(end, "MB") == 0 || strcasecmp(end, "MiB") == 0) {
            mul = 1024 * 1024;
        } else {
            return false;
        }
    }
    v *= mul;
    if (v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Exactly 64 hex digits. */
static bool parse_sha256(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64) {
        return false;
    }
    for (size_t i = 0; i < 64; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0) {
            return false;
        }
        out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : v << 4);
    }
    return true;
}

bool rf_parse_image_arg(const char *s, rf_image_arg_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *at = strrchr(s, '@');
    if (at == NULL || at == s || (size_t)(at - s) >= sizeof out->source) {
        snprintf(err, err_len, "'%s' is not SOURCE@DEST[:SIZE]", s);
        return false;
    }
    memcpy(out->source, s, (size_t)(at - s));
    char rest[128];
    snprintf(rest, sizeof rest, "%s", at + 1);
    char *hash = strchr(rest, '#');
    if (hash != NULL) {
        *hash++ = 0;
        if (strncmp(hash, "sha256=", 7) != 0 || !parse_sha256(hash + 7, out->sha256)) {
            snprintf(err, err_len, "bad suffix '#%s' in '%s': want #sha256= and 64 hex digits", hash, s);
            return false;
        }
        out->has_sha256 = true;
    }
    char *colon = strchr(rest, ':');
    if (colon != NULL) {
        *colon = 0;
        if (!rf_parse_size(colon + 1, &out->size)) {
            snprintf(err, err_len, "bad SIZE '%s' in '%s'", colon + 1, s);
            return false;
        }
        out->has_size = true;
    }
    if (!rf_parse_size(rest, &out->dest)) {
        snprintf(err, err_len, "bad DEST '%s' in '%s'", rest, s);
        return false;
    }
    return true;
}

void rf_migration_args_init(rf_migration_args_t *m, rf_image_arg_t *imgs, int max)
{
    memset(m, 0, sizeof *m);
    m->imgs = imgs;
    m->max = max;
    m->at = 0x14294;
}

int rf_migration_arg(rf_migration_args_t *m, const char *cmd, const char *opt, const char *val)
{
    char err[512];
    if (strcmp(opt, "--device") == 0) {
        m->device = val;
        return 1;
    }
    if (strcmp(opt, "--at") == 0) {
        if (!rf_parse_size(val, &m->at)) {
            fprintf(stderr, "%s: bad --at '%s'\n", cmd, val);
            return -1;
        }
        m->at_given = true;
        return 1;
    }
    if (strcmp(opt, "--image") != 0 && strcmp(opt, "--embedded") != 0) {
        return 0;
    }
    if (m->n == m->max) {
        fprintf(stderr, "%s: at most %d images\n", cmd, m->max);
        return -1;
    }
    if (!rf_parse_image_arg(val, &m->imgs[m->n], err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return -1;
    }
    m->n++;
    m->embedded |= strcmp(opt, "--embedded") == 0;
    return 1;
}

bool rf_migration_flag(rf_migration_args_t *m, const char *opt)
{
    if (strcmp(opt, "--allow-http") == 0) {
        m->allow_http = true;
        return true;
    }
    return false;
}

bool rf_migration_check_http(const rf_migration_args_t *m, const char *cmd)
{
    bool ok = true;
    for (int i = 0; i < m->n && !m->allow_http; i++) {
        const rf_image_arg_t *a = &m->imgs[i];
        if (strncasecmp(a->source, "http://", 7) == 0 && !a->has_sha256) {
            fprintf(stderr,
                    "%s: image %d: %s is plain HTTP: anyone on the path could replace it; use https://, pin it "
                    "with #sha256=HEX, or accept that with --allow-http\n",
                    cmd, i + 1, a->source);
            ok = false;
        }
    }
    return ok;
}
