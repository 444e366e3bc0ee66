/*
 * Signature checks of MCUboot images through the seed API, on a simulated
 * ESP32 made from the reference download example's partition table
 * (../shared/seeds), with images served over real HTTP on 127.0.0.1.
 *
 * Keys are made with the system `openssl` (skipped without it); images are
 * made and signed by the project's generator (rf_gen_mcuboot_image with
 * sign_key_pem: ECDSA P-256 over mbedTLS). The right key lets the image
 * through; a wrong key, no signature or a damaged signature refuses it
 * before any destination byte is written, and the staged copy is erased
 * again: the whole flash stays byte-for-byte as it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "http_server.h"
#include "rf_device.h"
#include "rf_image.h"
#include "rf_imggen.h"
#include "rf_sig.h"
#include "self_reflasher_platform.h"
#include "esp_image_format.h"
#include "testlib.h"

#define FLASH_4MB (4u << 20)
#define SLOT 0x100000u
#define OTA0 0x110000u   /* destination: the MCUboot secondary slot of the example */
#define OTA1 0x210000u   /* staging, chosen by init */
#define PAYLOAD 150000u

typedef struct {
    char dir[256];
    char img[512];
    rf_device_t dev;
    uint8_t *before;
    ths_t srv;
    bool srv_up;
    uint32_t wear[FLASH_4MB / 0x1000];   /* erase count of each sector when the step began */
} fx_t;

/* The resume journal (when the seed API has one: self_reflasher_platform.h
 * defines ESP_SELF_REFLASHER_NO_JOURNAL) lives by default in the last two
 * sectors of the flash, outside every partition of this table. A refused
 * image may leave a record there; nothing else may change. Each refusal is
 * run with the journal as the platform has it, and again with the journal
 * off, when every byte of the flash must stay as it was. */
#ifdef ESP_SELF_REFLASHER_NO_JOURNAL
#define JOURNAL_AT (FLASH_4MB - 0x2000u)
#define JOURNAL_LEN 0x2000u
#else
#define JOURNAL_AT FLASH_4MB
#define JOURNAL_LEN 0u
#endif

static void set_journal(fx_t *fx, bool on)
{
#ifdef ESP_SELF_REFLASHER_NO_JOURNAL
    fx->dev.platform.journal_addr = on ? 0u : ESP_SELF_REFLASHER_NO_JOURNAL;
#else
    (void)fx;
    (void)on;
#endif
}

/* ---- keys (openssl CLI), made once per run ------------------------------ */

static char g_keys[256];
static uint8_t *g_pub_a, *g_pub_b;
static size_t g_pub_a_len, g_pub_b_len;

static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fail_msg("command failed: %s", cmd);
    }
}

static const char *key_path(const char *name)
{
    static char p[2][400];
    static int i;
    i ^= 1;
    snprintf(p[i], sizeof p[i], "%s/%s", g_keys, name);
    return p[i];
}

/* Two EC P-256 key pairs A and B; the public keys as PEM. */
static void need_keys(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        tl_skip("openssl is not available");
    }
    if (g_pub_a != NULL) {
        return;
    }
    snprintf(g_keys, sizeof g_keys, "%s", tl_tmpdir());
    run("cd %s && openssl ecparam -name prime256v1 -genkey -noout -out a.pem 2>/dev/null"
        " && openssl ec -in a.pem -pubout -out a.pub.pem 2>/dev/null"
        " && openssl ecparam -name prime256v1 -genkey -noout -out b.pem 2>/dev/null"
        " && openssl ec -in b.pem -pubout -out b.pub.pem 2>/dev/null",
        g_keys);
    g_pub_a = tl_read_file(key_path("a.pub.pem"), &g_pub_a_len);
    g_pub_b = tl_read_file(key_path("b.pub.pem"), &g_pub_b_len);
    assert_non_null(g_pub_a);
    assert_non_null(g_pub_b);
}

/* A confirmed MCUboot image padded to the 1 MiB slot; signed with `key`
 * (a private key file in g_keys) unless NULL. */
