/*
 * Host emulation of ESP-IDF's flash, partition and OTA subset over a bound
 * simulated device (see idf_emul.h). Each function does what the ESP-IDF API
 * reference documents; the comment above it says which documented points
 * are reproduced (tests: host/compat/check/idf_emul_check.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "esp_flash.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "idf_emul.h"
#include "rf_device.h"
#include "spi_flash_mmap.h"

/* The chip behind esp_flash_default_chip: the bound device's simulator. */
struct esp_flash_t {
    rf_device_t *dev;
};

struct esp_partition_iterator_opaque_ {
    esp_partition_type_t type;
    esp_partition_subtype_t subtype;
    char label[17];
    bool any_label;
    uint32_t next;                  /* index of the next candidate in s_parts */
    const esp_partition_t *current;
};

#define MAX_MAPS 8

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct esp_flash_t s_chip;
esp_flash_t *esp_flash_default_chip;          /* NULL until a device is bound */
static idf_emul_dangerous_write_t s_dangerous = IDF_EMUL_DANGEROUS_WRITE_ABORTS;

/* The partition list, read once per binding (ESP-IDF: once per boot). The
 * entries live as long as the binding, as esp_partition_get() promises
 * pointers valid for the lifetime of the application. */
static esp_partition_t s_parts[RF_PTABLE_MAX_PARTS];
static uint32_t s_nparts;
static bool s_parts_loaded;
static const esp_partition_t *s_running;

static struct {
    const uint8_t *data;
    size_t len;
    uint32_t flash_addr;
} s_maps[MAX_MAPS];
static uint32_t s_nmaps;

void idf_emul_bind(rf_device_t *dev)
{
    pthread_mutex_lock(&s_lock);
    s_chip.dev = dev;
    esp_flash_default_chip = dev ? &s_chip : NULL;
    s_parts_loaded = false;
    s_nparts = 0;
    s_running = NULL;
    s_nmaps = 0;
    pthread_mutex_unlock(&s_lock);
}

rf_device_t *idf_emul_device(void)
{
    return s_chip.dev;
}

void idf_emul_set_dangerous_write(idf_emul_dangerous_write_t policy)
{
    s_dangerous = policy;
}

/* Called with s_lock held. */
static void load_partitions_locked(void)
{
    if (s_parts_loaded || s_chip.dev == NULL) {
        return;
    }
    s_parts_loaded = true;
    rf_ptable_t *t = malloc(sizeof *t);
    if (t == NULL) {
        return;
    }
    /* A table whose MD5 entry does not match is refused, as the app's
     * partition loader refuses it (CONFIG_PARTITION_TABLE_MD5). */
    if (rf_device_ptable(s_chip.dev, t) == ESP_OK) {
        for (uint32_t i = 0; i < t->count && i < RF_PTABLE_MAX_PARTS; i++) {
            const rf_part_t *p = &t->parts[i];
            esp_partition_t *e = &s_parts[s_nparts++];
            memset(e, 0, sizeof *e);
            e->flash_chip = &s_chip;
            e->type = (esp_partition_type_t)p->type;
            e->subtype = (esp_partition_subtype_t)p->subtype;
            e->address = p->offset;
            e->size = p->size;
            e->erase_size = SPI_FLASH_SEC_SIZE;
            memcpy(e->label, p->label, sizeof e->label - 1);
            e->encrypted = (p->flags & RF_PART_FLAG_ENCRYPTED) != 0;
            e->readonly = (p->flags & RF_PART_FLAG_READONLY) != 0;
            if (strcmp(e->label, s_chip.dev->running) == 0 && s_running == NULL) {
                s_running = e;
            }
        }
    }
    free(t);
}

static void ensure_partitions(void)
{
    pthread_mutex_lock(&s_lock);
    load_partitions_locked();
    pthread_mutex_unlock(&s_lock);
}

/* ---- esp_flash ------------------------------------------------------------ */

/* "chip: If NULL, esp_flash_default_chip is substituted. Must have been
 * successfully initialised": an unbound chip answers
 * ESP_ERR_FLASH_NOT_INITIALISED. */
