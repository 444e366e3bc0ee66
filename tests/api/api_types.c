/*
 * Compiled (never run) as C and as C++ by tests/test_api_types.sh with
 * -Wall -Wextra -Werror: the public types are the reference's
 * (esp_self_reflasher_handle_t is void *, addr_region_t.region_size is
 * size_t), so the reference's way of holding a handle compiles unchanged.
 */
#include "self_reflasher.h"

#ifdef __cplusplus
#include <type_traits>
static_assert(std::is_same<esp_self_reflasher_handle_t, void *>::value, "handle is void *");
static_assert(std::is_same<decltype(addr_region_t::region_size), size_t>::value, "region_size is size_t");
static_assert(std::is_same<decltype(addr_region_t::region_address), uint32_t>::value, "region_address is uint32_t");
#else
_Static_assert(_Generic((esp_self_reflasher_handle_t)0, void *: 1, default: 0), "handle is void *");
_Static_assert(_Generic(((addr_region_t *)0)->region_size, size_t: 1, default: 0), "region_size is size_t");
_Static_assert(_Generic(((addr_region_t *)0)->region_address, uint32_t: 1, default: 0),
               "region_address is uint32_t");
#endif

/* The reference's signatures, as function pointers of exactly its types. */
typedef esp_err_t (*init_fn)(const esp_self_reflasher_config_t *, esp_self_reflasher_handle_t *);
typedef esp_err_t (*step_fn)(esp_self_reflasher_handle_t);
typedef esp_err_t (*next_fn)(const esp_self_reflasher_config_t *, esp_self_reflasher_handle_t);
typedef esp_err_t (*direct_fn)(const esp_self_reflasher_config_t *);

#ifdef __cplusplus
extern "C" {
#endif
esp_err_t api_types_use(const esp_self_reflasher_config_t *cfg);
#ifdef __cplusplus
}
#endif

esp_err_t api_types_use(const esp_self_reflasher_config_t *cfg)
{
    init_fn i = esp_self_reflasher_init;
    step_fn d = esp_self_reflasher_download_bin, c = esp_self_reflasher_copy_to_region;
    next_fn n = esp_self_reflasher_upd_next_config;
    direct_fn e = esp_self_reflasher_directly_copy_to_region;

    void *h = NULL;                     /* the case: a plain void * */
    esp_err_t err = i(cfg, &h);
    if (err == ESP_OK) {
        err = d(h);
    }
    if (err == ESP_OK) {
        err = c(h);
    }
    if (err == ESP_OK) {
        err = n(cfg, h);
    }
    esp_self_reflasher_deinit(h);

    addr_region_t r;                    /* region_size takes a size_t as is */
    r.region_address = 0x10000;
    r.region_size = sizeof r;
    (void)r;
    return err == ESP_OK ? e(cfg) : err;
}
