#!/usr/bin/env bash
# reflasher plan, as a user runs it: the reference download scenario over
# real HTTP on 127.0.0.1 (text, --json, --svg rendered to PNG), then refused
# plans (exit 1, "refused: RULE"), content checks (#sha256=, a bootloader for
# another chip, an image that is not an ESP bootloader), usage errors (exit 2).
# Embedded mode (--embedded): the backup of the running app to ota_0 and the
# otadata switch; with no room for a backup, the warning (exit 0; exit 1 with
# --require-backup). No plan writes to the device. Reads ../shared.
# Leaves the drawing of the reference plan at $RF_BIN/plan-reference.svg and
# $RF_BIN/plan-reference.png (when rsvg-convert is installed), and the
# embedded ones at $RF_BIN/plan-embedded{,-nobackup}.{svg,png}.
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}" "${RF_SRC:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] || { echo "SKIP: ../shared not available"; exit 0; }
out_dir="${RF_BIN:-.}"
t=$(mktemp -d); srv=""; trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$t"' EXIT
cd "$t"
fail() { echo "FAIL: $*"; exit 1; }

. "$RF_SRC/tests/support/serve.sh"
rf_serve "$fx" --max-seconds 120 || fail "http server did not start"
srv=$SRV_PID
base="http://127.0.0.1:$SRV_PORT"
APP="$base/app_upd.bin@0x110000:0x100000"
BOOT="$base/mcuboot-esp32.bin@0x1000:0xF000"
APP_SHA=42ddba478e89d0ab1e3b6168867196387ef2405531feef2f19badd4627b4e337
BOOT_SHA=19d179ff098fe4aed7c596e9a12a12594b647591db926a94216b4af2db3c458a

"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o dev.img >/dev/null
cp dev.img before.img

# --- the reference scenario, text
"$REFLASHER" plan --allow-http --device dev.img --image "$APP" --image "$BOOT#sha256=$BOOT_SHA" > plan.txt 2> err.txt \
    || fail "reference plan refused: $(cat err.txt)"
echo "----- reflasher plan (reference download scenario)"; cat plan.txt; echo "-----"
need() { grep -qF -- "$1" plan.txt || fail "plan text lacks '$1'"; }
need "execution order: image 1, image 2"
need "length       1048576 bytes (0x100000)"
need "sha256       $APP_SHA"
need "length       27376 bytes (0x6af0)"
need "sha256       $BOOT_SHA (matches #sha256)"
need "destination  0x110000..0x210000 (0x100000 bytes), kind app-slot"
need "destination  0x1000..0x10000 (0xf000 bytes), kind bootloader"
need "staging      'ota_1' 0x210000..0x310000"
need "the partition table 0x8000..0x9000"
need "'nvs' (data/nvs) 0x9000..0xd000"
need "'otadata' (data/ota) 0xd000..0xf000"
need "'phy_init' (data/phy) 0xf000..0x10000"
need "ESP bootloader for ESP32"
need "MCUboot image"
need "total estimated device time:"
need "bootloader window:"
need "plan valid"
grep -q "reordered" plan.txt && fail "reference order reported as reordered"
# step 2 is the bootloader
awk '/^step 2 of 2/{s=1} s' plan.txt | grep -q "mcuboot-esp32.bin" || fail "bootloader is not step 2"

# --- bootloader given first: reordered, the app goes first
"$REFLASHER" plan --allow-http --device dev.img --image "$BOOT" --image "$APP" > re.txt 2> err.txt || fail "reordered plan: $(cat err.txt)"
grep -q "execution order: image 2, image 1" re.txt || fail "not reordered: $(head -8 re.txt)"
grep -q "reordered:" re.txt || fail "no reorder note"

