# Host builds of the ESP-IDF port and of the examples, against the emulation
# of the ESP-IDF subset in host/compat (included by the root CMakeLists.txt).
#
#   example_download_host   examples/boot_swap_download_example/main/*.c
#   example_embedded_host   examples/boot_swap_embedded_example/main/*.c
#   idf_emul_check          host/compat/check: the emulation's and the port's
#                           documented behaviours, checked
#   idf_emul_check_https_only  the same source with the component's defaults:
#                           plain HTTP refused
#   idf_emul_demo_image     host/compat/tools: the embedded example's demo image
#
# The example sources and port/esp_idf/*.c are compiled unchanged. Each app
# gets a generated sdkconfig.h (build dir): its Kconfig defaults (component
# Kconfig + main/Kconfig.projbuild, for the host target RF_IDF_HOST_TARGET),
# then its sdkconfig.defaults, then any -DCONFIG_NAME=value given to cmake.
# The app's string and hex options expand to idf_emul_config_*() calls, so a
# run can set them (NAME=VALUE on its command line, or the environment).
#
# The executables link the port, which defines
# esp_self_reflasher_default_platform(), and rf_host_idf: the rf_host sources
# without host/src/rf_default_platform.c (the native host platform's
# definition of that function).

find_package(Threads REQUIRED)

