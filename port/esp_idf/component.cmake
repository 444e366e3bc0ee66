# ESP-IDF component registration, included by the root CMakeLists.txt when
# ESP_PLATFORM is set (the repository's root is the component directory).
#
# Sources: the portable core, the seed-compatible API, the crypto glue
# (hashes and ECDSA over mbedTLS, Ed25519 over libsodium: the registry's
# espressif/libsodium, declared in idf_component.yml) and this port.
# Public headers: include/ (self_reflasher.h and the platform interface)
# and core/include/ (the port interfaces it refers to). The host
# stand-ins in host/compat/include are never on the path here: ESP-IDF's own
# headers are used.

get_filename_component(_rf_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

file(GLOB _rf_srcs
     "${_rf_root}/core/src/*.c"
     "${_rf_root}/crypto/*.c"
     "${_rf_root}/port/esp_idf/*.c")
list(APPEND _rf_srcs "${_rf_root}/src/self_reflasher.c")
list(REMOVE_DUPLICATES _rf_srcs)
# Signature support (Kconfig SELF_REFLASHER_SIGNATURES): the verifier, or
# crypto/rf_sig_none.c, which refuses every key. Where no sdkconfig is loaded
# (the early requirements expansion), the default: the verifier.
if(DEFINED CONFIG_SELF_REFLASHER_SIGNATURES AND NOT CONFIG_SELF_REFLASHER_SIGNATURES)
    list(FILTER _rf_srcs EXCLUDE REGEX "/crypto/rf_sig_[^/]*\\.c$")
    list(APPEND _rf_srcs "${_rf_root}/crypto/rf_sig_none.c")
else()
    list(FILTER _rf_srcs EXCLUDE REGEX "/crypto/rf_sig_none\\.c$")
endif()

# The linker fragment for this component's own archive needs the archive's
# name, lib<component name>.a, and the component is named after its
# directory: generate it. Only in the real build, not during ESP-IDF's early
# requirements expansion (script mode, where nothing may be written).
set(_rf_ldfragments "${_rf_root}/esp_self_reflasher.lf")
if(NOT CMAKE_BUILD_EARLY_EXPANSION)
    string(MAKE_C_IDENTIFIER "self_reflasher_${COMPONENT_NAME}" RF_LF_MAPPING)
    set(RF_LF_ARCHIVE "lib${COMPONENT_NAME}.a")
    configure_file("${_rf_root}/port/esp_idf/self_reflasher_archive.lf.in"
                   "${CMAKE_CURRENT_BINARY_DIR}/self_reflasher_archive.lf" @ONLY)
    list(APPEND _rf_ldfragments "${CMAKE_CURRENT_BINARY_DIR}/self_reflasher_archive.lf")
endif()

idf_component_register(
    SRCS ${_rf_srcs}
    INCLUDE_DIRS "include" "core/include"
    # Public: self_reflasher.h uses esp_http_client_config_t and esp_partition_t;
    # spi_flash: esp_flash.h (the port; esp_partition.h only declares esp_flash_t).
    REQUIRES esp_http_client esp_partition spi_flash
    # espressif__libsodium: the managed component of idf_component.yml's
    # espressif/libsodium (crypto_sign_verify_detached).
    PRIV_REQUIRES app_update bootloader_support mbedtls log esp_system esp_timer espressif__libsodium
    LDFRAGMENTS ${_rf_ldfragments})
# Kconfig SELF_REFLASHER_SAVE_RESTORE (RISC-V only): this component's code
# calls libgcc's shared register save/restore routines (ESP-IDF maps them
# to IRAM, so the copy from IRAM stays flash-free).
if(CONFIG_SELF_REFLASHER_SAVE_RESTORE AND NOT CMAKE_BUILD_EARLY_EXPANSION)
    target_compile_options(${COMPONENT_LIB} PRIVATE -msave-restore)
endif()