static uint8_t *make_image(const char *key, bool keyhash, uint32_t seed, size_t *len)
{
    rf_mcuboot_gen_t g = { .payload_size = PAYLOAD, .seed = seed, .ver_major = 1, .ver_minor = 2, .ver_rev = 3,
                           .slot_size = SLOT, .trailer_perm = true,
                           .sign_key_pem = key ? key_path(key) : NULL, .sign_keyhash = keyhash };
    uint8_t *b = NULL;
    *len = rf_gen_mcuboot_image(&g, &b);
    if (*len == 0) {
        fail_msg("rf_gen_mcuboot_image: %s", rf_gen_last_error());
    }
    assert_int_equal(*len, SLOT);
    return b;
}

/* Offset and length of the ECDSA_SIG TLV's value, from the core's inspector. */
static uint32_t sig_offset(const uint8_t *img, size_t len, uint16_t *sig_len)
{
    static uint8_t scratch[8192];
    rf_reader_t r;
    rf_reader_buf_t m;
    assert_int_equal(rf_reader_from_buffer(&r, &m, img, len), ESP_OK);
    rf_mcuboot_info_t *info = malloc(sizeof *info);
    assert_non_null(info);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, NULL, scratch, sizeof scratch, info), ESP_OK);
    assert_int_equal(info->sig_type, RF_TLV_ECDSA_SIG);
    uint32_t off = info->sig_offset;
    *sig_len = info->sig_len;
    free(info);
    return off;
}

/* ---- the simulated device (the pattern of test_seed_api.c) -------------- */

static void make_device(fx_t *fx)
{
    snprintf(fx->dir, sizeof fx->dir, "%s", tl_tmpdir());
    snprintf(fx->img, sizeof fx->img, "%s/dev.img", fx->dir);
    if (tl_shared_dir() == NULL) {
        tl_skip("../shared is not available");
    }
    rf_device_spec_t spec = { .chip = "esp32", .flash_size = FLASH_4MB,
                              .partitions_csv = tl_shared_path("seeds/boot_swap_download_example-partitions.csv"),
                              .running = "factory" };
    char err[256];
    assert_int_equal(rf_device_create(fx->img, &spec, err, sizeof err), ESP_OK);
    assert_int_equal(rf_device_open(fx->img, &fx->dev, err, sizeof err), ESP_OK);
    fx->dev.quiet = getenv("RF_VERBOSE") == NULL;
    /* An old system: the bootloader area, the running factory app, and an
     * old app in the destination slot (ota_0), so that a stray erase or
     * program there shows. The staging partition (ota_1) is blank. */
    uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = 0x1000; a < 0x8000; a++) {
        d[a] = (uint8_t)(a * 7 + 3);
    }
    for (uint32_t a = 0x10000; a < OTA0 + SLOT; a++) {
        d[a] = (uint8_t)(a * 13 + 1);
    }
    fx->before = malloc(FLASH_4MB);
    assert_non_null(fx->before);
    memcpy(fx->before, d, FLASH_4MB);
    assert_int_equal(nor_sim_config(fx->dev.sim)->sector_size, 0x1000);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(fx_t));
    return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv_up) {
        ths_stop(&fx->srv);
    }
    rf_device_close(&fx->dev);
    free(fx->before);
    free(fx);
    return 0;
}

/* Every byte of the flash as it was (but the journal's sectors, unless strict). */
static void assert_flash_unchanged_but_journal(fx_t *fx, bool strict)
{
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    for (uint32_t a = 0; a < FLASH_4MB; a++) {
        if (!strict && a >= JOURNAL_AT && a < JOURNAL_AT + JOURNAL_LEN) {
            continue;
        }
        if (d[a] != fx->before[a]) {
            fail_msg("byte 0x%06x changed: 0x%02x -> 0x%02x", a, fx->before[a], d[a]);
        }
    }
}

/* Start a step: counters zeroed, every sector's erase count noted; the
 * journal on or off. */