static struct esp_flash_t *chip_of(esp_flash_t *chip)
{
    if (chip == NULL) {
        chip = esp_flash_default_chip;
    }
    return (chip != NULL && chip->dev != NULL && chip->dev->sim != NULL) ? chip : NULL;
}

static uint32_t chip_size(const struct esp_flash_t *c)
{
    return nor_sim_config(c->dev->sim)->size;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return as != 0 && bs != 0 && a < b + bs && b < a + as;
}

/* CONFIG_SPI_FLASH_DANGEROUS_WRITE_*: a write or erase "which lands in the
 * bootloader, partition table, or running application region" (a range
 * starting at or below the end of the partition table, or overlapping the
 * running app partition) aborts (ABORTS), fails with ESP_ERR_INVALID_ARG
 * (FAILS) or goes ahead (ALLOWED). */
static esp_err_t check_dangerous(const struct esp_flash_t *c, uint32_t addr, uint32_t len)
{
    if (s_dangerous == IDF_EMUL_DANGEROUS_WRITE_ALLOWED) {
        return ESP_OK;
    }
    bool unsafe = (uint64_t)addr <= (uint64_t)c->dev->ptable_offset + RF_PTABLE_MAX_LEN;
    const esp_partition_t *run = esp_ota_get_running_partition();
    if (run != NULL && ranges_overlap(addr, len, run->address, run->size)) {
        unsafe = true;
    }
    if (!unsafe) {
        return ESP_OK;
    }
    if (s_dangerous == IDF_EMUL_DANGEROUS_WRITE_ABORTS) {
        abort();
    }
    return ESP_ERR_INVALID_ARG;
}

/* "ESP_ERR_NOT_ALLOWED if the address range overlaps with a read-only
 * partition address space". */
static esp_err_t check_readonly(uint32_t addr, uint32_t len)
{
    ensure_partitions();
    for (uint32_t i = 0; i < s_nparts; i++) {
        if (s_parts[i].readonly && ranges_overlap(addr, len, s_parts[i].address, s_parts[i].size)) {
            return ESP_ERR_NOT_ALLOWED;
        }
    }
    return ESP_OK;
}

/* esp_flash_read: NULL buffer or a range past the end of the chip is
 * ESP_ERR_INVALID_ARG; length 0 reads nothing. No alignment constraints. */
