/* Argument helpers shared by the reflasher subcommands. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/** Parse "0x1000", "4096", "64K", "4MB", "1M": true on success. */
bool rf_parse_size(const char *s, uint32_t *out);

/** An image argument SOURCE@DEST[:SIZE][#sha256=HEX] (the last '@' splits,
 *  so URLs with user@host work). size 0 = not given. The optional suffix
 *  after DEST[:SIZE] gives the image's expected SHA-256 (64 hex digits). */
typedef struct rf_image_arg {
    char source[2048];
    uint32_t dest;
    uint32_t size;
    bool has_size;
    bool has_sha256;
    uint8_t sha256[32];
} rf_image_arg_t;

bool rf_parse_image_arg(const char *s, rf_image_arg_t *out, char *err, size_t err_len);

/** The arguments migrate, plan and rehearse share: --device, --image (repeated),
 *  --embedded (once, instead of --image), --at. */
typedef struct rf_migration_args {
    const char *device;
    rf_image_arg_t *imgs;   /**< the caller's array of `max` entries */
    int max;
    int n;
    bool embedded;
    bool at_given;
    uint32_t at;            /**< default 0x14294, where the reference's embedded example has its image */
    bool allow_http;        /**< --allow-http: unpinned plain-HTTP sources accepted */
} rf_migration_args_t;

void rf_migration_args_init(rf_migration_args_t *m, rf_image_arg_t *imgs, int max);

/** If `opt` is one of the shared options, take `val`: 1 when handled, 0 when
 *  `opt` is not one of them, -1 on a bad value (a message on stderr, prefixed
 *  with `cmd`). */
int rf_migration_arg(rf_migration_args_t *m, const char *cmd, const char *opt, const char *val);

/** The flags among the shared options (no value): --allow-http. True when
 *  `opt` is one of them (taken). */
bool rf_migration_flag(rf_migration_args_t *m, const char *opt);

/** The device's rule, mirrored (SELF_REFLASHER_ALLOW_PLAIN_HTTP, off by
 *  default): an http:// source is refused unless its image is pinned by
 *  #sha256= or --allow-http was given. False, with one line per refused
 *  image on stderr prefixed with `cmd`. Runs before anything is fetched. */
bool rf_migration_check_http(const rf_migration_args_t *m, const char *cmd);