static void begin(fx_t *fx, bool journal)
{
    set_journal(fx, journal);
    nor_sim_reset_counters(fx->dev.sim);
    for (uint32_t i = 0; i < FLASH_4MB / 0x1000; i++) {
        fx->wear[i] = nor_sim_sector_erase_count(fx->dev.sim, i);
    }
}

/* After a refused step: no sector was erased but in the staging partition
 * (and the journal, when on), so none of the destination; the flash is as it
 * was (every byte with the journal off; all but the journal's sectors with it
 * on). The destination holds an old app (not blank), so a program there
 * would show as well. */
static void assert_refused_clean(fx_t *fx, bool journal)
{
    for (uint32_t i = 0; i < FLASH_4MB / 0x1000; i++) {
        uint32_t a = i * 0x1000;
        bool may = (a >= OTA1 && a < OTA1 + SLOT) || (journal && a >= JOURNAL_AT && a < JOURNAL_AT + JOURNAL_LEN);
        if (!may && nor_sim_sector_erase_count(fx->dev.sim, i) != fx->wear[i]) {
            fail_msg("sector 0x%06x was erased", a);
        }
    }
    assert_flash_unchanged_but_journal(fx, !journal || JOURNAL_LEN == 0);
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Serve `name` = img from a fresh directory. */
static void serve(fx_t *fx, const char *name, const uint8_t *img, size_t len)
{
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", fx->dir);
    assert_int_equal(mkdir(www, 0755), 0);
    snprintf(path, sizeof path, "%s/%s", www, name);
    write_file(path, img, len);
    assert_int_equal(ths_start(www, NULL, &fx->srv), 0);
    fx->srv_up = true;
}

static esp_self_reflasher_verify_t with_key(const uint8_t *pub, size_t len)
{
    esp_self_reflasher_verify_t v = { .pubkey = pub, .pubkey_len = len };
    return v;
}

/* init + download_bin must refuse `name` with `want`; copy_to_region then
 * has nothing to copy; no destination sector was erased and the whole flash
 * is as it was (the staged copy was written, then erased). */
static void expect_refused_once(fx_t *fx, const char *name, const esp_self_reflasher_verify_t *v, esp_err_t want,
                                bool journal)
{
    char url[512];
    ths_url(&fx->srv, name, url, sizeof url);
    esp_http_client_config_t http = { .url = url };
    esp_self_reflasher_config_t cfg = { .http_config = &http, .verify = v,
                                        .dest_region = { .region_address = OTA0, .region_size = SLOT } };
    esp_self_reflasher_handle_t h = NULL;
    begin(fx, journal);
    assert_int_equal(esp_self_reflasher_init_with(rf_device_get_platform(&fx->dev), &cfg, &h), ESP_OK);
    esp_err_t err = esp_self_reflasher_download_bin(h);
    if (err != want) {
        fail_msg("%s: got %s, want %s", name, esp_err_to_name(err), esp_err_to_name(want));
    }
    assert_int_equal(esp_self_reflasher_copy_to_region(h), ESP_ERR_INVALID_STATE);
    esp_self_reflasher_deinit(h);
    /* the image did reach the staging partition before it was checked ... */
    assert_true(nor_sim_counters(fx->dev.sim)->bytes_programmed >= PAYLOAD);
    /* ... and never the destination; the staged copy is erased again */
    assert_refused_clean(fx, journal);
}

static void expect_refused(fx_t *fx, const char *name, const esp_self_reflasher_verify_t *v, esp_err_t want)
{
    expect_refused_once(fx, name, v, want, true);
    if (JOURNAL_LEN != 0) {
        /* what the journal holds now is the new normal; the strict run must not change a byte */
        memcpy(fx->before + JOURNAL_AT, nor_sim_data(fx->dev.sim) + JOURNAL_AT, JOURNAL_LEN);
        expect_refused_once(fx, name, v, want, false);
    }
    set_journal(fx, true);
}

static esp_err_t download_and_copy(fx_t *fx, const char *name, const esp_self_reflasher_verify_t *v)
{
    char url[512];
    ths_url(&fx->srv, name, url, sizeof url);
    return tl_seed_download(rf_device_get_platform(&fx->dev), url, NULL, v, OTA0, SLOT, 0);
}

/* ---- the generator's signed images -------------------------------------- */

/* The generator's TLVs: SHA-256, KEYHASH of A's public key, ECDSA_SIG that
 * verifies with A (core verifier) and, independently, with openssl. */
static void test_generator_signs(void **state)
{
    (void)state;
    need_keys();
    size_t len;
    uint8_t *img = make_image("a.pem", true, 11, &len);
    static uint8_t scratch[8192];
    rf_reader_t r;
    rf_reader_buf_t m;
    assert_int_equal(rf_reader_from_buffer(&r, &m, img, len), ESP_OK);
    rf_sig_key_t ka, kb;
    assert_int_equal(rf_sig_load_key(g_pub_a, g_pub_a_len, &ka), ESP_OK);
    assert_int_equal(rf_sig_load_key(g_pub_b, g_pub_b_len, &kb), ESP_OK);
    rf_mcuboot_info_t *info = malloc(sizeof *info);
    assert_non_null(info);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, &ka, scratch, sizeof scratch, info), ESP_OK);
    assert_int_equal(info->sig_type, RF_TLV_ECDSA_SIG);
    assert_int_equal(info->sig_state, RF_SIG_STATE_OK);
    assert_int_equal(info->keyhash_state, RF_KEYHASH_MATCH);
    assert_int_equal(info->swap_request, RF_SWAP_REQ_PERM);
    /* TLV order: SHA-256, KEYHASH, ECDSA_SIG; the unprotected total covers them */
    assert_int_equal(info->tlvs_listed, 4);
    assert_int_equal(info->tlvs[1].type, RF_TLV_SHA256);
    assert_int_equal(info->tlvs[2].type, RF_TLV_KEYHASH);
    assert_int_equal(info->tlvs[3].type, RF_TLV_ECDSA_SIG);
    assert_int_equal(info->image_end, info->tlvs[3].offset + info->tlvs[3].len);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, &kb, scratch, sizeof scratch, info), ESP_ERR_IMAGE_INVALID);
    assert_int_equal(info->sig_state, RF_SIG_STATE_BAD);
    assert_int_equal(info->keyhash_state, RF_KEYHASH_MISMATCH);
    /* openssl agrees: the signature is over the SHA-256 TLV's value */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", tl_tmpdir());
    char p_hash[400], p_sig[400];
    snprintf(p_hash, sizeof p_hash, "%s/hash.bin", dir);
    snprintf(p_sig, sizeof p_sig, "%s/sig.der", dir);
    write_file(p_hash, img + info->tlvs[1].offset, 32);
    write_file(p_sig, img + info->sig_offset, info->sig_len);
    run("openssl pkeyutl -verify -pubin -inkey %s -in %s -sigfile %s >/dev/null 2>&1", key_path("a.pub.pem"), p_hash,
        p_sig);
    /* without KEYHASH: SHA-256 then ECDSA_SIG, the same hashed part */
    size_t len2;
    uint8_t *img2 = make_image("a.pem", false, 11, &len2);
    assert_int_equal(rf_reader_from_buffer(&r, &m, img2, len2), ESP_OK);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, &ka, scratch, sizeof scratch, info), ESP_OK);
    assert_int_equal(info->tlvs_listed, 3);
    assert_int_equal(info->tlvs[2].type, RF_TLV_ECDSA_SIG);
    assert_int_equal(info->keyhash_state, RF_KEYHASH_ABSENT);
    assert_memory_equal(img, img2, info->tlv_off);
    /* unsigned output is unchanged by the new fields (zero) */
    size_t len3;
    uint8_t *img3 = make_image(NULL, true, 11, &len3);
    assert_int_equal(rf_reader_from_buffer(&r, &m, img3, len3), ESP_OK);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, NULL, scratch, sizeof scratch, info), ESP_OK);
    assert_int_equal(info->tlvs_listed, 2);
    assert_int_equal(info->sig_state, RF_SIG_STATE_ABSENT);
    assert_memory_equal(img, img3, info->tlv_off);
    /* a key the generator cannot sign with: a public key, a missing file */
    rf_mcuboot_gen_t g = { .payload_size = 100, .sign_key_pem = key_path("a.pub.pem") };
    uint8_t *none = NULL;
    assert_int_equal(rf_gen_mcuboot_image(&g, &none), 0);
    assert_true(strlen(rf_gen_last_error()) > 0);
    g.sign_key_pem = key_path("missing.pem");
    assert_int_equal(rf_gen_mcuboot_image(&g, &none), 0);
    assert_null(none);
    free(info);
    free(img);
    free(img2);
    free(img3);
}

