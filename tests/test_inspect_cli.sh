#!/usr/bin/env bash
# `reflasher inspect` end to end. Uses ../shared/fixtures (the FACTS.md values
# must appear in the output, text and --json); the rest builds its own images
# with `reflasher image` and `reflasher device create`.
set -euo pipefail

: "${REFLASHER:?REFLASHER must point to the reflasher binary}"
FIX="${RF_SHARED:-}/fixtures"
BOOT="$FIX/mcuboot-esp32.bin"
APP="$FIX/app_upd.bin"
T=$(mktemp -d "${TMPDIR:-/tmp}/rf-inspect-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME EXPECTED_RC ARGS...: output in $T/NAME.out (parsed when --json)
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$REFLASHER" inspect "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$T/$name.out" "$T/$name.err" | head -60
    fi
    # every --json output parses, whatever the verdict
    if [ "$rc" != 2 ] && printf '%s\n' "$@" | grep -qx -- --json; then
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/$name.out" || fail "$name: not valid JSON"
    fi
}

# has NAME PATTERN...: every extended regex matches a line of $T/NAME.out
has() {
    local name=$1
    shift
    for p in "$@"; do
        grep -Eq -- "$p" "$T/$name.out" || fail "$name: no line matches: $p"
    done
}

# flip FILE OFFSET: xor the byte at OFFSET with 0x01
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

