#!/usr/bin/env python3
"""What a device links of this component, measured for the ESP32-C3 (rv32imc).

Compiles the API (src/*.c), the core (core/src/*.c), the crypto glue
(crypto/*.c) and the ESP-IDF port (port/esp_idf/*.c) as ESP-IDF would:
-Os -ffunction-sections -fdata-sections, ESP_PLATFORM, an sdkconfig.h with
Kconfig's defaults (CONFIG_LOG_MAXIMUM_LEVEL = Info), against the emulated
ESP-IDF headers (host/compat/include, which declare what ESP-IDF does),
newlib's headers and Mbed TLS's. Then links them with --gc-sections, rooted
at the public functions of include/self_reflasher.h, against generated
one-instruction stubs for every ESP-IDF, Mbed TLS and libc function they call.
The stubs are not counted. Two builds: with signature support and without
(Kconfig SELF_REFLASHER_SIGNATURES: crypto/rf_sig_none.c instead of the
verifier).

Prints .text / .rodata (and how much of it is string literals, mostly log
text) / .data / .bss, the code that must run from IRAM (esp_self_reflasher.lf:
the functions in IRAM_FUNCS), the handle's size (from DWARF), and the peak
stack of each public call: -fstack-usage frames summed along the deepest
path of the -fcallgraph-info call graph. An indirect call (the platform's
flash, source and log functions) is charged the deepest function whose
address the port or the API takes. ESP-IDF's, Mbed TLS's and libc's own
frames are not included (they are stubs here).

Then compares with the budgets of issue 10; a budget in ENFORCED makes the
script fail when exceeded, the others are reported only. New files in
core/src, src, crypto and port/esp_idf are picked up by glob.
Usage: footprint.py [--keep DIR]
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CC = "riscv64-unknown-elf-gcc"
ARCH = ["-march=rv32imc_zicsr", "-mabi=ilp32"]
CFLAGS = ARCH + ["-Os", "-ffunction-sections", "-fdata-sections", "-std=gnu17", "-g", "-fstack-usage",
                 "-fcallgraph-info=su", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
                 "-Wno-sign-compare", "-DESP_PLATFORM=1", "-fno-common"]
# Kconfig SELF_REFLASHER_SAVE_RESTORE (default y on RISC-V): the component's
# own sources are built with -msave-restore (port/esp_idf/component.cmake).
CFLAGS += ["-msave-restore"]
# libgcc's register save/restore routines that -msave-restore calls: linked
# and counted (text and IRAM: ESP-IDF's newlib/system_libs.lf places
# libgcc.a:save-restore in IRAM on RISC-V). This toolchain has no rv32imc
# multilib: rv32im's copy, without compressed instructions, is an upper bound.
LIBGCC_ARCH = ["-march=rv32im", "-mabi=ilp32"]
SAVE_RESTORE_OBJ = "save-restore.o"
KIB = 1024

# The linker fragments: the functions of our archive they place in IRAM
# (what may run while the running app's own flash is rewritten) are the IRAM figure.
LF = [os.path.join(ROOT, "esp_self_reflasher.lf"), os.path.join(ROOT, "port/esp_idf/self_reflasher_archive.lf.in")]

# name, what, limit in bytes, enforced (fail when over). Enforced: the budgets
# that hold today. The two size budgets are printed with their figure until
# the work of issue 10 that meets them lands; then flip them to True. The
# stacks count our frames only: Mbed TLS's and ESP-IDF's own functions are
# stubbed (their contexts that we hold are on the heap).
BUDGETS = [
    ("flash_nosig", ".text + .rodata without signature support", 16 * KIB, False),
    ("flash_sig", ".text + .rodata with signature support", 20 * KIB, False),
    ("iram", "code in IRAM (copy loop and flash calls)", 4 * KIB, True),
    ("handle", "handle (held from init to deinit)", 512, True),
    ("stack_nosig", "deepest stack of a public call, no key (build without signatures)", 2 * KIB, True),
    ("heap", "peak heap of a download: handle + arena + the port's source", 6 * KIB, True),
    ("stack_sig", "deepest stack of a public call, with a key (build with signatures)", 3 * KIB, True),
]
# Until the code budgets above hold, the figures may not grow: ceilings at the
# measured sizes rounded up to 256 bytes (enforced). A change that must add
# code raises them here, in the same commit, saying why.
CEILINGS = [
    ("flash_nosig", ".text + .rodata without signatures: no growth", 34048),
    ("flash_sig", ".text + .rodata with signatures: no growth", 35840),
    ("flash_min", ".text + .rodata, minimal configuration: no growth", 30720),
]

SDKCONFIG = """/* sdkconfig.h of the footprint build: Kconfig defaults, ESP32-C3. */
#pragma once
#define CONFIG_IDF_TARGET "esp32c3"
#define CONFIG_IDF_TARGET_ESP32C3 1
#define CONFIG_IDF_FIRMWARE_CHIP_ID 0x0005
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_FREERTOS_HZ 100
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_BOOTLOADER_OFFSET_IN_FLASH 0x0
#define CONFIG_SELF_REFLASHER_BUFFER_SIZE 4096
#define CONFIG_SELF_REFLASHER_VERIFY_DEFAULT 1
#define CONFIG_SELF_REFLASHER_RECOVERY_BOOTLOADER_ADDR 0x0
#define CONFIG_SELF_REFLASHER_ALLOW_PLAIN_HTTP 1
#define CONFIG_SELF_REFLASHER_COPY_IN_IRAM 1
#define CONFIG_SELF_REFLASHER_SAVE_RESTORE 1
"""
# The optional transfer features, on by default (Kconfig); the minimal
# configuration turns them off (informational line).
FEATURES = """#define CONFIG_SELF_REFLASHER_GZIP 1
#define CONFIG_SELF_REFLASHER_HTTP_RESUME 1
"""


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        sys.stderr.write("$ %s\n%s" % (" ".join(cmd), p.stdout))
        raise SystemExit("footprint: command failed")
    return p.stdout


def sources(signatures):
    srcs = []
    for pat in ("core/src/*.c", "src/*.c", "crypto/*.c", "port/esp_idf/*.c"):
        srcs += sorted(glob.glob(os.path.join(ROOT, pat)))
    out = []
    for s in srcs:
        b = os.path.basename(s)
        if b.startswith("rf_sig_") and (b == "rf_sig_none.c") == signatures:
            continue
        out.append(s)
    return out


def public_functions():
    text = open(os.path.join(ROOT, "include", "self_reflasher.h"), encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return sorted(set(re.findall(r"^\s*(?:esp_err_t|void|size_t)\s+(esp_self_reflasher_\w+)\s*\(", text, re.M)))


def iram_functions():
    """Function names the fragments put in IRAM: 'object:function (noflash)' entries of our archive."""
    names = set()
    for lf in LF:
        text = open(lf, encoding="utf-8").read()
        names.update(re.findall(r"^\s*[\w.]+:(\w+)\s*\((?:noflash|noflash_text)\)", text, re.M))
    return sorted(names)


def header_dirs(work, minimal=False):
    """Include directories: Mbed TLS and libsodium headers without the host's libc."""
    ext = os.path.join(work, "ext")
    os.makedirs(os.path.join(ext, "sys"), exist_ok=True)
    for name in ("mbedtls", "psa", "sodium", "sodium.h"):
        src = os.path.join("/usr/include", name)
        if os.path.exists(src) and not os.path.exists(os.path.join(ext, name)):
            os.symlink(src, os.path.join(ext, name))
    # lwIP provides <sys/socket.h> on a device; esp_http_client.h needs its families.
    with open(os.path.join(ext, "sys", "socket.h"), "w") as f:
        f.write("#pragma once\n#define AF_UNSPEC 0\n#define AF_INET 2\n#define AF_INET6 10\n")
    # The release (the newest the manifest claims) and the ROM's tinfl declarations,
    # which the host emulation declares in rf_tinfl_host.h (the ROM's code is not counted).
    with open(os.path.join(ext, "esp_idf_version.h"), "w") as f:
        f.write("#pragma once\n#define ESP_IDF_VERSION_MAJOR 5\n#define ESP_IDF_VERSION_MINOR 5\n"
                "#define ESP_IDF_VERSION_PATCH 4\n#define ESP_IDF_VERSION_VAL(major, minor, patch) "
                "(((major) << 16) | ((minor) << 8) | (patch))\n#define ESP_IDF_VERSION ESP_IDF_VERSION_VAL("
                "ESP_IDF_VERSION_MAJOR, ESP_IDF_VERSION_MINOR, ESP_IDF_VERSION_PATCH)\n")
    with open(os.path.join(ext, "miniz.h"), "w") as f:
        f.write('#pragma once\n#include "rf_tinfl_host.h"\n')
    cfg = os.path.join(work, "cfg-minimal" if minimal else "cfg")
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "sdkconfig.h"), "w") as f:
        f.write(SDKCONFIG + ("" if minimal else FEATURES))
    dirs = ["-I" + cfg, "-I" + os.path.join(ROOT, "include"), "-I" + os.path.join(ROOT, "core/include"),
            "-I" + os.path.join(ROOT, "host/compat/include"), "-isystem", ext]
    if os.path.isdir("/usr/include/newlib"):
        dirs += ["-isystem", "/usr/include/newlib"]
    return dirs