/* ---- download mode ------------------------------------------------------- */

/* Signed with A, verified with A: through, the slot holds the image. */
static void test_signed_right_key(void **state)
{
    fx_t *fx = *state;
    need_keys();
    make_device(fx);
    size_t len;
    uint8_t *img = make_image("a.pem", true, 21, &len);
    serve(fx, "app_a.bin", img, len);
    esp_self_reflasher_verify_t v = with_key(g_pub_a, g_pub_a_len);
    assert_int_equal(download_and_copy(fx, "/app_a.bin", &v), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->dev.sim) + OTA0, img, SLOT);
    /* nothing else changed but the slot and the staging partition */
    const uint8_t *d = nor_sim_data(fx->dev.sim);
    assert_memory_equal(d, fx->before, OTA0);
    assert_memory_equal(d + OTA1 + SLOT, fx->before + OTA1 + SLOT, JOURNAL_AT - OTA1 - SLOT);
    free(img);
}

/* Signed with A, verified with B: refused at download_bin, nothing written. */
static void test_signed_wrong_key(void **state)
{
    fx_t *fx = *state;
    need_keys();
    make_device(fx);
    size_t len;
    uint8_t *img = make_image("a.pem", true, 22, &len);
    serve(fx, "app_a.bin", img, len);
    esp_self_reflasher_verify_t vb = with_key(g_pub_b, g_pub_b_len);
    expect_refused(fx, "/app_a.bin", &vb, ESP_ERR_IMAGE_INVALID);
    /* the same image then passes with the right key */
    esp_self_reflasher_verify_t va = with_key(g_pub_a, g_pub_a_len);
    assert_int_equal(download_and_copy(fx, "/app_a.bin", &va), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->dev.sim) + OTA0, img, SLOT);
    free(img);
}

