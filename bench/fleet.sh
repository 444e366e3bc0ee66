#!/usr/bin/env bash
# Fleet load test: N simulated ESP32 devices (old ESP-IDF system on each)
# migrate at once from one nginx on 127.0.0.1, J at a time. Prints wall time,
# requests and bytes nginx served, the devices that ended NEW, and the
# simulated device time per device. Bounded: N devices, one migration each,
# loopback only; nginx is stopped at the end.
#   bash bench/fleet.sh [N=40] [J=8]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-40}
J=${2:-8}
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
bash scripts/deps.sh
cmake -S . -B build/fleet -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRF_BUILD_TESTS=OFF -DRF_BUILD_IDF_EXAMPLES=OFF >/dev/null
cmake --build build/fleet -j "$(nproc)" --target reflasher >/dev/null
R="$(pwd)/build/fleet/reflasher"
w=$(mktemp -d)
trap '[ -f "$w/nginx.pid" ] && kill "$(cat "$w/nginx.pid")" 2>/dev/null; rm -rf "$w"' EXIT
mkdir -p "$w/www" "$w/dev" "$w/tmp"
"$R" image mcuboot --payload 149824 --slot-size 0x100000 --confirm -o "$w/www/app_upd.bin" >/dev/null
"$R" image esp-bootloader --chip esp32 --code-size 27000 -o "$w/www/mcuboot-esp32.bin" >/dev/null
cp examples/boot_swap_download_example/partitions.csv "$w/partitions.csv"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$w/nginx.conf" <<CONF
worker_processes 2;
pid $w/nginx.pid;
error_log $w/error.log warn;
events { worker_connections 1024; }
http {
    access_log $w/access.log;
    client_body_temp_path $w/tmp; proxy_temp_path $w/tmp; fastcgi_temp_path $w/tmp;
    uwsgi_temp_path $w/tmp; scgi_temp_path $w/tmp;
    server { listen 127.0.0.1:$port; root $w/www; }
}
CONF
chmod -R a+rX "$w"   # nginx workers run as an unprivileged user
"$NGINX" -c "$w/nginx.conf" -p "$w"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/app_upd.bin" -o /dev/null && break; sleep 0.1; done
: > "$w/access.log"
for i in $(seq "$N"); do
    "$R" device create --chip esp32 --flash-size 4MB --partitions "$w/partitions.csv" --running factory \
        --old-system -o "$w/dev/d$i.img" >/dev/null
done
t0=$(date +%s.%N)
seq "$N" | xargs -P "$J" -I{} sh -c "'$R' migrate --allow-http --device '$w/dev/d{}.img' --quiet --json \
    --image http://127.0.0.1:$port/app_upd.bin@0x110000:0x100000 \
    --image http://127.0.0.1:$port/mcuboot-esp32.bin@0x1000:0xF000 > '$w/dev/d{}.json' 2>/dev/null || true"
t1=$(date +%s.%N)
new=0
for i in $(seq "$N"); do "$R" boot "$w/dev/d$i.img" >/dev/null 2>&1 && new=$((new + 1)); done
python3 - "$w" "$N" "$J" "$t0" "$t1" "$new" <<'PY'
import glob, json, sys
w, n, j, t0, t1, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
runs = [json.load(open(f)) for f in glob.glob(w + "/dev/*.json") if open(f).read().strip()]
ok = [r for r in runs if r.get("ok")]
lines = open(w + "/access.log").read().splitlines()
served = sum(int(l.split('"')[2].split()[1]) for l in lines if l.count('"') >= 2)
codes = {}
for l in lines:
    c = l.split('"')[2].split()[0]
    codes[c] = codes.get(c, 0) + 1
dt = [r["device_time_ms"] for r in ok]
print("fleet: %d devices, %d at a time, nginx on 127.0.0.1" % (n, j))
print("  wall time            %.2f s (%.1f devices/s)" % (t1 - t0, n / (t1 - t0)))
print("  migrations ok        %d / %d; booting OLD or NEW afterwards: %d" % (len(ok), n, new))
print("  requests served      %d %s, %.1f MB" % (len(lines), codes, served / 1e6))
if dt:
    dt.sort()
    print("  simulated device time per device: min %.0f ms, median %.0f ms, max %.0f ms" % (dt[0], dt[len(dt) // 2], dt[-1]))
PY
