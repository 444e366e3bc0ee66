#!/usr/bin/env bash
# Fuzz the parsers of untrusted bytes (ESP image, MCUboot image, partition
# table, journal records, plan rules) with libFuzzer + ASan + UBSan.
#   bash scripts/fuzz.sh [SECONDS]      # default 60; corpus kept in build/fuzz/corpus
# CI runs a short, seeded smoke run of it (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out/corpus"
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
    -Icore/include -Ihost/compat/include fuzz/fuzz_images.c core/src/*.c crypto/rf_crypto_mbedtls.c \
    crypto/rf_sig_mbedtls.c crypto/rf_cost_host.c host/compat/src/esp_err_to_name.c -lmbedcrypto -lsodium \
    -o "$out/fuzz_images"
# seeds: generated images of every kind, so the fuzzer starts past the magic checks
if [ -n "${RF_SEEDS:-}" ] && [ -d "$RF_SEEDS" ]; then
    for f in "$RF_SEEDS"/*; do
        for k in 0 1 2; do { printf "\\x$(printf %02x $k)"; head -c 65536 "$f"; } > "$out/corpus/seed-$k-$(basename "$f")"; done
    done
fi
"$out/fuzz_images" -max_total_time="$secs" -seed=1 -max_len=70000 -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" 2>&1 | tail -12