/* No signature, but a key is given: refused. Without a key it would pass. */
static void test_unsigned_refused(void **state)
{
    fx_t *fx = *state;
    need_keys();
    make_device(fx);
    size_t len;
    uint8_t *img = make_image(NULL, false, 23, &len);
    serve(fx, "app_unsigned.bin", img, len);
    esp_self_reflasher_verify_t va = with_key(g_pub_a, g_pub_a_len);
    expect_refused(fx, "/app_unsigned.bin", &va, ESP_ERR_IMAGE_INVALID);
    assert_int_equal(download_and_copy(fx, "/app_unsigned.bin", NULL), ESP_OK);
    assert_memory_equal(nor_sim_data(fx->dev.sim) + OTA0, img, SLOT);
    free(img);
}

/* One flipped byte in the signature (in r, in s, and its last byte): refused. */
static void test_flipped_signature_refused(void **state)
{
    fx_t *fx = *state;
    need_keys();
    make_device(fx);
    size_t len;
    uint8_t *img = make_image("a.pem", true, 24, &len);
    uint16_t sl;
    uint32_t so = sig_offset(img, len, &sl);
    assert_true(sl >= 68 && sl <= 72 && img[so] == 0x30);
    char www[300], path[400];
    snprintf(www, sizeof www, "%s/www", fx->dir);
    assert_int_equal(mkdir(www, 0755), 0);
    const uint32_t at[3] = { so + 10, so + sl - 20, so + sl - 1 };
    for (int i = 0; i < 3; i++) {
        img[at[i]] ^= 0x01;
        snprintf(path, sizeof path, "%s/flip%d.bin", www, i);
        write_file(path, img, len);
        img[at[i]] ^= 0x01;
    }
    assert_int_equal(ths_start(www, NULL, &fx->srv), 0);
    fx->srv_up = true;
    esp_self_reflasher_verify_t va = with_key(g_pub_a, g_pub_a_len);
    expect_refused(fx, "/flip0.bin", &va, ESP_ERR_IMAGE_INVALID);
    expect_refused(fx, "/flip1.bin", &va, ESP_ERR_IMAGE_INVALID);
    expect_refused(fx, "/flip2.bin", &va, ESP_ERR_IMAGE_INVALID);
    free(img);
}

