#!/usr/bin/env bash
# Boot a migration's flash images in Espressif's QEMU (machine esp32: the real
# ESP32 ROM, then the real ESP-IDF bootloader or MCUboot) and compare what the emulated
# chip boots with our boot model (`reflasher boot`).
#
#   scripts/qemu_boot_check.sh [BUILD_DIR]      (default build/ci; needs BUILD_DIR/reflasher)
#
#   QEMU          qemu-system-xtensa of Espressif's fork (default: the one on PATH)
#   QEMU_BIOS     directory with esp32-v3-rom.bin, passed as -L (default: QEMU finds its own)
#   QEMU_TIMEOUT  seconds each boot may take (default 20; 10 with ALL=1)
#   ALL=1         also cut before every write op 1..N+1 of the trace (N+1: the complete
#                 migration); an image identical to one already booted is not booted again
#   RF_SHARED     ../shared (fixtures, seeds), default: beside the repository
#   KEEP          a directory to keep the images and serial logs in (default: a temp dir)
#   MODE=embedded the embedded migration instead (the reference's embedded example: the merged
#                 image inside the running factory app, copied to 0x1000 over it, after the
#                 running app is backed up to ota_0 and selected in otadata)
#
# Images: the old system (real ESP-IDF v5.1.2 bootloader + hello_world), the migrated device
# (app_upd.bin -> 0x110000, mcuboot-esp32.bin -> 0x1000:0xF000), that device again after
# QEMU's first boot (MCUboot has swapped the slots), and power cuts before write op K of the
# migration. A cut image is the old image with ops 1..K-1 of `reflasher rehearse --trace`
# replayed, each program taking its bytes from the migrated image: exact everywhere but in
# the journal (0x3fe000..0x400000), which the end of the migration erases and nothing at
# boot reads. The "sweep" column is rehearse's own verdict for that cut (for the cut before
# op N+1, its reference run's).
# Exits 1 if QEMU and the model disagree on any image; 0 with "skipped" without QEMU.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build/ci}" && pwd)
R=$build/reflasher
shared=${RF_SHARED:-$repo/../shared}
QEMU=${QEMU:-$(command -v qemu-system-xtensa || true)}
ALL=${ALL:-0}
MODE=${MODE:-download}
TMO=${QEMU_TIMEOUT:-$([ "$ALL" = 1 ] && echo 10 || echo 20)}

if [ -z "$QEMU" ] || ! "$QEMU" -machine help 2>/dev/null | grep -q '^esp32 '; then
    echo "skipped: no Espressif QEMU (set QEMU to a qemu-system-xtensa with machine esp32)"
    exit 0
fi
if [ ! -r "$shared/fixtures/app_upd.bin" ] || [ ! -x "$R" ]; then
    echo "skipped: need $shared/fixtures and $R"
    exit 0
fi
F=$shared/fixtures
W=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/rf-qemu-XXXXXX")}
mkdir -p "$W"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
cd "$W"

# ---- images --------------------------------------------------------------------------------
if [ "$MODE" = embedded ]; then
    # the embedded example's layout; the merged image (MCUboot at 0, app_upd.bin at 0xF000, as
    # the reference's example_bin_dir has it) inside the factory partition, past hello_world's
    # end; the destination covers the running app, so the migration first backs it up to ota_0
    # and selects that copy in otadata: the real bootloader must then boot the backup
    cp "$repo/examples/boot_swap_embedded_example/partitions.csv" parts.csv
    head -c $((0x10F000)) /dev/zero | tr '\0' '\377' >merged.bin
    dd if="$F/mcuboot-esp32.bin" of=merged.bin conv=notrunc status=none
    dd if="$F/app_upd.bin" of=merged.bin bs=4096 seek=$((0xF000 / 4096)) conv=notrunc status=none
    IMGS=(--embedded merged.bin@0x1000 --at 0x50000)
else
    cp "$repo/examples/boot_swap_download_example/partitions.csv" parts.csv
    IMGS=(--image "$F/app_upd.bin@0x110000" --image "$F/mcuboot-esp32.bin@0x1000:0xF000")
fi
"$R" device create --chip esp32 --flash-size 4MB --partitions parts.csv --running factory -o old.img \
    --old-system --bootloader "$F/idf-v5.1.2-bootloader-esp32.bin" --app "$F/idf-v5.1.2-hello_world-esp32.bin" >/dev/null
dup() { cp "$1" "$2" && cp "$1.meta" "$2.meta"; }
dup old.img new.img
"$R" migrate --device new.img "${IMGS[@]}" --quiet >/dev/null
"$R" rehearse --device old.img "${IMGS[@]}" --power-cut-sweep --json --quiet --trace ops.csv >sweep.json