esp_err_t esp_flash_read(esp_flash_t *chip, void *buffer, uint32_t address, uint32_t length)
{
    struct esp_flash_t *c = chip_of(chip);
    if (c == NULL) {
        return ESP_ERR_FLASH_NOT_INITIALISED;
    }
    if (buffer == NULL || (uint64_t)address + length > chip_size(c)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (length == 0) {
        return ESP_OK;
    }
    return nor_sim_read(c->dev->sim, address, buffer, length);
}

/* esp_flash_write: "Must be previously erased (SPI NOR flash can only write
 * bits 1->0)": the simulator ANDs the data into the cells. "There are no
 * alignment constraints on buffer, address or length." Range past the end
 * or NULL buffer: ESP_ERR_INVALID_ARG; then the dangerous-region and
 * read-only-partition checks. */
esp_err_t esp_flash_write(esp_flash_t *chip, const void *buffer, uint32_t address, uint32_t length)
{
    struct esp_flash_t *c = chip_of(chip);
    if (c == NULL) {
        return ESP_ERR_FLASH_NOT_INITIALISED;
    }
    if (buffer == NULL || (uint64_t)address + length > chip_size(c)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (length == 0) {
        return ESP_OK;
    }
    esp_err_t err = check_dangerous(c, address, length);
    if (err == ESP_OK) {
        err = check_readonly(address, length);
    }
    return err != ESP_OK ? err : nor_sim_program(c->dev->sim, address, buffer, length);
}

/* esp_flash_erase_region: "start: Must be sector aligned. len: Must also be
 * sector aligned. ESP_ERR_INVALID_ARG will be returned if the start & length
 * are not a multiple of this size." "Erase is performed using block
 * (multi-sector) erases where possible (... typically 65536 bytes).
 * Remaining sectors are erased using individual sector erase commands" (the
 * simulator does exactly that). A range past the end: ESP_ERR_INVALID_ARG. */
esp_err_t esp_flash_erase_region(esp_flash_t *chip, uint32_t start, uint32_t len)
{
    struct esp_flash_t *c = chip_of(chip);
    if (c == NULL) {
        return ESP_ERR_FLASH_NOT_INITIALISED;
    }
    uint32_t sector = nor_sim_config(c->dev->sim)->sector_size;
    if (start % sector != 0 || len % sector != 0 || (uint64_t)start + len > chip_size(c)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (len == 0) {
        return ESP_OK;
    }
    esp_err_t err = check_dangerous(c, start, len);
    if (err == ESP_OK) {
        err = check_readonly(start, len);
    }
    return err != ESP_OK ? err : nor_sim_erase(c->dev->sim, start, len);
}

/* esp_flash_get_size: the chip's size in bytes; NULL out_size is
 * ESP_ERR_INVALID_ARG. */
esp_err_t esp_flash_get_size(esp_flash_t *chip, uint32_t *out_size)
{
    struct esp_flash_t *c = chip_of(chip);
    if (c == NULL) {
        return ESP_ERR_FLASH_NOT_INITIALISED;
    }
    if (out_size == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    *out_size = chip_size(c);
    return ESP_OK;
}

/* ---- esp_partition -------------------------------------------------------- */

static bool matches(const esp_partition_iterator_t it, const esp_partition_t *p)
{
    if (it->type != ESP_PARTITION_TYPE_ANY && p->type != it->type) {
        return false;
    }
    if (it->subtype != ESP_PARTITION_SUBTYPE_ANY && p->subtype != it->subtype) {
        return false;
    }
    return it->any_label || strcmp(p->label, it->label) == 0;
}

/* Advance to the next match; false when there is none. */
static bool advance(esp_partition_iterator_t it)
{
    while (it->next < s_nparts) {
        const esp_partition_t *p = &s_parts[it->next++];
        if (matches(it, p)) {
            it->current = p;
            return true;
        }
    }
    it->current = NULL;
    return false;
}

/* esp_partition_find: an iterator over the partitions of this type (ANY: all
 * types), subtype (ANY: all subtypes) and, when label is not NULL, label, in
 * partition-table order; NULL when none matches. The iterator must be
 * released with esp_partition_iterator_release(). */
esp_partition_iterator_t esp_partition_find(esp_partition_type_t type, esp_partition_subtype_t subtype,
                                            const char *label)
{
    ensure_partitions();
    esp_partition_iterator_t it = calloc(1, sizeof *it);
    if (it == NULL) {
        return NULL;
    }
    it->type = type;
    it->subtype = subtype;
    it->any_label = label == NULL;
    if (label != NULL) {
        strncpy(it->label, label, sizeof it->label - 1);
    }
    if (!advance(it)) {
        free(it);
        return NULL;
    }
    return it;
}

/* esp_partition_find_first: the first match or NULL (no iterator to release). */
const esp_partition_t *esp_partition_find_first(esp_partition_type_t type, esp_partition_subtype_t subtype,
                                                const char *label)
{
    esp_partition_iterator_t it = esp_partition_find(type, subtype, label);
    if (it == NULL) {
        return NULL;
    }
    const esp_partition_t *p = esp_partition_get(it);
    esp_partition_iterator_release(it);
    return p;
}

/* esp_partition_get: the partition the iterator is at; the pointer stays
 * valid for the lifetime of the application. */
const esp_partition_t *esp_partition_get(esp_partition_iterator_t iterator)
{
    return iterator != NULL ? iterator->current : NULL;
}

/* esp_partition_next: the iterator moved to the next match, or NULL when
 * there is none; then the iterator has been released (releasing the NULL it
 * returns is allowed and does nothing). */
esp_partition_iterator_t esp_partition_next(esp_partition_iterator_t iterator)
{
    if (iterator == NULL) {
        return NULL;
    }
    if (!advance(iterator)) {
        free(iterator);
        return NULL;
    }
    return iterator;
}

/* esp_partition_iterator_release: NULL is allowed. */
void esp_partition_iterator_release(esp_partition_iterator_t iterator)
{
    free(iterator);
}

/* Bounds of partition operations: an offset past the end of the partition is
 * ESP_ERR_INVALID_ARG, a range running past it ESP_ERR_INVALID_SIZE. */
static esp_err_t part_bounds(const esp_partition_t *p, size_t offset, size_t size)
{
    if (p == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (offset > p->size) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > p->size - offset) {
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* esp_partition_read: read `size` bytes at `src_offset` of the partition
 * (encrypted partitions are read as stored: the host has no flash encryption). */
esp_err_t esp_partition_read(const esp_partition_t *partition, size_t src_offset, void *dst, size_t size)
{
    esp_err_t err = part_bounds(partition, src_offset, size);
    if (err != ESP_OK) {
        return err;
    }
    return esp_flash_read(partition->flash_chip, dst, partition->address + (uint32_t)src_offset, (uint32_t)size);
}

/* esp_partition_write: as esp_flash_write inside the partition; a read-only
 * partition is ESP_ERR_NOT_ALLOWED. */
esp_err_t esp_partition_write(const esp_partition_t *partition, size_t dst_offset, const void *src, size_t size)
{
    esp_err_t err = part_bounds(partition, dst_offset, size);
    if (err != ESP_OK) {
        return err;
    }
    if (partition->readonly) {
        return ESP_ERR_NOT_ALLOWED;
    }
    return esp_flash_write(partition->flash_chip, src, partition->address + (uint32_t)dst_offset, (uint32_t)size);
}

/* esp_partition_erase_range: offset and size must be multiples of the
 * partition's erase_size (ESP_ERR_INVALID_ARG), inside the partition;
 * read-only partition: ESP_ERR_NOT_ALLOWED. */
esp_err_t esp_partition_erase_range(const esp_partition_t *partition, size_t offset, size_t size)
{
    esp_err_t err = part_bounds(partition, offset, size);
    if (err != ESP_OK) {
        return err;
    }
    if (partition->readonly) {
        return ESP_ERR_NOT_ALLOWED;
    }
    if (offset % partition->erase_size != 0 || size % partition->erase_size != 0) {
        return ESP_ERR_INVALID_ARG;
    }
    return esp_flash_erase_region(partition->flash_chip, partition->address + (uint32_t)offset, (uint32_t)size);
}

/* ---- esp_ota_ops ---------------------------------------------------------- */

/* esp_ota_get_running_partition: the partition the app runs from; on the
 * host, the table entry labelled with the device's running label. */
const esp_partition_t *esp_ota_get_running_partition(void)
{
    ensure_partitions();
    return s_running;
}

/* ---- spi_flash_mmap ------------------------------------------------------- */

esp_err_t idf_emul_map_app_data(const void *data, size_t len, uint32_t flash_addr)
{
    rf_device_t *dev = s_chip.dev;
    if (dev == NULL || dev->sim == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    if (data == NULL || len == 0 || (uint64_t)flash_addr + len > nor_sim_config(dev->sim)->size) {
        return ESP_ERR_INVALID_SIZE;
    }
    pthread_mutex_lock(&s_lock);
    if (s_nmaps == MAX_MAPS) {
        pthread_mutex_unlock(&s_lock);
        return ESP_ERR_NO_MEM;
    }
    memcpy(nor_sim_data(dev->sim) + flash_addr, data, len);
    s_maps[s_nmaps].data = data;
    s_maps[s_nmaps].len = len;
    s_maps[s_nmaps].flash_addr = flash_addr;
    s_nmaps++;
    pthread_mutex_unlock(&s_lock);
    return ESP_OK;
}

/* spi_flash_cache2phys: the physical flash offset of a mapped address, or
 * SPI_FLASH_CACHE2PHYS_FAIL "if cache address is outside flash cache region,
 * or the address is not mapped". */
size_t spi_flash_cache2phys(const void *cached)
{
    const uint8_t *p = cached;
    size_t out = SPI_FLASH_CACHE2PHYS_FAIL;
    pthread_mutex_lock(&s_lock);
    for (uint32_t i = 0; i < s_nmaps; i++) {
        if (p >= s_maps[i].data && p < s_maps[i].data + s_maps[i].len) {
            out = s_maps[i].flash_addr + (size_t)(p - s_maps[i].data);
            break;
        }
    }
    pthread_mutex_unlock(&s_lock);
    return out;
}