# --- JSON
"$REFLASHER" plan --allow-http --device dev.img --image "$APP" --image "$BOOT" --json > plan.json 2> err.txt || fail "json: $(cat err.txt)"
python3 - plan.json "$APP_SHA" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["ok"] is True and p["rule"] == "OK", p
assert p["order"] == [1, 2], p["order"]
assert p["reordered"] is False
a, b = p["images"]
assert a["length"] == 1048576 and a["sha256"] == sys.argv[2], a
assert a["kind"] == "app-slot" and a["dest"] == 0x110000 and a["dest_size"] == 0x100000, a
assert a["staging"]["label"] == "ota_1" and a["staging"]["offset"] == 0x210000, a
assert [o["label"] for o in a["overwrites"]] == ["ota_0"], a
assert b["length"] == 27376 and b["kind"] == "bootloader" and b["boot_critical"] is True, b
assert [o["label"] for o in b["overwrites"]] == ["nvs", "otadata", "phy_init"], b
assert b["overwrites_ptable"] is True and b["overwrites_bootloader"] is True, b
assert {c["name"]: c["status"] for c in b["checks"]}["format"] == "passed", b
assert p["est_total_ms"] > 0 and p["window_ms"] > 0 and p["window_step"] == 2, p
assert abs(p["est_total_ms"] - sum(i["est_ms"] for i in p["images"])) < 0.01, p
PY

# --- SVG: well-formed, rendered to PNG for people to look at
"$REFLASHER" plan --allow-http --device dev.img --image "$APP" --image "$BOOT" --svg "$out_dir/plan-reference.svg" >/dev/null \
    || fail "svg plan"
python3 - "$out_dir/plan-reference.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("BEFORE", "AFTER", "factory (running)", "ota_0", "ota_1", "nvs", "otadata", "phy_init",
             "second-stage bootloader", "app_upd.bin", "mcuboot-esp32.bin", "bootloader window", "destroyed"):
    assert want in texts, want
PY
if command -v rsvg-convert >/dev/null; then
    rsvg-convert -o "$out_dir/plan-reference.png" "$out_dir/plan-reference.svg" || fail "rsvg-convert"
    [ -s "$out_dir/plan-reference.png" ] || fail "empty PNG"
    echo "drawing: $out_dir/plan-reference.png"
fi
# a refused plan still draws the map, with the refusal
if "$REFLASHER" plan --allow-http --device dev.img --image "$base/app_upd.bin@0x10000:0x100000" --svg refused.svg >/dev/null 2>&1; then
    fail "refused plan accepted"
fi
python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" refused.svg || fail "refused svg not XML"
grep -q "DEST_OVERLAPS_RUNNING" refused.svg || fail "refused svg lacks the rule"

# --- --no-fetch: destinations only, no network needed
"$REFLASHER" plan --allow-http --device dev.img --image "http://127.0.0.1:1/none.bin@0x110000" --no-fetch > nf.txt 2> err.txt \
    || fail "--no-fetch: $(cat err.txt)"
grep -q "length       unknown (--no-fetch)" nf.txt || fail "--no-fetch output"

# --- plain HTTP (the device's default refuses it): unpinned http:// sources are refused
# before anything is fetched (exit 2), whatever the scheme's case; pinned ones pass
rc=0; "$REFLASHER" plan --device dev.img --image "$APP" --image "$BOOT#sha256=$BOOT_SHA" > out.txt 2> err.txt || rc=$?
[ "$rc" = 2 ] || fail "unpinned plain HTTP: exit $rc, want 2"
grep -q "^reflasher plan: image 1: $base/app_upd.bin is plain HTTP" err.txt || fail "no refusal of image 1: $(cat err.txt)"
grep -q "image 2" err.txt && fail "the pinned image 2 was refused: $(cat err.txt)"
[ -s out.txt ] && fail "a refused plan printed a plan"
rc=0; "$REFLASHER" plan --device dev.img --image "HTTP://${base#http://}/app_upd.bin@0x110000:0x100000" --no-fetch \
    > out.txt 2> err.txt || rc=$?
[ "$rc" = 2 ] || fail "HTTP:// (upper case): exit $rc, want 2"
"$REFLASHER" plan --device dev.img --image "$APP#sha256=$APP_SHA" --image "$BOOT#sha256=$BOOT_SHA" > out.txt 2> err.txt \
    || fail "pinned plain HTTP refused: $(cat err.txt)"
grep -q "plan valid" out.txt || fail "pinned plan not valid"