# make_cut K [N]: old.img with trace ops 1..K-1 done, and the first N bytes of op K -> cut-K[+N].img
make_cut() {
    local out=cut-$1${2:++$2}.img
    dup old.img "$out"
    while IFS=, read -r op kind addr len _; do
        if [ "$op" -ge "$1" ]; then
            if [ "$op" != "$1" ] || [ -z "${2:-}" ]; then break; fi
            len=$2
        fi
        if [ "$kind" = erase ]; then
            head -c $((len)) /dev/zero | tr '\0' '\377'
        else
            dd if=new.img bs=4096 iflag=skip_bytes,count_bytes skip=$((addr)) count=$((len)) status=none
        fi | dd of="$out" bs=4096 oflag=seek_bytes seek=$((addr)) conv=notrunc status=none
    done < <(tail -n +2 ops.csv)
}
# the bootloader window: the trace's first and last op that leave no bootable second stage
w0=$(awk -F, '$7 == 1 { print $1; exit }' ops.csv)
w1=$(awk -F, '$7 == 1 { k = $1 } END { print k }' ops.csv)
cuts=($((w0 / 4)) "$w0" $((w0 + 1)) $(((w0 + w1) / 2 + 1)) $((w1 + 1)))
[ "$ALL" != 1 ] || mapfile -t cuts < <(seq 1 "$(($(tail -n +2 ops.csv | wc -l) + 1))")
for k in "${cuts[@]}"; do make_cut "$k"; done
# op w1 (the bootloader's last program) cut after its checksum byte, half-way into the appended
# SHA-256: which of the two footers does the ROM check?
w1_addr=$(awk -F, -v k="$w1" '$1 == k { print $3 }' ops.csv)
part=$((0x1000 + $(stat -c %s "$F/mcuboot-esp32.bin") - 16 - w1_addr))
make_cut "$w1" "$part"

# ---- boots ---------------------------------------------------------------------------------
# qemu_boot IMG LOG: boot IMG (written in place, as flash is) until a verdict shows or the timeout
qemu_boot() {
    # eFuse BLK0 with CHIP_VER_REV1 (word 3 bit 15) and CHIP_VER_REV2 (word 5 bit 20): an ECO3 chip
    head -c 124 /dev/zero >efuse.bin
    printf '\200' | dd of=efuse.bin bs=1 seek=13 conv=notrunc status=none
    printf '\020' | dd of=efuse.bin bs=1 seek=22 conv=notrunc status=none
    "$QEMU" ${QEMU_BIOS:+-L "$QEMU_BIOS"} -machine esp32 -m 4M -display none -monitor none -nic none \
        -drive file="$1",if=mtd,format=raw \
        -drive file=efuse.bin,if=none,format=raw,id=efuse -global driver=nvram.esp32.efuse,property=drive,value=efuse \
        -serial file:"$2" </dev/null >/dev/null 2>&1 &
    local pid=$! t=0
    while [ $t -lt "$TMO" ] && kill -0 $pid 2>/dev/null && ! grep -saqE 'Hello world!|nsh> ' "$2" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
    done
    sleep 1
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
}
classify() {
    if grep -saq 'Hello world!' "$1"; then echo OLD
    elif grep -saq 'MCUboot' "$1" && grep -saqE 'NuttShell|nsh> ' "$1"; then echo NEW
    elif grep -saqE 'ESP-IDF|MCUboot' "$1"; then echo OTHER
    else echo BRICK; fi
}
sweep_says() { # the sweep's outcome for a cut before op $1
    python3 -c 'import json, sys
k, s = int(sys.argv[2]), json.load(open(sys.argv[1]))
print(next((r["outcome"] for r in s["runs"] if r["cut"] == "before" and r["first"] <= k <= r["last"]),
           s["reference_run"]["boot"] if k == s["write_ops"] + 1 else "?"))' sweep.json "$1" 2>/dev/null || echo "?"
}

names=(old new new-rebooted)
for k in "${cuts[@]}"; do names+=("cut-$k"); done
names+=("cut-$w1+$part")
printf '%-14s %-6s %-6s %-6s %s\n' image sweep model qemu agree
bad=0 agreed=0
declare -A seen=() verdict=() # content hash -> the first image booted with it, its QEMU verdict
for n in "${names[@]}"; do
    img=$n.img sweep=-
    [ "$n" != new-rebooted ] || img=new.img # the flash new's boot left behind
    case $n in cut-*+*) ;; cut-*) sweep=$(sweep_says "${n#cut-}") ;; esac
    model=$("$R" boot "$img" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
    "$R" boot "$img" >"$n.model.txt" 2>&1 || true
    h=$(sha256sum <"$img") note=
    if [ "$ALL" = 1 ] && [ -n "${seen[$h]:-}" ]; then # booting would show the same: reuse it
        q=${verdict[$h]} note="  (same as ${seen[$h]})"
    else
        seen[$h]=$n
        qemu_boot "$img" "$n.serial.log"
        q=$(classify "$n.serial.log")
        verdict[$h]=$q
    fi
    agree=no
    if [ "$model" = "$q" ] && { [ "$sweep" = - ] || [ "$sweep" = "$model" ]; }; then agree=yes; fi
    if [ $agree = yes ]; then agreed=$((agreed + 1)); else bad=1; fi
    printf '%-14s %-6s %-6s %-6s %s\n' "$n" "$sweep" "$model" "$q" "$agree$note"
done
echo "images and serial logs: $W${KEEP:+ (kept)}"
[ "$ALL" != 1 ] || echo "${#names[@]} images, $agreed agree, $((${#names[@]} - agreed)) disagree"
exit $bad