def parse_map(path, ours):
    """Sizes of the input sections kept in the output, per kind, for our objects only."""
    sizes = {"text": 0, "rodata": 0, "strings": 0, "data": 0, "bss": 0}
    funcs = {}
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
    except StopIteration:
        raise SystemExit("footprint: unexpected map file")
    pending = None
    for l in lines[start:]:
        m = re.match(r"^ (\.[\w.$]+|COMMON)\s*$", l)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^ (\.[\w.$]+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.o)\)?\s*$", l)
        if m and (m.group(1) or pending):
            sec = m.group(1) or pending
            pending = None
            size = int(m.group(3), 16)
            obj = os.path.basename(m.group(4).split("(")[-1])
            if obj not in ours or size == 0:
                continue
            if sec.startswith(".text"):
                sizes["text"] += size
                funcs[sec[len(".text."):] if obj != SAVE_RESTORE_OBJ else SAVE_RESTORE_OBJ] = size
            elif sec.startswith((".rodata", ".srodata")):
                sizes["rodata"] += size
                if ".str" in sec:
                    sizes["strings"] += size
            elif sec.startswith((".data", ".sdata")):
                sizes["data"] += size
            elif sec.startswith((".bss", ".sbss", "COMMON")):
                sizes["bss"] += size
        else:
            pending = None if not l.startswith(" ") or l.strip() else pending
    return sizes, funcs