if [ -n "${RF_SHARED:-}" ] && [ -r "$BOOT" ] && [ -r "$APP" ]; then
    # ---- mcuboot-esp32.bin: ESP image (bootloader) ----------------------------------
    run boot 0 "$BOOT"
    has boot \
        '^size: 27376 bytes' \
        '^sha256: 19d179ff098fe4aed7c596e9a12a12594b647591db926a94216b4af2db3c458a$' \
        '^type: ESP image \(bootloader\)' \
        'magic: 0xe9$' \
        'segment count: 3$' \
        'spi mode: 2 \(DIO\)' \
        'size/freq: 0x20 \(flash size 4MB, frequency 40MHz\)' \
        'entry point: 0x4007b3b0$' \
        'wp pin: 0xee$' \
        'chip id: 0x0000 \(ESP32\)' \
        'min chip rev \(legacy\): 3$' \
        'min chip rev full: 0 ' \
        'max chip rev full: 0xffff' \
        'hash appended: 1$' \
        '^ +0 +0x3fff7c98 +6176 ' \
        '^ +1 +0x40078000 +13312 ' \
        '^ +2 +0x40090000 +7804 ' \
        '^checksum: 0x99 at offset 27343 \(0x6acf\), computed 0x99: ok$' \
        '^appended sha256 at offset 27344 \(0x6ad0\) over \[0, 27344\): 307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0$' \
        'computed: 307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0: ok' \
        '^image length: 27376 bytes' \
        '^result: valid$'

    run boot_json 0 --json "$BOOT"
    [ "$(wc -l <"$T/boot_json.out")" -eq 1 ] || fail "boot_json: not one line"
    has boot_json \
        '^\{.*\}$' \
        '"size":27376' \
        '"sha256":"19d179ff098fe4aed7c596e9a12a12594b647591db926a94216b4af2db3c458a"' \
        '"type":"esp-image"' '"kind":"esp-bootloader"' \
        '"magic":233' '"segment_count":3' '"spi_mode":2' '"spi_size_freq":32' \
        '"entry_addr":1074246576' '"wp_pin":238' '"chip_id":0' '"min_chip_rev":3' \
        '"min_chip_rev_full":0' '"max_chip_rev_full":65535' '"hash_appended":1' \
        '\{"load_addr":1073708184,"length":6176,"offset":32\}' \
        '\{"load_addr":1074233344,"length":13312,"offset":6216\}' \
        '\{"load_addr":1074331648,"length":7804,"offset":19536\}' \
        '"checksum_offset":27343' '"checksum_stored":153' '"checksum_calc":153' \
        '"sha256_offset":27344' \
        '"sha256_stored":"307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0"' \
        '"image_len":27376' '"valid":true' '"error":null'

    # ---- app_upd.bin: MCUboot image padded to its 1 MiB slot ----------------------------
    run app 0 "$APP"
    has app \
        '^size: 1048576 bytes' \
        '^sha256: 42ddba478e89d0ab1e3b6168867196387ef2405531feef2f19badd4627b4e337$' \
        '^type: MCUboot image' \
        'magic: 0x96f3b83d$' \
        'load address: 0x00000000$' \
        'header size: 32$' \
        'protected TLV size: 12$' \
        'image size: 149824 \(0x24940\)$' \
        'flags: 0x00000000$' \
        'version: 0\.0\.0 build 0$' \
        '^protected TLV area at 0x24960: magic 0x6908, total length 12$' \
        'TLV type 0x50 \(SEC_CNT\) length 4 at 0x24968: 00000000 \(security counter 0\)' \
        '^TLV area at 0x2496c: magic 0x6907, total length 40$' \
        'TLV type 0x10 \(SHA256\) length 32 at 0x24974: 7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8$' \
        '^image end: 0x24994 ' \
        'computed over \[0, 0x2496c\): 7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8: ok$' \
        '^signature: absent$' \
        'magic at 0xffff0: 77c295f360d2ef7f3552500f2cb67980 \(good\)' \
        'image_ok at 0xfffe8: 0x01$' \
        'permanent swap requested \(perm\)' \
        '^result: valid$'
    run app_slot 0 "$APP" --slot-size 0x100000
    has app_slot 'image_ok at 0xfffe8: 0x01$' '^result: valid$'

    run app_json 0 --json "$APP"
    [ "$(wc -l <"$T/app_json.out")" -eq 1 ] || fail "app_json: not one line"
    has app_json \
        '"size":1048576' \
        '"sha256":"42ddba478e89d0ab1e3b6168867196387ef2405531feef2f19badd4627b4e337"' \
        '"type":"mcuboot"' '"magic":2532554813' '"load_addr":0' '"hdr_size":32' \
        '"protect_tlv_size":12' '"img_size":149824' '"flags":0' \
        '"version":\{"major":0,"minor":0,"revision":0,"build":0\}' \
        '"protected_tlv_area":\{"offset":149856,"magic":26888,"total":12\}' \
        '"tlv_area":\{"offset":149868,"magic":26887,"total":40\}' \
        '\{"type":80,"name":"SEC_CNT","len":4,"offset":149864,"protected":true\}' \
        '\{"type":16,"name":"SHA256","len":32,"offset":149876,"protected":false\}' \
        '"sha256_tlv":"7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8"' \
        '"sha256_calc":"7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8"' \
        '"hashed_len":149868' '"security_counter":0' '"signature":"absent"' \
        '"trailer":"good"' '"trailer_magic_offset":1048560' \
        '"trailer_magic":"77c295f360d2ef7f3552500f2cb67980"' '"image_ok":1' \
        '"swap_request":"perm"' '"valid":true'
    if command -v python3 >/dev/null; then
        for j in boot_json app_json; do
            python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/$j.out" || fail "$j: not valid JSON"
        done
    fi

    # ---- what is wrong, exactly --------------------------------------------------------
    cp "$BOOT" "$T/b.bin"; chmod u+w "$T/b.bin"; flip "$T/b.bin" 100
    run boot_seg 1 "$T/b.bin"
    has boot_seg 'computed 0x98: MISMATCH' '^result: INVALID: .*RF_IMG_ERR_CHECKSUM at offset 27343'
    cp "$BOOT" "$T/b.bin"; flip "$T/b.bin" 27343
    run boot_sum 1 "$T/b.bin"
    has boot_sum 'RF_IMG_ERR_CHECKSUM'
    cp "$BOOT" "$T/b.bin"; flip "$T/b.bin" 27350
    run boot_hash 1 --json "$T/b.bin"
    has boot_hash '"valid":false' '"code":"RF_IMG_ERR_SHA256"' '"offset":27344'
    run boot_chip 1 --chip esp32s3 "$BOOT"
    has boot_chip 'RF_IMG_ERR_CHIP_ID'
    run boot_chip_ok 0 --chip esp32 "$BOOT"
    head -c 20000 "$BOOT" >"$T/b.bin"
    run boot_trunc 1 "$T/b.bin"
    has boot_trunc 'RF_IMG_ERR_TRUNCATED'

    cp "$APP" "$T/a.bin"; chmod u+w "$T/a.bin"; flip "$T/a.bin" $((0x10000))
    run app_body 1 "$T/a.bin"
    has app_body ': MISMATCH$' 'RF_IMG_ERR_SHA256'
    cp "$APP" "$T/a.bin"; flip "$T/a.bin" $((0x24980))
    run app_tlv 1 "$T/a.bin"
    has app_tlv 'RF_IMG_ERR_SHA256'
    cp "$APP" "$T/a.bin"; flip "$T/a.bin" $((0xFFFF4))
    run app_trailer 1 "$T/a.bin"
    has app_trailer '\(bad\)' 'RF_IMG_ERR_TRAILER at offset 1048560'
    run app_small_slot 1 --slot-size 0x20000 "$APP"
    has app_small_slot 'RF_IMG_ERR_SLOT_SIZE'
    head -c $((0x24990)) "$APP" >"$T/a.bin"
    run app_trunc 1 "$T/a.bin"
    has app_trunc 'RF_IMG_ERR_TLV_BOUNDS'
    head -c $((0x24994)) "$APP" >"$T/a.bin"
    run app_bare 0 "$T/a.bin"
    has app_bare '^result: valid$'

    if command -v openssl >/dev/null; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$T/k.pem" 2>/dev/null
        openssl ec -in "$T/k.pem" -pubout -out "$T/k.pub.pem" 2>/dev/null
        run app_key 1 --key "$T/k.pub.pem" "$APP"
        has app_key '^key: .*\(ECDSA-P256\)' '^signature: absent$' 'RF_IMG_ERR_UNSIGNED'
    fi

    # ---- a merged binary as the reference ships it (app_upd.merged.bin): esptool merge-bin
    # with base 0x1000, the MCUboot bootloader at 0 and the MCUboot app at +0xF000 ----------
    python3 - "$BOOT" "$APP" "$T/merged.bin" <<'PY'