# --- refusals: exit 1, "refused: RULE", naming the image
refused() {   # RULE, args...
    local want=$1; shift
    local rc=0
    "$REFLASHER" plan --allow-http --device dev.img "$@" > out.txt 2> err.txt || rc=$?
    [ "$rc" = 1 ] || fail "exit $rc (want 1) for $*: $(cat err.txt)"
    grep -q "^refused: $want: " err.txt || fail "no 'refused: $want' for $*: $(cat err.txt)"
}
refused DEST_OVERLAPS_RUNNING --image "$base/app_upd.bin@0x10000:0x100000"
grep -q "(image 1: $base/app_upd.bin)" err.txt || fail "refusal does not name the image: $(cat err.txt)"
refused DEST_ALIGN --image "$APP" --image "$base/mcuboot-esp32.bin@0x1800:0xF000"
grep -q "(image 2: " err.txt || fail "wrong image number: $(cat err.txt)"
refused DEST_OUTSIDE_FLASH --image "$base/app_upd.bin@0x3F0000:0x100000"
refused DEST_EMPTY --image "$base/app_upd.bin@0x310000:0"
refused DEST_OVERLAPS_DEST --image "$APP" --image "$base/mcuboot-esp32.bin@0x200000:0x20000"
refused IMAGE_TOO_LARGE --image "$base/app_upd.bin@0x110000:0x80000"
refused NO_STAGING --image "$base/app_upd.bin@0x200000:0x20000"
refused TOO_MANY_IMAGES $(for i in 0 1 2 3 4 5 6 7 8; do echo --image "$base/mcuboot-esp32.bin@0x$((0x310 + i))000:0x1000"; done)
refused SOURCE_FETCH --image "$base/missing.bin@0x110000:0x100000"
refused SOURCE_FETCH --image "$base/app_upd.bin?close_at=4096@0x110000:0x100000"
# content checks
refused CONTENT_SHA256 --image "$APP#sha256=$BOOT_SHA"
grep -q "expected $BOOT_SHA" err.txt || fail "sha256 refusal lacks the expected hash"
python3 - "$fx/mcuboot-esp32.bin" s3boot.bin <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[12], b[13] = 0x09, 0x00   # chip id ESP32-S3; checksum and appended hash left stale on purpose
open(sys.argv[2], "wb").write(b)
PY
refused CONTENT_CHIP_ID --image "$APP" --image "$t/s3boot.bin@0x1000:0xF000"
grep -qF "ESP image chip id 0x0009 (ESP32-S3) but the device is ESP32 (0x0000) (image 2: $t/s3boot.bin)" err.txt \
    || fail "chip id message: $(cat err.txt)"
refused IMAGE_TOO_LARGE --image "$base/app_upd.bin@0x1000:0xF000"
head -c 32768 "$fx/app_upd.bin" > app_head.bin
refused CONTENT_NOT_ESP_IMAGE --image "$t/app_head.bin@0x1000:0xF000"
grep -q "MCUboot image" err.txt || fail "not-an-ESP-image message: $(cat err.txt)"
"$REFLASHER" image esp-app --chip esp32 --code-size 8192 -o espapp.bin >/dev/null
refused CONTENT_NOT_BOOTLOADER --image "$t/espapp.bin@0x1000:0xF000"
"$REFLASHER" plan --allow-http --device dev.img --image "$t/espapp.bin@0x110000" > out.txt 2> err.txt \
    || fail "ESP app to an app slot refused: $(cat err.txt)"
refused CONTENT_APP_FORMAT --image "$base/mcuboot-esp32.bin@0x110000"
"$REFLASHER" image esp-app --chip esp32s3 --code-size 8192 -o espapp_s3.bin >/dev/null
refused CONTENT_CHIP_ID --image "$t/espapp_s3.bin@0x110000"
# the JSON of a refusal
rc=0; "$REFLASHER" plan --allow-http --device dev.img --image "$base/app_upd.bin@0x10000:0x100000" --json > r.json 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "json refusal exit $rc"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["ok"] is False and p["rule"]=="DEST_OVERLAPS_RUNNING" and p["image"]==1, p' r.json

# --- embedded mode: the reference embedded example (MCUboot + NuttX merged,
# 0x10F000 bytes inside the factory app at 0x14294, copied to 0x1000)
python3 - "$fx" merged.bin <<'PY'
import sys
bl = open(sys.argv[1] + "/mcuboot-esp32.bin", "rb").read(); app = open(sys.argv[1] + "/app_upd.bin", "rb").read()
m = bytearray(b"\xff" * 0x10F000); m[:len(bl)] = bl; m[0xF000:0xF000 + len(app)] = app
open(sys.argv[2], "wb").write(m)
PY
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_embedded_example-partitions.csv" \
    --running factory -o emb.img --old-system --embed merged.bin --embed-at 0x14294 >/dev/null
