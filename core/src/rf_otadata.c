/* ESP-IDF otadata entries (see rf_otadata.h). */
#include "rf_otadata.h"

uint32_t rf_otadata_crc(uint32_t ota_seq)
{
    uint8_t b[4];
    rf_put_le32(b, ota_seq);
    return rf_crc32_le(UINT32_MAX, b, sizeof b);
}

void rf_otadata_entry_encode(uint32_t ota_seq, uint32_t ota_state, uint8_t out[RF_OTADATA_ENTRY_LEN])
{
    RF_MEMSET(out, 0xFF, RF_OTADATA_ENTRY_LEN);
    rf_put_le32(out, ota_seq);
    rf_put_le32(out + 24, ota_state);
    rf_put_le32(out + 28, rf_otadata_crc(ota_seq));
}

void rf_otadata_entry_decode(const uint8_t in[RF_OTADATA_ENTRY_LEN], rf_otadata_entry_t *out)
{
    out->ota_seq = rf_le32(in);
    out->ota_state = rf_le32(in + 24);
    out->crc = rf_le32(in + 28);
    out->valid = out->ota_seq != UINT32_MAX && out->crc == rf_otadata_crc(out->ota_seq) &&
                 out->ota_state != RF_OTA_IMG_INVALID && out->ota_state != RF_OTA_IMG_ABORTED;
}
