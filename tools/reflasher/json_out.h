/* JSON output of the reflasher commands: every object is built with cJSON
 * (Debian's libcjson, the library ESP-IDF ships as its `json` component),
 * never assembled by hand, so any path or message is escaped correctly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

/** Print `root` on stdout as one line and free it. False (and a message on
 *  stderr naming `cmd`) when `root` is NULL or printing runs out of memory. */
bool rf_json_print(cJSON *root, const char *cmd);

/** obj[key] = s, or null when s is NULL. Returns the item (NULL on no memory). */
cJSON *rf_json_str(cJSON *obj, const char *key, const char *s);

/** obj[key] = v: exact for every integer up to 2^53 (sizes, offsets, byte counts). */
cJSON *rf_json_num(cJSON *obj, const char *key, uint64_t v);

/** obj[key] = the lower-case hex of d[0, n) (n <= 64). */
cJSON *rf_json_hex(cJSON *obj, const char *key, const uint8_t *d, size_t n);

/** A new object appended to the array `arr` (NULL on no memory). */
cJSON *rf_json_push_object(cJSON *arr);
