#!/usr/bin/env bash
# Every JSON output of reflasher but `rehearse` (inspect, plan, migrate, boot),
# parsed by Python's json module, with a device file and image sources whose
# names hold a double quote and a backslash (the sources also a newline and a
# tab; the device's .meta file is line-based): the values must come back exactly. Also a refused plan, whose message quotes such a path.
# Generated images only (no ../shared).
set -euo pipefail
: "${REFLASHER:?}" "${RF_SRC:?}"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

odd='we "ird" \ name'
nl=$'with "a" \\ newline\nand\ta tab'
dir="$t/$odd"
mkdir -p "$dir"
D="$dir/dev $odd.img"
BL="$dir/bl $nl.bin"
MCU="$dir/mcu $nl.bin"
"$REFLASHER" device create --chip esp32 --flash-size 4MB \
    --partitions "$RF_SRC/examples/boot_swap_download_example/partitions.csv" --running factory \
    --old-system -o "$D" >/dev/null
"$REFLASHER" image esp-bootloader --chip esp32 -o "$BL" >/dev/null
"$REFLASHER" image mcuboot --payload 30000 --slot-size 0x100000 --confirm -o "$MCU" >/dev/null

# check FILE PYTHON-EXPR...: FILE parses as one JSON value `j`; each expression is true
check() {
    local f=$1; shift
    python3 - "$f" "$D" "$BL" "$MCU" "$@" <<'PY' || fail "$f: $(head -c 600 "$f")"
import json, sys
f, D, BL, MCU = sys.argv[1:5]
text = open(f, encoding="utf-8").read()
assert text.count("\n") == 1 and text.endswith("\n"), "not one line"
j = json.loads(text)
for e in sys.argv[5:]:
    assert eval(e), e
PY
}

"$REFLASHER" boot "$D" --json > "$t/boot_old.json"
check "$t/boot_old.json" 'j["device"] == D' 'j["result"] == "OLD"' 'j["app"]["partition"] == "factory"'

"$REFLASHER" plan --device "$D" --image "$MCU@0x110000" --image "$BL@0x1000:0xF000" --json > "$t/plan.json"
check "$t/plan.json" 'j["ok"] is True' 'j["device"]["path"] == D' \
    '[i["source"] for i in j["images"]] == [MCU, BL]' 'j["order"] == [1, 2]' \
    'j["images"][1]["kind"] == "bootloader" and j["images"][1]["staging"]["label"] == "ota_1"' \
    'all(c["status"] == "passed" for c in j["images"][0]["checks"][:2])'

rc=0; "$REFLASHER" plan --device "$D" --image "$dir/missing $nl.bin@0x110000" --json > "$t/refused.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "refused plan: exit $rc"
check "$t/refused.json" 'j["ok"] is False' 'j["image"] == 1' \
    'j["source"] == MCU.replace("/mcu ", "/missing ")' 'MCU.replace("/mcu ", "/missing ") in j["message"]'

"$REFLASHER" inspect --json "$MCU" > "$t/inspect.json"
check "$t/inspect.json" 'j["file"] == MCU' 'j["type"] == "mcuboot" and j["valid"] is True' \
    'j["components"][0]["kind"] == "mcuboot"'
"$REFLASHER" inspect --json "$D" > "$t/inspect_dev.json"
check "$t/inspect_dev.json" 'j["file"] == D' 'j["type"] == "flash-dump"' \
    '"factory" in [p["label"] for p in j["partition_table"]["partitions"]]'

"$REFLASHER" migrate --device "$D" --image "$MCU@0x110000" --image "$BL@0x1000:0xF000" --json --quiet \
    > "$t/migrate.json" 2>/dev/null || fail "migrate failed"
check "$t/migrate.json" 'j["ok"] is True and j["error"] == ""' 'j["bytes_programmed"] > 0' 'j["images"] == 2'
rc=0; "$REFLASHER" migrate --device "$D" --image "$dir/missing $nl.bin@0x110000" --json --quiet \
    > "$t/migrate_fail.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "failed migrate: exit $rc"
check "$t/migrate_fail.json" 'j["ok"] is False and j["error"] != ""'

"$REFLASHER" boot "$D" --json > "$t/boot_new.json"
check "$t/boot_new.json" 'j["device"] == D' 'j["result"] == "NEW"' 'j["mcuboot"]["slot"] > 0'
echo "all JSON outputs parse, odd paths come back exactly"