def parse_callgraph(ci_files, su_files):
    frames, edges, address_taken = {}, {}, set()
    for su in su_files:
        for l in open(su, encoding="utf-8"):
            parts = l.rstrip("\n").split("\t")
            if len(parts) >= 2:
                loc = parts[0].split(":")     # path:line:col:function
                name, qual = loc[-1], "%s:%s" % (os.path.basename(loc[0]), loc[-1])
                frames[qual] = int(parts[1])
                frames[name] = max(frames.get(name, 0), int(parts[1]))
    for ci in ci_files:
        text = open(ci, encoding="utf-8").read()
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            edges.setdefault(qualify(m.group(1)), set()).add(qualify(m.group(2)))
    return frames, edges, address_taken


def qualify(title):
    """A call-graph title: "fn" (external linkage) or "path/file.c:fn" (static) -> "file.c:fn"."""
    if ":" in title:
        path, fn = title.rsplit(":", 1)
        return "%s:%s" % (os.path.basename(path), fn)
    return title


def address_taken_functions(objs, defined):
    """Functions whose address our code takes (relocations outside a call)."""
    out = set()
    for o in objs:
        dump = run(["riscv64-unknown-elf-objdump", "-r", o])
        for m in re.finditer(r"R_RISCV_(?:HI20|LO12_I|LO12_S|32|PCREL_HI20)\s+(\w+)", dump):
            if m.group(1) in defined:
                out.add(m.group(1))
    return out


def deepest(fn, frames, edges, indirect, memo, stack):
    if fn in memo:
        return memo[fn]
    if fn in stack:            # recursion: counted once (there is none today)
        return (0, [fn + " (recursion)"])
    stack.add(fn)
    best = (0, [])
    for t in edges.get(fn, ()):
        targets = indirect if t == "__indirect_call" else [t]
        for tt in targets:
            if tt == fn:
                continue
            d = deepest(tt, frames, edges, indirect, memo, stack)
            if d[0] > best[0]:
                best = d
    stack.discard(fn)
    memo[fn] = (frames.get(fn, 0) + best[0], [fn] + best[1])
    return memo[fn]