/* ---- signature encodings (no device) -------------------------------------- */

/* The generator's DER signature over the image's SHA-256 with key A. */
static void signed_hash(uint32_t seed, uint8_t hash[32], uint8_t sig[80], size_t *sig_len)
{
    size_t len;
    uint8_t *img = make_image("a.pem", false, seed, &len);
    static uint8_t scratch[8192];
    rf_reader_t r;
    rf_reader_buf_t m;
    assert_int_equal(rf_reader_from_buffer(&r, &m, img, len), ESP_OK);
    rf_mcuboot_info_t *info = malloc(sizeof *info);
    assert_non_null(info);
    assert_int_equal(rf_mcuboot_inspect(&r, SLOT, NULL, scratch, sizeof scratch, info), ESP_OK);
    assert_int_equal(info->tlvs[1].type, RF_TLV_SHA256);
    memcpy(hash, img + info->tlvs[1].offset, 32);
    assert_true(info->sig_len >= 8 && info->sig_len <= 72);
    memcpy(sig, img + info->sig_offset, info->sig_len);
    *sig_len = info->sig_len;
    free(info);
    free(img);
}

/* SEQUENCE { INTEGER r, INTEGER s } from the contents of r and s (as given,
 * sign byte included), with the encoding faults asked for. */
typedef struct {
    bool seq_long;      /* SEQUENCE length in long form (0x81 LL) */
    bool r_long;        /* r's length in long form */
    bool r_zero;        /* one more leading zero in r */
    bool extra_inside;  /* one more byte inside the SEQUENCE, after s */
} der_faults_t;

static size_t build_der(uint8_t *out, const uint8_t *r, size_t rl, const uint8_t *s, size_t sl, der_faults_t f)
{
    uint8_t body[80];
    size_t n = 0;
    body[n++] = 0x02;
    if (f.r_long) {
        body[n++] = 0x81;
    }
    body[n++] = (uint8_t)(rl + f.r_zero);
    if (f.r_zero) {
        body[n++] = 0;
    }
    memcpy(body + n, r, rl);
    n += rl;
    body[n++] = 0x02;
    body[n++] = (uint8_t)sl;
    memcpy(body + n, s, sl);
    n += sl;
    if (f.extra_inside) {
        body[n++] = 0x00;
    }
    size_t k = 0;
    out[k++] = 0x30;
    if (f.seq_long) {
        out[k++] = 0x81;
    }
    out[k++] = (uint8_t)n;
    memcpy(out + k, body, n);
    return k + n;
}

/* ECDSA: only strict DER verifies (plus imgtool's zero padding up to 72
 * bytes); every lax encoding of the same valid (r, s) is refused. */
