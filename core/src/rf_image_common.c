/* Readers and result strings shared by the image inspectors (rf_image.h). */
#include "rf_image.h"

static esp_err_t buf_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_reader_buf_t *b = arg;
    if ((uint64_t)off + len > b->len) {
        return ESP_ERR_INVALID_SIZE;
    }
    RF_MEMCPY(buf, b->data + off, len);
    return ESP_OK;
}

static esp_err_t flash_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const rf_reader_flash_t *f = arg;
    return rf_flash_read(f->flash, f->base + off, buf, len);
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
    r->read = flash_read;
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

esp_err_t rf_reader_sha256(const rf_reader_t *r, uint32_t off, uint32_t len, uint8_t *scratch, size_t scratch_len,
                           uint8_t digest[RF_SHA256_LEN])
{
    if (r == NULL || scratch == NULL || scratch_len == 0 || digest == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if ((uint64_t)off + len > r->size) {
        return ESP_ERR_INVALID_SIZE;
    }
    uint32_t chunk_max = scratch_len > 0x10000u ? 0x10000u : (uint32_t)scratch_len;
    rf_sha256_ctx_t sha;
    rf_sha256_start(&sha);
    uint32_t done = 0;
    while (done < len) {
        uint32_t n = RF_MIN(chunk_max, len - done);
        esp_err_t err = rf_reader_read(r, off + done, scratch, n);
        if (err != ESP_OK) {
            rf_sha256_finish(&sha, digest);
            return err;
        }
        rf_sha256_update(&sha, scratch, n);
        done += n;
    }
    rf_sha256_finish(&sha, digest);
    return ESP_OK;
}

const char *rf_img_err_name(rf_img_err_t e)
{
    switch (e) {
    case RF_IMG_OK: return "RF_IMG_OK";
    case RF_IMG_ERR_ARG: return "RF_IMG_ERR_ARG";
    case RF_IMG_ERR_READ: return "RF_IMG_ERR_READ";
    case RF_IMG_ERR_MAGIC: return "RF_IMG_ERR_MAGIC";
    case RF_IMG_ERR_TRUNCATED: return "RF_IMG_ERR_TRUNCATED";
    case RF_IMG_ERR_CHIP_ID: return "RF_IMG_ERR_CHIP_ID";
    case RF_IMG_ERR_SEGMENT_COUNT: return "RF_IMG_ERR_SEGMENT_COUNT";
    case RF_IMG_ERR_SEGMENT_BOUNDS: return "RF_IMG_ERR_SEGMENT_BOUNDS";
    case RF_IMG_ERR_SEGMENT_ALIGN: return "RF_IMG_ERR_SEGMENT_ALIGN";
    case RF_IMG_ERR_CHECKSUM: return "RF_IMG_ERR_CHECKSUM";
    case RF_IMG_ERR_SHA256: return "RF_IMG_ERR_SHA256";
    case RF_IMG_ERR_HEADER: return "RF_IMG_ERR_HEADER";
    case RF_IMG_ERR_TLV_MAGIC: return "RF_IMG_ERR_TLV_MAGIC";
    case RF_IMG_ERR_TLV_BOUNDS: return "RF_IMG_ERR_TLV_BOUNDS";
    case RF_IMG_ERR_TLV_LEN: return "RF_IMG_ERR_TLV_LEN";
    case RF_IMG_ERR_TLV_DUP: return "RF_IMG_ERR_TLV_DUP";
    case RF_IMG_ERR_NO_HASH: return "RF_IMG_ERR_NO_HASH";
    case RF_IMG_ERR_ENCRYPTED: return "RF_IMG_ERR_ENCRYPTED";
    case RF_IMG_ERR_SLOT_SIZE: return "RF_IMG_ERR_SLOT_SIZE";
    case RF_IMG_ERR_TRAILER: return "RF_IMG_ERR_TRAILER";
    case RF_IMG_ERR_UNSIGNED: return "RF_IMG_ERR_UNSIGNED";
    case RF_IMG_ERR_SIGNATURE: return "RF_IMG_ERR_SIGNATURE";
    case RF_IMG_ERR_SIG_UNSUPPORTED: return "RF_IMG_ERR_SIG_UNSUPPORTED";
    case RF_IMG_ERR__COUNT: break;
    }
    return "RF_IMG_ERR_UNKNOWN";
}