get_filename_component(RF_IDF_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set(RF_IDF_GEN ${CMAKE_BINARY_DIR}/idf_host)
set(RF_IDF_HOST_TARGET "esp32" CACHE STRING "ESP-IDF target the host builds of the examples stand for")

# ---- rf_host without the native default platform ---------------------------
get_target_property(_rf_host_sources rf_host SOURCES)
list(FILTER _rf_host_sources EXCLUDE REGEX "rf_default_platform\\.c$")
add_library(rf_host_idf STATIC ${_rf_host_sources})
foreach(_prop INCLUDE_DIRECTORIES INTERFACE_INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS
              LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(_val rf_host ${_prop})
    if(_val)
        set_property(TARGET rf_host_idf PROPERTY ${_prop} "${_val}")
    endif()
endforeach()
target_link_libraries(rf_host_idf PUBLIC Threads::Threads)

# ---- a tiny reader of our Kconfig files -----------------------------------
# Understands what our Kconfig files use: config NAME, bool/int/hex/string,
# "default VALUE [if A || B]", "depends on A", help text (skipped), menus.
# Results go to _rf_kc_<NAME>_TYPE / _VALUE / _DEPENDS / _ORIGIN and the
# list _rf_kc_names, in the caller's scope.
function(_rf_kconfig_symbol_value sym out)
    if(DEFINED _rf_kc_${sym}_VALUE)
        set(${out} "${_rf_kc_${sym}_VALUE}" PARENT_SCOPE)
    elseif(sym STREQUAL "BOOTLOADER_OFFSET_IN_FLASH")
        if(RF_IDF_HOST_TARGET MATCHES "^(esp32|esp32s2)$")
            set(${out} "0x1000" PARENT_SCOPE)
        elseif(RF_IDF_HOST_TARGET MATCHES "^(esp32c5|esp32p4)$")
            set(${out} "0x2000" PARENT_SCOPE)
        else()
            set(${out} "0x0" PARENT_SCOPE)
        endif()
    else()
        set(${out} "" PARENT_SCOPE)
    endif()
endfunction()

function(_rf_kconfig_cond cond out)
    string(REPLACE "||" ";" _alts "${cond}")
    foreach(_alt IN LISTS _alts)
        string(STRIP "${_alt}" _alt)
        _rf_kconfig_symbol_value("${_alt}" _v)
        if(_v STREQUAL "y")
            set(${out} TRUE PARENT_SCOPE)
            return()
        endif()
    endforeach()
    set(${out} FALSE PARENT_SCOPE)
endfunction()

macro(_rf_kconfig_read file origin)
    file(STRINGS ${file} _lines)
    set(_name "")
    set(_in_help FALSE)
    foreach(_line IN LISTS _lines)
        string(STRIP "${_line}" _l)
        if(_l MATCHES "^(menuconfig|config)[ \t]+([A-Za-z0-9_]+)$")
            set(_name ${CMAKE_MATCH_2})
            set(_in_help FALSE)
            list(APPEND _rf_kc_names ${_name})
            set(_rf_kc_${_name}_ORIGIN ${origin})
        elseif(_l MATCHES "^(menu|endmenu|choice|endchoice|comment|if|endif|source|mainmenu)([ \t]|$)")
            set(_name "")
            set(_in_help FALSE)
        elseif(_in_help OR _name STREQUAL "")
        elseif(_l MATCHES "^(help|---help---)$")
            set(_in_help TRUE)
        elseif(_l MATCHES "^(bool|int|hex|string)([ \t]|$)")
            set(_rf_kc_${_name}_TYPE ${CMAKE_MATCH_1})
        elseif(_l MATCHES "^depends[ \t]+on[ \t]+(.+)$")
            set(_rf_kc_${_name}_DEPENDS "${CMAKE_MATCH_1}")
        elseif(_l MATCHES "^default[ \t]+(.+)$" AND NOT DEFINED _rf_kc_${_name}_VALUE)
            set(_def "${CMAKE_MATCH_1}")
            set(_ok TRUE)
            if(_def MATCHES "^(.+)[ \t]+if[ \t]+(.+)$")
                set(_def "${CMAKE_MATCH_1}")
                _rf_kconfig_cond("${CMAKE_MATCH_2}" _ok)
            endif()
            if(_ok)
                string(STRIP "${_def}" _def)
                if(_def MATCHES "^\"(.*)\"$")
                    set(_def "${CMAKE_MATCH_1}")
                elseif(_def MATCHES "^[A-Z_][A-Z0-9_]*$" AND NOT _def MATCHES "^[yn]$")
                    _rf_kconfig_symbol_value(${_def} _def)
                endif()
                set(_rf_kc_${_name}_VALUE "${_def}")
            endif()
        endif()
    endforeach()
endmacro()

# rf_idf_sdkconfig(OUT file KCONFIG files... RUNTIME_KCONFIG file DEFAULTS file BUILD_TIME names...)
# Writes the host sdkconfig.h; options of RUNTIME_KCONFIG of type string or
# hex are set at run time, except the BUILD_TIME ones (used by the build).
function(rf_idf_sdkconfig)
    cmake_parse_arguments(A "" "OUT;RUNTIME_KCONFIG;DEFAULTS" "KCONFIG;BUILD_TIME" ${ARGN})
    set(_rf_kc_names "")
    # What every ESP-IDF build defines, for the host's target.
    string(TOUPPER "${RF_IDF_HOST_TARGET}" _tgt)
    foreach(_fixed "IDF_TARGET_${_tgt}|bool|y" "FREERTOS_HZ|int|100" "LOG_DEFAULT_LEVEL|int|3"
                   "LOG_MAXIMUM_LEVEL|int|3" "IDF_TARGET|string|${RF_IDF_HOST_TARGET}")
        string(REPLACE "|" ";" _f "${_fixed}")
        list(GET _f 0 _n)
        list(GET _f 1 _t)
        list(GET _f 2 _v)
        list(APPEND _rf_kc_names ${_n})
        set(_rf_kc_${_n}_TYPE ${_t})
        set(_rf_kc_${_n}_VALUE "${_v}")
        set(_rf_kc_${_n}_ORIGIN fixed)
    endforeach()
    # sdkconfig.defaults first: as in Kconfig, a value it gives wins over the
    # symbol's own defaults and decides the "default X if SYMBOL" of others
    # (SELF_REFLASHER_ALLOW_PLAIN_HTTP follows ESP_HTTPS_OTA_ALLOW_HTTP); the
    # -DCONFIG_NAME=... of this cmake run are applied last.
    if(A_DEFAULTS AND EXISTS ${A_DEFAULTS})
        file(STRINGS ${A_DEFAULTS} _lines REGEX "^CONFIG_[A-Za-z0-9_]+=")
        foreach(_line IN LISTS _lines)
            string(REGEX MATCH "^CONFIG_([A-Za-z0-9_]+)=(.*)$" _m "${_line}")
            set(_n ${CMAKE_MATCH_1})
            set(_v "${CMAKE_MATCH_2}")
            if(NOT DEFINED _rf_kc_${_n}_TYPE)
                list(APPEND _rf_kc_names ${_n})
                set(_rf_kc_${_n}_ORIGIN defaults)
                if(_v MATCHES "^[yn]$")
                    set(_rf_kc_${_n}_TYPE bool)
                elseif(_v MATCHES "^\"")
                    set(_rf_kc_${_n}_TYPE string)
                else()
                    set(_rf_kc_${_n}_TYPE int)
                endif()
            endif()
            if(_v MATCHES "^\"(.*)\"$")
                set(_v "${CMAKE_MATCH_1}")
            endif()
            set(_rf_kc_${_n}_VALUE "${_v}")
        endforeach()
    endif()
    foreach(_k IN LISTS A_KCONFIG)
        _rf_kconfig_read(${_k} component)
    endforeach()
    if(A_RUNTIME_KCONFIG)
        _rf_kconfig_read(${A_RUNTIME_KCONFIG} app)
    endif()
    set(_body "")
    set(_runtime "")
    list(REMOVE_DUPLICATES _rf_kc_names)
    foreach(_n IN LISTS A_BUILD_TIME)
        set(_rf_kc_${_n}_ORIGIN build)
    endforeach()
    foreach(_n IN LISTS _rf_kc_names)
        if(DEFINED CONFIG_${_n})
            set(_rf_kc_${_n}_VALUE "${CONFIG_${_n}}")
        endif()
        set(_t "${_rf_kc_${_n}_TYPE}")
        set(_v "${_rf_kc_${_n}_VALUE}")
        if(DEFINED _rf_kc_${_n}_DEPENDS)
            _rf_kconfig_cond("${_rf_kc_${_n}_DEPENDS}" _dep_ok)
            if(NOT _dep_ok)
                continue()
            endif()
        endif()
        if(_t STREQUAL "bool")
            if(_v STREQUAL "y")
                string(APPEND _body "#define CONFIG_${_n} 1\n")
            endif()
        elseif(_t STREQUAL "string")
            string(REPLACE "\\" "\\\\" _v "${_v}")
            string(REPLACE "\"" "\\\"" _v "${_v}")
            if(_rf_kc_${_n}_ORIGIN STREQUAL "app")
                string(APPEND _body "#define CONFIG_${_n} idf_emul_config_str(\"CONFIG_${_n}\", \"${_v}\")\n")
                string(APPEND _runtime "  CONFIG_${_n} (string, default \\\"${_v}\\\")\\n")
            else()
                string(APPEND _body "#define CONFIG_${_n} \"${_v}\"\n")
            endif()
        elseif(_t STREQUAL "hex" AND _rf_kc_${_n}_ORIGIN STREQUAL "app")
            string(APPEND _body "#define CONFIG_${_n} idf_emul_config_u32(\"CONFIG_${_n}\", ${_v})\n")
            string(APPEND _runtime "  CONFIG_${_n} (hex, default ${_v})\\n")
        elseif(NOT _v STREQUAL "")
            string(APPEND _body "#define CONFIG_${_n} ${_v}\n")
        endif()
    endforeach()
    set(_text "/* Generated by port/esp_idf/host.cmake: the sdkconfig.h of a host build (see there). */\n")
    string(APPEND _text "#pragma once\n#include \"idf_emul.h\"\n\n${_body}")
    # The emulated device is an ESP32 (esp_chip_id_t 0), as in the reference's examples.
    string(APPEND _text "\n#ifndef CONFIG_IDF_TARGET_ESP32\n#define CONFIG_IDF_TARGET_ESP32 1\n#endif\n")
    string(APPEND _text "#ifndef CONFIG_IDF_FIRMWARE_CHIP_ID\n#define CONFIG_IDF_FIRMWARE_CHIP_ID 0x0000\n#endif\n")
    if(NOT _runtime STREQUAL "")
        string(APPEND _text "\n#define IDF_EMUL_RUNTIME_CONFIG \"${_runtime}\"\n")
    endif()
    file(CONFIGURE OUTPUT ${A_OUT} CONTENT "${_text}" @ONLY)
endfunction()

# ---- the apps ---------------------------------------------------------------
set(_rf_idf_port_src ${RF_IDF_ROOT}/port/esp_idf/self_reflasher_port_esp_idf.c
                      ${RF_IDF_ROOT}/port/esp_idf/rf_inflate_tinfl.c)
set(_rf_idf_startup ${RF_IDF_ROOT}/host/compat/startup/idf_emul_main.c)

# ESP-IDF's own compile flags for every source of an app (tools/cmake/build.cmake,
# 5.x: gnu17, so GNU asm labels and statement expressions work as on a device),
# on top of the project's -Wall -Wextra -Werror.
set(RF_IDF_APP_FLAGS -ffunction-sections -fdata-sections -Wall -Werror -Wno-error=unused-function
    -Wno-error=unused-variable -Wno-error=unused-but-set-variable -Wno-error=deprecated-declarations -Wextra
    -Wno-error=extra -Wno-unused-parameter -Wno-sign-compare -Wno-enum-conversion)

function(_rf_idf_app target gen)
    target_include_directories(${target} PRIVATE ${gen} ${RF_IDF_ROOT}/include ${RF_IDF_ROOT}/core/include
                                                 ${RF_IDF_ROOT}/port/esp_idf
                                                 ${RF_IDF_ROOT}/host/include ${RF_IDF_ROOT}/host/compat/include)
    target_link_libraries(${target} PRIVATE rf_host_idf Threads::Threads)
    set_target_properties(${target} PROPERTIES C_STANDARD 17 C_EXTENSIONS ON)
    target_compile_options(${target} PRIVATE ${RF_IDF_APP_FLAGS})
endfunction()

# rf_idf_host_example(TARGET name DIR example_dir [EMBED_DIR_OPTION opt EMBED_NAME_OPTION opt])
function(rf_idf_host_example)
    cmake_parse_arguments(A "" "TARGET;DIR;EMBED_DIR_OPTION;EMBED_NAME_OPTION" "" ${ARGN})
    set(gen ${RF_IDF_GEN}/${A_TARGET})
    rf_idf_sdkconfig(OUT ${gen}/sdkconfig.h KCONFIG ${RF_IDF_ROOT}/Kconfig
                     RUNTIME_KCONFIG ${A_DIR}/main/Kconfig.projbuild DEFAULTS ${A_DIR}/sdkconfig.defaults
                     BUILD_TIME ${A_EMBED_DIR_OPTION} ${A_EMBED_NAME_OPTION})
    file(GLOB _srcs CONFIGURE_DEPENDS ${A_DIR}/main/*.c)
    set(_extra "")
    if(A_EMBED_NAME_OPTION)
        # What target_add_binary_data(... BINARY) does in the ESP-IDF build:
        # the file's bytes between _binary_<name>_start and _binary_<name>_end.
        rf_idf_sdkconfig_value(${gen}/sdkconfig.h ${A_EMBED_DIR_OPTION} _dir)
        rf_idf_sdkconfig_value(${gen}/sdkconfig.h ${A_EMBED_NAME_OPTION} _name)
        get_filename_component(_image "${_dir}/${_name}" ABSOLUTE BASE_DIR ${A_DIR}/main)
        if(NOT EXISTS ${_image})
            # The project ships no binaries: without the image, embed a demo
            # one made by the project's own generator.
            set(_image ${gen}/example_bin_dir/${_name})
            add_custom_command(OUTPUT ${_image}
                COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}/example_bin_dir
                COMMAND idf_emul_demo_image -o ${_image}
                DEPENDS idf_emul_demo_image
                COMMENT "Generating the demo reflashing image ${_name}")
        endif()
        string(MAKE_C_IDENTIFIER "${_name}" _sym)
        string(REPLACE "\\" "\\\\" _path "${_image}")
        string(REPLACE "\"" "\\\"" _path "${_path}")
        set(_asm_path "${_path}")
        string(REPLACE "\\" "\\\\" _asm_path "${_asm_path}")
        string(REPLACE "\"" "\\\"" _asm_path "${_asm_path}")
        file(CONFIGURE OUTPUT ${gen}/idf_emul_app_data.c CONTENT
"/* Generated by port/esp_idf/host.cmake: ${_name} embedded as ESP-IDF's target_add_binary_data() does. */
#include <stddef.h>
#include \"idf_emul.h\"

__asm__(\".section .rodata.idf_emul_app_data,\\\"a\\\",@progbits\\n\"
        \".balign 16\\n\"
        \".global _binary_${_sym}_start\\n\"
        \"_binary_${_sym}_start:\\n\"
        \".incbin \\\"${_asm_path}\\\"\\n\"
        \".global _binary_${_sym}_end\\n\"
        \"_binary_${_sym}_end:\\n\"
        \".previous\\n\");

extern const unsigned char idf_emul_blob_start[] __asm__(\"_binary_${_sym}_start\");
extern const unsigned char idf_emul_blob_end[] __asm__(\"_binary_${_sym}_end\");

const idf_emul_app_data_t idf_emul_app_data[] = { { idf_emul_blob_start, idf_emul_blob_end, \"${_name}\" } };
const size_t idf_emul_app_data_count = 1;
" @ONLY)
        set_source_files_properties(${gen}/idf_emul_app_data.c PROPERTIES OBJECT_DEPENDS ${_image})
        list(APPEND _extra ${gen}/idf_emul_app_data.c ${_image})
    endif()
    add_executable(${A_TARGET} ${_srcs} ${_rf_idf_port_src} ${_rf_idf_startup} ${_extra})
    _rf_idf_app(${A_TARGET} ${gen})
    target_include_directories(${A_TARGET} PRIVATE ${A_DIR}/main)
    if(A_EMBED_NAME_OPTION)
        target_compile_definitions(${A_TARGET} PRIVATE EXAMPLE_TARGET_BIN_START="_binary_${_sym}_start"
                                                       EXAMPLE_TARGET_BIN_END="_binary_${_sym}_end")
    endif()
endfunction()

# The value a generated sdkconfig.h gives an option (its default for run-time ones).
function(rf_idf_sdkconfig_value header name out)
    file(STRINGS ${header} _l REGEX "^#define CONFIG_${name} ")
    if(_l MATCHES "idf_emul_config_str\\(\"[^\"]*\", \"(.*)\"\\)$")
        set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
    elseif(_l MATCHES "^#define CONFIG_${name} \"(.*)\"$")
        set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
    else()
        message(FATAL_ERROR "host.cmake: no CONFIG_${name} in ${header}")
    endif()
endfunction()

add_executable(idf_emul_demo_image ${RF_IDF_ROOT}/host/compat/tools/idf_emul_demo_image.c)
target_link_libraries(idf_emul_demo_image PRIVATE rf_host_idf)

rf_idf_host_example(TARGET example_download_host DIR ${RF_IDF_ROOT}/examples/boot_swap_download_example)
rf_idf_host_example(TARGET example_embedded_host DIR ${RF_IDF_ROOT}/examples/boot_swap_embedded_example
                    EMBED_DIR_OPTION EXAMPLE_TARGET_BINARY_DIR_PATH EMBED_NAME_OPTION EXAMPLE_TARGET_BINARY_NAME)

# Any other ESP-IDF example tree with the same layout, built unchanged: set
# RF_IDF_REFERENCE_EXAMPLES to the reference component's examples/ directory
# (fetched by hand, never committed) to get ref_download_host and
# ref_embedded_host. The reference's Kconfig.projbuild has no URL defaults
# the host can reach: give them at run time (CONFIG_EXAMPLE_..._URL=...).
set(RF_IDF_REFERENCE_EXAMPLES "" CACHE PATH "The reference's examples/ directory, to build its examples unchanged")
if(RF_IDF_REFERENCE_EXAMPLES)
    rf_idf_host_example(TARGET ref_download_host DIR ${RF_IDF_REFERENCE_EXAMPLES}/boot_swap_download_example)
    rf_idf_host_example(TARGET ref_embedded_host DIR ${RF_IDF_REFERENCE_EXAMPLES}/boot_swap_embedded_example
                        EMBED_DIR_OPTION EXAMPLE_TARGET_BINARY_DIR_PATH EMBED_NAME_OPTION EXAMPLE_TARGET_BINARY_NAME)
endif()

# The emulation's checks: the port and the emulated ESP-IDF functions.
# idf_emul_check talks plain HTTP to the test server (the example's setting);
# idf_emul_check_https_only has the component's defaults and checks that
# plain HTTP is refused.
rf_idf_sdkconfig(OUT ${RF_IDF_GEN}/idf_emul_check/sdkconfig.h KCONFIG ${RF_IDF_ROOT}/Kconfig
                 DEFAULTS ${RF_IDF_ROOT}/examples/boot_swap_download_example/sdkconfig.defaults)
add_executable(idf_emul_check ${RF_IDF_ROOT}/host/compat/check/idf_emul_check.c ${_rf_idf_port_src})
_rf_idf_app(idf_emul_check ${RF_IDF_GEN}/idf_emul_check)
rf_idf_sdkconfig(OUT ${RF_IDF_GEN}/idf_emul_check_https_only/sdkconfig.h KCONFIG ${RF_IDF_ROOT}/Kconfig)
add_executable(idf_emul_check_https_only ${RF_IDF_ROOT}/host/compat/check/idf_emul_check.c ${_rf_idf_port_src})
_rf_idf_app(idf_emul_check_https_only ${RF_IDF_GEN}/idf_emul_check_https_only)
