/* JSON output of the reflasher commands (see json_out.h). */
#include "json_out.h"
#include <stdio.h>
#include <stdlib.h>

bool rf_json_print(cJSON *root, const char *cmd)
{
    char *s = root != NULL ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (s == NULL) {
        fprintf(stderr, "%s: out of memory while building the JSON output\n", cmd);
        return false;
    }
    puts(s);
    cJSON_free(s);
    return true;
}

cJSON *rf_json_str(cJSON *obj, const char *key, const char *s)
{
    return s != NULL ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
}

cJSON *rf_json_num(cJSON *obj, const char *key, uint64_t v)
{
    return cJSON_AddNumberToObject(obj, key, (double)v);
}

cJSON *rf_json_hex(cJSON *obj, const char *key, const uint8_t *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * 64 + 1];
    n = n > 64 ? 64 : n;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[d[i] >> 4];
        buf[2 * i + 1] = digits[d[i] & 0xF];
    }
    buf[2 * n] = 0;
    return cJSON_AddStringToObject(obj, key, buf);
}

cJSON *rf_json_push_object(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
