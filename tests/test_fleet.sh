#!/usr/bin/env bash
# `reflasher fleet`: the reference's download migration (MCUboot + its NuttX
# app, the real fixtures) rehearsed on nine device kinds built from the seed
# layouts, the real ESP-IDF v5.1.2 system (as images and as a flash dump),
# 2/8/16 MB flashes, an ESP32-C3 and a layout with no free OTA partition.
# Checks the verdict of each kind, the JSON (parsed; a kind name with quotes,
# a backslash and a newline comes back unchanged), the self-contained HTML
# (no external asset, every name escaped) and, when chromium is installed, a
# real headless render of it. Also `device create --old-system --bootloader
# --app` against the fixture bytes (flash-size byte and SHA-256 as esptool
# writes them) and the stand-in bootloader's load addresses.
# Reads ../shared (seeds and fixtures): exit 77 (skipped) without it.
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] && [ -f "$fx/idf-v5.1.2-bootloader-esp32.bin" ] || { echo "SKIP: ../shared not available"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
BL="$fx/idf-v5.1.2-bootloader-esp32.bin"; APP="$fx/idf-v5.1.2-hello_world-esp32.bin"

# ---------------------------------------------------------------- device create --old-system with real images
"$REFLASHER" device create --chip esp32 --flash-size 8MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o real8.img --old-system --bootloader "$BL" --app "$APP" > real8.out || fail "device create with real images"
grep -q 'real, flash size set' real8.out || fail "device create: no 'real' in: $(cat real8.out)"
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o gen.img --old-system >/dev/null || fail "device create (generated)"
python3 - "$BL" "$APP" real8.img gen.img <<'PY' || fail "old system bytes"
import hashlib, struct, sys
bl, app, dev, gen = (open(p, "rb").read() for p in sys.argv[1:5])
def segments(img):
    n = img[1]; off = 24; segs = []
    for _ in range(n):
        a, l = struct.unpack_from("<II", img, off); segs.append((a, l)); off += 8 + l
    end = (off + 1 + 15) & ~15
    return segs, end
# the fixture says 2 MB (size code 1); on an 8 MB device the header says 8 MB (code 3) and the
# appended SHA-256 is recomputed; every other byte is the fixture's
got = dev[0x1000:0x1000 + len(bl)]
assert bl[3] >> 4 == 1 and got[3] >> 4 == 3 and got[3] & 15 == bl[3] & 15, (bl[3], got[3])
segs, end = segments(got)
assert end + 32 == len(bl), (end, len(bl))
assert got[:3] == bl[:3] and got[4:end] == bl[4:end], "bytes other than the size byte changed"
assert got[end:end + 32] == hashlib.sha256(got[:end]).digest() != bl[end:end + 32], "appended SHA-256 not recomputed"
assert dev[0x10000:0x10000 + len(app)] == app, "app not written unchanged"
# the generated stand-in bootloader loads into internal RAM only (ESP32: DRAM 0x3FFAE000.., IRAM 0x40070000..0x400C0000)
segs, end = segments(gen[0x1000:])
assert all(0x3FFAE000 <= a and a + l <= 0x40000000 or 0x40070000 <= a and a + l <= 0x400C0000 for a, l in segs), segs
entry = struct.unpack_from("<I", gen, 0x1004)[0]
assert any(a <= entry < a + l for a, l in segs), hex(entry)
print("old system: real bootloader with an 8 MB header and a new SHA-256; stand-in segments", [hex(a) for a, _ in segs])
PY
"$REFLASHER" boot real8.img > real8.boot || true
grep -q "hello_world" real8.boot || echo "note: boot model on the real v5.1.2 system: $(cat real8.boot)"
rc=0; "$REFLASHER" device create --chip esp32c3 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o c3bad.img --old-system --bootloader "$BL" --app "$APP" >/dev/null 2>c3bad.err || rc=$?
[ "$rc" = 1 ] && grep -q 'chip id' c3bad.err || fail "an ESP32 bootloader on an ESP32-C3 was accepted (rc $rc)"
rc=0; "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o u.img --bootloader "$BL" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--bootloader without --old-system: exit $rc, expected 2"

# ---------------------------------------------------------------- the fleet
cat > small2mb.csv <<'CSV'
nvs,      data, nvs,     0x9000,   0x4000,
otadata,  data, ota,     0xd000,   0x2000,
phy_init, data, phy,     0xf000,   0x1000,
factory,  app,  factory, 0x10000,  0xF0000,
ota_0,    app,  ota_0,   0x100000, 0xF0000,
CSV
cat > big8mb.csv <<'CSV'
nvs,      data, nvs,     ,         0x4000,
otadata,  data, ota,     ,         0x2000,
phy_init, data, phy,     ,         0x1000,
factory,  app,  factory, 0x10000,  1M,
ota_0,    app,  ota_0,   0x110000, 1M,
ota_1,    app,  ota_1,   0x210000, 1M,
storage,  data, spiffs,  0x310000, 0x4F0000,
CSV
cat > big16mb.csv <<'CSV'
nvs,      data, nvs,     ,         0x4000,
otadata,  data, ota,     ,         0x2000,
phy_init, data, phy,     ,         0x1000,
factory,  app,  factory, 0x10000,  1M,
ota_0,    app,  ota_0,   0x110000, 1M,
ota_1,    app,  ota_1,   0x210000, 2M,
fatfs,    data, fat,     0x410000, 0xBF0000,
CSV
cat > nostaging.csv <<'CSV'
nvs,      data, nvs,     ,         0x4000,
otadata,  data, ota,     ,         0x2000,
phy_init, data, phy,     ,         0x1000,
factory,  app,  factory, 0x10000,  1M,
ota_0,    app,  ota_0,   0x110000, 1M,
storage,  data, spiffs,  0x210000, 0x1F0000,
CSV
# a flash dump read from a sample device (what `esptool read_flash 0 0x400000` gives)
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o sample.img --old-system --bootloader "$BL" --app "$APP" >/dev/null
cp sample.img field-dump.bin
DL="$seeds/boot_swap_download_example-partitions.csv"; EM="$seeds/boot_swap_embedded_example-partitions.csv"
WEIRD='gen1 "quoted" \\ back
slash'
python3 - fleet.json "$DL" "$EM" "$BL" "$APP" "$WEIRD" <<'PY'
import json, sys
out, dl, em, bl, app, weird = sys.argv[1:7]
k = lambda name, **kw: dict(name=name, chip="esp32", flash_size="4MB", running="factory", **kw)
kinds = [
    k(weird, partitions=dl, old_system="generated"),
    k("idf512-real", partitions=dl, old_system={"bootloader": bl, "app": app}),
    dict(name="field-dump", chip="esp32", running="factory", dump="field-dump.bin"),
    k("gen0-embedded-layout", partitions=em),
    dict(k("small-2MB", partitions="small2mb.csv"), flash_size="2MB"),
    dict(k("big-8MB", partitions="big8mb.csv"), flash_size=8 * 1024 * 1024),
    dict(k("big-16MB", partitions="big16mb.csv"), flash_size="16MB"),
    dict(k("c3-4MB", partitions=dl), chip="esp32c3"),
    k("no-free-ota", partitions="nostaging.csv"),
]
json.dump({"kinds": kinds}, open(out, "w"), indent=1)
PY
MIG=(--image "$fx/app_upd.bin@0x110000:0x100000" --image "$fx/mcuboot-esp32.bin@0x1000:0xF000")
rc=0; "$REFLASHER" fleet fleet.json "${MIG[@]}" --stride 8 --json --html report.html >fleet.json.out 2>fleet.err || rc=$?
[ "$rc" = 1 ] || fail "fleet: exit $rc, expected 1 (not every kind is SAFE)"
[ -s fleet.err ] && { echo "fleet stderr:"; sed 's/^/    /' fleet.err | head; }
python3 - fleet.json.out "$WEIRD" <<'PY' || fail "fleet JSON"
import json, sys
j = json.load(open(sys.argv[1])); weird = sys.argv[2]
assert j["ok"] is False and j["migration"]["mode"] == "download" and len(j["migration"]["images"]) == 2, j
ks = {k["name"]: k for k in j["kinds"]}
assert list(ks) == [weird, "idf512-real", "field-dump", "gen0-embedded-layout", "small-2MB", "big-8MB", "big-16MB",
                    "c3-4MB", "no-free-ota"], list(ks)
want = {weird: "SAFE", "idf512-real": "SAFE", "field-dump": "SAFE", "big-8MB": "SAFE", "big-16MB": "SAFE",
        "gen0-embedded-layout": ("REFUSED", "DEST_OVERLAPS_RUNNING"), "small-2MB": ("REFUSED", "DEST_OUTSIDE_FLASH"),
        "no-free-ota": ("REFUSED", "NO_STAGING")}
sizes = {"small-2MB": 2 << 20, "big-8MB": 8 << 20, "big-16MB": 16 << 20}
for name, w in want.items():
    k = ks[name]
    assert k["flash_size"] == sizes.get(name, 4 << 20), (name, k["flash_size"])
    assert k["before"]["boot"] == "OLD", (name, k["before"])
    if w == "SAFE":
        assert k["verdict"] == "SAFE" and k["plan"]["valid"], (name, k)
        e = k["end_state"]
        assert e["boot"] == "NEW" and e["bootloader"] == "MCUboot", (name, e)
        assert 0 < k["brick_window"]["ms"] < 690 and k["brick_window"]["ops"][0] >= 1, (name, k["brick_window"])
        assert k["device_time_ms"] > 0 and k["bytes_erased"] > 0 and k["bytes_programmed"] > 0, (name, k)
        s = k["sweep"]
        assert s["verdict"] == "PASS" and s["brick_outside_window"] == 0 and s["rerun_failures"] == 0, (name, s)
        assert sum(s["outcomes"].values()) == s["cut_points"] > 0 and s["outcomes"]["OLD"] > 0, (name, s)
        after = {r["offset"]: r for r in k["maps"]["after"]}
        assert after[0x110000]["content"].startswith("MCUboot image"), after[0x110000]
        assert after[0x1000]["content"].startswith("MCUboot bootloader"), after[0x1000]
    else:
        assert k["verdict"] == w[0] and not k["plan"]["valid"] and k["plan"]["rule"] == w[1], (name, k["plan"])
        assert "end_state" not in k and "after" not in k["maps"], name
# the reference's MCUboot declares 4 MB in its header: said for the 8 and 16 MB kinds only
for name, k in ks.items():
    if k["verdict"] == "SAFE":
        big = k["flash_size"] > 4 << 20
        assert k["warnings"] == (["the new bootloader's header declares 4 MB of flash, the device has %d MB"
                                  % (k["flash_size"] >> 20)] if big else []), (name, k["warnings"])
# the real ESP-IDF system, from its images and from a dump: its app before, MCUboot after
for name in ("idf512-real", "field-dump"):
    before = {r["offset"]: r for r in ks[name]["maps"]["before"]}
    assert before[0x10000]["content"].startswith("ESP app 'hello_world'"), before[0x10000]
    assert "26640 bytes, 4MB header" in before[0x1000]["content"], before[0x1000]
# another chip: the ESP32 images are never SAFE on an ESP32-C3 (refused, or ends BRICK)
c3 = ks["c3-4MB"]
assert c3["verdict"] in ("REFUSED", "UNSAFE"), c3
if c3["verdict"] == "UNSAFE":
    assert c3["end_state"]["boot"] != "NEW", c3
print("fleet JSON: %s" % ", ".join("%s %s" % (n.split()[0], k["verdict"]) for n, k in ks.items()))
PY

# the text table: one row per kind with its verdict
"$REFLASHER" fleet fleet.json "${MIG[@]}" --no-sweep >table.out 2>/dev/null || true
for p in '^KIND +CHIP +FLASH +VERDICT +PLAN +END STATE +BRICK WINDOW +DEV TIME +ERASED +POWER-CUT SWEEP' \
    '^idf512-real +esp32 +4MB +SAFE +valid +NEW \(MCUboot\) +[0-9.]+ ms' '^small-2MB +esp32 +2MB +REFUSED +refused: DEST_OUTSIDE_FLASH' \
    '^big-16MB +esp32 +16MB +SAFE' '^no-free-ota .* REFUSED +refused: NO_STAGING' '^c3-4MB +esp32c3 +4MB '; do
    grep -Eq -- "$p" table.out || fail "fleet table: no line matches $p"
done

# the HTML: one self-contained file
python3 - report.html "$WEIRD" <<'PY' || fail "fleet HTML"
import html, html.parser, re, sys
doc = open(sys.argv[1], encoding="utf-8").read(); weird = sys.argv[2]
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.tags = {}; s.ext = []
    def handle_starttag(s, tag, attrs):
        s.tags[tag] = s.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action") and v and not v.startswith("#"):
                s.ext.append((tag, k, v))
p = P(); p.feed(doc); p.close()
assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
assert not p.ext, p.ext                       # no external asset, no link out
assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', doc, re.I)
assert p.tags.get("script", 0) == 0 and p.tags.get("link", 0) == 0 and p.tags.get("img", 0) == 0, p.tags
assert "@import" not in doc and "url(" not in doc
# maps: before for the 9 kinds, after for the 5 SAFE ones and the C3 if it ran
assert 14 <= p.tags.get("svg", 0) <= 15, p.tags.get("svg")
assert html.escape(weird) in doc and weird not in doc, "kind name not escaped"
for name in ("idf512-real", "field-dump", "small-2MB", "big-16MB", "c3-4MB", "no-free-ota", "DEST_OUTSIDE_FLASH", "NO_STAGING"):
    assert name in doc, name
print("fleet HTML: %d bytes, %d inline SVG maps, no external reference" % (len(doc), p.tags["svg"]))
PY

# ---------------------------------------------------------------- an embedded migration
# the reference's embedded example: MCUboot + its app merged, carried inside the old app at 0x14294
python3 - "$fx" merged.bin <<'PY'
import sys
bl = open(sys.argv[1] + "/mcuboot-esp32.bin", "rb").read(); app = open(sys.argv[1] + "/app_upd.bin", "rb").read()
m = bytearray(b"\xff" * 0x10F000); m[:len(bl)] = bl; m[0xF000:0xF000 + len(app)] = app
open(sys.argv[2], "wb").write(m)
PY
cat > emb_nobackup.csv <<'CSV'
nvs,      data, nvs,     ,         0x4000,
otadata,  data, ota,     ,         0x2000,
phy_init, data, phy,     ,         0x1000,
factory,  app,  factory, 0x10000,  2M,
storage,  data, spiffs,  0x210000, 0x1F0000,
CSV
printf '{"kinds":[{"name":"seed-embedded","chip":"esp32","flash_size":"4MB","partitions":"%s","running":"factory"},
 {"name":"no-room-for-backup","chip":"esp32","flash_size":"4MB","partitions":"emb_nobackup.csv","running":"factory"},
 {"name":"seed-download","chip":"esp32","flash_size":"4MB","partitions":"%s","running":"factory"}]}\n' "$EM" "$DL" > efleet.json