import sys
boot, app = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(boot + b"\xff" * (0xF000 - len(boot)) + app)
PY
    run merged 0 "$T/merged.bin"
    has merged '^type: merged binary \(2 components' \
        '^flash base: 0x1000 \(the ESP32 bootloader at offset 0x0 belongs at 0x1000\)' \
        '^component 1 at 0x0 \(flash 0x1000\), up to 0xf000:$' '^  type: ESP image \(bootloader\)' \
        '^  appended sha256 .*307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0$' \
        '^component 2 at 0xf000 \(flash 0x10000\), up to 0x10f000:$' '^  type: MCUboot image' \
        '^  sha256 TLV: 7660546b1608aab0b17b71b1c3800eb98c54c989aa024cb7fa1d6a605ec251f8$' \
        '^  +magic at 0xffff0: 77c295f360d2ef7f3552500f2cb67980 \(good\)' \
        '^  0x0 +0x1000 +27376 +esp-bootloader +- +valid$' \
        '^  0xf000 +0x10000 +149908 +mcuboot +- +valid$' '^result: valid$'
    gzip -c "$T/merged.bin" >"$T/merged.bin.gz"
    run merged_gz_json 0 --json "$T/merged.bin.gz"
    python3 - "$T/merged_gz_json.out" "$T/merged.bin.gz" <<'PY' || fail "merged_gz_json: wrong content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["file"] == sys.argv[2] and j["type"] == "merged" and j["valid"] is True, j