cp emb.img emb_before.img
EM=(--device emb.img --embedded "$t/merged.bin@0x1000:0x110000" --at 0x14294)
"$REFLASHER" plan --allow-http "${EM[@]}" --svg "$out_dir/plan-embedded.svg" > emb.txt 2> err.txt || fail "embedded plan: $(cat err.txt)"
echo "----- reflasher plan --embedded (reference embedded example)"; cat emb.txt; echo "-----"
needf() { grep -qF -- "$2" "$1" || fail "$1 lacks '$2'"; }
needf emb.txt "mode: embedded: merged.bin is already in flash inside the running app at 0x14294..0x123294"
needf emb.txt "step 1 of 3: back up the running app 'factory' to 'ota_0' 0x210000..0x"
needf emb.txt "step 2 of 3: switch otadata 'otadata' 0xd000..0xf000 to select 'ota_0'"
needf emb.txt "step 3 of 3: image 1  $t/merged.bin (embedded), copied from the backup at 0x214294"
needf emb.txt "the bootloader's sectors 0x1000..0x8000 last"
needf emb.txt "content      ESP bootloader for ESP32"
needf emb.txt "bootloader window: "
needf emb.txt "journal: 0x3fe000..0x400000"
needf emb.txt "plan valid: nothing was written"
grep -q "no OTA partition can hold" emb.txt && fail "reference embedded plan warns about a missing backup"
# the running app (old_app + the embedded image) decides the backup's size: ota_0 holds it
"$REFLASHER" plan --allow-http "${EM[@]}" --json > emb.json 2> err.txt || fail "embedded json: $(cat err.txt)"
python3 - emb.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["ok"] is True and p["mode"] == "embedded" and p["embedded_at"] == 0x14294, p
b = p["backup"]
assert b["label"] == "ota_0" and b["addr"] == 0x210000 and b["len"] % 0x1000 == 0 and 0x114000 <= b["len"] <= 0x180000, b
assert p["otadata"] == {"label": "otadata", "addr": 0xd000, "len": 0x2000}, p["otadata"]
assert p["no_backup_window"] is False
assert p["journal"] == {"addr": 0x3FE000, "len": 0x2000, "erased_at_end": True}, p["journal"]
im, = p["images"]
assert im["staging"] is None and im["kind"] == "bootloader" and im["est_backup_ms"] > 0, im
assert 0 < p["window_ms"] < im["est_copy_ms"] and p["window_step"] == 1, p
assert abs(p["est_total_ms"] - im["est_ms"]) < 0.01, p
PY
python3 - "$out_dir/plan-embedded.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("backup of the running app", "ota_0", "otadata", "journal 0x3fe000", "bootloader window", "merged.bin"):
    assert want in texts, want
assert "NO BACKUP" not in texts
PY
# the file need not be on the device yet: the plan reads it locally; outside the running app it is refused
rc=0; "$REFLASHER" plan --device emb.img --embedded "$t/merged.bin@0x1000:0x110000" --at 0x200000 > out.txt 2> err.txt || rc=$?
[ "$rc" = 1 ] || fail "embedded image outside the running app: exit $rc"
grep -q "^refused: EMBEDDED_NOT_IN_RUNNING: " err.txt || fail "no EMBEDDED_NOT_IN_RUNNING: $(cat err.txt)"
rc=0; "$REFLASHER" plan --device emb.img --embedded "$t/merged.bin@0x1800:0x110000" > out.txt 2> err.txt || rc=$?
[ "$rc" = 1 ] && grep -q "^refused: DEST_ALIGN: " err.txt || fail "misaligned embedded destination: $rc $(cat err.txt)"
cmp -s emb.img emb_before.img || fail "embedded plan wrote to the device"

# --- embedded mode, no room for a backup: the only OTA partition is too small
sed 's/^ota_0, *app, *ota_0, *0x210000, *0x180000,/ota_0,      app,  ota_0,     0x210000,       0x80000,/' \
    "$seeds/boot_swap_embedded_example-partitions.csv" > small.csv
