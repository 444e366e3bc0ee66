#!/usr/bin/env bash
# Issue "safe by construction": every case that once ended in rc 0 + BRICK
# (or a write of unverified bytes) is refused by `plan` and by `migrate`
# before the first write; the device is compared byte for byte and the boot
# model still says it boots. A real HTTP server on 127.0.0.1 serves the
# fixtures (../shared) and hostile files made here. Exit 77 (skip) without
# ../shared.
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}" "${RF_SRC:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] || { echo "SKIP: ../shared not available"; exit 77; }
t=$(mktemp -d); srv=""; trap '[ -n "$srv" ] && kill $srv 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT
cd "$t"
fail() { echo "FAIL: $*"; exit 1; }
mkdir www
cp "$fx/app_upd.bin" "$fx/mcuboot-esp32.bin" www/

# --- hostile files
printf '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>oops</body></html>\n' > www/error.html
head -c 65536 /dev/urandom > www/random.bin
head -c 4096 /dev/urandom > www/random4k.bin
head -c $((0x24994)) "$fx/app_upd.bin" > www/app_notrailer.bin   # a valid MCUboot image, no swap trailer
python3 - "$seeds/boot_swap_download_example-partitions.csv" <<'PY'
import hashlib, struct, sys
def entry(t, st, off, size, label):
    return struct.pack("<HBBII16sI", 0x50AA, t, st, off, size, label.encode(), 0)
good = [entry(1, 2, 0x9000, 0x4000, "nvs"), entry(1, 0, 0xD000, 0x2000, "otadata"),
        entry(1, 1, 0xF000, 0x1000, "phy_init"), entry(0, 0, 0x10000, 0x100000, "factory"),
        entry(0, 0x10, 0x110000, 0x100000, "ota_0"), entry(0, 0x11, 0x210000, 0x100000, "ota_1")]
def table(entries, md5=True, bad_md5=False):
    body = b"".join(entries)
    d = hashlib.md5(body).digest()
    if bad_md5:
        d = bytes([d[0] ^ 1]) + d[1:]
    if md5:
        body += b"\xEB\xEB" + b"\xFF" * 14 + d
    return body + b"\xFF" * (0xC00 - len(body))
open("www/pt_good.bin", "wb").write(table(good))
open("www/pt_badmd5.bin", "wb").write(table(good, bad_md5=True))
many = [entry(1, 0x81, 0x100000 + 0x1000 * i, 0x1000, "d%d" % i) for i in range(96)]
open("www/pt_96.bin", "wb").write(b"".join(many)[:0xC00])
open("www/pt_overlap.bin", "wb").write(table(good + [entry(1, 0x82, 0x200000, 0x20000, "spiffs")]))
open("www/pt_past_flash.bin", "wb").write(table(good + [entry(1, 0x82, 0x3F0000, 0x20000, "spiffs")]))
PY

. "$RF_SRC/tests/support/serve.sh"
rf_serve www --max-seconds 300 || fail "http server did not start"
srv=$SRV_PID
base="http://127.0.0.1:$SRV_PORT"

"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory --old-system -o dev.img >/dev/null
cp dev.img before.img
"$REFLASHER" boot dev.img | grep -q '^OLD' || fail "the old system does not boot to begin with"

# refused RULE ARGS...: plan and migrate both refuse with RULE (exit 1), the
# device is byte-identical afterwards and still boots its old system.
refused() {
    local rule=$1; shift
    local rc=0
    "$REFLASHER" plan --allow-http --device dev.img "$@" > plan.txt 2> plan.err || rc=$?
    [ "$rc" = 1 ] || fail "plan $* exited $rc, want 1: $(cat plan.err plan.txt)"
    grep -q "refused: $rule" plan.err plan.txt || fail "plan $*: no 'refused: $rule' in: $(cat plan.err plan.txt)"
    rc=0
    "$REFLASHER" migrate --allow-http --device dev.img "$@" > mig.txt 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "migrate $* exited $rc, want 1: $(cat mig.txt)"
    grep -q "$rule" mig.txt || fail "migrate $*: no $rule in: $(cat mig.txt)"
    cmp -s dev.img before.img || fail "migrate $* changed the device although refused"
    "$REFLASHER" boot dev.img | grep -q '^OLD' || fail "after refused $*: the old system no longer boots"
    echo "ok: refused $rule: $*"
}

