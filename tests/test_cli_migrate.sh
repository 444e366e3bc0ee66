#!/usr/bin/env bash
# reflasher device create + migrate, as a user scripts them: the reference's
# download scenario with the real fixtures over real HTTP on 127.0.0.1, the
# embedded scenario, and failures that must exit non-zero with the error's
# name and leave the device image byte-for-byte unchanged.
# Reads ../shared (seeds and fixtures).
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}" "${RF_SRC:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] || { echo "SKIP: ../shared not available"; exit 0; }
t=$(mktemp -d); trap 'kill $srv 2>/dev/null || true; rm -rf "$t"' EXIT
cd "$t"
fail() { echo "FAIL: $*"; exit 1; }

python3 "$RF_SRC/tests/support/http_server.py" --root "$fx" --port-file port --max-seconds 300 >/dev/null &
srv=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat port)"

# --- download scenario
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o dev.img >/dev/null
cp dev.img before.img
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" \
    --image "$base/mcuboot-esp32.bin@0x1000:0xF000" --json > summary.json 2> log.txt || fail "migrate failed: $(cat log.txt)"
python3 - summary.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("device_time_ms", "bytes_erased", "bytes_programmed", "bytes_read", "ok"):
    assert k in s, k
assert s["ok"] is True and s["bytes_programmed"] > 0 and s["device_time_ms"] > 0, s
PY
grep -q "src_start 0x00210000 src_end 0x00310000 dest_start 0x00110000 dest_end 0x00210000" log.txt || fail "staging log line"
grep -q "Total downloaded binary length: 1048576 (0x100000)" log.txt || fail "download length line"
grep -q "Total downloaded binary length: 27376 (0x6af0)" log.txt || fail "bootloader length line"
cmp <(dd if=dev.img bs=4096 skip=$((0x110000/4096)) count=256 status=none) "$fx/app_upd.bin" || fail "app region"
cmp <(dd if=dev.img bs=1 skip=$((0x1000)) count=27376 status=none) "$fx/mcuboot-esp32.bin" || fail "bootloader region"
[ "$(dd if=dev.img bs=1 skip=$((0x1000 + 27376)) count=$((0xF000 - 27376)) status=none | tr -d '\377' | wc -c)" = 0 ] \
    || fail "bootloader region tail is not 0xFF"
python3 - dev.img before.img <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
allowed = [(0x1000, 0x10000), (0x110000, 0x210000), (0x210000, 0x310000), (0x3FE000, 0x400000)]  # + journal
bad = [i for i in range(len(a)) if a[i] != b[i] and not any(lo <= i < hi for lo, hi in allowed)]
assert not bad, "changed outside destinations and staging at 0x%x" % bad[0]
PY

# the bootloader given first: the plan moves it last, and the result is the same device
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o rev.img >/dev/null
"$REFLASHER" migrate --allow-http --device rev.img --image "$base/mcuboot-esp32.bin@0x1000:0xF000" \
    --image "$base/app_upd.bin@0x110000:0x100000" > rev.txt 2>&1 || fail "reversed order: $(cat rev.txt)"
grep -q "reordered so that the bootloader region is written last" rev.txt || fail "no reorder note"
cmp -s rev.img dev.img || fail "reversed order gave another device"

# whole-flash inspection of the migrated device: the MCUboot bootloader at
# 0x1000 and the MCUboot image in 0x110000 with its trailer asking for a swap
"$REFLASHER" inspect dev.img > inspect.txt || true
grep -q "bootloader at 0x1000:" inspect.txt || fail "inspect: no bootloader at 0x1000"
grep -A3 "bootloader at 0x1000:" inspect.txt | grep -q "ESP image (bootloader)" || fail "inspect: bootloader type"
grep -q "image at 0x110000" inspect.txt || fail "inspect: no image at 0x110000"
grep -A40 "image at 0x110000" inspect.txt | grep -q "permanent swap requested" || fail "inspect: trailer state"

# --- embedded scenario
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_embedded_example-partitions.csv" \
    --running factory -o emb.img >/dev/null
python3 - "$fx" merged.bin <<'PY'
import sys
bl = open(sys.argv[1] + "/mcuboot-esp32.bin", "rb").read(); app = open(sys.argv[1] + "/app_upd.bin", "rb").read()
m = bytearray(b"\xff" * 0x10F000); m[:len(bl)] = bl; m[0xF000:0xF000 + len(app)] = app
open(sys.argv[2], "wb").write(m)
PY
cp emb.img emb_before.img
"$REFLASHER" migrate --device emb.img --embedded merged.bin@0x1000:0x110000 --at 0x14294 > emb.txt 2>&1 || fail "embedded: $(cat emb.txt)"
cmp <(dd if=emb.img bs=4096 skip=1 count=$((0x10F000/4096)) status=none) merged.bin || fail "embedded destination"
python3 - emb.img emb_before.img merged.bin <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); b = bytearray(open(sys.argv[2], "rb").read())
m = open(sys.argv[3], "rb").read(); b[0x14294:0x14294 + len(m)] = m   # what the "linker" placed
allowed = [(0x1000, 0x111000), (0x210000, 0x390000), (0x3FE000, 0x400000)]   # destination, backup (ota_0), journal
bad = [i for i in range(len(a)) if a[i] != b[i] and not any(lo <= i < hi for lo, hi in allowed)]
assert not bad, "embedded: changed outside the destination at 0x%x" % bad[0]
PY

