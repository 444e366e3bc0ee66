#!/usr/bin/env bash
# Progress on a terminal: `migrate`, `rehearse` and `fleet` draw a progress
# line (current step, bytes, simulated device time) on stderr when it is a
# TTY, and print nothing of it when stderr is a pipe or a file. The TTY is a
# real one: a tmux pane (private server socket), read back with capture-pane;
# completion is signalled with `tmux wait-for`, no polling.
# Reads ../shared/fixtures; exit 77 (skipped) without it or without tmux.
set -euo pipefail
: "${REFLASHER:?}" "${RF_SHARED:?}"
fx="$RF_SHARED/fixtures"; seeds="$RF_SHARED/seeds"
[ -f "$fx/app_upd.bin" ] || { echo "SKIP: ../shared not available"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP: tmux not installed"; exit 77; }
t=$(mktemp -d)
sock="rf-progress-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$t"' EXIT
cd "$t"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkdev() { "$REFLASHER" device create --chip esp32 --flash-size 4MB --partitions "$seeds/boot_swap_download_example-partitions.csv" \
    --running factory -o "$1" --old-system >/dev/null; }
mkdev a.img; mkdev b.img; mkdev c.img
MIG=(--image "$fx/app_upd.bin@0x110000:0x100000" --image "$fx/mcuboot-esp32.bin@0x1000:0xF000")
# k-2MB: the 4 MB layout does not fit a 2 MB flash: an ERROR kind
printf '{"kinds":[{"name":"k-one","chip":"esp32","flash_size":"4MB","partitions":"%s","running":"factory"},
 {"name":"k-2MB","chip":"esp32","flash_size":"2MB","partitions":"%s","running":"factory"}]}\n' \
    "$seeds/boot_swap_download_example-partitions.csv" "$seeds/boot_swap_download_example-partitions.csv" > fleet.json
q() { printf '%q ' "$@"; }

# ---- in a terminal (stdout to a file, stderr the pane) ----
tmux -L "$sock" new-session -d -s p -x 220 -y 60 "bash --norc --noprofile"
run_tty() {   # NAME CMD...: run in the pane, wait for it, capture the pane into NAME.pane
    local name=$1; shift
    tmux -L "$sock" send-keys -t p "clear; $(q "$@") > $name.out; echo \"rc=\$?\" > $name.rc; tmux -L $sock wait-for -S $name" Enter
    tmux -L "$sock" wait-for "$name"
    tmux -L "$sock" capture-pane -p -t p > "$name.pane"
}
tmux -L "$sock" send-keys -t p "cd $(q "$t")" Enter
run_tty mig "$REFLASHER" migrate --device a.img "${MIG[@]}"
run_tty reh "$REFLASHER" rehearse --device c.img "${MIG[@]}" --power-cut-sweep --stride 20 --jobs 1
run_tty flt "$REFLASHER" fleet fleet.json "${MIG[@]}" --stride 40 --jobs 1

# ---- the same, piped ----
"$REFLASHER" migrate --device b.img "${MIG[@]}" --json > mig_pipe.out 2> mig_pipe.err
"$REFLASHER" rehearse --device c.img "${MIG[@]}" --power-cut-sweep --stride 20 --jobs 1 > reh_pipe.out 2> reh_pipe.err
"$REFLASHER" fleet fleet.json "${MIG[@]}" --stride 40 --jobs 1 > flt_pipe.out 2> flt_pipe.err || true

grep -q '^rc=0$' mig.rc || fail "migrate in a terminal: $(cat mig.rc)"
python3 - mig.pane mig_pipe.out <<'PY' || fail "migrate progress"
import json, re, sys
pane = open(sys.argv[1]).read(); j = json.load(open(sys.argv[2]))
m = re.search(r"^migrate: done \| programmed (\d+) B, erased (\d+) B, network (\d+) B \| device time ([0-9.]+) ms$", pane, re.M)
assert m, pane
# the terminal's figures are the run's own (the piped run on an identical device reports the same)
assert (int(m[1]), int(m[2]), int(m[3])) == (j["bytes_programmed"], j["bytes_erased"], j["network_bytes"]), (m.groups(), j)
assert abs(float(m[4]) - j["device_time_ms"]) < 0.05, (m[4], j["device_time_ms"])
print("migrate on a terminal:", m[0])
PY
grep -Eq '^rehearse: power cuts ([0-9]+)/\1 \(100%\)' reh.pane || fail "rehearse progress: $(grep rehearse reh.pane || cat reh.pane)"
grep -q '^PASS' reh.out || fail "rehearse in a terminal did not pass"
grep -Eq "^fleet: kind 1/2 'k-one': SAFE" flt.pane && grep -Eq "^fleet: kind 2/2 'k-2MB': ERROR" flt.pane \
    || fail "fleet progress: $(cat flt.pane)"
grep -q 'SAFE' flt.out || fail "fleet table not on stdout"

# piped: not a byte of progress (no carriage return, no escape, no progress line)
for f in mig_pipe.err reh_pipe.err flt_pipe.err; do
    if grep -Eq $'\r|\e|^migrate: |power cuts|^fleet: kind' "$f"; then fail "$f has progress output: $(head -c 300 "$f")"; fi
done
cmp -s <(grep -v '^rehearse\|elapsed\|PASS' reh.out) <(grep -v '^rehearse\|elapsed\|PASS' reh_pipe.out) \
    || fail "rehearse's stdout differs between a terminal and a pipe"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "progress: shown on a terminal, silent in pipes"
