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