assert j["compression"]["format"] == "gzip" and j["compression"]["content_size"] == 0x10F000, j["compression"]
assert j["base_offset"] == 0x1000, j["base_offset"]
c = [(x["offset"], x["flash_addr"], x["kind"], x["valid"], x["length"]) for x in j["components"]]
assert c == [(0, 0x1000, "esp-bootloader", True, 27376), (0xF000, 0x10000, "mcuboot", True, 149908)], c
assert j["components"][0]["esp"]["sha256_stored"] == "307a1511a933fc91d92c92388bd27e086e0fcaac8918f08a54ebb963e5ce4da0"
assert j["components"][1]["mcuboot"]["swap_request"] == "perm" and j["components"][1]["mcuboot"]["slot_size"] == 0x100000
PY
    # a damaged app inside the merged file: that component, and the file, are invalid
    cp "$T/merged.bin" "$T/merged_bad.bin"; flip "$T/merged_bad.bin" $((0xF000 + 0x10000))
    run merged_bad 1 "$T/merged_bad.bin"
    has merged_bad '^  0x0 +0x1000 +27376 +esp-bootloader +- +valid$' 'mcuboot +- +INVALID$' '^result: INVALID'
else
    echo "../shared/fixtures not available: fixture checks skipped"
fi

# ---- generated images, a partition table, a whole flash dump ---------------------------
"$REFLASHER" image esp-app --chip esp32 --name inspect_demo --version 4.5.6 -o "$T/app.bin" >/dev/null
run gen_app 0 "$T/app.bin"
has gen_app '^type: ESP image \(app\)' 'project name: inspect_demo' 'version: 4.5.6' '^result: valid$'
"$REFLASHER" image mcuboot --payload 20000 --slot-size 0x40000 --confirm -o "$T/mcu.bin" >/dev/null
run gen_mcu 0 "$T/mcu.bin"
has gen_mcu 'image_ok at 0x3ffe8: 0x01' '^result: valid$'

cat >"$T/p.csv" <<'EOF'
nvs,      data, nvs,     0x9000,   0x4000,
otadata,  data, ota,     0xd000,   0x2000,
phy_init, data, phy,     0xf000,   0x1000,
factory,  app,  factory, 0x10000,  0x100000,
ota_0,    app,  ota_0,   0x110000, 0x100000,
ota_1,    app,  ota_1,   0x210000, 0x100000,
EOF
"$REFLASHER" device create --chip esp32 --flash-size 4M --partitions "$T/p.csv" --running factory \
    -o "$T/dev.img" >/dev/null
"$REFLASHER" image esp-bootloader --chip esp32 -o "$T/bl.bin" >/dev/null
dd if="$T/bl.bin" of="$T/dev.img" bs=4096 seek=1 conv=notrunc status=none
dd if="$T/app.bin" of="$T/dev.img" bs=65536 seek=1 conv=notrunc status=none
dd if="$T/mcu.bin" of="$T/dev.img" bs=65536 seek=17 conv=notrunc status=none
run dump 0 "$T/dev.img"
has dump '^type: whole flash dump \(4 MiB\)' '^bootloader at 0x1000:' '^partition table at 0x8000:' \
    '6 partitions, MD5 entry: present, matches' "^partition 'factory' \(app/factory\) at 0x10000" \
    "^partition 'ota_0' \(app/ota_0\) at 0x110000" '^  type: MCUboot image' \
    "^partition 'ota_1' .*" '^  blank \(all 0xFF\)' '^result: valid$'
run dump_json 0 --json "$T/dev.img"
has dump_json '"type":"flash-dump"' '"label":"ota_0"' '"content":"mcuboot"' '"content":"blank"' '"valid":true'
flip "$T/dev.img" $((0x110000 + 5000))
run dump_bad 1 "$T/dev.img"
has dump_bad 'RF_IMG_ERR_SHA256' '^result: INVALID'

dd if="$T/dev.img" of="$T/pt.bin" bs=4096 skip=8 count=1 status=none
run ptable 0 "$T/pt.bin"
has ptable '^type: ESP-IDF partition table' 'ota_1 +app/ota_1 +0x210000' '^result: valid$'

# ---- merged binaries from generated images -----------------------------------------------
# base 0x1000 (the first input is the ESP32 bootloader): bootloader, table, MCUboot app padded
# to its slot, ESP app; then the same with base 0 (0xFF up to the bootloader at 0x1000); gzip.
python3 - "$T/bl.bin" "$T/pt.bin" "$T/mcu.bin" "$T/app.bin" "$T/gen_merged.bin" "$T/gen_merged0.bin" <<'PY'
import sys
bl, pt, mcu, app = (open(f, "rb").read() for f in sys.argv[1:5])
def place(parts, base):
    out = bytearray()
    for addr, data in parts:
        out += b"\xff" * (addr - base - len(out)) + data
    return bytes(out)
