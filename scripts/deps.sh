#!/usr/bin/env bash
# Install the Debian packages the project needs, only those missing (so a
# machine that has them all needs neither root nor network).
set -euo pipefail
pkgs=(build-essential cmake pkg-config python3 openssl curl
      libcurl4-openssl-dev libmbedtls-dev libcmocka-dev
      gcc-riscv64-unknown-elf libnewlib-dev librsvg2-bin clang libclang-rt-14-dev
      libcjson-dev libsodium-dev zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
