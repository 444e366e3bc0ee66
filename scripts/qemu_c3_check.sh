#!/usr/bin/env bash
# Run the component's device build on an ESP32-C3 (Espressif's QEMU, machine esp32c3, the
# chip's real ROM) and compare what it writes with the host tool, byte for byte.
#
#   scripts/qemu_c3_check.sh [BUILD_DIR]      (default build/ci; needs BUILD_DIR/reflasher)
#
#   QEMU_RV       qemu-system-riscv32 of Espressif's fork (default: the one on PATH)
#   QEMU_BIOS     directory with esp32c3-rom.bin, passed as -L (default: QEMU finds its own)
#   MBEDTLS_SRC   an Mbed TLS 3.x source tree (its library/sha256.c, md5.c, platform_util.c
#                 are built for the chip: the hashes the component calls)
#   QEMU_TIMEOUT  seconds the run may take (default 120)
#   RF_SHARED     ../shared (fixtures), default: beside the repository
#   KEEP          a directory to keep the images and the serial log in (default: a temp dir)
#
# The device: the reference's embedded example (as scripts/qemu_boot_check.sh MODE=embedded:
# the real ESP-IDF v5.1.2 bootloader and hello_world, the merged MCUboot + app_upd.bin image
# inside the running factory app at 0x50000, to be copied to 0x1000). Its 4 MB flash lies at
# 0x400000 of the chip's 8 MB; at 0x0 lies tests/target/esp32c3 (harness.c), built from the
# sources scripts/footprint.py measures with its flags (rv32imc, -Os, function sections,
# -msave-restore) and loaded by the ROM into internal RAM as a second-stage bootloader. It calls
# esp_self_reflasher_directly_copy_to_region_with() with a platform whose flash calls are the
# ROM's esp_rom_spiflash_* functions. Afterwards the device's flash must equal what
# `reflasher migrate` leaves from the same start.
# Then the download example's calls (init, download_bin, copy_to_region, upd_next_config, ...), each
# "download" read from the chip's flash below the device, against `reflasher migrate --image ...`.
# Exits 1 on a difference or a failed run; 0 with "skipped" when something it needs is missing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build/ci}" && pwd)
R=$build/reflasher
shared=${RF_SHARED:-$repo/../shared}
QEMU=${QEMU_RV:-$(command -v qemu-system-riscv32 || true)}
TMO=${QEMU_TIMEOUT:-120}
CC=riscv64-unknown-elf-gcc
PICO=/usr/lib/picolibc/riscv64-unknown-elf
BASE=0x400000

skip() { echo "skipped: $*"; exit 0; }
[ -n "$QEMU" ] && "$QEMU" -machine help 2>/dev/null | grep -q '^esp32c3 ' ||
    skip "no Espressif QEMU (set QEMU_RV to a qemu-system-riscv32 with machine esp32c3)"
[ -n "${MBEDTLS_SRC:-}" ] && [ -f "$MBEDTLS_SRC/library/sha256.c" ] || skip "set MBEDTLS_SRC to an Mbed TLS 3.x tree"
command -v $CC >/dev/null || skip "no $CC"
[ -f "$PICO/lib/rv32im/ilp32/libc.a" ] || skip "no picolibc for rv32im (apt-get install picolibc-riscv64-unknown-elf)"
[ -r "$shared/fixtures/app_upd.bin" ] && [ -x "$R" ] || skip "need $shared/fixtures and $R"
F=$shared/fixtures
W=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/rf-c3-XXXXXX")}
mkdir -p "$W"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
cd "$W"

# ---- the device, and what the host tool makes of it ----------------------------------------
cp "$repo/examples/boot_swap_embedded_example/partitions.csv" parts.csv
head -c $((0x10F000)) /dev/zero | tr '\0' '\377' >merged.bin
dd if="$F/mcuboot-esp32.bin" of=merged.bin conv=notrunc status=none
dd if="$F/app_upd.bin" of=merged.bin bs=4096 seek=$((0xF000 / 4096)) conv=notrunc status=none
"$R" device create --chip esp32 --flash-size 4MB --partitions parts.csv --running factory -o old.img \
    --old-system --bootloader "$F/idf-v5.1.2-bootloader-esp32.bin" --app "$F/idf-v5.1.2-hello_world-esp32.bin" >/dev/null
# the running app's flash holds the image (where the embedded example's binary would have it)
dd if=merged.bin of=old.img bs=4096 seek=$((0x50000 / 4096)) conv=notrunc status=none
cp old.img new.img && cp old.img.meta new.img.meta
"$R" migrate --device new.img --embedded merged.bin@0x1000 --at 0x50000 --quiet >/dev/null

