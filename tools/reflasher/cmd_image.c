/*
 * reflasher image esp-bootloader|esp-app|mcuboot [options] -o FILE
 * Generates well-formed images in the real formats (filler code) for demos
 * and rehearsals. MCUboot images may be signed (ECDSA P-256, mbedTLS) with
 * --sign-key: an ECDSA_SIG TLV and, unless --no-keyhash, a KEYHASH TLV.
 * --gzip also writes FILE.gz (gzip -9): a device fetching FILE.gz, or FILE
 * from a server that answers with the .gz (nginx gzip_static, Content-Encoding:
 * gzip), inflates it on the fly (core/include/rf_inflate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "args.h"
#include "cli.h"
#include "rf_imggen.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: reflasher image esp-bootloader --chip CHIP [--code-size N] [--seed N] -o FILE\n"
            "       reflasher image esp-app --chip CHIP [--name NAME] [--version V] [--code-size N] [--seed N] -o FILE\n"
            "       reflasher image mcuboot --payload N [--slot-size N [--confirm]] [--version A.B.C] [--seed N]\n"
            "                       [--sign-key KEY.pem [--no-keyhash]] -o FILE\n"
            "       any of them with --gzip: also FILE.gz (gzip -9)\n");
    return 2;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2) {
        return usage();
    }
    const char *kind = argv[1], *chip = "esp32", *out = NULL, *name = "demo_app", *version = "1.0.0";
    const char *sign_key = NULL;
    bool keyhash = true;
    uint32_t code = 0, seed = 1, payload = 0, slot = 0;
    bool confirm = false, gzip = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--confirm") == 0) {
            confirm = true;
            continue;
        }
        if (strcmp(a, "--no-keyhash") == 0) {
            keyhash = false;
            continue;
        }
        if (strcmp(a, "--gzip") == 0) {
            gzip = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            return usage();
        }
        bool ok = true;
        if (strcmp(a, "--chip") == 0) {
            chip = v;
        } else if (strcmp(a, "-o") == 0) {
            out = v;
        } else if (strcmp(a, "--name") == 0) {
            name = v;
        } else if (strcmp(a, "--version") == 0) {
            version = v;
        } else if (strcmp(a, "--code-size") == 0) {
            ok = rf_parse_size(v, &code);
        } else if (strcmp(a, "--seed") == 0) {
            ok = rf_parse_size(v, &seed);
        } else if (strcmp(a, "--payload") == 0) {
            ok = rf_parse_size(v, &payload);
        } else if (strcmp(a, "--slot-size") == 0) {
            ok = rf_parse_size(v, &slot);
        } else if (strcmp(a, "--sign-key") == 0) {
            sign_key = v;
        } else {
            ok = false;
        }
        if (!ok) {
            return usage();
        }
    }
    if (out == NULL) {
        return usage();
    }
    uint8_t *img = NULL;
    size_t len = 0;
    if (strcmp(kind, "esp-bootloader") == 0 || strcmp(kind, "esp-app") == 0) {
        rf_esp_gen_t g = { .is_app = strcmp(kind, "esp-app") == 0, .project_name = name, .version = version,
                           .idf_ver = "v5.1.4", .code_size = code ? code : (strcmp(kind, "esp-app") == 0 ? 150000 : 24000),
                           .seed = seed };
        if (!rf_chip_id(chip, &g.chip_id)) {
            fprintf(stderr, "reflasher image: unknown chip '%s'\n", chip);
            return 2;
        }
        len = rf_gen_esp_image(&g, &img);
    } else if (strcmp(kind, "mcuboot") == 0) {
        unsigned maj = 1, min = 0, rev = 0;
        sscanf(version, "%u.%u.%u", &maj, &min, &rev);
        rf_mcuboot_gen_t g = { .payload_size = payload ? payload : 150000, .seed = seed, .ver_major = (uint8_t)maj,
                               .ver_minor = (uint8_t)min, .ver_rev = (uint16_t)rev, .slot_size = slot,
                               .trailer_perm = confirm, .sign_key_pem = sign_key, .sign_keyhash = keyhash };
        len = rf_gen_mcuboot_image(&g, &img);
        if (len == 0) {
            fprintf(stderr, "reflasher image: cannot build that image: %s\n", rf_gen_last_error());
            return 1;
        }
    } else {
        return usage();
    }
    if (len == 0) {
        fprintf(stderr, "reflasher image: cannot build that image (sizes?)\n");
        return 1;
    }
    FILE *f = fopen(out, "wb");
    bool ok = f != NULL && fwrite(img, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0) {
        ok = false;
    }
    char gz_path[4096] = "";
    long gz_len = 0;
    if (ok && gzip) {
        snprintf(gz_path, sizeof gz_path, "%s.gz", out);
        gzFile z = gzopen(gz_path, "wb9");
        ok = z != NULL && gzwrite(z, img, (unsigned)len) == (int)len;
        if (z != NULL && gzclose(z) != Z_OK) {
            ok = false;
        }
        FILE *g = ok ? fopen(gz_path, "rb") : NULL;
        if (g != NULL) {
            fseek(g, 0, SEEK_END);
            gz_len = ftell(g);
            fclose(g);
        }
    }
    free(img);
    if (!ok) {
        fprintf(stderr, "reflasher image: cannot write %s\n", gz_path[0] ? gz_path : out);
        return 1;
    }
    printf("wrote %s: %s, %zu bytes\n", out, kind, len);
    if (gz_path[0]) {
        printf("wrote %s: gzip, %ld bytes\n", gz_path, gz_len);
    }
    return 0;
}
