/* Whole-file reads for the reflasher subcommands. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/** The whole file (at most 64 MiB, not empty), malloc'd; NULL when it
 *  cannot be read (a message on stderr, prefixed with `who`). */
uint8_t *rf_cli_read_file(const char *who, const char *path, size_t *len);