def handle_size(elf):
    """sizeof the handle's object (struct esp_self_reflasher_ctx), from the DWARF of the link."""
    lines = run(["riscv64-unknown-elf-objdump", "--dwarf=info", elf]).splitlines()
    for i, l in enumerate(lines):
        if re.search(r"DW_AT_name\s*:.*[: ]esp_self_reflasher_ctx$", l) and "structure_type" in lines[i - 1]:
            for k in lines[i + 1:i + 4]:
                m = re.search(r"DW_AT_byte_size\s*:\s*(\d+)", k)
                if m:
                    return int(m.group(1))
    return None


def typedef_size(elf, name):
    """sizeof a typedef'd type of the link (e.g. the port's source object), from its DWARF."""
    text = run(["riscv64-unknown-elf-objdump", "--dwarf=info", elf])
    m = re.search(r"DW_TAG_typedef\)\s*\n\s*<\w+>\s+DW_AT_name\s*:[^\n]*[: ]%s\n(?:[^\n]*\n){0,4}?\s*<\w+>\s+"
                  r"DW_AT_type\s*:\s*<0x(\w+)>" % re.escape(name), text)
    if not m:
        return None
    t = re.search(r"<1><%s>:[^\n]*\n(?:\s*<\w+>[^\n]*\n){0,3}?\s*<\w+>\s+DW_AT_byte_size\s*:\s*(\d+)" % m.group(1),
                  text)
    return int(t.group(1)) if t else None


def arena_size(work, inc, d):
    """rf_exec_mem_len(4096) on the device: the arena one download, copy or
    embedded call allocates (core/src/rf_exec_mem.h), evaluated by the cross
    compiler (the step state and the work area)."""
    probe = os.path.join(d, "arena_probe.c")
    with open(probe, "w") as f:
        f.write('#include "rf_exec_mem.h"\n'
                "const unsigned long rf_probe[3] = { RF_EXEC_MEM_LEN(4096), RF_EXEC_STEP_LEN,"
                " RF_EXEC_WORK_LEN(4096) };\n")
    asm = os.path.join(d, "arena_probe.s")
    run([CC] + CFLAGS + inc + ["-I" + os.path.join(ROOT, "core/src"), "-S", probe, "-o", asm], cwd=d)
    words = [int(w) for w in re.findall(r"\.word\s+(\d+)", open(asm, encoding="utf-8").read())]
    return words[:3] if len(words) >= 3 else None


