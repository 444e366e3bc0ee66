#!/usr/bin/env bash
# `reflasher rehearse --power-cut-sweep` ("every failure is an outcome"): a
# power cut before (and in the middle of) every flash write of the reference's
# two migrations, on devices holding a real old system; the boot model after
# each cut, a rerun to NEW, the brick window, the network faults; and the
# device image is never modified.
# Reads ../shared (seeds and fixtures); real HTTP on 127.0.0.1.
#
# Cost: each cut point is two migrations of a 4 MB device (tens of ms, 3-5x
# that under ASan). The sweeps below use stride 1 while the reference run has
# at most MAX_POINTS write ops, and a stride that keeps MAX_POINTS cut points
# otherwise (learned from a first, edges-only run). RF_FULL_SWEEP=1 forces
# every op, before and mid-op, whatever the count.
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}" "${RF_SRC:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] || { echo "SKIP: ../shared not available"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
t=$(mktemp -d); srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; [ -f "$t/ng/nginx.pid" ] && kill "$(cat "$t/ng/nginx.pid")" 2>/dev/null; rm -rf "$t"' EXIT
cd "$t"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
MAX_POINTS=${RF_REHEARSE_MAX_POINTS:-400}

# readiness by pipe: the server prints its port once it listens
exec 3< <(exec python3 "$RF_SRC/tests/support/http_server.py" --root "$fx" --max-seconds 580)
srv=$!
read -r port <&3 || { echo "FAIL: http server did not start"; exit 1; }
base="http://127.0.0.1:$port"

# rehearse NAME EXPECTED_RC ARGS...: stdout in NAME.out, stderr in NAME.err,
# exit status in $RC; EXPECTED_RC "any" accepts 0 and 1 (not a usage error
# or a crash): then the JSON's "ok" must agree with it (check_ok NAME).
rehearse() {
    local name=$1 want=$2 rc=0
    shift 2
    # plain HTTP on loopback: the sources are not pinned here (--allow-http)
    "$REFLASHER" rehearse --allow-http "$@" >"$name.out" 2>"$name.err" || rc=$?
    RC=$rc
    if [ "$want" = any ] && { [ "$rc" = 0 ] || [ "$rc" = 1 ]; }; then
        return 0
    fi
    if [ "$rc" != "$want" ]; then
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$name.out" | head -40
        grep -v '^rehearse: ' "$name.err" | sed 's/^/    /' | head -20
    fi
    return 0
}
check_ok() {
    local ok
    ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$1.out") || { fail "$1: no JSON"; return 0; }
    { [ "$ok" = True ] && [ "$RC" = 0 ]; } || { [ "$ok" = False ] && [ "$RC" = 1 ]; } || fail "$1: exit $RC but ok=$ok"
}
# stride for a scenario: 1 when it has at most MAX_POINTS write ops
stride_for() {   # JSON file of an edges-only run
    if [ "${RF_FULL_SWEEP:-0}" = 1 ]; then echo 1; return; fi
    python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["write_ops"]; m=int(sys.argv[2]); print(max(1, -(-n // m)))' "$1" "$MAX_POINTS"
}

# ---------------------------------------------------------------- download
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o dev.img --old-system >/dev/null
cp dev.img dev.orig; cp dev.img.meta dev.meta.orig
DL=(--device dev.img --image "$base/app_upd.bin@0x110000:0x100000" --image "$base/mcuboot-esp32.bin@0x1000:0xF000")

rehearse dl_probe 0 "${DL[@]}" --power-cut-sweep --stride 1000000000 --json
s=$(stride_for dl_probe.out)
echo "download: stride $s"
rehearse dl 0 "${DL[@]}" --power-cut-sweep --stride "$s" --json
python3 - dl.out "$s" <<'PY' || fail "download sweep JSON"
import json, sys
j = json.load(open(sys.argv[1])); stride = int(sys.argv[2])
for k in ("cut_points", "outcomes", "brick_outside_window", "window_ops", "window_ms", "reruns_ended_new",
          "mid_op", "stride", "write_ops", "runs"):
    assert k in j, k
o = j["outcomes"]
assert set(o) == {"OLD", "NEW", "BRICK"}, o
assert j["ok"] is True and j["mode"] == "download" and j["mid_op"] is False and j["stride"] == stride, j
assert sum(o.values()) == j["cut_points"] > 0, j
if stride == 1:
    assert j["cut_points"] == j["write_ops"], j
assert j["brick_outside_window"] == 0, j
assert j["reruns_ended_new"] == j["cut_points"] and j["rerun_failures"] == 0, j
assert j["cuts_not_reached"] == 0 and j["trace_mismatches"] == 0, j
first, last = j["window_ops"]
assert 1 <= first <= last <= j["write_ops"], j["window_ops"]
# the old system boots until the bootloader region is touched, the new one after
assert o["OLD"] > 0 and o["BRICK"] > 0 and o["NEW"] > 0, o
assert o["BRICK"] == j["brick_inside_window"], j
# never longer than the reference component's window (device-timings.md: 690 ms)
assert 0 < j["window_ms"] < 690, j["window_ms"]
runs = j["runs"]
assert runs[0]["outcome"] == "OLD" and runs[0]["first"] == 1, runs[0]
assert all(r["outcome"] != "BRICK" or r["in_window"] for r in runs), runs
print("download: %d write ops, %d cut points, OLD %d NEW %d BRICK %d, window ops %d-%d = %.1f ms"
      % (j["write_ops"], j["cut_points"], o["OLD"], o["NEW"], o["BRICK"], first, last, j["window_ms"]))
PY
# the plan's estimate of the window against what the rehearsal measures on the
# same device (the estimate is not its own formula restated: the trace is)
"$REFLASHER" plan --allow-http "${DL[@]}" --json > dl_plan.json 2>/dev/null || fail "plan of the download scenario"
python3 - dl_plan.json dl_probe.out <<'PY' || fail "plan window estimate vs rehearsal"
import json, sys
est = json.load(open(sys.argv[1]))["window_ms"]; got = json.load(open(sys.argv[2]))["window_ms"]
assert abs(est - got) <= 0.10 * got, (est, got)
print("download: plan estimates the window at %.1f ms, the rehearsal measures %.1f ms" % (est, got))
PY
# progress is for a terminal only (tests/test_progress_tty.sh): none in a pipe
grep -q 'power cuts' dl.err && fail "progress lines on a non-terminal stderr"
cmp -s dev.img dev.orig || fail "rehearse modified dev.img"
cmp -s dev.img.meta dev.meta.orig || fail "rehearse modified dev.img.meta"

# the JSON goes through cJSON: a device path with a quote, a backslash and a newline comes back unchanged
weird=$'d"q\\b\nnl.img'
cp dev.img "$weird"; cp dev.img.meta "$weird.meta"
rehearse weird 0 --device "$weird" "${DL[@]:2}" --power-cut-sweep --stride 1000000000 --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["device"] == sys.argv[2] and j["ok"], j["device"]' \
    weird.out "$weird" || fail "JSON with a quote, a backslash and a newline in the device path"

# the text report: a table of cut points by outcome, the window, the reference's windows
rehearse dl_text 0 "${DL[@]}" --power-cut-sweep --stride 5
for p in '^  before 1-[0-9]+ +[0-9]+  OLD ' 'BRICK \(inside window\)' '^brick window: ops [0-9]+-[0-9]+ .* ms of simulated device time' \
    'download example 690 ms' 'embedded example 12,310 ms' '^outcomes: OLD [0-9]+, NEW [0-9]+, BRICK [0-9]+ \(inside the window [0-9]+, OUTSIDE 0\)' \
    '^PASS '; do
    grep -Eq -- "$p" dl_text.out || fail "text report: no line matches $p"
done
rehearse dl_quiet 0 "${DL[@]}" --power-cut-sweep --stride 50 --quiet
grep -q '^rehearse:' dl_quiet.err && fail "--quiet printed progress"
grep -q '^PASS ' dl_quiet.out || fail "--quiet: no PASS line"

# mid-op: a cut in the middle of each op too (a prefix of a program, an erase
# leaving random bytes in its first sector)
rehearse dl_mid 0 "${DL[@]}" --power-cut-sweep --mid-op --stride "$s" --json
check_ok dl_mid
python3 - dl_mid.out <<'PY' || fail "download mid-op sweep JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mid_op"] is True and j["brick_outside_window"] == 0, j
assert j["reruns_ended_new"] == j["cut_points"], j
assert sum(j["outcomes"].values()) == j["cut_points"], j
# a cut anywhere, even in the middle of the partition table's erase after
# the new bootloader is complete, reruns to the reference's destinations
assert j["ok"] and j["rerun_failures"] == 0, j.get("rerun_failure_points")
o = j["outcomes"]
print("download, mid-op: %d cut points, OLD %d NEW %d BRICK %d (outside the window 0), reruns NEW %d/%d" %
      (j["cut_points"], o.get("OLD", 0), o.get("NEW", 0), o.get("BRICK", 0), j["reruns_ended_new"], j["cut_points"]))
PY

# network faults, injected in the source layer: the connection resets at
# 10/50/90 % of each image, stalls at 50 %, or the server answers 500
check_net() {   # JSON file, image length list "app_len,bl_len"
python3 - "$1" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); lens = [int(x) for x in sys.argv[2].split(",")]
nf = j["net_faults"]
assert j["ok"] is True and len(nf) == 10 and j["net_fault_failures"] == 0, nf
for f in nf:
    assert f["ok"] and f["error"] and f["after"] != "BRICK" and f["rerun"] == "NEW" and f["destinations_ok"], f
    kind, _, at = f["fault"].partition("=")
    if kind == "close_at":
        assert f["error"] == "ESP_ERR_HTTP_INCOMPLETE_DATA" and f["served_bytes"] == int(at), f
    elif kind == "stall_at":
        assert f["error"] == "ESP_ERR_TIMEOUT" and f["served_bytes"] == int(at), f
    else:
        assert f["fault"] == "status=500" and f["error"] == "ESP_ERR_INVALID_RESPONSE" and f["served_bytes"] == 0, f
# the 1 MiB app resumes after a late reset (HTTP Range): the rerun reads less than the image
app = [f for f in nf if f["image"].endswith("app_upd.bin")]
assert [f["fault"] for f in app][:3] == ["close_at=%d" % (lens[0] * p // 100) for p in (10, 50, 90)], app
assert app[2]["rerun_bytes"] < lens[0] // 2, app[2]
assert app[4]["rerun_bytes"] == lens[0], app[4]   # nothing was staged after a 500
print("network faults: %d, all recovered; rerun after a reset at 90 %%: %d bytes" % (len(nf), app[2]["rerun_bytes"]))
PY
}
LENS="$(stat -c %s "$fx/app_upd.bin"),$(stat -c %s "$fx/mcuboot-esp32.bin")"
rehearse dl_net 0 "${DL[@]}" --power-cut-sweep --stride 1000000000 --net-faults --json
check_net dl_net.out "$LENS" || fail "network faults JSON (test server)"

# the same against nginx (any server works: the faults are in the source layer)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$NGINX" ]; then
    mkdir -p ng/tmp && chmod 755 "$t" ng
    ngport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > ng/nginx.conf <<CONF
worker_processes 1;
daemon on;
pid $t/ng/nginx.pid;
error_log $t/ng/error.log warn;
events { worker_connections 64; }
http {
    access_log $t/ng/access.log;
    client_body_temp_path $t/ng/tmp; proxy_temp_path $t/ng/tmp; fastcgi_temp_path $t/ng/tmp;
    uwsgi_temp_path $t/ng/tmp; scgi_temp_path $t/ng/tmp;
    server { listen 127.0.0.1:$ngport; root $fx; }
}
CONF
    # nginx binds its socket before it daemonizes: listening once this returns
    "$NGINX" -c "$t/ng/nginx.conf" -p "$t/ng" || fail "nginx did not start"
    ng="http://127.0.0.1:$ngport"
    rehearse ng_net 0 --device dev.img --image "$ng/app_upd.bin@0x110000:0x100000" --image "$ng/mcuboot-esp32.bin@0x1000:0xF000" \
        --power-cut-sweep --stride 1000000000 --net-faults --json
    check_net ng_net.out "$LENS" || fail "network faults JSON (nginx)"
    grep -q '" 206 ' ng/access.log || fail "nginx: no resumed (206) download"
    kill "$(cat ng/nginx.pid)" 2>/dev/null || true
else
    echo "nginx not installed: the nginx case is not run"
fi

# a migration that does not end NEW (no bootloader) is refused as a reference
rehearse dl_noboot 1 --device dev.img --image "$base/app_upd.bin@0x110000:0x100000" --power-cut-sweep
grep -q 'reference run (no power cut) does not end NEW' dl_noboot.err || fail "no 'does not end NEW' message"
# an unpinned http:// source without --allow-http: refused as by plan and migrate
rc=0; "$REFLASHER" rehearse "${DL[@]}" --power-cut-sweep > nohttp.out 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "allow-http" nohttp.out || fail "rehearse took an unpinned http:// source (exit $rc)"
# usage errors
rehearse u1 2 "${DL[@]}"
rehearse u2 2 "${DL[@]}" --power-cut-sweep --at 0x14294
rehearse u3 2 "${DL[@]}" --power-cut-sweep --stride 0
cmp -s dev.img dev.orig || fail "rehearse modified dev.img"

# ---------------------------------------------------------------- embedded
python3 - "$fx" merged.bin <<'PY'
import sys
bl = open(sys.argv[1] + "/mcuboot-esp32.bin", "rb").read(); app = open(sys.argv[1] + "/app_upd.bin", "rb").read()
m = bytearray(b"\xff" * 0x10F000); m[:len(bl)] = bl; m[0xF000:0xF000 + len(app)] = app
open(sys.argv[2], "wb").write(m)
PY
"$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_embedded_example-partitions.csv" \
    --running factory -o emb.img --old-system --embed merged.bin --embed-at 0x14294 >/dev/null
cp emb.img emb.orig
EM=(--device emb.img --embedded merged.bin@0x1000:0x110000 --at 0x14294)
rehearse em_probe any "${EM[@]}" --power-cut-sweep --stride 1000000000 --json
es=$(stride_for em_probe.out)
emid=(--mid-op)   # the embedded sweep is cheap: always before and mid-op
echo "embedded: stride $es"
rehearse em 0 "${EM[@]}" --power-cut-sweep --stride "$es" "${emid[@]}" --json
check_ok em
python3 - em.out "$es" <<'PY' || fail "embedded sweep JSON"
import json, sys
j = json.load(open(sys.argv[1])); stride = int(sys.argv[2])
o = j["outcomes"]
assert j["mode"] == "embedded" and j["stride"] == stride, j
assert sum(o.values()) == j["cut_points"] > 0, j
assert j["cuts_not_reached"] == 0 and j["trace_mismatches"] == 0, j
first, last = j["window_ops"]
assert 1 <= first <= last <= j["write_ops"], j
# shorter than the reference component's: its whole 12,310 ms copy (device-timings.md)
assert 0 < j["window_ms"] < 12310, j["window_ms"]
runs = j["runs"]
# Holds today: the old system boots until the bootloader region is touched
# (the running app is backed up and selected first), a BRICK happens only
# inside the bootloader window, and every cut up to the window's end reruns
# to NEW with the reference's destinations.
# (cut before op k: ops 1..k-1 done; cut in the middle of op k: k partly done)
assert j["brick_outside_window"] == 0, j["brick_outside_points"]
assert all(r["outcome"] != "BRICK" or r["in_window"] for r in runs), runs
assert o["BRICK"] == j["brick_inside_window"] > 0 and o["OLD"] > 0 and o["NEW"] > 0, o
assert j["reruns_ended_new"] == j["cut_points"], j
for r in runs:
    before = r["cut"] == "before"
    if r["last"] < first + before:
        assert r["outcome"] == "OLD", r
    if r["last"] <= last + before:
        assert r["rerun_ok"], r
assert j["ok"] and j["rerun_failures"] == 0, j.get("rerun_failure_points")
print("embedded: all %d cut points good (OLD %d NEW %d BRICK %d, all inside), window ops %d-%d = %.1f ms" %
      (j["cut_points"], o["OLD"], o["NEW"], o["BRICK"], first, last, j["window_ms"]))
PY
"$REFLASHER" plan "${EM[@]}" --json > em_plan.json 2>/dev/null || fail "plan of the embedded scenario"
python3 - em_plan.json em_probe.out <<'PY' || fail "embedded plan window estimate vs rehearsal"
import json, sys
est = json.load(open(sys.argv[1]))["window_ms"]; got = json.load(open(sys.argv[2]))["window_ms"]
assert abs(est - got) <= 0.10 * got, (est, got)
print("embedded: plan estimates the window at %.1f ms, the rehearsal measures %.1f ms" % (est, got))
PY
rehearse em_net 2 "${EM[@]}" --power-cut-sweep --net-faults
cmp -s emb.img emb.orig || fail "rehearse modified emb.img"

# ESP32-C5 with a ROM recovery bootloader: the new bootloader is written and
# verified at the recovery address first, so no cut point is BRICK at all
"$REFLASHER" image mcuboot --payload 149824 --slot-size 0x100000 --confirm -o c5_app.bin >/dev/null
"$REFLASHER" image esp-bootloader --chip esp32c5 --code-size 27000 --seed 5 -o c5_bl.bin >/dev/null
"$REFLASHER" device create --chip esp32c5 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory --old-system --recovery-offset 0x3F0000 -o c5.img >/dev/null
rehearse c5 0 --device c5.img --image c5_app.bin@0x110000:0x100000 --image c5_bl.bin@0x2000:0xE000 \
    --power-cut-sweep --mid-op --json
python3 - c5.out <<'PY' || fail "esp32c5 recovery sweep JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] and j["outcomes"]["BRICK"] == 0 and j["outcomes"]["OLD"] > 0 and j["outcomes"]["NEW"] > 0, j["outcomes"]
assert j["reruns_ended_new"] == j["cut_points"], j
print("esp32c5 with a recovery bootloader: %d cut points, OLD %d NEW %d BRICK 0"
      % (j["cut_points"], j["outcomes"]["OLD"], j["outcomes"]["NEW"]))
PY

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "rehearse: all checks passed"
