#!/usr/bin/env python3
"""Every ESP-IDF name a source uses must come through a header that gives it on
a real ESP-IDF, and the emulation (host/compat/include) must not give it
through any other.

The host build compiles against host/compat/include, so a name that the
emulation declares in a header where ESP-IDF does not (ESP_ERR_IMAGE_INVALID
in esp_err.h, say) lets a source compile on the host and fail on a device.
Three checks, all offline:

 1. placement: each emulated header declares only names of its own family
    (OWNER below: ESP_ERR_IMAGE_* belongs to esp_image_format.h, ...);
 2. includes: each emulated header brings (transitively) only emulated
    headers that the real one brings in every release the component claims
    (REAL_REACH, measured on ESP-IDF 5.1, 5.5.4 and 6.0.2 from their sources);
 3. sources: for every name declared in an emulated header that a core,
    API, crypto or port source uses, the declaring header is reachable from
    that source's own #include lines (through the project's headers and
    REAL_REACH), or a reachable project header declares the name itself; a
    name ESP-IDF 5.1 lacks (NOT_IN_OLDEST) needs such a fallback.

Exit status 1 and one line per finding when a check fails.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
COMPAT = os.path.join(ROOT, "host", "compat", "include")
PROJECT_INCLUDE_DIRS = [os.path.join(ROOT, d) for d in ("include", "core/include", "port/esp_idf")]
SOURCE_DIRS = ["core/src", "core/include", "src", "include", "crypto", "port/esp_idf"]
# Not ESP-IDF headers: the emulation's control API, and the host stand-in for
# the ROM's miniz/tinfl declarations (the port includes ESP-IDF's miniz.h on a device).
EMULATION_ONLY = {"idf_emul.h", "rf_tinfl_host.h"}

# Emulated headers a real ESP-IDF header brings in, directly or not, in each of
# 5.1, 5.5.4 and 6.0.2 (the intersection; other headers they bring are not
# emulated). protocol_examples_common.h is in examples/common_components.
REAL_REACH = {
    "esp_attr.h": [],
    "esp_compiler.h": [],
    "esp_err.h": ["esp_compiler.h"],
    "esp_event_base.h": [],
    "esp_event.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h", "esp_event_base.h", "esp_system.h",
                    "freertos/FreeRTOS.h", "freertos/task.h"],
    "esp_flash.h": ["esp_compiler.h", "esp_err.h", "hal/esp_flash_err.h", "hal/spi_flash_types.h"],
    "esp_http_client.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h", "esp_event.h", "esp_event_base.h",
                          "esp_system.h", "freertos/FreeRTOS.h", "freertos/task.h"],
    "esp_image_format.h": ["esp_compiler.h", "esp_err.h"],
    "esp_log.h": [],
    "esp_netif.h": ["esp_compiler.h", "esp_err.h", "esp_event_base.h"],
    "esp_ota_ops.h": ["esp_compiler.h", "esp_err.h", "esp_partition.h"],
    "esp_partition.h": ["esp_compiler.h", "esp_err.h"],
    "esp_system.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h"],
    "esp_timer.h": ["esp_compiler.h", "esp_err.h"],
    "freertos/FreeRTOS.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h", "esp_system.h"],
    "freertos/task.h": [],
    "hal/esp_flash_err.h": ["esp_compiler.h", "esp_err.h"],
    "hal/spi_flash_types.h": ["esp_compiler.h", "esp_err.h", "hal/esp_flash_err.h"],
    "nvs.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h"],
    "nvs_flash.h": ["esp_attr.h", "esp_compiler.h", "esp_err.h", "esp_partition.h", "nvs.h"],
    "protocol_examples_common.h": ["esp_compiler.h", "esp_err.h", "esp_event_base.h", "esp_netif.h"],
    "spi_flash_mmap.h": ["esp_compiler.h", "esp_err.h"],
}

# Names the emulation declares (as ESP-IDF 5.5 does) that ESP-IDF 5.1, the
# oldest release the component claims, does not declare (measured against
# v5.1's headers). A source may use one only if a project header it includes
# defines a fallback (self_reflasher.h does for three ESP_ERR_HTTP_* codes).
NOT_IN_OLDEST = set("""
ESP_ERR_NOT_ALLOWED ESP_ERR_HTTP_INCOMPLETE_DATA ESP_ERR_HTTP_NOT_MODIFIED ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE
ESP_ERR_HTTP_READ_TIMEOUT ESP_HTTP_CLIENT_TLS_VER_ANY ESP_HTTP_CLIENT_TLS_VER_MAX ESP_HTTP_CLIENT_TLS_VER_TLS_1_2
ESP_HTTP_CLIENT_TLS_VER_TLS_1_3 ESP_PARTITION_SUBTYPE_APP_TEE_0 ESP_PARTITION_SUBTYPE_APP_TEE_1
ESP_PARTITION_SUBTYPE_APP_TEE_MAX ESP_PARTITION_SUBTYPE_APP_TEE_MIN ESP_PARTITION_SUBTYPE_BOOTLOADER_OTA
ESP_PARTITION_SUBTYPE_BOOTLOADER_PRIMARY ESP_PARTITION_SUBTYPE_BOOTLOADER_RECOVERY ESP_PARTITION_SUBTYPE_DATA_LITTLEFS
ESP_PARTITION_SUBTYPE_DATA_TEE_OTA ESP_PARTITION_SUBTYPE_PARTITION_TABLE_OTA ESP_PARTITION_SUBTYPE_PARTITION_TABLE_PRIMARY
ESP_PARTITION_TYPE_BOOTLOADER ESP_PARTITION_TYPE_PARTITION_TABLE HTTP_ADDR_TYPE_INET HTTP_ADDR_TYPE_INET6
HTTP_ADDR_TYPE_UNSPEC HTTP_METHOD_REPORT HTTP_TLS_DYN_BUF_RX_STATIC HTTP_TLS_DYN_BUF_STRATEGY_MAX
HttpStatus_NotModified HttpStatus_PartialContent HttpStatus_RangeNotSatisfiable
""".split())

# Name families and the header(s) ESP-IDF declares them in (first match wins).
OWNER = [
    (r"esp_flash_t", "esp_flash.h esp_partition.h"),   # both declare the typedef
    (r"ESP_ERR_IMAGE_\w+", "esp_image_format.h"),
    (r"ESP_ERR_OTA_\w+|esp_ota_\w+", "esp_ota_ops.h"),
    (r"ESP_ERR_FLASH_OP_\w+|SPI_FLASH_\w+|spi_flash_\w+", "spi_flash_mmap.h"),
    (r"ESP_ERR_FLASH_(NOT_INITIALISED|UNSUPPORTED_HOST|UNSUPPORTED_CHIP|PROTECTED|SIZE_NOT_MATCH|NO_RESPONSE)",
     "hal/esp_flash_err.h"),
    (r"ESP_ERR_HTTP_\w+|HttpStatus_\w+|HTTP_\w+|esp_http_client_\w+|http_event_handle_cb|"
     r"DEFAULT_HTTP_BUF_SIZE|ESP_HTTP_CLIENT_\w+", "esp_http_client.h"),
    (r"ESP_ERR_NVS_\w+|nvs_handle_t", "nvs.h"),
    (r"nvs_flash_\w+", "nvs_flash.h"),
    (r"esp_flash_\w+", "esp_flash.h"),
    (r"esp_partition_\w+|ESP_PARTITION_\w+", "esp_partition.h"),
    (r"ESP_EVENT_(DECLARE|DEFINE)_BASE|ESP_EVENT_ANY_\w+|esp_event_base_t|esp_event_handler_\w+|"
     r"esp_event_loop_handle_t", "esp_event_base.h"),
    (r"esp_event_\w+", "esp_event.h"),
    (r"esp_netif_\w+", "esp_netif.h"),
    (r"example_\w+", "protocol_examples_common.h"),
    (r"ESP_LOG\w*|esp_log_\w+|LOG_LOCAL_LEVEL|LOG_FORMAT", "esp_log.h"),
    (r"esp_restart", "esp_system.h"),
    (r"esp_timer_\w+", "esp_timer.h"),
    (r"x?vTask\w+|xTask\w+|TaskHandle_t|TaskFunction_t", "freertos/task.h"),
    (r"BaseType_t|UBaseType_t|TickType_t|StackType_t|pd[A-Z]\w*|port[A-Z]\w*|config[A-Z]\w*", "freertos/FreeRTOS.h"),
    (r"\w+_ATTR|DRAM_STR", "esp_attr.h"),
    (r"likely|unlikely", "esp_compiler.h"),
    (r"ESP_OK|ESP_FAIL|ESP_ERR_\w+|esp_err_t|esp_err_to_name\w*|ESP_ERROR_CHECK\w*|_esp_error_check_\w+",
     "esp_err.h"),
]
OWNER_RE = [(re.compile(r"(?:%s)\Z" % pat), set(hdr.split())) for pat, hdr in OWNER]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)
IDENT_RE = re.compile(r"\b[A-Za-z_]\w*\b")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def declared_names(text):
    """Names a header declares: macros, enum constants, typedefs, functions, objects."""
    text = strip_comments(text).replace("\\\n", " ")                         # join macro lines
    names = set(re.findall(r"^\s*#\s*define\s+(\w+)", text, re.M))
    macros = set(names)
    body = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    body = re.sub(r'\bextern\s*""\s*\{', " ", body)                         # extern "C" {
    for enum in re.findall(r"\benum\b[^{;]*\{([^}]*)\}", body):
        for item in enum.split(","):
            m = re.match(r"\s*(\w+)\s*(=|$)", item)
            if m:
                names.add(m.group(1))
    names.update(re.findall(r"\}\s*(\w+)\s*;", body))                       # typedef struct {...} name;
    names.update(re.findall(r"\btypedef\b[^;{}]*?\(\s*\*\s*(\w+)\s*\)", body))  # function pointer types
    names.update(re.findall(r"\btypedef\b[^;{}()]*?\b(\w+)\s*;", body))      # typedef old new;
    depth = 0
    for stmt in re.split(r"(;|\{|\})", body):
        if stmt == "{":
            depth += 1
        elif stmt == "}":
            depth = max(0, depth - 1)   # the closing brace of extern "C" too
        elif depth == 0 or stmt.lstrip().startswith("extern"):
            m = re.search(r"\b(\w+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*(__attribute__.*)?$", stmt.strip(), re.S)
            if m and not stmt.lstrip().startswith("typedef") and m.group(1) not in ALL_MACROS - macros:
                names.add(m.group(1))                                      # function declaration
            m = re.search(r"^\s*extern\b[^()]*?\b(\w+)\s*(\[[^\]]*\])?\s*$", stmt, re.S)
            if m:
                names.add(m.group(1))                                      # extern object
    return names - C_WORDS


C_WORDS = {"__attribute__", "extern", "const", "void", "if", "else", "while", "do", "for", "return", "sizeof",
           "switch", "case", "break", "static", "inline"}
ALL_MACROS = set()   # every macro the emulated headers define: a use of one is not a declaration


def owner(name):
    for rx, hdr in OWNER_RE:
        if rx.match(name):
            return hdr
    return None


def compat_headers():
    out = {}
    for d, _, files in os.walk(COMPAT):
        for f in files:
            if f.endswith(".h"):
                rel = os.path.relpath(os.path.join(d, f), COMPAT)
                if rel not in EMULATION_ONLY:
                    with open(os.path.join(d, f), encoding="utf-8") as fh:
                        out[rel] = fh.read()
    return out


def closure(start, edges):
    seen, todo = set(), list(start)
    while todo:
        h = todo.pop()
        if h not in seen:
            seen.add(h)
            todo.extend(edges.get(h, []))
    return seen


def main():
    errors = []
    compat = compat_headers()
    for t in compat.values():
        ALL_MACROS.update(re.findall(r"^\s*#\s*define\s+(\w+)", t, re.M))
    missing = sorted(set(compat) - set(REAL_REACH))
    for h in missing:
        errors.append("%s: an emulated header without a REAL_REACH entry (what does ESP-IDF's bring?)" % h)

    # 1. placement
    declared_in = {}
    for h, text in sorted(compat.items()):
        for n in declared_names(text):
            if n.startswith("CONFIG_"):
                continue   # sdkconfig.h's (an emulated header may give a Kconfig default)
            declared_in.setdefault(n, set()).add(h)
            o = owner(n)
            if o is not None and h not in o:
                errors.append("host/compat/include/%s declares %s, which ESP-IDF declares in %s"
                              % (h, n, " and ".join(sorted(o))))

    # 2. the emulation's include graph stays within the real one
    compat_edges = {h: [i for i in INCLUDE_RE.findall(strip_inc(t)) if i in compat] for h, t in compat.items()}
    for h in sorted(compat):
        extra = closure(compat_edges[h], compat_edges) - set(REAL_REACH.get(h, [])) - {h}
        for x in sorted(extra):
            errors.append("host/compat/include/%s brings %s; ESP-IDF's %s does not in every claimed release"
                          % (h, x, h))

    # 3. the sources
    project_headers = {}
    for d in PROJECT_INCLUDE_DIRS:
        for f in os.listdir(d):
            if f.endswith(".h"):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    project_headers[f] = fh.read()
    project_declares = {f: declared_names(t) for f, t in project_headers.items()}
    edges = {h: list(v) for h, v in REAL_REACH.items()}
    for f, t in project_headers.items():
        edges[f] = INCLUDE_RE.findall(strip_inc(t))
    checked = 0
    for sd in SOURCE_DIRS:
        base = os.path.join(ROOT, sd)
        if not os.path.isdir(base):
            continue
        for f in sorted(os.listdir(base)):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(base, f)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            checked += 1
            reach = closure(INCLUDE_RE.findall(strip_inc(text)), edges)
            if f.endswith(".h"):
                reach.add(f)
            own = declared_names(text) if f.endswith(".c") else set()
            used = set(IDENT_RE.findall(strip_comments(text))) - own
            for n in sorted(used):
                if n not in declared_in:
                    continue
                fallback = any(n in project_declares.get(p, ()) for p in reach)
                if n in NOT_IN_OLDEST and not fallback:
                    errors.append("%s/%s uses %s, which ESP-IDF 5.1 does not declare; define a fallback in a "
                                  "project header" % (sd, f, n))
                    continue
                if reach & declared_in[n] or fallback:
                    continue
                errors.append("%s/%s uses %s: ESP-IDF gives it through %s, which its includes do not bring"
                              % (sd, f, n, " or ".join(sorted(declared_in[n]))))
    for e in errors:
        print("FAIL", e)
    print("idf headers: %d emulated headers, %d names placed, %d sources checked, %d finding(s)"
          % (len(compat), len(declared_in), checked, len(errors)))
    return 1 if errors else 0


def strip_inc(text):
    """Comments out; #include lines kept (conditional ones count as brought)."""
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


if __name__ == "__main__":
    sys.exit(main())