rc=0; "$REFLASHER" fleet efleet.json --embedded merged.bin@0x1000:0x110000 --at 0x14294 --stride 8 --json >efleet.out 2>efleet.err || rc=$?
[ "$rc" = 1 ] || fail "embedded fleet: exit $rc, expected 1"
python3 - efleet.out <<'PY' || fail "embedded fleet JSON"
import json, sys
j = json.load(open(sys.argv[1])); ks = {k["name"]: k for k in j["kinds"]}
assert j["migration"]["mode"] == "embedded", j["migration"]
e = ks["seed-embedded"]
assert e["verdict"] == "SAFE" and e["end_state"]["boot"] == "NEW" and e["sweep"]["verdict"] == "PASS", e
assert 0 < e["brick_window"]["ms"] < 12310 and not e["plan"]["no_backup_window"], e   # the reference: 12,310 ms
# no OTA partition for the backup of the running app: the plan says the whole copy is the window,
# and the sweep finds power cuts that brick the device outside the bootloader's sectors
n = ks["no-room-for-backup"]
assert n["plan"]["valid"] and n["plan"]["no_backup_window"] and n["verdict"] == "UNSAFE", n
assert n["sweep"]["brick_outside_window"] > 0 and n["sweep"]["verdict"] == "FAIL", n["sweep"]
d = ks["seed-download"]
assert d["verdict"] == "REFUSED" and d["plan"]["rule"] == "EMBEDDED_NOT_IN_RUNNING", d["plan"]
print("embedded fleet: seed-embedded SAFE (window %.1f ms), no-room-for-backup UNSAFE (%d BRICK outside), "
      "seed-download REFUSED" % (e["brick_window"]["ms"], n["sweep"]["brick_outside_window"]))
