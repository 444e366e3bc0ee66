#!/usr/bin/env bash
# The public header's types are the reference's: tests/api/api_types.c
# compiles with -Wall -Wextra -Werror as C (gnu17, c11) and as C++ (gnu++17),
# for the host and, when the toolchain is there, for the ESP32-C3's rv32imc
# (where size_t is 32 bits; newlib's headers, as ESP-IDF).
set -euo pipefail
src=${RF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
inc=(-I"$src/include" -I"$src/core/include" -I"$src/host/compat/include")
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
flags=(-Wall -Wextra -Werror -c -o "$out/t.o")
fail=0
run() { echo "+ $*"; "$@" || fail=1; }
run gcc -std=gnu17 "${flags[@]}" "${inc[@]}" "$src/tests/api/api_types.c"
run gcc -std=c11 -pedantic "${flags[@]}" "${inc[@]}" "$src/tests/api/api_types.c"
run g++ -std=gnu++17 "${flags[@]}" "${inc[@]}" -x c++ "$src/tests/api/api_types.c"
if command -v riscv64-unknown-elf-gcc >/dev/null; then
    rv=(-march=rv32imc_zicsr -mabi=ilp32)
    [ -d /usr/include/newlib ] && rv+=(-isystem /usr/include/newlib)   # Debian's libnewlib-dev
    mkdir -p "$out/lwip/sys"   # <sys/socket.h> is lwIP's on a device: its address families
    printf '#pragma once\n#define AF_UNSPEC 0\n#define AF_INET 2\n#define AF_INET6 10\n' > "$out/lwip/sys/socket.h"
    rv+=(-I"$out/lwip")
    run riscv64-unknown-elf-gcc "${rv[@]}" -std=gnu17 "${flags[@]}" "${inc[@]}" "$src/tests/api/api_types.c"
    if echo '#include <type_traits>' | riscv64-unknown-elf-g++ "${rv[@]}" -x c++ -fsyntax-only - 2>/dev/null; then
        run riscv64-unknown-elf-g++ "${rv[@]}" -std=gnu++17 "${flags[@]}" "${inc[@]}" -x c++ "$src/tests/api/api_types.c"
    fi
fi
[ "$fail" -eq 0 ] && echo "api types: OK"
exit "$fail"
