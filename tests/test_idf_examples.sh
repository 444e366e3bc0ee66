#!/usr/bin/env bash
# The ESP-IDF component: its packaging, its port (port/esp_idf) and the two
# examples, built for the host against the emulation of ESP-IDF
# (port/esp_idf/host.cmake, host/compat) and run on simulated devices.
#
#  1. packaging: component.cmake registers what it should (ESP-IDF's
#     idf_component_register stubbed in cmake -P), the linker fragments'
#     conditions name real Kconfig options, the examples use only their own
#     CONFIG_ names, their partitions.csv hold the seed's tables;
#  2. idf_emul_check: the emulated ESP-IDF functions and the port, one
#     documented behaviour per line, against tests/support/http_server.py;
#  3. the download example over real HTTP (python3 -m http.server, as the
#     seed README does) versus `reflasher migrate --image ... --image ...` on
#     an identical fresh device: the two device images must be identical;
#     then the example stops at the first failure and leaves the rest alone;
#  4. the embedded example, built with a merged image of the fixtures
#     embedded, versus `reflasher migrate --embedded ... --at 0x14294`.
#
# Uses ../shared/fixtures (RF_SHARED) and ../shared/seeds.
set -euo pipefail
: "${RF_SRC:?}" "${RF_BIN:?}" "${REFLASHER:?}"
SHARED=${RF_SHARED:-$RF_SRC/../shared}
FIX=$SHARED/fixtures
APP=$FIX/app_upd.bin
BOOT=$FIX/mcuboot-esp32.bin
DL=$RF_SRC/examples/boot_swap_download_example
EM=$RF_SRC/examples/boot_swap_embedded_example