static void test_ecdsa_strict_der(void **state)
{
    (void)state;
    need_keys();
    rf_sig_key_t ka;
    assert_int_equal(rf_sig_load_key(g_pub_a, g_pub_a_len, &ka), ESP_OK);
    uint8_t hash[32], sig[80];
    size_t sl = 0;
    signed_hash(41, hash, sig, &sl);
    const uint8_t *r = sig + 4, *s = sig + 4 + sig[3] + 2;
    size_t rl = sig[3], sn = s[-1];
    assert_int_equal(sig[2], 0x02);
    assert_int_equal(2 + 2 + rl + 2 + sn, sl);

    /* accepted: the DER as made, and zero-padded to 72 bytes as imgtool --pad-sig does */
    uint8_t v[96];
    der_faults_t none = { 0 };
    size_t n = build_der(v, r, rl, s, sn, none);
    assert_int_equal(n, sl);
    assert_memory_equal(v, sig, sl);
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, sig, sl), ESP_OK);
    memset(v, 0, sizeof v);
    memcpy(v, sig, sl);
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, v, 72), ESP_OK);

    /* refused: padding past 72 bytes, a non-zero byte after the DER */
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, v, 80), ESP_ERR_INVALID_CRC);
    v[sl] = 0x01;
    assert_int_equal(rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, v, 72), ESP_ERR_INVALID_CRC);

    /* refused: long-form lengths, a superfluous leading zero, extra bytes inside */
    static const struct {
        const char *what;
        der_faults_t f;
    } cases[] = {
        { "long-form SEQUENCE length", { .seq_long = true } },
        { "long-form INTEGER length", { .r_long = true } },
        { "leading zero in r", { .r_zero = true } },
        { "extra byte after s", { .extra_inside = true } },
        { "long forms and a leading zero", { .seq_long = true, .r_long = true, .r_zero = true } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(v, 0, sizeof v);
        n = build_der(v, r, rl, s, sn, cases[i].f);
        esp_err_t e = rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, v, n);
        if (e != ESP_ERR_INVALID_CRC) {
            fail_msg("%s: %s, want ESP_ERR_INVALID_CRC", cases[i].what, esp_err_to_name(e));
        }
        /* padded to 72 with zeros changes nothing */
        if (n < 72) {
            e = rf_sig_verify_key(&ka, RF_SIG_ECDSA_P256, hash, v, 72);
            if (e != ESP_ERR_INVALID_CRC) {
                fail_msg("%s, padded: %s, want ESP_ERR_INVALID_CRC", cases[i].what, esp_err_to_name(e));
            }
        }
    }
}

static void hex32(const char *h, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned b = 0;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &b), 1);
        out[i] = (uint8_t)b;
    }
}

/* Ed25519: keys of small order are refused at load (raw and SPKI), and the
 * classic forgery with one (R = identity, S = 0 "verifies" any message in a
 * naive verifier) does not verify; RFC 8032's test 1 still does. */
static void test_ed25519_small_order_keys(void **state)
{
    (void)state;
    static const char *const small_order[] = {
        "0100000000000000000000000000000000000000000000000000000000000000",   /* identity */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   /* order 2 */
        "0000000000000000000000000000000000000000000000000000000000000000",   /* order 4 */
        "0000000000000000000000000000000000000000000000000000000000000080",   /* order 4 */
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",   /* order 8 */
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",   /* order 8 */
    };
    static const uint8_t spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
    uint8_t hash[32];
    for (int i = 0; i < 32; i++) {
        hash[i] = (uint8_t)(i * 11 + 5);
    }
    for (size_t i = 0; i < sizeof small_order / sizeof small_order[0]; i++) {
        uint8_t pub[32], spki[44];
        hex32(small_order[i], pub);
        rf_sig_key_t k;
        esp_err_t e = rf_sig_load_key(pub, 32, &k);
        if (e != ESP_ERR_INVALID_ARG) {
            fail_msg("small-order key %s loaded raw: %s", small_order[i], esp_err_to_name(e));
        }
        memcpy(spki, spki_prefix, sizeof spki_prefix);
        memcpy(spki + sizeof spki_prefix, pub, 32);
        e = rf_sig_load_key(spki, sizeof spki, &k);
        if (e != ESP_ERR_INVALID_ARG) {
            fail_msg("small-order key %s loaded as SPKI: %s", small_order[i], esp_err_to_name(e));
        }
    }
    /* the forgery: R = identity, S = 0, for the identity key */
    uint8_t id_key[32], forged[64] = { 0 };
    hex32(small_order[0], id_key);
    memcpy(forged, id_key, 32);
    assert_int_equal(rf_ed25519_verify(id_key, hash, 32, forged), ESP_ERR_INVALID_CRC);
    assert_int_equal(rf_sig_verify(RF_SIG_ED25519, id_key, 32, hash, forged, 64), ESP_ERR_INVALID_ARG);

    /* RFC 8032 7.1 test 1 (empty message) */
    uint8_t pub[32], sig[64];
    hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub);
    hex32("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155", sig);
    hex32("5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", sig + 32);
    rf_sig_key_t k;
    assert_int_equal(rf_sig_load_key(pub, 32, &k), ESP_OK);
    assert_int_equal(rf_ed25519_verify(pub, NULL, 0, sig), ESP_OK);
    sig[63] ^= 0x10;   /* S + 2^252 or so: S >= L, non-canonical */
    assert_int_equal(rf_ed25519_verify(pub, NULL, 0, sig), ESP_ERR_INVALID_CRC);
}