grep -q "0x80000" small.csv || fail "small.csv"
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions small.csv \
    --running factory -o small.img --old-system --embed merged.bin --embed-at 0x14294 >/dev/null
SM=(--device small.img --embedded "$t/merged.bin@0x1000:0x110000")
"$REFLASHER" plan --allow-http "${SM[@]}" --svg "$out_dir/plan-embedded-nobackup.svg" > small.txt 2> err.txt \
    || fail "no-backup plan must exit 0: $(cat err.txt)"
echo "----- reflasher plan --embedded (no room for a backup)"; cat small.txt; echo "-----"
grep -qE "^warning: no OTA partition can hold a backup of the running app \([0-9]+ bytes\): the device has no bootable system for the whole copy, about [0-9.]+ ms$" small.txt \
    || fail "no-backup warning missing"
needf small.txt "'ota_0' 0x210000..0x290000 (0x80000 bytes): too small"
needf small.txt "window: "
needf small.txt "the whole copy (step 1)"
grep -q "back up the running app" small.txt && fail "no-backup plan shows a backup step"
rc=0; "$REFLASHER" plan --allow-http "${SM[@]}" --require-backup > out.txt 2> err.txt || rc=$?
[ "$rc" = 1 ] || fail "--require-backup without room: exit $rc (want 1)"
grep -q "^refused: NO_BACKUP: no OTA partition can hold a backup of the running app" err.txt || fail "--require-backup message: $(cat err.txt)"
"$REFLASHER" plan --allow-http "${EM[@]}" --require-backup > /dev/null 2> err.txt || fail "--require-backup with room: $(cat err.txt)"
"$REFLASHER" plan --allow-http "${SM[@]}" --json > small.json 2> err.txt || fail "no-backup json exit"
grep -q "^warning: no OTA partition can hold" err.txt || fail "json mode: no warning on stderr"
python3 - small.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["ok"] is True and p["backup"] is None and p["otadata"] is None and p["no_backup_window"] is True, p
im, = p["images"]
assert abs(p["window_ms"] - im["est_copy_ms"]) < 0.01 and im["est_backup_ms"] == 0, p
PY
rc=0; "$REFLASHER" plan --allow-http "${SM[@]}" --json --require-backup > small2.json 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "json --require-backup exit $rc"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["ok"] is False and p["rule"]=="NO_BACKUP" and p["no_backup_window"] is True and p["images"], p' small2.json
python3 - "$out_dir/plan-embedded-nobackup.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("NO BACKUP", "window", "the whole copy", "journal 0x3fe000"):
    assert want in texts, want
assert "backup of the running app (declared)" not in texts
PY
if command -v rsvg-convert >/dev/null; then
    rsvg-convert -o "$out_dir/plan-embedded.png" "$out_dir/plan-embedded.svg" || fail "rsvg-convert embedded"
    rsvg-convert -o "$out_dir/plan-embedded-nobackup.png" "$out_dir/plan-embedded-nobackup.svg" || fail "rsvg-convert"
    echo "drawings: $out_dir/plan-embedded.png $out_dir/plan-embedded-nobackup.png"
fi
# embedded usage errors
usage_e() { local rc=0; "$REFLASHER" plan --allow-http "$@" > /dev/null 2>&1 || rc=$?; [ "$rc" = 2 ] || fail "exit $rc (want 2) for: $*"; }
usage_e --device emb.img --embedded "$t/merged.bin@0x1000" --embedded "$t/merged.bin@0x200000"
usage_e --device emb.img --embedded "$t/merged.bin@0x1000" --image "$APP"
usage_e --device dev.img --image "$APP" --require-backup

# --- usage errors: exit 2
usage() {
    local rc=0
    "$REFLASHER" plan --allow-http "$@" > /dev/null 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "exit $rc (want 2) for: $*"
}
usage
usage --device dev.img
usage --image "$APP"
usage --device dev.img --image "$APP" --bogus
usage --device dev.img --image "$base/app_upd.bin@0x110000#sha256=1234"
usage --device dev.img --image "$base/app_upd.bin@0x120000"   # no partition starts there, no SIZE
usage --device missing.img --image "$APP"

cmp -s dev.img before.img || fail "plan wrote to the device"
echo "cli plan: all checks passed"
