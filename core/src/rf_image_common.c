/* Readers and result strings shared by the image inspectors (rf_image.h). */
#include "rf_image.h"
#include "rf_write.h"

static esp_err_t buf_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_reader_buf_t *b = arg;
    if ((uint64_t)off + len > b->len) {
        return ESP_ERR_INVALID_SIZE;
    }
    RF_MEMCPY(buf, b->data + off, len);
    return ESP_OK;
}

static esp_err_t window_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_reader_window_t *w = arg;
    return rf_reader_read(w->parent, w->off + off, buf, len);
}

esp_err_t rf_reader_from_buffer(rf_reader_t *r, rf_reader_buf_t *ctx, const void *buf, size_t len)
{
    if (r == NULL || ctx == NULL || (buf == NULL && len != 0) || (len >> 16 >> 16) != 0) {
        return ESP_ERR_INVALID_ARG;   /* (two shifts: size_t may be 32 bits) */
    }
    ctx->data = buf;
    ctx->len = (uint32_t)len;
    r->read = buf_read;
    r->arg = ctx;
    r->size = (uint32_t)len;
    return ESP_OK;
}

esp_err_t rf_reader_from_flash(rf_reader_t *r, rf_reader_flash_t *ctx, const rf_flash_t *flash, uint32_t base,
                               uint32_t size)
{
    if (r == NULL || ctx == NULL || flash == NULL || flash->read == NULL ||
        (uint64_t)base + size > flash->size) {
        return ESP_ERR_INVALID_ARG;
    }
    ctx->flash = flash;
    ctx->base = base;
    r->read = rf_flash_reader_read;   /* rf_write.c: the copy loop's reader */
    r->arg = ctx;
    r->size = size;
    return ESP_OK;
}

esp_err_t rf_reader_window(rf_reader_t *r, rf_reader_window_t *ctx, const rf_reader_t *parent, uint32_t off,
                           uint32_t size)
{
    if (r == NULL || ctx == NULL || parent == NULL || (uint64_t)off + size > parent->size) {
        return ESP_ERR_INVALID_ARG;
    }
    ctx->parent = parent;
    ctx->off = off;
    r->read = window_read;
    r->arg = ctx;
    r->size = size;
    return ESP_OK;
}

esp_err_t rf_reader_read(const rf_reader_t *r, uint32_t off, void *buf, uint32_t len)
{
    if (r == NULL || r->read == NULL || (buf == NULL && len != 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    if ((uint64_t)off + len > r->size) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (len == 0) {
        return ESP_OK;
    }
    return r->read(r->arg, off, buf, len);
}

esp_err_t rf_sha256_read(rf_read_fn read, void *arg, uint32_t off, uint32_t len, uint8_t *buf, uint32_t chunk,
                         uint8_t digest[RF_SHA256_LEN])
{
    rf_sha256_ctx_t sha;
    rf_sha256_start(&sha);
    esp_err_t err = ESP_OK;
    for (uint32_t done = 0; done < len && err == ESP_OK;) {
        uint32_t n = RF_MIN(chunk, len - done);
        if ((err = read(arg, off + done, buf, n)) == ESP_OK) {
            rf_sha256_update(&sha, buf, n);
            done += n;
        }
    }
    rf_sha256_finish(&sha, digest);
    return err;
}

esp_err_t rf_reader_sha256(const rf_reader_t *r, uint32_t off, uint32_t len, uint8_t *scratch, size_t scratch_len,
                           uint8_t digest[RF_SHA256_LEN])
{
    if (r == NULL || scratch == NULL || scratch_len == 0 || digest == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if ((uint64_t)off + len > r->size) {
        return ESP_ERR_INVALID_SIZE;
    }
    /* through rf_reader_read (its checks): a window at 0 of the reader */
    rf_reader_window_t whole = { r, 0 };
    return rf_sha256_read(window_read, &whole, off, len, scratch, scratch_len > 0x10000u ? 0x10000u : (uint32_t)scratch_len,
                          digest);
}

/* rf_img_err_str() and rf_img_err_name() are in rf_texts.c. The identifiers
 * are packed in one string, in the enum's order (checked here), instead of a
 * table of pointers to them. */
#define RF_IMG_ERR_ID(err, id, text) id "\0"
static const char k_img_err_ids[] = RF_IMG_ERRORS(RF_IMG_ERR_ID);
#define RF_IMG_ERR_POS(err, id, text) POS_##err,
enum { RF_IMG_ERRORS(RF_IMG_ERR_POS) POS_COUNT };
#define RF_IMG_ERR_ORDER(err, id, text) _Static_assert((int)POS_##err == (int)err, "RF_IMG_ERRORS: not in enum order");
RF_IMG_ERRORS(RF_IMG_ERR_ORDER)
_Static_assert((int)POS_COUNT == (int)RF_IMG_ERR__COUNT, "RF_IMG_ERRORS: an error missing");

const char *rf_img_err_id(rf_img_err_t e)
{
    if ((unsigned)e >= RF_IMG_ERR__COUNT) {
        return "UNKNOWN";
    }
    return rf_nth_str(k_img_err_ids, (unsigned)e);
}