/* ---- embedded mode -------------------------------------------------------- */

/* The signed image lies in flash (ota_1); a wrong key and an unsigned image
 * are refused before the destination is touched; the right key copies it. */
static void test_embedded_wrong_key(void **state)
{
    fx_t *fx = *state;
    need_keys();
    make_device(fx);
    size_t len, ulen;
    uint8_t *img = make_image("a.pem", true, 25, &len);
    uint8_t *uimg = make_image(NULL, false, 26, &ulen);
    const esp_self_reflasher_platform_t *pf = rf_device_get_platform(&fx->dev);
    uint8_t *d = nor_sim_data(fx->dev.sim);
    memcpy(d + OTA1, img, len);
    memcpy(fx->before + OTA1, img, len);
    esp_self_reflasher_verify_t vb = with_key(g_pub_b, g_pub_b_len), va = with_key(g_pub_a, g_pub_a_len);
    esp_self_reflasher_config_t cfg = { .src_region = { .region_address = OTA1, .region_size = SLOT },
                                        .src_bin_size = SLOT, .verify = &vb,
                                        .dest_region = { .region_address = OTA0, .region_size = SLOT } };
    for (int journal = 1; journal >= 0; journal--) {
        begin(fx, journal);
        assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &cfg), ESP_ERR_IMAGE_INVALID);
        assert_refused_clean(fx, journal);
        /* nothing to stage in embedded mode: checked before any write at all */
        assert_int_equal(nor_sim_counters(fx->dev.sim)->bytes_programmed +
                         nor_sim_counters(fx->dev.sim)->bytes_erased, 0);
    }
    /* an unsigned image with key A */
    memcpy(d + OTA1, uimg, ulen);
    memcpy(fx->before + OTA1, uimg, ulen);
    cfg.verify = &va;
    for (int journal = 1; journal >= 0; journal--) {
        begin(fx, journal);
        assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &cfg), ESP_ERR_IMAGE_INVALID);
        assert_refused_clean(fx, journal);
        assert_int_equal(nor_sim_counters(fx->dev.sim)->bytes_programmed +
                         nor_sim_counters(fx->dev.sim)->bytes_erased, 0);
    }
    set_journal(fx, true);
    /* the signed image with key A: copied */
    memcpy(d + OTA1, img, len);
    assert_int_equal(esp_self_reflasher_directly_copy_to_region_with(pf, &cfg), ESP_OK);
    assert_memory_equal(d + OTA0, img, SLOT);
    assert_memory_equal(d + OTA1, img, SLOT);   /* the source is left as it was */
    free(img);
    free(uimg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_signs),
        cmocka_unit_test_setup_teardown(test_signed_right_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_signature_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_embedded_wrong_key, setup, teardown),
        cmocka_unit_test(test_ecdsa_strict_der),
        cmocka_unit_test(test_ed25519_small_order_keys),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_pub_a);
    free(g_pub_b);
    return tl_exit(rc);
}