# 1. the partition-table sector takes only a valid table
refused CONTENT_PARTITION_TABLE --image "$base/error.html@0x8000:0x1000"
refused CONTENT_PARTITION_TABLE --image "$base/pt_badmd5.bin@0x8000:0x1000"
refused CONTENT_PARTITION_TABLE --image "$base/pt_96.bin@0x8000:0x1000"
refused CONTENT_PARTITION_TABLE --image "$base/pt_overlap.bin@0x8000:0x1000"
refused CONTENT_PARTITION_TABLE --image "$base/pt_past_flash.bin@0x8000:0x1000"
# a valid table passes the table rule (and the old system still boots with it)
"$REFLASHER" plan --allow-http --device dev.img --image "$base/pt_good.bin@0x8000:0x1000" > p.txt 2>&1 \
    || fail "a valid table for 0x8000 refused: $(cat p.txt)"
# 2. any write that covers the bootloader sectors, wherever it starts
refused CONTENT_NOT_ESP_IMAGE --image "$base/random.bin@0x0:0x10000"
#    (a write inside the old bootloader leaves a damaged image at 0x1000)
refused CONTENT_ESP_IMAGE_INVALID --image "$base/random4k.bin@0x4000:0x1000"
# 3. the end state must boot: an MCUboot image with no swap trailer, then MCUboot
refused END_STATE_BRICK --image "$base/app_notrailer.bin@0x110000:0x100000" --image "$base/mcuboot-esp32.bin@0x1000:0xF000"
#    a bootloader-only migration on a device whose primary slot holds no MCUboot image
refused END_STATE_BRICK --image "$base/mcuboot-esp32.bin@0x1000:0xF000"

# 4. the real migration passes and ends in NEW
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" \
    --image "$base/mcuboot-esp32.bin@0x1000:0xF000" > mig.txt 2>&1 || fail "reference migration refused: $(cat mig.txt)"
"$REFLASHER" boot dev.img | grep -q '^NEW' || fail "reference migration does not boot NEW"
#    leave no trace: the journal's area is erased at the end, and a rerun
#    finds its work done from the destinations' content: nothing is written
python3 - dev.img <<'PY' || fail "the journal was left behind after the migration"
import sys
d = open(sys.argv[1], "rb").read()
assert d[0x3FE000:0x400000] == b"\xff" * 0x2000
PY
cp dev.img done0.img
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" \
    --image "$base/mcuboot-esp32.bin@0x1000:0xF000" --json > rerun.json 2>/dev/null || fail "rerun after completion failed"
cmp -s dev.img done0.img || fail "a rerun after completion changed the device"
python3 - rerun.json <<'PY' || fail "a rerun after completion did flash work"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] and j["bytes_erased"] == 0 and j["bytes_programmed"] == 0, j
PY
echo "ok: journal erased at the end; a rerun after completion writes nothing"

# 5. a rerun with the #sha256 of a NEW image at the same URL is not "already
#    staged": the journal is a hint, the new image is fetched and written
cp before.img dev.img
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" > mig.txt 2>&1 \
    || fail "app step refused: $(cat mig.txt)"
cp www/app_upd.bin old_app.bin
"$REFLASHER" image mcuboot --payload 30000 --seed 9 --slot-size 0x100000 --confirm -o www/app_upd.bin >/dev/null
new_sha=$(sha256sum www/app_upd.bin | cut -d' ' -f1)
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000#sha256=$new_sha" > mig.txt 2>&1 \
    || fail "rerun with a new image refused: $(cat mig.txt)"
