/* Whole-file reads (see readfile.h). */
#include "readfile.h"
#include <stdio.h>
#include <stdlib.h>

uint8_t *rf_cli_read_file(const char *who, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    uint8_t *buf = NULL;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0) {
        n = ftell(f);
        rewind(f);
    }
    if (n > 0 && n <= 0x4000000L) {
        buf = malloc((size_t)n);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if (buf == NULL) {
        fprintf(stderr, "%s: cannot read %s (missing, empty or larger than 64 MiB)\n", who, path);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}