parts = [(0x1000, bl), (0x8000, pt), (0x10000, mcu), (0x50000, app)]
open(sys.argv[5], "wb").write(place(parts, 0x1000))
open(sys.argv[6], "wb").write(place(parts, 0))
PY
run gen_merged 0 "$T/gen_merged.bin"
has gen_merged '^type: merged binary \(4 components' '^flash base: 0x1000 ' \
    '^  0x0 +0x1000 +[0-9]+ +esp-bootloader +- +valid$' '^  0x7000 +0x8000 +3072 +partition-table +- +valid$' \
    '^  0xf000 +0x10000 +[0-9]+ +mcuboot +- +valid$' '^  0x4f000 +0x50000 +[0-9]+ +esp-app +- +valid$' \
    '^  type: ESP-IDF partition table' '^    project name: inspect_demo' '^result: valid$'
run gen_merged0 0 "$T/gen_merged0.bin"
has gen_merged0 '^flash base: 0x0 \(the ESP32 bootloader at offset 0x1000 belongs at 0x1000\)' \
    '^  0x1000 +0x1000 .*esp-bootloader' '^  0x8000 +0x8000 .*partition-table' \
    '^  0x10000 +0x10000 .*mcuboot' '^  0x50000 +0x50000 .*esp-app'
gzip -c "$T/gen_merged.bin" >"$T/gen_merged.bin.gz"
run gen_merged_gz 0 "$T/gen_merged.bin.gz"
has gen_merged_gz '^compressed: gzip, [0-9]+ bytes once decompressed' '^type: merged binary \(4 components' \
    '^  0x4f000 +0x50000 +[0-9]+ +esp-app +- +valid$'
run gen_merged_gz_json 0 --json "$T/gen_merged.bin.gz"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert [(c["offset"], c["kind"]) for c in j["components"]] == [(0, "esp-bootloader"), (0x7000, "partition-table"),
    (0xF000, "mcuboot"), (0x4F000, "esp-app")], j["components"]
assert j["components"][1]["partition_table"]["count"] == 6
' "$T/gen_merged_gz_json.out" || fail "gen_merged_gz_json: wrong components"
# a single image, compressed: the same facts as the image itself
gzip -c "$T/app.bin" >"$T/app.bin.gz"
run gen_app_gz 0 "$T/app.bin.gz"
has gen_app_gz '^compressed: gzip' '^type: ESP image \(app\)' 'project name: inspect_demo' '^result: valid$'
gzip -c "$T/dev.img" >"$T/dev.img.gz"
run dump_gz 1 "$T/dev.img.gz"
has dump_gz '^type: whole flash dump \(4 MiB\)' 'RF_IMG_ERR_SHA256'
head -c 3000 "$T/gen_merged.bin.gz" >"$T/cut.gz"
run gz_cut 1 "$T/cut.gz"
has gz_cut '^result: INVALID: cannot decompress: truncated'

# a broken header at offset 0 is still reported as that image, with what is wrong
cp "$T/app.bin" "$T/noseg.bin"; printf '\000' | dd of="$T/noseg.bin" bs=1 seek=1 conv=notrunc status=none
run noseg 1 "$T/noseg.bin"
has noseg '^type: ESP image' 'RF_IMG_ERR_SEGMENT_COUNT'

# ---- usage ------------------------------------------------------------------------------
head -c 5000 /dev/zero >"$T/zero.bin"
run unknown 1 "$T/zero.bin"
has unknown '^type: unknown'
run usage_none 2
run usage_opt 2 --bogus "$T/app.bin"
run usage_slot 2 --slot-size nope "$T/app.bin"
run missing 2 "$T/does-not-exist.bin"
run badkey 2 --key "$T/does-not-exist.pem" "$T/app.bin"
run badchip 2 --chip z80 "$T/app.bin"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all inspect checks passed"