grep -q "already staged" mig.txt && fail "the rerun trusted the journal: $(cat mig.txt)"
python3 - dev.img www/app_upd.bin <<'PY' || fail "the destination does not hold the new image after the rerun"
import sys
d = open(sys.argv[1], "rb").read(); n = open(sys.argv[2], "rb").read()
assert d[0x110000:0x110000 + len(n)] == n
PY
#    after the whole migration (the table is gone), a rerun naming another
#    image than the one in place is an error, not "ok, nothing to do"
"$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" \
    --image "$base/mcuboot-esp32.bin@0x1000:0xF000" > mig.txt 2>&1 || fail "migration refused: $(cat mig.txt)"
cp old_app.bin www/app_upd.bin
cp dev.img done.img
rc=0; "$REFLASHER" migrate --allow-http --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" \
    --image "$base/mcuboot-esp32.bin@0x1000:0xF000" > mig.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a rerun with another image after completion exited $rc: $(cat mig.txt)"
grep -q "not in place" mig.txt || fail "no 'not in place' in: $(cat mig.txt)"
cmp -s dev.img done.img || fail "the refused rerun changed the device"
echo "ok: rerun with a new image's digest writes the new image"

# 6. embedded: a garbage image, an unaligned destination: refused before the
#    file is placed inside the running app (the device is unchanged)
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_embedded_example-partitions.csv" \
    --running factory --old-system -o emb.img >/dev/null
cp emb.img emb_before.img
for spec in "www/random.bin@0x1000:0x110000" "www/app_upd.bin@0x1800:0x110000"; do
    if "$REFLASHER" migrate --allow-http --device emb.img --embedded "$spec" --at 0x14294 > mig.txt 2>&1; then
        fail "embedded $spec accepted"; fi
    cmp -s emb.img emb_before.img || fail "refused embedded $spec changed the device"
    echo "ok: embedded $spec refused, device unchanged"
done
# 7. no room for a backup of the running app: refused unless --allow-no-backup
cat > nobackup.csv <<'CSV'
nvs,      data, nvs,     0x9000,  0x4000,
otadata,  data, ota,     0xd000,  0x2000,
phy_init, data, phy,     0xf000,  0x1000,
factory,  app,  factory, 0x10000, 2M,
CSV
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions nobackup.csv --running factory --old-system \
    -o nb.img >/dev/null
cp nb.img nb_before.img
"$REFLASHER" image esp-bootloader --chip esp32 --code-size 20000 -o nb_bl.bin >/dev/null
python3 - nb_bl.bin "$fx/app_upd.bin" merged.bin <<'PY'
import sys
bl = open(sys.argv[1], "rb").read(); app = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(bl + b"\xFF" * (0xF000 - len(bl)) + app)
PY
rc=0; "$REFLASHER" migrate --allow-http --device nb.img --embedded merged.bin@0x1000:0x110000 --at 0x14294 > mig.txt 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a migration with no backup path ran without --allow-no-backup"
grep -q NO_BACKUP mig.txt || fail "no NO_BACKUP in: $(cat mig.txt)"
cmp -s nb.img nb_before.img || fail "refused no-backup migration changed the device"
"$REFLASHER" migrate --allow-http --device nb.img --embedded merged.bin@0x1000:0x110000 --at 0x14294 --allow-no-backup > mig.txt 2>&1 \
    || fail "--allow-no-backup refused: $(cat mig.txt)"
"$REFLASHER" boot nb.img | grep -q '^NEW' || fail "--allow-no-backup migration does not boot NEW"
echo "ok: no backup path refused unless --allow-no-backup"

# 8. an endless body (chunked, no length) is refused and leaves nothing staged
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' '\132' > www/endless.bin
cp before.img dev.img
rc=0; "$REFLASHER" migrate --allow-http --device dev.img --image "$base/endless.bin?chunked=1@0x300000:0x10000" > mig.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "an endless body was accepted (rc $rc): $(cat mig.txt)"
cmp -s dev.img before.img || fail "a refused endless body left bytes on the device"
echo "ok: endless body refused, nothing left behind"
echo "test_hostile_cli: all cases refused before any write"