def build(work, signatures, minimal=False):
    tag = ("sig" if signatures else "nosig") + ("-minimal" if minimal else "")
    d = os.path.join(work, tag)
    os.makedirs(d, exist_ok=True)
    inc = header_dirs(work, minimal)
    objs = []
    for s in sources(signatures):
        o = os.path.join(d, os.path.relpath(s, ROOT).replace("/", "__")[:-2] + ".o")
        run([CC] + CFLAGS + inc + ["-c", s, "-o", o], cwd=d)
        objs.append(o)
    defined, undefined = set(), set()
    for o in objs:
        for l in run(["riscv64-unknown-elf-nm", o]).splitlines():
            parts = l.split()
            if len(parts) == 2 and parts[0] in ("U", "w"):
                undefined.add(parts[1])
            elif len(parts) == 3 and parts[1] in "TtDdBbRrSsGgVvWC":
                defined.add(parts[2])
    # -msave-restore's routines come from libgcc (linked below), not a stub
    stubs = sorted(n for n in undefined - defined if not n.startswith(("__riscv_save_", "__riscv_restore_")))
    libgcc = run([CC] + LIBGCC_ARCH + ["-print-libgcc-file-name"]).strip()
    with open(os.path.join(d, "stubs.S"), "w") as f:
        for n in stubs:
            f.write(".section .text.stub.%s,\"ax\",@progbits\n.globl %s\n%s:\n  ret\n" % (n, n, n))
    run([CC] + ARCH + ["-c", os.path.join(d, "stubs.S"), "-o", os.path.join(d, "stubs.o")])
    roots = public_functions()
    elf = os.path.join(d, "device.elf")
    ld = [CC] + ARCH + ["-nostdlib", "-nostartfiles", "-Wl,--gc-sections", "-Wl,-Map," + elf + ".map",
                        "-Wl,-e," + roots[0]] + ["-Wl,-u," + r for r in roots]
    run(ld + objs + [os.path.join(d, "stubs.o"), libgcc, "-o", elf])
    ours = set(os.path.basename(o) for o in objs) | {SAVE_RESTORE_OBJ}
    sizes, funcs = parse_map(elf + ".map", ours)
    # What each of the reference's two example programs links: only the calls it makes.
    per_example = {}
    for name, calls in EXAMPLES:
        e = os.path.join(d, "example_%s.elf" % name)
        run([CC] + ARCH + ["-nostdlib", "-nostartfiles", "-Wl,--gc-sections", "-Wl,-Map," + e + ".map",
                           "-Wl,-e," + calls[0]] + ["-Wl,-u," + r for r in calls] +
            objs + [os.path.join(d, "stubs.o"), libgcc, "-o", e])
        per_example[name] = parse_map(e + ".map", ours)[0]
    frames, edges, _ = parse_callgraph(glob.glob(os.path.join(d, "*.ci")), glob.glob(os.path.join(d, "*.su")))
    taken = address_taken_functions(objs, set(frames)) & set(funcs)
    memo = {}
    stacks = {r: deepest(r, frames, edges, sorted(taken), memo, set()) for r in roots}
    iram = sum(size for sec, size in funcs.items()
               if sec.split(".")[0] in iram_functions() or sec == SAVE_RESTORE_OBJ)
    return {"sizes": sizes, "stacks": stacks, "iram": iram, "handle": handle_size(elf), "stubs": len(stubs),
            "iram_missing": iram_missing(edges, funcs), "per_example": per_example,
            "objs": len(objs), "taken": sorted(taken), "arena": arena_size(work, inc, d),
            "source": typedef_size(elf, "port_src_t")}


# The public calls each of the reference's example programs makes
# (espressif/esp-self-reflasher, examples/*/main/*.c).
EXAMPLES = [
    ("download", ["esp_self_reflasher_init", "esp_self_reflasher_download_bin", "esp_self_reflasher_copy_to_region",
                  "esp_self_reflasher_upd_next_config"]),
    ("embedded", ["esp_self_reflasher_directly_copy_to_region"]),
]


# Reached from the copy loop on its error paths only: logging, which DESIGN.md
# ("What runs from IRAM") shows cannot damage the copy (code in IROM, which the
# copy does not overwrite; a garbled format string at worst).
IRAM_EXEMPT = {"rf_log"}


def iram_missing(edges, funcs):
    """Our functions the copy loop (rf_region_write) calls directly, at any
    depth, that keep their own section in the link but that the fragments do
    not place in IRAM (their code and constants would be read from flash the
    copy may be rewriting). ESP-IDF's, the ROM's (memcmp, libgcc's helpers)
    and the stubs are not ours: they are not in `funcs`."""
    placed = iram_functions()
    seen, todo = set(), ["rf_region_write"]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(t for t in edges.get(f, ()) if t != "__indirect_call")
    ours = set(sec.split(".")[0] for sec in funcs)
    missing = set()
    for f in seen:
        name = f.split(":")[-1]
        if name in ours and name not in placed and name not in IRAM_EXEMPT:
            missing.add(name)
    return sorted(missing)


def peak_heap(r):
    """What download_bin holds at its peak: the handle, the call's arena and the port's source."""
    parts = [r["handle"], (r["arena"] or [None])[0], r["source"]]
    return sum(parts) if None not in parts else 1 << 30


