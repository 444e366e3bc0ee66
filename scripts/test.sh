#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#  1. the host build and every test (ctest), 2. the same under
#  AddressSanitizer + UndefinedBehaviorSanitizer, 3. the portable core
#  built alone for the ESP32-C3's rv32imc with -Wall -Wextra -Werror, and its size,
#  4. a Release build (what a user builds), build only. Warnings are errors in
#  every build here (RF_WERROR=ON); a user's build leaves them warnings.
#  5. a fuzz smoke run, 6. the bench table (numbers printed, no timed assertion).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
total_pass=0; total_fail=0

run_suite() {   # name, build dir, extra cmake args...
    local name=$1 dir=$2; shift 2
    echo "=== $name: configure and build ($dir)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRF_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs" >/dev/null
    echo "=== $name: ctest"
    local log="$dir/ctest.log" rc=0
    (cd "$dir" && ctest --output-on-failure -j "$jobs" 2>&1) | tee "$log" || rc=$?
    local line pass fail
    line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1 || true)
    if [ -z "$line" ]; then
        echo "$name: ctest printed no summary"; total_fail=$((total_fail + 1)); return
    fi
    fail=$(echo "$line" | sed -E 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    pass=$(( $(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/') - fail ))
    total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
    [ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || total_fail=$((total_fail + 1))
}

run_suite "host" build/ci
run_suite "asan+ubsan" build/ci-asan -DRF_SANITIZE=ON

echo "=== Release build, as a user makes it (cmake -DCMAKE_BUILD_TYPE=Release), -Werror, tests not built"
cmake -S . -B build/ci-release -DCMAKE_BUILD_TYPE=Release -DRF_WERROR=ON -DRF_BUILD_TESTS=OFF >/dev/null
if cmake --build build/ci-release -j "$jobs" > build/ci-release/build.log 2>&1; then
    total_pass=$((total_pass + 1))
else
    grep -E -B2 -A6 'error|warning' build/ci-release/build.log | head -60
    echo "Release build: FAILED (build/ci-release/build.log)"
    total_fail=$((total_fail + 1))
fi

echo "=== core for rv32imc (ESP32-C3), freestanding, -Wall -Wextra -Werror"
# The core itself uses no libc; esp_err.h brings <stdio.h>, <stdlib.h> and
# <assert.h> as ESP-IDF's does, from newlib (ESP-IDF's libc, libnewlib-dev).
mkdir -p build/rv32
objs=()
for src in core/src/*.c; do
    obj="build/rv32/$(basename "${src%.c}").o"
    riscv64-unknown-elf-gcc -march=rv32imc_zicsr -mabi=ilp32 -ffreestanding -std=c11 -Os \
        -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -isystem /usr/include/newlib \
        -Icore/include -Ihost/compat/include -c "$src" -o "$obj"
    objs+=("$obj")
done
riscv64-unknown-elf-size -t "${objs[@]}"
total_pass=$((total_pass + 1))

echo "=== what a device links: footprint with and without signatures, budgets (scripts/footprint.py)"
if python3 scripts/footprint.py; then
    total_pass=$((total_pass + 1))
else
    total_fail=$((total_fail + 1))
fi

echo "=== ESP-IDF names come through the headers ESP-IDF declares them in (scripts/check_idf_headers.py)"
if python3 scripts/check_idf_headers.py; then
    total_pass=$((total_pass + 1))
else
    total_fail=$((total_fail + 1))
fi

echo "=== fuzz smoke: the parsers of untrusted bytes, 20 s of libFuzzer + ASan + UBSan (seeded)"
seeds=$(mktemp -d)
R=build/ci/reflasher
"$R" image esp-bootloader --chip esp32 -o "$seeds/bl.bin" >/dev/null
"$R" image esp-app --chip esp32 --code-size 30000 -o "$seeds/app.bin" >/dev/null
"$R" image mcuboot --payload 20000 --slot-size 0x10000 --confirm -o "$seeds/mcu.bin" >/dev/null
if RF_SEEDS="$seeds" bash scripts/fuzz.sh 20; then
    total_pass=$((total_pass + 1))
else
    echo "fuzz smoke: FAILED (the crashing input is build/fuzz/crash-*)"
    total_fail=$((total_fail + 1))
fi
rm -rf "$seeds"

echo "=== bench: the migrations on the honest clock, beside the reference's replay and the physical limit (numbers only)"
shared=$(cd .. && pwd)/shared
[ -d "$shared/fixtures" ] || shared=""
if RF_SHARED="$shared" build/ci/bench_migration && RF_SHARED="$shared" build/ci/bench_reference_replay; then
    total_pass=$((total_pass + 1))
else
    echo "bench: a migration failed (its destinations differ from the images)"
    total_fail=$((total_fail + 1))
fi

echo
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
