#!/usr/bin/env bash
# `reflasher device create --old-system` and `reflasher boot` end to end:
# a fresh old system boots OLD; the reference download example's end state
# (app_upd.bin at 0x110000, MCUboot at 0x1000) boots NEW; damage is BRICK
# (exit 1); `device create` without --old-system is unchanged.
set -euo pipefail

: "${REFLASHER:?REFLASHER must point to the reflasher binary}"
SEEDS="${RF_SHARED:-}/seeds"
FIX="${RF_SHARED:-}/fixtures"
CSV="$SEEDS/boot_swap_download_example-partitions.csv"
ECSV="$SEEDS/boot_swap_embedded_example-partitions.csv"
if [ -z "${RF_SHARED:-}" ] || [ ! -r "$CSV" ] || [ ! -r "$FIX/app_upd.bin" ]; then
    echo "SKIP: ../shared not available"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/rf-oldsys-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME EXPECTED_RC CMD...: stdout in $T/NAME.out, stderr in $T/NAME.err
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$T/$name.out" "$T/$name.err" | head -40
    fi
}
has() {
    local name=$1
    shift
    for p in "$@"; do
        grep -Eq -- "$p" "$T/$name.out" || { fail "$name: no line matches: $p"; sed 's/^/    /' "$T/$name.out" | head -20; }
    done
}
# put FILE DEVICE ADDR
put() { dd if="$1" of="$2" bs=4096 seek="$(($3 / 4096))" conv=notrunc status=none; }
# ff DEVICE ADDR LEN
ff() { head -c "$3" /dev/zero | tr '\0' '\377' | dd of="$1" bs=4096 seek="$(($2 / 4096))" conv=notrunc status=none; }
# flip FILE OFFSET
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
byte() { od -An -tx1 -j "$2" -N1 "$1" | tr -d ' '; }

D="$T/dev.img"
# ---- without --old-system: unchanged (blank but the partition table) ----------------
run plain 0 "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$CSV" --running factory -o "$T/plain.img"
[ "$(byte "$T/plain.img" $((0x1000)))" = ff ] || fail "plain: bootloader area not blank"
[ "$(byte "$T/plain.img" $((0x10000)))" = ff ] || fail "plain: factory not blank"
grep -q old_bootloader_sha256 "$T/plain.img.meta" && fail "plain: meta has old_bootloader_sha256"
run plain_boot 1 "$REFLASHER" boot "$T/plain.img"
has plain_boot '^BRICK: ROM: no valid second-stage bootloader at 0x1000'

# ---- the old system -----------------------------------------------------------------
run create 0 "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$CSV" --running factory -o "$D" --old-system
has create '^created ' 'old system: ESP-IDF bootloader at 0x1000 .*sha256 [0-9a-f]{64}.*app at 0x10000'
grep -Eq '^old_bootloader_sha256=[0-9a-f]{64}$' "$D.meta" || fail "meta: no old_bootloader_sha256"
[ "$(byte "$D" $((0x1000)))" = e9 ] || fail "no ESP image at 0x1000"
[ "$(byte "$D" $((0x10000)))" = e9 ] || fail "no ESP image at 0x10000"
run boot_old 0 "$REFLASHER" boot "$D"
has boot_old "^OLD: ESP-IDF bootloader at 0x1000 boots factory at 0x10000: 'old_app' 1.0.0"
run boot_old_json 0 "$REFLASHER" boot "$D" --json
has boot_old_json '"result":"OLD"' '"kind":"ESP-IDF"' '"project":"old_app"'
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/boot_old_json.out" || fail "boot --json: not JSON"
fi
if "$REFLASHER" inspect "$D" >"$T/inspect.out" 2>&1; then
    grep -q 'old_app' "$T/inspect.out" || echo "note: inspect does not show the app name"
fi

# ---- the download example's steps ------------------------------------------------------
put "$FIX/app_upd.bin" "$D" $((0x110000))
run boot_staged 0 "$REFLASHER" boot "$D"
has boot_staged '^OLD: '
ff "$D" $((0x1000)) $((0xF000))
put "$FIX/mcuboot-esp32.bin" "$D" $((0x1000))
run boot_new 0 "$REFLASHER" boot "$D"
has boot_new '^NEW: MCUboot at 0x1000: swap type perm'
run boot_new_json 0 "$REFLASHER" boot "$D" --json
has boot_new_json '"result":"NEW"' '"kind":"MCUboot"' \
    '"sha256":"19d179ff098fe4aed7c596e9a12a12594b647591db926a94216b4af2db3c458a"' \
    '"image_sha256":"7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8"'
flip "$D" $((0x1000 + 300))
run boot_brick 1 "$REFLASHER" boot "$D"
has boot_brick '^BRICK: ROM: no valid second-stage bootloader at 0x1000'
run boot_brick_json 1 "$REFLASHER" boot "$D" --json
has boot_brick_json '"result":"BRICK"'

# ---- a raw dump with --chip, and usage errors ---------------------------------------------
cp "$D" "$T/raw.bin"
flip "$T/raw.bin" $((0x1000 + 300))
run raw 0 "$REFLASHER" boot "$T/raw.bin" --chip esp32
has raw '^NEW: '
run raw_nochip 2 "$REFLASHER" boot "$T/raw.bin"
run noarg 2 "$REFLASHER" boot
run embed_alone 2 "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$CSV" --running factory \
    -o "$T/e.img" --embed "$FIX/app_upd.bin" --embed-at 0x100000

# ---- embedded mode: merged.bin inside the running app --------------------------------------
M="$T/merged.bin"
head -c $((0xF000)) /dev/zero | tr '\0' '\377' >"$M"
dd if="$FIX/mcuboot-esp32.bin" of="$M" conv=notrunc status=none
cat "$FIX/app_upd.bin" >>"$M"
E="$T/emb.img"
run emb 0 "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$ECSV" --running factory -o "$E" \
    --old-system --embed "$M" --embed-at 0x14294
has emb 'at 0x14294 \(inside the app\)'
cmp -s <(dd if="$E" bs=1 skip=$((0x14294)) count="$(stat -c %s "$M")" status=none) "$M" || fail "embedded bytes differ"
run emb_boot 0 "$REFLASHER" boot "$E"
has emb_boot "^OLD: .*'old_app'"
run emb_bad 1 "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$ECSV" --running factory \
    -o "$T/bad.img" --old-system --embed "$M" --embed-at 0x10010

# ---- other chips and running partitions ----------------------------------------------------
run s3 0 "$REFLASHER" device create --chip esp32s3 --flash-size 4MB --partitions "$CSV" --running ota_0 -o "$T/s3.img" --old-system
has s3 'otadata selecting the running OTA slot'
run s3_boot 0 "$REFLASHER" boot "$T/s3.img"
has s3_boot "^OLD: ESP-IDF bootloader at 0x0 boots ota_0 at 0x110000"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all device --old-system / boot checks passed"