def main():
    keep = None
    if len(sys.argv) > 2 and sys.argv[1] == "--keep":
        keep = sys.argv[2]
    if shutil.which(CC) is None:
        print("footprint: %s not found; skipped" % CC)
        return 0
    work = keep or tempfile.mkdtemp(prefix="rf_footprint.")
    try:
        res = {True: build(work, True), False: build(work, False)}
        res_min = build(work, False, minimal=True)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("Device-linked footprint (rv32imc, -Os, function sections, --gc-sections; ESP-IDF, Mbed TLS and libc"
          " stubbed and not counted; log maximum level Info)")
    print("%-22s %8s %8s %9s %6s %6s %8s %7s" % ("build", ".text", ".rodata", "(strings)", ".data", ".bss",
                                                 "text+ro", "IRAM"))
    for sig in (False, True):
        s = res[sig]["sizes"]
        print("%-22s %8d %8d %9d %6d %6d %8d %7d" % ("with signatures" if sig else "without signatures",
                                                     s["text"], s["rodata"], s["strings"], s["data"], s["bss"],
                                                     s["text"] + s["rodata"], res[sig]["iram"]))
    s = res_min["sizes"]
    print("%-22s %8d %8d %9d %6d %6d %8d %7d   (informational: Kconfig SELF_REFLASHER_GZIP and _HTTP_RESUME off)"
          % ("minimal, no sigs", s["text"], s["rodata"], s["strings"], s["data"], s["bss"], s["text"] + s["rodata"],
             res_min["iram"]))
    print("only the calls of one reference example program (informational; the budgets use every public call):")
    for name, calls in EXAMPLES:
        for sig in (False, True):
            s = res[sig]["per_example"][name]
            print("  %-20s %8d %8d %9d %6d %6d %8d" % ("%s, %s" % (name, "sigs" if sig else "no sigs"), s["text"],
                                                     s["rodata"], s["strings"], s["data"], s["bss"],
                                                     s["text"] + s["rodata"]))
    print("handle: %s bytes" % res[True]["handle"])
    for sig in (False, True):
        a = res[sig]["arena"]
        if a:
            print("peak heap of a download (%s): %d bytes = the handle %s + the call's arena %d (step %d "
                  "+ work %d: rf_exec_mem_len(4096)) + the port's source %s (the HTTP client's own buffers are "
                  "ESP-IDF's; a gzip response adds the inflater's)"
                  % ("with signatures" if sig else "without signatures", peak_heap(res[sig]), res[sig]["handle"],
                     a[0], a[1], a[2], res[sig]["source"]))
    print("\nPeak stack per public call (bytes; our frames, deepest path; indirect calls charged the deepest"
          " address-taken function; Mbed TLS and ESP-IDF functions are stubbed, their own frames not counted):")
    print("%-46s %10s %10s   deepest path (with signatures)" % ("call", "no sigs", "with sigs"))
    for r in sorted(res[True]["stacks"]):
        a = res[False]["stacks"][r]
        b = res[True]["stacks"][r]
        print("%-46s %10d %10d   %s" % (r, a[0], b[0], " > ".join(b[1][:8]) + (" ..." if len(b[1]) > 8 else "")))
    values = {
        "flash_nosig": res[False]["sizes"]["text"] + res[False]["sizes"]["rodata"],
        "flash_sig": res[True]["sizes"]["text"] + res[True]["sizes"]["rodata"],
        "iram": res[True]["iram"],
        "handle": res[True]["handle"] if res[True]["handle"] is not None else 1 << 30,
        "stack_nosig": max(v[0] for v in res[False]["stacks"].values()),
        "stack_sig": max(v[0] for v in res[True]["stacks"].values()),
        "heap": max(peak_heap(res[sig]) for sig in (False, True)),
        "flash_min": res_min["sizes"]["text"] + res_min["sizes"]["rodata"],
    }
    print("\nBudgets (issue 10):")
    failed = 0
    missing = sorted(set(res[False]["iram_missing"]) | set(res[True]["iram_missing"]))
    print("  %-70s %s" % ("functions the copy loop reaches, all placed in IRAM",
                          "holds" if not missing else "OVER: not placed: " + ", ".join(missing)))
    failed += 1 if missing else 0
    for key, what, limit, enforced in BUDGETS:
        v = values[key]
        ok = v <= limit
        state = "holds" if ok else ("OVER" if enforced else "over (reported, not enforced yet)")
        print("  %-70s %7d / %5d  %s" % (what, v, limit, state))
        if not ok and enforced:
            failed += 1
    for key, what, limit in CEILINGS:
        v = values[key]
        print("  %-70s %7d / %5d  %s" % (what, v, limit, "holds" if v <= limit else "OVER"))
        failed += 0 if v <= limit else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