# --- plain HTTP, as the device's default (SELF_REFLASHER_ALLOW_PLAIN_HTTP off): an
# unpinned http:// source is refused before the device is opened (exit 2, the
# device unchanged); pinned by #sha256= it needs no --allow-http
APP_SHA=42ddba478e89d0ab1e3b6168867196387ef2405531feef2f19badd4627b4e337
cp before.img h.img; cp dev.img.meta h.img.meta
rc=0; "$REFLASHER" migrate --device h.img --image "$base/app_upd.bin@0x110000:0x100000" >out.txt 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unpinned plain HTTP: exit $rc, want 2"
grep -q "image 1: $base/app_upd.bin is plain HTTP: .*--allow-http" out.txt || fail "no plain-HTTP refusal: $(cat out.txt)"
cmp -s h.img before.img || fail "a refused plain-HTTP migration changed the device"
"$REFLASHER" migrate --device h.img --image "$base/app_upd.bin@0x110000:0x100000#sha256=$APP_SHA" --quiet >out.txt 2>&1 \
    || fail "pinned plain HTTP refused: $(cat out.txt)"
cmp -s <(dd if=h.img bs=4096 skip=$((0x110000 / 4096)) count=256 status=none) "$fx/app_upd.bin" \
    || fail "pinned plain HTTP: 0x110000 is not app_upd.bin"

# --- failures: non-zero exit, the error's name, nothing written
check_refused() {   # expected-name, args...
    local want=$1; shift
    cp before.img f.img; cp dev.img.meta f.img.meta
    if "$REFLASHER" migrate --allow-http --device f.img "$@" >out.txt 2>&1; then fail "accepted: $*"; fi
    grep -q "$want" out.txt || fail "no $want in: $(cat out.txt)"
    cmp -s f.img before.img || fail "device changed by a refused migration: $*"
}
cp before.img dev.img && "$REFLASHER" device create --chip esp32 --flash-size 4MB \
    --partitions "$seeds/boot_swap_download_example-partitions.csv" --running factory -o dev.img >/dev/null
check_refused ESP_ERR_NOT_FOUND --image "$base/missing.bin@0x110000:0x100000"
check_refused ESP_ERR_INVALID_RESPONSE --image "$base/app_upd.bin?status=500@0x110000:0x100000"
# a connection reset: refused; the staged part is kept for a resume, so only
# the staging partition and the journal may change
cp before.img f.img; cp dev.img.meta f.img.meta
if "$REFLASHER" migrate --allow-http --device f.img --image "$base/app_upd.bin?close_at=300000@0x110000:0x100000" >out.txt 2>&1; then
    fail "a reset download was accepted"; fi
grep -q ESP_ERR_HTTP_INCOMPLETE_DATA out.txt || fail "no ESP_ERR_HTTP_INCOMPLETE_DATA in: $(cat out.txt)"
python3 - f.img before.img <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
allowed = [(0x210000, 0x310000), (0x3FE000, 0x400000)]   # staging, journal
bad = [i for i in range(len(a)) if a[i] != b[i] and not any(lo <= i < hi for lo, hi in allowed)]
assert not bad, "reset download changed 0x%x" % bad[0]
PY
check_refused ESP_ERR_INVALID_SIZE --image "$base/app_upd.bin@0x110000:0x10000"
check_refused ESP_ERR_INVALID_ARG --image "$base/app_upd.bin@0x10000:0x100000"
# embedded, misaligned destination: refused by the whole plan before the file
# is even placed inside the running app: the device is unchanged
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_embedded_example-partitions.csv" \
    --running factory -o e2.img >/dev/null
if "$REFLASHER" migrate --device e2.img --embedded merged.bin@0x1800:0x110000 >out.txt 2>&1; then fail "misaligned accepted"; fi
grep -q ESP_ERR_INVALID_ARG out.txt || fail "no ESP_ERR_INVALID_ARG for a misaligned embedded destination"
python3 - e2.img emb_before.img <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
assert a == b, "refused embedded migration changed the device"
PY
echo "cli migrate: all checks passed"