# ---- the harness: the footprint's sources and flags, for the chip ---------------------------
mkdir -p obj cfg ext/sys
# lwIP provides <sys/socket.h> on a device; esp_http_client.h needs its address families
printf '#pragma once\n#define AF_UNSPEC 0\n#define AF_INET 2\n#define AF_INET6 10\n' >ext/sys/socket.h
cat >cfg/sdkconfig.h <<'EOF'
#pragma once
#define CONFIG_IDF_TARGET "esp32c3"
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_SELF_REFLASHER_BUFFER_SIZE 4096
#define CONFIG_SELF_REFLASHER_VERIFY_DEFAULT 1
EOF
# Mbed TLS with only the hashes the component calls (no clock, no entropy on this bare chip)
printf '#pragma once\n#define MBEDTLS_SHA256_C\n#define MBEDTLS_MD5_C\n' >cfg/rf_mbedtls_config.h
MBED=(-DMBEDTLS_CONFIG_FILE='"rf_mbedtls_config.h"')
FLAGS=(-march=rv32imc_zicsr -mabi=ilp32 -Os -ffunction-sections -fdata-sections -std=gnu17 -msave-restore -Werror
       -fno-common -Wall -Wno-unused-parameter -DESP_PLATFORM=1)
INC=(-Icfg -I"$repo/include" -I"$repo/core/include" -I"$repo/host/compat/include" -I"$MBEDTLS_SRC/include"
     -isystem ext -isystem "$PICO/include")