W=$(mktemp -d "${TMPDIR:-/tmp}/rf_idf_examples.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT

FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() {   # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

new_device() {   # new_device CSV OUT.img
    "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$1" --running factory -o "$2" >/dev/null
}

# bytes [off, off+len) of a file, to stdout
slice() { dd if="$1" bs=4096 iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none; }
ff_bytes() { head -c "$1" /dev/zero | tr '\0' '\377'; }

# ---- 1. packaging -----------------------------------------------------------
echo "# packaging"
cat > "$W/stub.cmake" <<'EOF'
# ESP-IDF stand-ins: idf_component_register records its arguments.
function(idf_component_register)
    cmake_parse_arguments(A "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES;LDFRAGMENTS" ${ARGN})
    foreach(k SRCS INCLUDE_DIRS PRIV_INCLUDE_DIRS REQUIRES PRIV_REQUIRES LDFRAGMENTS)
        foreach(v IN LISTS A_${k})
            message("${k} ${v}")
        endforeach()
    endforeach()
endfunction()
set(ESP_PLATFORM 1)
set(COMPONENT_NAME esp_self_reflasher)
include(${RF_SRC}/CMakeLists.txt)
EOF
(cd "$W" && cmake -DRF_SRC="$RF_SRC" -P stub.cmake) > "$W/reg.txt" 2>&1 || true
mkdir -p "$W/early"
(cd "$W/early" && cmake -DRF_SRC="$RF_SRC" -DCMAKE_BUILD_EARLY_EXPANSION=1 -P ../stub.cmake) > "$W/reg_early.txt" 2>&1 || true
field() { awk -v k="$1" '$1 == k { print $2 }' "$W/reg.txt"; }
# (no "| grep -q" below: with pipefail, grep leaving early fails the pipeline)
srcs_ok=1
reg_srcs=$(field SRCS | xargs -r -n1 realpath)
for s in "$RF_SRC"/core/src/*.c "$RF_SRC"/src/self_reflasher.c "$RF_SRC"/crypto/rf_crypto_mbedtls.c \
         "$RF_SRC"/port/esp_idf/self_reflasher_port_esp_idf.c; do
    grep -qx "$(realpath "$s")" <<< "$reg_srcs" || { echo "  missing source $s"; srcs_ok=0; }
done
for s in $(field SRCS); do [ -f "$s" ] || { echo "  no such source $s"; srcs_ok=0; }; done
check "component.cmake: SRCS are the core, src/self_reflasher.c, crypto, port/esp_idf" [ "$srcs_ok" = 1 ]
inc_ok=1
reg_incs=$(field INCLUDE_DIRS)
for d in include core/include; do grep -qx "$d" <<< "$reg_incs" || inc_ok=0; done
for d in $(field INCLUDE_DIRS) $(field PRIV_INCLUDE_DIRS); do [ -d "$RF_SRC/$d" ] || [ -d "$d" ] || inc_ok=0; done
check "component.cmake: INCLUDE_DIRS include and core/include, all existing" [ "$inc_ok" = 1 ]
check "component.cmake: host/ (and host/compat/include) is not on any path" \
    bash -c "! grep -Eq '(^|[ /])host/' '$W/reg.txt'"
req_ok=1
reg_reqs=$(field REQUIRES; field PRIV_REQUIRES)
for c in esp_http_client spi_flash esp_partition app_update mbedtls log esp_system; do
    grep -qx "$c" <<< "$reg_reqs" || { echo "  no requirement $c"; req_ok=0; }
done
check "component.cmake: requires esp_http_client spi_flash esp_partition app_update mbedtls log esp_system" \
    [ "$req_ok" = 1 ]
lf_ok=1
for f in $(field LDFRAGMENTS); do [ -f "$f" ] || lf_ok=0; done
check "component.cmake: LDFRAGMENTS exist, one generated for lib<component>.a" \
    bash -c "[ $lf_ok = 1 ] && grep -q '^archive: libesp_self_reflasher.a\$' '$W/self_reflasher_archive.lf'"
check "component.cmake: the early requirements expansion writes nothing and registers the same sources" \
    bash -c "[ \"\$(grep -c '^SRCS ' '$W/reg_early.txt')\" = \"\$(grep -c '^SRCS ' '$W/reg.txt')\" ] &&
             [ \$(grep -c '^LDFRAGMENTS ' '$W/reg_early.txt') = 1 ] && [ -z \"\$(ls '$W/early')\" ]"
lf_syms_ok=1
for s in $(cat "$RF_SRC/esp_self_reflasher.lf" "$RF_SRC/port/esp_idf/self_reflasher_archive.lf.in" |
           sed -n 's/^ *if \([A-Z0-9_]*\) = y:.*/\1/p' | sort -u); do
    grep -q "^ *config $s\$" "$RF_SRC/Kconfig" || { echo "  $s is not in Kconfig"; lf_syms_ok=0; }
done
check "linker fragments: every condition names an option of the component's Kconfig" [ "$lf_syms_ok" = 1 ]
for opt in SELF_REFLASHER_BUFFER_SIZE SELF_REFLASHER_VERIFY_DEFAULT SELF_REFLASHER_ALLOW_PLAIN_HTTP \
           SELF_REFLASHER_COPY_IN_IRAM; do
    check "Kconfig: $opt" grep -q "^ *config $opt\$" "$RF_SRC/Kconfig"
done
check "idf_component.yml: version 0.1.0, idf >=5.1,<6.0, the six targets" bash -c "
    grep -q '^version: \"0.1.0\"' '$RF_SRC/idf_component.yml' &&
    grep -q 'idf: \">=5.1,<6.0\"' '$RF_SRC/idf_component.yml' &&
    for t in esp32 esp32s2 esp32s3 esp32c3 esp32c6 esp32h2; do grep -q \"^  - \$t\$\" '$RF_SRC/idf_component.yml' || exit 1; done"
for ex in "$DL" "$EM"; do
    name=$(basename "$ex")
    used=$(grep -ho 'CONFIG_EXAMPLE_[A-Z0-9_]*' "$ex"/main/*.c | sort -u | grep -v '^CONFIG_EXAMPLE_CONNECT_' || true)
    missing=""
    for u in $used; do grep -q "^ *config ${u#CONFIG_}\$" "$ex/main/Kconfig.projbuild" || missing="$missing $u"; done
    check "$name: every CONFIG_EXAMPLE_ it uses is in its Kconfig.projbuild${missing:+ (missing:$missing)}" [ -z "$missing" ]
    check "$name: sdkconfig.defaults allows writing dangerous flash regions" \
        grep -qx 'CONFIG_SPI_FLASH_DANGEROUS_WRITE_ALLOWED=y' "$ex/sdkconfig.defaults"
    seed="$SHARED/seeds/$name-partitions.csv"
    if [ -f "$seed" ]; then
        norm() { tr -d ' \t\r' < "$1" | grep -E '^#?[a-z_0-9]+,'; }
        check "$name: partitions.csv holds the seed's table" diff <(norm "$seed") <(norm "$ex/partitions.csv")
    fi
    for f in CMakeLists.txt main/CMakeLists.txt main/Kconfig.projbuild partitions.csv sdkconfig.defaults README.md; do
        [ -f "$ex/$f" ] || bad "$name: $f missing"
    done
done
check "seed option names: the download example's Kconfig.projbuild has the reference's options" bash -c "
    for o in EXAMPLE_BOOTLOADER_UPGRADE_URL EXAMPLE_BOOTLOADER_DEST_ADDRESS EXAMPLE_BOOTLOADER_DEST_MAX_SIZE \
             EXAMPLE_APP_UPGRADE_URL EXAMPLE_APP_DEST_ADDRESS EXAMPLE_APP_DEST_MAX_SIZE \
             EXAMPLE_SKIP_COMMON_NAME_CHECK EXAMPLE_TARGET_PARTITION EXAMPLE_TARGET_PARTITION_LABEL; do
        grep -q \"^ *config \$o\$\" '$DL/main/Kconfig.projbuild' || exit 1; done
    for o in EXAMPLE_TARGET_BINARY_DIR_PATH EXAMPLE_TARGET_BINARY_NAME EXAMPLE_BIN_DEST_ADDRESS \
             EXAMPLE_BIN_DEST_MAX_SIZE; do
        grep -q \"^ *config \$o\$\" '$EM/main/Kconfig.projbuild' || exit 1; done"

# ESP-IDF targets are 32-bit with newlib, where uint32_t is unsigned long:
# printf formats that pass on the host can break the ESP-IDF build. Compile
# the port and the examples for rv32 (ESP32-C3's ISA) against the host
# stand-ins and a minimal libc declaring the format-checked functions.
if command -v riscv64-unknown-elf-gcc > /dev/null; then
    mkdir -p "$W/libc32"
    printf '#pragma once\n#include <stdint.h>\n#define PRIx32 "lx"\n#define PRIu32 "lu"\n#define PRId64 "lld"\n' \
        > "$W/libc32/inttypes.h"
    cat > "$W/libc32/stdio.h" <<'EOF2'
#pragma once
#include <stdarg.h>
#include <stddef.h>
int printf(const char *, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *, size_t, const char *, va_list) __attribute__((format(printf, 3, 0)));
int sscanf(const char *, const char *, ...) __attribute__((format(scanf, 2, 3)));
EOF2
    printf '#pragma once\n#include <stddef.h>\nvoid *calloc(size_t, size_t);\nvoid free(void *);\nlong long strtoll(const char *, char **, int);\n' \
        > "$W/libc32/stdlib.h"
    printf '#pragma once\n#include <stddef.h>\nvoid *memset(void *, int, size_t);\nvoid *memcpy(void *, const void *, size_t);\nsize_t strnlen(const char *, size_t);\nint strncmp(const char *, const char *, size_t);\n' \
        > "$W/libc32/string.h"
    printf '#pragma once\n#include <stddef.h>\nint strcasecmp(const char *, const char *);\nint strncasecmp(const char *, const char *, size_t);\n' \
        > "$W/libc32/strings.h"
    printf '#pragma once\n#define assert(e) ((void)0)\n' > "$W/libc32/assert.h"
    printf '#pragma once\nvoid abort(void);\n' >> "$W/libc32/stdlib.h"
    # ESP-IDF's libc is newlib (Debian's libnewlib-dev has its headers): use
    # it when present. <sys/socket.h> comes from lwIP on a device: its
    # address families, as lwIP numbers them.
    mkdir -p "$W/lwip32/sys"
    printf '#pragma once\n#define AF_UNSPEC 0\n#define AF_INET 2\n#define AF_INET6 10\n' > "$W/lwip32/sys/socket.h"
    libc32=(-I"$W/libc32")
    [ -f /usr/include/newlib/stdio.h ] && libc32=(-isystem /usr/include/newlib)
    libc32+=(-I"$W/lwip32")
    rv_ok=1
    for f in "$RF_SRC/port/esp_idf/self_reflasher_port_esp_idf.c:example_download_host" \
             "$DL/main/boot_swap_download.c:example_download_host" \
             "$EM/main/boot_swap_embedded.c:example_embedded_host"; do
        riscv64-unknown-elf-gcc -ffreestanding -march=rv32imc_zicsr -mabi=ilp32 -std=gnu17 -fsyntax-only \
            -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral \
            -DEXAMPLE_TARGET_BIN_START='"s"' -DEXAMPLE_TARGET_BIN_END='"e"' "${libc32[@]}" \
            -I"$RF_BIN/idf_host/${f##*:}" -I"$RF_SRC/include" -I"$RF_SRC/core/include" \
            -I"$RF_SRC/host/compat/include" "${f%:*}" || rv_ok=0
    done
    check "port and examples: no warning for a 32-bit newlib target (uint32_t is unsigned long there)" [ "$rv_ok" = 1 ]
fi

if [ ! -f "$APP" ] || [ ! -f "$BOOT" ]; then
    echo "# no fixtures in $FIX: the runs are skipped"
    echo "$FAILS failure(s)"
    [ "$FAILS" -eq 0 ]
    exit
fi

# ---- 2. the emulation and the port, checked --------------------------------
echo "# idf_emul_check"
mkdir -p "$W/srv"
python3 -c "
import sys
open(sys.argv[1], 'wb').write(bytes(((7 * i + i // 251) & 0xFF) for i in range(100000)))" "$W/srv/data.bin"
python3 "$RF_SRC/tests/support/http_server.py" --root "$W/srv" --port-file "$W/srv.port" --max-seconds 550 \
    > "$W/srv.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/srv.port" ] && break; sleep 0.1; done
SRV="http://127.0.0.1:$(cat "$W/srv.port")"
cp "$BOOT" "$W/srv/mcuboot-esp32.bin"
new_device "$DL/partitions.csv" "$W/check.img"
printf 'nvs, data, nvs, , 0x4000,\notadata, data, ota, , 0x2000,\nfactory, app, factory, 0x10000, 1M,\nro, data, spiffs, 0x110000, 0x10000, readonly\n' \
    > "$W/ro.csv"
new_device "$W/ro.csv" "$W/ro.img"
if "$RF_BIN/idf_emul_check" "$W/check.img" "$SRV" "$W/ro.img" > "$W/check.log" 2>&1; then
    ok "idf_emul_check: $(grep -c '^ok' "$W/check.log") documented behaviours of the emulation and the port"
else
    grep -v '^ok' "$W/check.log" || true
    bad "idf_emul_check"
fi
new_device "$DL/partitions.csv" "$W/https.img"
if "$RF_BIN/idf_emul_check_https_only" "$W/https.img" "$SRV" > "$W/https.log" 2>&1 &&
   grep -q '^ok .*download_bin(http://.*ESP_ERR_NOT_SUPPORTED' "$W/https.log" &&
   grep -q '^ok .*nothing erased or written, the whole flash unchanged' "$W/https.log"; then
    ok "component defaults (SELF_REFLASHER_ALLOW_PLAIN_HTTP off): http:// refused before anything is written"
else
    grep -v '^ok' "$W/https.log" || true
    bad "idf_emul_check_https_only"
fi

# ---- 3. the download example ------------------------------------------------
echo "# boot_swap_download_example"
mkdir -p "$W/www"
cp "$APP" "$W/www/app_upd.bin"
cp "$BOOT" "$W/www/mcuboot-esp32.bin"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$W/www" > "$W/www.log" 2>&1 &
PIDS+=($!)
PORT=""
for _ in $(seq 100); do
    PORT=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$W/www.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { cat "$W/www.log"; bad "python3 -m http.server did not start"; exit 1; }
URL_APP="http://127.0.0.1:$PORT/app_upd.bin"
URL_BOOT="http://127.0.0.1:$PORT/mcuboot-esp32.bin"

new_device "$DL/partitions.csv" "$W/dl_fresh.img"
for d in dl_example dl_cli dl_404 dl_bootfail; do
    cp "$W/dl_fresh.img" "$W/$d.img"
    cp "$W/dl_fresh.img.meta" "$W/$d.img.meta"
done
rc=0
"$RF_BIN/example_download_host" --device "$W/dl_example.img" \
    CONFIG_EXAMPLE_APP_UPGRADE_URL="$URL_APP" CONFIG_EXAMPLE_BOOTLOADER_UPGRADE_URL="$URL_BOOT" \
    > "$W/dl_example.log" 2>&1 || rc=$?
check "download example: exits 0 (it called esp_restart)" [ "$rc" = 0 ]
check "download example: logs the reboot" grep -q "rebooting" "$W/dl_example.log"
[ "$rc" = 0 ] || tail -20 "$W/dl_example.log"
"$REFLASHER" migrate --allow-http --device "$W/dl_cli.img" --image "$URL_APP@0x110000:0x100000" \
    --image "$URL_BOOT@0x1000:0xF000" --quiet > "$W/dl_cli.log" 2>&1 || bad "reflasher migrate (download)"
check "download example and 'reflasher migrate --image ... --image ...': identical devices" \
    cmp "$W/dl_example.img" "$W/dl_cli.img"
check "download example: the app at 0x110000" cmp <(slice "$W/dl_example.img" $((0x110000)) $((0x100000))) "$APP"
blen=$(stat -c %s "$BOOT")
check "download example: MCUboot at 0x1000, 0xFF to 0x10000" \
    cmp <(slice "$W/dl_example.img" $((0x1000)) $((0xF000))) <(cat "$BOOT"; ff_bytes $((0xF000 - blen)))
same_slice() {   # same_slice A B OFF LEN
    cmp <(slice "$1" "$3" "$4") <(slice "$2" "$3" "$4")
}
# The journal's declared area is the last two sectors of the flash (0x3FE000..0x400000).
check "download example: nothing else changed outside the two regions, the staging partition ota_1 and the journal" \
    eval 'same_slice "$W/dl_example.img" "$W/dl_fresh.img" 0 $((0x1000)) &&
          same_slice "$W/dl_example.img" "$W/dl_fresh.img" $((0x10000)) $((0x100000)) &&
          same_slice "$W/dl_example.img" "$W/dl_fresh.img" $((0x310000)) $((0xEE000))'

# Stops at the first failure: the app cannot be downloaded, nothing is written.
rc=0
"$RF_BIN/example_download_host" --device "$W/dl_404.img" \
    CONFIG_EXAMPLE_APP_UPGRADE_URL="$SRV/app_upd.bin?status=404" CONFIG_EXAMPLE_BOOTLOADER_UPGRADE_URL="$URL_BOOT" \
    > "$W/dl_404.log" 2>&1 || rc=$?
check "download example, app URL answers 404: exits 1 (no restart), says why" \
    bash -c "[ $rc = 1 ] && grep -q 'application: download failed: ESP_ERR_NOT_FOUND' '$W/dl_404.log'"
check "download example, app URL answers 404: the bootloader step is never attempted" \
    bash -c "! grep -q 'bootloader:' '$W/dl_404.log'"
check "download example, app URL answers 404: the device is unchanged" cmp "$W/dl_404.img" "$W/dl_fresh.img"
# The bootloader download breaks off: the app is in place, the bootloader region untouched.
rc=0
"$RF_BIN/example_download_host" --device "$W/dl_bootfail.img" \
    CONFIG_EXAMPLE_APP_UPGRADE_URL="$URL_APP" CONFIG_EXAMPLE_BOOTLOADER_UPGRADE_URL="$SRV/mcuboot-esp32.bin?close_at=5000" \
    > "$W/dl_bootfail.log" 2>&1 || rc=$?
check "download example, bootloader download cut short: exits 1 with ESP_ERR_HTTP_INCOMPLETE_DATA" \
    bash -c "[ $rc = 1 ] && grep -q 'bootloader: download failed: ESP_ERR_HTTP_INCOMPLETE_DATA' '$W/dl_bootfail.log'"
check "download example, bootloader download cut short: the bootloader region is untouched" \
    cmp <(slice "$W/dl_bootfail.img" 0 $((0x10000))) <(slice "$W/dl_fresh.img" 0 $((0x10000)))

# ---- 4. the embedded example ------------------------------------------------
echo "# boot_swap_embedded_example"
# The reference's app_upd.merged.bin: MCUboot at 0, 0xFF to 0xF000, the app at 0xF000.
MERGED=$W/bin/app_upd.merged.bin
mkdir -p "$W/bin"
{ cat "$BOOT"; ff_bytes $((0xF000 - blen)); cat "$APP"; } > "$MERGED"
check "merged image: 0x10F000 bytes" [ "$(stat -c %s "$MERGED")" = $((0x10F000)) ]
# Embedding is a build step (target_add_binary_data): build the example with
# this image, as idf.py would with CONFIG_EXAMPLE_TARGET_BINARY_DIR_PATH set.
san=$(sed -n 's/^RF_SANITIZE:BOOL=//p' "$RF_BIN/CMakeCache.txt" 2>/dev/null || true)
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$RF_BIN/CMakeCache.txt" 2>/dev/null || true)
if cmake -S "$RF_SRC" -B "$W/build" -DRF_BUILD_TESTS=OFF -DRF_SANITIZE="${san:-OFF}" \
        -DCMAKE_BUILD_TYPE="${bt:-RelWithDebInfo}" \
        -DCONFIG_EXAMPLE_TARGET_BINARY_DIR_PATH="$W/bin" \
        -DCONFIG_EXAMPLE_TARGET_BINARY_NAME=app_upd.merged.bin > "$W/build.log" 2>&1 &&
   cmake --build "$W/build" --target example_embedded_host -j "$(nproc)" >> "$W/build.log" 2>&1; then
    ok "embedded example: built with the merged image embedded"
else
    tail -30 "$W/build.log"
    bad "embedded example: build with the merged image"
fi
new_device "$EM/partitions.csv" "$W/em_fresh.img"
for d in em_example em_cli; do
    cp "$W/em_fresh.img" "$W/$d.img"
    cp "$W/em_fresh.img.meta" "$W/$d.img.meta"
done
rc=0
"$W/build/example_embedded_host" --device "$W/em_example.img" --app-data-at 0x14294 \
    > "$W/em_example.log" 2>&1 || rc=$?
check "embedded example: exits 0 (it called esp_restart)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -20 "$W/em_example.log"
check "embedded example: spi_flash_cache2phys() gave 0x14294" \
    grep -q "at 0x00014294 -> 0x00001000" "$W/em_example.log"
"$REFLASHER" migrate --device "$W/em_cli.img" --embedded "$MERGED@0x1000:0x110000" --at 0x14294 --quiet \
    > "$W/em_cli.log" 2>&1 || bad "reflasher migrate (embedded)"
check "embedded example and 'reflasher migrate --embedded ... --at 0x14294': identical devices" \
    cmp "$W/em_example.img" "$W/em_cli.img"
check "embedded example: the merged image at 0x1000, 0xFF to 0x111000" \
    cmp <(slice "$W/em_example.img" $((0x1000)) $((0x110000))) <(cat "$MERGED"; ff_bytes $((0x1000)))

# The project's own build embeds a generated demo image: same comparison.
DEMO=$RF_BIN/idf_host/example_embedded_host/example_bin_dir/app_upd.merged.bin
if [ -x "$RF_BIN/example_embedded_host" ] && [ -f "$DEMO" ]; then
    for d in demo_example demo_cli; do
        cp "$W/em_fresh.img" "$W/$d.img"
        cp "$W/em_fresh.img.meta" "$W/$d.img.meta"
    done
    rc=0
    "$RF_BIN/example_embedded_host" --device "$W/demo_example.img" > "$W/demo.log" 2>&1 || rc=$?
    "$REFLASHER" migrate --device "$W/demo_cli.img" --embedded "$DEMO@0x1000:0x110000" --at 0x10020 --quiet \
        > /dev/null 2>&1 || true
    check "embedded example, demo image at its default place (0x10020): same as the reflasher" \
        bash -c "[ $rc = 0 ] && cmp '$W/demo_example.img' '$W/demo_cli.img'"
fi

echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