PY

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "SKIP: chromium not installed: the HTML was not rendered"
    [ "$fails" -eq 0 ] && exit 77
else
    # a real browser renders it (no network: file:// only); the screenshot is a real image
    HOME="$t" "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
        --screenshot="$t/report.png" --window-size=1100,1600 "file://$t/report.html" >chromium.out 2>&1 \
        || fail "chromium failed: $(tail -3 chromium.out)"
    python3 - report.png <<'PY' || fail "chromium screenshot"
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24]); assert (w, h) == (1100, 1600), (w, h)
# decompress the pixels: a rendered report has many colours (badges, maps), a blank page has one
pos, idat = 8, b""
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos + 4]); typ = d[pos + 4:pos + 8]
    if typ == b"IDAT":
        idat += d[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
colours = len(set(raw[i:i + 3] for i in range(1, min(len(raw), 4_000_000), 97)))
assert colours > 50, colours
print("chromium: rendered %dx%d, %d distinct sampled byte triples" % (w, h, colours))
PY
    # kept for a person to look at: $RF_BIN/fleet-report.{html,png}
    if [ -n "${RF_BIN:-}" ]; then cp "$t/report.html" "$RF_BIN/fleet-report.html"; cp "$t/report.png" "$RF_BIN/fleet-report.png"; fi
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "fleet: all checks passed"