srcs=("$repo"/core/src/*.c "$repo"/src/*.c "$repo/crypto/rf_crypto_mbedtls.c" "$repo/crypto/rf_sig_none.c"
      "$repo/host/compat/src/esp_err_to_name.c")
# the embedded call's arguments: the example's (merged image at 0x50000 -> 0x1000, 0x10F000 bytes);
# the download example's images, read from the chip's flash below the device
APP_AT=0x100000
BL_AT=0x300000
DEFS=(-DRF_C3_BASE=$BASE -DRF_C3_FLASH=0x800000 -DRF_C3_DEVICE_CHIP=0 -DRF_C3_SRC=0x50000 -DRF_C3_DST=0x1000
      -DRF_C3_LEN=0x10F000 -DRF_C3_APP_URL="\"c3flash:$APP_AT+$(stat -c %s "$F/app_upd.bin")\""
      -DRF_C3_BL_URL="\"c3flash:$BL_AT+$(stat -c %s "$F/mcuboot-esp32.bin")\"")
objs=()
for s in "${srcs[@]}"; do
    o=obj/$(basename "${s%.c}").o
    $CC "${FLAGS[@]}" "${INC[@]}" "${MBED[@]}" "${DEFS[@]}" -c "$s" -o "$o"
    objs+=("$o")
done
for s in sha256 md5 platform_util; do
    $CC -march=rv32imc_zicsr -mabi=ilp32 -Os -ffunction-sections -fdata-sections "${MBED[@]}" -Icfg \
        -I"$MBEDTLS_SRC/include" -isystem "$PICO/include" -c "$MBEDTLS_SRC/library/$s.c" -o "obj/mbedtls_$s.o"
    objs+=("obj/mbedtls_$s.o")
done
$CC -march=rv32imc_zicsr -mabi=ilp32 -c "$repo/tests/target/esp32c3/start.S" -o obj/start.o
LIBGCC=$($CC -march=rv32im -mabi=ilp32 -print-libgcc-file-name)
# two programs: the embedded call (harness-emb.bin), the download example's calls (harness-dl.bin)
for v in emb dl; do
    extra=()
    [ $v = dl ] && extra=(-DRF_C3_DOWNLOAD=1)
    $CC "${FLAGS[@]}" "${INC[@]}" "${DEFS[@]}" "${extra[@]}" -c "$repo/tests/target/esp32c3/harness.c" \
        -o obj/harness-$v.o
    $CC -march=rv32imc_zicsr -mabi=ilp32 -nostdlib -nostartfiles -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
        -T "$repo/tests/target/esp32c3/harness.ld" -Wl,-Map,harness-$v.map obj/start.o obj/harness-$v.o \
        "${objs[@]}" "$PICO/lib/rv32im/ilp32/libc.a" "$LIBGCC" -o harness-$v.elf
    python3 "$repo/tests/target/esp32c3/mkimage.py" harness-$v.elf harness-$v.bin
    riscv64-unknown-elf-size harness-$v.elf | tail -1 |
        awk -v v=$v '{printf "harness-%s: text %d, data %d, bss %d bytes\n", v, $1, $2, $3}'
done

# ---- runs: the chip's flash is the harness at 0x0 and a device at BASE ---------------------
# run_c3 DEVICE_IMG NAME HARNESS: boot it; NAME.serial.log, NAME.after.img; prints the call's result
run_c3() {
    head -c $((0x800000)) /dev/zero | tr '\0' '\377' >"$2.flash.bin"
    dd if="$3" of="$2.flash.bin" conv=notrunc status=none
    dd if="$F/app_upd.bin" of="$2.flash.bin" bs=4096 seek=$((APP_AT / 4096)) conv=notrunc status=none
    dd if="$F/mcuboot-esp32.bin" of="$2.flash.bin" bs=4096 seek=$((BL_AT / 4096)) conv=notrunc status=none
    dd if="$1" of="$2.flash.bin" bs=4096 seek=$((BASE / 4096)) conv=notrunc status=none
    "$QEMU" ${QEMU_BIOS:+-L "$QEMU_BIOS"} -machine esp32c3 -display none -monitor none -nic none \
        -drive file="$2.flash.bin",if=mtd,format=raw -serial file:"$2.serial.log" </dev/null >"$2.qemu.out" 2>&1 &
    local pid=$! t=0
    while [ $t -lt "$TMO" ] && kill -0 $pid 2>/dev/null && ! grep -saq 'RF-C3 RESULT' "$2.serial.log" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
    done
    sleep 1
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    dd if="$2.flash.bin" of="$2.after.img" bs=4096 skip=$((BASE / 4096)) status=none
    rm -f "$2.flash.bin"
    grep -sa 'ESP-ROM\|^load:\|self_reflasher\|RF-C3' "$2.serial.log" | sed "s/^/  $2: /" >&2 || true
    grep -sao 'RF-C3 RESULT [-0-9]*' "$2.serial.log" | awk '{print $3}' | head -1 || true
}
fail=0
# expect_same NAME RESULT BEFORE EXPECTED WHAT: the run returned 0 and left the device as EXPECTED
expect_same() {
    if [ "$2" != 0 ]; then
        echo "FAIL $1: the calls returned ${2:-nothing} (logs in $W)"
        fail=1
    elif cmp -s "$1.after.img" "$4"; then
        echo "PASS $1: the device's 4 MB after $5 on the ESP32-C3 equal reflasher migrate's, byte for byte" \
             "($(cmp -l "$3" "$4" | wc -l) bytes changed)"
    else
        echo "FAIL $1: $(cmp -l "$1.after.img" "$4" | wc -l) bytes differ from reflasher migrate's; first:"
        cmp -l "$1.after.img" "$4" | head -3
        fail=1
    fi
}

# 1. the migration: the device must end as reflasher migrate leaves it
expect_same migrate "$(run_c3 old.img migrate harness-emb.bin)" old.img new.img "the embedded call"

# 2. a corrupt image (one byte of app_upd.bin's payload flipped where the running app holds it):
# refused before anything is written, as on the host
cp merged.bin bad.bin
at=$((0xF000 + 0x2000))
printf "\\$(printf '%03o' $(( $(od -An -tu1 -j$at -N1 merged.bin) ^ 0x01 )))" |
    dd of=bad.bin bs=1 seek=$at conv=notrunc status=none
cp old.img bad.img && cp old.img.meta bad.img.meta
dd if=bad.bin of=bad.img bs=4096 seek=$((0x50000 / 4096)) conv=notrunc status=none
cp bad.img bad-host.img && cp bad.img.meta bad-host.img.meta
host_rc=0
"$R" migrate --device bad-host.img --embedded bad.bin@0x1000 --at 0x50000 --quiet >/dev/null 2>&1 || host_rc=$?
cmp -s bad-host.img bad.img || host_rc="$host_rc, and it changed the flash"
result=$(run_c3 bad.img refused harness-emb.bin)
if [ "${result:-0}" = 0 ] || [ -z "$result" ]; then
    echo "FAIL refused: the call returned ${result:-nothing} for a corrupt image (logs in $W)"
    fail=1
elif cmp -s refused.after.img bad.img; then
    echo "PASS refused: a corrupt image is refused on the ESP32-C3 (esp_err_t $result), the device's 4 MB" \
         "unchanged (reflasher migrate: exit $host_rc)"
else
    echo "FAIL refused: $(cmp -l refused.after.img bad.img | wc -l) bytes changed although the image was refused"
    fail=1
fi

# 3. the download example: its device (the same real old system on its table), the calls of
# boot_swap_download.c (app_upd.bin -> 0x110000, then mcuboot-esp32.bin -> 0x1000), each
# "download" read from the chip's flash; the device must end as reflasher migrate leaves it
cp "$repo/examples/boot_swap_download_example/partitions.csv" dl-parts.csv
"$R" device create --chip esp32 --flash-size 4MB --partitions dl-parts.csv --running factory -o dl-old.img \
    --old-system --bootloader "$F/idf-v5.1.2-bootloader-esp32.bin" --app "$F/idf-v5.1.2-hello_world-esp32.bin" >/dev/null
cp dl-old.img dl-new.img && cp dl-old.img.meta dl-new.img.meta
"$R" migrate --device dl-new.img --image "$F/app_upd.bin@0x110000" --image "$F/mcuboot-esp32.bin@0x1000:0xF000" \
    --quiet >/dev/null
expect_same download "$(run_c3 dl-old.img download harness-dl.bin)" dl-old.img dl-new.img \
    "the download example's calls"
exit $fail
